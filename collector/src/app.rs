//! The HTTP surface: routes, answers, CORS and static files.

use crate::faults::Faults;
use crate::ingest::{check_batch, BodyError};
use crate::store::{EventFilter, Store, StoreError};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sessionmark::wire::{BatchAnswer, MAX_BODY_BYTES};
use std::path::Path;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    /// Present only with `SESSIONMARK_TEST_HOOKS=1`.
    faults: Option<Arc<Faults>>,
}

impl AppState {
    pub fn new(store: Store, test_hooks: bool) -> AppState {
        AppState {
            store,
            faults: test_hooks.then(|| Arc::new(Faults::default())),
        }
    }
}

/// The whole collector: API routes, `dist` at `/dist/`, `www` at `/`.
pub fn router(state: AppState, www: &Path, dist: &Path) -> Router {
    let mut api = Router::new()
        .route("/v1/batch", post(post_batch))
        .route("/v1/events", get(get_events))
        .route("/v1/sessions", get(get_sessions))
        .route("/healthz", get(|| async { "ok" }));
    if state.faults.is_some() {
        api = api.route("/v1/_test/fail", post(post_fail));
    }
    api
        // Unknown API paths are a JSON 404, never a static-file lookup.
        .route("/v1/{*rest}", any(api_not_found))
        .nest_service("/dist", ServeDir::new(dist))
        .fallback_service(ServeDir::new(www))
        .layer(axum::middleware::map_response(javascript_type))
        .layer(cors())
        .with_state(state)
}

/// Any site may send batches and read the API; no credentials are involved.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-session-id"),
        ])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// `.mjs` is guessed as `application/javascript`; module scripts and the
/// tests expect the current standard name.
async fn javascript_type(mut res: Response) -> Response {
    if res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/javascript"))
    {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript"),
        );
    }
    res
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(status, body),
        Err(e) => internal("encoding the answer", &e),
    }
}

/// `{"error": "..."}` with the given status.
fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

fn internal(what: &str, e: &dyn std::fmt::Display) -> Response {
    eprintln!("sessionmark collector: {what}: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(what, &e)),
        Err(e) => Err(internal(what, &e)),
    }
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("body larger than {MAX_BODY_BYTES} bytes"),
    )
}

/// `POST /v1/batch`: validate each event, store the valid ones in one
/// transaction, answer after it committed.
async fn post_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if let Some(status) = state.faults.as_ref().and_then(|f| f.take()) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "failure injected by the test hook");
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("could not read the body: {e}"),
            )
        }
    };
    let store = state.store.clone();
    let work = move || -> Result<Result<BatchAnswer, BodyError>, StoreError> {
        let now = now_ms();
        let checked = match check_batch(&bytes, now) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let done = store.insert(&checked.valid, now)?;
        Ok(Ok(BatchAnswer {
            accepted: done.accepted,
            duplicates: done.duplicates,
            rejected: checked.rejected,
            sealed: Vec::new(),
        }))
    };
    match blocking("storing a batch", work).await {
        Ok(Ok(answer)) => json(StatusCode::OK, &answer),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(res) => res,
    }
}

#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    session_id: Option<String>,
    client_id: Option<String>,
}

/// `GET /v1/events[?session_id=..][&client_id=..]`.
async fn get_events(
    State(state): State<AppState>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let filter = EventFilter {
        session_id: q.session_id,
        client_id: q.client_id,
    };
    let store = state.store.clone();
    match blocking("listing events", move || store.events_json(&filter)).await {
        Ok(text) => json_bytes(StatusCode::OK, text.into_bytes()),
        Err(res) => res,
    }
}

/// `GET /v1/sessions`: most recently active first.
async fn get_sessions(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    match blocking("listing sessions", move || store.sessions()).await {
        Ok(rows) => json(StatusCode::OK, &rows),
        Err(res) => res,
    }
}

#[derive(Debug, serde::Deserialize)]
struct FailRequest {
    #[serde(default = "default_fail_status")]
    status: u16,
    count: u64,
}

fn default_fail_status() -> u16 {
    500
}

/// `POST /v1/_test/fail` `{"status":500,"count":N}` (test hooks only).
async fn post_fail(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Some(faults) = state.faults.as_ref() else {
        return api_not_found().await;
    };
    let req: FailRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"status\":500,\"count\":N}}: {e}"),
            )
        }
    };
    if !(400..=599).contains(&req.status) {
        return error(StatusCode::BAD_REQUEST, "status must be from 400 to 599");
    }
    faults.arm(req.status, req.count);
    json(
        StatusCode::OK,
        &serde_json::json!({ "status": req.status, "count": req.count }),
    )
}

async fn api_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

/// The server clock in ms since the epoch (0 if it is before 1970).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
