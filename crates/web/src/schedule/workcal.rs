//! The working-day calendar (ngày làm việc) in pages and the API: a year's days off, breaks
//! and worked weekend days, and the official changes an administrator records.
//!
//! Everyone logged in reads it: lead times are counted in these days, so a secretary must be
//! able to see why a deadline falls where it does. The calendar is national, one for the
//! whole deployment, so editing it needs `CalendarManage` granted on a top-level unit; a
//! district's administrator cannot change the days every unit counts in. After each write
//! the calendar in force ([`AppState::calendar`]) is reloaded, so deadlines use the change
//! at once.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hnth_domain::calendar::{
    weekday_name, CalendarDay, ChangeKind, DayChange, DayChangeForm, DayKind,
};
use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::Permission;
use hnth_domain::validate::{format_date, parse_date};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Form, Json, Path, Query};
use crate::pages::{choices, Choice, Chrome, FieldErrors};
use crate::{render, today, AppState, Ctx, CurrentUser};

/// Years the calendar answers for.
const YEARS: std::ops::RangeInclusive<i16> = 1900..=2100;

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(calendar_page).post(change_save_page))
        .route("/calendar/changes/{date}/delete", post(change_delete_page))
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_year))
        .routes(routes!(api_save_change))
        .routes(routes!(api_delete_change))
}

fn checked_year(year: i64) -> Result<i16, AppError> {
    i16::try_from(year)
        .ok()
        .filter(|y| YEARS.contains(y))
        .ok_or_else(|| {
            AppError::BadRequest(Text::new(
                format!(
                    "Năm {year} nằm ngoài khoảng {}–{}.",
                    YEARS.start(),
                    YEARS.end()
                ),
                format!("Year {year} is outside {}–{}.", YEARS.start(), YEARS.end()),
            ))
        })
}

/// Whether `user` may edit the national calendar: `CalendarManage` on a top-level unit.
async fn can_manage(state: &AppState, user: &CurrentUser) -> Result<bool, AppError> {
    for grant in user
        .grants
        .iter()
        .filter(|g| g.role.allows(Permission::CalendarManage))
    {
        if state.store.unit(grant.unit_id).await?.parent_id.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn require_manage(state: &AppState, user: &CurrentUser) -> Result<(), AppError> {
    if can_manage(state, user).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Saves a change checked against the calendar in force, then makes it the one in force.
async fn save(
    state: &AppState,
    user: &CurrentUser,
    form: &DayChangeForm,
) -> Result<DayChange, AppError> {
    let change = form.parse(&state.calendar())?;
    state
        .store
        .save_calendar_change(&user.actor(), &change)
        .await?;
    state.reload_calendar().await?;
    Ok(change)
}

async fn delete(state: &AppState, user: &CurrentUser, date: &str) -> Result<(), AppError> {
    let day = parse_date(date).ok_or(AppError::NotFound("calendar change"))?;
    state
        .store
        .delete_calendar_change(&user.actor(), day)
        .await?;
    state.reload_calendar().await
}

// ---------------------------------------------------------------------------------------
// Page.

/// A dated row of the page.
pub struct DayRow {
    /// `dd/mm/yyyy`.
    pub date: String,
    /// `yyyy-mm-dd`, for links.
    pub iso: String,
    /// Weekday name.
    pub weekday: &'static str,
    /// Kind in words.
    pub kind: String,
    /// Name of the day.
    pub name: String,
    /// Law or decision.
    pub source: String,
}

fn day_row(day: &CalendarDay, lang: Lang) -> DayRow {
    DayRow {
        date: format_date(day.date),
        iso: day.date.to_string(),
        weekday: weekday_name(day.date.weekday(), lang),
        kind: day.kind.label(lang).to_string(),
        name: day
            .kind
            .name()
            .map(|n| n.get(lang).to_string())
            .unwrap_or_default(),
        source: day.kind.source().unwrap_or_default().to_string(),
    }
}

fn change_row(change: &DayChange, lang: Lang) -> DayRow {
    DayRow {
        date: format_date(change.date),
        iso: change.date.to_string(),
        weekday: weekday_name(change.date.weekday(), lang),
        kind: change.kind.label(lang).to_string(),
        name: change.name.get(lang).to_string(),
        source: change.source.clone(),
    }
}

/// A stretch of days off.
pub struct BreakRow {
    /// `dd/mm/yyyy – dd/mm/yyyy`.
    pub span: String,
    /// Days, weekends included.
    pub length: i64,
    /// The names of its special days.
    pub names: String,
}

/// `?year=2026&edit=2026-01-02&saved=1`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CalendarQuery {
    year: Option<i64>,
    edit: String,
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    year: i16,
    breaks: Vec<BreakRow>,
    days_off: Vec<DayRow>,
    worked: Vec<DayRow>,
    changes: Vec<DayRow>,
    can_manage: bool,
    form: DayChangeForm,
    errors: FieldErrors,
    kinds: Vec<Choice>,
    saved: bool,
}

async fn view(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    year: i16,
    form: DayChangeForm,
    errors: FieldErrors,
    saved: bool,
) -> Result<Response, AppError> {
    let calendar = state.calendar();
    let names = |days: &[CalendarDay]| {
        let mut names: Vec<String> = Vec::new();
        for day in days {
            if let Some(name) = day.kind.name() {
                let name = name.get(lang).to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names.join("; ")
    };
    let page = CalendarPage {
        chrome: Chrome::new(user, lang, format!("/calendar?year={year}"), "calendar"),
        year,
        breaks: calendar
            .breaks(year)
            .iter()
            .map(|b| BreakRow {
                span: format!("{} – {}", format_date(b.first), format_date(b.last)),
                length: b.length(),
                names: names(&b.days),
            })
            .collect(),
        days_off: calendar
            .days_off(year)
            .iter()
            .map(|d| day_row(d, lang))
            .collect(),
        worked: calendar
            .worked_weekend_days(year)
            .iter()
            .map(|d| day_row(d, lang))
            .collect(),
        changes: calendar
            .changes()
            .filter(|c| c.date.year() == year)
            .map(|c| change_row(c, lang))
            .collect(),
        can_manage: can_manage(state, user).await?,
        form,
        kinds: choices(&ChangeKind::ALL, ChangeKind::as_str, |k| k.label(lang)),
        errors,
        saved,
    };
    let mut response = render(&page);
    if page.errors.any() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn calendar_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<CalendarQuery>,
) -> Result<Response, AppError> {
    let year = match query.year {
        Some(year) => checked_year(year)?,
        None => today().year(),
    };
    let edit = parse_date(&query.edit);
    let calendar = state.calendar();
    let form = match edit.and_then(|day| calendar.changes().find(|c| c.date == day)) {
        Some(change) => DayChangeForm::from_change(change),
        None => DayChangeForm {
            kind: ChangeKind::Off.as_str().to_string(),
            ..Default::default()
        },
    };
    view(
        &state,
        &user,
        ctx.lang,
        year,
        form,
        FieldErrors::default(),
        query.saved.is_some(),
    )
    .await
}

async fn change_save_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<DayChangeForm>,
) -> Result<Response, AppError> {
    require_manage(&state, &user).await?;
    match save(&state, &user, &form).await {
        Ok(change) => Ok(
            Redirect::to(&format!("/calendar?year={}&saved=1", change.date.year())).into_response(),
        ),
        Err(AppError::Invalid(invalid)) => {
            let year = parse_date(&form.date)
                .map(|d| d.year())
                .filter(|y| YEARS.contains(y))
                .unwrap_or_else(|| today().year());
            let errors = FieldErrors::from_invalid(&invalid, ctx.lang);
            view(&state, &user, ctx.lang, year, form, errors, false).await
        }
        Err(other) => Err(other),
    }
}

async fn change_delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(date): Path<String>,
) -> Result<Response, AppError> {
    require_manage(&state, &user).await?;
    delete(&state, &user, &date).await?;
    let year = parse_date(&date).map_or_else(|| today().year(), |d| d.year());
    Ok(Redirect::to(&format!("/calendar?year={year}&saved=1")).into_response())
}

// ---------------------------------------------------------------------------------------
// API.

/// A special day of the year.
#[derive(Serialize, ToSchema)]
pub struct CalendarDayDto {
    /// `YYYY-MM-DD`.
    date: String,
    /// `monday` … `sunday`.
    weekday: String,
    /// `holiday` (Labour Code art. 112), `compensatory` (art. 111.3), `official_off`,
    /// `official_working`.
    kind: String,
    /// The kind in the caller's language.
    kind_label: String,
    name_vi: String,
    name_en: String,
    /// The law or decision.
    source: String,
}

fn day_dto(day: &CalendarDay, lang: Lang) -> CalendarDayDto {
    let kind = match day.kind {
        DayKind::Working => "working",
        DayKind::Weekend => "weekend",
        DayKind::Holiday { .. } => "holiday",
        DayKind::Compensatory { .. } => "compensatory",
        DayKind::OfficialOff { .. } => "official_off",
        DayKind::OfficialWorking { .. } => "official_working",
    };
    let name = day.kind.name();
    CalendarDayDto {
        date: day.date.to_string(),
        weekday: weekday_name(day.date.weekday(), Lang::En).to_lowercase(),
        kind: kind.to_string(),
        kind_label: day.kind.label(lang).to_string(),
        name_vi: name.map(|n| n.vi.clone()).unwrap_or_default(),
        name_en: name.map(|n| n.en.clone()).unwrap_or_default(),
        source: day.kind.source().unwrap_or_default().to_string(),
    }
}

/// A stretch of days off, weekends included.
#[derive(Serialize, ToSchema)]
pub struct BreakDto {
    /// First day off, `YYYY-MM-DD`.
    first: String,
    /// Last day off, `YYYY-MM-DD`.
    last: String,
    /// Days.
    length: i64,
}

/// An official change as recorded.
#[derive(Serialize, ToSchema)]
pub struct DayChangeDto {
    /// `YYYY-MM-DD`.
    date: String,
    /// `off`, `working` or `tet`.
    kind: String,
    name_vi: String,
    name_en: String,
    /// The decision.
    source: String,
}

impl From<&DayChange> for DayChangeDto {
    fn from(change: &DayChange) -> DayChangeDto {
        DayChangeDto {
            date: change.date.to_string(),
            kind: change.kind.as_str().to_string(),
            name_vi: change.name.vi.clone(),
            name_en: change.name.en.clone(),
            source: change.source.clone(),
        }
    }
}

/// One year of the working-day calendar.
#[derive(Serialize, ToSchema)]
pub struct CalendarYearDto {
    year: i16,
    /// Holidays (those on a weekend too), days off in lieu and official days off.
    days_off: Vec<CalendarDayDto>,
    /// Saturdays and Sundays worked in exchange.
    worked_weekend_days: Vec<CalendarDayDto>,
    /// Stretches of days off.
    breaks: Vec<BreakDto>,
    /// The official changes recorded for the year.
    changes: Vec<DayChangeDto>,
}

/// The year's days off, with names and sources, and its official changes.
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "calendar", params(("year" = i64, Path)),
    responses((status = 200, body = CalendarYearDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn api_year(
    State(state): State<AppState>,
    ctx: Ctx,
    _user: CurrentUser,
    Path(year): Path<i64>,
) -> Result<Json<CalendarYearDto>, AppError> {
    let year = checked_year(year)?;
    let calendar = state.calendar();
    Ok(Json(CalendarYearDto {
        year,
        days_off: calendar
            .days_off(year)
            .iter()
            .map(|d| day_dto(d, ctx.lang))
            .collect(),
        worked_weekend_days: calendar
            .worked_weekend_days(year)
            .iter()
            .map(|d| day_dto(d, ctx.lang))
            .collect(),
        breaks: calendar
            .breaks(year)
            .iter()
            .map(|b| BreakDto {
                first: b.first.to_string(),
                last: b.last.to_string(),
                length: b.length(),
            })
            .collect(),
        changes: calendar
            .changes()
            .filter(|c| c.date.year() == year)
            .map(DayChangeDto::from)
            .collect(),
    }))
}

/// An official change to record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayChangeInput {
    /// `YYYY-MM-DD` or `dd/mm/yyyy`.
    date: String,
    /// `off` (extra day off), `working` (a weekend day worked) or `tet` (a Tết holiday day).
    kind: String,
    name_vi: String,
    name_en: String,
    /// The decision, e.g. `Thông báo 9441/TB-BNV ngày 16/10/2025`.
    source: String,
}

impl From<DayChangeInput> for DayChangeForm {
    fn from(input: DayChangeInput) -> DayChangeForm {
        DayChangeForm {
            date: input.date,
            kind: input.kind,
            name_vi: input.name_vi,
            name_en: input.name_en,
            source: input.source,
        }
    }
}

/// Records an official change, replacing one on the same day; it takes effect at once.
#[utoipa::path(put, path = "/api/v1/calendar/changes", tag = "calendar", request_body = DayChangeInput,
    responses((status = 200, body = DayChangeDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_save_change(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<DayChangeInput>,
) -> Result<Json<DayChangeDto>, AppError> {
    require_manage(&state, &user).await?;
    let change = save(&state, &user, &input.into()).await?;
    Ok(Json(DayChangeDto::from(&change)))
}

/// Removes the official change of a day (`YYYY-MM-DD`); the day follows the rules again.
#[utoipa::path(delete, path = "/api/v1/calendar/changes/{date}", tag = "calendar", params(("date" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_delete_change(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(date): Path<String>,
) -> Result<StatusCode, AppError> {
    require_manage(&state, &user).await?;
    delete(&state, &user, &date).await?;
    Ok(StatusCode::NO_CONTENT)
}
