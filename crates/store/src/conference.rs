//! What the live conference leaves in the database: join links per endpoint (R-REG-7), every
//! control command with who issued it and its measured effect (R-LIVE-1, R-SEC-5), and the
//! link statistics the media server samples (R-PREP-2).
//!
//! Invariants:
//! - A join link belongs to exactly one (session, endpoint) pair and is never reissued for
//!   another; asking again returns the same link, so a link sent by e-mail stays valid.
//! - Every recorded command also appends to the hash-chained audit trail in the same
//!   transaction.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::accounts::new_secret;
use crate::sessions::parse_instant;
use crate::{audit, Actor, Result, Store};

/// One control command as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandRecord {
    /// Its id.
    pub id: i64,
    /// The session.
    pub session_id: i64,
    /// Who issued it (username, or `endpoint:…` for an endpoint joined by link).
    pub actor_name: String,
    /// The endpoint that issued it, when an endpoint did.
    pub endpoint_id: Option<i64>,
    /// The command's name, e.g. `connect_to_host`.
    pub command: String,
    /// The command as sent.
    pub detail: serde_json::Value,
    /// When it was applied.
    pub issued_at: Timestamp,
    /// For `connect_to_host`: milliseconds to the first packet of the endpoint at the host.
    pub effect_ms: Option<f64>,
}

/// One link-statistics sample of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkSample {
    /// The endpoint.
    pub endpoint_id: i64,
    /// When it was taken.
    pub at: Timestamp,
    /// Round-trip time.
    pub rtt_ms: Option<f64>,
    /// Fraction of the endpoint's packets lost on the way in (0..1).
    pub loss_in: Option<f64>,
    /// Fraction of the server's packets lost on the way out (0..1).
    pub loss_out: Option<f64>,
    /// Worst interarrival jitter.
    pub jitter_ms: Option<f64>,
    /// Bits per second from the endpoint.
    pub bitrate_in: i64,
    /// Bits per second to the endpoint.
    pub bitrate_out: i64,
}

impl Store {
    /// The join links of `endpoints` in `session_id`, created where missing; in the order asked.
    pub async fn join_links(
        &self,
        actor: &Actor,
        session_id: i64,
        endpoints: &[i64],
    ) -> Result<Vec<(i64, String)>> {
        let mut tx = self.begin_write().await?;
        let mut links = Vec::with_capacity(endpoints.len());
        let mut created = Vec::new();
        for &endpoint in endpoints {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT token FROM join_links WHERE session_id = ? AND endpoint_id = ?",
            )
            .bind(session_id)
            .bind(endpoint)
            .fetch_optional(&mut *tx)
            .await?;
            let token = match existing {
                Some(token) => token,
                None => {
                    let token = new_secret("j");
                    sqlx::query(
                        "INSERT INTO join_links (token, session_id, endpoint_id, created_at) VALUES (?, ?, ?, ?)",
                    )
                    .bind(&token)
                    .bind(session_id)
                    .bind(endpoint)
                    .bind(Timestamp::now().to_string())
                    .execute(&mut *tx)
                    .await?;
                    created.push(endpoint);
                    token
                }
            };
            links.push((endpoint, token));
        }
        if !created.is_empty() {
            audit::append(
                &mut tx,
                actor,
                "conference.join_links",
                &format!("session:{session_id}"),
                &json!({ "endpoints": created }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(links)
    }

    /// The (session, endpoint) of a join link.
    pub async fn join_link(&self, token: &str) -> Result<Option<(i64, i64)>> {
        Ok(
            sqlx::query_as("SELECT session_id, endpoint_id FROM join_links WHERE token = ?")
                .bind(token)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Records an applied control command and appends it to the audit trail.
    pub async fn record_command(
        &self,
        actor: &Actor,
        session_id: i64,
        endpoint_id: Option<i64>,
        command: &str,
        detail: &serde_json::Value,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conference_commands (session_id, user_id, endpoint_id, actor_name, command, detail, issued_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(session_id)
        .bind(actor.user_id)
        .bind(endpoint_id)
        .bind(&actor.name)
        .bind(command)
        .bind(detail.to_string())
        .bind(Timestamp::now().to_string())
        .fetch_one(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            &format!("conference.{command}"),
            &format!("session:{session_id}"),
            &json!({ "command_id": id, "endpoint_id": endpoint_id, "detail": detail }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Stores the measured effect of a command (connect to host: to the first packet).
    pub async fn record_command_effect(&self, command_id: i64, effect_ms: f64) -> Result<()> {
        sqlx::query("UPDATE conference_commands SET effect_ms = ? WHERE id = ?")
            .bind(effect_ms)
            .bind(command_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The commands of a session, oldest first.
    pub async fn commands_for(&self, session_id: i64) -> Result<Vec<CommandRecord>> {
        type Row = (
            i64,
            i64,
            String,
            Option<i64>,
            String,
            String,
            String,
            Option<f64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, session_id, actor_name, endpoint_id, command, detail, issued_at, effect_ms \
             FROM conference_commands WHERE session_id = ? ORDER BY id",
        )
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    session_id,
                    actor_name,
                    endpoint_id,
                    command,
                    detail,
                    issued_at,
                    effect_ms,
                )| {
                    Ok(CommandRecord {
                        id,
                        session_id,
                        actor_name,
                        endpoint_id,
                        command,
                        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                        issued_at: parse_instant(&issued_at)?,
                        effect_ms,
                    })
                },
            )
            .collect()
    }

    /// Stores one link-statistics sample.
    pub async fn record_link_sample(&self, session_id: i64, sample: &LinkSample) -> Result<()> {
        sqlx::query(
            "INSERT INTO link_stats (session_id, endpoint_id, at, rtt_ms, loss_in, loss_out, jitter_ms, bitrate_in, bitrate_out) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(session_id)
        .bind(sample.endpoint_id)
        .bind(sample.at.to_string())
        .bind(sample.rtt_ms)
        .bind(sample.loss_in)
        .bind(sample.loss_out)
        .bind(sample.jitter_ms)
        .bind(sample.bitrate_in)
        .bind(sample.bitrate_out)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The latest sample of each endpoint of a session.
    pub async fn latest_link_samples(&self, session_id: i64) -> Result<Vec<LinkSample>> {
        type Row = (
            i64,
            String,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            i64,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT endpoint_id, at, rtt_ms, loss_in, loss_out, jitter_ms, bitrate_in, bitrate_out FROM link_stats \
             WHERE id IN (SELECT MAX(id) FROM link_stats WHERE session_id = ? GROUP BY endpoint_id) ORDER BY endpoint_id",
        )
        .bind(session_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(
                |(
                    endpoint_id,
                    at,
                    rtt_ms,
                    loss_in,
                    loss_out,
                    jitter_ms,
                    bitrate_in,
                    bitrate_out,
                )| {
                    Ok(LinkSample {
                        endpoint_id,
                        at: parse_instant(&at)?,
                        rtt_ms,
                        loss_in,
                        loss_out,
                        jitter_ms,
                        bitrate_in,
                        bitrate_out,
                    })
                },
            )
            .collect()
    }
}
