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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
        let mut tx = self.write.begin().await?;
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
