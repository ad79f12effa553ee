//! Running things: `POST /v1/flows/{_id}/run`, and standalone `invoke` of exports and imports.
//!
//! The routes check what they can (the resource exists, the flow is enabled); the job engine
//! that runs them comes with the flow runner, so until then they answer 501.

use axum::extract::State;
use axum::routing::MethodFilter;

use super::resources::load;
use super::{ApiError, ApiResult, Id, Op, Routes};
use crate::AppState;
use crate::auth::Principal;
use crate::model::{EXPORTS, FLOWS, IMPORTS, Kind};

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::POST,
            "/flows/{id}/run",
            flows_run,
            Op::new("flows", 201, "Run the flow now; returns the new job").returns("JobId"),
        )
        .add(
            MethodFilter::POST,
            "/exports/{id}/invoke",
            |State(s): State<AppState>, p: Principal, Id(id)| async move {
                invoke(&s, &p, &EXPORTS, &id)
            },
            Op::new(
                "exports",
                200,
                "Run the export standalone and return its records",
            )
            .returns_any(),
        )
        .add(
            MethodFilter::POST,
            "/imports/{id}/invoke",
            |State(s): State<AppState>, p: Principal, Id(id)| async move {
                invoke(&s, &p, &IMPORTS, &id)
            },
            Op::new(
                "imports",
                200,
                "Run the import standalone on {\"data\":[...]}",
            )
            .returns_any(),
        )
}

async fn flows_run(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> ApiResult<()> {
    let flow = load(&state.db, &principal, &FLOWS, FLOWS.name, &id)?;
    if flow["disabled"].as_bool() == Some(true) {
        return Err(ApiError::invalid_field(
            "flow_disabled",
            format!("flow '{id}' is disabled: enable it before running it"),
            "disabled",
        ));
    }
    Err(ApiError::not_implemented("running flows"))
}

fn invoke(state: &AppState, principal: &Principal, kind: &Kind, id: &str) -> ApiResult<()> {
    load(&state.db, principal, kind, kind.name, id)?;
    Err(ApiError::not_implemented(&format!(
        "invoking {}",
        kind.name
    )))
}
