//! Example hooks for Integrator flows.
//!
//! Build: `cargo build --target wasm32-wasip2 --release` (in `examples/`), then upload
//! `target/wasm32-wasip2/release/example_hooks.wasm` to a stack of type `wasm` and reference a
//! function by name, e.g. `"hooks": {"preSavePage": {"_stackId": "…", "function": "tagOrders"}}`.
//! Run one function: `POST /v1/stacks/{_id}/invoke` with `{"kind":"preSavePage",
//! "function":"tagOrders","options":{"data":[…]}}`, or without a server `integrator invoke
//! example_hooks.wasm --kind preSavePage --function tagOrders --options options.json` — see
//! `examples/hooks/README.md`.

use integrator_sdk::hooks::{
    PostMapOptions, PostSubmitOptions, PreMapOptions, PreSavePageOptions, PreSavePageResponse, RecordResult,
    ResponseData,
};
use integrator_sdk::{Failure, Result, Value};

/// Keeps only orders with a positive `total`, tags each with `tagged: true` and the page index,
/// and stops the export after the page whose `configuration.abortAfterPage` says so.
fn tag_orders(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let page = options.page_index;
    let data = options
        .data
        .into_iter()
        .filter(|r| r["total"].as_f64().is_some_and(|t| t > 0.0))
        .map(|mut r| {
            r["tagged"] = Value::Bool(true);
            r["page"] = Value::from(page);
            r
        })
        .collect();
    let abort = options.common.configuration["abortAfterPage"].as_u64() == Some(page);
    Ok(PreSavePageResponse {
        data,
        errors: options.errors,
        abort,
        ..Default::default()
    })
}

/// Ignores records without an `email`, fails records whose email has no `@`, lower-cases the rest.
fn clean_emails(options: PreMapOptions) -> Result<Vec<RecordResult>> {
    Ok(options
        .data
        .into_iter()
        .map(|mut record| match record["email"].as_str() {
            None => RecordResult::ignore(),
            Some(email) if !email.contains('@') => {
                RecordResult::fail(Failure::new("invalid_email", format!("'{email}' is not an email address")))
            }
            Some(email) => {
                record["email"] = Value::String(email.to_lowercase());
                RecordResult::keep(record)
            }
        })
        .collect())
}

/// Adds `source: "integrator"` to every mapped record.
fn stamp_source(options: PostMapOptions) -> Result<Vec<RecordResult>> {
    Ok(options
        .post_map_data
        .into_iter()
        .map(|mut record| {
            record["source"] = Value::from("integrator");
            RecordResult::keep(record)
        })
        .collect())
}

/// Marks 422 answers whose error code is `duplicate` as ignored instead of failed.
fn ignore_duplicates(options: PostSubmitOptions) -> Result<Vec<ResponseData>> {
    Ok(options
        .response_data
        .into_iter()
        .map(|mut response| {
            if response.status_code == 422 && response.errors.iter().any(|e| e.code == "duplicate") {
                response.ignored = true;
                response.errors.clear();
                response.status_code = 200;
            }
            response
        })
        .collect())
}

integrator_sdk::functions! {
    pre_save_page: { "tagOrders" => tag_orders },
    pre_map: { "cleanEmails" => clean_emails },
    post_map: { "stampSource" => stamp_source },
    post_submit: { "ignoreDuplicates" => ignore_duplicates },
}
