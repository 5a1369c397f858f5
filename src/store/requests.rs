//! Platform request ids already handled, with the reply given, so a retried or
//! replayed request is answered the same way and changes nothing.
//!
//! Must not: build request keys; the platform adapters and the engine choose them.

use super::rows::millis;
use super::{StoreError, Tx};
use chrono::{DateTime, Utc};

impl Tx {
    /// Records a platform request id (Slack retry, Discord interaction id, button
    /// click). Returns the reply given the first time if it was seen before, so a
    /// replayed request changes nothing and gets the same answer. A request seen
    /// before whose reply was never saved answers `Some("")`.
    pub async fn claim_request(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        // On Postgres a concurrent claim of the same key waits here for the first
        // transaction, then sees its committed row (and reply) below.
        let inserted = sqlx::query(
            "INSERT INTO processed_requests (key, reply, created_at) VALUES ($1, NULL, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(millis(now))
        .execute(&mut *self.tx)
        .await?;
        if inserted.rows_affected() > 0 {
            return Ok(None);
        }
        let reply: Option<String> =
            sqlx::query_scalar("SELECT reply FROM processed_requests WHERE key = $1")
                .bind(key)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(Some(reply.unwrap_or_default()))
    }

    /// Stores the reply for a request claimed in this transaction.
    pub async fn save_reply(&mut self, key: &str, reply: &str) -> Result<(), StoreError> {
        let saved = sqlx::query("UPDATE processed_requests SET reply = $2 WHERE key = $1")
            .bind(key)
            .bind(reply)
            .execute(&mut *self.tx)
            .await?;
        if saved.rows_affected() == 0 {
            return Err(sqlx::Error::RowNotFound.into());
        }
        Ok(())
    }
}
