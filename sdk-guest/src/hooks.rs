//! Hooks: options and results of the functions a flow calls at each step of a page.

use serde::{Deserialize, Serialize};

use crate::codec::{Answer, ObjectWriter, through_serde, with_records};
use crate::{Common, Failure, Value};

/// Options of `preSavePage`: after an export produced a page, before it is passed on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreSavePageOptions {
    /// The page's records.
    #[serde(default)]
    pub data: Vec<Value>,
    /// Errors the export reported for this page.
    #[serde(default)]
    pub errors: Vec<Failure>,
    /// The export that produced the page.
    #[serde(rename = "_exportId", default)]
    pub export_id: Option<String>,
    /// The export's connection.
    #[serde(rename = "_connectionId", default)]
    pub connection_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// 0-based index of the page.
    #[serde(rename = "pageIndex", default)]
    pub page_index: u64,
    /// Start of the delta window (delta exports).
    #[serde(rename = "lastExportDateTime", default)]
    pub last_export_date_time: Option<String>,
    /// End of the delta window (delta exports).
    #[serde(rename = "currentExportDateTime", default)]
    pub current_export_date_time: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Result of `preSavePage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreSavePageResponse {
    /// The records to pass on.
    pub data: Vec<Value>,
    /// Errors to record for the page.
    #[serde(default)]
    pub errors: Vec<Failure>,
    /// Stop the export after this page.
    #[serde(default)]
    pub abort: bool,
    /// Errors with the record to retry, `{error, data}`.
    #[serde(rename = "newErrorsAndRetryData", default)]
    pub new_errors_and_retry_data: Vec<Value>,
}

/// Options of `preMap`: before an import maps a page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreMapOptions {
    /// The page's records.
    #[serde(default)]
    pub data: Vec<Value>,
    /// The import.
    #[serde(rename = "_importId", default)]
    pub import_id: Option<String>,
    /// The import's connection.
    #[serde(rename = "_connectionId", default)]
    pub connection_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `postMap`: after mapping, before submit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostMapOptions {
    /// The records before mapping.
    #[serde(rename = "preMapData", default)]
    pub pre_map_data: Vec<Value>,
    /// The records after mapping (what the result must cover, one entry each).
    #[serde(rename = "postMapData", default)]
    pub post_map_data: Vec<Value>,
    /// The import.
    #[serde(rename = "_importId", default)]
    pub import_id: Option<String>,
    /// The import's connection.
    #[serde(rename = "_connectionId", default)]
    pub connection_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// One entry of a `preMap`/`postMap` result, for the record at the same index:
/// `{data}` keeps or modifies it, `{}` ignores it, `{errors}` fails it, `{data, errors}`
/// processes it and logs the errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordResult {
    /// The record to go on with; absent to ignore or fail it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Errors of this record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<Failure>>,
}

impl RecordResult {
    /// Keep (or replace) the record.
    pub fn keep(data: Value) -> Self {
        Self {
            data: Some(data),
            errors: None,
        }
    }

    /// Ignore the record (counted as ignored).
    pub fn ignore() -> Self {
        Self::default()
    }

    /// Fail the record with `failure`.
    pub fn fail(failure: Failure) -> Self {
        Self {
            data: None,
            errors: Some(vec![failure]),
        }
    }
}

/// The import's answer for one record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseData {
    /// 200 success, 401/422 failure.
    #[serde(rename = "statusCode", default)]
    pub status_code: u16,
    /// Errors of this record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Failure>,
    /// Whether the record was ignored.
    #[serde(default)]
    pub ignored: bool,
    /// Id of the record in the target application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// The target application's response for the record.
    #[serde(rename = "_json", default, skip_serializing_if = "Value::is_null")]
    pub json: Value,
    /// Link to the record in the target application.
    #[serde(rename = "dataURI", default, skip_serializing_if = "Option::is_none")]
    pub data_uri: Option<String>,
}

/// Options of `postSubmit`: after the import submitted the page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostSubmitOptions {
    /// The records before mapping.
    #[serde(rename = "preMapData", default)]
    pub pre_map_data: Vec<Value>,
    /// The records as submitted.
    #[serde(rename = "postMapData", default)]
    pub post_map_data: Vec<Value>,
    /// The import's answer, one per record (what the result must cover).
    #[serde(rename = "responseData", default)]
    pub response_data: Vec<ResponseData>,
    /// The import.
    #[serde(rename = "_importId", default)]
    pub import_id: Option<String>,
    /// The import's connection.
    #[serde(rename = "_connectionId", default)]
    pub connection_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// Options of `postResponseMap`: after a page processor's response mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostResponseMapOptions {
    /// The records after response mapping (what the result must cover).
    #[serde(rename = "postResponseMapData", default)]
    pub post_response_map_data: Vec<Value>,
    /// The page processor's responses.
    #[serde(rename = "responseData", default)]
    pub response_data: Vec<Value>,
    /// Whether the processor ran once per sub-record.
    #[serde(rename = "oneToMany", default)]
    pub one_to_many: bool,
    /// Path of the sub-records (one-to-many).
    #[serde(rename = "pathToMany", default)]
    pub path_to_many: Option<String>,
    /// The processor's export, if it is one.
    #[serde(rename = "_exportId", default)]
    pub export_id: Option<String>,
    /// The processor's import, if it is one.
    #[serde(rename = "_importId", default)]
    pub import_id: Option<String>,
    /// The flow being run.
    #[serde(rename = "_flowId", default)]
    pub flow_id: Option<String>,
    /// Options every call receives.
    #[serde(flatten)]
    pub common: Common,
}

/// What a file import's aggregation produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostAggregateData {
    /// Whether the file was written.
    #[serde(default)]
    pub success: bool,
    /// Details, e.g. the file name.
    #[serde(rename = "_json", default)]
    pub json: Value,
    /// Error code when it failed.
    #[serde(default)]
    pub code: Option<String>,
    /// Error message when it failed.
    #[serde(default)]
    pub message: Option<String>,
    /// Error source when it failed.
    #[serde(default)]
    pub source: Option<String>,
}

/// Options of `postAggregate`: after a file import uploaded its aggregated file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostAggregateOptions {
    /// What the aggregation produced.
    #[serde(rename = "postAggregateData", default)]
    pub post_aggregate_data: PostAggregateData,
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

// --- reading options and writing results (records through integrator-json, see codec) --------

impl Answer for PreSavePageResponse {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
        let mut object = ObjectWriter::new(out);
        object.records("data", &self.data);
        object.field("errors", &self.errors)?;
        object.field("abort", &self.abort)?;
        object.records("newErrorsAndRetryData", &self.new_errors_and_retry_data);
        object.finish();
        Ok(())
    }
}

impl Answer for Vec<RecordResult> {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
        out.push(b'[');
        for (i, result) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut object = ObjectWriter::new(out);
            if let Some(data) = &result.data {
                object.record("data", data);
            }
            if let Some(errors) = &result.errors {
                object.field("errors", errors)?;
            }
            object.finish();
        }
        out.push(b']');
        Ok(())
    }
}

with_records! {
    PreSavePageOptions { "data" => data }
    PreMapOptions { "data" => data }
    PostMapOptions { "preMapData" => pre_map_data, "postMapData" => post_map_data }
    PostSubmitOptions { "preMapData" => pre_map_data, "postMapData" => post_map_data }
    PostResponseMapOptions {
        "postResponseMapData" => post_response_map_data,
        "responseData" => response_data,
    }
}

through_serde! {
    options: PostAggregateOptions;
    answers: Vec<ResponseData>;
}
