//! Preparation of a session as stored (R-PREP-1 … R-PREP-5): its rehearsals (proposed once
//! from the profile, then edited by the host), the readiness checks of each endpoint with
//! their items and the link grade at the time, and the technical staff on duty.
//!
//! Invariants:
//! - Only an approved session is prepared: every write reads the session's state inside its
//!   own transaction, so a session cancelled a moment earlier takes no rehearsal or check.
//! - A rehearsal moved or set again after a failure tells every invited unit in the same
//!   transaction (R-PREP-5); a failed rehearsal is kept, marked failed with the reason, and
//!   the new one points back at it.
//! - A proposal is counted from the start it was made for (`rehearsal_plans.for_start`);
//!   when the session moves, an untouched proposal is counted again, a schedule the host
//!   edited (or that saw a failure or a check) is left for the host to move.
//! - Checks are appended, never changed: the board derives each endpoint's state from all of
//!   them in order. Every write appends to the audit trail in the same transaction.

use hnth_domain::lang::{Lang, Text};
use hnth_domain::session::format_date_time;
use hnth_domain::session::readiness::{CheckEntry, CheckItem, CheckOutcome, ProposedRehearsal};
use hnth_domain::session::SessionStatus;
use jiff::civil::DateTime;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use sqlx::{Sqlite, Transaction};

use crate::sessions::{from_unix, notify_tx, parse_instant, session_tx, to_unix, SessionRecord};
use crate::{audit, Actor, Result, Store, StoreError};

/// A rehearsal as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RehearsalRecord {
    /// Its id.
    pub id: i64,
    /// The session.
    pub session_id: i64,
    /// When, local time.
    pub at: DateTime,
    /// Where the time comes from: a seed article, `registration` or `host`.
    pub source: String,
    /// `planned` or `failed`.
    pub status: String,
    /// Why it failed or moved.
    pub note: String,
    /// The failed rehearsal this one replaces.
    pub replaces_id: Option<i64>,
    /// Who last set it (username), if a person did.
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Timestamp,
}

/// A readiness check as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRecord {
    /// Its id.
    pub id: i64,
    /// The session.
    pub session_id: i64,
    /// The endpoint checked.
    pub endpoint_id: i64,
    /// The rehearsal it belongs to, if any.
    pub rehearsal_id: Option<i64>,
    /// What it says.
    pub outcome: CheckOutcome,
    /// The link grade when saved (code).
    pub link_grade: String,
    /// The sample graded and the reasons.
    pub link_detail: serde_json::Value,
    /// The items: (item, pass, note).
    pub items: Vec<(CheckItem, bool, String)>,
    /// Who saved it (username).
    pub checked_by: Option<String>,
    /// When.
    pub checked_at: Timestamp,
}

/// A check to save.
#[derive(Debug, Clone, Copy)]
pub struct NewCheck<'a> {
    /// The session.
    pub session_id: i64,
    /// The endpoint.
    pub endpoint_id: i64,
    /// The rehearsal, if the check belongs to one.
    pub rehearsal_id: Option<i64>,
    /// The items entered.
    pub entry: &'a CheckEntry,
    /// Its outcome with the link grade applied.
    pub outcome: CheckOutcome,
    /// The link grade's code.
    pub link_grade: &'a str,
    /// The sample and reasons, JSON.
    pub link_detail: &'a serde_json::Value,
}

/// A technician on duty at an endpoint for a session (R-PREP-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DutyTechnician {
    /// The endpoint.
    pub endpoint_id: i64,
    /// Full name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Who recorded it (username).
    pub recorded_by: Option<String>,
    /// When.
    pub recorded_at: Timestamp,
}

type RehearsalRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
);

const REHEARSAL_SELECT: &str = "SELECT r.id, r.session_id, r.at, r.source, r.status, r.note, r.replaces_id, u.username, r.updated_at \
     FROM rehearsals r LEFT JOIN users u ON u.id = r.updated_by";

fn rehearsal_of(row: RehearsalRow) -> Result<RehearsalRecord> {
    let (id, session_id, at, source, status, note, replaces_id, updated_by, updated_at) = row;
    Ok(RehearsalRecord {
        id,
        session_id,
        at: from_unix(at),
        source,
        status,
        note,
        replaces_id,
        updated_by,
        updated_at: parse_instant(&updated_at)?,
    })
}

fn not_approved() -> StoreError {
    StoreError::Conflict(Text::new(
        "Chỉ chuẩn bị (chạy thử, kiểm tra sẵn sàng) cho phiên họp đã được phê duyệt; phiên này chưa được duyệt hoặc đã hủy.",
        "Only an approved session is prepared (rehearsals, readiness checks); this one is not approved or was cancelled.",
    ))
}

async fn approved_tx(tx: &mut Transaction<'_, Sqlite>, session_id: i64) -> Result<SessionRecord> {
    let session = session_tx(tx, session_id).await?;
    if session.status != SessionStatus::Approved {
        return Err(not_approved());
    }
    Ok(session)
}

async fn rehearsal_tx(
    tx: &mut Transaction<'_, Sqlite>,
    session_id: i64,
    id: i64,
) -> Result<RehearsalRecord> {
    let row: Option<RehearsalRow> = sqlx::query_as(&format!("{REHEARSAL_SELECT} WHERE r.id = ?"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let record = rehearsal_of(row.ok_or(StoreError::NotFound("rehearsal"))?)?;
    if record.session_id != session_id {
        return Err(StoreError::NotFound("rehearsal"));
    }
    Ok(record)
}

/// Tells every invited unit about a rehearsal (R-PREP-5, R-REG-6).
async fn notify_invitees_tx(
    tx: &mut Transaction<'_, Sqlite>,
    session: &SessionRecord,
    event: &'static str,
    subject: Text,
    body: Text,
    now: Timestamp,
) -> Result<()> {
    let units: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT unit_id FROM invitations WHERE session_id = ? ORDER BY unit_id",
    )
    .bind(session.id)
    .fetch_all(&mut **tx)
    .await?;
    for unit in units {
        notify_tx(
            tx,
            unit,
            session.id,
            event,
            subject.clone(),
            body.clone(),
            now,
        )
        .await?;
    }
    Ok(())
}

async fn insert_rehearsal_tx(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &Actor,
    session_id: i64,
    at: DateTime,
    source: &str,
    replaces_id: Option<i64>,
    now: Timestamp,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rehearsals (session_id, at, source, status, replaces_id, updated_by, updated_at) \
         VALUES (?, ?, ?, 'planned', ?, ?, ?) RETURNING id",
    )
    .bind(session_id)
    .bind(to_unix(at))
    .bind(source)
    .bind(replaces_id)
    .bind(actor.user_id)
    .bind(now.to_string())
    .fetch_one(&mut **tx)
    .await?)
}

impl Store {
    /// The rehearsals of a session, in time order.
    pub async fn rehearsals(&self, session_id: i64) -> Result<Vec<RehearsalRecord>> {
        let rows: Vec<RehearsalRow> = sqlx::query_as(&format!(
            "{REHEARSAL_SELECT} WHERE r.session_id = ? ORDER BY r.at, r.id"
        ))
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(rehearsal_of).collect()
    }

    /// Writes the proposed schedule of an approved session unless one was proposed before
    /// for the same start; says whether it wrote. When the session moved since, a proposal
    /// nobody touched (no rehearsal set by the host, none failed, no check during one) is
    /// replaced by the one counted from the new start; a touched schedule is the host's to
    /// move. Idempotent, so every reader may call it on the first look.
    pub async fn propose_rehearsals(
        &self,
        actor: &Actor,
        session_id: i64,
        proposed: &[ProposedRehearsal],
    ) -> Result<bool> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let session = session_tx(&mut tx, session_id).await?;
        if session.status != SessionStatus::Approved {
            return Ok(false);
        }
        let start = to_unix(session.registration.starts_at);
        let planned_for: Option<i64> =
            sqlx::query_scalar("SELECT for_start FROM rehearsal_plans WHERE session_id = ?")
                .bind(session_id)
                .fetch_optional(&mut *tx)
                .await?;
        let action = match planned_for {
            None => "session.rehearsals.proposed",
            Some(for_start) if for_start == start => return Ok(false),
            Some(_) => {
                let touched: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM rehearsals WHERE session_id = ?1 AND (source = 'host' OR status = 'failed')) \
                     + (SELECT COUNT(*) FROM readiness_checks WHERE session_id = ?1 AND rehearsal_id IS NOT NULL)",
                )
                .bind(session_id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("UPDATE rehearsal_plans SET for_start = ? WHERE session_id = ?")
                    .bind(start)
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
                if touched > 0 {
                    tx.commit().await?;
                    return Ok(false);
                }
                sqlx::query("DELETE FROM rehearsals WHERE session_id = ?")
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
                "session.rehearsals.reproposed"
            }
        };
        sqlx::query(
            "INSERT INTO rehearsal_plans (session_id, for_start, proposed_at) VALUES (?, ?, ?) ON CONFLICT (session_id) DO NOTHING",
        )
        .bind(session_id)
        .bind(start)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        for rehearsal in proposed {
            insert_rehearsal_tx(
                &mut tx,
                actor,
                session_id,
                rehearsal.at,
                &rehearsal.source,
                None,
                now,
            )
            .await?;
        }
        audit::append(
            &mut tx,
            actor,
            action,
            &format!("session:{session_id}"),
            &json!({ "starts_at": session.registration.starts_at, "rehearsals": proposed }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a rehearsal chosen by the host and tells the invitees.
    pub async fn add_rehearsal(
        &self,
        actor: &Actor,
        session_id: i64,
        at: DateTime,
    ) -> Result<RehearsalRecord> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let session = approved_tx(&mut tx, session_id).await?;
        // A schedule set by hand replaces any proposal still to come.
        sqlx::query("INSERT INTO rehearsal_plans (session_id, for_start, proposed_at) VALUES (?, ?, ?) ON CONFLICT (session_id) DO NOTHING")
            .bind(session_id)
            .bind(to_unix(session.registration.starts_at))
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
        let id = insert_rehearsal_tx(&mut tx, actor, session_id, at, "host", None, now).await?;
        audit::append(
            &mut tx,
            actor,
            "session.rehearsal.add",
            &format!("session:{session_id}"),
            &json!({ "rehearsal_id": id, "at": at }),
        )
        .await?;
        let title = &session.registration.title;
        notify_invitees_tx(
            &mut tx,
            &session,
            "rehearsal.added",
            Text::new(
                format!("Lịch chạy thử phiên họp \"{title}\""),
                format!("Rehearsal of the session \"{title}\""),
            ),
            Text::new(
                format!(
                    "Buổi chạy thử lúc {}. Đề nghị điểm cầu tham gia và kiểm tra sẵn sàng (nguồn điện, đường truyền, thiết bị, âm thanh, hình ảnh, ánh sáng).",
                    format_date_time(at, Lang::Vi)
                ),
                format!(
                    "Rehearsal at {}. Please join and check your endpoint (power, network, terminal, audio, video, lighting).",
                    format_date_time(at, Lang::En)
                ),
            ),
            now,
        )
        .await?;
        let record = rehearsal_tx(&mut tx, session_id, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Moves a planned rehearsal and tells the invitees; or, when `failed` is true, marks it
    /// failed with `reason` and sets a new one at `at` that replaces it (R-PREP-5). Returns
    /// the rehearsal now planned.
    pub async fn reschedule_rehearsal(
        &self,
        actor: &Actor,
        session_id: i64,
        id: i64,
        at: DateTime,
        reason: &str,
        failed: bool,
    ) -> Result<RehearsalRecord> {
        let now = Timestamp::now();
        let reason = reason.trim();
        let mut tx = self.begin_write().await?;
        let session = approved_tx(&mut tx, session_id).await?;
        let before = rehearsal_tx(&mut tx, session_id, id).await?;
        if before.status != "planned" {
            return Err(StoreError::Conflict(Text::new(
                "Buổi chạy thử này đã được ghi nhận không đạt và đã có lịch mới; hãy đổi giờ buổi chạy thử mới.",
                "This rehearsal is already marked failed and replaced; change the time of the new one.",
            )));
        }
        let planned = if failed {
            sqlx::query("UPDATE rehearsals SET status = 'failed', note = ?, updated_by = ?, updated_at = ? WHERE id = ?")
                .bind(reason)
                .bind(actor.user_id)
                .bind(now.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_rehearsal_tx(&mut tx, actor, session_id, at, "host", Some(id), now).await?
        } else {
            sqlx::query("UPDATE rehearsals SET at = ?, source = 'host', note = ?, updated_by = ?, updated_at = ? WHERE id = ?")
                .bind(to_unix(at))
                .bind(reason)
                .bind(actor.user_id)
                .bind(now.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        };
        audit::append(
            &mut tx,
            actor,
            if failed {
                "session.rehearsal.failed"
            } else {
                "session.rehearsal.move"
            },
            &format!("session:{session_id}"),
            &json!({ "rehearsal_id": id, "new_rehearsal_id": planned, "from": before.at, "to": at, "reason": reason }),
        )
        .await?;
        let title = &session.registration.title;
        let (old_vi, old_en) = (
            format_date_time(before.at, Lang::Vi),
            format_date_time(before.at, Lang::En),
        );
        let (new_vi, new_en) = (
            format_date_time(at, Lang::Vi),
            format_date_time(at, Lang::En),
        );
        let reason_vi = if reason.is_empty() {
            "không nêu"
        } else {
            reason
        };
        let reason_en = if reason.is_empty() {
            "none given"
        } else {
            reason
        };
        let (subject, body) = if failed {
            (
                Text::new(
                    format!("Chạy thử lại phiên họp \"{title}\" lúc {new_vi}"),
                    format!("The session \"{title}\" is rehearsed again at {new_en}"),
                ),
                Text::new(
                    format!("Buổi chạy thử lúc {old_vi} không đạt (lý do: {reason_vi}). Buổi chạy thử mới lúc {new_vi}: đề nghị điểm cầu khắc phục lỗi, tham gia và kiểm tra lại."),
                    format!("The rehearsal at {old_en} failed (reason: {reason_en}). The new rehearsal is at {new_en}: please fix what failed, join and check again."),
                ),
            )
        } else {
            (
                Text::new(
                    format!("Đổi giờ chạy thử phiên họp \"{title}\""),
                    format!("Rehearsal of \"{title}\" moved"),
                ),
                Text::new(
                    format!("Buổi chạy thử lúc {old_vi} chuyển sang {new_vi} (lý do: {reason_vi}). Đề nghị điểm cầu tham gia đúng giờ mới."),
                    format!("The rehearsal at {old_en} moves to {new_en} (reason: {reason_en}). Please join at the new time."),
                ),
            )
        };
        notify_invitees_tx(
            &mut tx,
            &session,
            if failed {
                "rehearsal.rescheduled"
            } else {
                "rehearsal.moved"
            },
            subject,
            body,
            now,
        )
        .await?;
        let record = rehearsal_tx(&mut tx, session_id, planned).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Saves a readiness check of a booked endpoint; a failed one tells the host unit.
    pub async fn record_check(&self, actor: &Actor, check: NewCheck<'_>) -> Result<CheckRecord> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let session = approved_tx(&mut tx, check.session_id).await?;
        let endpoint_name: Option<String> = sqlx::query_scalar(
            "SELECT e.name FROM session_endpoints se JOIN endpoints e ON e.id = se.endpoint_id \
             WHERE se.session_id = ? AND se.endpoint_id = ?",
        )
        .bind(check.session_id)
        .bind(check.endpoint_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(endpoint_name) = endpoint_name else {
            return Err(StoreError::NotFound("endpoint"));
        };
        if let Some(rehearsal) = check.rehearsal_id {
            rehearsal_tx(&mut tx, check.session_id, rehearsal).await?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO readiness_checks (session_id, endpoint_id, rehearsal_id, outcome, link_grade, link_detail, checked_by, checked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(check.session_id)
        .bind(check.endpoint_id)
        .bind(check.rehearsal_id)
        .bind(check.outcome.as_str())
        .bind(check.link_grade)
        .bind(check.link_detail.to_string())
        .bind(actor.user_id)
        .bind(now.to_string())
        .fetch_one(&mut *tx)
        .await?;
        for item in &check.entry.items {
            sqlx::query(
                "INSERT INTO readiness_check_items (check_id, item, pass, note) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(item.item.as_str())
            .bind(item.pass)
            .bind(&item.note)
            .execute(&mut *tx)
            .await?;
        }
        audit::append(
            &mut tx,
            actor,
            "session.readiness.check",
            &format!("session:{}", check.session_id),
            &json!({
                "check_id": id,
                "endpoint_id": check.endpoint_id,
                "rehearsal_id": check.rehearsal_id,
                "outcome": check.outcome,
                "link_grade": check.link_grade,
                "items": check.entry.items,
            }),
        )
        .await?;
        if check.outcome == CheckOutcome::Failed {
            let failed: Vec<String> = check
                .entry
                .items
                .iter()
                .filter(|i| !i.pass)
                .map(|i| format!("{} ({})", i.item.label(Lang::Vi), i.note))
                .collect();
            let failed_en: Vec<String> = check
                .entry
                .items
                .iter()
                .filter(|i| !i.pass)
                .map(|i| format!("{} ({})", i.item.label(Lang::En), i.note))
                .collect();
            let link = if check.link_grade == "poor" {
                (", đường truyền không đạt", ", link poor")
            } else {
                ("", "")
            };
            notify_tx(
                &mut tx,
                session.registration.host_unit_id,
                check.session_id,
                "readiness.failed",
                Text::new(
                    format!("Điểm cầu \"{endpoint_name}\" chưa sẵn sàng"),
                    format!("Endpoint \"{endpoint_name}\" is not ready"),
                ),
                Text::new(
                    format!(
                        "Kiểm tra sẵn sàng cho phiên họp \"{}\" không đạt: {}{}. Điểm cầu khắc phục rồi kiểm tra lại; theo dõi trên bảng sẵn sàng.",
                        session.registration.title,
                        failed.join("; "),
                        link.0
                    ),
                    format!(
                        "The readiness check for \"{}\" failed: {}{}. The endpoint fixes it and checks again; follow it on the readiness board.",
                        session.registration.title,
                        failed_en.join("; "),
                        link.1
                    ),
                ),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.checks_for(check.session_id)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(StoreError::NotFound("check"))
    }

    /// Every readiness check of a session, oldest first, with its items.
    pub async fn checks_for(&self, session_id: i64) -> Result<Vec<CheckRecord>> {
        type Row = (
            i64,
            i64,
            Option<i64>,
            String,
            String,
            String,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT c.id, c.endpoint_id, c.rehearsal_id, c.outcome, c.link_grade, c.link_detail, u.username, c.checked_at \
             FROM readiness_checks c LEFT JOIN users u ON u.id = c.checked_by WHERE c.session_id = ? ORDER BY c.id",
        )
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        let items: Vec<(i64, String, bool, String)> = sqlx::query_as(
            "SELECT i.check_id, i.item, i.pass, i.note FROM readiness_check_items i \
             JOIN readiness_checks c ON c.id = i.check_id WHERE c.session_id = ?",
        )
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    endpoint_id,
                    rehearsal_id,
                    outcome,
                    link_grade,
                    link_detail,
                    checked_by,
                    checked_at,
                )| {
                    let mut own: Vec<(CheckItem, bool, String)> = items
                        .iter()
                        .filter(|(check, ..)| *check == id)
                        .map(|(_, item, pass, note)| {
                            CheckItem::parse(item)
                                .map(|item| (item, *pass, note.clone()))
                                .ok_or_else(|| StoreError::Corrupt(format!("check item `{item}`")))
                        })
                        .collect::<Result<_>>()?;
                    own.sort_by_key(|(item, ..)| CheckItem::ALL.iter().position(|i| i == item));
                    Ok(CheckRecord {
                        id,
                        session_id,
                        endpoint_id,
                        rehearsal_id,
                        outcome: CheckOutcome::parse(&outcome).ok_or_else(|| {
                            StoreError::Corrupt(format!("check outcome `{outcome}`"))
                        })?,
                        link_grade,
                        link_detail: serde_json::from_str(&link_detail)
                            .unwrap_or(serde_json::Value::Null),
                        items: own,
                        checked_by,
                        checked_at: parse_instant(&checked_at)?,
                    })
                },
            )
            .collect()
    }

    /// Replaces the technicians on duty at a booked endpoint for the session (R-PREP-4).
    pub async fn set_duty_technicians(
        &self,
        actor: &Actor,
        session_id: i64,
        endpoint_id: i64,
        technicians: &[(String, String)],
    ) -> Result<Vec<DutyTechnician>> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        approved_tx(&mut tx, session_id).await?;
        let booked: Option<i64> = sqlx::query_scalar(
            "SELECT endpoint_id FROM session_endpoints WHERE session_id = ? AND endpoint_id = ?",
        )
        .bind(session_id)
        .bind(endpoint_id)
        .fetch_optional(&mut *tx)
        .await?;
        if booked.is_none() {
            return Err(StoreError::NotFound("endpoint"));
        }
        sqlx::query("DELETE FROM duty_technicians WHERE session_id = ? AND endpoint_id = ?")
            .bind(session_id)
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?;
        for (name, phone) in technicians {
            sqlx::query(
                "INSERT INTO duty_technicians (session_id, endpoint_id, name, phone, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(session_id)
            .bind(endpoint_id)
            .bind(name)
            .bind(phone)
            .bind(actor.user_id)
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
        }
        audit::append(
            &mut tx,
            actor,
            "session.duty_technicians",
            &format!("session:{session_id}"),
            &json!({ "endpoint_id": endpoint_id, "technicians": technicians }),
        )
        .await?;
        tx.commit().await?;
        Ok(self
            .duty_technicians(session_id)
            .await?
            .into_iter()
            .filter(|t| t.endpoint_id == endpoint_id)
            .collect())
    }

    /// The technicians on duty at every endpoint of a session.
    pub async fn duty_technicians(&self, session_id: i64) -> Result<Vec<DutyTechnician>> {
        let rows: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT t.endpoint_id, t.name, t.phone, u.username, t.recorded_at FROM duty_technicians t \
             LEFT JOIN users u ON u.id = t.recorded_by WHERE t.session_id = ? ORDER BY t.endpoint_id, t.id",
        )
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(endpoint_id, name, phone, recorded_by, recorded_at)| {
                Ok(DutyTechnician {
                    endpoint_id,
                    name,
                    phone,
                    recorded_by,
                    recorded_at: parse_instant(&recorded_at)?,
                })
            })
            .collect()
    }
}
