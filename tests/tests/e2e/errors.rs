//! Bad input: each answered with a clear error in the API's format, nothing written, and the
//! server still serving the next request.

use crate::harness::*;

/// A flow of `export` (the document to create) and an import: their `_id`s, and the flow's.
async fn simple_flow(api: &Api, export: Value) -> (String, String, String) {
    let export = api.create_id("exports", export).await;
    let import = api.create_id("imports", json!({"name": "I"})).await;
    let flow = json!({"name": "F", "_exportId": export, "_importId": import});
    let flow = api.create_id("flows", flow).await;
    (export, import, flow)
}

/// The server still answers normally.
async fn still_serving(api: &Api) {
    api.get("/v1/tokenInfo").await.expect(200);
}

#[tokio::test]
async fn malformed_json_answers_400_with_line_and_column() {
    let server = Server::start();
    let api = server.api();
    let body = b"{\n  \"name\": \"Orders\",\n  \"pageSize\": \n}".to_vec();
    for method in [Method::POST, Method::PUT] {
        let path = if method == Method::POST {
            "/v1/exports".to_owned()
        } else {
            format!(
                "/v1/exports/{}",
                api.create_id("exports", json!({"name": "E"})).await
            )
        };
        let reply = api
            .send(method, &path, Some(("application/json", body.clone())))
            .await;
        let problems = reply.expect_error(400, "invalid_json");
        let message = &problems[0].message;
        assert!(
            message.contains("line") && message.contains("column"),
            "{message}"
        );
        assert!(message.contains('4'), "the error is on line 4: {message}");
        still_serving(&api).await;
    }
    assert_eq!(
        api.list_ids("/v1/exports").await.len(),
        1,
        "only the export made for PUT exists"
    );
}

#[tokio::test]
async fn action_routes_refuse_a_malformed_body_before_acting() {
    let server = Server::start();
    let api = server.api();
    let (export, _, flow) = simple_flow(&api, json!({"name": "E"})).await;
    let actions = [
        (Method::POST, format!("/v1/flows/{flow}/run")),
        (Method::POST, format!("/v1/exports/{export}/invoke")),
        (Method::POST, format!("/v1/exports/{export}/clone")),
        (Method::POST, format!("/v1/flows/{flow}/clone")),
    ];
    for (method, path) in &actions {
        api.send(
            method.clone(),
            path,
            Some(("application/json", b"garbage{".to_vec())),
        )
        .await
        .expect_error(400, "invalid_json");
    }
    assert_eq!(api.list_ids("/v1/jobs").await.len(), 0, "no run started");
    assert_eq!(api.list_ids("/v1/exports").await.len(), 1, "no clone made");
    assert_eq!(api.list_ids("/v1/flows").await.len(), 1, "no clone made");
    // No body, or an empty one, still runs.
    api.send(Method::POST, &format!("/v1/flows/{flow}/run"), None)
        .await
        .expect(201);
    still_serving(&api).await;
}

#[tokio::test]
async fn a_virtual_run_tells_a_missing_resource_from_one_of_the_wrong_type() {
    let server = Server::start();
    let api = server.api();
    let connection = api.rest_connection().await;
    let path = format!("/v1/connections/{connection}/export");
    api.post(&path, &json!({"export": 5}))
        .await
        .expect_invalid("invalid_type", "export");
    api.post(&path, &json!({}))
        .await
        .expect_invalid("missing_field", "export");
}

#[tokio::test]
async fn oauth_blocks_must_be_objects() {
    let server = Server::start();
    let api = server.api();
    let connection = json!({"type": "rest", "rest": {
        "baseURI": "https://a.example.com", "authType": "oauth2", "oauth2": 5}});
    api.post("/v1/connections", &connection)
        .await
        .expect_invalid("invalid_type", "rest.oauth2");
    api.post("/v1/iclients", &json!({"name": "C", "oauth1": "x"}))
        .await
        .expect_invalid("invalid_type", "oauth1");
    assert!(api.list_ids("/v1/connections").await.is_empty());
    assert!(api.list_ids("/v1/iclients").await.is_empty());
}

#[tokio::test]
async fn a_path_parameter_that_is_not_utf8_answers_400_in_the_error_format() {
    let server = Server::start();
    let api = server.api();
    api.send(Method::GET, "/v1/state/%ff", None)
        .await
        .expect_error(400, "invalid_path");
    api.send(
        Method::PUT,
        "/v1/state/%ff",
        Some(json_bytes(&json!({"a": 1}))),
    )
    .await
    .expect_error(400, "invalid_path");
    still_serving(&api).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_content_answers_415() {
    let server = Server::start();
    let api = server.api();
    let id = api.create_id("exports", json!({"name": "E"})).await;
    let body = br#"{"name": "E"}"#.to_vec();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        api.send(
            Method::POST,
            "/v1/exports",
            Some((content_type, body.clone())),
        )
        .await
        .expect_error(415, "unsupported_media_type");
        api.send(
            Method::PUT,
            &format!("/v1/exports/{id}"),
            Some((content_type, body.clone())),
        )
        .await
        .expect_error(415, "unsupported_media_type");
        still_serving(&api).await;
    }
    // No Content-Type at all.
    api.post_empty("/v1/exports")
        .await
        .expect_error(415, "unsupported_media_type");
    // With parameters and any case, JSON is JSON.
    api.send(
        Method::POST,
        "/v1/exports",
        Some(("Application/JSON; charset=utf-8", body)),
    )
    .await
    .expect(201);
    assert_eq!(api.list_ids("/v1/exports").await.len(), 2);
}

#[tokio::test]
async fn a_body_over_50_mib_answers_413_and_the_server_keeps_serving() {
    let server = Server::start();
    let api = server.api();
    let limit = 50 * 1024 * 1024;
    let filler = "x".repeat(limit + 1024);
    let body = serde_json::to_vec(&json!({"name": "huge", "filler": filler})).expect("JSON");
    assert!(body.len() > limit + 1024);
    api.send(
        Method::POST,
        "/v1/exports",
        Some(("application/json", body)),
    )
    .await
    .expect_error(413, "payload_too_large");
    still_serving(&api).await;
    assert_eq!(
        api.get("/v1/exports").await.expect(200),
        json!([]),
        "nothing was written"
    );
}

#[tokio::test]
async fn a_large_body_within_the_limit_is_accepted() {
    let server = Server::start();
    let api = server.api();
    let filler = "y".repeat(5 * 1024 * 1024);
    let reply = api.put("/v1/state/big", &json!({"filler": filler})).await;
    reply.expect(201);
    let back = api.get("/v1/state/big").await.expect(200);
    assert_eq!(back["filler"].as_str().map(str::len), Some(5 * 1024 * 1024));
}

#[tokio::test]
async fn a_malformed_id_answers_404() {
    let server = Server::start();
    let api = server.api();
    let connector = api.create_id("connectors", json!({"name": "C"})).await;
    let bad_ids = [
        "nope",
        "0123456789ABCDEF01234567",
        "0123456789abcdef0123456",
        "0123456789abcdef012345678",
        "zzzzzzzzzzzzzzzzzzzzzzzz",
    ];
    for bad in bad_ids {
        for collection in [
            "connections",
            "exports",
            "imports",
            "flows",
            "integrations",
            "connectors",
            "iclients",
            "templates",
            "stacks",
            "jobs",
        ] {
            api.get(&format!("/v1/{collection}/{bad}"))
                .await
                .expect_error(404, "not_found");
        }
        api.put(&format!("/v1/exports/{bad}"), &json!({"name": "E"}))
            .await
            .expect_error(404, "not_found");
        api.delete(&format!("/v1/flows/{bad}"))
            .await
            .expect_error(404, "not_found");
        api.post_empty(&format!("/v1/imports/{bad}/clone"))
            .await
            .expect_error(404, "not_found");
        api.get(&format!("/v1/exports/{bad}/state"))
            .await
            .expect_error(404, "not_found");
        api.get(&format!("/v1/jobs/{bad}/joberrors"))
            .await
            .expect_error(404, "not_found");
        api.put_empty(&format!("/v1/jobs/{bad}/cancel"))
            .await
            .expect_error(404, "not_found");
        api.get(&format!("/v1/connectors/{bad}/licenses"))
            .await
            .expect_error(404, "not_found");
        api.get(&format!("/v1/connectors/{connector}/licenses/{bad}"))
            .await
            .expect_error(404, "not_found");
        api.delete(&format!("/v1/connectors/{connector}/licenses/{bad}"))
            .await
            .expect_error(404, "not_found");
    }
    still_serving(&api).await;
}

#[tokio::test]
async fn an_unknown_id_answers_404_not_found() {
    let server = Server::start();
    let api = server.api();
    for collection in [
        "connections",
        "exports",
        "imports",
        "flows",
        "integrations",
        "connectors",
        "iclients",
        "templates",
        "stacks",
        "jobs",
    ] {
        let problems = api
            .get(&format!("/v1/{collection}/{MISSING_ID}"))
            .await
            .expect_error(404, "not_found");
        assert!(problems[0].message.contains(MISSING_ID), "{problems:?}");
    }
}

#[tokio::test]
async fn a_missing_or_unknown_token_answers_401_with_www_authenticate_bearer() {
    let server = Server::start();
    let anonymous = server.anonymous();
    let stranger =
        server.api_as("0000000000000000000000000000000000000000000000000000000000000000");
    let routes = [
        (Method::GET, "/v1/tokenInfo".to_owned()),
        (Method::GET, "/v1/exports".to_owned()),
        (Method::POST, "/v1/exports".to_owned()),
        (Method::GET, format!("/v1/connections/{MISSING_ID}")),
        (Method::PUT, format!("/v1/flows/{MISSING_ID}")),
        (Method::DELETE, format!("/v1/stacks/{MISSING_ID}")),
        (Method::GET, "/v1/jobs".to_owned()),
        (Method::GET, "/v1/state".to_owned()),
        (Method::PUT, "/v1/state/k".to_owned()),
        (Method::POST, "/v1/accounts".to_owned()),
        (Method::GET, format!("/v1/connectors/{MISSING_ID}/licenses")),
    ];
    for (method, path) in routes {
        for api in [&anonymous, &stranger] {
            let reply = api
                .send(
                    method.clone(),
                    &path,
                    Some(json_bytes(&json!({"name": "x"}))),
                )
                .await;
            reply.expect_error(401, "unauthorized");
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer"),
                "{method} {path}"
            );
        }
    }
    // Not a bearer token at all.
    let basic = reqwest::Client::new()
        .get(format!("{}/v1/exports", server.url))
        .basic_auth("owner", Some(&server.token))
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status().as_u16(), 401);
    assert_eq!(
        basic
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    still_serving(&server.api()).await;
    assert_eq!(
        server.api().get("/v1/exports").await.expect(200),
        json!([]),
        "nothing was written"
    );
}

#[tokio::test]
async fn unknown_routes_answer_404_and_wrong_methods_405_in_the_error_format() {
    let server = Server::start();
    let api = server.api();
    api.get("/v1/widgets").await.expect_error(404, "not_found");
    api.get("/nothing-here")
        .await
        .expect_error(404, "not_found");
    let reply = api.send(Method::PATCH, "/v1/exports", None).await;
    assert_eq!(reply.status, 405, "{}", reply.text);
    assert!(!reply.problems().is_empty());
    still_serving(&api).await;
}

#[tokio::test]
async fn run_routes_check_the_resource_first() {
    let server = Server::start();
    let api = server.api();
    let connection = api.rest_connection().await;
    let export = json!({"name": "E", "_connectionId": connection});
    let (export, import, flow) = simple_flow(&api, export).await;
    let pending = [
        (Method::POST, format!("/v1/flows/{flow}/run")),
        (Method::POST, format!("/v1/exports/{export}/invoke")),
        (Method::POST, format!("/v1/imports/{import}/invoke")),
        (Method::GET, format!("/v1/connections/{connection}/ping")),
        (Method::GET, format!("/v1/connections/{connection}/debug")),
        (Method::POST, format!("/v1/connections/{connection}/proxy")),
        (Method::POST, "/v1/connections/ping".to_owned()),
    ];
    for (method, path) in &pending {
        let reply = api
            .send(method.clone(), path, Some(json_bytes(&json!({}))))
            .await;
        assert!(
            reply.status != 501 && reply.status < 500,
            "{method} {path}: {} {}",
            reply.status,
            reply.text
        );
        let missing = path
            .replace(&flow, MISSING_ID)
            .replace(&export, MISSING_ID)
            .replace(&import, MISSING_ID)
            .replace(&connection, MISSING_ID);
        if missing != *path {
            api.send(method.clone(), &missing, Some(json_bytes(&json!({}))))
                .await
                .expect_error(404, "not_found");
        }
    }
}
