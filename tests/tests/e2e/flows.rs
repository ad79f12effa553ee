//! Flows end to end: connections, exports, imports and flows created over the API, run by the
//! real server against a fake remote application in the test process (`remote.rs`), observed
//! through jobs, job errors and what the remote application received. Hooks and wrappers are the
//! example components of `examples/` (and the `wrong-length` fixture), built by the test build.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::remote::{self, Remote};

const HOOKS: &str = env!("WASM_EXAMPLE_HOOKS");
const WRAPPER: &str = env!("WASM_EXAMPLE_WRAPPER");
const WRONG_LENGTH: &str = env!("WASM_FIXTURE_WRONG_LENGTH");

// ---------------------------------------------------------------------------------------------
// Helpers

/// A server, a client, the fake remote application, and an HTTP connection to it with a bearer
/// token and a custom header (the remote checks the token on every `/secure/…` route).
struct Setup {
    server: Server,
    api: Api,
    remote: Remote,
    conn: String,
}

async fn setup() -> Setup {
    let server = Server::start_unlimited();
    let api = server.api();
    let remote = Remote::start().await;
    let conn = http_connection(&api, &remote, remote::TOKEN).await;
    Setup {
        server,
        api,
        remote,
        conn,
    }
}

/// An HTTP connection to `remote` under `/secure` with `token`.
async fn http_connection(api: &Api, remote: &Remote, token: &str) -> String {
    api.create_id(
        "connections",
        json!({
            "type": "http",
            "name": "Remote shop",
            "http": {
                "baseURI": format!("{}/secure", remote.url),
                "authType": "token",
                "bearerToken": token,
                "headers": [{"name": "X-Test", "value": "1"}],
                "pingRelativeURI": "/ping",
            },
        }),
    )
    .await
}

/// A stack of type `wasm` holding the component at `path`.
async fn stack(api: &Api, name: &str, path: &str) -> String {
    let id = api
        .create_id("stacks", json!({"name": name, "type": "wasm"}))
        .await;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    api.send(
        Method::PUT,
        &format!("/v1/stacks/{id}/component"),
        Some(("application/wasm", bytes)),
    )
    .await
    .expect(200);
    id
}

/// A hook reference.
fn hook(stack: &str, function: &str) -> Value {
    json!({"_stackId": stack, "function": function})
}

/// The `http` block of an export reading `/orders` page by page.
fn orders_by_page() -> Value {
    json!({
        "relativeURI": "/orders?page={{export.http.paging.page}}",
        "method": "GET",
        "paging": {"method": "page", "page": 1},
    })
}

/// An export through `conn` with `fields` (name, `_connectionId` and `pageSize: 4` added).
async fn export(api: &Api, conn: &str, name: &str, fields: Value) -> String {
    let mut doc = json!({"name": name, "_connectionId": conn, "pageSize": 4});
    merge(&mut doc, fields);
    api.create_id("exports", doc).await
}

/// An import POSTing each record to `path` of the remote, with `mapping` and `fields` added.
async fn import(api: &Api, conn: &str, path: &str, mapping: Value, fields: Value) -> String {
    let mut doc = json!({
        "name": format!("POST {path}"),
        "_connectionId": conn,
        "http": {"relativeURI": path, "method": "POST", "response": {"idPath": "id"}},
        "mapping": mapping,
    });
    merge(&mut doc, fields);
    api.create_id("imports", doc).await
}

/// The mapping most tests use: the order id, and `fail`/`duplicate` so the sink sees them.
fn id_mapping() -> Value {
    json!({"fields": [
        {"extract": "id", "generate": "orderId"},
        {"extract": "fail", "generate": "fail"},
        {"extract": "duplicate", "generate": "duplicate"},
    ]})
}

fn merge(doc: &mut Value, fields: Value) {
    if let Value::Object(fields) = fields {
        for (k, v) in fields {
            doc[k.as_str()] = v;
        }
    }
}

/// A simple flow from `export` to `import`.
async fn flow(api: &Api, name: &str, export: &str, import: &str) -> String {
    api.create_id(
        "flows",
        json!({"name": name, "_exportId": export, "_importId": import}),
    )
    .await
}

/// Wait until the job runs and has processed at least one page.
async fn running_with_a_page_done(api: &Api, id: &str) -> Value {
    let doc = wait_until(api, id, "running with a page processed", |j| {
        has_ended(j) || (status(j) == "running" && num(j, "numPagesProcessed") >= 1)
    })
    .await;
    assert_eq!(status(&doc), "running", "the job ended too soon: {doc}");
    doc
}

/// The one child job of `kind` (`export`/`import`) for the resource `id`.
fn child<'a>(children: &'a [Value], kind: &str, id: &str) -> &'a Value {
    let field = if kind == "export" {
        "_exportId"
    } else {
        "_importId"
    };
    let found: Vec<&Value> = children
        .iter()
        .filter(|j| j["type"] == kind && j[field] == id)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind} job for {id} among the child jobs: {children:#?}"
    );
    found[0]
}

/// The jobs of a flow.
async fn jobs_of_flow(api: &Api, flow: &str) -> Vec<Value> {
    let list = api
        .get(&format!("/v1/jobs?_flowId={flow}&type=flow"))
        .await
        .expect(200);
    list.as_array()
        .unwrap_or_else(|| panic!("a list of jobs: {list}"))
        .clone()
}

/// The flow job's success/error/ignore counts are the sums of its child jobs'.
fn assert_sums(flow_job: &Value, children: &[Value]) {
    let mut sums = [0; 3];
    for child in children {
        for (sum, n) in sums.iter_mut().zip(outcome(child)) {
            *sum += n;
        }
    }
    assert_eq!(
        outcome(flow_job),
        sums,
        "the flow job's [numSuccess, numError, numIgnore] are its child jobs' sums: {flow_job}\nchildren: {children:#?}"
    );
}

/// The `field` of every record, as numbers, in ascending order (imports submit the records of
/// a page concurrently, so they may arrive in any order).
fn numbers(records: &[Value], field: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = records
        .iter()
        .map(|r| {
            r[field]
                .as_u64()
                .unwrap_or_else(|| panic!("`{field}` must be a number in {r}"))
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

/// The records ordered by `orderId` (they may arrive in any order within a page).
fn sorted(mut records: Vec<Value>) -> Vec<Value> {
    records.sort_by_key(|r| r["orderId"].as_u64());
    records
}

fn one_to(n: u64) -> Vec<u64> {
    (1..=n).collect()
}

/// Assert the job is a finished flow job with sensible times.
fn assert_times(job: &Value) {
    let started = string(job, "startedAt");
    let ended = string(job, "endedAt");
    assert!(
        is_timestamp(&started) && is_timestamp(&ended),
        "times: {job}"
    );
    assert!(started <= ended, "startedAt after endedAt: {job}");
}

// ---------------------------------------------------------------------------------------------
// Simple flows, hooks, mapping, paging

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simple_flow_runs_every_hook_and_maps_nested_data_and_lists_into_the_target() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| c.duplicate = BTreeSet::from([5]));
    let hooks = stack(&api, "Example hooks", HOOKS).await;
    let mut pre_save_page = hook(&hooks, "tagOrders");
    pre_save_page["configuration"] = json!({"note": "no abort"});
    let export_id = export(
        &api,
        &conn,
        "Orders",
        json!({"http": orders_by_page(), "hooks": {"preSavePage": pre_save_page}}),
    )
    .await;
    let mapping = json!({
        "fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "customer.name", "generate": "name"},
            {"extract": "lines[0].sku", "generate": "firstSku"},
            {"hardCodedValue": "web", "generate": "channel"},
            {"extract": "total", "generate": "amount", "dataType": "string"},
            {"extract": "email", "generate": "contact.email"},
            {"extract": "page", "generate": "exportPage"},
            {"extract": "duplicate", "generate": "duplicate"},
        ],
        "lists": [{"generate": "items", "fields": [
            {"extract": "lines[*].sku", "generate": "sku"},
            {"extract": "lines[*].qty", "generate": "quantity", "dataType": "number"},
        ]}],
    });
    let import_id = import(
        &api,
        &conn,
        "/sink",
        mapping,
        json!({"hooks": {
            "preMap": hook(&hooks, "cleanEmails"),
            "postMap": hook(&hooks, "stampSource"),
            "postSubmit": hook(&hooks, "ignoreDuplicates"),
        }}),
    )
    .await;
    let flow_id = flow(&api, "Orders to sink", &export_id, &import_id).await;

    let job_id = run(&api, &flow_id).await;
    let done = completed(&api, &job_id).await;

    // 12 orders in 3 pages. tagOrders drops 4, 8, 12 (total 0) and 11 (negative); cleanEmails
    // ignores 3, 6, 9 (no email) and fails 7 (no '@'); the sink refuses 5 as a duplicate, which
    // ignoreDuplicates turns into an ignored record. 1, 2 and 10 arrive, lower-cased and stamped.
    let expected: Vec<Value> = [1u64, 2, 10]
        .iter()
        .map(|&n| {
            json!({
                "orderId": n,
                "name": format!("Customer {n}"),
                "firstSku": format!("A{n}"),
                "channel": "web",
                "amount": (10 * n).to_string(),
                "contact": {"email": format!("user{n}@example.com")},
                "exportPage": (n - 1) / 4,
                "items": [{"sku": format!("A{n}"), "quantity": 1}, {"sku": format!("B{n}"), "quantity": n}],
                "source": "integrator",
            })
        })
        .collect();
    assert_eq!(sorted(remote.received("/secure/sink")), expected);

    // The remote saw the connection's credentials and header on every request.
    let sink_requests = remote.requests("/secure/sink");
    assert_eq!(
        numbers(
            &sink_requests
                .iter()
                .map(|r| r.body.clone())
                .collect::<Vec<_>>(),
            "orderId"
        ),
        vec![1, 2, 5, 10],
        "only records that passed every hook are submitted"
    );
    for request in sink_requests
        .iter()
        .chain(remote.requests("/secure/orders").iter())
    {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Bearer secret-token"),
            "{request:?}"
        );
        assert_eq!(request.x_test.as_deref(), Some("1"), "{request:?}");
    }

    assert_eq!(done["type"], "flow");
    assert_eq!(done["_flowId"], flow_id);
    assert_times(&done);
    assert_eq!(
        outcome(&done),
        [3, 1, 4],
        "[success, error, ignore]: {done}"
    );
    assert_eq!(num(&done, "numPagesGenerated"), 3, "{done}");
    assert_eq!(num(&done, "numPagesProcessed"), 3, "{done}");
    let kids = children(&api, &job_id).await;
    assert_eq!(kids.len(), 2, "one export and one import job: {kids:#?}");
    let export_job = child(&kids, "export", &export_id);
    let import_job = child(&kids, "import", &import_id);
    assert_eq!(num(export_job, "numPagesGenerated"), 3, "{export_job}");
    assert_eq!(outcome(import_job), [3, 1, 4], "{import_job}");
    for kid in &kids {
        assert_eq!(kid["_flowJobId"], job_id);
        assert_eq!(status(kid), "completed", "{kid}");
    }
    assert_sums(&done, &kids);

    let errors = job_errors(&api, &job_id).await;
    assert_eq!(errors.len(), 1, "one job error, for order 7: {errors:#?}");
    let error = &errors[0];
    assert_eq!(error["code"], "invalid_email", "{error}");
    assert!(
        string(error, "message").contains("User7.example.com"),
        "the hook's message: {error}"
    );
    assert!(error["source"].is_string(), "{error}");
    assert_eq!(error["_jobId"], import_job["_id"], "{error}");
    assert_eq!(error["_flowJobId"], job_id, "{error}");
    assert!(error["_retryId"].is_string(), "{error}");
    assert_eq!(error["resolved"], false, "{error}");
    // The record as it entered the import: after preSavePage, before preMap.
    let mut entered = remote.order(7);
    entered["tagged"] = json!(true);
    entered["page"] = json!(1);
    assert_eq!(
        error["retryData"],
        json!({"record": entered, "stage": {"processor": 0}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_paging_style_reads_every_page_exactly_once() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let styles = [
        (
            "page",
            orders_by_page(),
            vec![
                "/secure/orders?page=1",
                "/secure/orders?page=2",
                "/secure/orders?page=3",
                "/secure/orders?page=4",
            ],
        ),
        (
            "skip",
            json!({
                "relativeURI": "/orders-skip?offset={{export.http.paging.skip}}&limit=4",
                "method": "GET",
                "paging": {"method": "skip"},
            }),
            vec![
                "/secure/orders-skip?offset=0&limit=4",
                "/secure/orders-skip?offset=4&limit=4",
                "/secure/orders-skip?offset=8&limit=4",
                "/secure/orders-skip?offset=12&limit=4",
            ],
        ),
        (
            "url",
            json!({
                "relativeURI": "/orders-url",
                "method": "GET",
                "response": {"resourcePath": "items"},
                "paging": {"method": "url", "path": "next"},
            }),
            vec![
                "/secure/orders-url",
                "/secure/orders-url?cursor=2",
                "/secure/orders-url?cursor=3",
            ],
        ),
        (
            "linkheader",
            json!({
                "relativeURI": "/orders-link",
                "method": "GET",
                "paging": {"method": "linkheader"},
            }),
            vec![
                "/secure/orders-link",
                "/secure/orders-link?page=2",
                "/secure/orders-link?page=3",
            ],
        ),
        (
            "token",
            json!({
                "relativeURI": "/orders-token",
                "method": "GET",
                "response": {"resourcePath": "items"},
                "paging": {
                    "method": "token",
                    "path": "nextToken",
                    "relativeURI": "/orders-token?token={{export.http.paging.token}}",
                },
            }),
            vec![
                "/secure/orders-token",
                "/secure/orders-token?token=t2",
                "/secure/orders-token?token=t3",
            ],
        ),
    ];
    let mut runs = Vec::new();
    for (style, http, requests) in styles {
        let export_id = export(&api, &conn, style, json!({"http": http})).await;
        let sink = format!("/sink/{style}");
        let import_id = import(&api, &conn, &sink, id_mapping(), json!({})).await;
        let flow_id = flow(&api, style, &export_id, &import_id).await;
        runs.push((style, run(&api, &flow_id).await, sink, requests));
    }
    for (style, job_id, sink, requests) in runs {
        let done = completed(&api, &job_id).await;
        let path = requests[0].split('?').next().expect("a path");
        assert_eq!(
            remote.targets(path),
            requests,
            "{style} paging: the requests the remote got"
        );
        assert_eq!(
            numbers(&remote.received(&format!("/secure{sink}")), "orderId"),
            one_to(12),
            "{style} paging: every order once, in order"
        );
        assert_eq!(num(&done, "numExport"), 12, "{style}: {done}");
        assert_eq!(outcome(&done), [12, 0, 0], "{style}: {done}");
        assert_eq!(num(&done, "numPagesGenerated"), 3, "{style}: {done}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrated_flow_feeds_the_first_imports_response_into_the_second_import() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| c.fail = BTreeSet::from([3]));
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let first = import(
        &api,
        &conn,
        "/sink/first",
        json!({"fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "customer.name", "generate": "name"},
            {"extract": "fail", "generate": "fail"},
        ]}),
        json!({}),
    )
    .await;
    let second = import(
        &api,
        &conn,
        "/sink/second",
        json!({"fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "sinkId", "generate": "firstSinkId"},
            {"extract": "firstStatus", "generate": "firstStatus"},
            {"extract": "rawId", "generate": "rawId"},
        ]}),
        json!({}),
    )
    .await;
    let flow_id = api
        .create_id(
            "flows",
            json!({
                "name": "Orders, then their follow-ups",
                "pageGenerators": [{"_exportId": export_id}],
                "pageProcessors": [
                    {
                        "type": "import",
                        "_importId": first,
                        "proceedOnFailure": false,
                        "responseMapping": {"fields": [
                            {"extract": "id", "generate": "sinkId"},
                            {"extract": "statusCode", "generate": "firstStatus"},
                            {"extract": "_json.id", "generate": "rawId"},
                        ]},
                    },
                    {"type": "import", "_importId": second},
                ],
            }),
        )
        .await;

    let job_id = run(&api, &flow_id).await;
    let done = completed(&api, &job_id).await;

    let firsts = remote.stored("/secure/sink/first");
    let expected: Vec<u64> = one_to(12).into_iter().filter(|n| *n != 3).collect();
    assert_eq!(
        numbers(
            &firsts.iter().map(|s| s.record.clone()).collect::<Vec<_>>(),
            "orderId"
        ),
        expected
    );
    // Order 3 failed in the first import and, without proceedOnFailure, went no further; every
    // other order reached the second import carrying the id the first one got.
    let seconds = sorted(remote.received("/secure/sink/second"));
    let expected_seconds: Vec<Value> = firsts
        .iter()
        .map(|s| {
            json!({"orderId": s.record["orderId"], "firstSinkId": s.id, "firstStatus": 200, "rawId": s.id})
        })
        .collect();
    assert_eq!(seconds, sorted(expected_seconds));

    let kids = children(&api, &job_id).await;
    assert_eq!(
        kids.len(),
        3,
        "an export job and two import jobs: {kids:#?}"
    );
    assert_eq!(
        num(child(&kids, "export", &export_id), "numExport"),
        12,
        "{kids:#?}"
    );
    assert_eq!(outcome(child(&kids, "import", &first)), [11, 1, 0]);
    assert_eq!(outcome(child(&kids, "import", &second)), [11, 0, 0]);
    assert_sums(&done, &kids);

    let errors = job_errors(&api, &job_id).await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["code"], "rejected", "the remote's error code");
    assert_eq!(errors[0]["_jobId"], child(&kids, "import", &first)["_id"]);
    assert_eq!(errors[0]["retryData"]["stage"]["processor"], 0);
    assert_eq!(errors[0]["retryData"]["record"]["id"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_save_page_hook_that_aborts_stops_the_export_after_that_page() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let hooks = stack(&api, "Example hooks", HOOKS).await;
    let mut abort = hook(&hooks, "tagOrders");
    abort["configuration"] = json!({"abortAfterPage": 1});
    let export_id = export(
        &api,
        &conn,
        "Orders",
        json!({"http": orders_by_page(), "hooks": {"preSavePage": abort}}),
    )
    .await;
    let import_id = import(
        &api,
        &conn,
        "/sink",
        json!({"fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "page", "generate": "page"},
        ]}),
        json!({}),
    )
    .await;
    let flow_id = flow(&api, "Two pages only", &export_id, &import_id).await;

    let job_id = run(&api, &flow_id).await;
    let done = completed(&api, &job_id).await;

    assert_eq!(
        sorted(remote.received("/secure/sink")),
        vec![
            json!({"orderId": 1, "page": 0}),
            json!({"orderId": 2, "page": 0}),
            json!({"orderId": 3, "page": 0}),
            json!({"orderId": 5, "page": 1}),
            json!({"orderId": 6, "page": 1}),
            json!({"orderId": 7, "page": 1}),
        ],
        "the pages 0 and 1, without the orders tagOrders drops; nothing of page 2"
    );
    assert_eq!(outcome(&done), [6, 0, 0], "{done}");
    let kids = children(&api, &job_id).await;
    assert_eq!(
        num(child(&kids, "export", &export_id), "numPagesGenerated"),
        2,
        "{kids:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Errors and retries

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_errors_are_retried_until_they_succeed_and_the_original_job_is_corrected() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| c.fail = BTreeSet::from([2, 5, 9]));
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Orders", &export_id, &import_id).await;

    let original = run(&api, &flow_id).await;
    let done = completed(&api, &original).await;
    assert_eq!(outcome(&done), [9, 3, 0], "{done}");
    assert_eq!(done["retriable"], true, "{done}");
    let errors = job_errors(&api, &original).await;
    let mut failed: Vec<u64> = errors
        .iter()
        .map(|e| {
            assert_eq!(e["resolved"], false, "{e}");
            assert_eq!(e["retryData"]["stage"]["processor"], 0, "{e}");
            e["retryData"]["record"]["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("the failed record: {e}"))
        })
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, vec![2, 5, 9]);

    // The remote still refuses them: a retry fails the same way and changes nothing.
    let retry = api
        .post_empty(&format!("/v1/jobs/{original}/retry"))
        .await
        .expect(201);
    let retry = string(&retry, "_jobId");
    let retried = completed(&api, &retry).await;
    assert_eq!(retried["_retryOfJobId"], original, "{retried}");
    assert_eq!(retried["type"], "flow", "{retried}");
    assert_eq!(retried["_flowId"], flow_id, "{retried}");
    assert_eq!(num(&retried, "numError"), 3, "{retried}");
    assert_eq!(
        remote.count("/secure/sink"),
        15,
        "only the 3 failed records were sent again"
    );
    let unchanged = job(&api, &original).await;
    assert_eq!(outcome(&unchanged), [9, 3, 0], "{unchanged}");
    assert!(
        job_errors(&api, &original)
            .await
            .iter()
            .all(|e| e["resolved"] == false),
        "nothing was fixed yet"
    );

    // The remote side is fixed: the next retry succeeds and corrects the original job.
    remote.configure(|c| c.accept_failing = true);
    let retry = api
        .post_empty(&format!("/v1/jobs/{original}/retry"))
        .await
        .expect(201);
    let retry = string(&retry, "_jobId");
    let retried = completed(&api, &retry).await;
    assert_eq!(retried["_retryOfJobId"], original, "{retried}");
    assert_eq!(num(&retried, "numError"), 0, "{retried}");
    assert_eq!(num(&retried, "numSuccess"), 3, "{retried}");
    assert_eq!(remote.count("/secure/sink"), 18);
    let mut stored = numbers(&remote.received("/secure/sink"), "orderId");
    stored.sort_unstable();
    assert_eq!(stored, one_to(12), "every order arrived exactly once");

    let fixed = job(&api, &original).await;
    assert_eq!(outcome(&fixed), [12, 0, 0], "{fixed}");
    assert_eq!(fixed["retriable"], false, "{fixed}");
    assert_eq!(status(&fixed), "completed");
    assert_sums(&fixed, &children(&api, &original).await);
    let errors = job_errors(&api, &original).await;
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors.iter().all(|e| e["resolved"] == true),
        "every error is resolved: {errors:#?}"
    );

    // Nothing is left to retry.
    let reply = api.post_empty(&format!("/v1/jobs/{original}/retry")).await;
    assert_eq!(reply.status, 422, "{}", reply.text);

    // The errors carry the remote application's own code.
    for error in &errors {
        assert_eq!(error["code"], "rejected", "the remote's code: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_returning_the_wrong_number_of_entries_fails_its_pages_naming_the_hook() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let fixture = stack(&api, "Wrong length", WRONG_LENGTH).await;
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let import_id = import(
        &api,
        &conn,
        "/sink",
        id_mapping(),
        json!({"hooks": {"preMap": hook(&fixture, "dropLast")}}),
    )
    .await;
    let flow_id = flow(&api, "Orders", &export_id, &import_id).await;

    let job_id = run(&api, &flow_id).await;
    let done = completed(&api, &job_id).await;

    assert_eq!(outcome(&done), [0, 12, 0], "{done}");
    assert_eq!(remote.count("/secure/sink"), 0, "nothing was submitted");
    let errors = job_errors(&api, &job_id).await;
    assert_eq!(errors.len(), 12, "one error per record: {errors:#?}");
    for error in &errors {
        let message = string(error, "message");
        assert!(
            message.contains("preMap") && message.contains("dropLast"),
            "the message names the hook: {error}"
        );
    }
    let mut records = errors
        .iter()
        .map(|e| {
            e["retryData"]["record"]["id"]
                .as_u64()
                .expect("a record id")
        })
        .collect::<Vec<_>>();
    records.sort_unstable();
    assert_eq!(records, one_to(12), "every record of every page failed");
}

// ---------------------------------------------------------------------------------------------
// Running: cancel, queueing, delta, chaining, disabled

/// An export of `/slow` (each page takes `slow_ms`, `slow_pages` pages), with `query` added.
async fn slow_export(api: &Api, conn: &str, query: &str) -> String {
    export(
        api,
        conn,
        "Slow orders",
        json!({"http": {
            "relativeURI": format!("/slow?page={{{{export.http.paging.page}}}}{query}"),
            "method": "GET",
            "paging": {"method": "page", "page": 1},
        }}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_job_stops_it_at_the_next_page() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let export_id = slow_export(&api, &conn, "").await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Slow", &export_id, &import_id).await;

    let job_id = run(&api, &flow_id).await;
    running_with_a_page_done(&api, &job_id).await;
    let cancelling = api
        .put_empty(&format!("/v1/jobs/{job_id}/cancel"))
        .await
        .expect(200);
    assert_eq!(status(&cancelling), "cancelling", "{cancelling}");

    let done = finished(&api, &job_id).await;
    assert_eq!(status(&done), "cancelled", "{done}");
    assert_times(&done);
    assert!(
        num(&done, "numPagesGenerated") < 10,
        "the export stopped early: {done}"
    );
    assert_eq!(
        num(&done, "numSuccess") as usize,
        remote.received("/secure/sink").len(),
        "{done}"
    );
    for kid in children(&api, &job_id).await {
        assert_eq!(status(&kid), "cancelled", "no child job goes on: {kid}");
    }
    // Nothing asks the remote for more pages once the job has ended.
    let asked = remote.count("/secure/slow");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(remote.count("/secure/slow"), asked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_requested_while_the_flow_runs_waits_queued_and_runs_afterwards() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| c.slow_pages = 4);
    let export_id = slow_export(&api, &conn, "").await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Slow", &export_id, &import_id).await;

    let first = run(&api, &flow_id).await;
    wait_until(&api, &first, "running", |j| {
        has_ended(j) || status(j) == "running"
    })
    .await;
    let second = run(&api, &flow_id).await;
    let deadline = Instant::now() + JOB_DEADLINE;
    let first_done = loop {
        let a = job(&api, &first).await;
        let b = job(&api, &second).await;
        if has_ended(&a) {
            break a;
        }
        assert_eq!(
            status(&b),
            "queued",
            "the second run waits while the first runs: {b}"
        );
        assert!(b.get("startedAt").is_none_or(Value::is_null), "{b}");
        assert!(Instant::now() < deadline, "the first run did not end: {a}");
        tokio::time::sleep(POLL).await;
    };
    assert_eq!(status(&first_done), "completed", "{first_done}");
    let second_done = completed(&api, &second).await;
    assert!(
        string(&second_done, "startedAt") >= string(&first_done, "endedAt"),
        "the second run started after the first ended: {first_done} {second_done}"
    );
    assert_eq!(num(&second_done, "numSuccess"), 16, "{second_done}");
    assert_eq!(remote.received("/secure/sink").len(), 32);
    assert_eq!(
        remote.max_in_flight("/secure/slow"),
        1,
        "the two runs never read at the same time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_export_reads_only_what_changed_since_the_last_completed_run() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let export_id = export(
        &api,
        &conn,
        "Changed orders",
        json!({
            "type": "delta",
            "delta": {"dateField": "updatedAt"},
            "http": {"relativeURI": "/changes?since={{lastExportDateTime}}", "method": "GET"},
        }),
    )
    .await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Changes", &export_id, &import_id).await;
    // The `since` of the last request the remote got.
    let since = || -> String {
        let requests = remote.requests("/secure/changes");
        let last = requests.last().expect("a request to /changes");
        last.params.get("since").cloned().unwrap_or_default()
    };

    // First run: no previous run, everything.
    let first = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(since(), "", "the first run has no lastExportDateTime");
    assert_eq!(
        numbers(&remote.received("/secure/sink"), "orderId"),
        one_to(12)
    );

    // Two orders change; the second run reads from the first run's start.
    remote.touch(&[3, 7]);
    let second = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(since(), string(&first, "startedAt"));
    assert_eq!(
        numbers(&remote.received("/secure/sink")[12..], "orderId"),
        vec![3, 7]
    );
    assert_eq!(num(&second, "numExport"), 2, "{second}");

    // Another change, then a run that fails: the next run still reads from the second run's
    // start, so the change is not lost.
    remote.touch(&[5]);
    remote.configure(|c| c.changes_down = true);
    let broken = finished(&api, &run(&api, &flow_id).await).await;
    assert_eq!(status(&broken), "failed", "{broken}");
    remote.configure(|c| c.changes_down = false);
    let fourth = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(since(), string(&second, "startedAt"));
    assert_eq!(
        numbers(&remote.received("/secure/sink")[14..], "orderId"),
        vec![5]
    );
    assert_eq!(num(&fourth, "numExport"), 1, "{fourth}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_flow_runs_the_flows_named_in_run_next_flow_ids() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let to_a = import(&api, &conn, "/sink/a", id_mapping(), json!({})).await;
    let to_b = import(&api, &conn, "/sink/b", id_mapping(), json!({})).await;
    let next = flow(&api, "Second", &export_id, &to_b).await;
    let first = api
        .create_id(
            "flows",
            json!({"name": "First", "_exportId": export_id, "_importId": to_a,
                   "_runNextFlowIds": [next]}),
        )
        .await;
    assert!(
        jobs_of_flow(&api, &next).await.is_empty(),
        "nothing runs by itself"
    );

    let first_done = completed(&api, &run(&api, &first).await).await;
    let deadline = Instant::now() + JOB_DEADLINE;
    let next_job = loop {
        let jobs = jobs_of_flow(&api, &next).await;
        if let Some(job) = jobs.first() {
            assert_eq!(jobs.len(), 1, "queued once: {jobs:#?}");
            break string(job, "_id");
        }
        assert!(
            Instant::now() < deadline,
            "the next flow did not run after {first_done}"
        );
        tokio::time::sleep(POLL).await;
    };
    let next_done = completed(&api, &next_job).await;
    assert!(
        string(&next_done, "startedAt") >= string(&first_done, "endedAt"),
        "{first_done} {next_done}"
    );
    assert_eq!(
        numbers(&remote.received("/secure/sink/a"), "orderId"),
        one_to(12)
    );
    assert_eq!(
        numbers(&remote.received("/secure/sink/b"), "orderId"),
        one_to(12)
    );
    assert_eq!(jobs_of_flow(&api, &next).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_flow_does_not_run_until_it_is_enabled() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let doc =
        json!({"name": "Off", "_exportId": export_id, "_importId": import_id, "disabled": true});
    let flow_id = api.create_id("flows", doc.clone()).await;

    let reply = api.post_empty(&format!("/v1/flows/{flow_id}/run")).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(!reply.problems().is_empty());
    assert!(jobs_of_flow(&api, &flow_id).await.is_empty(), "no job");
    assert_eq!(remote.count("/secure/orders"), 0);

    let mut enabled = doc;
    enabled["disabled"] = json!(false);
    api.put(&format!("/v1/flows/{flow_id}"), &enabled)
        .await
        .expect(200);
    completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(
        numbers(&remote.received("/secure/sink"), "orderId"),
        one_to(12)
    );
}

// ---------------------------------------------------------------------------------------------
// Standalone and virtual runs, connection tools

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_and_imports_invoked_standalone_return_their_records_and_results() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let hooks = stack(&api, "Example hooks", HOOKS).await;
    let export_id = export(
        &api,
        &conn,
        "Orders",
        json!({"http": orders_by_page(), "hooks": {"preSavePage": hook(&hooks, "tagOrders")}}),
    )
    .await;
    let body = api
        .post(&format!("/v1/exports/{export_id}/invoke"), &json!({}))
        .await
        .expect(200);
    let expected: Vec<Value> = [1u64, 2, 3, 5, 6, 7, 9, 10]
        .iter()
        .map(|&n| {
            let mut record = remote.order(n);
            record["tagged"] = json!(true);
            record["page"] = json!((n - 1) / 4);
            record
        })
        .collect();
    assert_eq!(body["data"], json!(expected), "records after preSavePage");
    assert_eq!(body["errors"], json!([]));

    let import_id = import(
        &api,
        &conn,
        "/sink/invoke",
        json!({"fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "email", "generate": "email"},
            {"extract": "duplicate", "generate": "duplicate"},
        ]}),
        json!({"hooks": {
            "preMap": hook(&hooks, "cleanEmails"),
            "postMap": hook(&hooks, "stampSource"),
            "postSubmit": hook(&hooks, "ignoreDuplicates"),
        }}),
    )
    .await;
    let results = api
        .post(
            &format!("/v1/imports/{import_id}/invoke"),
            &json!({"data": [
                {"id": 1, "email": "Ada@Example.com"},
                {"id": 2},
                {"id": 3, "email": "nope"},
                {"id": 4, "email": "dup@example.com", "duplicate": true},
            ]}),
        )
        .await
        .expect(200);
    let results = results.as_array().expect("one result per record").clone();
    assert_eq!(results.len(), 4, "{results:#?}");
    let stored = remote.stored("/secure/sink/invoke");
    assert_eq!(
        stored.iter().map(|s| s.record.clone()).collect::<Vec<_>>(),
        vec![json!({"orderId": 1, "email": "ada@example.com", "source": "integrator"})]
    );
    assert_eq!(results[0]["statusCode"], 200, "{results:#?}");
    assert_eq!(results[0]["id"], stored[0].id, "{results:#?}");
    assert_eq!(results[0]["ignored"], false, "{results:#?}");
    assert_eq!(
        results[0]["_json"],
        json!({"id": stored[0].id}),
        "{results:#?}"
    );
    assert!(
        results[0]["errors"].as_array().is_none_or(Vec::is_empty),
        "{results:#?}"
    );
    assert_eq!(
        results[1]["ignored"], true,
        "no email: ignored: {results:#?}"
    );
    assert_eq!(results[2]["statusCode"], 422, "{results:#?}");
    assert_eq!(
        results[2]["errors"][0]["code"], "invalid_email",
        "{results:#?}"
    );
    assert_eq!(
        results[3]["ignored"], true,
        "a duplicate: ignored: {results:#?}"
    );
    assert_eq!(results[3]["statusCode"], 200, "{results:#?}");
}

/// The `export` of the virtual-run tests: `/orders-url`, paged by the next-page URL.
fn url_export() -> Value {
    json!({"pageSize": 4, "http": {
        "relativeURI": "/orders-url",
        "method": "GET",
        "response": {"resourcePath": "items"},
        "paging": {"method": "url", "path": "next"},
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_exports_run_whole_or_page_by_page_with_a_signed_state() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let all: Vec<Value> = one_to(12).into_iter().map(|n| remote.order(n)).collect();

    let body = api
        .post(
            &format!("/v1/connections/{conn}/export"),
            &json!({"export": url_export()}),
        )
        .await
        .expect(200);
    assert_eq!(body["data"], json!(all));
    assert_eq!(body["errors"], json!([]));

    // Page by page: post the state back until there is none.
    let pages_path = format!("/v1/connections/{conn}/export/pages");
    let mut pages = Vec::new();
    let mut states = Vec::new();
    let mut state: Option<String> = None;
    loop {
        let mut request = json!({"export": url_export()});
        if let Some(state) = &state {
            request["pagedExportState"] = json!(state);
        }
        let body = api.post(&pages_path, &request).await.expect(200);
        pages.push(body["data"].clone());
        match body.get("pagedExportState").and_then(Value::as_str) {
            Some(next) => {
                states.push(next.to_owned());
                state = Some(next.to_owned());
            }
            None => {
                assert!(
                    body.get("pagedExportState").is_none_or(Value::is_null),
                    "{body}"
                );
                break;
            }
        }
        assert!(pages.len() < 10, "the pages do not end: {pages:#?}");
    }
    assert_eq!(
        pages,
        vec![json!(all[0..4]), json!(all[4..8]), json!(all[8..12])],
        "three pages, the state absent after the last"
    );

    // A state that was changed, or that belongs to another export, is refused.
    let first = &states[0];
    let (payload, signature) = first.split_once('.').unwrap_or((first, ""));
    let mut bytes = payload.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{}.{signature}", String::from_utf8(bytes).expect("ASCII"));
    let mut other = url_export();
    other["http"]["relativeURI"] = json!("/orders-url?cursor=1");
    for (export, state) in [
        (url_export(), tampered.as_str()),
        (url_export(), "not-a-state"),
        (other, first.as_str()),
    ] {
        let reply = api
            .post(
                &pages_path,
                &json!({"export": export, "pagedExportState": state}),
            )
            .await;
        assert_eq!(reply.status, 422, "{state}: {}", reply.text);
        assert!(
            reply
                .problems()
                .iter()
                .any(|p| p.field.as_deref() == Some("pagedExportState")),
            "the error names pagedExportState: {}",
            reply.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_imports_submit_mapped_records_and_import_map_only_maps_them() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| c.fail = BTreeSet::from([2]));
    let virtual_import = json!({
        "http": {"relativeURI": "/sink/virtual", "method": "POST", "response": {"idPath": "id"}},
        "mapping": {
            "fields": [
                {"extract": "id", "generate": "orderId"},
                {"extract": "customer.name", "generate": "name"},
                {"extract": "fail", "generate": "fail"},
            ],
            "lists": [{"generate": "items", "fields": [
                {"extract": "lines[*].sku", "generate": "sku"},
                {"extract": "lines[*].qty", "generate": "quantity", "dataType": "number"},
            ]}],
        },
    });
    let mapped = |n: u64| {
        let mut record = json!({
            "orderId": n,
            "name": format!("Customer {n}"),
            "items": [{"sku": format!("A{n}"), "quantity": 1}, {"sku": format!("B{n}"), "quantity": n}],
        });
        if n == 2 {
            record["fail"] = json!(true);
        }
        record
    };

    let body = api
        .post(
            &format!("/v1/connections/{conn}/import/map"),
            &json!({"import": virtual_import, "data": [remote.order(1), remote.order(2)]}),
        )
        .await
        .expect(200);
    assert_eq!(body, json!({"data": [mapped(1), mapped(2)]}));
    assert_eq!(
        remote.count("/secure/sink/virtual"),
        0,
        "mapping sends nothing"
    );

    let results = api
        .post(
            &format!("/v1/connections/{conn}/import"),
            &json!({"import": virtual_import, "data": [remote.order(1), remote.order(2)]}),
        )
        .await
        .expect(200);
    let stored = remote.stored("/secure/sink/virtual");
    assert_eq!(
        stored.iter().map(|s| s.record.clone()).collect::<Vec<_>>(),
        vec![mapped(1)]
    );
    assert_eq!(results[0]["statusCode"], 200, "{results}");
    assert_eq!(results[0]["id"], stored[0].id, "{results}");
    assert_eq!(results[1]["statusCode"], 422, "{results}");
    assert_eq!(results[1]["errors"][0]["code"], "rejected", "{results}");
    assert_eq!(results.as_array().map(Vec::len), Some(2), "{results}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_succeeds_with_good_credentials_and_reports_the_remote_failure_otherwise() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let body = api
        .get(&format!("/v1/connections/{conn}/ping"))
        .await
        .expect(200);
    assert_eq!(body, json!({"code": 200}));
    let pings = remote.requests("/secure/ping");
    assert_eq!(pings.len(), 1);
    assert_eq!(
        pings[0].authorization.as_deref(),
        Some("Bearer secret-token")
    );

    let wrong = http_connection(&api, &remote, "wrong-token").await;
    let reply = api.get(&format!("/v1/connections/{wrong}/ping")).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let problems = reply.problems();
    assert!(
        problems.iter().any(|p| p.message.contains("401")
            || p.message.contains("the bearer token is not valid")
            || p.code.contains("401")),
        "the remote's refusal is reported: {}",
        reply.text
    );

    // Nothing listens there.
    let nowhere = api
        .create_id(
            "connections",
            json!({"type": "http", "name": "Nowhere",
                   "http": {"baseURI": "http://127.0.0.1:1", "pingRelativeURI": "/ping"}}),
        )
        .await;
    let reply = api.get(&format!("/v1/connections/{nowhere}/ping")).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(!reply.problems().is_empty());

    // An unsaved connection is pinged the same way.
    let body = api
        .post(
            "/v1/connections/ping",
            &json!({"type": "http", "name": "Unsaved", "http": {
                "baseURI": format!("{}/secure", remote.url), "authType": "token",
                "bearerToken": remote::TOKEN, "pingRelativeURI": "/ping"}}),
        )
        .await
        .expect(200);
    assert_eq!(body, json!({"code": 200}));
}

/// `POST /v1/connections/{conn}/proxy` with the proxy headers; the status and body.
async fn proxy(
    server: &Server,
    conn: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let headers = [
        ("Integrator-Relative-URI", uri),
        ("Integrator-Method", method),
    ];
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    let (status, _, bytes) = proxy_request(server, conn, &headers, body).await;
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&bytes);
        panic!("{method} {uri} through the proxy: not JSON ({e}): {text}")
    });
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_sends_one_request_with_the_connections_credentials_and_returns_the_answer() {
    let Setup {
        server,
        api: _api,
        remote: _remote,
        conn,
    } = setup().await;
    let (status, body) = proxy(&server, &conn, "PUT", "/echo?x=1", Some(json!({"a": 1}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"method": "PUT", "path": "/secure/echo", "query": "x=1", "body": {"a": 1},
               "authorization": "Bearer secret-token"})
    );

    let (status, body) = proxy(&server, &conn, "GET", "/teapot", None).await;
    assert_eq!(status, 418, "the remote's status comes back: {body}");
    assert_eq!(body["errors"][0]["code"], "teapot");

    let (status, body) = proxy(&server, &conn, "DELETE", "/nowhere", None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errors"][0]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_log_shows_the_connections_last_requests_with_every_secret_masked() {
    let Setup {
        server,
        api,
        remote: _remote,
        conn,
    } = setup().await;
    let (status, body) = proxy(&server, &conn, "PUT", "/echo?x=1", Some(json!({"a": 1}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["authorization"], format!("Bearer {}", remote::TOKEN));
    let (status, _) = proxy(&server, &conn, "GET", "/teapot", None).await;
    assert_eq!(status, 418);

    let reply = api
        .send(Method::GET, &format!("/v1/connections/{conn}/debug"), None)
        .await;
    let entries = reply.expect(200);
    assert!(
        !reply.text.contains(remote::TOKEN),
        "the token never shows: {}",
        reply.text
    );
    let entries = entries.as_array().expect("an array of entries").clone();
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let echo = &entries[0];
    assert_eq!(echo["method"], "PUT");
    assert!(
        echo["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/secure/echo?x=1")),
        "{echo}"
    );
    assert_eq!(echo["status"], 200);
    assert_eq!(echo["requestBody"], "{\"a\":1}");
    assert_eq!(echo["requestHeaders"]["authorization"], "******");
    assert_eq!(
        echo["requestHeaders"]["x-test"], "******",
        "custom headers often carry keys"
    );
    assert!(
        echo["responseBody"]
            .as_str()
            .is_some_and(|b| b.contains("Bearer ******")),
        "a secret echoed back is masked too: {echo}"
    );
    assert!(is_timestamp(echo["time"].as_str().unwrap_or("")), "{echo}");
    assert!(echo["durationMs"].is_u64(), "{echo}");
    assert_eq!(entries[1]["method"], "GET");
    assert_eq!(entries[1]["status"], 418);

    // Someone else's connection is not there; a deleted one's log goes with it.
    let (_, token) = server.new_account("debug-other@example.com").await;
    server
        .api_as(&token)
        .send(Method::GET, &format!("/v1/connections/{conn}/debug"), None)
        .await
        .expect(404);
    api.send(Method::DELETE, &format!("/v1/connections/{conn}"), None)
        .await
        .expect(204);
    api.send(Method::GET, &format!("/v1/connections/{conn}/debug"), None)
        .await
        .expect(404);
}

// ---------------------------------------------------------------------------------------------
// Wrappers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapper_connection_exports_into_http_and_imports_from_http() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    let wrapper_stack = stack(&api, "Records API wrapper", WRAPPER).await;
    let wrapper_connection = |key: &str| {
        json!({"type": "wrapper", "name": "Records API", "wrapper": {
            "_stackId": wrapper_stack,
            "pingFunction": "ping",
            "unencrypted": {"baseURI": format!("{}/api", remote.url)},
            "encrypted": {"apiKey": key},
            "allowedHosts": [remote.host],
        }})
    };
    let wrapper = api
        .create_id("connections", wrapper_connection(remote::WRAPPER_KEY))
        .await;
    let body = api
        .get(&format!("/v1/connections/{wrapper}/ping"))
        .await
        .expect(200);
    assert_eq!(body, json!({"code": 200}));
    let refused = api
        .create_id("connections", wrapper_connection("wrong-key"))
        .await;
    let reply = api.get(&format!("/v1/connections/{refused}/ping")).await;
    assert_eq!(reply.status, 422, "{}", reply.text);

    // Wrapper export → HTTP import.
    let from_wrapper = api
        .create_id(
            "exports",
            json!({"name": "Records", "_connectionId": wrapper,
                   "wrapper": {"function": "listRecords"}}),
        )
        .await;
    let to_sink = import(
        &api,
        &conn,
        "/sink/from-wrapper",
        json!({"fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "customer.name", "generate": "name"},
        ]}),
        json!({}),
    )
    .await;
    let out = flow(&api, "Records to sink", &from_wrapper, &to_sink).await;
    let done = completed(&api, &run(&api, &out).await).await;
    assert_eq!(
        sorted(remote.received("/secure/sink/from-wrapper")),
        one_to(12)
            .into_iter()
            .map(|n| json!({"orderId": n, "name": format!("Customer {n}")}))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        remote.targets("/api/records"),
        vec![
            "/api/records?page=1",
            "/api/records?page=2",
            "/api/records?page=3"
        ]
    );
    assert!(
        remote
            .requests("/api/records")
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer wrapper-key")),
        "the wrapper sent the connection's key"
    );
    assert_eq!(num(&done, "numExport"), 12, "{done}");
    assert_eq!(outcome(&done), [12, 0, 0], "{done}");

    // The wrapper's own requests are in its connection's debug log, its key masked.
    let reply = api
        .send(
            Method::GET,
            &format!("/v1/connections/{wrapper}/debug"),
            None,
        )
        .await;
    let entries = reply.expect(200);
    assert!(
        !reply.text.contains(remote::WRAPPER_KEY),
        "the key never shows: {}",
        reply.text
    );
    let pages: Vec<&Value> = entries
        .as_array()
        .expect("an array of entries")
        .iter()
        .filter(|e| {
            e["url"]
                .as_str()
                .is_some_and(|u| u.contains("/api/records?page="))
        })
        .collect();
    assert_eq!(pages.len(), 3, "{entries:#?}");
    let first = pages[0];
    assert_eq!(
        (&first["source"], &first["method"], &first["status"]),
        (&json!("wrapper"), &json!("GET"), &json!(200)),
        "{first}"
    );
    assert_eq!(
        first["requestHeaders"]["authorization"], "******",
        "{first}"
    );
    assert!(
        first["responseBody"]
            .as_str()
            .is_some_and(|b| b.contains("Customer 1")),
        "{first}"
    );

    // HTTP export → wrapper import; order 12 has no name, which the Records API refuses.
    remote.configure(|c| c.nameless = BTreeSet::from([12]));
    let orders = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let to_records = api
        .create_id(
            "imports",
            json!({"name": "Create records", "_connectionId": wrapper,
            "wrapper": {"function": "createRecords"},
            "mapping": {"fields": [
                {"extract": "customer.name", "generate": "name"},
                {"extract": "id", "generate": "orderId"},
            ]}}),
        )
        .await;
    let back = flow(&api, "Orders to records", &orders, &to_records).await;
    let job_id = run(&api, &back).await;
    let done = completed(&api, &job_id).await;
    assert_eq!(
        sorted(remote.received("/api/records")),
        one_to(11)
            .into_iter()
            .map(|n| json!({"name": format!("Customer {n}"), "orderId": n}))
            .collect::<Vec<_>>()
    );
    assert_eq!(outcome(&done), [11, 1, 0], "{done}");
    let errors = job_errors(&api, &job_id).await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0]["code"], "missing_name",
        "the API's code: {errors:#?}"
    );
    assert_eq!(errors[0]["retryData"]["record"]["id"], 12, "{errors:#?}");
}

// ---------------------------------------------------------------------------------------------
// Schedules

/// The `field` of every problem of a 422.
fn fields_of(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 422, "{}: {}", reply.request, reply.text);
    reply
        .problems()
        .into_iter()
        .filter_map(|p| p.field)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_must_be_six_fields_at_most_once_a_minute_in_a_known_time_zone() {
    let Setup {
        server: _server,
        api,
        remote: _remote,
        conn,
    } = setup().await;
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let doc = |schedule: &str, timezone: Option<&str>| {
        let mut doc = json!({"name": "Scheduled", "_exportId": export_id,
                             "_importId": import_id, "schedule": schedule});
        if let Some(zone) = timezone {
            doc["timezone"] = json!(zone);
        }
        doc
    };
    for (schedule, zone, field) in [
        ("* * * * * *", None, "schedule"),
        ("*/10 * * * * *", None, "schedule"),
        ("0 * * * *", None, "schedule"),
        ("0 * * * * *", Some("Mars/Olympus_Mons"), "timezone"),
    ] {
        let reply = api.post("/v1/flows", &doc(schedule, zone)).await;
        assert_eq!(
            fields_of(&reply),
            vec![field.to_owned()],
            "{schedule} {zone:?}: {}",
            reply.text
        );
    }
    for (schedule, zone) in [
        ("0 * * * * *", Some("Europe/Berlin")),
        ("? 0 2 ? * *", None),
        ("30 */15 9-17 * * MON-FRI", Some("America/New_York")),
    ] {
        let created = api
            .post("/v1/flows", &doc(schedule, zone))
            .await
            .expect(201);
        // Changing a valid schedule into one that runs too often is refused as well.
        let id = string(&created, "_id");
        let reply = api
            .put(&format!("/v1/flows/{id}"), &doc("* * * * * *", zone))
            .await;
        assert_eq!(fields_of(&reply), vec!["schedule".to_owned()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_flow_runs_at_the_top_of_the_minute() {
    let Setup {
        server,
        api,
        remote,
        conn,
    } = setup().await;
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = api
        .create_id(
            "flows",
            json!({"name": "Every minute", "_exportId": export_id, "_importId": import_id,
                   "schedule": "0 * * * * *", "timezone": "Asia/Kolkata"}),
        )
        .await;

    // The next minute starts within 60 s; the scheduler reads new schedules within 10 s.
    let deadline = Instant::now() + Duration::from_secs(80);
    let scheduled = loop {
        if let Some(job) = jobs_of_flow(&api, &flow_id).await.into_iter().next() {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled run within 80 s; server output:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let created = string(&scheduled, "createdAt");
    assert!(is_timestamp(&created), "{scheduled}");
    let second: u32 = created[17..19].parse().expect("seconds");
    assert!(
        second < 5,
        "queued at the top of the minute, not at {created}"
    );
    completed(&api, &string(&scheduled, "_id")).await;
    assert_eq!(
        numbers(&remote.received("/secure/sink"), "orderId"),
        one_to(12)
    );
}

// ---------------------------------------------------------------------------------------------
// Crashes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_interrupted_jobs_end_with_an_error_and_queued_ones_still_run() {
    let Setup {
        mut server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| c.slow_pages = 100);
    let export_id = slow_export(&api, &conn, "").await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Slow", &export_id, &import_id).await;
    let slower = slow_export(&api, &conn, "&delay=3000").await;
    let other_import = import(&api, &conn, "/sink/other", id_mapping(), json!({})).await;
    let other = flow(&api, "Slower", &slower, &other_import).await;

    // One job running, one queued behind it, and a job of another flow being cancelled.
    let running = run(&api, &flow_id).await;
    running_with_a_page_done(&api, &running).await;
    let queued = run(&api, &flow_id).await;
    assert_eq!(status(&job(&api, &queued).await), "queued");
    let cancelling = run(&api, &other).await;
    running_with_a_page_done(&api, &cancelling).await;
    let reply = api
        .put_empty(&format!("/v1/jobs/{cancelling}/cancel"))
        .await
        .expect(200);
    assert_eq!(status(&reply), "cancelling", "{reply}");

    server.crash();
    remote.configure(|c| c.slow_pages = 2);
    server.restart();
    let api = server.api();

    let interrupted = job(&api, &running).await;
    assert_eq!(status(&interrupted), "failed", "{interrupted}");
    assert!(interrupted["endedAt"].is_string(), "{interrupted}");
    let cancelled = job(&api, &cancelling).await;
    assert_eq!(status(&cancelled), "cancelled", "{cancelled}");
    for job_id in [&running, &cancelling] {
        let errors = job_errors(&api, job_id).await;
        assert!(
            errors.iter().any(|e| e["code"] == "interrupted"),
            "job {job_id} says it was interrupted: {errors:#?}"
        );
        for kid in children(&api, job_id).await {
            assert!(
                !matches!(status(&kid), "running" | "queued" | "cancelling"),
                "no child job is left running: {kid}"
            );
        }
    }

    // The queued run runs to completion (the remote now has 2 pages).
    let done = completed(&api, &queued).await;
    assert_eq!(num(&done, "numExport"), 8, "{done}");
    assert_eq!(num(&done, "numSuccess"), 8, "{done}");
    // The interrupted jobs stay as they ended.
    assert_eq!(status(&job(&api, &running).await), "failed");
    assert_eq!(status(&job(&api, &cancelling).await), "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_finishes_on_the_component_it_started_with() {
    let Setup {
        server: _server,
        api,
        remote,
        conn,
    } = setup().await;
    remote.configure(|c| {
        c.slow_pages = 6;
        c.slow_ms = 150;
    });
    // Version A has `tagOrders`; version B (another component uploaded to the same stack
    // while the job runs) has no such function.
    let hooks = stack(&api, "tagging", HOOKS).await;
    let export_id = slow_export(&api, &conn, "").await;
    let mut export_doc = api
        .get(&format!("/v1/exports/{export_id}"))
        .await
        .expect(200);
    export_doc["hooks"] = json!({"preSavePage": {"_stackId": hooks, "function": "tagOrders"}});
    api.put(&format!("/v1/exports/{export_id}"), &export_doc)
        .await
        .expect(200);
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Pinned", &export_id, &import_id).await;

    let job_id = run(&api, &flow_id).await;
    running_with_a_page_done(&api, &job_id).await;
    let bytes = std::fs::read(env!("WASM_FIXTURE_PANIC")).expect("the panic fixture component");
    api.send(
        Method::PUT,
        &format!("/v1/stacks/{hooks}/component"),
        Some(("application/wasm", bytes)),
    )
    .await
    .expect(200);
    let done = finished(&api, &job_id).await;
    assert_eq!(status(&done), "completed", "{done}");
    assert_eq!(
        num(&done, "numError"),
        0,
        "every page ran on version A: {done}"
    );
    assert_eq!(num(&done, "numSuccess"), 24, "{done}");

    let second = finished(&api, &run(&api, &flow_id).await).await;
    assert!(
        num(&second, "numError") > 0,
        "the next job runs on version B, which has no tagOrders: {second}"
    );
    let errors = api
        .get(&format!("/v1/jobs/{}/joberrors", string(&second, "_id")))
        .await
        .expect(200);
    assert_eq!(errors[0]["code"], json!("function_not_found"), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_credentials_are_refused_goes_offline_until_a_ping_succeeds() {
    let Setup {
        server: _server,
        api,
        remote,
        conn: _conn,
    } = setup().await;
    let conn = http_connection(&api, &remote, "wrong-token").await;
    let export_id = export(&api, &conn, "Orders", json!({"http": orders_by_page()})).await;
    let import_id = import(&api, &conn, "/sink", id_mapping(), json!({})).await;
    let flow_id = flow(&api, "Refused", &export_id, &import_id).await;

    let first = finished(&api, &run(&api, &flow_id).await).await;
    assert_eq!(status(&first), "failed", "{first}");
    let offline = api
        .get(&format!("/v1/connections/{conn}"))
        .await
        .expect(200);
    assert_eq!(offline["offline"], json!(true), "{offline}");

    // While offline, runs fail fast without asking the remote side.
    let asked = remote.count("/secure/orders");
    let second = finished(&api, &run(&api, &flow_id).await).await;
    assert_eq!(status(&second), "failed", "{second}");
    assert_eq!(remote.count("/secure/orders"), asked, "nothing was sent");
    let errors = api
        .get(&format!("/v1/jobs/{}/joberrors", string(&second, "_id")))
        .await
        .expect(200);
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("offline"), "{errors}");

    // Fixing the credentials is not enough: a successful ping brings it back.
    let mut fixed = offline.clone();
    fixed["http"]["bearerToken"] = json!(remote::TOKEN);
    let fixed = api
        .put(&format!("/v1/connections/{conn}"), &fixed)
        .await
        .expect(200);
    assert_eq!(
        fixed["offline"],
        json!(true),
        "a PUT cannot clear it: {fixed}"
    );
    api.get(&format!("/v1/connections/{conn}/ping"))
        .await
        .expect(200);
    let online = api
        .get(&format!("/v1/connections/{conn}"))
        .await
        .expect(200);
    assert!(online["offline"].is_null(), "{online}");
    let third = finished(&api, &run(&api, &flow_id).await).await;
    assert_eq!(status(&third), "completed", "{third}");
}
