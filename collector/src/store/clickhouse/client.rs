//! ClickHouse's HTTP interface: one pooled HTTP/1.1 client (hyper's), SQL in
//! the request body, rows in and out as `JSONEachRow`.
//!
//! Every request carries `wait_end_of_query=1`, so ClickHouse buffers the
//! whole answer before its status line: a query that fails half way is an
//! HTTP error, never a 200 with an error at the end of the body. An `INSERT`
//! is answered only once its rows are written, so a 200 is ClickHouse's
//! acknowledgement.

use super::address::Address;
use axum::body::Bytes;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// How long one request may take, connecting included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read (a page of events is bounded well below this).
pub const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;
/// Longest server message kept in an error.
const MAX_MESSAGE_BYTES: usize = 500;
/// Largest SQL text ClickHouse parses (its default is 256 KiB; the `IN`
/// lists of a large group commit can be longer). Rows after `FORMAT` are
/// not part of it.
const MAX_QUERY_BYTES: u32 = 4 * 1024 * 1024;

static USER: HeaderName = HeaderName::from_static("x-clickhouse-user");
static KEY: HeaderName = HeaderName::from_static("x-clickhouse-key");

/// Why a ClickHouse request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickHouseError {
    /// No answer: refused, reset, or no answer within [`REQUEST_TIMEOUT`].
    Unreachable(String),
    /// ClickHouse answered with an error: its HTTP status, its error code
    /// (`Code: 60` is an unknown table) and message.
    Server {
        status: u16,
        code: Option<u32>,
        message: String,
    },
    /// An answer this client cannot read.
    BadAnswer(String),
}

impl std::fmt::Display for ClickHouseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClickHouseError::Unreachable(why) => write!(f, "clickhouse unreachable: {why}"),
            ClickHouseError::Server {
                status, message, ..
            } => write!(f, "clickhouse answered {status}: {message}"),
            ClickHouseError::BadAnswer(why) => write!(f, "clickhouse answer unreadable: {why}"),
        }
    }
}

impl std::error::Error for ClickHouseError {}

/// A handle on one ClickHouse server; cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Client {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    /// `http://host:port/?settings`: every request goes to this URL.
    endpoint: String,
    user: Option<HeaderValue>,
    key: Option<HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `address` (no request is made yet).
    pub fn new(address: &Address) -> Result<Client, String> {
        let header = |v: &str| {
            let mut h = HeaderValue::from_bytes(v.as_bytes())
                .map_err(|_| "the ClickHouse user or password holds a control character")?;
            h.set_sensitive(true);
            Ok::<_, &str>(h)
        };
        let user = address.user.as_deref().map(header).transpose()?;
        let key = address.password.as_deref().map(header).transpose()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let http = HyperClient::builder(TokioExecutor::new())
            // ClickHouse closes idle keep-alive connections after 3 s
            // (`keep_alive_timeout`); dropping ours first avoids sending a
            // request into a connection it is closing.
            .pool_idle_timeout(Duration::from_secs(2))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Client {
            http,
            endpoint: format!(
                "{}/?wait_end_of_query=1&output_format_json_quote_64bit_integers=0&max_query_size={MAX_QUERY_BYTES}",
                address.origin()
            ),
            user,
            key,
        })
    }

    /// Runs one statement; returns the answer's body.
    pub async fn execute(&self, sql: &str) -> Result<Bytes, ClickHouseError> {
        self.post(Bytes::from(sql.to_owned())).await
    }

    /// Runs a `SELECT` and reads its rows (`FORMAT JSONEachRow` is added).
    pub async fn rows<T: serde::de::DeserializeOwned>(
        &self,
        select: &str,
    ) -> Result<Vec<T>, ClickHouseError> {
        let body = self
            .execute(&format!("{select} FORMAT JSONEachRow"))
            .await?;
        body.split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_slice(line).map_err(|e| ClickHouseError::BadAnswer(e.to_string()))
            })
            .collect()
    }

    /// Inserts rows, each one JSON object followed by `\n` (`JSONEachRow`),
    /// into `table` (`database.table`). Returns once ClickHouse acknowledged
    /// them.
    pub async fn insert(&self, table: &str, rows: &[u8]) -> Result<(), ClickHouseError> {
        let head = format!("INSERT INTO {table} FORMAT JSONEachRow\n");
        let mut body = Vec::with_capacity(head.len() + rows.len());
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(rows);
        self.post(Bytes::from(body)).await.map(|_| ())
    }

    /// `GET /`: true when the server answers `Ok.`.
    pub async fn ping(&self) -> Result<(), ClickHouseError> {
        let root = self.endpoint.split('?').next().unwrap_or(&self.endpoint);
        let req = Request::get(root)
            .body(Full::new(Bytes::new()))
            .map_err(|e| ClickHouseError::Unreachable(e.to_string()))?;
        let (status, body) = self.send(req).await?;
        if status == StatusCode::OK && body.trim_ascii() == b"Ok." {
            Ok(())
        } else {
            Err(server_error(status, &body))
        }
    }

    async fn post(&self, body: Bytes) -> Result<Bytes, ClickHouseError> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(&self.endpoint)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
        if let Some(u) = &self.user {
            req = req.header(&USER, u.clone());
        }
        if let Some(k) = &self.key {
            req = req.header(&KEY, k.clone());
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| ClickHouseError::Unreachable(e.to_string()))?;
        let (status, body) = self.send(req).await?;
        if status == StatusCode::OK {
            Ok(body)
        } else {
            Err(server_error(status, &body))
        }
    }

    async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), ClickHouseError> {
        let exchange = async {
            let res = self
                .http
                .request(req)
                .await
                .map_err(|e| ClickHouseError::Unreachable(error_chain(&e)))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| ClickHouseError::Unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(ClickHouseError::Unreachable(format!(
                "no answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// `Code: 60, e.displayText() = DB::Exception: ...` (18.16) or
/// `Code: 60. DB::Exception: ...` (current): the code and a bounded message.
fn server_error(status: StatusCode, body: &[u8]) -> ClickHouseError {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let code = text.strip_prefix("Code: ").and_then(|rest| {
        let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        digits.parse::<u32>().ok()
    });
    ClickHouseError::Server {
        status: status.as_u16(),
        code,
        message: sessionmark::json::truncate(text, MAX_MESSAGE_BYTES).to_owned(),
    }
}

/// hyper's errors say "client error (Connect)" and keep the cause inside.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_code_is_read_from_old_and_new_messages() {
        let old = b"Code: 60, e.displayText() = DB::Exception: Table db.t doesn't exist., e.what() = DB::Exception\n";
        let new =
            b"Code: 60. DB::Exception: Table db.t does not exist. (UNKNOWN_TABLE) (version 24.3.1)";
        for body in [&old[..], &new[..]] {
            let e = server_error(StatusCode::NOT_FOUND, body);
            assert!(
                matches!(
                    e,
                    ClickHouseError::Server {
                        status: 404,
                        code: Some(60),
                        ..
                    }
                ),
                "{e:?}"
            );
        }
    }

    #[test]
    fn long_server_messages_are_cut() {
        let body = format!("Code: 62, {}", "x".repeat(10_000));
        let e = server_error(StatusCode::INTERNAL_SERVER_ERROR, body.as_bytes());
        assert!(
            matches!(&e, ClickHouseError::Server { code: Some(62), message, .. } if message.len() <= MAX_MESSAGE_BYTES),
            "{e:?}"
        );
    }
}
