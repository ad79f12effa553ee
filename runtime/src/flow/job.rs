//! Job documents: creating, queueing, counting, finishing, and the job errors of a flow run.
//!
//! A flow job (`type: flow`) has child jobs (`export` for each page generator, `import` for
//! each import processor) linked by `_flowJobId`. Job errors are stored once, under the flow
//! job (`joberrors:{flow job}`), each naming the child job it happened in (`_jobId`).

use serde_json::{Value, json};

use crate::store::{Batch, Db, Result, Space};
use crate::util;

/// The document kind holding a flow job's errors.
pub fn errors_kind(flow_job: &str) -> String {
    format!("joberrors:{flow_job}")
}

/// Record counts a job accumulates.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Records exported.
    pub export: i64,
    /// Records that went through.
    pub success: i64,
    /// Records that failed.
    pub error: i64,
    /// Records ignored.
    pub ignore: i64,
    /// Pages an export produced.
    pub pages_generated: i64,
    /// Pages processed.
    pub pages_processed: i64,
}

impl Counts {
    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    /// Add these counts to a job document.
    pub fn add_to(&self, job: &mut Value) {
        for (field, n) in [
            ("numExport", self.export),
            ("numSuccess", self.success),
            ("numError", self.error),
            ("numIgnore", self.ignore),
            ("numPagesGenerated", self.pages_generated),
            ("numPagesProcessed", self.pages_processed),
        ] {
            let have = job[field].as_i64().unwrap_or(0);
            job[field] = json!((have + n).max(0));
        }
    }
}

/// A new job document (not stored): `kind` is `flow`, `export` or `import`.
pub fn new_job(kind: &str, status: &str, fields: Value) -> Value {
    let now = util::now();
    let mut job = json!({
        "_id": util::new_id(),
        "type": kind,
        "status": status,
        "numExport": 0,
        "numSuccess": 0,
        "numError": 0,
        "numIgnore": 0,
        "numPagesGenerated": 0,
        "numPagesProcessed": 0,
        "retriable": false,
        "createdAt": now,
        "lastModified": now,
    });
    if status == "running" {
        job["startedAt"] = json!(now);
    }
    if let Value::Object(fields) = fields {
        for (k, v) in fields.into_iter().filter(|(_, v)| !v.is_null()) {
            job[k.as_str()] = v;
        }
    }
    job
}

/// The queue entry of a job.
pub fn queue_entry(account: &str, job: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"account": account, "_flowId": job["_flowId"]}))
        .expect("a JSON value serializes")
}

/// Store a new flow job as `queued` together with its queue entry (one atomic write).
pub fn enqueue(db: &Db, account: &str, job: &Value) -> Result<()> {
    let id = job["_id"].as_str().unwrap_or_default();
    let mut batch = Batch::default();
    Db::put_doc(&mut batch, account, "jobs", id, job, &[], &[]);
    batch.put(
        Space::Queue,
        format!("queued/{id}"),
        queue_entry(account, job),
    );
    db.write(batch)
}

/// Store `job` as it is.
pub fn put(batch: &mut Batch, account: &str, job: &Value) {
    let id = job["_id"].as_str().unwrap_or_default();
    Db::put_doc(batch, account, "jobs", id, job, &[], &[]);
    // A child job is indexed under its flow job, so that ending a flow job finds its children
    // without reading every job of the account.
    if let Some(flow_job) = job["_flowJobId"].as_str() {
        let entry = json!({"_id": id});
        Db::put_doc(
            batch,
            account,
            &children_kind(flow_job),
            id,
            &entry,
            &[],
            &[],
        );
    }
}

/// Where the child jobs of `flow_job` are indexed.
fn children_kind(flow_job: &str) -> String {
    format!("jobchildren:{flow_job}")
}

/// The child jobs (export, import, lookup) of the flow job `flow_job`.
pub fn children_of(db: &Db, account: &str, flow_job: &str) -> Result<Vec<Value>> {
    let mut children = Vec::new();
    for entry in db.list(account, &children_kind(flow_job))? {
        if let Some(id) = entry["_id"].as_str()
            && let Some(job) = db.get(account, "jobs", id)?
        {
            children.push(job);
        }
    }
    Ok(children)
}

/// End every child of `flow_job` still queued or running with `status`.
pub fn finish_children(db: &Db, account: &str, flow_job: &str, status: &str) -> Result<()> {
    for child in children_of(db, account, flow_job)? {
        if matches!(child["status"].as_str(), Some("running" | "queued")) {
            let id = child["_id"].as_str().unwrap_or_default();
            update(db, account, id, |j| finish(j, status))?;
        }
    }
    Ok(())
}

/// Read-modify-write one job under the store's write lock; returns the job as written (None
/// when it does not exist).
pub fn update(
    db: &Db,
    account: &str,
    id: &str,
    change: impl FnOnce(&mut Value),
) -> Result<Option<Value>> {
    let _guard = db.lock();
    let Some(mut job) = db.get(account, "jobs", id)? else {
        return Ok(None);
    };
    change(&mut job);
    job["lastModified"] = json!(util::now());
    let mut batch = Batch::default();
    put(&mut batch, account, &job);
    db.write(batch)?;
    Ok(Some(job))
}

/// A job's final status fields.
pub fn finish(job: &mut Value, status: &str) {
    job["status"] = json!(status);
    job["endedAt"] = json!(util::now());
}

/// One record error of a run.
#[derive(Debug, Clone)]
pub struct RecordError {
    /// Machine-readable code.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// Where (`http`, `preMap`, `mapping`, …).
    pub source: String,
    /// The child job it happened in.
    pub job: String,
    /// The record as it entered the stage, and the stage (page processor index); None when the
    /// error is not about one record.
    pub retry: Option<(Value, usize)>,
}

impl RecordError {
    /// The job error document.
    pub fn to_doc(&self, flow_job: &str) -> Value {
        let id = util::new_id();
        let mut doc = json!({
            "_id": id,
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "_jobId": self.job,
            "_flowJobId": flow_job,
            "createdAt": util::now(),
            "resolved": false,
        });
        if let Some((record, stage)) = &self.retry {
            doc["_retryId"] = json!(id);
            doc["retryData"] = json!({"record": record, "stage": {"processor": stage}});
        }
        doc
    }
}

/// Add the writes of `errors` (under `flow_job`) to `batch`.
pub fn put_errors(batch: &mut Batch, account: &str, flow_job: &str, errors: &[RecordError]) {
    let kind = errors_kind(flow_job);
    for error in errors {
        let doc = error.to_doc(flow_job);
        let id = doc["_id"].as_str().unwrap_or_default().to_owned();
        Db::put_doc(batch, account, &kind, &id, &doc, &[], &[]);
    }
}

/// The errors of a job: a flow job's own, or those a child job's run recorded for it.
pub fn errors_of(db: &Db, account: &str, job: &Value) -> Result<Vec<Value>> {
    let id = job["_id"].as_str().unwrap_or_default();
    if job["type"].as_str() == Some("flow") {
        return db.list(account, &errors_kind(id));
    }
    let mut errors = db.list(account, &errors_kind(id))?;
    if let Some(flow_job) = job["_flowJobId"].as_str() {
        errors.extend(
            db.list(account, &errors_kind(flow_job))?
                .into_iter()
                .filter(|e| e["_jobId"].as_str() == Some(id)),
        );
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_jobs_children_are_found_through_their_index_and_ended_with_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path()).expect("store");
        let flow_job = new_job("flow", "running", json!({}));
        let flow_id = flow_job["_id"].as_str().expect("an id").to_owned();
        let export = new_job("export", "running", json!({"_flowJobId": flow_id}));
        let import = new_job("import", "completed", json!({"_flowJobId": flow_id}));
        let other = new_job("export", "running", json!({"_flowJobId": "someone-else"}));
        let mut batch = Batch::default();
        for job in [&flow_job, &export, &import, &other] {
            put(&mut batch, "acct", job);
        }
        db.write(batch).expect("written");

        let mut found: Vec<String> = children_of(&db, "acct", &flow_id)
            .expect("children")
            .iter()
            .map(|j| j["_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        found.sort();
        let mut expected = vec![
            export["_id"].as_str().unwrap_or_default().to_owned(),
            import["_id"].as_str().unwrap_or_default().to_owned(),
        ];
        expected.sort();
        assert_eq!(found, expected);

        finish_children(&db, "acct", &flow_id, "cancelled").expect("ended");
        let status = |job: &Value| {
            let id = job["_id"].as_str().unwrap_or_default();
            db.get("acct", "jobs", id).expect("read").expect("there")["status"].clone()
        };
        assert_eq!(status(&export), "cancelled", "a running child ends with it");
        assert_eq!(
            status(&import),
            "completed",
            "a finished child keeps its status"
        );
        assert_eq!(
            status(&other),
            "running",
            "another flow job's child is untouched"
        );
    }
}
