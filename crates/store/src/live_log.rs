//! What happened during a live session: each endpoint's presences (R-LIVE-8) and the
//! incidents, reported by people or opened by the media server (R-LIVE-6).
//!
//! Invariants:
//! - An endpoint has at most one open presence per session: a join closes any presence left
//!   open (a crash of the server, a replaced connection) before it opens a new one.
//! - Opening or resolving an incident appends to the audit trail and tells the host unit and
//!   the handler's units through the outbox, in the same transaction.
//! - The media server opens at most one automatic incident of a kind per endpoint at a time.

use hnth_domain::lang::{Lang, Text};
use hnth_domain::session::incident::{IncidentHandler, IncidentKind};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::sessions::{notify_tx, parse_instant, session_tx};
use crate::{audit, Actor, Result, Store, StoreError};

/// One presence of an endpoint in a session's room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresenceRecord {
    /// The endpoint.
    pub endpoint_id: i64,
    /// When it joined.
    pub joined_at: Timestamp,
    /// When it left, if it has.
    pub left_at: Option<Timestamp>,
    /// `left` (hung up), `lost` (the connection broke), `removed`, `replaced`, `ended`.
    pub how_left: Option<String>,
}

/// An incident as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRecord {
    /// Its id.
    pub id: i64,
    /// The session.
    pub session_id: i64,
    /// The endpoint concerned, if one.
    pub endpoint_id: Option<i64>,
    /// Its name.
    pub endpoint_name: Option<String>,
    /// What went wrong.
    pub kind: IncidentKind,
    /// In the reporter's words, or the media server's figures.
    pub description: String,
    /// Who fixes it.
    pub handler: IncidentHandler,
    /// Opened by the media server.
    pub automatic: bool,
    /// Who reported it.
    pub reported_by: String,
    /// When.
    pub opened_at: Timestamp,
    /// When the handler expects it fixed.
    pub estimated_fix_at: Option<Timestamp>,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// How.
    pub resolution: String,
    /// By whom.
    pub resolved_by: Option<String>,
}

/// An incident to open.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// The session.
    pub session_id: i64,
    /// The endpoint concerned.
    pub endpoint_id: Option<i64>,
    /// What went wrong.
    pub kind: IncidentKind,
    /// Details.
    pub description: String,
    /// Who fixes it.
    pub handler: IncidentHandler,
    /// Opened by the media server rather than a person.
    pub automatic: bool,
    /// When the handler expects it fixed.
    pub estimated_fix_at: Option<Timestamp>,
}

type IncidentRow = (
    i64,
    i64,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
    bool,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

const INCIDENT_SELECT: &str = "SELECT i.id, i.session_id, i.endpoint_id, e.name, i.kind, i.description, i.handler, \
     i.automatic, i.reported_by, i.opened_at, i.estimated_fix_at, i.resolved_at, i.resolution, i.resolved_by \
     FROM incidents i LEFT JOIN endpoints e ON e.id = i.endpoint_id";

fn incident(row: IncidentRow) -> Result<IncidentRecord> {
    let (
        id,
        session_id,
        endpoint_id,
        endpoint_name,
        kind,
        description,
        handler,
        automatic,
        reported_by,
        opened_at,
        estimated_fix_at,
        resolved_at,
        resolution,
        resolved_by,
    ) = row;
    Ok(IncidentRecord {
        id,
        session_id,
        endpoint_id,
        endpoint_name,
        kind: IncidentKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("incident kind `{kind}`")))?,
        description,
        handler: IncidentHandler::parse(&handler)
            .ok_or_else(|| StoreError::Corrupt(format!("incident handler `{handler}`")))?,
        automatic,
        reported_by,
        opened_at: parse_instant(&opened_at)?,
        estimated_fix_at: estimated_fix_at.as_deref().map(parse_instant).transpose()?,
        resolved_at: resolved_at.as_deref().map(parse_instant).transpose()?,
        resolution,
        resolved_by,
    })
}

impl Store {
    /// Records that an endpoint joined a session's room; returns the presence's id.
    pub async fn presence_started(&self, session_id: i64, endpoint_id: i64) -> Result<i64> {
        let now = Timestamp::now().to_string();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE attendance SET left_at = ?, how_left = 'replaced' WHERE session_id = ? AND endpoint_id = ? AND left_at IS NULL",
        )
        .bind(&now)
        .bind(session_id)
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
        let id = sqlx::query_scalar(
            "INSERT INTO attendance (session_id, endpoint_id, joined_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(session_id)
        .bind(endpoint_id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records that a presence ended, and how (`left`, `lost`, `removed`, `replaced`, `ended`).
    pub async fn presence_ended(&self, presence_id: i64, how: &str) -> Result<()> {
        sqlx::query(
            "UPDATE attendance SET left_at = ?, how_left = ? WHERE id = ? AND left_at IS NULL",
        )
        .bind(Timestamp::now().to_string())
        .bind(how)
        .bind(presence_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Every presence of a session, by endpoint then time.
    pub async fn presences(&self, session_id: i64) -> Result<Vec<PresenceRecord>> {
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT endpoint_id, joined_at, left_at, how_left FROM attendance WHERE session_id = ? ORDER BY endpoint_id, id",
        )
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(endpoint_id, joined_at, left_at, how_left)| {
                Ok(PresenceRecord {
                    endpoint_id,
                    joined_at: parse_instant(&joined_at)?,
                    left_at: left_at.as_deref().map(parse_instant).transpose()?,
                    how_left,
                })
            })
            .collect()
    }

    /// Opens an incident, tells the host unit and the handler's units, and audits it.
    pub async fn open_incident(&self, actor: &Actor, new: &NewIncident) -> Result<IncidentRecord> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let session = session_tx(&mut tx, new.session_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (session_id, endpoint_id, kind, description, handler, automatic, reported_by, opened_at, estimated_fix_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.session_id)
        .bind(new.endpoint_id)
        .bind(new.kind.as_str())
        .bind(&new.description)
        .bind(new.handler.as_str())
        .bind(new.automatic)
        .bind(&actor.name)
        .bind(now.to_string())
        .bind(new.estimated_fix_at.map(|at| at.to_string()))
        .fetch_one(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "incident.open",
            &format!("session:{}", new.session_id),
            &json!({ "incident_id": id, "endpoint_id": new.endpoint_id, "kind": new.kind.as_str(),
                     "handler": new.handler.as_str(), "automatic": new.automatic, "description": new.description }),
        )
        .await?;
        let record = incident_conn(&mut tx, id).await?;
        let place = record.endpoint_name.clone().unwrap_or_default();
        let subject = Text::new(
            format!(
                "Sự cố: {} — {place} (\"{}\")",
                new.kind.label(Lang::Vi),
                session.registration.title
            ),
            format!(
                "Incident: {} — {place} (\"{}\")",
                new.kind.label(Lang::En),
                session.registration.title
            ),
        );
        let body = Text::new(
            format!(
                "{} Đơn vị xử lý: {}.",
                new.description,
                new.handler.label(Lang::Vi)
            ),
            format!(
                "{} Handled by: {}.",
                new.description,
                new.handler.label(Lang::En)
            ),
        );
        for unit in told_units(&mut tx, &session, new.handler).await? {
            notify_tx(
                &mut tx,
                unit,
                new.session_id,
                "incident.opened",
                subject.clone(),
                body.clone(),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Resolves an open incident; the host and the handler are told.
    pub async fn resolve_incident(
        &self,
        actor: &Actor,
        id: i64,
        resolution: &str,
    ) -> Result<IncidentRecord> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let before = incident_conn(&mut tx, id).await?;
        if before.resolved_at.is_some() {
            return Err(StoreError::Conflict(Text::new(
                "Sự cố này đã được xử lý xong.",
                "This incident is already resolved.",
            )));
        }
        sqlx::query(
            "UPDATE incidents SET resolved_at = ?, resolution = ?, resolved_by = ? WHERE id = ?",
        )
        .bind(now.to_string())
        .bind(resolution)
        .bind(&actor.name)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "incident.resolve",
            &format!("session:{}", before.session_id),
            &json!({ "incident_id": id, "resolution": resolution }),
        )
        .await?;
        let session = session_tx(&mut tx, before.session_id).await?;
        let place = before.endpoint_name.clone().unwrap_or_default();
        for unit in told_units(&mut tx, &session, before.handler).await? {
            notify_tx(
                &mut tx,
                unit,
                before.session_id,
                "incident.resolved",
                Text::new(
                    format!("Đã xử lý sự cố: {} — {place}", before.kind.label(Lang::Vi)),
                    format!(
                        "Incident resolved: {} — {place}",
                        before.kind.label(Lang::En)
                    ),
                ),
                Text::new(resolution.to_string(), resolution.to_string()),
                now,
            )
            .await?;
        }
        let record = incident_conn(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The open automatic incident of `kind` at an endpoint, if any.
    pub async fn open_automatic_incident(
        &self,
        session_id: i64,
        endpoint_id: i64,
        kind: IncidentKind,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM incidents WHERE session_id = ? AND endpoint_id = ? AND kind = ? AND automatic = 1 AND resolved_at IS NULL",
        )
        .bind(session_id)
        .bind(endpoint_id)
        .bind(kind.as_str())
        .fetch_optional(&self.read)
        .await?)
    }

    /// One incident.
    pub async fn incident(&self, id: i64) -> Result<IncidentRecord> {
        let mut conn = self.read.acquire().await?;
        incident_conn(&mut conn, id).await
    }

    /// The incidents of a session, oldest first.
    pub async fn incidents_for(&self, session_id: i64) -> Result<Vec<IncidentRecord>> {
        let rows: Vec<IncidentRow> = sqlx::query_as(&format!(
            "{INCIDENT_SELECT} WHERE i.session_id = ? ORDER BY i.id"
        ))
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(incident).collect()
    }
}

async fn incident_conn(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<IncidentRecord> {
    let row: IncidentRow = sqlx::query_as(&format!("{INCIDENT_SELECT} WHERE i.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("incident"))?;
    incident(row)
}

/// The host unit, and the units notified for the session whose kind matches the handler
/// (the carriers, the power company); the operating unit is the approver.
async fn told_units(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    session: &crate::sessions::SessionRecord,
    handler: IncidentHandler,
) -> Result<Vec<i64>> {
    let mut units = vec![session.registration.host_unit_id];
    let kind = match handler {
        IncidentHandler::Carrier => Some("carrier"),
        IncidentHandler::PowerCompany => Some("power_company"),
        IncidentHandler::OperatingUnit => None,
    };
    match kind {
        Some(kind) => {
            let handlers: Vec<i64> = sqlx::query_scalar(
                "SELECT n.unit_id FROM carrier_notices n JOIN units u ON u.id = n.unit_id WHERE n.session_id = ? AND u.kind = ?",
            )
            .bind(session.id)
            .bind(kind)
            .fetch_all(&mut **tx)
            .await?;
            units.extend(handlers);
        }
        None => units.extend(session.approver_unit_id),
    }
    units.sort_unstable();
    units.dedup();
    Ok(units)
}

/// One endpoint's closing checklist (R-POST-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClosingCheck {
    /// The endpoint.
    pub endpoint_id: i64,
    /// The system was checked after the session.
    pub system_checked: bool,
    /// The terminals are switched off.
    pub terminals_off: bool,
    /// The power is cut.
    pub power_cut: bool,
    /// Anything to note.
    pub note: String,
    /// Who confirmed.
    pub confirmed_by: String,
    /// When.
    pub confirmed_at: Timestamp,
}

impl ClosingCheck {
    /// Whether every item is done.
    pub fn complete(&self) -> bool {
        self.system_checked && self.terminals_off && self.power_cut
    }
}

/// How a session was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closure {
    /// When.
    pub closed_at: Timestamp,
    /// By whom (`system` when the last endpoint confirmed).
    pub closed_by: String,
    /// Endpoints that had not confirmed their checklist.
    pub missing: Vec<i64>,
}

impl Store {
    /// Records an endpoint's closing checklist (replacing an earlier one); when every booked
    /// endpoint has confirmed a complete one, the session is closed. Returns the closure if
    /// this confirmation closed it.
    pub async fn confirm_closing(
        &self,
        actor: &Actor,
        session_id: i64,
        check: &ClosingCheck,
    ) -> Result<Option<Closure>> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        if closure_conn(&mut tx, session_id).await?.is_some() {
            return Err(StoreError::Conflict(Text::new(
                "Phiên họp đã kết thúc và đóng lại.",
                "The session is already closed.",
            )));
        }
        sqlx::query(
            "INSERT INTO closing_checks (session_id, endpoint_id, system_checked, terminals_off, power_cut, note, confirmed_by, confirmed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, endpoint_id) DO UPDATE SET \
             system_checked = excluded.system_checked, terminals_off = excluded.terminals_off, power_cut = excluded.power_cut, \
             note = excluded.note, confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at",
        )
        .bind(session_id)
        .bind(check.endpoint_id)
        .bind(check.system_checked)
        .bind(check.terminals_off)
        .bind(check.power_cut)
        .bind(&check.note)
        .bind(&actor.name)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "session.closing_check",
            &format!("session:{session_id}"),
            &json!({ "endpoint_id": check.endpoint_id, "system_checked": check.system_checked,
                     "terminals_off": check.terminals_off, "power_cut": check.power_cut, "note": check.note }),
        )
        .await?;
        let missing = missing_conn(&mut tx, session_id).await?;
        let closure = if missing.is_empty() {
            Some(close_tx(&mut tx, &Actor::system("system"), session_id, &[], now).await?)
        } else {
            None
        };
        tx.commit().await?;
        Ok(closure)
    }

    /// Closes a session now, listing the endpoints that had not confirmed their checklist.
    pub async fn close_session(&self, actor: &Actor, session_id: i64) -> Result<Closure> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        if closure_conn(&mut tx, session_id).await?.is_some() {
            return Err(StoreError::Conflict(Text::new(
                "Phiên họp đã kết thúc và đóng lại.",
                "The session is already closed.",
            )));
        }
        let missing = missing_conn(&mut tx, session_id).await?;
        let closure = close_tx(&mut tx, actor, session_id, &missing, now).await?;
        tx.commit().await?;
        Ok(closure)
    }

    /// The closing checklists of a session and its closure, if closed.
    pub async fn closing(&self, session_id: i64) -> Result<(Vec<ClosingCheck>, Option<Closure>)> {
        let mut conn = self.read.acquire().await?;
        let rows: Vec<(i64, bool, bool, bool, String, String, String)> = sqlx::query_as(
            "SELECT endpoint_id, system_checked, terminals_off, power_cut, note, confirmed_by, confirmed_at \
             FROM closing_checks WHERE session_id = ? ORDER BY endpoint_id",
        )
        .bind(session_id)
        .fetch_all(&mut *conn)
        .await?;
        let checks = rows
            .into_iter()
            .map(
                |(
                    endpoint_id,
                    system_checked,
                    terminals_off,
                    power_cut,
                    note,
                    confirmed_by,
                    confirmed_at,
                )| {
                    Ok(ClosingCheck {
                        endpoint_id,
                        system_checked,
                        terminals_off,
                        power_cut,
                        note,
                        confirmed_by,
                        confirmed_at: parse_instant(&confirmed_at)?,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        let closure = closure_conn(&mut conn, session_id).await?;
        Ok((checks, closure))
    }
}

/// Booked endpoints without a complete closing checklist.
async fn missing_conn(conn: &mut sqlx::SqliteConnection, session_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT se.endpoint_id FROM session_endpoints se WHERE se.session_id = ? AND NOT EXISTS \
         (SELECT 1 FROM closing_checks c WHERE c.session_id = se.session_id AND c.endpoint_id = se.endpoint_id \
          AND c.system_checked AND c.terminals_off AND c.power_cut) ORDER BY se.endpoint_id",
    )
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?)
}

async fn closure_conn(
    conn: &mut sqlx::SqliteConnection,
    session_id: i64,
) -> Result<Option<Closure>> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT closed_at, closed_by, missing FROM session_closures WHERE session_id = ?",
    )
    .bind(session_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(closed_at, closed_by, missing)| {
        Ok(Closure {
            closed_at: parse_instant(&closed_at)?,
            closed_by,
            missing: serde_json::from_str(&missing)
                .map_err(|e| StoreError::Corrupt(format!("closure missing list: {e}")))?,
        })
    })
    .transpose()
}

async fn close_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    actor: &Actor,
    session_id: i64,
    missing: &[i64],
    now: Timestamp,
) -> Result<Closure> {
    sqlx::query("INSERT INTO session_closures (session_id, closed_at, closed_by, missing) VALUES (?, ?, ?, ?)")
        .bind(session_id)
        .bind(now.to_string())
        .bind(&actor.name)
        .bind(json!(missing).to_string())
        .execute(&mut **tx)
        .await?;
    audit::append(
        tx,
        actor,
        "session.close",
        &format!("session:{session_id}"),
        &json!({ "missing": missing }),
    )
    .await?;
    Ok(Closure {
        closed_at: now,
        closed_by: actor.name.clone(),
        missing: missing.to_vec(),
    })
}
