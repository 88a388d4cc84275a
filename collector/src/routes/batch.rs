//! `POST /v1/batch`: the tracker's ingest.

use super::read_body;
use crate::app::AppState;
use crate::error::AppError;
use crate::ingest::check_batch;
use crate::store::{Batch, NewEvent, Source};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
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
    let events = checked
        .valid
        .into_iter()
        .map(|v| NewEvent {
            event: v.event,
            body: v.raw.to_owned(),
            source: Source::Browser,
        })
        .collect();
    let done = state
        .store
        .insert(Batch {
            events,
            received_at: now,
            seal_after_ms: state.seal_after_ms,
        })
        .await?;
    Ok(Json(BatchAnswer {
        accepted: done.accepted,
        duplicates: done.duplicates,
        rejected: checked.rejected,
        sealed: done.sealed,
    }))
}
