//! The collector's router in process, and answers read back from it.

use super::{site, TempDir};
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use sessionmark::wire::BatchAnswer;
use sessionmark_collector::store::clickhouse::{Address, ClickHouseStore, Limits};
use sessionmark_collector::store::sqlite::SqliteStore;
use sessionmark_collector::store::SharedStore;
use sessionmark_collector::{router, AppState};
use std::sync::Arc;
use tower::ServiceExt;

pub struct App {
    pub router: Router,
    _dir: TempDir,
}

impl App {
    /// A fresh database and site; `configure` adjusts the state (clock,
    /// seal timeout) before the router is built. The store is SQLite, or
    /// ClickHouse (a fresh database on the test run's server) when
    /// `SESSIONMARK_TEST_STORE=clickhouse`: `scripts/test.sh` runs the
    /// HTTP tests both ways.
    pub fn build(hooks: bool, configure: impl FnOnce(AppState) -> AppState) -> App {
        let dir = TempDir::new("api");
        let (www, dist) = site(&dir);
        let store: SharedStore = if test_store_is_clickhouse() {
            let url = super::clickhouse::fresh_store_url("http");
            let address = Address::parse(&url, |_| None).unwrap();
            Arc::new(ClickHouseStore::new(address, Limits::default()).unwrap())
        } else {
            Arc::new(SqliteStore::open(&dir.0.join("data/test.db")).unwrap())
        };
        App {
            router: router(configure(AppState::new(store, hooks)), &www, &dist),
            _dir: dir,
        }
    }
}

/// `SESSIONMARK_TEST_STORE=clickhouse`: the HTTP tests run on ClickHouse.
pub fn test_store_is_clickhouse() -> bool {
    std::env::var("SESSIONMARK_TEST_STORE").as_deref() == Ok("clickhouse")
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn batch(&self) -> BatchAnswer {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

impl App {
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: impl Into<Body>) -> Answer {
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .body(body.into())
                .unwrap(),
        )
        .await
    }

    /// A CORS preflight from another origin for a POST carrying X-Session-ID.
    pub async fn preflight(&self, path: &str) -> Answer {
        self.send(
            Request::options(path)
                .header(header::ORIGIN, "https://shop.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "content-type,x-session-id",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// A request with these headers and an empty body.
    pub async fn with_headers(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn events(&self, query: &str) -> Vec<Value> {
        let a = self.get(&format!("/v1/events{query}")).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header("content-type"), "application/json");
        match a.json() {
            Value::Array(v) => v,
            other => panic!("not an array: {other}"),
        }
    }

    pub async fn session_events(&self, session: &str) -> Vec<Value> {
        self.events(&format!("?session_id={session}")).await
    }
}
