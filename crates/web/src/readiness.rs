//! Preparation of a session in pages and the API (R-PREP-1 … R-PREP-6): the rehearsal
//! schedule, the readiness check of each endpoint with the automatic link test, the
//! technicians on duty, and the readiness board that counts down to each deadline.
//!
//! Who does what: the host unit's registrars set rehearsals (`SessionRegister` on the host);
//! an endpoint's operator (`InvitationAnswer` or `ConferenceJoin` on the endpoint's unit)
//! enters its checks and technicians; the MCU operator (`LiveControl`) and auditors see the
//! whole board, as does everyone the session involves.
//!
//! The schedule is proposed from the profile lazily, on the first look at an approved
//! session, so the approval path stays untouched and a deployment that changes its profile
//! gets the new proposal for sessions nobody has looked at yet. Every write tells open pages
//! through [`crate::live`], so the board updates without a reload.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::Permission;
use hnth_domain::session::checks::deadline;
use hnth_domain::session::readiness::{
    countdown, grade_link, parse_rehearsal_time, prep_deadlines, propose_rehearsals,
    rehearsal_refusal, CheckEntry, CheckItem, ItemForm, LinkMeasure, LinkReport, ReadinessEvent,
    ReadinessState, ReadinessTally,
};
use hnth_domain::session::{format_date_time, SessionStatus};
use hnth_domain::validate::{self, Invalid};
use hnth_store::conference::LinkSample;
use hnth_store::readiness::{CheckRecord, DutyTechnician, NewCheck, RehearsalRecord};
use hnth_store::sessions::SessionDetail;
use hnth_store::Actor;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Form, Path};
use crate::pages::Chrome;
use crate::sessions::allowed_on;
use crate::{format_instant, now_local, render, AppState, Ctx, CurrentUser};

/// The most technicians recorded per endpoint.
const MAX_TECHNICIANS: usize = 5;

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/readiness", get(overview_page))
        .route("/sessions/{id}/readiness", get(board_page))
        .route("/sessions/{id}/rehearsals", post(add_page))
        .route(
            "/sessions/{id}/rehearsals/{rehearsal}/move",
            post(move_page),
        )
        .route(
            "/sessions/{id}/rehearsals/{rehearsal}/reschedule",
            post(reschedule_page),
        )
        .route(
            "/sessions/{id}/readiness/{endpoint}",
            get(endpoint_page).post(check_page),
        )
        .route(
            "/sessions/{id}/readiness/{endpoint}/technicians",
            post(technicians_page),
        )
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list_rehearsals, api_add_rehearsal))
        .routes(routes!(api_move_rehearsal))
        .routes(routes!(api_reschedule_rehearsal))
        .routes(routes!(api_board))
        .routes(routes!(api_overview))
        .routes(routes!(api_record_check))
        .routes(routes!(api_set_technicians))
}

// ---------------------------------------------------------------------------------------
// Rules shared by pages and the API
// ---------------------------------------------------------------------------------------

fn now() -> DateTime {
    now_local().datetime()
}

/// Whether `user` registers for the host unit (sets rehearsals).
async fn hosts(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<bool, AppError> {
    allowed_on(
        state,
        user,
        Permission::SessionRegister,
        detail.session.registration.host_unit_id,
    )
    .await
}

/// Whether `user` operates the endpoint's unit (enters its checks).
async fn operates(state: &AppState, user: &CurrentUser, unit_id: i64) -> Result<bool, AppError> {
    Ok(
        allowed_on(state, user, Permission::InvitationAnswer, unit_id).await?
            || allowed_on(state, user, Permission::ConferenceJoin, unit_id).await?,
    )
}

/// The booked endpoint `endpoint` of the session, or 404.
fn booked(
    detail: &SessionDetail,
    endpoint: i64,
) -> Result<&hnth_store::sessions::BookedEndpoint, AppError> {
    detail
        .endpoints
        .iter()
        .find(|e| e.endpoint_id == endpoint)
        .ok_or(AppError::NotFound("endpoint"))
}

fn require_approved(detail: &SessionDetail) -> Result<(), AppError> {
    if detail.session.status == SessionStatus::Approved {
        Ok(())
    } else {
        Err(AppError::Conflict(Text::new(
            "Chỉ chuẩn bị (chạy thử, kiểm tra sẵn sàng) cho phiên họp đã được phê duyệt; hãy chờ phê duyệt hoặc xem lại trạng thái phiên họp.",
            "Only an approved session is prepared (rehearsals, readiness checks); wait for approval or look at the session's state.",
        )))
    }
}

/// Whether the session is convened from the central level (R-REG-10).
async fn central(state: &AppState, detail: &SessionDetail) -> Result<bool, AppError> {
    let host = state
        .store
        .unit(detail.session.registration.host_unit_id)
        .await?;
    Ok(host.level == "central")
}

/// Writes the profile's proposal for an approved session nobody has looked at yet.
async fn ensure_proposed(state: &AppState, detail: &SessionDetail) -> Result<(), AppError> {
    if detail.session.status != SessionStatus::Approved {
        return Ok(());
    }
    let registration = &detail.session.registration;
    let calendar = state.calendar();
    let proposed = propose_rehearsals(
        &state.policy.policy,
        &calendar,
        registration.starts_at,
        central(state, detail).await?,
        &registration.rehearsals,
        now(),
    );
    if state
        .store
        .propose_rehearsals(&Actor::system("policy"), detail.session.id, &proposed)
        .await?
    {
        state
            .live
            .session_changed(detail.session.id, "rehearsals.proposed");
    }
    Ok(())
}

/// Checks a new rehearsal time against the session (R-PREP-1, R-REG-10).
async fn check_time(
    state: &AppState,
    detail: &SessionDetail,
    at: &str,
) -> Result<DateTime, AppError> {
    let at = parse_rehearsal_time("at", at)?;
    let start = detail.session.registration.starts_at;
    let connected_by = if central(state, detail).await? {
        Some(deadline(
            state.policy.policy.central_connection_complete_before.value,
            start,
            &state.calendar(),
        ))
    } else {
        None
    };
    match rehearsal_refusal(at, start, now(), connected_by) {
        Some(reason) => Err(AppError::Invalid(Invalid::one(
            "at",
            "rehearsal_time",
            reason,
        ))),
        None => Ok(at),
    }
}

async fn add_rehearsal(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    at: &str,
) -> Result<RehearsalRecord, AppError> {
    let detail = state.store.session_detail(id).await?;
    if !hosts(state, user, &detail).await? {
        return Err(AppError::Forbidden);
    }
    require_approved(&detail)?;
    ensure_proposed(state, &detail).await?;
    let at = check_time(state, &detail, at).await?;
    let record = state.store.add_rehearsal(&user.actor(), id, at).await?;
    state.live.session_changed(id, "rehearsal.added");
    state.outbox_wake.notify_one();
    Ok(record)
}

async fn reschedule(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    rehearsal: i64,
    input: &RehearsalInput,
    failed: bool,
) -> Result<RehearsalRecord, AppError> {
    let detail = state.store.session_detail(id).await?;
    if !hosts(state, user, &detail).await? {
        return Err(AppError::Forbidden);
    }
    require_approved(&detail)?;
    let at = check_time(state, &detail, &input.at).await?;
    let mut invalid = Invalid::default();
    let reason = if failed {
        validate::required_text(&mut invalid, "reason", &input.reason, 500)
    } else {
        validate::optional_text(&mut invalid, "reason", &input.reason, 500)
    };
    invalid.finish(|| ())?;
    let record = state
        .store
        .reschedule_rehearsal(&user.actor(), id, rehearsal, at, &reason, failed)
        .await?;
    state.live.session_changed(
        id,
        if failed {
            "rehearsal.rescheduled"
        } else {
            "rehearsal.moved"
        },
    );
    state.outbox_wake.notify_one();
    Ok(record)
}

/// A stored link sample as the domain grades it, aged against `now`.
fn measure_of(sample: &LinkSample, now: jiff::Timestamp) -> LinkMeasure {
    LinkMeasure {
        age_seconds: now.duration_since(sample.at).as_secs(),
        rtt_ms: sample.rtt_ms,
        loss_in: sample.loss_in,
        loss_out: sample.loss_out,
        jitter_ms: sample.jitter_ms,
        bitrate_in: sample.bitrate_in,
    }
}

/// The latest link sample of every endpoint, graded (R-PREP-2).
async fn link_reports(
    state: &AppState,
    session_id: i64,
) -> Result<HashMap<i64, (LinkMeasure, LinkReport)>, AppError> {
    let limits = &state.policy.policy.link_thresholds.value;
    let now = jiff::Timestamp::now();
    let mut reports = HashMap::new();
    for sample in state.store.latest_link_samples(session_id).await? {
        let measure = measure_of(&sample, now);
        let report = grade_link(Some(&measure), limits);
        reports.insert(sample.endpoint_id, (measure, report));
    }
    Ok(reports)
}

async fn record_check(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    endpoint: i64,
    input: &CheckInput,
) -> Result<CheckRecord, AppError> {
    let detail = state.store.session_detail(id).await?;
    let unit = booked(&detail, endpoint)?.unit_id;
    if !operates(state, user, unit).await? {
        return Err(AppError::Forbidden);
    }
    require_approved(&detail)?;
    let entry = CheckEntry::parse(&input.items)?;
    let reports = link_reports(state, id).await?;
    let (measure, report) = match reports.get(&endpoint) {
        Some((measure, report)) => (Some(*measure), report.clone()),
        None => (
            None,
            grade_link(None, &state.policy.policy.link_thresholds.value),
        ),
    };
    let outcome = entry.outcome(report.grade);
    let detail_json = serde_json::json!({ "sample": measure, "reasons": report.reasons });
    let record = state
        .store
        .record_check(
            &user.actor(),
            NewCheck {
                session_id: id,
                endpoint_id: endpoint,
                rehearsal_id: input.rehearsal_id,
                entry: &entry,
                outcome,
                link_grade: report.grade.as_str(),
                link_detail: &detail_json,
            },
        )
        .await?;
    state.live.session_changed(id, "readiness.checked");
    state.outbox_wake.notify_one();
    Ok(record)
}

async fn set_technicians(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    endpoint: i64,
    input: &TechniciansInput,
) -> Result<Vec<DutyTechnician>, AppError> {
    let detail = state.store.session_detail(id).await?;
    let unit = booked(&detail, endpoint)?.unit_id;
    if !(operates(state, user, unit).await? || hosts(state, user, &detail).await?) {
        return Err(AppError::Forbidden);
    }
    require_approved(&detail)?;
    let mut invalid = Invalid::default();
    let mut list = Vec::new();
    for technician in input
        .technicians
        .iter()
        .filter(|t| !(t.name.trim().is_empty() && t.phone.trim().is_empty()))
    {
        let name = validate::required_text(&mut invalid, "technicians", &technician.name, 120);
        let phone = if technician.phone.trim().is_empty() {
            invalid.push(
                "technicians",
                "phone_required",
                Text::new(
                    format!("Hãy nhập số điện thoại của cán bộ kỹ thuật \"{}\" để điểm cầu chủ trì gọi được khi có sự cố.", technician.name.trim()),
                    format!("Enter the phone of technician \"{}\" so the host can call during an incident.", technician.name.trim()),
                ),
            );
            String::new()
        } else {
            validate::phone(&mut invalid, "technicians", &technician.phone)
        };
        list.push((name, phone));
    }
    if list.len() > MAX_TECHNICIANS {
        invalid.push(
            "technicians",
            "too_many",
            Text::new(
                format!("Tối đa {MAX_TECHNICIANS} cán bộ kỹ thuật cho một điểm cầu; hãy ghi những người trực chính."),
                format!("At most {MAX_TECHNICIANS} technicians per endpoint; list those on duty."),
            ),
        );
    }
    invalid.finish(|| ())?;
    let saved = state
        .store
        .set_duty_technicians(&user.actor(), id, endpoint, &list)
        .await?;
    state.live.session_changed(id, "readiness.technicians");
    Ok(saved)
}

// ---------------------------------------------------------------------------------------
// The board (R-PREP-3)
// ---------------------------------------------------------------------------------------

/// One endpoint on the board.
pub struct EndpointLine {
    endpoint_id: i64,
    endpoint_name: String,
    unit_id: i64,
    unit_name: String,
    host: bool,
    state: ReadinessState,
    state_label: &'static str,
    state_class: &'static str,
    link: LinkReport,
    link_label: &'static str,
    link_reasons: Vec<String>,
    in_place: bool,
    overdue: bool,
    not_in_place_late: bool,
    technicians: Vec<DutyTechnician>,
    last_check: Option<CheckRecord>,
    last_check_text: String,
    can_check: bool,
}

/// One deadline on the board.
pub struct DeadlineLine {
    code: &'static str,
    label: String,
    at: DateTime,
    at_text: String,
    countdown: String,
    passed: bool,
    source: String,
}

/// Everything the board shows.
pub struct Board {
    tally: ReadinessTally,
    summary: String,
    deadlines: Vec<DeadlineLine>,
    rehearsals: Vec<RehearsalRecord>,
    lines: Vec<EndpointLine>,
    not_in_place: Vec<String>,
}

fn state_class(state: ReadinessState) -> &'static str {
    match state {
        ReadinessState::Ready => "approved",
        ReadinessState::Fixed => "confirmed",
        ReadinessState::Failed => "refused",
        ReadinessState::Checking => "pending",
        ReadinessState::NotCheckedIn => "draft",
    }
}

async fn board(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    detail: &SessionDetail,
) -> Result<Board, AppError> {
    ensure_proposed(state, detail).await?;
    let id = detail.session.id;
    let registration = &detail.session.registration;
    let now = now();
    let calendar = state.calendar();
    let deadlines: Vec<DeadlineLine> = prep_deadlines(
        &state.policy.policy,
        &calendar,
        registration.starts_at,
        central(state, detail).await?,
    )
    .into_iter()
    .map(|d| DeadlineLine {
        code: d.code,
        label: d.label.get(lang).to_string(),
        at_text: format_date_time(d.at, lang),
        countdown: countdown(now, d.at, lang),
        passed: now > d.at,
        at: d.at,
        source: d.source,
    })
    .collect();
    let ready_by = deadlines.iter().find(|d| d.code == "ready").map(|d| d.at);
    let in_place_by = deadlines
        .iter()
        .find(|d| d.code == "in_place")
        .map(|d| d.at);
    let checks = state.store.checks_for(id).await?;
    let technicians = state.store.duty_technicians(id).await?;
    let links = link_reports(state, id).await?;
    // In the room now: an open presence (the signalling socket is up), which the media
    // server records on join; a fresh link sample says the same for media.
    let present: std::collections::HashSet<i64> = state
        .store
        .presences(id)
        .await?
        .into_iter()
        .filter(|p| p.left_at.is_none())
        .map(|p| p.endpoint_id)
        .collect();
    let limits = &state.policy.policy.link_thresholds.value;
    let mut lines = Vec::new();
    for endpoint in &detail.endpoints {
        let own: Vec<&CheckRecord> = checks
            .iter()
            .filter(|c| c.endpoint_id == endpoint.endpoint_id)
            .collect();
        let link = links.get(&endpoint.endpoint_id);
        let joined = present.contains(&endpoint.endpoint_id)
            || link.is_some_and(|(measure, _)| measure.fresh());
        let mut endpoint_state =
            ReadinessState::fold(own.iter().map(|c| ReadinessEvent::from(c.outcome)));
        if joined {
            endpoint_state = endpoint_state.after(ReadinessEvent::Started);
        }
        let report = link
            .map(|(_, report)| report.clone())
            .unwrap_or_else(|| grade_link(None, limits));
        let last_check = own.last().map(|c| (*c).clone());
        let last_check_text = last_check
            .as_ref()
            .map(|c| {
                let by = c.checked_by.clone().unwrap_or_default();
                format!(
                    "{} — {} {by}",
                    c.outcome.label(lang),
                    format_instant(c.checked_at)
                )
            })
            .unwrap_or_default();
        lines.push(EndpointLine {
            endpoint_id: endpoint.endpoint_id,
            endpoint_name: endpoint.endpoint_name.clone(),
            unit_id: endpoint.unit_id,
            unit_name: endpoint.unit_name.clone(),
            host: endpoint.role == "host",
            state: endpoint_state,
            state_label: endpoint_state.label(lang),
            state_class: state_class(endpoint_state),
            link_label: report.grade.label(lang),
            link_reasons: report
                .reasons
                .iter()
                .map(|r| r.get(lang).to_string())
                .collect(),
            link: report,
            in_place: joined,
            overdue: ready_by.is_some_and(|by| now > by) && !endpoint_state.is_ready(),
            not_in_place_late: in_place_by.is_some_and(|by| now > by) && !joined,
            technicians: technicians
                .iter()
                .filter(|t| t.endpoint_id == endpoint.endpoint_id)
                .cloned()
                .collect(),
            last_check,
            last_check_text,
            can_check: detail.session.status == SessionStatus::Approved
                && operates(state, user, endpoint.unit_id).await?,
        });
    }
    let tally = ReadinessTally::of(lines.iter().map(|l| l.state));
    let not_in_place = lines
        .iter()
        .filter(|l| !l.in_place)
        .map(|l| format!("{} ({})", l.endpoint_name, l.unit_name))
        .collect();
    Ok(Board {
        summary: tally.summary(lang),
        tally,
        deadlines,
        rehearsals: state.store.rehearsals(id).await?,
        lines,
        not_in_place,
    })
}

/// How far ahead the overview looks for upcoming sessions.
const OVERVIEW_DAYS: i64 = 60;

/// One upcoming session on the overview.
pub struct OverviewLine {
    session_id: i64,
    starts_at: DateTime,
    title: String,
    when: String,
    starts_in: String,
    tally: ReadinessTally,
    summary: String,
    overdue: usize,
    not_in_place_late: usize,
}

/// The boards of every upcoming approved session `user` may read, soonest first (R-PREP-3).
async fn overview(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
) -> Result<Vec<OverviewLine>, AppError> {
    user.require(Permission::ScheduleRead)?;
    let now = now();
    let filter = hnth_store::sessions::SessionFilter {
        statuses: vec![SessionStatus::Approved],
        from: Some(now),
        to: Some(now.saturating_add(jiff::Span::new().days(OVERVIEW_DAYS))),
        ..Default::default()
    };
    let upcoming = state
        .store
        .list_sessions(&filter, hnth_store::Page::new(100, 0))
        .await?;
    let mut lines = Vec::new();
    for summary in upcoming.items {
        let detail = state.store.session_detail(summary.session.id).await?;
        match crate::sessions::require_operations_reader(state, user, &detail).await {
            Ok(()) => {}
            Err(AppError::Forbidden) => continue,
            Err(other) => return Err(other),
        }
        let board = board(state, user, lang, &detail).await?;
        let registration = &detail.session.registration;
        lines.push(OverviewLine {
            session_id: detail.session.id,
            starts_at: registration.starts_at,
            title: registration.title.clone(),
            when: crate::sessions::time_range(registration.starts_at, registration.ends_at),
            starts_in: countdown(now, registration.starts_at, lang),
            summary: board.summary,
            overdue: board.lines.iter().filter(|l| l.overdue).count(),
            not_in_place_late: board.lines.iter().filter(|l| l.not_in_place_late).count(),
            tally: board.tally,
        });
    }
    lines.sort_by_key(|l| l.starts_at);
    Ok(lines)
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "readiness_overview.html")]
struct OverviewPage {
    chrome: Chrome,
    lines: Vec<OverviewLine>,
}

async fn overview_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let lines = overview(&state, &user, ctx.lang).await?;
    Ok(render(&OverviewPage {
        chrome: Chrome::new(&user, ctx.lang, "/readiness", "readiness"),
        lines,
    }))
}

/// A rehearsal as the page lists it.
struct RehearsalLine {
    id: i64,
    at: String,
    input_value: String,
    source: String,
    failed: bool,
    note: String,
    replaces: bool,
}

#[derive(Template)]
#[template(path = "readiness.html")]
struct BoardPage {
    chrome: Chrome,
    session_id: i64,
    title: String,
    when: String,
    error: String,
    rehearsals: Vec<RehearsalLine>,
    board: Board,
    can_edit: bool,
    filter_unit: String,
    filter_level: String,
    units: Vec<(i64, String)>,
    levels: Vec<(String, String)>,
}

/// Filters of the board page (R-PREP-3): by unit and by the unit's level.
#[derive(Debug, Default, Deserialize)]
struct BoardFilter {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    level: String,
}

fn input_value(at: DateTime) -> String {
    format!(
        "{} {:02}:{:02}",
        validate::format_date(at.date()),
        at.hour(),
        at.minute()
    )
}

async fn board_page_with(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    filter: BoardFilter,
    error: String,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(state, user, &detail).await?;
    let mut board = board(state, user, lang, &detail).await?;
    let mut levels: Vec<(String, String)> = Vec::new();
    let mut unit_levels = HashMap::new();
    for line in &board.lines {
        let unit = state.store.unit(line.unit_id).await?;
        if !levels.iter().any(|(code, _)| *code == unit.level) {
            let name = state
                .policy
                .policy
                .levels
                .value
                .iter()
                .find(|l| l.code == unit.level)
                .map_or(unit.level.clone(), |l| l.name(lang).to_string());
            levels.push((unit.level.clone(), name));
        }
        unit_levels.insert(line.unit_id, unit.level);
    }
    let mut units: Vec<(i64, String)> = board
        .lines
        .iter()
        .map(|l| (l.unit_id, l.unit_name.clone()))
        .collect();
    units.sort_by(|a, b| hnth_domain::collate::compare(&a.1, &b.1));
    units.dedup();
    if let Ok(unit) = filter.unit.parse::<i64>() {
        board.lines.retain(|l| l.unit_id == unit);
    }
    if !filter.level.is_empty() {
        board
            .lines
            .retain(|l| unit_levels.get(&l.unit_id) == Some(&filter.level));
    }
    board.not_in_place = board
        .lines
        .iter()
        .filter(|l| !l.in_place)
        .map(|l| format!("{} ({})", l.endpoint_name, l.unit_name))
        .collect();
    let rehearsals = board
        .rehearsals
        .iter()
        .map(|r| RehearsalLine {
            id: r.id,
            at: format_date_time(r.at, lang),
            input_value: input_value(r.at),
            source: r.source.clone(),
            failed: r.status == "failed",
            note: r.note.clone(),
            replaces: r.replaces_id.is_some(),
        })
        .collect();
    let registration = &detail.session.registration;
    let page = BoardPage {
        chrome: Chrome::new(user, lang, format!("/sessions/{id}/readiness"), "sessions"),
        session_id: id,
        title: registration.title.clone(),
        when: crate::sessions::time_range(registration.starts_at, registration.ends_at),
        error,
        rehearsals,
        can_edit: detail.session.status == SessionStatus::Approved
            && hosts(state, user, &detail).await?,
        board,
        filter_unit: filter.unit,
        filter_level: filter.level,
        units,
        levels,
    };
    Ok(render(&page))
}

async fn board_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Query(filter): crate::error::Query<BoardFilter>,
) -> Result<Response, AppError> {
    board_page_with(&state, &user, ctx.lang, id, filter, String::new()).await
}

/// Renders the board again with the error when it is the user's to fix.
async fn board_or_error(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    result: Result<(), AppError>,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{id}/readiness")).into_response()),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::BadRequest(_))) => {
            let mut response = board_page_with(
                state,
                user,
                lang,
                id,
                BoardFilter::default(),
                error.message(lang),
            )
            .await?;
            *response.status_mut() = error.status();
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

async fn add_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<RehearsalInput>,
) -> Result<Response, AppError> {
    let result = add_rehearsal(&state, &user, id, &input.at)
        .await
        .map(|_| ());
    board_or_error(&state, &user, ctx.lang, id, result).await
}

async fn move_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, rehearsal)): Path<(i64, i64)>,
    Form(input): Form<RehearsalInput>,
) -> Result<Response, AppError> {
    let result = reschedule(&state, &user, id, rehearsal, &input, false)
        .await
        .map(|_| ());
    board_or_error(&state, &user, ctx.lang, id, result).await
}

async fn reschedule_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, rehearsal)): Path<(i64, i64)>,
    Form(input): Form<RehearsalInput>,
) -> Result<Response, AppError> {
    let result = reschedule(&state, &user, id, rehearsal, &input, true)
        .await
        .map(|_| ());
    board_or_error(&state, &user, ctx.lang, id, result).await
}

/// One item of the phone-sized check form.
struct ItemLine {
    code: &'static str,
    label: &'static str,
    pass: bool,
    fail: bool,
    note: String,
}

#[derive(Template)]
#[template(path = "readiness_endpoint.html")]
struct EndpointPage {
    chrome: Chrome,
    session_id: i64,
    title: String,
    endpoint_id: i64,
    endpoint_name: String,
    unit_name: String,
    error: String,
    state_label: &'static str,
    state_class: &'static str,
    link_label: &'static str,
    link_reasons: Vec<String>,
    items: Vec<ItemLine>,
    rehearsals: Vec<(i64, String, bool)>,
    technicians: Vec<(String, String)>,
    history: Vec<String>,
}

async fn endpoint_page_with(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    endpoint: i64,
    error: String,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    let booked = booked(&detail, endpoint)?.clone();
    if !operates(state, user, booked.unit_id).await? {
        return Err(AppError::Forbidden);
    }
    let board = board(state, user, lang, &detail).await?;
    let line = board
        .lines
        .iter()
        .find(|l| l.endpoint_id == endpoint)
        .ok_or(AppError::NotFound("endpoint"))?;
    let last = line.last_check.as_ref();
    let items = CheckItem::ALL
        .iter()
        .map(|item| {
            let found = last.and_then(|c| c.items.iter().find(|(i, ..)| i == item));
            ItemLine {
                code: item.as_str(),
                label: item.label(lang),
                pass: found.is_some_and(|(_, pass, _)| *pass),
                fail: found.is_some_and(|(_, pass, _)| !*pass),
                note: found.map(|(.., note)| note.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let now = now();
    let next = board
        .rehearsals
        .iter()
        .filter(|r| r.status == "planned")
        // The nearest in either direction: an operator checks during a rehearsal that has
        // just begun as often as just before one.
        .min_by_key(|r| r.at.duration_since(now).as_secs().abs())
        .map(|r| r.id);
    let rehearsals = board
        .rehearsals
        .iter()
        .filter(|r| r.status == "planned")
        .map(|r| (r.id, format_date_time(r.at, lang), Some(r.id) == next))
        .collect();
    let mut technicians: Vec<(String, String)> = line
        .technicians
        .iter()
        .map(|t| (t.name.clone(), t.phone.clone()))
        .collect();
    technicians.resize(technicians.len().max(2), (String::new(), String::new()));
    let history = state
        .store
        .checks_for(id)
        .await?
        .iter()
        .filter(|c| c.endpoint_id == endpoint)
        .rev()
        .map(|c| {
            format!(
                "{} — {} ({}) {}",
                format_instant(c.checked_at),
                c.outcome.label(lang),
                c.link_grade,
                c.checked_by.clone().unwrap_or_default()
            )
        })
        .collect();
    let page = EndpointPage {
        chrome: Chrome::new(
            user,
            lang,
            format!("/sessions/{id}/readiness/{endpoint}"),
            "sessions",
        ),
        session_id: id,
        title: detail.session.registration.title.clone(),
        endpoint_id: endpoint,
        endpoint_name: booked.endpoint_name.clone(),
        unit_name: booked.unit_name.clone(),
        error,
        state_label: line.state_label,
        state_class: line.state_class,
        link_label: line.link_label,
        link_reasons: line.link_reasons.clone(),
        items,
        rehearsals,
        technicians,
        history,
    };
    Ok(render(&page))
}

async fn endpoint_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, endpoint)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    endpoint_page_with(&state, &user, ctx.lang, id, endpoint, String::new()).await
}

async fn endpoint_or_error(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    endpoint: i64,
    result: Result<(), AppError>,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{id}/readiness/{endpoint}")).into_response()),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::BadRequest(_))) => {
            let mut response =
                endpoint_page_with(state, user, lang, id, endpoint, error.message(lang)).await?;
            *response.status_mut() = error.status();
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

async fn check_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, endpoint)): Path<(i64, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let items = CheckItem::ALL
        .iter()
        .map(|item| ItemForm {
            item: item.as_str().to_string(),
            result: form
                .get(&format!("result_{}", item.as_str()))
                .cloned()
                .unwrap_or_default(),
            note: form
                .get(&format!("note_{}", item.as_str()))
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    let input = CheckInput {
        rehearsal_id: form
            .get("rehearsal_id")
            .and_then(|v| v.trim().parse::<i64>().ok()),
        items,
    };
    let result = record_check(&state, &user, id, endpoint, &input)
        .await
        .map(|_| ());
    endpoint_or_error(&state, &user, ctx.lang, id, endpoint, result).await
}

async fn technicians_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path((id, endpoint)): Path<(i64, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let technicians = (1..=MAX_TECHNICIANS)
        .map(|n| TechnicianInput {
            name: form.get(&format!("name_{n}")).cloned().unwrap_or_default(),
            phone: form.get(&format!("phone_{n}")).cloned().unwrap_or_default(),
        })
        .collect();
    let result = set_technicians(
        &state,
        &user,
        id,
        endpoint,
        &TechniciansInput { technicians },
    )
    .await
    .map(|_| ());
    endpoint_or_error(&state, &user, ctx.lang, id, endpoint, result).await
}

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

/// A rehearsal.
#[derive(Debug, Serialize, ToSchema)]
pub struct RehearsalDto {
    /// Id.
    pub id: i64,
    /// Local time in Vietnam, ISO 8601 without offset (`2026-05-14T08:00:00`).
    pub at: String,
    /// Where the time comes from: a seed article, `registration` or `host`.
    pub source: String,
    /// `planned` or `failed`.
    pub status: String,
    /// Why it failed or moved.
    pub note: String,
    /// The failed rehearsal this one replaces.
    pub replaces_id: Option<i64>,
    /// Who last set it.
    pub updated_by: Option<String>,
}

impl From<&RehearsalRecord> for RehearsalDto {
    fn from(record: &RehearsalRecord) -> RehearsalDto {
        RehearsalDto {
            id: record.id,
            at: record.at.to_string(),
            source: record.source.clone(),
            status: record.status.clone(),
            note: record.note.clone(),
            replaces_id: record.replaces_id,
            updated_by: record.updated_by.clone(),
        }
    }
}

/// A rehearsal time to set, with the reason (required when a failed rehearsal is set again).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RehearsalInput {
    /// `dd/mm/yyyy HH:MM` or `yyyy-mm-ddTHH:MM`, local time.
    #[serde(default)]
    pub at: String,
    /// Why (what failed, or why it moves).
    #[serde(default)]
    pub reason: String,
}

/// One item of a readiness check, as sent.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemInput {
    /// `power`, `backup_power`, `network`, `terminal`, `audio`, `video` or `lighting`.
    pub item: String,
    /// `pass` or `fail` (empty: not checked yet).
    #[serde(default)]
    pub result: String,
    /// What was seen; required for a failure.
    #[serde(default)]
    pub note: String,
}

/// A readiness check of one endpoint.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckInput {
    /// The rehearsal it belongs to.
    #[serde(default)]
    pub rehearsal_id: Option<i64>,
    /// The items checked (all seven for a complete check).
    #[schema(value_type = Vec<ItemInput>)]
    pub items: Vec<ItemForm>,
}

/// A saved check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckDto {
    /// Id.
    pub id: i64,
    /// The endpoint.
    pub endpoint_id: i64,
    /// The rehearsal.
    pub rehearsal_id: Option<i64>,
    /// `in_progress`, `passed` or `failed`.
    pub outcome: String,
    /// `not_measured`, `good`, `degraded` or `poor`, when saved.
    pub link_grade: String,
    /// The sample graded and the reasons.
    #[schema(value_type = Object)]
    pub link_detail: serde_json::Value,
    /// The items.
    pub items: Vec<ItemDto>,
    /// Who saved it.
    pub checked_by: Option<String>,
    /// RFC 3339.
    pub checked_at: String,
}

/// One checked item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDto {
    /// The item's code.
    pub item: String,
    /// Whether it works.
    pub pass: bool,
    /// The note.
    pub note: String,
}

impl From<&CheckRecord> for CheckDto {
    fn from(record: &CheckRecord) -> CheckDto {
        CheckDto {
            id: record.id,
            endpoint_id: record.endpoint_id,
            rehearsal_id: record.rehearsal_id,
            outcome: record.outcome.as_str().to_string(),
            link_grade: record.link_grade.clone(),
            link_detail: record.link_detail.clone(),
            items: record
                .items
                .iter()
                .map(|(item, pass, note)| ItemDto {
                    item: item.as_str().to_string(),
                    pass: *pass,
                    note: note.clone(),
                })
                .collect(),
            checked_by: record.checked_by.clone(),
            checked_at: record.checked_at.to_string(),
        }
    }
}

/// A technician on duty.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TechnicianInput {
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
}

/// The technicians on duty at one endpoint (replaces the list).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TechniciansInput {
    /// Everyone on duty; an empty list clears it.
    #[serde(default)]
    pub technicians: Vec<TechnicianInput>,
}

/// One deadline of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineDto {
    /// `connected`, `ready` or `in_place`.
    pub code: String,
    /// What must be done.
    pub label: String,
    /// Local time, ISO 8601.
    pub at: String,
    /// "còn 1 giờ 05 phút" / "12 min overdue".
    pub countdown: String,
    /// Whether it has passed.
    pub passed: bool,
    /// The article.
    pub source: String,
}

/// One endpoint of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointReadinessDto {
    /// The endpoint.
    pub endpoint_id: i64,
    /// Its name.
    pub endpoint_name: String,
    /// Its unit.
    pub unit_id: i64,
    /// The unit's name.
    pub unit_name: String,
    /// The host endpoint.
    pub host: bool,
    /// `not_checked_in`, `checking`, `ready`, `failed` or `fixed`.
    pub state: String,
    /// The state in words.
    pub state_label: String,
    /// The live link grade.
    pub link_grade: String,
    /// What is wrong with the link, and what to do.
    pub link_reasons: Vec<String>,
    /// Joined the room now (participants in place, R-PREP-6).
    pub in_place: bool,
    /// Not ready after the ready deadline.
    pub overdue: bool,
    /// Not in place after the in-place deadline.
    pub not_in_place_late: bool,
    /// Technicians on duty.
    pub technicians: Vec<TechnicianInput>,
    /// The latest check.
    pub last_check: Option<CheckDto>,
}

/// The readiness board of a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardDto {
    /// "92/95 sẵn sàng, 2 lỗi, 1 chưa kiểm tra".
    pub summary: String,
    /// Endpoints in all.
    pub total: usize,
    /// Ready or fixed and re-tested.
    pub ready: usize,
    /// Failed.
    pub failed: usize,
    /// Checking.
    pub checking: usize,
    /// Not checked in.
    pub not_checked_in: usize,
    /// The deadlines, in order.
    pub deadlines: Vec<DeadlineDto>,
    /// The rehearsals.
    pub rehearsals: Vec<RehearsalDto>,
    /// Every booked endpoint, the host's first.
    pub endpoints: Vec<EndpointReadinessDto>,
    /// Endpoints not joined now (R-PREP-6).
    pub not_in_place: Vec<String>,
}

fn board_dto(board: Board) -> BoardDto {
    BoardDto {
        summary: board.summary,
        total: board.tally.total,
        ready: board.tally.ready,
        failed: board.tally.failed,
        checking: board.tally.checking,
        not_checked_in: board.tally.not_checked_in,
        deadlines: board
            .deadlines
            .into_iter()
            .map(|d| DeadlineDto {
                code: d.code.to_string(),
                label: d.label,
                at: d.at.to_string(),
                countdown: d.countdown,
                passed: d.passed,
                source: d.source,
            })
            .collect(),
        rehearsals: board.rehearsals.iter().map(RehearsalDto::from).collect(),
        endpoints: board
            .lines
            .into_iter()
            .map(|l| EndpointReadinessDto {
                endpoint_id: l.endpoint_id,
                endpoint_name: l.endpoint_name,
                unit_id: l.unit_id,
                unit_name: l.unit_name,
                host: l.host,
                state: l.state.as_str().to_string(),
                state_label: l.state_label.to_string(),
                link_grade: l.link.grade.as_str().to_string(),
                link_reasons: l.link_reasons,
                in_place: l.in_place,
                overdue: l.overdue,
                not_in_place_late: l.not_in_place_late,
                technicians: l
                    .technicians
                    .into_iter()
                    .map(|t| TechnicianInput {
                        name: t.name,
                        phone: t.phone,
                    })
                    .collect(),
                last_check: l.last_check.as_ref().map(CheckDto::from),
            })
            .collect(),
        not_in_place: board.not_in_place,
    }
}

/// The rehearsals of a session; an approved session's first look writes the profile's
/// proposal (R-PREP-1).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/rehearsals", tag = "readiness", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RehearsalDto>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_list_rehearsals(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<RehearsalDto>>, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(&state, &user, &detail).await?;
    ensure_proposed(&state, &detail).await?;
    let rehearsals = state.store.rehearsals(id).await?;
    Ok(Json(rehearsals.iter().map(RehearsalDto::from).collect()))
}

/// Add a rehearsal (host unit); the invited units are told.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/rehearsals", tag = "readiness", params(("id" = i64, Path)),
    request_body = RehearsalInput,
    responses((status = 201, body = RehearsalDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_add_rehearsal(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<RehearsalInput>,
) -> Result<Response, AppError> {
    let record = add_rehearsal(&state, &user, id, &input.at).await?;
    Ok((StatusCode::CREATED, Json(RehearsalDto::from(&record))).into_response())
}

/// Move a planned rehearsal (host unit); the invited units are told.
#[utoipa::path(put, path = "/api/v1/sessions/{id}/rehearsals/{rehearsal}", tag = "readiness",
    params(("id" = i64, Path), ("rehearsal" = i64, Path)), request_body = RehearsalInput,
    responses((status = 200, body = RehearsalDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_move_rehearsal(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, rehearsal)): Path<(i64, i64)>,
    crate::error::Json(input): crate::error::Json<RehearsalInput>,
) -> Result<Json<RehearsalDto>, AppError> {
    let record = reschedule(&state, &user, id, rehearsal, &input, false).await?;
    Ok(Json(RehearsalDto::from(&record)))
}

/// Mark a rehearsal failed and set a new time (R-PREP-5); every invited unit is told. The
/// reason is required.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/rehearsals/{rehearsal}/reschedule", tag = "readiness",
    params(("id" = i64, Path), ("rehearsal" = i64, Path)), request_body = RehearsalInput,
    responses((status = 201, body = RehearsalDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_reschedule_rehearsal(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, rehearsal)): Path<(i64, i64)>,
    crate::error::Json(input): crate::error::Json<RehearsalInput>,
) -> Result<Response, AppError> {
    let record = reschedule(&state, &user, id, rehearsal, &input, true).await?;
    Ok((StatusCode::CREATED, Json(RehearsalDto::from(&record))).into_response())
}

/// The readiness board (R-PREP-3, R-PREP-6).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/readiness", tag = "readiness", params(("id" = i64, Path)),
    responses((status = 200, body = BoardDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_board(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<BoardDto>, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(&state, &user, &detail).await?;
    let board = board(&state, &user, ctx.lang, &detail).await?;
    Ok(Json(board_dto(board)))
}

/// One upcoming session on the overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewDto {
    /// The session.
    pub session_id: i64,
    /// Its title.
    pub title: String,
    /// `dd/mm/yyyy HH:MM–HH:MM`.
    pub when: String,
    /// The board's summary line.
    pub summary: String,
    /// Endpoints in all.
    pub total: usize,
    /// Ready or fixed and re-tested.
    pub ready: usize,
    /// Failed.
    pub failed: usize,
    /// Not ready after the ready deadline.
    pub overdue: usize,
    /// Not in place after the in-place deadline.
    pub not_in_place_late: usize,
}

/// The readiness of every upcoming approved session the caller may read (next 60 days),
/// soonest first (R-PREP-3).
#[utoipa::path(get, path = "/api/v1/readiness", tag = "readiness",
    responses((status = 200, body = Vec<OverviewDto>), (status = 403, body = ErrorBody)))]
async fn api_overview(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Json<Vec<OverviewDto>>, AppError> {
    let lines = overview(&state, &user, ctx.lang).await?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| OverviewDto {
                session_id: l.session_id,
                title: l.title,
                when: l.when,
                summary: l.summary,
                total: l.tally.total,
                ready: l.tally.ready,
                failed: l.tally.failed,
                overdue: l.overdue,
                not_in_place_late: l.not_in_place_late,
            })
            .collect(),
    ))
}

/// Save a readiness check of an endpoint (its operator); the link grade is taken from the
/// media server's latest sample (R-PREP-2). A failed check tells the host unit.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/readiness/{endpoint}/checks", tag = "readiness",
    params(("id" = i64, Path), ("endpoint" = i64, Path)), request_body = CheckInput,
    responses((status = 201, body = CheckDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_record_check(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, endpoint)): Path<(i64, i64)>,
    crate::error::Json(input): crate::error::Json<CheckInput>,
) -> Result<Response, AppError> {
    let record = record_check(&state, &user, id, endpoint, &input).await?;
    Ok((StatusCode::CREATED, Json(CheckDto::from(&record))).into_response())
}

/// Record the technicians on duty at an endpoint for the session (R-PREP-4): the endpoint's
/// operator or the host unit.
#[utoipa::path(put, path = "/api/v1/sessions/{id}/readiness/{endpoint}/technicians", tag = "readiness",
    params(("id" = i64, Path), ("endpoint" = i64, Path)), request_body = TechniciansInput,
    responses((status = 200, body = Vec<TechnicianInput>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_set_technicians(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, endpoint)): Path<(i64, i64)>,
    crate::error::Json(input): crate::error::Json<TechniciansInput>,
) -> Result<Json<Vec<TechnicianInput>>, AppError> {
    let saved = set_technicians(&state, &user, id, endpoint, &input).await?;
    Ok(Json(
        saved
            .into_iter()
            .map(|t| TechnicianInput {
                name: t.name,
                phone: t.phone,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hnth_domain::policy::LoadedPolicy;
    use hnth_domain::session::readiness::LinkGrade;

    fn sample(at: jiff::Timestamp, loss_out: f64) -> LinkSample {
        LinkSample {
            endpoint_id: 7,
            at,
            rtt_ms: Some(35.0),
            loss_in: Some(0.0),
            loss_out: Some(loss_out),
            jitter_ms: Some(4.0),
            bitrate_in: 1_200_000,
            bitrate_out: 2_400_000,
        }
    }

    #[test]
    fn r_prep_2_a_stored_sample_is_graded_by_its_values_and_its_age() {
        let limits = LoadedPolicy::load("thanh-hoa", &toml::Table::new())
            .unwrap()
            .policy
            .link_thresholds
            .value;
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let recent = now - jiff::SignedDuration::from_secs(4);
        let good = measure_of(&sample(recent, 0.0), now);
        assert_eq!(good.age_seconds, 4);
        assert_eq!(grade_link(Some(&good), &limits).grade, LinkGrade::Good);
        // Loss towards the endpoint counts as much as loss from it.
        let lossy = measure_of(&sample(recent, 0.06), now);
        assert_eq!(grade_link(Some(&lossy), &limits).grade, LinkGrade::Poor);
        // The endpoint left a minute ago: not measured now, not in place.
        let old = measure_of(&sample(now - jiff::SignedDuration::from_secs(60), 0.0), now);
        assert!(!old.fresh());
        assert_eq!(
            grade_link(Some(&old), &limits).grade,
            LinkGrade::NotMeasured
        );
    }
}
