//! NetSuite connections end to end, against a NetSuite stand-in on loopback
//! (`test_servers::NetSuiteServer`) that checks every request's OAuth 1.0a HMAC-SHA256
//! signature with Python's oauthlib — never with the runtime's own signing code. Ping, the
//! offline mark, the proxy (record API, RESTlet, relative URI), SuiteQL exports paged into an
//! HTTP sink and into NetSuite, record imports NetSuite refuses in part, RESTlet exports and
//! imports, consumer credentials from an iClient, retries of 429 answers, wrong credentials and
//! unreachable hosts.
//!
//! A test is skipped (the reason printed) when python3 with oauthlib is missing, except in CI
//! (`CI` set) where it fails; `scripts/install-test-deps.sh` installs it.

use std::time::{Duration, Instant};

use test_servers::NetSuiteServer;

use crate::harness::*;
use crate::remote::Remote;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A NetSuite connection to `netsuite` with every credential on it, and `fields` merged in.
async fn connection(api: &Api, netsuite: &NetSuiteServer, fields: Value) -> String {
    api.create_id("connections", with(netsuite.connection(), fields))
        .await
}

async fn ping(api: &Api, conn: &str) -> Reply {
    api.get(&format!("/v1/connections/{conn}/ping")).await
}

/// The one problem of a 422 answer with `code`; its message.
#[track_caller]
fn refusal(reply: &Reply, code: &str) -> String {
    let problems = reply.expect_error(422, code);
    assert_eq!(problems.len(), 1, "{}", reply.text);
    problems[0].message.clone()
}

/// Assert that no credential of `netsuite` appears in `text`.
#[track_caller]
fn no_secret(netsuite: &NetSuiteServer, text: &str) {
    for secret in [netsuite.token_secret(), netsuite.consumer_secret()] {
        assert!(!text.contains(secret), "a secret leaked: {text}");
    }
    assert!(
        !text.contains("oauth_signature"),
        "a signature leaked: {text}"
    );
}

/// The SuiteQL requests the server received, as (limit, offset, query).
fn suiteql_requests(netsuite: &NetSuiteServer) -> Vec<(String, String, String)> {
    netsuite
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/services/rest/query/v1/suiteql")
        .map(|r| {
            assert_eq!(
                r["prefer"], "transient",
                "SuiteQL needs Prefer: transient: {r}"
            );
            assert_eq!(r["auth"], "ok", "{r}");
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap_or("null"))
                .expect("a JSON SuiteQL body");
            (
                r["query"]["limit"].as_str().unwrap_or_default().to_owned(),
                r["query"]["offset"].as_str().unwrap_or_default().to_owned(),
                body["q"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The child job of type `kind` (`export`/`import`).
async fn child(api: &Api, flow_job: &str, kind: &str) -> Value {
    let kids = children(api, flow_job).await;
    let found: Vec<&Value> = kids.iter().filter(|j| j["type"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} job: {kids:#?}");
    found[0].clone()
}

async fn flow(api: &Api, export: &str, import: &str) -> String {
    api.create_id(
        "flows",
        json!({"name": "NetSuite", "_exportId": export, "_importId": import}),
    )
    .await
}

/// `POST /v1/connections/{conn}/proxy` with `headers`: status, content type, body.
async fn proxy(
    server: &Server,
    conn: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, String, Value) {
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    let (status, content_type, bytes) = proxy_request(server, conn, headers, body).await;
    let text = String::from_utf8_lossy(&bytes);
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, content_type, json)
}

/// The `companyName` of every record of `record_type` on the server, in id order.
fn names(netsuite: &NetSuiteServer, record_type: &str) -> Vec<String> {
    netsuite
        .records(record_type)
        .iter()
        .map(|r| r["companyName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Ping, credentials, offline, unreachable hosts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_answers_200_with_a_signature_the_server_verified() {
    let Some(netsuite) = NetSuiteServer::start() else {
        return;
    };
    let server = Server::start();
    let api = server.api();
    let conn = connection(&api, &netsuite, json!({})).await;

    let reply = ping(&api, &conn).await;
    assert_eq!(reply.expect(200), json!({"code": 200}));
    let unsaved = api
        .post("/v1/connections/ping", &netsuite.connection())
        .await;
    assert_eq!(unsaved.expect(200), json!({"code": 200}));

    let asked = suiteql_requests(&netsuite);
    assert_eq!(asked.len(), 2, "{asked:?}");
    for (limit, offset, query) in asked {
        assert_eq!((limit.as_str(), offset.as_str()), ("1", "0"));
        assert!(query.to_lowercase().contains("from dual"), "{query}");
    }
    let stored = api
        .get(&format!("/v1/connections/{conn}"))
        .await
        .expect(200);
    assert_eq!(stored["netsuite"]["tokenSecret"], "******", "{stored}");
    assert_eq!(stored["netsuite"]["consumerSecret"], "******", "{stored}");
    assert_eq!(stored["netsuite"]["consumerKey"], netsuite.consumer_key());
    no_secret(&netsuite, &stored.to_string());

    // The debug log shows the saved connection's ping (the unsaved one is not kept), with
    // the Authorization header and the token masked.
    let log = api
        .get(&format!("/v1/connections/{conn}/debug"))
        .await
        .expect(200);
    let entries = log.as_array().expect("an array of entries");
    assert_eq!(entries.len(), 1, "{log:#}");
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["status"], 200);
    assert!(
        entries[0]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/services/rest/query/v1/suiteql")),
        "{log:#}"
    );
    assert_eq!(entries[0]["requestHeaders"]["authorization"], "******");
    no_secret(&netsuite, &log.to_string());
    assert!(!log.to_string().contains(netsuite.token_id()), "{log:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_ping_with_netsuites_message_and_take_the_connection_offline_until_a_good_ping()
 {
    let Some(netsuite) = NetSuiteServer::start() else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let wrong = "wrong-secret-never-shown";
    let cases = [
        ("token secret", json!({"netsuite": {"tokenSecret": wrong}})),
        (
            "consumer secret",
            json!({"netsuite": {"consumerSecret": wrong}}),
        ),
        (
            "token id",
            json!({"netsuite": {"tokenId": "no-such-token"}}),
        ),
        ("account", json!({"netsuite": {"account": "9999999"}})),
    ];
    for (which, fields) in cases {
        let conn = connection(&api, &netsuite, fields).await;
        let reply = ping(&api, &conn).await;
        let message = refusal(&reply, "INVALID_LOGIN");
        assert!(
            message.contains("401") && message.contains("Invalid login attempt."),
            "{which}: {message}"
        );
        assert!(!reply.text.contains(wrong), "{which}: {}", reply.text);
        no_secret(&netsuite, &reply.text);
        let doc = api
            .get(&format!("/v1/connections/{conn}"))
            .await
            .expect(200);
        assert_eq!(doc["offline"], true, "{which}: {doc}");
        assert!(
            doc["offlineReason"]
                .as_str()
                .is_some_and(|r| r.contains("Invalid login attempt.")),
            "{which}: {doc}"
        );
    }
    let refused = netsuite
        .requests()
        .iter()
        .filter(|r| r["auth"] != "ok")
        .count();
    assert_eq!(refused, 4, "the server refused each wrong credential");

    // An offline connection's flows fail fast; fixing it takes a PUT and then a good ping.
    let conn = connection(&api, &netsuite, json!({"netsuite": {"tokenSecret": wrong}})).await;
    let export_id = api
        .create_id(
            "exports",
            json!({"name": "Customers", "_connectionId": conn,
                   "netsuite": {"type": "suiteql", "suiteql": {"query": "SELECT id FROM customer"}}}),
        )
        .await;
    let import_id = api
        .create_id(
            "imports",
            json!({"name": "Partners", "_connectionId": conn,
                   "netsuite": {"recordType": "partner", "operation": "add"}}),
        )
        .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let first = run_to_end(&api, &flow_id).await;
    assert_eq!(status(&first), "failed", "{first}");
    let errors = job_errors(&api, &string(&first, "_id")).await;
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("Invalid login attempt."))),
        "the job says NetSuite refused the login: {errors:#?}"
    );
    no_secret(&netsuite, &Value::Array(errors).to_string());
    let offline = api
        .get(&format!("/v1/connections/{conn}"))
        .await
        .expect(200);
    assert_eq!(offline["offline"], true, "{offline}");

    let asked = netsuite.requests().len();
    let second = run_to_end(&api, &flow_id).await;
    assert_eq!(status(&second), "failed", "{second}");
    assert_eq!(
        netsuite.requests().len(),
        asked,
        "nothing was sent while offline"
    );

    let mut fixed = offline.clone();
    fixed["netsuite"]["tokenSecret"] = json!(netsuite.token_secret());
    let fixed = api
        .put(&format!("/v1/connections/{conn}"), &fixed)
        .await
        .expect(200);
    assert_eq!(fixed["offline"], true, "a PUT cannot clear it: {fixed}");
    assert_eq!(ping(&api, &conn).await.expect(200), json!({"code": 200}));
    let online = api
        .get(&format!("/v1/connections/{conn}"))
        .await
        .expect(200);
    assert!(online["offline"].is_null(), "{online}");
    let third = run_to_end(&api, &flow_id).await;
    assert_eq!(status(&third), "completed", "{third}");
    assert_eq!(netsuite.records("partner").len(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_host_fails_ping_and_the_proxy_naming_the_address() {
    let server = Server::start();
    let api = server.api();
    let closed = test_servers::closed_port();
    let base = json!({"type": "netsuite", "name": "Nowhere", "netsuite": {
        "account": "1234567", "tokenId": "t", "tokenSecret": "p4ssw0rd-never-shown",
        "consumerKey": "k", "consumerSecret": "p4ssw0rd-never-shown"}});
    let cases = [
        (
            with(
                base.clone(),
                json!({"netsuite": {"baseURI": format!("http://127.0.0.1:{closed}")}}),
            ),
            format!("127.0.0.1:{closed}"),
        ),
        (
            with(
                base.clone(),
                json!({"netsuite": {"baseURI": "http://no-such-host.invalid"}}),
            ),
            "no-such-host.invalid".to_owned(),
        ),
    ];
    for (doc, address) in cases {
        let conn = api.create_id("connections", doc).await;
        let started = Instant::now();
        let reply = ping(&api, &conn).await;
        let message = refusal(&reply, "unreachable");
        assert!(message.contains(&address), "{message}");
        assert!(!reply.text.contains("p4ssw0rd"), "{}", reply.text);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "gave up in time"
        );
        let doc = api
            .get(&format!("/v1/connections/{conn}"))
            .await
            .expect(200);
        assert!(
            doc["offline"].is_null(),
            "unreachable is not refused: {doc}"
        );

        let reply = api
            .send(Method::POST, &format!("/v1/connections/{conn}/proxy"), None)
            .await;
        // Without target headers the proxy says what it needs before sending anything.
        refusal(&reply, "missing_header");
    }
    // The default hosts are NetSuite's, named after the account.
    let conn = api.create_id("connections", base).await;
    let (status, _, _) = proxy(
        &server,
        &conn,
        &[("Integrator-Relative-URI", "https://elsewhere.example/x")],
        None,
    )
    .await;
    assert_eq!(status, 422, "credentials go to NetSuite's hosts only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_credentials_come_from_the_connection_or_its_iclient() {
    let Some(netsuite) = NetSuiteServer::start() else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let iclient = api
        .create_id(
            "iclients",
            json!({"name": "NetSuite integration", "provider": "netsuite",
                   "consumerKey": netsuite.consumer_key(), "consumerSecret": netsuite.consumer_secret()}),
        )
        .await;
    let shown = api
        .get(&format!("/v1/iclients/{iclient}"))
        .await
        .expect(200);
    assert_eq!(shown["consumerSecret"], "******", "{shown}");

    let mut doc = netsuite.connection();
    let block = doc["netsuite"].as_object_mut().expect("the netsuite block");
    block.remove("consumerKey");
    block.remove("consumerSecret");
    let bare = api.create_id("connections", doc.clone()).await;
    let message = refusal(&ping(&api, &bare).await, "invalid_connection");
    assert!(message.contains("consumer"), "{message}");

    doc["netsuite"]["_iClientId"] = json!(iclient);
    let conn = api.create_id("connections", doc.clone()).await;
    assert_eq!(ping(&api, &conn).await.expect(200), json!({"code": 200}));
    let unsaved = api.post("/v1/connections/ping", &doc).await;
    assert_eq!(unsaved.expect(200), json!({"code": 200}));

    // A change of the iClient reaches the live connection.
    let mut changed = shown.clone();
    changed["consumerSecret"] = json!("not-the-consumer-secret");
    api.put(&format!("/v1/iclients/{iclient}"), &changed)
        .await
        .expect(200);
    refusal(&ping(&api, &conn).await, "INVALID_LOGIN");
    changed["consumerSecret"] = json!(netsuite.consumer_secret());
    api.put(&format!("/v1/iclients/{iclient}"), &changed)
        .await
        .expect(200);
    assert_eq!(ping(&api, &conn).await.expect(200), json!({"code": 200}));

    // The connection's own consumer credentials win over the iClient's.
    let own = connection(
        &api,
        &netsuite,
        json!({"netsuite": {"_iClientId": iclient}}),
    )
    .await;
    changed["consumerSecret"] = json!("not-the-consumer-secret");
    api.put(&format!("/v1/iclients/{iclient}"), &changed)
        .await
        .expect(200);
    assert_eq!(ping(&api, &own).await.expect(200), json!({"code": 200}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_are_retried_each_with_a_fresh_signature() {
    let Some(netsuite) = NetSuiteServer::start() else {
        return;
    };
    let server = Server::start();
    let api = server.api();
    let conn = connection(&api, &netsuite, json!({})).await;
    netsuite.busy(2);
    assert_eq!(ping(&api, &conn).await.expect(200), json!({"code": 200}));
    let asked = netsuite.requests();
    assert_eq!(
        asked.len(),
        3,
        "two 429 answers, then the answer: {asked:#?}"
    );
    assert!(
        asked.iter().all(|r| r["auth"] == "ok"),
        "every retry was signed anew (a reused nonce is refused): {asked:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The proxy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_reaches_the_record_api_a_restlet_and_relative_uris() {
    let Some(netsuite) = NetSuiteServer::start() else {
        return;
    };
    let server = Server::start();
    let api = server.api();
    let conn = connection(&api, &netsuite, json!({})).await;

    // Record API: create, read back, refuse.
    let (status, _, body) = proxy(
        &server,
        &conn,
        &[
            ("Integrator-Record-Type", "customer"),
            ("Integrator-Method", "POST"),
        ],
        Some(json!({"companyName": "Proxy Co", "email": "proxy@example.com"})),
    )
    .await;
    assert_eq!((status, &body), (204, &Value::Null));
    let created = netsuite.records("customer");
    let last = created.last().expect("a customer");
    assert_eq!(last["companyName"], "Proxy Co");
    let id = string(last, "id");
    let (status, content_type, body) = proxy(
        &server,
        &conn,
        &[
            ("Integrator-Record-Type", "customer"),
            ("Integrator-Relative-URI", &format!("/{id}")),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(body["companyName"], "Proxy Co");
    assert_eq!(body["id"], json!(id));
    let (status, _, body) = proxy(
        &server,
        &conn,
        &[
            ("Integrator-Record-Type", "customer"),
            ("Integrator-Method", "PATCH"),
            ("Integrator-Relative-URI", "/999999"),
        ],
        Some(json!({"email": "x@example.com"})),
    )
    .await;
    assert_eq!(status, 404, "NetSuite's answer comes back as is: {body}");
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "NONEXISTENT_ID");

    // A RESTlet, with parameters from the relative URI.
    let (status, _, body) = proxy(
        &server,
        &conn,
        &[
            ("Integrator-NetSuite-ScriptId", "customscript_orders"),
            ("Integrator-NetSuite-DeployId", "customdeploy_orders"),
            ("Integrator-Relative-URI", "?status=open&q=a b"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["script"], "customscript_orders");
    assert_eq!(body["deploy"], "customdeploy_orders");
    assert_eq!(body["params"], json!({"status": "open", "q": "a b"}));
    let (status, _, body) = proxy(
        &server,
        &conn,
        &[
            ("Integrator-NetSuite-ScriptId", "customscript_orders"),
            ("Integrator-NetSuite-DeployId", "customdeploy_orders"),
            ("Integrator-Method", "POST"),
        ],
        Some(json!({"hello": "restlet"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["received"], json!({"hello": "restlet"}));

    // A path of REST web services: SuiteQL with its Prefer header.
    let (status, _, body) = proxy(
        &server,
        &conn,
        &[
            (
                "Integrator-Relative-URI",
                "/services/rest/query/v1/suiteql?limit=5&offset=5",
            ),
            ("Integrator-Method", "POST"),
            ("Prefer", "transient"),
        ],
        Some(json!({"q": "SELECT id, companyname FROM customer"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 5);
    assert_eq!(body["items"][0]["id"], "6");
    assert_eq!(body["hasMore"], true);

    // Half a RESTlet target is refused before anything is sent.
    let before = netsuite.requests().len();
    let (status, _, body) = proxy(
        &server,
        &conn,
        &[("Integrator-NetSuite-ScriptId", "customscript_orders")],
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(netsuite.requests().len(), before);
    assert!(
        netsuite.requests().iter().all(|r| r["auth"] == "ok"),
        "{:#?}",
        netsuite.requests()
    );
}

// ---------------------------------------------------------------------------------------------
// Flows

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suiteql_export_pages_through_every_customer_into_an_http_sink() {
    let Some(netsuite) = NetSuiteServer::with_customers(25) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let remote = Remote::start().await;
    let conn = connection(&api, &netsuite, json!({})).await;
    let sink = api
        .create_id(
            "connections",
            json!({"type": "http", "name": "Sink", "http": {"baseURI": remote.url}}),
        )
        .await;
    let export_id = api
        .create_id(
            "exports",
            json!({"name": "Customers", "_connectionId": conn, "pageSize": 10,
                   "netsuite": {"type": "suiteql", "suiteql": {"query":
                   "SELECT id, companyname, email FROM customer WHERE lastmodifieddate <= TO_TIMESTAMP('{{currentExportDateTime}}')"}}}),
        )
        .await;
    let import_id = api
        .create_id(
            "imports",
            json!({"name": "To the sink", "_connectionId": sink,
                   "http": {"relativeURI": "/sink/customers", "method": "POST"},
                   "mapping": {"fields": [
                       {"extract": "id", "generate": "netsuiteId"},
                       {"extract": "companyname", "generate": "name"},
                       {"extract": "email", "generate": "email"}]}}),
        )
        .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = run_to_end(&api, &flow_id).await;
    assert_eq!(status(&done), "completed", "{done}");
    assert_eq!(num(&done, "numExport"), 25, "{done}");
    assert_eq!(num(&done, "numSuccess"), 25, "{done}");
    assert_eq!(num(&done, "numError"), 0, "{done}");

    let received = remote.received("/sink/customers");
    assert_eq!(received.len(), 25);
    let mut ids: Vec<i64> = received
        .iter()
        .map(|r| {
            r["netsuiteId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("a NetSuite id: {r}"))
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=25).collect::<Vec<_>>());
    let third = received
        .iter()
        .find(|r| r["netsuiteId"] == "3")
        .expect("customer 3");
    assert_eq!(
        third,
        &json!({"netsuiteId": "3", "name": "Customer 3", "email": "customer3@example.com"}),
        "SuiteQL's links are dropped"
    );

    let asked = suiteql_requests(&netsuite);
    let pages: Vec<(&str, &str)> = asked
        .iter()
        .map(|(l, o, _)| (l.as_str(), o.as_str()))
        .collect();
    assert_eq!(pages, [("10", "0"), ("10", "10"), ("10", "20")]);
    let started = string(&done, "startedAt");
    for (_, _, query) in &asked {
        assert!(
            query.contains(&format!("TO_TIMESTAMP('{started}')")),
            "the query template saw the run's time: {query}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_adds_records_to_netsuite_and_a_refused_one_is_a_job_error_with_netsuites_code() {
    let Some(netsuite) = NetSuiteServer::with_customers(0) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let remote = Remote::start().await;
    // Twelve orders; two have no customer name, which NetSuite requires.
    remote.configure(|c| c.nameless = [5, 9].into());
    let source = api
        .create_id(
            "connections",
            json!({"type": "http", "name": "Shop", "http": {"baseURI": remote.url}}),
        )
        .await;
    let conn = connection(&api, &netsuite, json!({})).await;
    let export_id = api
        .create_id(
            "exports",
            json!({"name": "Orders", "_connectionId": source, "pageSize": 4, "http": {
                "relativeURI": "/orders?page={{export.http.paging.page}}", "method": "GET",
                "paging": {"method": "page", "page": 1}}}),
        )
        .await;
    let import_id = api
        .create_id(
            "imports",
            json!({"name": "Customers", "_connectionId": conn,
                   "netsuite": {"recordType": "customer", "operation": "add"},
                   "mapping": {"fields": [
                       {"extract": "customer.name", "generate": "companyName"},
                       {"extract": "id", "generate": "externalId"}]}}),
        )
        .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = run_to_end(&api, &flow_id).await;
    assert_eq!(status(&done), "completed", "{done}");
    let import_job = child(&api, &string(&done, "_id"), "import").await;
    assert_eq!(num(&import_job, "numSuccess"), 10, "{import_job}");
    assert_eq!(num(&import_job, "numError"), 2, "{import_job}");

    let written = netsuite.records("customer");
    assert_eq!(written.len(), 10, "{written:#?}");
    let mut external: Vec<i64> = written
        .iter()
        .map(|r| r["externalId"].as_i64().expect("the order id"))
        .collect();
    external.sort_unstable();
    assert_eq!(external, [1, 2, 3, 4, 6, 7, 8, 10, 11, 12]);
    assert!(names(&netsuite, "customer").contains(&"Customer 12".to_owned()));

    let errors = job_errors(&api, &string(&import_job, "_id")).await;
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for error in &errors {
        assert_eq!(error["code"], "USER_ERROR", "{error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Please enter value(s) for: Company Name."),
            "NetSuite's message: {message}"
        );
        assert!(message.contains("400"), "{message}");
        assert_eq!(error["source"], "netsuite", "{error}");
        no_secret(&netsuite, &error.to_string());
    }
    let mut retried: Vec<i64> = errors
        .iter()
        .map(|e| {
            e["retryData"]["record"]["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("the order in the retry data: {e}"))
        })
        .collect();
    retried.sort_unstable();
    assert_eq!(retried, [5, 9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suiteql_export_updates_netsuite_records_and_addupdate_adds_what_has_no_internal_id() {
    let Some(netsuite) = NetSuiteServer::with_customers(7) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(
        &api,
        &netsuite,
        json!({"netsuite": {"concurrencyLevel": 2}}),
    )
    .await;
    let export_id = api
        .create_id(
            "exports",
            json!({"name": "Customers", "_connectionId": conn, "pageSize": 3,
                   "netsuite": {"suiteql": {"query": "SELECT id, companyname FROM customer"}}}),
        )
        .await;
    let import_id = api
        .create_id(
            "imports",
            json!({"name": "Mark synced", "_connectionId": conn,
                   "netsuite": {"recordType": "customer", "operation": "update"},
                   "mapping": {"fields": [
                       {"extract": "id", "generate": "id"},
                       {"hardCodedValue": "integrator", "generate": "syncedBy"}]}}),
        )
        .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = run_to_end(&api, &flow_id).await;
    assert_eq!(status(&done), "completed", "{done}");
    assert_eq!(num(&done, "numExport"), 7, "{done}");
    assert_eq!(num(&done, "numSuccess"), 7, "{done}");
    let customers = netsuite.records("customer");
    assert_eq!(customers.len(), 7, "updated in place: {customers:#?}");
    assert!(
        customers
            .iter()
            .all(|c| c["syncedBy"] == "integrator" && c["companyName"].is_string()),
        "{customers:#?}"
    );

    // addupdate and update through the virtual import: results per record.
    let import = |operation: &str, extra: Value| {
        with(
            json!({"name": "Virtual", "netsuite": {"recordType": "customer", "operation": operation}}),
            extra,
        )
    };
    let results = api
        .post(
            &format!("/v1/connections/{conn}/import"),
            &json!({"import": import("addupdate", json!({})), "data": [
                {"id": "3", "companyName": "Renamed 3"},
                {"companyName": "Brand new"},
                {"id": "4", "companyName": ""},
            ]}),
        )
        .await
        .expect(200);
    let results = results.to_string();
    no_secret(&netsuite, &results);
    let results: Value = serde_json::from_str(&results).expect("JSON");
    let list = results
        .as_array()
        .or_else(|| results["data"].as_array())
        .unwrap_or_else(|| panic!("per-record results: {results}"))
        .clone();
    assert_eq!(list.len(), 3, "{results}");
    assert_eq!(list[0]["statusCode"], 200, "{results}");
    assert_eq!(list[0]["id"], "3", "{results}");
    assert_eq!(list[1]["statusCode"], 200, "{results}");
    let new_id = list[1]["id"]
        .as_str()
        .expect("the new internal id")
        .to_owned();
    assert_eq!(list[2]["statusCode"], 422, "{results}");
    assert_eq!(list[2]["errors"][0]["code"], "USER_ERROR", "{results}");
    let by_id = |id: &str| {
        netsuite
            .records("customer")
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("customer {id}"))
    };
    assert_eq!(by_id("3")["companyName"], "Renamed 3");
    assert_eq!(by_id(&new_id)["companyName"], "Brand new");
    assert_eq!(
        by_id("4")["companyName"],
        "Customer 4",
        "the refused update"
    );
    assert_eq!(netsuite.records("customer").len(), 8);

    let results = api
        .post(
            &format!("/v1/connections/{conn}/import"),
            &json!({"import": import("update", json!({"ignoreMissing": true})), "data": [
                {"id": "999999", "companyName": "Gone"},
                {"companyName": "No id"},
            ]}),
        )
        .await
        .expect(200);
    let text = results.to_string();
    assert!(
        text.matches("\"ignored\":true").count() == 2,
        "both updates were skipped: {results}"
    );
    let results = api
        .post(
            &format!("/v1/connections/{conn}/import"),
            &json!({"import": import("update", json!({})), "data": [{"companyName": "No id"}]}),
        )
        .await
        .expect(200);
    assert!(
        results.to_string().contains("missing_internal_id"),
        "{results}"
    );
    assert_eq!(netsuite.records("customer").len(), 8);
}

// ---------------------------------------------------------------------------------------------
// Virtual exports and RESTlets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_virtual_suiteql_export_resumes_from_its_signed_state() {
    let Some(netsuite) = NetSuiteServer::with_customers(7) else {
        return;
    };
    let server = Server::start();
    let api = server.api();
    let conn = connection(&api, &netsuite, json!({})).await;
    let export = json!({"name": "Customers", "pageSize": 3,
        "netsuite": {"type": "suiteql", "suiteql": {"query": "SELECT id FROM customer"}}});
    let mut state = Value::Null;
    let mut ids = Vec::new();
    let mut calls = 0;
    loop {
        let mut body = json!({"export": export});
        if !state.is_null() {
            body["pagedExportState"] = state.clone();
        }
        let page = api
            .post(&format!("/v1/connections/{conn}/export/pages"), &body)
            .await
            .expect(200);
        calls += 1;
        for record in page["data"].as_array().expect("data") {
            ids.push(string(record, "id"));
        }
        state = page["pagedExportState"].clone();
        if state.is_null() {
            break;
        }
        assert!(calls < 10, "the export ends");
    }
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(calls, 3);
    let offsets: Vec<String> = suiteql_requests(&netsuite)
        .into_iter()
        .map(|(_, offset, _)| offset)
        .collect();
    assert_eq!(offsets, ["0", "3", "6"]);

    // The whole export at once.
    let all = api
        .post(
            &format!("/v1/connections/{conn}/export"),
            &json!({"export": export}),
        )
        .await
        .expect(200);
    assert_eq!(all["data"].as_array().map(Vec::len), Some(7), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restlets_export_records_and_take_imports_with_a_result_per_record() {
    let Some(netsuite) = NetSuiteServer::with_customers(4) else {
        return;
    };
    let server = Server::start();
    let api = server.api();
    let conn = connection(&api, &netsuite, json!({})).await;
    let exported = api
        .post(
            &format!("/v1/connections/{conn}/export"),
            &json!({"export": {"name": "RESTlet", "netsuite": {"type": "restlet", "restlet": {
                "scriptId": "customscript_customers", "deployId": "customdeploy1",
                "params": {"since": "{{currentExportDateTime}}"}, "resourcePath": "items"}}}}),
        )
        .await
        .expect(200);
    let data = exported["data"].as_array().expect("data");
    assert_eq!(data.len(), 4, "{exported}");
    assert_eq!(data[0]["companyName"], "Customer 1");
    let asked = netsuite.requests();
    let restlet = asked.last().expect("the RESTlet request");
    assert_eq!(restlet["method"], "GET");
    assert_eq!(restlet["query"]["script"], "customscript_customers");
    assert_eq!(restlet["query"]["deploy"], "customdeploy1");
    assert!(
        restlet["query"]["since"]
            .as_str()
            .is_some_and(|s| s.starts_with("20")),
        "the parameter template was rendered: {restlet}"
    );

    let results = api
        .post(
            &format!("/v1/connections/{conn}/import"),
            &json!({"import": {"name": "RESTlet", "netsuite": {"type": "restlet", "restlet": {
                "scriptId": "customscript_orders", "deployId": "customdeploy1"}}},
                "data": [{"name": "a"}, {"name": "b", "fail": true}, {"name": "c"}]}),
        )
        .await
        .expect(200);
    let text = results.to_string();
    assert!(text.contains("RESTLET_REFUSED"), "{results}");
    assert!(text.contains("the RESTlet refused b"), "{results}");
    let stored = netsuite.records("restlet");
    let stored_names: Vec<&str> = stored.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(stored_names, ["a", "c"]);
    let posts: Vec<Value> = netsuite
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one request for the page: {posts:#?}");
    assert_eq!(
        posts[0]["contentType"], "application/json",
        "{:#?}",
        posts[0]
    );
}
