//! Hostile fixture: `hog` allocates (and touches) 1 MiB after 1 MiB until memory is refused;
//! `ok` is benign.

use integrator_sdk::Result;
use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};

fn hog(_options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for byte in chunk.iter_mut().step_by(4096) {
            *byte = hoard.len() as u8;
        }
        hoard.push(std::hint::black_box(chunk));
    }
}

fn ok(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse {
        data: options.data,
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "hog" => hog, "ok" => ok },
}
