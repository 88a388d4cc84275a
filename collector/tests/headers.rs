//! Security headers on every answer, and the precompressed tracker bundles
//! with their caching headers.

mod common;

use axum::http::StatusCode;
use common::app::App;
use common::*;

fn app() -> App {
    App::build(false, |s| s)
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = app();
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/index.html"),
        ("GET", "/missing.html"),
        ("GET", "/dist/sessionmark.js"),
        ("GET", "/dist/sessionmark.mjs"),
        ("GET", "/v1/events"),
        ("GET", "/v1/sessions"),
        ("GET", "/v1/nowhere"),
        ("GET", "/healthz"),
        ("POST", "/v1/batch"),
        ("GET", "/v1/batch"),
    ] {
        let a = app.with_headers(method, path, &[]).await;
        let csp = a.header("content-security-policy");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{method} {path}: {csp:?}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{method} {path}");
        assert!(!csp.contains("unsafe-inline"), "{method} {path}");
        assert_eq!(
            a.header("x-content-type-options"),
            "nosniff",
            "{method} {path}"
        );
        assert_eq!(a.header("x-frame-options"), "DENY", "{method} {path}");
        assert_eq!(
            a.header("referrer-policy"),
            "strict-origin-when-cross-origin",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn extra_connect_sources_are_added_to_the_policy() {
    let app = App::build(false, |s| {
        s.with_csp_connect_src(Some("http://127.0.0.1:*".into()))
    });
    let a = app.get("/").await;
    assert!(a
        .header("content-security-policy")
        .contains("connect-src 'self' http://127.0.0.1:*;"));
}

#[tokio::test]
async fn a_wrong_method_is_answered_405_with_a_reason() {
    let a = app().get("/v1/batch").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.json()["error"].is_string());
    assert!(a.header("allow").contains("POST"));
}

#[tokio::test]
async fn the_bundles_are_served_precompressed_by_accept_encoding() {
    let app = app();
    for (file, module) in [("sessionmark.js", "script"), ("sessionmark.mjs", "module")] {
        let path = format!("/dist/{file}");
        let br = app
            .with_headers("GET", &path, &[("accept-encoding", "gzip, deflate, br")])
            .await;
        assert_eq!(br.status, StatusCode::OK);
        assert_eq!(br.header("content-encoding"), "br");
        assert_eq!(br.body, format!("brotli of the {module}").as_bytes());
        assert_eq!(br.header("content-type"), "text/javascript");
        let gz = app
            .with_headers("GET", &path, &[("accept-encoding", "gzip")])
            .await;
        assert_eq!(gz.header("content-encoding"), "gzip");
        assert_eq!(gz.body, format!("gzip of the {module}").as_bytes());
        let plain = app.with_headers("GET", &path, &[]).await;
        assert_eq!(plain.header("content-encoding"), "");
        for a in [&br, &gz, &plain] {
            assert_eq!(a.header("vary"), "accept-encoding");
            assert_eq!(a.header("cache-control"), "public, max-age=3600");
            assert!(a.header("etag").starts_with('"'), "{:?}", a.header("etag"));
        }
        let tags = [br.header("etag"), gz.header("etag"), plain.header("etag")];
        assert!(
            tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
            "{tags:?}"
        );
    }
}

#[tokio::test]
async fn a_bundle_revalidated_with_its_etag_is_answered_304() {
    let app = app();
    let path = "/dist/sessionmark.js";
    let first = app
        .with_headers("GET", path, &[("accept-encoding", "br")])
        .await;
    let etag = first.header("etag").to_owned();
    let again = app
        .with_headers(
            "GET",
            path,
            &[("accept-encoding", "br"), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), etag);
    assert_eq!(again.header("cache-control"), "public, max-age=3600");
    // The brotli copy's tag does not revalidate the gzip copy.
    let other = app
        .with_headers(
            "GET",
            path,
            &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn batches_past_the_request_burst_are_answered_429_with_retry_after() {
    use sessionmark_collector::limits::{Limits, Rate};
    use std::num::NonZeroU32;
    let n = |v| NonZeroU32::new(v).unwrap();
    let app = App::build(false, |s| {
        s.with_limits(Limits {
            rate: Rate {
                requests_per_sec: n(1),
                requests_burst: n(2),
                ..Rate::default()
            },
            ..Limits::default()
        })
    });
    for i in 1..=2 {
        assert_eq!(
            app.post("/v1/batch", body(&[event(i, "a")]))
                .await
                .batch()
                .accepted,
            1
        );
    }
    let refused = app.post("/v1/batch", body(&[event(3, "a")])).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), "1");
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("rate limit"));
    // Reads are not charged to ingest quotas.
    assert_eq!(app.session_events(SESSION).await.len(), 2);
}

#[tokio::test]
async fn bodies_past_a_clients_kib_quota_are_answered_429_however_they_are_framed() {
    use sessionmark_collector::limits::{Limits, Rate};
    use std::num::NonZeroU32;
    let n = |v| NonZeroU32::new(v).unwrap();
    let app = App::build(false, |s| {
        s.with_limits(Limits {
            rate: Rate {
                kib_per_sec: n(1),
                kib_burst: n(1024),
                ..Rate::default()
            },
            ..Limits::default()
        })
    });
    // 600 KiB of padding in one valid batch; no Content-Length in process.
    let padded = |n: u64| {
        let mut e = encode(&event(n, "a"));
        e.insert_str(1, &format!("\"pad\":1{},", " ".repeat(600 * 1024)));
        format!("{{\"events\":[{e}]}}")
    };
    let first = app.post("/v1/batch", padded(1)).await;
    assert_eq!(
        first.status,
        StatusCode::OK,
        "the event itself is rejected, the body was read"
    );
    let second = app.post("/v1/batch", padded(2)).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(second.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(app.session_events(SESSION).await.is_empty());
}
