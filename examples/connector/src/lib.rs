//! Example connector app ("Example Records"): its installer, install steps, settings form,
//! update, edition change and uninstall, all working through the platform API with the call's
//! one-time token.
//!
//! Build (in `examples/`): `cargo build --target wasm32-wasip2 --release`, which writes
//! `target/wasm32-wasip2/release/example_connector.wasm`. Run it: upload that file to a stack
//! (`PUT /v1/stacks/{_id}/component`, `Content-Type: application/wasm`), point a connector at it
//! (`"_stackId"`, `"installerFunction": "install"`, …) and call `POST /v1/stacks/{_id}/invoke`
//! with `options._connectorId` and `options._integrationId` — see
//! `examples/connector/README.md`. Published in the marketplace, the platform makes these calls
//! itself: `POST /v1/connectors/{_id}/install`, `POST /v1/integrations/{_id}/install/{step}`,
//! `GET /v1/integrations/{_id}/settings/form`, `PUT /v1/integrations/{_id}/settings`, … (see the
//! README's "In the marketplace").
//!
//! Code running for a connector gets a token that reaches only the account's resources tagged
//! with that connector; what it creates is tagged with the connector by the platform. This
//! component tags what it creates with the integration (`_integrationId`) too, so that the
//! uninstaller finds it again.
//!
//! | kind | function | what it does |
//! |---|---|---|
//! | `installer` | `install` | the connector's `installerFunction`: creates a connection, an export, an import and a flow, then writes the integration's install steps and default settings |
//! | `installer` | `verifyConnection` | install step 1: checks the step's connection, completes the step |
//! | `installer` | `applyDefaults` | install step 2 (a form): saves the submitted settings, completes the step |
//! | `formInit` | `settingsForm` | the settings page: one section per group of `resource.settings` |
//! | `persistSettings` | `saveSettings` | validates and normalizes `pending`, returns `{success, pending}` |
//! | `update` | `update` | adds settings introduced since, bumps the integration's `version` |
//! | `changeEdition` | `changeEdition` | records the license's new edition on the integration (`edition`) |
//! | `refreshMetadata` | `refreshChoices` | the settings field asked for, with its current choices |
//! | `getMappingMetadata` | `mappingMetadata` | per import of the integration: `externalId` is required and fixed |
//! | `preUninstall` | `preUninstall` | moves the integration to mode `uninstall` and deletes its flows |
//! | `uninstaller` | `uninstall` | deletes the flows, imports, exports and connections of the integration |

use integrator_sdk::installer::{
    ChangeEditionOptions, InstallerOptions, StepResult, UninstallOptions, UpdateOptions,
};
use integrator_sdk::platform::Platform;
use integrator_sdk::settings::{
    Field, Form, FormInitOptions, MappingMetadataOptions, PersistSettingsOptions,
    PersistSettingsResponse, RefreshMetadataOptions, Section,
};
use integrator_sdk::{Common, Failure, Result, Value, json, log};

/// Base URI of the application when the license's `opts` do not name one.
const DEFAULT_BASE_URI: &str = "https://api.example.com";

/// Settings of a fresh install, by section.
fn default_settings() -> Value {
    json!({
        "general": {"pageSize": 20, "notifyEmail": ""},
        "orders": {"syncOrders": true, "statuses": ["open", "paid"]},
    })
}

/// Choices of the settings that are picked from a list.
const CHOICES: &[(&str, &[&str])] = &[("statuses", &["open", "paid", "shipped", "cancelled"])];

/// The integration the call is for (`options._integrationId`).
fn integration_id(common: &Common) -> Result<&str> {
    common.integration_id.as_deref().ok_or_else(|| {
        Failure::new(
            "missing_integration",
            "options._integrationId is required: the integration being installed",
        )
    })
}

fn integration_path(id: &str) -> String {
    format!("/v1/integrations/{id}")
}

/// `GET /v1/integrations/{id}`.
fn read_integration(platform: &Platform, id: &str) -> Result<Value> {
    platform.get(&integration_path(id)).into_result()
}

/// `PUT /v1/integrations/{id}` with `doc`.
fn write_integration(platform: &Platform, id: &str, doc: &Value) -> Result<Value> {
    platform.put(&integration_path(id), doc).into_result()
}

/// What the installer created so far, deleted again (newest first) when a later step fails.
struct Created<'a> {
    platform: &'a Platform,
    ids: Vec<(&'static str, String)>,
}

impl Created<'_> {
    /// `POST /v1/{collection}` with `body`; the new `_id`.
    fn create(&mut self, collection: &'static str, body: Value) -> Result<String> {
        let doc = self
            .platform
            .post(&format!("/v1/{collection}"), &body)
            .into_result()?;
        let id = doc["_id"].as_str().unwrap_or_default().to_owned();
        log::info(format!("created {collection}/{id}"));
        self.ids.push((collection, id.clone()));
        Ok(id)
    }

    /// Delete everything created, newest first (best effort).
    fn roll_back(self) {
        for (collection, id) in self.ids.into_iter().rev() {
            let answer = self.platform.delete(&format!("/v1/{collection}/{id}"));
            log::warn(format!(
                "install failed: deleted {collection}/{id} again ({})",
                answer.status
            ));
        }
    }
}

/// The connector's `installerFunction`. Creates, tagged with the integration, a `rest`
/// connection (`rest.baseURI` from `opts.baseURI`, else [`DEFAULT_BASE_URI`]), an export and an
/// import on it, and a disabled flow from the export to the import; then writes the
/// integration's install steps (mode `install`) and its default settings. Running it again on an
/// integration that already has install steps changes nothing.
fn install(options: InstallerOptions) -> Result<StepResult> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut doc = read_integration(&platform, integration)?;
    if doc["install"].as_array().is_some_and(|s| !s.is_empty()) {
        log::info(format!(
            "integration {integration} already has install steps"
        ));
        return Ok(StepResult::default());
    }
    let base_uri = options.opts["baseURI"]
        .as_str()
        .unwrap_or(DEFAULT_BASE_URI)
        .to_owned();
    let mut created = Created {
        platform: &platform,
        ids: Vec::new(),
    };
    let result = create_resources(&mut created, integration, &base_uri);
    let connection = match result {
        Ok(connection) => connection,
        Err(failure) => {
            created.roll_back();
            return Err(failure);
        }
    };
    doc["mode"] = json!("install");
    doc["version"] = json!("1.0.0");
    doc["settings"] = default_settings();
    doc["install"] = json!([
        {
            "name": "Example API connection",
            "description": "Check the connection to the Example Records API",
            "completed": false,
            "installerFunction": "verifyConnection",
            "_connectionId": connection,
        },
        {
            "name": "Defaults",
            "description": "Choose what to synchronize",
            "completed": false,
            "installerFunction": "applyDefaults",
        },
    ]);
    if let Err(failure) = write_integration(&platform, integration, &doc) {
        created.roll_back();
        return Err(failure);
    }
    Ok(StepResult::default())
}

/// The connection, export, import and flow of an install; returns the connection's `_id`.
fn create_resources(
    created: &mut Created<'_>,
    integration: &str,
    base_uri: &str,
) -> Result<String> {
    let connection = created.create(
        "connections",
        json!({
            "name": "Example Records API",
            "type": "rest",
            "rest": {"baseURI": base_uri, "mediaType": "json", "pingRelativeURI": "/ping"},
            "_integrationId": integration,
        }),
    )?;
    let export = created.create(
        "exports",
        json!({
            "name": "Get records",
            "_connectionId": connection,
            "_integrationId": integration,
            "rest": {"relativeURI": "/records", "method": "GET"},
        }),
    )?;
    let import = created.create(
        "imports",
        json!({
            "name": "Post records",
            "_connectionId": connection,
            "_integrationId": integration,
            "rest": {"relativeURI": "/records", "method": "POST"},
            "mapping": {"fields": [{"extract": "id", "generate": "externalId"}]},
        }),
    )?;
    created.create(
        "flows",
        json!({
            "name": "Sync records",
            "_integrationId": integration,
            "_exportId": export,
            "_importId": import,
            "disabled": true,
        }),
    )?;
    Ok(connection)
}

/// The install step of `doc` whose `installerFunction` is `function`, marked completed.
fn completed_step(doc: &Value, function: &str) -> Result<Value> {
    let mut step = doc["install"]
        .as_array()
        .and_then(|steps| {
            steps
                .iter()
                .find(|s| s["installerFunction"].as_str() == Some(function))
        })
        .cloned()
        .ok_or_else(|| {
            Failure::new(
                "step_not_found",
                format!("the integration has no install step run by '{function}'"),
            )
        })?;
    step["completed"] = json!(true);
    Ok(step)
}

/// Install step "Example API connection": the connection (`options._connectionId`, else the
/// step's) must exist and be a `rest` connection with a base URI.
fn verify_connection(options: InstallerOptions) -> Result<StepResult> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let doc = read_integration(&platform, integration)?;
    let step = completed_step(&doc, "verifyConnection")?;
    let connection_id = options
        .connection_id
        .as_deref()
        .or_else(|| step["_connectionId"].as_str())
        .ok_or_else(|| Failure::new("missing_connection", "no connection to verify"))?;
    let connection = platform
        .get(&format!("/v1/connections/{connection_id}"))
        .into_result()?;
    if connection["rest"]["baseURI"].as_str().is_none() {
        return Err(Failure::new(
            "invalid_connection",
            format!("connection {connection_id} has no rest.baseURI"),
        ));
    }
    Ok(StepResult {
        success: true,
        steps_to_update: vec![step],
    })
}

/// Install step "Defaults" (a form step): merges `formSubmission` (validated like settings)
/// into the integration's settings and completes the step.
fn apply_defaults(options: InstallerOptions) -> Result<StepResult> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut doc = read_integration(&platform, integration)?;
    let step = completed_step(&doc, "applyDefaults")?;
    let submitted = validate_settings(options.form_submission.as_ref().unwrap_or(&Value::Null))?;
    if !doc["settings"].is_object() {
        doc["settings"] = json!({});
    }
    for (key, value) in submitted.as_object().into_iter().flatten() {
        set_path(&mut doc["settings"], key, value.clone());
    }
    write_integration(&platform, integration, &doc)?;
    Ok(StepResult {
        success: true,
        steps_to_update: vec![step],
    })
}

/// `camelCase` → `Camel case`.
fn label(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else if c.is_uppercase() {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The form field for setting `id` (its last segment names it) holding `value`.
fn field(id: &str, value: &Value) -> Field {
    let key = id.rsplit('.').next().unwrap_or(id);
    let choices = CHOICES.iter().find(|(k, _)| *k == key).map(|(_, c)| *c);
    let kind = match (value, choices) {
        (Value::Array(_), _) => "multiselect",
        (_, Some(_)) => "select",
        (Value::Bool(_), _) => "checkbox",
        (Value::Number(_), _) => "number",
        (Value::String(s), _) if s.contains('\n') || s.len() > 80 => "textarea",
        _ => "text",
    };
    Field {
        id: id.to_owned(),
        kind: kind.to_owned(),
        label: label(key),
        value: value.clone(),
        options: choices
            .unwrap_or_default()
            .iter()
            .map(|c| json!([c, label(c)]))
            .collect(),
        required: key == "pageSize",
        help_text: (key == "notifyEmail")
            .then(|| "Who hears about failed records (empty: nobody)".to_owned()),
    }
}

/// `formInit`: the settings page of the integration (`options.resource`; without one, the
/// integration's settings the platform passes as `options.settings`). Each object in the
/// settings becomes a section of its fields (ids `section.key`); top-level values go in a
/// "General" section.
fn settings_form(options: FormInitOptions) -> Result<Form> {
    let settings = options.resource["settings"]
        .as_object()
        .or_else(|| options.common.settings.as_object())
        .cloned()
        .unwrap_or_default();
    let mut general = Section {
        title: "General".to_owned(),
        fields: Vec::new(),
    };
    let mut sections = Vec::new();
    for (key, value) in &settings {
        match value {
            Value::Object(group) => {
                let fields: Vec<Field> = group
                    .iter()
                    .map(|(k, v)| field(&format!("{key}.{k}"), v))
                    .collect();
                if key == "general" {
                    general.fields.extend(fields);
                } else {
                    sections.push(Section {
                        title: label(key),
                        fields,
                    });
                }
            }
            value => general.fields.push(field(key, value)),
        }
    }
    if !general.fields.is_empty() {
        sections.insert(0, general);
    }
    Ok(Form { sections })
}

fn invalid(id: &str, message: impl std::fmt::Display) -> Failure {
    Failure {
        code: "invalid_setting".to_owned(),
        message: format!("{id}: {message}"),
        source: None,
    }
}

/// Check and normalize changed settings (`{"section.key": value}`): `pageSize` a whole number
/// from 1 to 1000 (numeric text accepted), `notifyEmail` empty or an address, `statuses` a list
/// of known statuses, `syncOrders` a boolean, text trimmed.
fn validate_settings(pending: &Value) -> Result<Value> {
    let Some(pending) = pending.as_object() else {
        return if pending.is_null() {
            Ok(json!({}))
        } else {
            Err(Failure::new(
                "invalid_setting",
                "the settings must be an object of key/values",
            ))
        };
    };
    let mut clean = integrator_sdk::Object::new();
    for (id, value) in pending {
        let key = id.rsplit('.').next().unwrap_or(id);
        let value = match (key, value) {
            ("pageSize", v) => {
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        invalid(
                            id,
                            format!("must be a whole number from 1 to 1000, not {v}"),
                        )
                    })?;
                json!(n)
            }
            ("notifyEmail", Value::String(s)) => {
                let s = s.trim();
                if !s.is_empty() && !s.contains('@') {
                    return Err(invalid(id, format!("'{s}' is not an email address")));
                }
                json!(s)
            }
            ("syncOrders", Value::Bool(b)) => json!(b),
            ("statuses", Value::Array(items)) => {
                let known = CHOICES[0].1;
                for item in items {
                    if !item.as_str().is_some_and(|s| known.contains(&s)) {
                        return Err(invalid(
                            id,
                            format!("{item} is not one of {}", known.join(", ")),
                        ));
                    }
                }
                Value::Array(items.clone())
            }
            ("notifyEmail" | "syncOrders" | "statuses", v) => {
                return Err(invalid(id, format!("{v} has the wrong type")));
            }
            (_, Value::String(s)) => json!(s.trim()),
            (_, v @ (Value::Bool(_) | Value::Number(_) | Value::Null)) => v.clone(),
            (_, v) => return Err(invalid(id, format!("{v} is not a setting value"))),
        };
        clean.insert(id.clone(), value);
    }
    Ok(Value::Object(clean))
}

/// `persistSettings`: validates and normalizes `pending`; the platform saves what comes back.
/// An invalid value is a failure naming the setting, so the user sees why nothing was saved.
fn save_settings(options: PersistSettingsOptions) -> Result<PersistSettingsResponse> {
    let pending = validate_settings(&options.pending)?;
    Ok(PersistSettingsResponse {
        success: true,
        pending,
    })
}

/// Set `a.b.c` in `target` (creating objects on the way).
fn set_path(target: &mut Value, path: &str, value: Value) {
    let mut at = target;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = json!({});
        }
        if parts.peek().is_none() {
            at[part] = value;
            return;
        }
        at = &mut at[part];
    }
}

/// `major.minor.patch` with the minor version bumped (`1.0.3` → `1.1.0`); no version → `1.0.0`.
fn next_version(version: Option<&str>) -> String {
    let Some(version) = version else {
        return "1.0.0".to_owned();
    };
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(1);
    let minor = parts.next().unwrap_or(0);
    format!("{major}.{}.0", minor + 1)
}

/// `updateFunction`: adds the settings introduced since the install (defaults the integration
/// does not have yet) and bumps the integration's `version`.
fn update(options: UpdateOptions) -> Result<()> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut doc = read_integration(&platform, integration)?;
    let from = doc["version"].as_str().map(str::to_owned);
    let to = next_version(from.as_deref());
    // The platform marks the integration while its update runs (settings wait meanwhile).
    let in_progress = doc["updateInProgress"].as_bool().unwrap_or(false);
    if !doc["settings"].is_object() {
        doc["settings"] = json!({});
    }
    let defaults = default_settings();
    for (section, fields) in defaults.as_object().into_iter().flatten() {
        for (key, value) in fields.as_object().into_iter().flatten() {
            if doc["settings"][section].get(key).is_none() {
                set_path(
                    &mut doc["settings"],
                    &format!("{section}.{key}"),
                    value.clone(),
                );
            }
        }
    }
    doc["version"] = json!(to);
    write_integration(&platform, integration, &doc)?;
    log::info(format!(
        "integration {integration} updated from {} to {to} (updateInProgress: {in_progress})",
        from.as_deref().unwrap_or("no version")
    ));
    Ok(())
}

/// `changeEditionFunction`: records the license's new edition on the integration (`edition`),
/// which is where the app would switch its edition's features on or off.
fn change_edition(options: ChangeEditionOptions) -> Result<()> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut doc = read_integration(&platform, integration)?;
    doc["edition"] = json!(options.to_edition);
    write_integration(&platform, integration, &doc)?;
    log::info(format!(
        "integration {integration}: edition {} → {}",
        options.from_edition.as_deref().unwrap_or("none"),
        options.to_edition.as_deref().unwrap_or("none")
    ));
    Ok(())
}

/// `refreshMetadata`: the settings field in `opts` (by its `id`) with its current choices.
fn refresh_choices(options: RefreshMetadataOptions) -> Result<Value> {
    let id = options.opts["id"].as_str().unwrap_or_default();
    let key = id.rsplit('.').next().unwrap_or(id);
    if !CHOICES.iter().any(|(k, _)| *k == key) {
        return Err(Failure::new(
            "unknown_field",
            format!("'{id}' is not a setting with choices"),
        ));
    }
    let value = id
        .split('.')
        .try_fold(&options.common.settings, |at, part| at.get(part))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(integrator_sdk::integrator_json::to_value(&field(id, &value)).unwrap_or_default())
}

/// `getMappingMetadata`: for each import of the integration, `externalId` must stay mapped and
/// cannot be edited (the app finds its records again by it).
fn mapping_metadata(options: MappingMetadataOptions) -> Result<Value> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut metadata = integrator_sdk::Object::new();
    for import in tagged(&platform, "imports", integration)? {
        metadata.insert(
            import,
            json!([{"requiredGenerateFields": ["externalId"], "nonEditableGenerateFields": ["externalId"]}]),
        );
    }
    Ok(Value::Object(metadata))
}

/// The `_id`s of the `collection` resources tagged with `integration` that the token sees.
fn tagged(platform: &Platform, collection: &str, integration: &str) -> Result<Vec<String>> {
    let list = platform.get(&format!("/v1/{collection}")).into_result()?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|doc| doc["_integrationId"].as_str() == Some(integration))
        .filter_map(|doc| doc["_id"].as_str().map(str::to_owned))
        .collect())
}

/// Delete every `collection` resource of `integration`; one already gone counts as deleted.
fn delete_tagged(platform: &Platform, collection: &str, integration: &str) -> Result<usize> {
    let ids = tagged(platform, collection, integration)?;
    for id in &ids {
        let answer = platform.delete(&format!("/v1/{collection}/{id}"));
        if answer.status != 404 {
            answer.into_result()?;
        }
        log::info(format!("deleted {collection}/{id}"));
    }
    Ok(ids.len())
}

/// `preUninstallFunction`: moves the integration to mode `uninstall` and deletes its flows,
/// so nothing runs while the rest is taken down.
fn pre_uninstall(options: UninstallOptions) -> Result<StepResult> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut doc = read_integration(&platform, integration)?;
    doc["mode"] = json!("uninstall");
    write_integration(&platform, integration, &doc)?;
    delete_tagged(&platform, "flows", integration)?;
    Ok(StepResult::default())
}

/// `uninstallerFunction`: deletes the integration's flows, imports, exports and connections (in
/// that order, as each refers to the next). The install steps stop referring to the connection
/// first; the platform deletes the integration itself afterwards.
fn uninstall(options: UninstallOptions) -> Result<StepResult> {
    let integration = integration_id(&options.common)?;
    let platform = options.common.platform();
    let mut doc = read_integration(&platform, integration)?;
    let mut changed = false;
    for step in doc["install"].as_array_mut().into_iter().flatten() {
        if let Some(fields) = step.as_object_mut() {
            changed |= fields.remove("_connectionId").is_some();
        }
    }
    if changed {
        write_integration(&platform, integration, &doc)?;
    }
    let mut deleted = 0;
    for collection in ["flows", "imports", "exports", "connections"] {
        deleted += delete_tagged(&platform, collection, integration)?;
    }
    log::info(format!(
        "integration {integration}: {deleted} resources deleted"
    ));
    Ok(StepResult::default())
}

integrator_sdk::functions! {
    installer: {
        "install" => install,
        "verifyConnection" => verify_connection,
        "applyDefaults" => apply_defaults,
    },
    form_init: { "settingsForm" => settings_form },
    persist_settings: { "saveSettings" => save_settings },
    update: { "update" => update },
    pre_uninstall: { "preUninstall" => pre_uninstall },
    uninstaller: { "uninstall" => uninstall },
    change_edition: { "changeEdition" => change_edition },
    refresh_metadata: { "refreshChoices" => refresh_choices },
    get_mapping_metadata: { "mappingMetadata" => mapping_metadata },
}
