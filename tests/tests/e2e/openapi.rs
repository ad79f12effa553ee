//! `GET /v1/openapi.json`: an OpenAPI 3.1 document, served without a token, covering every route
//! family.

use crate::harness::*;

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token_and_covers_every_route_family() {
    let server = Server::start();
    let reply = server.anonymous().get("/v1/openapi.json").await;
    let doc = reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        reply.header("content-type")
    );
    assert!(
        string(&doc, "openapi").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().expect("paths");

    let mut expected: Vec<(String, &[&str])> = vec![
        ("/v1/tokenInfo".into(), &["get"]),
        ("/v1/accounts".into(), &["post"]),
        ("/v1/jobs".into(), &["get"]),
        ("/v1/jobs/{id}".into(), &["get"]),
        ("/v1/jobs/{id}/joberrors".into(), &["get"]),
        ("/v1/jobs/{id}/cancel".into(), &["put"]),
        ("/v1/jobs/{id}/retry".into(), &["post"]),
        ("/v1/state".into(), &["get", "delete"]),
        ("/v1/state/{key}".into(), &["get", "put", "delete"]),
        ("/v1/flows/{id}/run".into(), &["post"]),
        ("/v1/exports/{id}/invoke".into(), &["post"]),
        ("/v1/imports/{id}/invoke".into(), &["post"]),
        ("/v1/connections/ping".into(), &["post"]),
        ("/v1/connections/{id}/ping".into(), &["get"]),
        ("/v1/connections/{id}/debug".into(), &["get"]),
        ("/v1/connections/{id}/export".into(), &["post"]),
        ("/v1/connections/{id}/export/pages".into(), &["post"]),
        ("/v1/connections/{id}/import".into(), &["post"]),
        ("/v1/connections/{id}/import/map".into(), &["post"]),
        ("/v1/connections/{id}/proxy".into(), &["post"]),
        ("/v1/connectors/{id}/installBase".into(), &["get"]),
        ("/v1/connectors/{id}/update".into(), &["put"]),
        ("/v1/connectors/{id}/licenses".into(), &["get", "post"]),
        (
            "/v1/connectors/{id}/licenses/{licenseId}".into(),
            &["get", "put", "delete"],
        ),
        ("/v1/connectors/{id}/install".into(), &["post"]),
        ("/v1/marketplace/connectors".into(), &["get"]),
        ("/v1/marketplace/connectors/{id}".into(), &["get"]),
        (
            "/v1/integrations/{id}/install/{stepIndex}".into(),
            &["post"],
        ),
        ("/v1/integrations/{id}/settings".into(), &["put"]),
        ("/v1/integrations/{id}/settings/form".into(), &["get"]),
        (
            "/v1/integrations/{id}/settings/refreshMetadata".into(),
            &["post"],
        ),
        (
            "/v1/integrations/{id}/settings/mappingMetadata".into(),
            &["get"],
        ),
        ("/v1/integrations/{id}/uninstall".into(), &["post"]),
    ];
    for collection in crate::resources::COLLECTIONS {
        expected.push((format!("/v1/{collection}"), &["get", "post"]));
        expected.push((
            format!("/v1/{collection}/{{id}}"),
            &["get", "put", "delete"],
        ));
        expected.push((format!("/v1/{collection}/{{id}}/state"), &["get", "delete"]));
        expected.push((
            format!("/v1/{collection}/{{id}}/state/{{key}}"),
            &["get", "put", "delete"],
        ));
    }
    for collection in ["exports", "imports", "flows", "integrations"] {
        expected.push((format!("/v1/{collection}/{{id}}/clone"), &["post"]));
    }
    for (path, methods) in &expected {
        let item = paths.get(path).unwrap_or_else(|| {
            panic!(
                "no path {path} in the document; it has {:?}",
                paths.keys().collect::<Vec<_>>()
            )
        });
        for method in *methods {
            let op = &item[*method];
            assert!(op.is_object(), "{method} {path} is not described: {item}");
            assert!(
                op["responses"].is_object(),
                "{method} {path} has no responses"
            );
        }
    }
    // Path parameters are declared, bodies and the error shape are described.
    let get_license = &paths["/v1/connectors/{id}/licenses/{licenseId}"]["get"];
    let params: Vec<&str> = get_license["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(params, ["id", "licenseId"]);
    assert!(paths["/v1/exports"]["post"]["requestBody"].is_object());
    assert!(paths["/v1/exports"]["post"]["responses"]["201"].is_object());
    assert!(paths["/v1/exports/{id}"]["delete"]["responses"]["204"].is_object());
    assert!(doc["components"]["schemas"]["Errors"].is_object());
    assert!(doc["components"]["securitySchemes"].is_object());
}

#[tokio::test]
async fn the_openapi_document_ignores_a_bad_token() {
    let server = Server::start();
    server
        .api_as("not-a-token")
        .get("/v1/openapi.json")
        .await
        .expect(200);
}
