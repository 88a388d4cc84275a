//! Why a request failed, and how each reason is answered: one
//! `IntoResponse`, so every route refuses in the same shape,
//! `{"error":"..."}` with the status that fits.

use crate::ingest::BodyError;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A request that gets no `200`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// 400: the request is wrong; the message says how.
    BadRequest(String),
    /// 401 with `WWW-Authenticate: Bearer`: no key, or the wrong one.
    Unauthorized(String),
    /// 403: a route with no key configured, asked for by a name that is not
    /// this machine's.
    Forbidden(String),
    /// 404.
    NotFound(&'static str),
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 408 with `Connection: close`: the body did not arrive in time.
    TimedOut(String),
    /// 413: a body over this many bytes.
    TooLarge(usize),
    /// 429 with `Retry-After`: the client's rate limit is reached.
    RateLimited { retry_after_s: u64 },
    /// 503 with `Retry-After`: the store cannot take more now.
    Busy { retry_after_s: u32 },
    /// A status forced by the test hook (`SESSIONMARK_TEST_HOOKS=1`).
    Injected(StatusCode),
    /// 500: logged with what was being done; the answer says no more.
    Internal(String),
}

impl AppError {
    /// A failure of the collector itself, with what it was doing.
    pub fn internal(what: &str, e: &dyn std::fmt::Display) -> AppError {
        AppError::Internal(format!("{what}: {e}"))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Busy { retry_after_s } => AppError::Busy { retry_after_s },
            StoreError::Invalid(why) => AppError::BadRequest(why),
            StoreError::Failed(why) => AppError::Internal(format!("store: {why}")),
        }
    }
}

impl From<BodyError> for AppError {
    fn from(e: BodyError) -> AppError {
        AppError::BadRequest(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::BadRequest(why) => (StatusCode::BAD_REQUEST, why.clone()),
            AppError::Unauthorized(why) => (StatusCode::UNAUTHORIZED, why.clone()),
            AppError::Forbidden(why) => (StatusCode::FORBIDDEN, why.clone()),
            AppError::NotFound(what) => (StatusCode::NOT_FOUND, (*what).to_owned()),
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route".to_owned(),
            ),
            AppError::TimedOut(why) => (StatusCode::REQUEST_TIMEOUT, why.clone()),
            AppError::RateLimited { retry_after_s } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("rate limit of this client reached; retry after {retry_after_s} s"),
            ),
            AppError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {limit} bytes"),
            ),
            AppError::Busy { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the collector is busy; retry later".to_owned(),
            ),
            AppError::Injected(status) => (*status, "failure injected by the test hook".to_owned()),
            AppError::Internal(what) => {
                eprintln!("sessionmark collector: {what}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        let mut res = (status, Json(serde_json::json!({ "error": message }))).into_response();
        let headers = res.headers_mut();
        match self {
            AppError::Busy { retry_after_s } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            }
            AppError::RateLimited { retry_after_s } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            }
            AppError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // The rest of the body is never read: the connection cannot be reused.
            AppError::TimedOut(_) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(e: AppError) -> (StatusCode, Option<String>, serde_json::Value) {
        let res = e.into_response();
        let status = res.status();
        let retry = res
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, retry, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_busy_store_is_answered_503_with_retry_after() {
        let (status, retry, body) = answer(StoreError::Busy { retry_after_s: 2 }.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("2"));
        assert!(body["error"].is_string());
    }

    #[tokio::test]
    async fn a_store_failure_is_a_500_that_does_not_leak_its_cause() {
        let (status, retry, body) =
            answer(StoreError::Failed("sqlite: disk I/O error at /secret/path".into()).into())
                .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry, None);
        assert_eq!(body, serde_json::json!({ "error": "internal error" }));
    }

    #[tokio::test]
    async fn a_request_the_store_cannot_read_is_a_400_with_the_reason() {
        let (status, _, body) = answer(StoreError::Invalid("bad cursor".into()).into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad cursor");
    }
}
