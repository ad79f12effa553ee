//! The example components of `examples/`, built from source by the test build, uploaded to a
//! stack of the real server and run through `POST /v1/stacks/{_id}/invoke` as a connector
//! developer would: the wrapper against a real HTTP API on loopback, the connector app through
//! its whole life (install, steps, settings, update, uninstall) observed over the REST API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

use crate::harness::*;

const WRAPPER: &str = env!("WASM_EXAMPLE_WRAPPER");
const CONNECTOR: &str = env!("WASM_EXAMPLE_CONNECTOR");

/// A stack of type `wasm` holding the component at `path`; returns its `_id` and document.
async fn stack_with(api: &Api, name: &str, path: &str) -> (String, Value) {
    let id = api
        .create_id("stacks", json!({"name": name, "type": "wasm"}))
        .await;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let stack = api
        .send(
            Method::PUT,
            &format!("/v1/stacks/{id}/component"),
            Some(("application/wasm", bytes)),
        )
        .await
        .expect(200);
    (id, stack)
}

/// `POST /v1/stacks/{stack}/invoke` with `body`.
async fn invoke(api: &Api, stack: &str, body: Value) -> Reply {
    api.post(&format!("/v1/stacks/{stack}/invoke"), &body).await
}

/// Invoke and expect success; the function's `result`.
async fn result_of(api: &Api, stack: &str, body: Value) -> Value {
    let answer = invoke(api, stack, body).await.expect(200);
    answer["result"].clone()
}

// ---------------------------------------------------------------------------------------------
// The wrapper, against a small "Records API" on 127.0.0.1.

const GOOD_KEY: &str = "key-5f2c";

/// What the Records API saw.
#[derive(Default)]
struct Seen {
    /// Every request: `METHOD path?query`.
    requests: Vec<String>,
    /// The `since` parameter of every `GET /records`.
    since: Vec<Option<String>>,
    /// Records created by `POST /records`.
    created: Vec<Value>,
}

type Shared = Arc<Mutex<Seen>>;

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {GOOD_KEY}"))
}

fn refused() -> (StatusCode, Json<Value>) {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"errors": [{"code": "unauthorized", "message": "unknown API key"}]})),
    )
}

async fn api_ping(State(seen): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    seen.lock().expect("lock").requests.push("GET /ping".into());
    if !authorized(&headers) {
        return refused();
    }
    (StatusCode::OK, Json(json!({"ok": true})))
}

/// Three pages: records 1–2, 3–4, 5 (no `next` on the last).
async fn api_list(
    State(seen): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let mut seen = seen.lock().expect("lock");
    seen.requests.push(format!("GET /records {query:?}"));
    seen.since.push(query.get("since").cloned());
    if !authorized(&headers) {
        return refused();
    }
    let page: u64 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let record = |n: u64| json!({"id": n, "name": format!("record {n}")});
    let body = match page {
        1 => json!({"records": [record(1), record(2)], "next": 2}),
        2 => json!({"records": [record(3), record(4)], "next": 3}),
        3 => json!({"records": [record(5)]}),
        _ => json!({"records": []}),
    };
    (StatusCode::OK, Json(body))
}

/// Creates a record that has a `name`; 422 otherwise.
async fn api_create(
    State(seen): State<Shared>,
    headers: HeaderMap,
    Json(record): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut seen = seen.lock().expect("lock");
    seen.requests.push("POST /records".into());
    if !authorized(&headers) {
        return refused();
    }
    if record["name"].as_str().is_none_or(str::is_empty) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"errors": [{"code": "missing_name", "message": "name is required"}]})),
        );
    }
    seen.created.push(record);
    let id = format!("rec-{}", seen.created.len());
    (StatusCode::CREATED, Json(json!({"id": id})))
}

/// Start the Records API on a free loopback port; returns `host:port` and what it sees.
async fn records_api() -> (String, Shared) {
    let seen = Shared::default();
    let app = axum::Router::new()
        .route("/ping", get(api_ping))
        .route("/records", get(api_list).post(api_create))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port");
    let address = listener.local_addr().expect("the bound address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the Records API");
    });
    (address.to_string(), seen)
}

fn connection(host: &str, key: &str) -> Value {
    json!({
        "unencrypted": {"baseURI": format!("http://{host}/")},
        "encrypted": {"apiKey": key},
    })
}

#[tokio::test]
async fn wrapper_pings_pages_and_imports_against_a_real_http_api() {
    let server = Server::start();
    let api = server.api();
    let (host, seen) = records_api().await;
    let (stack, doc) = stack_with(&api, "Records API wrapper", WRAPPER).await;
    assert_eq!(
        doc["component"]["functions"],
        json!({"ping": ["ping"], "export": ["listRecords"], "import": ["createRecords"]}),
        "the stack lists the wrapper's functions by kind: {doc}"
    );

    // ping: the right key → 200, a wrong one → 401 with the API's error.
    let ok = result_of(
        &api,
        &stack,
        json!({"kind": "ping", "function": "ping", "allowedHosts": [host],
               "options": {"connection": connection(&host, GOOD_KEY)}}),
    )
    .await;
    assert_eq!(ok, json!({"statusCode": 200}));
    let refused = result_of(
        &api,
        &stack,
        json!({"kind": "ping", "function": "ping", "allowedHosts": [host],
               "options": {"connection": connection(&host, "wrong")}}),
    )
    .await;
    assert_eq!(
        refused,
        json!({"statusCode": 401, "errors": [{"code": "unauthorized", "message": "unknown API key"}]})
    );

    // export: called again with the state it returned until lastPage — three pages.
    let mut state = Value::Null;
    let mut pages = Vec::new();
    loop {
        let answer = invoke(
            &api,
            &stack,
            json!({"kind": "export", "function": "listRecords", "allowedHosts": [host],
                   "options": {"connection": connection(&host, GOOD_KEY), "state": state}}),
        )
        .await
        .expect(200);
        let page = answer["result"].clone();
        assert!(
            answer["logs"]
                .as_array()
                .is_some_and(|l| l.iter().any(|l| l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("page ")))),
            "the export logs each page: {answer}"
        );
        state = page["state"].clone();
        let last = page["lastPage"] == json!(true);
        pages.push(page);
        if last {
            break;
        }
        assert!(
            pages.len() < 10,
            "the export never reached lastPage: {pages:?}"
        );
    }
    assert_eq!(pages.len(), 3, "{pages:?}");
    let names: Vec<Vec<&str>> = pages
        .iter()
        .map(|p| {
            p["data"]
                .as_array()
                .expect("data is an array")
                .iter()
                .map(|r| r["name"].as_str().expect("a name"))
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        vec![
            vec!["record 1", "record 2"],
            vec!["record 3", "record 4"],
            vec!["record 5"]
        ]
    );
    assert_eq!(pages[0]["state"], json!({"page": 2}));
    assert_eq!(pages[1]["state"], json!({"page": 3}));
    assert_eq!(pages[2]["state"], Value::Null);
    assert_eq!(pages[0]["lastPage"], json!(false));

    // A delta export sends lastExecutionTime as `since`; a test export stops at test.limit.
    let since = "2026-05-01T10:00:00.000Z";
    let delta = result_of(
        &api,
        &stack,
        json!({"kind": "export", "function": "listRecords", "allowedHosts": [host],
               "options": {"connection": connection(&host, GOOD_KEY), "type": "delta",
                           "delta": {"dateField": "updatedAt", "lastExecutionTime": since}}}),
    )
    .await;
    assert_eq!(delta["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        seen.lock()
            .expect("lock")
            .since
            .last()
            .cloned()
            .flatten()
            .as_deref(),
        Some(since),
        "the API received lastExecutionTime as `since`"
    );
    assert!(
        seen.lock().expect("lock").since[..3]
            .iter()
            .all(Option::is_none),
        "a full export sends no `since`"
    );
    let test = result_of(
        &api,
        &stack,
        json!({"kind": "export", "function": "listRecords", "allowedHosts": [host],
               "options": {"connection": connection(&host, GOOD_KEY), "type": "test", "test": {"limit": 1}}}),
    )
    .await;
    assert_eq!(test["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(test["lastPage"], json!(true));

    // A wrong key on export is a fatal failure the caller sees.
    let failed = invoke(
        &api,
        &stack,
        json!({"kind": "export", "function": "listRecords", "allowedHosts": [host],
               "options": {"connection": connection(&host, "wrong")}}),
    )
    .await;
    failed.expect_error(422, "unauthorized");

    // import: one result per record, in order.
    let results = result_of(
        &api,
        &stack,
        json!({"kind": "import", "function": "createRecords", "allowedHosts": [host],
               "options": {"connection": connection(&host, GOOD_KEY),
                           "preMapData": [{"n": 1}, {"n": 2}, {"n": 3}],
                           "postMapData": [{"name": "Ada"}, {"email": "no-name@example.com"}, {"name": "Grace"}]}}),
    )
    .await;
    assert_eq!(
        results,
        json!([
            {"statusCode": 200, "id": "rec-1", "ignored": false},
            {"statusCode": 422, "ignored": false, "errors": [{"code": "missing_name", "message": "name is required"}]},
            {"statusCode": 200, "id": "rec-2", "ignored": false},
        ])
    );
    let created = seen.lock().expect("lock").created.clone();
    assert_eq!(
        created,
        vec![json!({"name": "Ada"}), json!({"name": "Grace"})]
    );

    // A host the call does not allow is never reached: the request fails, and so does the call.
    let before = seen.lock().expect("lock").requests.len();
    for allowed in [json!(["api.example.com"]), json!([])] {
        let answer = invoke(
            &api,
            &stack,
            json!({"kind": "ping", "function": "ping", "allowedHosts": allowed,
                   "options": {"connection": connection(&host, GOOD_KEY)}}),
        )
        .await;
        let problems = answer.expect_error(422, "request_failed");
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("does not allow") && p.message.contains(&host)),
            "the failure names the refused host: {problems:?}"
        );
    }
    assert_eq!(
        seen.lock().expect("lock").requests.len(),
        before,
        "no request reached the API"
    );

    // A connection without a usable base URI is a failure naming the field.
    let answer = invoke(
        &api,
        &stack,
        json!({"kind": "ping", "function": "ping", "allowedHosts": [host],
               "options": {"connection": {"unencrypted": {}, "encrypted": {"apiKey": GOOD_KEY}}}}),
    )
    .await;
    let problems = answer.expect_error(422, "invalid_connection");
    assert!(problems[0].message.contains("baseURI"), "{problems:?}");
}

// ---------------------------------------------------------------------------------------------
// The connector app.

/// The documents of `collection` tagged with `integration`.
async fn tagged(api: &Api, collection: &str, integration: &str) -> Vec<Value> {
    let list = api.get(&format!("/v1/{collection}")).await.expect(200);
    list.as_array()
        .expect("a list")
        .iter()
        .filter(|d| d["_integrationId"].as_str() == Some(integration))
        .cloned()
        .collect()
}

/// The one document of `collection` tagged with `integration`.
async fn only(api: &Api, collection: &str, integration: &str) -> Value {
    let docs = tagged(api, collection, integration).await;
    assert_eq!(
        docs.len(),
        1,
        "exactly one of {collection} belongs to the integration: {docs:?}"
    );
    docs[0].clone()
}

#[tokio::test]
async fn connector_installs_configures_updates_and_uninstalls_through_the_platform_api() {
    let server = Server::start();
    let api = server.api();
    let (stack, doc) = stack_with(&api, "Example connector", CONNECTOR).await;
    assert_eq!(
        doc["component"]["functions"],
        json!({
            "installer": ["install", "verifyConnection", "applyDefaults"],
            "update": ["update"],
            "preUninstall": ["preUninstall"],
            "uninstaller": ["uninstall"],
            "formInit": ["settingsForm"],
            "persistSettings": ["saveSettings"],
            "changeEdition": ["changeEdition"],
            "refreshMetadata": ["refreshChoices"],
            "getMappingMetadata": ["mappingMetadata"],
        }),
        "{doc}"
    );
    let connector = api
        .create_id(
            "connectors",
            json!({"name": "Example Records", "_stackId": stack,
                   "installerFunction": "install", "updateFunction": "update",
                   "preUninstallFunction": "preUninstall", "uninstallerFunction": "uninstall"}),
        )
        .await;
    let integration = api
        .create_id(
            "integrations",
            json!({"name": "Example Records", "_connectorId": connector, "mode": "install"}),
        )
        .await;
    // The account's own resources, which the connector's code must neither see nor touch.
    let own = api
        .create_id(
            "connections",
            json!({"name": "Mine", "type": "rest", "rest": {"baseURI": "https://mine.example"}}),
        )
        .await;
    let call = |kind: &str, function: &str, options: Value| {
        let mut options = options;
        options["_connectorId"] = json!(connector);
        options["_integrationId"] = json!(integration);
        json!({"kind": kind, "function": function, "options": options})
    };

    // The connector's installerFunction.
    let answer = invoke(
        &api,
        &stack,
        call(
            "installer",
            "install",
            json!({"opts": {"baseURI": "https://records.example.com"}}),
        ),
    )
    .await
    .expect(200);
    assert_eq!(
        answer["result"],
        json!({"success": true, "stepsToUpdate": []})
    );
    assert!(
        answer["logs"].to_string().contains("created flows/"),
        "the installer logs what it created: {answer}"
    );
    let connection = only(&api, "connections", &integration).await;
    let export = only(&api, "exports", &integration).await;
    let import = only(&api, "imports", &integration).await;
    let flow = only(&api, "flows", &integration).await;
    for doc in [&connection, &export, &import, &flow] {
        assert_eq!(
            doc["_connectorId"],
            json!(connector),
            "tagged with the connector: {doc}"
        );
        assert_eq!(doc["_integrationId"], json!(integration), "{doc}");
    }
    assert_eq!(connection["type"], json!("rest"));
    assert_eq!(
        connection["rest"]["baseURI"],
        json!("https://records.example.com")
    );
    assert_eq!(export["_connectionId"], connection["_id"]);
    assert_eq!(import["_connectionId"], connection["_id"]);
    assert_eq!(flow["_exportId"], export["_id"]);
    assert_eq!(flow["_importId"], import["_id"]);

    let installed = api
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(installed["mode"], json!("install"));
    assert_eq!(installed["version"], json!("1.0.0"));
    assert_eq!(installed["_connectorId"], json!(connector));
    let steps = installed["install"].as_array().expect("install steps");
    assert_eq!(steps.len(), 2, "{installed}");
    assert_eq!(steps[0]["name"], json!("Example API connection"));
    assert_eq!(steps[0]["installerFunction"], json!("verifyConnection"));
    assert_eq!(steps[0]["_connectionId"], connection["_id"]);
    assert_eq!(steps[1]["installerFunction"], json!("applyDefaults"));
    for step in steps {
        assert_eq!(step["completed"], json!(false), "{step}");
        assert!(step["description"].is_string(), "{step}");
    }
    assert_eq!(installed["settings"]["general"]["pageSize"], json!(20));

    // Installing again changes nothing.
    result_of(&api, &stack, call("installer", "install", json!({}))).await;
    for collection in ["connections", "exports", "imports", "flows"] {
        only(&api, collection, &integration).await;
    }

    // The install steps.
    let step = result_of(
        &api,
        &stack,
        call(
            "installer",
            "verifyConnection",
            json!({"_connectionId": connection["_id"]}),
        ),
    )
    .await;
    assert_eq!(step["success"], json!(true));
    assert_eq!(step["stepsToUpdate"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        step["stepsToUpdate"][0]["name"],
        json!("Example API connection")
    );
    assert_eq!(step["stepsToUpdate"][0]["completed"], json!(true));
    // The account's own connection is not the connector's to check: the platform answers 404.
    let answer = invoke(
        &api,
        &stack,
        call(
            "installer",
            "verifyConnection",
            json!({"_connectionId": own}),
        ),
    )
    .await;
    answer.expect_error(422, "not_found");

    let step = result_of(
        &api,
        &stack,
        call(
            "installer",
            "applyDefaults",
            json!({"formSubmission": {"general.pageSize": "50", "orders.syncOrders": false}}),
        ),
    )
    .await;
    assert_eq!(step["stepsToUpdate"][0]["name"], json!("Defaults"));
    assert_eq!(step["stepsToUpdate"][0]["completed"], json!(true));
    let configured = api
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(configured["settings"]["general"]["pageSize"], json!(50));
    assert_eq!(configured["settings"]["orders"]["syncOrders"], json!(false));
    assert_eq!(
        configured["settings"]["orders"]["statuses"],
        json!(["open", "paid"]),
        "settings not submitted stay"
    );

    // Settings: the form, built from the integration's settings.
    let form = result_of(
        &api,
        &stack,
        call("formInit", "settingsForm", json!({"resource": configured})),
    )
    .await;
    let sections = form["sections"].as_array().expect("sections");
    let titles: Vec<&str> = sections
        .iter()
        .map(|s| s["title"].as_str().expect("a title"))
        .collect();
    assert_eq!(titles, ["General", "Orders"], "{form}");
    let fields: HashMap<&str, &Value> = sections
        .iter()
        .flat_map(|s| s["fields"].as_array().expect("fields"))
        .map(|f| (f["id"].as_str().expect("an id"), f))
        .collect();
    let page_size = fields["general.pageSize"];
    assert_eq!(page_size["type"], json!("number"));
    assert_eq!(page_size["label"], json!("Page size"));
    assert_eq!(page_size["value"], json!(50));
    assert_eq!(page_size["required"], json!(true));
    assert_eq!(fields["general.notifyEmail"]["type"], json!("text"));
    assert_eq!(fields["orders.syncOrders"]["type"], json!("checkbox"));
    assert_eq!(fields["orders.syncOrders"]["value"], json!(false));
    let statuses = fields["orders.statuses"];
    assert_eq!(statuses["type"], json!("multiselect"));
    assert_eq!(statuses["value"], json!(["open", "paid"]));
    assert_eq!(statuses["options"].as_array().map(Vec::len), Some(4));
    // Without a resource, the form comes from the integration's settings the platform passes.
    let same = result_of(&api, &stack, call("formInit", "settingsForm", json!({}))).await;
    assert_eq!(same, form);

    // persistSettings: valid values come back normalized, an invalid one is refused by name.
    let saved = result_of(
        &api,
        &stack,
        call(
            "persistSettings",
            "saveSettings",
            json!({"pending": {"general.pageSize": " 100 ", "general.notifyEmail": " ops@example.com ",
                               "orders.statuses": ["shipped"]}}),
        ),
    )
    .await;
    assert_eq!(
        saved,
        json!({"success": true, "pending": {"general.pageSize": 100,
               "general.notifyEmail": "ops@example.com", "orders.statuses": ["shipped"]}})
    );
    for (pending, named) in [
        (json!({"general.pageSize": 0}), "general.pageSize"),
        (
            json!({"general.notifyEmail": "nobody"}),
            "general.notifyEmail",
        ),
        (json!({"orders.statuses": ["lost"]}), "orders.statuses"),
    ] {
        let answer = invoke(
            &api,
            &stack,
            call(
                "persistSettings",
                "saveSettings",
                json!({"pending": pending}),
            ),
        )
        .await;
        let problems = answer.expect_error(422, "invalid_setting");
        assert!(problems[0].message.contains(named), "{problems:?}");
    }

    // update: the version goes up, settings added since appear, the user's stay.
    let mut older = api
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    older["settings"]["general"]
        .as_object_mut()
        .expect("general settings")
        .remove("notifyEmail");
    api.put(&format!("/v1/integrations/{integration}"), &older)
        .await
        .expect(200);
    let answer = result_of(&api, &stack, call("update", "update", json!({"opts": {}}))).await;
    assert_eq!(answer, Value::Null);
    let updated = api
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(updated["version"], json!("1.1.0"));
    assert_eq!(updated["settings"]["general"]["notifyEmail"], json!(""));
    assert_eq!(updated["settings"]["general"]["pageSize"], json!(50));

    // Uninstall: preUninstall stops the flows, the uninstaller removes everything it made.
    let pre = result_of(
        &api,
        &stack,
        call("preUninstall", "preUninstall", json!({})),
    )
    .await;
    assert_eq!(pre, json!({"success": true, "stepsToUpdate": []}));
    let uninstalling = api
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(uninstalling["mode"], json!("uninstall"));
    assert!(tagged(&api, "flows", &integration).await.is_empty());
    api.get(&format!("/v1/flows/{}", string(&flow, "_id")))
        .await
        .expect_error(404, "not_found");

    let done = result_of(&api, &stack, call("uninstaller", "uninstall", json!({}))).await;
    assert_eq!(done, json!({"success": true, "stepsToUpdate": []}));
    for collection in ["connections", "exports", "imports", "flows"] {
        assert!(
            tagged(&api, collection, &integration).await.is_empty(),
            "the uninstaller left {collection}"
        );
    }
    for (collection, doc) in [
        ("connections", &connection),
        ("exports", &export),
        ("imports", &import),
    ] {
        api.get(&format!("/v1/{collection}/{}", string(doc, "_id")))
            .await
            .expect_error(404, "not_found");
    }
    // What is not the connector's survives; the integration is the platform's to delete.
    api.get(&format!("/v1/connections/{own}")).await.expect(200);
    api.delete(&format!("/v1/integrations/{integration}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn connector_code_cannot_install_into_another_connectors_integration() {
    let server = Server::start();
    let api = server.api();
    let (stack, _) = stack_with(&api, "Example connector", CONNECTOR).await;
    let ours = api
        .create_id("connectors", json!({"name": "Ours", "_stackId": stack}))
        .await;
    let theirs = api.create_id("connectors", json!({"name": "Theirs"})).await;
    let integration = api
        .create_id(
            "integrations",
            json!({"name": "Theirs", "_connectorId": theirs, "mode": "install"}),
        )
        .await;
    let answer = invoke(
        &api,
        &stack,
        json!({"kind": "installer", "function": "install",
               "options": {"_connectorId": ours, "_integrationId": integration}}),
    )
    .await;
    answer.expect_error(422, "not_found");
    for collection in ["connections", "exports", "imports", "flows"] {
        assert_eq!(
            api.list_ids(&format!("/v1/{collection}")).await,
            Vec::<String>::new(),
            "nothing was created in {collection}"
        );
    }
    let untouched = api
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert!(untouched.get("install").is_none(), "{untouched}");

    // Without an integration the installer says what is missing.
    let answer = invoke(
        &api,
        &stack,
        json!({"kind": "installer", "function": "install", "options": {"_connectorId": ours}}),
    )
    .await;
    let problems = answer.expect_error(422, "missing_integration");
    assert!(
        problems[0].message.contains("_integrationId"),
        "{problems:?}"
    );
}
