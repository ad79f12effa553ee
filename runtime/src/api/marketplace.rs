//! The marketplace as installing accounts see it: the listing of published connectors, install,
//! install steps, settings pages and uninstall. The logic is [`crate::marketplace`]; the
//! publisher's routes (licenses, install base, update push) are in [`super::connectors`].
//!
//! These routes act for the account's own API token only: a one-time token of connector or DIY
//! code is refused (403) before they run (see `authorize` in [`super`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::MethodFilter;
use serde_json::Value;

use super::error::{MAX_BODY_BYTES, is_json_content_type};
use super::{ApiError, ApiResult, Id, JsonBody, Op, Params, Routes, json_response};
use crate::AppState;
use crate::auth::{Principal, Scope};
use crate::marketplace::{self, lifecycle};
use crate::model::CONNECTORS;
use crate::util;

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::GET,
            "/marketplace/connectors",
            marketplace_list,
            Op::new(
                "marketplace",
                200,
                "Published connectors of every account (their listing only)",
            )
            .returns_list("MarketplaceConnector"),
        )
        .add(
            MethodFilter::GET,
            "/marketplace/connectors/{id}",
            marketplace_get,
            Op::new("marketplace", 200, "One published connector's listing")
                .returns("MarketplaceConnector"),
        )
        .add(
            MethodFilter::POST,
            "/connectors/{id}/install",
            connectors_install,
            Op::new(
                "marketplace",
                201,
                "Install a licensed connector: creates the integration (mode install) and runs the connector's installerFunction",
            )
            .body("InstallRequest")
            .returns("Integration"),
        )
        .add(
            MethodFilter::POST,
            "/integrations/{id}/install/{stepIndex}",
            integrations_install_step,
            Op::new(
                "marketplace",
                200,
                "Complete install step stepIndex (from 0): runs its installerFunction, applies stepsToUpdate",
            )
            .body("StepSubmission")
            .returns("Integration"),
        )
        .add(
            MethodFilter::GET,
            "/integrations/{id}/settings/form",
            integrations_settings_form,
            Op::new(
                "marketplace",
                200,
                "The install's settings form, from the connector's formInitFunction",
            )
            .returns("SettingsForm"),
        )
        .add(
            MethodFilter::PUT,
            "/integrations/{id}/settings",
            integrations_settings_save,
            Op::new(
                "marketplace",
                200,
                "Save changed settings through the connector's persistSettingsFunction (409 while an update runs)",
            )
            .body("SettingsUpdate")
            .returns("Integration"),
        )
        .add(
            MethodFilter::POST,
            "/integrations/{id}/settings/refreshMetadata",
            integrations_refresh_metadata,
            Op::new(
                "marketplace",
                200,
                "Refresh a settings field's choices through the connector's refreshMetadataFunction",
            )
            .body("SettingsField")
            .returns_any(),
        )
        .add(
            MethodFilter::GET,
            "/integrations/{id}/settings/mappingMetadata",
            integrations_mapping_metadata,
            Op::new(
                "marketplace",
                200,
                "Required and fixed mapping fields, from the connector's getMappingMetadataFunction",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/integrations/{id}/uninstall",
            integrations_uninstall,
            Op::new(
                "marketplace",
                200,
                "Uninstall: preUninstall, the steps' and the connector's uninstallers, then delete everything tagged with the integration and free the license",
            )
            .returns("UninstallResult"),
        )
}

/// A JSON body that may be absent: an empty body is `null`; a body that is there must be JSON
/// (415 otherwise, 400 when malformed). Action routes that take no input (run, retry, cancel,
/// clone, uninstall, invoke an export) take it too, so that a malformed body is refused before
/// they act.
#[derive(Debug)]
pub struct OptionalJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for OptionalJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    rejection.body_text(),
                )
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(Value::Null));
        }
        if !content_type.as_deref().is_some_and(is_json_content_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON: send 'Content-Type: application/json'",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("malformed JSON: {e}"),
                )
            })
    }
}

/// Marketplace routes act for an account's own API token (the route-level rules refuse scoped
/// tokens already; this keeps the handlers honest if those rules change).
fn account_only(principal: &Principal) -> ApiResult<()> {
    match principal.scope {
        Scope::Account { .. } => Ok(()),
        _ => Err(ApiError::forbidden(
            "only an account's API token may use the marketplace routes",
        )),
    }
}

async fn marketplace_list(State(state): State<AppState>, principal: Principal) -> ApiResult {
    account_only(&principal)?;
    let listed = marketplace::published_connectors(&state.db)?;
    Ok(json_response(StatusCode::OK, &Value::Array(listed)))
}

async fn marketplace_get(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult {
    account_only(&principal)?;
    match marketplace::find_connector(&state.db, &id)? {
        Some((_, connector)) if marketplace::is_published(&connector) => Ok(json_response(
            StatusCode::OK,
            &marketplace::listing(&connector),
        )),
        _ => Err(ApiError::not_found(CONNECTORS.singular, &id)),
    }
}

async fn connectors_install(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    body: OptionalJson,
) -> ApiResult {
    account_only(&principal)?;
    let integration = lifecycle::install(&state, &principal, &id, &body.0).await?;
    Ok(json_response(StatusCode::CREATED, &integration))
}

async fn integrations_install_step(
    State(state): State<AppState>,
    principal: Principal,
    Params((id, step)): Params<(String, String)>,
    body: OptionalJson,
) -> ApiResult {
    account_only(&principal)?;
    if !util::is_id(&id) {
        return Err(ApiError::not_found("integration", &id));
    }
    let integration = lifecycle::complete_step(&state, &principal, &id, &step, &body.0).await?;
    Ok(json_response(StatusCode::OK, &integration))
}

async fn integrations_settings_form(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult {
    account_only(&principal)?;
    let form = lifecycle::settings_form(&state, &principal, &id).await?;
    Ok(json_response(StatusCode::OK, &form))
}

async fn integrations_settings_save(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    account_only(&principal)?;
    let integration = lifecycle::save_settings(&state, &principal, &id, &body).await?;
    Ok(json_response(StatusCode::OK, &integration))
}

async fn integrations_refresh_metadata(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    account_only(&principal)?;
    let field = lifecycle::refresh_metadata(&state, &principal, &id, &body).await?;
    Ok(json_response(StatusCode::OK, &field))
}

async fn integrations_mapping_metadata(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult {
    account_only(&principal)?;
    let metadata = lifecycle::mapping_metadata(&state, &principal, &id).await?;
    Ok(json_response(StatusCode::OK, &metadata))
}

async fn integrations_uninstall(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    _body: OptionalJson,
) -> ApiResult {
    account_only(&principal)?;
    let result = lifecycle::uninstall(&state, &principal, &id).await?;
    Ok(json_response(StatusCode::OK, &result))
}
