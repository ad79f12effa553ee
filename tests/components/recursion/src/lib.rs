//! Hostile fixture: `descend` recurses without bound (not a tail call, so it cannot become a
//! loop) until the wasm stack overflows; `ok` is benign.

use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};
use integrator_sdk::{Result, json};

#[inline(never)]
fn descend(depth: u64, salt: u64) -> u64 {
    if depth == u64::MAX {
        return salt;
    }
    let below = descend(depth + 1, salt ^ depth);
    below.rotate_left(7) ^ depth.wrapping_mul(salt | 1)
}

fn deep(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let bottom = descend(0, options.data.len() as u64);
    Ok(PreSavePageResponse {
        data: vec![json!({ "bottom": bottom })],
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
    pre_save_page: { "deep" => deep, "ok" => ok },
}
