//! Benchmark guest for `make bench-extension` (runtime/benches/extension.rs):
//!
//! - `noop`: a preSavePage that returns `{data: []}` without looking at its page — what the
//!   instantiate benchmark calls (with `{}` options);
//! - `transform`: a preSavePage that parses the page and transforms its records (see
//!   [`transform`]), returning them.
//!
//! Built from source by the benchmark; never committed as a binary.

use integrator_sdk::Result;
use integrator_sdk::hooks::{PreSavePageOptions, PreSavePageResponse};

mod transform;

fn noop(_options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse::default())
}

fn transform(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    Ok(PreSavePageResponse {
        data: transform::transform_records(options.data),
        errors: options.errors,
        ..Default::default()
    })
}

integrator_sdk::functions! {
    pre_save_page: { "noop" => noop, "transform" => transform },
}
