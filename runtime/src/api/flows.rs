//! Running things: `POST /v1/flows/{_id}/run`, and standalone `invoke` of exports and imports
//! (which one-time tokens of DIY code may call too).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::MethodFilter;
use serde_json::{Value, json};

use super::marketplace::OptionalJson;
use super::resources::{flush, load};
use super::{ApiError, ApiResult, Id, JsonBody, Op, Routes, json_response};
use crate::AppState;
use crate::adaptor::{self, Call, ErrorItem};
use crate::auth::Principal;
use crate::flow::mapping::Mapping;
use crate::flow::steps::{self, ImportStep};
use crate::model::check::Problem;
use crate::model::{EXPORTS, FLOWS, IMPORTS};

/// Most records `data` of an import invoke (or virtual import) may hold.
pub const MAX_INVOKE_RECORDS: usize = 10_000;

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::POST,
            "/flows/{id}/run",
            flows_run,
            Op::new("flows", 201, "Run the flow now; returns the new job").returns("JobId"),
        )
        .add(
            MethodFilter::POST,
            "/exports/{id}/invoke",
            exports_invoke,
            Op::new(
                "exports",
                200,
                "Run the export standalone and return its records",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/imports/{id}/invoke",
            imports_invoke,
            Op::new(
                "imports",
                200,
                "Run the import standalone on {\"data\":[...]}",
            )
            .returns_any(),
        )
}

async fn flows_run(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    _body: OptionalJson,
) -> ApiResult {
    let flow = load(&state.db, &principal, &FLOWS, FLOWS.name, &id)?;
    if flow["disabled"].as_bool() == Some(true) {
        return Err(ApiError::invalid_field(
            "flow_disabled",
            format!("flow '{id}' is disabled: enable it before running it"),
            "disabled",
        ));
    }
    if flow["_exportId"].is_null() && flow["pageGenerators"].as_array().is_none_or(Vec::is_empty) {
        return Err(ApiError::invalid_field(
            "nothing_to_run",
            format!("flow '{id}' has no export (set _exportId or pageGenerators)"),
            "_exportId",
        ));
    }
    let job = crate::flow::enqueue(&state, &principal.account, &flow, json!({"runType": "api"}))?;
    flush(&state.db).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"_jobId": job["_id"]}),
    ))
}

/// Who runs a standalone or virtual run: the principal's account, the resource's connector.
pub fn call_for<'a>(
    state: &'a AppState,
    principal: &'a Principal,
    resource: &'a Value,
) -> Call<'a> {
    Call {
        state,
        account: &principal.account,
        flow: None,
        integration: resource["_integrationId"].as_str(),
        connector: resource["_connectorId"].as_str(),
        pins: None,
    }
}

/// The error of an adaptor failure in an API answer (the remote side's problem: 422).
pub fn adaptor_error(e: &adaptor::AdaptorError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, &e.code, e.message.clone())
}

/// Run `export` to its end through `connection`, page by page through its preSavePage hook;
/// returns `{data, errors}`.
pub async fn export_all(ctx: &Call<'_>, connection: &Value, export: &Value) -> ApiResult {
    let now = crate::util::now();
    let context = json!({"currentExportDateTime": now});
    let mut exporter = adaptor::Exporter::new(ctx, connection, export, context.clone(), None)
        .map_err(|e| adaptor_error(&e))?;
    let limit = match export["type"].as_str() {
        Some("test") => export["test"]["limit"].as_u64().unwrap_or(1) as usize,
        _ => steps::MAX_COLLECTED_RECORDS,
    };
    let mut data = Vec::new();
    let mut errors: Vec<ErrorItem> = Vec::new();
    let mut page_index = 0;
    while let Some(page) = exporter
        .next_page(ctx)
        .await
        .map_err(|e| adaptor_error(&e))?
    {
        match steps::pre_save_page(ctx, export, page, page_index, &context).await {
            Ok(saved) => {
                data.extend(saved.data);
                errors.extend(saved.errors);
                errors.extend(saved.failed.into_iter().flat_map(|(_, e)| e));
                if saved.abort {
                    break;
                }
            }
            Err((_, error)) => errors.push(error),
        }
        page_index += 1;
        if data.len() >= limit {
            data.truncate(limit);
            break;
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"data": data, "errors": errors}),
    ))
}

async fn exports_invoke(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    _body: OptionalJson,
) -> ApiResult {
    let export = load(&state.db, &principal, &EXPORTS, EXPORTS.name, &id)?;
    let ctx = call_for(&state, &principal, &export);
    let connection = adaptor::connection_of(&ctx, &export).map_err(|e| adaptor_error(&e))?;
    export_all(&ctx, &connection, &export).await
}

/// The `data` array of a run's body, checked.
pub fn data_of(body: &Value) -> ApiResult<Vec<Value>> {
    match &body["data"] {
        Value::Array(items) if items.len() <= MAX_INVOKE_RECORDS => Ok(items.clone()),
        Value::Array(items) => Err(ApiError::invalid_field(
            "too_many_records",
            format!(
                "data holds {} records; at most {MAX_INVOKE_RECORDS} per call",
                items.len()
            ),
            "data",
        )),
        Value::Null => Err(ApiError::invalid_field(
            "missing_field",
            "data (an array of records) is required",
            "data",
        )),
        _ => Err(ApiError::invalid_field(
            "invalid_type",
            "data must be an array of records",
            "data",
        )),
    }
}

/// The compiled mapping of `import`, or a 422 naming the field (under `prefix`).
pub fn mapping_of(import: &Value, prefix: &str) -> ApiResult<Mapping> {
    Mapping::compile(&import["mapping"]).map_err(|e| {
        ApiError::invalid(vec![Problem::field(
            e.code(),
            e.to_string(),
            format!("{prefix}mapping.{}", e.field()),
        )])
    })
}

/// Run `import` on `records` through `connection`: one result per record.
pub async fn import_all(
    ctx: &Call<'_>,
    connection: &Value,
    import: &Value,
    mapping: &Mapping,
    records: &[Value],
) -> ApiResult {
    let context = json!({"currentExportDateTime": crate::util::now()});
    // A file import writes one file for the call, unless it asks for one per page.
    let writer = match connection["type"].as_str() {
        Some("ftp" | "s3") if import["file"]["skipAggregation"].as_bool() != Some(true) => Some(
            adaptor::files::FileWriter::new(connection, import, &ctx.state.adaptors.temp_dir())
                .map_err(|e| adaptor_error(&e))?
                .with_log(ctx.state.adaptors.log(connection)),
        ),
        _ => None,
    };
    let step = ImportStep {
        import,
        mapping,
        connection,
        context: &context,
        sink: writer.as_ref(),
    };
    let mut results = Vec::with_capacity(records.len());
    for page in records.chunks(crate::flow::runner::DEFAULT_PAGE_SIZE) {
        let records: Vec<&Value> = page.iter().collect();
        results.extend(steps::import_page(ctx, &step, &records).await);
    }
    if let Some(writer) = &writer {
        match writer.upload(&context).await {
            Ok(path) => {
                for r in results.iter_mut().filter(|r| r.is_success()) {
                    r.json = Some(json!({"fileName": path}));
                }
            }
            Err(e) => {
                let failed = steps::adaptor_failure(connection, &e);
                for r in results.iter_mut().filter(|r| r.is_success()) {
                    *r = failed.clone();
                }
            }
        }
    }
    Ok(json_response(StatusCode::OK, &json!(results)))
}

async fn imports_invoke(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let import = load(&state.db, &principal, &IMPORTS, IMPORTS.name, &id)?;
    let records = data_of(&body)?;
    let mapping = mapping_of(&import, "")?;
    let ctx = call_for(&state, &principal, &import);
    let connection = adaptor::connection_of(&ctx, &import).map_err(|e| adaptor_error(&e))?;
    import_all(&ctx, &connection, &import, &mapping, &records).await
}
