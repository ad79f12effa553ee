//! Hostile fixture: `nap` sleeps ten minutes — blocked in the host (a WASI monotonic-clock
//! poll), not in guest code, so only the host-side deadline can end it; `ok` is benign.

use std::time::Duration;

use integrator_sdk::Result;
use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};

fn nap(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    integrator_sdk::log::info("going to sleep");
    std::thread::sleep(Duration::from_secs(600));
    Ok(PreSavePageResponse {
        data: options.data,
        ..Default::default()
    })
}

fn ok(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse {
        data: options.data,
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "nap" => nap, "ok" => ok },
}
