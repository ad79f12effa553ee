//! Typed schemas of the API's documents, for the OpenAPI document.
//!
//! Documents are open (unknown fields are kept), so every schema allows additional properties.

use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::check::Problem;

/// The error body of every failed request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Errors {
    /// One entry per problem.
    pub errors: Vec<Problem>,
}

/// Every component schema, by name.
pub fn components() -> Vec<(String, RefOr<Schema>)> {
    let mut all: Vec<(String, RefOr<Schema>)> = vec![
        ("Errors".into(), Errors::schema()),
        ("Problem".into(), Problem::schema()),
    ];
    for name in [
        "Connection", "Export", "Import", "Flow", "Integration", "Connector", "License", "IClient", "Template",
        "Stack", "Job", "JobError", "JobId", "TokenInfo", "AccountCreate", "Account", "StateKeys",
        "InstallBaseEntry",
    ] {
        all.push((name.into(), RefOr::T(Schema::Object(ObjectBuilder::new().build()))));
    }
    all
}
