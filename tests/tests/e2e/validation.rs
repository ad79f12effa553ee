//! Validation and integrity: every problem at once with its field, references that must exist,
//! deletes refused while something refers, and nothing half-written after a refusal.

use crate::harness::*;

const OTHER_MISSING_ID: &str = "fedcba9876543210fedcba98";

#[tokio::test]
async fn a_flow_with_two_missing_references_and_a_bad_schedule_gets_three_errors_each_naming_its_field()
 {
    let server = Server::start();
    let api = server.api();
    let import = api.create_id("imports", json!({"name": "I"})).await;
    let flow = json!({"name": "F",
        "pageGenerators": [{"_exportId": MISSING_ID}],
        "pageProcessors": [{"type": "import", "_importId": import}, {"type": "import", "_importId": OTHER_MISSING_ID}],
        "schedule": "every day"});
    let reply = api.post("/v1/flows", &flow).await;
    let mut problems: Vec<(String, String)> = reply
        .expect_error(422, "invalid_reference")
        .into_iter()
        .map(|p| (p.code, p.field.expect("every problem names its field")))
        .collect();
    problems.sort();
    assert_eq!(
        problems,
        vec![
            (
                "invalid_reference".to_owned(),
                "pageGenerators[0]._exportId".to_owned()
            ),
            (
                "invalid_reference".to_owned(),
                "pageProcessors[1]._importId".to_owned()
            ),
            ("invalid_value".to_owned(), "schedule".to_owned()),
        ]
    );
    assert_eq!(
        api.get("/v1/flows").await.expect(200),
        json!([]),
        "nothing was written"
    );
}

#[tokio::test]
async fn every_problem_of_a_connection_is_reported_at_once() {
    let server = Server::start();
    let reply = server
        .api()
        .post("/v1/connections", &json!({"name": 7, "type": "rest", "rest": {"mediaType": "yaml", "concurrencyLevel": "many"}}))
        .await;
    let mut fields: Vec<String> = reply
        .expect_error(422, "missing_field")
        .into_iter()
        .map(|p| p.field.expect("every problem names its field"))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "name",
            "rest.baseURI",
            "rest.concurrencyLevel",
            "rest.mediaType"
        ]
    );
}

#[tokio::test]
async fn an_unknown_connection_type_answers_422_listing_the_valid_types() {
    let server = Server::start();
    let api = server.api();
    let message = api
        .post("/v1/connections", &json!({"type": "soap", "soap": {}}))
        .await
        .expect_invalid("invalid_value", "type");
    for valid in ["rest", "http", "ftp", "s3", "netsuite", "wrapper"] {
        assert!(
            message.contains(valid),
            "the message lists `{valid}`: {message}"
        );
    }
    api.post("/v1/connections", &json!({"name": "no type"}))
        .await
        .expect_invalid("missing_field", "type");
    assert_eq!(api.get("/v1/connections").await.expect(200), json!([]));
}

#[tokio::test]
async fn a_field_of_the_wrong_type_answers_422_naming_the_field() {
    let server = Server::start();
    let api = server.api();
    let cases = [
        (
            "exports",
            json!({"name": "E", "pageSize": "20"}),
            "pageSize",
        ),
        ("exports", json!({"name": ["E"]}), "name"),
        ("flows", json!({"name": "F", "disabled": "yes"}), "disabled"),
        (
            "flows",
            json!({"name": "F", "pageGenerators": {"_exportId": MISSING_ID}}),
            "pageGenerators",
        ),
        (
            "connections",
            json!({"type": "rest", "rest": {"baseURI": 5}}),
            "rest.baseURI",
        ),
        (
            "connections",
            json!({"type": "ftp", "ftp": "ftp.example.com"}),
            "ftp",
        ),
        (
            "connections",
            json!({"type": "ftp", "ftp": {"hostURI": "h", "port": "21"}}),
            "ftp.port",
        ),
        (
            "integrations",
            json!({"name": "I", "settings": [1]}),
            "settings",
        ),
        (
            "imports",
            json!({"name": "I", "ignoreExisting": 1}),
            "ignoreExisting",
        ),
        (
            "connectors",
            json!({"name": "C", "applications": "shopify"}),
            "applications",
        ),
        (
            "templates",
            json!({"name": "T", "published": "no"}),
            "published",
        ),
        ("iclients", json!({"name": "C", "clientId": 42}), "clientId"),
    ];
    for (collection, body, field) in cases {
        let message = api
            .post(&format!("/v1/{collection}"), &body)
            .await
            .expect_invalid("invalid_type", field);
        assert!(
            message.contains(field),
            "the message names {field}: {message}"
        );
    }
    for collection in [
        "exports",
        "flows",
        "connections",
        "integrations",
        "imports",
        "connectors",
        "templates",
        "iclients",
    ] {
        assert_eq!(
            api.get(&format!("/v1/{collection}")).await.expect(200),
            json!([]),
            "{collection}"
        );
    }
}

#[tokio::test]
async fn missing_required_fields_answer_422_missing_field() {
    let server = Server::start();
    let api = server.api();
    let cases = [
        (
            "connections",
            json!({"type": "rest", "rest": {}}),
            "rest.baseURI",
        ),
        ("connections", json!({"type": "ftp"}), "ftp"),
        (
            "connections",
            json!({"type": "netsuite", "netsuite": {}}),
            "netsuite.account",
        ),
        (
            "connections",
            json!({"type": "wrapper", "wrapper": {}}),
            "wrapper._stackId",
        ),
        ("connectors", json!({"description": "no name"}), "name"),
        ("stacks", json!({"name": "no type"}), "type"),
        ("exports", json!({"type": "delta"}), "delta.dateField"),
        (
            "flows",
            json!({"pageProcessors": [{"_importId": MISSING_ID}]}),
            "pageProcessors[0].type",
        ),
    ];
    for (collection, body, field) in cases {
        api.post(&format!("/v1/{collection}"), &body)
            .await
            .expect_invalid("missing_field", field);
    }
}

#[tokio::test]
async fn stacks_must_be_of_type_wasm() {
    let server = Server::start();
    server
        .api()
        .post("/v1/stacks", &json!({"name": "s", "type": "lambda"}))
        .await
        .expect_invalid("invalid_value", "type");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_answers_422() {
    let server = Server::start();
    let api = server.api();
    api.post("/v1/exports", &json!([{"name": "E"}]))
        .await
        .expect_error(422, "invalid_type");
    api.post("/v1/exports", &json!("E"))
        .await
        .expect_error(422, "invalid_type");
    assert_eq!(api.get("/v1/exports").await.expect(200), json!([]));
}

#[tokio::test]
async fn references_to_missing_documents_answer_422_invalid_reference_naming_the_field() {
    let server = Server::start();
    let api = server.api();
    let cases = [
        (
            "exports",
            json!({"name": "E", "_connectionId": MISSING_ID}),
            "_connectionId",
        ),
        (
            "exports",
            json!({"name": "E", "hooks": {"preSavePage": {"_stackId": MISSING_ID, "function": "f"}}}),
            "hooks.preSavePage._stackId",
        ),
        (
            "imports",
            json!({"name": "I", "_connectionId": MISSING_ID}),
            "_connectionId",
        ),
        (
            "imports",
            json!({"name": "I", "hooks": {"postSubmit": {"_stackId": MISSING_ID, "function": "f"}}}),
            "hooks.postSubmit._stackId",
        ),
        (
            "flows",
            json!({"name": "F", "_integrationId": MISSING_ID}),
            "_integrationId",
        ),
        (
            "flows",
            json!({"name": "F", "_exportId": MISSING_ID}),
            "_exportId",
        ),
        (
            "flows",
            json!({"name": "F", "_importId": MISSING_ID}),
            "_importId",
        ),
        (
            "flows",
            json!({"name": "F", "pageGenerators": [{"_exportId": MISSING_ID}]}),
            "pageGenerators[0]._exportId",
        ),
        (
            "flows",
            json!({"name": "F", "pageProcessors": [{"type": "export", "_exportId": MISSING_ID}]}),
            "pageProcessors[0]._exportId",
        ),
        (
            "flows",
            json!({"name": "F", "_runNextFlowIds": [MISSING_ID]}),
            "_runNextFlowIds[0]",
        ),
        (
            "integrations",
            json!({"name": "I", "_connectorId": MISSING_ID}),
            "_connectorId",
        ),
        (
            "integrations",
            json!({"name": "I", "install": [{"name": "Connect", "_connectionId": MISSING_ID}]}),
            "install[0]._connectionId",
        ),
        (
            "connectors",
            json!({"name": "C", "_stackId": MISSING_ID}),
            "_stackId",
        ),
        (
            "connections",
            json!({"type": "wrapper", "wrapper": {"_stackId": MISSING_ID}}),
            "wrapper._stackId",
        ),
        (
            "connections",
            json!({"type": "netsuite", "netsuite": {"account": "A", "_iClientId": MISSING_ID}}),
            "netsuite._iClientId",
        ),
    ];
    for (collection, body, field) in cases {
        let message = api
            .post(&format!("/v1/{collection}"), &body)
            .await
            .expect_invalid("invalid_reference", field);
        assert!(
            message.contains(MISSING_ID),
            "the message names the missing id: {message}"
        );
    }
    // (A license's `_integrationId` is not a client's reference: the install sets it, see
    // `a_license_body_does_not_set_its_integration_an_install_does`.)
    for collection in ["exports", "imports", "flows", "integrations", "connections"] {
        assert_eq!(
            api.get(&format!("/v1/{collection}")).await.expect(200),
            json!([]),
            "{collection}"
        );
    }
}

#[tokio::test]
async fn a_malformed_reference_answers_422_invalid_reference() {
    let server = Server::start();
    server
        .api()
        .post(
            "/v1/exports",
            &json!({"name": "E", "_connectionId": "not-an-id"}),
        )
        .await
        .expect_invalid("invalid_reference", "_connectionId");
}

#[tokio::test]
async fn deleting_a_referenced_connection_answers_409_naming_the_export() {
    let server = Server::start();
    let api = server.api();
    let connection = api.rest_connection().await;
    let export = api
        .create_id("exports", json!({"name": "E", "_connectionId": connection}))
        .await;
    let problems = api
        .delete(&format!("/v1/connections/{connection}"))
        .await
        .expect_error(409, "referenced");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains(&export) && problems[0].message.contains("export"),
        "the message names the export: {}",
        problems[0].message
    );
    api.get(&format!("/v1/connections/{connection}"))
        .await
        .expect(200);

    api.delete(&format!("/v1/exports/{export}"))
        .await
        .expect(204);
    api.delete(&format!("/v1/connections/{connection}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn deleting_a_stack_used_in_three_places_names_every_referrer() {
    let server = Server::start();
    let api = server.api();
    let stack = api.create_id("stacks", json!({"type": "wasm"})).await;
    let connector = api
        .create_id("connectors", json!({"name": "C", "_stackId": stack}))
        .await;
    let connection = api
        .create_id(
            "connections",
            json!({"type": "wrapper", "wrapper": {"_stackId": stack}}),
        )
        .await;
    let export = api
        .create_id(
            "exports",
            json!({"name": "E", "hooks": {"preSavePage": {"_stackId": stack, "function": "f"}}}),
        )
        .await;
    let problems = api
        .delete(&format!("/v1/stacks/{stack}"))
        .await
        .expect_error(409, "referenced");
    assert_eq!(problems.len(), 3, "{problems:?}");
    for referrer in [&connector, &connection, &export] {
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains(referrer.as_str())),
            "{referrer} is named in {problems:?}"
        );
    }
}

#[tokio::test]
async fn deleting_an_export_or_integration_used_by_a_flow_answers_409_naming_the_flow() {
    let server = Server::start();
    let api = server.api();
    let export = api.create_id("exports", json!({"name": "E"})).await;
    let integration = api.create_id("integrations", json!({"name": "I"})).await;
    let flow = api
        .create_id("flows", json!({"name": "F", "_integrationId": integration, "pageGenerators": [{"_exportId": export}]}))
        .await;
    for target in [
        format!("/v1/exports/{export}"),
        format!("/v1/integrations/{integration}"),
    ] {
        let problems = api.delete(&target).await.expect_error(409, "referenced");
        assert!(problems[0].message.contains(&flow), "{problems:?}");
    }
    api.delete(&format!("/v1/flows/{flow}")).await.expect(204);
    api.delete(&format!("/v1/exports/{export}"))
        .await
        .expect(204);
    api.delete(&format!("/v1/integrations/{integration}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn a_replacement_that_drops_a_reference_releases_the_target() {
    let server = Server::start();
    let api = server.api();
    let first = api.rest_connection().await;
    let second = api
        .create_id(
            "connections",
            json!({"type": "rest", "rest": {"baseURI": "https://b.example.com"}}),
        )
        .await;
    let export = api
        .create_id("exports", json!({"name": "E", "_connectionId": first}))
        .await;
    api.put(
        &format!("/v1/exports/{export}"),
        &json!({"name": "E", "_connectionId": second}),
    )
    .await
    .expect(200);
    api.delete(&format!("/v1/connections/{first}"))
        .await
        .expect(204);
    api.delete(&format!("/v1/connections/{second}"))
        .await
        .expect_error(409, "referenced");
}

#[tokio::test]
async fn a_refused_replacement_leaves_the_document_unchanged() {
    let server = Server::start();
    let api = server.api();
    let export = api
        .create("exports", json!({"name": "E", "pageSize": 10}))
        .await;
    let one = format!("/v1/exports/{}", string(&export, "_id"));
    api.put(
        &one,
        &json!({"name": "E2", "pageSize": 0, "_connectionId": MISSING_ID}),
    )
    .await
    .expect_error(422, "invalid_reference");
    assert_eq!(
        api.get(&one).await.expect(200),
        export,
        "nothing half-written"
    );
    assert_eq!(api.get("/v1/exports").await.expect(200), json!([export]));
}

#[tokio::test]
async fn clients_may_not_send_sealed_secret_envelopes() {
    let server = Server::start();
    server
        .api()
        .post(
            "/v1/exports",
            &json!({"name": "E", "x": {"$secret": "forged"}}),
        )
        .await
        .expect_invalid("invalid_value", "x.$secret");
}

#[tokio::test]
async fn a_license_body_does_not_set_its_integration_an_install_does() {
    // `_integrationId` of a license is the install holding it (in the installing account): the
    // platform sets it on install and removes it on uninstall; a body's is ignored.
    let server = Server::start();
    let api = server.api();
    let connector = api.create_id("connectors", json!({"name": "App"})).await;
    let integration = api
        .create_id("integrations", json!({"name": "Not an install"}))
        .await;
    let license = api
        .post(
            &format!("/v1/connectors/{connector}/licenses"),
            &json!({"email": "owner@localhost", "_integrationId": integration,
                    "user": {"_id": integration, "name": "forged"}}),
        )
        .await
        .expect(201);
    assert!(license.get("_integrationId").is_none(), "{license}");
    assert_eq!(license["user"], json!({"email": "owner@localhost"}));
    api.delete(&format!("/v1/integrations/{integration}"))
        .await
        .expect(204);
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
