//! Test fixture for the file flow tests (tests/tests/e2e/files.rs):
//!
//! - `pauseOnPage` (preSavePage): passes the page on unchanged, after sleeping
//!   `configuration.ms` milliseconds on page `configuration.page` (0 when absent), so a test
//!   can act while the flow run is held there;
//! - `recordFile` (postAggregate): invokes the import `configuration.importId` with one record
//!   `{fileName, success, code, message}` from `postAggregateData`, so a test can see what the
//!   hook was told (a file import writes it as a file); fails when the platform refuses.

use std::time::Duration;

use integrator_sdk::hooks::{PostAggregateOptions, PreSavePageOptions, PreSavePageResponse};
use integrator_sdk::{Failure, Result, json};

fn pause_on_page(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let config = &options.common.configuration;
    if options.page_index == config["page"].as_u64().unwrap_or(0) {
        std::thread::sleep(Duration::from_millis(config["ms"].as_u64().unwrap_or(0)));
    }
    Ok(PreSavePageResponse {
        data: options.data,
        errors: options.errors,
        ..Default::default()
    })
}

fn record_file(options: PostAggregateOptions) -> Result<()> {
    let Some(import) = options.common.configuration["importId"].as_str() else {
        return Err(Failure::new(
            "no_import",
            "configuration.importId is missing",
        ));
    };
    let data = &options.post_aggregate_data;
    let record = json!({
        "fileName": data.json["fileName"],
        "success": data.success,
        "code": data.code,
        "message": data.message,
    });
    options
        .common
        .platform()
        .post(
            &format!("/v1/imports/{import}/invoke"),
            &json!({"data": [record]}),
        )
        .into_result()
        .map(|_| ())
}

integrator_sdk::functions! {
    pre_save_page: { "pauseOnPage" => pause_on_page },
    post_aggregate: { "recordFile" => record_file },
}
