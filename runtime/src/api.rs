//! The Integrator REST API: one module per resource, each contributing its routes (with their
//! OpenAPI description) to [`app`].

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};

use crate::auth::{Auth, AuthError, Principal, RATE_BURST, RateDecision, Scope};
use crate::extension::Runtime;
use crate::extension::call::NativeFunction;
use crate::secrets::SecretBox;
use crate::store::Db;

pub mod accounts;
pub mod connections;
pub mod connectors;
pub mod error;
pub mod flows;
pub mod jobs;
pub mod marketplace;
pub mod openapi;
pub mod resources;
pub mod stacks;
pub mod state;

pub use error::{ApiError, ApiResult, Id, JsonBody, Params, json_response};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Documents, state, accounts.
    pub db: Db,
    /// Tokens and rate limits.
    pub auth: Arc<Auth>,
    /// Sealing of secret fields.
    pub secrets: Arc<SecretBox>,
    /// The WebAssembly extension runtime.
    pub extensions: Arc<Runtime>,
    /// The application itself, for guests' platform API requests (routed in-process); set by
    /// [`app`].
    pub router: Arc<OnceLock<Router>>,
    /// Live connections of the adaptors (HTTP clients with their limits and tokens).
    pub adaptors: Arc<crate::adaptor::Connections>,
    /// The job engine: queue, running flows, cancel requests.
    pub jobs: Arc<crate::flow::Engine>,
    /// Marketplace installs with an operation under way (one at a time per install).
    pub marketplace: Arc<crate::marketplace::Busy>,
    /// Native functions standing in for stacks' components (embedders, benchmarks).
    native: Arc<std::sync::RwLock<std::collections::HashMap<String, NativeFunction>>>,
}

impl AppState {
    /// State over an open store.
    pub fn new(db: Db, secrets: SecretBox, rate_limit: bool, extensions: Arc<Runtime>) -> Self {
        Self {
            auth: Arc::new(Auth::new(db.clone(), rate_limit)),
            db,
            secrets: Arc::new(secrets),
            extensions,
            router: Arc::new(OnceLock::new()),
            adaptors: Arc::default(),
            jobs: Arc::default(),
            marketplace: Arc::default(),
            native: Arc::default(),
        }
    }

    /// Serve calls of stack `stack_id` with `function` instead of a component (for programs
    /// that embed the runtime, and the native floor of the flow benchmark). Not reachable
    /// through the REST API.
    pub fn register_native(&self, stack_id: &str, function: NativeFunction) {
        self.native
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(stack_id.to_owned(), function);
    }

    /// The native function registered for `stack_id`, if any.
    pub fn native(&self, stack_id: &str) -> Option<NativeFunction> {
        let native = self.native.read().unwrap_or_else(|p| p.into_inner());
        if native.is_empty() {
            return None;
        }
        native.get(stack_id).cloned()
    }
}

/// How one operation is described in the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Op {
    /// Short summary.
    pub summary: String,
    /// Group (resource) the operation belongs to.
    pub tag: String,
    /// Success status.
    pub status: u16,
    /// Request body schema (component name), if the operation takes one.
    pub request: Option<String>,
    /// Response body.
    pub response: Reply,
}

/// Shape of a success response in the OpenAPI document.
#[derive(Debug, Clone)]
pub enum Reply {
    /// No body.
    Empty,
    /// One value of a component schema.
    One(String),
    /// An array of a component schema.
    List(String),
    /// Any JSON.
    Any,
}

impl Op {
    /// An operation of `tag` answering `status`.
    pub fn new(tag: &str, status: u16, summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            tag: tag.to_owned(),
            status,
            request: None,
            response: Reply::Empty,
        }
    }

    /// Takes a body of schema `schema`.
    pub fn body(mut self, schema: &str) -> Self {
        self.request = Some(schema.to_owned());
        self
    }

    /// Answers with one `schema`.
    pub fn returns(mut self, schema: &str) -> Self {
        self.response = Reply::One(schema.to_owned());
        self
    }

    /// Answers with an array of `schema`.
    pub fn returns_list(mut self, schema: &str) -> Self {
        self.response = Reply::List(schema.to_owned());
        self
    }

    /// Answers with any JSON.
    pub fn returns_any(mut self) -> Self {
        self.response = Reply::Any;
        self
    }
}

/// A router that records, for each route it serves, its OpenAPI description, so the document
/// cannot drift from what is served.
pub struct Routes {
    router: Router<AppState>,
    /// (method, path, description) of every route.
    pub ops: Vec<(MethodFilter, String, Op)>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// No routes.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            ops: Vec::new(),
        }
    }

    /// Serve `handler` for `method` on `path` (under `/v1`).
    pub fn add<H, T>(mut self, method: MethodFilter, path: &str, handler: H, op: Op) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on(method, handler));
        self.ops.push((method, path.to_owned(), op));
        self
    }

    /// Add every route of `other`.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.ops.extend(other.ops);
        self
    }
}

/// Every authenticated route of the API.
pub fn routes() -> Routes {
    Routes::new()
        .merge(accounts::routes())
        .merge(connections::routes())
        .merge(resources::routes())
        .merge(flows::routes())
        .merge(connectors::routes())
        .merge(marketplace::routes())
        .merge(jobs::routes())
        .merge(state::routes())
        .merge(stacks::routes())
}

/// The whole HTTP application: `/v1/...` routes, authentication, rate limiting, body limit, and
/// errors in the API's format for unknown routes and methods.
pub fn app(state: AppState) -> Router {
    let Routes { router, ops } = routes();
    let document = Arc::new(openapi::document(&ops));
    let protected = router.route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let app = Router::new()
        .nest(
            "/v1",
            protected
                .merge(openapi::routes(document))
                .fallback(unknown_route),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(error::MAX_BODY_BYTES))
        .with_state(state.clone());
    // Guests' platform requests go through this same application (same authentication and
    // authorization); the first app built for a state serves them.
    let _ = state.router.set(app.clone());
    app
}

/// Route-level rules of scoped one-time tokens; which documents connector code sees is decided
/// by [`Principal::sees`] where documents are read.
fn authorize(
    principal: &Principal,
    method: &axum::http::Method,
    path: &str,
) -> Result<(), ApiError> {
    // Inside the `/v1` nest the prefix is already stripped; accept both forms.
    let relative = path
        .strip_prefix("/v1")
        .unwrap_or(path)
        .trim_start_matches('/');
    let segments: Vec<&str> = relative.split('/').collect();
    match &principal.scope {
        Scope::Account { .. } => Ok(()),
        Scope::Diy => match (method.as_str(), segments.as_slice()) {
            ("GET", ["tokenInfo"]) => Ok(()),
            ("POST", ["exports" | "imports", _, "invoke"]) => Ok(()),
            _ => Err(ApiError::forbidden(
                "a token of DIY code may only invoke the account's exports and imports",
            )),
        },
        Scope::Connector { .. } => match segments.as_slice() {
            [
                "accounts" | "connectors" | "jobs" | "state" | "templates" | "iclients" | "stacks"
                | "marketplace",
                ..,
            ] => Err(ApiError::forbidden(
                "a token of connector code may only reach resources tagged with its connector",
            )),
            // The install's lifecycle is the installing user's to drive; the connector's code
            // is what it runs.
            ["integrations", _, "install" | "uninstall" | "settings", ..] => {
                Err(ApiError::forbidden(
                    "a token of connector code may not drive an install's steps, settings or uninstall",
                ))
            }
            _ => Ok(()),
        },
    }
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept this method",
    )
}

const LIMIT_HEADER: &str = "x-ratelimit-limit";
const REMAINING_HEADER: &str = "x-ratelimit-remaining";

/// Authenticate the bearer token, charge its bucket, and hand the [`Principal`] to the handler.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.auth.authenticate(header) {
        Ok(p) => p,
        Err(AuthError::Store(e)) => return ApiError::from(e).into_response(),
        Err(e) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
                .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
                .into_response();
        }
    };
    let remaining = match state.auth.charge(&principal.bucket) {
        RateDecision::Unlimited => None,
        RateDecision::Allowed { remaining } => Some(remaining),
        RateDecision::Limited { retry_after } => {
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests for this token; retry after {retry_after} s"),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
            .with_header(
                LIMIT_HEADER.parse().expect("static header name"),
                HeaderValue::from(RATE_BURST),
            )
            .with_header(
                REMAINING_HEADER.parse().expect("static header name"),
                HeaderValue::from(0),
            )
            .into_response();
        }
    };
    if let Err(denied) = authorize(&principal, request.method(), request.uri().path()) {
        return denied.into_response();
    }
    request.extensions_mut().insert(principal);
    let mut response = next.run(request).await;
    if let Some(remaining) = remaining {
        let headers = response.headers_mut();
        headers.insert(LIMIT_HEADER, HeaderValue::from(RATE_BURST));
        headers.insert(REMAINING_HEADER, HeaderValue::from(remaining));
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing bearer token",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn principal(scope: Scope) -> Principal {
        Principal {
            account: "a".into(),
            scope,
            bucket: [0; 32],
        }
    }

    #[test]
    fn connector_code_may_not_drive_the_marketplace() {
        let code = principal(Scope::Connector {
            connector: "c".into(),
        });
        for (method, path) in [
            (Method::GET, "/v1/marketplace/connectors"),
            (Method::POST, "/v1/connectors/c/install"),
            (Method::POST, "/v1/integrations/i/install/0"),
            (Method::POST, "/v1/integrations/i/uninstall"),
            (Method::PUT, "/v1/integrations/i/settings"),
            (Method::GET, "/v1/integrations/i/settings/form"),
        ] {
            let denied = authorize(&code, &method, path).expect_err(path);
            assert_eq!(denied.status(), StatusCode::FORBIDDEN, "{path}");
        }
        for (method, path) in [
            (Method::GET, "/v1/integrations/i"),
            (Method::PUT, "/v1/integrations/i"),
            (Method::GET, "/v1/integrations/i/state/k"),
            (Method::POST, "/v1/exports"),
        ] {
            authorize(&code, &method, path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        }
        let account = principal(Scope::Account { owner: false });
        authorize(&account, &Method::POST, "/v1/integrations/i/uninstall").expect("allowed");
        let diy = principal(Scope::Diy);
        assert!(authorize(&diy, &Method::GET, "/v1/marketplace/connectors").is_err());
    }
}
