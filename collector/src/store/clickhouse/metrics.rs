//! The figures of `GET /v1/metrics` and `GET /v1/sites` in ClickHouse SQL,
//! by the definitions of `crate::metrics` (README "Metrics definitions"),
//! the same answers as the SQLite store's on the same events.
//!
//! There is no summary row per session here: a visit's figures are
//! aggregated from its events (`FINAL`, one row per event before merges),
//! in one subquery, [`visits`], that every figure reads. Its events are
//! found by session id, first narrowed to the sessions with an event in the
//! range: a visit that started in the range has its earliest event there.
//! The queries of one answer run at once; each reads the tables as they are
//! when it starts.

use super::client::Client;
use super::schema::{EVENTS, LINKS};
use super::sql;
use crate::metrics::{Bucket, Count, Metrics, MetricsQuery, Site, DIRECT, NOW_WINDOW_MS, TOP};
use crate::store::StoreError;

// No alias here names a column it reads: ClickHouse would substitute the
// alias for the column (`sum(pageviews) AS pageviews` nests an aggregate).

/// One row per session with a browser event among those of
/// `sessions_sql` (a query of session ids), with its visit's sums and its
/// person (`u:` + linked user, else `v:` + visitor), kept when `having`
/// holds (on the columns named here).
fn visits(db: &str, sessions_sql: &str, having: &str) -> String {
    // Entry: earliest page view, the first stored among equals; exit:
    // latest, the last stored among equals.
    let page_view = "source = 'browser' AND name = 'screen_view'";
    format!(
        "SELECT session_id, first_seen, last_seen, site, pageviews, other_events, engaged_ms,
                entry_path, entry_referrer, exit_path,
                if(linked_user = '', concat('v:', visitor), concat('u:', linked_user)) AS person
         FROM (
             SELECT session_id,
                    min(timestamp) AS first_seen,
                    max(timestamp) AS last_seen,
                    argMin(anonymous_id, arrival) AS visitor,
                    argMinIf(client_id, arrival, source = 'browser') AS site,
                    countIf(source = 'browser') AS browser_events,
                    countIf({page_view}) AS pageviews,
                    countIf(source = 'browser' AND name NOT IN ('screen_view', 'page_exit'))
                        AS other_events,
                    sumIf(engaged_time, source = 'browser' AND name = 'page_exit') AS engaged_ms,
                    argMinIf(path, (timestamp, arrival), {page_view}) AS entry_path,
                    argMinIf(referrer_host, (timestamp, arrival), {page_view}) AS entry_referrer,
                    argMaxIf(path, (timestamp, arrival), {page_view}) AS exit_path
             FROM {db}.{EVENTS} FINAL
             WHERE session_id IN ({sessions_sql})
             GROUP BY session_id
             HAVING browser_events > 0 AND {having}
         )
         ANY LEFT JOIN (
             SELECT anonymous_id AS visitor, argMax(user_id, (linked_at, arrival)) AS linked_user
             FROM {db}.{LINKS} GROUP BY anonymous_id
         ) USING visitor"
    )
}

/// `AND site = '...'` for one site, nothing for all.
fn site_filter(q: &MetricsQuery) -> String {
    q.client_id
        .as_deref()
        .map(|c| format!(" AND site = {}", sql::string(c)))
        .unwrap_or_default()
}

/// A rate, 0 when there is nothing to divide by.
fn ratio(part: f64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part / whole as f64
    }
}

/// A mean in whole ms, rounded half away from zero (as SQLite's `round`).
fn mean_ms(sum: u64, count: u64) -> u64 {
    if count == 0 {
        0
    } else {
        let mean = (sum as f64 / count as f64).round();
        if mean.is_finite() && mean >= 0.0 {
            mean as u64
        } else {
            0
        }
    }
}

#[derive(serde::Deserialize)]
struct Headline {
    visits: u64,
    people: u64,
    page_views: u64,
    bounces: u64,
    visit_ms: u64,
    engaged: u64,
}

#[derive(serde::Deserialize)]
struct Goals {
    converted: u64,
    revenue: f64,
    goal_events: u64,
}

#[derive(serde::Deserialize)]
struct Listed {
    value: String,
    n: u64,
}

#[derive(serde::Deserialize)]
struct SeriesRow {
    bucket: u64,
    visits: u64,
    people: u64,
    page_views: u64,
}

#[derive(serde::Deserialize)]
struct Now {
    people: u64,
}

/// The top list of `value` by count, then value.
fn top(from: &str, value: &str, filter: &str) -> String {
    format!(
        "SELECT {value} AS value, count() AS n FROM ({from}) WHERE {filter}
         GROUP BY value ORDER BY n DESC, value LIMIT {TOP}"
    )
}

pub async fn metrics(ch: &Client, db: &str, q: &MetricsQuery) -> Result<Metrics, StoreError> {
    let in_range = format!(
        "SELECT DISTINCT session_id FROM {db}.{EVENTS} WHERE timestamp >= {} AND timestamp < {}",
        q.from, q.to
    );
    let v = visits(
        db,
        &in_range,
        &format!(
            "first_seen >= {} AND first_seen < {}{}",
            q.from,
            q.to,
            site_filter(q)
        ),
    );
    let headline = format!(
        "SELECT count() AS visits, uniqExact(person) AS people, sum(pageviews) AS page_views,
                countIf(pageviews = 1 AND other_events = 0) AS bounces,
                sum(last_seen - first_seen) AS visit_ms, sum(engaged_ms) AS engaged
         FROM ({v})"
    );
    let goals = format!(
        "SELECT uniqExact(session_id) AS converted, sum(amount) AS revenue, count() AS goal_events
         FROM {db}.{EVENTS} FINAL
         WHERE session_id IN (SELECT session_id FROM ({v})) AND name IN {}",
        sql::string_list(q.goals.iter().map(String::as_str))
    );
    let top_pages = format!(
        "SELECT path AS value, count() AS n FROM {db}.{EVENTS} FINAL
         WHERE session_id IN (SELECT session_id FROM ({v}))
           AND source = 'browser' AND name = 'screen_view'
         GROUP BY value ORDER BY n DESC, value LIMIT {TOP}"
    );
    let entry_pages = top(&v, "entry_path", "pageviews > 0");
    let exit_pages = top(&v, "exit_path", "pageviews > 0");
    let referrers = top(
        &v,
        &format!(
            "if(entry_referrer = '', {}, entry_referrer)",
            sql::string(DIRECT)
        ),
        "pageviews > 0",
    );
    let ms = q.interval.ms();
    let series = format!(
        "SELECT intDiv(first_seen, {ms}) * {ms} AS bucket, count() AS visits,
                uniqExact(person) AS people, sum(pageviews) AS page_views
         FROM ({v}) GROUP BY bucket ORDER BY bucket"
    );
    let since = q.now.saturating_sub(NOW_WINDOW_MS);
    let recent =
        format!("SELECT DISTINCT session_id FROM {db}.{EVENTS} WHERE timestamp >= {since}");
    let now = format!(
        "SELECT uniqExact(person) AS people FROM ({})",
        visits(
            db,
            &recent,
            &format!("last_seen >= {since}{}", site_filter(q))
        )
    );
    let (headline, goals, top_pages, entry_pages, exit_pages, referrers, series, now) = tokio::try_join!(
        ch.rows::<Headline>(&headline),
        ch.rows::<Goals>(&goals),
        ch.rows::<Listed>(&top_pages),
        ch.rows::<Listed>(&entry_pages),
        ch.rows::<Listed>(&exit_pages),
        ch.rows::<Listed>(&referrers),
        ch.rows::<SeriesRow>(&series),
        ch.rows::<Now>(&now),
    )?;
    let h = headline.into_iter().next().unwrap_or(Headline {
        visits: 0,
        people: 0,
        page_views: 0,
        bounces: 0,
        visit_ms: 0,
        engaged: 0,
    });
    let g = goals.into_iter().next().unwrap_or(Goals {
        converted: 0,
        revenue: 0.0,
        goal_events: 0,
    });
    let counts = |rows: Vec<Listed>| -> Vec<Count> {
        rows.into_iter()
            .map(|r| Count {
                value: r.value,
                count: r.n,
            })
            .collect()
    };
    Ok(Metrics {
        client_id: q.client_id.clone(),
        from: q.from,
        to: q.to,
        interval: q.interval,
        visits: h.visits,
        unique_visitors: h.people,
        pageviews: h.page_views,
        pages_per_visit: ratio(h.page_views as f64, h.visits),
        bounce_rate: ratio(h.bounces as f64, h.visits),
        avg_visit_ms: mean_ms(h.visit_ms, h.visits),
        avg_engaged_ms: mean_ms(h.engaged, h.visits),
        visitors_now: now.first().map_or(0, |n| n.people),
        conversions: g.converted,
        conversion_rate: ratio(g.converted as f64, h.visits),
        revenue: g.revenue,
        average_order_value: ratio(g.revenue, g.goal_events),
        top_pages: counts(top_pages),
        entry_pages: counts(entry_pages),
        exit_pages: counts(exit_pages),
        referrers: counts(referrers),
        series: series
            .into_iter()
            .map(|r| Bucket {
                t: r.bucket,
                visits: r.visits,
                visitors: r.people,
                pageviews: r.page_views,
            })
            .collect(),
    })
}

/// Every site (the `client_id` of a session's first browser event), with
/// the events of its sessions and their latest timestamp.
pub async fn sites(ch: &Client, db: &str) -> Result<Vec<Site>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Row {
        site: String,
        events: u64,
        last: u64,
    }
    let rows: Vec<Row> = ch
        .rows(&format!(
            "SELECT site, sum(n) AS events, max(latest) AS last FROM (
                 SELECT argMinIf(client_id, arrival, source = 'browser') AS site,
                        countIf(source = 'browser') AS browser_events,
                        count() AS n, max(timestamp) AS latest
                 FROM {db}.{EVENTS} FINAL GROUP BY session_id
                 HAVING browser_events > 0
             ) GROUP BY site ORDER BY last DESC, site"
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Site {
            client_id: r.site,
            events: r.events,
            last_seen: r.last,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_round_half_away_from_zero_and_nothing_over_nothing_is_zero() {
        assert_eq!(mean_ms(5, 2), 3);
        assert_eq!(mean_ms(7, 2), 4);
        assert_eq!(mean_ms(1, 3), 0);
        assert_eq!(mean_ms(0, 0), 0);
        assert_eq!(ratio(1.0, 0), 0.0);
        assert_eq!(ratio(1.0, 4), 0.25);
    }
}
