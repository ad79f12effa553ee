//! The state API: arbitrary JSON under a key, globally and per resource, with the documented
//! status codes and `{"keys":[...]}` shapes.

use crate::harness::*;

#[tokio::test]
async fn global_state_stores_exact_json_under_keys() {
    let server = Server::start();
    let api = server.api();
    assert_eq!(api.get("/v1/state").await.expect(200), json!({"keys": []}));

    let value = json!({"cursor": "2026-01-01T00:00:00.000Z", "pages": [1, 2.5, -3], "deep": {"null": null, "t": true, "s": "é ✓"}});
    assert_eq!(
        api.put("/v1/state/cursor", &value).await.expect(201),
        value,
        "new key: 201 with the value"
    );
    assert_eq!(api.get("/v1/state/cursor").await.expect(200), value);
    let changed = json!({"cursor": "2026-02-01T00:00:00.000Z"});
    assert_eq!(
        api.put("/v1/state/cursor", &changed).await.expect(200),
        changed,
        "existing key: 200"
    );
    assert_eq!(
        api.get("/v1/state/cursor").await.expect(200),
        changed,
        "PUT replaces the value"
    );

    for (key, scalar) in [
        ("a-string", json!("text")),
        ("a-number", json!(42)),
        ("an-array", json!([1, "x"])),
        ("false", json!(false)),
    ] {
        api.put(&format!("/v1/state/{key}"), &scalar)
            .await
            .expect(201);
        assert_eq!(
            api.get(&format!("/v1/state/{key}")).await.expect(200),
            scalar,
            "{key}"
        );
    }
    let mut keys: Vec<String> =
        serde_json::from_value(api.get("/v1/state").await.expect(200)["keys"].clone())
            .expect("keys are strings");
    keys.sort();
    assert_eq!(
        keys,
        ["a-number", "a-string", "an-array", "cursor", "false"]
    );

    let deleted = api.delete("/v1/state/cursor").await;
    deleted.expect(204);
    assert!(deleted.text.is_empty());
    api.get("/v1/state/cursor")
        .await
        .expect_error(404, "not_found");
    api.delete("/v1/state/cursor")
        .await
        .expect_error(404, "not_found");
    api.get("/v1/state/never-set")
        .await
        .expect_error(404, "not_found");

    api.delete("/v1/state").await.expect(204);
    assert_eq!(
        api.get("/v1/state").await.expect(200),
        json!({"keys": []}),
        "DELETE /v1/state clears every key"
    );
    api.get("/v1/state/a-string")
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn state_values_must_be_json() {
    let server = Server::start();
    let api = server.api();
    api.send(
        Method::PUT,
        "/v1/state/k",
        Some(("text/plain", b"hello".to_vec())),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    api.send(
        Method::PUT,
        "/v1/state/k",
        Some(("application/json", b"{oops".to_vec())),
    )
    .await
    .expect_error(400, "invalid_json");
    api.get("/v1/state/k").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn export_state_has_its_own_keys_and_documented_codes() {
    let server = Server::start();
    let api = server.api();
    let export = api.create_id("exports", json!({"name": "E"})).await;
    let other = api.create_id("exports", json!({"name": "Other"})).await;
    let base = format!("/v1/exports/{export}/state");
    assert_eq!(api.get(&base).await.expect(200), json!({"keys": []}));

    let value = json!({"lastExportDateTime": "2026-01-01T00:00:00.000Z", "ids": [1, 2]});
    assert_eq!(
        api.put(&format!("{base}/delta"), &value).await.expect(201),
        value
    );
    assert_eq!(
        api.put(&format!("{base}/delta"), &value).await.expect(200),
        value
    );
    api.put(&format!("{base}/page"), &json!(3))
        .await
        .expect(201);
    assert_eq!(api.get(&format!("{base}/delta")).await.expect(200), value);
    assert_eq!(
        api.get(&base).await.expect(200),
        json!({"keys": ["delta", "page"]})
    );

    // Scopes do not mix: not global, not another export's.
    assert_eq!(api.get("/v1/state").await.expect(200), json!({"keys": []}));
    api.get("/v1/state/delta")
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        api.get(&format!("/v1/exports/{other}/state"))
            .await
            .expect(200),
        json!({"keys": []})
    );
    api.get(&format!("/v1/exports/{other}/state/delta"))
        .await
        .expect_error(404, "not_found");

    api.delete(&format!("{base}/delta")).await.expect(200);
    api.get(&format!("{base}/delta"))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("{base}/delta"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(api.get(&base).await.expect(200), json!({"keys": ["page"]}));
    api.delete(&base).await.expect(200);
    assert_eq!(api.get(&base).await.expect(200), json!({"keys": []}));
}

#[tokio::test]
async fn every_resource_type_has_state() {
    let server = Server::start_unlimited();
    let api = server.api();
    let stack = api.create_id("stacks", json!({"type": "wasm"})).await;
    let documents = [
        ("stacks", stack.clone()),
        (
            "connections",
            api.create_id("connections", json!({"type": "s3", "s3": {}}))
                .await,
        ),
        (
            "exports",
            api.create_id("exports", json!({"name": "E"})).await,
        ),
        (
            "imports",
            api.create_id("imports", json!({"name": "I"})).await,
        ),
        ("flows", api.create_id("flows", json!({"name": "F"})).await),
        (
            "integrations",
            api.create_id("integrations", json!({"name": "I"})).await,
        ),
        (
            "connectors",
            api.create_id("connectors", json!({"name": "C"})).await,
        ),
        (
            "iclients",
            api.create_id("iclients", json!({"name": "C"})).await,
        ),
        (
            "templates",
            api.create_id("templates", json!({"name": "T"})).await,
        ),
    ];
    for (collection, id) in &documents {
        let base = format!("/v1/{collection}/{id}/state");
        api.put(&format!("{base}/k"), &json!({"of": collection}))
            .await
            .expect(201);
        assert_eq!(
            api.get(&format!("{base}/k")).await.expect(200),
            json!({"of": collection})
        );
        assert_eq!(api.get(&base).await.expect(200), json!({"keys": ["k"]}));
        let missing = format!("/v1/{collection}/{MISSING_ID}/state");
        api.get(&missing).await.expect_error(404, "not_found");
        api.put(&format!("{missing}/k"), &json!(1))
            .await
            .expect_error(404, "not_found");
        api.get(&format!("{missing}/k"))
            .await
            .expect_error(404, "not_found");
        api.delete(&format!("{missing}/k"))
            .await
            .expect_error(404, "not_found");
        api.delete(&missing).await.expect_error(404, "not_found");
    }
    // An id of another type is no resource of this type.
    api.get(&format!("/v1/exports/{stack}/state"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn the_state_of_a_deleted_resource_is_gone() {
    let mut server = Server::start();
    let api = server.api();
    let export = api.create_id("exports", json!({"name": "E"})).await;
    let kept = api.create_id("exports", json!({"name": "Kept"})).await;
    api.put(&format!("/v1/exports/{export}/state/cursor"), &json!(1))
        .await
        .expect(201);
    api.put(&format!("/v1/exports/{kept}/state/cursor"), &json!(2))
        .await
        .expect(201);
    api.delete(&format!("/v1/exports/{export}"))
        .await
        .expect(204);
    api.get(&format!("/v1/exports/{export}/state"))
        .await
        .expect_error(404, "not_found");
    api.get(&format!("/v1/exports/{export}/state/cursor"))
        .await
        .expect_error(404, "not_found");

    let account = server.owner_id().await;
    let (gone, still) = server.offline(|db| {
        (
            db.state_keys(&account, &format!("exports:{export}"))
                .expect("state keys"),
            db.state_keys(&account, &format!("exports:{kept}"))
                .expect("state keys"),
        )
    });
    assert!(
        gone.is_empty(),
        "the deleted export's state is removed from the store: {gone:?}"
    );
    assert_eq!(still, ["cursor"]);
    assert_eq!(
        server
            .api()
            .get(&format!("/v1/exports/{kept}/state/cursor"))
            .await
            .expect(200),
        json!(2)
    );
}

#[tokio::test]
async fn state_keys_may_hold_any_character_when_percent_encoded() {
    let server = Server::start();
    let api = server.api();
    for (encoded, key) in [
        ("a%20b", "a b"),
        ("a%2Fb", "a/b"),
        ("%D0%BA%D0%BB%D1%8E%D1%87", "ключ"),
    ] {
        api.put(&format!("/v1/state/{encoded}"), &json!(key))
            .await
            .expect(201);
        assert_eq!(
            api.get(&format!("/v1/state/{encoded}")).await.expect(200),
            json!(key)
        );
    }
    let mut keys: Vec<String> =
        serde_json::from_value(api.get("/v1/state").await.expect(200)["keys"].clone())
            .expect("keys");
    keys.sort();
    assert_eq!(keys, ["a b", "a/b", "ключ"]);
    api.delete("/v1/state/a%2Fb").await.expect(204);
    api.get("/v1/state/a%2Fb")
        .await
        .expect_error(404, "not_found");
    assert_eq!(api.get("/v1/state/a%20b").await.expect(200), json!("a b"));
}
