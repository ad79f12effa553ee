//! The WebAssembly extension runtime as a connector developer meets it: uploading components to
//! stacks, calling every kind of function through `POST /v1/stacks/{_id}/invoke`, hostile
//! guests (each failing with its own code while the server carries on), the one-time token of
//! each call and its scope, and `integrator invoke` without a server.
//!
//! The guests are built from source by the test build: `tests/components/*` (fixtures).

use std::process::Command;

use crate::harness::*;

/// Echoes its options (`echo`) and sends platform requests with its token (`request`).
const PROBE: &str = env!("WASM_FIXTURE_PROBE");
/// One realistic function of every kind.
const KINDS: &str = env!("WASM_FIXTURE_KINDS");
/// `spin`: an infinite loop.
const LOOP: &str = env!("WASM_FIXTURE_LOOP");
/// `nap`: sleeps in a host call (WASI poll) past any deadline.
const SLEEP: &str = env!("WASM_FIXTURE_SLEEP");
/// `deep`: unbounded recursion.
const RECURSION: &str = env!("WASM_FIXTURE_RECURSION");
/// `hog`: allocates until refused.
const MEMORY_BOMB: &str = env!("WASM_FIXTURE_MEMORY_BOMB");
/// `flood`: returns `configuration.mib` MiB (40 by default); `floodFailure`: fails with a
/// message that large.
const HUGE_OUTPUT: &str = env!("WASM_FIXTURE_HUGE_OUTPUT");
/// `explode`: panics.
const PANIC: &str = env!("WASM_FIXTURE_PANIC");
/// preMap `dropLast`: one entry short; `keepAll`: correct.
const WRONG_LENGTH: &str = env!("WASM_FIXTURE_WRONG_LENGTH");
/// `garble`: returns bytes that are not JSON (raw bindings, `hook-functions` world).
const BAD_JSON: &str = env!("WASM_FIXTURE_BAD_JSON");
/// A plain WASI command (`wasi:cli/run`).
const OTHER_WORLD: &str = env!("WASM_FIXTURE_OTHER_WORLD");
/// Exports the hooks interface but imports `backdoor`, which no host provides.
const FOREIGN_IMPORT: &str = env!("WASM_FIXTURE_FOREIGN_IMPORT");
/// Built against `integrator:extension@2.0.0`.
const FUTURE_VERSION: &str = env!("WASM_FIXTURE_FUTURE_VERSION");
/// Exports `integrator:extension/hooks@1.0.0` with functions of other types.
const WRONG_SHAPE: &str = env!("WASM_FIXTURE_WRONG_SHAPE");
/// Connector code leaking its token into an export: `holdOpen` (until released),
/// `leakThenPanic`, `leakThenSleep`.
const LEAK: &str = env!("WASM_FIXTURE_LEAK");
/// `escape`: tries files, environment, sockets, DNS and stdio; `fetch`: outbound HTTP, as a
/// hook and as a wrapper export.
const ESCAPE: &str = env!("WASM_FIXTURE_ESCAPE");

/// Small limits for hostile guests, so each test ends within about a second.
fn tight() -> Value {
    json!({"timeoutSeconds": 1, "memoryMiB": 16})
}

fn wasm(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading the fixture {path}: {e}"))
}

/// `PUT /v1/stacks/{stack}/component` with `bytes` as `application/wasm`.
async fn upload(api: &Api, stack: &str, bytes: Vec<u8>) -> Reply {
    api.send(
        Method::PUT,
        &format!("/v1/stacks/{stack}/component"),
        Some(("application/wasm", bytes)),
    )
    .await
}

/// A new stack with `limits` (none when `null`) holding `component`; its `_id`.
async fn deploy(api: &Api, component: &str, limits: Value) -> String {
    let mut body = json!({"name": "code under test", "type": "wasm"});
    if !limits.is_null() {
        body["limits"] = limits;
    }
    let stack = api.create_id("stacks", body).await;
    upload(api, &stack, wasm(component)).await.expect(200);
    stack
}

/// `POST /v1/stacks/{stack}/invoke`.
async fn invoke(api: &Api, stack: &str, kind: &str, function: &str, options: Value) -> Reply {
    api.post(
        &format!("/v1/stacks/{stack}/invoke"),
        &json!({"kind": kind, "function": function, "options": options}),
    )
    .await
}

/// A call that must succeed: its `{result, logs}`.
async fn call(api: &Api, stack: &str, kind: &str, function: &str, options: Value) -> Value {
    let body = invoke(api, stack, kind, function, options)
        .await
        .expect(200);
    assert!(body["logs"].is_array(), "{body}");
    body
}

/// A failed call: a 422 with exactly one error, of `code`; its message.
#[track_caller]
fn failed_with(reply: &Reply, code: &str) -> String {
    let problems = reply.expect_error(422, code);
    assert_eq!(problems.len(), 1, "one error: {}", reply.text);
    problems[0].message.clone()
}

/// After a hostile call: the server still answers, and a benign preSavePage of the same stack
/// (same component, same limits) runs normally.
async fn still_serves(api: &Api, stack: &str, benign: &str) {
    api.get("/v1/tokenInfo").await.expect(200);
    let records = json!([{"id": 1, "name": "still here"}]);
    let body = call(api, stack, "preSavePage", benign, json!({"data": records})).await;
    assert_eq!(body["result"]["data"], records, "{body}");
}

/// Have the probe send one platform API request with its call's token, during the call;
/// returns the status and body the guest saw. `connector` makes the call connector code.
async fn probe_request(
    api: &Api,
    stack: &str,
    connector: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut configuration = json!({"method": method, "path": path});
    if let Some(body) = body {
        configuration["body"] = body;
    }
    let mut options = json!({"configuration": configuration});
    if let Some(connector) = connector {
        options["_connectorId"] = json!(connector);
    }
    let body = call(api, stack, "preSavePage", "request", options).await;
    let answer = &body["result"]["data"][0];
    let status = answer["status"]
        .as_u64()
        .unwrap_or_else(|| panic!("the probe reports a status: {body}"));
    (status as u16, answer["body"].clone())
}

// ---------------------------------------------------------------------------------------------
// Upload
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_uploaded_component_shows_its_digest_size_wit_version_and_functions_by_kind() {
    let server = Server::start();
    let api = server.api();
    let stack = api
        .create_id("stacks", json!({"name": "kinds", "type": "wasm"}))
        .await;
    let bytes = wasm(KINDS);
    let uploaded = upload(&api, &stack, bytes.clone()).await.expect(200);
    let component = &uploaded["component"];
    let digest = string(component, "digest");
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("a sha256 digest: {digest}"));
    assert!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{digest}"
    );
    assert_eq!(component["size"], json!(bytes.len()));
    assert_eq!(component["witVersion"], json!("1.0.0"));
    assert_eq!(
        component["functions"],
        json!({
            "preSavePage": ["tagOrders"],
            "preMap": ["normalizeContacts"],
            "postMap": ["stampMapped"],
            "postSubmit": ["forgiveDuplicates"],
            "postResponseMap": ["mergeResponses"],
            "postAggregate": ["announceFile"],
            "ping": ["ping"],
            "export": ["listOrders"],
            "import": ["upsertOrders"],
            "installer": ["install"],
            "update": ["upgrade"],
            "preUninstall": ["preUninstall"],
            "uninstaller": ["uninstall"],
            "changeEdition": ["changeEdition"],
            "initChild": ["initChild"],
            "formInit": ["settingsForm"],
            "persistSettings": ["saveSettings"],
            "preSave": ["preSave"],
            "refreshMetadata": ["refreshRegions"],
            "getMappingMetadata": ["mappingMetadata"],
        })
    );
    // The stack document keeps what the upload answered.
    let read = api.get(&format!("/v1/stacks/{stack}")).await.expect(200);
    assert_eq!(read["component"], uploaded["component"], "{read}");
    assert_eq!(read["name"], json!("kinds"));

    // The same bytes have the same digest; other bytes replace the component and its functions.
    let again = upload(&api, &stack, bytes).await.expect(200);
    assert_eq!(again["component"]["digest"], json!(digest));
    let replaced = upload(&api, &stack, wasm(PROBE)).await.expect(200);
    assert_ne!(replaced["component"]["digest"], json!(digest));
    assert_eq!(
        replaced["component"]["functions"],
        json!({"preSavePage": ["echo", "request"]})
    );
    // A component of one world only (hooks, raw bindings) is accepted too.
    let hooks_only = upload(&api, &stack, wasm(BAD_JSON)).await.expect(200);
    assert_eq!(
        hooks_only["component"]["functions"],
        json!({"preSavePage": ["garble", "ok"]})
    );

    // Replacing the stack document keeps its component (only an upload sets it) …
    let replaced = api
        .put(
            &format!("/v1/stacks/{stack}"),
            &json!({"name": "renamed", "type": "wasm", "limits": {"timeoutSeconds": 5}, "component": null}),
        )
        .await
        .expect(200);
    assert_eq!(replaced["component"], hooks_only["component"]);
    call(&api, &stack, "preSavePage", "ok", json!({})).await;
    // … and a component cannot be claimed by writing the field.
    let forged = api
        .create(
            "stacks",
            json!({"name": "forged", "type": "wasm", "component": hooks_only["component"]}),
        )
        .await;
    assert!(forged.get("component").is_none(), "{forged}");
    failed_with(
        &invoke(
            &api,
            &string(&forged, "_id"),
            "preSavePage",
            "ok",
            json!({}),
        )
        .await,
        "no_component",
    );
}

#[tokio::test]
async fn a_component_is_served_after_a_restart_from_the_on_disk_cache() {
    let mut server = Server::start();
    let stack = deploy(&server.api(), PROBE, Value::Null).await;
    let cache = server.data_dir().join("components");
    let cached: Vec<String> = files_under(&cache)
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    assert!(
        cached.iter().any(|f| f.ends_with(".cwasm")) && cached.iter().any(|f| f.ends_with(".wasm")),
        "the compiled artifact and the original are cached: {cached:?}"
    );
    server.restart();
    let api = server.api();
    let body = call(&api, &stack, "preSavePage", "echo", json!({"data": [1]})).await;
    assert_eq!(body["result"]["data"][0]["data"], json!([1]));
    // Without the compiled artifact (e.g. after an engine upgrade), the original is compiled
    // again.
    server.offline(|_| {
        for file in files_under(&cache) {
            if file.extension().is_some_and(|e| e == "cwasm") {
                std::fs::remove_file(&file).expect("removing the compiled artifact");
            }
        }
    });
    let api = server.api();
    let body = call(&api, &stack, "preSavePage", "echo", json!({"data": [2]})).await;
    assert_eq!(body["result"]["data"][0]["data"], json!([2]));
}

#[tokio::test]
async fn uploads_that_are_not_extension_components_are_refused_saying_why() {
    let server = Server::start();
    let api = server.api();
    let stack = api
        .create_id("stacks", json!({"name": "refusals", "type": "wasm"}))
        .await;

    // Larger than the 32 MiB cap (but within the 50 MiB body limit): refused before parsing.
    let mut too_large = b"\0asm\x0d\0\x01\0".to_vec();
    too_large.resize(33 << 20, 0);
    let message = failed_with(
        &upload(&api, &stack, too_large).await,
        "component_too_large",
    );
    assert!(message.contains(&(32u64 << 20).to_string()), "{message}");

    // A core module (the empty module: magic and version 1).
    let message = failed_with(
        &upload(&api, &stack, b"\0asm\x01\0\0\0".to_vec()).await,
        "not_a_component",
    );
    assert!(message.contains("core"), "{message}");

    // Not WebAssembly at all, or nothing.
    failed_with(
        &upload(&api, &stack, b"#!/bin/sh\necho hello\n".to_vec()).await,
        "not_wasm",
    );
    failed_with(&upload(&api, &stack, Vec::new()).await, "not_wasm");

    // A component header followed by garbage.
    let mut truncated = b"\0asm\x0d\0\x01\0".to_vec();
    truncated.extend_from_slice(b"\x07\xff\xff\xffgarbage");
    failed_with(&upload(&api, &stack, truncated).await, "invalid_component");

    // A component of another world: a WASI command.
    let message = failed_with(
        &upload(&api, &stack, wasm(OTHER_WORLD)).await,
        "wrong_world",
    );
    assert!(message.contains("wasi:cli/run"), "{message}");

    // A component of another version of the contract.
    let message = failed_with(
        &upload(&api, &stack, wasm(FUTURE_VERSION)).await,
        "unsupported_wit_version",
    );
    assert!(
        message.contains("2.0.0") && message.contains("1.0.0"),
        "{message}"
    );

    // The contract's name and version, but not its types.
    let message = failed_with(
        &upload(&api, &stack, wasm(WRONG_SHAPE)).await,
        "invalid_component",
    );
    assert!(message.contains("type"), "{message}");

    // A component that needs something the sandbox does not provide.
    let message = failed_with(
        &upload(&api, &stack, wasm(FOREIGN_IMPORT)).await,
        "unsupported_imports",
    );
    assert!(message.contains("backdoor"), "{message}");

    // Nothing was stored: the stack has no component, and calling it says so.
    let read = api.get(&format!("/v1/stacks/{stack}")).await.expect(200);
    assert!(read.get("component").is_none(), "{read}");
    failed_with(
        &invoke(&api, &stack, "preSavePage", "echo", json!({})).await,
        "no_component",
    );

    // A refused upload leaves a stored component in place.
    upload(&api, &stack, wasm(PROBE)).await.expect(200);
    failed_with(
        &upload(&api, &stack, b"\0asm\x01\0\0\0".to_vec()).await,
        "not_a_component",
    );
    call(&api, &stack, "preSavePage", "echo", json!({})).await;
}

#[tokio::test]
async fn an_upload_must_say_it_is_wasm() {
    let server = Server::start();
    let api = server.api();
    let stack = api
        .create_id("stacks", json!({"name": "types", "type": "wasm"}))
        .await;
    for content_type in ["application/json", "application/octet-stream", "text/plain"] {
        api.send(
            Method::PUT,
            &format!("/v1/stacks/{stack}/component"),
            Some((content_type, wasm(PROBE))),
        )
        .await
        .expect_error(415, "unsupported_media_type");
    }
    api.send(Method::PUT, &format!("/v1/stacks/{stack}/component"), None)
        .await
        .expect_error(415, "unsupported_media_type");
    let read = api.get(&format!("/v1/stacks/{stack}")).await.expect(200);
    assert!(read.get("component").is_none(), "{read}");
}

#[tokio::test]
async fn another_accounts_stack_cannot_be_uploaded_to_or_invoked() {
    let server = Server::start();
    let a = server.api();
    let stack = deploy(&a, PROBE, Value::Null).await;
    let (_, b_token) = server.new_account("b@example.com").await;
    let b = server.api_as(&b_token);
    upload(&b, &stack, wasm(KINDS))
        .await
        .expect_error(404, "not_found");
    invoke(&b, &stack, "preSavePage", "echo", json!({}))
        .await
        .expect_error(404, "not_found");
    upload(&b, MISSING_ID, wasm(PROBE))
        .await
        .expect_error(404, "not_found");
    // A's stack still holds A's component.
    let read = a.get(&format!("/v1/stacks/{stack}")).await.expect(200);
    assert_eq!(
        read["component"]["functions"],
        json!({"preSavePage": ["echo", "request"]})
    );
}

#[tokio::test]
async fn invoke_requests_are_validated() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, PROBE, Value::Null).await;
    let path = format!("/v1/stacks/{stack}/invoke");
    let message = api
        .post(&path, &json!({"kind": "beforeSave", "function": "echo"}))
        .await
        .expect_invalid("invalid_value", "kind");
    assert!(message.contains("preSavePage"), "{message}");
    api.post(&path, &json!({"kind": "preSavePage"}))
        .await
        .expect_error(422, "missing_field");
    api.post(
        &path,
        &json!({"kind": "preSavePage", "function": "echo", "options": {"_connectorId": MISSING_ID}}),
    )
    .await
    .expect_invalid("invalid_reference", "options._connectorId");
}

// ---------------------------------------------------------------------------------------------
// Every kind of function
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_kind_of_function_runs_with_realistic_options() {
    let server = Server::start_unlimited();
    let api = server.api();
    let stack = deploy(&api, KINDS, Value::Null).await;
    let connection = api
        .create_id(
            "connections",
            json!({"name": "shop", "type": "rest", "rest": {"baseURI": "https://shop.example.com"}}),
        )
        .await;
    let export = api
        .create_id(
            "exports",
            json!({"name": "orders", "_connectionId": connection}),
        )
        .await;
    let import = api
        .create_id(
            "imports",
            json!({"name": "contacts", "_connectionId": connection}),
        )
        .await;
    let integration = api
        .create_id("integrations", json!({"name": "Shop sync"}))
        .await;
    let flow = api
        .create_id(
            "flows",
            json!({"name": "orders to contacts", "_exportId": export, "_importId": import, "_integrationId": integration}),
        )
        .await;
    let connector = api
        .create_id("connectors", json!({"name": "Shop app", "_stackId": stack}))
        .await;

    // preSavePage: filters, tags, fails a record without id, aborts after the configured page.
    let body = call(
        &api,
        &stack,
        "preSavePage",
        "tagOrders",
        json!({
            "data": [
                {"id": 1, "status": "open"},
                {"id": 2, "status": "cancelled"},
                {"status": "open", "sku": "X-1"},
            ],
            "errors": [],
            "_exportId": export, "_connectionId": connection, "_flowId": flow,
            "_integrationId": integration,
            "pageIndex": 3,
            "lastExportDateTime": "2026-01-01T00:00:00.000Z",
            "currentExportDateTime": "2026-01-02T00:00:00.000Z",
            "configuration": {"stopAfterPage": 3},
        }),
    )
    .await;
    let missing_id = json!({"code": "missing_id", "message": "the order has no id"});
    assert_eq!(
        body["result"],
        json!({
            "data": [{"id": 1, "status": "open", "tagged": true, "page": 3}],
            "errors": [missing_id],
            "abort": true,
            "newErrorsAndRetryData": [{"error": missing_id, "data": {"status": "open", "sku": "X-1"}}],
        })
    );
    assert_eq!(
        body["logs"],
        json!([{"level": "info", "message": "kept 1 of 3 orders"}])
    );
    let body = call(
        &api,
        &stack,
        "preSavePage",
        "tagOrders",
        json!({"data": [], "pageIndex": 0, "configuration": {"stopAfterPage": 3}}),
    )
    .await;
    assert_eq!(body["result"]["abort"], json!(false));

    // preMap: one entry per record — modify, ignore, fail, and process-with-errors.
    let body = call(
        &api,
        &stack,
        "preMap",
        "normalizeContacts",
        json!({
            "data": [
                {"email": "ADA@Example.com", "name": "Ada"},
                {"skip": true},
                {"name": "No Mail"},
                {"email": "Bob@Example.com"},
            ],
            "_importId": import, "_connectionId": connection, "_flowId": flow,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!([
            {"data": {"email": "ada@example.com", "name": "Ada"}},
            {},
            {"errors": [{"code": "missing_email", "message": "no email"}]},
            {"data": {"email": "bob@example.com"}, "errors": [{"code": "missing_name", "message": "no name; imported anyway"}]},
        ])
    );

    // postMap: one entry per mapped record.
    let body = call(
        &api,
        &stack,
        "postMap",
        "stampMapped",
        json!({
            "preMapData": [{"id": "c1"}, {"id": "c2"}],
            "postMapData": [{"Email": "a@x"}, {"Email": "b@x"}],
            "_importId": import, "_connectionId": connection, "_flowId": flow,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!([
            {"data": {"Email": "a@x", "sourceId": "c1"}},
            {"data": {"Email": "b@x", "sourceId": "c2"}},
        ])
    );

    // postSubmit: responseData, same length, possibly modified.
    let body = call(
        &api,
        &stack,
        "postSubmit",
        "forgiveDuplicates",
        json!({
            "preMapData": [{"id": 1}, {"id": 2}, {"id": 3}],
            "postMapData": [{"Id": 1}, {"Id": 2}, {"Id": 3}],
            "responseData": [
                {"statusCode": 200, "id": "r1", "ignored": false, "_json": {"ok": true}},
                {"statusCode": 422, "ignored": false, "errors": [{"code": "duplicate", "message": "exists"}]},
                {"statusCode": 401, "ignored": false, "errors": [{"code": "auth", "message": "expired"}]},
            ],
            "_importId": import, "_connectionId": connection, "_flowId": flow,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!([
            {"statusCode": 200, "id": "r1", "ignored": false, "_json": {"ok": true}},
            {"statusCode": 200, "ignored": true},
            {"statusCode": 401, "ignored": false, "errors": [{"code": "auth", "message": "expired"}]},
        ])
    );

    // postResponseMap: postResponseMapData, same length.
    let body = call(
        &api,
        &stack,
        "postResponseMap",
        "mergeResponses",
        json!({
            "postResponseMapData": [{"order": 1}, {"order": 2}],
            "responseData": [{"id": "s1"}, {"id": "s2"}],
            "oneToMany": false,
            "_importId": import, "_flowId": flow,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!([{"order": 1, "shipmentId": "s1"}, {"order": 2, "shipmentId": "s2"}])
    );

    // postAggregate: returns nothing; what it logged comes back.
    let body = call(
        &api,
        &stack,
        "postAggregate",
        "announceFile",
        json!({
            "postAggregateData": {"success": true, "_json": {"fileName": "orders-2026.csv"}},
            "_importId": import, "_flowId": flow,
        }),
    )
    .await;
    assert_eq!(body["result"], Value::Null);
    assert_eq!(
        body["logs"],
        json!([{"level": "info", "message": "uploaded orders-2026.csv"}])
    );

    // Wrapper ping: 200 with credentials, 401 with errors without.
    let body = call(
        &api,
        &stack,
        "ping",
        "ping",
        json!({"connection": {"encrypted": {"apiKey": "k-123"}, "unencrypted": {"region": "eu"}}, "_exportId": export}),
    )
    .await;
    assert_eq!(body["result"], json!({"statusCode": 200}));
    let body = call(
        &api,
        &stack,
        "ping",
        "ping",
        json!({"connection": {"encrypted": {}, "unencrypted": {}}}),
    )
    .await;
    assert_eq!(body["result"]["statusCode"], json!(401));
    assert_eq!(body["result"]["errors"][0]["code"], json!("unauthorized"));

    // Wrapper export: called again with the returned state until lastPage, as a flow would.
    let mut state = Value::Null;
    let mut records = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls <= 5, "the export never reported its last page");
        let body = call(
            &api,
            &stack,
            "export",
            "listOrders",
            json!({
                "connection": {"encrypted": {"apiKey": "k"}, "unencrypted": {}},
                "state": state,
                "_exportId": export, "_flowId": flow,
            }),
        )
        .await;
        let page = &body["result"];
        records.extend(page["data"].as_array().expect("data").iter().cloned());
        state = page["state"].clone();
        if page["lastPage"] == json!(true) {
            break;
        }
    }
    assert_eq!(calls, 3);
    let ids: Vec<&Value> = records.iter().map(|r| &r["id"]).collect();
    assert_eq!(
        ids,
        [1001, 1002, 1003, 1004, 1005]
            .map(|i| json!(i))
            .iter()
            .collect::<Vec<_>>()
    );
    let body = call(
        &api,
        &stack,
        "export",
        "listOrders",
        json!({"type": "test", "test": {"limit": 1}, "connection": {}}),
    )
    .await;
    assert_eq!(
        body["result"]["data"],
        json!([{"id": 1001, "status": "open"}])
    );
    assert_eq!(body["result"]["lastPage"], json!(true));

    // Wrapper import: one result per record.
    let body = call(
        &api,
        &stack,
        "import",
        "upsertOrders",
        json!({
            "connection": {"encrypted": {"apiKey": "k"}, "unencrypted": {}},
            "preMapData": [{"id": 7}, {"skip": true}, {"name": "x"}],
            "postMapData": [{"id": 7}, {"skip": true}, {"name": "x"}],
            "_importId": import, "_flowId": flow,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!([
            {"statusCode": 200, "id": "remote-7", "ignored": false},
            {"statusCode": 200, "ignored": true},
            {"statusCode": 422, "ignored": false, "errors": [{"code": "missing_id", "message": "the record has no id"}]},
        ])
    );

    // Connector lifecycle, as connector code (`_connectorId`).
    let body = call(
        &api,
        &stack,
        "installer",
        "install",
        json!({
            "_integrationId": integration, "_connectorId": connector,
            "opts": {"edition": "premium"}, "_connectionId": connection,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({"success": true, "stepsToUpdate": [
            {"name": "Connect the shop", "completed": true},
            {"name": "Configure premium", "completed": false},
        ]})
    );
    let body = call(
        &api,
        &stack,
        "update",
        "upgrade",
        json!({"_integrationId": integration, "_connectorId": connector, "opts": {"version": "1.2.0"}}),
    )
    .await;
    assert_eq!(body["result"], Value::Null);
    assert_eq!(
        body["logs"],
        json!([{"level": "info", "message": format!("updating integration {integration} to 1.2.0")}])
    );
    let body = call(
        &api,
        &stack,
        "preUninstall",
        "preUninstall",
        json!({"_integrationId": integration, "_connectorId": connector, "opts": {}}),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({"success": true, "stepsToUpdate": [{"name": "Remove flows", "completed": false}]})
    );
    let body = call(
        &api,
        &stack,
        "uninstaller",
        "uninstall",
        json!({"_integrationId": integration, "_connectorId": connector, "opts": {}}),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({"success": true, "stepsToUpdate": []})
    );
    let license = json!({"opts": {"edition": "premium"}, "expires": "2027-01-01T00:00:00.000Z"});
    let body = call(
        &api,
        &stack,
        "changeEdition",
        "changeEdition",
        json!({
            "_connectorId": connector, "fromEdition": "standard", "toEdition": "premium",
            "integration": {"_id": integration, "name": "Shop sync"}, "license": license,
        }),
    )
    .await;
    assert_eq!(body["result"], Value::Null);
    assert_eq!(
        body["logs"],
        json!([{"level": "info", "message": "edition standard -> premium"}])
    );
    // A function's own failure comes back with its code, message and source.
    let message = failed_with(
        &invoke(
            &api,
            &stack,
            "changeEdition",
            "changeEdition",
            json!({"_connectorId": connector, "fromEdition": "standard", "toEdition": "gold"}),
        )
        .await,
        "unknown_edition",
    );
    assert!(
        message.contains("no edition 'gold'") && message.contains("kinds fixture"),
        "{message}"
    );
    let body = call(
        &api,
        &stack,
        "initChild",
        "initChild",
        json!({
            "_connectorId": connector,
            "parentIntegration": {"_id": integration, "name": "Shop sync"},
            "parentLicense": license,
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({"name": "Shop sync - child", "_parentId": integration, "settings": {"edition": "premium"}})
    );

    // Settings.
    let body = call(
        &api,
        &stack,
        "formInit",
        "settingsForm",
        json!({
            "_integrationId": integration, "_connectorId": connector,
            "resource": {"_id": integration, "settings": {"syncOrders": true, "region": "eu"}},
            "parentResource": null,
            "license": license,
        }),
    )
    .await;
    let form = &body["result"];
    assert_eq!(form["sections"][0]["title"], json!("General"));
    assert_eq!(
        form["sections"][0]["fields"][0],
        json!({"id": "syncOrders", "type": "checkbox", "label": "Sync orders", "value": true, "required": false})
    );
    assert_eq!(form["sections"][0]["fields"][1]["value"], json!("eu"));
    assert_eq!(form["sections"][0]["fields"][1]["required"], json!(true));
    let body = call(
        &api,
        &stack,
        "persistSettings",
        "saveSettings",
        json!({
            "_integrationId": integration, "_connectorId": connector, "opts": {},
            "pending": {"region": "EU", "syncOrders": false},
        }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({"success": true, "pending": {"region": "eu", "syncOrders": false}})
    );
    let body = call(
        &api,
        &stack,
        "preSave",
        "preSave",
        json!({"newResource": {"name": "Orders (new)"}, "oldResource": {"name": "Orders"}}),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({"name": "Orders (new)", "previousName": "Orders"})
    );
    let body = call(
        &api,
        &stack,
        "refreshMetadata",
        "refreshRegions",
        json!({"_integrationId": integration, "opts": {"id": "region", "type": "select"}}),
    )
    .await;
    assert_eq!(body["result"]["id"], json!("region"));
    assert_eq!(
        body["result"]["options"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
    let body = call(
        &api,
        &stack,
        "getMappingMetadata",
        "mappingMetadata",
        json!({"_integrationId": integration, "version": "2", "configuration": {"importIds": [import]}}),
    )
    .await;
    assert_eq!(
        body["result"],
        json!({import.clone(): {
            "requiredGenerateFields": ["email"],
            "nonEditableGenerateFields": ["id"],
            "version": "2",
        }})
    );
}

#[tokio::test]
async fn the_platform_fills_the_token_and_common_options() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, PROBE, Value::Null).await;
    let integration = api
        .create_id(
            "integrations",
            json!({"name": "tile", "settings": {"region": "eu"}}),
        )
        .await;
    let connector = api.create_id("connectors", json!({"name": "app"})).await;
    let records = json!([{"id": 1}, {"id": 2}]);
    let body = call(
        &api,
        &stack,
        "preSavePage",
        "echo",
        json!({
            "data": records, "pageIndex": 2, "_integrationId": integration,
            "configuration": {"tag": "blue"}, "bearerToken": "forged",
        }),
    )
    .await;
    assert_eq!(
        body["logs"],
        json!([{"level": "info", "message": "echo called"}])
    );
    let seen = &body["result"]["data"][0];
    let token = string(seen, "bearerToken");
    assert!(token.len() >= 32 && token != "forged", "{seen}");
    assert_eq!(seen["data"], records);
    assert_eq!(seen["pageIndex"], json!(2));
    assert_eq!(seen["_integrationId"], json!(integration));
    assert_eq!(seen["configuration"], json!({"tag": "blue"}));
    assert_eq!(
        seen["settings"],
        json!({"region": "eu"}),
        "the integration's settings: {seen}"
    );
    assert_eq!(seen["testMode"], json!(false));
    assert!(seen.get("_connectorId").is_none(), "DIY code: {seen}");

    // Connector code gets its connector; every call gets a fresh token.
    let body = call(
        &api,
        &stack,
        "preSavePage",
        "echo",
        json!({"_connectorId": connector, "testMode": true}),
    )
    .await;
    let seen = &body["result"]["data"][0];
    assert_eq!(seen["_connectorId"], json!(connector));
    assert_eq!(seen["testMode"], json!(true));
    assert_ne!(string(seen, "bearerToken"), token);
}

// ---------------------------------------------------------------------------------------------
// Hostile guests: each fails with its own code; the server and the stack carry on.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_the_deadline() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, LOOP, tight()).await;
    let reply = invoke(&api, &stack, "preSavePage", "spin", json!({"data": []})).await;
    let message = failed_with(&reply, "timeout");
    assert!(message.contains("'spin'"), "{message}");
    still_serves(&api, &stack, "ok").await;
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel_when_the_stack_meters_it() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(
        &api,
        LOOP,
        json!({"fuel": 20_000_000, "timeoutSeconds": 60}),
    )
    .await;
    let reply = invoke(&api, &stack, "preSavePage", "spin", json!({"data": []})).await;
    failed_with(&reply, "out_of_fuel");
    still_serves(&api, &stack, "ok").await;

    // Metering is per stack: the same component on a stack without a fuel limit runs
    // unmetered (stopped by its deadline), and a fuel limit set after the upload applies from
    // the next call.
    let unmetered = deploy(&api, LOOP, tight()).await;
    let reply = invoke(&api, &unmetered, "preSavePage", "spin", json!({"data": []})).await;
    failed_with(&reply, "timeout");
    let mut doc = api
        .get(&format!("/v1/stacks/{unmetered}"))
        .await
        .expect(200);
    doc["limits"] = json!({"fuel": 20_000_000, "timeoutSeconds": 60});
    api.put(&format!("/v1/stacks/{unmetered}"), &doc)
        .await
        .expect(200);
    let reply = invoke(&api, &unmetered, "preSavePage", "spin", json!({"data": []})).await;
    failed_with(&reply, "out_of_fuel");
    still_serves(&api, &unmetered, "ok").await;
}

#[tokio::test]
async fn a_sleep_inside_a_host_call_is_stopped_at_the_deadline() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, SLEEP, tight()).await;
    let reply = invoke(&api, &stack, "preSavePage", "nap", json!({"data": []})).await;
    let message = failed_with(&reply, "timeout");
    assert!(message.contains("'nap'"), "{message}");
    still_serves(&api, &stack, "ok").await;
}

#[tokio::test]
async fn unbounded_recursion_is_a_stack_overflow() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, RECURSION, tight()).await;
    let reply = invoke(&api, &stack, "preSavePage", "deep", json!({"data": [1]})).await;
    failed_with(&reply, "stack_overflow");
    still_serves(&api, &stack, "ok").await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, MEMORY_BOMB, tight()).await;
    let reply = invoke(&api, &stack, "preSavePage", "hog", json!({"data": []})).await;
    let message = failed_with(&reply, "memory_limit");
    assert!(message.contains(&(16u64 << 20).to_string()), "{message}");
    still_serves(&api, &stack, "ok").await;
}

#[tokio::test]
async fn a_call_may_use_nearly_all_of_its_memory_limit() {
    let server = Server::start();
    let api = server.api();
    // 16 MiB in all, code, data and stack included: 12 MiB held at once fits, even though the
    // guest's allocator first asks for more than that at a time and is refused.
    let stack = deploy(&api, MEMORY_BOMB, tight()).await;
    // `fill` holds 1 MiB per record.
    let page = |mib: usize| {
        let records: Vec<Value> = (0..mib).map(|i| json!({"id": i})).collect();
        json!({ "data": records })
    };
    let body = call(&api, &stack, "preSavePage", "fill", page(12)).await;
    assert_eq!(body["result"]["data"], page(12)["data"], "{body}");
    let reply = invoke(&api, &stack, "preSavePage", "fill", page(16)).await;
    failed_with(&reply, "memory_limit");
    still_serves(&api, &stack, "ok").await;
}

#[tokio::test]
async fn a_huge_result_is_refused_as_too_large() {
    let server = Server::start();
    let api = server.api();
    // Memory for 40 MiB of text and its JSON; the output cap stays at its default (16 MiB).
    let stack = deploy(
        &api,
        HUGE_OUTPUT,
        json!({"memoryMiB": 256, "timeoutSeconds": 30}),
    )
    .await;
    let reply = invoke(&api, &stack, "preSavePage", "flood", json!({"data": []})).await;
    let message = failed_with(&reply, "output_too_large");
    assert!(message.contains(&(16u64 << 20).to_string()), "{message}");
    still_serves(&api, &stack, "ok").await;

    // A stack's own, smaller, cap.
    let small = deploy(&api, HUGE_OUTPUT, json!({"outputMiB": 1})).await;
    let reply = invoke(
        &api,
        &small,
        "preSavePage",
        "flood",
        json!({"configuration": {"mib": 2}}),
    )
    .await;
    failed_with(&reply, "output_too_large");
    // A failure is bounded like a result: a 2 MiB message does not come back.
    let reply = invoke(
        &api,
        &small,
        "preSavePage",
        "floodFailure",
        json!({"configuration": {"mib": 2}}),
    )
    .await;
    failed_with(&reply, "output_too_large");
    assert!(
        reply.text.len() < 4096,
        "{} bytes came back",
        reply.text.len()
    );
    still_serves(&api, &small, "ok").await;
}

#[tokio::test]
async fn a_panic_is_a_guest_trap() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, PANIC, tight()).await;
    let reply = invoke(
        &api,
        &stack,
        "preSavePage",
        "explode",
        json!({"data": [{"id": 1}]}),
    )
    .await;
    failed_with(&reply, "guest_trap");
    still_serves(&api, &stack, "ok").await;
}

#[tokio::test]
async fn a_pre_map_returning_the_wrong_number_of_entries_is_invalid_output() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, WRONG_LENGTH, tight()).await;
    let records = json!([{"id": 1}, {"id": 2}, {"id": 3}]);
    let reply = invoke(&api, &stack, "preMap", "dropLast", json!({"data": records})).await;
    let message = failed_with(&reply, "invalid_output");
    assert!(
        message.contains("preMap")
            && message.contains("dropLast")
            && message.contains("2 entries for 3 records"),
        "the message names the hook and the counts: {message}"
    );
    // Too many is as wrong as too few.
    let reply = invoke(&api, &stack, "preMap", "dropLast", json!({"data": []})).await;
    failed_with(&reply, "invalid_output");

    api.get("/v1/tokenInfo").await.expect(200);
    let body = call(&api, &stack, "preMap", "keepAll", json!({"data": records})).await;
    assert_eq!(
        body["result"],
        json!([{"data": {"id": 1}}, {"data": {"id": 2}}, {"data": {"id": 3}}])
    );
}

#[tokio::test]
async fn a_result_that_is_not_json_is_invalid_output() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, BAD_JSON, tight()).await;
    let reply = invoke(&api, &stack, "preSavePage", "garble", json!({"data": []})).await;
    let message = failed_with(&reply, "invalid_output");
    assert!(message.contains("JSON"), "{message}");
    api.get("/v1/tokenInfo").await.expect(200);
    let body = call(&api, &stack, "preSavePage", "ok", json!({})).await;
    assert_eq!(body["result"]["data"], json!([{"ok": true}]));
}

#[tokio::test]
async fn an_unknown_function_is_function_not_found() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, KINDS, tight()).await;
    let message = failed_with(
        &invoke(&api, &stack, "preSavePage", "tagOrdrs", json!({})).await,
        "function_not_found",
    );
    assert!(message.contains("tagOrdrs"), "{message}");
    // A name of another kind is not a function of this kind.
    failed_with(
        &invoke(&api, &stack, "preMap", "tagOrders", json!({"data": []})).await,
        "function_not_found",
    );
    // A kind the component has no function of at all.
    let probe = deploy(&api, PROBE, tight()).await;
    failed_with(
        &invoke(&api, &probe, "ping", "echo", json!({})).await,
        "function_not_found",
    );
    api.get("/v1/tokenInfo").await.expect(200);
    call(&api, &probe, "preSavePage", "echo", json!({})).await;
}

#[tokio::test]
async fn hostile_guests_all_at_once_leave_the_server_serving() {
    let server = Server::start_unlimited();
    let api = server.api();
    let hostile = [
        (LOOP, "spin", "timeout"),
        (SLEEP, "nap", "timeout"),
        (RECURSION, "deep", "stack_overflow"),
        (MEMORY_BOMB, "hog", "memory_limit"),
        (PANIC, "explode", "guest_trap"),
        (BAD_JSON, "garble", "invalid_output"),
    ];
    let mut stacks = Vec::new();
    for (component, _, _) in hostile {
        stacks.push(deploy(&api, component, tight()).await);
    }
    // All at once, and a benign call meanwhile.
    let benign = deploy(&api, PROBE, tight()).await;
    let mut running = Vec::new();
    for ((_, function, code), stack) in hostile.iter().zip(&stacks) {
        let api = api.clone();
        let stack = stack.clone();
        let (function, code) = (*function, *code);
        running.push(tokio::spawn(async move {
            let reply = invoke(&api, &stack, "preSavePage", function, json!({"data": [1]})).await;
            failed_with(&reply, code);
        }));
    }
    call(&api, &benign, "preSavePage", "echo", json!({})).await;
    for task in running {
        task.await.expect("a hostile call's check");
    }
    for stack in &stacks {
        // Each component still answers its benign function.
        let reply = invoke(&api, stack, "preSavePage", "ok", json!({"data": []})).await;
        reply.expect(200);
    }
    call(&api, &benign, "preSavePage", "echo", json!({})).await;
}

#[tokio::test]
async fn a_guest_computing_without_end_does_not_hold_up_the_rest_of_the_server() {
    let server = Server::start_unlimited();
    let api = server.api();
    let stack = deploy(&api, LOOP, json!({"timeoutSeconds": 4})).await;
    // More spinning calls than the server has worker threads on a small machine.
    let spinning: Vec<_> = (0..4)
        .map(|_| {
            let (api, stack) = (api.clone(), stack.clone());
            tokio::spawn(async move {
                let reply = invoke(&api, &stack, "preSavePage", "spin", json!({})).await;
                failed_with(&reply, "timeout");
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Other requests, and other calls, are answered while the guests spin.
    api.get("/v1/tokenInfo").await.expect(200);
    still_serves(&api, &stack, "ok").await;
    assert!(
        spinning.iter().all(|task| !task.is_finished()),
        "the server answered only once the spinning guests had been stopped"
    );
    for task in spinning {
        task.await.expect("a spinning call's check");
    }
}

#[tokio::test]
async fn guests_reach_no_files_environment_sockets_or_stdio() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, ESCAPE, tight()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("its address").to_string();
    let body = call(
        &api,
        &stack,
        "preSavePage",
        "escape",
        json!({"configuration": {"addr": addr}}),
    )
    .await;
    let found = &body["result"]["data"][0];
    for way in [
        "readDir",
        "readFile",
        "writeFile",
        "env",
        "tcp",
        "udp",
        "dns",
    ] {
        let outcome = found[way].as_str().unwrap_or_default();
        assert!(outcome.starts_with("denied"), "{way}: {outcome} ({found})");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the guest connected to {addr}"
    );
    let output = server.output();
    assert!(
        !output.contains("ESCAPE-STDOUT-MARKER") && !output.contains("ESCAPE-STDERR-MARKER"),
        "a guest's stdout/stderr must go nowhere:\n{output}"
    );
    assert!(
        std::fs::read_dir(server.data_dir())
            .expect("the data directory")
            .flatten()
            .all(|e| e.file_name() != "escaped.txt"),
        "a guest wrote a file"
    );
}

/// A one-route HTTP server on a loopback port answering every request with `hello`; its
/// `host:port`.
async fn upstream() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local listener");
    let addr = listener.local_addr().expect("its address").to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
                    )
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn only_wrappers_reach_the_network_and_only_their_allowed_hosts() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, ESCAPE, tight()).await;
    let host = upstream().await;
    let url = format!("http://{host}/orders");
    let path = format!("/v1/stacks/{stack}/invoke");
    let fetch = |kind: &str, allowed: Value| {
        json!({
            "kind": kind, "function": "fetch", "allowedHosts": allowed,
            "options": {"configuration": {"url": url}},
        })
    };

    let body = api
        .post(&path, &fetch("export", json!([host])))
        .await
        .expect(200);
    assert_eq!(
        body["result"]["data"][0],
        json!({"status": 200, "body": "hello"}),
        "{body}"
    );
    let body = api
        .post(&path, &fetch("export", json!(["example.com"])))
        .await
        .expect(200);
    let error = body["result"]["data"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("does not allow"), "{body}");
    let body = api
        .post(&path, &fetch("preSavePage", json!([host])))
        .await
        .expect(200);
    let error = body["result"]["data"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("only available to wrapper"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// One-time tokens and their scope
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_calls_token_is_revoked_when_the_call_returns() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, PROBE, Value::Null).await;
    let body = call(&api, &stack, "preSavePage", "echo", json!({})).await;
    let token = string(&body["result"]["data"][0], "bearerToken");
    let stale = server.api_as(&token);
    stale
        .get("/v1/tokenInfo")
        .await
        .expect_error(401, "unauthorized");
    stale
        .post_empty(&format!("/v1/exports/{MISSING_ID}/invoke"))
        .await
        .expect_error(401, "unauthorized");
}

/// The export the leak fixture created and the token it holds, once it exists.
async fn leaked(api: &Api) -> (String, String) {
    for _ in 0..3000 {
        let exports = api.get("/v1/exports").await.expect(200);
        if let Some(doc) = exports
            .as_array()
            .and_then(|all| all.iter().find(|doc| doc["name"] == "leak"))
        {
            return (string(doc, "_id"), string(doc, "leaked"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the guest never leaked its token");
}

#[tokio::test]
async fn a_calls_token_works_over_http_while_the_call_runs_and_not_after() {
    let server = Server::start();
    let api = server.api();
    let account = server.owner_id().await;
    let stack = deploy(&api, LEAK, json!({"timeoutSeconds": 60})).await;
    let connector = api.create_id("connectors", json!({"name": "app"})).await;
    let running = {
        let (api, stack, connector) = (api.clone(), stack.clone(), connector.clone());
        tokio::spawn(async move {
            invoke(
                &api,
                &stack,
                "preSavePage",
                "holdOpen",
                json!({"_connectorId": connector}),
            )
            .await
        })
    };
    let (export, token) = leaked(&api).await;
    let code = server.api_as(&token);
    let info = code.get("/v1/tokenInfo").await.expect(200);
    assert_eq!(
        info,
        json!({"_userId": account, "scope": format!("connector:{connector}")})
    );
    let seen = code.get(&format!("/v1/exports/{export}")).await.expect(200);
    assert_eq!(seen["_connectorId"], json!(connector));
    code.get("/v1/connectors")
        .await
        .expect_error(403, "forbidden");
    assert!(!running.is_finished(), "the call is still running");

    // Let the call return: from then on the token is refused.
    let mut release = api.get(&format!("/v1/exports/{export}")).await.expect(200);
    release["release"] = json!(true);
    api.put(&format!("/v1/exports/{export}"), &release)
        .await
        .expect(200);
    let body = running.await.expect("the call").expect(200);
    assert_eq!(body["result"]["data"], json!([{"released": export}]));
    code.get("/v1/tokenInfo")
        .await
        .expect_error(401, "unauthorized");
    code.get(&format!("/v1/exports/{export}"))
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_calls_token_is_revoked_when_the_call_fails() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, LEAK, tight()).await;
    let connector = api.create_id("connectors", json!({"name": "app"})).await;
    for (function, code) in [
        ("leakThenPanic", "guest_trap"),
        ("leakThenSleep", "timeout"),
    ] {
        let reply = invoke(
            &api,
            &stack,
            "preSavePage",
            function,
            json!({"_connectorId": connector}),
        )
        .await;
        failed_with(&reply, code);
        let (export, token) = leaked(&api).await;
        server
            .api_as(&token)
            .get("/v1/tokenInfo")
            .await
            .expect_error(401, "unauthorized");
        api.delete(&format!("/v1/exports/{export}"))
            .await
            .expect(204);
    }
}

#[tokio::test]
async fn during_the_call_the_token_works_and_names_its_scope() {
    let server = Server::start();
    let api = server.api();
    let account = server.owner_id().await;
    let stack = deploy(&api, PROBE, Value::Null).await;
    let connector = api.create_id("connectors", json!({"name": "app"})).await;

    let (status, info) = probe_request(&api, &stack, None, "GET", "/v1/tokenInfo", None).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info, json!({"_userId": account, "scope": "diy"}));

    let (status, info) =
        probe_request(&api, &stack, Some(&connector), "GET", "/v1/tokenInfo", None).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        info,
        json!({"_userId": account, "scope": format!("connector:{connector}")})
    );
}

#[tokio::test]
async fn a_diy_token_may_only_invoke_the_accounts_exports_and_imports() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, PROBE, Value::Null).await;
    let export = api.create_id("exports", json!({"name": "orders"})).await;
    let import = api.create_id("imports", json!({"name": "contacts"})).await;

    for (method, path) in [
        ("GET", "/v1/connections".to_owned()),
        ("GET", "/v1/exports".to_owned()),
        ("GET", format!("/v1/exports/{export}")),
        ("PUT", format!("/v1/exports/{export}")),
        ("DELETE", format!("/v1/imports/{import}")),
        ("GET", "/v1/stacks".to_owned()),
        ("POST", format!("/v1/stacks/{stack}/invoke")),
        ("GET", "/v1/state".to_owned()),
    ] {
        let body = (method == "PUT").then(|| json!({"name": "renamed"}));
        let (status, answer) = probe_request(&api, &stack, None, method, &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["errors"][0]["code"], json!("forbidden"), "{answer}");
    }
    let (status, answer) = probe_request(
        &api,
        &stack,
        None,
        "POST",
        "/v1/exports",
        Some(json!({"name": "sneaky"})),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        api.list_ids("/v1/exports").await,
        std::slice::from_ref(&export)
    );

    // Invoking the account's exports and imports passes the scope check (they run; these have
    // no connection to run through, so 422 — never 403).
    for path in [
        format!("/v1/exports/{export}/invoke"),
        format!("/v1/imports/{import}/invoke"),
    ] {
        let (status, answer) =
            probe_request(&api, &stack, None, "POST", &path, Some(json!({"data": []}))).await;
        assert_ne!(status, 403, "{path}: {answer}");
        assert!(status == 200 || status == 422, "{path}: {status} {answer}");
    }
}

#[tokio::test]
async fn a_connector_token_reaches_only_what_carries_its_connector() {
    let server = Server::start();
    let api = server.api();
    let stack = deploy(&api, PROBE, Value::Null).await;
    let a = api.create_id("connectors", json!({"name": "A"})).await;
    let b = api.create_id("connectors", json!({"name": "B"})).await;
    let of_a = api
        .create_id("exports", json!({"name": "A's", "_connectorId": a}))
        .await;
    let of_b = api
        .create_id("exports", json!({"name": "B's", "_connectorId": b}))
        .await;
    let untagged = api.create_id("exports", json!({"name": "DIY"})).await;

    let (status, answer) = probe_request(
        &api,
        &stack,
        Some(&a),
        "GET",
        &format!("/v1/exports/{of_b}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "B's export is not A's to see: {answer}");
    assert_eq!(answer["errors"][0]["code"], json!("not_found"));
    let (status, answer) = probe_request(
        &api,
        &stack,
        Some(&a),
        "GET",
        &format!("/v1/exports/{untagged}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = probe_request(
        &api,
        &stack,
        Some(&a),
        "GET",
        &format!("/v1/exports/{of_a}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["_id"], json!(of_a));
    let (status, answer) = probe_request(&api, &stack, Some(&a), "GET", "/v1/exports", None).await;
    assert_eq!(status, 200, "{answer}");
    let listed: Vec<&Value> = answer
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| &e["_id"])
        .collect();
    assert_eq!(listed, [&json!(of_a)]);
    // Changing B's export is as impossible as seeing it.
    let (status, _) = probe_request(
        &api,
        &stack,
        Some(&a),
        "PUT",
        &format!("/v1/exports/{of_b}"),
        Some(json!({"name": "taken over"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = probe_request(
        &api,
        &stack,
        Some(&a),
        "DELETE",
        &format!("/v1/exports/{of_b}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        api.get(&format!("/v1/exports/{of_b}")).await.expect(200)["name"],
        json!("B's")
    );

    // What connector code creates carries its connector.
    let (status, created) = probe_request(
        &api,
        &stack,
        Some(&a),
        "POST",
        "/v1/exports",
        Some(json!({"name": "made by A"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["_connectorId"], json!(a));
    let stored = api
        .get(&format!("/v1/exports/{}", string(&created, "_id")))
        .await
        .expect(200);
    assert_eq!(stored["_connectorId"], json!(a));
    let (status, _) = probe_request(
        &api,
        &stack,
        Some(&a),
        "POST",
        "/v1/exports",
        Some(json!({"name": "posing as B", "_connectorId": b})),
    )
    .await;
    assert_eq!(status, 403);

    // Account-wide resources are out of reach.
    for path in ["/v1/connectors", "/v1/stacks", "/v1/state", "/v1/jobs"] {
        let (status, answer) = probe_request(&api, &stack, Some(&a), "GET", path, None).await;
        assert_eq!(status, 403, "{path}: {answer}");
    }
}

#[tokio::test]
async fn a_token_of_one_account_finds_nothing_of_another() {
    let server = Server::start();
    let a = server.api();
    let stack = deploy(&a, PROBE, Value::Null).await;
    let connector = a.create_id("connectors", json!({"name": "A"})).await;
    let (_, b_token) = server.new_account("b@example.com").await;
    let b = server.api_as(&b_token);
    let b_export = b.create_id("exports", json!({"name": "B's"})).await;
    let b_import = b.create_id("imports", json!({"name": "B's"})).await;

    // DIY code may invoke exports and imports, but only its own account's.
    for path in [
        format!("/v1/exports/{b_export}/invoke"),
        format!("/v1/imports/{b_import}/invoke"),
    ] {
        let (status, answer) =
            probe_request(&a, &stack, None, "POST", &path, Some(json!({"data": []}))).await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert_eq!(answer["errors"][0]["code"], json!("not_found"));
    }
    // Connector code neither.
    let (status, _) = probe_request(
        &a,
        &stack,
        Some(&connector),
        "GET",
        &format!("/v1/exports/{b_export}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------------------------------------
// `integrator invoke`: the local dev loop, no server
// ---------------------------------------------------------------------------------------------

/// Run `integrator invoke <component> --kind <kind> --function <function> --options <file>`;
/// returns the exit code and the JSON it printed.
fn invoke_cli(component: &str, kind: &str, function: &str, options: &Value) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("options.json");
    std::fs::write(&file, serde_json::to_vec(options).expect("JSON")).expect("writing options");
    let output = Command::new(binary())
        .args([
            "invoke",
            component,
            "--kind",
            kind,
            "--function",
            function,
            "--options",
        ])
        .arg(&file)
        .output()
        .expect("running integrator invoke");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "integrator invoke must print JSON ({e}); stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().expect("an exit code"), printed)
}

#[test]
fn integrator_invoke_runs_one_call_locally_and_prints_result_and_logs() {
    let options = json!({"data": [{"id": 1}], "pageIndex": 0, "configuration": {"tag": "blue"}});
    let (code, printed) = invoke_cli(PROBE, "preSavePage", "echo", &options);
    assert_eq!(code, 0, "{printed}");
    let seen = &printed["result"]["data"][0];
    assert_eq!(seen["data"], json!([{"id": 1}]), "{printed}");
    assert_eq!(seen["configuration"], json!({"tag": "blue"}));
    assert_eq!(
        printed["logs"],
        json!([{"level": "info", "message": "echo called"}])
    );
    assert_eq!(
        printed.as_object().map(|o| o.len()),
        Some(2),
        "only result and logs: {printed}"
    );
}

#[test]
fn integrator_invoke_answers_platform_requests_with_503() {
    let options = json!({"configuration": {"method": "GET", "path": "/v1/tokenInfo"}});
    let (code, printed) = invoke_cli(PROBE, "preSavePage", "request", &options);
    assert_eq!(code, 0, "{printed}");
    let answer = &printed["result"]["data"][0];
    assert_eq!(answer["status"], json!(503), "{printed}");
    let message = answer["body"]["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("outside a server"),
        "a clear message: {answer}"
    );
}

#[test]
fn integrator_invoke_of_an_unknown_function_exits_1_with_function_not_found() {
    let (code, printed) = invoke_cli(PROBE, "preSavePage", "nope", &json!({}));
    assert_eq!(code, 1, "{printed}");
    assert_eq!(
        printed["errors"][0]["code"],
        json!("function_not_found"),
        "{printed}"
    );
}
