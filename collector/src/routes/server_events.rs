//! `POST /v1/server-events`: events the site's backend records against
//! browser sessions, one at a time (the session from the request) or in
//! bulk (each event names its session; the server SDK's form).

use super::read_body;
use crate::app::AppState;
use crate::error::AppError;
use crate::pairing::{pair, Source as PairingSource};
use crate::server_bulk;
use crate::server_event::{self, MAX_SERVER_EVENT_BYTES};
use crate::store::{NewEvent, Source};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use sessionmark::wire::{Rejected, MAX_BODY_BYTES};

/// The answer to either form.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum ServerEventsAnswer {
    One {
        event_id: String,
        session_id: String,
        source: PairingSource,
    },
    Bulk {
        accepted: usize,
        duplicates: usize,
        rejected: Vec<Rejected>,
    },
}

/// Reads the body and answers it in its form: `{"events":[...]}` is bulk,
/// anything else the single-event form.
pub async fn post_server_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ServerEventsAnswer>, AppError> {
    let bytes = read_body(&headers, body, MAX_BODY_BYTES, state.limits.body_timeout).await?;
    if server_bulk::is_bulk(&bytes) {
        bulk(&state, &bytes).await
    } else {
        one(&state, &headers, &bytes).await
    }
}

/// Each event in its own session, deduplicated by the `event_id` the SDK
/// gave it; `200` even when some are rejected.
async fn bulk(state: &AppState, bytes: &Bytes) -> Result<Json<ServerEventsAnswer>, AppError> {
    let server_bulk::Parsed {
        events: parsed,
        mut rejected,
    } = server_bulk::parse(bytes).map_err(AppError::BadRequest)?;
    let mut sessions: Vec<String> = parsed.iter().map(|(_, e)| e.session_id.clone()).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let known = state.store.visitors(&sessions).await?;
    let visitors = server_bulk::visitors(&parsed, known);
    let now = state.clock.now_ms();
    let mut events = Vec::new();
    for (index, e) in parsed {
        let visitor = visitors.get(&e.session_id).map(String::as_str);
        match server_bulk::build(e, visitor, now) {
            Ok((event, body)) => events.push(NewEvent::new(event, body, Source::Server, None)),
            Err(why) => rejected.push(server_bulk::reject(index, &why)),
        }
    }
    rejected.sort_by_key(|r| r.index);
    let done = state.store_events(events, now).await?;
    Ok(Json(ServerEventsAnswer::Bulk {
        accepted: done.accepted,
        duplicates: done.duplicates,
        rejected,
    }))
}

/// `{"name", "properties"}` against the session of the request's
/// `X-Session-ID` header or `ss_sid` cookie.
async fn one(
    state: &AppState,
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Result<Json<ServerEventsAnswer>, AppError> {
    let pairing = pair(headers);
    let Some(session_id) = pairing.session_id else {
        return Err(AppError::BadRequest(
            "no valid X-Session-ID header or ss_sid cookie".into(),
        ));
    };
    if bytes.len() > MAX_SERVER_EVENT_BYTES {
        return Err(AppError::TooLarge(MAX_SERVER_EVENT_BYTES));
    }
    let req = server_event::parse(bytes).map_err(AppError::BadRequest)?;
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
    let answer = ServerEventsAnswer::One {
        event_id: built.event.event_id.clone(),
        session_id: built.event.session_id.clone(),
        source: pairing.source,
    };
    state
        .store_events(
            vec![NewEvent::new(built.event, built.body, Source::Server, None)],
            now,
        )
        .await?;
    Ok(Json(answer))
}
