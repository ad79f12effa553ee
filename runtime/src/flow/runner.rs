//! Running one flow job: page generators stream pages through a bounded channel into the page
//! processors; every page is checkpointed (counts, errors) on the flow job and its child jobs,
//! and cancel requests are honoured at page boundaries.

use std::collections::HashMap;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::job::{self, Counts, RecordError};
use super::mapping::Mapping;
use super::pages::{Cut, ExportPage, Owner, PAGES_IN_FLIGHT, produce};
use super::steps::{self, ImportStep};
use super::template::Template;
use crate::AppState;
use crate::adaptor::{self, AdaptorError, Call, ErrorItem, RecordResult, files};
use crate::extension::FunctionKind;
use crate::store::{Batch, Db};
use crate::util;

/// Records per page when the export does not say (`pageSize`).
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// How often a running job's counts and errors are written (and a cancel looked for).
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Why a run stopped before its end.
#[derive(Debug)]
enum Stop {
    Cancelled,
    Failed(String),
}

/// One page processor of the flow, resolved.
struct Processor {
    /// The page processor entry of the flow (responseMapping, proceedOnFailure, hooks).
    entry: Value,
    /// The export (lookup) or import document.
    resource: Value,
    is_import: bool,
    connection: Result<Value, adaptor::AdaptorError>,
    mapping: Result<Mapping, String>,
    response_mapping: Option<Mapping>,
    /// The child job that counts this processor's records.
    job: String,
    /// The run's one file, for file imports that aggregate (`file.skipAggregation` not true).
    writer: Option<files::FileWriter>,
}

/// A record on its way through the processors.
struct Slot {
    record: Value,
    alive: bool,
    failed: bool,
    /// The open error of an earlier job this record retries.
    retry_of: Option<Value>,
}

struct Runner {
    state: AppState,
    account: String,
    flow: Value,
    flow_job: String,
    connector: Option<String>,
    context: Value,
    processors: Vec<Processor>,
    /// Counts not yet written, per job id.
    counts: HashMap<String, Counts>,
    errors: Vec<RecordError>,
    /// Original errors fixed by this (retry) run.
    resolved: Vec<Value>,
    last_checkpoint: std::time::Instant,
    /// The component versions this job started with.
    pins: crate::extension::call::Pins,
    /// Exported files to delete or move once the run's aggregated files are uploaded.
    deferred_files: Vec<DeferredFile>,
}

/// An exported file whose after-export action waits for the aggregated uploads.
struct DeferredFile {
    policy: files::AfterExport,
    connection: Value,
    path: String,
    job: String,
}

/// Run the flow job `job_id` of `account` to its end.
///
/// A bug that panics in the run ends the job `failed` with the panic's message, like any other
/// failure, instead of leaving it (and the flow's next runs) waiting forever.
pub async fn run(state: AppState, account: String, job_id: String) {
    let outcome = failing_on_panic(&job_id, run_inner(&state, &account, &job_id)).await;
    let (status, message) = match outcome {
        Ok(None) => ("completed", None),
        Ok(Some(Stop::Cancelled)) => ("cancelled", None),
        Ok(Some(Stop::Failed(m))) => ("failed", Some(m)),
        Err(e) => ("failed", Some(format!("{e:#}"))),
    };
    if let Err(e) = finish_flow_job(&state, &account, &job_id, status, message).await {
        tracing::error!(job = %job_id, "finishing the job failed: {e:#}");
    }
}

/// The outcome of `run`; a panic in it is a failure with the panic's message.
async fn failing_on_panic(
    job_id: &str,
    run: impl std::future::Future<Output = anyhow::Result<Option<Stop>>>,
) -> anyhow::Result<Option<Stop>> {
    use futures::FutureExt as _;
    std::panic::AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a panic");
            tracing::error!(job = %job_id, "the run stopped on an internal error: {what}");
            Ok(Some(Stop::Failed(format!(
                "the run stopped on an internal error: {what}"
            ))))
        })
}

async fn run_inner(state: &AppState, account: &str, job_id: &str) -> anyhow::Result<Option<Stop>> {
    let db = &state.db;
    let job = db
        .get(account, "jobs", job_id)?
        .ok_or_else(|| anyhow::anyhow!("job '{job_id}' vanished"))?;
    let flow_id = job["_flowId"].as_str().unwrap_or_default().to_owned();
    let Some(flow) = db.get(account, "flows", &flow_id)? else {
        return Ok(Some(Stop::Failed(format!(
            "flow '{flow_id}' no longer exists"
        ))));
    };
    if let Err(message) = crate::marketplace::check_license(state, account, &flow) {
        return Ok(Some(Stop::Failed(message)));
    }
    let (generators, processor_entries) = plan(&flow);
    let integration = flow["_integrationId"].as_str().map(str::to_owned);
    let settings = match &integration {
        Some(i) => db
            .get(account, "integrations", i)?
            .map(|d| d["settings"].clone())
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let last = db
        .get(account, "flowruns", &flow_id)?
        .map(|d| d["lastExportDateTime"].clone())
        .unwrap_or(Value::Null);
    let current = job["startedAt"].clone();
    let context = json!({
        "lastExportDateTime": last,
        "currentExportDateTime": current,
        "settings": settings,
        "flow": {"_id": flow_id, "name": flow["name"]},
    });
    let mut runner = Runner {
        state: state.clone(),
        account: account.to_owned(),
        connector: flow["_connectorId"].as_str().map(str::to_owned),
        flow,
        flow_job: job_id.to_owned(),
        context,
        processors: Vec::new(),
        counts: HashMap::new(),
        errors: Vec::new(),
        resolved: Vec::new(),
        last_checkpoint: std::time::Instant::now(),
        pins: Default::default(),
        deferred_files: Vec::new(),
    };
    runner.resolve_processors(&processor_entries)?;

    let outcome = match job["_retryOfJobId"].as_str() {
        Some(original) => runner.retry(original).await?,
        None => {
            let mut outcome = None;
            for export_id in generators {
                outcome = runner.generate(&export_id).await?;
                if outcome.is_some() {
                    break;
                }
            }
            outcome
        }
    };
    // Records already counted as imported are in the aggregated files: deliver them even when
    // the run stops early.
    runner.finish_files().await?;
    Ok(outcome)
}

/// The flow's page generators (export ids) and page processor entries; a simple flow is one
/// generator and one import processor.
fn plan(flow: &Value) -> (Vec<String>, Vec<Value>) {
    if let Some(export) = flow["_exportId"].as_str() {
        let processors = flow["_importId"]
            .as_str()
            .map(|i| vec![json!({"type": "import", "_importId": i})])
            .unwrap_or_default();
        return (vec![export.to_owned()], processors);
    }
    let generators = flow["pageGenerators"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["_exportId"].as_str().map(str::to_owned))
        .collect();
    let processors = flow["pageProcessors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (generators, processors)
}

impl Runner {
    fn call(&self) -> Call<'_> {
        Call {
            state: &self.state,
            account: &self.account,
            flow: self.flow["_id"].as_str(),
            integration: self.flow["_integrationId"].as_str(),
            connector: self.connector.as_deref(),
            pins: Some(&self.pins),
        }
    }

    fn db(&self) -> &Db {
        &self.state.db
    }

    /// Load each processor's resource and connection, compile its mappings, and create its
    /// child job.
    fn resolve_processors(&mut self, entries: &[Value]) -> anyhow::Result<()> {
        let mut batch = Batch::default();
        for entry in entries {
            let is_import = entry["type"].as_str() == Some("import");
            let (kind, field) = if is_import {
                ("imports", "_importId")
            } else {
                ("exports", "_exportId")
            };
            let id = entry[field].as_str().unwrap_or_default();
            let resource = self
                .db()
                .get(&self.account, kind, id)?
                .ok_or_else(|| anyhow::anyhow!("the flow's {kind} '{id}' no longer exists"))?;
            let connection = adaptor::connection_of(&self.call(), &resource)
                .and_then(|c| adaptor::ensure_online(&c).map(|()| c));
            let mapping = Mapping::compile(&resource["mapping"])
                .map_err(|e| format!("mapping {}: {e}", e.field()));
            let response_mapping = match entry.get("responseMapping") {
                Some(m) if !m.is_null() => Some(Mapping::compile(m).map_err(|e| {
                    anyhow::anyhow!("responseMapping {} of the flow: {e}", e.field())
                })?),
                _ => None,
            };
            let child = job::new_job(
                if is_import { "import" } else { "export" },
                "running",
                json!({
                    "_flowId": self.flow["_id"],
                    "_flowJobId": self.flow_job,
                    "_integrationId": self.flow["_integrationId"],
                    field: id,
                }),
            );
            job::put(&mut batch, &self.account, &child);
            let aggregates = is_import
                && resource["file"]["skipAggregation"].as_bool() != Some(true)
                && matches!(&connection, Ok(c) if matches!(c["type"].as_str(), Some("ftp" | "s3")));
            let (connection, writer) = match connection {
                Ok(c) if aggregates => {
                    let temp = self.state.adaptors.temp_dir();
                    match files::FileWriter::new(&c, &resource, &temp) {
                        Ok(w) => {
                            let w = w.with_log(self.state.adaptors.log(&c));
                            (Ok(c), Some(w))
                        }
                        Err(e) => (Err(e), None),
                    }
                }
                other => (other, None),
            };
            self.processors.push(Processor {
                entry: entry.clone(),
                resource,
                is_import,
                connection,
                mapping,
                response_mapping,
                job: child["_id"].as_str().unwrap_or_default().to_owned(),
                writer,
            });
        }
        self.db().write(batch)?;
        Ok(())
    }

    fn count(&mut self, job: &str, change: impl Fn(&mut Counts)) {
        change(self.counts.entry(job.to_owned()).or_default());
        change(self.counts.entry(self.flow_job.clone()).or_default());
    }

    fn count_child(&mut self, job: &str, change: impl FnOnce(&mut Counts)) {
        change(self.counts.entry(job.to_owned()).or_default());
    }

    /// [`Runner::checkpoint`] when the last one is [`CHECKPOINT_INTERVAL`] old (or many
    /// errors wait): progress stays current without a store write per page.
    fn maybe_checkpoint(&mut self) -> anyhow::Result<bool> {
        if self.last_checkpoint.elapsed() < CHECKPOINT_INTERVAL && self.errors.len() < 1000 {
            return Ok(false);
        }
        self.checkpoint()
    }

    /// Write the counts and errors gathered since the last checkpoint; returns whether a
    /// cancel was asked for.
    fn checkpoint(&mut self) -> anyhow::Result<bool> {
        self.last_checkpoint = std::time::Instant::now();
        let db = self.state.db.clone();
        let _guard = db.lock();
        let mut batch = Batch::default();
        let mut cancelling = None;
        let now = json!(util::now());
        for (id, counts) in self.counts.drain() {
            if counts.is_zero() && id != self.flow_job {
                continue;
            }
            let Some(mut doc) = self.state.db.get(&self.account, "jobs", &id)? else {
                continue;
            };
            counts.add_to(&mut doc);
            if id == self.flow_job {
                cancelling = Some(doc["status"].as_str() == Some("cancelling"));
                if self.errors.iter().any(|e| e.retry.is_some()) {
                    doc["retriable"] = json!(true);
                }
            }
            doc["lastModified"] = now.clone();
            job::put(&mut batch, &self.account, &doc);
        }
        // The flow job had nothing to count: read its status for a cancel request all the same.
        let cancelling = match cancelling {
            Some(c) => c,
            None => self
                .state
                .db
                .get(&self.account, "jobs", &self.flow_job)?
                .is_some_and(|d| d["status"].as_str() == Some("cancelling")),
        };
        job::put_errors(&mut batch, &self.account, &self.flow_job, &self.errors);
        self.errors.clear();
        if !self.resolved.is_empty() {
            let fixed = std::mem::take(&mut self.resolved);
            resolve_originals(&self.state.db, &self.account, fixed, &mut batch)?;
        }
        self.state.db.write(batch)?;
        Ok(cancelling)
    }

    /// Run one page generator: stream its pages through preSavePage and the processors.
    async fn generate(&mut self, export_id: &str) -> anyhow::Result<Option<Stop>> {
        let Some(export) = self.db().get(&self.account, "exports", export_id)? else {
            return Ok(Some(Stop::Failed(format!(
                "the flow's export '{export_id}' no longer exists"
            ))));
        };
        let export_job = job::new_job(
            "export",
            "running",
            json!({
                "_flowId": self.flow["_id"],
                "_flowJobId": self.flow_job,
                "_integrationId": self.flow["_integrationId"],
                "_exportId": export_id,
            }),
        );
        let export_job_id = export_job["_id"].as_str().unwrap_or_default().to_owned();
        {
            let mut batch = Batch::default();
            job::put(&mut batch, &self.account, &export_job);
            self.db().write(batch)?;
        }
        let connection = match adaptor::connection_of(&self.call(), &export)
            .and_then(|c| adaptor::ensure_online(&c).map(|()| c))
        {
            Ok(c) => c,
            Err(e) => {
                self.finish_child(&export_job_id, "failed")?;
                return Ok(Some(Stop::Failed(format!(
                    "export '{export_id}': {}",
                    e.message
                ))));
            }
        };
        let once_connection = connection.clone();
        let page_size = export["pageSize"]
            .as_u64()
            .map_or(DEFAULT_PAGE_SIZE, |n| n.max(1) as usize);
        let limit = match export["type"].as_str() {
            Some("test") => export["test"]["limit"].as_u64().unwrap_or(1) as usize,
            _ => usize::MAX,
        };
        let (tx, mut rx) =
            mpsc::channel::<Result<ExportPage, adaptor::AdaptorError>>(PAGES_IN_FLIGHT);
        let producer = {
            let owner = std::sync::Arc::new(Owner {
                state: self.state.clone(),
                account: self.account.clone(),
                flow: self.flow["_id"].as_str().map(str::to_owned),
                integration: self.flow["_integrationId"].as_str().map(str::to_owned),
                connector: self.connector.clone(),
                pins: self.pins.clone(),
            });
            let export = std::sync::Arc::new(export.clone());
            let context = std::sync::Arc::new(self.context.clone());
            let cut = Cut { page_size, limit };
            tokio::spawn(produce(owner, connection, export, context, cut, tx))
        };
        let mut stop = None;
        let after_export = files::AfterExport::of(&once_connection, &export);
        let mut file_client: Option<files::FileClient> = None;
        // Whether the export side ended by itself (rather than the loop stopping it).
        let mut ended = false;
        loop {
            let Some(page) = rx.recv().await else {
                ended = true;
                break;
            };
            let ExportPage {
                records,
                errors: read_errors,
                hook_errors,
                completed,
                abort,
                exported: n,
            } = match page {
                Ok(page) => page,
                Err(e) => {
                    if e.auth {
                        self.offline(&once_connection, &e.message);
                    }
                    // Recorded once, on the flow job, when the run ends failed.
                    stop = Some(Stop::Failed(format!(
                        "export '{export_id}' failed: {}",
                        e.message
                    )));
                    break;
                }
            };
            self.count(&export_job_id, |c| {
                c.export += n;
                c.pages_generated += 1;
            });
            // preSavePage ran in the producer, overlapping with the processors' work.
            for (error, record) in hook_errors {
                match record {
                    Some(record) => self.record_error(&export_job_id, error, Some((record, 0))),
                    None => self.record_error(&export_job_id, error, None),
                }
            }
            let slots = records;
            let slots: Vec<Slot> = slots
                .into_iter()
                .map(|record| Slot {
                    record,
                    alive: true,
                    failed: false,
                    retry_of: None,
                })
                .collect();
            let exported: Vec<Value> = if export["type"].as_str() == Some("once") {
                slots.iter().map(|s| s.record.clone()).collect()
            } else {
                Vec::new()
            };
            for error in read_errors {
                self.record_error(&export_job_id, error, None);
            }
            self.process(slots, 0).await;
            self.count(&export_job_id, |c| c.pages_processed += 1);
            // Only now that every record of these files went through are they removed or moved —
            // or, when an import aggregates into one file per run, once that file is uploaded.
            let completed = if self.processors.iter().any(|p| p.writer.is_some()) {
                for path in completed {
                    self.deferred_files.push(DeferredFile {
                        policy: after_export.clone(),
                        connection: once_connection.clone(),
                        path,
                        job: export_job_id.clone(),
                    });
                }
                Vec::new()
            } else {
                completed
            };
            for path in completed {
                if let Err(e) = self
                    .after_export(&after_export, &mut file_client, &once_connection, &path)
                    .await
                {
                    let error = ErrorItem {
                        code: e.code,
                        message: format!(
                            "{path} was read but could not be removed or moved: {}",
                            e.message
                        ),
                        source: Some("file".into()),
                    };
                    self.record_error(&export_job_id, error, None);
                }
            }
            if !exported.is_empty() {
                self.mark_once(&export, &once_connection, &exported, &export_job_id)
                    .await;
            }
            if self.maybe_checkpoint()? {
                stop = Some(Stop::Cancelled);
                break;
            }
            if abort {
                break;
            }
        }
        drop(rx);
        if !ended {
            producer.abort();
        } else if let Err(e) = producer.await
            && e.is_panic()
        {
            // Not the end of the records: what was left of them is lost, so the run fails.
            stop = Some(Stop::Failed(format!(
                "export '{export_id}' stopped on an internal error"
            )));
        }
        self.checkpoint()?;
        let status = match &stop {
            None => "completed",
            Some(Stop::Cancelled) => "cancelled",
            Some(Stop::Failed(_)) => "failed",
        };
        self.finish_child(&export_job_id, status)?;
        Ok(stop)
    }

    fn record_error(&mut self, job: &str, error: ErrorItem, retry: Option<(Value, usize)>) {
        self.record_errors(job, vec![error], retry);
    }

    /// The errors of one record (or of a page, without `retry`): each stored, the record
    /// counted once.
    fn record_errors(&mut self, job: &str, errors: Vec<ErrorItem>, retry: Option<(Value, usize)>) {
        let retry = if self.flow["skipRetries"].as_bool() == Some(true) {
            None
        } else {
            retry
        };
        if errors.is_empty() {
            return;
        }
        for error in errors {
            self.errors.push(RecordError {
                code: error.code,
                message: error.message,
                source: error.source.unwrap_or_else(|| "flow".into()),
                job: job.to_owned(),
                retry: retry.clone(),
            });
        }
        self.count(job, |c| c.error += 1);
    }

    /// Send a page through the processors from `from` on.
    async fn process(&mut self, mut slots: Vec<Slot>, from: usize) {
        for index in from..self.processors.len() {
            let alive: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].alive).collect();
            if alive.is_empty() {
                break;
            }
            let results = self.run_processor(index, &slots, &alive).await;
            // The target refused the credentials: the connection goes offline, so that the
            // next runs fail fast until a ping succeeds.
            if let Some(refused) = results.iter().find(|r| r.status_code == 401)
                && let Ok(connection) = &self.processors[index].connection
            {
                let message = refused
                    .errors
                    .first()
                    .map_or("the remote side refused the credentials", |e| {
                        e.message.as_str()
                    })
                    .to_owned();
                let connection = connection.clone();
                self.offline(&connection, &message);
            }
            let p = &self.processors[index];
            let proceed = p.entry["proceedOnFailure"].as_bool() == Some(true);
            let job = p.job.clone();
            let is_import = p.is_import;
            let mut failures = Vec::new();
            for (slot_index, result) in alive.iter().zip(&results) {
                let slot = &mut slots[*slot_index];
                if !(result.is_success() || result.ignored && result.errors.is_empty()) {
                    failures.push((*slot_index, result.errors.clone()));
                    slot.failed = true;
                    if !proceed {
                        slot.alive = false;
                    }
                }
            }
            let mut counts = Counts::default();
            for result in &results {
                if !result.errors.is_empty() || !(200..300).contains(&result.status_code) {
                } else if result.ignored {
                    counts.ignore += 1;
                } else {
                    counts.success += 1;
                }
            }
            if !is_import {
                counts.export += results.len() as i64;
            }
            self.count(&job, |c| {
                c.success += counts.success;
                c.ignore += counts.ignore;
            });
            // Lookups' records and processor pages belong to the child job only; the flow
            // job counts what its generators exported.
            self.count_child(&job, |c| {
                c.export += counts.export;
                c.pages_processed += 1;
            });
            for (slot_index, errors) in failures {
                let record = slots[slot_index].record.clone();
                let errors = if errors.is_empty() {
                    vec![ErrorItem {
                        code: "failed".into(),
                        message: "the record failed".into(),
                        source: None,
                    }]
                } else {
                    errors
                };
                self.record_errors(&job, errors, Some((record, index)));
            }
            let mut mapping_errors = Vec::new();
            if let Some(mapping) = &self.processors[index].response_mapping {
                for (slot_index, result) in alive.iter().zip(&results) {
                    let response = steps::response_json(result);
                    let slot = &mut slots[*slot_index];
                    if let Err(e) = mapping.apply_response(&mut slot.record, &response) {
                        let error = ErrorItem {
                            code: e.code().to_owned(),
                            message: format!("responseMapping {}: {e}", e.field()),
                            source: Some("responseMapping".into()),
                        };
                        slot.alive = false;
                        slot.failed = true;
                        mapping_errors.push((error, slot.record.clone()));
                    }
                }
            }
            for (error, record) in mapping_errors {
                self.record_error(&job, error, Some((record, index)));
            }
            if let Some(hook) =
                steps::hook_ref(&self.processors[index].entry, "postResponseMap").cloned()
            {
                self.post_response_map(index, &hook, &mut slots, &alive, &results)
                    .await;
            }
        }
        for slot in slots {
            if !slot.failed
                && let Some(original) = slot.retry_of
            {
                self.resolved.push(original);
            }
        }
    }

    async fn post_response_map(
        &mut self,
        index: usize,
        hook: &Value,
        slots: &mut [Slot],
        alive: &[usize],
        results: &[RecordResult],
    ) {
        let live: Vec<usize> = alive.iter().copied().filter(|i| slots[*i].alive).collect();
        if live.is_empty() {
            return;
        }
        let resource = &self.processors[index].resource;
        let id_field = if self.processors[index].is_import {
            "_importId"
        } else {
            "_exportId"
        };
        let responses: Vec<Value> = alive
            .iter()
            .zip(results)
            .filter(|(i, _)| slots[**i].alive)
            .map(|(_, r)| steps::response_json(r))
            .collect();
        let options = json!({
            "postResponseMapData": live.iter().map(|i| slots[*i].record.clone()).collect::<Vec<_>>(),
            "responseData": responses,
            "oneToMany": false,
            id_field: resource["_id"],
        });
        let call = self.call();
        match steps::call_hook(&call, hook, FunctionKind::PostResponseMap, options).await {
            Ok(Value::Array(items)) => {
                for (i, item) in live.iter().zip(items) {
                    slots[*i].record = item;
                }
            }
            Ok(_) => {}
            Err(e) => {
                let error = steps::hook_error(FunctionKind::PostResponseMap, hook, &e);
                let job = self.processors[index].job.clone();
                for i in live {
                    let record = slots[i].record.clone();
                    slots[i].alive = false;
                    slots[i].failed = true;
                    self.record_error(&job, error.clone(), Some((record, index)));
                }
            }
        }
    }

    /// Run processor `index` over the alive slots; one result per alive slot.
    async fn run_processor(
        &self,
        index: usize,
        slots: &[Slot],
        alive: &[usize],
    ) -> Vec<RecordResult> {
        let p = &self.processors[index];
        let connection = match &p.connection {
            Ok(c) => c,
            Err(e) => {
                let error = ErrorItem {
                    code: e.code.clone(),
                    message: e.message.clone(),
                    source: Some("connection".into()),
                };
                return vec![RecordResult::failure(422, error); alive.len()];
            }
        };
        let call = Call {
            state: &self.state,
            pins: Some(&self.pins),
            account: &self.account,
            flow: self.flow["_id"].as_str(),
            integration: self.flow["_integrationId"].as_str(),
            connector: p.resource["_connectorId"]
                .as_str()
                .or(self.connector.as_deref()),
        };
        if p.is_import {
            let mapping = match &p.mapping {
                Ok(m) => m,
                Err(message) => {
                    let error = ErrorItem {
                        code: "invalid_mapping".into(),
                        message: message.clone(),
                        source: Some("mapping".into()),
                    };
                    return vec![RecordResult::failure(422, error); alive.len()];
                }
            };
            let records: Vec<&Value> = alive.iter().map(|i| &slots[*i].record).collect();
            let step = ImportStep {
                import: &p.resource,
                mapping,
                connection,
                context: &self.context,
                sink: p.writer.as_ref(),
            };
            steps::import_page(&call, &step, &records).await
        } else {
            let mut results = Vec::with_capacity(alive.len());
            for i in alive {
                results.push(
                    steps::lookup(
                        &call,
                        connection,
                        &p.resource,
                        &self.context,
                        &slots[*i].record,
                    )
                    .await,
                );
            }
            results
        }
    }

    /// `once` exports over HTTP: after their page went through, mark the records exported
    /// with the export's `http.once` request (`relativeURI`, `method`, `body`, templated per
    /// record). Wrappers mark records themselves.
    async fn mark_once(
        &mut self,
        export: &Value,
        connection: &Value,
        records: &[Value],
        job: &str,
    ) {
        let once = export["http"]["once"].clone();
        let Some(uri) = once["relativeURI"].as_str() else {
            return;
        };
        let conn = match self.state.adaptors.http(connection) {
            Ok(c) => c,
            Err(_) => return,
        };
        let method = once["method"].as_str().unwrap_or("PUT").to_owned();
        let uri = match Template::compile(uri) {
            Ok(t) => t,
            Err(e) => {
                let error = ErrorItem {
                    code: "invalid_template".into(),
                    message: format!("http.once.relativeURI: {e}"),
                    source: Some("export".into()),
                };
                self.record_error(job, error, None);
                return;
            }
        };
        let body = once["body"]
            .as_str()
            .and_then(|b| Template::compile(b).ok());
        for record in records {
            let ctx = steps::record_context(&self.context, record);
            let rendered = uri.render(&ctx);
            let payload = body
                .as_ref()
                .and_then(|b| b.render(&ctx).ok())
                .map(String::into_bytes);
            let headers = [("content-type".to_owned(), "application/json".to_owned())];
            let result = match rendered {
                Ok(path) => conn
                    .send(&method, &path, &headers, payload)
                    .await
                    .and_then(|r| {
                        if (200..300).contains(&r.status) {
                            Ok(())
                        } else {
                            Err(AdaptorError::new(
                                format!("http_{}", r.status),
                                format!("marking the record exported answered {}", r.status),
                            )
                            .with_status(r.status))
                        }
                    }),
                Err(e) => Err(AdaptorError::new("invalid_template", e.to_string())),
            };
            if let Err(e) = result {
                let error = ErrorItem {
                    code: e.code,
                    message: format!("once export: {}", e.message),
                    source: Some("export".into()),
                };
                self.record_error(job, error, None);
            }
        }
    }

    /// Upload each aggregated file import's file and call its postAggregate hook.
    async fn finish_files(&mut self) -> anyhow::Result<()> {
        let mut uploads_ok = true;
        for index in 0..self.processors.len() {
            let Some(writer) = self.processors[index].writer.as_ref() else {
                continue;
            };
            if writer.records() == 0 {
                continue;
            }
            let uploaded = writer.upload(&self.context).await;
            let data = match &uploaded {
                Ok(path) => json!({"success": true, "_json": {"fileName": path}}),
                Err(e) => {
                    json!({"success": false, "code": e.code, "message": e.message, "source": "file"})
                }
            };
            let job = self.processors[index].job.clone();
            uploads_ok &= uploaded.is_ok();
            if let Err(e) = &uploaded {
                let error = ErrorItem {
                    code: e.code.clone(),
                    message: format!("uploading the aggregated file failed: {}", e.message),
                    source: Some("file".into()),
                };
                self.record_error(&job, error, None);
            }
            let resource = self.processors[index].resource.clone();
            if let Some(hook) = steps::hook_ref(&resource, "postAggregate") {
                let options = json!({
                    "postAggregateData": data,
                    "_importId": resource["_id"],
                    "_connectionId": resource["_connectionId"],
                });
                let call = Call {
                    state: &self.state,
                    pins: Some(&self.pins),
                    account: &self.account,
                    flow: self.flow["_id"].as_str(),
                    integration: self.flow["_integrationId"].as_str(),
                    connector: resource["_connectorId"]
                        .as_str()
                        .or(self.connector.as_deref()),
                };
                if let Err(e) =
                    steps::call_hook(&call, hook, FunctionKind::PostAggregate, options).await
                {
                    let error = steps::hook_error(FunctionKind::PostAggregate, hook, &e);
                    self.record_error(&job, error, None);
                }
            }
        }
        // The exported files go only once what was made of them is safely uploaded.
        let deferred = std::mem::take(&mut self.deferred_files);
        if uploads_ok {
            let mut client = None;
            for file in deferred {
                if let Err(e) = self
                    .after_export(&file.policy, &mut client, &file.connection, &file.path)
                    .await
                {
                    let error = ErrorItem {
                        code: e.code,
                        message: format!(
                            "{} was read but could not be removed or moved: {}",
                            file.path, e.message
                        ),
                        source: Some("file".into()),
                    };
                    self.record_error(&file.job, error, None);
                }
            }
        }
        self.checkpoint()?;
        Ok(())
    }

    /// Mark `connection` offline with `reason` (logged when the store refuses).
    fn offline(&self, connection: &Value, reason: &str) {
        let id = connection["_id"].as_str().unwrap_or_default();
        if let Err(e) = adaptor::set_offline(&self.state, &self.account, id, Some(reason)) {
            tracing::error!(connection = %id, "marking the connection offline failed: {e}");
        }
    }

    /// Delete or move an exported file whose records all went through.
    async fn after_export(
        &self,
        policy: &files::AfterExport,
        client: &mut Option<files::FileClient>,
        connection: &Value,
        path: &str,
    ) -> Result<(), AdaptorError> {
        if *policy == files::AfterExport::Leave {
            return Ok(());
        }
        if client.is_none() {
            let log = self.state.adaptors.log(connection);
            *client = Some(files::FileClient::connect_logged(connection, log).await?);
        }
        let client = client.as_mut().expect("connected just above");
        policy.apply(client, path).await
    }

    fn finish_child(&self, id: &str, status: &str) -> anyhow::Result<()> {
        job::update(self.db(), &self.account, id, |j| job::finish(j, status))?;
        Ok(())
    }

    /// A retry run: the original job's open retriable errors, each record from its stage.
    async fn retry(&mut self, original: &str) -> anyhow::Result<Option<Stop>> {
        let Some(original_job) = self.db().get(&self.account, "jobs", original)? else {
            return Ok(Some(Stop::Failed(format!(
                "job '{original}' no longer exists"
            ))));
        };
        let open: Vec<Value> = job::errors_of(self.db(), &self.account, &original_job)?
            .into_iter()
            .filter(|e| e["resolved"].as_bool() != Some(true) && !e["retryData"].is_null())
            .collect();
        let mut by_stage: std::collections::BTreeMap<usize, Vec<Value>> = Default::default();
        let mut seen = std::collections::HashSet::new();
        for error in open {
            // One record can carry several errors; retry it once.
            let key = (
                error["_jobId"].clone(),
                error["retryData"]["record"].to_string(),
            );
            if !seen.insert(key) {
                continue;
            }
            let stage = error["retryData"]["stage"]["processor"]
                .as_u64()
                .unwrap_or(0) as usize;
            by_stage.entry(stage).or_default().push(error);
        }
        let page_size = DEFAULT_PAGE_SIZE;
        for (stage, errors) in by_stage {
            for chunk in errors.chunks(page_size) {
                let slots = chunk
                    .iter()
                    .map(|e| Slot {
                        record: e["retryData"]["record"].clone(),
                        alive: true,
                        failed: false,
                        retry_of: Some(e.clone()),
                    })
                    .collect::<Vec<_>>();
                let n = slots.len() as i64;
                self.count_child(&self.flow_job.clone(), |c| c.export += n);
                if stage < self.processors.len() {
                    self.process(slots, stage).await;
                }
                if self.maybe_checkpoint()? {
                    return Ok(Some(Stop::Cancelled));
                }
            }
        }
        Ok(None)
    }
}

/// Mark original errors fixed by a retry: resolved (with every other open error of the same
/// record in the same child job), and their jobs' counts moved from error to success — each
/// job written once, from its latest version.
fn resolve_originals(
    db: &Db,
    account: &str,
    fixed: Vec<Value>,
    batch: &mut Batch,
) -> anyhow::Result<()> {
    let mut errors_by_kind: HashMap<String, Vec<Value>> = HashMap::new();
    let mut deltas: HashMap<String, Counts> = HashMap::new();
    let mut touched_kinds = Vec::new();
    for error in fixed {
        let Some(flow_job) = error["_flowJobId"].as_str() else {
            continue;
        };
        let kind = job::errors_kind(flow_job);
        if !errors_by_kind.contains_key(&kind) {
            errors_by_kind.insert(kind.clone(), db.list(account, &kind)?);
            touched_kinds.push((kind.clone(), flow_job.to_owned()));
        }
        let docs = errors_by_kind.get_mut(&kind).expect("inserted just above");
        let record = &error["retryData"]["record"];
        let mut count = 0;
        for doc in docs.iter_mut() {
            if doc["resolved"].as_bool() == Some(true)
                || doc["_jobId"] != error["_jobId"]
                || &doc["retryData"]["record"] != record
            {
                continue;
            }
            doc["resolved"] = json!(true);
            doc["resolvedAt"] = json!(util::now());
            let id = doc["_id"].as_str().unwrap_or_default().to_owned();
            Db::put_doc(batch, account, &kind, &id, doc, &[], &[]);
            count += 1;
        }
        if count == 0 {
            continue;
        }
        let jobs = [error["_jobId"].as_str(), Some(flow_job)];
        for id in jobs
            .into_iter()
            .flatten()
            .collect::<std::collections::BTreeSet<_>>()
        {
            let delta = deltas.entry(id.to_owned()).or_default();
            delta.success += 1;
            delta.error -= 1;
        }
    }
    let open_left: HashMap<String, bool> = touched_kinds
        .iter()
        .map(|(kind, flow_job)| {
            let open = errors_by_kind[kind]
                .iter()
                .any(|d| d["resolved"].as_bool() != Some(true) && !d["retryData"].is_null());
            (flow_job.clone(), open)
        })
        .collect();
    for (id, delta) in deltas {
        if let Some(mut doc) = db.get(account, "jobs", &id)? {
            delta.add_to(&mut doc);
            if let Some(open) = open_left.get(&id) {
                doc["retriable"] = json!(open);
            }
            doc["lastModified"] = json!(util::now());
            job::put(batch, account, &doc);
        }
    }
    Ok(())
}

/// End the flow job: final status, child jobs still running ended with it, the delta time
/// advanced when it completed, and the flows to run next queued.
async fn finish_flow_job(
    state: &AppState,
    account: &str,
    job_id: &str,
    status: &str,
    message: Option<String>,
) -> anyhow::Result<()> {
    let db = &state.db;
    if let Some(message) = &message {
        let error = RecordError {
            code: "flow_failed".into(),
            message: message.clone(),
            source: "flow".into(),
            job: job_id.to_owned(),
            retry: None,
        };
        let mut batch = Batch::default();
        job::put_errors(&mut batch, account, job_id, &[error]);
        db.write(batch)?;
    }
    let job = job::update(db, account, job_id, |j| {
        job::finish(j, status);
        if message.is_some() {
            let n = j["numError"].as_i64().unwrap_or(0);
            j["numError"] = json!(n + 1);
        }
    })?;
    job::finish_children(db, account, job_id, status)?;
    if status == "completed"
        && let Some(job) = &job
        && job["_retryOfJobId"].is_null()
    {
        let flow_id = job["_flowId"].as_str().unwrap_or_default();
        let mut batch = Batch::default();
        let doc = json!({"_id": flow_id, "lastExportDateTime": job["startedAt"], "_jobId": job_id});
        Db::put_doc(&mut batch, account, "flowruns", flow_id, &doc, &[], &[]);
        db.write(batch)?;
        if let Some(flow) = db.get(account, "flows", flow_id)? {
            for next in flow["_runNextFlowIds"].as_array().into_iter().flatten() {
                if let Some(next) = next.as_str()
                    && let Some(next_flow) = db.get(account, "flows", next)?
                    && next_flow["disabled"].as_bool() != Some(true)
                {
                    super::enqueue_unless_queued(state, account, &next_flow, "next")?;
                }
            }
        }
    }
    db.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_run_that_panics_is_a_failure_with_the_panic_message() {
        let index = 7;
        let panicked = failing_on_panic("j", async move {
            let items: Vec<u8> = Vec::new();
            // A bug: an index out of bounds.
            Ok(Some(Stop::Failed(items[index].to_string())))
        })
        .await;
        match panicked {
            Ok(Some(Stop::Failed(m))) => {
                assert!(
                    m.starts_with("the run stopped on an internal error: "),
                    "{m}"
                );
                assert!(m.contains("index out of bounds"), "{m}");
            }
            _ => panic!("a panic must end the run failed"),
        }
        let fine = failing_on_panic("j", async { Ok(Some(Stop::Cancelled)) }).await;
        assert!(matches!(fine, Ok(Some(Stop::Cancelled))));
    }
}
