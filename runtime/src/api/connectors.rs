//! Connector routes beyond plain CRUD, for the publisher: licenses, install base, update push.
//! (The installing side — listing, install, steps, settings, uninstall — is in
//! [`super::marketplace`].)

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::MethodFilter;
use serde_json::{Value, json};

use super::marketplace::OptionalJson;
use super::resources::{self, load, present};
use super::{ApiError, ApiResult, Id, JsonBody, Op, Params, Routes, json_response};
use crate::auth::Principal;
use crate::model::{CONNECTORS, INTEGRATIONS, LICENSES};
use crate::{AppState, marketplace, util};

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
                "Push an update to installs {\"_integrationIds\":[...]} (all when absent); one outcome per install",
            )
            .body("UpdatePush")
            .returns_list("UpdateOutcome"),
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
            Op::new(
                "connectors",
                200,
                "Replace a license (a new opts.edition of a license in use runs changeEditionFunction)",
            )
            .body("License")
            .returns("License"),
        )
        .add(
            MethodFilter::DELETE,
            "/connectors/{id}/licenses/{licenseId}",
            licenses_delete,
            Op::new(
                "connectors",
                204,
                "Delete a license (409 while an install uses it)",
            ),
        )
}

fn collection(connector: &str) -> String {
    marketplace::licenses_of(connector)
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
/// account has it (422 `invalid_user` otherwise) and fix the server's fields: `user._id` and
/// `user.name` are the platform's (kept from `old`, the license replaced, if any), and the
/// account of a license in use cannot change.
fn license_body(
    state: &AppState,
    connector: &str,
    mut body: Value,
    old: Option<&Value>,
) -> ApiResult<Value> {
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
    if let Some(user) = fields.get_mut("user").and_then(Value::as_object_mut) {
        user.remove("_id");
        user.remove("name");
        for f in ["_id", "name"] {
            if let Some(value) = old.and_then(|o| o["user"].get(f)).filter(|v| !v.is_null()) {
                user.insert(f.into(), value.clone());
            }
        }
    }
    if let Some(old) = old
        && old["_integrationId"].is_string()
        && let (Some(was), Some(now)) = (
            old["user"]["email"].as_str(),
            body["user"]["email"].as_str(),
        )
        && !was.eq_ignore_ascii_case(now)
    {
        return Err(ApiError::invalid_field(
            "invalid_value",
            format!(
                "the license is in use by integration '{}' of {was}: its email cannot change until it is uninstalled",
                old["_integrationId"].as_str().unwrap_or_default()
            ),
            "user.email",
        ));
    }
    let email = body["user"]["email"].as_str();
    match email {
        None if !body["user"]["email"].is_null() => Err(ApiError::invalid_field(
            "invalid_type",
            "email must be a string",
            "email",
        )),
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
    let body = license_body(&state, &id, body, None)?;
    let doc = resources::create(&state, &principal, &LICENSES, &collection(&id), body).await?;
    Ok(json_response(StatusCode::CREATED, &present(doc)))
}

async fn licenses_get(
    State(state): State<AppState>,
    principal: Principal,
    Params(ids): Params<(String, String)>,
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
    Params(ids): Params<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let (connector, license) = license_ids(&state, &principal, ids)?;
    let connector_doc = load(
        &state.db,
        &principal,
        &CONNECTORS,
        CONNECTORS.name,
        &connector,
    )?;
    let old = load(
        &state.db,
        &principal,
        &LICENSES,
        &collection(&connector),
        &license,
    )?;
    let body = license_body(&state, &connector, body, Some(&old))?;
    // Every problem first: the connector's changeEditionFunction runs only for a change that
    // will be stored.
    let problems = LICENSES.problems(&body, &[]);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    marketplace::lifecycle::change_edition(&state, &connector, &connector_doc, &old, &body).await?;
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
    Params(ids): Params<(String, String)>,
) -> ApiResult<StatusCode> {
    let (connector, license) = license_ids(&state, &principal, ids)?;
    let doc = load(
        &state.db,
        &principal,
        &LICENSES,
        &collection(&connector),
        &license,
    )?;
    if let Some(integration) = doc["_integrationId"].as_str() {
        return Err(ApiError::conflict(
            "license_in_use",
            format!(
                "license '{license}' is in use by integration '{integration}': it can be deleted once that is uninstalled (to stop it, set expires instead)"
            ),
        ));
    }
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
    // Every integration of the connector, in any account: installs from the marketplace (with
    // their `_licenseId`) and the publisher's own, made while developing the connector.
    for referrer in state.db.referrers(&id)? {
        if referrer.kind != INTEGRATIONS.name {
            continue;
        }
        let Some(integration) = state
            .db
            .get(&referrer.account, &referrer.kind, &referrer.id)?
            .filter(|doc| doc["_connectorId"].as_str() == Some(id.as_str()))
        else {
            continue;
        };
        let email = state
            .auth
            .account(&referrer.account)?
            .and_then(|a| a["email"].as_str().map(str::to_owned));
        let mut entry = json!({
            "_integrationId": referrer.id,
            "email": email,
            "name": integration["name"],
            "version": integration["version"],
            "mode": integration["mode"],
            "updateInProgress": integration["updateInProgress"].as_bool().unwrap_or(false),
        });
        if let Some(license) = integration["_licenseId"].as_str() {
            entry["_licenseId"] = json!(license);
        }
        installs.push(entry);
    }
    Ok(json_response(StatusCode::OK, &Value::Array(installs)))
}

async fn connectors_update(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    body: OptionalJson,
) -> ApiResult {
    load(&state.db, &principal, &CONNECTORS, CONNECTORS.name, &id)?;
    let outcomes = marketplace::lifecycle::push_update(&state, &id, &body.0).await?;
    Ok(json_response(StatusCode::OK, &Value::Array(outcomes)))
}
