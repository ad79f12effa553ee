//! Hostile fixture: `explode` panics (the guest aborts with `unreachable`); `ok` is benign.

use integrator_sdk::Result;
use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};

fn explode(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    panic!("refusing to handle {} records", options.data.len());
}

fn ok(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse {
        data: options.data,
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "explode" => explode, "ok" => ok },
}
