//! Jobs: read and filter what flow runs recorded, their errors, cancel and retry.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::MethodFilter;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::marketplace::OptionalJson;
use super::resources::{load, present};
use super::{ApiError, ApiResult, Id, Op, Routes, json_response};
use crate::AppState;
use crate::auth::Principal;
use crate::flow::job;
use crate::model::JOBS;
use crate::util;

/// Most job errors `GET /v1/jobs/{_id}/joberrors` returns.
pub const MAX_JOB_ERRORS: usize = 1000;

/// Routes of this module.
pub fn routes() -> Routes {
    Routes::new()
        .add(
            MethodFilter::GET,
            "/jobs",
            jobs_list,
            Op::new(
                "jobs",
                200,
                "List jobs, newest first, filtered by the query",
            )
            .returns_list("Job"),
        )
        .add(
            MethodFilter::GET,
            "/jobs/{id}",
            |State(s): State<AppState>, p: Principal, Id(id)| async move {
                let job = load(&s.db, &p, &JOBS, JOBS.name, &id)?;
                Ok::<_, ApiError>(json_response(StatusCode::OK, &present(job)))
            },
            Op::new("jobs", 200, "Read a job").returns("Job"),
        )
        .add(
            MethodFilter::GET,
            "/jobs/{id}/joberrors",
            jobs_errors,
            Op::new("jobs", 200, "The job's record errors (up to 1000)").returns_list("JobError"),
        )
        .add(
            MethodFilter::PUT,
            "/jobs/{id}/cancel",
            jobs_cancel,
            Op::new("jobs", 200, "Cancel a queued or running job").returns("Job"),
        )
        .add(
            MethodFilter::POST,
            "/jobs/{id}/retry",
            jobs_retry,
            Op::new("jobs", 201, "Retry the job's retriable errors in a new job").returns("JobId"),
        )
}

/// One `GET /v1/jobs` query filter.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Equals(&'static str, String),
    In(&'static str, Vec<String>),
    Number(&'static str, std::cmp::Ordering, i64),
    Date(std::cmp::Ordering, DateTime<FixedOffset>),
    Bool(&'static str, bool),
}

const EQUAL_FIELDS: &[&str] = &[
    "_integrationId",
    "_exportId",
    "_importId",
    "_flowId",
    "_flowJobId",
    "status",
    "type",
];
const NUMBER_FIELDS: &[&str] = &["numSuccess", "numExport", "numIgnore", "numError"];

fn parse_filters(query: &[(String, String)]) -> Result<Vec<Filter>, ApiError> {
    use std::cmp::Ordering::{Greater, Less};
    let mut filters = Vec::new();
    let mut problems = Vec::new();
    let mut bad = |param: &str, expected: &str| {
        problems.push(crate::model::check::Problem::field(
            "invalid_filter",
            format!("query parameter {param} must be {expected}"),
            param,
        ));
    };
    for (param, value) in query {
        let (field, op) = match param.rsplit_once('_') {
            Some((f, op @ ("lte" | "gte" | "in"))) => (f, op),
            _ => (param.as_str(), ""),
        };
        if op.is_empty() {
            if let Some(f) = EQUAL_FIELDS.iter().find(|f| **f == field) {
                filters.push(Filter::Equals(f, value.clone()));
            } else if field == "retriable" {
                match value.as_str() {
                    "true" => filters.push(Filter::Bool("retriable", true)),
                    "false" => filters.push(Filter::Bool("retriable", false)),
                    _ => bad(param, "true or false"),
                }
            }
            continue;
        }
        let ordering = if op == "lte" { Less } else { Greater };
        match (field, op) {
            ("_flowId" | "type", "in") => {
                let name = if field == "type" { "type" } else { "_flowId" };
                filters.push(Filter::In(
                    name,
                    value.split(',').map(|s| s.trim().to_owned()).collect(),
                ));
            }
            ("createdAt", "lte" | "gte") => match DateTime::parse_from_rfc3339(value) {
                Ok(t) => filters.push(Filter::Date(ordering, t)),
                Err(_) => bad(param, "an ISO-8601 date-time"),
            },
            (f, "lte" | "gte") if NUMBER_FIELDS.contains(&f) => match value.parse::<i64>() {
                Ok(n) => {
                    let name = NUMBER_FIELDS
                        .iter()
                        .find(|n| **n == f)
                        .expect("checked just above");
                    filters.push(Filter::Number(name, ordering, n));
                }
                Err(_) => bad(param, "an integer"),
            },
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(filters)
    } else {
        Err(ApiError::invalid(problems))
    }
}

fn matches(job: &Value, filter: &Filter) -> bool {
    match filter {
        Filter::Equals(field, value) => job[*field].as_str() == Some(value.as_str()),
        Filter::In(field, values) => job[*field]
            .as_str()
            .is_some_and(|v| values.iter().any(|x| x == v)),
        Filter::Number(field, ordering, n) => {
            let have = job[*field].as_i64().unwrap_or(0);
            have == *n || have.cmp(n) == *ordering
        }
        Filter::Date(ordering, t) => job["createdAt"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .is_some_and(|c| c == *t || c.cmp(t) == *ordering),
        Filter::Bool(field, b) => job[*field].as_bool().unwrap_or(false) == *b,
    }
}

async fn jobs_list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult {
    let filters = parse_filters(&query)?;
    let mut jobs: Vec<Value> = state
        .db
        .list(&principal.account, JOBS.name)?
        .into_iter()
        .filter(|job| filters.iter().all(|f| matches(job, f)))
        .map(present)
        .collect();
    jobs.sort_by(|a, b| b["createdAt"].as_str().cmp(&a["createdAt"].as_str()));
    Ok(json_response(StatusCode::OK, &Value::Array(jobs)))
}

async fn jobs_errors(State(state): State<AppState>, principal: Principal, Id(id): Id) -> ApiResult {
    let job = load(&state.db, &principal, &JOBS, JOBS.name, &id)?;
    let errors: Vec<Value> = job::errors_of(&state.db, &principal.account, &job)?
        .into_iter()
        .take(MAX_JOB_ERRORS)
        .map(present)
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(errors)))
}

async fn jobs_cancel(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    _body: OptionalJson,
) -> ApiResult {
    let job = {
        let _guard = state.db.lock();
        let mut job = load(&state.db, &principal, &JOBS, JOBS.name, &id)?;
        let next = match job["status"].as_str().unwrap_or_default() {
            "queued" => "cancelled",
            "running" => "cancelling",
            "cancelling" => "cancelling",
            other => {
                return Err(ApiError::conflict(
                    "not_cancellable",
                    format!("job '{id}' is {other}: only queued or running jobs can be cancelled"),
                ));
            }
        };
        let now = util::now();
        job["status"] = Value::String(next.to_owned());
        if next == "cancelled" {
            job["endedAt"] = Value::String(now.clone());
        }
        job["lastModified"] = Value::String(now);
        let mut batch = crate::store::Batch::default();
        crate::store::Db::put_doc(
            &mut batch,
            &principal.account,
            JOBS.name,
            &id,
            &job,
            &[],
            &[],
        );
        state.db.write(batch)?;
        job
    };
    super::resources::flush(&state.db).await?;
    Ok(json_response(StatusCode::OK, &present(job)))
}

async fn jobs_retry(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    _body: OptionalJson,
) -> ApiResult {
    let job = load(&state.db, &principal, &JOBS, JOBS.name, &id)?;
    let open = job::errors_of(&state.db, &principal.account, &job)?
        .into_iter()
        .filter(|e| e["resolved"].as_bool() != Some(true) && !e["retryData"].is_null())
        .count();
    if open == 0 {
        return Err(ApiError::invalid_field(
            "nothing_to_retry",
            format!("job '{id}' has no open retriable errors"),
            "_jobId",
        ));
    }
    let flow_id = job["_flowId"].as_str().unwrap_or_default();
    let Some(flow) = state.db.get(&principal.account, "flows", flow_id)? else {
        return Err(ApiError::conflict(
            "flow_deleted",
            format!("the flow '{flow_id}' of job '{id}' no longer exists"),
        ));
    };
    let retry = crate::flow::enqueue(
        &state,
        &principal.account,
        &flow,
        serde_json::json!({"_retryOfJobId": id, "runType": "retry"}),
    )?;
    super::resources::flush(&state.db).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::json!({"_jobId": retry["_id"]}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn filters_select_jobs_by_every_documented_parameter() {
        let job = json!({"_flowId": "f1", "status": "completed", "type": "flow", "numSuccess": 5,
            "numExport": 7, "numIgnore": 0, "retriable": true, "createdAt": "2026-01-02T00:00:00.000Z"});
        let yes = |pairs: &[(&str, &str)]| {
            parse_filters(&q(pairs))
                .expect("valid")
                .iter()
                .all(|f| matches(&job, f))
        };
        assert!(yes(&[("_flowId", "f1"), ("status", "completed")]));
        assert!(!yes(&[("_flowId", "f2")]));
        assert!(yes(&[("_flowId_in", "f2,f1"), ("type_in", "flow,export")]));
        assert!(yes(&[
            ("numSuccess_gte", "5"),
            ("numSuccess_lte", "5"),
            ("numExport_gte", "6")
        ]));
        assert!(!yes(&[("numIgnore_gte", "1")]));
        assert!(yes(&[
            ("createdAt_gte", "2026-01-01T00:00:00Z"),
            ("createdAt_lte", "2026-01-02T00:00:00.000Z")
        ]));
        assert!(!yes(&[("createdAt_gte", "2026-01-03T00:00:00Z")]));
        assert!(yes(&[("retriable", "true")]));
        assert!(!yes(&[("retriable", "false")]));
    }

    #[test]
    fn malformed_filters_are_reported_by_name() {
        let err = parse_filters(&q(&[("numSuccess_lte", "many"), ("retriable", "maybe")]))
            .expect_err("invalid");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
