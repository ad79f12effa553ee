//! The marketplace end to end, with the example connector app (`examples/connector`, built by
//! the test build) and several accounts of one real server: a publisher lists and licenses the
//! app, a customer installs it, completes its steps, configures it, runs its flow against a
//! small "Records API" on loopback, receives an update, changes edition, sees its license expire
//! and renewed, and uninstalls it — and at every step the accounts and the connector's code
//! reach only what is theirs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::harness::*;

const CONNECTOR: &str = env!("WASM_EXAMPLE_CONNECTOR");

/// Every function the example connector exports, by the connector field that names it.
fn functions() -> Value {
    json!({
        "installerFunction": "install",
        "updateFunction": "update",
        "preUninstallFunction": "preUninstall",
        "uninstallerFunction": "uninstall",
        "changeEditionFunction": "changeEdition",
        "formInitFunction": "settingsForm",
        "persistSettingsFunction": "saveSettings",
        "refreshMetadataFunction": "refreshChoices",
        "getMappingMetadataFunction": "mappingMetadata",
    })
}

/// A stack of the publisher holding the example connector.
async fn connector_stack(api: &Api) -> String {
    let id = api
        .create_id(
            "stacks",
            json!({"name": "Example connector", "type": "wasm"}),
        )
        .await;
    let bytes = std::fs::read(CONNECTOR).unwrap_or_else(|e| panic!("reading {CONNECTOR}: {e}"));
    api.send(
        Method::PUT,
        &format!("/v1/stacks/{id}/component"),
        Some(("application/wasm", bytes)),
    )
    .await
    .expect(200);
    id
}

/// A connector of the publisher on `stack`, with every function and the `extra` fields.
async fn connector(api: &Api, stack: &str, name: &str, extra: Value) -> String {
    let mut doc = functions();
    doc["name"] = json!(name);
    doc["_stackId"] = json!(stack);
    for (k, v) in extra.as_object().into_iter().flatten() {
        doc[k.as_str()] = v.clone();
    }
    api.create_id("connectors", doc).await
}

/// A license of `connector` for `email` whose `opts` point the app at `base_uri`.
async fn license(api: &Api, connector: &str, email: &str, base_uri: &str) -> Value {
    api.post(
        &format!("/v1/connectors/{connector}/licenses"),
        &json!({"email": email, "expires": "2999-01-01T00:00:00.000Z",
                "opts": {"edition": "standard", "baseURI": base_uri}}),
    )
    .await
    .expect(201)
}

/// The documents of `collection` tagged with `integration` that `api` lists.
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
    assert_eq!(docs.len(), 1, "{collection} of {integration}: {docs:?}");
    docs[0].clone()
}

/// Run `flow` and wait for its job to end; the job.
async fn run(api: &Api, flow: &str) -> Value {
    let started = api
        .post_empty(&format!("/v1/flows/{flow}/run"))
        .await
        .expect(201);
    let job = string(&started, "_jobId");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let doc = api.get(&format!("/v1/jobs/{job}")).await.expect(200);
        if matches!(
            doc["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            return doc;
        }
        assert!(Instant::now() < deadline, "job {job} did not end: {doc}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The "Records API" the installed app talks to: `GET /records` lists two records, `POST
/// /records` keeps what it receives.
struct Records {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Records {
    async fn start() -> Self {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let app = Router::new()
            .route(
                "/records",
                get(|| async {
                    axum::Json(json!([{"id": "r1", "name": "one"}, {"id": "r2", "name": "two"}]))
                })
                .post(
                    |State(received): State<Arc<Mutex<Vec<Value>>>>, body: Bytes| async move {
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let mut all = received.lock().unwrap_or_else(|p| p.into_inner());
                        match body {
                            Value::Array(items) => all.extend(items),
                            other => all.push(other),
                        }
                        (StatusCode::CREATED, axum::Json(json!({"id": "created"})))
                    },
                ),
            )
            .route("/ping", get(|| async { axum::Json(json!({"ok": true})) }))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the Records API");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the Records API's address")
        );
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("serving the Records API");
        });
        Self { url, received }
    }

    /// The `externalId`s of the records posted so far.
    fn posted(&self) -> Vec<Value> {
        let mut posted = self
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|r| r["externalId"].clone())
            .collect::<Vec<_>>();
        // The records of a page are sent concurrently: compare them in a stable order.
        posted.sort_by_key(|v| v.to_string());
        posted
    }
}

#[tokio::test]
async fn a_connector_app_is_listed_licensed_installed_configured_run_updated_and_uninstalled() {
    let server = Server::start_unlimited();
    let publisher = server.api();
    let (customer_id, customer_token) = server.new_account("customer@example.com").await;
    let customer = server.api_as(&customer_token);
    let records = Records::start().await;

    // Publish.
    let stack = connector_stack(&publisher).await;
    let app = connector(
        &publisher,
        &stack,
        "Example Records",
        json!({"published": true, "description": "Records, synchronized",
               "applications": ["records"]}),
    )
    .await;
    let hidden = connector(&publisher, &stack, "Not yet", json!({})).await;

    // The listing: every account sees the published app, and only its listing.
    let listed = customer.get("/v1/marketplace/connectors").await.expect(200);
    let entries = listed.as_array().expect("a list");
    assert!(
        entries.iter().all(|e| e["_id"] != json!(hidden)),
        "unpublished: {listed}"
    );
    let entry = entries
        .iter()
        .find(|e| e["_id"] == json!(app))
        .unwrap_or_else(|| panic!("the app is listed: {listed}"));
    assert_eq!(entry["name"], json!("Example Records"));
    assert_eq!(entry["description"], json!("Records, synchronized"));
    assert_eq!(entry["published"], json!(true));
    for private in [
        "_stackId",
        "installerFunction",
        "updateFunction",
        "installBase",
    ] {
        assert!(entry.get(private).is_none(), "{private} is listed: {entry}");
    }
    assert_eq!(
        &customer
            .get(&format!("/v1/marketplace/connectors/{app}"))
            .await
            .expect(200),
        entry
    );
    customer
        .get(&format!("/v1/marketplace/connectors/{hidden}"))
        .await
        .expect_error(404, "not_found");
    customer
        .get(&format!("/v1/connectors/{app}"))
        .await
        .expect_error(404, "not_found");

    // License.
    let licenses = format!("/v1/connectors/{app}/licenses");
    publisher
        .post(&licenses, &json!({"email": "nobody@example.com"}))
        .await
        .expect_invalid("invalid_user", "email");
    let granted = license(&publisher, &app, "customer@example.com", &records.url).await;
    let license_id = string(&granted, "_id");
    let one_license = format!("{licenses}/{license_id}");
    assert_eq!(granted["user"], json!({"email": "customer@example.com"}));
    assert!(granted.get("_integrationId").is_none(), "{granted}");

    // Install: the integration, made in the customer's account, then the app's installer.
    let installed = customer
        .post_empty(&format!("/v1/connectors/{app}/install"))
        .await
        .expect(201);
    let integration = string(&installed, "_id");
    assert_eq!(installed["_connectorId"], json!(app));
    assert_eq!(installed["_licenseId"], json!(license_id));
    assert_eq!(installed["mode"], json!("install"));
    assert_eq!(installed["version"], json!("1.0.0"));
    assert_eq!(installed["name"], json!("Example Records"));
    let steps = installed["install"].as_array().expect("install steps");
    assert_eq!(steps.len(), 2, "{installed}");
    assert!(steps.iter().all(|s| s["completed"] == json!(false)));
    let held = publisher.get(&one_license).await.expect(200);
    assert_eq!(held["_integrationId"], json!(integration));
    assert_eq!(held["user"]["_id"], json!(customer_id));
    assert_eq!(held["user"]["name"], json!("customer@example.com"));
    customer
        .post_empty(&format!("/v1/connectors/{app}/install"))
        .await
        .expect_error(409, "license_in_use");

    let connection = only(&customer, "connections", &integration).await;
    let export = only(&customer, "exports", &integration).await;
    let import = only(&customer, "imports", &integration).await;
    let flow = only(&customer, "flows", &integration).await;
    for doc in [&connection, &export, &import, &flow] {
        assert_eq!(doc["_connectorId"], json!(app), "{doc}");
    }
    assert_eq!(connection["rest"]["baseURI"], json!(records.url));
    let export_id = string(&export, "_id");
    let flow_id = string(&flow, "_id");

    // The publisher sees the install in its install base, never the customer's documents.
    let base = publisher
        .get(&format!("/v1/connectors/{app}/installBase"))
        .await
        .expect(200);
    assert_eq!(
        base,
        json!([{"_integrationId": integration, "_licenseId": license_id,
                "email": "customer@example.com", "name": "Example Records",
                "version": "1.0.0", "mode": "install", "updateInProgress": false}])
    );
    for path in [
        format!("/v1/exports/{export_id}"),
        format!("/v1/integrations/{integration}"),
        format!("/v1/flows/{flow_id}"),
    ] {
        publisher.get(&path).await.expect_error(404, "not_found");
    }
    // The customer may not take the app apart by hand.
    let problems = customer
        .delete(&format!("/v1/exports/{export_id}"))
        .await
        .expect_error(409, "connector_managed");
    assert!(
        problems[0]
            .message
            .contains(&format!("/v1/integrations/{integration}/uninstall")),
        "{problems:?}"
    );
    customer
        .delete(&format!("/v1/integrations/{integration}"))
        .await
        .expect_error(409, "connector_managed");
    customer
        .post_empty(&format!("/v1/flows/{flow_id}/clone"))
        .await
        .expect_error(409, "connector_managed");

    // The install steps, in order; a failing one stays incomplete with its error and is retried.
    let step = |i: usize| format!("/v1/integrations/{integration}/install/{i}");
    customer
        .post(&step(1), &json!({"formSubmission": {}}))
        .await
        .expect_error(409, "step_out_of_order");
    customer
        .post_empty(&step(2))
        .await
        .expect_error(404, "not_found");
    let mine = customer
        .create_id(
            "connections",
            json!({"name": "Mine", "type": "rest", "rest": {"baseURI": "https://mine.example"}}),
        )
        .await;
    customer
        .post(&step(0), &json!({"_connectionId": mine}))
        .await
        .expect_error(422, "not_found");
    let failed = customer
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(failed["install"][0]["completed"], json!(false));
    assert_eq!(
        failed["install"][0]["error"]["code"],
        json!("not_found"),
        "{failed}"
    );
    let done = customer.post_empty(&step(0)).await.expect(200);
    assert_eq!(done["install"][0]["completed"], json!(true));
    assert!(done["install"][0].get("error").is_none(), "{done}");
    assert_eq!(done["mode"], json!("install"));
    customer
        .post_empty(&step(0))
        .await
        .expect_error(409, "step_completed");
    customer
        .put(
            &format!("/v1/integrations/{integration}/settings"),
            &json!({"pending": {"general.pageSize": 30}}),
        )
        .await
        .expect_error(409, "invalid_mode");
    let done = customer
        .post(
            &step(1),
            &json!({"formSubmission": {"general.pageSize": "50"}}),
        )
        .await
        .expect(200);
    assert_eq!(done["install"][1]["completed"], json!(true));
    assert_eq!(done["mode"], json!("settings"));
    assert_eq!(done["settings"]["general"]["pageSize"], json!(50));

    // Settings: the form, saving through persistSettings, metadata.
    let form = customer
        .get(&format!("/v1/integrations/{integration}/settings/form"))
        .await
        .expect(200);
    let titles: Vec<&Value> = form["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| &s["title"])
        .collect();
    assert_eq!(titles, [&json!("General"), &json!("Orders")], "{form}");
    let page_size = form["sections"][0]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["id"] == json!("general.pageSize"))
        .unwrap_or_else(|| panic!("a page size field: {form}"))
        .clone();
    assert_eq!(page_size["value"], json!(50));
    let settings = format!("/v1/integrations/{integration}/settings");
    let saved = customer
        .put(
            &settings,
            &json!({"pending": {"general.pageSize": " 100 ", "orders.statuses": ["shipped"]}}),
        )
        .await
        .expect(200);
    assert_eq!(saved["settings"]["general"]["pageSize"], json!(100));
    assert_eq!(saved["settings"]["orders"]["statuses"], json!(["shipped"]));
    assert_eq!(saved["settings"]["orders"]["syncOrders"], json!(true));
    let problems = customer
        .put(&settings, &json!({"pending": {"general.pageSize": 0}}))
        .await
        .expect_error(422, "invalid_setting");
    assert!(
        problems[0].message.contains("general.pageSize"),
        "{problems:?}"
    );
    customer
        .put(&settings, &json!({"changes": {}}))
        .await
        .expect_invalid("missing_field", "pending");
    let unchanged = customer
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(unchanged["settings"], saved["settings"], "nothing was lost");
    // A PUT of the integration by the customer cannot change what the app manages.
    let mut edited = unchanged.clone();
    edited["name"] = json!("My records");
    edited["settings"] = json!({"general": {"pageSize": 7}});
    edited["mode"] = json!("install");
    edited["version"] = json!("9.9.9");
    let edited = customer
        .put(&format!("/v1/integrations/{integration}"), &edited)
        .await
        .expect(200);
    assert_eq!(edited["name"], json!("My records"));
    assert_eq!(edited["settings"], saved["settings"]);
    assert_eq!(edited["mode"], json!("settings"));
    assert_eq!(edited["version"], json!("1.0.0"));
    assert_eq!(edited["_licenseId"], json!(license_id));

    let field = customer
        .post(
            &format!("/v1/integrations/{integration}/settings/refreshMetadata"),
            &json!({"id": "orders.statuses"}),
        )
        .await
        .expect(200);
    assert_eq!(field["type"], json!("multiselect"));
    assert_eq!(field["value"], json!(["shipped"]));
    assert_eq!(field["options"].as_array().map(Vec::len), Some(4));
    customer
        .post(
            &format!("/v1/integrations/{integration}/settings/refreshMetadata"),
            &json!({"id": "general.pageSize"}),
        )
        .await
        .expect_error(422, "unknown_field");
    let mapping = customer
        .get(&format!(
            "/v1/integrations/{integration}/settings/mappingMetadata"
        ))
        .await
        .expect(200);
    assert_eq!(
        mapping,
        json!({string(&import, "_id"): [{"requiredGenerateFields": ["externalId"],
                                        "nonEditableGenerateFields": ["externalId"]}]})
    );

    // Run the installed flow (the app installs it disabled; the customer turns it on, and the
    // flow keeps its tags whatever the PUT says).
    let mut enabled = flow.clone();
    enabled["disabled"] = json!(false);
    enabled
        .as_object_mut()
        .expect("a flow")
        .remove("_connectorId");
    let enabled = customer
        .put(&format!("/v1/flows/{flow_id}"), &enabled)
        .await
        .expect(200);
    assert_eq!(enabled["_connectorId"], json!(app));
    let mut runs = Vec::new();
    let job = run(&customer, &flow_id).await;
    runs.push(string(&job, "_id"));
    assert_eq!(job["status"], json!("completed"), "{job}");
    assert_eq!(job["numSuccess"], json!(2), "{job}");
    assert_eq!(records.posted(), [json!("r1"), json!("r2")]);

    // Push an update: the version goes up, updateInProgress goes round.
    let update = format!("/v1/connectors/{app}/update");
    publisher
        .put(&update, &json!({"_integrationIds": "all"}))
        .await
        .expect_invalid("invalid_type", "_integrationIds");
    customer
        .put(&update, &json!({"_integrationIds": [integration]}))
        .await
        .expect_error(404, "not_found");
    let outcomes = publisher
        .put(
            &update,
            &json!({"_integrationIds": [integration, MISSING_ID]}),
        )
        .await
        .expect(200);
    let outcomes = outcomes.as_array().expect("one outcome per install");
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0]["_integrationId"], json!(integration));
    assert_eq!(outcomes[0]["success"], json!(true), "{outcomes:?}");
    assert_eq!(outcomes[0]["version"], json!("1.1.0"));
    assert!(
        outcomes[0]["logs"]
            .to_string()
            .contains("updated from 1.0.0 to 1.1.0 (updateInProgress: true)"),
        "the update ran while the install was marked: {outcomes:?}"
    );
    assert_eq!(outcomes[1]["success"], json!(false));
    assert_eq!(outcomes[1]["errors"][0]["code"], json!("not_found"));
    let updated = customer
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(updated["version"], json!("1.1.0"));
    assert_eq!(updated["updateInProgress"], json!(false));
    let base = publisher
        .get(&format!("/v1/connectors/{app}/installBase"))
        .await
        .expect(200);
    assert_eq!(base[0]["version"], json!("1.1.0"));
    assert_eq!(base[0]["mode"], json!("settings"));
    assert_eq!(base[0]["name"], json!("My records"));

    // Change edition: the app's changeEditionFunction runs in the customer's account.
    let mut premium = publisher.get(&one_license).await.expect(200);
    premium["opts"]["edition"] = json!("premium");
    let premium = publisher.put(&one_license, &premium).await.expect(200);
    assert_eq!(premium["_integrationId"], json!(integration), "still held");
    assert_eq!(premium["user"]["_id"], json!(customer_id));
    let upgraded = customer
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(upgraded["edition"], json!("premium"));
    let mut moved = premium.clone();
    moved["user"] = json!({"email": "owner@localhost"});
    publisher
        .put(&one_license, &moved)
        .await
        .expect_invalid("invalid_value", "user.email");
    publisher
        .delete(&one_license)
        .await
        .expect_error(409, "license_in_use");

    // Expire the license: the flow stops with license_expired; renewed, it runs again.
    let mut expired = premium.clone();
    expired["expires"] = json!("2020-01-01T00:00:00.000Z");
    publisher.put(&one_license, &expired).await.expect(200);
    let job = run(&customer, &flow_id).await;
    runs.push(string(&job, "_id"));
    assert_eq!(job["status"], json!("failed"), "{job}");
    let errors = customer
        .get(&format!("/v1/jobs/{}/joberrors", string(&job, "_id")))
        .await
        .expect(200);
    assert!(
        errors.to_string().contains("license_expired"),
        "the job says why: {errors}"
    );
    assert_eq!(records.posted().len(), 2, "nothing ran");
    let mut renewed = expired.clone();
    renewed["expires"] = json!("2999-12-31T00:00:00.000Z");
    publisher.put(&one_license, &renewed).await.expect(200);
    let job = run(&customer, &flow_id).await;
    runs.push(string(&job, "_id"));
    assert_eq!(job["status"], json!("completed"), "{job}");
    assert_eq!(records.posted().len(), 4);

    // Uninstall: nothing tagged with the integration remains, the license is free again.
    let uninstalled = customer
        .post_empty(&format!("/v1/integrations/{integration}/uninstall"))
        .await
        .expect(200);
    assert_eq!(uninstalled["_integrationId"], json!(integration));
    assert_eq!(
        uninstalled["deleted"]["integrations"],
        json!([integration]),
        "{uninstalled}"
    );
    let deleted_jobs = uninstalled["deleted"]["jobs"]
        .as_array()
        .expect("jobs went too");
    for job in &runs {
        assert!(deleted_jobs.contains(&json!(job)), "{job}: {uninstalled}");
        customer
            .get(&format!("/v1/jobs/{job}"))
            .await
            .expect_error(404, "not_found");
    }
    for collection in [
        "connections",
        "exports",
        "imports",
        "flows",
        "integrations",
        "jobs",
    ] {
        assert!(
            tagged(&customer, collection, &integration).await.is_empty(),
            "{collection} of the integration remain"
        );
    }
    for path in [
        format!("/v1/integrations/{integration}"),
        format!("/v1/exports/{export_id}"),
        format!("/v1/flows/{flow_id}"),
        format!("/v1/connections/{}", string(&connection, "_id")),
        format!("/v1/imports/{}", string(&import, "_id")),
    ] {
        customer.get(&path).await.expect_error(404, "not_found");
    }
    customer
        .get(&format!("/v1/connections/{mine}"))
        .await
        .expect(200);
    let freed = publisher.get(&one_license).await.expect(200);
    assert!(freed.get("_integrationId").is_none(), "{freed}");
    assert_eq!(
        publisher
            .get(&format!("/v1/connectors/{app}/installBase"))
            .await
            .expect(200),
        json!([])
    );
    // With no install left, the publisher may retire the app.
    publisher
        .delete(&format!("/v1/connectors/{app}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn accounts_and_connector_code_reach_only_what_is_theirs() {
    let server = Server::start_unlimited();
    let publisher = server.api();
    let (_, customer_token) = server.new_account("customer@example.com").await;
    let customer = server.api_as(&customer_token);
    let (_, stranger_token) = server.new_account("stranger@example.com").await;
    let stranger = server.api_as(&stranger_token);
    let stack = connector_stack(&publisher).await;
    let a = connector(&publisher, &stack, "App A", json!({"published": true})).await;
    let b = connector(&publisher, &stack, "App B", json!({"published": true})).await;
    let private = connector(&publisher, &stack, "Private", json!({})).await;
    license(
        &publisher,
        &a,
        "customer@example.com",
        "https://a.example.com",
    )
    .await;
    license(
        &publisher,
        &b,
        "customer@example.com",
        "https://b.example.com",
    )
    .await;
    let publishers_own = publisher
        .create_id(
            "connections",
            json!({"type": "rest", "rest": {"baseURI": "https://publisher.example"}}),
        )
        .await;

    // Installing needs a license: 403 for a listed app, 404 for one the account cannot know.
    stranger
        .post_empty(&format!("/v1/connectors/{a}/install"))
        .await
        .expect_error(403, "not_licensed");
    stranger
        .post_empty(&format!("/v1/connectors/{private}/install"))
        .await
        .expect_error(404, "not_found");
    stranger
        .post_empty(&format!("/v1/connectors/{MISSING_ID}/install"))
        .await
        .expect_error(404, "not_found");
    customer
        .post(&format!("/v1/connectors/{a}/install"), &json!({"name": 3}))
        .await
        .expect_invalid("invalid_type", "name");
    let install_a = customer
        .post(
            &format!("/v1/connectors/{a}/install"),
            &json!({"name": "Records A"}),
        )
        .await
        .expect(201);
    assert_eq!(install_a["name"], json!("Records A"));
    let install_a = string(&install_a, "_id");
    let install_b = customer
        .post_empty(&format!("/v1/connectors/{b}/install"))
        .await
        .expect(201);
    let install_b = string(&install_b, "_id");
    // One license, one install.
    customer
        .post_empty(&format!("/v1/connectors/{a}/install"))
        .await
        .expect_error(409, "license_in_use");

    // The customer cannot forge what a connector manages.
    customer
        .post(
            "/v1/connections",
            &json!({"type": "rest", "rest": {"baseURI": "https://x.example"}, "_connectorId": a}),
        )
        .await
        .expect_invalid("invalid_reference", "_connectorId");

    // Connector A's code, in a step, reaching B's connection, the customer's own (DIY) one and
    // the publisher's: 404 to the code each time, so the step fails with not_found.
    let b_connection = string(&only(&customer, "connections", &install_b).await, "_id");
    let diy = customer
        .create_id(
            "connections",
            json!({"type": "rest", "rest": {"baseURI": "https://diy.example"}}),
        )
        .await;
    for foreign in [&b_connection, &diy, &publishers_own] {
        let problems = customer
            .post(
                &format!("/v1/integrations/{install_a}/install/0"),
                &json!({"_connectionId": foreign}),
            )
            .await
            .expect_error(422, "not_found");
        assert!(
            problems[0].message.contains(foreign.as_str()),
            "{problems:?}"
        );
    }
    customer
        .post(
            &format!("/v1/integrations/{install_a}/install/0"),
            &json!({"_connectionId": "nope"}),
        )
        .await
        .expect_invalid("invalid_reference", "_connectionId");
    customer
        .post_empty(&format!("/v1/integrations/{install_a}/install/0"))
        .await
        .expect(200);
    // B's documents are untouched by A's install and A's are A's.
    for doc in tagged(&customer, "exports", &install_a).await {
        assert_eq!(doc["_connectorId"], json!(a));
    }
    customer
        .get(&format!("/v1/connections/{b_connection}"))
        .await
        .expect(200);

    // The publisher sees the installs, never the customer's documents; others see nothing.
    let a_export = string(&only(&customer, "exports", &install_a).await, "_id");
    publisher
        .get(&format!("/v1/exports/{a_export}"))
        .await
        .expect_error(404, "not_found");
    publisher
        .post_empty(&format!("/v1/integrations/{install_a}/uninstall"))
        .await
        .expect_error(404, "not_found");
    stranger
        .get(&format!("/v1/integrations/{install_a}"))
        .await
        .expect_error(404, "not_found");
    for (method, path) in [
        (
            Method::POST,
            format!("/v1/integrations/{install_a}/uninstall"),
        ),
        (
            Method::POST,
            format!("/v1/integrations/{install_a}/install/1"),
        ),
        (
            Method::GET,
            format!("/v1/integrations/{install_a}/settings/form"),
        ),
        (
            Method::PUT,
            format!("/v1/integrations/{install_a}/settings"),
        ),
        (Method::GET, format!("/v1/connectors/{a}/installBase")),
        (Method::GET, format!("/v1/connectors/{a}/licenses")),
        (Method::PUT, format!("/v1/connectors/{a}/update")),
    ] {
        stranger
            .send(
                method.clone(),
                &path,
                Some(json_bytes(&json!({"pending": {}}))),
            )
            .await
            .expect_error(404, "not_found");
        if path.contains("/connectors/") {
            customer
                .send(method, &path, Some(json_bytes(&json!({}))))
                .await
                .expect_error(404, "not_found");
        }
    }
    let base = publisher
        .get(&format!("/v1/connectors/{a}/installBase"))
        .await
        .expect(200);
    assert_eq!(base.as_array().map(Vec::len), Some(1), "{base}");
    assert_eq!(base[0]["_integrationId"], json!(install_a));

    // Routes of an install answer 409 for an integration that is not one.
    let plain = customer
        .create_id("integrations", json!({"name": "Mine"}))
        .await;
    customer
        .post_empty(&format!("/v1/integrations/{plain}/uninstall"))
        .await
        .expect_error(409, "not_installed");

    // Uninstalling A leaves B's install and the customer's own documents alone.
    customer
        .post_empty(&format!("/v1/integrations/{install_a}/uninstall"))
        .await
        .expect(200);
    assert_eq!(tagged(&customer, "exports", &install_b).await.len(), 1);
    customer
        .get(&format!("/v1/connections/{diy}"))
        .await
        .expect(200);
    customer
        .get(&format!("/v1/integrations/{install_b}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_failed_install_leaves_nothing_and_a_failed_uninstall_resumes() {
    let server = Server::start_unlimited();
    let publisher = server.api();
    let (_, customer_token) = server.new_account("customer@example.com").await;
    let customer = server.api_as(&customer_token);
    let stack = connector_stack(&publisher).await;
    let app = connector(
        &publisher,
        &stack,
        "Example Records",
        json!({"published": true}),
    )
    .await;
    // A base URI the app's connection refuses: its installer fails after it began.
    let granted = license(&publisher, &app, "customer@example.com", "not a url").await;
    let one_license = format!("/v1/connectors/{app}/licenses/{}", string(&granted, "_id"));
    let reply = customer
        .post_empty(&format!("/v1/connectors/{app}/install"))
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(reply.text.contains("baseURI"), "{}", reply.text);
    for collection in ["integrations", "connections", "exports", "imports", "flows"] {
        assert_eq!(
            customer.list_ids(&format!("/v1/{collection}")).await,
            Vec::<String>::new(),
            "a failed install leaves no {collection}"
        );
    }
    let free = publisher.get(&one_license).await.expect(200);
    assert_eq!(free, granted, "the license is as it was before");
    assert_eq!(
        publisher
            .get(&format!("/v1/connectors/{app}/installBase"))
            .await
            .expect(200),
        json!([])
    );

    // The publisher fixes the license; the install goes through.
    let mut fixed = free.clone();
    fixed["opts"]["baseURI"] = json!("https://records.example.com");
    publisher.put(&one_license, &fixed).await.expect(200);
    let installed = customer
        .post_empty(&format!("/v1/connectors/{app}/install"))
        .await
        .expect(201);
    let integration = string(&installed, "_id");

    // An uninstaller that fails stops the uninstall in mode uninstall; once fixed, it resumes.
    let mut broken = publisher
        .get(&format!("/v1/connectors/{app}"))
        .await
        .expect(200);
    broken["uninstallerFunction"] = json!("missing");
    publisher
        .put(&format!("/v1/connectors/{app}"), &broken)
        .await
        .expect(200);
    customer
        .post_empty(&format!("/v1/integrations/{integration}/uninstall"))
        .await
        .expect_error(422, "function_not_found");
    let stopped = customer
        .get(&format!("/v1/integrations/{integration}"))
        .await
        .expect(200);
    assert_eq!(stopped["mode"], json!("uninstall"));
    assert!(
        tagged(&customer, "flows", &integration).await.is_empty(),
        "preUninstall ran"
    );
    assert_eq!(tagged(&customer, "exports", &integration).await.len(), 1);
    customer
        .put(
            &format!("/v1/integrations/{integration}/settings"),
            &json!({"pending": {"general.pageSize": 5}}),
        )
        .await
        .expect_error(409, "invalid_mode");
    broken["uninstallerFunction"] = json!("uninstall");
    publisher
        .put(&format!("/v1/connectors/{app}"), &broken)
        .await
        .expect(200);
    customer
        .post_empty(&format!("/v1/integrations/{integration}/uninstall"))
        .await
        .expect(200);
    for collection in ["integrations", "connections", "exports", "imports", "flows"] {
        assert_eq!(
            customer.list_ids(&format!("/v1/{collection}")).await,
            Vec::<String>::new(),
            "the uninstall left {collection}"
        );
    }
    assert!(
        publisher
            .get(&one_license)
            .await
            .expect(200)
            .get("_integrationId")
            .is_none()
    );
}
