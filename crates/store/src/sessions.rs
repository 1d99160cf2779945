//! Sessions from registration to cancellation: booking with the double-booking check in the
//! same transaction (R-REG-3), approval routing (R-REG-4), invitations and answers (R-REG-6,
//! R-REG-7), carrier and power-company notices (R-REG-8), versions of every change, and the
//! published schedule (R-REG-5).
//!
//! Invariants:
//! - A session in a holding state ([`SessionStatus::holds_resources`]) never shares an
//!   endpoint with an overlapping holding session, and the MCU capacity is never exceeded:
//!   the check reads the holding sessions and writes the booking in one write transaction,
//!   and writes are serialised (one writer connection), so two registrations cannot both win.
//! - Every change bumps `version`, stores a snapshot in `session_versions` and appends to the
//!   audit trail; a change sent with a stale version is refused, nothing is half-written.
//! - Every notice that a change causes is queued in the outbox in the same transaction.

use std::collections::BTreeMap;

use hnth_domain::calendar::WorkCalendar;
use hnth_domain::collate::sort_key;
use hnth_domain::lang::Text;
use hnth_domain::policy::{ApproverRule, LeadTime, McuCapacity};
use hnth_domain::session::booking::{conflicts, Booked, Conflict};
use hnth_domain::session::checks::deadline;
use hnth_domain::session::{
    format_date_time, route_approver, Action, Classification, ExtraNeed, MeetingType, Registration,
    SessionStatus, Urgency,
};
use hnth_domain::unit::UnitKind;
use hnth_domain::validate::Invalid;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, Transaction};

use crate::outbox::{self, Notice};
use crate::{audit, now_text, Actor, Page, Paged, Result, Store, StoreError};

/// The time zone of every civil time in the domain.
pub fn zone() -> TimeZone {
    // The tz database is bundled into the binary (jiff's `tzdb-bundle-always`), so the zone
    // is always there; UTC+7 without daylight saving is the exact fallback anyway.
    TimeZone::get("Asia/Ho_Chi_Minh").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(7)))
}

/// A local Vietnamese date-time as Unix seconds.
pub fn to_unix(at: DateTime) -> i64 {
    zone()
        .to_ambiguous_timestamp(at)
        .compatible()
        .map(|t| t.as_second())
        .unwrap_or_default()
}

/// Unix seconds as a local Vietnamese date-time.
pub fn from_unix(seconds: i64) -> DateTime {
    Timestamp::from_second(seconds)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(zone())
        .datetime()
}

/// An instant as a local Vietnamese date-time.
pub fn local(at: Timestamp) -> DateTime {
    at.to_zoned(zone()).datetime()
}

/// The deployment's rules that booking and routing need, taken from the policy in force.
#[derive(Debug, Clone)]
pub struct BookingRules<'a> {
    /// What the MCU carries at once.
    pub capacity: McuCapacity,
    /// Who approves what.
    pub approvers: &'a [ApproverRule],
    /// The operating unit; when `None`, the root of the host's tree stands for it.
    pub operating_unit_id: Option<i64>,
    /// How fast the approver answers.
    pub answer_within: LeadTime,
    /// How long before the start carriers and the power company must know.
    pub carrier_notice_before: LeadTime,
    /// Working days.
    pub calendar: &'a WorkCalendar,
}

/// Collisions found for one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OccurrenceConflicts {
    /// The occurrence's start.
    pub starts_at: DateTime,
    /// The occurrence's end.
    pub ends_at: DateTime,
    /// What it collides with.
    pub conflicts: Vec<Conflict>,
}

/// A session as stored, with the names a page shows.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRecord {
    /// Id.
    pub id: i64,
    /// The series it belongs to.
    pub series_id: Option<i64>,
    /// What was registered.
    pub registration: Registration,
    /// Where it stands.
    pub status: SessionStatus,
    /// Bumped by every change.
    pub version: i64,
    /// The host unit's name.
    pub host_unit_name: String,
    /// The host endpoint's name.
    pub host_endpoint_name: String,
    /// The unit that approves.
    pub approver_unit_id: Option<i64>,
    /// Its name.
    pub approver_unit_name: Option<String>,
    /// When it was last sent for approval.
    pub submitted_at: Option<Timestamp>,
    /// When the approver must answer by.
    pub answer_due_at: Option<Timestamp>,
    /// When approved, refused or sent back.
    pub decided_at: Option<Timestamp>,
    /// By whom.
    pub decided_by: Option<String>,
    /// The approver's or canceller's note.
    pub decision_note: String,
    /// Who registered it.
    pub created_by: Option<String>,
    /// Last change.
    pub updated_at: Timestamp,
}

impl SessionRecord {
    /// Whether the approver's answer is late at `now` (R-REG-4).
    pub fn answer_overdue(&self, now: Timestamp) -> bool {
        self.status == SessionStatus::Submitted && self.answer_due_at.is_some_and(|due| now > due)
    }
}

/// One booked endpoint of a session.
#[derive(Debug, Clone, Serialize)]
pub struct BookedEndpoint {
    /// Endpoint id.
    pub endpoint_id: i64,
    /// Its name.
    pub endpoint_name: String,
    /// Its unit.
    pub unit_id: i64,
    /// The unit's name.
    pub unit_name: String,
    /// `host` or `member`.
    pub role: String,
}

/// How an invited unit answered (R-REG-7).
#[derive(Debug, Clone, Serialize)]
pub struct InvitationRecord {
    /// Id.
    pub id: i64,
    /// The session.
    pub session_id: i64,
    /// The invited endpoint.
    pub endpoint_id: i64,
    /// Its name.
    pub endpoint_name: String,
    /// Its unit.
    pub unit_id: i64,
    /// The unit's name.
    pub unit_name: String,
    /// `pending`, `confirmed` or `declined`.
    pub status: String,
    /// Who chairs at that endpoint.
    pub chair_name: String,
    /// Their title.
    pub chair_title: String,
    /// Why it declined.
    pub reason: String,
    /// When it answered.
    pub answered_at: Option<Timestamp>,
}

/// A notice to a carrier or the power company (R-REG-8).
#[derive(Debug, Clone, Serialize)]
pub struct CarrierNoticeRecord {
    /// Id.
    pub id: i64,
    /// The session.
    pub session_id: i64,
    /// The carrier or power company.
    pub unit_id: i64,
    /// Its name.
    pub unit_name: String,
    /// When it had to be told by.
    pub due_at: Timestamp,
    /// When it was told.
    pub sent_at: Timestamp,
    /// When it confirmed.
    pub confirmed_at: Option<Timestamp>,
    /// Its duty staff.
    pub duty_staff_name: String,
    /// Their phone.
    pub duty_staff_phone: String,
}

/// One saved state of a registration.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRecord {
    /// Version number, from 1.
    pub version: i64,
    /// The state then.
    pub status: SessionStatus,
    /// The registration then.
    pub registration: Registration,
    /// Why it changed.
    pub reason: String,
    /// Who changed it.
    pub changed_by: Option<String>,
    /// When.
    pub changed_at: Timestamp,
}

/// A session with everything around it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetail {
    /// The session.
    #[serde(flatten)]
    pub session: SessionRecord,
    /// Every booked endpoint, the host's first.
    pub endpoints: Vec<BookedEndpoint>,
    /// Invitations.
    pub invitations: Vec<InvitationRecord>,
    /// Carrier and power notices.
    pub notices: Vec<CarrierNoticeRecord>,
    /// Every version, newest first.
    pub versions: Vec<VersionRecord>,
}

/// What seating one endpoint in a session's conference needs: the session, whether the
/// endpoint is booked, and the answer to its invitation.
#[derive(Debug, Clone)]
pub struct SeatFacts {
    /// The session.
    pub session: SessionRecord,
    /// Whether the session booked the endpoint.
    pub booked: bool,
    /// The endpoint's invitation, if it has one.
    pub invitation: Option<InvitationRecord>,
}

impl SessionDetail {
    /// The seat facts of `endpoint_id`, from a detail already read.
    pub fn seat_facts(&self, endpoint_id: i64) -> SeatFacts {
        SeatFacts {
            session: self.session.clone(),
            booked: self.endpoints.iter().any(|e| e.endpoint_id == endpoint_id),
            invitation: self
                .invitations
                .iter()
                .find(|i| i.endpoint_id == endpoint_id)
                .cloned(),
        }
    }
}

/// Tally of the invitations' answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Confirmed.
    pub confirmed: u32,
    /// Declined.
    pub declined: u32,
    /// Not answered yet.
    pub pending: u32,
}

/// A line of a listing or the schedule.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    /// The session.
    #[serde(flatten)]
    pub session: SessionRecord,
    /// Endpoints booked, the host's included.
    pub endpoint_count: u32,
    /// Answers so far.
    pub tally: Tally,
}

/// Filters of the session listing.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Only these states.
    pub statuses: Vec<SessionStatus>,
    /// Starting at or after.
    pub from: Option<DateTime>,
    /// Starting before.
    pub to: Option<DateTime>,
    /// Hosted by a unit of this subtree.
    pub host_subtree: Option<i64>,
    /// Involving (hosting or booked endpoint of) a unit of this subtree.
    pub involving_subtree: Option<i64>,
    /// Booking this endpoint.
    pub endpoint_id: Option<i64>,
    /// Routed for approval to one of these units.
    pub approver_units: Option<Vec<i64>>,
}

/// What a change to a registration is.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The new registration.
    pub registration: &'a Registration,
    /// The version the editor saw.
    pub expected_version: i64,
    /// Why (shown in the history and the notice).
    pub reason: &'a str,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    series_id: Option<i64>,
    host_unit_id: i64,
    host_endpoint_id: i64,
    title: String,
    content: String,
    meeting_type: String,
    classification: String,
    urgency: String,
    emergency_reason: String,
    chair_name: String,
    chair_title: String,
    contact_name: String,
    contact_phone: String,
    extra_needs: String,
    rehearsals: String,
    starts_at: i64,
    ends_at: i64,
    status: String,
    version: i64,
    approver_unit_id: Option<i64>,
    submitted_at: Option<String>,
    answer_due_at: Option<String>,
    decided_at: Option<String>,
    decision_note: String,
    updated_at: String,
    host_unit_name: String,
    host_endpoint_name: String,
    approver_unit_name: Option<String>,
    decided_by_name: Option<String>,
    created_by_name: Option<String>,
    members: Option<String>,
}

const SESSION_SELECT: &str = "SELECT s.id, s.series_id, s.host_unit_id, s.host_endpoint_id, s.title, s.content, s.meeting_type, \
     s.classification, s.urgency, s.emergency_reason, s.chair_name, s.chair_title, s.contact_name, s.contact_phone, \
     s.extra_needs, s.rehearsals, s.starts_at, s.ends_at, s.status, s.version, s.approver_unit_id, s.submitted_at, \
     s.answer_due_at, s.decided_at, s.decision_note, s.updated_at, hu.name AS host_unit_name, he.name AS host_endpoint_name, \
     au.name AS approver_unit_name, du.username AS decided_by_name, cu.username AS created_by_name, \
     (SELECT group_concat(endpoint_id) FROM session_endpoints se WHERE se.session_id = s.id AND se.role = 'member') AS members \
     FROM sessions s JOIN units hu ON hu.id = s.host_unit_id JOIN endpoints he ON he.id = s.host_endpoint_id \
     LEFT JOIN units au ON au.id = s.approver_unit_id LEFT JOIN users du ON du.id = s.decided_by \
     LEFT JOIN users cu ON cu.id = s.created_by";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} `{value}`"))
}

pub(crate) fn parse_instant(text: &str) -> Result<Timestamp> {
    text.parse().map_err(|_| corrupt("instant", text))
}

fn parse_optional_instant(text: Option<&str>) -> Result<Option<Timestamp>> {
    text.map(parse_instant).transpose()
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<SessionRecord> {
        let extra_codes: Vec<String> = serde_json::from_str(&row.extra_needs)
            .map_err(|_| corrupt("extra needs", &row.extra_needs))?;
        let rehearsals: Vec<i64> = serde_json::from_str(&row.rehearsals)
            .map_err(|_| corrupt("rehearsals", &row.rehearsals))?;
        let mut member_endpoint_ids: Vec<i64> = row
            .members
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| corrupt("member", s)))
            .collect::<Result<_>>()?;
        member_endpoint_ids.sort_unstable();
        Ok(SessionRecord {
            id: row.id,
            series_id: row.series_id,
            registration: Registration {
                host_unit_id: row.host_unit_id,
                host_endpoint_id: row.host_endpoint_id,
                member_endpoint_ids,
                title: row.title,
                content: row.content,
                meeting_type: MeetingType::parse(&row.meeting_type)
                    .ok_or_else(|| corrupt("meeting type", &row.meeting_type))?,
                classification: Classification::parse(&row.classification)
                    .ok_or_else(|| corrupt("classification", &row.classification))?,
                urgency: Urgency::parse(&row.urgency)
                    .ok_or_else(|| corrupt("urgency", &row.urgency))?,
                emergency_reason: row.emergency_reason,
                chair_name: row.chair_name,
                chair_title: row.chair_title,
                contact_name: row.contact_name,
                contact_phone: row.contact_phone,
                extra_needs: extra_codes
                    .iter()
                    .map(|c| ExtraNeed::parse(c).ok_or_else(|| corrupt("extra need", c)))
                    .collect::<Result<_>>()?,
                starts_at: from_unix(row.starts_at),
                ends_at: from_unix(row.ends_at),
                rehearsals: rehearsals.into_iter().map(from_unix).collect(),
                recurrence: None,
            },
            status: SessionStatus::parse(&row.status)
                .ok_or_else(|| corrupt("status", &row.status))?,
            version: row.version,
            host_unit_name: row.host_unit_name,
            host_endpoint_name: row.host_endpoint_name,
            approver_unit_id: row.approver_unit_id,
            approver_unit_name: row.approver_unit_name,
            submitted_at: parse_optional_instant(row.submitted_at.as_deref())?,
            answer_due_at: parse_optional_instant(row.answer_due_at.as_deref())?,
            decided_at: parse_optional_instant(row.decided_at.as_deref())?,
            decided_by: row.decided_by_name,
            decision_note: row.decision_note,
            created_by: row.created_by_name,
            updated_at: parse_instant(&row.updated_at)?,
        })
    }
}

fn instant_after(now: Timestamp, lead: LeadTime, calendar: &WorkCalendar) -> Timestamp {
    let local_now = local(now);
    let due = match lead {
        LeadTime::WorkingDays(n) => calendar
            .add_working_days(local_now.date(), n as i32)
            .to_datetime(local_now.time()),
        LeadTime::Days(n) => local_now.saturating_add(jiff::Span::new().days(n as i64)),
        LeadTime::Hours(n) => local_now.saturating_add(jiff::Span::new().hours(n as i64)),
        LeadTime::Minutes(n) => local_now.saturating_add(jiff::Span::new().minutes(n as i64)),
    };
    Timestamp::from_second(to_unix(due)).unwrap_or(now)
}

impl Store {
    /// Registers a session (and, with a recurrence, every occurrence of its series) as a
    /// draft or submitted for approval. A submitted registration is checked for double
    /// booking in the same transaction; any collision of any occurrence refuses the whole
    /// registration with every collision listed. Returns the ids, first occurrence first.
    pub async fn register(
        &self,
        actor: &Actor,
        registration: &Registration,
        submit: bool,
        rules: &BookingRules<'_>,
        now: Timestamp,
    ) -> Result<Vec<i64>, RegisterError> {
        let mut tx = self.begin_write().await?;
        check_references_tx(&mut tx, registration).await?;
        let days = match &registration.recurrence {
            Some(recurrence) => recurrence.days(registration.starts_at.date(), rules.calendar),
            None => vec![registration.starts_at.date()],
        };
        if days.is_empty() {
            return Err(StoreError::Invalid(Invalid::one(
                "repeat_until",
                "no_occurrence",
                Text::new(
                    "Chuỗi phiên họp không có ngày làm việc nào; hãy kiểm tra ngày bắt đầu, ngày kết thúc và các ngày loại trừ.",
                    "The series has no working day; check its first day, last day and exceptions.",
                ),
            ))
            .into());
        }
        let series_id = match &registration.recurrence {
            Some(recurrence) => Some(
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO session_series (rule, created_at) VALUES (?, ?) RETURNING id",
                )
                .bind(json!(recurrence).to_string())
                .bind(now_text())
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?,
            ),
            None => None,
        };
        let mut ids = Vec::new();
        let mut collisions = Vec::new();
        for day in days {
            let mut occurrence = registration.clone();
            occurrence.recurrence = None;
            let shift = day.since(registration.starts_at.date()).unwrap_or_default();
            occurrence.starts_at = registration.starts_at.saturating_add(shift);
            occurrence.ends_at = registration.ends_at.saturating_add(shift);
            occurrence.rehearsals = registration
                .rehearsals
                .iter()
                .map(|at| at.saturating_add(shift))
                .collect();
            if submit {
                let found =
                    booking_conflicts_tx(&mut tx, &occurrence, None, rules.capacity).await?;
                if !found.is_empty() {
                    collisions.push(OccurrenceConflicts {
                        starts_at: occurrence.starts_at,
                        ends_at: occurrence.ends_at,
                        conflicts: found,
                    });
                    continue;
                }
            }
            let id = insert_session_tx(&mut tx, actor, &occurrence, series_id).await?;
            if submit {
                submit_tx(&mut tx, id, &occurrence, rules, now).await?;
            }
            write_version_tx(&mut tx, actor, id, "").await?;
            audit::append(
                &mut tx,
                actor,
                if submit {
                    "session.submit"
                } else {
                    "session.draft"
                },
                &format!("session:{id}"),
                &json!(occurrence),
            )
            .await?;
            ids.push(id);
        }
        if !collisions.is_empty() {
            return Err(RegisterError::Conflicts(collisions));
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids)
    }

    /// Changes a registration (edit, postponement). The host's edits of an approved session
    /// keep it approved; every invitee, carrier and the approver are told at once, and if the
    /// time moved, invitations go back to "pending" so each unit confirms again.
    pub async fn change_session(
        &self,
        actor: &Actor,
        id: i64,
        change: &Change<'_>,
        rules: &BookingRules<'_>,
        now: Timestamp,
    ) -> Result<(), RegisterError> {
        let mut tx = self.begin_write().await?;
        let before = session_tx(&mut tx, id).await?;
        if !before.status.editable() {
            return Err(StoreError::Conflict(Text::new(
                format!(
                    "Không thể sửa đăng ký ở trạng thái \"{}\".",
                    before.status.label(hnth_domain::lang::Lang::Vi)
                ),
                format!(
                    "A registration that is \"{}\" cannot be changed.",
                    before.status.label(hnth_domain::lang::Lang::En)
                ),
            ))
            .into());
        }
        stale_check(&before, change.expected_version)?;
        let new = change.registration;
        if new.host_unit_id != before.registration.host_unit_id {
            return Err(StoreError::Invalid(Invalid::one(
                "host_unit_id",
                "host_fixed",
                Text::new(
                    "Không thể đổi đơn vị chủ trì của một đăng ký; hãy hủy và đăng ký mới.",
                    "The host unit of a registration cannot change; cancel it and register anew.",
                ),
            ))
            .into());
        }
        check_references_tx(&mut tx, new).await?;
        if before.status.holds_resources() {
            let found = booking_conflicts_tx(&mut tx, new, Some(id), rules.capacity).await?;
            if !found.is_empty() {
                return Err(RegisterError::Conflicts(vec![OccurrenceConflicts {
                    starts_at: new.starts_at,
                    ends_at: new.ends_at,
                    conflicts: found,
                }]));
            }
        }
        let extra: Vec<&str> = new.extra_needs.iter().map(|n| n.as_str()).collect();
        let rehearsals: Vec<i64> = new.rehearsals.iter().map(|at| to_unix(*at)).collect();
        sqlx::query(
            "UPDATE sessions SET host_endpoint_id = ?, title = ?, content = ?, meeting_type = ?, classification = ?, \
             urgency = ?, emergency_reason = ?, chair_name = ?, chair_title = ?, contact_name = ?, contact_phone = ?, \
             extra_needs = ?, rehearsals = ?, starts_at = ?, ends_at = ?, version = version + 1, updated_at = ? WHERE id = ?",
        )
        .bind(new.host_endpoint_id)
        .bind(&new.title)
        .bind(&new.content)
        .bind(new.meeting_type.as_str())
        .bind(new.classification.as_str())
        .bind(new.urgency.as_str())
        .bind(&new.emergency_reason)
        .bind(&new.chair_name)
        .bind(&new.chair_title)
        .bind(&new.contact_name)
        .bind(&new.contact_phone)
        .bind(json!(extra).to_string())
        .bind(json!(rehearsals).to_string())
        .bind(to_unix(new.starts_at))
        .bind(to_unix(new.ends_at))
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        replace_endpoints_tx(&mut tx, id, new).await?;
        let moved = new.starts_at != before.registration.starts_at
            || new.ends_at != before.registration.ends_at;
        if before.status == SessionStatus::Approved {
            sync_invitations_tx(&mut tx, id, new, moved).await?;
            let what = if new.starts_at > before.registration.starts_at {
                ("hoãn", "postponed")
            } else {
                ("thay đổi", "changed")
            };
            let subject = Text::new(
                format!("Phiên họp \"{}\" đã {}", new.title, what.0),
                format!("Session \"{}\" was {}", new.title, what.1),
            );
            let body = Text::new(
                format!(
                    "Phiên họp \"{}\" nay diễn ra từ {} đến {:02}:{:02} (trước đây: {}). Lý do: {}. {}",
                    new.title,
                    format_date_time(new.starts_at, hnth_domain::lang::Lang::Vi),
                    new.ends_at.hour(),
                    new.ends_at.minute(),
                    format_date_time(before.registration.starts_at, hnth_domain::lang::Lang::Vi),
                    or_dash(change.reason),
                    if moved { "Đề nghị đơn vị xác nhận lại việc tham dự." } else { "" }
                ),
                format!(
                    "Session \"{}\" now runs from {} to {:02}:{:02} (before: {}). Reason: {}. {}",
                    new.title,
                    format_date_time(new.starts_at, hnth_domain::lang::Lang::En),
                    new.ends_at.hour(),
                    new.ends_at.minute(),
                    format_date_time(before.registration.starts_at, hnth_domain::lang::Lang::En),
                    or_dash(change.reason),
                    if moved { "Please confirm your attendance again." } else { "" }
                ),
            );
            notify_everyone_tx(
                &mut tx,
                id,
                &before,
                "session.changed",
                &subject,
                &body,
                now,
            )
            .await?;
        }
        write_version_tx(&mut tx, actor, id, change.reason).await?;
        audit::append(
            &mut tx,
            actor,
            "session.change",
            &format!("session:{id}"),
            &json!({ "reason": change.reason, "registration": new }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Does `action` on session `id`: submit, approve, refuse, ask for changes or cancel.
    #[allow(clippy::too_many_arguments)]
    pub async fn act_on_session(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        reason: &str,
        expected_version: Option<i64>,
        rules: &BookingRules<'_>,
        now: Timestamp,
    ) -> Result<SessionStatus, RegisterError> {
        if action.needs_reason() && reason.trim().is_empty() {
            return Err(StoreError::Invalid(Invalid::one(
                "reason",
                "required",
                Text::new("Hãy nêu lý do.", "Give the reason."),
            ))
            .into());
        }
        let mut tx = self.begin_write().await?;
        let before = session_tx(&mut tx, id).await?;
        if let Some(expected) = expected_version {
            stale_check(&before, expected)?;
        }
        let to = action.apply(before.status).map_err(StoreError::Conflict)?;
        let registration = &before.registration;
        let lang_vi = hnth_domain::lang::Lang::Vi;
        let lang_en = hnth_domain::lang::Lang::En;
        match action {
            Action::Submit => {
                let found =
                    booking_conflicts_tx(&mut tx, registration, Some(id), rules.capacity).await?;
                if !found.is_empty() {
                    return Err(RegisterError::Conflicts(vec![OccurrenceConflicts {
                        starts_at: registration.starts_at,
                        ends_at: registration.ends_at,
                        conflicts: found,
                    }]));
                }
                submit_tx(&mut tx, id, registration, rules, now).await?;
            }
            Action::Approve | Action::Refuse | Action::AskChanges => {
                sqlx::query("UPDATE sessions SET status = ?, decided_at = ?, decided_by = ?, decision_note = ? WHERE id = ?")
                    .bind(to.as_str())
                    .bind(now.to_string())
                    .bind(actor.user_id)
                    .bind(reason.trim())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                let (event, vi, en) = match action {
                    Action::Approve => ("session.approved", "đã được phê duyệt", "was approved"),
                    Action::Refuse => ("session.refused", "bị từ chối", "was refused"),
                    _ => (
                        "session.changes_requested",
                        "cần chỉnh sửa",
                        "needs changes",
                    ),
                };
                notify_tx(
                    &mut tx,
                    registration.host_unit_id,
                    id,
                    event,
                    Text::new(
                        format!("Đăng ký \"{}\" {vi}", registration.title),
                        format!("Registration \"{}\" {en}", registration.title),
                    ),
                    Text::new(
                        format!(
                            "Phiên họp lúc {}: {vi}. {}",
                            format_date_time(registration.starts_at, lang_vi),
                            or_dash(reason)
                        ),
                        format!(
                            "Session at {}: {en}. {}",
                            format_date_time(registration.starts_at, lang_en),
                            or_dash(reason)
                        ),
                    ),
                    now,
                )
                .await?;
                if action == Action::Approve {
                    invite_tx(&mut tx, id, registration, now).await?;
                    notify_carriers_tx(&mut tx, id, registration, rules, now).await?;
                }
            }
            Action::Cancel => {
                sqlx::query("UPDATE sessions SET status = ?, decision_note = ? WHERE id = ?")
                    .bind(to.as_str())
                    .bind(reason.trim())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                if before.status != SessionStatus::Draft {
                    let subject = Text::new(
                        format!("Phiên họp \"{}\" đã bị hủy", registration.title),
                        format!("Session \"{}\" is cancelled", registration.title),
                    );
                    let body = Text::new(
                        format!(
                            "Phiên họp \"{}\" dự kiến lúc {} đã bị hủy. Lý do: {}.",
                            registration.title,
                            format_date_time(registration.starts_at, lang_vi),
                            reason.trim()
                        ),
                        format!(
                            "Session \"{}\" planned at {} is cancelled. Reason: {}.",
                            registration.title,
                            format_date_time(registration.starts_at, lang_en),
                            reason.trim()
                        ),
                    );
                    notify_everyone_tx(
                        &mut tx,
                        id,
                        &before,
                        "session.cancelled",
                        &subject,
                        &body,
                        now,
                    )
                    .await?;
                }
            }
        }
        sqlx::query(
            "UPDATE sessions SET status = ?, version = version + 1, updated_at = ? WHERE id = ?",
        )
        .bind(to.as_str())
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        write_version_tx(&mut tx, actor, id, reason.trim()).await?;
        audit::append(
            &mut tx,
            actor,
            &format!("session.{}", json!(action).as_str().unwrap_or("act")),
            &format!("session:{id}"),
            &json!({ "from": before.status, "to": to, "reason": reason.trim() }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(to)
    }

    /// An invited unit confirms (with who chairs at its endpoint) or declines (with a reason).
    pub async fn answer_invitation(
        &self,
        actor: &Actor,
        invitation_id: i64,
        answer: &InvitationAnswer,
        now: Timestamp,
    ) -> Result<InvitationRecord> {
        let mut invalid = Invalid::default();
        let (status, chair_name, chair_title, reason) = match answer {
            InvitationAnswer::Confirm {
                chair_name,
                chair_title,
            } => {
                let name = hnth_domain::validate::required_text(
                    &mut invalid,
                    "chair_name",
                    chair_name,
                    120,
                );
                let title = hnth_domain::validate::optional_text(
                    &mut invalid,
                    "chair_title",
                    chair_title,
                    200,
                );
                ("confirmed", name, title, String::new())
            }
            InvitationAnswer::Decline { reason } => {
                let reason =
                    hnth_domain::validate::required_text(&mut invalid, "reason", reason, 500);
                ("declined", String::new(), String::new(), reason)
            }
        };
        invalid.finish(|| ())?;
        let mut tx = self.begin_write().await?;
        let invitation = invitation_tx(&mut tx, invitation_id).await?;
        let session = session_tx(&mut tx, invitation.session_id).await?;
        if session.status != SessionStatus::Approved {
            return Err(StoreError::Conflict(Text::new(
                "Phiên họp này không còn nhận xác nhận tham dự (đã hủy hoặc chưa được phê duyệt).",
                "This session no longer takes answers (cancelled or not approved).",
            )));
        }
        sqlx::query(
            "UPDATE invitations SET status = ?, chair_name = ?, chair_title = ?, reason = ?, answered_by = ?, answered_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(&chair_name)
        .bind(&chair_title)
        .bind(&reason)
        .bind(actor.user_id)
        .bind(now.to_string())
        .bind(invitation_id)
        .execute(&mut *tx)
        .await?;
        let (vi, en) = if status == "confirmed" {
            (
                format!(
                    "{} xác nhận tham dự; chủ trì tại điểm cầu: {chair_name} {chair_title}",
                    invitation.unit_name
                ),
                format!(
                    "{} confirms; chairing at its endpoint: {chair_name} {chair_title}",
                    invitation.unit_name
                ),
            )
        } else {
            (
                format!("{} không tham dự. Lý do: {reason}", invitation.unit_name),
                format!("{} declines. Reason: {reason}", invitation.unit_name),
            )
        };
        notify_tx(
            &mut tx,
            session.registration.host_unit_id,
            session.id,
            "invitation.answered",
            Text::new(
                format!("Trả lời mời họp \"{}\"", session.registration.title),
                format!(
                    "Answer to the invitation \"{}\"",
                    session.registration.title
                ),
            ),
            Text::new(vi, en),
            now,
        )
        .await?;
        audit::append(
            &mut tx,
            actor,
            &format!("invitation.{status}"),
            &format!("session:{}", session.id),
            &json!({ "invitation": invitation_id, "unit": invitation.unit_id, "chair_name": chair_name, "reason": reason }),
        )
        .await?;
        let updated = invitation_tx(&mut tx, invitation_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// A carrier or the power company confirms a notice and names its duty staff (R-REG-8).
    pub async fn confirm_carrier_notice(
        &self,
        actor: &Actor,
        notice_id: i64,
        duty_staff_name: &str,
        duty_staff_phone: &str,
        now: Timestamp,
    ) -> Result<CarrierNoticeRecord> {
        let mut invalid = Invalid::default();
        let name = hnth_domain::validate::required_text(
            &mut invalid,
            "duty_staff_name",
            duty_staff_name,
            120,
        );
        let phone = if duty_staff_phone.trim().is_empty() {
            hnth_domain::validate::required_text(&mut invalid, "duty_staff_phone", "", 20)
        } else {
            hnth_domain::validate::phone(&mut invalid, "duty_staff_phone", duty_staff_phone)
        };
        invalid.finish(|| ())?;
        let mut tx = self.begin_write().await?;
        let notice = carrier_notice_tx(&mut tx, notice_id).await?;
        sqlx::query("UPDATE carrier_notices SET confirmed_at = ?, confirmed_by = ?, duty_staff_name = ?, duty_staff_phone = ? WHERE id = ?")
            .bind(now.to_string())
            .bind(actor.user_id)
            .bind(&name)
            .bind(&phone)
            .bind(notice_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            actor,
            "carrier_notice.confirm",
            &format!("session:{}", notice.session_id),
            &json!({ "notice": notice_id, "unit": notice.unit_id, "duty_staff_name": name, "duty_staff_phone": phone }),
        )
        .await?;
        let updated = carrier_notice_tx(&mut tx, notice_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// One session.
    pub async fn session(&self, id: i64) -> Result<SessionRecord> {
        let mut conn = self.read.acquire().await?;
        session_conn(&mut conn, id).await
    }

    /// The seat facts of one endpoint in a session, read by key: an endpoint joining by its
    /// link needs three rows, not the whole session (whose reading and sorting, repeated by
    /// every endpoint of a large session, was a third of the server's work in a join storm).
    pub async fn seat_facts(&self, id: i64, endpoint_id: i64) -> Result<SeatFacts> {
        let mut conn = self.read.acquire().await?;
        let session = session_conn(&mut conn, id).await?;
        let booked: bool = sqlx::query_scalar(
            "SELECT EXISTS(SELECT 1 FROM session_endpoints WHERE session_id = ? AND endpoint_id = ?)",
        )
        .bind(id)
        .bind(endpoint_id)
        .fetch_one(&mut *conn)
        .await?;
        let invitation = sqlx::query_as::<_, InvitationRow>(&format!(
            "{INVITATION_SELECT} WHERE i.session_id = ? AND i.endpoint_id = ?"
        ))
        .bind(id)
        .bind(endpoint_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(InvitationRecord::try_from)
        .transpose()?;
        Ok(SeatFacts {
            session,
            booked,
            invitation,
        })
    }

    /// One session with its endpoints, invitations, notices and versions.
    pub async fn session_detail(&self, id: i64) -> Result<SessionDetail> {
        let mut conn = self.read.acquire().await?;
        let session = session_conn(&mut conn, id).await?;
        let endpoints = sqlx::query_as::<_, (i64, String, i64, String, String)>(
            "SELECT e.id, e.name, u.id, u.name, se.role FROM session_endpoints se JOIN endpoints e ON e.id = se.endpoint_id \
             JOIN units u ON u.id = e.unit_id WHERE se.session_id = ?",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(endpoint_id, endpoint_name, unit_id, unit_name, role)| BookedEndpoint {
            endpoint_id,
            endpoint_name,
            unit_id,
            unit_name,
            role,
        })
        .collect::<Vec<_>>();
        // The host first, then by unit and endpoint name in Vietnamese order. Sorted here, each
        // name's collation key computed once: SQLite's `COLLATE vi` would compute two keys per
        // comparison, which a session of hundreds of endpoints read on every join cannot afford.
        let mut endpoints = endpoints;
        endpoints.sort_by_cached_key(|e| {
            (
                e.role == "member",
                sort_key(&e.unit_name),
                sort_key(&e.endpoint_name),
                e.endpoint_id,
            )
        });
        let invitations = invitations_conn(&mut conn, "i.session_id = ?", id).await?;
        let notices = carrier_notices_conn(&mut conn, "n.session_id = ?", id).await?;
        let versions = sqlx::query_as::<_, (i64, String, String, String, Option<String>, String)>(
            "SELECT v.version, v.status, v.snapshot, v.reason, u.username, v.changed_at FROM session_versions v \
             LEFT JOIN users u ON u.id = v.changed_by WHERE v.session_id = ? ORDER BY v.version DESC",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(version, status, snapshot, reason, changed_by, changed_at)| {
            Ok(VersionRecord {
                version,
                status: SessionStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                registration: serde_json::from_str(&snapshot).map_err(|_| corrupt("snapshot", &snapshot))?,
                reason,
                changed_by,
                changed_at: parse_instant(&changed_at)?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(SessionDetail {
            session,
            endpoints,
            invitations,
            notices,
            versions,
        })
    }

    /// One invitation.
    pub async fn invitation(&self, id: i64) -> Result<InvitationRecord> {
        let mut conn = self.read.acquire().await?;
        invitations_conn(&mut conn, "i.id = ?", id)
            .await?
            .pop()
            .ok_or(StoreError::NotFound("invitation"))
    }

    /// One carrier notice.
    pub async fn carrier_notice(&self, id: i64) -> Result<CarrierNoticeRecord> {
        let mut conn = self.read.acquire().await?;
        carrier_notices_conn(&mut conn, "n.id = ?", id)
            .await?
            .pop()
            .ok_or(StoreError::NotFound("carrier notice"))
    }

    /// Invitations addressed to units of the subtrees rooted at `unit_ids`, newest session
    /// first.
    pub async fn invitations_for(
        &self,
        unit_ids: &[i64],
        page: Page,
    ) -> Result<Vec<InvitationRecord>> {
        let mut conn = self.read.acquire().await?;
        let mut builder = QueryBuilder::<Sqlite>::new(subtree_cte(unit_ids));
        builder.push(INVITATION_SELECT);
        builder.push(" WHERE i.unit_id IN (SELECT id FROM sub) ORDER BY s.starts_at DESC LIMIT ");
        builder.push_bind(page.limit as i64);
        builder.push(" OFFSET ");
        builder.push_bind(page.offset as i64);
        let rows = builder
            .build_query_as::<InvitationRow>()
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(InvitationRecord::try_from).collect()
    }

    /// Carrier notices addressed to units of the subtrees rooted at `unit_ids`.
    pub async fn carrier_notices_for(
        &self,
        unit_ids: &[i64],
        page: Page,
    ) -> Result<Vec<CarrierNoticeRecord>> {
        let mut conn = self.read.acquire().await?;
        let mut builder = QueryBuilder::<Sqlite>::new(subtree_cte(unit_ids));
        builder.push(NOTICE_SELECT);
        builder.push(" WHERE n.unit_id IN (SELECT id FROM sub) ORDER BY n.due_at DESC LIMIT ");
        builder.push_bind(page.limit as i64);
        builder.push(" OFFSET ");
        builder.push_bind(page.offset as i64);
        let rows = builder
            .build_query_as::<NoticeRow>()
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter()
            .map(CarrierNoticeRecord::try_from)
            .collect()
    }

    /// Sessions matching `filter`, by start.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<Paged<SessionSummary>> {
        let mut conn = self.read.acquire().await?;
        let build = |select: &str| {
            let mut builder = QueryBuilder::<Sqlite>::new(select);
            builder.push(" WHERE 1 = 1");
            if !filter.statuses.is_empty() {
                builder.push(" AND s.status IN (");
                let mut list = builder.separated(", ");
                for status in &filter.statuses {
                    list.push_bind(status.as_str());
                }
                list.push_unseparated(")");
            }
            if let Some(from) = filter.from {
                builder.push(" AND s.ends_at > ").push_bind(to_unix(from));
            }
            if let Some(to) = filter.to {
                builder.push(" AND s.starts_at < ").push_bind(to_unix(to));
            }
            if let Some(root) = filter.host_subtree {
                builder
                    .push(" AND s.host_unit_id IN (WITH RECURSIVE sub(id) AS (SELECT ")
                    .push_bind(root)
                    .push(" UNION ALL SELECT u.id FROM units u JOIN sub ON u.parent_id = sub.id) SELECT id FROM sub)");
            }
            if let Some(root) = filter.involving_subtree {
                builder
                    .push(" AND (s.host_unit_id IN (WITH RECURSIVE sub(id) AS (SELECT ")
                    .push_bind(root)
                    .push(" UNION ALL SELECT u.id FROM units u JOIN sub ON u.parent_id = sub.id) SELECT id FROM sub) \
                           OR EXISTS (SELECT 1 FROM session_endpoints se2 JOIN endpoints e2 ON e2.id = se2.endpoint_id \
                           WHERE se2.session_id = s.id AND e2.unit_id IN (WITH RECURSIVE sub(id) AS (SELECT ")
                    .push_bind(root)
                    .push(" UNION ALL SELECT u.id FROM units u JOIN sub ON u.parent_id = sub.id) SELECT id FROM sub)))");
            }
            if let Some(endpoint) = filter.endpoint_id {
                builder
                    .push(" AND EXISTS (SELECT 1 FROM session_endpoints se3 WHERE se3.session_id = s.id AND se3.endpoint_id = ")
                    .push_bind(endpoint)
                    .push(")");
            }
            if let Some(units) = &filter.approver_units {
                builder.push(" AND s.approver_unit_id IN (");
                let mut list = builder.separated(", ");
                list.push_bind(-1_i64);
                for unit in units {
                    list.push_bind(*unit);
                }
                list.push_unseparated(")");
            }
            builder
        };
        let total: i64 = build("SELECT count(*) FROM sessions s")
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await?;
        let mut builder = build(SESSION_SELECT);
        builder.push(" ORDER BY s.starts_at, s.id LIMIT ");
        builder.push_bind(page.limit.min(i64::MAX as u32) as i64);
        builder.push(" OFFSET ");
        builder.push_bind(page.offset as i64);
        let rows = builder
            .build_query_as::<SessionRow>()
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let session = SessionRecord::try_from(row)?;
            let (confirmed, declined, pending): (i64, i64, i64) = sqlx::query_as(
                "SELECT coalesce(sum(status = 'confirmed'), 0), coalesce(sum(status = 'declined'), 0), coalesce(sum(status = 'pending'), 0) \
                 FROM invitations WHERE session_id = ?",
            )
            .bind(session.id)
            .fetch_one(&mut *conn)
            .await?;
            items.push(SessionSummary {
                endpoint_count: 1 + session.registration.member_endpoint_ids.len() as u32,
                tally: Tally {
                    confirmed: confirmed as u32,
                    declined: declined as u32,
                    pending: pending as u32,
                },
                session,
            });
        }
        Ok(Paged {
            items,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// Sessions holding resources during `[from, to)`, except `except`: what the free-slot
    /// search must avoid.
    pub async fn booked_between(
        &self,
        from: DateTime,
        to: DateTime,
        except: Option<i64>,
    ) -> Result<Vec<Booked>> {
        let mut conn = self.read.acquire().await?;
        booked_conn(&mut conn, to_unix(from), to_unix(to), except).await
    }
}

/// An invited unit's answer.
#[derive(Debug, Clone)]
pub enum InvitationAnswer {
    /// It attends; who chairs at its endpoint.
    Confirm {
        /// Name.
        chair_name: String,
        /// Title.
        chair_title: String,
    },
    /// It does not attend.
    Decline {
        /// Why.
        reason: String,
    },
}

/// Why a registration or change was not stored.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// It collides with booked sessions; nothing was written.
    #[error("{} occurrence(s) collide", .0.len())]
    Conflicts(Vec<OccurrenceConflicts>),
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Invalid> for RegisterError {
    fn from(invalid: Invalid) -> RegisterError {
        RegisterError::Store(StoreError::Invalid(invalid))
    }
}

fn or_dash(text: &str) -> &str {
    if text.trim().is_empty() {
        "—"
    } else {
        text.trim()
    }
}

fn stale_check(before: &SessionRecord, expected: i64) -> Result<()> {
    if before.version != expected {
        return Err(StoreError::Conflict(Text::new(
            format!(
                "Đăng ký đã được người khác thay đổi (phiên bản {} thay vì {expected}); hãy tải lại trang và làm lại.",
                before.version
            ),
            format!(
                "Someone else changed this registration (version {} instead of {expected}); reload the page and try again.",
                before.version
            ),
        )));
    }
    Ok(())
}

fn subtree_cte(unit_ids: &[i64]) -> String {
    let roots = if unit_ids.is_empty() {
        "SELECT -1".to_string()
    } else {
        unit_ids
            .iter()
            .map(|id| format!("SELECT {id}"))
            .collect::<Vec<_>>()
            .join(" UNION ")
    };
    format!("WITH RECURSIVE sub(id) AS ({roots} UNION SELECT u.id FROM units u JOIN sub ON u.parent_id = sub.id) ")
}

async fn session_conn(conn: &mut SqliteConnection, id: i64) -> Result<SessionRecord> {
    let row = sqlx::query_as::<_, SessionRow>(&format!("{SESSION_SELECT} WHERE s.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    SessionRecord::try_from(row)
}

pub(crate) async fn session_tx(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<SessionRecord> {
    session_conn(tx, id).await
}

/// The host unit, the host endpoint and every member endpoint exist, are in service and
/// belong where they should; every problem is reported with its field.
async fn check_references_tx(
    tx: &mut Transaction<'_, Sqlite>,
    registration: &Registration,
) -> Result<()> {
    let mut invalid = Invalid::default();
    let host: Option<(Option<String>,)> = sqlx::query_as("SELECT valid_to FROM units WHERE id = ?")
        .bind(registration.host_unit_id)
        .fetch_optional(&mut **tx)
        .await?;
    match host {
        None => invalid.push(
            "host_unit_id",
            "not_found",
            Text::new("Không có đơn vị này.", "No such unit."),
        ),
        Some((Some(_),)) => invalid.push(
            "host_unit_id",
            "unit_dissolved",
            Text::new(
                "Đơn vị này đã giải thể hoặc sáp nhập; hãy đăng ký bằng đơn vị kế nhiệm.",
                "This unit was dissolved or merged; register with its successor.",
            ),
        ),
        Some((None,)) => {}
    }
    let mut check_endpoint = |field: &'static str,
                              row: Option<(i64, String, String)>,
                              id: i64,
                              must_be_unit: Option<i64>| match row {
        None => invalid.push(
            field,
            "not_found",
            Text::new(
                format!("Không có điểm cầu số {id}."),
                format!("No endpoint {id}."),
            ),
        ),
        Some((_, status, name)) if status != "active" => invalid.push(
            field,
            "endpoint_not_active",
            Text::new(
                format!(
                    "Điểm cầu \"{name}\" đang bảo trì hoặc ngừng sử dụng; hãy chọn điểm cầu khác."
                ),
                format!("Endpoint \"{name}\" is under maintenance or retired; choose another."),
            ),
        ),
        Some((unit_id, _, name)) if must_be_unit.is_some_and(|u| u != unit_id) => invalid.push(
            field,
            "not_host_endpoint",
            Text::new(
                format!("Điểm cầu \"{name}\" không thuộc đơn vị chủ trì."),
                format!("Endpoint \"{name}\" does not belong to the host unit."),
            ),
        ),
        Some(_) => {}
    };
    let lookup = "SELECT unit_id, status, name FROM endpoints WHERE id = ?";
    let host_endpoint = sqlx::query_as(lookup)
        .bind(registration.host_endpoint_id)
        .fetch_optional(&mut **tx)
        .await?;
    check_endpoint(
        "host_endpoint_id",
        host_endpoint,
        registration.host_endpoint_id,
        Some(registration.host_unit_id),
    );
    for member in &registration.member_endpoint_ids {
        let row = sqlx::query_as(lookup)
            .bind(member)
            .fetch_optional(&mut **tx)
            .await?;
        check_endpoint("member_endpoint_ids", row, *member, None);
    }
    invalid.finish(|| ())?;
    Ok(())
}

async fn booked_conn(
    conn: &mut SqliteConnection,
    from: i64,
    to: i64,
    except: Option<i64>,
) -> Result<Vec<Booked>> {
    let mut builder = QueryBuilder::<Sqlite>::new(
        "SELECT s.id, s.title, s.starts_at, s.ends_at, e.id, e.name FROM sessions s \
         JOIN session_endpoints se ON se.session_id = s.id JOIN endpoints e ON e.id = se.endpoint_id \
         WHERE s.starts_at < ",
    );
    builder
        .push_bind(to)
        .push(" AND s.ends_at > ")
        .push_bind(from);
    builder.push(" AND s.status IN (");
    let mut list = builder.separated(", ");
    for status in SessionStatus::HOLDING {
        list.push_bind(status);
    }
    list.push_unseparated(")");
    if let Some(except) = except {
        builder.push(" AND s.id <> ").push_bind(except);
    }
    builder.push(" ORDER BY s.id");
    let rows: Vec<(i64, String, i64, i64, i64, String)> =
        builder.build_query_as().fetch_all(&mut *conn).await?;
    let mut by_session: BTreeMap<i64, Booked> = BTreeMap::new();
    for (id, title, starts_at, ends_at, endpoint_id, endpoint_name) in rows {
        by_session
            .entry(id)
            .or_insert_with(|| Booked {
                session_id: id,
                title,
                starts_at: from_unix(starts_at),
                ends_at: from_unix(ends_at),
                endpoints: Vec::new(),
            })
            .endpoints
            .push((endpoint_id, endpoint_name));
    }
    Ok(by_session.into_values().collect())
}

/// The collisions of `registration` with what is booked, read in the write transaction.
async fn booking_conflicts_tx(
    tx: &mut Transaction<'_, Sqlite>,
    registration: &Registration,
    except: Option<i64>,
    capacity: McuCapacity,
) -> Result<Vec<Conflict>> {
    let booked = booked_conn(
        tx,
        to_unix(registration.starts_at),
        to_unix(registration.ends_at),
        except,
    )
    .await?;
    Ok(conflicts(
        registration.starts_at,
        registration.ends_at,
        &registration.all_endpoint_ids(),
        &booked,
        capacity,
    ))
}

async fn insert_session_tx(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &Actor,
    registration: &Registration,
    series_id: Option<i64>,
) -> Result<i64> {
    let extra: Vec<&str> = registration
        .extra_needs
        .iter()
        .map(|n| n.as_str())
        .collect();
    let rehearsals: Vec<i64> = registration
        .rehearsals
        .iter()
        .map(|at| to_unix(*at))
        .collect();
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (series_id, host_unit_id, host_endpoint_id, title, content, meeting_type, classification, urgency, \
         emergency_reason, chair_name, chair_title, contact_name, contact_phone, extra_needs, rehearsals, starts_at, ends_at, \
         status, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?) RETURNING id",
    )
    .bind(series_id)
    .bind(registration.host_unit_id)
    .bind(registration.host_endpoint_id)
    .bind(&registration.title)
    .bind(&registration.content)
    .bind(registration.meeting_type.as_str())
    .bind(registration.classification.as_str())
    .bind(registration.urgency.as_str())
    .bind(&registration.emergency_reason)
    .bind(&registration.chair_name)
    .bind(&registration.chair_title)
    .bind(&registration.contact_name)
    .bind(&registration.contact_phone)
    .bind(json!(extra).to_string())
    .bind(json!(rehearsals).to_string())
    .bind(to_unix(registration.starts_at))
    .bind(to_unix(registration.ends_at))
    .bind(actor.user_id)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut **tx)
    .await?;
    replace_endpoints_tx(tx, id, registration).await?;
    Ok(id)
}

async fn replace_endpoints_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    registration: &Registration,
) -> Result<()> {
    sqlx::query("DELETE FROM session_endpoints WHERE session_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (index, endpoint) in registration.all_endpoint_ids().into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO session_endpoints (session_id, endpoint_id, role) VALUES (?, ?, ?)",
        )
        .bind(id)
        .bind(endpoint)
        .bind(if index == 0 { "host" } else { "member" })
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Routes a registration to its approver, sets the answer deadline and tells the approver.
async fn submit_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    registration: &Registration,
    rules: &BookingRules<'_>,
    now: Timestamp,
) -> Result<()> {
    let mut chain = Vec::new();
    let mut current = Some(registration.host_unit_id);
    while let Some(unit_id) = current {
        let (kind, parent): (String, Option<i64>) =
            sqlx::query_as("SELECT kind, parent_id FROM units WHERE id = ?")
                .bind(unit_id)
                .fetch_one(&mut **tx)
                .await?;
        let kind = UnitKind::parse(&kind).ok_or_else(|| corrupt("unit kind", &kind))?;
        chain.push((unit_id, kind));
        current = parent.filter(|p| !chain.iter().any(|(seen, _)| seen == p));
    }
    let root = chain
        .last()
        .map(|(id, _)| *id)
        .unwrap_or(registration.host_unit_id);
    let approver = route_approver(
        rules.approvers,
        &chain,
        rules.operating_unit_id.unwrap_or(root),
    );
    let due = instant_after(now, rules.answer_within, rules.calendar);
    sqlx::query(
        "UPDATE sessions SET status = 'submitted', approver_unit_id = ?, submitted_at = ?, answer_due_at = ? WHERE id = ?",
    )
    .bind(approver)
    .bind(now.to_string())
    .bind(due.to_string())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let due_local = local(due);
    notify_tx(
        tx,
        approver,
        id,
        "session.submitted",
        Text::new(
            format!("Đăng ký họp chờ phê duyệt: \"{}\"", registration.title),
            format!("Registration awaiting approval: \"{}\"", registration.title),
        ),
        Text::new(
            format!(
                "Phiên họp lúc {} ({} điểm cầu){}. Hạn trả lời: {}.",
                format_date_time(registration.starts_at, hnth_domain::lang::Lang::Vi),
                registration.all_endpoint_ids().len(),
                if registration.urgency == Urgency::Emergency {
                    ", KHẨN CẤP"
                } else {
                    ""
                },
                format_date_time(due_local, hnth_domain::lang::Lang::Vi)
            ),
            format!(
                "Session at {} ({} endpoints){}. Answer by {}.",
                format_date_time(registration.starts_at, hnth_domain::lang::Lang::En),
                registration.all_endpoint_ids().len(),
                if registration.urgency == Urgency::Emergency {
                    ", EMERGENCY"
                } else {
                    ""
                },
                format_date_time(due_local, hnth_domain::lang::Lang::En)
            ),
        ),
        now,
    )
    .await
}

/// One invitation per member endpoint; one notice per invited unit (R-REG-6).
async fn invite_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    registration: &Registration,
    now: Timestamp,
) -> Result<()> {
    let mut units = Vec::new();
    for endpoint in &registration.member_endpoint_ids {
        let unit_id: i64 = sqlx::query_scalar("SELECT unit_id FROM endpoints WHERE id = ?")
            .bind(endpoint)
            .fetch_one(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO invitations (session_id, endpoint_id, unit_id, status, sent_at) VALUES (?, ?, ?, 'pending', ?) \
             ON CONFLICT (session_id, endpoint_id) DO UPDATE SET status = 'pending', sent_at = excluded.sent_at",
        )
        .bind(id)
        .bind(endpoint)
        .bind(unit_id)
        .bind(now.to_string())
        .execute(&mut **tx)
        .await?;
        if !units.contains(&unit_id) {
            units.push(unit_id);
        }
    }
    for unit in units {
        notify_tx(
            tx,
            unit,
            id,
            "session.invited",
            Text::new(
                format!("Giấy mời họp trực tuyến: \"{}\"", registration.title),
                format!(
                    "Invitation to an online session: \"{}\"",
                    registration.title
                ),
            ),
            invitation_body(registration),
            now,
        )
        .await?;
    }
    Ok(())
}

fn invitation_body(registration: &Registration) -> Text {
    use hnth_domain::lang::Lang;
    let end = format!(
        "{:02}:{:02}",
        registration.ends_at.hour(),
        registration.ends_at.minute()
    );
    Text::new(
        format!(
            "Kính mời đơn vị tham dự phiên họp \"{}\" từ {} đến {end}, do {} {} chủ trì. Đề nghị xác nhận tham dự (người chủ trì tại điểm cầu) hoặc báo vắng có lý do.",
            registration.title,
            format_date_time(registration.starts_at, Lang::Vi),
            registration.chair_title,
            registration.chair_name
        ),
        format!(
            "Your unit is invited to \"{}\" from {} to {end}, chaired by {} {}. Please confirm (who chairs at your endpoint) or decline with a reason.",
            registration.title,
            format_date_time(registration.starts_at, Lang::En),
            registration.chair_title,
            registration.chair_name
        ),
    )
}

/// After a change of an approved session: invitations follow the new member list, and go
/// back to pending when the time moved.
async fn sync_invitations_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    registration: &Registration,
    moved: bool,
) -> Result<()> {
    let mut builder = QueryBuilder::<Sqlite>::new("DELETE FROM invitations WHERE session_id = ");
    builder.push_bind(id).push(" AND endpoint_id NOT IN (");
    let mut list = builder.separated(", ");
    list.push_bind(-1_i64);
    for endpoint in &registration.member_endpoint_ids {
        list.push_bind(*endpoint);
    }
    list.push_unseparated(")");
    builder.build().execute(&mut **tx).await?;
    if moved {
        sqlx::query("UPDATE invitations SET status = 'pending', answered_at = NULL, answered_by = NULL WHERE session_id = ?")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let now = now_text();
    for endpoint in &registration.member_endpoint_ids {
        sqlx::query(
            "INSERT INTO invitations (session_id, endpoint_id, unit_id, status, sent_at) \
             SELECT ?, id, unit_id, 'pending', ? FROM endpoints WHERE id = ? ON CONFLICT (session_id, endpoint_id) DO NOTHING",
        )
        .bind(id)
        .bind(&now)
        .bind(endpoint)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Tells every current carrier and power company (R-REG-8).
async fn notify_carriers_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    registration: &Registration,
    rules: &BookingRules<'_>,
    now: Timestamp,
) -> Result<()> {
    use hnth_domain::lang::Lang;
    let due = deadline(
        rules.carrier_notice_before,
        registration.starts_at,
        rules.calendar,
    );
    let due_instant = Timestamp::from_second(to_unix(due)).unwrap_or(now);
    let carriers: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM units WHERE kind IN ('carrier', 'power_company') AND valid_to IS NULL ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT e.name || ' (' || u.name || ')' FROM session_endpoints se JOIN endpoints e ON e.id = se.endpoint_id \
         JOIN units u ON u.id = e.unit_id WHERE se.session_id = ? ORDER BY se.role = 'member', u.name COLLATE vi",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let list = names.join("; ");
    let end = format!(
        "{:02}:{:02}",
        registration.ends_at.hour(),
        registration.ends_at.minute()
    );
    for carrier in carriers {
        sqlx::query(
            "INSERT INTO carrier_notices (session_id, unit_id, due_at, sent_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (session_id, unit_id) DO UPDATE SET sent_at = excluded.sent_at, due_at = excluded.due_at, confirmed_at = NULL",
        )
        .bind(id)
        .bind(carrier)
        .bind(due_instant.to_string())
        .bind(now.to_string())
        .execute(&mut **tx)
        .await?;
        notify_tx(
            tx,
            carrier,
            id,
            "carrier.notice",
            Text::new(
                format!("Thông báo bảo đảm đường truyền, nguồn điện: \"{}\"", registration.title),
                format!("Notice to secure lines and power: \"{}\"", registration.title),
            ),
            Text::new(
                format!(
                    "Phiên họp từ {} đến {end}. Các điểm cầu: {list}. Đề nghị bố trí và xác nhận cán bộ trực.",
                    format_date_time(registration.starts_at, Lang::Vi)
                ),
                format!(
                    "Session from {} to {end}. Endpoints: {list}. Please assign and confirm duty staff.",
                    format_date_time(registration.starts_at, Lang::En)
                ),
            ),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Tells the invitees, carriers and the approver about a change or a cancellation.
async fn notify_everyone_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    before: &SessionRecord,
    event: &'static str,
    subject: &Text,
    body: &Text,
    now: Timestamp,
) -> Result<()> {
    let mut units: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT unit_id FROM invitations WHERE session_id = ? UNION SELECT unit_id FROM carrier_notices WHERE session_id = ?",
    )
    .bind(id)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    if let Some(approver) = before.approver_unit_id {
        units.push(approver);
    }
    units.sort_unstable();
    units.dedup();
    for unit in units {
        notify_tx(tx, unit, id, event, subject.clone(), body.clone(), now).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn notify_tx(
    tx: &mut Transaction<'_, Sqlite>,
    unit_id: i64,
    session_id: i64,
    event: &'static str,
    subject: Text,
    body: Text,
    now: Timestamp,
) -> Result<()> {
    outbox::enqueue_tx(
        tx,
        &Notice {
            unit_id,
            session_id: Some(session_id),
            event,
            payload: json!({ "event": event, "session_id": session_id, "subject": subject.vi, "body": body.vi }),
            subject,
            body,
        },
        now,
    )
    .await
}

async fn write_version_tx(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<()> {
    let session = session_tx(tx, id).await?;
    sqlx::query(
        "INSERT INTO session_versions (session_id, version, status, snapshot, reason, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(session.version)
    .bind(session.status.as_str())
    .bind(json!(session.registration).to_string())
    .bind(reason)
    .bind(actor.user_id)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: i64,
    session_id: i64,
    endpoint_id: i64,
    endpoint_name: String,
    unit_id: i64,
    unit_name: String,
    status: String,
    chair_name: String,
    chair_title: String,
    reason: String,
    answered_at: Option<String>,
}

impl TryFrom<InvitationRow> for InvitationRecord {
    type Error = StoreError;
    fn try_from(row: InvitationRow) -> Result<InvitationRecord> {
        Ok(InvitationRecord {
            id: row.id,
            session_id: row.session_id,
            endpoint_id: row.endpoint_id,
            endpoint_name: row.endpoint_name,
            unit_id: row.unit_id,
            unit_name: row.unit_name,
            status: row.status,
            chair_name: row.chair_name,
            chair_title: row.chair_title,
            reason: row.reason,
            answered_at: parse_optional_instant(row.answered_at.as_deref())?,
        })
    }
}

const INVITATION_SELECT: &str = "SELECT i.id, i.session_id, i.endpoint_id, e.name AS endpoint_name, i.unit_id, u.name AS unit_name, \
     i.status, i.chair_name, i.chair_title, i.reason, i.answered_at FROM invitations i JOIN endpoints e ON e.id = i.endpoint_id \
     JOIN units u ON u.id = i.unit_id JOIN sessions s ON s.id = i.session_id";

async fn invitations_conn(
    conn: &mut SqliteConnection,
    condition: &str,
    value: i64,
) -> Result<Vec<InvitationRecord>> {
    let mut invitations =
        sqlx::query_as::<_, InvitationRow>(&format!("{INVITATION_SELECT} WHERE {condition}"))
            .bind(value)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(InvitationRecord::try_from)
            .collect::<Result<Vec<_>>>()?;
    // By unit and endpoint in Vietnamese order, each key computed once (see session_detail).
    invitations.sort_by_cached_key(|i| (sort_key(&i.unit_name), sort_key(&i.endpoint_name), i.id));
    Ok(invitations)
}

async fn invitation_tx(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<InvitationRecord> {
    invitations_conn(tx, "i.id = ?", id)
        .await?
        .pop()
        .ok_or(StoreError::NotFound("invitation"))
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    session_id: i64,
    unit_id: i64,
    unit_name: String,
    due_at: String,
    sent_at: String,
    confirmed_at: Option<String>,
    duty_staff_name: String,
    duty_staff_phone: String,
}

impl TryFrom<NoticeRow> for CarrierNoticeRecord {
    type Error = StoreError;
    fn try_from(row: NoticeRow) -> Result<CarrierNoticeRecord> {
        Ok(CarrierNoticeRecord {
            id: row.id,
            session_id: row.session_id,
            unit_id: row.unit_id,
            unit_name: row.unit_name,
            due_at: parse_instant(&row.due_at)?,
            sent_at: parse_instant(&row.sent_at)?,
            confirmed_at: parse_optional_instant(row.confirmed_at.as_deref())?,
            duty_staff_name: row.duty_staff_name,
            duty_staff_phone: row.duty_staff_phone,
        })
    }
}

const NOTICE_SELECT: &str = "SELECT n.id, n.session_id, n.unit_id, u.name AS unit_name, n.due_at, n.sent_at, n.confirmed_at, \
     n.duty_staff_name, n.duty_staff_phone FROM carrier_notices n JOIN units u ON u.id = n.unit_id";

async fn carrier_notices_conn(
    conn: &mut SqliteConnection,
    condition: &str,
    value: i64,
) -> Result<Vec<CarrierNoticeRecord>> {
    let mut notices = sqlx::query_as::<_, NoticeRow>(&format!("{NOTICE_SELECT} WHERE {condition}"))
        .bind(value)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(CarrierNoticeRecord::try_from)
        .collect::<Result<Vec<_>>>()?;
    // By unit in Vietnamese order, each key computed once (see session_detail).
    notices.sort_by_cached_key(|n| (sort_key(&n.unit_name), n.id));
    Ok(notices)
}

async fn carrier_notice_tx(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
) -> Result<CarrierNoticeRecord> {
    carrier_notices_conn(tx, "n.id = ?", id)
        .await?
        .pop()
        .ok_or(StoreError::NotFound("carrier notice"))
}
