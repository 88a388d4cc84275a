//! The API's handlers, one file per resource. Each returns
//! `Result<_, AppError>`; `AppError` turns every refusal into the same
//! `{"error":"..."}` answer.

pub mod batch;
pub mod events;
pub mod metrics;
pub mod server_events;
pub mod sessions;
pub mod test_hooks;

use crate::error::AppError;
use crate::limits;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::time::Duration;

impl From<QueryRejection> for AppError {
    fn from(e: QueryRejection) -> AppError {
        AppError::BadRequest(e.body_text())
    }
}

/// The whole body, refused with 413 past `limit` bytes (declared or read),
/// with 408 when it has not arrived within `timeout` (a client sending a
/// byte a second must not hold its connection and task for ever), and with
/// 429 when it runs past the client's KiB quota (`limits::rate_limited`).
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(AppError::TooLarge(limit));
    }
    let Ok(read) = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await else {
        return Err(AppError::TimedOut(format!(
            "body not received within {} ms",
            timeout.as_millis()
        )));
    };
    match read {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(AppError::TooLarge(limit)),
        Err(e) => match limits::over_quota(e.as_ref()) {
            Some(wait) => Err(limits::too_many(wait)),
            None => Err(AppError::BadRequest(format!(
                "could not read the body: {e}"
            ))),
        },
    }
}
