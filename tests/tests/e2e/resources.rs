//! CRUD and clone of every resource: ids, timestamps, open documents, PUT replaces, DELETE
//! removes, clone copies.

use crate::harness::*;

/// Every collection with plain CRUD.
pub const COLLECTIONS: &[&str] = &[
    "connections",
    "exports",
    "imports",
    "flows",
    "integrations",
    "connectors",
    "iclients",
    "templates",
    "stacks",
];

/// An unknown field, to show documents are open.
fn unknown_field() -> Value {
    json!({"nested": [1, "two", {"three": null}], "flag": true})
}

/// Create `body` in `collection`, read it, list it, replace it with `replacement`, delete it,
/// asserting what the API documents at each step. Returns nothing: the document is gone.
pub async fn round_trip(api: &Api, collection: &str, mut body: Value, mut replacement: Value) {
    body["x-custom"] = unknown_field();
    let created = api.create(collection, body.clone()).await;
    let id = string(&created, "_id");
    assert!(is_id(&id), "_id {id} is not 24 lowercase hex");
    let created_at = string(&created, "createdAt");
    assert!(
        is_timestamp(&created_at),
        "createdAt {created_at} is not ISO-8601 ms Z"
    );
    assert_eq!(
        created["lastModified"], created["createdAt"],
        "a new document was never modified"
    );
    for (field, value) in body.as_object().expect("bodies are objects") {
        assert_eq!(
            &created[field], value,
            "{collection}: field {field} changed on create: {created}"
        );
    }

    let one = format!("/v1/{collection}/{id}");
    assert_eq!(
        api.get(&one).await.expect(200),
        created,
        "GET returns what POST answered"
    );

    let list = api.get(&format!("/v1/{collection}")).await.expect(200);
    let listed: Vec<&Value> = list
        .as_array()
        .unwrap_or_else(|| panic!("GET /v1/{collection} must be an array: {list}"))
        .iter()
        .filter(|d| d["_id"] == json!(id))
        .collect();
    assert_eq!(
        listed,
        vec![&created],
        "the list shows the document once, as created"
    );

    // Server fields in a body are ignored; fields left out are gone (PUT replaces).
    replacement["_id"] = json!(MISSING_ID);
    replacement["createdAt"] = json!("1999-01-01T00:00:00.000Z");
    replacement["x-other"] = json!("kept");
    let replaced = api.put(&one, &replacement).await.expect(200);
    assert_eq!(replaced["_id"], json!(id), "PUT keeps the _id");
    assert_eq!(
        replaced["createdAt"], created["createdAt"],
        "PUT keeps createdAt"
    );
    let modified = string(&replaced, "lastModified");
    assert!(
        is_timestamp(&modified),
        "lastModified {modified} is not ISO-8601 ms Z"
    );
    assert!(
        modified >= created_at,
        "lastModified {modified} is before createdAt {created_at}"
    );
    assert!(
        replaced.get("x-custom").is_none(),
        "PUT replaces: fields left out are gone: {replaced}"
    );
    for (field, value) in replacement.as_object().expect("bodies are objects") {
        if !["_id", "createdAt"].contains(&field.as_str()) {
            assert_eq!(
                &replaced[field], value,
                "{collection}: field {field} on PUT: {replaced}"
            );
        }
    }
    assert_eq!(
        api.get(&one).await.expect(200),
        replaced,
        "GET returns what PUT answered"
    );

    let deleted = api.delete(&one).await;
    deleted.expect(204);
    assert!(deleted.text.is_empty(), "204 has no body: {}", deleted.text);
    api.get(&one).await.expect_error(404, "not_found");
    api.delete(&one).await.expect_error(404, "not_found");
    api.put(&one, &replacement)
        .await
        .expect_error(404, "not_found");
    assert!(
        !api.list_ids(&format!("/v1/{collection}"))
            .await
            .contains(&id),
        "a deleted document is not listed"
    );
}

#[tokio::test]
async fn every_list_is_an_empty_array_on_a_fresh_server() {
    let server = Server::start();
    let api = server.api();
    for collection in COLLECTIONS.iter().chain(&["jobs"]) {
        assert_eq!(
            api.get(&format!("/v1/{collection}")).await.expect(200),
            json!([]),
            "{collection}"
        );
    }
}

#[tokio::test]
async fn rest_connections_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "Shop", "type": "rest", "rest": {
        "baseURI": "https://shop.example.com/api", "mediaType": "json", "authType": "custom",
        "headers": [{"name": "X-Tenant", "value": "7"}], "pingRelativeURI": "/ping", "pingMethod": "GET",
        "concurrencyLevel": 3}});
    let replacement =
        json!({"name": "Shop v2", "type": "rest", "rest": {"baseURI": "https://v2.example.com"}});
    round_trip(&server.api(), "connections", body, replacement).await;
}

#[tokio::test]
async fn http_connections_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "Web", "type": "http", "http": {"baseURI": "http://web.example.com", "mediaType": "xml"}});
    let replacement = json!({"name": "Web", "type": "http", "http": {"baseURI": "https://web.example.com", "tokenLocation": "url", "tokenParam": "key"}});
    round_trip(&server.api(), "connections", body, replacement).await;
}

#[tokio::test]
async fn ftp_connections_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "Files", "type": "ftp", "ftp": {"hostURI": "ftp.example.com", "port": 21, "username": "me", "type": "ftp"}});
    let replacement = json!({"name": "Files", "type": "ftp", "ftp": {"hostURI": "sftp.example.com", "port": 22, "type": "sftp"}});
    round_trip(&server.api(), "connections", body, replacement).await;
}

#[tokio::test]
async fn s3_connections_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "Bucket", "type": "s3", "s3": {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1", "pingBucket": "b"}});
    let replacement = json!({"name": "Minio", "type": "s3", "s3": {"endpoint": "http://127.0.0.1:9000", "region": "us-east-1"}});
    round_trip(&server.api(), "connections", body, replacement).await;
}

#[tokio::test]
async fn netsuite_connections_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let iclient = api
        .create_id("iclients", json!({"name": "NS app", "clientId": "ck"}))
        .await;
    let body = json!({"name": "NS", "type": "netsuite", "netsuite": {"account": "TSTDRV123", "_iClientId": iclient}});
    let replacement = json!({"name": "NS", "type": "netsuite", "netsuite": {"account": "TSTDRV456", "baseURI": "https://tstdrv456.example.com"}});
    round_trip(&api, "connections", body, replacement).await;
}

#[tokio::test]
async fn wrapper_connections_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let stack = api
        .create_id("stacks", json!({"name": "code", "type": "wasm"}))
        .await;
    let other = api
        .create_id("stacks", json!({"name": "other", "type": "wasm"}))
        .await;
    let body = json!({"name": "Legacy", "type": "wrapper", "wrapper": {"_stackId": stack, "pingFunction": "ping", "unencrypted": {"region": "eu"}}});
    let replacement = json!({"name": "Legacy", "type": "wrapper", "wrapper": {"_stackId": other}});
    round_trip(&api, "connections", body, replacement).await;
}

#[tokio::test]
async fn exports_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let connection = api.rest_connection().await;
    let stack = api.create_id("stacks", json!({"type": "wasm"})).await;
    let body = json!({"name": "Orders", "_connectionId": connection, "type": "delta",
        "delta": {"dateField": "updated_at"}, "pageSize": 50,
        "rest": {"relativeURI": "/orders?since={{lastExportDateTime}}", "method": "GET"},
        "hooks": {"preSavePage": {"_stackId": stack, "function": "preSavePage", "configuration": {"k": 1}}},
        "transform": {"rules": []}, "filter": {"expression": ["equals", 1, 1]}});
    let replacement = json!({"name": "Orders (all)", "_connectionId": connection, "type": "once", "once": {"booleanField": "exported"}});
    round_trip(&api, "exports", body, replacement).await;
}

#[tokio::test]
async fn imports_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let connection = api
        .create_id(
            "connections",
            json!({"type": "ftp", "ftp": {"hostURI": "ftp.example.com"}}),
        )
        .await;
    let body = json!({"name": "Upload", "_connectionId": connection,
        "mapping": {"fields": [{"extract": "id", "generate": "ID", "dataType": "string"},
                               {"hardCodedValue": "x", "generate": "Kind", "default": "y"}],
                    "lists": [{"generate": "lines", "fields": [{"extract": "sku", "generate": "SKU"}]}]},
        "file": {"type": "csv", "skipAggregation": false, "fileName": "file-{{timestamp}}.csv"},
        "ftp": {"directoryPath": "/in"}, "ignoreExisting": true, "ignoreMissing": false});
    let replacement =
        json!({"name": "Upload", "_connectionId": connection, "file": {"type": "json"}});
    round_trip(&api, "imports", body, replacement).await;
}

#[tokio::test]
async fn simple_flows_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let export = api.create_id("exports", json!({"name": "E"})).await;
    let import = api.create_id("imports", json!({"name": "I"})).await;
    let integration = api.create_id("integrations", json!({"name": "Tile"})).await;
    let body = json!({"name": "Sync", "_exportId": export, "_importId": import, "_integrationId": integration,
        "schedule": "? 0 2 ? * *", "timezone": "Europe/Paris", "disabled": false, "skipRetries": true});
    let replacement =
        json!({"name": "Sync", "_exportId": export, "_importId": import, "disabled": true});
    round_trip(&api, "flows", body, replacement).await;
}

#[tokio::test]
async fn orchestrated_flows_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let export = api.create_id("exports", json!({"name": "E"})).await;
    let lookup = api.create_id("exports", json!({"name": "Lookup"})).await;
    let import = api.create_id("imports", json!({"name": "I"})).await;
    let stack = api.create_id("stacks", json!({"type": "wasm"})).await;
    let next = api.create_id("flows", json!({"name": "Next"})).await;
    let body = json!({"name": "Orchestrated",
        "pageGenerators": [{"_exportId": export}],
        "pageProcessors": [
            {"type": "export", "_exportId": lookup, "responseMapping": {"fields": [{"extract": "id", "generate": "lookupId"}]}},
            {"type": "import", "_importId": import, "proceedOnFailure": true,
             "hooks": {"postResponseMap": {"_stackId": stack, "function": "after"}}}],
        "_runNextFlowIds": [next]});
    let replacement = json!({"name": "Orchestrated", "pageGenerators": [{"_exportId": lookup}],
        "pageProcessors": [{"type": "import", "_importId": import}]});
    round_trip(&api, "flows", body, replacement).await;
}

#[tokio::test]
async fn integrations_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let connector = api.create_id("connectors", json!({"name": "App"})).await;
    let connection = api.rest_connection().await;
    let body = json!({"name": "Shop ↔ ERP", "_connectorId": connector, "mode": "settings", "version": "1.2.0",
        "settings": {"storeId": 7}, "updateInProgress": false,
        "install": [{"name": "Connect", "description": "d", "completed": true, "installerFunction": "step1",
                     "_connectionId": connection, "imageURL": "https://img.example.com/a.png"}]});
    let replacement = json!({"name": "Shop ↔ ERP", "mode": "install", "install": []});
    round_trip(&api, "integrations", body, replacement).await;
}

#[tokio::test]
async fn connectors_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let stack = api.create_id("stacks", json!({"type": "wasm"})).await;
    let body = json!({"name": "App", "description": "An app", "imageURL": "https://img.example.com/x.png",
        "websiteURL": "https://app.example.com", "contactEmail": "dev@example.com", "handle": "app",
        "published": true, "managed": true, "applications": ["shopify", "netsuite"], "_stackId": stack,
        "installerFunction": "install", "updateFunction": "update", "uninstallerFunction": "uninstall",
        "_iClientIdMap": {}});
    let replacement = json!({"name": "App 2", "published": false});
    round_trip(&api, "connectors", body, replacement).await;
}

#[tokio::test]
async fn iclients_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "OAuth app", "provider": "custom", "clientId": "client-1", "oauth2": {"scope": ["read"]}});
    let replacement = json!({"name": "OAuth app", "provider": "other", "clientId": "client-2"});
    round_trip(&server.api(), "iclients", body, replacement).await;
}

#[tokio::test]
async fn templates_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "Starter", "description": "d", "applications": ["a", "b"], "published": true});
    let replacement = json!({"name": "Starter 2", "published": false});
    round_trip(&server.api(), "templates", body, replacement).await;
}

#[tokio::test]
async fn wasm_stacks_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let body = json!({"name": "Extensions", "type": "wasm"});
    let replacement = json!({"name": "Extensions v2", "type": "wasm"});
    round_trip(&server.api(), "stacks", body, replacement).await;
}

#[tokio::test]
async fn ids_are_distinct_and_lists_show_every_document() {
    let server = Server::start();
    let api = server.api();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            api.create_id("templates", json!({"name": format!("t{n}")}))
                .await,
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are distinct: {ids:?}");
    // api.md documents no list order, so compare as sets.
    let mut listed = api.list_ids("/v1/templates").await;
    listed.sort();
    assert_eq!(listed, unique);
}

/// Clone `id` of `collection` and check the copy; returns the clone.
async fn check_clone(api: &Api, collection: &str, id: &str) -> Value {
    let original = api.get(&format!("/v1/{collection}/{id}")).await.expect(200);
    let clone = api
        .post_empty(&format!("/v1/{collection}/{id}/clone"))
        .await
        .expect(201);
    let clone_id = string(&clone, "_id");
    assert!(
        is_id(&clone_id) && clone_id != id,
        "the clone has a new _id: {clone}"
    );
    assert_eq!(
        clone["name"],
        json!(format!("Clone - {}", string(&original, "name")))
    );
    assert!(is_timestamp(&string(&clone, "createdAt")));
    let mut same = clone.clone();
    let mut expected = original.clone();
    for field in ["_id", "name", "createdAt", "lastModified"] {
        same.as_object_mut().expect("object").remove(field);
        expected.as_object_mut().expect("object").remove(field);
    }
    assert_eq!(same, expected, "the clone copies every other field");
    assert_eq!(
        api.get(&format!("/v1/{collection}/{id}")).await.expect(200),
        original,
        "the original is unchanged"
    );
    assert_eq!(
        api.get(&format!("/v1/{collection}/{clone_id}"))
            .await
            .expect(200),
        clone,
        "the clone is stored"
    );
    assert_eq!(api.list_ids(&format!("/v1/{collection}")).await.len(), 2);
    clone
}

#[tokio::test]
async fn cloning_an_export_creates_a_copy_named_clone_dash_name() {
    let server = Server::start();
    let api = server.api();
    let connection = api.rest_connection().await;
    let id = api
        .create_id("exports", json!({"name": "Orders", "_connectionId": connection, "pageSize": 5, "x-custom": unknown_field()}))
        .await;
    check_clone(&api, "exports", &id).await;
    // The clone refers to the connection too: deleting it names both exports.
    let problems = api
        .delete(&format!("/v1/connections/{connection}"))
        .await
        .expect_error(409, "referenced");
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[tokio::test]
async fn cloning_an_import_creates_a_copy_named_clone_dash_name() {
    let server = Server::start();
    let api = server.api();
    let id = api
        .create_id(
            "imports",
            json!({"name": "Upload", "mapping": {"fields": [{"extract": "a", "generate": "b"}]}}),
        )
        .await;
    check_clone(&api, "imports", &id).await;
}

#[tokio::test]
async fn cloning_a_flow_creates_a_copy_that_also_holds_its_references() {
    let server = Server::start();
    let api = server.api();
    let export = api.create_id("exports", json!({"name": "E"})).await;
    let import = api.create_id("imports", json!({"name": "I"})).await;
    let id = api
        .create_id("flows", json!({"name": "Sync", "_exportId": export, "_importId": import, "schedule": "0 */5 * * * ?"}))
        .await;
    let clone = check_clone(&api, "flows", &id).await;
    api.delete(&format!("/v1/flows/{id}")).await.expect(204);
    let problems = api
        .delete(&format!("/v1/exports/{export}"))
        .await
        .expect_error(409, "referenced");
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains(&string(&clone, "_id"))),
        "the export is still used by the clone: {problems:?}"
    );
}

#[tokio::test]
async fn cloning_an_integration_creates_a_copy_named_clone_dash_name() {
    let server = Server::start();
    let api = server.api();
    let id = api
        .create_id(
            "integrations",
            json!({"name": "Tile", "settings": {"a": [1, 2]}, "version": "2.0.0"}),
        )
        .await;
    check_clone(&api, "integrations", &id).await;
}

#[tokio::test]
async fn cloning_a_missing_document_answers_404() {
    let server = Server::start();
    let api = server.api();
    for collection in ["exports", "imports", "flows", "integrations"] {
        api.post_empty(&format!("/v1/{collection}/{MISSING_ID}/clone"))
            .await
            .expect_error(404, "not_found");
    }
}

#[tokio::test]
async fn licenses_of_a_connector_are_created_read_listed_replaced_and_deleted() {
    let server = Server::start();
    let api = server.api();
    let (_, _) = server.new_account("customer@example.com").await;
    let connector = api.create_id("connectors", json!({"name": "App"})).await;
    let other_connector = api.create_id("connectors", json!({"name": "Other"})).await;
    let licenses = format!("/v1/connectors/{connector}/licenses");
    assert_eq!(api.get(&licenses).await.expect(200), json!([]));

    let license = api
        .post(
            &licenses,
            &json!({"email": "customer@example.com", "expires": "2027-01-31T00:00:00.000Z",
            "opts": {"edition": "premium"}, "x-custom": "kept"}),
        )
        .await
        .expect(201);
    let id = string(&license, "_id");
    assert!(is_id(&id));
    assert_eq!(license["user"]["email"], json!("customer@example.com"));
    assert_eq!(license["expires"], json!("2027-01-31T00:00:00.000Z"));
    assert_eq!(license["opts"], json!({"edition": "premium"}));
    assert_eq!(license["x-custom"], json!("kept"));
    assert_eq!(license["_connectorId"], json!(connector));
    assert!(is_timestamp(&string(&license, "createdAt")));

    let one = format!("{licenses}/{id}");
    assert_eq!(api.get(&one).await.expect(200), license);
    assert_eq!(api.get(&licenses).await.expect(200), json!([license]));
    // A license belongs to its connector only.
    api.get(&format!("/v1/connectors/{other_connector}/licenses/{id}"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        api.get(&format!("/v1/connectors/{other_connector}/licenses"))
            .await
            .expect(200),
        json!([])
    );

    let replaced = api
        .put(
            &one,
            &json!({"user": {"email": "owner@localhost"}, "expires": "2028-01-31T00:00:00.000Z"}),
        )
        .await
        .expect(200);
    assert_eq!(replaced["_id"], json!(id));
    assert_eq!(replaced["user"]["email"], json!("owner@localhost"));
    assert_eq!(replaced["createdAt"], license["createdAt"]);
    assert!(replaced.get("opts").is_none(), "PUT replaces: {replaced}");
    assert_eq!(api.get(&one).await.expect(200), replaced);

    api.delete(&one).await.expect(204);
    api.get(&one).await.expect_error(404, "not_found");
    api.delete(&one).await.expect_error(404, "not_found");
    assert_eq!(api.get(&licenses).await.expect(200), json!([]));
}

#[tokio::test]
async fn a_license_for_an_email_of_no_account_answers_422_invalid_user() {
    let server = Server::start();
    let api = server.api();
    let connector = api.create_id("connectors", json!({"name": "App"})).await;
    let licenses = format!("/v1/connectors/{connector}/licenses");
    api.post(&licenses, &json!({"email": "nobody@example.com"}))
        .await
        .expect_invalid("invalid_user", "email");
    api.post(&licenses, &json!({"expires": "2027-01-31T00:00:00.000Z"}))
        .await
        .expect_invalid("missing_field", "email");
    assert_eq!(
        api.get(&licenses).await.expect(200),
        json!([]),
        "nothing was written"
    );
    api.get(&format!("/v1/connectors/{MISSING_ID}/licenses"))
        .await
        .expect_error(404, "not_found");
    api.post(
        &format!("/v1/connectors/{MISSING_ID}/licenses"),
        &json!({"email": "owner@localhost"}),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn deleting_a_connector_takes_its_licenses_with_it() {
    let server = Server::start();
    let api = server.api();
    let connector = api.create_id("connectors", json!({"name": "App"})).await;
    let license = api
        .post(
            &format!("/v1/connectors/{connector}/licenses"),
            &json!({"email": "owner@localhost"}),
        )
        .await
        .expect(201);
    api.delete(&format!("/v1/connectors/{connector}"))
        .await
        .expect(204);
    api.get(&format!(
        "/v1/connectors/{connector}/licenses/{}",
        string(&license, "_id")
    ))
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn the_install_base_of_a_connector_lists_the_integrations_that_installed_it() {
    let server = Server::start();
    let api = server.api();
    let connector = api.create_id("connectors", json!({"name": "App"})).await;
    let unrelated = api.create_id("connectors", json!({"name": "Other"})).await;
    let base = format!("/v1/connectors/{connector}/installBase");
    assert_eq!(api.get(&base).await.expect(200), json!([]));
    let integration = api
        .create_id(
            "integrations",
            json!({"name": "Installed", "_connectorId": connector, "version": "1.0.0", "mode": "settings"}),
        )
        .await;
    let installs = api.get(&base).await.expect(200);
    assert_eq!(
        installs,
        json!([{"_integrationId": integration, "email": "owner@localhost", "name": "Installed",
                "version": "1.0.0", "mode": "settings", "updateInProgress": false}])
    );
    assert_eq!(
        api.get(&format!("/v1/connectors/{unrelated}/installBase"))
            .await
            .expect(200),
        json!([])
    );
    api.get(&format!("/v1/connectors/{MISSING_ID}/installBase"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn concurrent_creates_each_get_their_own_document() {
    let server = Server::start_unlimited();
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..20 {
        let api = server.api();
        requests.spawn(async move {
            api.create_id("exports", json!({"name": format!("e{n}")}))
                .await
        });
    }
    let mut ids = requests.join_all().await;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let mut listed = server.api().list_ids("/v1/exports").await;
    listed.sort();
    assert_eq!(listed, ids);
}
