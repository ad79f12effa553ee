//! The wrapper adaptor (connection type `wrapper`): ping, export and import are extension
//! functions on the connection's stack, called through the extension runtime's single call
//! path. Outbound HTTP is allowed only to the hosts the connection lists in
//! `wrapper.allowedHosts`.

use serde_json::{Value, json};

use super::{AdaptorError, Call, ErrorItem, RecordResult};
use crate::extension::FunctionKind;
use crate::extension::call::{self, CallRequest};

/// More identical export responses in a row than this is an infinite loop (extensions.md).
const MAX_SAME_RESPONSES: usize = 5;

/// The `connection` option every wrapper function receives.
fn connection_option(connection: &Value) -> Value {
    json!({
        "_id": connection["_id"],
        "encrypted": connection["wrapper"]["encrypted"],
        "unencrypted": connection["wrapper"]["unencrypted"],
    })
}

fn allowed_hosts(connection: &Value) -> Vec<String> {
    connection["wrapper"]["allowedHosts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str().map(str::to_owned))
        .collect()
}

fn stack_of(connection: &Value) -> Result<String, AdaptorError> {
    connection["wrapper"]["_stackId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            AdaptorError::new(
                "invalid_connection",
                "the wrapper connection has no wrapper._stackId",
            )
        })
}

/// Call one wrapper function and return its validated result.
async fn call_wrapper(
    ctx: &Call<'_>,
    connection: &Value,
    kind: FunctionKind,
    function: &str,
    options: Value,
) -> Result<Value, AdaptorError> {
    let request = CallRequest {
        account: ctx.account.to_owned(),
        stack_id: stack_of(connection)?,
        kind,
        function: function.to_owned(),
        options,
        connector: ctx.connector.map(str::to_owned),
        integration: ctx.integration.map(str::to_owned),
        allowed_hosts: allowed_hosts(connection),
        debug: Some(ctx.state.adaptors.log(connection)),
        pins: ctx.pins.cloned(),
    };
    let (result, _logs) = call::call(ctx.state, request).await;
    result.map_err(|e| AdaptorError::new(e.code(), e.to_string()))
}

/// Ping through the connection's `pingFunction`.
pub async fn ping(ctx: &Call<'_>, connection: &Value) -> Result<(), AdaptorError> {
    let Some(function) = connection["wrapper"]["pingFunction"].as_str() else {
        return Err(AdaptorError::new(
            "no_ping_function",
            "the wrapper connection has no wrapper.pingFunction to ping with",
        ));
    };
    let options = json!({"connection": connection_option(connection)});
    let result = call_wrapper(ctx, connection, FunctionKind::Ping, function, options).await?;
    let status = result["statusCode"].as_u64().unwrap_or(0) as u16;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let message = result["errors"][0]["message"]
        .as_str()
        .unwrap_or("the ping function reported a failure");
    Err(AdaptorError::new(format!("ping_{status}"), message.to_owned()).with_status(status))
}

/// An export through the connection's wrapper `export` function, called again with the
/// returned `state` until it says `lastPage`.
pub struct WrapperExport {
    connection: Value,
    function: String,
    options: Value,
    state: Value,
    done: bool,
    last: Option<Value>,
    repeats: usize,
}

impl WrapperExport {
    /// An export of `export` (its `wrapper.function` and `wrapper.configuration`) through
    /// `connection`; `extra` holds the run's options (`_flowId`, delta times, `data` for page
    /// processors).
    pub fn new(
        connection: &Value,
        export: &Value,
        extra: &Value,
        resume: Option<Value>,
    ) -> Result<Self, AdaptorError> {
        let Some(function) = export["wrapper"]["function"].as_str() else {
            return Err(AdaptorError::new(
                "invalid_export",
                "a wrapper export needs wrapper.function",
            ));
        };
        let mut options = json!({
            "connection": connection_option(connection),
            "_exportId": export["_id"],
            "configuration": export["wrapper"]["configuration"],
        });
        if let Some(kind) = export["type"].as_str() {
            options["type"] = json!(kind);
        }
        match export["type"].as_str() {
            Some("delta") => {
                options["delta"] = json!({
                    "dateField": export["delta"]["dateField"],
                    "lastExecutionTime": extra["lastExportDateTime"],
                });
            }
            Some("once") => {
                options["once"] = json!({"booleanField": export["once"]["booleanField"]})
            }
            Some("test") => {
                options["test"] = json!({"limit": export["test"]["limit"].as_u64().unwrap_or(1)})
            }
            _ => {}
        }
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                options[k.as_str()] = v.clone();
            }
        }
        Ok(Self {
            connection: connection.clone(),
            function: function.to_owned(),
            options,
            state: resume.unwrap_or(Value::Null),
            done: false,
            last: None,
            repeats: 0,
        })
    }

    /// The next page, or None once the wrapper said `lastPage`.
    pub async fn next_page(&mut self, ctx: &Call<'_>) -> Result<Option<Vec<Value>>, AdaptorError> {
        if self.done {
            return Ok(None);
        }
        let mut options = self.options.clone();
        options["state"] = self.state.clone();
        let result = call_wrapper(
            ctx,
            &self.connection,
            FunctionKind::Export,
            &self.function,
            options,
        )
        .await?;
        if let Some(first) = result["errors"].as_array().and_then(|e| e.first()) {
            let message = first["message"]
                .as_str()
                .unwrap_or("the export function failed");
            let code = first["code"].as_str().unwrap_or("wrapper_error");
            let mut error = AdaptorError::new(code, message.to_owned());
            error.auth = result["connectionOffline"].as_bool() == Some(true);
            return Err(error);
        }
        if self.last.as_ref() == Some(&result) {
            self.repeats += 1;
            if self.repeats >= MAX_SAME_RESPONSES {
                return Err(AdaptorError::new(
                    "infinite_loop",
                    format!(
                        "export function '{}' returned the same response {} times in a row: stopped as an infinite loop",
                        self.function,
                        self.repeats + 1
                    ),
                ));
            }
        } else {
            self.repeats = 0;
        }
        self.done = result["lastPage"].as_bool() != Some(false);
        self.state = result["state"].clone();
        let records = result["data"].as_array().cloned().unwrap_or_default();
        self.last = Some(result);
        Ok(Some(records))
    }

    /// Where the export stands (`state` of the last call), for paged virtual exports.
    pub fn state(&self) -> Value {
        json!({"state": self.state, "done": self.done})
    }

    /// Continue from [`WrapperExport::state`].
    pub fn resume_from(&mut self, saved: &Value) {
        self.state = saved["state"].clone();
        self.done = saved["done"].as_bool() == Some(true);
    }
}

/// Import one page through the wrapper `import` function: one result per record.
pub async fn import(
    ctx: &Call<'_>,
    connection: &Value,
    import: &Value,
    pre_map: &[Value],
    post_map: &[Value],
) -> Result<Vec<RecordResult>, AdaptorError> {
    let Some(function) = import["wrapper"]["function"].as_str() else {
        return Err(AdaptorError::new(
            "invalid_import",
            "a wrapper import needs wrapper.function",
        ));
    };
    let options = json!({
        "connection": connection_option(connection),
        "preMapData": pre_map,
        "postMapData": post_map,
        "_importId": import["_id"],
        "_flowId": ctx.flow,
        "configuration": import["wrapper"]["configuration"],
    });
    let result = call_wrapper(ctx, connection, FunctionKind::Import, function, options).await?;
    let items = result.as_array().cloned().unwrap_or_default();
    Ok(items
        .into_iter()
        .map(|item| {
            serde_json::from_value::<RecordResult>(item).unwrap_or_else(|e| {
                RecordResult::failure(
                    422,
                    ErrorItem {
                        code: "invalid_output".into(),
                        message: format!(
                            "import function '{function}' returned an invalid result: {e}"
                        ),
                        source: Some("wrapper".into()),
                    },
                )
            })
        })
        .collect())
}
