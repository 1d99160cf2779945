//! The persistent notification outbox: in-app notifications, and e-mail and webhook
//! deliveries that the dispatcher of `hnth-notify` sends with retries.
//!
//! Design and invariants:
//!
//! - **Written with the change.** [`enqueue_tx`] runs inside the caller's write transaction:
//!   the notification and every delivery row exist exactly when the change that causes them
//!   does. A rolled-back change leaves no notice; a committed one cannot lose its notice to a
//!   crash, because the outbox is the database.
//! - **Recipients are resolved once, at enqueue.** A unit's notice goes by e-mail to the
//!   unit's own address and to its current leader, main technician and on-duty contacts
//!   (deduplicated, empty addresses skipped), and to every active webhook subscription of the
//!   unit or of an ancestor (a subscription covers its subtree). A contact replaced later does
//!   not receive notices written before. Without SMTP settings the e-mail channel is off
//!   ([`Store::set_email_delivery`]) and no e-mail rows are created.
//! - **Claimed with a lease.** [`Store::claim_due_deliveries`] marks due rows as claimed until
//!   `now + lease` and counts the attempt. A sender that dies mid-send never marks the row; when
//!   the lease runs out the row is due again. The lease must be longer than any send can take,
//!   so a live sender is never overtaken by a second one (the dispatcher bounds every send).
//! - **At least once, deduplicable.** Between a receiver's acceptance and
//!   [`Store::mark_delivered`] a crash means one more send. Each row's id is stable across
//!   attempts and becomes the e-mail `Message-ID` and the webhook's `X-Hnth-Delivery`, so
//!   receivers can drop the rare duplicate.
//! - **Failures stay visible.** [`RetryPolicy`] spaces retries exponentially up to a cap and
//!   gives up after a number of attempts; a row that gave up keeps its last error.

use std::collections::HashSet;
use std::time::Duration;

use hnth_domain::lang::Text;
use hnth_domain::role::{Grant, Permission};
use hnth_domain::validate::Invalid;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use sqlx::{Row, SqliteConnection};

use crate::accounts::new_secret;
use crate::{audit, now_text, Actor, Page, Paged, Result, Store, StoreError};

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;

/// The contact roles that receive a unit's notices by e-mail, besides the unit's own address.
const NOTIFIED_ROLES: [&str; 3] = ["leader", "main_technician", "on_duty"];

/// The longest error text kept per delivery.
const MAX_ERROR_CHARS: usize = 1000;

/// A notice to one unit about one event, in both languages.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The unit told.
    pub unit_id: i64,
    /// The session it is about, if any.
    pub session_id: Option<i64>,
    /// Machine name of the event, e.g. `session.invited`.
    pub event: &'static str,
    /// One-line subject.
    pub subject: Text,
    /// The message.
    pub body: Text,
    /// Machine-readable details for webhooks.
    pub payload: serde_json::Value,
}

/// What [`enqueue_tx`] wrote for one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    /// The in-app notification.
    pub notification_id: i64,
    /// E-mail deliveries created.
    pub emails: u32,
    /// Webhook deliveries created.
    pub webhooks: u32,
}

/// Writes the deliveries of `notice` (in-app, e-mail, webhooks) in the caller's transaction,
/// so a notice exists exactly when the change that causes it does.
pub(crate) async fn enqueue_tx(
    conn: &mut SqliteConnection,
    notice: &Notice,
    now: jiff::Timestamp,
) -> crate::Result<()> {
    enqueue_counted_tx(conn, notice, now).await.map(|_| ())
}

/// [`enqueue_tx`], telling what was written.
pub(crate) async fn enqueue_counted_tx(
    conn: &mut SqliteConnection,
    notice: &Notice,
    now: Timestamp,
) -> Result<Enqueued> {
    let unit_email: String = sqlx::query_scalar("SELECT email FROM units WHERE id = ?")
        .bind(notice.unit_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("unit"))?;
    let created_at = now.to_string();
    let notification_id = sqlx::query(
        "INSERT INTO notifications (unit_id, session_id, event, subject_vi, subject_en, body_vi, body_en, payload, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(notice.unit_id)
    .bind(notice.session_id)
    .bind(notice.event)
    .bind(&notice.subject.vi)
    .bind(&notice.subject.en)
    .bind(&notice.body.vi)
    .bind(&notice.body.en)
    .bind(notice.payload.to_string())
    .bind(&created_at)
    .execute(&mut *conn)
    .await?
    .last_insert_rowid();

    let due = now.as_millisecond();
    let mut enqueued = Enqueued {
        notification_id,
        emails: 0,
        webhooks: 0,
    };
    if channel_enabled(conn, "email").await? {
        let contacts: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM contacts
             WHERE unit_id = ? AND valid_to IS NULL AND role IN (?, ?, ?)
             ORDER BY CASE role WHEN 'leader' THEN 0 WHEN 'main_technician' THEN 1 ELSE 2 END, id",
        )
        .bind(notice.unit_id)
        .bind(NOTIFIED_ROLES[0])
        .bind(NOTIFIED_ROLES[1])
        .bind(NOTIFIED_ROLES[2])
        .fetch_all(&mut *conn)
        .await?;
        for address in email_recipients(&unit_email, &contacts) {
            sqlx::query(
                "INSERT INTO outbox (notification_id, channel, recipient, next_attempt_at, created_at)
                 VALUES (?, 'email', ?, ?, ?)",
            )
            .bind(notification_id)
            .bind(&address)
            .bind(due)
            .bind(&created_at)
            .execute(&mut *conn)
            .await?;
            enqueued.emails += 1;
        }
    }
    if channel_enabled(conn, "webhook").await? {
        let hooks: Vec<i64> = sqlx::query_scalar(
            "WITH RECURSIVE chain(id, depth) AS (
                 SELECT id, 0 FROM units WHERE id = ?
                 UNION ALL SELECT p.parent_id, c.depth + 1 FROM chain c JOIN units p ON p.id = c.id
                 WHERE p.parent_id IS NOT NULL AND c.depth < 64
             )
             SELECT w.id FROM webhooks w WHERE w.active = 1 AND w.unit_id IN (SELECT id FROM chain)
             ORDER BY w.id",
        )
        .bind(notice.unit_id)
        .fetch_all(&mut *conn)
        .await?;
        for hook in hooks {
            sqlx::query(
                "INSERT INTO outbox (notification_id, channel, recipient, webhook_id, next_attempt_at, created_at)
                 VALUES (?, 'webhook', ?, ?, ?, ?)",
            )
            .bind(notification_id)
            .bind(hook.to_string())
            .bind(hook)
            .bind(due)
            .bind(&created_at)
            .execute(&mut *conn)
            .await?;
            enqueued.webhooks += 1;
        }
    }
    Ok(enqueued)
}

async fn channel_enabled(conn: &mut SqliteConnection, channel: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, bool>("SELECT enabled FROM outbox_channels WHERE channel = ?")
            .bind(channel)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(false),
    )
}

/// The e-mail addresses a unit's notice goes to: the unit's own first, then its contacts';
/// trimmed, empty ones skipped, each address once (compared without case).
pub fn email_recipients(unit_email: &str, contacts: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    std::iter::once(unit_email)
        .chain(contacts.iter().map(String::as_str))
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .filter(|address| seen.insert(address.to_lowercase()))
        .map(str::to_string)
        .collect()
}

/// When to try a failed delivery again: exponential back-off with a cap, and a last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; doubled after each further one.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// Attempts in all, the first included; after the last one fails the delivery gives up.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min … capped at one hour, twelve attempts (about five hours in all).
    fn default() -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt when `attempts` have been made and the last failed;
    /// `None` when that was the last one allowed.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        // 2^(attempts-1), the exponent bounded so the multiplication cannot overflow.
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        Some(
            self.first_delay
                .checked_mul(factor)
                .unwrap_or(self.max_delay)
                .min(self.max_delay),
        )
    }

    /// The instant of the next attempt, or `None` to give up.
    pub fn next_attempt_at(&self, attempts: u32, now: Timestamp) -> Option<Timestamp> {
        let delay = self.delay_after(attempts)?;
        // A delay of at most `max_delay` past a real clock stays within jiff's range; should
        // it not, retrying at once is the safe side.
        Some(now.checked_add(delay).unwrap_or(now))
    }
}

/// A unit as deliveries and notifications name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRef {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// Where one delivery goes.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// An e-mail to one address.
    Email(String),
    /// A signed POST to a subscription.
    Webhook {
        /// The subscription.
        id: i64,
        /// Where to POST.
        url: String,
        /// The HMAC key.
        secret: String,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Email(address) => f.debug_tuple("Email").field(address).finish(),
            // The secret stays out of logs.
            Target::Webhook { id, url, .. } => f
                .debug_struct("Webhook")
                .field("id", id)
                .field("url", url)
                .finish_non_exhaustive(),
        }
    }
}

/// A claimed delivery, with everything needed to send it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The delivery's id: the same on every attempt, the receivers' deduplication key.
    pub id: i64,
    /// The notification delivered.
    pub notification_id: i64,
    /// Where it goes.
    pub target: Target,
    /// This attempt's number, 1 for the first.
    pub attempt: u32,
    /// Machine name of the event.
    pub event: String,
    /// The unit told.
    pub unit: UnitRef,
    /// The session it is about, if any.
    pub session_id: Option<i64>,
    /// Subject in both languages.
    pub subject: Text,
    /// Message in both languages.
    pub body: Text,
    /// Machine-readable details.
    pub payload: serde_json::Value,
    /// When the notice was written.
    pub created_at: Timestamp,
}

/// An in-app notification as the inbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Id.
    pub id: i64,
    /// The unit told.
    pub unit: UnitRef,
    /// The session it is about, if any.
    pub session_id: Option<i64>,
    /// Machine name of the event.
    pub event: String,
    /// Subject in both languages.
    pub subject: Text,
    /// Message in both languages.
    pub body: Text,
    /// When it was written, RFC 3339 UTC.
    pub created_at: String,
    /// Whether this reader has marked it read.
    pub read: bool,
    /// Its e-mail and webhook deliveries, by state.
    pub deliveries: DeliveryCounts,
}

/// Deliveries by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Not yet delivered, still being tried.
    pub pending: u64,
    /// Accepted by the receiver.
    pub delivered: u64,
    /// Given up after the last attempt.
    pub failed: u64,
}

/// One channel's deliveries by state (the administrator's overview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    /// `email` or `webhook`.
    pub channel: String,
    /// Whether new notices create deliveries on it (e-mail: SMTP is configured).
    pub enabled: bool,
    /// The counts.
    pub counts: DeliveryCounts,
}

/// A delivery that gave up or is still failing, for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingDelivery {
    /// Delivery id.
    pub id: i64,
    /// The notification.
    pub notification_id: i64,
    /// `email` or `webhook`.
    pub channel: String,
    /// The address, or the subscription's id.
    pub recipient: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
    /// Whether it gave up (otherwise it will be tried again).
    pub gave_up: bool,
}

/// A webhook subscription (its secret is shown only when created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// The unit whose subtree it covers.
    pub unit: UnitRef,
    /// Where notices are POSTed.
    pub url: String,
    /// Whether notices are still sent to it.
    pub active: bool,
    /// When it was made, RFC 3339 UTC.
    pub created_at: String,
}

/// Checks a webhook address: an absolute `http` or `https` URL with a host.
fn check_webhook_url(url: &str) -> Result<String, Invalid> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':') && !host.contains('@')
    });
    if !host_ok || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::one(
            "url",
            "invalid_url",
            Text::new(
                "Địa chỉ webhook phải là một URL đầy đủ bắt đầu bằng https:// hoặc http:// (không có khoảng trắng, không có tên đăng nhập).",
                "The webhook address must be a full URL starting with https:// or http:// (no spaces, no user name).",
            ),
        ));
    }
    Ok(url.to_string())
}

/// Unit ids of the roots of the subtrees the grants cover, as a JSON array for `json_each`.
fn roots_json(grants: &[Grant], permission: Option<Permission>) -> String {
    let roots: Vec<i64> = grants
        .iter()
        .filter(|g| permission.is_none_or(|p| g.role.allows(p)))
        .map(|g| g.unit_id)
        .collect();
    serde_json::Value::from(roots).to_string()
}

/// The units covered by the roots bound as the first parameter (a JSON array).
const COVERED: &str = "WITH RECURSIVE covered(id) AS (
         SELECT value FROM json_each(?)
         UNION SELECT u.id FROM units u JOIN covered c ON u.parent_id = c.id
     )";

fn unit_ref(row: &sqlx::sqlite::SqliteRow) -> Result<UnitRef> {
    Ok(UnitRef {
        id: row.try_get("unit_id")?,
        code: row.try_get("unit_code")?,
        name: row.try_get("unit_name")?,
    })
}

fn text(row: &sqlx::sqlite::SqliteRow, vi: &str, en: &str) -> Result<Text> {
    Ok(Text::new(
        row.try_get::<String, _>(vi)?,
        row.try_get::<String, _>(en)?,
    ))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Turns the e-mail channel on or off, as the server's settings say at start. Off means
    /// no e-mail deliveries are created; e-mails still waiting are given up (a server without
    /// SMTP settings cannot send them, and sending them much later would mislead).
    pub async fn set_email_delivery(&self, enabled: bool) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE outbox_channels SET enabled = ? WHERE channel = 'email'")
            .bind(enabled)
            .execute(&mut *tx)
            .await?;
        if !enabled {
            sqlx::query(
                "UPDATE outbox SET gave_up_at = ?, claimed_until = NULL,
                        last_error = 'e-mail is not configured (no [notify.smtp] settings)'
                 WHERE channel = 'email' AND delivered_at IS NULL AND gave_up_at IS NULL",
            )
            .bind(now_text())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` due deliveries for `lease`: they are not due again until the lease
    /// runs out, and each claim counts as an attempt. Oldest due first.
    pub async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let now_ms = now.as_millisecond();
        let until = now_ms.saturating_add(millis(lease));
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?
                   AND (claimed_until IS NULL OR claimed_until <= ?)
                 ORDER BY next_attempt_at, id LIMIT ?
             )
             RETURNING id",
        )
        .bind(until)
        .bind(now_ms)
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT o.id, o.notification_id, o.channel, o.recipient, o.attempts, o.webhook_id,
                    w.url AS webhook_url, w.secret AS webhook_secret,
                    n.event, n.session_id, n.subject_vi, n.subject_en, n.body_vi, n.body_en,
                    n.payload, n.created_at,
                    u.id AS unit_id, u.code AS unit_code, u.name AS unit_name
             FROM outbox o
             JOIN notifications n ON n.id = o.notification_id
             JOIN units u ON u.id = n.unit_id
             LEFT JOIN webhooks w ON w.id = o.webhook_id
             WHERE o.id IN (SELECT value FROM json_each(?))
             ORDER BY o.next_attempt_at, o.id",
        )
        .bind(serde_json::Value::from(ids).to_string())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// Records that the receiver accepted delivery `id`.
    pub async fn mark_delivered(&self, id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = ?, claimed_until = NULL
             WHERE id = ? AND delivered_at IS NULL",
        )
        .bind(now_text())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records a failed attempt of delivery `id`: try again at `next_attempt_at`, or give up
    /// for good when it is `None` (see [`RetryPolicy::next_attempt_at`]).
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<Timestamp>,
    ) -> Result<()> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let query = match next_attempt_at {
            Some(at) => sqlx::query(
                "UPDATE outbox SET claimed_until = NULL, last_error = ?, next_attempt_at = ?
                 WHERE id = ? AND delivered_at IS NULL",
            )
            .bind(error)
            .bind(at.as_millisecond()),
            None => sqlx::query(
                "UPDATE outbox SET claimed_until = NULL, last_error = ?, gave_up_at = ?
                 WHERE id = ? AND delivered_at IS NULL",
            )
            .bind(error)
            .bind(now_text()),
        };
        query.bind(id).execute(&self.write).await?;
        Ok(())
    }

    /// The deliveries of every channel by state.
    pub async fn delivery_overview(&self) -> Result<Vec<ChannelCounts>> {
        let rows = sqlx::query(
            "SELECT c.channel, c.enabled,
                    COUNT(o.id) FILTER (WHERE o.delivered_at IS NULL AND o.gave_up_at IS NULL) AS pending,
                    COUNT(o.id) FILTER (WHERE o.delivered_at IS NOT NULL) AS delivered,
                    COUNT(o.id) FILTER (WHERE o.gave_up_at IS NOT NULL) AS failed
             FROM outbox_channels c LEFT JOIN outbox o ON o.channel = c.channel
             GROUP BY c.channel, c.enabled ORDER BY c.channel",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ChannelCounts {
                    channel: row.try_get("channel")?,
                    enabled: row.try_get("enabled")?,
                    counts: counts_from_row(row)?,
                })
            })
            .collect()
    }

    /// The newest deliveries that failed at least once and are not delivered.
    pub async fn failing_deliveries(&self, limit: u32) -> Result<Vec<FailingDelivery>> {
        let rows = sqlx::query(
            "SELECT id, notification_id, channel, recipient, attempts, last_error,
                    gave_up_at IS NOT NULL AS gave_up
             FROM outbox WHERE delivered_at IS NULL AND last_error IS NOT NULL
             ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FailingDelivery {
                    id: row.try_get("id")?,
                    notification_id: row.try_get("notification_id")?,
                    channel: row.try_get("channel")?,
                    recipient: row.try_get("recipient")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
                    last_error: row.try_get("last_error")?,
                    gave_up: row.try_get("gave_up")?,
                })
            })
            .collect()
    }

    /// The inbox of a user: notifications of every unit in the subtrees the grants cover,
    /// unread first, newest first.
    pub async fn notifications_for_user(
        &self,
        user_id: i64,
        grants: &[Grant],
        page: Page,
    ) -> Result<Paged<Notification>> {
        let roots = roots_json(grants, None);
        let rows = sqlx::query(&format!(
            "{COVERED}
             SELECT n.id, n.session_id, n.event, n.subject_vi, n.subject_en, n.body_vi, n.body_en,
                    n.created_at, u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
                    r.user_id IS NOT NULL AS is_read,
                    (SELECT COUNT(*) FROM outbox o WHERE o.notification_id = n.id
                        AND o.delivered_at IS NULL AND o.gave_up_at IS NULL) AS pending,
                    (SELECT COUNT(*) FROM outbox o WHERE o.notification_id = n.id
                        AND o.delivered_at IS NOT NULL) AS delivered,
                    (SELECT COUNT(*) FROM outbox o WHERE o.notification_id = n.id
                        AND o.gave_up_at IS NOT NULL) AS failed
             FROM notifications n
             JOIN units u ON u.id = n.unit_id
             LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = ?
             WHERE n.unit_id IN (SELECT id FROM covered)
             ORDER BY is_read, n.id DESC LIMIT ? OFFSET ?"
        ))
        .bind(&roots)
        .bind(user_id)
        .bind(i64::from(page.limit))
        .bind(i64::from(page.offset))
        .fetch_all(&self.read)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!(
            "{COVERED} SELECT COUNT(*) FROM notifications WHERE unit_id IN (SELECT id FROM covered)"
        ))
        .bind(&roots)
        .fetch_one(&self.read)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(Notification {
                    id: row.try_get("id")?,
                    unit: unit_ref(row)?,
                    session_id: row.try_get("session_id")?,
                    event: row.try_get("event")?,
                    subject: text(row, "subject_vi", "subject_en")?,
                    body: text(row, "body_vi", "body_en")?,
                    created_at: row.try_get("created_at")?,
                    read: row.try_get("is_read")?,
                    deliveries: counts_from_row(row)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Paged {
            items,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// How many notifications the user can see and has not read.
    pub async fn unread_notifications(&self, user_id: i64, grants: &[Grant]) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(&format!(
            "{COVERED}
             SELECT COUNT(*) FROM notifications n
             WHERE n.unit_id IN (SELECT id FROM covered)
               AND NOT EXISTS (SELECT 1 FROM notification_reads r
                               WHERE r.notification_id = n.id AND r.user_id = ?)"
        ))
        .bind(roots_json(grants, None))
        .bind(user_id)
        .fetch_one(&self.read)
        .await?;
        Ok(count as u64)
    }

    /// Marks one notification read for the user; one the user cannot see is not found.
    pub async fn mark_notification_read(
        &self,
        user_id: i64,
        grants: &[Grant],
        id: i64,
    ) -> Result<()> {
        let done = sqlx::query(&format!(
            "{COVERED}
             INSERT OR IGNORE INTO notification_reads (user_id, notification_id, read_at)
             SELECT ?, n.id, ? FROM notifications n
             WHERE n.id = ? AND n.unit_id IN (SELECT id FROM covered)"
        ))
        .bind(roots_json(grants, None))
        .bind(user_id)
        .bind(now_text())
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            // Nothing inserted: already read, or not visible to this user.
            let visible: Option<i64> = sqlx::query_scalar(&format!(
                "{COVERED} SELECT id FROM notifications WHERE id = ? AND unit_id IN (SELECT id FROM covered)"
            ))
            .bind(roots_json(grants, None))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
            if visible.is_none() {
                return Err(StoreError::NotFound("notification"));
            }
        }
        Ok(())
    }

    /// Marks every notification the user can see as read.
    pub async fn mark_all_notifications_read(&self, user_id: i64, grants: &[Grant]) -> Result<u64> {
        let done = sqlx::query(&format!(
            "{COVERED}
             INSERT OR IGNORE INTO notification_reads (user_id, notification_id, read_at)
             SELECT ?, n.id, ? FROM notifications n WHERE n.unit_id IN (SELECT id FROM covered)"
        ))
        .bind(roots_json(grants, None))
        .bind(user_id)
        .bind(now_text())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Subscribes `url` to the notices of `unit_id`'s subtree. Returns the subscription and
    /// its signing secret, which is shown this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        unit_id: i64,
        url: &str,
    ) -> Result<(Webhook, String)> {
        let url = check_webhook_url(url)?;
        let secret = new_secret("whsec_");
        let mut tx = self.begin_write().await?;
        let code: String = sqlx::query_scalar("SELECT code FROM units WHERE id = ?")
            .bind(unit_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("unit"))?;
        let id = sqlx::query(
            "INSERT INTO webhooks (unit_id, url, secret, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(unit_id)
        .bind(&url)
        .bind(&secret)
        .bind(now_text())
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        audit::append(
            &mut tx,
            actor,
            "webhook.create",
            &format!("webhook:{id}"),
            &json!({ "unit": code, "url": url }),
        )
        .await?;
        tx.commit().await?;
        Ok((self.webhook(id).await?, secret))
    }

    /// One subscription.
    pub async fn webhook(&self, id: i64) -> Result<Webhook> {
        let row = sqlx::query(
            "SELECT w.id, w.url, w.active, w.created_at,
                    u.id AS unit_id, u.code AS unit_code, u.name AS unit_name
             FROM webhooks w JOIN units u ON u.id = w.unit_id WHERE w.id = ?",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound("webhook"))?;
        webhook_from_row(&row)
    }

    /// The subscriptions of units in the subtrees where the grants allow managing
    /// notifications, active first.
    pub async fn webhooks(&self, grants: &[Grant]) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(&format!(
            "{COVERED}
             SELECT w.id, w.url, w.active, w.created_at,
                    u.id AS unit_id, u.code AS unit_code, u.name AS unit_name
             FROM webhooks w JOIN units u ON u.id = w.unit_id
             WHERE w.unit_id IN (SELECT id FROM covered)
             ORDER BY w.active DESC, w.id DESC"
        ))
        .bind(roots_json(grants, Some(Permission::NotifyManage)))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    /// Stops a subscription; its deliveries still waiting are given up. Deactivating an
    /// inactive subscription changes nothing.
    pub async fn deactivate_webhook(&self, actor: &Actor, id: i64) -> Result<Webhook> {
        let mut tx = self.begin_write().await?;
        let active: bool = sqlx::query_scalar("SELECT active FROM webhooks WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("webhook"))?;
        if active {
            let now = now_text();
            sqlx::query("UPDATE webhooks SET active = 0, deactivated_at = ? WHERE id = ?")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let abandoned = sqlx::query(
                "UPDATE outbox SET gave_up_at = ?, claimed_until = NULL,
                        last_error = 'subscription deactivated'
                 WHERE webhook_id = ? AND delivered_at IS NULL AND gave_up_at IS NULL",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            audit::append(
                &mut tx,
                actor,
                "webhook.deactivate",
                &format!("webhook:{id}"),
                &json!({ "abandoned_deliveries": abandoned }),
            )
            .await?;
        }
        tx.commit().await?;
        self.webhook(id).await
    }

    /// Sends a test notice (event `notify.test`) to a unit through every channel, so an
    /// administrator can check the SMTP and webhook settings.
    pub async fn send_test_notice(&self, actor: &Actor, unit_id: i64) -> Result<Enqueued> {
        let mut tx = self.begin_write().await?;
        let (code, name): (String, String) =
            sqlx::query_as("SELECT code, name FROM units WHERE id = ?")
                .bind(unit_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("unit"))?;
        let now = Timestamp::now();
        let notice = Notice {
            unit_id,
            session_id: None,
            event: "notify.test",
            subject: Text::new(
                format!("Thông báo thử nghiệm gửi {name}"),
                format!("Test notice to {name}"),
            ),
            body: Text::new(
                format!(
                    "Đây là thông báo thử nghiệm do {} gửi từ hệ thống hội nghị truyền hình để kiểm tra việc nhận thư điện tử và webhook của {name} ({code}). Không cần trả lời.",
                    actor.name
                ),
                format!(
                    "This is a test notice sent by {} from the video-conference system to check that e-mail and webhooks reach {name} ({code}). No reply is needed.",
                    actor.name
                ),
            ),
            payload: json!({ "unit_code": code, "sent_by": actor.name }),
        };
        let enqueued = enqueue_counted_tx(&mut tx, &notice, now).await?;
        audit::append(
            &mut tx,
            actor,
            "notify.test",
            &format!("unit:{code}"),
            &json!(enqueued),
        )
        .await?;
        tx.commit().await?;
        Ok(enqueued)
    }
}

fn counts_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<DeliveryCounts> {
    Ok(DeliveryCounts {
        pending: row.try_get::<i64, _>("pending")? as u64,
        delivered: row.try_get::<i64, _>("delivered")? as u64,
        failed: row.try_get::<i64, _>("failed")? as u64,
    })
}

fn webhook_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Webhook> {
    Ok(Webhook {
        id: row.try_get("id")?,
        unit: unit_ref(row)?,
        url: row.try_get("url")?,
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
    })
}

fn delivery_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Delivery> {
    let id: i64 = row.try_get("id")?;
    let channel: String = row.try_get("channel")?;
    let target = match channel.as_str() {
        "email" => Target::Email(row.try_get("recipient")?),
        "webhook" => Target::Webhook {
            id: row
                .try_get::<Option<i64>, _>("webhook_id")?
                .ok_or_else(|| StoreError::Corrupt(format!("delivery {id} has no webhook")))?,
            url: row
                .try_get::<Option<String>, _>("webhook_url")?
                .unwrap_or_default(),
            secret: row
                .try_get::<Option<String>, _>("webhook_secret")?
                .unwrap_or_default(),
        },
        other => return Err(StoreError::Corrupt(format!("delivery channel `{other}`"))),
    };
    let payload: String = row.try_get("payload")?;
    let created_at: String = row.try_get("created_at")?;
    Ok(Delivery {
        id,
        notification_id: row.try_get("notification_id")?,
        target,
        attempt: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        event: row.try_get("event")?,
        unit: unit_ref(row)?,
        session_id: row.try_get("session_id")?,
        subject: text(row, "subject_vi", "subject_en")?,
        body: text(row, "body_vi", "body_en")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("notification payload: {e}")))?,
        created_at: created_at
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("instant `{created_at}`: {e}")))?,
    })
}
