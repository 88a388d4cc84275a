//! `POST /v1/_test/fail` (only with `SESSIONMARK_TEST_HOOKS=1`).

use crate::app::AppState;
use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;

#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct FailRequest {
    #[serde(default = "default_fail_status")]
    status: u16,
    count: u64,
}

fn default_fail_status() -> u16 {
    500
}

/// `{"status":500,"count":N}`: the next N batches answer that status.
pub async fn post_fail(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<FailRequest>, AppError> {
    let Some(faults) = state.faults.as_ref() else {
        return Err(AppError::NotFound("no such route"));
    };
    let req: FailRequest = serde_json::from_slice(&body).map_err(|e| {
        AppError::BadRequest(format!("expected {{\"status\":500,\"count\":N}}: {e}"))
    })?;
    if !(400..=599).contains(&req.status) {
        return Err(AppError::BadRequest(
            "status must be from 400 to 599".into(),
        ));
    }
    faults.arm(req.status, req.count);
    Ok(Json(req))
}
