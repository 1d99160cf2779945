//! Registration to invitation, in pages and the API: register (draft or submit), the
//! policy's lead times (R-REG-2, R-REG-9, R-REG-10), double booking with free-slot proposals
//! (R-REG-3), approval (R-REG-4), invitations and answers (R-REG-6, R-REG-7), carrier and
//! power-company notices (R-REG-8), changes, postponements and cancellations with versions.
//!
//! The order of checks is the same everywhere: permission on the unit concerned, then the
//! form's fields, then the policy's deadlines (pure, on the calendar in force), then the
//! store's transaction that checks double booking and writes the change with its notices.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hnth_domain::calendar::WorkCalendar;
use hnth_domain::lang::Lang;
use hnth_domain::role::{is_allowed, Permission, Target};
use hnth_domain::session::booking::{free_slots, OfficeHours, SlotRequest};
use hnth_domain::session::checks::{check_central_rehearsals, check_registration, Refusal};
use hnth_domain::session::{
    format_date_time, Action, Classification, ExtraNeed, MeetingType, Registration,
    RegistrationForm, SessionStatus, Urgency,
};
use hnth_domain::validate::format_date;
use hnth_store::directory::{EndpointFilter, UnitFilter};
use hnth_store::sessions::{
    CarrierNoticeRecord, Change, InvitationAnswer, InvitationRecord, RegisterError, SessionDetail,
    SessionFilter, SessionRecord, SessionSummary,
};
use hnth_store::Page;
use jiff::civil::DateTime;
use jiff::ToSpan;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Path, Query};
use crate::i18n::{texts, Texts};
use crate::pages::{choices, Choice, Chrome, FieldErrors};
use crate::{format_instant, now_local, render, AppState, Ctx, CurrentUser};

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(sessions_page).post(session_create))
        .route("/sessions/new", get(session_new))
        .route("/sessions/{id}", get(session_page))
        .route(
            "/sessions/{id}/edit",
            get(session_edit).post(session_update),
        )
        .route("/sessions/{id}/act", post(session_act))
        .route("/sessions/{id}/live", get(crate::live::session_stream))
        .route("/invitations", get(invitations_page))
        .route("/invitations/{id}/answer", post(invitation_answer_page))
        .route("/carrier-notices/{id}/confirm", post(notice_confirm_page))
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list_sessions, api_create_session))
        .routes(routes!(api_get_session, api_update_session))
        .routes(routes!(api_act_on_session))
        .routes(routes!(api_answer_invitation))
        .routes(routes!(api_confirm_notice))
}

// ---------------------------------------------------------------------------------------
// Rules shared by pages and the API
// ---------------------------------------------------------------------------------------

/// Now, local.
fn now() -> DateTime {
    now_local().datetime()
}

/// The policy's deadlines for `registration`; `previous_start` when an existing booking
/// moves. Centrally convened sessions also get the R-REG-10 rehearsal check.
async fn policy_refusals(
    state: &AppState,
    calendar: &WorkCalendar,
    registration: &Registration,
    previous_start: Option<DateTime>,
) -> Result<Vec<Refusal>, AppError> {
    let policy = &state.policy.policy;
    let mut refusals = check_registration(policy, calendar, now(), registration, previous_start);
    let host = state.store.unit(registration.host_unit_id).await?;
    if host.level == "central" {
        refusals.extend(check_central_rehearsals(policy, calendar, registration));
    }
    Ok(refusals)
}

/// Turns a store collision into an error carrying the nearest free slots that also meet
/// the lead times, so the user can pick one.
async fn with_free_slots(
    state: &AppState,
    calendar: &WorkCalendar,
    registration: &Registration,
    except: Option<i64>,
    error: RegisterError,
) -> AppError {
    let RegisterError::Conflicts(occurrences) = error else {
        return error.into();
    };
    let start = registration.starts_at;
    let booked = match state
        .store
        .booked_between(
            start.saturating_sub(15.days()),
            start.saturating_add(15.days()),
            except,
        )
        .await
    {
        Ok(booked) => booked,
        Err(error) => return error.into(),
    };
    let endpoints = registration.all_endpoint_ids();
    let request = SlotRequest {
        wanted_start: start,
        duration: registration.duration(),
        endpoints: &endpoints,
        not_before: now(),
        working_days_only: registration.urgency == Urgency::Normal,
        count: 12,
    };
    let capacity = state.policy.policy.mcu_capacity.value;
    let slots = free_slots(
        &request,
        &booked,
        capacity,
        calendar,
        OfficeHours::default(),
    )
    .into_iter()
    .filter(|(slot_start, slot_end)| {
        let mut moved = registration.clone();
        moved.starts_at = *slot_start;
        moved.ends_at = *slot_end;
        moved.rehearsals.clear();
        check_registration(&state.policy.policy, calendar, now(), &moved, None).is_empty()
    })
    .take(3)
    .collect();
    AppError::Booking {
        occurrences,
        free_slots: slots,
    }
}

/// Whether `user` holds `permission` on `unit_id` (or an ancestor).
pub(crate) async fn allowed_on(
    state: &AppState,
    user: &CurrentUser,
    permission: Permission,
    unit_id: i64,
) -> Result<bool, AppError> {
    if !user.can(permission) {
        return Ok(false);
    }
    let chain = state.store.unit_chain_ids(unit_id).await?;
    Ok(is_allowed(&user.grants, permission, Target::Unit(&chain)))
}

/// Whether `user` takes part in the session: a grant covering the host, the approver or a
/// booked endpoint's unit.
pub(crate) async fn involved(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<bool, AppError> {
    let mut units = vec![detail.session.registration.host_unit_id];
    units.extend(detail.session.approver_unit_id);
    units.extend(detail.endpoints.iter().map(|e| e.unit_id));
    units.sort_unstable();
    units.dedup();
    for unit in units {
        let chain = state.store.unit_chain_ids(unit).await?;
        if user.grants.iter().any(|g| chain.contains(&g.unit_id)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Who may read a session: those involved; everyone with the schedule for an approved or
/// cancelled session that is not classified (R-REG-5, R-SEC-4).
pub(crate) async fn require_visible(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<(), AppError> {
    user.require(Permission::ScheduleRead)?;
    let published = matches!(
        detail.session.status,
        SessionStatus::Approved | SessionStatus::Cancelled
    ) && detail.session.registration.classification == Classification::Normal;
    if published || user.can(Permission::AuditRead) || involved(state, user, detail).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Who reads what happens around a session (readiness, incidents, attendance): those it
/// involves, the MCU operator and auditors.
pub(crate) async fn require_operations_reader(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<(), AppError> {
    require_visible(state, user, detail).await?;
    if user.can(Permission::LiveControl)
        || user.can(Permission::AuditRead)
        || involved(state, user, detail).await?
    {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Registers after the checks; returns the new ids.
async fn register(
    state: &AppState,
    user: &CurrentUser,
    registration: &Registration,
    submit: bool,
) -> Result<Vec<i64>, AppError> {
    user.require_on_unit(
        &state.store,
        Permission::SessionRegister,
        registration.host_unit_id,
    )
    .await?;
    let calendar = state.calendar();
    if submit {
        let refusals = policy_refusals(state, &calendar, registration, None).await?;
        if !refusals.is_empty() {
            return Err(AppError::Refused(refusals));
        }
    }
    let rules = state.booking_rules(&calendar);
    match state
        .store
        .register(
            &user.actor(),
            registration,
            submit,
            &rules,
            jiff::Timestamp::now(),
        )
        .await
    {
        Ok(ids) => Ok(ids),
        Err(error) => Err(with_free_slots(state, &calendar, registration, None, error).await),
    }
}

/// Changes a registration after the checks.
async fn change(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    registration: &Registration,
    expected_version: i64,
    reason: &str,
) -> Result<(), AppError> {
    let before = state.store.session(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::SessionRegister,
        before.registration.host_unit_id,
    )
    .await?;
    let calendar = state.calendar();
    if before.status.holds_resources() {
        let refusals = policy_refusals(
            state,
            &calendar,
            registration,
            Some(before.registration.starts_at),
        )
        .await?;
        if !refusals.is_empty() {
            return Err(AppError::Refused(refusals));
        }
    }
    let rules = state.booking_rules(&calendar);
    let change = Change {
        registration,
        expected_version,
        reason,
    };
    match state
        .store
        .change_session(&user.actor(), id, &change, &rules, jiff::Timestamp::now())
        .await
    {
        Ok(()) => {
            state.live.session_changed(id, "session.changed");
            Ok(())
        }
        Err(error) => Err(with_free_slots(state, &calendar, registration, Some(id), error).await),
    }
}

/// Does an action after the permission and, for a submission, the deadline checks.
async fn act(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    action: Action,
    reason: &str,
    expected_version: Option<i64>,
) -> Result<SessionStatus, AppError> {
    let session = state.store.session(id).await?;
    match action {
        Action::Approve | Action::Refuse | Action::AskChanges => {
            let approver = session.approver_unit_id.ok_or_else(|| {
                AppError::Conflict(hnth_domain::lang::Text::new(
                    "Đăng ký chưa được gửi phê duyệt.",
                    "The registration was not sent for approval.",
                ))
            })?;
            user.require_on_unit(&state.store, Permission::SessionApprove, approver)
                .await?;
        }
        Action::Submit | Action::Cancel => {
            user.require_on_unit(
                &state.store,
                Permission::SessionRegister,
                session.registration.host_unit_id,
            )
            .await?;
        }
    }
    let calendar = state.calendar();
    if action == Action::Submit {
        let refusals = policy_refusals(state, &calendar, &session.registration, None).await?;
        if !refusals.is_empty() {
            return Err(AppError::Refused(refusals));
        }
    }
    let rules = state.booking_rules(&calendar);
    match state
        .store
        .act_on_session(
            &user.actor(),
            id,
            action,
            reason,
            expected_version,
            &rules,
            jiff::Timestamp::now(),
        )
        .await
    {
        Ok(status) => {
            state.live.session_changed(id, "session.status");
            Ok(status)
        }
        Err(error) => {
            Err(with_free_slots(state, &calendar, &session.registration, Some(id), error).await)
        }
    }
}

async fn answer_invitation(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    answer: &InvitationAnswer,
) -> Result<InvitationRecord, AppError> {
    let invitation = state.store.invitation(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::InvitationAnswer,
        invitation.unit_id,
    )
    .await?;
    let record = state
        .store
        .answer_invitation(&user.actor(), id, answer, jiff::Timestamp::now())
        .await?;
    state
        .live
        .session_changed(invitation.session_id, "invitation.answered");
    Ok(record)
}

/// A carrier or the power company confirms its notice with its duty staff (R-REG-8).
async fn confirm_notice(
    state: &AppState,
    user: &CurrentUser,
    notice: &CarrierNoticeRecord,
    duty_staff_name: &str,
    duty_staff_phone: &str,
) -> Result<CarrierNoticeRecord, AppError> {
    user.require_on_unit(&state.store, Permission::NoticeConfirm, notice.unit_id)
        .await?;
    let record = state
        .store
        .confirm_carrier_notice(
            &user.actor(),
            notice.id,
            duty_staff_name,
            duty_staff_phone,
            jiff::Timestamp::now(),
        )
        .await?;
    state
        .live
        .session_changed(notice.session_id, "notice.confirmed");
    Ok(record)
}

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

/// A registration as sent to the API (R-REG-1). Dates are `dd/mm/yyyy` or ISO, times `HH:MM`,
/// local time in Asia/Ho_Chi_Minh.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationInput {
    /// Host (convening) unit id.
    pub host_unit_id: i64,
    /// The chair's endpoint id; must belong to the host unit.
    pub host_endpoint_id: i64,
    /// Invited member endpoint ids.
    pub member_endpoint_ids: Vec<i64>,
    /// Title.
    pub title: String,
    /// Content and agenda.
    pub content: String,
    /// Meeting type of Decision 45/2018: advisory, work_resolution, professional, periodic_briefing, review, thematic, training, consultation.
    pub meeting_type: String,
    /// normal, mat, toi_mat, tuyet_mat.
    pub classification: String,
    /// normal or emergency.
    pub urgency: String,
    /// Required for an emergency.
    pub emergency_reason: String,
    /// Who chairs.
    pub chair_name: String,
    /// The chair's title.
    pub chair_title: String,
    /// Contact person.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// recording, slides, video_playback, large_hall, hq_room.
    pub extra_needs: Vec<String>,
    /// The day.
    pub date: String,
    /// Start, HH:MM.
    pub start_time: String,
    /// End, HH:MM.
    pub end_time: String,
    /// Rehearsals, `dd/mm/yyyy HH:MM` each.
    pub rehearsals: Vec<String>,
    /// Repeat: `weekly` or `working_days` (only when registering).
    pub repeat: String,
    /// Last day of the series.
    pub repeat_until: String,
    /// Days of the series left out.
    pub repeat_except: Vec<String>,
}

impl From<RegistrationInput> for RegistrationForm {
    fn from(input: RegistrationInput) -> RegistrationForm {
        let id = |id: i64| {
            if id == 0 {
                String::new()
            } else {
                id.to_string()
            }
        };
        RegistrationForm {
            host_unit_id: id(input.host_unit_id),
            host_endpoint_id: id(input.host_endpoint_id),
            member_endpoint_ids: input
                .member_endpoint_ids
                .iter()
                .map(i64::to_string)
                .collect(),
            title: input.title,
            content: input.content,
            meeting_type: input.meeting_type,
            classification: input.classification,
            urgency: input.urgency,
            emergency_reason: input.emergency_reason,
            chair_name: input.chair_name,
            chair_title: input.chair_title,
            contact_name: input.contact_name,
            contact_phone: input.contact_phone,
            extra_needs: input.extra_needs,
            date: input.date,
            start_time: input.start_time,
            end_time: input.end_time,
            rehearsals: input.rehearsals.join("\n"),
            repeat: input.repeat,
            repeat_until: input.repeat_until,
            repeat_except: input.repeat_except.join(","),
        }
    }
}

/// A new registration: the registration and whether to send it for approval now.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSessionInput {
    /// The registration.
    #[serde(flatten)]
    pub registration: RegistrationInput,
    /// Send for approval now (otherwise saved as a draft).
    #[serde(default)]
    pub submit: bool,
}

/// A change of a registration.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateSessionInput {
    /// The new registration.
    #[serde(flatten)]
    pub registration: RegistrationInput,
    /// The version the change is based on (from GET).
    pub version: i64,
    /// Why, for the history and the invitees.
    #[serde(default)]
    pub reason: String,
}

/// Something done to a registration.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionInput {
    /// submit, approve, refuse, ask_changes, cancel.
    #[schema(value_type = String)]
    pub action: Action,
    /// Required to refuse, ask for changes or cancel.
    #[serde(default)]
    pub reason: String,
    /// The version the action is based on; refused if someone changed it since.
    pub version: Option<i64>,
}

/// An invited unit's answer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationAnswerInput {
    /// `confirm` or `decline`.
    pub answer: String,
    /// Who chairs at the endpoint (to confirm).
    #[serde(default)]
    pub chair_name: String,
    /// Their title.
    #[serde(default)]
    pub chair_title: String,
    /// Why not (to decline).
    #[serde(default)]
    pub reason: String,
}

impl InvitationAnswerInput {
    fn answer(self) -> Result<InvitationAnswer, AppError> {
        match self.answer.trim() {
            "confirm" => Ok(InvitationAnswer::Confirm {
                chair_name: self.chair_name,
                chair_title: self.chair_title,
            }),
            "decline" => Ok(InvitationAnswer::Decline {
                reason: self.reason,
            }),
            _ => Err(AppError::Invalid(hnth_domain::validate::Invalid::one(
                "answer",
                "invalid",
                hnth_domain::lang::Text::new(
                    "Hãy chọn \"confirm\" (tham dự) hoặc \"decline\" (không tham dự).",
                    "Choose \"confirm\" or \"decline\".",
                ),
            ))),
        }
    }
}

/// A carrier's confirmation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NoticeConfirmInput {
    /// The duty staff's name.
    pub duty_staff_name: String,
    /// Their phone.
    pub duty_staff_phone: String,
}

/// A session as the API shows it. Times are local (Asia/Ho_Chi_Minh) ISO date-times.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    /// Id.
    pub id: i64,
    /// The series, for recurring sessions.
    pub series_id: Option<i64>,
    /// draft, submitted, changes_requested, approved, refused, cancelled.
    pub status: String,
    /// Bumped by every change; send it back with changes.
    pub version: i64,
    /// Title.
    pub title: String,
    /// Content.
    pub content: String,
    /// Meeting type code.
    pub meeting_type: String,
    /// Classification code.
    pub classification: String,
    /// normal or emergency.
    pub urgency: String,
    /// Why it is an emergency.
    pub emergency_reason: String,
    /// Chair.
    pub chair_name: String,
    /// Chair's title.
    pub chair_title: String,
    /// Contact.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Extra need codes.
    pub extra_needs: Vec<String>,
    /// Official start.
    pub starts_at: String,
    /// Official end.
    pub ends_at: String,
    /// Rehearsals.
    pub rehearsals: Vec<String>,
    /// Host unit.
    pub host_unit_id: i64,
    /// Its name.
    pub host_unit_name: String,
    /// Host endpoint.
    pub host_endpoint_id: i64,
    /// Its name.
    pub host_endpoint_name: String,
    /// Member endpoints.
    pub member_endpoint_ids: Vec<i64>,
    /// Who approves.
    pub approver_unit_id: Option<i64>,
    /// Its name.
    pub approver_unit_name: Option<String>,
    /// When sent for approval (RFC 3339).
    pub submitted_at: Option<String>,
    /// The approver's answer deadline (RFC 3339).
    pub answer_due_at: Option<String>,
    /// The answer is late.
    pub answer_overdue: bool,
    /// When decided (RFC 3339).
    pub decided_at: Option<String>,
    /// By whom.
    pub decided_by: Option<String>,
    /// The approver's or canceller's note.
    pub decision_note: String,
    /// Who registered.
    pub created_by: Option<String>,
}

impl From<&SessionRecord> for SessionDto {
    fn from(s: &SessionRecord) -> SessionDto {
        let r = &s.registration;
        SessionDto {
            id: s.id,
            series_id: s.series_id,
            status: s.status.as_str().into(),
            version: s.version,
            title: r.title.clone(),
            content: r.content.clone(),
            meeting_type: r.meeting_type.as_str().into(),
            classification: r.classification.as_str().into(),
            urgency: r.urgency.as_str().into(),
            emergency_reason: r.emergency_reason.clone(),
            chair_name: r.chair_name.clone(),
            chair_title: r.chair_title.clone(),
            contact_name: r.contact_name.clone(),
            contact_phone: r.contact_phone.clone(),
            extra_needs: r
                .extra_needs
                .iter()
                .map(|n| n.as_str().to_string())
                .collect(),
            starts_at: r.starts_at.to_string(),
            ends_at: r.ends_at.to_string(),
            rehearsals: r.rehearsals.iter().map(|at| at.to_string()).collect(),
            host_unit_id: r.host_unit_id,
            host_unit_name: s.host_unit_name.clone(),
            host_endpoint_id: r.host_endpoint_id,
            host_endpoint_name: s.host_endpoint_name.clone(),
            member_endpoint_ids: r.member_endpoint_ids.clone(),
            approver_unit_id: s.approver_unit_id,
            approver_unit_name: s.approver_unit_name.clone(),
            submitted_at: s.submitted_at.map(|t| t.to_string()),
            answer_due_at: s.answer_due_at.map(|t| t.to_string()),
            answer_overdue: s.answer_overdue(jiff::Timestamp::now()),
            decided_at: s.decided_at.map(|t| t.to_string()),
            decided_by: s.decided_by.clone(),
            decision_note: s.decision_note.clone(),
            created_by: s.created_by.clone(),
        }
    }
}

/// A session with its invitations, notices and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetailDto {
    /// The session.
    #[serde(flatten)]
    pub session: SessionDto,
    /// Booked endpoints.
    #[schema(value_type = Vec<Object>)]
    pub endpoints: serde_json::Value,
    /// Invitations and answers.
    #[schema(value_type = Vec<Object>)]
    pub invitations: serde_json::Value,
    /// Tally of the answers.
    #[schema(value_type = Object)]
    pub tally: serde_json::Value,
    /// Carrier and power notices.
    #[schema(value_type = Vec<Object>)]
    pub carrier_notices: serde_json::Value,
    /// Versions, newest first.
    #[schema(value_type = Vec<Object>)]
    pub versions: serde_json::Value,
}

fn detail_dto(detail: &SessionDetail) -> SessionDetailDto {
    let tally = tally_of(&detail.invitations);
    SessionDetailDto {
        session: SessionDto::from(&detail.session),
        endpoints: serde_json::json!(detail.endpoints),
        invitations: serde_json::json!(detail.invitations),
        tally: serde_json::json!(tally),
        carrier_notices: serde_json::json!(detail.notices),
        versions: serde_json::json!(detail
            .versions
            .iter()
            .map(|v| serde_json::json!({
                "version": v.version, "status": v.status, "reason": v.reason,
                "changed_by": v.changed_by, "changed_at": v.changed_at.to_string(),
                "starts_at": v.registration.starts_at.to_string(), "ends_at": v.registration.ends_at.to_string(),
                "registration": v.registration,
            }))
            .collect::<Vec<_>>()),
    }
}

fn tally_of(invitations: &[InvitationRecord]) -> hnth_store::sessions::Tally {
    let mut tally = hnth_store::sessions::Tally::default();
    for invitation in invitations {
        match invitation.status.as_str() {
            "confirmed" => tally.confirmed += 1,
            "declined" => tally.declined += 1,
            _ => tally.pending += 1,
        }
    }
    tally
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The sessions.
    pub items: Vec<SessionDto>,
    /// Matching sessions over all pages.
    pub total: u64,
}

/// Filters of the session listing.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct SessionQuery {
    /// `mine` (hosted by my units), `approve` (routed to my units for approval), or all I may read.
    pub view: Option<String>,
    /// A status code.
    pub status: Option<String>,
    /// From this day (dd/mm/yyyy or ISO).
    pub from: Option<String>,
    /// Before this day.
    pub to: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// Resolves a listing query into a store filter for `user`.
fn session_filter(user: &CurrentUser, query: &SessionQuery) -> Result<SessionFilter, AppError> {
    let mut filter = SessionFilter::default();
    if let Some(code) = query.status.as_deref().filter(|s| !s.is_empty()) {
        filter.statuses = vec![SessionStatus::parse(code).ok_or_else(|| {
            AppError::BadRequest(hnth_domain::lang::Text::new(
                format!("Không có trạng thái \"{code}\"."),
                format!("There is no status \"{code}\"."),
            ))
        })?];
    }
    let day = |value: &Option<String>| -> Result<Option<DateTime>, AppError> {
        match value.as_deref().filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => hnth_domain::validate::parse_date(text)
                .map(|d| Some(d.to_datetime(jiff::civil::Time::midnight())))
                .ok_or_else(|| {
                    AppError::BadRequest(hnth_domain::lang::Text::new(
                        format!("Ngày \"{text}\" không hợp lệ (dd/mm/yyyy)."),
                        format!("\"{text}\" is not a date (dd/mm/yyyy)."),
                    ))
                }),
        }
    };
    filter.from = day(&query.from)?;
    filter.to = day(&query.to)?;
    let roots = |permission: Permission| -> Vec<i64> {
        user.grants
            .iter()
            .filter(|g| g.role.allows(permission))
            .map(|g| g.unit_id)
            .collect()
    };
    match query.view.as_deref().unwrap_or("") {
        "mine" => {
            filter.host_subtree = roots(Permission::SessionRegister).first().copied();
            if filter.host_subtree.is_none() {
                filter.host_subtree = Some(-1);
            }
        }
        "approve" => {
            filter.approver_units = Some(roots(Permission::SessionApprove));
        }
        _ => {}
    }
    Ok(filter)
}

/// Keeps only what `user` may read: published unclassified sessions, and those involving
/// the user's units.
async fn visible_summaries(
    state: &AppState,
    user: &CurrentUser,
    items: Vec<SessionSummary>,
) -> Result<Vec<SessionSummary>, AppError> {
    let mut visible = Vec::with_capacity(items.len());
    let mut chains: HashMap<i64, Vec<i64>> = HashMap::new();
    for item in items {
        let published = matches!(
            item.session.status,
            SessionStatus::Approved | SessionStatus::Cancelled
        ) && item.session.registration.classification == Classification::Normal;
        let mut ok = published || user.can(Permission::AuditRead);
        if !ok {
            let mut units = vec![item.session.registration.host_unit_id];
            units.extend(item.session.approver_unit_id);
            for unit in units {
                let chain = match chains.get(&unit) {
                    Some(chain) => chain.clone(),
                    None => {
                        let chain = state.store.unit_chain_ids(unit).await?;
                        chains.insert(unit, chain.clone());
                        chain
                    }
                };
                if user.grants.iter().any(|g| chain.contains(&g.unit_id)) {
                    ok = true;
                    break;
                }
            }
        }
        if ok {
            visible.push(item);
        }
    }
    Ok(visible)
}

/// Sessions I may read, by start.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(SessionQuery),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
async fn api_list_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SessionQuery>,
) -> Result<Json<SessionList>, AppError> {
    user.require(Permission::ScheduleRead)?;
    let filter = session_filter(&user, &query)?;
    let page = Page::new(query.limit.unwrap_or(50), query.offset.unwrap_or(0));
    let listed = state.store.list_sessions(&filter, page).await?;
    let total = listed.total;
    let items = visible_summaries(&state, &user, listed.items).await?;
    Ok(Json(SessionList {
        items: items.iter().map(|s| SessionDto::from(&s.session)).collect(),
        total,
    }))
}

/// Register a session (R-REG-1) as a draft, or submit it: the profile's lead times (R-REG-2) and double booking (R-REG-3) are checked. A recurring registration creates every occurrence or none.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = CreateSessionInput,
    responses((status = 201, body = Vec<SessionDto>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_create_session(
    State(state): State<AppState>,
    user: CurrentUser,
    crate::error::Json(input): crate::error::Json<CreateSessionInput>,
) -> Result<Response, AppError> {
    user.require(Permission::SessionRegister)?;
    let registration = RegistrationForm::from(input.registration).parse()?;
    let ids = register(&state, &user, &registration, input.submit).await?;
    let mut created = Vec::new();
    for id in ids {
        created.push(SessionDto::from(&state.store.session(id).await?));
    }
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// One session with invitations, answers, carrier notices and versions.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = i64, Path)),
    responses((status = 200, body = SessionDetailDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_get_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<SessionDetailDto>, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_visible(&state, &user, &detail).await?;
    Ok(Json(detail_dto(&detail)))
}

/// Change or postpone a registration; invitees are told at once (R-REG-6). Send the version you read.
#[utoipa::path(put, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = i64, Path)), request_body = UpdateSessionInput,
    responses((status = 200, body = SessionDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_update_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<UpdateSessionInput>,
) -> Result<Json<SessionDto>, AppError> {
    let mut form = RegistrationForm::from(input.registration);
    form.repeat.clear();
    let registration = form.parse()?;
    change(
        &state,
        &user,
        id,
        &registration,
        input.version,
        &input.reason,
    )
    .await?;
    Ok(Json(SessionDto::from(&state.store.session(id).await?)))
}

/// Submit, approve, refuse, ask for changes or cancel (R-REG-4).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/actions", tag = "sessions", params(("id" = i64, Path)), request_body = ActionInput,
    responses((status = 200, body = SessionDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_act_on_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<ActionInput>,
) -> Result<Json<SessionDto>, AppError> {
    act(
        &state,
        &user,
        id,
        input.action,
        &input.reason,
        input.version,
    )
    .await?;
    Ok(Json(SessionDto::from(&state.store.session(id).await?)))
}

/// An invited unit confirms (who chairs at its endpoint) or declines with a reason (R-REG-7).
#[utoipa::path(post, path = "/api/v1/invitations/{id}/answer", tag = "sessions", params(("id" = i64, Path)), request_body = InvitationAnswerInput,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_answer_invitation(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<InvitationAnswerInput>,
) -> Result<Json<serde_json::Value>, AppError> {
    let answer = input.answer()?;
    let record = answer_invitation(&state, &user, id, &answer).await?;
    Ok(Json(serde_json::json!(record)))
}

/// A carrier or the power company confirms a notice and names its duty staff (R-REG-8).
#[utoipa::path(post, path = "/api/v1/carrier-notices/{id}/confirm", tag = "sessions", params(("id" = i64, Path)), request_body = NoticeConfirmInput,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_confirm_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<NoticeConfirmInput>,
) -> Result<Json<serde_json::Value>, AppError> {
    let notice = state.store.carrier_notice(id).await?;
    let record = confirm_notice(
        &state,
        &user,
        &notice,
        &input.duty_staff_name,
        &input.duty_staff_phone,
    )
    .await?;
    Ok(Json(serde_json::json!(record)))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/// A line of a session listing.
pub struct SessionLine {
    id: i64,
    when: String,
    title: String,
    host: String,
    endpoints: u32,
    status: SessionStatus,
    status_label: &'static str,
    emergency: bool,
    classified: bool,
    answer_due: String,
    overdue: bool,
    tally: String,
}

fn line(summary: &SessionSummary, lang: Lang) -> SessionLine {
    let s = &summary.session;
    let r = &s.registration;
    SessionLine {
        id: s.id,
        when: time_range(r.starts_at, r.ends_at),
        title: r.title.clone(),
        host: s.host_unit_name.clone(),
        endpoints: summary.endpoint_count,
        status: s.status,
        status_label: s.status.label(lang),
        emergency: r.urgency == Urgency::Emergency,
        classified: r.classification != Classification::Normal,
        answer_due: s
            .answer_due_at
            .filter(|_| s.status == SessionStatus::Submitted)
            .map(format_instant)
            .unwrap_or_default(),
        overdue: s.answer_overdue(jiff::Timestamp::now()),
        tally: if s.status == SessionStatus::Approved {
            format!(
                "{}✓ {}✗ {}?",
                summary.tally.confirmed, summary.tally.declined, summary.tally.pending
            )
        } else {
            String::new()
        },
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    lines: Vec<SessionLine>,
    view: String,
    status: String,
    statuses: Vec<Choice>,
    can_register: bool,
    can_approve: bool,
    total: u64,
}

async fn sessions_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<SessionQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ScheduleRead)?;
    let mut query = query;
    if query.view.is_none() {
        query.view = Some(
            if user.can(Permission::SessionApprove) {
                "approve"
            } else if user.can(Permission::SessionRegister) {
                "mine"
            } else {
                "all"
            }
            .to_string(),
        );
    }
    let filter = session_filter(&user, &query)?;
    let listed = state
        .store
        .list_sessions(&filter, Page::new(200, 0))
        .await?;
    let total = listed.total;
    let items = visible_summaries(&state, &user, listed.items).await?;
    Ok(render(&SessionsPage {
        chrome: Chrome::new(&user, ctx.lang, "/sessions", "sessions"),
        lines: items.iter().map(|s| line(s, ctx.lang)).collect(),
        view: query.view.unwrap_or_default(),
        status: query.status.unwrap_or_default(),
        statuses: choices(SessionStatus::ALL, SessionStatus::as_str, |s| {
            s.label(ctx.lang)
        }),
        can_register: user.can(Permission::SessionRegister),
        can_approve: user.can(Permission::SessionApprove),
        total,
    }))
}

/// A choice in a list of checkboxes.
pub struct Check {
    code: String,
    label: String,
    checked: bool,
}

/// Endpoints of one unit, for the member checkboxes.
pub struct EndpointGroup {
    unit: String,
    endpoints: Vec<Check>,
}

#[derive(Template)]
#[template(path = "session_form.html")]
struct SessionFormPage {
    chrome: Chrome,
    heading: &'static str,
    action: String,
    cancel: String,
    editing: bool,
    version: i64,
    form: RegistrationForm,
    errors: FieldErrors,
    alert: String,
    slots: Vec<(String, String)>,
    hosts: Vec<Choice>,
    host_endpoints: Vec<Choice>,
    groups: Vec<EndpointGroup>,
    meeting_types: Vec<Choice>,
    classifications: Vec<Choice>,
    urgencies: Vec<Choice>,
    needs: Vec<Check>,
    repeats: Vec<Choice>,
}

impl SessionFormPage {
    fn t(&self) -> &'static Texts {
        self.chrome.t
    }
}

#[allow(clippy::too_many_arguments)]
async fn session_form_page(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    existing: Option<(i64, i64)>,
    mut form: RegistrationForm,
    errors: FieldErrors,
    alert: String,
    slots: Vec<(DateTime, DateTime)>,
) -> Result<Response, AppError> {
    let t = texts(lang);
    let units = state
        .store
        .list_units(
            &UnitFilter {
                active_on: Some(crate::today()),
                ..Default::default()
            },
            Page::all(),
        )
        .await?;
    let parents: HashMap<i64, Option<i64>> =
        units.items.iter().map(|u| (u.id, u.parent_id)).collect();
    let chain_of = |mut id: i64| {
        let mut chain = vec![id];
        while let Some(Some(parent)) = parents.get(&id) {
            if chain.contains(parent) {
                break;
            }
            chain.push(*parent);
            id = *parent;
        }
        chain
    };
    let hosts: Vec<Choice> = units
        .items
        .iter()
        .filter(|u| {
            is_allowed(
                &user.grants,
                Permission::SessionRegister,
                Target::Unit(&chain_of(u.id)),
            )
        })
        .map(|u| Choice {
            code: u.id.to_string(),
            label: u.name.clone(),
        })
        .collect();
    let endpoints = state
        .store
        .list_endpoints(
            &EndpointFilter {
                status: Some(hnth_domain::endpoint::EndpointStatus::Active),
                ..Default::default()
            },
            Page::all(),
        )
        .await?;
    // The host endpoint list follows the host unit; without a choice yet, the first unit the
    // person may register for is the host.
    if !hosts.iter().any(|h| h.code == form.host_unit_id) {
        if let Some(first) = hosts.first() {
            form.host_unit_id = first.code.clone();
        }
    }
    let host_unit: Option<i64> = form.host_unit_id.parse().ok();
    let host_endpoints = endpoints
        .items
        .iter()
        .filter(|e| host_unit.is_none_or(|unit| e.endpoint.unit_id == unit))
        .map(|e| Choice {
            code: e.endpoint.id.to_string(),
            label: format!("{} — {}", e.unit_name, e.endpoint.name),
        })
        .collect();
    let members: Vec<&str> = form
        .member_endpoint_ids
        .iter()
        .flat_map(|v| hnth_domain::session::split_list(v))
        .collect();
    let mut groups: BTreeMap<String, Vec<Check>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for e in &endpoints.items {
        if !groups.contains_key(&e.unit_name) {
            order.push(e.unit_name.clone());
        }
        let code = e.endpoint.id.to_string();
        groups.entry(e.unit_name.clone()).or_default().push(Check {
            checked: members.contains(&code.as_str()),
            code,
            label: e.endpoint.name.clone(),
        });
    }
    let groups = order
        .into_iter()
        .map(|unit| EndpointGroup {
            endpoints: groups.remove(&unit).unwrap_or_default(),
            unit,
        })
        .collect();
    let needs = ExtraNeed::ALL
        .iter()
        .map(|need| Check {
            code: need.as_str().into(),
            label: need.label(lang).into(),
            checked: form.extra_needs.iter().any(|n| n == need.as_str()),
        })
        .collect();
    let (heading, action, cancel, editing, version) = match existing {
        Some((id, version)) => (
            t.session_edit,
            format!("/sessions/{id}/edit"),
            format!("/sessions/{id}"),
            true,
            version,
        ),
        None => (
            t.session_new,
            "/sessions".to_string(),
            "/sessions".to_string(),
            false,
            0,
        ),
    };
    let slot_texts = slots
        .iter()
        .map(|(start, end)| {
            (
                format!(
                    "{} {:02}:{:02}-{:02}:{:02}",
                    format_date(start.date()),
                    start.hour(),
                    start.minute(),
                    end.hour(),
                    end.minute()
                ),
                format!(
                    "{}–{:02}:{:02}",
                    format_date_time(*start, lang),
                    end.hour(),
                    end.minute()
                ),
            )
        })
        .collect();
    Ok(render(&SessionFormPage {
        chrome: Chrome::new(user, lang, action.clone(), "sessions"),
        heading,
        action,
        cancel,
        editing,
        version,
        form,
        errors,
        alert,
        slots: slot_texts,
        hosts,
        host_endpoints,
        groups,
        meeting_types: choices(MeetingType::ALL, MeetingType::as_str, |v| v.label(lang)),
        classifications: choices(Classification::ALL, Classification::as_str, |v| {
            v.label(lang)
        }),
        urgencies: choices(Urgency::ALL, Urgency::as_str, |v| v.label(lang)),
        needs,
        repeats: vec![
            Choice {
                code: String::new(),
                label: t.repeat_none.into(),
            },
            Choice {
                code: "weekly".into(),
                label: t.repeat_weekly.into(),
            },
            Choice {
                code: "working_days".into(),
                label: t.repeat_working_days.into(),
            },
        ],
    })
    .into_response())
}

/// What the session form posts: the registration plus the buttons and hidden fields.
#[derive(Debug, Default)]
struct SessionFormPost {
    form: RegistrationForm,
    /// `draft` or `submit`.
    intent: String,
    /// A proposed slot picked by the user: `dd/mm/yyyy HH:MM-HH:MM`.
    use_slot: String,
    /// The version edited.
    version: i64,
    /// Why it changes.
    reason: String,
}

impl SessionFormPost {
    /// Applies a picked free slot to the date and times.
    fn apply_slot(&mut self) {
        let slot = self.use_slot.trim();
        if let Some((date, times)) = slot.split_once(' ') {
            if let Some((start, end)) = times.split_once('-') {
                self.form.date = date.to_string();
                self.form.start_time = start.to_string();
                self.form.end_time = end.to_string();
            }
        }
    }
}

/// Reads a form that may repeat keys (the checkbox lists), as ordered pairs.
async fn read_form(request: axum::extract::Request) -> Result<SessionFormPost, AppError> {
    use axum::extract::FromRequest;
    let crate::error::Form(pairs) =
        crate::error::Form::<Vec<(String, String)>>::from_request(request, &()).await?;
    let mut post = SessionFormPost::default();
    let f = &mut post.form;
    for (key, value) in pairs {
        match key.as_str() {
            "host_unit_id" => f.host_unit_id = value,
            "host_endpoint_id" => f.host_endpoint_id = value,
            "member_endpoint_ids" => f.member_endpoint_ids.push(value),
            "title" => f.title = value,
            "content" => f.content = value,
            "meeting_type" => f.meeting_type = value,
            "classification" => f.classification = value,
            "urgency" => f.urgency = value,
            "emergency_reason" => f.emergency_reason = value,
            "chair_name" => f.chair_name = value,
            "chair_title" => f.chair_title = value,
            "contact_name" => f.contact_name = value,
            "contact_phone" => f.contact_phone = value,
            "extra_needs" => f.extra_needs.push(value),
            "date" => f.date = value,
            "start_time" => f.start_time = value,
            "end_time" => f.end_time = value,
            "rehearsals" => f.rehearsals = value,
            "repeat" => f.repeat = value,
            "repeat_until" => f.repeat_until = value,
            "repeat_except" => f.repeat_except = value,
            "intent" => post.intent = value,
            "use_slot" => post.use_slot = value,
            "version" => post.version = value.trim().parse().unwrap_or(0),
            "reason" => post.reason = value,
            // Unknown keys are ignored, as browsers may add their own.
            _ => {}
        }
    }
    Ok(post)
}

/// Shows a failed form again with each message next to its field.
async fn form_error(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    existing: Option<(i64, i64)>,
    form: RegistrationForm,
    error: AppError,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let mut slots = Vec::new();
    let alert;
    match error {
        AppError::Invalid(invalid) => {
            errors = FieldErrors::from_invalid(&invalid, lang);
            alert = texts(lang).fix_errors.to_string();
        }
        AppError::Refused(ref refusals) => {
            for refusal in refusals {
                errors.insert(refusal.field, refusal.message.get(lang).to_string());
            }
            alert = error.message(lang);
        }
        AppError::Booking { ref free_slots, .. } => {
            slots = free_slots.clone();
            alert = error.message(lang);
        }
        AppError::Conflict(_) => alert = error.message(lang),
        other => return Err(other),
    }
    session_form_page(state, user, lang, existing, form, errors, alert, slots).await
}

/// Query of the new-session page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewSessionQuery {
    host_unit_id: String,
}

async fn session_new(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<NewSessionQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::SessionRegister)?;
    let host_unit_id = if query.host_unit_id.is_empty() {
        user.user
            .unit_id
            .map(|id| id.to_string())
            .unwrap_or_default()
    } else {
        query.host_unit_id
    };
    let form = RegistrationForm {
        host_unit_id,
        meeting_type: MeetingType::WorkResolution.as_str().into(),
        classification: Classification::Normal.as_str().into(),
        urgency: Urgency::Normal.as_str().into(),
        contact_name: user.user.full_name.clone(),
        ..Default::default()
    };
    session_form_page(
        &state,
        &user,
        ctx.lang,
        None,
        form,
        FieldErrors::default(),
        String::new(),
        Vec::new(),
    )
    .await
}

async fn session_create(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    user.require(Permission::SessionRegister)?;
    let mut post = read_form(request).await?;
    post.apply_slot();
    let outcome = match post.form.parse() {
        Ok(registration) => register(&state, &user, &registration, post.intent == "submit").await,
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(ids) => Ok(Redirect::to(&format!("/sessions/{}", ids[0])).into_response()),
        Err(error) => form_error(&state, &user, ctx.lang, None, post.form, error).await,
    }
}

async fn session_edit(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let session = state.store.session(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::SessionRegister,
        session.registration.host_unit_id,
    )
    .await?;
    let form = RegistrationForm::from_registration(&session.registration);
    session_form_page(
        &state,
        &user,
        ctx.lang,
        Some((id, session.version)),
        form,
        FieldErrors::default(),
        String::new(),
        Vec::new(),
    )
    .await
}

async fn session_update(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    let mut post = read_form(request).await?;
    post.apply_slot();
    post.form.repeat.clear();
    let outcome = match post.form.parse() {
        Ok(registration) => {
            change(&state, &user, id, &registration, post.version, &post.reason).await
        }
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(()) => {
            if post.intent == "submit" {
                if let Err(error) = act(&state, &user, id, Action::Submit, "", None).await {
                    return session_page_with(&state, &user, ctx.lang, id, error.message(ctx.lang))
                        .await;
                }
            }
            Ok(Redirect::to(&format!("/sessions/{id}")).into_response())
        }
        Err(error) => {
            form_error(
                &state,
                &user,
                ctx.lang,
                Some((id, post.version)),
                post.form,
                error,
            )
            .await
        }
    }
}

/// An invitation line on the session page, with whether the reader may answer it.
pub struct InvitationLine {
    record: InvitationRecord,
    status_label: &'static str,
    answered_at: String,
    can_answer: bool,
}

/// A notice line on the session page.
pub struct NoticeLine {
    id: i64,
    unit_name: String,
    due_at: String,
    sent_at: String,
    late: bool,
    confirmed_at: String,
    duty: String,
    can_confirm: bool,
}

/// A version line.
pub struct VersionLine {
    version: i64,
    status_label: &'static str,
    when: String,
    changed_at: String,
    changed_by: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    chrome: Chrome,
    s: SessionRecord,
    status_label: &'static str,
    when: String,
    rehearsals: Vec<String>,
    meeting_type: &'static str,
    classification: &'static str,
    classified: bool,
    emergency: bool,
    extra_needs: Vec<&'static str>,
    answer_due: String,
    overdue: bool,
    submitted_at: String,
    decided_at: String,
    host_endpoint: String,
    members: Vec<(String, String)>,
    invitations: Vec<InvitationLine>,
    tally_text: String,
    notices: Vec<NoticeLine>,
    versions: Vec<VersionLine>,
    can_edit: bool,
    can_submit: bool,
    can_decide: bool,
    can_cancel: bool,
    error: String,
    documents: Option<crate::documents::DocumentsView>,
    can_join: bool,
}

pub(crate) async fn session_page_with(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    error: String,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_visible(state, user, &detail).await?;
    let s = detail.session.clone();
    let r = &s.registration;
    let hosts_it = allowed_on(state, user, Permission::SessionRegister, r.host_unit_id).await?;
    let approves = match s.approver_unit_id {
        Some(unit) => allowed_on(state, user, Permission::SessionApprove, unit).await?,
        None => false,
    };
    let mut invitations = Vec::new();
    for record in &detail.invitations {
        let can_answer = s.status == SessionStatus::Approved
            && allowed_on(state, user, Permission::InvitationAnswer, record.unit_id).await?;
        invitations.push(InvitationLine {
            status_label: invitation_label(&record.status, lang),
            answered_at: record.answered_at.map(format_instant).unwrap_or_default(),
            can_answer,
            record: record.clone(),
        });
    }
    let mut notices = Vec::new();
    for notice in &detail.notices {
        notices.push(NoticeLine {
            id: notice.id,
            unit_name: notice.unit_name.clone(),
            due_at: format_instant(notice.due_at),
            sent_at: format_instant(notice.sent_at),
            late: notice.sent_at > notice.due_at,
            confirmed_at: notice.confirmed_at.map(format_instant).unwrap_or_default(),
            duty: if notice.duty_staff_name.is_empty() {
                String::new()
            } else {
                format!("{} — {}", notice.duty_staff_name, notice.duty_staff_phone)
            },
            can_confirm: s.status == SessionStatus::Approved
                && allowed_on(state, user, Permission::NoticeConfirm, notice.unit_id).await?,
        });
    }
    let tally = tally_of(&detail.invitations);
    let when = time_range;
    let page = SessionPage {
        chrome: Chrome::new(user, lang, format!("/sessions/{id}"), "sessions"),
        status_label: s.status.label(lang),
        when: when(r.starts_at, r.ends_at),
        rehearsals: r
            .rehearsals
            .iter()
            .map(|at| format_date_time(*at, lang))
            .collect(),
        meeting_type: r.meeting_type.label(lang),
        classification: r.classification.label(lang),
        classified: r.classification != Classification::Normal,
        emergency: r.urgency == Urgency::Emergency,
        extra_needs: r.extra_needs.iter().map(|n| n.label(lang)).collect(),
        answer_due: s.answer_due_at.map(format_instant).unwrap_or_default(),
        overdue: s.answer_overdue(jiff::Timestamp::now()),
        submitted_at: s.submitted_at.map(format_instant).unwrap_or_default(),
        decided_at: s.decided_at.map(format_instant).unwrap_or_default(),
        host_endpoint: s.host_endpoint_name.clone(),
        members: detail
            .endpoints
            .iter()
            .filter(|e| e.role == "member")
            .map(|e| (e.unit_name.clone(), e.endpoint_name.clone()))
            .collect(),
        invitations,
        tally_text: texts(lang)
            .tally
            .replace("{c}", &tally.confirmed.to_string())
            .replace("{d}", &tally.declined.to_string())
            .replace("{p}", &tally.pending.to_string()),
        notices,
        versions: detail
            .versions
            .iter()
            .map(|v| VersionLine {
                version: v.version,
                status_label: v.status.label(lang),
                when: when(v.registration.starts_at, v.registration.ends_at),
                changed_at: format_instant(v.changed_at),
                changed_by: v.changed_by.clone().unwrap_or_default(),
                reason: v.reason.clone(),
            })
            .collect(),
        can_edit: hosts_it && s.status.editable(),
        can_submit: hosts_it
            && matches!(
                s.status,
                SessionStatus::Draft | SessionStatus::ChangesRequested
            ),
        can_decide: approves && s.status == SessionStatus::Submitted,
        can_cancel: hosts_it && Action::Cancel.apply(s.status).is_ok(),
        error,
        documents: crate::documents::view(state, user, lang, &detail).await?,
        can_join: state.conferences.is_some()
            && s.status == SessionStatus::Approved
            && user.can(Permission::ConferenceJoin),
        s,
    };
    Ok(render(&page))
}

/// `dd/mm/yyyy HH:MM–HH:MM`.
pub(crate) fn time_range(start: DateTime, end: DateTime) -> String {
    format!(
        "{} {:02}:{:02}–{:02}:{:02}",
        format_date(start.date()),
        start.hour(),
        start.minute(),
        end.hour(),
        end.minute()
    )
}

fn invitation_label(status: &str, lang: Lang) -> &'static str {
    let t = texts(lang);
    match status {
        "confirmed" => t.invitation_confirmed,
        "declined" => t.invitation_declined,
        _ => t.invitation_pending,
    }
}

async fn session_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    session_page_with(&state, &user, ctx.lang, id, String::new()).await
}

/// What the action buttons post.
#[derive(Debug, Deserialize)]
struct ActionPost {
    action: Action,
    #[serde(default)]
    reason: String,
    version: Option<i64>,
}

async fn session_act(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Form(post): crate::error::Form<ActionPost>,
) -> Result<Response, AppError> {
    match act(&state, &user, id, post.action, &post.reason, post.version).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}")).into_response()),
        Err(
            error @ (AppError::Invalid(_)
            | AppError::Refused(_)
            | AppError::Booking { .. }
            | AppError::Conflict(_)),
        ) => session_page_with(&state, &user, ctx.lang, id, error.message(ctx.lang)).await,
        Err(other) => Err(other),
    }
}

/// What the answer form posts.
#[derive(Debug, Deserialize)]
struct AnswerPost {
    answer: String,
    #[serde(default)]
    chair_name: String,
    #[serde(default)]
    chair_title: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// Only local paths are followed after a form, never another site.
fn local_path(back: &str, fallback: String) -> String {
    if back.starts_with('/') && !back.starts_with("//") {
        back.to_string()
    } else {
        fallback
    }
}

async fn invitation_answer_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Form(post): crate::error::Form<AnswerPost>,
) -> Result<Response, AppError> {
    let invitation = state.store.invitation(id).await?;
    let back = local_path(&post.back, format!("/sessions/{}", invitation.session_id));
    let input = InvitationAnswerInput {
        answer: post.answer,
        chair_name: post.chair_name,
        chair_title: post.chair_title,
        reason: post.reason,
    };
    let outcome = match input.answer() {
        Ok(answer) => answer_invitation(&state, &user, id, &answer)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&back).into_response()),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            session_page_with(
                &state,
                &user,
                ctx.lang,
                invitation.session_id,
                error.message(ctx.lang),
            )
            .await
        }
        Err(other) => Err(other),
    }
}

/// What the notice form posts.
#[derive(Debug, Deserialize)]
struct NoticePost {
    duty_staff_name: String,
    duty_staff_phone: String,
    #[serde(default)]
    back: String,
}

async fn notice_confirm_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Form(post): crate::error::Form<NoticePost>,
) -> Result<Response, AppError> {
    let notice = state.store.carrier_notice(id).await?;
    let back = local_path(&post.back, format!("/sessions/{}", notice.session_id));
    match confirm_notice(
        &state,
        &user,
        &notice,
        &post.duty_staff_name,
        &post.duty_staff_phone,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(AppError::Invalid(invalid)) => {
            session_page_with(
                &state,
                &user,
                ctx.lang,
                notice.session_id,
                invalid.summary(ctx.lang),
            )
            .await
        }
        Err(other) => Err(other),
    }
}

/// A line of the invitations page.
pub struct InvitationToAnswer {
    record: InvitationRecord,
    status_label: &'static str,
    session: Option<SessionRecord>,
    when: String,
}

/// A notice of the invitations page.
pub struct NoticeToConfirm {
    id: i64,
    session_id: i64,
    title: String,
    when: String,
    unit_name: String,
    due_at: String,
    confirmed: bool,
    duty: String,
}

#[derive(Template)]
#[template(path = "invitations.html")]
struct InvitationsPage {
    chrome: Chrome,
    invitations: Vec<InvitationToAnswer>,
    notices: Vec<NoticeToConfirm>,
}

async fn invitations_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::ScheduleRead)?;
    let roots = |permission: Permission| -> Vec<i64> {
        user.grants
            .iter()
            .filter(|g| g.role.allows(permission))
            .map(|g| g.unit_id)
            .collect()
    };
    let lang = ctx.lang;
    let mut invitations = Vec::new();
    for record in state
        .store
        .invitations_for(&roots(Permission::InvitationAnswer), Page::new(200, 0))
        .await?
    {
        let session = state.store.session(record.session_id).await.ok();
        let when = session
            .as_ref()
            .map(|s| format_date_time(s.registration.starts_at, lang))
            .unwrap_or_default();
        invitations.push(InvitationToAnswer {
            status_label: invitation_label(&record.status, lang),
            record,
            session,
            when,
        });
    }
    let mut notices = Vec::new();
    for notice in state
        .store
        .carrier_notices_for(&roots(Permission::NoticeConfirm), Page::new(200, 0))
        .await?
    {
        let session = state.store.session(notice.session_id).await?;
        notices.push(NoticeToConfirm {
            id: notice.id,
            session_id: notice.session_id,
            title: session.registration.title.clone(),
            when: format_date_time(session.registration.starts_at, lang),
            unit_name: notice.unit_name,
            due_at: format_instant(notice.due_at),
            confirmed: notice.confirmed_at.is_some(),
            duty: format!("{} {}", notice.duty_staff_name, notice.duty_staff_phone),
        });
    }
    Ok(render(&InvitationsPage {
        chrome: Chrome::new(&user, lang, "/invitations", "invitations"),
        invitations,
        notices,
    }))
}
