//! ClickHouse, the store past one machine: any number of stateless
//! collectors in front of one ClickHouse server or cluster, through its HTTP
//! interface. Everything the collectors must agree on (which events are
//! stored, which sessions are sealed) lives in ClickHouse.
//!
//! - [`address`]: the `clickhouse://` URL of `SESSIONMARK_STORE`.
//! - [`client`]: the HTTP client (SQL in, `JSONEachRow` rows in and out).
//! - [`schema`]: the tables and why they are shaped so; [`rows`]: an event's row.
//! - [`group`]: group commit (concurrent batches in one insert, bounded);
//!   [`plan`]: the store's rules applied to a group; [`commit`]: the
//!   group's reads and writes; [`arrival`]: the listing order of arrivals.
//! - [`read`]: the read API and sealing on request; [`metrics`]: the site
//!   owner's figures.
//! - [`sql`]: values written into SQL text.

pub mod address;
pub mod arrival;
pub mod client;
pub mod commit;
pub mod group;
pub mod metrics;
pub mod plan;
pub mod read;
pub mod rows;
pub mod schema;
pub mod sql;

pub use address::Address;
pub use client::{ClickHouseError, Client};
pub use group::Limits;

use super::{Batch, EventPage, EventQuery, Inserted, SessionRow, Store, StoreError};
use crate::metrics::{Metrics, MetricsQuery, Site};
use async_trait::async_trait;
use commit::ClickHouseCommit;
use group::GroupCommit;
use std::collections::HashMap;
use tokio::sync::OnceCell;

/// The ClickHouse store: a client, the database, and the group-commit
/// queue of this collector. Cheap to share (`Arc<dyn Store>`).
pub struct ClickHouseStore {
    address: Address,
    client: Client,
    writes: GroupCommit,
    /// The server's version once the tables are known to exist.
    ready: OnceCell<String>,
}

impl ClickHouseStore {
    /// Connects: checks the server answers, creates the database and tables
    /// when missing, starts the writer. Needs a tokio runtime.
    pub async fn open(address: Address, limits: Limits) -> Result<ClickHouseStore, StoreError> {
        let store = ClickHouseStore::new(address, limits)?;
        store.ready().await?;
        Ok(store)
    }

    /// Like [`open`](Self::open) but without touching the server yet: the
    /// first request creates the tables, the first batch starts the writer
    /// task on its tokio runtime.
    pub fn new(address: Address, limits: Limits) -> Result<ClickHouseStore, StoreError> {
        let client = Client::new(&address).map_err(|e| StoreError::Failed(e.to_owned()))?;
        let writes = GroupCommit::start(
            ClickHouseCommit {
                client: client.clone(),
                database: address.database.clone(),
                arrivals: Default::default(),
            },
            limits,
        );
        Ok(ClickHouseStore {
            address,
            client,
            writes,
            ready: OnceCell::new(),
        })
    }

    /// The database, once its tables exist (created on first use).
    async fn ready(&self) -> Result<&str, StoreError> {
        self.ready
            .get_or_try_init(|| async {
                let statements =
                    schema::create_statements(&self.address.database).ok_or_else(|| {
                        StoreError::Failed(format!(
                            "{}: not a database name",
                            self.address.display()
                        ))
                    })?;
                let named = |e: ClickHouseError| {
                    StoreError::Failed(format!("{}: {e}", self.address.display()))
                };
                let version = self
                    .client
                    .execute("SELECT version()")
                    .await
                    .map_err(named)?;
                for statement in statements {
                    self.client.execute(&statement).await.map_err(named)?;
                }
                Ok::<_, StoreError>(String::from_utf8_lossy(&version).trim().to_owned())
            })
            .await?;
        Ok(&self.address.database)
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    fn describe(&self) -> String {
        match self.ready.get() {
            Some(version) => format!(
                "clickhouse {} (ClickHouse {version})",
                self.address.display()
            ),
            None => format!("clickhouse {}", self.address.display()),
        }
    }

    async fn insert(&self, batch: Batch) -> Result<Inserted, StoreError> {
        self.ready().await?;
        self.writes.submit(batch).await
    }

    async fn seal(&self, session_id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let db = self.ready().await?;
        read::seal(&self.client, db, session_id, now_ms).await
    }

    async fn visitors(
        &self,
        session_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let db = self.ready().await?;
        read::visitors(&self.client, db, session_ids).await
    }

    async fn events(&self, query: EventQuery) -> Result<EventPage, StoreError> {
        let db = self.ready().await?;
        read::events(&self.client, db, &query).await
    }

    async fn sessions(&self, limit: u32) -> Result<Vec<SessionRow>, StoreError> {
        let db = self.ready().await?;
        read::sessions(&self.client, db, limit).await
    }

    async fn metrics(&self, query: MetricsQuery) -> Result<Metrics, StoreError> {
        let db = self.ready().await?;
        metrics::metrics(&self.client, db, &query).await
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        let db = self.ready().await?;
        metrics::sites(&self.client, db).await
    }
}
