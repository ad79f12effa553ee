//! A client of the platform's REST API, authenticated with the call's one-time token.
//!
//! Requests go through the host, in-process: the same authorization applies as over HTTP, so
//! connector code reaches only what carries its connector, and DIY code may only invoke exports
//! and imports.

use crate::__private::bindings::integrator::extension::platform;
use crate::{Failure, Value};

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Parsed JSON body (`null` when empty).
    pub body: Value,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body of a 2xx answer, or a failure carrying the API's first error.
    pub fn into_result(self) -> crate::Result<Value> {
        if self.is_success() {
            return Ok(self.body);
        }
        let first = &self.body["errors"][0];
        Err(Failure::new(
            first["code"].as_str().unwrap_or("platform_error"),
            first["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("the platform answered {}", self.status)),
        ))
    }
}

/// A platform API client for one call.
#[derive(Debug, Clone)]
pub struct Platform {
    token: String,
}

impl Platform {
    /// A client using `token` (the call's `bearerToken`).
    pub fn new(token: &str) -> Self {
        Self {
            token: token.to_owned(),
        }
    }

    /// Send one request; `path` starts with `/v1/`.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let bytes = body.map(Value::to_vec);
        let answer = platform::request(&self.token, method, path, bytes.as_deref());
        let body = if answer.body.is_empty() {
            Value::Null
        } else {
            integrator_json::from_slice(&answer.body).unwrap_or(Value::Null)
        };
        Response {
            status: answer.status,
            body,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.request("POST", path, Some(body))
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.request("PUT", path, Some(body))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, None)
    }
}
