//! Accounts and tokens: the owner creates accounts over HTTP or with the CLI; each account's
//! token works at once and identifies it.

use std::process::Command;

use crate::harness::*;

#[tokio::test]
async fn the_owner_token_identifies_the_owner_with_scope_star() {
    let server = Server::start();
    let info = server.api().get("/v1/tokenInfo").await.expect(200);
    assert!(is_id(&string(&info, "_userId")), "{info}");
    assert_eq!(info["scope"], json!("*"));
}

#[tokio::test]
async fn the_owner_creates_an_account_whose_token_works_at_once() {
    let server = Server::start();
    let owner = server.owner_id().await;
    let created = server
        .api()
        .post(
            "/v1/accounts",
            &json!({"email": "ada@example.com", "name": "Ada"}),
        )
        .await
        .expect(201);
    let id = string(&created, "_id");
    assert!(is_id(&id) && id != owner, "{created}");
    assert_eq!(created["email"], json!("ada@example.com"));
    assert_eq!(created["name"], json!("Ada"));
    let token = string(&created, "token");
    assert!(token.len() >= 32, "a token with enough entropy: {token}");
    assert_ne!(token, server.token);

    let info = server.api_as(&token).get("/v1/tokenInfo").await.expect(200);
    assert_eq!(info, json!({"_userId": id, "scope": "*"}));
    assert_eq!(
        server.owner_id().await,
        owner,
        "the owner is still the owner"
    );
    // The new account works like any other, in its own space.
    server
        .api_as(&token)
        .create("templates", json!({"name": "Ada's"}))
        .await;
    assert_eq!(
        server.api().get("/v1/templates").await.expect(200),
        json!([])
    );
}

#[tokio::test]
async fn a_duplicate_email_answers_409() {
    let server = Server::start();
    let api = server.api();
    api.post(
        "/v1/accounts",
        &json!({"email": "ada@example.com", "name": "Ada"}),
    )
    .await
    .expect(201);
    api.post(
        "/v1/accounts",
        &json!({"email": "ada@example.com", "name": "Ada again"}),
    )
    .await
    .expect_error(409, "duplicate_email");
    api.post("/v1/accounts", &json!({"email": "ADA@Example.com"}))
        .await
        .expect_error(409, "duplicate_email");
    api.post("/v1/accounts", &json!({"email": "owner@localhost"}))
        .await
        .expect_error(409, "duplicate_email");
}

#[tokio::test]
async fn only_the_owner_may_create_accounts() {
    let server = Server::start();
    let (_, token) = server.new_account("ada@example.com").await;
    server
        .api_as(&token)
        .post(
            "/v1/accounts",
            &json!({"email": "eve@example.com", "name": "Eve"}),
        )
        .await
        .expect_error(403, "forbidden");
    // Nothing was created: the email is still free.
    server
        .api()
        .post("/v1/accounts", &json!({"email": "eve@example.com"}))
        .await
        .expect(201);
}

#[tokio::test]
async fn an_account_without_a_name_is_named_after_its_email() {
    let server = Server::start();
    let created = server
        .api()
        .post("/v1/accounts", &json!({"email": "grace@example.com"}))
        .await
        .expect(201);
    assert_eq!(created["name"], json!("grace@example.com"));
}

#[tokio::test]
async fn an_account_needs_a_valid_email() {
    let server = Server::start();
    let api = server.api();
    api.post("/v1/accounts", &json!({"name": "No email"}))
        .await
        .expect_invalid("missing_field", "email");
    api.post("/v1/accounts", &json!({"email": "not an email"}))
        .await
        .expect_invalid("invalid_value", "email");
    api.post("/v1/accounts", &json!({"email": 7}))
        .await
        .expect_invalid("invalid_type", "email");
}

fn cli(server: &Server, email: &str, token: &str) -> std::process::Output {
    Command::new(binary())
        .args([
            "accounts",
            "create",
            "--email",
            email,
            "--server",
            &server.url,
            "--token",
            token,
        ])
        .env_remove("INTEGRATOR_SERVER")
        .env_remove("INTEGRATOR_TOKEN")
        .output()
        .expect("running `integrator accounts create`")
}

#[tokio::test]
async fn the_cli_creates_an_account_on_the_running_server() {
    let server = Server::start();
    let output = cli(&server, "cli@example.com", &server.token);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the CLI failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = |prefix: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
            .trim()
            .to_owned()
    };
    let id = line("account: ");
    let token = line("API token: ");
    assert_eq!(line("email: "), "cli@example.com");
    assert!(is_id(&id), "{id}");
    let info = server.api_as(&token).get("/v1/tokenInfo").await.expect(200);
    assert_eq!(info, json!({"_userId": id, "scope": "*"}));

    // The same email again is refused, and the CLI says so with a failure status.
    let again = cli(&server, "cli@example.com", &server.token);
    assert!(!again.status.success(), "a duplicate email must fail");
    // A non-owner token cannot create accounts.
    let refused = cli(&server, "other@example.com", &token);
    assert!(!refused.status.success(), "a non-owner token must fail");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403"),
        "the CLI reports the refusal: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[tokio::test]
async fn concurrent_requests_for_one_email_create_exactly_one_account() {
    let server = Server::start();
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..8 {
        let api = server.api();
        requests.spawn(async move {
            api.post(
                "/v1/accounts",
                &json!({"email": "race@example.com", "name": format!("racer {n}")}),
            )
            .await
            .status
        });
    }
    let mut statuses = requests.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}
