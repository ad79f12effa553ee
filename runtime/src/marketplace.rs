//! The marketplace: connector apps that one account (the publisher) lists and licenses, and that
//! licensed accounts install, configure, update and uninstall ([`lifecycle`]).
//!
//! Where things live:
//! - the connector, its stack and its licenses (`licenses:{connector}`) stay in the publisher's
//!   account;
//! - an install is an integration in the installing account that carries `_connectorId` and
//!   `_licenseId`. The platform writes it itself (the generic reference check is same-account
//!   only, and the connector is in another account); the connector's code, running in the
//!   installing account with a token limited to the connector, creates the rest (connections,
//!   exports, imports, flows), tagged with the connector and the integration;
//! - while a license is in use it carries `_integrationId` and `user._id`/`user.name` of the
//!   installing account;
//! - a small index in the store's accounts space, `connector/{id}` → `{"account": publisher}`,
//!   finds a connector from any account. It is written with the connector (and removed with
//!   it) in the same batch, and rebuilt at start ([`rebuild_index`]) for stores older than it.
//!   Scanning every account on every install would cost as much as there are accounts.
//!
//! Who may do what:
//! - the publisher: its connectors, their licenses, update pushes and install base — never the
//!   installing accounts' documents (those stay 404 to it, as any other account's);
//! - an installing account: its installs' steps, settings, runs and uninstall. What a connector
//!   manages in it ([`managed_by`]) can be read and edited, but the tags and the install's
//!   state (`_connectorId`, `_integrationId`, `mode`, `version`, `updateInProgress`, `install`,
//!   `settings`) keep their stored values on a PUT, and deleting or cloning it is a 409
//!   (`connector_managed`: uninstall instead);
//! - connector code: only documents tagged with its connector, in the account it runs for.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::resources::flush;
use crate::api::{ApiError, ApiResult};
use crate::auth::{Principal, Scope};
use crate::extension::call::{self, CallError, CallRequest};
use crate::extension::{FunctionKind, GuestError, LogLine};
use crate::model::check::Problem;
use crate::model::{self, CONNECTORS, INTEGRATIONS, Kind};
use crate::store::{Batch, Db, Space, StoreError};
use crate::util;

pub mod lifecycle;

// ---------------------------------------------------------------------------------------------
// The connectors' index

fn index_key(connector: &str) -> String {
    format!("connector/{connector}")
}

/// Add to `batch` the index entry of connector `connector`, published from `account`.
pub fn index_connector(batch: &mut Batch, account: &str, connector: &str) {
    Db::account_put(
        batch,
        &index_key(connector),
        &json!({"_id": connector, "account": account}),
    );
}

/// Add to `batch` the removal of the index entry of `connector`.
pub fn unindex_connector(batch: &mut Batch, connector: &str) {
    batch.delete(Space::Accounts, index_key(connector));
}

/// The account that publishes `connector`, if it exists.
pub fn publisher_of(db: &Db, connector: &str) -> Result<Option<String>, StoreError> {
    Ok(db
        .account_get(&index_key(connector))?
        .and_then(|entry| entry["account"].as_str().map(str::to_owned)))
}

/// The publisher's account and the document of `connector`, from any account.
pub fn find_connector(db: &Db, connector: &str) -> Result<Option<(String, Value)>, StoreError> {
    let Some(publisher) = publisher_of(db, connector)? else {
        return Ok(None);
    };
    Ok(db
        .get(&publisher, CONNECTORS.name, connector)?
        .map(|doc| (publisher, doc)))
}

/// Index every connector of every account that the index lacks (stores written before it
/// existed). Returns how many entries were added.
pub fn rebuild_index(db: &Db) -> Result<usize, StoreError> {
    let mut batch = Batch::default();
    let mut added = 0;
    for account in db.account_scan("account/")? {
        let Some(account) = account["_id"].as_str() else {
            continue;
        };
        for connector in db.list(account, CONNECTORS.name)? {
            let Some(id) = connector["_id"].as_str() else {
                continue;
            };
            if publisher_of(db, id)?.is_none() {
                index_connector(&mut batch, account, id);
                added += 1;
            }
        }
    }
    db.write(batch)?;
    if added > 0 {
        db.flush()?;
    }
    Ok(added)
}

// ---------------------------------------------------------------------------------------------
// Listing

/// The fields of a connector every account may see in the marketplace.
pub const LISTING_FIELDS: &[&str] = &[
    "_id",
    "name",
    "description",
    "imageURL",
    "websiteURL",
    "contactEmail",
    "handle",
    "applications",
    "managed",
    "published",
    "createdAt",
    "lastModified",
];

/// Whether the connector is listed in the marketplace.
pub fn is_published(connector: &Value) -> bool {
    connector["published"].as_bool() == Some(true)
}

/// A connector as the marketplace shows it: [`LISTING_FIELDS`] only.
pub fn listing(connector: &Value) -> Value {
    let fields: Map<String, Value> = LISTING_FIELDS
        .iter()
        .filter_map(|f| {
            connector
                .get(*f)
                .filter(|v| !v.is_null())
                .map(|v| ((*f).to_owned(), v.clone()))
        })
        .collect();
    Value::Object(fields)
}

/// Every published connector of every account, as listed, oldest first.
pub fn published_connectors(db: &Db) -> Result<Vec<Value>, StoreError> {
    let mut listed = Vec::new();
    for entry in db.account_scan("connector/")? {
        let (Some(id), Some(account)) = (entry["_id"].as_str(), entry["account"].as_str()) else {
            continue;
        };
        if let Some(connector) = db.get(account, CONNECTORS.name, id)?
            && is_published(&connector)
        {
            listed.push(listing(&connector));
        }
    }
    Ok(listed)
}

// ---------------------------------------------------------------------------------------------
// Licenses

/// The collection holding the licenses of `connector` (in the publisher's account).
pub fn licenses_of(connector: &str) -> String {
    format!("licenses:{connector}")
}

/// Whether `license` has expired at `now` (a license without `expires` never does).
pub fn is_expired(license: &Value, now: DateTime<Utc>) -> bool {
    license["expires"]
        .as_str()
        .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|expires| expires <= now)
}

/// The edition a license grants: `opts.edition`.
pub fn edition(license: &Value) -> Option<&str> {
    license["opts"]["edition"].as_str()
}

/// The message of a flow stopped by an expired license; starts with `license_expired`.
fn expired_message(integration: &str, connector: &Value, license: &Value) -> String {
    format!(
        "license_expired: the license of connector app '{}' for integration '{integration}' expired at {}; \
         its flows do not run until the publisher renews it",
        connector["name"].as_str().unwrap_or_default(),
        license["expires"].as_str().unwrap_or_default(),
    )
}

/// Whether `flow` may run in `account`: a flow of an install from the marketplace whose license
/// expired (or is gone) may not; the error says so and starts with `license_expired`. Flows of
/// other integrations always may.
pub fn check_license(state: &AppState, account: &str, flow: &Value) -> Result<(), String> {
    let Some(integration) = flow["_integrationId"].as_str() else {
        return Ok(());
    };
    let lookup = || -> Result<Option<String>, StoreError> {
        let Some(doc) = state.db.get(account, INTEGRATIONS.name, integration)? else {
            return Ok(None);
        };
        let (Some(connector_id), Some(license_id)) =
            (doc["_connectorId"].as_str(), doc["_licenseId"].as_str())
        else {
            return Ok(None);
        };
        let Some((publisher, connector)) = find_connector(&state.db, connector_id)? else {
            return Ok(Some(format!(
                "license_expired: connector app '{connector_id}' of integration '{integration}' no longer exists"
            )));
        };
        let license = state
            .db
            .get(&publisher, &licenses_of(connector_id), license_id)?;
        Ok(match license {
            None => Some(format!(
                "license_expired: integration '{integration}' no longer has a license of connector app '{}'",
                connector["name"].as_str().unwrap_or_default()
            )),
            Some(license) if is_expired(&license, Utc::now()) => {
                Some(expired_message(integration, &connector, &license))
            }
            Some(_) => None,
        })
    };
    match lookup() {
        Ok(None) => Ok(()),
        Ok(Some(message)) => Err(message),
        Err(e) => Err(format!(
            "checking the license of integration '{integration}' failed: {e}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Installs

/// An install from the marketplace, resolved: the integration in the installing account, its
/// connector and license in the publisher's.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The installing account.
    pub account: String,
    /// The integration document.
    pub integration: Value,
    /// The connector's id.
    pub connector_id: String,
    /// The publisher's account.
    pub publisher: String,
    /// The connector document.
    pub connector: Value,
    /// The license's id.
    pub license_id: String,
    /// The license document.
    pub license: Value,
}

impl Installation {
    /// Resolve the install `integration` (a document of `account`); 409 `not_installed` when it
    /// is not an install from the marketplace (or its connector or license is gone).
    pub fn resolve(db: &Db, account: &str, integration: Value) -> ApiResult<Self> {
        let id = integration["_id"].as_str().unwrap_or_default().to_owned();
        let not_installed = |why: &str| {
            ApiError::conflict(
                "not_installed",
                format!(
                    "integration '{id}' {why}: only installs of connector apps have this route"
                ),
            )
        };
        let (Some(connector_id), Some(license_id)) = (
            integration["_connectorId"].as_str().map(str::to_owned),
            integration["_licenseId"].as_str().map(str::to_owned),
        ) else {
            return Err(not_installed("was not installed from the marketplace"));
        };
        let Some((publisher, connector)) = find_connector(db, &connector_id)? else {
            return Err(not_installed(
                "belongs to a connector app that no longer exists",
            ));
        };
        let Some(license) = db.get(&publisher, &licenses_of(&connector_id), &license_id)? else {
            return Err(not_installed("no longer has a license"));
        };
        Ok(Self {
            account: account.to_owned(),
            integration,
            connector_id,
            publisher,
            connector,
            license_id,
            license,
        })
    }

    /// The integration's id.
    pub fn id(&self) -> &str {
        self.integration["_id"].as_str().unwrap_or_default()
    }

    /// The license's options (editions), for the functions' `opts`.
    pub fn opts(&self) -> Value {
        match &self.license["opts"] {
            Value::Null => json!({}),
            opts => opts.clone(),
        }
    }

    /// 403 `license_expired` when the license has expired.
    pub fn require_valid_license(&self) -> ApiResult<()> {
        if is_expired(&self.license, Utc::now()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "license_expired",
                format!(
                    "the license of connector app '{}' expired at {}: ask the publisher to renew it",
                    self.connector["name"].as_str().unwrap_or_default(),
                    self.license["expires"].as_str().unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// 409 `update_in_progress` while the publisher's update runs.
    pub fn require_no_update(&self) -> ApiResult<()> {
        if self.integration["updateInProgress"].as_bool() == Some(true) {
            return Err(ApiError::conflict(
                "update_in_progress",
                format!(
                    "integration '{}' is being updated by its connector app: retry when the update ends",
                    self.id()
                ),
            ));
        }
        Ok(())
    }

    /// 409 `invalid_mode` unless the install is in one of `modes`.
    pub fn require_mode(&self, modes: &[&str], doing: &str) -> ApiResult<()> {
        let mode = self.integration["mode"].as_str().unwrap_or("settings");
        if modes.contains(&mode) {
            return Ok(());
        }
        Err(ApiError::conflict(
            "invalid_mode",
            format!(
                "integration '{}' is in mode '{mode}': {doing} needs mode {}",
                self.id(),
                modes.join(" or ")
            ),
        ))
    }

    /// Call the connector's function `function` of `kind` for this install, in the installing
    /// account, with `options` (`opts` and the common options are added).
    pub async fn call(
        &self,
        state: &AppState,
        kind: FunctionKind,
        function: &str,
        mut options: Value,
    ) -> (Result<Value, Failure>, Vec<LogLine>) {
        if let Value::Object(fields) = &mut options
            && !fields.contains_key("opts")
        {
            fields.insert("opts".into(), self.opts());
        }
        call_connector(
            state,
            &self.account,
            &self.connector_id,
            &self.connector,
            Some(self.id()),
            kind,
            function,
            options,
        )
        .await
    }

    /// The name of the connector's function in `field` (e.g. `updateFunction`), if set.
    pub fn function(&self, field: &str) -> Option<String> {
        function_name(&self.connector, field)
    }
}

/// The name in `field` of a document (a connector, a step), when it is set and not empty.
pub fn function_name(doc: &Value, field: &str) -> Option<String> {
    doc[field]
        .as_str()
        .filter(|f| !f.trim().is_empty())
        .map(str::to_owned)
}

/// A connector function that failed, or could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error's code (the function's own, or the runtime's: `timeout`, `guest_trap`, …).
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// Whether retrying shortly may succeed (the runtime was at capacity).
    pub retry: bool,
}

impl Failure {
    /// A failure of the platform's own making (not the guest's).
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            retry: false,
        }
    }

    fn from_call(error: &CallError) -> Self {
        let mut message = error.to_string();
        if let CallError::Guest {
            error:
                GuestError::Failed {
                    origin: Some(origin),
                    ..
                },
            ..
        } = error
        {
            message = format!("{message} (source: {origin})");
        }
        Self {
            code: error.code().to_owned(),
            message,
            retry: matches!(
                error,
                CallError::Guest {
                    error: GuestError::AtCapacity(_),
                    ..
                }
            ),
        }
    }

    /// The failure as one problem of an error body (also how an install step shows it).
    pub fn problem(&self) -> Problem {
        Problem::general(&self.code, self.message.clone())
    }

    /// The failure as an API error: 503 with `Retry-After` when the runtime was at capacity,
    /// else 422 with the function's code and message.
    pub fn api_error(&self) -> ApiError {
        if self.retry {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "at_capacity",
                &self.message,
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(1));
        }
        ApiError::invalid(vec![self.problem()])
    }
}

/// Call `function` of `kind` on the stack of connector `connector_id` (`connector` is its
/// document) for `account`, with a one-time token limited to the connector in that account.
#[allow(clippy::too_many_arguments)]
pub async fn call_connector(
    state: &AppState,
    account: &str,
    connector_id: &str,
    connector: &Value,
    integration: Option<&str>,
    kind: FunctionKind,
    function: &str,
    options: Value,
) -> (Result<Value, Failure>, Vec<LogLine>) {
    let Some(stack_id) = connector["_stackId"].as_str() else {
        let failure = Failure::new(
            "no_stack",
            format!(
                "connector app '{}' names the {} function '{function}' but has no _stackId",
                connector["name"].as_str().unwrap_or_default(),
                kind.api_name()
            ),
        );
        return (Err(failure), Vec::new());
    };
    let request = CallRequest {
        account: account.to_owned(),
        stack_id: stack_id.to_owned(),
        kind,
        function: function.to_owned(),
        options,
        connector: Some(connector_id.to_owned()),
        integration: integration.map(str::to_owned),
        allowed_hosts: Vec::new(),
        debug: None,
        pins: None,
    };
    let (result, logs) = call::call(state, request).await;
    (result.map_err(|e| Failure::from_call(&e)), logs)
}

/// Every install of `connector` from the marketplace, in any account: (account, integration).
pub fn installs_of(db: &Db, connector: &str) -> Result<Vec<(String, Value)>, StoreError> {
    let mut installs = Vec::new();
    for referrer in db.referrers(connector)? {
        if referrer.kind != INTEGRATIONS.name {
            continue;
        }
        if let Some(doc) = db.get(&referrer.account, INTEGRATIONS.name, &referrer.id)?
            && doc["_connectorId"].as_str() == Some(connector)
            && doc["_licenseId"].is_string()
        {
            installs.push((referrer.account, doc));
        }
    }
    Ok(installs)
}

/// The stack `stack_id` when it is the stack of `connector` (stored in the publisher's account):
/// what the connector's code runs on, whatever account it runs for.
pub fn connector_stack(
    db: &Db,
    connector: &str,
    stack_id: &str,
) -> Result<Option<Value>, StoreError> {
    let Some((publisher, doc)) = find_connector(db, connector)? else {
        return Ok(None);
    };
    if doc["_stackId"].as_str() != Some(stack_id) {
        return Ok(None);
    }
    db.get(&publisher, "stacks", stack_id)
}

// ---------------------------------------------------------------------------------------------
// One operation at a time per install

/// Installs with a marketplace operation under way (a step, a settings save, an update, an
/// edition change, an uninstall): one at a time per install, the others answer 409.
#[derive(Debug, Default)]
pub struct Busy {
    ids: Arc<Mutex<HashSet<String>>>,
}

/// Held while one operation runs on an install; frees it when dropped.
#[derive(Debug)]
pub struct BusyGuard {
    ids: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Busy {
    /// Start an operation on install `id`; 409 `operation_in_progress` while another runs.
    pub fn claim(&self, id: &str) -> ApiResult<BusyGuard> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if !ids.insert(id.to_owned()) {
            return Err(ApiError::conflict(
                "operation_in_progress",
                format!("another operation on integration '{id}' is under way: retry when it ends"),
            ));
        }
        Ok(BusyGuard {
            ids: self.ids.clone(),
            id: id.to_owned(),
        })
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

// ---------------------------------------------------------------------------------------------
// Writing installs

/// Read-modify-write integration `id` of `account` under the store's write lock: `change` edits
/// the stored document, which is then validated and stored with its references. Returns the
/// stored document.
pub async fn update_integration(
    state: &AppState,
    account: &str,
    id: &str,
    change: impl FnOnce(&mut Value) -> ApiResult<()>,
) -> ApiResult<Value> {
    let doc = {
        let _guard = state.db.lock();
        let old = state
            .db
            .get(account, INTEGRATIONS.name, id)?
            .ok_or_else(|| ApiError::not_found(INTEGRATIONS.singular, id))?;
        let mut doc = old.clone();
        change(&mut doc)?;
        let problems = INTEGRATIONS.problems(&doc, &[]);
        if !problems.is_empty() {
            return Err(ApiError::invalid(problems));
        }
        doc["lastModified"] = Value::String(util::now());
        let mut batch = Batch::default();
        Db::put_doc(
            &mut batch,
            account,
            INTEGRATIONS.name,
            id,
            &doc,
            &(INTEGRATIONS.references)(&old),
            &(INTEGRATIONS.references)(&doc),
        );
        state.db.write(batch)?;
        doc
    };
    flush(&state.db).await?;
    Ok(doc)
}

/// The install steps of an integration document (an empty list when it has none).
pub fn steps(integration: &Value) -> Vec<Value> {
    integration["install"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Whether every step is `completed` (true when there are none).
pub fn all_completed(steps: &[Value]) -> bool {
    steps.iter().all(|s| s["completed"].as_bool() == Some(true))
}

/// Apply a function's `stepsToUpdate` to `steps`: each entry replaces the fields it has of the
/// step with its `name`; an entry naming no step is appended as a new step. Returns the indexes
/// whose `completed` the entries set, or what is wrong with them.
pub fn apply_steps(steps: &mut Vec<Value>, updates: &Value) -> Result<Vec<usize>, String> {
    let updates = match updates {
        Value::Null => return Ok(Vec::new()),
        Value::Array(updates) => updates,
        _ => return Err("stepsToUpdate must be an array of steps".into()),
    };
    let mut completed = Vec::new();
    for (i, update) in updates.iter().enumerate() {
        let Some(fields) = update.as_object() else {
            return Err(format!("stepsToUpdate[{i}] must be an object (a step)"));
        };
        let Some(name) = fields.get("name").and_then(Value::as_str) else {
            return Err(format!("stepsToUpdate[{i}] must have the step's name"));
        };
        let at = match steps.iter().position(|s| s["name"].as_str() == Some(name)) {
            Some(at) => at,
            None => {
                steps.push(json!({}));
                steps.len() - 1
            }
        };
        let Some(step) = steps[at].as_object_mut() else {
            return Err(format!("install step {at} is not an object"));
        };
        for (field, value) in fields {
            // The platform's own bookkeeping is not the function's to write.
            if field != "error" && field != "uninstalled" {
                step.insert(field.clone(), value.clone());
            }
        }
        if fields.contains_key("completed") {
            completed.push(at);
        }
    }
    Ok(completed)
}

/// Set `path` (`a.b.c`) in `target` to `value`, making objects on the way (a value that is not
/// an object on the way is replaced by one).
pub fn set_path(target: &mut Value, path: &str, value: Value) {
    let mut at = target;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = json!({});
        }
        let Value::Object(fields) = at else {
            return;
        };
        if parts.peek().is_none() {
            fields.insert(part.to_owned(), value);
            return;
        }
        at = fields.entry(part.to_owned()).or_insert_with(|| json!({}));
    }
}

/// Save `pending` (key/values, keys dotted: `general.pageSize`) into `settings`.
pub fn merge_settings(settings: &mut Value, pending: &Map<String, Value>) {
    for (key, value) in pending {
        set_path(settings, key, value.clone());
    }
}

// ---------------------------------------------------------------------------------------------
// What connectors manage in installing accounts

/// The connector that manages `doc` in `account`, if any: an install from the marketplace
/// (`_licenseId`), and everything tagged with a connector published from another account
/// (only the platform and that connector's code can write such a tag there). A publisher's
/// own account keeps full control of what it tags with its connectors while developing them.
pub fn managed_by(db: &Db, account: &str, doc: &Value) -> Result<Option<String>, StoreError> {
    let Some(connector) = doc["_connectorId"].as_str() else {
        return Ok(None);
    };
    if doc["_licenseId"].is_string() || db.get(account, CONNECTORS.name, connector)?.is_none() {
        return Ok(Some(connector.to_owned()));
    }
    Ok(None)
}

/// Fields of a connector-managed document that an account's PUT cannot change.
const MANAGED_TAGS: &[&str] = &["_connectorId", "_integrationId"];
/// Fields of an install that only the platform and the connector's code write.
const MANAGED_INSTALL_FIELDS: &[&str] =
    &["mode", "version", "updateInProgress", "install", "settings"];

/// On an account's PUT of a connector-managed document (`old`), keep the stored tags and, for an
/// install, its state: they change through the install, settings, update and uninstall routes.
pub fn keep_managed_fields(
    db: &Db,
    principal: &Principal,
    kind: &Kind,
    old: &Value,
    fields: &mut Map<String, Value>,
) -> Result<(), StoreError> {
    if !matches!(principal.scope, Scope::Account { .. })
        || managed_by(db, &principal.account, old)?.is_none()
    {
        return Ok(());
    }
    let install_fields = if kind.name == INTEGRATIONS.name {
        MANAGED_INSTALL_FIELDS
    } else {
        &[]
    };
    for field in MANAGED_TAGS.iter().chain(install_fields) {
        match old.get(*field) {
            Some(value) => fields.insert((*field).to_owned(), value.clone()),
            None => fields.remove(*field),
        };
    }
    Ok(())
}

/// 409 `connector_managed` when an account token would `action` (delete, clone) a document a
/// connector manages: uninstalling the integration removes it.
pub fn refuse_managed(
    db: &Db,
    principal: &Principal,
    kind: &Kind,
    doc: &Value,
    action: &str,
) -> ApiResult<()> {
    if !matches!(principal.scope, Scope::Account { .. }) {
        return Ok(());
    }
    let Some(connector) = managed_by(db, &principal.account, doc)? else {
        return Ok(());
    };
    let id = doc["_id"].as_str().unwrap_or_default();
    let integration = if kind.name == INTEGRATIONS.name {
        Some(id)
    } else {
        doc["_integrationId"].as_str()
    };
    let how = match integration {
        Some(i) => format!("uninstall instead: POST /v1/integrations/{i}/uninstall"),
        None => "uninstall the connector app's integration instead".to_owned(),
    };
    Err(ApiError::conflict(
        "connector_managed",
        format!(
            "{} '{id}' is managed by connector app '{connector}', so it cannot be {action}d directly: {how}",
            kind.singular
        ),
    ))
}

/// Whether `stack_id` is the stack of `connector` (connector code may refer to its own stack,
/// which lives in the publisher's account, from the documents it writes).
pub fn is_connector_stack(db: &Db, connector: &str, stack_id: &str) -> Result<bool, StoreError> {
    Ok(find_connector(db, connector)?
        .is_some_and(|(_, doc)| doc["_stackId"].as_str() == Some(stack_id)))
}

// ---------------------------------------------------------------------------------------------
// Removing an install

/// Collections whose documents an install's removal deletes when they are tagged with it (every
/// kind a client writes, except connectors themselves).
fn purged_kinds() -> impl Iterator<Item = &'static Kind> {
    model::CRUD_KINDS
        .iter()
        .copied()
        .filter(|k| k.name != CONNECTORS.name)
}

/// Jobs of `account` that belong to the install: tagged with the integration, or of one of its
/// flows, exports or imports (`ids`).
fn install_jobs(
    db: &Db,
    account: &str,
    integration: &str,
    ids: &HashSet<String>,
) -> Result<Vec<Value>, StoreError> {
    Ok(db
        .list(account, "jobs")?
        .into_iter()
        .filter(|job| {
            job["_integrationId"].as_str() == Some(integration)
                || ["_flowId", "_exportId", "_importId"]
                    .iter()
                    .any(|f| job[*f].as_str().is_some_and(|id| ids.contains(id)))
        })
        .collect())
}

/// 409 `jobs_running` while a job of the install is queued or running.
pub fn refuse_running_jobs(db: &Db, account: &str, integration: &str) -> ApiResult<()> {
    let flows: HashSet<String> = db
        .list(account, "flows")?
        .into_iter()
        .filter(|f| f["_integrationId"].as_str() == Some(integration))
        .filter_map(|f| f["_id"].as_str().map(str::to_owned))
        .collect();
    check_jobs_ended(
        &install_jobs(db, account, integration, &flows)?,
        integration,
    )
}

fn check_jobs_ended(jobs: &[Value], integration: &str) -> ApiResult<()> {
    let running: Vec<&str> = jobs
        .iter()
        .filter(|j| {
            matches!(
                j["status"].as_str(),
                Some("queued" | "running" | "cancelling")
            )
        })
        .filter_map(|j| j["_id"].as_str())
        .collect();
    if running.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict(
        "jobs_running",
        format!(
            "integration '{integration}' has jobs that have not ended ({}): wait for them or cancel them first",
            running.join(", ")
        ),
    ))
}

/// Delete install `inst` and everything tagged with it in the installing account — documents
/// tagged with its `_integrationId` (and, when it is the connector's last install there, with
/// the connector's `_connectorId`), their state, the flows' run bookkeeping, the jobs and job
/// errors — and free its license, in one atomic write. 409 (nothing deleted) while a job of
/// the install has not ended or a document outside the install refers to one inside it.
/// Returns the deleted ids by collection.
pub async fn purge(
    state: &AppState,
    inst: &Installation,
) -> ApiResult<BTreeMap<String, Vec<String>>> {
    purge_restoring(state, inst, None).await
}

/// [`purge`]; with `license_before`, the license goes back to that document (as it was before
/// a failed install claimed it) instead of only being freed.
pub async fn purge_restoring(
    state: &AppState,
    inst: &Installation,
    license_before: Option<&Value>,
) -> ApiResult<BTreeMap<String, Vec<String>>> {
    let db = &state.db;
    let account = inst.account.as_str();
    let integration = inst.id();
    let deleted = {
        let _guard = db.lock();
        let last_install = !db.list(account, INTEGRATIONS.name)?.iter().any(|doc| {
            doc["_id"].as_str() != Some(integration)
                && doc["_connectorId"].as_str() == Some(inst.connector_id.as_str())
                && doc["_licenseId"].is_string()
        });
        let mut doomed: Vec<(&'static Kind, Value)> = Vec::new();
        for kind in purged_kinds() {
            for doc in db.list(account, kind.name)? {
                let id = doc["_id"].as_str().unwrap_or_default();
                let tagged = doc["_integrationId"].as_str() == Some(integration)
                    || (kind.name == INTEGRATIONS.name && id == integration)
                    || (last_install
                        && doc["_connectorId"].as_str() == Some(inst.connector_id.as_str()));
                if tagged {
                    doomed.push((kind, doc));
                }
            }
        }
        let ids: HashSet<String> = doomed
            .iter()
            .filter_map(|(_, d)| d["_id"].as_str().map(str::to_owned))
            .collect();
        let mut problems = Vec::new();
        for (kind, doc) in &doomed {
            let id = doc["_id"].as_str().unwrap_or_default();
            for r in db.referrers(id)? {
                if r.account == account && ids.contains(&r.id) {
                    continue;
                }
                let singular = model::kind(&r.kind).map_or(r.kind.as_str(), |k| k.singular);
                problems.push(Problem::general(
                    "referenced",
                    format!(
                        "{} '{id}' of the integration is used by {singular} '{}' (field {}), which is not part of it: change or delete that first",
                        kind.singular,
                        r.id,
                        r.fields.join(", ")
                    ),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::problems(StatusCode::CONFLICT, problems));
        }
        let jobs = install_jobs(db, account, integration, &ids)?;
        check_jobs_ended(&jobs, integration)?;

        let mut batch = Batch::default();
        let mut deleted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (kind, doc) in &doomed {
            let id = doc["_id"].as_str().unwrap_or_default();
            Db::delete_doc(&mut batch, account, kind.name, id, &(kind.references)(doc));
            db.state_clear(&mut batch, account, &format!("{}:{id}", kind.name))?;
            if kind.name == "flows" {
                Db::delete_doc(&mut batch, account, "flowruns", id, &[]);
            }
            deleted
                .entry(kind.name.to_owned())
                .or_default()
                .push(id.to_owned());
        }
        for job in &jobs {
            let id = job["_id"].as_str().unwrap_or_default();
            let errors = crate::flow::job::errors_kind(id);
            for error in db.list(account, &errors)? {
                if let Some(e) = error["_id"].as_str() {
                    Db::delete_doc(&mut batch, account, &errors, e, &[]);
                }
            }
            Db::delete_doc(&mut batch, account, "jobs", id, &[]);
            deleted
                .entry("jobs".to_owned())
                .or_default()
                .push(id.to_owned());
        }
        let licenses = licenses_of(&inst.connector_id);
        if let Some(mut license) = db.get(&inst.publisher, &licenses, &inst.license_id)?
            && license["_integrationId"].as_str() == Some(integration)
            && let Some(fields) = license.as_object_mut()
        {
            match license_before {
                Some(before) => *fields = before.as_object().cloned().unwrap_or_default(),
                None => {
                    fields.remove("_integrationId");
                    fields.insert("lastModified".into(), Value::String(util::now()));
                }
            }
            Db::put_doc(
                &mut batch,
                &inst.publisher,
                &licenses,
                &inst.license_id,
                &license,
                &[],
                &[],
            );
        }
        db.write(batch)?;
        deleted
    };
    flush(db).await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses_expire_at_their_date_and_without_one_never() {
        let now = Utc::now();
        let past = json!({"expires": "2020-01-01T00:00:00.000Z"});
        let future = json!({"expires": "2999-01-01T00:00:00.000Z"});
        assert!(is_expired(&past, now));
        assert!(!is_expired(&future, now));
        assert!(!is_expired(&json!({}), now));
        assert!(!is_expired(&json!({"expires": "not a date"}), now));
        let at = DateTime::parse_from_rfc3339("2030-06-01T12:00:00.000Z")
            .expect("a date")
            .with_timezone(&Utc);
        assert!(is_expired(
            &json!({"expires": "2030-06-01T12:00:00.000Z"}),
            at
        ));
        assert_eq!(
            edition(&json!({"opts": {"edition": "premium"}})),
            Some("premium")
        );
        assert_eq!(edition(&json!({"opts": {}})), None);
    }

    #[test]
    fn the_listing_shows_listing_fields_only() {
        let connector = json!({
            "_id": "0123456789abcdef01234567", "name": "App", "description": "d",
            "published": true, "_stackId": "0123456789abcdef01234568",
            "installerFunction": "install", "updateFunction": "update", "x-secret-plan": 1,
            "applications": ["a"], "handle": null,
        });
        assert_eq!(
            listing(&connector),
            json!({"_id": "0123456789abcdef01234567", "name": "App", "description": "d",
                   "published": true, "applications": ["a"]})
        );
        assert!(is_published(&connector));
        assert!(!is_published(&json!({"published": "yes"})));
    }

    #[test]
    fn steps_to_update_replace_fields_by_name_and_append_new_steps() {
        let mut steps = vec![
            json!({"name": "Connection", "completed": false, "installerFunction": "a",
                   "error": {"code": "x", "message": "y"}}),
            json!({"name": "Defaults", "completed": false}),
        ];
        let set = apply_steps(
            &mut steps,
            &json!([{"name": "Connection", "completed": true, "error": null},
                    {"name": "Extra", "description": "later"}]),
        )
        .expect("valid updates");
        assert_eq!(set, vec![0]);
        assert_eq!(steps[0]["completed"], json!(true));
        assert_eq!(
            steps[0]["installerFunction"],
            json!("a"),
            "fields not named stay"
        );
        assert_eq!(
            steps[0]["error"]["code"],
            json!("x"),
            "the platform's bookkeeping is not the function's"
        );
        assert_eq!(steps[2], json!({"name": "Extra", "description": "later"}));
        assert!(!all_completed(&steps));
        assert!(all_completed(&[]));
        assert!(apply_steps(&mut steps, &json!({"name": "x"})).is_err());
        assert!(apply_steps(&mut steps, &json!([{"completed": true}])).is_err());
        assert!(apply_steps(&mut steps, &json!(["x"])).is_err());
        assert_eq!(apply_steps(&mut steps, &Value::Null), Ok(vec![]));
    }

    #[test]
    fn pending_settings_are_saved_by_dotted_key() {
        let mut settings = json!({"general": {"pageSize": 20, "notifyEmail": ""}, "flag": "x"});
        let pending = json!({"general.pageSize": 50, "orders.statuses": ["paid"], "flag.on": true});
        merge_settings(&mut settings, pending.as_object().expect("an object"));
        assert_eq!(
            settings,
            json!({"general": {"pageSize": 50, "notifyEmail": ""},
                   "orders": {"statuses": ["paid"]}, "flag": {"on": true}})
        );
        let mut empty = Value::Null;
        set_path(&mut empty, "a", json!(1));
        assert_eq!(empty, json!({"a": 1}));
    }

    #[test]
    fn an_install_claims_one_operation_at_a_time() {
        let busy = Busy::default();
        let first = busy.claim("i").expect("free");
        let second = busy.claim("i").expect_err("busy");
        assert_eq!(second.status(), StatusCode::CONFLICT);
        busy.claim("j").expect("another install is free");
        drop(first);
        busy.claim("i").expect("free again");
    }

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path()).expect("store");
        (dir, db)
    }

    #[test]
    fn the_index_finds_connectors_across_accounts_and_is_rebuilt_for_old_stores() {
        let (_dir, db) = db();
        let mut batch = Batch::default();
        Db::account_put(&mut batch, "account/pub", &json!({"_id": "pub"}));
        Db::account_put(&mut batch, "account/other", &json!({"_id": "other"}));
        for (id, published) in [("c1", true), ("c2", false)] {
            Db::put_doc(
                &mut batch,
                "pub",
                "connectors",
                id,
                &json!({"_id": id, "name": id, "published": published, "_stackId": "s"}),
                &[],
                &[],
            );
        }
        db.write(batch).expect("write");
        assert_eq!(
            publisher_of(&db, "c1").expect("read"),
            None,
            "not indexed yet"
        );
        assert_eq!(rebuild_index(&db).expect("rebuild"), 2);
        assert_eq!(rebuild_index(&db).expect("rebuild"), 0, "idempotent");
        let (publisher, doc) = find_connector(&db, "c1").expect("read").expect("found");
        assert_eq!(publisher, "pub");
        assert_eq!(doc["name"], json!("c1"));
        let listed = published_connectors(&db).expect("list");
        assert_eq!(
            listed,
            vec![json!({"_id": "c1", "name": "c1", "published": true})]
        );
        assert!(!is_connector_stack(&db, "c1", "t").expect("read"));
        let mut batch = Batch::default();
        unindex_connector(&mut batch, "c1");
        db.write(batch).expect("write");
        assert!(find_connector(&db, "c1").expect("read").is_none());
    }

    #[test]
    fn documents_tagged_with_another_accounts_connector_are_managed() {
        let (_dir, db) = db();
        let mut batch = Batch::default();
        Db::put_doc(
            &mut batch,
            "pub",
            "connectors",
            "own",
            &json!({"_id": "own"}),
            &[],
            &[],
        );
        db.write(batch).expect("write");
        let managed = |account: &str, doc: Value| managed_by(&db, account, &doc).expect("read");
        assert_eq!(managed("pub", json!({"_connectorId": "own"})), None);
        assert_eq!(
            managed("pub", json!({"_connectorId": "own", "_licenseId": "l"})),
            Some("own".to_owned()),
            "an install is managed even in the publisher's account"
        );
        assert_eq!(
            managed("customer", json!({"_connectorId": "own"})),
            Some("own".to_owned())
        );
        assert_eq!(managed("customer", json!({"name": "mine"})), None);
    }
}
