//! Secrets are write-only: never in a response body, never in plain text on disk or in the
//! server's output, shown as `******`, and kept when a PUT sends `******` back.

use integrator::secrets::SecretBox;

use crate::harness::*;

const MASK: &str = "******";

/// The value at a dotted path (objects only).
fn at<'a>(doc: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(doc, |here, key| &here[key])
}

fn at_mut<'a>(doc: &'a mut Value, path: &str) -> &'a mut Value {
    path.split('.').fold(doc, |here, key| &mut here[key])
}

/// A fresh plain secret, unique to this run.
fn plain(label: &str) -> String {
    format!("plain-{label}-{}", integrator::util::new_id())
}

#[track_caller]
fn assert_hidden(reply: &Reply, plains: &[String]) {
    for p in plains {
        assert!(
            !reply.text.contains(p.as_str()),
            "{} reveals a secret: {}",
            reply.request,
            reply.text
        );
    }
}

#[track_caller]
fn assert_masked(doc: &Value, paths: &[&str]) {
    for path in paths {
        assert_eq!(at(doc, path), &json!(MASK), "{path} is masked in {doc}");
    }
}

/// The whole life of a document with secrets at `paths`: `body(values)` builds it with the
/// secret values (each a string, or an object when `object_secrets`).
async fn secrets_stay_secret(
    server: &mut Server,
    collection: &str,
    paths: &[&str],
    object_secrets: bool,
    body: impl Fn(&[Value]) -> Value,
) {
    let values = |label: &str| -> (Vec<String>, Vec<Value>) {
        let strings: Vec<String> = paths.iter().map(|_| plain(label)).collect();
        let json_values = strings
            .iter()
            .map(|s| {
                if object_secrets {
                    json!({"apiKey": s, "nested": {"pin": s}})
                } else {
                    json!(s)
                }
            })
            .collect();
        (strings, json_values)
    };
    let (kept_plain, kept_values) = values("kept");
    let (first_plain, first_values) = values("first");
    let (rotated_plain, rotated_values) = values("rotated");
    let every_plain: Vec<String> = [kept_plain, first_plain, rotated_plain].concat();
    let marker = format!("marker-{}", integrator::util::new_id());
    let api = server.api();
    let all = format!("/v1/{collection}");

    // A document whose secrets are kept with "******".
    let mut kept_body = body(&kept_values);
    kept_body["name"] = json!(marker);
    let reply = api.post(&all, &kept_body).await;
    let created = reply.expect(201);
    assert_hidden(&reply, &every_plain);
    assert_masked(&created, paths);
    let kept_id = string(&created, "_id");
    let kept_one = format!("{all}/{kept_id}");
    let reply = api.get(&kept_one).await;
    assert_masked(&reply.expect(200), paths);
    assert_hidden(&reply, &every_plain);

    let mut resent = created.clone();
    resent["renamed"] = json!(true);
    let reply = api.put(&kept_one, &resent).await;
    let replaced = reply.expect(200);
    assert_hidden(&reply, &every_plain);
    assert_masked(&replaced, paths);
    assert_eq!(replaced["renamed"], json!(true));
    let reply = api.get(&kept_one).await;
    assert_masked(&reply.expect(200), paths);

    // A document whose secrets are rotated by a PUT with new values.
    let reply = api.post(&all, &body(&first_values)).await;
    let rotated_id = string(&reply.expect(201), "_id");
    assert_hidden(&reply, &every_plain);
    let reply = api
        .put(&format!("{all}/{rotated_id}"), &body(&rotated_values))
        .await;
    assert_masked(&reply.expect(200), paths);
    assert_hidden(&reply, &every_plain);

    let reply = api.get(&all).await;
    let list = reply.expect(200);
    assert_hidden(&reply, &every_plain);
    for doc in list.as_array().expect("a list is an array") {
        assert_masked(doc, paths);
    }

    // What is stored: sealed envelopes that open to the values last sent.
    let account = server.owner_id().await;
    let data_dir = server.data_dir();
    server.offline(|db| {
        let key = SecretBox::load(&data_dir, None).expect("the key file");
        for (id, expected) in [(&kept_id, &kept_values), (&rotated_id, &rotated_values)] {
            let doc = db
                .get(&account, collection, id)
                .expect("read")
                .expect("stored");
            for (path, value) in paths.iter().zip(expected) {
                let opened = key.open(at(&doc, path)).expect("a sealed secret");
                assert_eq!(&opened, value, "{path} of {id} holds the value last sent");
            }
        }
    });
    let api = server.api();
    let reply = api.get(&kept_one).await;
    assert_masked(&reply.expect(200), paths);
    assert_hidden(&reply, &every_plain);

    // Nowhere on disk, nowhere in the output.
    let status = server.terminate();
    assert!(status.success());
    let mut marker_found = false;
    for file in files_under(&data_dir) {
        let bytes = std::fs::read(&file).expect("reading a data file");
        marker_found |= contains_bytes(&bytes, marker.as_bytes());
        for p in &every_plain {
            assert!(
                !contains_bytes(&bytes, p.as_bytes()),
                "{} holds the plain secret {p}",
                file.display()
            );
        }
    }
    assert!(
        marker_found,
        "the data dir holds documents in a form this search can see"
    );
    let output = server.output();
    for p in &every_plain {
        assert!(
            !output.contains(p.as_str()),
            "the server printed a secret:\n{output}"
        );
    }
}

#[tokio::test]
async fn rest_basic_auth_passwords_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(
        &mut server,
        "connections",
        &["rest.basicAuth.password"],
        false,
        |v| {
            json!({"type": "rest", "rest": {"baseURI": "https://a.example.com", "authType": "basic",
            "basicAuth": {"username": "me", "password": v[0]}}})
        },
    )
    .await;
}

#[tokio::test]
async fn rest_bearer_tokens_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(&mut server, "connections", &["rest.bearerToken"], false, |v| {
        json!({"type": "rest", "rest": {"baseURI": "https://a.example.com", "authType": "token", "bearerToken": v[0]}})
    })
    .await;
}

#[tokio::test]
async fn http_bearer_tokens_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(&mut server, "connections", &["http.bearerToken"], false, |v| {
        json!({"type": "http", "http": {"baseURI": "https://a.example.com", "authType": "token", "bearerToken": v[0]}})
    })
    .await;
}

#[tokio::test]
async fn ftp_passwords_and_private_keys_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(&mut server, "connections", &["ftp.password", "ftp.privateKey"], false, |v| {
        json!({"type": "ftp", "ftp": {"hostURI": "sftp.example.com", "type": "sftp", "username": "me",
            "password": v[0], "privateKey": v[1]}})
    })
    .await;
}

#[tokio::test]
async fn s3_secret_access_keys_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(&mut server, "connections", &["s3.secretAccessKey"], false, |v| {
        json!({"type": "s3", "s3": {"accessKeyId": "AKIAEXAMPLE", "region": "eu-west-1", "secretAccessKey": v[0]}})
    })
    .await;
}

#[tokio::test]
async fn netsuite_token_ids_and_secrets_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(&mut server, "connections", &["netsuite.tokenId", "netsuite.tokenSecret"], false, |v| {
        json!({"type": "netsuite", "netsuite": {"account": "TSTDRV1", "tokenId": v[0], "tokenSecret": v[1]}})
    })
    .await;
}

#[tokio::test]
async fn wrapper_encrypted_blocks_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    let stack = server
        .api()
        .create_id("stacks", json!({"type": "wasm"}))
        .await;
    secrets_stay_secret(&mut server, "connections", &["wrapper.encrypted"], true, |v| {
        json!({"type": "wrapper", "wrapper": {"_stackId": stack, "unencrypted": {"region": "eu"}, "encrypted": v[0]}})
    })
    .await;
}

#[tokio::test]
async fn iclient_secrets_are_never_revealed_and_kept_by_the_mask() {
    let mut server = Server::start();
    secrets_stay_secret(&mut server, "iclients", &["clientSecret", "oauth2.clientSecret"], false, |v| {
        json!({"provider": "custom", "clientId": "cid", "clientSecret": v[0], "oauth2": {"clientSecret": v[1]}})
    })
    .await;
}

#[tokio::test]
async fn the_mask_without_a_stored_secret_answers_422_naming_the_field() {
    let server = Server::start();
    let api = server.api();
    let cases: [(&str, Value, &str); 4] = [
        (
            "connections",
            json!({"type": "rest", "rest": {"baseURI": "https://a.example.com", "basicAuth": {"username": "u"}}}),
            "rest.basicAuth.password",
        ),
        (
            "connections",
            json!({"type": "s3", "s3": {"region": "eu-west-1"}}),
            "s3.secretAccessKey",
        ),
        (
            "connections",
            json!({"type": "ftp", "ftp": {"hostURI": "h"}}),
            "ftp.password",
        ),
        ("iclients", json!({"name": "c"}), "clientSecret"),
    ];
    for (collection, body, path) in cases {
        let mut masked = body.clone();
        *at_mut(&mut masked, path) = json!(MASK);
        api.post(&format!("/v1/{collection}"), &masked)
            .await
            .expect_invalid("invalid_value", path);

        let created = api.create(collection, body).await;
        let one = format!("/v1/{collection}/{}", string(&created, "_id"));
        api.put(&one, &masked)
            .await
            .expect_invalid("invalid_value", path);
        assert_eq!(
            api.get(&one).await.expect(200),
            created,
            "nothing half-written"
        );
    }
}

#[tokio::test]
async fn a_secret_of_the_wrong_type_answers_422_without_echoing_it() {
    let server = Server::start();
    let reply = server
        .api()
        .post("/v1/connections", &json!({"type": "rest", "rest": {"baseURI": "https://a.example.com", "bearerToken": 12345678987654321_u64}}))
        .await;
    reply.expect_invalid("invalid_type", "rest.bearerToken");
    assert!(!reply.text.contains("12345678987654321"), "{}", reply.text);
}
