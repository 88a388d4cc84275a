//! `POST /v1/batch`: the tracker's ingest.

use super::read_body;
use crate::app::AppState;
use crate::error::AppError;
use crate::ingest::check_batch;
use crate::store::columns::url_host;
use crate::store::{NewEvent, Source};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use sessionmark::wire::{BatchAnswer, MAX_BODY_BYTES};

/// Validates each event, stores the valid ones (sealing idle sessions
/// first), and answers once the store has them durably.
pub async fn post_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchAnswer>, AppError> {
    if let Some(status) = state.faults.as_ref().and_then(|f| f.take()) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(AppError::Injected(status));
    }
    let bytes = read_body(&headers, body, MAX_BODY_BYTES, state.limits.body_timeout).await?;
    let now = state.clock.now_ms();
    let checked = check_batch(&bytes, now)?;
    let page = page_host(&headers);
    let events = checked
        .valid
        .into_iter()
        .map(|v| {
            NewEvent::new(
                v.event,
                v.body.into_owned(),
                Source::Browser,
                page.as_deref(),
            )
        })
        .collect();
    let done = state.store_events(events, now).await?;
    Ok(Json(BatchAnswer {
        accepted: done.accepted,
        duplicates: done.duplicates,
        rejected: checked.rejected,
        sealed: done.sealed,
    }))
}

/// The host of the page that sent the batch: the request's `Origin` (sent
/// with every POST of `fetch` and `sendBeacon`), else its `Referer`.
fn page_host(headers: &HeaderMap) -> Option<String> {
    [header::ORIGIN, header::REFERER]
        .iter()
        .filter_map(|h| headers.get(h)?.to_str().ok())
        .map(url_host)
        .find(|host| !host.is_empty())
}
