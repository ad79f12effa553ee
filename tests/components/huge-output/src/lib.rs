//! Hostile fixture: `flood` returns one record holding `configuration.mib` MiB of text (40 by
//! default), more than a call may return; `floodFailure` fails with a message that large; `ok`
//! is benign.

use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};
use integrator_sdk::{Failure, Result, json};

fn flood(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let mib = options.common.configuration["mib"].as_u64().unwrap_or(40) as usize;
    let text = "x".repeat(mib << 20);
    Ok(PreSavePageResponse {
        data: vec![json!({ "blob": text })],
        ..Default::default()
    })
}

fn flood_failure(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let mib = options.common.configuration["mib"].as_u64().unwrap_or(40) as usize;
    Err(Failure::new("too_chatty", "x".repeat(mib << 20)))
}

fn ok(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse {
        data: options.data,
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "flood" => flood, "floodFailure" => flood_failure, "ok" => ok },
}
