//! Connector routes beyond plain CRUD: licenses, install base, update push.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::MethodFilter;
use serde_json::{Value, json};

use super::resources::{self, load, present};
use super::{ApiError, ApiResult, Id, JsonBody, Op, Routes, json_response};
use crate::AppState;
use crate::auth::Principal;
use crate::model::{CONNECTORS, INTEGRATIONS, LICENSES};
use crate::util;

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::GET,
            "/connectors/{id}/installBase",
            install_base,
            Op::new(
                "connectors",
                200,
                "The integrations (across accounts) that installed the connector",
            )
            .returns_list("InstallBaseEntry"),
        )
        .add(
            MethodFilter::PUT,
            "/connectors/{id}/update",
            connectors_update,
            Op::new(
                "connectors",
                200,
                "Push an update to {\"_integrationIds\":[...]}",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::GET,
            "/connectors/{id}/licenses",
            licenses_list,
            Op::new("connectors", 200, "List the connector's licenses").returns_list("License"),
        )
        .add(
            MethodFilter::POST,
            "/connectors/{id}/licenses",
            licenses_create,
            Op::new(
                "connectors",
                201,
                "License the connector to the account with `email`",
            )
            .body("License")
            .returns("License"),
        )
        .add(
            MethodFilter::GET,
            "/connectors/{id}/licenses/{licenseId}",
            licenses_get,
            Op::new("connectors", 200, "Read a license").returns("License"),
        )
        .add(
            MethodFilter::PUT,
            "/connectors/{id}/licenses/{licenseId}",
            licenses_replace,
            Op::new("connectors", 200, "Replace a license")
                .body("License")
                .returns("License"),
        )
        .add(
            MethodFilter::DELETE,
            "/connectors/{id}/licenses/{licenseId}",
            licenses_delete,
            Op::new("connectors", 204, "Delete a license"),
        )
}

fn collection(connector: &str) -> String {
    format!("licenses:{connector}")
}

/// The two ids of a license route; a malformed one names nothing (404).
fn license_ids(
    state: &AppState,
    principal: &Principal,
    ids: (String, String),
) -> ApiResult<(String, String)> {
    let (connector, license) = ids;
    if !util::is_id(&connector) {
        return Err(ApiError::not_found("connector", &connector));
    }
    load(
        &state.db,
        principal,
        &CONNECTORS,
        CONNECTORS.name,
        &connector,
    )?;
    if !util::is_id(&license) {
        return Err(ApiError::not_found("license", &license));
    }
    Ok((connector, license))
}

/// Accept `email` at the top level (as api.md's POST does) or as `user.email`; check that an
/// account has it (422 `invalid_user` otherwise) and fix the server's fields.
fn license_body(state: &AppState, connector: &str, mut body: Value) -> ApiResult<Value> {
    let Some(fields) = body.as_object_mut() else {
        return Err(ApiError::invalid_field(
            "invalid_type",
            "the body must be a JSON object (a license)",
            "email",
        ));
    };
    if let Some(email) = fields.remove("email") {
        let mut user = fields.remove("user").unwrap_or_else(|| json!({}));
        if let Some(u) = user.as_object_mut() {
            u.insert("email".into(), email);
        }
        fields.insert("user".into(), user);
    }
    fields.insert("_connectorId".into(), Value::String(connector.to_owned()));
    let email = body["user"]["email"].as_str();
    match email {
        None => Err(ApiError::invalid_field(
            "missing_field",
            "email is required",
            "email",
        )),
        Some(e) if state.auth.account_id_by_email(e)?.is_none() => Err(ApiError::invalid_field(
            "invalid_user",
            format!("no account has the email '{e}'"),
            "email",
        )),
        Some(_) => Ok(body),
    }
}

async fn licenses_list(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult {
    load(&state.db, &principal, &CONNECTORS, CONNECTORS.name, &id)?;
    let licenses: Vec<Value> = state
        .db
        .list(&principal.account, &collection(&id))?
        .into_iter()
        .map(present)
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(licenses)))
}

async fn licenses_create(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    load(&state.db, &principal, &CONNECTORS, CONNECTORS.name, &id)?;
    let body = license_body(&state, &id, body)?;
    let doc = resources::create(&state, &principal, &LICENSES, &collection(&id), body).await?;
    Ok(json_response(StatusCode::CREATED, &present(doc)))
}

async fn licenses_get(
    State(state): State<AppState>,
    principal: Principal,
    Path(ids): Path<(String, String)>,
) -> ApiResult {
    let (connector, license) = license_ids(&state, &principal, ids)?;
    let doc = load(
        &state.db,
        &principal,
        &LICENSES,
        &collection(&connector),
        &license,
    )?;
    Ok(json_response(StatusCode::OK, &present(doc)))
}

async fn licenses_replace(
    State(state): State<AppState>,
    principal: Principal,
    Path(ids): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let (connector, license) = license_ids(&state, &principal, ids)?;
    let body = license_body(&state, &connector, body)?;
    let doc = resources::replace(
        &state,
        &principal,
        &LICENSES,
        &collection(&connector),
        &license,
        body,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &present(doc)))
}

async fn licenses_delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(ids): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (connector, license) = license_ids(&state, &principal, ids)?;
    resources::delete(
        &state,
        &principal,
        &LICENSES,
        &collection(&connector),
        &license,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn install_base(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult {
    load(&state.db, &principal, &CONNECTORS, CONNECTORS.name, &id)?;
    let mut installs = Vec::new();
    for referrer in state.db.referrers(&id)? {
        if referrer.kind != INTEGRATIONS.name {
            continue;
        }
        let Some(integration) = state
            .db
            .get(&referrer.account, &referrer.kind, &referrer.id)?
        else {
            continue;
        };
        let email = state
            .auth
            .account(&referrer.account)?
            .and_then(|a| a["email"].as_str().map(str::to_owned));
        installs.push(json!({
            "_integrationId": referrer.id,
            "email": email,
            "name": integration["name"],
            "version": integration["version"],
            "mode": integration["mode"],
            "updateInProgress": integration["updateInProgress"].as_bool().unwrap_or(false),
        }));
    }
    Ok(json_response(StatusCode::OK, &Value::Array(installs)))
}

async fn connectors_update(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<()> {
    load(&state.db, &principal, &CONNECTORS, CONNECTORS.name, &id)?;
    Err(ApiError::not_implemented("pushing connector updates"))
}
