//! The site owner's figures (`GET /v1/metrics`, `GET /v1/sites`): what is
//! asked, and the answer's shape. Each store computes the figures in its
//! own SQL, by the definitions in the README ("Metrics definitions"), which
//! the doc comments below repeat in short.

use serde::Serialize;

/// An hour, in ms.
pub const HOUR_MS: u64 = 60 * 60 * 1000;
/// A day, in ms.
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// The default range: the 7 days before `to`.
pub const DEFAULT_RANGE_MS: u64 = 7 * DAY_MS;
/// Ranges up to this long get an hourly series; longer ones a daily one.
pub const HOURLY_UP_TO_MS: u64 = 2 * DAY_MS;
/// "Now" for `visitors_now`: the last 5 minutes.
pub const NOW_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Rows in each top list.
pub const TOP: u32 = 10;
/// The goal of `SESSIONMARK_GOALS` unset.
pub const DEFAULT_GOAL: &str = "purchase";

/// The series' bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    /// Hourly up to 2 days, else daily.
    pub fn for_range(from: u64, to: u64) -> Interval {
        if to.saturating_sub(from) <= HOURLY_UP_TO_MS {
            Interval::Hour
        } else {
            Interval::Day
        }
    }

    pub fn ms(self) -> u64 {
        match self {
            Interval::Hour => HOUR_MS,
            Interval::Day => DAY_MS,
        }
    }
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery {
    /// One site, or all (`None`).
    pub client_id: Option<String>,
    /// The range of visit starts, ms: `from <= start < to`.
    pub from: u64,
    pub to: u64,
    /// The series' buckets (UTC hours or days).
    pub interval: Interval,
    /// The server clock, for `visitors_now`.
    pub now: u64,
    /// Event names that count as conversions.
    pub goals: Vec<String>,
}

/// One row of a top list.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Count {
    pub value: String,
    pub count: u64,
}

/// One bucket of the series: the visits that started in it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Bucket {
    /// Its start, ms (UTC hour or day).
    pub t: u64,
    pub visits: u64,
    pub visitors: u64,
    pub pageviews: u64,
}

/// The answer of `GET /v1/metrics`. Every figure is about the visits that
/// started in the range (all their events, even those after `to`), except
/// `visitors_now`. Rates are fractions 0..1; with no visits every figure is
/// 0 and every list empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub client_id: Option<String>,
    pub from: u64,
    pub to: u64,
    pub interval: Interval,
    /// Sessions of the site with a browser event, started in the range.
    pub visits: u64,
    /// Distinct people of those visits: the linked user, else the visitor.
    pub unique_visitors: u64,
    /// Their `screen_view` events from the browser.
    pub pageviews: u64,
    pub pages_per_visit: f64,
    /// Visits with one page view and no browser event besides it and its
    /// `page_exit`, over visits.
    pub bounce_rate: f64,
    /// Mean of last event time minus first, ms.
    pub avg_visit_ms: u64,
    /// Mean of each visit's summed `engaged_time` of its `page_exit`s, ms.
    pub avg_engaged_ms: u64,
    /// Distinct people with an event in the 5 minutes before now (any
    /// visit, whatever the range).
    pub visitors_now: u64,
    /// Visits with at least one goal event (browser or server).
    pub conversions: u64,
    pub conversion_rate: f64,
    /// Sum of the numeric `amount` of their goal events.
    pub revenue: f64,
    /// Revenue over goal events.
    pub average_order_value: f64,
    /// Paths of the page views.
    pub top_pages: Vec<Count>,
    /// Path of each visit's first page view.
    pub entry_pages: Vec<Count>,
    /// Path of each visit's last page view.
    pub exit_pages: Vec<Count>,
    /// Referrer host of each visit's first page view, `(direct)` when none
    /// or the site itself.
    pub referrers: Vec<Count>,
    /// The visits by the bucket they started in; buckets without visits are
    /// left out.
    pub series: Vec<Bucket>,
}

/// One row of `GET /v1/sites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Site {
    pub client_id: String,
    /// Events stored in the site's sessions (their server events included).
    pub events: u64,
    /// The latest event timestamp of those sessions, ms.
    pub last_seen: u64,
}

/// The `(direct)` of the referrer list.
pub const DIRECT: &str = "(direct)";

/// `SESSIONMARK_GOALS`: a comma list of event names; unset or empty means
/// `purchase`. Names are trimmed; empty ones are dropped.
pub fn goals_from(setting: Option<&str>) -> Vec<String> {
    let goals: Vec<String> = setting
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    if goals.is_empty() {
        vec![DEFAULT_GOAL.to_owned()]
    } else {
        goals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_up_to_two_days_are_hourly_and_longer_ones_daily() {
        assert_eq!(Interval::for_range(0, HOURLY_UP_TO_MS), Interval::Hour);
        assert_eq!(Interval::for_range(0, HOURLY_UP_TO_MS + 1), Interval::Day);
        assert_eq!(Interval::for_range(5, 5 + HOUR_MS), Interval::Hour);
    }

    #[test]
    fn goals_default_to_purchase_and_are_a_trimmed_comma_list() {
        assert_eq!(goals_from(None), ["purchase"]);
        assert_eq!(goals_from(Some(" , ")), ["purchase"]);
        assert_eq!(
            goals_from(Some("signup, purchase ,,trial")),
            ["signup", "purchase", "trial"]
        );
    }
}
