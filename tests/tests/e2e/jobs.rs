//! Jobs: created only by the platform, so the tests write them into the stopped server's store
//! and then read, filter, cancel and retry them through the API.

use integrator::store::{Batch, Db};
use integrator::util::new_id;

use crate::harness::*;

/// Write `doc` (which has `_id`) into `collection` of `account`.
pub fn seed(db: &Db, account: &str, collection: &str, doc: &Value) {
    let id = string(doc, "_id");
    let mut batch = Batch::default();
    Db::put_doc(&mut batch, account, collection, &id, doc, &[], &[]);
    db.write(batch).expect("writing a seeded document");
}

/// A job document with every counter set.
pub fn job(kind: &str, status: &str, created_at: &str, counts: [i64; 4], retriable: bool) -> Value {
    let [success, export, ignore, error] = counts;
    json!({"_id": new_id(), "type": kind, "status": status, "createdAt": created_at, "lastModified": created_at,
        "startedAt": created_at, "numSuccess": success, "numExport": export, "numIgnore": ignore,
        "numError": error, "numPagesGenerated": 1, "numPagesProcessed": 1, "retriable": retriable})
}

/// A job error of `job`.
pub fn job_error(job: &str, resolved: bool, retriable: bool) -> Value {
    let mut error = json!({"_id": new_id(), "_jobId": job, "code": "422", "message": "unknown SKU",
        "source": "application", "createdAt": "2026-01-01T00:00:03.000Z", "resolved": resolved});
    if retriable {
        error["retryData"] = json!({"record": {"sku": "X-1", "qty": 2}, "stage": "import"});
    }
    error
}

/// The seeded jobs, oldest first.
struct Jobs {
    done: Value,
    done_export: Value,
    done_import: Value,
    running: Value,
    queued: Value,
    failed: Value,
    flow_a: String,
    flow_b: String,
    flow_c: String,
    integration_a: String,
    export_a: String,
    import_a: String,
    errors: Vec<Value>,
}

fn jobs() -> Jobs {
    let (flow_a, flow_b, flow_c) = (new_id(), new_id(), new_id());
    let (integration_a, integration_b) = (new_id(), new_id());
    let (export_a, import_a) = (new_id(), new_id());
    let mut done = job(
        "flow",
        "completed",
        "2026-01-01T00:00:00.000Z",
        [10, 10, 0, 0],
        false,
    );
    done["_flowId"] = json!(flow_a);
    done["_integrationId"] = json!(integration_a);
    done["endedAt"] = json!("2026-01-01T00:00:05.000Z");
    let mut done_export = job(
        "export",
        "completed",
        "2026-01-01T00:00:01.000Z",
        [0, 10, 0, 0],
        false,
    );
    done_export["_flowId"] = json!(flow_a);
    done_export["_flowJobId"] = done["_id"].clone();
    done_export["_exportId"] = json!(export_a);
    done_export["_integrationId"] = json!(integration_a);
    let mut done_import = job(
        "import",
        "completed",
        "2026-01-01T00:00:02.000Z",
        [8, 0, 2, 1],
        true,
    );
    done_import["_flowId"] = json!(flow_a);
    done_import["_flowJobId"] = done["_id"].clone();
    done_import["_importId"] = json!(import_a);
    done_import["_integrationId"] = json!(integration_a);
    let mut running = job(
        "flow",
        "running",
        "2026-01-02T00:00:00.000Z",
        [3, 5, 1, 0],
        false,
    );
    running["_flowId"] = json!(flow_b);
    running["_integrationId"] = json!(integration_b);
    let mut queued = job(
        "flow",
        "queued",
        "2026-01-03T00:00:00.000Z",
        [0, 0, 0, 0],
        false,
    );
    queued["_flowId"] = json!(flow_c);
    let mut failed = job(
        "flow",
        "failed",
        "2026-01-04T00:00:00.000Z",
        [0, 0, 0, 5],
        true,
    );
    failed["_flowId"] = json!(flow_a);
    failed["_integrationId"] = json!(integration_a);
    let import_job = string(&done_import, "_id");
    let errors = vec![
        job_error(&import_job, false, true),
        job_error(&import_job, false, true),
        job_error(&import_job, true, true),
    ];
    Jobs {
        done,
        done_export,
        done_import,
        running,
        queued,
        failed,
        flow_a,
        flow_b,
        flow_c,
        integration_a,
        export_a,
        import_a,
        errors,
    }
}

/// A server whose owner has the jobs of [`jobs`] (and a resolved error on the failed job).
async fn server_with_jobs() -> (Server, Jobs) {
    let mut server = Server::start_unlimited();
    let account = server.owner_id().await;
    let jobs = jobs();
    let resolved = job_error(&string(&jobs.failed, "_id"), true, true);
    server.offline(|db| {
        for job in [
            &jobs.done,
            &jobs.done_export,
            &jobs.done_import,
            &jobs.running,
            &jobs.queued,
            &jobs.failed,
        ] {
            seed(db, &account, "jobs", job);
        }
        for error in &jobs.errors {
            seed(
                db,
                &account,
                &format!("joberrors:{}", string(&jobs.done_import, "_id")),
                error,
            );
        }
        seed(
            db,
            &account,
            &format!("joberrors:{}", string(&jobs.failed, "_id")),
            &resolved,
        );
    });
    (server, jobs)
}

fn ids(docs: &[&Value]) -> Vec<String> {
    docs.iter().map(|d| string(d, "_id")).collect()
}

#[tokio::test]
async fn jobs_are_listed_newest_first_and_read_one_by_one() {
    let (server, j) = server_with_jobs().await;
    let api = server.api();
    let list = api.get("/v1/jobs").await.expect(200);
    assert_eq!(
        list,
        json!([
            j.failed,
            j.queued,
            j.running,
            j.done_import,
            j.done_export,
            j.done
        ]),
        "every job, newest first, as stored"
    );
    for job in [&j.done, &j.running] {
        assert_eq!(
            &api.get(&format!("/v1/jobs/{}", string(job, "_id")))
                .await
                .expect(200),
            job
        );
    }
    api.get(&format!("/v1/jobs/{MISSING_ID}"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn every_documented_job_filter_selects_the_right_jobs_newest_first() {
    let (server, j) = server_with_jobs().await;
    let api = server.api();
    let done_id = string(&j.done, "_id");
    let cases: Vec<(String, Vec<&Value>)> = vec![
        (
            format!("_integrationId={}", j.integration_a),
            vec![&j.failed, &j.done_import, &j.done_export, &j.done],
        ),
        (format!("_exportId={}", j.export_a), vec![&j.done_export]),
        (format!("_importId={}", j.import_a), vec![&j.done_import]),
        (
            format!("_flowId={}", j.flow_a),
            vec![&j.failed, &j.done_import, &j.done_export, &j.done],
        ),
        (
            format!("_flowJobId={done_id}"),
            vec![&j.done_import, &j.done_export],
        ),
        (
            format!("_flowId_in={},{}", j.flow_b, j.flow_c),
            vec![&j.queued, &j.running],
        ),
        (format!("_flowId_in={}", j.flow_c), vec![&j.queued]),
        (
            "createdAt_gte=2026-01-02T00:00:00.000Z".into(),
            vec![&j.failed, &j.queued, &j.running],
        ),
        (
            "createdAt_lte=2026-01-01T00:00:01.000Z".into(),
            vec![&j.done_export, &j.done],
        ),
        // An offset other than Z (the `+` percent-encoded, as in any query string).
        (
            "createdAt_gte=2026-01-02T01:00:00.000%2B01:00".into(),
            vec![&j.failed, &j.queued, &j.running],
        ),
        (
            "createdAt_gte=2026-01-01T00:00:01.000Z&createdAt_lte=2026-01-02T00:00:00.000Z".into(),
            vec![&j.running, &j.done_import, &j.done_export],
        ),
        (
            "status=completed".into(),
            vec![&j.done_import, &j.done_export, &j.done],
        ),
        ("status=running".into(), vec![&j.running]),
        ("status=cancelled".into(), vec![]),
        (
            "numSuccess_gte=3".into(),
            vec![&j.running, &j.done_import, &j.done],
        ),
        (
            "numSuccess_lte=3".into(),
            vec![&j.failed, &j.queued, &j.running, &j.done_export],
        ),
        (
            "numSuccess_gte=3&numSuccess_lte=8".into(),
            vec![&j.running, &j.done_import],
        ),
        (
            "numExport_gte=5".into(),
            vec![&j.running, &j.done_export, &j.done],
        ),
        (
            "numExport_lte=0".into(),
            vec![&j.failed, &j.queued, &j.done_import],
        ),
        ("numIgnore_gte=1".into(), vec![&j.running, &j.done_import]),
        (
            "numIgnore_lte=1".into(),
            vec![&j.failed, &j.queued, &j.running, &j.done_export, &j.done],
        ),
        ("retriable=true".into(), vec![&j.failed, &j.done_import]),
        (
            "retriable=false".into(),
            vec![&j.queued, &j.running, &j.done_export, &j.done],
        ),
        (
            "type=flow".into(),
            vec![&j.failed, &j.queued, &j.running, &j.done],
        ),
        ("type=import".into(), vec![&j.done_import]),
        (
            "type_in=export,import".into(),
            vec![&j.done_import, &j.done_export],
        ),
        (
            format!("_flowId={}&status=completed&type=flow", j.flow_a),
            vec![&j.done],
        ),
    ];
    for (query, expected) in cases {
        let got = api.list_ids(&format!("/v1/jobs?{query}")).await;
        assert_eq!(got, ids(&expected), "GET /v1/jobs?{query}");
    }
}

#[tokio::test]
async fn a_bad_job_filter_value_answers_422_invalid_filter_naming_the_parameter() {
    let (server, _) = server_with_jobs().await;
    let api = server.api();
    for (param, value) in [
        ("numSuccess_lte", "many"),
        ("numSuccess_gte", "1.5"),
        ("numExport_gte", "ten"),
        ("numExport_lte", ""),
        ("numIgnore_lte", "x"),
        ("numIgnore_gte", "-"),
        ("createdAt_gte", "yesterday"),
        ("createdAt_lte", "2026-13-01T00:00:00Z"),
        ("retriable", "maybe"),
    ] {
        let message = api
            .get(&format!("/v1/jobs?{param}={value}"))
            .await
            .expect_invalid("invalid_filter", param);
        assert!(message.contains(param), "{message}");
    }
    let reply = api
        .get("/v1/jobs?numSuccess_lte=many&retriable=maybe&status=completed")
        .await;
    let mut fields: Vec<String> = reply
        .expect_error(422, "invalid_filter")
        .into_iter()
        .map(|p| p.field.expect("names the parameter"))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["numSuccess_lte", "retriable"],
        "every bad parameter at once"
    );
}

#[tokio::test]
async fn job_errors_are_listed_for_their_job_only() {
    let (server, j) = server_with_jobs().await;
    let api = server.api();
    let mut listed = api
        .get(&format!(
            "/v1/jobs/{}/joberrors",
            string(&j.done_import, "_id")
        ))
        .await
        .expect(200)
        .as_array()
        .expect("an array")
        .clone();
    let mut expected = j.errors.clone();
    listed.sort_by_key(|e| string(e, "_id"));
    expected.sort_by_key(|e| string(e, "_id"));
    assert_eq!(listed, expected);
    assert_eq!(
        api.get(&format!("/v1/jobs/{}/joberrors", string(&j.done, "_id")))
            .await
            .expect(200),
        json!([])
    );
    api.get(&format!("/v1/jobs/{MISSING_ID}/joberrors"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn cancelling_a_queued_job_cancels_it_and_a_running_one_starts_cancelling() {
    let (server, j) = server_with_jobs().await;
    let api = server.api();
    let queued = string(&j.queued, "_id");
    let cancelled = api
        .put_empty(&format!("/v1/jobs/{queued}/cancel"))
        .await
        .expect(200);
    assert_eq!(cancelled["status"], json!("cancelled"));
    assert!(
        is_timestamp(&string(&cancelled, "endedAt")),
        "a cancelled job has ended: {cancelled}"
    );
    assert_eq!(
        api.get(&format!("/v1/jobs/{queued}")).await.expect(200),
        cancelled,
        "stored"
    );

    let running = string(&j.running, "_id");
    let cancelling = api
        .put_empty(&format!("/v1/jobs/{running}/cancel"))
        .await
        .expect(200);
    assert_eq!(cancelling["status"], json!("cancelling"));
    assert_eq!(
        api.get(&format!("/v1/jobs/{running}")).await.expect(200)["status"],
        json!("cancelling")
    );
    assert_eq!(
        api.put_empty(&format!("/v1/jobs/{running}/cancel"))
            .await
            .expect(200)["status"],
        json!("cancelling"),
        "asking again while it winds down is harmless"
    );
    assert_eq!(
        api.list_ids("/v1/jobs?status=cancelled").await,
        vec![queued]
    );
}

#[tokio::test]
async fn cancelling_a_finished_job_answers_409_not_cancellable() {
    let (server, j) = server_with_jobs().await;
    let api = server.api();
    for job in [&j.done, &j.failed] {
        let id = string(job, "_id");
        api.put_empty(&format!("/v1/jobs/{id}/cancel"))
            .await
            .expect_error(409, "not_cancellable");
        assert_eq!(
            &api.get(&format!("/v1/jobs/{id}")).await.expect(200),
            job,
            "unchanged"
        );
    }
    let queued = string(&j.queued, "_id");
    api.put_empty(&format!("/v1/jobs/{queued}/cancel"))
        .await
        .expect(200);
    api.put_empty(&format!("/v1/jobs/{queued}/cancel"))
        .await
        .expect_error(409, "not_cancellable");
    api.put_empty(&format!("/v1/jobs/{MISSING_ID}/cancel"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn retrying_a_job_without_open_retriable_errors_answers_422_nothing_to_retry() {
    let (server, j) = server_with_jobs().await;
    let api = server.api();
    for job in [&j.done, &j.failed] {
        api.post_empty(&format!("/v1/jobs/{}/retry", string(job, "_id")))
            .await
            .expect_error(422, "nothing_to_retry");
    }
    // With open retriable errors the retry runs the job's flow, which these seeded jobs lack.
    api.post_empty(&format!("/v1/jobs/{}/retry", string(&j.done_import, "_id")))
        .await
        .expect_error(409, "flow_deleted");
    api.post_empty(&format!("/v1/jobs/{MISSING_ID}/retry"))
        .await
        .expect_error(404, "not_found");
}
