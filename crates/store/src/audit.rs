//! The audit trail (R-SEC-5): every change and control action, hash-chained.
//!
//! Each record's hash is SHA-256 over the previous record's hash and this record's fields,
//! so editing or deleting a record in the middle breaks every hash after it; triggers in the
//! schema refuse updates and deletes outright. [`Store::verify_audit_chain`] walks the chain.
//! Records are written inside the transaction of the change they describe.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Sqlite, Transaction};

use crate::{now_text, Actor, Page, Paged, Result, Store};

/// One record of the trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who: a username or a system actor.
    pub actor: String,
    /// What, e.g. `unit.update`.
    pub action: String,
    /// On what, e.g. `unit:CT.STTTT`.
    pub subject: String,
    /// Details as JSON (the new values).
    pub detail: String,
    /// Hash of the previous record (64 zeros for the first).
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record_hash(
    prev_hash: &str,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [prev_hash, at, actor, action, subject, detail] {
        // Length-prefixed so that moving text between fields changes the hash.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends a record inside `tx`.
pub(crate) async fn append(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    let prev_hash: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let prev_hash = prev_hash.unwrap_or_else(|| GENESIS.to_string());
    let at = now_text();
    let detail = detail.to_string();
    let hash = record_hash(&prev_hash, &at, &actor.name, action, subject, &detail);
    sqlx::query("INSERT INTO audit_log (at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&at)
        .bind(&actor.name)
        .bind(action)
        .bind(subject)
        .bind(&detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Records checked.
    pub records: u64,
    /// The first record whose hash does not match, if any.
    pub first_broken: Option<i64>,
}

impl Store {
    /// The newest records first.
    pub async fn audit_records(&self, page: Page) -> Result<Paged<AuditRecord>> {
        let items = sqlx::query_as::<_, AuditRecord>(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
        )
        .bind(i64::from(page.limit))
        .bind(i64::from(page.offset))
        .fetch_all(&self.read)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.read)
            .await?;
        Ok(Paged {
            items,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// Recomputes every hash from the first record.
    pub async fn verify_audit_chain(&self) -> Result<ChainCheck> {
        let records = sqlx::query_as::<_, AuditRecord>("SELECT * FROM audit_log ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        let mut prev = GENESIS.to_string();
        for record in &records {
            let expected = record_hash(
                &prev,
                &record.at,
                &record.actor,
                &record.action,
                &record.subject,
                &record.detail,
            );
            if record.prev_hash != prev || record.hash != expected {
                return Ok(ChainCheck {
                    records: records.len() as u64,
                    first_broken: Some(record.id),
                });
            }
            prev = record.hash.clone();
        }
        Ok(ChainCheck {
            records: records.len() as u64,
            first_broken: None,
        })
    }
}
