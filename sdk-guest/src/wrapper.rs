//! Wrappers: options and results of custom adaptors.

use serde::{Deserialize, Serialize};

use crate::codec::{Answer, ObjectWriter, through_serde, with_records};
use crate::{Common, Failure, Value};

/// The wrapper connection's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Secret settings (decrypted for the call).
    #[serde(default)]
    pub encrypted: Value,
    /// Plain settings.
    #[serde(default)]
    pub unencrypted: Value,
}

/// Options of `ping`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PingOptions {
    /// The connection to test.
    #[serde(default)]
    pub connection: Connection,
    /// The export being set up, if any.
    #[serde(rename = "_exportId", default)]
    pub export_id: Option<String>,
    /// The import being set up, if any.
    #[serde(rename = "_importId", default)]
    pub import_id: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Result of `ping`: `{statusCode: 200}` or `{statusCode: 401, errors}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PingResponse {
    /// 200 when the connection works.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// Why it does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Failure>,
}

/// Delta settings of an export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The field holding each record's modification time.
    #[serde(rename = "dateField", default)]
    pub date_field: Option<String>,
    /// Start of the window.
    #[serde(rename = "lastExecutionTime", default)]
    pub last_execution_time: Option<String>,
}

/// Once settings of an export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Once {
    /// The boolean field marking exported records.
    #[serde(rename = "booleanField", default)]
    pub boolean_field: Option<String>,
}

/// Test settings of an export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Test {
    /// Most records to return.
    #[serde(default)]
    pub limit: Option<u64>,
}

/// Options of `export`: called again with the returned `state` until `lastPage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportOptions {
    /// The connection.
    #[serde(default)]
    pub connection: Connection,
    /// Unset (all), `delta`, `once` or `test`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Delta settings.
    #[serde(default)]
    pub delta: Option<Delta>,
    /// Once settings.
    #[serde(default)]
    pub once: Option<Once>,
    /// Test settings.
    #[serde(default)]
    pub test: Option<Test>,
    /// What the previous call returned as `state` (null on the first call).
    #[serde(default)]
    pub state: Value,
    /// The export.
    #[serde(rename = "_exportId", default)]
    pub export_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// Records, when the export runs as a page processor.
    #[serde(default)]
    pub data: Option<Vec<Value>>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Result of `export`: one page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportResponse {
    /// The page's records.
    pub data: Vec<Value>,
    /// Errors of the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Failure>,
    /// True on the last page.
    #[serde(rename = "lastPage", default)]
    pub last_page: bool,
    /// Passed back as `options.state` on the next call.
    #[serde(default)]
    pub state: Value,
    /// The application is unreachable.
    #[serde(rename = "connectionOffline", default)]
    pub connection_offline: bool,
}

/// Options of `import`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// The connection.
    #[serde(default)]
    pub connection: Connection,
    /// The records before mapping.
    #[serde(rename = "preMapData", default)]
    pub pre_map_data: Vec<Value>,
    /// The records to submit (the result has one entry each).
    #[serde(rename = "postMapData", default)]
    pub post_map_data: Vec<Value>,
    /// The import.
    #[serde(rename = "_importId", default)]
    pub import_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// The outcome of importing one record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    /// 200 success, 401/422 failure.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// Id of the record in the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Whether the record was ignored.
    #[serde(default)]
    pub ignored: bool,
    /// Errors of the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Failure>,
}

// --- reading options and writing results (records through integrator-json, see codec) --------

impl Answer for ExportResponse {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
        let mut object = ObjectWriter::new(out);
        object.records("data", &self.data);
        if !self.errors.is_empty() {
            object.field("errors", &self.errors)?;
        }
        object.field("lastPage", &self.last_page)?;
        object.record("state", &self.state);
        object.field("connectionOffline", &self.connection_offline)?;
        object.finish();
        Ok(())
    }
}

with_records! {
    ImportOptions { "preMapData" => pre_map_data, "postMapData" => post_map_data }
}

through_serde! {
    options: PingOptions, ExportOptions;
    answers: PingResponse, Vec<ImportResult>;
}
