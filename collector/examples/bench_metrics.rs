//! `npm run bench:metrics`: how long the metrics take with 1,000,000 stored
//! events, on SQLite and (scripts/bench-metrics.mjs, when ClickHouse is
//! installed) on ClickHouse.
//!
//! Seeds a database (SQLite: kept in `.cache/bench-metrics/`, reused while
//! its event count matches; `--fresh` seeds again; ClickHouse: the database
//! of `--store=clickhouse://...`) through the store's own write path:
//! 30 days of three sites, visits of 3-5 page views with their exits,
//! clicks, identifications and purchases (some from the server), 60
//! visitors in 100 coming back. Then times each query 5 times and prints the
//! median, with the figures it found so they can be checked for sense.
//!
//! Options: `--events=N` (default 1000000), `--fresh`, `--store=URL` (a
//! `clickhouse://` URL; default: SQLite).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sessionmark::rand::Rng;
use sessionmark::wire::{Event, Props};
use sessionmark_collector::metrics::{Interval, MetricsQuery};
use sessionmark_collector::store::{self, Batch, NewEvent, Source, Store, StoreConfig};
use std::sync::Arc;
use std::time::Instant;

const DAY: u64 = 24 * 60 * 60 * 1000;
/// The end of the seeded month: 2024-04-01T00:00:00Z.
const END: u64 = 1_711_929_600_000;
const SITES: [&str; 3] = ["shop", "blog", "docs"];
const REFERRERS: [&str; 8] = [
    "",
    "",
    "https://www.google.com/search?q=x",
    "https://news.example/item",
    "https://social.example/p/1",
    "https://shop.example/",
    "https://duckduckgo.com/",
    "https://partner.example/links",
];

fn uuid(rng: &mut Rng) -> String {
    let b = rng.bytes16();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn pick<'a>(rng: &mut Rng, of: &[&'a str]) -> &'a str {
    of[rng.below_or_eq(of.len() as u64 - 1) as usize]
}

/// One visit's events, in order.
fn visit(rng: &mut Rng, visitors: &mut Vec<String>, users: &mut u64) -> Vec<NewEvent> {
    let returning = !visitors.is_empty() && rng.below_or_eq(99) < 60;
    let visitor = if returning {
        visitors[rng.below_or_eq(visitors.len() as u64 - 1) as usize].clone()
    } else {
        let v = format!("anon_{}", uuid(rng));
        visitors.push(v.clone());
        v
    };
    let start = END - 30 * DAY + rng.below_or_eq(30 * DAY - 1);
    let session = format!("sess_{}", event_id(start));
    let site = pick(rng, &SITES);
    let referrer = pick(rng, &REFERRERS);
    let user = (rng.below_or_eq(9) == 0).then(|| {
        *users += 1;
        format!("user-{}", *users % 5000)
    });
    let mut out = Vec::new();
    let mut t = start;
    let mut push = |name: &str, t: u64, path: String, f: &dyn Fn(&mut Event), source: Source| {
        let mut e = Event {
            event_id: event_id(t),
            name: name.into(),
            session_id: session.clone(),
            anonymous_id: visitor.clone(),
            timestamp: t,
            path,
            title: "A page".into(),
            referrer: referrer.into(),
            client_id: if source == Source::Server {
                "server".into()
            } else {
                site.into()
            },
            ..Event::default()
        };
        f(&mut e);
        let body = serde_json::to_string(&e).unwrap();
        out.push(NewEvent::new(e, body, source, Some("shop.example")));
    };
    let pages = 3 + rng.below_or_eq(2);
    for p in 0..pages {
        let path = format!("/page/{}", rng.below_or_eq(49));
        push(
            "screen_view",
            t,
            path.clone(),
            &|e| e.page_count = Some(p + 1),
            Source::Browser,
        );
        let stay = 5_000 + rng.below_or_eq(60_000);
        if rng.below_or_eq(1) == 0 {
            push(
                "click",
                t + stay / 2,
                path.clone(),
                &|_| {},
                Source::Browser,
            );
        }
        if p == 1 {
            if let Some(u) = &user {
                push(
                    "login",
                    t + stay / 3,
                    path.clone(),
                    &|e| e.user_id = Some(u.clone()),
                    Source::Browser,
                );
            }
        }
        push(
            "page_exit",
            t + stay,
            path,
            &|e| e.engaged_time = Some(stay / 2),
            Source::Browser,
        );
        t += stay + 1000;
    }
    if rng.below_or_eq(19) == 0 {
        let amount = 10 + rng.below_or_eq(90);
        let source = if rng.below_or_eq(1) == 0 {
            Source::Server
        } else {
            Source::Browser
        };
        push(
            "purchase",
            t,
            String::new(),
            &|e| e.properties = Props(format!("{{\"amount\":{amount}}}")),
            source,
        );
    }
    out
}

/// A UUIDv7 of `t`, made unique by a counter, as a tracker's event and
/// session ids are.
fn event_id(t: u64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{:08x}-{:04x}-7000-8000-{n:012x}", t >> 16, t & 0xffff)
}

/// CPU time this process used so far (user + system), ms.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 10 ms.
    (ticks(11) + ticks(12)) * 10.0
}

fn median_ms(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[runs.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let want: u64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--events="))
        .map_or(1_000_000, |v| v.parse().unwrap());
    let fresh = args.iter().any(|a| a == "--fresh");
    let url = args.iter().find_map(|a| a.strip_prefix("--store="));
    let (store, place): (Arc<dyn Store>, String) = match url {
        Some(url) => {
            let config = StoreConfig::ClickHouse(url.to_owned());
            (
                store::open(&config).await.unwrap(),
                format!("ClickHouse {url}"),
            )
        }
        None => {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/bench-metrics");
            std::fs::create_dir_all(&dir).unwrap();
            let dir = dir.canonicalize().unwrap();
            let path = dir.join(format!("metrics-{want}.db"));
            if fresh {
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
                }
            }
            let config = StoreConfig::Sqlite(path.clone());
            (
                store::open(&config).await.unwrap(),
                format!("SQLite {}", path.display()),
            )
        }
    };
    let have = count(&store).await;
    if have < want {
        eprintln!("bench:metrics: seeding {place} ({have} events there)");
        let t0 = Instant::now();
        let mut rng = Rng::new(42, have);
        let mut visitors = Vec::new();
        let mut users = 0;
        let mut stored = have;
        let mut pending = Vec::new();
        while stored < want {
            let mut batch = Vec::new();
            while batch.len() < 100 {
                batch.extend(visit(&mut rng, &mut visitors, &mut users));
            }
            stored += batch.len() as u64;
            let store = Arc::clone(&store);
            pending.push(tokio::spawn(async move {
                store
                    .insert(Batch {
                        events: batch,
                        received_at: END,
                        seal_after_ms: DAY,
                    })
                    .await
                    .unwrap()
            }));
            if pending.len() >= 64 {
                for p in pending.drain(..) {
                    p.await.unwrap();
                }
            }
        }
        for p in pending {
            p.await.unwrap();
        }
        let s = t0.elapsed().as_secs_f64();
        eprintln!(
            "bench:metrics: seeded in {s:.1} s ({:.0} events/s through the store)",
            (stored - have) as f64 / s
        );
    }
    let total = count(&store).await;
    println!("metrics on {total} events ({place}), median of 5 runs:");
    let q = |client: Option<&str>, days: u64| MetricsQuery {
        client_id: client.map(str::to_owned),
        from: END - days * DAY,
        to: END,
        interval: Interval::for_range(END - days * DAY, END),
        now: END,
        goals: vec!["purchase".into()],
    };
    let cases = [
        ("all sites, 30 days (daily)", q(None, 30)),
        ("all sites, 7 days (daily)", q(None, 7)),
        ("one site, 7 days (daily)", q(Some("shop"), 7)),
        ("one site, 1 day (hourly)", q(Some("shop"), 1)),
    ];
    println!("| query | median ms | CPU ms per run | visits | pageviews | conversions |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, query) in cases {
        let mut runs = Vec::new();
        let mut last = None;
        let cpu0 = cpu_ms();
        for _ in 0..5 {
            let t0 = Instant::now();
            last = Some(store.metrics(query.clone()).await.unwrap());
            runs.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        let cpu = (cpu_ms() - cpu0) / 5.0;
        let m = last.unwrap();
        let ms = median_ms(runs);
        println!(
            "| {name} | {ms:.0} | {cpu:.0} | {} | {} | {} |",
            m.visits, m.pageviews, m.conversions
        );
    }
    let mut runs = Vec::new();
    let cpu0 = cpu_ms();
    for _ in 0..5 {
        let t0 = Instant::now();
        store.sites().await.unwrap();
        runs.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu = (cpu_ms() - cpu0) / 5.0;
    println!("| sites | {:.0} | {cpu:.0} | | | |", median_ms(runs));
}

/// Events stored: every seeded session has a browser event, so the sites'
/// counts hold them all.
async fn count(store: &Arc<dyn Store>) -> u64 {
    store.sites().await.unwrap().iter().map(|s| s.events).sum()
}
