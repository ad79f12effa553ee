//! Flows that run: the job queue and its dispatcher, the scheduler, and (in the children) the
//! export side of a run that reads and cuts pages (`pages`), the runner that moves them through
//! hooks, mapping and imports, templates, schedules.
//!
//! A run is a flow job stored `queued` with an entry in the store's queue space before the API
//! answers. The dispatcher claims queued jobs first come, first served, at most one running job
//! per flow; a claimed job moves to `running/` in the queue space, so after a crash the jobs
//! that were running are found and ended with a clear error, and queued ones still run.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::AppState;
use crate::store::{Batch, Result, Space};
use crate::util;

pub mod job;
pub mod mapping;
mod pages;
pub mod runner;
pub mod schedule;
pub mod steps;
pub mod template;

/// Jobs that may run at once (different flows).
const MAX_RUNNING_JOBS: usize = 8;
/// How often the dispatcher looks at the queue without being woken.
const DISPATCH_INTERVAL: Duration = Duration::from_secs(1);
/// How often the scheduler re-reads the flows' schedules.
const SCHEDULE_REFRESH: Duration = Duration::from_secs(10);

/// The job engine's in-memory side: which flows run now, and the dispatcher's wake-up call.
#[derive(Default)]
pub struct Engine {
    wake: Notify,
    running: Mutex<HashSet<String>>,
}

impl Engine {
    /// Wake the dispatcher (a job was queued or ended).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn flow_key(account: &str, flow: &str) -> String {
    format!("{account}/{flow}")
}

/// A new flow job for `flow`, stored `queued` (not yet flushed). `fields` adds to the job
/// (`_retryOfJobId`, `runType`).
pub fn enqueue(state: &AppState, account: &str, flow: &Value, fields: Value) -> Result<Value> {
    let mut extra = json!({
        "_flowId": flow["_id"],
        "_integrationId": flow["_integrationId"],
    });
    if let Value::Object(fields) = fields {
        for (k, v) in fields {
            extra[k.as_str()] = v;
        }
    }
    let job = job::new_job("flow", "queued", extra);
    job::enqueue(&state.db, account, &job)?;
    state.jobs.wake();
    Ok(job)
}

/// Queue a run of `flow` unless one is already waiting (scheduled and chained runs are queued
/// once, never duplicated).
pub fn enqueue_unless_queued(
    state: &AppState,
    account: &str,
    flow: &Value,
    run_type: &str,
) -> Result<Option<Value>> {
    let flow_id = flow["_id"].as_str().unwrap_or_default();
    for (key, entry) in state.db.queue_scan("queued/")? {
        if entry["account"].as_str() == Some(account) && entry["_flowId"].as_str() == Some(flow_id)
        {
            let job_id = key.trim_start_matches("queued/");
            if let Some(job) = state.db.get(account, "jobs", job_id)?
                && job["status"].as_str() == Some("queued")
            {
                return Ok(None);
            }
        }
    }
    enqueue(state, account, flow, json!({"runType": run_type})).map(Some)
}

/// Start the engine: end what a crash left running, then dispatch queued jobs and run
/// schedules until the process ends.
pub fn start(state: AppState) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    recover(&state)?;
    let scheduler = state.clone();
    tokio::spawn(async move { schedule_loop(scheduler).await });
    Ok(tokio::spawn(async move {
        loop {
            if let Err(e) = dispatch(&state) {
                tracing::error!("dispatching jobs failed: {e:#}");
            }
            tokio::select! {
                _ = state.jobs.wake.notified() => {}
                _ = tokio::time::sleep(DISPATCH_INTERVAL) => {}
            }
        }
    }))
}

/// Jobs the store says were running when the process stopped did not finish: end them
/// (and their child jobs) `failed` with a clear error. Their queue entries go.
fn recover(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    for (key, entry) in db.queue_scan("running/")? {
        let job_id = key.trim_start_matches("running/").to_owned();
        let account = entry["account"].as_str().unwrap_or_default().to_owned();
        let message = "the server stopped while this job was running; the pages processed \
                       before are counted, the rest were not run: run the flow again (or retry \
                       its errors)";
        if let Some(job) = db.get(&account, "jobs", &job_id)?
            && matches!(job["status"].as_str(), Some("running" | "cancelling"))
        {
            let status = if job["status"].as_str() == Some("cancelling") {
                "cancelled"
            } else {
                "failed"
            };
            let error = job::RecordError {
                code: "interrupted".into(),
                message: message.into(),
                source: "flow".into(),
                job: job_id.clone(),
                retry: None,
            };
            let mut batch = Batch::default();
            job::put_errors(&mut batch, &account, &job_id, &[error]);
            db.write(batch)?;
            job::update(db, &account, &job_id, |j| {
                job::finish(j, status);
                let n = j["numError"].as_i64().unwrap_or(0);
                j["numError"] = json!(n + 1);
            })?;
            job::finish_children(db, &account, &job_id, status)?;
            tracing::warn!(job = %job_id, "ended a job the previous run left {}", status);
        }
        let mut batch = Batch::default();
        batch.delete(Space::Queue, key);
        db.write(batch)?;
    }
    db.flush()?;
    Ok(())
}

/// Claim and start every queued job whose flow is not running, oldest first.
fn dispatch(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    for (key, entry) in db.queue_scan("queued/")? {
        let job_id = key.trim_start_matches("queued/").to_owned();
        let account = entry["account"].as_str().unwrap_or_default().to_owned();
        let flow = entry["_flowId"].as_str().unwrap_or_default().to_owned();
        let flow_key = flow_key(&account, &flow);
        {
            let running = state.jobs.running();
            if running.len() >= MAX_RUNNING_JOBS {
                return Ok(());
            }
            if running.contains(&flow_key) {
                continue;
            }
        }
        // Claim under the write lock: a cancel of the queued job races with this.
        let claimed = {
            let _guard = db.lock();
            match db.get(&account, "jobs", &job_id)? {
                Some(mut job) if job["status"].as_str() == Some("queued") => {
                    let now = json!(util::now());
                    job["status"] = json!("running");
                    job["startedAt"] = now.clone();
                    job["lastModified"] = now;
                    let mut batch = Batch::default();
                    job::put(&mut batch, &account, &job);
                    batch.delete(Space::Queue, key.clone());
                    batch.put(
                        Space::Queue,
                        format!("running/{job_id}"),
                        job::queue_entry(&account, &job),
                    );
                    db.write(batch)?;
                    true
                }
                _ => {
                    let mut batch = Batch::default();
                    batch.delete(Space::Queue, key.clone());
                    db.write(batch)?;
                    false
                }
            }
        };
        if !claimed {
            continue;
        }
        state.jobs.running().insert(flow_key.clone());
        let state = state.clone();
        tokio::spawn(async move {
            runner::run(state.clone(), account, job_id.clone()).await;
            let mut batch = Batch::default();
            batch.delete(Space::Queue, format!("running/{job_id}"));
            if let Err(e) = state.db.write(batch).and_then(|()| state.db.flush()) {
                tracing::error!(job = %job_id, "clearing the queue entry failed: {e}");
            }
            state.jobs.running().remove(&flow_key);
            state.jobs.wake();
        });
    }
    Ok(())
}

/// A flow's schedule as the scheduler tracks it.
struct Scheduled {
    account: String,
    flow: String,
    expression: String,
    timezone: Option<String>,
    schedule: schedule::Schedule,
    next: Option<DateTime<Utc>>,
}

/// Every second, queue the flows whose scheduled time has come; re-read the schedules every
/// [`SCHEDULE_REFRESH`].
async fn schedule_loop(state: AppState) {
    let mut table: HashMap<String, Scheduled> = HashMap::new();
    let mut refreshed: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let now = Utc::now();
        if refreshed.is_none_or(|r| r.elapsed() >= SCHEDULE_REFRESH) {
            if let Err(e) = refresh_schedules(&state, &mut table, now) {
                tracing::error!("reading flow schedules failed: {e:#}");
            }
            refreshed = Some(tokio::time::Instant::now());
        }
        for entry in table.values_mut() {
            let Some(next) = entry.next else { continue };
            if next > now {
                continue;
            }
            entry.next = entry.schedule.next_after(now);
            let flow = match state.db.get(&entry.account, "flows", &entry.flow) {
                Ok(Some(flow)) if flow["disabled"].as_bool() != Some(true) => flow,
                _ => continue,
            };
            match enqueue_unless_queued(&state, &entry.account, &flow, "scheduled") {
                Ok(_) => {
                    if let Err(e) = state.db.flush() {
                        tracing::error!("flushing a scheduled run failed: {e}");
                    }
                }
                Err(e) => {
                    tracing::error!(flow = %entry.flow, "queueing a scheduled run failed: {e}")
                }
            }
        }
    }
}

fn refresh_schedules(
    state: &AppState,
    table: &mut HashMap<String, Scheduled>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    for account in state.db.account_scan("account/")? {
        let Some(account) = account["_id"].as_str() else {
            continue;
        };
        for flow in state.db.list(account, "flows")? {
            let (Some(id), Some(expression)) = (flow["_id"].as_str(), flow["schedule"].as_str())
            else {
                continue;
            };
            if flow["disabled"].as_bool() == Some(true) {
                continue;
            }
            let key = flow_key(account, id);
            let timezone = flow["timezone"].as_str().map(str::to_owned);
            let unchanged = table
                .get(&key)
                .is_some_and(|s| s.expression == expression && s.timezone == timezone);
            seen.insert(key.clone());
            if unchanged {
                continue;
            }
            match schedule::Schedule::parse(expression, timezone.as_deref()) {
                Ok(schedule) => {
                    let next = schedule.next_after(now);
                    table.insert(
                        key,
                        Scheduled {
                            account: account.to_owned(),
                            flow: id.to_owned(),
                            expression: expression.to_owned(),
                            timezone,
                            schedule,
                            next,
                        },
                    );
                }
                Err(e) => tracing::warn!(flow = %id, "ignoring an invalid schedule: {e}"),
            }
        }
    }
    table.retain(|k, _| seen.contains(k));
    Ok(())
}
