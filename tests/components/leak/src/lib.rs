//! Token fixture, run as connector code (its token may create exports of its connector): each
//! function first leaks its call's one-time token by creating an export `{"name": "leak",
//! "leaked": <token>}`, so a test can try the token over plain HTTP during and after the call.
//! Then `holdOpen` waits until a test sets `release: true` on that export and returns;
//! `leakThenPanic` panics; `leakThenSleep` sleeps past any deadline.

use std::time::Duration;

use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};
use integrator_sdk::platform::Platform;
use integrator_sdk::{Failure, Result, json};

/// Create the export holding the token; its `_id`.
fn leak(options: &PreSavePageOptions) -> Result<(Platform, String)> {
    let platform = options.common.platform();
    let created = platform
        .post(
            "/v1/exports",
            &json!({"name": "leak", "leaked": options.common.bearer_token}),
        )
        .into_result()?;
    let id = created["_id"]
        .as_str()
        .ok_or_else(|| Failure::new("leak_failed", "the created export has no _id"))?
        .to_owned();
    Ok((platform, id))
}

fn hold_open(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let (platform, id) = leak(&options)?;
    loop {
        let export = platform.get(&format!("/v1/exports/{id}")).into_result()?;
        if export["release"] == true {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(PreSavePageResponse {
        data: vec![json!({ "released": id })],
        ..Default::default()
    })
}

fn leak_then_panic(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let (_, id) = leak(&options)?;
    panic!("leaked the token in export {id}");
}

fn leak_then_sleep(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    leak(&options)?;
    std::thread::sleep(Duration::from_secs(600));
    Ok(PreSavePageResponse::default())
}

integrator_sdk::functions! {
    pre_save_page: {
        "holdOpen" => hold_open,
        "leakThenPanic" => leak_then_panic,
        "leakThenSleep" => leak_then_sleep,
    },
}
