//! The HTTP surface: routes by access group, CORS, security headers and
//! static files. The handlers are in `routes/`; what they share is
//! [`AppState`].

use crate::access::{self, Access};
use crate::clock::Clock;
use crate::error::AppError;
use crate::event_ids::EventIds;
use crate::faults::Faults;
use crate::headers::{content_security_policy, dist_caching, security_layers};
use crate::limits::{self, ClientLimiter, Limits};
use crate::routes::{batch, events, metrics, server_events, sessions, test_hooks};
use crate::store::{Batch, Inserted, NewEvent, SharedStore, StoreError, DEFAULT_SEAL_AFTER_MS};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
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
    /// The keys and read origins.
    pub(crate) access: Access,
    /// Timeouts, connection cap and rate limits.
    pub(crate) limits: Limits,
    /// The clients' ingest quotas (of `limits.rate`).
    pub(crate) limiter: Arc<ClientLimiter>,
    /// Extra `connect-src` sources of the served pages' CSP.
    pub(crate) csp_connect_src: Option<String>,
    /// Event names that count as conversions (`SESSIONMARK_GOALS`).
    pub(crate) goals: Arc<[String]>,
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
            access: Access::default(),
            limits: Limits::default(),
            limiter: Arc::new(ClientLimiter::new(Limits::default().rate)),
            csp_connect_src: None,
            goals: Arc::from(crate::metrics::goals_from(None)),
        }
    }

    /// The conversion goals (event names), `purchase` by default.
    pub fn with_goals(self, goals: Vec<String>) -> AppState {
        AppState {
            goals: Arc::from(goals),
            ..self
        }
    }

    /// Keys and read origins; the default leaves every group open (to
    /// loopback hosts).
    pub fn with_access(self, access: Access) -> AppState {
        AppState { access, ..self }
    }

    /// Timeouts and quotas; the quotas start full.
    pub fn with_limits(self, limits: Limits) -> AppState {
        AppState {
            limiter: Arc::new(ClientLimiter::new(limits.rate)),
            limits,
            ..self
        }
    }

    /// Sources the served pages may connect to besides their own origin.
    pub fn with_csp_connect_src(self, sources: Option<String>) -> AppState {
        AppState {
            csp_connect_src: sources,
            ..self
        }
    }

    /// The quotas, for the connection loop's housekeeping.
    pub fn limiter(&self) -> Arc<ClientLimiter> {
        Arc::clone(&self.limiter)
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

    /// Stores events that arrived together at `now` (the server clock),
    /// under this collector's seal timeout.
    pub(crate) async fn store_events(
        &self,
        events: Vec<NewEvent>,
        now: u64,
    ) -> Result<Inserted, StoreError> {
        self.store
            .insert(Batch {
                events,
                received_at: now,
                seal_after_ms: self.seal_after_ms,
            })
            .await
    }
}

/// The routes that need the read key (README "Limits and access"): a route
/// added here is guarded by being here.
fn read_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/events", get(events::get_events))
        .route("/v1/sessions", get(sessions::get_sessions))
        .route("/v1/sessions/{id}/seal", post(sessions::post_seal))
        .route("/v1/metrics", get(metrics::get_metrics))
        .route("/v1/sites", get(metrics::get_sites))
}

/// The routes that need the server key.
fn server_routes() -> Router<AppState> {
    Router::new().route("/v1/server-events", post(server_events::post_server_events))
}

/// Ingest: open to every origin, under the per-client quotas.
fn ingest_routes() -> Router<AppState> {
    Router::new().route("/v1/batch", post(batch::post_batch))
}

/// The whole collector: the guarded groups, the open API routes, `dist` at
/// `/dist/`, `www` at `/`, and the security headers on every answer.
pub fn router(state: AppState, www: &Path, dist: &Path) -> Router {
    let reads = access::guard(read_routes(), state.access.read_key.clone(), "read key");
    // Reads answer CORS only to the configured origins: any other page
    // cannot read what the collector stored.
    let reads = match access::read_cors(&state.access.read_origins) {
        Some(cors) => reads.layer(cors),
        None => reads,
    };
    let server = access::guard(
        server_routes(),
        state.access.server_key.clone(),
        "server key",
    );
    let ingest = limits::rate_limited(
        ingest_routes(),
        state.limiter(),
        state.limits.client_ip_header.clone(),
    );
    let mut open = Router::new()
        .merge(server)
        .merge(ingest)
        .route("/healthz", get(|| async { "ok" }));
    if state.faults.is_some() {
        open = open.route("/v1/_test/fail", post(test_hooks::post_fail));
    }
    let open = open
        // Unknown API paths are a JSON 404, never a static-file lookup.
        .route("/v1/{*rest}", any(api_not_found))
        .nest_service(
            "/dist",
            tower::ServiceBuilder::new()
                .map_response(dist_caching)
                .service(ServeDir::new(dist).precompressed_br().precompressed_gzip()),
        )
        .fallback_service(ServeDir::new(www))
        .layer(open_cors());
    let mut app = reads
        .merge(open)
        .layer(axum::middleware::map_response(javascript_type))
        .layer(axum::middleware::map_response(method_not_allowed_as_json));
    let csp = content_security_policy(state.csp_connect_src.as_deref());
    let layers = security_layers(&csp).or_else(|e| {
        eprintln!("sessionmark collector: SESSIONMARK_CSP_CONNECT_SRC ignored: {e}");
        security_layers(&content_security_policy(None))
    });
    for layer in layers.into_iter().flatten() {
        app = app.layer(layer);
    }
    app.with_state(state)
}

/// CORS of everything but the reads: any site may send batches, load the
/// tracker and, without a server key, post server events (a cross-origin
/// page can send `X-Session-ID`, never its cookies: pairing by cookie is for
/// same-origin pages and for the site's backend, which needs no CORS). The
/// `Authorization` header is not allowed, so a key never travels from a
/// page of another origin.
fn open_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-session-id"),
        ])
        .max_age(Duration::from_secs(86_400))
}

/// axum answers a known path with the wrong method `405` and no body; the
/// API answers every refusal with a reason.
async fn method_not_allowed_as_json(res: Response) -> Response {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut out = AppError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
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
