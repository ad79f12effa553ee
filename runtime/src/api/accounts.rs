//! Accounts and tokens: `GET /v1/tokenInfo`, `POST /v1/accounts` (owner only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::MethodFilter;
use serde_json::json;

use super::{ApiError, ApiResult, JsonBody, Op, Routes, json_response};
use crate::AppState;
use crate::auth::{AccountError, Principal};
use crate::model::check::Check;

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::GET,
            "/tokenInfo",
            token_info,
            Op::new(
                "accounts",
                200,
                "Who the bearer token belongs to and what it may do",
            )
            .returns("TokenInfo"),
        )
        .add(
            MethodFilter::POST,
            "/accounts",
            accounts_create,
            Op::new(
                "accounts",
                201,
                "Create an account and its API token (owner only; the token is shown once)",
            )
            .body("AccountCreate")
            .returns("Account"),
        )
}

async fn token_info(principal: Principal) -> axum::response::Response {
    json_response(
        StatusCode::OK,
        &json!({ "_userId": principal.account, "scope": principal.scope.as_api_str() }),
    )
}

async fn accounts_create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult {
    if !principal.is_owner() {
        return Err(ApiError::forbidden(
            "only the owner account can create accounts",
        ));
    }
    let mut check = Check::new(&body);
    let email = check.string("email", true).map(str::to_owned);
    let name = check.string("name", false).map(str::to_owned);
    let mut problems = check.into_problems();
    if let Some(e) = &email
        && !looks_like_email(e)
    {
        problems.push(crate::model::check::Problem::field(
            "invalid_value",
            format!("email '{e}' is not an email address"),
            "email",
        ));
    }
    let (Some(email), true) = (email, problems.is_empty()) else {
        return Err(ApiError::invalid(problems));
    };
    let name = name.unwrap_or_else(|| email.clone());
    let auth = state.auth.clone();
    let created = tokio::task::spawn_blocking(move || auth.create_account(&email, &name, false))
        .await?
        .map_err(|e| match e {
            AccountError::DuplicateEmail(_) => ApiError::conflict("duplicate_email", e.to_string()),
            AccountError::Store(e) => ApiError::from(e),
        })?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "_id": created.id, "email": created.email, "name": created.name, "token": created.token }),
    ))
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}
