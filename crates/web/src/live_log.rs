//! The log of a live session, in pages and the API: incidents reported by people or opened
//! by the media server, their handlers and resolutions (R-LIVE-6), and the attendance of
//! every booked endpoint judged against its times and its unit's answer (R-LIVE-8, R-PREP-6),
//! exportable as CSV.
//!
//! Who may do what: anyone involved in the session reads the log; an endpoint's operator
//! (`ConferenceJoin` on its unit), the host unit's registrars and the MCU operator report an
//! incident; the same, for the incident's endpoint, resolve it.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::Permission;
use hnth_domain::session::attendance::{judge, Attendance, Presence};
use hnth_domain::session::checks::deadline;
use hnth_domain::session::incident::{IncidentHandler, IncidentKind};
use hnth_store::live_log::{ClosingCheck, Closure, IncidentRecord, NewIncident};
use hnth_store::sessions::{local, SessionDetail};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Path};
use crate::pages::Chrome;
use crate::sessions::{allowed_on, require_visible, time_range};
use crate::{format_instant, now_local, render, AppState, Ctx, CurrentUser};

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/log", get(log_page))
        .route("/sessions/{id}/incidents", post(report_page))
        .route("/incidents/{id}/resolve", post(resolve_page))
        .route("/sessions/{id}/attendance.csv", get(attendance_csv))
        .route("/sessions/{id}/closing", post(closing_page))
        .route("/sessions/{id}/close", post(close_page))
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_incidents, api_report))
        .routes(routes!(api_resolve))
        .routes(routes!(api_attendance))
        .routes(routes!(api_closing))
        .routes(routes!(api_confirm_closing))
        .routes(routes!(api_close))
}

// ---------------------------------------------------------------------------------------
// Rules shared by pages and the API
// ---------------------------------------------------------------------------------------

/// Whether `user` may report or resolve for `endpoint_id` (or the session as a whole).
async fn may_act(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
    endpoint_id: Option<i64>,
) -> Result<bool, AppError> {
    if user.can(Permission::LiveControl)
        || allowed_on(
            state,
            user,
            Permission::SessionRegister,
            detail.session.registration.host_unit_id,
        )
        .await?
    {
        return Ok(true);
    }
    let Some(endpoint_id) = endpoint_id else {
        return Ok(false);
    };
    match detail
        .endpoints
        .iter()
        .find(|e| e.endpoint_id == endpoint_id)
    {
        Some(booked) => allowed_on(state, user, Permission::ConferenceJoin, booked.unit_id).await,
        None => Ok(false),
    }
}

/// An incident as reported (form or JSON).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct IncidentInput {
    /// The endpoint concerned (empty: the session as a whole).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub endpoint_id: Option<i64>,
    /// `lost_connection`, `poor_audio`, `poor_video`, `power`, `network`, `other`.
    pub kind: String,
    /// `operating_unit`, `carrier`, `power_company`; default by kind.
    #[serde(default)]
    pub handler: String,
    /// What happened.
    #[serde(default)]
    pub description: String,
    /// When the handler expects it fixed, `HH:MM` today (local time).
    #[serde(default)]
    pub estimated_fix: String,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }
    match Option::<Either>::deserialize(d)? {
        None => Ok(None),
        Some(Either::Number(n)) => Ok(Some(n)),
        Some(Either::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Either::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

fn parse_incident(input: &IncidentInput, session_id: i64) -> Result<NewIncident, AppError> {
    let mut invalid = hnth_domain::validate::Invalid::default();
    let kind = IncidentKind::parse(&input.kind);
    if kind.is_none() {
        invalid.push(
            "kind",
            "invalid",
            Text::new(
                "Hãy chọn loại sự cố.",
                "Choose what kind of incident it is.",
            ),
        );
    }
    let handler = if input.handler.trim().is_empty() {
        kind.map(IncidentKind::default_handler)
    } else {
        let handler = IncidentHandler::parse(&input.handler);
        if handler.is_none() {
            invalid.push(
                "handler",
                "invalid",
                Text::new(
                    "Đơn vị xử lý phải là đơn vị vận hành, doanh nghiệp viễn thông hoặc công ty điện lực.",
                    "The handler is the operating unit, the carrier or the power company.",
                ),
            );
        }
        handler
    };
    let estimated_fix_at = if input.estimated_fix.trim().is_empty() {
        None
    } else {
        match input.estimated_fix.trim().parse::<jiff::civil::Time>() {
            Ok(time) => now_local()
                .date()
                .to_datetime(time)
                .to_zoned(hnth_store::sessions::zone())
                .ok()
                .map(|z| z.timestamp()),
            Err(_) => {
                invalid.push(
                    "estimated_fix",
                    "invalid_time",
                    Text::new(
                        "Giờ dự kiến khắc phục phải có dạng HH:MM, ví dụ 09:45.",
                        "The estimated fix time is HH:MM, e.g. 09:45.",
                    ),
                );
                None
            }
        }
    };
    if input.description.chars().count() > 2000 {
        invalid.push(
            "description",
            "too_long",
            Text::new(
                "Mô tả dài quá 2000 ký tự; hãy viết ngắn gọn.",
                "The description is over 2000 characters; keep it short.",
            ),
        );
    }
    let (Some(kind), Some(handler)) = (kind, handler) else {
        return Err(AppError::Invalid(invalid));
    };
    invalid
        .finish(|| NewIncident {
            session_id,
            endpoint_id: input.endpoint_id,
            kind,
            description: input.description.trim().to_string(),
            handler,
            automatic: false,
            estimated_fix_at,
        })
        .map_err(AppError::Invalid)
}

async fn report(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &IncidentInput,
) -> Result<IncidentRecord, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_visible(state, user, &detail).await?;
    if let Some(endpoint) = input.endpoint_id {
        if !detail.endpoints.iter().any(|e| e.endpoint_id == endpoint) {
            return Err(AppError::Invalid(hnth_domain::validate::Invalid::one(
                "endpoint_id",
                "not_in_session",
                Text::new(
                    "Điểm cầu này không thuộc phiên họp.",
                    "This endpoint is not part of the session.",
                ),
            )));
        }
    }
    if !may_act(state, user, &detail, input.endpoint_id).await? {
        return Err(AppError::Forbidden);
    }
    let new = parse_incident(input, id)?;
    let record = state.store.open_incident(&user.actor(), &new).await?;
    state.outbox_wake.notify_one();
    state.live.session_changed(id, "incident.opened");
    Ok(record)
}

async fn resolve(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    resolution: &str,
) -> Result<IncidentRecord, AppError> {
    let incident = state.store.incident(id).await?;
    let detail = state.store.session_detail(incident.session_id).await?;
    if !may_act(state, user, &detail, incident.endpoint_id).await? {
        return Err(AppError::Forbidden);
    }
    if resolution.trim().is_empty() {
        return Err(AppError::Invalid(hnth_domain::validate::Invalid::one(
            "resolution",
            "required",
            Text::new(
                "Hãy ghi cách đã khắc phục sự cố.",
                "Write how the incident was fixed.",
            ),
        )));
    }
    let record = state
        .store
        .resolve_incident(&user.actor(), id, resolution.trim())
        .await?;
    state.outbox_wake.notify_one();
    state
        .live
        .session_changed(incident.session_id, "incident.resolved");
    Ok(record)
}

/// One booked endpoint's attendance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceDto {
    /// The endpoint.
    pub endpoint_id: i64,
    /// Its name.
    pub endpoint_name: String,
    /// Its unit.
    pub unit_name: String,
    /// `host` or `member`.
    pub role: String,
    /// The invitation's answer: `confirmed`, `declined`, `pending` (none for the host).
    pub answer: Option<String>,
    /// `not_yet`, `on_time`, `late`, `left_early`, `late_and_left_early`, `absent`, `excused`.
    pub verdict: String,
    /// The verdict in the reader's language.
    pub verdict_label: String,
    /// First join, local `dd/mm/yyyy HH:MM`.
    pub first_joined: Option<String>,
    /// Last leave, when out now.
    pub last_left: Option<String>,
    /// Minutes connected within the session's times.
    pub minutes_in_session: i64,
    /// Times it dropped out of the session.
    pub connections_lost: usize,
    /// Why, in words.
    pub note: String,
}

async fn attendance(
    state: &AppState,
    detail: &SessionDetail,
    lang: Lang,
) -> Result<Vec<AttendanceDto>, AppError> {
    let presences = state.store.presences(detail.session.id).await?;
    let registration = &detail.session.registration;
    let calendar = state.calendar();
    let in_place_by = deadline(
        state.policy.policy.participants_in_place_before.value,
        registration.starts_at,
        &calendar,
    );
    let now = now_local().datetime();
    let format = |at: jiff::civil::DateTime| hnth_domain::session::format_date_time(at, lang);
    Ok(detail
        .endpoints
        .iter()
        .map(|booked| {
            let own: Vec<_> = presences
                .iter()
                .filter(|p| p.endpoint_id == booked.endpoint_id)
                .collect();
            let intervals: Vec<Presence> = own
                .iter()
                .map(|p| Presence {
                    joined: local(p.joined_at),
                    left: p.left_at.map(local),
                })
                .collect();
            let answer = detail
                .invitations
                .iter()
                .find(|i| i.endpoint_id == booked.endpoint_id)
                .map(|i| i.status.clone());
            let judged: Attendance = judge(
                &intervals,
                registration.starts_at,
                registration.ends_at,
                in_place_by,
                answer.as_deref() == Some("declined"),
                now,
            );
            AttendanceDto {
                endpoint_id: booked.endpoint_id,
                endpoint_name: booked.endpoint_name.clone(),
                unit_name: booked.unit_name.clone(),
                role: booked.role.clone(),
                answer,
                verdict: serde_json::to_value(judged.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                verdict_label: judged.verdict.label(lang).to_string(),
                first_joined: judged.first_joined.map(format),
                last_left: judged.last_left.map(format),
                minutes_in_session: judged.minutes_in_session,
                connections_lost: own
                    .iter()
                    .filter(|p| p.how_left.as_deref() == Some("lost"))
                    .count(),
                note: judged.note.get(lang).to_string(),
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/// An incident as the page lists it.
struct IncidentLine {
    record: IncidentRecord,
    kind: &'static str,
    handler: &'static str,
    opened: String,
    estimated: String,
    resolved: String,
    can_resolve: bool,
}

#[derive(Template)]
#[template(path = "session_log.html")]
struct LogPage {
    chrome: Chrome,
    id: i64,
    title: String,
    when: String,
    error: String,
    incidents: Vec<IncidentLine>,
    attendance: Vec<AttendanceDto>,
    can_report: bool,
    endpoints: Vec<(i64, String)>,
    closing: ClosingDto,
    can_close: bool,
    kinds: Vec<(&'static str, &'static str)>,
    handlers: Vec<(&'static str, &'static str)>,
    w: &'static Words,
}

struct Words {
    title: &'static str,
    incidents: &'static str,
    none: &'static str,
    kind: &'static str,
    endpoint: &'static str,
    handler: &'static str,
    description: &'static str,
    opened: &'static str,
    estimated: &'static str,
    resolved: &'static str,
    resolution: &'static str,
    resolve: &'static str,
    report: &'static str,
    whole_session: &'static str,
    automatic: &'static str,
    attendance: &'static str,
    answer: &'static str,
    verdict: &'static str,
    first_joined: &'static str,
    last_left: &'static str,
    minutes: &'static str,
    lost: &'static str,
    export: &'static str,
    open: &'static str,
    closing: &'static str,
    closing_help: &'static str,
    system_checked: &'static str,
    terminals_off: &'static str,
    power_cut: &'static str,
    confirm: &'static str,
    close: &'static str,
    closed: &'static str,
    missing: &'static str,
    done: &'static str,
    not_done: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    const VI: Words = Words {
        title: "Nhật ký phiên họp",
        incidents: "Sự cố",
        none: "Chưa có sự cố nào.",
        kind: "Loại sự cố",
        endpoint: "Điểm cầu",
        handler: "Đơn vị xử lý",
        description: "Mô tả",
        opened: "Lúc xảy ra",
        estimated: "Dự kiến khắc phục (HH:MM)",
        resolved: "Đã khắc phục",
        resolution: "Cách khắc phục",
        resolve: "Ghi nhận đã khắc phục",
        report: "Báo sự cố",
        whole_session: "Cả phiên họp",
        automatic: "Tự động",
        attendance: "Tham dự",
        answer: "Trả lời giấy mời",
        verdict: "Đánh giá",
        first_joined: "Vào lúc",
        last_left: "Rời lúc",
        minutes: "Số phút",
        lost: "Số lần mất kết nối",
        export: "Xuất CSV",
        open: "Đang xử lý",
        closing: "Kết thúc phiên họp",
        closing_help: "Mỗi điểm cầu xác nhận: đã kiểm tra hệ thống, tắt thiết bị đầu cuối, ngắt nguồn điện. Phiên họp đóng lại khi tất cả đã xác nhận, hoặc khi cán bộ điều khiển đóng và ghi lại điểm cầu còn thiếu.",
        system_checked: "Đã kiểm tra hệ thống",
        terminals_off: "Đã tắt thiết bị đầu cuối",
        power_cut: "Đã ngắt nguồn điện",
        confirm: "Xác nhận",
        close: "Đóng phiên họp",
        closed: "Đã đóng lúc",
        missing: "Chưa xác nhận",
        done: "Đã xác nhận",
        not_done: "Chưa xác nhận",
    };
    const EN: Words = Words {
        title: "Session log",
        incidents: "Incidents",
        none: "No incident so far.",
        kind: "Kind",
        endpoint: "Endpoint",
        handler: "Handled by",
        description: "Description",
        opened: "When",
        estimated: "Expected fix (HH:MM)",
        resolved: "Resolved",
        resolution: "How it was fixed",
        resolve: "Mark as fixed",
        report: "Report an incident",
        whole_session: "The whole session",
        automatic: "Automatic",
        attendance: "Attendance",
        answer: "Invitation answer",
        verdict: "Verdict",
        first_joined: "Joined",
        last_left: "Left",
        minutes: "Minutes",
        lost: "Connections lost",
        export: "Export CSV",
        open: "Open",
        closing: "Closing",
        closing_help: "Each endpoint confirms: system checked, terminals off, power cut. The session is closed when all have, or when the operator closes it with the missing ones listed.",
        system_checked: "System checked",
        terminals_off: "Terminals off",
        power_cut: "Power cut",
        confirm: "Confirm",
        close: "Close the session",
        closed: "Closed at",
        missing: "Not confirmed",
        done: "Confirmed",
        not_done: "Not confirmed",
    };
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

async fn log_page_with(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    error: String,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(state, user, &detail).await?;
    let mut incidents = Vec::new();
    for record in state.store.incidents_for(id).await? {
        let can_resolve = record.resolved_at.is_none()
            && may_act(state, user, &detail, record.endpoint_id).await?;
        incidents.push(IncidentLine {
            kind: record.kind.label(lang),
            handler: record.handler.label(lang),
            opened: format_instant(record.opened_at),
            estimated: record
                .estimated_fix_at
                .map(format_instant)
                .unwrap_or_default(),
            resolved: record.resolved_at.map(format_instant).unwrap_or_default(),
            can_resolve,
            record,
        });
    }
    let mut endpoints = Vec::new();
    for booked in &detail.endpoints {
        if may_act(state, user, &detail, Some(booked.endpoint_id)).await? {
            endpoints.push((booked.endpoint_id, booked.endpoint_name.clone()));
        }
    }
    let r = &detail.session.registration;
    Ok(render(&LogPage {
        chrome: Chrome::new(user, lang, format!("/sessions/{id}/log"), "sessions"),
        id,
        title: r.title.clone(),
        when: time_range(r.starts_at, r.ends_at),
        error,
        incidents,
        attendance: attendance(state, &detail, lang).await?,
        can_report: !endpoints.is_empty(),
        endpoints,
        closing: closing_view(state, user, &detail).await?,
        can_close: may_act(state, user, &detail, None).await?,
        kinds: IncidentKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(lang)))
            .collect(),
        handlers: IncidentHandler::ALL
            .iter()
            .map(|h| (h.as_str(), h.label(lang)))
            .collect(),
        w: words(lang),
    }))
}

async fn log_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    log_page_with(&state, &user, ctx.lang, id, String::new()).await
}

async fn report_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Form(input): crate::error::Form<IncidentInput>,
) -> Result<Response, AppError> {
    match report(&state, &user, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}/log")).into_response()),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let mut page =
                log_page_with(&state, &user, ctx.lang, id, error.message(ctx.lang)).await?;
            *page.status_mut() = error.status();
            Ok(page)
        }
        Err(other) => Err(other),
    }
}

/// What the resolve form posts.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveInput {
    /// How it was fixed.
    #[serde(default)]
    pub resolution: String,
}

async fn resolve_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Form(input): crate::error::Form<ResolveInput>,
) -> Result<Response, AppError> {
    let incident = state.store.incident(id).await?;
    match resolve(&state, &user, id, &input.resolution).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/sessions/{}/log", incident.session_id)).into_response())
        }
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let mut page = log_page_with(
                &state,
                &user,
                ctx.lang,
                incident.session_id,
                error.message(ctx.lang),
            )
            .await?;
            *page.status_mut() = error.status();
            Ok(page)
        }
        Err(other) => Err(other),
    }
}

async fn attendance_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(&state, &user, &detail).await?;
    let w = words(ctx.lang);
    let rows = attendance(&state, &detail, ctx.lang).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |_| AppError::Internal;
    writer
        .write_record([
            w.endpoint,
            "Đơn vị / Unit",
            w.answer,
            w.verdict,
            w.first_joined,
            w.last_left,
            w.minutes,
            w.lost,
            w.description,
        ])
        .map_err(csv_error)?;
    for row in &rows {
        writer
            .write_record([
                row.endpoint_name.as_str(),
                row.unit_name.as_str(),
                row.answer.as_deref().unwrap_or(""),
                row.verdict_label.as_str(),
                row.first_joined.as_deref().unwrap_or(""),
                row.last_left.as_deref().unwrap_or(""),
                &row.minutes_in_session.to_string(),
                &row.connections_lost.to_string(),
                row.note.as_str(),
            ])
            .map_err(csv_error)?;
    }
    let mut body = vec![0xEF, 0xBB, 0xBF]; // a BOM, so spreadsheet programs read UTF-8
    body.extend(writer.into_inner().map_err(|_| AppError::Internal)?);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"diem-danh-phien-{id}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

/// The incidents of a session, oldest first.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/incidents", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn api_incidents(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<IncidentRecord>>, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(&state, &user, &detail).await?;
    Ok(Json(state.store.incidents_for(id).await?))
}

/// Report an incident (R-LIVE-6); the host unit and the handler are notified.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/incidents", tag = "conference", params(("id" = i64, Path)),
    request_body = IncidentInput,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<IncidentInput>,
) -> Result<Response, AppError> {
    let record = report(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

/// Mark an incident as fixed, saying how.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "conference", params(("id" = i64, Path)),
    request_body = ResolveInput,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn api_resolve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<ResolveInput>,
) -> Result<Json<IncidentRecord>, AppError> {
    Ok(Json(resolve(&state, &user, id, &input.resolution).await?))
}

/// Attendance of every booked endpoint (R-LIVE-8): first join, last leave, minutes in the
/// session, connections lost, and the verdict against the in-place time (R-PREP-6).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/attendance", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AttendanceDto>), (status = 403, body = ErrorBody)))]
async fn api_attendance(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AttendanceDto>>, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(&state, &user, &detail).await?;
    Ok(Json(attendance(&state, &detail, ctx.lang).await?))
}

// ---------------------------------------------------------------------------------------
// Closing (R-POST-1)
// ---------------------------------------------------------------------------------------

/// An endpoint's closing checklist as posted (form checkboxes or JSON booleans).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ClosingInput {
    /// The endpoint (forms only; the API takes it from the path).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub endpoint_id: Option<i64>,
    /// The system was checked after the session.
    #[serde(default, deserialize_with = "checkbox")]
    pub system_checked: bool,
    /// The terminals are off.
    #[serde(default, deserialize_with = "checkbox")]
    pub terminals_off: bool,
    /// The power is cut.
    #[serde(default, deserialize_with = "checkbox")]
    pub power_cut: bool,
    /// Anything to note (required when an item is not done).
    #[serde(default)]
    pub note: String,
}

/// A checkbox: `true`/`false` in JSON, `on` (present) in a form.
fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Flag(bool),
        Text(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::Flag(flag) => flag,
        Either::Text(text) => matches!(text.trim(), "on" | "true" | "1"),
    })
}

/// What the closing section shows and the API returns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClosingDto {
    /// Per booked endpoint: its checklist, if confirmed.
    pub endpoints: Vec<ClosingLineDto>,
    /// When the session was closed, by whom, and who had not confirmed.
    pub closed: Option<ClosureDto>,
}

/// One endpoint's line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClosingLineDto {
    /// The endpoint.
    pub endpoint_id: i64,
    /// Its name.
    pub endpoint_name: String,
    /// Checklist complete.
    pub complete: bool,
    /// The checklist, when confirmed.
    #[schema(value_type = Option<Object>)]
    pub check: Option<ClosingCheck>,
    /// Whether the reader may confirm it (pages only).
    #[serde(skip)]
    pub can_confirm: bool,
}

/// A closure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClosureDto {
    /// `dd/mm/yyyy HH:MM`.
    pub closed_at: String,
    /// By whom.
    pub closed_by: String,
    /// Endpoints that had not confirmed, by name.
    pub missing: Vec<String>,
}

async fn closing_view(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<ClosingDto, AppError> {
    let (checks, closure) = state.store.closing(detail.session.id).await?;
    let name_of = |id: i64| {
        detail
            .endpoints
            .iter()
            .find(|e| e.endpoint_id == id)
            .map_or_else(|| format!("#{id}"), |e| e.endpoint_name.clone())
    };
    let mut endpoints = Vec::new();
    for booked in &detail.endpoints {
        let check = checks
            .iter()
            .find(|c| c.endpoint_id == booked.endpoint_id)
            .cloned();
        endpoints.push(ClosingLineDto {
            endpoint_id: booked.endpoint_id,
            endpoint_name: booked.endpoint_name.clone(),
            complete: check.as_ref().is_some_and(ClosingCheck::complete),
            check,
            can_confirm: closure.is_none()
                && may_act(state, user, detail, Some(booked.endpoint_id)).await?,
        });
    }
    Ok(ClosingDto {
        endpoints,
        closed: closure.map(|c: Closure| ClosureDto {
            closed_at: format_instant(c.closed_at),
            closed_by: c.closed_by,
            missing: c.missing.iter().map(|id| name_of(*id)).collect(),
        }),
    })
}

/// Ends the room on the media server once the session is closed: endpoints still in it are
/// told the session ended.
async fn end_room(state: &AppState, id: i64) {
    if let Some(conferences) = &state.conferences {
        let _ = conferences.media().close_room(hnth_media::RoomId(id)).await;
    }
}

async fn confirm_closing(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    endpoint_id: i64,
    input: &ClosingInput,
) -> Result<Option<Closure>, AppError> {
    let detail = state.store.session_detail(id).await?;
    if !detail
        .endpoints
        .iter()
        .any(|e| e.endpoint_id == endpoint_id)
    {
        return Err(AppError::NotFound("endpoint"));
    }
    if !may_act(state, user, &detail, Some(endpoint_id)).await? {
        return Err(AppError::Forbidden);
    }
    require_approved(&detail)?;
    let complete = input.system_checked && input.terminals_off && input.power_cut;
    if !complete && input.note.trim().is_empty() {
        return Err(AppError::Invalid(hnth_domain::validate::Invalid::one(
            "note",
            "required",
            Text::new(
                "Còn mục chưa làm: hãy ghi lý do (ví dụ: thiết bị để lại cho phiên họp kế tiếp).",
                "An item is not done: say why (e.g. the equipment stays on for the next session).",
            ),
        )));
    }
    let closure = state
        .store
        .confirm_closing(
            &user.actor(),
            id,
            &ClosingCheck {
                endpoint_id,
                system_checked: input.system_checked,
                terminals_off: input.terminals_off,
                power_cut: input.power_cut,
                note: input.note.trim().to_string(),
                confirmed_by: user.user.username.clone(),
                confirmed_at: jiff::Timestamp::now(),
            },
        )
        .await?;
    if closure.is_some() {
        end_room(state, id).await;
    }
    state.live.session_changed(id, "session.closing");
    Ok(closure)
}

async fn close(state: &AppState, user: &CurrentUser, id: i64) -> Result<Closure, AppError> {
    let detail = state.store.session_detail(id).await?;
    if !may_act(state, user, &detail, None).await? {
        return Err(AppError::Forbidden);
    }
    require_approved(&detail)?;
    let closure = state.store.close_session(&user.actor(), id).await?;
    end_room(state, id).await;
    state.live.session_changed(id, "session.closed");
    Ok(closure)
}

fn require_approved(detail: &SessionDetail) -> Result<(), AppError> {
    if detail.session.status == hnth_domain::session::SessionStatus::Approved {
        Ok(())
    } else {
        Err(AppError::Conflict(Text::new(
            "Chỉ phiên họp đã phê duyệt mới có bước kết thúc.",
            "Only an approved session is closed.",
        )))
    }
}

async fn closing_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Form(input): crate::error::Form<ClosingInput>,
) -> Result<Response, AppError> {
    let endpoint = input.endpoint_id.ok_or(AppError::NotFound("endpoint"))?;
    match confirm_closing(&state, &user, id, endpoint, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}/log#closing")).into_response()),
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let mut page =
                log_page_with(&state, &user, ctx.lang, id, error.message(ctx.lang)).await?;
            *page.status_mut() = error.status();
            Ok(page)
        }
        Err(other) => Err(other),
    }
}

async fn close_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    match close(&state, &user, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}/log#closing")).into_response()),
        Err(error @ AppError::Conflict(_)) => {
            let mut page =
                log_page_with(&state, &user, ctx.lang, id, error.message(ctx.lang)).await?;
            *page.status_mut() = error.status();
            Ok(page)
        }
        Err(other) => Err(other),
    }
}

/// The closing checklists of a session and whether it is closed (R-POST-1).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/closing", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = ClosingDto), (status = 403, body = ErrorBody)))]
async fn api_closing(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<ClosingDto>, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_operations_reader(&state, &user, &detail).await?;
    Ok(Json(closing_view(&state, &user, &detail).await?))
}

/// An endpoint confirms its closing checklist; the last one closes the session.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/closing/{endpoint}", tag = "conference",
    params(("id" = i64, Path), ("endpoint" = i64, Path)), request_body = ClosingInput,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_confirm_closing(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, endpoint)): Path<(i64, i64)>,
    crate::error::Json(input): crate::error::Json<ClosingInput>,
) -> Result<Json<serde_json::Value>, AppError> {
    let closure = confirm_closing(&state, &user, id, endpoint, &input).await?;
    Ok(Json(serde_json::json!({ "closed": closure })))
}

/// Close the session now (MCU operator or host), listing the endpoints that had not
/// confirmed their checklist; the room on the media server ends.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/close", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn api_close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Closure>, AppError> {
    Ok(Json(close(&state, &user, id).await?))
}
