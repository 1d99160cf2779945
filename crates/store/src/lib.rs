//! Persistence of hnth on embedded SQLite.
//!
//! The store returns domain types and owns transactions: every write runs in one transaction
//! together with its audit record, so a change and its trace land together or not at all.
//! Callers never see SQL or rows.
//!
//! Design choices and invariants:
//!
//! - **One writer.** SQLite allows one writer at a time; instead of letting concurrent
//!   deferred transactions race and fail with `SQLITE_BUSY`, writes go through a pool of
//!   exactly one connection and reads through a separate pool. A check-then-insert inside a
//!   write transaction (endpoint limits, single-holder contacts) therefore cannot be raced.
//! - **Opened on purpose.** [`Store::open`] creates a database only in a data folder it was
//!   allowed to create or that is empty; a mistyped path is an error, never a fresh empty
//!   database that silently hides the real one.
//! - Connections run with `foreign_keys=ON`, WAL journaling, a busy timeout, and a `vi`
//!   collation (Vietnamese alphabetical order) for sorting names.
//! - Migrations are embedded and run at open; an applied migration is never edited.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hnth_domain::lang::Text;
use hnth_domain::validate::Invalid;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub mod accounts;
pub mod audit;
pub mod calendar;
pub mod conference;
pub mod directory;
pub mod documents;
pub mod feeds;
pub mod import;
pub mod live_log;
pub mod outbox;
pub mod readiness;
pub mod sessions;

/// The file name of the database inside the data folder.
pub const DATABASE_FILE: &str = "hnth.sqlite3";

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The input breaks a rule; each problem is attached to its field.
    #[error("invalid input: {0}")]
    Invalid(Invalid),
    /// The input conflicts with what is stored (a duplicate code, a stale edit).
    #[error("conflict: {}", .0.en)]
    Conflict(Text),
    /// The data folder or database cannot be used as configured.
    #[error("{0}")]
    Setup(String),
    /// Stored data does not parse: a bug or a hand-edited database.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<Invalid> for StoreError {
    fn from(invalid: Invalid) -> StoreError {
        StoreError::Invalid(invalid)
    }
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to return, at most [`Page::MAX_LIMIT`].
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
}

impl Page {
    /// The largest page served.
    pub const MAX_LIMIT: u32 = 500;

    /// A page, with the limit clamped to `1..=MAX_LIMIT`.
    pub fn new(limit: u32, offset: u32) -> Page {
        Page {
            limit: limit.clamp(1, Page::MAX_LIMIT),
            offset,
        }
    }

    /// Everything (used by exports).
    pub fn all() -> Page {
        Page {
            limit: u32::MAX,
            offset: 0,
        }
    }
}

impl Default for Page {
    fn default() -> Page {
        Page::new(50, 0)
    }
}

/// A page of results with the total count.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Paged<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filter over all pages.
    pub total: u64,
    /// The page size used.
    pub limit: u32,
    /// The offset used.
    pub offset: u32,
}

/// Who makes a change, as written in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account, if a person acts.
    pub user_id: Option<i64>,
    /// The name shown in the trail: the username, or `system`, `cli:import` …
    pub name: String,
}

impl Actor {
    /// A change made by the system itself (migrations, demo data).
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            name: name.to_string(),
        }
    }
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The data folder holding [`DATABASE_FILE`].
    pub data_dir: PathBuf,
    /// Connections of the read pool.
    pub read_connections: u32,
}

/// The handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

impl Store {
    /// Opens (and on first start creates) the database in `options.data_dir`.
    ///
    /// The folder is created if its parent exists. A database is created only in a folder
    /// that this call created or that is empty; a folder with other files but no database is
    /// refused, as it most likely is a mistyped path to an existing installation.
    pub async fn open(options: &StoreOptions) -> Result<Store> {
        let dir = &options.data_dir;
        let file = dir.join(DATABASE_FILE);
        let create = prepare_data_dir(dir)?;
        let connect = SqliteConnectOptions::from_str("sqlite://")
            .map_err(StoreError::Database)?
            .filename(&file)
            .create_if_missing(create)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .collation("vi", hnth_domain::collate::compare);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect.read_only(true))
            .await?;
        Ok(Store { read, write })
    }

    /// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`).
    ///
    /// A deferred transaction that reads first and writes later cannot wait for the lock
    /// when another process (the CLI beside a running server) wrote in between: SQLite
    /// answers "database is locked" at once instead of applying the busy timeout. Taking
    /// the lock up front makes every writer wait its turn.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes every connection, checkpointing the write-ahead log.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Whether the database answers (for health checks).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}

/// Makes sure `dir` exists and says whether a new database may be created in it.
fn prepare_data_dir(dir: &Path) -> Result<bool> {
    let file = dir.join(DATABASE_FILE);
    if file.is_file() {
        return Ok(false);
    }
    if !dir.exists() {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(StoreError::Setup(format!(
                "data folder {} cannot be created: its parent {} does not exist (mistyped path?)",
                dir.display(),
                parent.display()
            )));
        }
        std::fs::create_dir(dir).map_err(|e| {
            StoreError::Setup(format!("cannot create data folder {}: {e}", dir.display()))
        })?;
        return Ok(true);
    }
    if !dir.is_dir() {
        return Err(StoreError::Setup(format!(
            "{} is not a folder",
            dir.display()
        )));
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| StoreError::Setup(format!("cannot read data folder {}: {e}", dir.display())))?
        .next()
        .is_none();
    if empty {
        Ok(true)
    } else {
        Err(StoreError::Setup(format!(
            "data folder {} holds files but no {DATABASE_FILE}; refusing to create a new empty database there (mistyped path?)",
            dir.display()
        )))
    }
}

/// Now, as stored: RFC 3339 in UTC.
pub(crate) fn now_text() -> String {
    jiff::Timestamp::now().to_string()
}

pub(crate) fn parse_date(text: &str) -> Result<jiff::civil::Date> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("date `{text}`: {e}")))
}

pub(crate) fn parse_optional_date(text: Option<&str>) -> Result<Option<jiff::civil::Date>> {
    text.map(parse_date).transpose()
}

/// Whether a database error is a uniqueness violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests;
