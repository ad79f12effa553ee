//! Hostile fixture: `hog` allocates (and touches) 1 MiB after 1 MiB until memory is refused;
//! `fill` holds as many MiB at once as it has records (and succeeds when they fit in the
//! stack's memory limit); `ok` is benign.

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

fn fill(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let mut held: Vec<Vec<u8>> = Vec::new();
    for _ in &options.data {
        let mut chunk = vec![0u8; 1 << 20];
        for byte in chunk.iter_mut().step_by(4096) {
            *byte = held.len() as u8;
        }
        held.push(std::hint::black_box(chunk));
    }
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
    pre_save_page: { "hog" => hog, "fill" => fill, "ok" => ok },
}
