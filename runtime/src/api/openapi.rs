//! `GET /v1/openapi.json`: an OpenAPI 3.1 document generated from the routes the server serves
//! ([`super::Routes`] records each one's description as it is added) and from the typed schemas
//! of [`crate::model::schema`].

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{MethodFilter, get};
use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
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
            ArrayBuilder::new().items(Ref::from_schema_name(name)).build(),
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
            .security(SecurityRequirement::new::<&str, [&str; 0], &str>("bearer", []));
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
                        ContentBuilder::new().schema(Some(Ref::from_schema_name(name))).build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let mut success = ResponseBuilder::new().description("Success");
        if let Some(body) = content(&op.response) {
            success = success.content("application/json", ContentBuilder::new().schema(Some(body)).build());
        }
        operation = operation.response(op.status.to_string(), success.build());
        for (status, description) in ERROR_STATUSES {
            operation = operation.response(
                *status,
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("Errors"))).build(),
                    )
                    .build(),
            );
        }
        paths = paths.path(format!("/v1{path}"), PathItem::new(http_method, operation.build()));
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
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => format!("By_{param}"),
            None => s.to_owned(),
        })
        .collect();
    format!("{verb}_{}", words.join("_"))
}
