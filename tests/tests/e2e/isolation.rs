//! Isolation between accounts: account B sees nothing of account A, on every route and method,
//! and cannot refer to A's resources.

use crate::harness::*;
use crate::jobs::{job, job_error, seed};

/// A's resources: (collection, id) of one of each kind.
async fn populate(api: &Api) -> Vec<(&'static str, String)> {
    let stack = api
        .create_id("stacks", json!({"name": "A code", "type": "wasm"}))
        .await;
    let iclient = api
        .create_id(
            "iclients",
            json!({"name": "A app", "clientSecret": "a-secret"}),
        )
        .await;
    let connection = api
        .create_id("connections", json!({"name": "A conn", "type": "rest", "rest": {"baseURI": "https://a.example.com", "bearerToken": "t"}}))
        .await;
    let wrapper = api
        .create_id(
            "connections",
            json!({"name": "A wrapper", "type": "wrapper", "wrapper": {"_stackId": stack}}),
        )
        .await;
    let export = api
        .create_id(
            "exports",
            json!({"name": "A export", "_connectionId": connection}),
        )
        .await;
    let import = api
        .create_id(
            "imports",
            json!({"name": "A import", "_connectionId": connection}),
        )
        .await;
    let integration = api
        .create_id("integrations", json!({"name": "A tile"}))
        .await;
    let flow = api
        .create_id("flows", json!({"name": "A flow", "_exportId": export, "_importId": import, "_integrationId": integration}))
        .await;
    let connector = api
        .create_id("connectors", json!({"name": "A app", "_stackId": stack}))
        .await;
    let template = api
        .create_id("templates", json!({"name": "A template"}))
        .await;
    vec![
        ("stacks", stack),
        ("iclients", iclient),
        ("connections", connection),
        ("connections", wrapper),
        ("exports", export),
        ("imports", import),
        ("integrations", integration),
        ("flows", flow),
        ("connectors", connector),
        ("templates", template),
    ]
}

#[tokio::test]
async fn another_account_gets_404_for_every_id_of_the_first_on_every_route() {
    let mut server = Server::start_unlimited();
    let a = server.api();
    let owned = populate(&a).await;
    let connector = owned
        .iter()
        .find(|(c, _)| *c == "connectors")
        .expect("a connector")
        .1
        .clone();
    let license = a
        .post(
            &format!("/v1/connectors/{connector}/licenses"),
            &json!({"email": "owner@localhost"}),
        )
        .await
        .expect(201);
    let license = string(&license, "_id");
    for (collection, id) in &owned {
        a.put(&format!("/v1/{collection}/{id}/state/k"), &json!({"a": 1}))
            .await
            .expect(201);
    }

    let account = server.owner_id().await;
    let running = job(
        "flow",
        "running",
        "2026-01-01T00:00:00.000Z",
        [0, 0, 0, 0],
        true,
    );
    let job_id = string(&running, "_id");
    server.offline(|db| {
        seed(db, &account, "jobs", &running);
        seed(
            db,
            &account,
            &format!("joberrors:{job_id}"),
            &job_error(&job_id, false, true),
        );
    });
    let a = server.api();
    let before: Vec<Value> = {
        let mut docs = Vec::new();
        for (collection, id) in &owned {
            docs.push(a.get(&format!("/v1/{collection}/{id}")).await.expect(200));
        }
        docs
    };

    let (_, b_token) = server.new_account("b@example.com").await;
    let b = server.api_as(&b_token);
    for (collection, id) in &owned {
        let one = format!("/v1/{collection}/{id}");
        b.get(&one).await.expect_error(404, "not_found");
        b.put(&one, &json!({"name": "taken", "type": "wasm"}))
            .await
            .expect_error(404, "not_found");
        b.delete(&one).await.expect_error(404, "not_found");
        b.post_empty(&format!("{one}/clone"))
            .await
            .expect_error(404, "not_found");
        b.get(&format!("{one}/state"))
            .await
            .expect_error(404, "not_found");
        b.delete(&format!("{one}/state"))
            .await
            .expect_error(404, "not_found");
        b.get(&format!("{one}/state/k"))
            .await
            .expect_error(404, "not_found");
        b.put(&format!("{one}/state/k"), &json!(2))
            .await
            .expect_error(404, "not_found");
        b.delete(&format!("{one}/state/k"))
            .await
            .expect_error(404, "not_found");
    }
    let connection = &owned
        .iter()
        .find(|(c, _)| *c == "connections")
        .expect("a connection")
        .1;
    let export = &owned
        .iter()
        .find(|(c, _)| *c == "exports")
        .expect("an export")
        .1;
    let import = &owned
        .iter()
        .find(|(c, _)| *c == "imports")
        .expect("an import")
        .1;
    let flow = &owned.iter().find(|(c, _)| *c == "flows").expect("a flow").1;
    let licenses = format!("/v1/connectors/{connector}/licenses");
    let elsewhere = [
        (Method::GET, licenses.clone()),
        (Method::POST, licenses.clone()),
        (Method::GET, format!("{licenses}/{license}")),
        (Method::PUT, format!("{licenses}/{license}")),
        (Method::DELETE, format!("{licenses}/{license}")),
        (
            Method::GET,
            format!("/v1/connectors/{connector}/installBase"),
        ),
        (Method::PUT, format!("/v1/connectors/{connector}/update")),
        (Method::GET, format!("/v1/jobs/{job_id}")),
        (Method::GET, format!("/v1/jobs/{job_id}/joberrors")),
        (Method::PUT, format!("/v1/jobs/{job_id}/cancel")),
        (Method::POST, format!("/v1/jobs/{job_id}/retry")),
        (Method::POST, format!("/v1/flows/{flow}/run")),
        (Method::POST, format!("/v1/exports/{export}/invoke")),
        (Method::POST, format!("/v1/imports/{import}/invoke")),
        (Method::GET, format!("/v1/connections/{connection}/ping")),
        (Method::GET, format!("/v1/connections/{connection}/debug")),
        (Method::POST, format!("/v1/connections/{connection}/export")),
        (
            Method::POST,
            format!("/v1/connections/{connection}/export/pages"),
        ),
        (Method::POST, format!("/v1/connections/{connection}/import")),
        (
            Method::POST,
            format!("/v1/connections/{connection}/import/map"),
        ),
        (Method::POST, format!("/v1/connections/{connection}/proxy")),
    ];
    for (method, path) in elsewhere {
        b.send(
            method,
            &path,
            Some(json_bytes(&json!({"email": "b@example.com"}))),
        )
        .await
        .expect_error(404, "not_found");
    }

    // A's documents, state, job and license are untouched.
    for ((collection, id), doc) in owned.iter().zip(&before) {
        assert_eq!(
            &a.get(&format!("/v1/{collection}/{id}")).await.expect(200),
            doc
        );
        assert_eq!(
            a.get(&format!("/v1/{collection}/{id}/state/k"))
                .await
                .expect(200),
            json!({"a": 1})
        );
    }
    assert_eq!(
        a.get(&format!("/v1/jobs/{job_id}")).await.expect(200)["status"],
        json!("running")
    );
    a.get(&format!("{licenses}/{license}")).await.expect(200);
}

#[tokio::test]
async fn another_account_lists_none_of_the_first_accounts_documents() {
    let mut server = Server::start_unlimited();
    let a = server.api();
    populate(&a).await;
    a.put("/v1/state/a-key", &json!("a")).await.expect(201);
    let account = server.owner_id().await;
    server.offline(|db| {
        seed(
            db,
            &account,
            "jobs",
            &job(
                "flow",
                "completed",
                "2026-01-01T00:00:00.000Z",
                [1, 1, 0, 0],
                false,
            ),
        )
    });

    let (_, b_token) = server.new_account("b@example.com").await;
    let b = server.api_as(&b_token);
    for collection in crate::resources::COLLECTIONS.iter().chain(&["jobs"]) {
        assert_eq!(
            b.get(&format!("/v1/{collection}")).await.expect(200),
            json!([]),
            "{collection}"
        );
    }
    assert_eq!(b.get("/v1/state").await.expect(200), json!({"keys": []}));
    b.get("/v1/state/a-key")
        .await
        .expect_error(404, "not_found");

    // B's own documents and state do not show up for A either.
    b.create("templates", json!({"name": "B template"})).await;
    b.put("/v1/state/b-key", &json!("b")).await.expect(201);
    b.delete("/v1/state").await.expect(204);
    let a = server.api();
    assert_eq!(a.list_ids("/v1/templates").await.len(), 1);
    assert_eq!(
        a.get("/v1/state").await.expect(200),
        json!({"keys": ["a-key"]}),
        "B's clear leaves A's state"
    );
}

#[tokio::test]
async fn another_account_cannot_refer_to_the_first_accounts_resources() {
    let server = Server::start();
    let a = server.api();
    let owned = populate(&a).await;
    let id_of = |collection: &str| {
        owned
            .iter()
            .find(|(c, _)| *c == collection)
            .expect("populated")
            .1
            .clone()
    };
    let (_, b_token) = server.new_account("b@example.com").await;
    let b = server.api_as(&b_token);
    let cases = [
        (
            "exports",
            json!({"name": "B", "_connectionId": id_of("connections")}),
            "_connectionId",
        ),
        (
            "flows",
            json!({"name": "B", "_exportId": id_of("exports")}),
            "_exportId",
        ),
        (
            "flows",
            json!({"name": "B", "_integrationId": id_of("integrations")}),
            "_integrationId",
        ),
        (
            "connectors",
            json!({"name": "B", "_stackId": id_of("stacks")}),
            "_stackId",
        ),
        (
            "integrations",
            json!({"name": "B", "_connectorId": id_of("connectors")}),
            "_connectorId",
        ),
        (
            "connections",
            json!({"type": "wrapper", "wrapper": {"_stackId": id_of("stacks")}}),
            "wrapper._stackId",
        ),
    ];
    for (collection, body, field) in cases {
        b.post(&format!("/v1/{collection}"), &body)
            .await
            .expect_invalid("invalid_reference", field);
    }
    assert_eq!(b.get("/v1/exports").await.expect(200), json!([]));
    // Nor does B's refused write count as a reference: A can still delete freely.
    let export = id_of("exports");
    let import = id_of("imports");
    let flow = id_of("flows");
    a.delete(&format!("/v1/flows/{flow}")).await.expect(204);
    a.delete(&format!("/v1/exports/{export}")).await.expect(204);
    a.delete(&format!("/v1/imports/{import}")).await.expect(204);
}
