//! `GET /v1/metrics` and `GET /v1/sites`: the site owner's figures.

use crate::app::AppState;
use crate::error::AppError;
use crate::metrics::{Interval, Metrics, MetricsQuery, Site, DEFAULT_RANGE_MS};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    client_id: Option<String>,
    from: Option<u64>,
    to: Option<u64>,
}

/// `?client_id=&from=&to=` (ms; defaults: all sites, `to` now, `from` 7
/// days before `to`); `from` must be before `to`.
pub fn query_of(p: MetricsParams, now: u64, goals: Vec<String>) -> Result<MetricsQuery, AppError> {
    let to = p.to.unwrap_or(now);
    let from = p
        .from
        .unwrap_or_else(|| to.saturating_sub(DEFAULT_RANGE_MS));
    if from >= to {
        return Err(AppError::BadRequest("from must be before to".into()));
    }
    // A number JSON readers take whole: ms up to 2^53.
    if to > (1 << 53) {
        return Err(AppError::BadRequest("to is not a time in ms".into()));
    }
    Ok(MetricsQuery {
        client_id: p.client_id.filter(|c| !c.is_empty()),
        from,
        to,
        interval: Interval::for_range(from, to),
        now,
        goals,
    })
}

pub async fn get_metrics(
    State(state): State<AppState>,
    params: Result<Query<MetricsParams>, QueryRejection>,
) -> Result<Json<Metrics>, AppError> {
    let Query(p) = params?;
    let query = query_of(p, state.clock.now_ms(), state.goals.to_vec())?;
    Ok(Json(state.store.metrics(query).await?))
}

pub async fn get_sites(State(state): State<AppState>) -> Result<Json<Vec<Site>>, AppError> {
    Ok(Json(state.store.sites().await?))
}
