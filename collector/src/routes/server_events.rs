//! `POST /v1/server-events`: events the site's backend records against a
//! browser session.

use super::read_body;
use crate::app::AppState;
use crate::error::AppError;
use crate::pairing::{pair, Source as PairingSource};
use crate::server_event::{self, MAX_SERVER_EVENT_BYTES};
use crate::store::{Batch, NewEvent, Source};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;

#[derive(Debug, serde::Serialize)]
pub struct ServerEventAnswer {
    event_id: String,
    session_id: String,
    source: PairingSource,
}

/// Records `{"name", "properties"}` against the session of the request's
/// `X-Session-ID` header or `ss_sid` cookie.
pub async fn post_server_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ServerEventAnswer>, AppError> {
    let pairing = pair(&headers);
    let Some(session_id) = pairing.session_id else {
        return Err(AppError::BadRequest(
            "no valid X-Session-ID header or ss_sid cookie".into(),
        ));
    };
    let bytes = read_body(
        &headers,
        body,
        MAX_SERVER_EVENT_BYTES,
        state.limits.body_timeout,
    )
    .await?;
    let req = server_event::parse(&bytes).map_err(AppError::BadRequest)?;
    let visitor = match pairing.visitor_id {
        Some(v) => Some(v),
        None => state
            .store
            .visitors(std::slice::from_ref(&session_id))
            .await?
            .remove(&session_id),
    };
    let Some(visitor) = visitor else {
        return Err(AppError::BadRequest("no visitor for this session".into()));
    };
    let now = state.clock.now_ms();
    let cx = server_event::Context {
        event_id: state.event_ids.next(now),
        session_id,
        anonymous_id: visitor,
        now_ms: now,
    };
    let built =
        server_event::build(req, cx).map_err(|problem| AppError::BadRequest(problem.into()))?;
    let answer = ServerEventAnswer {
        event_id: built.event.event_id.clone(),
        session_id: built.event.session_id.clone(),
        source: pairing.source,
    };
    state
        .store
        .insert(Batch {
            events: vec![NewEvent {
                event: built.event,
                body: built.body,
                source: Source::Server,
            }],
            received_at: now,
            seal_after_ms: state.seal_after_ms,
        })
        .await?;
    Ok(Json(answer))
}
