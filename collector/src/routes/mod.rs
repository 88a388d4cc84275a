//! The API's handlers, one file per resource. Each returns
//! `Result<_, AppError>`; `AppError` turns every refusal into the same
//! `{"error":"..."}` answer.

pub mod batch;
pub mod events;
pub mod server_events;
pub mod sessions;
pub mod test_hooks;

use crate::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

impl From<QueryRejection> for AppError {
    fn from(e: QueryRejection) -> AppError {
        AppError::BadRequest(e.body_text())
    }
}

/// The whole body, refused with 413 past `limit` bytes (declared or read).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(AppError::TooLarge(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(AppError::TooLarge(limit)),
        Err(e) => Err(AppError::BadRequest(format!(
            "could not read the body: {e}"
        ))),
    }
}
