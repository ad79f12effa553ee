//! What happens to an install, step by step: installing a licensed connector, completing its
//! install steps, its settings pages, update pushes, edition changes and the uninstall.
//!
//! Every operation on one install holds its [`super::Busy`] claim, so two never interleave
//! (the second answers 409). The store's write lock is never held while connector code runs:
//! that code calls the platform API, which takes the lock itself. What the platform writes after
//! a call is a read-modify-write of the document as the code left it.
//!
//! A failed installer leaves nothing behind: the integration, whatever was tagged with it, and
//! the license claim are removed again, and the installer's error is the answer. A failed step
//! stays incomplete with the error on the step (`error`) and in the answer; it can be retried. A
//! failed uninstall step stops the uninstall in mode `uninstall`; posting the uninstall again
//! resumes it at the first step that has not run.

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::{
    Failure, Installation, all_completed, apply_steps, edition, find_connector, function_name,
    installs_of, is_expired, is_published, licenses_of, merge_settings, purge, purge_restoring,
    refuse_running_jobs, steps, update_integration,
};
// The same, for closures in functions whose local `steps` shadows it.
use super::steps as steps_of;
use crate::AppState;
use crate::api::resources::{flush, load, present};
use crate::api::{ApiError, ApiResult};
use crate::auth::Principal;
use crate::extension::FunctionKind;
use crate::model::check::Problem;
use crate::model::{CONNECTORS, INTEGRATIONS};
use crate::store::{Batch, Db};
use crate::util;

/// The install `id` of the caller's account, resolved.
fn installation(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Installation> {
    let doc = load(&state.db, principal, &INTEGRATIONS, INTEGRATIONS.name, id)?;
    Installation::resolve(&state.db, &principal.account, doc)
}

/// A function's result that says `success: false` is a failure too.
fn require_success(result: Value, function: &str) -> Result<Value, Failure> {
    if result["success"].as_bool() == Some(false) {
        let message = result["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("function '{function}' reported success: false"));
        return Err(Failure::new("step_failed", message));
    }
    Ok(result)
}

/// Check a result's `stepsToUpdate` against the steps it would change.
fn check_steps_update(steps: &[Value], result: &Value) -> Result<(), Failure> {
    apply_steps(&mut steps.to_vec(), &result["stepsToUpdate"])
        .map(|_| ())
        .map_err(|m| Failure::new("invalid_output", format!("invalid result: {m}")))
}

/// The body of an install: empty, or `{"name": ...}`.
fn install_name(body: &Value) -> ApiResult<Option<String>> {
    match body {
        Value::Null => Ok(None),
        Value::Object(fields) => match fields.get("name") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(name)) if !name.trim().is_empty() => Ok(Some(name.clone())),
            Some(_) => Err(ApiError::invalid_field(
                "invalid_type",
                "name must be a non-empty string",
                "name",
            )),
        },
        _ => Err(ApiError::invalid(vec![Problem::general(
            "invalid_type",
            "the body must be a JSON object (or empty)",
        )])),
    }
}

/// The license of `email` for the connector that an install may use: not in use (or held by an
/// integration that no longer exists) and not expired. 404 for an unpublished connector the
/// caller may not know of, 403 `not_licensed`, 409 `license_in_use`, 403 `license_expired`.
fn usable_license(
    db: &Db,
    publisher: &str,
    connector_id: &str,
    connector: &Value,
    email: &str,
    visible: bool,
) -> ApiResult<Value> {
    let mine: Vec<Value> = db
        .list(publisher, &licenses_of(connector_id))?
        .into_iter()
        .filter(|l| {
            l["user"]["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect();
    let name = connector["name"].as_str().unwrap_or_default();
    if mine.is_empty() {
        if !visible {
            return Err(ApiError::not_found(CONNECTORS.singular, connector_id));
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_licensed",
            format!(
                "this account ({email}) has no license of connector app '{name}': ask its publisher for one"
            ),
        ));
    }
    let mut held = Vec::new();
    let mut free = Vec::new();
    for license in mine {
        let holder = license["_integrationId"].as_str().map(str::to_owned);
        let in_use = match (&holder, license["user"]["_id"].as_str()) {
            (Some(i), Some(account)) => db.get(account, INTEGRATIONS.name, i)?.is_some(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        match holder {
            Some(i) if in_use => held.push(i),
            _ => free.push(license),
        }
    }
    if free.is_empty() {
        return Err(ApiError::conflict(
            "license_in_use",
            format!(
                "the license of connector app '{name}' is in use by integration {}: uninstall it first, or ask the publisher for another license",
                held.join(", ")
            ),
        ));
    }
    let now = Utc::now();
    free.into_iter()
        .find(|l| !is_expired(l, now))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "license_expired",
                format!(
                    "the license of connector app '{name}' has expired: ask its publisher to renew it"
                ),
            )
        })
}

/// `POST /v1/connectors/{_id}/install` by a licensed account: create the integration (mode
/// `install`, `_connectorId`, `_licenseId`), claim the license, and run the connector's
/// `installerFunction` in the caller's account. Returns the integration as the installer left
/// it; when every step (if any) is complete it is in mode `settings` at once.
pub async fn install(
    state: &AppState,
    principal: &Principal,
    connector_id: &str,
    body: &Value,
) -> ApiResult<Value> {
    let name = install_name(body)?;
    let db = &state.db;
    let Some((publisher, connector)) = find_connector(db, connector_id)? else {
        return Err(ApiError::not_found(CONNECTORS.singular, connector_id));
    };
    let account = state
        .auth
        .account(&principal.account)?
        .ok_or_else(|| ApiError::internal(format!("account '{}' vanished", principal.account)))?;
    let email = account["email"].as_str().unwrap_or_default().to_owned();
    let visible = is_published(&connector) || publisher == principal.account;
    let id = util::new_id();
    let _busy = state.marketplace.claim(&id)?;
    let (integration, license, license_before) = {
        let _guard = db.lock();
        let mut license =
            usable_license(db, &publisher, connector_id, &connector, &email, visible)?;
        let license_before = license.clone();
        let license_id = license["_id"].as_str().unwrap_or_default().to_owned();
        let now = util::now();
        let integration = json!({
            "_id": id,
            "name": name.unwrap_or_else(|| connector["name"].as_str().unwrap_or_default().to_owned()),
            "_connectorId": connector_id,
            "_licenseId": license_id,
            "mode": "install",
            "install": [],
            "settings": {},
            "updateInProgress": false,
            "createdAt": now,
            "lastModified": now,
        });
        license["_integrationId"] = json!(id);
        if !license["user"].is_object() {
            license["user"] = json!({"email": email});
        }
        license["user"]["_id"] = json!(principal.account);
        license["user"]["name"] = account["name"].clone();
        license["lastModified"] = json!(now);
        let mut batch = Batch::default();
        Db::put_doc(
            &mut batch,
            &principal.account,
            INTEGRATIONS.name,
            &id,
            &integration,
            &[],
            &(INTEGRATIONS.references)(&integration),
        );
        Db::put_doc(
            &mut batch,
            &publisher,
            &licenses_of(connector_id),
            &license_id,
            &license,
            &[],
            &[],
        );
        db.write(batch)?;
        (integration, license, license_before)
    };
    flush(db).await?;
    let inst = Installation {
        account: principal.account.clone(),
        integration,
        connector_id: connector_id.to_owned(),
        publisher,
        connector,
        license_id: license["_id"].as_str().unwrap_or_default().to_owned(),
        license,
    };
    let outcome = match inst.function("installerFunction") {
        None => Ok(Value::Null),
        Some(function) => {
            let (result, _logs) = inst
                .call(state, FunctionKind::Installer, &function, json!({}))
                .await;
            // A malformed stepsToUpdate fails the update below, which removes the install too.
            result.and_then(|r| require_success(r, &function))
        }
    };
    let finished = match outcome {
        Ok(result) => {
            update_integration(state, &inst.account, &id, |doc| {
                let mut steps = steps(doc);
                apply_steps(&mut steps, &result["stepsToUpdate"])
                    .map_err(|m| ApiError::invalid(vec![Problem::general("invalid_output", m)]))?;
                doc["install"] = Value::Array(steps);
                if doc["mode"].as_str() == Some("install") && all_completed(&steps_of(doc)) {
                    doc["mode"] = json!("settings");
                }
                Ok(())
            })
            .await
        }
        Err(failure) => Err(failure.api_error()),
    };
    match finished {
        Ok(doc) => Ok(doc),
        Err(error) => {
            // Nothing half-installed stays: the integration, what was made for it, the claim
            // (the license back as it was).
            if let Err(cleanup) = purge_restoring(state, &inst, Some(&license_before)).await {
                tracing::error!(
                    integration = %id,
                    "removing a failed install failed: {:?}",
                    cleanup.errors()
                );
            }
            Err(error)
        }
    }
}

/// What a step's function receives from the request body: `_connectionId`, and the form
/// submission (`formSubmission`, else the body's other fields).
fn step_options(body: &Value) -> ApiResult<Value> {
    let fields = match body {
        Value::Null => return Ok(json!({})),
        Value::Object(fields) => fields,
        _ => {
            return Err(ApiError::invalid(vec![Problem::general(
                "invalid_type",
                "the body must be a JSON object: the form submission, or {\"_connectionId\": ...}",
            )]));
        }
    };
    let mut options = Map::new();
    match fields.get("_connectionId") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if util::is_id(c) => {
            options.insert("_connectionId".into(), json!(c));
        }
        Some(other) => {
            return Err(ApiError::invalid_field(
                "invalid_reference",
                format!("_connectionId {other} is not a valid id (24 hex characters)"),
                "_connectionId",
            ));
        }
    }
    let submission = match fields.get("formSubmission") {
        Some(Value::Object(form)) => Some(Value::Object(form.clone())),
        Some(Value::Null) | None => {
            let rest: Map<String, Value> = fields
                .iter()
                .filter(|(k, _)| k.as_str() != "_connectionId")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!rest.is_empty()).then_some(Value::Object(rest))
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "invalid_type",
                "formSubmission must be an object of the form's values",
                "formSubmission",
            ));
        }
    };
    if let Some(submission) = submission {
        options.insert("formSubmission".into(), submission);
    }
    Ok(Value::Object(options))
}

/// Record `failure` on the step named `name` (at `index` when several have it) of the install.
async fn record_step_error(
    state: &AppState,
    inst: &Installation,
    index: usize,
    name: &Value,
    failure: &Failure,
) -> ApiResult<()> {
    let problem = serde_json::to_value(failure.problem()).unwrap_or_default();
    update_integration(state, &inst.account, inst.id(), |doc| {
        let mut steps = steps(doc);
        let at = step_at(&steps, index, name);
        if let Some(step) = at.and_then(|at| steps[at].as_object_mut()) {
            step.insert("error".into(), problem);
        }
        doc["install"] = Value::Array(steps);
        Ok(())
    })
    .await
    .map(|_| ())
}

/// Where the step named `name` is now (it was at `index`).
fn step_at(steps: &[Value], index: usize, name: &Value) -> Option<usize> {
    if steps.get(index).is_some_and(|s| s["name"] == *name) {
        return Some(index);
    }
    steps.iter().position(|s| s["name"] == *name)
}

/// `POST /v1/integrations/{_id}/install/{stepIndex}`: run the step's `installerFunction` with the
/// body (a form submission, or `_connectionId`), apply its `stepsToUpdate`, and complete the
/// step (unless the function's update says otherwise). Steps are completed in order; when the
/// last one is, the install moves to mode `settings`. A failure leaves the step incomplete with
/// the error on it and in the answer.
pub async fn complete_step(
    state: &AppState,
    principal: &Principal,
    id: &str,
    step: &str,
    body: &Value,
) -> ApiResult<Value> {
    let _busy = state.marketplace.claim(id)?;
    let inst = installation(state, principal, id)?;
    inst.require_mode(&["install"], "completing an install step")?;
    inst.require_no_update()?;
    inst.require_valid_license()?;
    let steps = steps(&inst.integration);
    let index = step
        .parse::<usize>()
        .ok()
        .filter(|i| *i < steps.len())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "integration '{id}' has no install step '{step}' (it has {}, numbered from 0)",
                    steps.len()
                ),
            )
        })?;
    let name = steps[index]["name"].clone();
    if steps[index]["completed"].as_bool() == Some(true) {
        return Err(ApiError::conflict(
            "step_completed",
            format!("install step {index} ({name}) is already completed"),
        ));
    }
    if let Some(first) = steps[..index]
        .iter()
        .position(|s| s["completed"].as_bool() != Some(true))
    {
        return Err(ApiError::conflict(
            "step_out_of_order",
            format!(
                "install steps are completed in order: complete step {first} ({}) first",
                steps[first]["name"]
            ),
        ));
    }
    let options = step_options(body)?;
    let outcome = match function_name(&steps[index], "installerFunction") {
        None => Ok(Value::Null),
        Some(function) => {
            let (result, _logs) = inst
                .call(state, FunctionKind::Installer, &function, options)
                .await;
            result
                .and_then(|r| require_success(r, &function))
                .and_then(|r| check_steps_update(&steps, &r).map(|()| r))
        }
    };
    let result = match outcome {
        Ok(result) => result,
        Err(failure) => {
            record_step_error(state, &inst, index, &name, &failure).await?;
            return Err(failure.api_error());
        }
    };
    update_integration(state, &inst.account, id, |doc| {
        let mut steps = steps_of(doc);
        let set = apply_steps(&mut steps, &result["stepsToUpdate"])
            .map_err(|m| ApiError::invalid(vec![Problem::general("invalid_output", m)]))?;
        if let Some(at) = step_at(&steps, index, &name)
            && let Some(step) = steps[at].as_object_mut()
        {
            if !set.contains(&at) {
                step.insert("completed".into(), json!(true));
            }
            step.remove("error");
        }
        if doc["mode"].as_str() == Some("install") && all_completed(&steps) {
            doc["mode"] = json!("settings");
        }
        doc["install"] = Value::Array(steps);
        Ok(())
    })
    .await
}

/// The license as the connector's settings functions see it.
fn license_view(inst: &Installation) -> Value {
    present(inst.license.clone())
}

/// `GET /v1/integrations/{_id}/settings/form`: the form the connector's `formInitFunction`
/// builds for the install (`resource`: the integration, `license`).
pub async fn settings_form(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Value> {
    let inst = installation(state, principal, id)?;
    inst.require_mode(&["install", "settings"], "the settings form")?;
    let function = inst.function("formInitFunction").ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "connector app '{}' has no settings form (no formInitFunction)",
                inst.connector["name"].as_str().unwrap_or_default()
            ),
        )
    })?;
    let options =
        json!({"resource": present(inst.integration.clone()), "license": license_view(&inst)});
    let (result, _logs) = inst
        .call(state, FunctionKind::FormInit, &function, options)
        .await;
    result.map_err(|f| f.api_error())
}

/// `PUT /v1/integrations/{_id}/settings` `{"pending": {...}}`: the connector's
/// `persistSettingsFunction` checks the changed settings; what it returns in `pending` is saved
/// into the integration's `settings` (dotted keys: `general.pageSize`). Without the function,
/// `pending` is saved as sent. 409 while an update runs or before the install is complete.
pub async fn save_settings(
    state: &AppState,
    principal: &Principal,
    id: &str,
    body: &Value,
) -> ApiResult<Value> {
    let pending = match body.get("pending") {
        Some(Value::Object(pending)) => pending.clone(),
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_field(
                "missing_field",
                "pending is required: the changed settings, {\"key\": value}",
                "pending",
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "invalid_type",
                "pending must be an object of the changed settings",
                "pending",
            ));
        }
    };
    let _busy = state.marketplace.claim(id)?;
    let inst = installation(state, principal, id)?;
    inst.require_no_update()?;
    inst.require_mode(&["settings"], "saving settings")?;
    let saved = match inst.function("persistSettingsFunction") {
        None => pending,
        Some(function) => {
            let options = json!({"pending": pending});
            let (result, _logs) = inst
                .call(state, FunctionKind::PersistSettings, &function, options)
                .await;
            let result = result.map_err(|f| f.api_error())?;
            if result["success"].as_bool() == Some(false) {
                let message = result["message"].as_str().map_or_else(
                    || format!("function '{function}' did not accept the settings"),
                    str::to_owned,
                );
                return Err(ApiError::invalid(vec![Problem::general(
                    "settings_rejected",
                    message,
                )]));
            }
            match &result["pending"] {
                Value::Object(saved) => saved.clone(),
                Value::Null => Map::new(),
                _ => {
                    return Err(Failure::new(
                        "invalid_output",
                        format!(
                            "invalid result: 'pending' of function '{function}' must be an object"
                        ),
                    )
                    .api_error());
                }
            }
        }
    };
    update_integration(state, &inst.account, id, |doc| {
        if doc["updateInProgress"].as_bool() == Some(true) {
            return Err(ApiError::conflict(
                "update_in_progress",
                format!("integration '{id}' is being updated: retry when the update ends"),
            ));
        }
        if !doc["settings"].is_object() {
            doc["settings"] = json!({});
        }
        merge_settings(&mut doc["settings"], &saved);
        Ok(())
    })
    .await
}

/// `POST /v1/integrations/{_id}/settings/refreshMetadata`: the connector's
/// `refreshMetadataFunction` refreshes the field in the body (passed as `opts`); returns the
/// field it answers.
pub async fn refresh_metadata(
    state: &AppState,
    principal: &Principal,
    id: &str,
    body: &Value,
) -> ApiResult<Value> {
    if !body.is_object() {
        return Err(ApiError::invalid(vec![Problem::general(
            "invalid_type",
            "the body must be the settings field to refresh (an object)",
        )]));
    }
    let inst = installation(state, principal, id)?;
    inst.require_mode(&["install", "settings"], "refreshing settings metadata")?;
    let function = named(&inst, "refreshMetadataFunction")?;
    let (result, _logs) = inst
        .call(
            state,
            FunctionKind::RefreshMetadata,
            &function,
            json!({"opts": body}),
        )
        .await;
    result.map_err(|f| f.api_error())
}

/// `GET /v1/integrations/{_id}/settings/mappingMetadata`: what the connector's
/// `getMappingMetadataFunction` says of the install's mappings (required and fixed fields per
/// import).
pub async fn mapping_metadata(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> ApiResult<Value> {
    let inst = installation(state, principal, id)?;
    inst.require_mode(&["install", "settings"], "the mapping metadata")?;
    let function = named(&inst, "getMappingMetadataFunction")?;
    let options = json!({"version": inst.integration["version"]});
    let (result, _logs) = inst
        .call(state, FunctionKind::GetMappingMetadata, &function, options)
        .await;
    result.map_err(|f| f.api_error())
}

/// The connector's function in `field`, or 404 saying the app has none.
fn named(inst: &Installation, field: &str) -> ApiResult<String> {
    inst.function(field).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "connector app '{}' has no {field}",
                inst.connector["name"].as_str().unwrap_or_default()
            ),
        )
    })
}

/// The `_integrationIds` of an update push (`None`: every install), or every problem with them.
fn update_targets(body: &Value) -> ApiResult<Option<Vec<String>>> {
    let ids = match body {
        Value::Null => return Ok(None),
        Value::Object(fields) => match fields.get("_integrationIds") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(ids)) => ids,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "invalid_type",
                    "_integrationIds must be an array of integration ids",
                    "_integrationIds",
                ));
            }
        },
        _ => {
            return Err(ApiError::invalid(vec![Problem::general(
                "invalid_type",
                "the body must be a JSON object: {\"_integrationIds\": [...]}",
            )]));
        }
    };
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match id.as_str() {
            Some(id) if util::is_id(id) => {
                if !targets.iter().any(|t| t == id) {
                    targets.push(id.to_owned());
                }
            }
            _ => problems.push(Problem::field(
                "invalid_reference",
                format!("{id} is not a valid integration id (24 hex characters)"),
                format!("_integrationIds[{i}]"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(Some(targets))
    } else {
        Err(ApiError::invalid(problems))
    }
}

/// The outcome of one install's update when it could not run or failed.
fn update_failed(id: &str, version: &Value, errors: &[Problem], logs: Value) -> Value {
    let mut outcome = json!({"_integrationId": id, "success": false, "errors": errors});
    if !version.is_null() {
        outcome["version"] = version.clone();
    }
    if logs.as_array().is_some_and(|l| !l.is_empty()) {
        outcome["logs"] = logs;
    }
    outcome
}

/// `PUT /v1/connectors/{_id}/update` by the publisher (`connector` is its document): for each
/// install named (every install when none is), `updateInProgress` becomes true, the connector's
/// `updateFunction` runs in the installing account, then `updateInProgress` returns to false and
/// the version the function set stays. One outcome per install, in the order asked.
pub async fn push_update(
    state: &AppState,
    connector_id: &str,
    body: &Value,
) -> ApiResult<Vec<Value>> {
    let targets = update_targets(body)?;
    let installs = installs_of(&state.db, connector_id)?;
    let targets = targets.unwrap_or_else(|| {
        installs
            .iter()
            .filter_map(|(_, doc)| doc["_id"].as_str().map(str::to_owned))
            .collect()
    });
    let mut outcomes = Vec::with_capacity(targets.len());
    for id in targets {
        let account = installs
            .iter()
            .find(|(_, doc)| doc["_id"].as_str() == Some(id.as_str()))
            .map(|(account, _)| account.clone());
        let outcome = match account {
            None => update_failed(
                &id,
                &Value::Null,
                &[Problem::general(
                    "not_found",
                    format!("no install of connector '{connector_id}' has _id '{id}'"),
                )],
                Value::Null,
            ),
            Some(account) => update_one(state, &account, &id).await,
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Update one install (see [`push_update`]).
async fn update_one(state: &AppState, account: &str, id: &str) -> Value {
    let busy = match state.marketplace.claim(id) {
        Ok(busy) => busy,
        Err(e) => return update_failed(id, &Value::Null, e.errors(), Value::Null),
    };
    let resolved = state
        .db
        .get(account, INTEGRATIONS.name, id)
        .map_err(ApiError::from)
        .and_then(|doc| doc.ok_or_else(|| ApiError::not_found(INTEGRATIONS.singular, id)))
        .and_then(|doc| Installation::resolve(&state.db, account, doc))
        .and_then(|inst| {
            inst.require_mode(&["install", "settings"], "an update")
                .map(|()| inst)
        });
    let inst = match resolved {
        Ok(inst) => inst,
        Err(e) => return update_failed(id, &Value::Null, e.errors(), Value::Null),
    };
    if let Err(e) = update_integration(state, account, id, |doc| {
        doc["updateInProgress"] = json!(true);
        Ok(())
    })
    .await
    {
        return update_failed(id, &inst.integration["version"], e.errors(), Value::Null);
    }
    let (result, logs) = match inst.function("updateFunction") {
        None => (Ok(Value::Null), Vec::new()),
        Some(function) => {
            inst.call(state, FunctionKind::Update, &function, json!({}))
                .await
        }
    };
    let logs = serde_json::to_value(&logs).unwrap_or_default();
    // However the function ended, the install is not being updated any more.
    let after = update_integration(state, account, id, |doc| {
        doc["updateInProgress"] = json!(false);
        Ok(())
    })
    .await;
    drop(busy);
    let version = after
        .as_ref()
        .map_or(Value::Null, |doc| doc["version"].clone());
    match (result, after) {
        (Err(failure), _) => update_failed(id, &version, &[failure.problem()], logs),
        (Ok(_), Err(e)) => update_failed(id, &version, e.errors(), logs),
        (Ok(_), Ok(_)) => {
            let mut outcome = json!({"_integrationId": id, "success": true, "version": version});
            if logs.as_array().is_some_and(|l| !l.is_empty()) {
                outcome["logs"] = logs;
            }
            outcome
        }
    }
}

/// Before the publisher's license change from `old` to `new` is stored: when the edition
/// (`opts.edition`) changes on a license in use, the connector's `changeEditionFunction` runs in
/// the installing account (`fromEdition`, `toEdition`, `integration`, `license`). Its failure
/// refuses the change.
pub async fn change_edition(
    state: &AppState,
    connector_id: &str,
    connector: &Value,
    old: &Value,
    new: &Value,
) -> ApiResult<()> {
    let (from, to) = (edition(old), edition(new));
    if from == to {
        return Ok(());
    }
    let (Some(integration), Some(account), Some(function)) = (
        old["_integrationId"].as_str(),
        old["user"]["_id"].as_str(),
        function_name(connector, "changeEditionFunction"),
    ) else {
        return Ok(());
    };
    let _busy = state.marketplace.claim(integration)?;
    let Some(doc) = state.db.get(account, INTEGRATIONS.name, integration)? else {
        return Ok(());
    };
    let mut license = new.clone();
    license["_integrationId"] = json!(integration);
    let options = json!({
        "fromEdition": from,
        "toEdition": to,
        "integration": present(doc),
        "license": present(license),
        "opts": new["opts"],
    });
    let (result, _logs) = super::call_connector(
        state,
        account,
        connector_id,
        connector,
        Some(integration),
        FunctionKind::ChangeEdition,
        &function,
        options,
    )
    .await;
    result.map(|_| ()).map_err(|f| f.api_error())
}

/// `POST /v1/integrations/{_id}/uninstall`: the connector's `preUninstallFunction` (then mode
/// `uninstall`), each step's `uninstallerFunction` in order, the connector's
/// `uninstallerFunction`; then the integration and everything tagged with it go and the license
/// is freed ([`purge`]). A failure stops the uninstall where it is; posting again resumes it.
pub async fn uninstall(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Value> {
    let _busy = state.marketplace.claim(id)?;
    let mut inst = installation(state, principal, id)?;
    inst.require_no_update()?;
    refuse_running_jobs(&state.db, &inst.account, id)?;
    if inst.integration["mode"].as_str() != Some("uninstall") {
        let result = match inst.function("preUninstallFunction") {
            None => Value::Null,
            Some(function) => {
                let (result, _logs) = inst
                    .call(state, FunctionKind::PreUninstall, &function, json!({}))
                    .await;
                let current = state
                    .db
                    .get(&inst.account, INTEGRATIONS.name, id)?
                    .unwrap_or_default();
                result
                    .and_then(|r| require_success(r, &function))
                    .and_then(|r| check_steps_update(&steps(&current), &r).map(|()| r))
                    .map_err(|f| f.api_error())?
            }
        };
        inst.integration = update_integration(state, &inst.account, id, |doc| {
            let mut steps = steps_of(doc);
            apply_steps(&mut steps, &result["stepsToUpdate"])
                .map_err(|m| ApiError::invalid(vec![Problem::general("invalid_output", m)]))?;
            doc["install"] = Value::Array(steps);
            doc["mode"] = json!("uninstall");
            Ok(())
        })
        .await?;
    }
    let mut index = 0;
    loop {
        let current = steps(&inst.integration);
        let Some(step) = current.get(index) else {
            break;
        };
        let name = step["name"].clone();
        let function = function_name(step, "uninstallerFunction");
        index += 1;
        let Some(function) = function.filter(|_| step["uninstalled"].as_bool() != Some(true))
        else {
            continue;
        };
        let (result, _logs) = inst
            .call(state, FunctionKind::Uninstaller, &function, json!({}))
            .await;
        let at = index - 1;
        let result = match result
            .and_then(|r| require_success(r, &function))
            .and_then(|r| check_steps_update(&current, &r).map(|()| r))
        {
            Ok(result) => result,
            Err(failure) => {
                record_step_error(state, &inst, at, &name, &failure).await?;
                return Err(failure.api_error());
            }
        };
        inst.integration = update_integration(state, &inst.account, id, |doc| {
            let mut steps = steps_of(doc);
            apply_steps(&mut steps, &result["stepsToUpdate"])
                .map_err(|m| ApiError::invalid(vec![Problem::general("invalid_output", m)]))?;
            if let Some(at) = step_at(&steps, at, &name)
                && let Some(step) = steps[at].as_object_mut()
            {
                step.insert("uninstalled".into(), json!(true));
                step.remove("error");
            }
            doc["install"] = Value::Array(steps);
            Ok(())
        })
        .await?;
    }
    if let Some(function) = inst.function("uninstallerFunction") {
        let (result, _logs) = inst
            .call(state, FunctionKind::Uninstaller, &function, json!({}))
            .await;
        result
            .and_then(|r| require_success(r, &function))
            .map_err(|f| f.api_error())?;
    }
    let deleted = purge(state, &inst).await?;
    Ok(json!({"_integrationId": id, "deleted": deleted}))
}
