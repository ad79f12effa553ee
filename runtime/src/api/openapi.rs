//! `GET /v1/openapi.json`: an OpenAPI 3.1 document generated from the routes the server serves
//! ([`super::Routes`] records each one's description as it is added) and from the typed schemas
//! of [`crate::model::schema`].

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{MethodFilter, get};
use serde_json::Value;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required,
};

use super::{Op, Reply, json_response};
use crate::AppState;
use crate::model::schema;

/// The route serving the document (no authentication).
pub fn routes(document: Arc<Value>) -> Router<AppState> {
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move { json_response(StatusCode::OK, &document) }
        }),
    )
}

fn method(filter: MethodFilter) -> HttpMethod {
    if filter == MethodFilter::POST {
        HttpMethod::Post
    } else if filter == MethodFilter::PUT {
        HttpMethod::Put
    } else if filter == MethodFilter::DELETE {
        HttpMethod::Delete
    } else {
        HttpMethod::Get
    }
}

fn content(reply: &Reply) -> Option<RefOr<Schema>> {
    match reply {
        Reply::Empty => None,
        Reply::Any => Some(RefOr::T(Schema::Object(ObjectBuilder::new().build()))),
        Reply::One(name) => Some(RefOr::Ref(Ref::from_schema_name(name))),
        Reply::List(name) => Some(RefOr::T(Schema::Array(
            ArrayBuilder::new()
                .items(Ref::from_schema_name(name))
                .build(),
        ))),
    }
}

const ERROR_STATUSES: &[(&str, &str)] = &[
    ("400", "Malformed JSON"),
    ("401", "Missing, invalid or expired token"),
    ("403", "The token may not do this"),
    ("404", "No such resource in this account"),
    ("409", "Conflict (e.g. still referenced)"),
    ("413", "Body too large"),
    ("415", "Body is not JSON"),
    ("422", "Validation failed; one entry per problem"),
    ("429", "Rate limited; see Retry-After"),
];

/// The OpenAPI document for `ops` (method, path under `/v1`, description).
pub fn document(ops: &[(MethodFilter, String, Op)]) -> Value {
    let mut paths = PathsBuilder::new();
    for (filter, path, op) in ops {
        let http_method = method(*filter);
        let mut operation = OperationBuilder::new()
            .tag(op.tag.clone())
            .summary(Some(op.summary.clone()))
            .operation_id(Some(operation_id(*filter, path)))
            .security(SecurityRequirement::new::<&str, [&str; 0], &str>(
                "bearer",
                [],
            ));
        for name in path_params(path) {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).build())),
            );
        }
        if let Some(name) = &op.request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(name)))
                            .build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let mut success = ResponseBuilder::new().description("Success");
        if let Some(body) = content(&op.response) {
            success = success.content(
                "application/json",
                ContentBuilder::new().schema(Some(body)).build(),
            );
        }
        operation = operation.response(op.status.to_string(), success.build());
        for (status, description) in ERROR_STATUSES {
            operation = operation.response(
                *status,
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Errors")))
                            .build(),
                    )
                    .build(),
            );
        }
        paths = paths.path(
            format!("/v1{path}"),
            PathItem::new(http_method, operation.build()),
        );
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for (name, schema) in schema::components() {
        components = components.schema(name, schema);
    }
    let api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Integrator API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("The Integrator REST API: connections, exports, imports, flows, integrations, connector apps, jobs, state."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build();
    serde_json::to_value(api).expect("an OpenAPI document always serializes")
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

fn operation_id(filter: MethodFilter, path: &str) -> String {
    let verb = if filter == MethodFilter::POST {
        "post"
    } else if filter == MethodFilter::PUT {
        "put"
    } else if filter == MethodFilter::DELETE {
        "delete"
    } else {
        "get"
    };
    let words: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => format!("By_{param}"),
                None => s.to_owned(),
            },
        )
        .collect();
    format!("{verb}_{}", words.join("_"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;
    use crate::model::{self, schema as typed};

    /// The document `app()` serves.
    fn served() -> Value {
        let super::super::Routes { ops, .. } = crate::api::routes();
        document(&ops)
    }

    fn lower(filter: MethodFilter) -> &'static str {
        match method(filter) {
            HttpMethod::Post => "post",
            HttpMethod::Put => "put",
            HttpMethod::Delete => "delete",
            _ => "get",
        }
    }

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(fields) => {
                for (key, v) in fields {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => found.push(r),
                        _ => refs(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    /// The `enum` of a component schema.
    fn enum_values(doc: &Value, name: &str) -> Vec<String> {
        schema(doc, name)["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum: {}", schema(doc, name)))
            .iter()
            .map(|v| v.as_str().expect("string enum").to_owned())
            .collect()
    }

    /// The component a property refers to (directly, or as one of `oneOf`: nullable).
    fn referred(property: &Value) -> Option<String> {
        let mut found = Vec::new();
        refs(property, &mut found);
        found
            .first()
            .map(|r| r.trim_start_matches("#/components/schemas/").to_owned())
    }

    #[test]
    fn document_is_openapi_3_1() {
        let doc = served();
        let version = doc["openapi"].as_str().expect("openapi version");
        assert!(version.starts_with("3.1"), "{version}");
    }

    #[test]
    fn every_route_is_documented_under_v1() {
        let doc = served();
        let super::super::Routes { ops, .. } = crate::api::routes();
        assert!(ops.len() > 50, "the route table looks empty");
        for (filter, path, op) in &ops {
            let operation = &doc["paths"][format!("/v1{path}")][lower(*filter)];
            assert!(operation.is_object(), "{filter:?} /v1{path} is missing");
            assert_eq!(operation["summary"], json!(op.summary), "/v1{path}");
            assert!(
                operation["responses"][op.status.to_string()].is_object(),
                "/v1{path}"
            );
        }
        let documented: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| item.as_object().expect("path item").len())
            .sum();
        assert_eq!(documented, ops.len(), "one operation per route");
    }

    #[test]
    fn every_ref_resolves_to_a_component() {
        let doc = served();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .expect("component schemas");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r} is not a component schema reference"));
            assert!(schemas.contains_key(name), "{r} does not resolve");
        }
    }

    #[test]
    fn every_schema_the_routes_name_is_typed() {
        let doc = served();
        let super::super::Routes { ops, .. } = crate::api::routes();
        let mut names = BTreeSet::new();
        for (_, _, op) in &ops {
            names.extend(op.request.clone());
            if let Reply::One(n) | Reply::List(n) = &op.response {
                names.insert(n.clone());
            }
        }
        names.insert("Errors".into());
        for name in names {
            let s = schema(&doc, &name);
            assert!(
                s["properties"].as_object().is_some_and(|p| !p.is_empty()),
                "{name} has no properties: {s}"
            );
            assert!(s["description"].is_string(), "{name} has no description");
        }
    }

    #[test]
    fn every_property_is_described() {
        let doc = served();
        for (name, s) in doc["components"]["schemas"].as_object().expect("schemas") {
            for (field, property) in s["properties"].as_object().into_iter().flatten() {
                let described = property["description"].is_string()
                    || property["oneOf"]
                        .as_array()
                        .is_some_and(|alts| alts.iter().any(|a| a["description"].is_string()));
                assert!(described, "{name}.{field} has no description: {property}");
            }
        }
    }

    #[test]
    fn documents_are_open() {
        let doc = served();
        for name in [
            "Connection",
            "Export",
            "Import",
            "Flow",
            "Hook",
            "Integration",
            "Connector",
            "License",
            "IClient",
            "Template",
            "Stack",
            "Job",
            "JobError",
            "RestConnection",
            "Mapping",
            "MappingField",
            "PageProcessor",
        ] {
            let extra = &schema(&doc, name)["additionalProperties"];
            assert!(
                extra.is_object() || *extra == json!(true),
                "{name} must allow other fields: {extra}"
            );
        }
    }

    #[test]
    fn connection_and_stack_types_match_the_model() {
        let doc = served();
        let connection = schema(&doc, "Connection");
        let kind = referred(&connection["properties"]["type"]).expect("type refers to an enum");
        assert_eq!(enum_values(&doc, &kind), model::CONNECTION_TYPES);
        assert!(
            connection["required"]
                .as_array()
                .expect("required")
                .contains(&json!("type"))
        );
        for block in model::CONNECTION_TYPES {
            assert!(
                connection["properties"][block].is_object(),
                "no {block} block"
            );
        }
        let stack = schema(&doc, "Stack");
        let kind = referred(&stack["properties"]["type"]).expect("type refers to an enum");
        assert_eq!(enum_values(&doc, &kind), model::STACK_TYPES);
        assert!(
            stack["required"]
                .as_array()
                .expect("required")
                .contains(&json!("type"))
        );
    }

    #[test]
    fn job_enums_follow_the_reference() {
        let doc = served();
        let job = schema(&doc, "Job");
        let kind = referred(&job["properties"]["type"]).expect("type");
        assert_eq!(enum_values(&doc, &kind), ["flow", "export", "import"]);
        let status = referred(&job["properties"]["status"]).expect("status");
        assert_eq!(
            enum_values(&doc, &status),
            [
                "queued",
                "running",
                "completed",
                "failed",
                "cancelling",
                "cancelled"
            ]
        );
    }

    #[test]
    fn names_follow_the_api() {
        let doc = served();
        let has = |schema_name: &str, fields: &[&str]| {
            let properties = &schema(&doc, schema_name)["properties"];
            for f in fields {
                assert!(properties[*f].is_object(), "{schema_name}.{f} is missing");
            }
        };
        has(
            "Connection",
            &[
                "_id",
                "name",
                "type",
                "_integrationId",
                "_connectorId",
                "createdAt",
                "lastModified",
            ],
        );
        has(
            "RestConnection",
            &[
                "baseURI",
                "mediaType",
                "authType",
                "basicAuth",
                "bearerToken",
                "tokenLocation",
                "tokenParam",
                "headers",
                "pingRelativeURI",
                "pingMethod",
                "concurrencyLevel",
            ],
        );
        has(
            "FtpConnection",
            &[
                "hostURI",
                "port",
                "username",
                "password",
                "privateKey",
                "type",
            ],
        );
        has(
            "S3Connection",
            &[
                "accessKeyId",
                "secretAccessKey",
                "region",
                "endpoint",
                "pingBucket",
            ],
        );
        has(
            "NetSuiteConnection",
            &[
                "account",
                "tokenId",
                "tokenSecret",
                "consumerKey",
                "consumerSecret",
                "_iClientId",
                "baseURI",
                "concurrencyLevel",
            ],
        );
        has(
            "WrapperConnection",
            &["_stackId", "pingFunction", "unencrypted", "encrypted"],
        );
        has(
            "Export",
            &[
                "name",
                "_connectionId",
                "type",
                "delta",
                "once",
                "pageSize",
                "file",
                "hooks",
                "transform",
                "filter",
            ],
        );
        has(
            "Import",
            &[
                "name",
                "_connectionId",
                "mapping",
                "file",
                "hooks",
                "ignoreExisting",
                "ignoreMissing",
            ],
        );
        has(
            "ImportHooks",
            &["preMap", "postMap", "postSubmit", "postAggregate"],
        );
        has(
            "MappingField",
            &[
                "extract",
                "hardCodedValue",
                "generate",
                "dataType",
                "default",
            ],
        );
        has(
            "Flow",
            &[
                "_exportId",
                "_importId",
                "pageGenerators",
                "pageProcessors",
                "name",
                "disabled",
                "schedule",
                "timezone",
                "_integrationId",
                "skipRetries",
                "_runNextFlowIds",
            ],
        );
        has(
            "PageProcessor",
            &[
                "type",
                "_exportId",
                "_importId",
                "responseMapping",
                "proceedOnFailure",
                "hooks",
            ],
        );
        has("Hook", &["_stackId", "function", "configuration"]);
        has(
            "Integration",
            &[
                "_connectorId",
                "mode",
                "settings",
                "version",
                "updateInProgress",
                "install",
            ],
        );
        has(
            "InstallStep",
            &[
                "name",
                "description",
                "completed",
                "installerFunction",
                "uninstallerFunction",
                "_connectionId",
                "imageURL",
                "installURL",
            ],
        );
        has(
            "Connector",
            &[
                "name",
                "imageURL",
                "websiteURL",
                "contactEmail",
                "_stackId",
                "_iClientIdMap",
            ],
        );
        has("Connector", model::CONNECTOR_FUNCTIONS);
        has(
            "License",
            &["user", "expires", "opts", "_integrationId", "_connectorId"],
        );
        has("LicenseUser", &["email", "_id", "name"]);
        has(
            "Job",
            &[
                "_flowId",
                "_flowJobId",
                "_exportId",
                "_importId",
                "startedAt",
                "endedAt",
                "numSuccess",
                "numError",
                "numIgnore",
                "numExport",
                "numPagesGenerated",
                "numPagesProcessed",
                "retriable",
                "_retryOfJobId",
            ],
        );
        has(
            "JobError",
            &[
                "code",
                "message",
                "source",
                "_jobId",
                "_retryId",
                "retryData",
                "createdAt",
                "resolved",
            ],
        );
        has("JobId", &["_jobId"]);
        has("TokenInfo", &["_userId", "scope"]);
        has("AccountCreate", &["email", "name"]);
        has("Account", &["_id", "email", "name", "token"]);
        has("StateKeys", &["keys"]);
        has(
            "InstallBaseEntry",
            &[
                "_integrationId",
                "email",
                "name",
                "version",
                "mode",
                "updateInProgress",
            ],
        );
        assert_eq!(schema(&doc, "AccountCreate")["required"], json!(["email"]));
    }

    #[test]
    fn secrets_are_write_only_and_server_fields_read_only() {
        let doc = served();
        let property = |s: &str, f: &str| schema(&doc, s)["properties"][f].clone();
        for (s, f) in [
            ("BasicAuth", "password"),
            ("RestConnection", "bearerToken"),
            ("RestOAuth2", "clientSecret"),
            ("FtpConnection", "password"),
            ("FtpConnection", "privateKey"),
            ("FtpConnection", "passphrase"),
            ("S3Connection", "secretAccessKey"),
            ("NetSuiteConnection", "tokenId"),
            ("NetSuiteConnection", "tokenSecret"),
            ("WrapperConnection", "encrypted"),
            ("IClient", "clientSecret"),
            ("IClient", "consumerSecret"),
            ("IClientOAuth2", "clientSecret"),
            ("IClientOAuth1", "consumerSecret"),
        ] {
            let p = property(s, f);
            assert_eq!(p["writeOnly"], json!(true), "{s}.{f}: {p}");
            assert!(
                p["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("******")),
                "{s}.{f}"
            );
        }
        for s in [
            "Connection",
            "Export",
            "Import",
            "Flow",
            "Integration",
            "Connector",
            "License",
            "IClient",
            "Template",
            "Stack",
        ] {
            for f in ["_id", "createdAt", "lastModified"] {
                assert_eq!(property(s, f)["readOnly"], json!(true), "{s}.{f}");
            }
            assert_eq!(
                property(s, "_id")["pattern"],
                json!(typed::ID_PATTERN),
                "{s}._id"
            );
        }
    }

    /// Documents the validators accept, by the schema they are typed by.
    fn valid_samples() -> Vec<(&'static model::Kind, Value)> {
        let id = "0123456789abcdef01234567";
        let hook = json!({"_stackId": id, "function": "f", "configuration": {"a": 1}});
        let mapping = json!({
            "fields": [{"extract": "a", "generate": "b", "dataType": "stringarray"}, {"hardCodedValue": 3, "generate": "c", "default": 0}],
            "lists": [{"generate": "lines", "fields": [{"extract": "x", "generate": "y"}]}]
        });
        vec![
            (
                &model::CONNECTIONS,
                json!({"type": "rest", "name": "api", "custom": 1, "rest": {
                "baseURI": "https://example.com/api", "mediaType": "json", "authType": "basic",
                "basicAuth": {"username": "u", "password": "p"}, "tokenLocation": "header",
                "headers": [{"name": "x-a", "value": "b"}], "pingMethod": "HEAD", "concurrencyLevel": 3,
                "oauth2": {"clientSecret": "s"}, "other": true}}),
            ),
            (
                &model::CONNECTIONS,
                json!({"type": "http", "http": {"baseURI": "http://h", "bearerToken": "******"}}),
            ),
            (
                &model::CONNECTIONS,
                json!({"type": "ftp", "ftp": {"hostURI": "h", "port": 22, "type": "sftp", "privateKey": "k"}}),
            ),
            (
                &model::CONNECTIONS,
                json!({"type": "s3", "s3": {"accessKeyId": "a", "secretAccessKey": "s", "endpoint": "https://minio"}}),
            ),
            (
                &model::CONNECTIONS,
                json!({"type": "netsuite", "netsuite": {"account": "123", "tokenId": "t", "_iClientId": id}}),
            ),
            (
                &model::CONNECTIONS,
                json!({"type": "netsuite", "netsuite": {"account": "123_SB1", "tokenId": "t", "tokenSecret": "s",
                "consumerKey": "k", "consumerSecret": "c", "baseURI": "http://127.0.0.1:1", "concurrencyLevel": 2}}),
            ),
            (
                &model::CONNECTIONS,
                json!({"type": "wrapper", "wrapper": {"_stackId": id, "pingFunction": "ping",
                "unencrypted": {"a": 1}, "encrypted": {"key": "v"}}}),
            ),
            (
                &model::EXPORTS,
                json!({"name": "e", "_connectionId": id, "type": "delta", "delta": {"dateField": "updated"},
                "pageSize": 50, "rest": {"relativeURI": "/x"}, "file": {"type": "csv", "columnDelimiter": ";"},
                "hooks": {"preSavePage": hook}, "transform": {}, "filter": {}}),
            ),
            (
                &model::EXPORTS,
                json!({"type": "once", "once": {"booleanField": "done"}, "test": {"limit": 5}}),
            ),
            (
                &model::IMPORTS,
                json!({"name": "i", "_connectionId": id, "mapping": mapping, "ignoreExisting": true,
                "file": {"type": "json", "skipAggregation": false, "fileName": "file-{{timestamp}}.json"},
                "hooks": {"preMap": hook, "postMap": hook, "postSubmit": hook, "postAggregate": hook}}),
            ),
            (
                &model::FLOWS,
                json!({"name": "simple", "_exportId": id, "_importId": id, "schedule": "? 0 2 ? * *",
                "timezone": "Europe/Paris", "_runNextFlowIds": [id], "disabled": false}),
            ),
            (
                &model::FLOWS,
                json!({"pageGenerators": [{"_exportId": id}], "pageProcessors": [
                {"type": "export", "_exportId": id, "responseMapping": {"fields": [{"extract": "a", "generate": "b"}]}},
                {"type": "import", "_importId": id, "proceedOnFailure": true, "hooks": {"postResponseMap": hook}}]}),
            ),
            (
                &model::INTEGRATIONS,
                json!({"name": "app", "_connectorId": id, "mode": "install", "settings": {"a": 1},
                "version": "1.0.0", "updateInProgress": false, "install": [{"name": "Connect", "completed": false,
                "installerFunction": "connect", "_connectionId": id, "imageURL": "i", "installURL": "u"}]}),
            ),
            (
                &model::CONNECTORS,
                json!({"name": "App", "published": true, "applications": ["a"], "_stackId": id,
                "installerFunction": "install", "_iClientIdMap": {"x": id}}),
            ),
            (
                &model::LICENSES,
                json!({"user": {"email": "a@b.c"}, "expires": "2030-01-01T00:00:00.000Z",
                "opts": {"edition": "pro"}, "_integrationId": id}),
            ),
            (
                &model::ICLIENTS,
                json!({"name": "c", "provider": "p", "clientId": "i", "clientSecret": "s",
                "oauth2": {"clientSecret": "s"}}),
            ),
            (
                &model::TEMPLATES,
                json!({"name": "t", "applications": ["a", "b"], "published": false}),
            ),
            (&model::STACKS, json!({"name": "s", "type": "wasm"})),
        ]
    }

    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) {
        let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| {
            panic!(
                "{doc} does not deserialize as {}: {e}",
                std::any::type_name::<T>()
            )
        });
        assert_eq!(
            &serde_json::to_value(typed).expect("serializes"),
            doc,
            "round trip"
        );
    }

    #[test]
    fn valid_documents_deserialize_into_the_typed_views() {
        for (kind, doc) in valid_samples() {
            assert_eq!(
                kind.problems(&doc, &[]),
                [],
                "{kind:?} sample must be valid: {doc}"
            );
            match kind.name {
                "connections" => round_trip::<typed::Connection>(&doc),
                "exports" => round_trip::<typed::Export>(&doc),
                "imports" => round_trip::<typed::Import>(&doc),
                "flows" => round_trip::<typed::Flow>(&doc),
                "integrations" => round_trip::<typed::Integration>(&doc),
                "connectors" => round_trip::<typed::Connector>(&doc),
                "licenses" => round_trip::<typed::License>(&doc),
                "iclients" => round_trip::<typed::IClient>(&doc),
                "templates" => round_trip::<typed::Template>(&doc),
                "stacks" => round_trip::<typed::Stack>(&doc),
                other => panic!("no typed view for {other}"),
            }
        }
    }

    #[test]
    fn stored_secrets_deserialize_and_unknown_fields_are_kept() {
        let doc = json!({"_id": "0123456789abcdef01234567", "type": "ftp", "x": {"y": 1},
            "ftp": {"hostURI": "h", "password": {"$secret": "abc"}, "privateKey": "******"},
            "createdAt": "2026-01-01T00:00:00.000Z", "lastModified": "2026-01-01T00:00:00.000Z"});
        let typed: typed::Connection =
            serde_json::from_value(doc.clone()).expect("a stored connection");
        let ftp = typed.ftp.as_ref().expect("ftp block");
        assert!(ftp.password.as_ref().is_some_and(typed::Secret::is_sealed));
        assert!(
            ftp.private_key
                .as_ref()
                .is_some_and(typed::Secret::is_masked)
        );
        assert_eq!(typed.extra["x"], json!({"y": 1}));
        assert_eq!(serde_json::to_value(&typed).expect("serializes"), doc);
    }

    #[test]
    fn documents_the_validators_reject_do_not_fit_the_typed_views() {
        let rejected = [
            json!({"name": "no type"}),
            json!({"type": "smtp"}),
            json!({"type": "rest", "rest": {"mediaType": "json"}}),
            json!({"type": "ftp", "ftp": {"hostURI": "h", "type": "scp"}}),
        ];
        for doc in rejected {
            assert!(!model::CONNECTIONS.problems(&doc, &[]).is_empty(), "{doc}");
            assert!(
                serde_json::from_value::<typed::Connection>(doc.clone()).is_err(),
                "{doc}"
            );
        }
        let stack = json!({"type": "docker"});
        assert!(!model::STACKS.problems(&stack, &[]).is_empty());
        assert!(serde_json::from_value::<typed::Stack>(stack).is_err());
    }
}
