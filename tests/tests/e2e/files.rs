//! File connections end to end: flows between real FTP, FTPS, SFTP and S3 servers on loopback
//! (`test-servers`: pyftpdlib, OpenSSH's sshd, moto), created over the API and run by the real
//! binary, observed through the files on the servers, jobs and job errors. Also ping and the
//! proxy of every file type, wrong credentials and unreachable hosts.
//!
//! A test whose server program is missing is skipped with the reason printed, except in CI
//! (`CI` set) where it fails; `scripts/install-test-deps.sh` installs them.

use std::time::{Duration, Instant};

use test_servers::{FtpServer, S3Server, SftpServer};

use crate::harness::*;

/// Example hooks (`tagOrders` aborts the export after a given page).
const HOOKS: &str = env!("WASM_EXAMPLE_HOOKS");
/// `pauseOnPage` (preSavePage) and `recordFile` (postAggregate).
const FILE_HOOKS: &str = env!("WASM_FIXTURE_FILE_HOOKS");

/// The bucket of every S3 test.
const BUCKET: &str = "files";

// ---------------------------------------------------------------------------------------------
// The four kinds of file servers behind one interface

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ftp,
    Ftps,
    Sftp,
    S3,
}

/// A running file server (S3: with the bucket [`BUCKET`]); paths are relative to its root
/// (FTP: the user's home, SFTP: the user's directory, S3: the bucket).
enum Store {
    Ftp(FtpServer),
    Sftp(SftpServer),
    S3(S3Server),
}

impl Store {
    /// Start a server of `kind`, or None when its program is missing (outside CI).
    fn start(kind: Kind) -> Option<Store> {
        Some(match kind {
            Kind::Ftp => Store::Ftp(FtpServer::start(false)?),
            Kind::Ftps => Store::Ftp(FtpServer::start(true)?),
            Kind::Sftp => Store::Sftp(SftpServer::start()?),
            Kind::S3 => {
                let server = S3Server::start()?;
                server.create_bucket(BUCKET);
                Store::S3(server)
            }
        })
    }

    /// A connection document for the server, with working credentials.
    fn connection(&self) -> Value {
        match self {
            Store::Ftp(s) => s.connection(),
            Store::Sftp(s) => s.connection(),
            Store::S3(s) => s.connection(),
        }
    }

    /// The resource block of the connection's type: `ftp` or `s3`.
    fn block(&self) -> &'static str {
        match self {
            Store::S3(_) => "s3",
            _ => "ftp",
        }
    }

    /// The fields that point an export or import at the directory `dir`.
    fn at(&self, dir: &str) -> Value {
        match self {
            Store::Ftp(_) => json!({"ftp": {"directoryPath": dir}}),
            Store::Sftp(s) => json!({"ftp": {"directoryPath": s.remote(dir)}}),
            Store::S3(_) => json!({"s3": {"bucket": BUCKET, "prefix": dir}}),
        }
    }

    /// The fields of an import writing the file `name` (a template) into `dir`.
    fn writing(&self, dir: &str, name: &str) -> Value {
        let mut fields = self.at(dir);
        let key = if self.block() == "s3" {
            "fileKey"
        } else {
            "fileName"
        };
        fields[self.block()][key] = json!(name);
        fields
    }

    /// The path of `rel` as the platform names it (the proxy's path, `fileName` of
    /// postAggregate): FTP relative to the root, SFTP absolute, S3 `bucket/key`.
    fn path(&self, rel: &str) -> String {
        match self {
            Store::Ftp(_) => rel.to_owned(),
            Store::Sftp(s) => s.remote(rel),
            Store::S3(_) => format!("{BUCKET}/{rel}"),
        }
    }

    fn mkdir(&self, dir: &str) {
        match self {
            Store::Ftp(s) => s.mkdir(dir),
            Store::Sftp(s) => s.mkdir(dir),
            Store::S3(_) => {}
        }
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        match self {
            Store::Ftp(s) => s.write(rel, bytes),
            Store::Sftp(s) => s.write(rel, bytes),
            Store::S3(s) => s.put(&format!("{BUCKET}/{rel}"), bytes),
        }
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        match self {
            Store::Ftp(s) => s.read(rel),
            Store::Sftp(s) => s.read(rel),
            Store::S3(s) => s.get(&format!("{BUCKET}/{rel}")),
        }
    }

    /// The text of the file `rel`, which must exist.
    fn text(&self, rel: &str) -> String {
        let bytes = self
            .read(rel)
            .unwrap_or_else(|| panic!("{rel} is missing; the directory has {:?}", self.dir(rel)));
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{rel} is not UTF-8: {e}"))
    }

    fn dir(&self, rel: &str) -> Vec<String> {
        self.names(rel.rsplit_once('/').map_or("", |(dir, _)| dir))
    }

    fn remove(&self, rel: &str) {
        match self {
            Store::Ftp(s) => s.remove(rel),
            Store::Sftp(s) => s.remove(rel),
            Store::S3(s) => s.delete(&format!("{BUCKET}/{rel}")),
        }
    }

    /// The files directly in `dir`, sorted.
    fn names(&self, dir: &str) -> Vec<String> {
        match self {
            Store::Ftp(s) => s.names(dir),
            Store::Sftp(s) => s.names(dir),
            Store::S3(s) => s.names(BUCKET, dir),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

async fn connection(api: &Api, store: &Store) -> String {
    api.create_id("connections", store.connection()).await
}

/// A file export through `conn` reading `dir` of `store` in the format `file`.
async fn export(
    api: &Api,
    conn: &str,
    store: &Store,
    dir: &str,
    file: Value,
    extra: Value,
) -> String {
    let doc = with(
        json!({"name": format!("Read {dir}"), "_connectionId": conn, "pageSize": 100, "file": file}),
        with(store.at(dir), extra),
    );
    api.create_id("exports", doc).await
}

/// A file import through `conn` writing `name` into `dir` of `store` in the format `file`.
async fn import(
    api: &Api,
    conn: &str,
    store: &Store,
    dir: &str,
    name: &str,
    file: Value,
    extra: Value,
) -> String {
    let doc = with(
        json!({"name": format!("Write {dir}"), "_connectionId": conn, "file": file}),
        with(store.writing(dir, name), extra),
    );
    api.create_id("imports", doc).await
}

async fn flow(api: &Api, export: &str, import: &str) -> String {
    api.create_id(
        "flows",
        json!({"name": "Files", "_exportId": export, "_importId": import}),
    )
    .await
}

/// The child job of type `kind` (`export`/`import`).
async fn child(api: &Api, flow_job: &str, kind: &str) -> Value {
    let kids = children(api, flow_job).await;
    let found: Vec<&Value> = kids.iter().filter(|j| j["type"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} job: {kids:#?}");
    found[0].clone()
}

/// A stack of type `wasm` holding the component at `path`.
async fn stack(api: &Api, name: &str, path: &str) -> String {
    let id = api
        .create_id("stacks", json!({"name": name, "type": "wasm"}))
        .await;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    api.send(
        Method::PUT,
        &format!("/v1/stacks/{id}/component"),
        Some(("application/wasm", bytes)),
    )
    .await
    .expect(200);
    id
}

/// `GET /v1/connections/{conn}/ping`.
async fn ping(api: &Api, conn: &str) -> Reply {
    api.get(&format!("/v1/connections/{conn}/ping")).await
}

/// The one problem of a 422 answer; its message.
#[track_caller]
fn refusal(reply: &Reply, code: &str) -> String {
    let problems = reply.expect_error(422, code);
    assert_eq!(problems.len(), 1, "{}", reply.text);
    problems[0].message.clone()
}

/// Rows `id,total` 1..=n with a header.
fn numbered_csv(from: u64, to: u64) -> String {
    let mut text = String::from("id,total\n");
    for i in from..=to {
        text.push_str(&format!("{i},{}\n", i * 10));
    }
    text
}

/// The `id` column of a CSV text with a header (`id` first), as numbers.
fn ids_in_csv(text: &str) -> Vec<u64> {
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .next()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("a row starting with an id: {l:?}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Formats through every kind of server

/// Five orders as strings (CSV and XML read text), with characters each format must quote or
/// escape.
const CSV_IN: &str = "id,name,city\n\
                      1,Ada Lovelace,London\n\
                      2,\"Doe, Jane\",São Paulo\n\
                      3,Ben & Jerry,Burlington\n\
                      4,\"Say \"\"hi\"\"\",Paris\n\
                      5,Zoë,Zürich\n";

const JSON_IN: &str = r#"{"data": {"count": 5, "orders": [
  {"id": "1", "name": "Ada Lovelace", "city": "London"},
  {"id": "2", "name": "Doe, Jane", "city": "São Paulo"},
  {"id": "3", "name": "Ben & Jerry", "city": "Burlington"},
  {"id": "4", "name": "Say \"hi\"", "city": "Paris"},
  {"id": "5", "name": "Zoë", "city": "Zürich"}
]}}
"#;

const NDJSON_IN: &str = r#"{"id": "1", "name": "Ada Lovelace", "city": "London"}
{"id": "2", "name": "Doe, Jane", "city": "São Paulo"}
{"id": "3", "name": "Ben & Jerry", "city": "Burlington"}
{"id": "4", "name": "Say \"hi\"", "city": "Paris"}
{"id": "5", "name": "Zoë", "city": "Zürich"}
"#;

const XML_IN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Export version="2">
  <Orders>
    <Order><id>1</id><name>Ada Lovelace</name><city>London</city></Order>
    <Order><id>2</id><name>Doe, Jane</name><city>São Paulo</city></Order>
    <Order><id>3</id><name>Ben &amp; Jerry</name><city>Burlington</city></Order>
    <Order><id>4</id><name>Say "hi"</name><city>Paris</city></Order>
    <Order><id>5</id><name>Zoë</name><city>Zürich</city></Order>
  </Orders>
</Export>
"#;

/// The JSON writer: an array, one record per line, keys in alphabetical order.
const JSON_OUT: &str = r#"[
{"city":"London","id":"1","name":"Ada Lovelace"},
{"city":"São Paulo","id":"2","name":"Doe, Jane"},
{"city":"Burlington","id":"3","name":"Ben & Jerry"},
{"city":"Paris","id":"4","name":"Say \"hi\""},
{"city":"Zürich","id":"5","name":"Zoë"}
]
"#;

const NDJSON_OUT: &str = r#"{"city":"London","id":"1","name":"Ada Lovelace"}
{"city":"São Paulo","id":"2","name":"Doe, Jane"}
{"city":"Burlington","id":"3","name":"Ben & Jerry"}
{"city":"Paris","id":"4","name":"Say \"hi\""}
{"city":"Zürich","id":"5","name":"Zoë"}
"#;

const XML_OUT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Orders>\n\
    <Order><city>London</city><id>1</id><name>Ada Lovelace</name></Order>\n\
    <Order><city>São Paulo</city><id>2</id><name>Doe, Jane</name></Order>\n\
    <Order><city>Burlington</city><id>3</id><name>Ben &amp; Jerry</name></Order>\n\
    <Order><city>Paris</city><id>4</id><name>Say &quot;hi&quot;</name></Order>\n\
    <Order><city>Zürich</city><id>5</id><name>Zoë</name></Order>\n\
    </Orders>\n";

/// Every format is read from and written to a server of `kind`: CSV → JSON, JSON (records
/// under `data.orders`) → XML (`Orders`/`Order`), XML (`Order` elements) → NDJSON, NDJSON →
/// CSV (columns in a given order). The read files are deleted (the default).
async fn every_format_is_read_and_written_through(kind: Kind) {
    let Some(store) = Store::start(kind) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(&api, &store).await;
    store.mkdir("out");
    let cases = [
        (
            "csv",
            "orders.csv",
            CSV_IN,
            json!({"type": "csv"}),
            "from-csv.json",
            json!({"type": "json"}),
            JSON_OUT,
        ),
        (
            "json",
            "orders.json",
            JSON_IN,
            json!({"type": "json", "json": {"resourcePath": "data.orders"}}),
            "from-json.xml",
            json!({"type": "xml", "xml": {"rootElement": "Orders", "recordElement": "Order"}}),
            XML_OUT,
        ),
        (
            "xml",
            "orders.xml",
            XML_IN,
            json!({"type": "xml", "xml": {"resourcePath": "Order"}}),
            "from-xml.ndjson",
            json!({"type": "json", "json": {"format": "ndjson"}}),
            NDJSON_OUT,
        ),
        (
            "ndjson",
            "orders.ndjson",
            NDJSON_IN,
            json!({"type": "json", "json": {"format": "ndjson"}}),
            "from-ndjson.csv",
            json!({"type": "csv", "csv": {"columns": ["id", "name", "city"]}}),
            CSV_IN,
        ),
    ];
    let mut jobs = Vec::new();
    for (dir, name, content, read_as, out_name, write_as, _) in &cases {
        let dir = format!("in/{dir}");
        store.write(&format!("{dir}/{name}"), content);
        let export_id = export(&api, &conn, &store, &dir, read_as.clone(), json!({})).await;
        let import_id = import(
            &api,
            &conn,
            &store,
            "out",
            out_name,
            write_as.clone(),
            json!({}),
        )
        .await;
        let flow_id = flow(&api, &export_id, &import_id).await;
        jobs.push(run(&api, &flow_id).await);
    }
    for ((dir, name, _, _, out_name, _, expected), job_id) in cases.iter().zip(&jobs) {
        let done = completed(&api, job_id).await;
        assert_eq!(outcome(&done), [5, 0, 0], "{dir} → {out_name}: {done}");
        assert_eq!(
            store.text(&format!("out/{out_name}")),
            *expected,
            "{kind:?}: {dir}/{name} written as {out_name}"
        );
        assert_eq!(
            store.names(&format!("in/{dir}")),
            Vec::<String>::new(),
            "{kind:?}: {name} is deleted once read"
        );
    }
    let mut written: Vec<&str> = cases.iter().map(|c| c.4).collect();
    written.sort_unstable();
    assert_eq!(store.names("out"), written, "one file per flow run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_is_read_from_and_written_to_ftp() {
    every_format_is_read_and_written_through(Kind::Ftp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_is_read_from_and_written_to_ftps() {
    every_format_is_read_and_written_through(Kind::Ftps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_is_read_from_and_written_to_sftp() {
    every_format_is_read_and_written_through(Kind::Sftp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_is_read_from_and_written_to_s3() {
    every_format_is_read_and_written_through(Kind::S3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_options_are_honoured_reading_from_ftps_and_writing_to_ftp() {
    let (Some(source), Some(target)) = (Store::start(Kind::Ftps), Store::start(Kind::Ftp)) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let from = connection(&api, &source).await;
    let to = connection(&api, &target).await;
    // Semicolons, CRLF rows, spaces around values, a quoted field with a line break and one
    // with a tab.
    source.write(
        "in/orders.csv",
        "id ; name ; note\r\n1 ; Ada ; \"first\r\nline\"\r\n2 ; Bob ; \"a\ttab\"\r\n\r\n3 ; Cy ; plain\r\n",
    );
    target.mkdir("out");
    let export_id = export(
        &api,
        &from,
        &source,
        "in",
        json!({"type": "csv", "csv": {
            "columnDelimiter": ";", "rowDelimiter": "\r\n", "hasHeaderRow": true, "trimSpaces": true,
        }}),
        json!({}),
    )
    .await;
    let import_id = import(
        &api,
        &to,
        &target,
        "out",
        "orders.txt",
        json!({"type": "csv", "csv": {
            "columnDelimiter": "|", "rowDelimiter": "\n", "includeHeader": false,
            "wrapWithQuotes": true, "replaceNewlineWithSpace": true, "replaceTabWithSpace": true,
            "columns": ["note", "id"],
        }}),
        json!({}),
    )
    .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(outcome(&done), [3, 0, 0], "{done}");
    assert_eq!(
        target.text("out/orders.txt"),
        "\"first line\"|\"1\"\n\"a tab\"|\"2\"\n\"plain\"|\"3\"\n",
        "no header, | between quoted values, line breaks and tabs replaced, columns as given"
    );
}

// ---------------------------------------------------------------------------------------------
// Aggregation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_exports_csv_from_sftp_into_one_json_file_on_s3_per_run_and_calls_post_aggregate_with_its_name()
 {
    let (Some(sftp), Some(s3)) = (Store::start(Kind::Sftp), Store::start(Kind::S3)) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let from = connection(&api, &sftp).await;
    let to = connection(&api, &s3).await;
    // 25 rows in three files, read in pages of 4: 7 pages.
    sftp.write("in/a.csv", numbered_csv(1, 10));
    sftp.write("in/b.csv", numbered_csv(11, 20));
    sftp.write("in/c.csv", numbered_csv(21, 25));
    sftp.mkdir("log");
    let export_id = export(
        &api,
        &from,
        &sftp,
        "in",
        json!({"type": "csv"}),
        json!({"pageSize": 4}),
    )
    .await;
    // What postAggregate is told goes to a file of its own, through an import it invokes.
    let log_id = import(
        &api,
        &from,
        &sftp,
        "log",
        "aggregated.json",
        json!({"type": "json"}),
        json!({}),
    )
    .await;
    let hooks = stack(&api, "File hooks", FILE_HOOKS).await;
    let import_id = import(
        &api,
        &to,
        &s3,
        "out",
        "orders-{{timestamp \"YYYYMMDD\"}}.json",
        json!({"type": "json"}),
        json!({"hooks": {"postAggregate": {
            "_stackId": hooks, "function": "recordFile", "configuration": {"importId": log_id},
        }}}),
    )
    .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let day_before = chrono::Utc::now().format("%Y%m%d").to_string();
    let job_id = run(&api, &flow_id).await;
    let done = completed(&api, &job_id).await;
    let day_after = chrono::Utc::now().format("%Y%m%d").to_string();

    assert_eq!(outcome(&done), [25, 0, 0], "{done}");
    assert_eq!(num(&done, "numPagesGenerated"), 7, "{done}");
    let export_job = child(&api, &job_id, "export").await;
    assert_eq!(num(&export_job, "numPagesGenerated"), 7, "{export_job}");
    let files = s3.names("out");
    assert_eq!(files.len(), 1, "one file for the whole run: {files:?}");
    let name = &files[0];
    assert!(
        [&day_before, &day_after]
            .iter()
            .any(|day| *name == format!("orders-{day}.json")),
        "the file name template is rendered: {name}"
    );
    let records: Value = serde_json::from_str(&s3.text(&format!("out/{name}"))).expect("JSON");
    let expected: Vec<Value> = (1..=25u64)
        .map(|i| json!({"id": i.to_string(), "total": (i * 10).to_string()}))
        .collect();
    assert_eq!(records, json!(expected), "every row, in file and row order");
    assert_eq!(
        sftp.names("in"),
        Vec::<String>::new(),
        "the CSV files are deleted"
    );

    let told: Value = serde_json::from_str(&sftp.text("log/aggregated.json")).expect("JSON");
    assert_eq!(
        told,
        json!([{"fileName": s3.path(&format!("out/{name}")), "success": true, "code": null, "message": null}]),
        "postAggregate was called once, with the uploaded file's name"
    );
    assert_eq!(job_errors(&api, &job_id).await, Vec::<Value>::new());

    // The debug logs show what each connection did, file by file.
    let operations = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["operation"].as_str().expect("an operation"),
                    e["path"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let from_log = debug_log(&api, &from).await;
    let done_with_sftp = operations(&from_log);
    for (op, path) in [
        ("list", "in"),
        ("download", "in/a.csv"),
        ("download", "in/c.csv"),
        ("delete", "in/c.csv"),
    ] {
        assert!(
            done_with_sftp
                .iter()
                .any(|o| o.starts_with(op) && o.ends_with(path)),
            "{op} {path} in {done_with_sftp:?}"
        );
    }
    let download = from_log
        .iter()
        .find(|e| e["operation"] == "download")
        .expect("a download");
    assert!(
        download["bytes"].as_u64().is_some_and(|b| b > 0),
        "{download}"
    );
    let to_log = debug_log(&api, &to).await;
    let upload = to_log
        .iter()
        .find(|e| e["operation"] == "upload")
        .unwrap_or_else(|| panic!("an upload in {to_log:#?}"));
    assert!(
        upload["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(name.as_str())),
        "{upload}"
    );
}

/// The debug log of connection `conn`.
async fn debug_log(api: &Api, conn: &str) -> Vec<Value> {
    let entries = api
        .send(Method::GET, &format!("/v1/connections/{conn}/debug"), None)
        .await
        .expect(200);
    entries.as_array().expect("an array of entries").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_aggregation_writes_one_file_per_page() {
    let (Some(s3), Some(sftp)) = (Store::start(Kind::S3), Store::start(Kind::Sftp)) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let from = connection(&api, &s3).await;
    let to = connection(&api, &sftp).await;
    let lines: String = (1..=10).map(|i| format!("{{\"id\":{i}}}\n")).collect();
    s3.write("in/orders.ndjson", lines);
    sftp.mkdir("out");
    let export_id = export(
        &api,
        &from,
        &s3,
        "in",
        json!({"type": "json", "json": {"format": "ndjson"}}),
        json!({"pageSize": 4}),
    )
    .await;
    let doc = with(
        json!({"name": "One file per page", "_connectionId": to,
               "file": {"type": "csv", "skipAggregation": true}}),
        sftp.at("out"),
    );
    let import_id = api.create_id("imports", doc).await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(outcome(&done), [10, 0, 0], "{done}");

    let files = sftp.names("out");
    assert_eq!(files.len(), 3, "one file per page of 4, 4 and 2: {files:?}");
    for name in &files {
        assert!(
            name.starts_with("records-") && name.ends_with(".csv"),
            "the default name: {name}"
        );
    }
    let mut pages: Vec<Vec<u64>> = files
        .iter()
        .map(|name| ids_in_csv(&sftp.text(&format!("out/{name}"))))
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]],
        "each file holds one page, with a header"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_writes_its_columns_in_the_order_of_its_mapping() {
    let (Some(s3), Some(sftp)) = (Store::start(Kind::S3), Store::start(Kind::Sftp)) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let from = connection(&api, &s3).await;
    let to = connection(&api, &sftp).await;
    s3.write(
        "in/orders.ndjson",
        "{\"id\":1,\"amount\":9.5,\"customer\":{\"name\":\"Ada\"}}\n\
         {\"id\":2,\"amount\":3,\"customer\":{\"name\":\"Bo\"}}\n",
    );
    sftp.mkdir("out");
    let export_id = export(
        &api,
        &from,
        &s3,
        "in",
        json!({"type": "json", "json": {"format": "ndjson"}}),
        json!({}),
    )
    .await;
    // Not alphabetical: the file follows the mapping, as the user laid it out.
    let doc = with(
        json!({"name": "Orders as CSV", "_connectionId": to,
        "file": {"type": "csv"},
        "mapping": {"fields": [
            {"extract": "id", "generate": "orderId"},
            {"extract": "customer.name", "generate": "buyer"},
            {"extract": "amount", "generate": "amount"}
        ]}}),
        sftp.writing("out", "orders.csv"),
    );
    let import_id = api.create_id("imports", doc).await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(outcome(&done), [2, 0, 0], "{done}");
    assert_eq!(
        sftp.text("out/orders.csv"),
        "orderId,buyer,amount\n1,Ada,9.5\n2,Bo,3\n"
    );
}

// ---------------------------------------------------------------------------------------------
// After the export: delete, move, leave

/// Three exports of the same file on a server of `kind`: the default (delete), move (the
/// fields `move_fields` gives for the server) and leave (`file.afterExport: leave`; for FTP
/// integrator.io's `file.skipDelete`); all into one import.
async fn after_export_the_file_is_deleted_moved_or_left_on(
    kind: Kind,
    move_fields: impl FnOnce(&Store) -> Value,
) {
    let Some(store) = Store::start(kind) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(&api, &store).await;
    for dir in ["delete", "move", "leave"] {
        store.write(&format!("in/{dir}/orders.csv"), numbered_csv(1, 3));
    }
    store.mkdir("archive");
    store.mkdir("out");
    let leave = if kind == Kind::Ftp {
        json!({"file": {"skipDelete": true}})
    } else {
        json!({"file": {"afterExport": "leave"}})
    };
    let import_id = import(
        &api,
        &conn,
        &store,
        "out",
        "run-{{timestamp \"YYYYMMDDTHHmmssSSS\"}}.csv",
        json!({"type": "csv"}),
        json!({}),
    )
    .await;
    let mut flows = Vec::new();
    for (dir, fields) in [
        ("delete", json!({})),
        ("move", move_fields(&store)),
        ("leave", leave),
    ] {
        let export_id = export(
            &api,
            &conn,
            &store,
            &format!("in/{dir}"),
            json!({"type": "csv"}),
            fields,
        )
        .await;
        flows.push((dir, flow(&api, &export_id, &import_id).await));
    }
    for (dir, flow_id) in &flows {
        let done = completed(&api, &run(&api, flow_id).await).await;
        assert_eq!(outcome(&done), [3, 0, 0], "{dir}: {done}");
    }
    assert_eq!(store.names("in/delete"), Vec::<String>::new(), "deleted");
    assert_eq!(store.names("in/move"), Vec::<String>::new(), "moved away");
    assert_eq!(
        store.text("archive/orders.csv"),
        numbered_csv(1, 3),
        "moved into the archive, unchanged"
    );
    assert_eq!(
        store.text("in/leave/orders.csv"),
        numbered_csv(1, 3),
        "left in place"
    );
    // A file left in place is read again by the next run.
    let (_, leave_flow) = &flows[2];
    let again = completed(&api, &run(&api, leave_flow).await).await;
    assert_eq!(outcome(&again), [3, 0, 0], "{again}");
    // The next file of the same name is moved too, over the archived one (a daily
    // `orders.csv`): it must not stay behind to be imported again and again.
    store.write("in/move/orders.csv", numbered_csv(4, 5));
    let (_, move_flow) = &flows[1];
    let job_id = run(&api, move_flow).await;
    let again = completed(&api, &job_id).await;
    assert_eq!(
        outcome(&again),
        [2, 0, 0],
        "{again}\n{:#?}",
        job_errors(&api, &job_id).await
    );
    assert_eq!(
        store.names("in/move"),
        Vec::<String>::new(),
        "moved away again"
    );
    assert_eq!(
        store.text("archive/orders.csv"),
        numbered_csv(4, 5),
        "the archive holds the latest file"
    );
    assert_eq!(
        store.names("out").len(),
        5,
        "one file per run: {:?}",
        store.names("out")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_export_the_file_is_deleted_moved_or_left_on_sftp() {
    // `file.afterExport: move` to an absolute directory (SFTP paths are absolute here).
    after_export_the_file_is_deleted_moved_or_left_on(
        Kind::Sftp,
        |store| json!({"file": {"afterExport": "move", "moveToDirectory": store.path("archive")}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_export_the_file_is_deleted_moved_or_left_on_ftp() {
    // integrator.io's spelling: `ftp.backupDirectoryPath` moves the file there.
    after_export_the_file_is_deleted_moved_or_left_on(
        Kind::Ftp,
        |_| json!({"ftp": {"backupDirectoryPath": "archive"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_export_the_file_is_deleted_moved_or_left_on_s3() {
    // `s3.backupDirectory` without a `/` is a prefix in the export's bucket.
    after_export_the_file_is_deleted_moved_or_left_on(
        Kind::S3,
        |_| json!({"s3": {"backupDirectory": "archive"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_stays_until_every_one_of_its_records_went_through() {
    let Some(store) = Store::start(Kind::Sftp) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(&api, &store).await;
    let lines: String = (1..=10)
        .map(|i| format!("{{\"id\":{i},\"total\":{}}}\n", i * 10))
        .collect();
    store.write("in/orders.ndjson", &lines);
    store.mkdir("out");
    // Pages of 4; the example hook (which keeps records with a positive number `total`) stops
    // the export after the first page.
    let hooks = stack(&api, "Example hooks", HOOKS).await;
    let export_id = export(
        &api,
        &conn,
        &store,
        "in",
        json!({"type": "json", "json": {"format": "ndjson"}}),
        json!({"pageSize": 4, "hooks": {"preSavePage": {
            "_stackId": hooks, "function": "tagOrders", "configuration": {"abortAfterPage": 0},
        }}}),
    )
    .await;
    let import_id = import(
        &api,
        &conn,
        &store,
        "out",
        "first-page.csv",
        json!({"type": "csv", "csv": {"columns": ["id"]}}),
        json!({}),
    )
    .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let done = completed(&api, &run(&api, &flow_id).await).await;
    assert_eq!(
        outcome(&done),
        [4, 0, 0],
        "only the first page went through: {done}"
    );
    assert_eq!(store.text("out/first-page.csv"), "id\n1\n2\n3\n4\n");
    assert_eq!(
        store.read("in/orders.ndjson").map(String::from_utf8),
        Some(Ok(lines)),
        "6 of its 10 records never went through: the file must stay for the next run"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed files and files that vanish

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_line_is_one_job_error_with_its_line_number_and_the_rest_of_the_file_is_imported()
 {
    let Some(store) = Store::start(Kind::Ftp) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(&api, &store).await;
    // a.csv: line 4 has a field too many. b.csv: line 3 opens a quote that never closes.
    store.write("csv/a.csv", "id,name\n1,a\n2,b\n3,c,extra\n4,d\n5,e\n");
    store.write("csv/b.csv", "id,name\n6,f\n\"7,g\n8,h\n");
    // c.ndjson: line 2 is not JSON.
    store.write(
        "ndjson/c.ndjson",
        "{\"id\":\"9\"}\n{\"id\": \"10\",\n{\"id\":\"11\"}\n",
    );
    store.mkdir("out");
    let mut flows = Vec::new();
    for (dir, file, out) in [
        ("csv", json!({"type": "csv"}), "from-csv.json"),
        (
            "ndjson",
            json!({"type": "json", "json": {"format": "ndjson"}}),
            "from-ndjson.json",
        ),
    ] {
        let export_id = export(&api, &conn, &store, dir, file, json!({"pageSize": 2})).await;
        let import_id = import(
            &api,
            &conn,
            &store,
            "out",
            out,
            json!({"type": "json", "json": {"format": "ndjson"}}),
            json!({}),
        )
        .await;
        flows.push(flow(&api, &export_id, &import_id).await);
    }

    let csv_job = run(&api, &flows[0]).await;
    let done = completed(&api, &csv_job).await;
    assert_eq!(
        outcome(&done),
        [6, 2, 0],
        "6 rows imported, 2 failed: {done}"
    );
    let ids: Vec<String> = store
        .text("out/from-csv.json")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("a JSON line")["id"]
                .as_str()
                .expect("an id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["1", "2", "4", "5", "6", "8"], "every good row");
    let mut errors = job_errors(&api, &csv_job).await;
    errors.sort_by_key(|e| e["message"].as_str().map(str::to_owned));
    assert_eq!(
        errors.len(),
        2,
        "one job error per malformed line: {errors:#?}"
    );
    for (error, file, line) in [(&errors[0], "a.csv", 4), (&errors[1], "b.csv", 3)] {
        let message = string(error, "message");
        assert!(
            message.contains(file) && message.contains(&format!("line {line}")),
            "the error names the file and line {line}: {error}"
        );
        assert_eq!(error["code"], "invalid_record", "{error}");
    }

    let ndjson_job = run(&api, &flows[1]).await;
    let done = completed(&api, &ndjson_job).await;
    assert_eq!(outcome(&done), [2, 1, 0], "{done}");
    assert_eq!(
        store.text("out/from-ndjson.json"),
        "{\"id\":\"9\"}\n{\"id\":\"11\"}\n"
    );
    let errors = job_errors(&api, &ndjson_job).await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let message = string(&errors[0], "message");
    assert!(
        message.contains("c.ndjson") && message.contains("line 2"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_removed_between_listing_and_download_is_a_job_error_and_the_other_files_are_imported()
 {
    let Some(store) = Store::start(Kind::Sftp) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(&api, &store).await;
    // a.csv is read in pages of 1000 (20 pages); b.csv comes after it. The run is held on the
    // second page, long after the listing and long before b.csv is downloaded (the export
    // reads at most eleven pages ahead of the import: four waiting for preSavePage, two in
    // it, four waiting for the import, one being imported), and b.csv is removed meanwhile.
    store.write("in/a.csv", numbered_csv(1, 20000));
    store.write("in/b.csv", numbered_csv(20001, 20003));
    store.mkdir("out");
    let hooks = stack(&api, "File hooks", FILE_HOOKS).await;
    let export_id = export(
        &api,
        &conn,
        &store,
        "in",
        json!({"type": "csv"}),
        json!({"pageSize": 1000, "hooks": {"preSavePage": {
            "_stackId": hooks, "function": "pauseOnPage", "configuration": {"page": 1, "ms": 3000},
        }}}),
    )
    .await;
    let import_id = import(
        &api,
        &conn,
        &store,
        "out",
        "all.csv",
        json!({"type": "csv"}),
        json!({}),
    )
    .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let job_id = run(&api, &flow_id).await;
    wait_until(&api, &job_id, "its first page processed", |j| {
        j["numPagesProcessed"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    store.remove("in/b.csv");

    let done = completed(&api, &job_id).await;
    assert_eq!(outcome(&done), [20000, 1, 0], "{done}");
    assert_eq!(
        ids_in_csv(&store.text("out/all.csv")),
        (1..=20000).collect::<Vec<u64>>()
    );
    let errors = job_errors(&api, &job_id).await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["code"], "file_not_found", "{}", errors[0]);
    let message = string(&errors[0], "message");
    assert!(
        message.contains("b.csv") && message.contains("removed"),
        "{message}"
    );
    assert_eq!(store.names("in"), Vec::<String>::new(), "a.csv is deleted");
}

// ---------------------------------------------------------------------------------------------
// Which files an export reads

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_filters_choose_the_files_an_export_reads_on_sftp_and_s3() {
    let (Some(sftp), Some(s3)) = (Store::start(Kind::Sftp), Store::start(Kind::S3)) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    for store in [&sftp, &s3] {
        let conn = connection(&api, store).await;
        store.write("in/orders-1.csv", numbered_csv(1, 2));
        store.write("in/orders-2.csv", numbered_csv(3, 4));
        store.write("in/orders-3.txt", numbered_csv(5, 6));
        store.write("in/other.csv", numbered_csv(7, 8));
        store.write("in/sub/orders-9.csv", numbered_csv(9, 9));
        store.mkdir("out");
        let (starts, ends) = if store.block() == "s3" {
            ("keyStartsWith", "keyEndsWith")
        } else {
            ("fileNameStartsWith", "fileNameEndsWith")
        };
        let mut filters = json!({});
        filters[store.block()] = json!({starts: "orders-", ends: ".csv"});
        let export_id = export(&api, &conn, store, "in", json!({"type": "csv"}), filters).await;
        let import_id = import(
            &api,
            &conn,
            store,
            "out",
            "picked.csv",
            json!({"type": "csv"}),
            json!({}),
        )
        .await;
        let flow_id = flow(&api, &export_id, &import_id).await;
        let done = completed(&api, &run(&api, &flow_id).await).await;
        let which = store.block();
        assert_eq!(outcome(&done), [4, 0, 0], "{which}: {done}");
        assert_eq!(ids_in_csv(&store.text("out/picked.csv")), [1, 2, 3, 4]);
        assert_eq!(
            store.names("in"),
            ["orders-3.txt", "other.csv"],
            "{which}: the files the filters leave out stay"
        );
        assert_eq!(
            store.names("in/sub"),
            ["orders-9.csv"],
            "{which}: a subdirectory is not read"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Ping, wrong credentials, unreachable hosts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_answers_200_for_ftp_ftps_sftp_and_s3() {
    let (Some(ftp), Some(ftps), Some(sftp), Some(s3)) = (
        FtpServer::start(false),
        FtpServer::start(true),
        SftpServer::start(),
        S3Server::start(),
    ) else {
        return;
    };
    s3.create_bucket("pings");
    let server = Server::start_unlimited();
    let api = server.api();
    let with_s3 = |fields: Value| with(s3.connection(), json!({"s3": fields}));
    let sftp_with =
        |auth: Value| json!({"type": "ftp", "name": "SFTP", "ftp": sftp.block_with(auth)});
    let good = [
        ("ftp", ftp.connection()),
        ("ftps", ftps.connection()),
        ("sftp with a password", sftp.connection()),
        (
            "sftp with a private key",
            sftp_with(json!({"privateKey": sftp.private_key()})),
        ),
        (
            "sftp with an encrypted RSA key",
            sftp_with(
                json!({"privateKey": sftp.encrypted_rsa_key(), "passphrase": sftp.passphrase()}),
            ),
        ),
        ("s3", s3.connection()),
        (
            "s3 with a ping bucket",
            with_s3(json!({"pingBucket": "pings"})),
        ),
    ];
    for (what, doc) in &good {
        let conn = api.create_id("connections", doc.clone()).await;
        let reply = ping(&api, &conn).await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.text);
        assert_eq!(reply.json(), json!({"code": 200}), "{what}");
        // An unsaved connection is pinged the same way.
        let body = api.post("/v1/connections/ping", doc).await.expect(200);
        assert_eq!(body, json!({"code": 200}), "{what}, unsaved");
    }
    let conn = api
        .create_id(
            "connections",
            with_s3(json!({"pingBucket": "no-such-bucket"})),
        )
        .await;
    let message = refusal(&ping(&api, &conn).await, "bucket_not_found");
    assert!(message.contains("no-such-bucket"), "{message}");
}

/// A flow exporting `in/` of `store` (a file is there) through `conn` into `out/` of `sink`
/// through `sink_conn`; returns the finished flow job.
async fn run_export(api: &Api, conn: &str, store: &Store, sink_conn: &str, sink: &Store) -> Value {
    let export_id = export(api, conn, store, "in", json!({"type": "csv"}), json!({})).await;
    let import_id = import(
        api,
        sink_conn,
        sink,
        "out",
        "out.csv",
        json!({"type": "csv"}),
        json!({}),
    )
    .await;
    let flow_id = flow(api, &export_id, &import_id).await;
    run_to_end(api, &flow_id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_ping_and_the_flow_with_the_servers_refusal() {
    let (Some(sftp), Some(ftp), Some(s3)) = (
        Store::start(Kind::Sftp),
        Store::start(Kind::Ftp),
        Store::start(Kind::S3),
    ) else {
        return;
    };
    let Store::S3(moto) = &s3 else {
        unreachable!("an S3 store")
    };
    moto.require_auth();
    let server = Server::start_unlimited();
    let api = server.api();
    let sink = connection(&api, &sftp).await;
    let secret = "wrong-secret-never-shown";
    let Store::Sftp(sshd) = &sftp else {
        unreachable!("an SFTP store")
    };
    let cases = [
        (
            &sftp,
            with(sftp.connection(), json!({"ftp": {"password": secret}})),
            "refused the user or password",
        ),
        (
            &sftp,
            json!({"type": "ftp", "name": "Wrong key", "ftp": sshd.block_with(json!({"privateKey": sshd.host_key()}))}),
            "refused the user or the private key",
        ),
        (
            &ftp,
            with(ftp.connection(), json!({"ftp": {"password": secret}})),
            "refused the user or password",
        ),
        (
            &s3,
            with(s3.connection(), json!({"s3": {"secretAccessKey": secret}})),
            "refused the credentials",
        ),
    ];
    for (store, doc, refused) in cases {
        let which = format!("{} {}", doc["type"], doc["ftp"]["type"]);
        store.write("in/orders.csv", numbered_csv(1, 3));
        let conn = api.create_id("connections", doc).await;
        let reply = ping(&api, &conn).await;
        let message = refusal(&reply, "auth_failed");
        assert!(message.contains(refused), "{which}: {message}");
        assert!(!reply.text.contains(secret), "{which}: {}", reply.text);
        let log = debug_log(&api, &conn).await;
        let last = log.last().expect("the ping is in the debug log");
        assert!(
            last["error"].as_str().is_some_and(|e| e.contains(refused)),
            "{which}: {log:#?}"
        );
        assert!(!Value::Array(log).to_string().contains(secret), "{which}");

        let done = run_export(&api, &conn, store, &sink, &sftp).await;
        assert_eq!(status(&done), "failed", "{which}: {done}");
        let errors = job_errors(&api, string(&done, "_id").as_str()).await;
        assert!(
            errors.iter().any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.contains(refused) && !m.contains(secret))),
            "{which}: the job says why: {errors:#?}"
        );
        assert_eq!(
            store.names("in"),
            ["orders.csv"],
            "{which}: nothing was read"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_of_the_aggregated_file_is_a_job_error_told_to_post_aggregate_and_the_exported_file_stays()
 {
    let (Some(sftp), Some(s3)) = (Store::start(Kind::Sftp), Store::start(Kind::S3)) else {
        return;
    };
    let Store::S3(moto) = &s3 else {
        unreachable!("an S3 store")
    };
    moto.require_auth();
    let server = Server::start_unlimited();
    let api = server.api();
    let from = connection(&api, &sftp).await;
    let to = api
        .create_id(
            "connections",
            with(s3.connection(), json!({"s3": {"secretAccessKey": "wrong"}})),
        )
        .await;
    sftp.write("in/orders.csv", numbered_csv(1, 3));
    sftp.mkdir("log");
    let export_id = export(&api, &from, &sftp, "in", json!({"type": "csv"}), json!({})).await;
    let log_id = import(
        &api,
        &from,
        &sftp,
        "log",
        "aggregated.json",
        json!({"type": "json"}),
        json!({}),
    )
    .await;
    let hooks = stack(&api, "File hooks", FILE_HOOKS).await;
    let import_id = import(
        &api,
        &to,
        &s3,
        "out",
        "orders.csv",
        json!({"type": "csv"}),
        json!({"hooks": {"postAggregate": {
            "_stackId": hooks, "function": "recordFile", "configuration": {"importId": log_id},
        }}}),
    )
    .await;
    let flow_id = flow(&api, &export_id, &import_id).await;
    let job_id = run(&api, &flow_id).await;
    let done = finished(&api, &job_id).await;

    let errors = job_errors(&api, &job_id).await;
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("refused the credentials"))),
        "the job says the upload was refused: {errors:#?}"
    );
    assert_ne!(num(&done, "numError"), 0, "{done}");
    assert_eq!(s3.names("out"), Vec::<String>::new());
    let told: Value = serde_json::from_str(&sftp.text("log/aggregated.json")).expect("JSON");
    assert_eq!(told[0]["success"], false, "{told}");
    assert_eq!(told[0]["code"], "auth_failed", "{told}");
    assert!(
        told[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("refused the credentials")),
        "postAggregate is told why: {told}"
    );
    assert_eq!(
        sftp.names("in"),
        ["orders.csv"],
        "its records never reached the target: the file must stay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_host_fails_ping_and_the_flow_naming_the_address() {
    let Some(sink) = Store::start(Kind::Sftp) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let sink_conn = connection(&api, &sink).await;
    let closed = test_servers::closed_port();
    let cases = [
        (
            json!({"type": "ftp", "name": "FTP", "ftp": {"type": "ftp", "hostURI": "127.0.0.1", "port": closed,
                   "username": "u", "password": "p4ssw0rd-never-shown"}}),
            format!("127.0.0.1:{closed}"),
        ),
        (
            json!({"type": "ftp", "name": "SFTP", "ftp": {"type": "sftp", "hostURI": "127.0.0.1", "port": closed,
                   "username": "u", "password": "p4ssw0rd-never-shown"}}),
            format!("127.0.0.1:{closed}"),
        ),
        (
            json!({"type": "ftp", "name": "Nowhere", "ftp": {"type": "sftp", "hostURI": "no-such-host.invalid",
                   "username": "u", "password": "p4ssw0rd-never-shown"}}),
            "no-such-host.invalid:22".to_owned(),
        ),
        (
            json!({"type": "s3", "name": "S3", "s3": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                   "secretAccessKey": "p4ssw0rd-never-shown", "endpoint": format!("http://127.0.0.1:{closed}")}}),
            format!("127.0.0.1:{closed}"),
        ),
    ];
    for (doc, address) in cases {
        let which = doc["name"].as_str().unwrap_or_default().to_owned();
        let conn = api.create_id("connections", doc.clone()).await;
        let started = Instant::now();
        let reply = ping(&api, &conn).await;
        let message = refusal(&reply, "unreachable");
        assert!(message.contains(&address), "{which}: {message}");
        assert!(!reply.text.contains("p4ssw0rd"), "{which}: {}", reply.text);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{which}: the ping gave up in time"
        );

        let mut export_doc =
            json!({"name": "Unreachable", "_connectionId": conn, "file": {"type": "csv"}});
        if doc["type"] == "s3" {
            export_doc["s3"] = json!({"bucket": "files", "prefix": "in"});
        } else {
            export_doc["ftp"] = json!({"directoryPath": "in"});
        }
        let export_id = api.create_id("exports", export_doc).await;
        let import_id = import(
            &api,
            &sink_conn,
            &sink,
            "out",
            "out.csv",
            json!({"type": "csv"}),
            json!({}),
        )
        .await;
        let flow_id = flow(&api, &export_id, &import_id).await;
        let done = run_to_end(&api, &flow_id).await;
        assert_eq!(status(&done), "failed", "{which}: {done}");
        let errors = job_errors(&api, string(&done, "_id").as_str()).await;
        assert!(
            errors
                .iter()
                .any(|e| e["message"].as_str().is_some_and(|m| m.contains(&address))),
            "{which}: the job names {address}: {errors:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy

/// `POST /v1/connections/{conn}/proxy` with the proxy headers: status, content type, body.
async fn proxy(
    server: &Server,
    conn: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> (u16, String, Vec<u8>) {
    let headers = [
        ("Integrator-Relative-URI", path),
        ("Integrator-Method", method),
    ];
    let body = body.map(|b| ("application/octet-stream", b.to_vec()));
    proxy_request(server, conn, &headers, body).await
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// Through the proxy of a connection to a server of `kind`: list a directory, read a file,
/// write one, delete one, and read one that is not there.
async fn the_proxy_lists_reads_writes_and_deletes_files_on(kind: Kind) {
    let Some(store) = Store::start(kind) else {
        return;
    };
    let server = Server::start_unlimited();
    let api = server.api();
    let conn = connection(&api, &store).await;
    store.write("docs/a.csv", "id\n1\n");
    store.write("docs/b.bin", [0u8, 159, 146, 150, 255]);

    let (status, _, body) = proxy(&server, &conn, "GET", &store.path("docs/"), None).await;
    assert_eq!(status, 200, "{kind:?}: {}", String::from_utf8_lossy(&body));
    let mut listing = json_of(&body)
        .as_array()
        .unwrap_or_else(|| panic!("{kind:?}: a list of files"))
        .clone();
    listing.sort_by_key(|f| f["name"].as_str().map(str::to_owned));
    assert_eq!(
        listing,
        vec![
            json!({"name": "a.csv", "size": 5}),
            json!({"name": "b.bin", "size": 5}),
        ],
        "{kind:?}"
    );

    let (status, content_type, body) =
        proxy(&server, &conn, "GET", &store.path("docs/b.bin"), None).await;
    assert_eq!(status, 200, "{kind:?}");
    assert_eq!(content_type, "application/octet-stream", "{kind:?}");
    assert_eq!(
        body,
        [0u8, 159, 146, 150, 255],
        "{kind:?}: the bytes as they are"
    );

    let written = b"{\"x\": 1}\n";
    let (status, _, body) = proxy(
        &server,
        &conn,
        "PUT",
        &store.path("docs/c.json"),
        Some(written),
    )
    .await;
    assert_eq!(status, 200, "{kind:?}: {}", String::from_utf8_lossy(&body));
    assert_eq!(
        json_of(&body),
        json!({"path": store.path("docs/c.json"), "size": written.len()}),
        "{kind:?}"
    );
    assert_eq!(
        store.read("docs/c.json").as_deref(),
        Some(&written[..]),
        "{kind:?}"
    );

    let (status, _, _) = proxy(&server, &conn, "DELETE", &store.path("docs/a.csv"), None).await;
    assert_eq!(status, 204, "{kind:?}");
    assert_eq!(store.names("docs"), ["b.bin", "c.json"], "{kind:?}");

    let (status, _, body) = proxy(&server, &conn, "GET", &store.path("docs/a.csv"), None).await;
    assert!(
        status == 404 || status == 422,
        "{kind:?}: a missing file answers {status}"
    );
    assert_eq!(
        json_of(&body)["errors"][0]["code"],
        "file_not_found",
        "{kind:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_lists_reads_writes_and_deletes_files_on_ftp() {
    the_proxy_lists_reads_writes_and_deletes_files_on(Kind::Ftp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_lists_reads_writes_and_deletes_files_on_ftps() {
    the_proxy_lists_reads_writes_and_deletes_files_on(Kind::Ftps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_lists_reads_writes_and_deletes_files_on_sftp() {
    the_proxy_lists_reads_writes_and_deletes_files_on(Kind::Sftp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_lists_reads_writes_and_deletes_files_on_s3() {
    the_proxy_lists_reads_writes_and_deletes_files_on(Kind::S3).await;
}
