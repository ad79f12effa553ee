//! Hostile fixture: `spin` never returns (the epoch deadline, or fuel, must stop it); `ok` is a
//! benign preSavePage that passes its records through.

use integrator_sdk::Result;
use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};

fn spin(_options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let mut turns: u64 = 0;
    loop {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

fn ok(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse {
        data: options.data,
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "spin" => spin, "ok" => ok },
}
