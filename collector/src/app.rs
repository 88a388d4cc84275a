//! The HTTP surface: routes, answers, CORS and static files.

use crate::clock::Clock;
use crate::event_ids::EventIds;
use crate::faults::Faults;
use crate::ingest::{check_batch, BodyError, ValidEvent};
use crate::pairing::{pair, Source};
use crate::seal::DEFAULT_SEAL_AFTER_MS;
use crate::server_event::{self, MAX_SERVER_EVENT_BYTES};
use crate::store::{EventFilter, Store, StoreError};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
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
    /// The clock of `received_at`, server-event timestamps and sealing.
    clock: Clock,
    /// A session idle longer than this is sealed when more of it arrives.
    seal_after_ms: u64,
    /// Ids of server events.
    event_ids: Arc<EventIds>,
}

impl AppState {
    /// The system clock and the default seal timeout (30 min).
    pub fn new(store: Store, test_hooks: bool) -> AppState {
        AppState {
            store,
            faults: test_hooks.then(|| Arc::new(Faults::default())),
            clock: Clock::System,
            seal_after_ms: DEFAULT_SEAL_AFTER_MS,
            event_ids: Arc::new(EventIds::from_os()),
        }
    }

    pub fn with_seal_after(self, ms: u64) -> AppState {
        AppState {
            seal_after_ms: ms,
            ..self
        }
    }

    /// Tests pass a `Clock::Manual` to move time without sleeping.
    pub fn with_clock(self, clock: Clock) -> AppState {
        AppState { clock, ..self }
    }
}

/// The whole collector: API routes, `dist` at `/dist/`, `www` at `/`.
pub fn router(state: AppState, www: &Path, dist: &Path) -> Router {
    let mut api = Router::new()
        .route("/v1/batch", post(post_batch))
        .route("/v1/events", get(get_events))
        .route("/v1/sessions", get(get_sessions))
        .route("/v1/sessions/{id}/seal", post(post_seal))
        .route("/v1/server-events", post(post_server_event))
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
/// A cross-origin page can send `X-Session-ID` to `/v1/server-events`, but
/// its cookies are never sent: pairing by cookie is for same-origin pages and
/// for the site's backend (which needs no CORS).
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

fn too_large(limit: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("body larger than {limit} bytes"),
    )
}

/// The whole body, refused with 413 past `limit` bytes (declared or read).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("could not read the body: {e}"),
        )),
    }
}

/// `POST /v1/batch`: validate each event, store the valid ones in one
/// transaction (sealing idle sessions first), answer after it committed.
async fn post_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if let Some(status) = state.faults.as_ref().and_then(|f| f.take()) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "failure injected by the test hook");
    }
    let bytes = match read_body(&headers, body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let AppState {
        store,
        clock,
        seal_after_ms,
        ..
    } = state;
    let work = move || -> Result<Result<BatchAnswer, BodyError>, StoreError> {
        let now = clock.now_ms();
        let checked = match check_batch(&bytes, now) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let done = store.insert(&checked.valid, now, seal_after_ms)?;
        Ok(Ok(BatchAnswer {
            accepted: done.accepted,
            duplicates: done.duplicates,
            rejected: checked.rejected,
            sealed: done.sealed,
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

/// `POST /v1/sessions/{id}/seal`: `{"sealed": id}`, or 404 for a session
/// with no stored event. Sealing again keeps the first `sealed_at`.
async fn post_seal(State(state): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let now = state.clock.now_ms();
    let store = state.store.clone();
    let lookup = id.clone();
    match blocking("sealing a session", move || store.seal(&lookup, now)).await {
        Ok(true) => json(StatusCode::OK, &serde_json::json!({ "sealed": id })),
        Ok(false) => error(StatusCode::NOT_FOUND, "unknown session"),
        Err(res) => res,
    }
}

#[derive(Debug, serde::Serialize)]
struct ServerEventAnswer {
    event_id: String,
    session_id: String,
    source: Source,
}

/// Why a server event is refused (answered 400).
enum Refused {
    NoVisitor,
    Invalid(&'static str),
}

/// `POST /v1/server-events`: records `{"name", "properties"}` against the
/// session of the request's `X-Session-ID` header or `ss_sid` cookie.
async fn post_server_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let pairing = pair(&headers);
    let Some(session_id) = pairing.session_id else {
        return error(
            StatusCode::BAD_REQUEST,
            "no valid X-Session-ID header or ss_sid cookie",
        );
    };
    let bytes = match read_body(&headers, body, MAX_SERVER_EVENT_BYTES).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let req = match server_event::parse(&bytes) {
        Ok(r) => r,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let AppState {
        store,
        clock,
        seal_after_ms,
        event_ids,
        ..
    } = state;
    let visitor = pairing.visitor_id;
    let work = move || -> Result<Result<ServerEventAnswer, Refused>, StoreError> {
        let visitor = match visitor {
            Some(v) => Some(v),
            None => store.visitor_of(&session_id)?,
        };
        let Some(visitor) = visitor else {
            return Ok(Err(Refused::NoVisitor));
        };
        let now = clock.now_ms();
        let cx = server_event::Context {
            event_id: event_ids.next(now),
            session_id,
            anonymous_id: visitor,
            now_ms: now,
        };
        let built = match server_event::build(req, cx) {
            Ok(b) => b,
            Err(problem) => return Ok(Err(Refused::Invalid(problem))),
        };
        let valid = ValidEvent {
            index: 0,
            event: built.event,
            raw: &built.body,
        };
        store.insert(std::slice::from_ref(&valid), now, seal_after_ms)?;
        Ok(Ok(ServerEventAnswer {
            event_id: valid.event.event_id,
            session_id: valid.event.session_id,
            source: pairing.source,
        }))
    };
    match blocking("storing a server event", work).await {
        Ok(Ok(answer)) => json(StatusCode::OK, &answer),
        Ok(Err(Refused::NoVisitor)) => {
            error(StatusCode::BAD_REQUEST, "no visitor for this session")
        }
        Ok(Err(Refused::Invalid(problem))) => error(StatusCode::BAD_REQUEST, problem),
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
