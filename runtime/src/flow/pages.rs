//! The export side of a flow run: read the export, cut its records into pages, run
//! preSavePage over them, and hand them on, in order, to the processors ([`super::runner`]).
//! Reading and preSavePage run as tasks of their own, so that they overlap with each other and
//! with the processors; the channels between them bound how far the export runs ahead.

use serde_json::Value;
use tokio::sync::mpsc;

use super::steps;
use crate::AppState;
use crate::adaptor::{self, AdaptorError, Call, ErrorItem, Exporter};

/// Pages that may wait between two stages of a run.
pub(super) const PAGES_IN_FLIGHT: usize = 4;
/// A page is also cut when its records' JSON reaches this size.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;

/// Who an export's work runs for, owned, so that its stages run as tasks of their own.
pub(super) struct Owner {
    pub state: AppState,
    pub account: String,
    pub flow: Option<String>,
    pub integration: Option<String>,
    pub connector: Option<String>,
    pub pins: crate::extension::call::Pins,
}

impl Owner {
    fn call(&self) -> Call<'_> {
        Call {
            state: &self.state,
            account: &self.account,
            flow: self.flow.as_deref(),
            integration: self.integration.as_deref(),
            connector: self.connector.as_deref(),
            pins: Some(&self.pins),
        }
    }
}

/// How an export's records are cut into pages.
#[derive(Clone, Copy)]
pub(super) struct Cut {
    /// Records per page (`pageSize`).
    pub page_size: usize,
    /// Records to export at most (`test` exports).
    pub limit: usize,
}

/// preSavePage calls of one export running at once (each on a page of its own; the pages
/// still reach the processors in order).
const HOOKS_IN_FLIGHT: usize = 2;

/// The export side of a flow run, in two stages that run as tasks of their own so that they
/// overlap: one reads the export and cuts its records into pages, the other runs preSavePage
/// over them (up to [`HOOKS_IN_FLIGHT`] pages at once) and sends them on to `tx` in order.
/// A page whose hook asks to abort is the last one sent.
pub(super) async fn produce(
    owner: std::sync::Arc<Owner>,
    connection: Value,
    export: std::sync::Arc<Value>,
    context: std::sync::Arc<Value>,
    cut: Cut,
    tx: mpsc::Sender<Result<ExportPage, adaptor::AdaptorError>>,
) {
    use futures::StreamExt as _;

    let (raw_tx, mut raw_rx) =
        mpsc::channel::<Result<ExportPage, adaptor::AdaptorError>>(PAGES_IN_FLIGHT);
    let reader = tokio::spawn({
        let (owner, export, context) = (owner.clone(), export.clone(), context.clone());
        async move {
            let ctx = owner.call();
            read(&ctx, &connection, &export, &context, cut, raw_tx).await;
        }
    });
    // Stop reading when this stage ends (the processors stopped, or a hook aborted).
    let mut reader = AbortOnDrop(reader);
    let has_hook = steps::hook_ref(&export, "preSavePage").is_some();
    let mut hooked = futures::stream::FuturesOrdered::new();
    let mut page_index = 0;
    let mut reading = true;
    loop {
        tokio::select! {
            Some(done) = hooked.next(), if !hooked.is_empty() => {
                let page: ExportPage = match done {
                    Ok(page) => page,
                    Err(e) => {
                        let error = AdaptorError::new("internal", format!("preSavePage: {e}"));
                        let _ = tx.send(Err(error)).await;
                        return;
                    }
                };
                let abort = page.abort;
                if tx.send(Ok(page)).await.is_err() || abort {
                    return;
                }
            }
            raw = raw_rx.recv(), if reading && hooked.len() < HOOKS_IN_FLIGHT => match or_reader_failure(raw, &mut reader).await {
                Some(Ok(mut page)) => {
                    page.exported = page.records.len() as i64;
                    let (owner, export, context) = (owner.clone(), export.clone(), context.clone());
                    let index = page_index;
                    page_index += 1;
                    // Without a hook there is nothing to overlap: the page goes on as it is.
                    let next = if has_hook {
                        futures::future::Either::Left(tokio::spawn(async move {
                            saved(&owner.call(), &export, page, index, &context).await
                        }))
                    } else {
                        futures::future::Either::Right(std::future::ready(Ok(page)))
                    };
                    hooked.push_back(next);
                }
                Some(Err(e)) => {
                    // The pages read before the failure go first.
                    while let Some(done) = hooked.next().await {
                        let Ok(page) = done else { break };
                        let abort = page.abort;
                        if tx.send(Ok(page)).await.is_err() || abort {
                            return;
                        }
                    }
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                None => reading = false,
            },
            else => return,
        }
    }
}

/// `raw`, from the reader's channel; or, when the channel closed because the reader stopped on
/// a bug (a panic), an error: the records after the pages it sent are lost, so the export
/// fails after them.
async fn or_reader_failure(
    raw: Option<Result<ExportPage, AdaptorError>>,
    reader: &mut AbortOnDrop,
) -> Option<Result<ExportPage, AdaptorError>> {
    if raw.is_none() && (&mut reader.0).await.is_err_and(|e| e.is_panic()) {
        let message = "reading the export stopped on an internal error";
        return Some(Err(AdaptorError::new("internal", message)));
    }
    raw
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Read the export through `connection` and send its records cut into pages (`cut`) to `tx`,
/// each page with the read errors and finished files that go with it; a failure after the
/// pages read before it.
async fn read(
    ctx: &Call<'_>,
    connection: &Value,
    export: &Value,
    context: &Value,
    cut: Cut,
    tx: mpsc::Sender<Result<ExportPage, adaptor::AdaptorError>>,
) {
    let Cut { page_size, limit } = cut;
    let mut exporter = match Exporter::new(ctx, connection, export, context.clone(), None) {
        Ok(e) => e,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let mut page = ExportPage::with_capacity(page_size);
    let mut bytes = 0;
    let mut sent = 0usize;
    loop {
        let result = exporter.next_page(ctx).await;
        // Errors ride on the page that holds the records read with them; finished files on
        // the page holding the batch's last records (added below, once the batch is cut into
        // pages), so that a file goes only after every one of its records went through.
        page.errors.extend(exporter.take_errors());
        let finished = exporter.take_completed();
        let records = match result {
            Ok(Some(records)) => records,
            Ok(None) => break,
            Err(e) => {
                if !page.is_empty() {
                    let _ = tx.send(Ok(std::mem::take(&mut page))).await;
                }
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        // Records of one response are alike: the first one's size stands for the others.
        let record_bytes = records.first().map_or(0, json_size);
        for record in records {
            if sent >= limit {
                break;
            }
            bytes += record_bytes;
            page.records.push(record);
            sent += 1;
            if page.records.len() >= page_size || bytes >= MAX_PAGE_BYTES {
                bytes = 0;
                let full = std::mem::replace(&mut page, ExportPage::with_capacity(page_size));
                if tx.send(Ok(full)).await.is_err() {
                    return;
                }
            }
        }
        page.completed.extend(finished);
        if sent >= limit {
            break;
        }
    }
    if !page.is_empty() {
        let _ = tx.send(Ok(page)).await;
    }
}

/// Run the export's preSavePage hook over a page: the page then carries what the hook kept,
/// the errors it reported (with their records, retriable from the first processor), and
/// whether it asked to stop.
async fn saved(
    ctx: &Call<'_>,
    export: &Value,
    mut page: ExportPage,
    page_index: usize,
    times: &Value,
) -> ExportPage {
    if page.records.is_empty() {
        return page;
    }
    let records = std::mem::take(&mut page.records);
    match steps::pre_save_page(ctx, export, records, page_index, times).await {
        Ok(saved) => {
            page.records = saved.data;
            page.abort = saved.abort;
            page.hook_errors
                .extend(saved.errors.into_iter().map(|e| (e, None)));
            for (record, errors) in saved.failed {
                // Several errors of one record are one failed record: the first stands for it.
                if let Some(first) = errors.into_iter().next() {
                    page.hook_errors.push((first, Some(record)));
                }
            }
        }
        Err((records, error)) => {
            page.hook_errors
                .extend(records.into_iter().map(|r| (error.clone(), Some(r))));
        }
    }
    page
}

/// A page on its way from the export to the processors.
#[derive(Default)]
pub(super) struct ExportPage {
    pub records: Vec<Value>,
    /// Errors found while reading these records (malformed lines of a file).
    pub errors: Vec<ErrorItem>,
    /// Errors of the preSavePage hook, with the record each is about.
    pub hook_errors: Vec<(ErrorItem, Option<Value>)>,
    /// Files whose last records are in this page.
    pub completed: Vec<String>,
    /// The hook asked to stop the export after this page.
    pub abort: bool,
    /// Records the export produced for this page (before the hook).
    pub exported: i64,
}

impl ExportPage {
    fn with_capacity(n: usize) -> Self {
        Self {
            records: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.errors.is_empty() && self.completed.is_empty()
    }
}

/// The size of `value` as JSON, without building the text.
fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_that_panicked_fails_the_export_and_one_that_ended_does_not() {
        let mut ended = AbortOnDrop(tokio::spawn(async {}));
        assert!(or_reader_failure(None, &mut ended).await.is_none());

        let mut panicked = AbortOnDrop(tokio::spawn(async { panic!("a bug") }));
        match or_reader_failure(None, &mut panicked).await {
            Some(Err(e)) => assert_eq!(e.code, "internal", "{e:?}"),
            _ => panic!("the export must fail"),
        }

        // A page that came is handed on as it is.
        let mut reading = AbortOnDrop(tokio::spawn(std::future::pending::<()>()));
        let page = or_reader_failure(Some(Ok(ExportPage::default())), &mut reading).await;
        assert!(matches!(page, Some(Ok(_))));
    }
}
