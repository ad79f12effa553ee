//! Connection routes beyond plain CRUD: ping, virtual exports and imports, mapping preview,
//! proxy, debug log.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::flows::{adaptor_error, call_for, data_of, export_all, import_all, mapping_of};
use super::resources::load;
use super::{ApiError, ApiResult, Id, JsonBody, Op, Routes, json_response};
use crate::AppState;
use crate::adaptor::{self, Exporter};
use crate::auth::Principal;
use crate::flow::steps;
use crate::model::check::Problem;
use crate::model::{CONNECTIONS, EXPORTS, IMPORTS, Kind};

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::POST,
            "/connections/ping",
            connections_ping_unsaved,
            Op::new(
                "connections",
                200,
                "Test an unsaved connection given in the body",
            )
            .body("Connection")
            .returns_any(),
        )
        .add(
            MethodFilter::GET,
            "/connections/{id}/ping",
            connections_ping,
            Op::new("connections", 200, "Test the stored connection").returns_any(),
        )
        .add(
            MethodFilter::GET,
            "/connections/{id}/debug",
            |State(s): State<AppState>, p: Principal, Id(id)| async move {
                load(&s.db, &p, &CONNECTIONS, CONNECTIONS.name, &id)?;
                let entries = s.adaptors.debug_logs().entries(&id);
                Ok::<_, ApiError>(json_response(StatusCode::OK, &Value::Array(entries)))
            },
            Op::new(
                "connections",
                200,
                "Recent requests and responses of the connection",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/connections/{id}/export",
            connections_export,
            Op::new(
                "connections",
                200,
                "Run a virtual export {\"export\":{...}}, return all records",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/connections/{id}/export/pages",
            connections_export_pages,
            Op::new(
                "connections",
                200,
                "Run a virtual export one page per call (post pagedExportState back)",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/connections/{id}/import",
            connections_import,
            Op::new(
                "connections",
                200,
                "Run a virtual import {\"import\":{...},\"data\":[...]}",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/connections/{id}/import/map",
            connections_import_map,
            Op::new(
                "connections",
                200,
                "Apply an import's mapping to data and return the mapped records",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/connections/{id}/proxy",
            connections_proxy,
            Op::new(
                "connections",
                200,
                "Send one request through the connection (Integrator-Relative-URI, Integrator-Method; \
             NetSuite: Integrator-Record-Type, Integrator-NetSuite-ScriptId, Integrator-NetSuite-DeployId)",
            )
            .returns_any(),
        )
}

fn ping_answer(result: Result<(), adaptor::AdaptorError>) -> ApiResult {
    match result {
        Ok(()) => Ok(json_response(StatusCode::OK, &json!({"code": 200}))),
        Err(e) => Err(adaptor_error(&e)),
    }
}

async fn connections_ping(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult {
    let doc = load(&state.db, &principal, &CONNECTIONS, CONNECTIONS.name, &id)?;
    let ctx = call_for(&state, &principal, &doc);
    let connection =
        adaptor::open_connection(&state.secrets, &doc).map_err(|e| adaptor_error(&e))?;
    let result = adaptor::ping(&ctx, &connection).await;
    // A ping is what brings an offline connection back (and a refused one goes offline).
    match &result {
        Ok(()) => adaptor::set_offline(&state, &principal.account, &id, None)?,
        Err(e) if e.auth => {
            adaptor::set_offline(&state, &principal.account, &id, Some(&e.message))?
        }
        Err(_) => {}
    }
    ping_answer(result)
}

async fn connections_ping_unsaved(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let problems = CONNECTIONS.problems(&body, &[]);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let ctx = call_for(&state, &principal, &body);
    ping_answer(adaptor::ping(&ctx, &body).await)
}

/// The resource of a virtual run (`body[field]`), validated as a document of `kind`; problems
/// are reported under `field.`.
fn virtual_resource(body: &Value, field: &str, kind: &Kind, connection: &str) -> ApiResult<Value> {
    let resource = match body.get(field) {
        Some(resource) if resource.is_object() => resource,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_field(
                "missing_field",
                format!("{field} (the {} to run) is required", kind.singular),
                field,
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "invalid_type",
                format!("{field} must be an object: the {} to run", kind.singular),
                field,
            ));
        }
    };
    let problems: Vec<Problem> = kind
        .problems(resource, &[])
        .into_iter()
        .map(|mut p| {
            p.field = Some(format!("{field}.{}", p.field.unwrap_or_default()));
            p
        })
        .collect();
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let mut resource = resource.clone();
    resource["_connectionId"] = json!(connection);
    Ok(resource)
}

async fn connection_for(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Value> {
    let doc = load(&state.db, principal, &CONNECTIONS, CONNECTIONS.name, id)?;
    adaptor::open_connection(&state.secrets, &doc).map_err(|e| adaptor_error(&e))
}

async fn connections_export(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let connection = connection_for(&state, &principal, &id).await?;
    let export = virtual_resource(&body, "export", &EXPORTS, &id)?;
    let ctx = call_for(&state, &principal, &connection);
    export_all(&ctx, &connection, &export).await
}

/// A paged export's position, signed so that a client cannot make the server run requests it
/// did not configure: `base64(json).base64(hmac)`.
fn seal_state(state: &AppState, position: &Value) -> String {
    let bytes = serde_json::to_vec(position).expect("a JSON value serializes");
    let signature = state.secrets.sign(&bytes);
    format!("{}.{}", B64.encode(&bytes), B64.encode(signature))
}

fn open_state(state: &AppState, sealed: &str) -> ApiResult<Value> {
    let tampered = || {
        ApiError::invalid_field(
            "invalid_paged_export_state",
            "pagedExportState is not one this server handed out (tampered or truncated)",
            "pagedExportState",
        )
    };
    let (data, signature) = sealed.split_once('.').ok_or_else(tampered)?;
    let data = B64.decode(data).map_err(|_| tampered())?;
    let signature = B64.decode(signature).map_err(|_| tampered())?;
    if !state.secrets.verify(&data, &signature) {
        return Err(tampered());
    }
    serde_json::from_slice(&data).map_err(|_| tampered())
}

async fn connections_export_pages(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let connection = connection_for(&state, &principal, &id).await?;
    let export = virtual_resource(&body, "export", &EXPORTS, &id)?;
    let (position, page_index) = match body["pagedExportState"].as_str() {
        Some(sealed) => {
            let saved = open_state(&state, sealed)?;
            // The state belongs to this connection and this export definition.
            if saved["connection"].as_str() != Some(id.as_str())
                || saved["export"] != fingerprint(&export)
            {
                return Err(ApiError::invalid_field(
                    "invalid_paged_export_state",
                    "pagedExportState belongs to another connection or export",
                    "pagedExportState",
                ));
            }
            (
                Some(saved["position"].clone()),
                saved["pageIndex"].as_u64().unwrap_or(0),
            )
        }
        None if body["pagedExportState"].is_null() => (None, 0),
        None => {
            return Err(ApiError::invalid_field(
                "invalid_type",
                "pagedExportState must be the string a previous call returned",
                "pagedExportState",
            ));
        }
    };
    let ctx = call_for(&state, &principal, &connection);
    let context = json!({"currentExportDateTime": crate::util::now()});
    let mut exporter = Exporter::new(&ctx, &connection, &export, context.clone(), position)
        .map_err(|e| adaptor_error(&e))?;
    let page = exporter
        .next_page(&ctx)
        .await
        .map_err(|e| adaptor_error(&e))?;
    let Some(page) = page else {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"data": [], "errors": []}),
        ));
    };
    let (data, errors) =
        match steps::pre_save_page(&ctx, &export, page, page_index as usize, &context).await {
            Ok(saved) => (saved.data, saved.errors),
            Err((_, error)) => (Vec::new(), vec![error]),
        };
    let mut answer = json!({"data": data, "errors": errors});
    let position = exporter.state();
    let done = position["done"].as_bool() == Some(true);
    if !done {
        let saved = json!({
            "connection": id,
            "export": fingerprint(&export),
            "position": position,
            "pageIndex": page_index + 1,
        });
        answer["pagedExportState"] = json!(seal_state(&state, &saved));
    }
    Ok(json_response(StatusCode::OK, &answer))
}

/// A short digest of an export definition, to tie a paged state to it.
fn fingerprint(export: &Value) -> Value {
    use sha2::Digest;
    let bytes = serde_json::to_vec(export).expect("a JSON value serializes");
    json!(hex::encode(&sha2::Sha256::digest(&bytes)[..12]))
}

async fn connections_import(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let connection = connection_for(&state, &principal, &id).await?;
    let import = virtual_resource(&body, "import", &IMPORTS, &id)?;
    let records = data_of(&body)?;
    let mapping = mapping_of(&import, "import.")?;
    let ctx = call_for(&state, &principal, &connection);
    import_all(&ctx, &connection, &import, &mapping, &records).await
}

async fn connections_import_map(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> ApiResult {
    load(&state.db, &principal, &CONNECTIONS, CONNECTIONS.name, &id)?;
    let import = virtual_resource(&body, "import", &IMPORTS, &id)?;
    let records = data_of(&body)?;
    let mapping = mapping_of(&import, "import.")?;
    let mut mapped = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        mapped.push(mapping.apply(record).map_err(|e| {
            ApiError::invalid(vec![Problem::field(
                e.code(),
                format!("record {i}: {e}"),
                format!("data[{i}]"),
            )])
        })?);
    }
    Ok(json_response(StatusCode::OK, &json!({"data": mapped})))
}

async fn connections_proxy(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let connection = connection_for(&state, &principal, &id).await?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if matches!(connection["type"].as_str(), Some("ftp" | "s3")) {
        let Some(path) = header("integrator-relative-uri") else {
            return Err(ApiError::invalid_field(
                "missing_header",
                "the Integrator-Relative-URI header names the file or directory",
                "Integrator-Relative-URI",
            ));
        };
        let method = header("integrator-method").unwrap_or("GET").to_uppercase();
        return file_proxy(&state, &connection, &method, path, body).await;
    }
    if connection["type"].as_str() == Some("netsuite") {
        let ctx = call_for(&state, &principal, &connection);
        let conn = state
            .adaptors
            .netsuite(&ctx, &connection)
            .map_err(|e| adaptor_error(&e))?;
        let method = header("integrator-method").unwrap_or("GET").to_uppercase();
        let request = adaptor::netsuite::ProxyRequest {
            method: &method,
            relative_uri: header("integrator-relative-uri"),
            record_type: header("integrator-record-type"),
            script_id: header("integrator-netsuite-scriptid"),
            deploy_id: header("integrator-netsuite-deployid"),
            content_type: header("content-type"),
            prefer: header("prefer"),
            body: &body,
        };
        let response = conn.proxy(request).await.map_err(|e| adaptor_error(&e))?;
        return Ok(proxied(response));
    }
    if !matches!(connection["type"].as_str(), Some("http" | "rest")) {
        return Err(ApiError::not_implemented(&format!(
            "the proxy of '{}' connections",
            connection["type"].as_str().unwrap_or_default()
        )));
    }
    let Some(uri) = header("integrator-relative-uri") else {
        return Err(ApiError::invalid_field(
            "missing_header",
            "the Integrator-Relative-URI header names the path to request",
            "Integrator-Relative-URI",
        ));
    };
    let method = header("integrator-method").unwrap_or("GET").to_uppercase();
    let forwarded: Vec<(String, String)> = header("content-type")
        .map(|ct| vec![("content-type".to_owned(), ct.to_owned())])
        .unwrap_or_default();
    let conn = state
        .adaptors
        .http(&connection)
        .map_err(|e| adaptor_error(&e))?;
    let body = (!body.is_empty()).then(|| body.to_vec());
    let response = conn
        .send(&method, uri, &forwarded, body)
        .await
        .map_err(|e| adaptor_error(&e))?;
    Ok(proxied(response))
}

/// The proxy's answer: the remote status, body and content type.
fn proxied(response: adaptor::http::HttpResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut answer = (status, response.body).into_response();
    if let Some(ct) = response
        .content_type
        .and_then(|ct| axum::http::HeaderValue::from_str(&ct).ok())
    {
        answer.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    answer
}

/// The proxy of a file connection: `GET` a directory (path ending in `/`) lists it, `GET` a
/// file returns its bytes, `PUT`/`POST` writes the body to the file, `DELETE` removes it.
async fn file_proxy(
    state: &AppState,
    connection: &Value,
    method: &str,
    path: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    use crate::adaptor::files::{FileClient, temp_file};
    let mut client = FileClient::connect_logged(connection, state.adaptors.log(connection))
        .await
        .map_err(|e| adaptor_error(&e))?;
    let temp_dir = state.adaptors.temp_dir();
    let local_error = |e: std::io::Error| ApiError::internal(format!("local file: {e}"));
    match method {
        "GET" if path.is_empty() || path.ends_with('/') => {
            let files = client.list(path).await.map_err(|e| adaptor_error(&e))?;
            let listing: Vec<Value> = files
                .into_iter()
                .map(|f| json!({"name": f.name, "size": f.size}))
                .collect();
            Ok(json_response(StatusCode::OK, &json!(listing)))
        }
        "GET" => {
            let local = temp_file(&temp_dir).map_err(|e| adaptor_error(&e))?;
            client
                .download(path, local.path())
                .await
                .map_err(|e| adaptor_error(&e))?;
            let bytes = tokio::fs::read(local.path()).await.map_err(local_error)?;
            let mut answer = (StatusCode::OK, bytes).into_response();
            answer.headers_mut().insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/octet-stream"),
            );
            Ok(answer)
        }
        "PUT" | "POST" => {
            let local = temp_file(&temp_dir).map_err(|e| adaptor_error(&e))?;
            tokio::fs::write(local.path(), &body)
                .await
                .map_err(local_error)?;
            client
                .upload(local.path(), path)
                .await
                .map_err(|e| adaptor_error(&e))?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"path": path, "size": body.len()}),
            ))
        }
        "DELETE" => {
            client.delete(path).await.map_err(|e| adaptor_error(&e))?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        other => Err(ApiError::invalid_field(
            "invalid_value",
            format!("Integrator-Method {other} is not one of GET, PUT, POST, DELETE for files"),
            "Integrator-Method",
        )),
    }
}
