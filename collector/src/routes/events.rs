//! `GET /v1/events`: stored events, a page at a time.

use crate::app::AppState;
use crate::error::AppError;
use crate::store::{EventPage, EventQuery, DEFAULT_PAGE_EVENTS, MAX_PAGE_EVENTS};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The header that carries where the next page starts.
pub static NEXT_CURSOR: HeaderName = HeaderName::from_static("x-next-cursor");

#[derive(Debug, serde::Deserialize)]
pub struct EventsParams {
    session_id: Option<String>,
    client_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A page: the JSON array of the events, and `X-Next-Cursor` when more follow.
pub struct EventsAnswer(EventPage);

impl IntoResponse for EventsAnswer {
    fn into_response(self) -> Response {
        let cursor = match self.0.next_cursor.as_deref().map(HeaderValue::from_str) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => return AppError::internal("the store's cursor", &e).into_response(),
        };
        let mut res = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0.json_array(),
        )
            .into_response();
        if let Some(v) = cursor {
            res.headers_mut().insert(NEXT_CURSOR.clone(), v);
        }
        res
    }
}

/// `GET /v1/events[?session_id=][&client_id=][&limit=][&cursor=]`.
pub async fn get_events(
    State(state): State<AppState>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<EventsAnswer, AppError> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(DEFAULT_PAGE_EVENTS);
    if !(1..=MAX_PAGE_EVENTS).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be from 1 to {MAX_PAGE_EVENTS}"
        )));
    }
    let query = EventQuery {
        session_id: p.session_id,
        client_id: p.client_id,
        limit,
        cursor: p.cursor,
    };
    Ok(EventsAnswer(state.store.events(query).await?))
}
