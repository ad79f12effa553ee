//! State: arbitrary JSON stored under a key, globally (`/v1/state`) or per resource
//! (`/v1/{resource_type}/{_id}/state`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use serde_json::{Value, json};

use super::resources::{flush, load};
use super::{ApiError, ApiResult, Id, JsonBody, Op, Params, Routes, json_response};
use crate::AppState;
use crate::auth::Principal;
use crate::model::{self, Kind};
use crate::store::{Batch, Db};

/// Scope of the global state.
const GLOBAL: &str = "_";

/// Routes of this module.
pub fn routes() -> Routes {
    let mut routes = Routes::new()
        .add(
            MethodFilter::GET,
            "/state",
            |State(s): State<AppState>, p: Principal| async move { keys(&s, &p.account, GLOBAL) },
            Op::new("state", 200, "Global state keys").returns("StateKeys"),
        )
        .add(
            MethodFilter::DELETE,
            "/state",
            |State(s): State<AppState>, p: Principal| async move {
                clear(&s, &p.account, GLOBAL).await?;
                Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
            },
            Op::new("state", 204, "Delete every global state value"),
        )
        .add(
            MethodFilter::GET,
            "/state/{key}",
            |State(s): State<AppState>, p: Principal, Params(key): Params<String>| async move {
                value(&s, &p.account, GLOBAL, &key)
            },
            Op::new("state", 200, "Read a global state value").returns_any(),
        )
        .add(
            MethodFilter::PUT,
            "/state/{key}",
            |State(s): State<AppState>,
             p: Principal,
             Params(key): Params<String>,
             JsonBody(body)| async move { put(&s, &p.account, GLOBAL, &key, body).await },
            Op::new(
                "state",
                200,
                "Store a global state value (201 when the key is new)",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::DELETE,
            "/state/{key}",
            |State(s): State<AppState>, p: Principal, Params(key): Params<String>| async move {
                remove(&s, &p.account, GLOBAL, &key).await?;
                Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
            },
            Op::new("state", 204, "Delete a global state value"),
        );
    for &kind in model::CRUD_KINDS {
        let all = format!("/{}/{{id}}/state", kind.name);
        let one = format!("/{}/{{id}}/state/{{key}}", kind.name);
        routes = routes
            .add(
                MethodFilter::GET,
                &all,
                move |State(s): State<AppState>, p: Principal, Id(id)| async move {
                    let scope = resource_scope(&s, &p, kind, &id)?;
                    keys(&s, &p.account, &scope)
                },
                Op::new("state", 200, format!("State keys of a {}", kind.singular))
                    .returns("StateKeys"),
            )
            .add(
                MethodFilter::DELETE,
                &all,
                move |State(s): State<AppState>, p: Principal, Id(id)| async move {
                    let scope = resource_scope(&s, &p, kind, &id)?;
                    clear(&s, &p.account, &scope).await?;
                    Ok::<_, ApiError>(StatusCode::OK.into_response())
                },
                Op::new(
                    "state",
                    200,
                    format!("Delete every state value of a {}", kind.singular),
                ),
            )
            .add(
                MethodFilter::GET,
                &one,
                move |State(s): State<AppState>,
                      p: Principal,
                      Id(id),
                      Params(params): Params<HashMap<String, String>>| async move {
                    let scope = resource_scope(&s, &p, kind, &id)?;
                    value(&s, &p.account, &scope, &params["key"])
                },
                Op::new(
                    "state",
                    200,
                    format!("Read a state value of a {}", kind.singular),
                )
                .returns_any(),
            )
            .add(
                MethodFilter::PUT,
                &one,
                move |State(s): State<AppState>,
                      p: Principal,
                      Id(id),
                      Params(params): Params<HashMap<String, String>>,
                      JsonBody(body)| async move {
                    let scope = resource_scope(&s, &p, kind, &id)?;
                    put(&s, &p.account, &scope, &params["key"], body).await
                },
                Op::new(
                    "state",
                    200,
                    format!(
                        "Store a state value of a {} (201 when the key is new)",
                        kind.singular
                    ),
                )
                .returns_any(),
            )
            .add(
                MethodFilter::DELETE,
                &one,
                move |State(s): State<AppState>,
                      p: Principal,
                      Id(id),
                      Params(params): Params<HashMap<String, String>>| async move {
                    let scope = resource_scope(&s, &p, kind, &id)?;
                    remove(&s, &p.account, &scope, &params["key"]).await?;
                    Ok::<_, ApiError>(StatusCode::OK.into_response())
                },
                Op::new(
                    "state",
                    200,
                    format!("Delete a state value of a {}", kind.singular),
                ),
            );
    }
    routes
}

/// The state scope of an existing resource (404 when it does not exist in the account).
fn resource_scope(
    state: &AppState,
    principal: &Principal,
    kind: &Kind,
    id: &str,
) -> ApiResult<String> {
    load(&state.db, principal, kind, kind.name, id)?;
    Ok(format!("{}:{id}", kind.name))
}

fn keys(state: &AppState, account: &str, scope: &str) -> ApiResult<Response> {
    let keys = state.db.state_keys(account, scope)?;
    Ok(json_response(StatusCode::OK, &json!({ "keys": keys })))
}

fn value(state: &AppState, account: &str, scope: &str, key: &str) -> ApiResult<Response> {
    match state.db.state_get(account, scope, key)? {
        Some(v) => Ok(json_response(StatusCode::OK, &v)),
        None => Err(missing(key)),
    }
}

fn missing(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no state value under key '{key}'"),
    )
}

async fn put(
    state: &AppState,
    account: &str,
    scope: &str,
    key: &str,
    body: Value,
) -> ApiResult<Response> {
    let created = {
        let _guard = state.db.lock();
        let created = state.db.state_get(account, scope, key)?.is_none();
        let mut batch = Batch::default();
        Db::state_put(&mut batch, account, scope, key, &body);
        state.db.write(batch)?;
        created
    };
    flush(&state.db).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &body))
}

async fn remove(state: &AppState, account: &str, scope: &str, key: &str) -> ApiResult<()> {
    {
        let _guard = state.db.lock();
        if state.db.state_get(account, scope, key)?.is_none() {
            return Err(missing(key));
        }
        let mut batch = Batch::default();
        Db::state_delete(&mut batch, account, scope, key);
        state.db.write(batch)?;
    }
    flush(&state.db).await
}

async fn clear(state: &AppState, account: &str, scope: &str) -> ApiResult<()> {
    {
        let _guard = state.db.lock();
        let mut batch = Batch::default();
        state.db.state_clear(&mut batch, account, scope)?;
        state.db.write(batch)?;
    }
    flush(&state.db).await
}
