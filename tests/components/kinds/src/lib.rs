//! Test fixture: one realistic function of every kind, each deriving its result from its
//! options so the tests can check that options arrive and results come back intact.

// `functions!` completes its table with `..Functions::NONE`, which has nothing left to fill
// when a component registers every kind, as this one does.
#![allow(clippy::needless_update)]

use integrator_sdk::hooks::{
    PostAggregateOptions, PostMapOptions, PostResponseMapOptions, PostSubmitOptions, PreMapOptions,
    PreSavePageOptions, PreSavePageResponse, RecordResult, ResponseData,
};
use integrator_sdk::installer::{
    ChangeEditionOptions, InitChildOptions, InstallerOptions, StepResult, UninstallOptions,
    UpdateOptions,
};
use integrator_sdk::settings::{
    Field, Form, FormInitOptions, MappingMetadataOptions, PersistSettingsOptions,
    PersistSettingsResponse, PreSaveOptions, RefreshMetadataOptions, Section,
};
use integrator_sdk::wrapper::{
    ExportOptions, ExportResponse, ImportOptions, ImportResult, PingOptions, PingResponse,
};
use integrator_sdk::{Failure, Result, Value, json, log};

/// Records the `listOrders` export pages through, two per page.
const ORDERS: [(u64, &str); 5] = [
    (1001, "open"),
    (1002, "shipped"),
    (1003, "open"),
    (1004, "cancelled"),
    (1005, "open"),
];
const PAGE_SIZE: usize = 2;

// --- hooks ---

/// Drop cancelled orders, tag the others with the page, fail records without an `id`, and abort
/// the export after page `configuration.stopAfterPage`.
fn tag_orders(options: PreSavePageOptions) -> Result<PreSavePageResponse> {
    let total = options.data.len();
    let mut data = Vec::new();
    let mut errors = options.errors;
    let mut retry = Vec::new();
    for mut record in options.data {
        if record["status"] == "cancelled" {
            continue;
        }
        if record.get("id").is_none() {
            let failure = Failure::new("missing_id", "the order has no id");
            retry.push(json!({ "error": failure, "data": record }));
            errors.push(failure);
            continue;
        }
        record["tagged"] = json!(true);
        record["page"] = json!(options.page_index);
        data.push(record);
    }
    log::info(format!("kept {} of {total} orders", data.len()));
    let abort = options.common.configuration["stopAfterPage"].as_u64() == Some(options.page_index);
    Ok(PreSavePageResponse {
        data,
        errors,
        abort,
        new_errors_and_retry_data: retry,
    })
}

/// Per contact: skip (`{}`) when `skip`, fail without an email, keep with a lowercased email,
/// and keep-with-errors when the name is missing.
fn normalize_contacts(options: PreMapOptions) -> Result<Vec<RecordResult>> {
    Ok(options
        .data
        .into_iter()
        .map(|mut record| {
            if record["skip"] == true {
                return RecordResult::ignore();
            }
            let Some(email) = record["email"].as_str().map(str::to_lowercase) else {
                return RecordResult::fail(Failure::new("missing_email", "no email"));
            };
            record["email"] = json!(email);
            if record.get("name").is_none() {
                return RecordResult {
                    data: Some(record),
                    errors: Some(vec![Failure::new(
                        "missing_name",
                        "no name; imported anyway",
                    )]),
                };
            }
            RecordResult::keep(record)
        })
        .collect())
}

/// Stamp each mapped record with the id of its source record.
fn stamp_mapped(options: PostMapOptions) -> Result<Vec<RecordResult>> {
    Ok(options
        .post_map_data
        .into_iter()
        .enumerate()
        .map(|(i, mut record)| {
            record["sourceId"] = options
                .pre_map_data
                .get(i)
                .map_or(Value::Null, |r| r["id"].clone());
            RecordResult::keep(record)
        })
        .collect())
}

/// Treat `duplicate` rejections as ignored successes; leave every other answer as it is.
fn forgive_duplicates(options: PostSubmitOptions) -> Result<Vec<ResponseData>> {
    Ok(options
        .response_data
        .into_iter()
        .map(|mut response| {
            if response.status_code == 422 && response.errors.iter().any(|e| e.code == "duplicate")
            {
                response.status_code = 200;
                response.ignored = true;
                response.errors.clear();
            }
            response
        })
        .collect())
}

/// Copy the processor's answer id onto each record.
fn merge_responses(options: PostResponseMapOptions) -> Result<Vec<Value>> {
    Ok(options
        .post_response_map_data
        .into_iter()
        .enumerate()
        .map(|(i, mut record)| {
            record["shipmentId"] = options
                .response_data
                .get(i)
                .map_or(Value::Null, |r| r["id"].clone());
            record
        })
        .collect())
}

/// Log what the aggregation produced.
fn announce_file(options: PostAggregateOptions) -> Result<()> {
    let data = options.post_aggregate_data;
    if data.success {
        log::info(format!(
            "uploaded {}",
            data.json["fileName"].as_str().unwrap_or("?")
        ));
    } else {
        log::warn(format!(
            "aggregation failed: {}",
            data.message.unwrap_or_default()
        ));
    }
    Ok(())
}

// --- wrappers ---

/// 200 when the connection has an API key, else 401.
fn ping(options: PingOptions) -> Result<PingResponse> {
    let has_key = options.connection.encrypted["apiKey"]
        .as_str()
        .is_some_and(|k| !k.is_empty());
    Ok(if has_key {
        PingResponse {
            status_code: 200,
            errors: Vec::new(),
        }
    } else {
        PingResponse {
            status_code: 401,
            errors: vec![Failure::new("unauthorized", "the connection has no apiKey")],
        }
    })
}

/// Page through [`ORDERS`] with `state.page`; a test export stops after `test.limit` records.
fn list_orders(options: ExportOptions) -> Result<ExportResponse> {
    let page = options.state["page"].as_u64().unwrap_or(0) as usize;
    let mut data: Vec<Value> = ORDERS
        .iter()
        .skip(page * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|(id, status)| json!({ "id": id, "status": status }))
        .collect();
    let mut last_page = (page + 1) * PAGE_SIZE >= ORDERS.len();
    if options.kind.as_deref() == Some("test") {
        let limit = options.test.and_then(|t| t.limit).unwrap_or(1) as usize;
        data.truncate(limit);
        last_page = true;
    }
    Ok(ExportResponse {
        data,
        last_page,
        state: json!({ "page": page + 1 }),
        ..Default::default()
    })
}

/// One answer per record: records with an `id` are upserted, `skip` ones ignored, the others
/// rejected.
fn upsert_orders(options: ImportOptions) -> Result<Vec<ImportResult>> {
    Ok(options
        .post_map_data
        .iter()
        .map(|record| {
            if record["skip"] == true {
                ImportResult {
                    status_code: 200,
                    ignored: true,
                    ..Default::default()
                }
            } else if let Some(id) = record.get("id") {
                ImportResult {
                    status_code: 200,
                    id: Some(json!(format!("remote-{id}"))),
                    ..Default::default()
                }
            } else {
                ImportResult {
                    status_code: 422,
                    errors: vec![Failure::new("missing_id", "the record has no id")],
                    ..Default::default()
                }
            }
        })
        .collect())
}

// --- connector lifecycle ---

/// Mark the install step done; the edition from the license decides the next step.
fn install(options: InstallerOptions) -> Result<StepResult> {
    let edition = options.opts["edition"].as_str().unwrap_or("standard");
    Ok(StepResult {
        success: true,
        steps_to_update: vec![
            json!({ "name": "Connect the shop", "completed": options.connection_id.is_some() }),
            json!({ "name": format!("Configure {edition}"), "completed": false }),
        ],
    })
}

fn upgrade(options: UpdateOptions) -> Result<()> {
    log::info(format!(
        "updating integration {} to {}",
        options.common.integration_id.unwrap_or_default(),
        options.opts["version"].as_str().unwrap_or("?")
    ));
    Ok(())
}

fn pre_uninstall(_options: UninstallOptions) -> Result<StepResult> {
    Ok(StepResult {
        success: true,
        steps_to_update: vec![json!({ "name": "Remove flows", "completed": false })],
    })
}

fn uninstall(_options: UninstallOptions) -> Result<StepResult> {
    Ok(StepResult::default())
}

/// Only the editions the connector knows: others are a failure of the function itself.
fn change_edition(options: ChangeEditionOptions) -> Result<()> {
    let to = options.to_edition.unwrap_or_default();
    if !["standard", "premium"].contains(&to.as_str()) {
        return Err(Failure {
            code: "unknown_edition".into(),
            message: format!("no edition '{to}'"),
            source: Some("kinds fixture".into()),
        });
    }
    log::info(format!(
        "edition {} -> {to}",
        options.from_edition.unwrap_or_default()
    ));
    Ok(())
}

fn init_child(options: InitChildOptions) -> Result<Value> {
    Ok(json!({
        "name": format!("{} - child", options.parent_integration["name"].as_str().unwrap_or("?")),
        "_parentId": options.parent_integration["_id"],
        "settings": { "edition": options.parent_license["opts"]["edition"] },
    }))
}

// --- settings ---

fn settings_form(options: FormInitOptions) -> Result<Form> {
    let settings = &options.resource["settings"];
    Ok(Form {
        sections: vec![Section {
            title: "General".into(),
            fields: vec![
                Field {
                    id: "syncOrders".into(),
                    kind: "checkbox".into(),
                    label: "Sync orders".into(),
                    value: settings["syncOrders"].clone(),
                    ..Default::default()
                },
                Field {
                    id: "region".into(),
                    kind: "select".into(),
                    label: "Region".into(),
                    value: settings["region"].clone(),
                    options: vec![json!(["us", "US"]), json!(["eu", "Europe"])],
                    required: true,
                    help_text: Some("Where the shop is hosted".into()),
                },
            ],
        }],
    })
}

/// Save the pending settings with the region lowercased.
fn save_settings(options: PersistSettingsOptions) -> Result<PersistSettingsResponse> {
    let mut pending = options.pending;
    if let Some(region) = pending["region"].as_str().map(str::to_lowercase) {
        pending["region"] = json!(region);
    }
    Ok(PersistSettingsResponse {
        success: true,
        pending,
    })
}

fn pre_save(options: PreSaveOptions) -> Result<Value> {
    let mut resource = options.new_resource;
    resource["previousName"] = options.old_resource["name"].clone();
    Ok(resource)
}

fn refresh_regions(options: RefreshMetadataOptions) -> Result<Value> {
    let mut field = options.opts;
    field["options"] = json!([["us", "US"], ["eu", "Europe"], ["ap", "Asia Pacific"]]);
    Ok(field)
}

fn mapping_metadata(options: MappingMetadataOptions) -> Result<Value> {
    let imports = options.common.configuration["importIds"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let map: integrator_sdk::Object = imports
        .iter()
        .filter_map(Value::as_str)
        .map(|id| {
            (
                id.to_owned(),
                json!({
                    "requiredGenerateFields": ["email"],
                    "nonEditableGenerateFields": ["id"],
                    "version": options.version,
                }),
            )
        })
        .collect();
    Ok(Value::Object(map))
}

integrator_sdk::functions! {
    pre_save_page: { "tagOrders" => tag_orders },
    pre_map: { "normalizeContacts" => normalize_contacts },
    post_map: { "stampMapped" => stamp_mapped },
    post_submit: { "forgiveDuplicates" => forgive_duplicates },
    post_response_map: { "mergeResponses" => merge_responses },
    post_aggregate: { "announceFile" => announce_file },
    wrapper_ping: { "ping" => ping },
    wrapper_export: { "listOrders" => list_orders },
    wrapper_import: { "upsertOrders" => upsert_orders },
    installer: { "install" => install },
    update: { "upgrade" => upgrade },
    pre_uninstall: { "preUninstall" => pre_uninstall },
    uninstaller: { "uninstall" => uninstall },
    change_edition: { "changeEdition" => change_edition },
    init_child: { "initChild" => init_child },
    form_init: { "settingsForm" => settings_form },
    persist_settings: { "saveSettings" => save_settings },
    pre_save: { "preSave" => pre_save },
    refresh_metadata: { "refreshRegions" => refresh_regions },
    get_mapping_metadata: { "mappingMetadata" => mapping_metadata },
}
