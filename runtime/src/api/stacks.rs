//! Stack routes beyond plain CRUD: upload a component, invoke one of its functions.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::MethodFilter;
use serde_json::{Value, json};

use super::resources::{flush, load, present};
use super::{ApiError, ApiResult, Id, JsonBody, Op, Routes, json_response};
use crate::AppState;
use crate::auth::Principal;
use crate::extension::call::{self, CallError, CallRequest};
use crate::extension::{FunctionKind, UploadError, WIT_PACKAGE, WIT_VERSION};
use crate::model::STACKS;
use crate::model::check::{Check, Problem};
use crate::store::{Batch, Db};
use crate::util;

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::PUT,
            "/stacks/{id}/component",
            stacks_upload,
            Op::new(
                "stacks",
                200,
                "Upload the stack's WebAssembly component (Content-Type: application/wasm)",
            )
            .returns("Stack"),
        )
        .add(
            MethodFilter::POST,
            "/stacks/{id}/invoke",
            stacks_invoke,
            Op::new(
                "stacks",
                200,
                "Run one function of the stack's component: {kind, function, options}",
            )
            .body("Invocation")
            .returns("InvocationResult"),
        )
}

fn upload_error(error: UploadError) -> ApiError {
    let code = match &error {
        UploadError::TooLarge { .. } => "component_too_large",
        UploadError::CoreModule => "not_a_component",
        UploadError::NotWasm => "not_wasm",
        UploadError::Invalid(_) => "invalid_component",
        UploadError::OtherWorld { .. } => "wrong_world",
        UploadError::OtherVersion { .. } => "unsupported_wit_version",
        UploadError::Link(_) => "unsupported_imports",
        UploadError::Functions(_) => "invalid_component",
        UploadError::Cache(_) => return ApiError::internal(error),
    };
    ApiError::invalid(vec![Problem::general(code, error.to_string())])
}

async fn stacks_upload(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.split(';').next().unwrap_or_default().trim() != "application/wasm" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "upload the component with 'Content-Type: application/wasm'",
        ));
    }
    let stack = load(&state.db, &principal, &STACKS, STACKS.name, &id)?;
    let loaded = state
        .extensions
        .upload(body.to_vec())
        .await
        .map_err(upload_error)?;
    if stack["limits"]["fuel"].is_u64() {
        // Calls of a stack with a fuel limit run the metered variant: compile it now.
        state
            .extensions
            .prepare_metered(&loaded)
            .await
            .map_err(|e| ApiError::internal(format!("compiling the metered variant: {e}")))?;
    }
    let doc = {
        let _guard = state.db.lock();
        let mut stack = load(&state.db, &principal, &STACKS, STACKS.name, &id)?;
        let now = util::now();
        stack["component"] = json!({
            "digest": loaded.digest,
            "size": loaded.size,
            "witPackage": WIT_PACKAGE,
            "witVersion": WIT_VERSION,
            "functions": loaded.functions_json(),
            "uploadedAt": now,
        });
        stack["lastModified"] = Value::String(now);
        let mut batch = Batch::default();
        Db::put_doc(
            &mut batch,
            &principal.account,
            STACKS.name,
            &id,
            &stack,
            &[],
            &[],
        );
        state.db.write(batch)?;
        stack
    };
    flush(&state.db).await?;
    Ok(json_response(StatusCode::OK, &present(doc)))
}

async fn stacks_invoke(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    load(&state.db, &principal, &STACKS, STACKS.name, &id)?;
    let mut check = Check::new(&body);
    let kind_name = check.string("kind", true).map(str::to_owned);
    let function = check.string("function", true).map(str::to_owned);
    check.object("options", false);
    check.string_array("allowedHosts");
    let mut problems = check.into_problems();
    let kind = kind_name.as_deref().and_then(|k| {
        let kind = FunctionKind::parse(k);
        if kind.is_none() {
            problems.push(Problem::field(
                "invalid_value",
                format!(
                    "kind '{k}' is not valid; valid kinds: {}",
                    FunctionKind::names()
                ),
                "kind",
            ));
        }
        kind
    });
    let options = body.get("options").cloned().unwrap_or_else(|| json!({}));
    let connector = options["_connectorId"].as_str().map(str::to_owned);
    if let Some(c) = &connector
        && (!util::is_id(c) || state.db.get(&principal.account, "connectors", c)?.is_none())
    {
        problems.push(Problem::field(
            "invalid_reference",
            format!("options._connectorId: no connector with _id '{c}'"),
            "options._connectorId",
        ));
    }
    let (Some(kind), Some(function), true) = (kind, function, problems.is_empty()) else {
        return Err(ApiError::invalid(problems));
    };
    let integration = options["_integrationId"].as_str().map(str::to_owned);
    let request = CallRequest {
        account: principal.account.clone(),
        stack_id: id,
        kind,
        function,
        options,
        connector,
        integration,
        allowed_hosts: body["allowedHosts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect(),
        debug: None,
        pins: None,
    };
    let (result, logs) = call::call(&state, request).await;
    match result {
        Ok(value) => Ok(json_response(
            StatusCode::OK,
            &json!({ "result": value, "logs": logs }),
        )),
        Err(error @ CallError::StackNotFound(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            error.to_string(),
        )),
        Err(
            error @ CallError::Guest {
                error: crate::extension::GuestError::AtCapacity(_),
                ..
            },
        ) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "at_capacity",
            error.to_string(),
        )
        .with_header(header::RETRY_AFTER, axum::http::HeaderValue::from(1))),
        Err(error) => {
            let mut problem = Problem::general(error.code(), error.to_string());
            if let CallError::Guest {
                error:
                    crate::extension::GuestError::Failed {
                        origin: Some(origin),
                        ..
                    },
                ..
            } = &error
            {
                problem.message = format!("{} (source: {origin})", problem.message);
            }
            Err(ApiError::invalid(vec![problem]))
        }
    }
}
