//! Resource documents: the kinds of resource the API serves, what each one validates, which of
//! its fields refer to other resources, and which of them are secrets.
//!
//! Documents are open: fields the server does not know are kept unchanged. The fields it knows
//! are checked by [`Kind::validate`], which reports every problem at once.

use serde_json::Value;

use crate::store::Reference;

pub mod check;
pub mod schema;

use check::{Check, Problem};

/// One kind of resource (a collection of the REST API).
pub struct Kind {
    /// Collection name, as in the route (`exports`).
    pub name: &'static str,
    /// One resource, in messages (`export`).
    pub singular: &'static str,
    /// Check the known fields of a document, pushing one problem per mistake.
    pub validate: fn(&mut Check<'_>),
    /// References to other resources, with the field that holds each.
    pub references: fn(&Value) -> Vec<Reference>,
    /// Dotted paths of the secret fields of a document (they depend on e.g. its `type`).
    pub secrets: fn(&Value) -> Vec<String>,
    /// Top-level fields only the server writes: ignored in request bodies, kept across a PUT.
    pub owned: &'static [&'static str],
}

impl Kind {
    /// Every problem of `doc`, empty when it is valid. Fields in `kept` (secrets that keep their
    /// stored value) are not checked again.
    pub fn problems(&self, doc: &Value, kept: &[String]) -> Vec<Problem> {
        let mut check = Check::keeping(doc, kept);
        (self.validate)(&mut check);
        check.into_problems()
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn no_secrets(_: &Value) -> Vec<String> {
    Vec::new()
}

fn no_references(_: &Value) -> Vec<Reference> {
    Vec::new()
}

/// Connection types (api.md); `http` is an alias of `rest`.
pub const CONNECTION_TYPES: &[&str] = &["rest", "http", "ftp", "s3", "netsuite", "wrapper"];

/// `GET /v1/connections` … credentials and access details for one application.
pub static CONNECTIONS: Kind = Kind {
    name: "connections",
    singular: "connection",
    validate: validate_connection,
    references: connection_references,
    secrets: connection_secrets,
    // Set by the platform when the remote side refuses the credentials, cleared by a ping.
    owned: &["offline", "offlineSince", "offlineReason"],
};

fn validate_connection(c: &mut Check<'_>) {
    c.string("name", false);
    c.common_tags();
    let Some(kind) = c.one_of("type", CONNECTION_TYPES, true) else {
        return;
    };
    match kind {
        "rest" | "http" => {
            let b = kind;
            if c.object(b, true) {
                c.url(&format!("{b}.baseURI"), true);
                c.one_of(
                    &format!("{b}.mediaType"),
                    &["json", "urlencoded", "xml"],
                    false,
                );
                c.one_of(
                    &format!("{b}.authType"),
                    &["basic", "token", "oauth2", "custom", "cookie", "jwt"],
                    false,
                );
                c.object(&format!("{b}.basicAuth"), false);
                c.string(&format!("{b}.basicAuth.username"), false);
                c.string(&format!("{b}.basicAuth.password"), false);
                c.string(&format!("{b}.bearerToken"), false);
                c.one_of(&format!("{b}.tokenLocation"), &["header", "url"], false);
                c.string(&format!("{b}.tokenParam"), false);
                c.name_values(&format!("{b}.headers"));
                c.string(&format!("{b}.pingRelativeURI"), false);
                c.one_of(
                    &format!("{b}.pingMethod"),
                    &["GET", "POST", "PUT", "HEAD"],
                    false,
                );
                c.integer(&format!("{b}.concurrencyLevel"), 1, 100, false);
                c.id(&format!("{b}._iClientId"), false);
                c.object(&format!("{b}.oauth2"), false);
                for secret in ["clientSecret", "accessToken", "refreshToken"] {
                    c.string(&format!("{b}.oauth2.{secret}"), false);
                }
            }
        }
        "ftp" if c.object("ftp", true) => {
            c.string("ftp.hostURI", true);
            c.integer("ftp.port", 1, 65535, false);
            c.string("ftp.username", false);
            c.string("ftp.password", false);
            c.string("ftp.privateKey", false);
            c.string("ftp.passphrase", false);
            c.one_of("ftp.type", &["ftp", "ftps", "sftp"], false);
        }
        "s3" if c.object("s3", true) => {
            c.string("s3.accessKeyId", false);
            c.string("s3.secretAccessKey", false);
            c.string("s3.region", false);
            c.url("s3.endpoint", false);
            c.string("s3.pingBucket", false);
        }
        "netsuite" if c.object("netsuite", true) => {
            c.string("netsuite.account", true);
            c.string("netsuite.tokenId", false);
            c.string("netsuite.tokenSecret", false);
            c.string("netsuite.consumerKey", false);
            c.string("netsuite.consumerSecret", false);
            c.id("netsuite._iClientId", false);
            c.url("netsuite.baseURI", false);
            c.integer("netsuite.concurrencyLevel", 1, 100, false);
        }
        "wrapper" if c.object("wrapper", true) => {
            c.id("wrapper._stackId", true);
            c.string("wrapper.pingFunction", false);
            c.object("wrapper.unencrypted", false);
            c.object("wrapper.encrypted", false);
            c.string_array("wrapper.allowedHosts");
        }
        _ => {}
    }
}

fn connection_references(doc: &Value) -> Vec<Reference> {
    let mut refs = common_references(doc);
    if let Some(kind) = doc.get("type").and_then(Value::as_str) {
        push_ref(&mut refs, doc, &format!("{kind}._iClientId"), "iclients");
        push_ref(&mut refs, doc, &format!("{kind}._stackId"), "stacks");
    }
    refs
}

fn connection_secrets(doc: &Value) -> Vec<String> {
    let fields: &[&str] = match doc.get("type").and_then(Value::as_str) {
        Some("rest") | Some("http") => &[
            "basicAuth.password",
            "bearerToken",
            "oauth2.clientSecret",
            "oauth2.accessToken",
            "oauth2.refreshToken",
        ],
        Some("ftp") => &["password", "privateKey", "passphrase"],
        Some("s3") => &["secretAccessKey"],
        Some("netsuite") => &["tokenId", "tokenSecret", "password", "consumerSecret"],
        Some("wrapper") => &["encrypted"],
        _ => &[],
    };
    let block = doc.get("type").and_then(Value::as_str).unwrap_or_default();
    fields.iter().map(|f| format!("{block}.{f}")).collect()
}

/// Hook fields of exports.
const EXPORT_HOOKS: &[&str] = &["preSavePage"];
/// Hook fields of imports.
const IMPORT_HOOKS: &[&str] = &["preMap", "postMap", "postSubmit", "postAggregate"];

/// `GET /v1/exports` … pull data out of an application.
pub static EXPORTS: Kind = Kind {
    name: "exports",
    singular: "export",
    validate: validate_export,
    references: export_references,
    secrets: no_secrets,
    owned: &[],
};

fn validate_export(c: &mut Check<'_>) {
    c.string("name", false);
    c.common_tags();
    c.id("_connectionId", false);
    match c.one_of("type", &["delta", "once", "test", "webhook", "blob"], false) {
        Some("delta") => {
            c.string("delta.dateField", true);
        }
        Some("once") => {
            c.string("once.booleanField", true);
        }
        Some("test") => {
            c.integer("test.limit", 1, 1000, false);
        }
        _ => {}
    }
    c.integer("pageSize", 1, 10_000, false);
    for block in [
        "rest",
        "http",
        "ftp",
        "s3",
        "netsuite",
        "wrapper",
        "file",
        "transform",
        "filter",
    ] {
        c.object(block, false);
    }
    c.one_of("file.type", &["csv", "json", "xml"], false);
    c.hooks(EXPORT_HOOKS);
}

fn export_references(doc: &Value) -> Vec<Reference> {
    let mut refs = common_references(doc);
    push_ref(&mut refs, doc, "_connectionId", "connections");
    hook_references(&mut refs, doc, "hooks", EXPORT_HOOKS);
    refs
}

/// `GET /v1/imports` … put data into an application.
pub static IMPORTS: Kind = Kind {
    name: "imports",
    singular: "import",
    validate: validate_import,
    references: import_references,
    secrets: no_secrets,
    owned: &[],
};

fn validate_import(c: &mut Check<'_>) {
    c.string("name", false);
    c.common_tags();
    c.id("_connectionId", false);
    c.mapping("mapping");
    for block in ["rest", "http", "ftp", "s3", "netsuite", "wrapper", "file"] {
        c.object(block, false);
    }
    c.one_of("file.type", &["csv", "json", "xml"], false);
    c.boolean("file.skipAggregation");
    c.string("file.fileName", false);
    c.boolean("ignoreExisting");
    c.boolean("ignoreMissing");
    c.hooks(IMPORT_HOOKS);
}

fn import_references(doc: &Value) -> Vec<Reference> {
    let mut refs = common_references(doc);
    push_ref(&mut refs, doc, "_connectionId", "connections");
    hook_references(&mut refs, doc, "hooks", IMPORT_HOOKS);
    refs
}

/// `GET /v1/flows` … an export linked to one or more imports.
pub static FLOWS: Kind = Kind {
    name: "flows",
    singular: "flow",
    validate: validate_flow,
    references: flow_references,
    secrets: no_secrets,
    owned: &[],
};

fn validate_flow(c: &mut Check<'_>) {
    c.string("name", false);
    c.common_tags();
    c.boolean("disabled");
    c.boolean("skipRetries");
    c.id("_exportId", false);
    c.id("_importId", false);
    let simple = c.has("_exportId") || c.has("_importId");
    let orchestrated = c.has("pageGenerators") || c.has("pageProcessors");
    if simple && orchestrated {
        c.problem(
            "invalid_value",
            "use either _exportId/_importId (simple flow) or pageGenerators/pageProcessors (orchestrated flow), not both",
            "pageGenerators",
        );
    }
    if let Some(n) = c.array("pageGenerators", false) {
        for i in 0..n {
            let at = format!("pageGenerators[{i}]");
            if c.object(&at, true) {
                c.id(&format!("{at}._exportId"), true);
            }
        }
    }
    if let Some(n) = c.array("pageProcessors", false) {
        for i in 0..n {
            let at = format!("pageProcessors[{i}]");
            if !c.object(&at, true) {
                continue;
            }
            match c.one_of(&format!("{at}.type"), &["export", "import"], true) {
                Some("export") => c.id(&format!("{at}._exportId"), true),
                Some("import") => c.id(&format!("{at}._importId"), true),
                _ => {}
            }
            c.boolean(&format!("{at}.proceedOnFailure"));
            if c.object(&format!("{at}.responseMapping"), false) {
                c.mapping(&format!("{at}.responseMapping"));
            }
            c.hooks_at(&format!("{at}.hooks"), &["postResponseMap"]);
        }
    }
    c.schedule("schedule", "timezone");
    c.timezone("timezone");
    if let Some(n) = c.array("_runNextFlowIds", false) {
        for i in 0..n {
            c.id(&format!("_runNextFlowIds[{i}]"), true);
        }
    }
}

fn flow_references(doc: &Value) -> Vec<Reference> {
    let mut refs = common_references(doc);
    push_ref(&mut refs, doc, "_exportId", "exports");
    push_ref(&mut refs, doc, "_importId", "imports");
    for (i, _) in items(doc, "pageGenerators") {
        push_ref(
            &mut refs,
            doc,
            &format!("pageGenerators[{i}]._exportId"),
            "exports",
        );
    }
    for (i, _) in items(doc, "pageProcessors") {
        let at = format!("pageProcessors[{i}]");
        push_ref(&mut refs, doc, &format!("{at}._exportId"), "exports");
        push_ref(&mut refs, doc, &format!("{at}._importId"), "imports");
        hook_references(&mut refs, doc, &format!("{at}.hooks"), &["postResponseMap"]);
    }
    for (i, id) in items(doc, "_runNextFlowIds") {
        if let Some(id) = id.as_str() {
            refs.push(Reference {
                field: format!("_runNextFlowIds[{i}]"),
                kind: "flows",
                id: id.to_owned(),
            });
        }
    }
    refs
}

/// `GET /v1/integrations` … a group of flows (a tile on the dashboard).
pub static INTEGRATIONS: Kind = Kind {
    name: "integrations",
    singular: "integration",
    validate: validate_integration,
    references: integration_references,
    secrets: no_secrets,
    // The license an install from the marketplace holds: written by the platform only.
    owned: &["_licenseId"],
};

fn validate_integration(c: &mut Check<'_>) {
    c.string("name", false);
    c.id("_connectorId", false);
    c.one_of("mode", &["install", "settings", "uninstall"], false);
    c.object("settings", false);
    c.string("version", false);
    c.boolean("updateInProgress");
    if let Some(n) = c.array("install", false) {
        for i in 0..n {
            let at = format!("install[{i}]");
            if c.object(&at, true) {
                c.string(&format!("{at}.name"), true);
                c.string(&format!("{at}.description"), false);
                c.boolean(&format!("{at}.completed"));
                c.string(&format!("{at}.installerFunction"), false);
                c.string(&format!("{at}.uninstallerFunction"), false);
                c.id(&format!("{at}._connectionId"), false);
                c.string(&format!("{at}.imageURL"), false);
                c.string(&format!("{at}.installURL"), false);
            }
        }
    }
}

fn integration_references(doc: &Value) -> Vec<Reference> {
    let mut refs = Vec::new();
    push_ref(&mut refs, doc, "_connectorId", "connectors");
    for (i, _) in items(doc, "install") {
        push_ref(
            &mut refs,
            doc,
            &format!("install[{i}]._connectionId"),
            "connections",
        );
    }
    refs
}

/// Function-name fields of a connector.
pub const CONNECTOR_FUNCTIONS: &[&str] = &[
    "installerFunction",
    "updateFunction",
    "preUninstallFunction",
    "uninstallerFunction",
    "externalInstallerFunction",
    "changeEditionFunction",
    "formInitFunction",
    "persistSettingsFunction",
    "refreshMetadataFunction",
    "getMappingMetadataFunction",
];

/// `GET /v1/connectors` … marketplace apps.
pub static CONNECTORS: Kind = Kind {
    name: "connectors",
    singular: "connector",
    validate: validate_connector,
    references: connector_references,
    secrets: no_secrets,
    owned: &[],
};

fn validate_connector(c: &mut Check<'_>) {
    c.string("name", true);
    for f in [
        "description",
        "imageURL",
        "websiteURL",
        "contactEmail",
        "handle",
    ] {
        c.string(f, false);
    }
    c.boolean("published");
    c.boolean("managed");
    c.string_array("applications");
    c.id("_stackId", false);
    for f in CONNECTOR_FUNCTIONS {
        c.string(f, false);
    }
    c.object("_iClientIdMap", false);
}

fn connector_references(doc: &Value) -> Vec<Reference> {
    let mut refs = Vec::new();
    push_ref(&mut refs, doc, "_stackId", "stacks");
    refs
}

/// Licenses of one connector (stored under `licenses:{connector id}` in the publisher's account).
/// `_integrationId` is the install holding the license, in the installing account: the platform
/// writes it when the license is used and removes it when the install is uninstalled, so it is
/// neither a request field nor a same-account reference.
pub static LICENSES: Kind = Kind {
    name: "licenses",
    singular: "license",
    validate: validate_license,
    references: no_references,
    secrets: no_secrets,
    owned: &["_integrationId"],
};

fn validate_license(c: &mut Check<'_>) {
    c.object("user", false);
    c.string("user.email", true);
    c.datetime("expires", false);
    c.object("opts", false);
}

/// `GET /v1/iclients` … OAuth/app client credentials.
pub static ICLIENTS: Kind = Kind {
    name: "iclients",
    singular: "iClient",
    validate: validate_iclient,
    references: no_references,
    secrets: iclient_secrets,
    owned: &[],
};

fn validate_iclient(c: &mut Check<'_>) {
    c.string("name", false);
    c.string("provider", false);
    c.string("clientId", false);
    c.string("clientSecret", false);
    c.string("consumerKey", false);
    c.string("consumerSecret", false);
    c.object("oauth2", false);
    c.string("oauth2.clientSecret", false);
    c.object("oauth1", false);
    c.string("oauth1.consumerSecret", false);
}

fn iclient_secrets(_: &Value) -> Vec<String> {
    [
        "clientSecret",
        "consumerSecret",
        "oauth2.clientSecret",
        "oauth1.consumerSecret",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `GET /v1/templates` … marketplace listing of unmanaged templates.
pub static TEMPLATES: Kind = Kind {
    name: "templates",
    singular: "template",
    validate: validate_template,
    references: no_references,
    secrets: no_secrets,
    owned: &[],
};

fn validate_template(c: &mut Check<'_>) {
    c.string("name", false);
    c.string("description", false);
    c.string_array("applications");
    c.boolean("published");
}

/// Stack types this runtime executes.
pub const STACK_TYPES: &[&str] = &["wasm"];

/// `GET /v1/stacks` … where extension code lives.
pub static STACKS: Kind = Kind {
    name: "stacks",
    singular: "stack",
    validate: validate_stack,
    references: no_references,
    secrets: no_secrets,
    owned: &["component"],
};

fn validate_stack(c: &mut Check<'_>) {
    c.string("name", false);
    c.one_of("type", STACK_TYPES, true);
    if c.object("limits", false) {
        c.integer(
            "limits.memoryMiB",
            1,
            (crate::extension::limits::MAX_MEMORY_BYTES >> 20) as i64,
            false,
        );
        c.integer(
            "limits.timeoutSeconds",
            1,
            (crate::extension::limits::MAX_TIMEOUT_MS / 1000) as i64,
            false,
        );
        c.integer("limits.outputMiB", 1, 64, false);
        c.integer("limits.fuel", 1, i64::MAX, false);
    }
}

/// Jobs: created by the platform, read through the API.
pub static JOBS: Kind = Kind {
    name: "jobs",
    singular: "job",
    validate: |_| {},
    references: no_references,
    secrets: no_secrets,
    owned: &[],
};

/// The kinds a client creates and edits with plain CRUD (`/v1/{name}`), in route order.
pub static CRUD_KINDS: &[&Kind] = &[
    &CONNECTIONS,
    &EXPORTS,
    &IMPORTS,
    &FLOWS,
    &INTEGRATIONS,
    &CONNECTORS,
    &ICLIENTS,
    &TEMPLATES,
    &STACKS,
];

/// Kinds that have `POST /v1/{name}/{_id}/clone`.
pub static CLONEABLE: &[&str] = &["exports", "imports", "flows", "integrations"];

/// The kind with collection name `name` (any kind that has documents, jobs included).
pub fn kind(name: &str) -> Option<&'static Kind> {
    CRUD_KINDS
        .iter()
        .copied()
        .chain([&JOBS])
        .find(|k| k.name == name)
}

/// References most resources may carry: the integration they belong to and the connector that
/// manages them.
fn common_references(doc: &Value) -> Vec<Reference> {
    let mut refs = Vec::new();
    push_ref(&mut refs, doc, "_integrationId", "integrations");
    push_ref(&mut refs, doc, "_connectorId", "connectors");
    refs
}

fn push_ref(refs: &mut Vec<Reference>, doc: &Value, path: &str, kind: &'static str) {
    if let Some(id) = check::get(doc, path).and_then(Value::as_str) {
        refs.push(Reference {
            field: path.to_owned(),
            kind,
            id: id.to_owned(),
        });
    }
}

fn hook_references(refs: &mut Vec<Reference>, doc: &Value, at: &str, hooks: &[&str]) {
    for hook in hooks {
        push_ref(refs, doc, &format!("{at}.{hook}._stackId"), "stacks");
    }
}

fn items<'a>(doc: &'a Value, field: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    doc.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}
