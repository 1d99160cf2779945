//! Personal accounts (R-SEC-2), their role grants (R-SEC-1), browser sessions and API tokens.
//!
//! Secrets are never stored: passwords arrive already hashed (argon2id, by the web layer),
//! session cookies and API tokens are stored as SHA-256 digests ([`secret_digest`]). The
//! lock-out counter lives here so that it is shared by every server process on the database.

use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::{Grant, Role};
use hnth_domain::validate::Invalid;
use jiff::Timestamp;
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{audit, is_unique_violation, now_text, Actor, Page, Paged, Result, Store, StoreError};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Login name, personal (never shared).
    pub username: String,
    /// Full name, shown as the identity of the person.
    pub full_name: String,
    /// E-mail.
    pub email: String,
    /// The unit the person works in.
    pub unit_id: Option<i64>,
    /// Interface language.
    pub lang: Lang,
    /// Failed logins since the last success.
    #[serde(skip)]
    pub failed_logins: u32,
    /// Locked until this instant after too many failures.
    pub locked_until: Option<Timestamp>,
    /// Whether the account may log in.
    pub active: bool,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    full_name: String,
    email: String,
    unit_id: Option<i64>,
    lang: String,
    failed_logins: i64,
    locked_until: Option<String>,
    active: bool,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<User> {
        Ok(User {
            id: row.id,
            username: row.username,
            full_name: row.full_name,
            email: row.email,
            unit_id: row.unit_id,
            lang: Lang::parse(&row.lang).unwrap_or_default(),
            failed_logins: row.failed_logins as u32,
            locked_until: row
                .locked_until
                .map(|t| {
                    t.parse()
                        .map_err(|e| StoreError::Corrupt(format!("locked_until `{t}`: {e}")))
                })
                .transpose()?,
            active: row.active,
        })
    }
}

const USER_COLUMNS: &str =
    "id, username, full_name, email, unit_id, lang, failed_logins, locked_until, active";

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// E-mail.
    pub email: String,
    /// The person's unit.
    pub unit_id: Option<i64>,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Interface language.
    pub lang: Lang,
}

/// An API token as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    /// Database id.
    pub id: i64,
    /// The name given at creation.
    pub name: String,
    /// When created.
    pub created_at: String,
    /// Last use.
    pub last_used_at: Option<String>,
    /// When revoked.
    pub revoked_at: Option<String>,
}

/// SHA-256 of a secret (session cookie, API token), hex encoded.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret: 32 bytes from the OS generator, URL-safe hex, with a prefix that
/// says what it is (`hnth_` for API tokens, so leaked ones can be found by scanners).
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// What a login attempt led to, for the caller to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// More attempts are allowed.
    Counted {
        /// Attempts left before the lock.
        remaining: u32,
    },
    /// The account is now locked until then.
    Locked(Timestamp),
}

impl Store {
    /// Creates an account.
    pub async fn create_user(&self, actor: &Actor, new: &NewUser) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "INSERT INTO users (username, full_name, email, unit_id, password_hash, lang, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&new.username)
        .bind(&new.full_name)
        .bind(&new.email)
        .bind(new.unit_id)
        .bind(&new.password_hash)
        .bind(new.lang.as_str())
        .bind(now_text())
        .execute(&mut *tx)
        .await;
        let id = match result {
            Ok(done) => done.last_insert_rowid(),
            Err(error) if is_unique_violation(&error) => {
                return Err(Invalid::one(
                    "username",
                    "duplicate_username",
                    Text::new(
                        format!("Tên đăng nhập {} đã có người dùng.", new.username),
                        format!("Username {} is taken.", new.username),
                    ),
                )
                .into())
            }
            Err(error) => return Err(error.into()),
        };
        audit::append(
            &mut tx,
            actor,
            "user.create",
            &format!("user:{}", new.username),
            &json!({ "full_name": new.full_name, "unit_id": new.unit_id }),
        )
        .await?;
        tx.commit().await?;
        self.user(id).await
    }

    /// One account.
    pub async fn user(&self, id: i64) -> Result<User> {
        sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound("user"))?
            .try_into()
    }

    /// An account by login name, with its password hash.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        ))
        .bind(username.trim())
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
            .bind(row.id)
            .fetch_one(&self.write)
            .await?;
        Ok(Some((row.try_into()?, hash)))
    }

    /// Every account, by username.
    pub async fn list_users(&self, page: Page) -> Result<Paged<User>> {
        let rows = sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username LIMIT ? OFFSET ?"
        ))
        .bind(i64::from(page.limit))
        .bind(i64::from(page.offset))
        .fetch_all(&self.read)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?;
        Ok(Paged {
            items: rows
                .into_iter()
                .map(User::try_from)
                .collect::<Result<_>>()?,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// Sets the password hash.
    pub async fn set_password(
        &self,
        actor: &Actor,
        user_id: i64,
        password_hash: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        audit::append(
            &mut tx,
            actor,
            "user.password",
            &format!("user_id:{user_id}"),
            &json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the interface language.
    pub async fn set_user_lang(&self, user_id: i64, lang: Lang) -> Result<()> {
        sqlx::query("UPDATE users SET lang = ? WHERE id = ?")
            .bind(lang.as_str())
            .bind(user_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Counts a failed login; after `max_failures` in a row the account is locked for
    /// `lock_for`. The lock is written to the audit trail.
    pub async fn record_login_failure(
        &self,
        user: &User,
        max_failures: u32,
        lock_for: jiff::SignedDuration,
    ) -> Result<FailureOutcome> {
        let mut tx = self.begin_write().await?;
        let failures: i64 = sqlx::query_scalar("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins")
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
        let failures = failures as u32;
        let outcome = if failures >= max_failures {
            let until = Timestamp::now()
                .saturating_add(lock_for)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("UPDATE users SET locked_until = ?, failed_logins = 0 WHERE id = ?")
                .bind(until.to_string())
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            audit::append(
                &mut tx,
                &Actor::system("auth"),
                "auth.lockout",
                &format!("user:{}", user.username),
                &json!({ "failures": failures, "until": until.to_string() }),
            )
            .await?;
            FailureOutcome::Locked(until)
        } else {
            FailureOutcome::Counted {
                remaining: max_failures - failures,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Clears the failure counter and lock after a successful login, and records the login.
    pub async fn record_login_success(&self, user: &User) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            &Actor {
                user_id: Some(user.id),
                name: user.username.clone(),
            },
            "auth.login",
            &format!("user:{}", user.username),
            &json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The grants of an account.
    pub async fn grants(&self, user_id: i64) -> Result<Vec<Grant>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT role, unit_id FROM grants WHERE user_id = ? ORDER BY role, unit_id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(role, unit_id)| {
                Ok(Grant {
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("role `{role}`")))?,
                    unit_id,
                })
            })
            .collect()
    }

    /// Grants `role` on the subtree of `unit_id`; granting twice is harmless.
    pub async fn add_grant(
        &self,
        actor: &Actor,
        user_id: i64,
        role: Role,
        unit_id: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT OR IGNORE INTO grants (user_id, role, unit_id) VALUES (?, ?, ?)")
            .bind(user_id)
            .bind(role.as_str())
            .bind(unit_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            actor,
            "grant.add",
            &format!("user_id:{user_id}"),
            &json!({ "role": role, "unit_id": unit_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a browser session (by the digest of its cookie).
    pub async fn create_web_session(
        &self,
        user_id: i64,
        token_digest: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query("INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(token_digest)
            .bind(user_id)
            .bind(now_text())
            .bind(expires_at.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The account of a live session; expired sessions count as none.
    pub async fn web_session_user(&self, token_digest: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token_digest)
        .bind(now_text())
        .fetch_optional(&self.read)
        .await?)
    }

    /// Ends a session (logout) and clears expired ones.
    pub async fn delete_web_session(&self, token_digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = ? OR expires_at <= ?")
            .bind(token_digest)
            .bind(now_text())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Creates a personal API token and returns its secret, shown once.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        user_id: i64,
        name: &str,
    ) -> Result<String> {
        let secret = new_secret("hnth_");
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(user_id)
        .bind(name)
        .bind(secret_digest(&secret))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "token.create",
            &format!("user_id:{user_id}"),
            &json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The account of a valid (not revoked) API token, marking it used.
    pub async fn api_token_user(&self, secret: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ? AND revoked_at IS NULL RETURNING user_id",
        )
        .bind(now_text())
        .bind(secret_digest(secret))
        .fetch_optional(&self.write)
        .await?)
    }

    /// The tokens of an account.
    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        Ok(sqlx::query_as::<_, ApiToken>(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?)
    }
}
