//! The metrics on a seeded store whose answers were worked out by hand.
//!
//! Day D is 2024-03-01 (UTC). Site `shop` (pages on shop.example), goal
//! `purchase`:
//!
//! | visit | person | starts | page views (path @ offset) | other | engaged | ends |
//! |---|---|---|---|---|---|---|
//! | S1 | A | D 10:00 | /home @0, /product @40 s; referrer search.example | purchase 50 @90 s | 4000 + 6000 | @100 s |
//! | S2 | B | D 11:00 | /home @0, direct | - | 2000 | @20 s (bounce) |
//! | S3 | C | D 23:50 | /blog @0 (www.social.example), /product D+1 00:05 | server purchase 30 D+1 00:08 | 3000 | D+1 00:10 |
//! | S4 | U1 (visitor D, before identify) | D 09:00 | /home @0, direct | - | 500 | @5 s (bounce) |
//! | S5 | U1 (visitor D identifies mid-visit) | D 12:00 | /home @0, /account @20 s | login @10 s | 1000 | @60 s |
//! | S6 | U1 (visitor E: a second device) | D 13:00 | /pricing @0, referrer shop.example (the site) | purchase "20" (no number) @30 s | 0 | @30 s |
//! | S7 | F, site `blog2` | D 14:00 | /x @0 | - | - | @0 |
//! | S8 | A | D+1 15:00 | /home @0 | - | - | @0 |
//! | S9 | G | D 10:00 | none: only a server purchase (no visit) | | | |

use super::*;
use crate::common::T0;
use sessionmark::wire::Props;
use sessionmark_collector::metrics::{Bucket, Count, Interval, Metrics, MetricsQuery, Site};

const D: u64 = 1_709_251_200_000;
const S: u64 = 1000;
const MIN: u64 = 60 * S;
const H: u64 = 60 * MIN;
const DAY: u64 = 24 * H;

fn session(k: u64) -> String {
    format!("sess_018e0e5c-5a00-7abc-8def-{k:012x}")
}

fn visitor(k: u64) -> String {
    format!("anon_00000000-0000-4000-8000-{k:012x}")
}

/// One seeded event; `n` makes its id.
struct Seed {
    event: Event,
    source: Source,
    page_host: Option<&'static str>,
}

fn seed(n: u64, s: u64, v: u64, at: u64, name: &str) -> Seed {
    Seed {
        event: Event {
            event_id: format!("0f8fad5b-d9cb-469f-a165-{n:012x}"),
            name: name.into(),
            session_id: session(s),
            anonymous_id: visitor(v),
            timestamp: at,
            client_id: "shop".into(),
            ..Event::default()
        },
        source: Source::Browser,
        page_host: Some("shop.example"),
    }
}

impl Seed {
    fn path(mut self, p: &str) -> Seed {
        self.event.path = p.into();
        self
    }
    fn referrer(mut self, r: &str) -> Seed {
        self.event.referrer = r.into();
        self
    }
    fn engaged(mut self, ms: u64) -> Seed {
        self.event.engaged_time = Some(ms);
        self
    }
    fn props(mut self, p: &str) -> Seed {
        self.event.properties = Props(p.into());
        self
    }
    fn user(mut self, u: &str) -> Seed {
        self.event.user_id = Some(u.into());
        self
    }
    fn site(mut self, c: &str) -> Seed {
        self.event.client_id = c.into();
        self
    }
    fn by_the_server(mut self) -> Seed {
        self.event.client_id = "server".into();
        self.source = Source::Server;
        self.page_host = None;
        self
    }
    fn new_event(&self) -> NewEvent {
        let body = serde_json::to_string(&self.event).unwrap();
        NewEvent::new(self.event.clone(), body, self.source, self.page_host)
    }
}

fn seeds() -> Vec<Vec<Seed>> {
    let (a, b, c, d, e, f, g) = (1, 2, 3, 4, 5, 6, 7);
    let s1 = D + 10 * H;
    let s3 = D + 23 * H + 50 * MIN;
    let s5 = D + 12 * H;
    let s6 = D + 13 * H;
    vec![
        // S1, its later events arriving first (an outbox sent late).
        vec![
            seed(3, 1, a, s1 + 40 * S, "screen_view")
                .path("/product")
                .referrer("https://search.example/?q=shoes"),
            seed(4, 1, a, s1 + 90 * S, "purchase")
                .path("/product")
                .props(r#"{"amount":50}"#),
            seed(5, 1, a, s1 + 100 * S, "page_exit")
                .path("/product")
                .engaged(6000),
        ],
        vec![
            seed(1, 1, a, s1, "screen_view")
                .path("/home")
                .referrer("https://search.example/?q=shoes"),
            seed(2, 1, a, s1 + 30 * S, "page_exit")
                .path("/home")
                .engaged(4000),
            // S2: a bounce, direct.
            seed(10, 2, b, D + 11 * H, "screen_view").path("/home"),
            seed(11, 2, b, D + 11 * H + 20 * S, "page_exit")
                .path("/home")
                .engaged(2000),
        ],
        // S3 spans midnight; its conversion is a server event only.
        vec![
            seed(20, 3, c, s3, "screen_view")
                .path("/blog")
                .referrer("https://www.social.example/post"),
            seed(21, 3, c, D + DAY + 5 * MIN, "screen_view")
                .path("/product")
                .referrer("https://www.social.example/post"),
            seed(23, 3, c, D + DAY + 10 * MIN, "page_exit")
                .path("/product")
                .engaged(3000),
        ],
        vec![seed(22, 3, c, D + DAY + 8 * MIN, "purchase")
            .props(r#"{"amount":30}"#)
            .by_the_server()],
        // S4: visitor D's earlier visit, before it identified.
        vec![
            seed(30, 4, d, D + 9 * H, "screen_view").path("/home"),
            seed(31, 4, d, D + 9 * H + 5 * S, "page_exit")
                .path("/home")
                .engaged(500),
        ],
        // S5: visitor D identifies as U1 mid-visit.
        vec![
            seed(40, 5, d, s5, "screen_view").path("/home"),
            seed(41, 5, d, s5 + 10 * S, "login").user("U1"),
            seed(42, 5, d, s5 + 20 * S, "screen_view")
                .path("/account")
                .user("U1"),
            seed(43, 5, d, s5 + 60 * S, "page_exit")
                .path("/account")
                .engaged(1000)
                .user("U1"),
        ],
        // S6: U1 on a second device (visitor E); a purchase without a number.
        vec![
            seed(50, 6, e, s6, "screen_view")
                .path("/pricing")
                .referrer("https://shop.example/account")
                .user("U1"),
            seed(51, 6, e, s6 + 30 * S, "purchase")
                .props(r#"{"amount":"20"}"#)
                .user("U1"),
        ],
        // S7: another site.
        vec![seed(60, 7, f, D + 14 * H, "screen_view")
            .path("/x")
            .site("blog2")],
        // S8: visitor A again, the next day.
        vec![seed(70, 8, a, D + DAY + 15 * H, "screen_view").path("/home")],
        // S9: a server event in a session with no browser event.
        vec![seed(80, 9, g, D + 10 * H, "purchase")
            .props(r#"{"amount":999}"#)
            .by_the_server()],
    ]
}

async fn seeded(store: &SharedStore) {
    for batch in seeds() {
        store
            .insert(Batch {
                events: batch.iter().map(Seed::new_event).collect(),
                received_at: NOW,
                seal_after_ms: SEAL_AFTER,
            })
            .await
            .unwrap();
    }
}

fn query(client: Option<&str>, from: u64, to: u64) -> MetricsQuery {
    MetricsQuery {
        client_id: client.map(str::to_owned),
        from,
        to,
        interval: Interval::for_range(from, to),
        now: D + DAY + 15 * H + 2 * MIN,
        goals: vec!["purchase".into()],
    }
}

fn counts(list: &[(&str, u64)]) -> Vec<Count> {
    list.iter()
        .map(|(v, c)| Count {
            value: (*v).into(),
            count: *c,
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn bucket(t: u64, visits: u64, visitors: u64, pageviews: u64) -> Bucket {
    Bucket {
        t,
        visits,
        visitors,
        pageviews,
    }
}

pub async fn the_metrics_of_a_day_are_the_hand_worked_ones(store: &SharedStore) {
    seeded(store).await;
    let m = store
        .metrics(query(Some("shop"), D, D + DAY))
        .await
        .unwrap();
    let want = Metrics {
        client_id: Some("shop".into()),
        from: D,
        to: D + DAY,
        interval: Interval::Hour,
        visits: 6,
        unique_visitors: 4,
        pageviews: 9,
        pages_per_visit: 1.5,
        bounce_rate: m.bounce_rate,
        avg_visit_ms: 235_833,
        avg_engaged_ms: 2750,
        visitors_now: 1,
        conversions: 3,
        conversion_rate: 0.5,
        revenue: 80.0,
        average_order_value: m.average_order_value,
        top_pages: counts(&[
            ("/home", 4),
            ("/product", 2),
            ("/account", 1),
            ("/blog", 1),
            ("/pricing", 1),
        ]),
        entry_pages: counts(&[("/home", 4), ("/blog", 1), ("/pricing", 1)]),
        exit_pages: counts(&[
            ("/home", 2),
            ("/product", 2),
            ("/account", 1),
            ("/pricing", 1),
        ]),
        referrers: counts(&[
            ("(direct)", 4),
            ("search.example", 1),
            ("social.example", 1),
        ]),
        series: vec![
            bucket(D + 9 * H, 1, 1, 1),
            bucket(D + 10 * H, 1, 1, 2),
            bucket(D + 11 * H, 1, 1, 1),
            bucket(D + 12 * H, 1, 1, 2),
            bucket(D + 13 * H, 1, 1, 1),
            bucket(D + 23 * H, 1, 1, 2),
        ],
    };
    assert_eq!(m, want);
    assert!(close(m.bounce_rate, 2.0 / 6.0), "{}", m.bounce_rate);
    assert!(
        close(m.average_order_value, 80.0 / 3.0),
        "{}",
        m.average_order_value
    );
}

pub async fn a_visit_spanning_midnight_counts_on_the_day_it_started(store: &SharedStore) {
    seeded(store).await;
    let days = store
        .metrics(query(Some("shop"), D, D + 3 * DAY))
        .await
        .unwrap();
    assert_eq!(days.interval, Interval::Day);
    assert_eq!(days.series, [bucket(D, 6, 4, 9), bucket(D + DAY, 1, 1, 1)]);
    assert_eq!(
        (days.visits, days.unique_visitors, days.pageviews),
        (7, 4, 10)
    );
    // The next day alone: S3's page view after midnight is not in it.
    let next = store
        .metrics(query(Some("shop"), D + DAY, D + 2 * DAY))
        .await
        .unwrap();
    assert_eq!((next.visits, next.pageviews), (1, 1));
    assert_eq!(next.top_pages, counts(&[("/home", 1)]));
    assert_eq!(
        next.conversions, 0,
        "S3's purchase after midnight belongs to its visit"
    );
}

pub async fn a_range_with_no_data_answers_zeros_and_empty_lists(store: &SharedStore) {
    seeded(store).await;
    let m = store
        .metrics(query(Some("shop"), D + 5 * DAY, D + 6 * DAY))
        .await
        .unwrap();
    assert_eq!(
        m,
        Metrics {
            client_id: Some("shop".into()),
            from: D + 5 * DAY,
            to: D + 6 * DAY,
            interval: Interval::Hour,
            visits: 0,
            unique_visitors: 0,
            pageviews: 0,
            pages_per_visit: 0.0,
            bounce_rate: 0.0,
            avg_visit_ms: 0,
            avg_engaged_ms: 0,
            visitors_now: 1,
            conversions: 0,
            conversion_rate: 0.0,
            revenue: 0.0,
            average_order_value: 0.0,
            top_pages: vec![],
            entry_pages: vec![],
            exit_pages: vec![],
            referrers: vec![],
            series: vec![],
        }
    );
    // A site with no event at all, now included.
    let other = store
        .metrics(query(Some("nobody"), T0, T0 + DAY))
        .await
        .unwrap();
    assert_eq!((other.visits, other.visitors_now), (0, 0));
}

pub async fn a_visitor_identifying_mid_visit_and_a_user_on_two_devices_are_one_person(
    store: &SharedStore,
) {
    seeded(store).await;
    // S4, S5 (visitor D, identified in S5) and S6 (visitor E, same user).
    let m = store
        .metrics(query(Some("shop"), D + 9 * H, D + 9 * H + 1))
        .await
        .unwrap();
    assert_eq!((m.visits, m.unique_visitors), (1, 1), "S4 alone");
    let m = store
        .metrics(query(Some("shop"), D + 12 * H, D + 14 * H))
        .await
        .unwrap();
    assert_eq!((m.visits, m.unique_visitors), (2, 1), "S5 and S6");
    let m = store
        .metrics(query(Some("shop"), D + 9 * H, D + 14 * H))
        .await
        .unwrap();
    assert_eq!((m.visits, m.unique_visitors), (5, 3), "A, B and U1");
}

pub async fn a_conversion_by_a_server_event_only_counts_for_the_visit_s_site(store: &SharedStore) {
    seeded(store).await;
    let m = store
        .metrics(query(Some("shop"), D + 23 * H, D + DAY))
        .await
        .unwrap();
    assert_eq!((m.visits, m.conversions), (1, 1));
    assert!(close(m.conversion_rate, 1.0));
    assert!(close(m.revenue, 30.0) && close(m.average_order_value, 30.0));
    // A session with only server events is no visit, whatever it bought.
    let all = store.metrics(query(None, D, D + DAY)).await.unwrap();
    assert_eq!((all.visits, all.conversions), (7, 3));
    assert!(close(all.revenue, 80.0));
}

pub async fn one_site_or_all_sites_are_counted(store: &SharedStore) {
    seeded(store).await;
    let blog = store
        .metrics(query(Some("blog2"), D, D + DAY))
        .await
        .unwrap();
    assert_eq!(
        (blog.visits, blog.pageviews, blog.unique_visitors),
        (1, 1, 1)
    );
    assert_eq!(blog.top_pages, counts(&[("/x", 1)]));
    assert_eq!(blog.bounce_rate, 1.0);
    assert_eq!(blog.visitors_now, 0);
    let all = store.metrics(query(None, D, D + DAY)).await.unwrap();
    assert_eq!((all.visits, all.unique_visitors, all.pageviews), (7, 5, 10));
    assert_eq!(all.client_id, None);
}

pub async fn other_goals_count_other_events_as_conversions(store: &SharedStore) {
    seeded(store).await;
    let q = MetricsQuery {
        goals: vec!["login".into(), "purchase".into()],
        ..query(Some("shop"), D, D + DAY)
    };
    let m = store.metrics(q).await.unwrap();
    // S1, S3, S6 bought; S5 logged in.
    assert_eq!(m.conversions, 4);
    assert!(close(m.average_order_value, 80.0 / 4.0));
}

pub async fn retried_events_change_no_figure(store: &SharedStore) {
    seeded(store).await;
    let before = store
        .metrics(query(Some("shop"), D, D + 3 * DAY))
        .await
        .unwrap();
    seeded(store).await;
    let after = store
        .metrics(query(Some("shop"), D, D + 3 * DAY))
        .await
        .unwrap();
    assert_eq!(before, after);
}

pub async fn sites_are_listed_with_their_events_most_recent_first(store: &SharedStore) {
    seeded(store).await;
    let sites = store.sites().await.unwrap();
    assert_eq!(
        sites,
        [
            Site {
                client_id: "shop".into(),
                events: 20,
                last_seen: D + DAY + 15 * H,
            },
            Site {
                client_id: "blog2".into(),
                events: 1,
                last_seen: D + 14 * H,
            },
        ]
    );
}
