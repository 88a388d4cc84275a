//! One group commit on ClickHouse: read what is stored for the group's
//! sessions (three queries at once), plan (`plan`), write the seals, the
//! visitor -> user links, then the events, and answer only when ClickHouse
//! has acknowledged all of them.
//!
//! Every collector does the same against the same tables, so sealing and
//! duplicates are decided from ClickHouse, not from this process's memory.
//! Two collectors that commit the same new event at the same moment may
//! both count it as accepted; both copies are then one row (the sorting
//! key's `ReplacingMergeTree`), and every read that counts sees one.

use super::arrival::Arrivals;
use super::client::{ClickHouseError, Client};
use super::group::Commit;
use super::plan::{plan, Stored};
use super::rows::EventRow;
use super::schema::{partition_of, precedence, EVENTS, LINKS, SEALS};
use super::sql;
use crate::store::{Batch, Inserted, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// Writes groups into one database.
pub struct ClickHouseCommit {
    pub client: Client,
    pub database: String,
    pub arrivals: Arrivals,
}

impl From<ClickHouseError> for StoreError {
    fn from(e: ClickHouseError) -> StoreError {
        StoreError::Failed(e.to_string())
    }
}

impl Commit for ClickHouseCommit {
    async fn commit(&mut self, batches: &[Batch]) -> Result<Vec<Inserted>, StoreError> {
        let sessions: BTreeSet<&str> = batches
            .iter()
            .flat_map(|b| &b.events)
            .map(|e| e.event.session_id.as_str())
            .collect();
        let stored = if sessions.is_empty() {
            Stored::default()
        } else {
            self.stored(batches, &sessions).await?
        };
        let planned = plan(batches, stored);
        let seals = json_lines(planned.seals.iter().map(|(session_id, sealed_at)| {
            serde_json::json!({
                "session_id": session_id,
                "sealed_at": sealed_at,
                "precedence": precedence(*sealed_at),
            })
        }))?;
        self.insert(SEALS, &seals).await?;
        let received_at = batches.iter().map(|b| b.received_at).max().unwrap_or(0);
        let arrivals = &mut self.arrivals;
        let links = json_lines(planned.links.iter().map(|l| {
            serde_json::json!({
                "anonymous_id": l.anonymous_id,
                "user_id": l.user_id,
                "linked_at": l.linked_at,
                // Among links of equal time the later arrival wins.
                "arrival": arrivals.next(received_at),
            })
        }))?;
        self.insert(LINKS, &links).await?;
        // One insert per month: ClickHouse refuses an insert that touches
        // too many partitions (100 by default in current releases), and old
        // events replayed from an outbox may span several.
        let mut by_month: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        for (new, received_at) in &planned.rows {
            let arrival = self.arrivals.next(*received_at);
            let lines = by_month
                .entry(partition_of(new.event.timestamp))
                .or_default();
            EventRow::new(new, *received_at, arrival)
                .write_line(lines)
                .map_err(encoding)?;
        }
        for lines in by_month.values() {
            self.insert(EVENTS, lines).await?;
        }
        Ok(planned.answers)
    }
}

impl ClickHouseCommit {
    /// Inserts `JSONEachRow` lines into `table` of the database; nothing
    /// when there are none.
    async fn insert(&self, table: &str, lines: &[u8]) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        let table = format!("{}.{table}", self.database);
        Ok(self.client.insert(&table, lines).await?)
    }

    /// What ClickHouse holds for these sessions and the group's event ids.
    async fn stored(
        &self,
        batches: &[Batch],
        sessions: &BTreeSet<&str>,
    ) -> Result<Stored, StoreError> {
        let db = &self.database;
        let event_ids: BTreeSet<&str> = batches
            .iter()
            .flat_map(|b| &b.events)
            .map(|e| e.event.event_id.as_str())
            .collect();
        let in_sessions = sql::string_list(sessions.iter().copied());
        #[derive(serde::Deserialize)]
        struct Key {
            session_id: String,
            event_id: String,
        }
        #[derive(serde::Deserialize)]
        struct Last {
            session_id: String,
            last: u64,
        }
        #[derive(serde::Deserialize)]
        struct Sealed {
            session_id: String,
        }
        // Existence needs no FINAL: any copy means stored. The last arrival
        // does: a racing copy arrived later than the one that counts.
        let stored_keys = format!(
            "SELECT session_id, event_id FROM {db}.{EVENTS}
             WHERE session_id IN {in_sessions} AND event_id IN {}",
            sql::string_list(event_ids.iter().copied())
        );
        let last_received = format!(
            "SELECT session_id, max(received_at) AS last FROM {db}.{EVENTS} FINAL
             WHERE session_id IN {in_sessions} GROUP BY session_id"
        );
        let sealed = format!(
            "SELECT DISTINCT session_id FROM {db}.{SEALS} WHERE session_id IN {in_sessions}"
        );
        let (keys, last, sealed) = tokio::try_join!(
            self.client.rows::<Key>(&stored_keys),
            self.client.rows::<Last>(&last_received),
            self.client.rows::<Sealed>(&sealed),
        )?;
        Ok(Stored {
            events: keys
                .into_iter()
                .map(|k| (k.session_id, k.event_id))
                .collect(),
            last_received: last.into_iter().map(|l| (l.session_id, l.last)).collect(),
            sealed: sealed.into_iter().map(|s| s.session_id).collect(),
        })
    }
}

/// One `JSONEachRow` line per row.
fn json_lines(rows: impl Iterator<Item = serde_json::Value>) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut out, &row).map_err(encoding)?;
        out.push(b'\n');
    }
    Ok(out)
}

fn encoding(e: serde_json::Error) -> StoreError {
    StoreError::Failed(format!("encoding rows: {e}"))
}
