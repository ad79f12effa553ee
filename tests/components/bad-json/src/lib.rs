//! Hostile fixture, written against the WIT contract directly (the SDK always returns JSON):
//! a component of the `hook-functions` world whose preSavePage `garble` returns bytes that are
//! not JSON; `ok` returns a valid result.

wit_bindgen::generate!({
    path: "../../../wit",
    world: "hook-functions",
});

use exports::integrator::extension::hooks::{Guest, HookKind};
use integrator::extension::types::Failure;

struct BadJson;

impl Guest for BadJson {
    fn functions() -> Vec<(HookKind, String)> {
        vec![
            (HookKind::PreSavePage, "garble".to_owned()),
            (HookKind::PreSavePage, "ok".to_owned()),
        ]
    }

    fn call(kind: HookKind, function: String, _options: Vec<u8>) -> Result<Vec<u8>, Failure> {
        match (kind, function.as_str()) {
            (HookKind::PreSavePage, "garble") => Ok(b"{\"data\": [1, 2, oops".to_vec()),
            (HookKind::PreSavePage, "ok") => Ok(br#"{"data": [{"ok": true}]}"#.to_vec()),
            _ => Err(Failure {
                code: "function_not_found".to_owned(),
                message: format!("no function '{function}'"),
                source: None,
            }),
        }
    }
}

export!(BadJson);
