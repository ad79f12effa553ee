//! Connection routes beyond plain CRUD: ping, debug log, virtual exports/imports, proxy.
//!
//! They exist with their final paths; what they run arrives with the adaptors (HTTP, files,
//! NetSuite), so until then each answers 501 once the connection is known to exist.

use axum::extract::State;
use axum::routing::MethodFilter;

use super::{ApiError, ApiResult, Id, Op, Routes};
use crate::AppState;
use crate::auth::Principal;
use crate::model::CONNECTIONS;

use super::resources::load;

/// Routes of this module.
pub fn routes() -> Routes {
    let pending: &[(MethodFilter, &str, &str)] = &[
        (
            MethodFilter::GET,
            "/connections/{id}/ping",
            "Test the stored connection",
        ),
        (
            MethodFilter::GET,
            "/connections/{id}/debug",
            "Recent requests and responses of the connection",
        ),
        (
            MethodFilter::POST,
            "/connections/{id}/export",
            "Run a virtual export, return all records",
        ),
        (
            MethodFilter::POST,
            "/connections/{id}/export/pages",
            "Run a virtual export one page per call",
        ),
        (
            MethodFilter::POST,
            "/connections/{id}/import",
            "Run a virtual import",
        ),
        (
            MethodFilter::POST,
            "/connections/{id}/import/map",
            "Apply an import's mapping to data",
        ),
        (
            MethodFilter::POST,
            "/connections/{id}/proxy",
            "Send one request through the connection",
        ),
    ];
    let mut routes = Routes::new().add(
        MethodFilter::POST,
        "/connections/ping",
        |_: Principal| async { ApiError::not_implemented("testing a connection") },
        Op::new(
            "connections",
            200,
            "Test an unsaved connection given in the body",
        )
        .body("Connection")
        .returns_any(),
    );
    for &(method, path, summary) in pending {
        routes = routes.add(
            method,
            path,
            move |State(s): State<AppState>, p: Principal, Id(id)| async move {
                needs_adaptor(&s, &p, &id, summary)
            },
            Op::new("connections", 200, summary).returns_any(),
        );
    }
    routes
}

fn needs_adaptor(state: &AppState, principal: &Principal, id: &str, what: &str) -> ApiResult<()> {
    load(&state.db, principal, &CONNECTIONS, CONNECTIONS.name, id)?;
    Err(ApiError::not_implemented(&what.to_lowercase()))
}
