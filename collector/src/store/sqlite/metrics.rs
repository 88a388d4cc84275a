//! The figures of `GET /v1/metrics` and `GET /v1/sites` in SQL, by the
//! definitions of `crate::metrics` (README "Metrics definitions"). The
//! visits of the range are found once, from the sessions' summary rows,
//! into a temporary table; the visit figures read it. The page and goal
//! figures read the events of the visits' time span (from the earliest
//! `first_seen` to the latest `last_seen` among them: every event of a
//! visit lies in it) through the time-led `events_pageviews` and
//! `events_by_name`, and keep those of the visits. All of it runs in one
//! read transaction, so every figure sees the same state.

use super::sql_int;
use crate::metrics::{Bucket, Count, Metrics, MetricsQuery, Site, DIRECT, NOW_WINDOW_MS, TOP};
use crate::store::StoreError;
use rusqlite::{params, Connection, Row};

/// Fills `temp.visits` with the visits of the query: sessions with a
/// browser event (so a site), started in the range, each with its person
/// (linked user, else visitor). Every visit figure then reads this one
/// small table instead of finding the visits again.
fn fill_visits(conn: &Connection, q: &MetricsQuery) -> Result<(), StoreError> {
    // Separate forms so the filtered one can use sessions_by_site.
    let site = if q.client_id.is_none() {
        "s.client_id IS NOT NULL AND ?3 IS NULL"
    } else {
        "s.client_id = ?3"
    };
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.visits;
         CREATE TEMP TABLE visits (
             session_id TEXT PRIMARY KEY, first_seen INTEGER, last_seen INTEGER,
             pageviews INTEGER, other_events INTEGER, engaged_ms INTEGER,
             entry_path TEXT, entry_referrer TEXT, exit_path TEXT, person TEXT
         ) WITHOUT ROWID;",
    )?;
    conn.execute(
        &format!(
            "INSERT INTO temp.visits
             SELECT s.session_id, s.first_seen, s.last_seen, s.pageviews, s.other_events,
                    s.engaged_ms, s.entry_path, s.entry_referrer, s.exit_path,
                    coalesce('u:' || l.user_id, 'v:' || s.anonymous_id)
             FROM sessions s LEFT JOIN links l ON l.anonymous_id = s.anonymous_id
             WHERE {site} AND s.first_seen >= ?1 AND s.first_seen < ?2"
        ),
        params![sql_int(q.from)?, sql_int(q.to)?, q.client_id],
    )?;
    Ok(())
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn count_row(r: &Row<'_>) -> rusqlite::Result<Count> {
    Ok(Count {
        value: r.get(0)?,
        count: u64_of(r.get(1)?),
    })
}

fn top_list(
    conn: &Connection,
    select: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Count>, StoreError> {
    let sql = format!("{select} ORDER BY 2 DESC, 1 LIMIT {TOP}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, count_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// From the earliest start to the latest event of the visits (an empty
/// span when there are none).
fn visits_span(conn: &Connection) -> Result<(i64, i64), StoreError> {
    let span = conn
        .prepare_cached("SELECT min(first_seen), max(last_seen) FROM temp.visits")?
        .query_row([], |r| {
            Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
    Ok(match span {
        (Some(from), Some(to)) => (from, to),
        _ => (0, -1),
    })
}

pub fn metrics(conn: &Connection, q: &MetricsQuery) -> Result<Metrics, StoreError> {
    let tx = conn.unchecked_transaction()?;
    fill_visits(&tx, q)?;
    let (span_from, span_to) = visits_span(&tx)?;

    let (visits, unique_visitors, pageviews, pages_per_visit, bounce_rate, avg_visit, avg_engaged) =
        tx.prepare_cached(
            "SELECT count(*), count(DISTINCT person), coalesce(sum(pageviews), 0),
                    coalesce(sum(pageviews) * 1.0 / count(*), 0.0),
                    coalesce(sum(pageviews = 1 AND other_events = 0) * 1.0 / count(*), 0.0),
                    coalesce(CAST(round(avg(last_seen - first_seen)) AS INTEGER), 0),
                    coalesce(CAST(round(avg(engaged_ms)) AS INTEGER), 0)
             FROM temp.visits",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;

    // From the goal events (few) of the visits' span to their visits.
    let goals =
        serde_json::to_string(&q.goals).map_err(|e| StoreError::Failed(format!("goals: {e}")))?;
    let (conversions, conversion_rate, revenue, average_order_value) = tx
        .prepare_cached(
            "SELECT count(DISTINCT e.session_id),
                    coalesce(count(DISTINCT e.session_id) * 1.0
                             / (SELECT nullif(count(*), 0) FROM temp.visits), 0.0),
                    coalesce(sum(e.amount), 0.0),
                    coalesce(sum(e.amount) / nullif(count(*), 0), 0.0)
             FROM events e INDEXED BY events_by_name
             CROSS JOIN temp.visits v ON v.session_id = e.session_id
             WHERE e.name IN (SELECT value FROM json_each(?1))
               AND e.timestamp BETWEEN ?2 AND ?3",
        )?
        .query_row(params![goals, span_from, span_to], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
            ))
        })?;

    let top_pages = top_list(
        &tx,
        "SELECT e.path, count(*) FROM events e INDEXED BY events_pageviews
         CROSS JOIN temp.visits v ON v.session_id = e.session_id
         WHERE e.name = 'screen_view' AND e.source = 'browser'
           AND e.timestamp BETWEEN ?1 AND ?2
         GROUP BY e.path",
        params![span_from, span_to],
    )?;
    let entry_pages = top_list(
        &tx,
        "SELECT entry_path, count(*) FROM temp.visits
         WHERE entry_path IS NOT NULL GROUP BY entry_path",
        [],
    )?;
    let exit_pages = top_list(
        &tx,
        "SELECT exit_path, count(*) FROM temp.visits
         WHERE exit_path IS NOT NULL GROUP BY exit_path",
        [],
    )?;
    let referrers = top_list(
        &tx,
        &format!(
            "SELECT CASE entry_referrer WHEN '' THEN '{DIRECT}' ELSE entry_referrer END, count(*)
             FROM temp.visits WHERE entry_path IS NOT NULL GROUP BY 1"
        ),
        [],
    )?;

    let series = {
        let mut stmt = tx.prepare_cached(
            "SELECT (first_seen / ?1) * ?1 AS t, count(*), count(DISTINCT person),
                    sum(pageviews)
             FROM temp.visits GROUP BY t ORDER BY t",
        )?;
        let rows = stmt.query_map([sql_int(q.interval.ms())?], |r| {
            Ok(Bucket {
                t: u64_of(r.get(0)?),
                visits: u64_of(r.get(1)?),
                visitors: u64_of(r.get(2)?),
                pageviews: u64_of(r.get(3)?),
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };

    let since = sql_int(q.now.saturating_sub(NOW_WINDOW_MS))?;
    let site = if q.client_id.is_none() {
        "s.client_id IS NOT NULL AND ?2 IS NULL"
    } else {
        "s.client_id = ?2"
    };
    let visitors_now: i64 = tx
        .prepare_cached(&format!(
            "SELECT count(DISTINCT coalesce('u:' || l.user_id, 'v:' || s.anonymous_id))
             FROM sessions s LEFT JOIN links l ON l.anonymous_id = s.anonymous_id
             WHERE s.last_seen >= ?1 AND {site}"
        ))?
        .query_row(params![since, q.client_id], |r| r.get(0))?;
    tx.execute_batch("DROP TABLE temp.visits")?;
    tx.finish()?;

    Ok(Metrics {
        client_id: q.client_id.clone(),
        from: q.from,
        to: q.to,
        interval: q.interval,
        visits: u64_of(visits),
        unique_visitors: u64_of(unique_visitors),
        pageviews: u64_of(pageviews),
        pages_per_visit,
        bounce_rate,
        avg_visit_ms: u64_of(avg_visit),
        avg_engaged_ms: u64_of(avg_engaged),
        visitors_now: u64_of(visitors_now),
        conversions: u64_of(conversions),
        conversion_rate,
        revenue,
        average_order_value,
        top_pages,
        entry_pages,
        exit_pages,
        referrers,
        series,
    })
}

pub fn sites(conn: &Connection) -> Result<Vec<Site>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT client_id, sum(event_count), max(last_seen) FROM sessions
         WHERE client_id IS NOT NULL GROUP BY client_id ORDER BY 3 DESC, 1",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Site {
            client_id: r.get(0)?,
            events: u64_of(r.get(1)?),
            last_seen: u64_of(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
