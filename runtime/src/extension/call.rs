//! The one path by which the platform calls customer code: find the stack's component, mint
//! the call's one-time token, fill the common options, run the call in the sandbox.
//! Everything that calls guests (stack invoke, flows, installers, settings) goes through
//! [`call`].

use std::time::Duration;

use serde_json::Value;

use super::{FunctionKind, GuestError, LogLine, StackLimits, limits};
use crate::AppState;
use crate::auth::Scope;

/// One call of an extension function.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// The account the code runs for (its token acts there).
    pub account: String,
    /// The stack holding the component.
    pub stack_id: String,
    /// The kind of function.
    pub kind: FunctionKind,
    /// The function's name.
    pub function: String,
    /// The options object of the call; `bearerToken` and the common options are filled in.
    pub options: Value,
    /// The connector whose code this is (its token is then limited to that connector).
    pub connector: Option<String>,
    /// The integration the call runs for.
    pub integration: Option<String>,
    /// Hosts a wrapper may reach with outbound HTTP (from its connection).
    pub allowed_hosts: Vec<String>,
    /// Where a wrapper's outbound HTTP requests are recorded (its connection's debug log).
    pub debug: Option<crate::adaptor::debug::ConnectionLog>,
    /// The component versions a job started with, by stack: a job runs to its end on them
    /// even when a new component is uploaded meanwhile (None: the stack's current one).
    pub pins: Option<Pins>,
}

/// Component digests by stack id, fixed at a job's first call of each stack.
pub type Pins = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>;

/// Why a call could not be made or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The stack does not exist in the account.
    #[error("no stack with _id '{0}'")]
    StackNotFound(String),
    /// No component has been uploaded to the stack.
    #[error("stack '{0}' has no component yet: upload one with PUT /v1/stacks/{0}/component")]
    NoComponent(String),
    /// The stack's component could not be loaded.
    #[error("the component of stack '{stack}' cannot be loaded: {message}")]
    Load {
        /// The stack.
        stack: String,
        /// Why.
        message: String,
    },
    /// The guest failed.
    #[error("stack '{stack}' function '{function}': {error}")]
    Guest {
        /// The stack.
        stack: String,
        /// The function.
        function: String,
        /// What went wrong.
        error: GuestError,
    },
}

impl CallError {
    /// The error's code.
    pub fn code(&self) -> &str {
        match self {
            CallError::StackNotFound(_) => "not_found",
            CallError::NoComponent(_) => "no_component",
            CallError::Load { .. } => "extension_error",
            CallError::Guest { error, .. } => error.code(),
        }
    }
}

/// The limits a stack document sets (`limits.memoryMiB`, `timeoutSeconds`, `outputMiB`,
/// `fuel`), defaults elsewhere.
pub fn stack_limits(stack: &Value) -> StackLimits {
    let l = &stack["limits"];
    let defaults = StackLimits::default();
    StackLimits {
        memory_bytes: l["memoryMiB"]
            .as_u64()
            .map_or(defaults.memory_bytes, |m| (m as usize) << 20)
            .min(limits::MAX_MEMORY_BYTES),
        timeout_ms: l["timeoutSeconds"]
            .as_u64()
            .map_or(defaults.timeout_ms, |s| s * 1000)
            .min(limits::MAX_TIMEOUT_MS),
        output_bytes: l["outputMiB"]
            .as_u64()
            .map_or(defaults.output_bytes, |m| (m as usize) << 20),
        fuel: l["fuel"].as_u64(),
    }
}

/// A Rust function standing in for the component of one stack: embedders of the library
/// register them ([`crate::AppState::register_native`]); the flow benchmark uses one as the
/// native floor. Called with the kind, the function name and the filled options.
pub type NativeFunction =
    std::sync::Arc<dyn Fn(FunctionKind, &str, &Value) -> Result<Value, String> + Send + Sync>;

/// Run one call. Returns the validated result and the call's log lines (also on failure).
pub async fn call(
    state: &AppState,
    request: CallRequest,
) -> (Result<Value, CallError>, Vec<LogLine>) {
    let (result, logs, _) = call_keeping(state, request).await;
    (result, logs)
}

/// [`call`], also handing back the options the call was made with (as filled in: its token
/// is revoked by then), so that a caller can take back what it moved in (a page's records)
/// instead of copying it first.
pub async fn call_keeping(
    state: &AppState,
    mut request: CallRequest,
) -> (Result<Value, CallError>, Vec<LogLine>, Value) {
    let options = std::mem::take(&mut request.options);
    call_with(state, request, options).await
}

async fn call_with(
    state: &AppState,
    request: CallRequest,
    options: Value,
) -> (Result<Value, CallError>, Vec<LogLine>, Value) {
    if let Some(native) = state.native(&request.stack_id) {
        let mut options = options;
        if let Some(integration) = &request.integration {
            options["_integrationId"] = Value::String(integration.clone());
        }
        let result = native(request.kind, &request.function, &options)
            .and_then(|result| {
                request
                    .kind
                    .check_result(
                        request.kind.input_records(&options),
                        &super::Shape::of(&result),
                    )
                    .map(|()| result)
            })
            .map_err(|message| CallError::Guest {
                stack: request.stack_id.clone(),
                function: request.function.clone(),
                error: GuestError::InvalidOutput(message),
            });
        return (result, Vec::new(), options);
    }
    // A connector's code runs for the installing account but lives on the connector's stack,
    // in the publisher's account.
    let stack = match state
        .db
        .get(&request.account, "stacks", &request.stack_id)
        .and_then(|stack| match (stack, &request.connector) {
            (None, Some(connector)) => {
                crate::marketplace::connector_stack(&state.db, connector, &request.stack_id)
            }
            (stack, _) => Ok(stack),
        }) {
        Ok(Some(stack)) => stack,
        Ok(None) => {
            return (
                Err(CallError::StackNotFound(request.stack_id)),
                Vec::new(),
                options,
            );
        }
        Err(e) => {
            let error = CallError::Load {
                stack: request.stack_id,
                message: e.to_string(),
            };
            return (Err(error), Vec::new(), options);
        }
    };
    let Some(current) = stack["component"]["digest"].as_str() else {
        return (
            Err(CallError::NoComponent(request.stack_id)),
            Vec::new(),
            options,
        );
    };
    let digest = match &request.pins {
        Some(pins) => pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(request.stack_id.clone())
            .or_insert_with(|| current.to_owned())
            .clone(),
        None => current.to_owned(),
    };
    let digest = digest.as_str();
    let loaded = match state.extensions.load(digest).await {
        Ok(loaded) => loaded,
        Err(e) => {
            let error = CallError::Load {
                stack: request.stack_id,
                message: format!("{e:#}"),
            };
            return (Err(error), Vec::new(), options);
        }
    };
    let limits = stack_limits(&stack);
    let scope = match &request.connector {
        Some(connector) => Scope::Connector {
            connector: connector.clone(),
        },
        None => Scope::Diy,
    };
    // Valid while the call runs (the guard revokes it when this function returns), and never
    // past the call's deadline.
    let token = state.auth.mint_call_token(
        &request.account,
        scope,
        Duration::from_millis(limits.timeout_ms) + Duration::from_secs(1),
    );
    let mut options = match options {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    options.insert(
        "bearerToken".into(),
        Value::String(token.token().to_owned()),
    );
    if let Some(integration) = &request.integration {
        options.insert("_integrationId".into(), Value::String(integration.clone()));
        // Connector apps' code gets the installed integration's settings.
        if !options.contains_key("settings")
            && let Ok(Some(doc)) = state.db.get(&request.account, "integrations", integration)
            && !doc["settings"].is_null()
        {
            options.insert("settings".into(), doc["settings"].clone());
        }
    }
    match &request.connector {
        Some(connector) => {
            options.insert("_connectorId".into(), Value::String(connector.clone()));
        }
        None => {
            options.remove("_connectorId");
        }
    }
    options.entry("testMode").or_insert(Value::Bool(false));
    let options = Value::Object(options);
    let reach = super::Reach {
        platform: state.router.get().cloned(),
        outbound: Some(request.allowed_hosts.clone()),
        debug: request.debug.clone(),
    };
    let (result, logs) = state
        .extensions
        .call(
            &loaded,
            request.kind,
            &request.function,
            &options,
            &limits,
            reach,
        )
        .await;
    drop(token);
    let result = result
        .and_then(super::Output::into_value)
        .map_err(|error| CallError::Guest {
            stack: request.stack_id.clone(),
            function: request.function.clone(),
            error,
        });
    (result, logs, options)
}
