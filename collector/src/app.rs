//! The HTTP surface: routes, CORS and static files. The handlers are in
//! `routes/`; what they share is [`AppState`].

use crate::clock::Clock;
use crate::error::AppError;
use crate::event_ids::EventIds;
use crate::faults::Faults;
use crate::routes::{batch, events, server_events, sessions, test_hooks};
use crate::store::{SharedStore, DEFAULT_SEAL_AFTER_MS};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use std::path::Path;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: SharedStore,
    /// Present only with `SESSIONMARK_TEST_HOOKS=1`.
    pub(crate) faults: Option<Arc<Faults>>,
    /// The clock of `received_at`, server-event timestamps and sealing.
    pub(crate) clock: Clock,
    /// A session idle longer than this is sealed when more of it arrives.
    pub(crate) seal_after_ms: u64,
    /// Ids of server events.
    pub(crate) event_ids: Arc<EventIds>,
}

impl AppState {
    /// The system clock and the default seal timeout (30 min).
    pub fn new(store: SharedStore, test_hooks: bool) -> AppState {
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
        .route("/v1/batch", post(batch::post_batch))
        .route("/v1/events", get(events::get_events))
        .route("/v1/sessions", get(sessions::get_sessions))
        .route("/v1/sessions/{id}/seal", post(sessions::post_seal))
        .route("/v1/server-events", post(server_events::post_server_event))
        .route("/healthz", get(|| async { "ok" }));
    if state.faults.is_some() {
        api = api.route("/v1/_test/fail", post(test_hooks::post_fail));
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
        // A cross-origin reader of `GET /v1/events` needs it to page on.
        .expose_headers([events::NEXT_CURSOR.clone()])
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

async fn api_not_found() -> AppError {
    AppError::NotFound("no such route")
}
