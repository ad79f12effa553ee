//! The steps a page goes through, usable with or without a job: preSavePage on an export's
//! page, the import step (preMap → mapping → postMap → submit → postSubmit), lookups, response
//! mapping and postResponseMap. The runner adds counting and job errors around them; the
//! standalone and virtual-run routes call them directly.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::mapping::Mapping;
use crate::adaptor::{self, AdaptorError, Call, ErrorItem, Exporter, RecordResult};
use crate::extension::FunctionKind;
use crate::extension::call::{self, CallError, CallRequest};

/// Most records a lookup (an export used as a page processor) or a standalone export returns.
pub const MAX_COLLECTED_RECORDS: usize = 100_000;

/// A hook reference `{_stackId, function, configuration}` found at `hooks.{name}` of a
/// resource (or page processor).
pub fn hook_ref<'a>(holder: &'a Value, name: &str) -> Option<&'a Value> {
    let hook = holder.get("hooks")?.get(name)?;
    (hook["_stackId"].is_string() && hook["function"].is_string()).then_some(hook)
}

/// Call the hook `hook` (of kind `kind`) with `options` (the common options are added here).
pub async fn call_hook(
    ctx: &Call<'_>,
    hook: &Value,
    kind: FunctionKind,
    options: Value,
) -> Result<Value, CallError> {
    call_hook_keeping(ctx, hook, kind, options).await.0
}

/// [`call_hook`], handing the options back so that the caller can take out the records it
/// moved in rather than copy them beforehand.
pub async fn call_hook_keeping(
    ctx: &Call<'_>,
    hook: &Value,
    kind: FunctionKind,
    mut options: Value,
) -> (Result<Value, CallError>, Value) {
    options["configuration"] = hook["configuration"].clone();
    if let Some(flow) = ctx.flow {
        options["_flowId"] = json!(flow);
    }
    let request = CallRequest {
        account: ctx.account.to_owned(),
        stack_id: hook["_stackId"].as_str().unwrap_or_default().to_owned(),
        kind,
        function: hook["function"].as_str().unwrap_or_default().to_owned(),
        options,
        connector: ctx.connector.map(str::to_owned),
        integration: ctx.integration.map(str::to_owned),
        allowed_hosts: Vec::new(),
        debug: None,
        pins: ctx.pins.cloned(),
    };
    let (result, _logs, options) = call::call_keeping(ctx.state, request).await;
    (result, options)
}

/// Take the array `field` out of `options` (records moved in for a call).
fn take_array(options: &mut Value, field: &str) -> Vec<Value> {
    match options.get_mut(field).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// The error item of a failed hook call, naming the hook.
pub fn hook_error(kind: FunctionKind, hook: &Value, error: &CallError) -> ErrorItem {
    ErrorItem {
        code: error.code().to_owned(),
        message: format!(
            "{} hook '{}' failed: {error}",
            kind.api_name(),
            hook["function"].as_str().unwrap_or_default()
        ),
        source: Some(kind.api_name().to_owned()),
    }
}

/// Error items a guest returned (`errors: [{code, message, source}]`).
pub fn guest_errors(value: &Value, source: &str) -> Vec<ErrorItem> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| ErrorItem {
            code: e["code"].as_str().unwrap_or("hook_error").to_owned(),
            message: e["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string()),
            source: Some(e["source"].as_str().unwrap_or(source).to_owned()),
        })
        .collect()
}

/// What preSavePage made of a page.
#[derive(Debug, Default)]
pub struct SavedPage {
    /// The records to pass on.
    pub data: Vec<Value>,
    /// Errors the hook reported for the page (not tied to a record).
    pub errors: Vec<ErrorItem>,
    /// Records the hook failed, with their errors (`newErrorsAndRetryData`).
    pub failed: Vec<(Value, Vec<ErrorItem>)>,
    /// Stop the export after this page.
    pub abort: bool,
}

/// Run the export's preSavePage hook (if any) on one page.
pub async fn pre_save_page(
    ctx: &Call<'_>,
    export: &Value,
    data: Vec<Value>,
    page_index: usize,
    times: &Value,
) -> Result<SavedPage, (Vec<Value>, ErrorItem)> {
    let Some(hook) = hook_ref(export, "preSavePage") else {
        return Ok(SavedPage {
            data,
            ..SavedPage::default()
        });
    };
    let mut options = json!({
        "errors": [],
        "_exportId": export["_id"],
        "_connectionId": export["_connectionId"],
        "pageIndex": page_index,
    });
    // Moved in, not copied (json! would copy): taken back if the call fails.
    options["data"] = Value::Array(data);
    for field in ["lastExportDateTime", "currentExportDateTime"] {
        if !times[field].is_null() {
            options[field] = times[field].clone();
        }
    }
    let (result, mut options) =
        call_hook_keeping(ctx, hook, FunctionKind::PreSavePage, options).await;
    match result {
        Ok(mut result) => {
            let failed = result["newErrorsAndRetryData"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    let record = item.get("retryData").cloned().unwrap_or(Value::Null);
                    let record = record.get("data").cloned().unwrap_or(record);
                    (record, guest_errors(&item["errors"], "preSavePage"))
                })
                .collect();
            Ok(SavedPage {
                data: match result["data"].take() {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                },
                errors: guest_errors(&result["errors"], "preSavePage"),
                failed,
                abort: result["abort"].as_bool() == Some(true),
            })
        }
        Err(e) => {
            let data = take_array(&mut options, "data");
            Err((data, hook_error(FunctionKind::PreSavePage, hook, &e)))
        }
    }
}

fn failure(source: &str, code: &str, message: String) -> RecordResult {
    RecordResult::failure(
        422,
        ErrorItem {
            code: code.to_owned(),
            message,
            source: Some(source.to_owned()),
        },
    )
}

/// Apply a per-record hook result (preMap / postMap shape) to `data`: `{data}` keeps or
/// replaces the record, `{}` ignores it, `{errors}` fails it, `{data, errors}` keeps it and
/// logs the errors (as failures of this record).
fn apply_per_record(
    result: Value,
    data: &mut [Value],
    slots: &[usize],
    outcomes: &mut [Option<RecordResult>],
    source: &str,
) {
    let Value::Array(entries) = result else {
        return;
    };
    for ((entry, slot), record) in entries.into_iter().zip(slots).zip(data.iter_mut()) {
        let mut entry = entry;
        let errors = guest_errors(&entry["errors"], source);
        match entry.get_mut("data").map(Value::take) {
            Some(new) if !new.is_null() => {
                *record = new;
                if !errors.is_empty() {
                    outcomes[*slot] = Some(RecordResult {
                        status_code: 422,
                        errors,
                        ..RecordResult::default()
                    });
                }
            }
            _ if !errors.is_empty() => {
                outcomes[*slot] = Some(RecordResult {
                    status_code: 422,
                    errors,
                    ..RecordResult::default()
                });
            }
            _ => {
                outcomes[*slot] = Some(RecordResult {
                    status_code: 200,
                    ignored: true,
                    ..RecordResult::default()
                });
            }
        }
    }
}

/// Everything an import step needs that does not change from page to page.
pub struct ImportStep<'a> {
    /// The import document.
    pub import: &'a Value,
    /// Its compiled mapping.
    pub mapping: &'a Mapping,
    /// Its connection, secrets open.
    pub connection: &'a Value,
    /// The template context (times, settings).
    pub context: &'a Value,
    /// Where an aggregating file import appends its records (uploaded when the run ends)
    /// instead of submitting each page.
    pub sink: Option<&'a crate::adaptor::files::FileWriter>,
}

/// Run one page through an import: preMap → mapping → postMap → submit → postSubmit. Returns
/// one result per input record: success, ignored (`ignored: true`), or failed (`errors`).
///
/// The records are borrowed: they are copied only where a hook or a wrapper must be given
/// them, so a plain import (mapping, then submit) never copies a record.
pub async fn import_page(
    ctx: &Call<'_>,
    step: &ImportStep<'_>,
    records: &[&Value],
) -> Vec<RecordResult> {
    let import = step.import;
    let mut outcomes: Vec<Option<RecordResult>> = vec![None; records.len()];
    let mut slots: Vec<usize> = (0..records.len()).collect();
    let total = records.len();
    let mut data: Vec<Cow<'_, Value>> = records.iter().map(|r| Cow::Borrowed(*r)).collect();
    let ids = json!({"_importId": import["_id"], "_connectionId": import["_connectionId"]});

    if let Some(hook) = hook_ref(import, "preMap") {
        let mut options = ids.clone();
        options["data"] = Value::Array(owned(&mut data));
        let (result, mut options) =
            call_hook_keeping(ctx, hook, FunctionKind::PreMap, options).await;
        let mut changed = take_array(&mut options, "data");
        match result {
            Ok(result) => apply_per_record(result, &mut changed, &slots, &mut outcomes, "preMap"),
            Err(e) => return fail_all(total, hook_error(FunctionKind::PreMap, hook, &e)),
        }
        data = changed.into_iter().map(Cow::Owned).collect();
        retain_pending(&mut slots, &mut data, &outcomes);
    }

    let mut mapped = Vec::with_capacity(data.len());
    for (record, slot) in data.iter().zip(&slots) {
        match step.mapping.apply(record) {
            Ok(m) => mapped.push(m),
            Err(e) => {
                outcomes[*slot] = Some(failure(
                    "mapping",
                    e.code(),
                    format!("mapping {}: {e}", e.field()),
                ));
                mapped.push(Value::Null);
            }
        }
    }
    retain_pending_pair(&mut slots, &mut data, &mut mapped, &outcomes);

    if let Some(hook) = hook_ref(import, "postMap")
        && !slots.is_empty()
    {
        let mut options = ids.clone();
        options["preMapData"] = Value::Array(owned(&mut data));
        options["postMapData"] = Value::Array(std::mem::take(&mut mapped));
        let (result, mut options) =
            call_hook_keeping(ctx, hook, FunctionKind::PostMap, options).await;
        data = take_array(&mut options, "preMapData")
            .into_iter()
            .map(Cow::Owned)
            .collect();
        mapped = take_array(&mut options, "postMapData");
        match result {
            Ok(result) => apply_per_record(result, &mut mapped, &slots, &mut outcomes, "postMap"),
            Err(e) => {
                let error = hook_error(FunctionKind::PostMap, hook, &e);
                for slot in &slots {
                    outcomes[*slot] = Some(RecordResult::failure(422, error.clone()));
                }
                return finish(outcomes);
            }
        }
        retain_pending_pair(&mut slots, &mut data, &mut mapped, &outcomes);
    }

    if slots.is_empty() {
        return finish(outcomes);
    }
    let submitted = match step.sink {
        Some(sink) => sink.write(&mapped).map(|()| {
            mapped
                .iter()
                .map(|_| RecordResult::success(None, None))
                .collect()
        }),
        None => {
            // Only a wrapper is given the records as they were before mapping.
            let pre_map: Vec<Value> = if step.connection["type"] == "wrapper" {
                data.iter().map(|r| r.as_ref().clone()).collect()
            } else {
                Vec::new()
            };
            adaptor::import(
                ctx,
                step.connection,
                import,
                &pre_map,
                &mapped,
                step.context,
            )
            .await
        }
    };
    let mut responses = match submitted {
        Ok(r) if r.len() == slots.len() => r,
        Ok(r) => {
            let error = ErrorItem {
                code: "invalid_output".into(),
                message: format!(
                    "the import returned {} results for {} records",
                    r.len(),
                    slots.len()
                ),
                source: Some("import".into()),
            };
            vec![RecordResult::failure(422, error); slots.len()]
        }
        Err(e) => vec![adaptor_failure(step.connection, &e); slots.len()],
    };

    if let Some(hook) = hook_ref(import, "postSubmit") {
        let mut options = ids.clone();
        options["preMapData"] = Value::Array(owned(&mut data));
        options["postMapData"] = Value::Array(std::mem::take(&mut mapped));
        options["responseData"] = json!(responses);
        let (result, _) = call_hook_keeping(ctx, hook, FunctionKind::PostSubmit, options).await;
        match result {
            Ok(Value::Array(items)) => {
                for (item, response) in items.into_iter().zip(responses.iter_mut()) {
                    match serde_json::from_value::<RecordResult>(item) {
                        Ok(r) => *response = r,
                        Err(e) => {
                            *response = failure(
                                "postSubmit",
                                "invalid_output",
                                format!("postSubmit returned an invalid responseData entry: {e}"),
                            )
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                let error = hook_error(FunctionKind::PostSubmit, hook, &e);
                responses = vec![RecordResult::failure(422, error); slots.len()];
            }
        }
    }
    for (slot, response) in slots.iter().zip(responses) {
        outcomes[*slot] = Some(response);
    }
    finish(outcomes)
}

/// The record result of a failed adaptor call.
pub fn adaptor_failure(connection: &Value, e: &AdaptorError) -> RecordResult {
    RecordResult::failure(
        if e.auth { 401 } else { 422 },
        ErrorItem {
            code: e.code.clone(),
            message: e.message.clone(),
            source: Some(
                connection["type"]
                    .as_str()
                    .unwrap_or("connection")
                    .to_owned(),
            ),
        },
    )
}

fn fail_all(n: usize, error: ErrorItem) -> Vec<RecordResult> {
    vec![RecordResult::failure(422, error); n]
}

fn finish(outcomes: Vec<Option<RecordResult>>) -> Vec<RecordResult> {
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                failure("import", "internal", "the record was not processed".into())
            })
        })
        .collect()
}

/// The records of `data` as values of their own (moved out; copied where borrowed).
fn owned(data: &mut Vec<Cow<'_, Value>>) -> Vec<Value> {
    data.drain(..).map(Cow::into_owned).collect()
}

/// Keep only the records without an outcome yet (still to be processed).
fn retain_pending<T>(slots: &mut Vec<usize>, data: &mut Vec<T>, outcomes: &[Option<RecordResult>]) {
    let mut keep = slots.iter().map(|s| outcomes[*s].is_none());
    data.retain(|_| keep.next().unwrap_or(false));
    slots.retain(|s| outcomes[*s].is_none());
}

fn retain_pending_pair<T>(
    slots: &mut Vec<usize>,
    data: &mut Vec<T>,
    mapped: &mut Vec<Value>,
    outcomes: &[Option<RecordResult>],
) {
    let mut keep = slots.iter().map(|s| outcomes[*s].is_none());
    mapped.retain(|_| keep.next().unwrap_or(false));
    retain_pending(slots, data, outcomes);
}

/// The template context of one record: its fields at the top level and under `record` and
/// `data`, plus the run's context.
pub fn record_context(context: &Value, record: &Value) -> Value {
    let mut ctx = match record {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    if let Value::Object(run) = context {
        for (k, v) in run {
            ctx[k.as_str()] = v.clone();
        }
    }
    ctx["record"] = record.clone();
    ctx["data"] = record.clone();
    ctx
}

/// Run an export to the end (or `limit` records) and return its records.
pub async fn collect(
    ctx: &Call<'_>,
    connection: &Value,
    export: &Value,
    context: Value,
    limit: usize,
) -> Result<Vec<Value>, AdaptorError> {
    let mut exporter = Exporter::new(ctx, connection, export, context, None)?;
    let mut records = Vec::new();
    while let Some(page) = exporter.next_page(ctx).await? {
        records.extend(page);
        if records.len() >= limit {
            records.truncate(limit);
            break;
        }
    }
    Ok(records)
}

/// The response a lookup gives response mapping: `{data: [records], statusCode}`.
pub async fn lookup(
    ctx: &Call<'_>,
    connection: &Value,
    export: &Value,
    context: &Value,
    record: &Value,
) -> RecordResult {
    let mut lookup_ctx = record_context(context, record);
    lookup_ctx["data"] = json!([record]);
    match collect(ctx, connection, export, lookup_ctx, MAX_COLLECTED_RECORDS).await {
        Ok(records) => RecordResult::success(None, Some(json!(records))),
        Err(e) => adaptor_failure(connection, &e),
    }
}

/// The JSON a response mapping reads for one record: `{id, statusCode, ignored, errors,
/// _json, data}` (`data` = a lookup's records).
pub fn response_json(result: &RecordResult) -> Value {
    let mut v = serde_json::to_value(result).unwrap_or_else(|_| json!({}));
    if let Some(json) = &result.json {
        v["data"] = json.clone();
    }
    v
}
