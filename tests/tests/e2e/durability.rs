//! Durability and the server's life: an acknowledged write survives SIGKILL, SIGTERM exits
//! cleanly, a restart prints no new token, configuration comes from flags or the environment.

use crate::harness::*;

#[tokio::test]
async fn everything_acknowledged_survives_a_sigkill_and_the_tokens_still_work() {
    let mut server = Server::start_unlimited();
    let api = server.api();
    let stack = api
        .create("stacks", json!({"name": "code", "type": "wasm"}))
        .await;
    let stack_id = string(&stack, "_id");
    let connection = api
        .create("connections", json!({"name": "C", "type": "rest", "rest": {"baseURI": "https://a.example.com", "bearerToken": "survives-the-crash"}}))
        .await;
    let connection_id = string(&connection, "_id");
    let export = api
        .create(
            "exports",
            json!({"name": "E", "_connectionId": connection_id, "x-custom": [1, 2]}),
        )
        .await;
    let export_id = string(&export, "_id");
    let import = api.create("imports", json!({"name": "I"})).await;
    let flow = api
        .create(
            "flows",
            json!({"name": "F", "_exportId": export_id, "_importId": string(&import, "_id")}),
        )
        .await;
    let connector = api
        .create("connectors", json!({"name": "App", "_stackId": stack_id}))
        .await;
    let license = api
        .post(
            &format!("/v1/connectors/{}/licenses", string(&connector, "_id")),
            &json!({"email": "owner@localhost"}),
        )
        .await
        .expect(201);
    let replaced = api
        .put(
            &format!("/v1/exports/{export_id}"),
            &json!({"name": "E2", "_connectionId": connection_id}),
        )
        .await
        .expect(200);
    let doomed = api.create_id("templates", json!({"name": "gone"})).await;
    api.delete(&format!("/v1/templates/{doomed}"))
        .await
        .expect(204);
    api.put("/v1/state/cursor", &json!({"at": 7}))
        .await
        .expect(201);
    api.put(
        &format!("/v1/exports/{export_id}/state/delta"),
        &json!("2026-01-01"),
    )
    .await
    .expect(201);
    let (b_id, b_token) = server.new_account("b@example.com").await;
    let b_template = server
        .api_as(&b_token)
        .create("templates", json!({"name": "B's"}))
        .await;

    server.crash();
    server.restart();

    let api = server.api();
    for (path, doc) in [
        (format!("/v1/stacks/{stack_id}"), &stack),
        (format!("/v1/connections/{connection_id}"), &connection),
        (format!("/v1/exports/{export_id}"), &replaced),
        (format!("/v1/flows/{}", string(&flow, "_id")), &flow),
        (
            format!("/v1/connectors/{}", string(&connector, "_id")),
            &connector,
        ),
        (
            format!(
                "/v1/connectors/{}/licenses/{}",
                string(&connector, "_id"),
                string(&license, "_id")
            ),
            &license,
        ),
    ] {
        assert_eq!(
            &api.get(&path).await.expect(200),
            doc,
            "{path} after SIGKILL"
        );
    }
    api.get(&format!("/v1/templates/{doomed}"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        api.get("/v1/state/cursor").await.expect(200),
        json!({"at": 7})
    );
    assert_eq!(
        api.get(&format!("/v1/exports/{export_id}/state/delta"))
            .await
            .expect(200),
        json!("2026-01-01")
    );
    // The reference index survived too.
    api.delete(&format!("/v1/connections/{connection_id}"))
        .await
        .expect_error(409, "referenced");
    // The secret key survived: the stored secret is still kept by the mask.
    let mut resent = connection.clone();
    resent["name"] = json!("C2");
    api.put(&format!("/v1/connections/{connection_id}"), &resent)
        .await
        .expect(200);

    let b = server.api_as(&b_token);
    assert_eq!(b.account_id().await, b_id, "B's token still works");
    assert_eq!(
        b.get("/v1/templates").await.expect(200),
        json!([b_template])
    );
    server
        .api()
        .post("/v1/accounts", &json!({"email": "B@example.com"}))
        .await
        .expect_error(409, "duplicate_email");
}

#[tokio::test]
async fn sigterm_shuts_the_server_down_with_status_0_and_a_restart_prints_no_token() {
    let mut server = Server::start();
    let export = server.api().create("exports", json!({"name": "E"})).await;
    let status = server.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "graceful shutdown exits 0, got {status}"
    );
    // `restart` asserts that no `API token:` line is printed the second time.
    server.restart();
    assert_eq!(
        server
            .api()
            .get(&format!("/v1/exports/{}", string(&export, "_id")))
            .await
            .expect(200),
        export
    );
    let printed = server.output().matches("API token: ").count();
    assert_eq!(
        printed,
        1,
        "the token is printed on the first start only:\n{}",
        server.output()
    );
}

#[tokio::test]
async fn sigterm_as_soon_as_the_server_listens_still_shuts_it_down_gracefully() {
    for _ in 0..3 {
        let mut server = Server::start();
        let status = server.terminate();
        assert_eq!(
            status.code(),
            Some(0),
            "SIGTERM right after start exits 0, got {status}"
        );
    }
}

#[tokio::test]
async fn the_server_takes_its_address_and_data_dir_from_the_environment() {
    let mut server = Server::start_with(Options {
        config_from_env: true,
        ..Options::default()
    });
    server.api().get("/v1/tokenInfo").await.expect(200);
    let id = server
        .api()
        .create_id("templates", json!({"name": "T"}))
        .await;
    server.terminate();
    assert!(
        files_under(&server.data_dir()).len() > 1,
        "the store is in INTEGRATOR_DATA_DIR"
    );
    server.restart();
    server
        .api()
        .get(&format!("/v1/templates/{id}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn the_owner_token_is_stored_only_hashed() {
    let mut server = Server::start();
    server.api().get("/v1/tokenInfo").await.expect(200);
    server.terminate();
    for file in files_under(&server.data_dir()) {
        let bytes = std::fs::read(&file).expect("reading a data file");
        assert!(
            !contains_bytes(&bytes, server.token.as_bytes()),
            "{} holds the plain API token",
            file.display()
        );
    }
}
