//! Applying a directory file: all rows in one transaction, all or nothing.
//!
//! Rows are matched by code: a unit or endpoint whose code exists is updated, otherwise
//! created; a contact already current in the same role is refreshed, otherwise added (which
//! for a leader or main technician replaces the holder, keeping history). Every row is tried
//! even after a bad one, so the report lists every problem at once; then the transaction is
//! committed only if there was none.

use hnth_domain::import::{ImportErrors, ImportKind, ImportRows};
use hnth_domain::policy::Policy;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use crate::directory::{add_contact_tx, save_endpoint_tx, save_unit_tx};
use crate::{audit, Actor, Result, Store, StoreError};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The kind of rows.
    pub kind: ImportKind,
    /// Rows that created a record.
    pub created: u32,
    /// Rows that updated an existing record.
    pub updated: u32,
}

/// An import that stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// Some rows are bad; the report lists them by line.
    #[error("{} bad rows", .0.errors.len())]
    Rows(ImportErrors),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportFailure {
    fn from(error: sqlx::Error) -> ImportFailure {
        ImportFailure::Store(error.into())
    }
}

impl Store {
    /// Applies `rows`; `progress` is called with the number of rows done after each row.
    pub async fn import(
        &self,
        actor: &Actor,
        policy: &Policy,
        rows: &ImportRows,
        today: Date,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<ImportSummary, ImportFailure> {
        let mut tx = self.begin_write().await?;
        let mut errors = ImportErrors::default();
        let (mut created, mut updated) = (0, 0);
        let mut note = |line: u64, outcome: Result<bool>| -> Result<(), ImportFailure> {
            match outcome {
                Ok(true) => created += 1,
                Ok(false) => updated += 1,
                Err(StoreError::Invalid(invalid)) => errors.push_invalid(line, invalid),
                Err(StoreError::Conflict(message)) => errors.push(line, "", message),
                Err(other) => return Err(other.into()),
            }
            Ok(())
        };
        match rows {
            ImportRows::Units(units) => {
                for (done, (line, spec)) in units.iter().enumerate() {
                    let existing: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM units WHERE code = ?")
                            .bind(&spec.code)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let outcome = save_unit_tx(&mut tx, existing, spec)
                        .await
                        .map(|_| existing.is_none());
                    note(*line, outcome)?;
                    progress(done + 1);
                }
            }
            ImportRows::Endpoints(endpoints) => {
                for (done, (line, spec)) in endpoints.iter().enumerate() {
                    let existing: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM endpoints WHERE code = ?")
                            .bind(&spec.code)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let outcome = save_endpoint_tx(&mut tx, existing, policy, spec, today)
                        .await
                        .map(|_| existing.is_none());
                    note(*line, outcome)?;
                    progress(done + 1);
                }
            }
            ImportRows::Contacts(contacts) => {
                for (done, (line, spec)) in contacts.iter().enumerate() {
                    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
                        .fetch_one(&mut *tx)
                        .await?;
                    let outcome = add_contact_tx(&mut tx, spec, today).await;
                    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
                        .fetch_one(&mut *tx)
                        .await?;
                    note(*line, outcome.map(|_| after > before))?;
                    progress(done + 1);
                }
            }
        }
        if !errors.errors.is_empty() {
            // Dropping the transaction rolls every row back.
            return Err(ImportFailure::Rows(errors));
        }
        let summary = ImportSummary {
            kind: rows.kind(),
            created,
            updated,
        };
        audit::append(
            &mut tx,
            actor,
            "directory.import",
            &format!("import:{:?}", rows.kind()),
            &json!(summary),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}
