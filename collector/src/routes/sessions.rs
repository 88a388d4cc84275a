//! `GET /v1/sessions` and `POST /v1/sessions/{id}/seal`.

use crate::app::AppState;
use crate::error::AppError;
use crate::store::{SessionRow, SESSION_LIST_LIMIT};
use axum::extract::{Path, State};
use axum::Json;

/// The latest sessions, most recently active first.
pub async fn get_sessions(
    State(state): State<AppState>,
) -> Result<Json<Vec<SessionRow>>, AppError> {
    Ok(Json(state.store.sessions(SESSION_LIST_LIMIT).await?))
}

#[derive(Debug, serde::Serialize)]
pub struct Sealed {
    sealed: String,
}

/// `{"sealed": id}`, or 404 for a session with no stored event. Sealing
/// again keeps the first `sealed_at`.
pub async fn post_seal(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Sealed>, AppError> {
    let now = state.clock.now_ms();
    if state.store.seal(&id, now).await? {
        Ok(Json(Sealed { sealed: id }))
    } else {
        Err(AppError::NotFound("unknown session"))
    }
}
