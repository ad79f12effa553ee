//! Hostile fixture: the preMap `dropLast` returns one entry fewer than it got records (one more
//! when it got none); `keepAll` is a correct preMap.

use integrator_sdk::Result;
use integrator_sdk::hooks::{PreMapOptions, RecordResult};

fn drop_last(options: PreMapOptions) -> Result<Vec<RecordResult>> {
    let mut results: Vec<RecordResult> = options.data.into_iter().map(RecordResult::keep).collect();
    if results.pop().is_none() {
        results.push(RecordResult::ignore());
    }
    Ok(results)
}

fn keep_all(options: PreMapOptions) -> Result<Vec<RecordResult>> {
    Ok(options.data.into_iter().map(RecordResult::keep).collect())
}

integrator_sdk::functions! {
    pre_map: { "dropLast" => drop_last, "keepAll" => keep_all },
}
