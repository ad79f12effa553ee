//! The record transformation the extension benchmark runs three ways — in this guest component,
//! natively in the benchmark driver (which includes this file), and in JavaScript
//! (`benches/node-peer/functions.js`, kept to the same rules):
//!
//! - records with `deleted: true` are dropped;
//! - every other object record gets `processed: true`, its string `status` upper-cased, and
//!   `total` = the sum of `qty * price` over its `lines` (entries where both are numbers);
//! - records that are not objects pass through unchanged.

use integrator_json::{Object, Value};

/// Transform a page's records (see the module documentation).
pub fn transform_records(records: Vec<Value>) -> Vec<Value> {
    records.into_iter().filter_map(transform_record).collect()
}

fn transform_record(mut record: Value) -> Option<Value> {
    let Some(fields) = record.as_object_mut() else {
        return Some(record);
    };
    if fields.get("deleted") == Some(&Value::Bool(true)) {
        return None;
    }
    fields.insert("processed", Value::Bool(true));
    if let Some(Value::String(status)) = fields.get_mut("status") {
        *status = status.to_uppercase();
    }
    let total = order_total(fields);
    fields.insert("total", Value::from(total));
    Some(record)
}

fn order_total(fields: &Object) -> f64 {
    let Some(Value::Array(lines)) = fields.get("lines") else {
        return 0.0;
    };
    lines
        .iter()
        .filter_map(|line| Some(line.get("qty")?.as_f64()? * line.get("price")?.as_f64()?))
        // From +0.0 in order, like JavaScript's `total += qty * price` (`sum()` starts at -0.0).
        .fold(0.0, |total, amount| total + amount)
}
