//! The published schedule (R-REG-5): day, week and month views of the approved sessions,
//! the same list in the API, and the iCalendar feeds a calendar client subscribes to. The
//! working-day calendar's page and API live in [`workcal`].
//!
//! Every unit reads the schedule; what a classified session shows depends on who reads
//! (R-SEC-4). An account whose grants cover the host unit, the approving unit or the unit of
//! a booked endpoint (the rule the session page applies too) sees everything; anyone else
//! sees "Classified session", its time, host unit and number of endpoints — never its
//! title, chair, endpoints or content.
//!
//! Feeds are read without logging in, so their secret token is the only key (see
//! [`hnth_store::feeds`]). Because nobody is known there, and a feed's URL travels through
//! third-party calendar apps where no access can be logged, a feed masks every classified
//! session, whoever subscribed. A feed carries the sessions of its unit's subtree (hosted or
//! booking an endpoint there) or of its endpoint from 30 days ago on: approved ones as
//! `CONFIRMED`, and cancelled ones that had been approved as `CANCELLED`, so subscribers'
//! calendars drop them. `SEQUENCE` is the session's version, bumped by every change, so
//! clients replace what they hold.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hnth_domain::calendar::{weekday_name, DayKind};
use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::Permission;
use hnth_domain::session::{Classification, SessionStatus, Urgency};
use hnth_domain::validate::{format_date, parse_date};
use hnth_store::directory::{EndpointFilter, UnitFilter};
use hnth_store::feeds::FeedTarget;
use hnth_store::sessions::{zone, SessionFilter, SessionSummary};
use hnth_store::Page;
use jiff::civil::{Date, DateTime};
use jiff::ToSpan;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Form, Json, Path, Query};
use crate::pages::{url_encode, Choice, Chrome};
use crate::{now_local, render, today, AppState, Ctx, CurrentUser};

mod ical;
pub mod workcal;

/// How far back a feed reaches.
const FEED_PAST_DAYS: i64 = 30;

/// The longest period the schedule API returns at once.
const MAX_API_DAYS: i64 = 366;

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedule", get(schedule_page))
        .route("/schedule/feed", post(feed_create_page))
        .route("/schedule/feed/reset", post(feed_reset_page))
        .route("/feeds/{file}", get(feed))
        .merge(workcal::router())
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_schedule))
        .routes(routes!(api_feed_create))
        .routes(routes!(api_feed_reset))
        .merge(workcal::api_router())
}

fn bad_request(vi: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::BadRequest(Text::new(vi, en))
}

/// What one account may see of classified sessions (R-SEC-4).
struct Visibility {
    /// Every unit the account's grants cover.
    covered: HashSet<i64>,
}

impl Visibility {
    async fn of(state: &AppState, user: &CurrentUser) -> Result<Visibility, AppError> {
        let roots: Vec<i64> = user.grants.iter().map(|g| g.unit_id).collect();
        Ok(Visibility {
            covered: state.store.subtree_unit_ids(&roots).await?,
        })
    }

    /// Whether the session's title and content are hidden from this account.
    fn masks(&self, summary: &SessionSummary, booked_units: &[i64]) -> bool {
        let session = &summary.session;
        if session.registration.classification == Classification::Normal {
            return false;
        }
        let involved = self.covered.contains(&session.registration.host_unit_id)
            || session
                .approver_unit_id
                .is_some_and(|unit| self.covered.contains(&unit))
            || booked_units.iter().any(|unit| self.covered.contains(unit));
        !involved
    }
}

/// What the schedule is asked for.
#[derive(Debug, Default)]
struct ScheduleFilter {
    /// First local instant (inclusive).
    from: DateTime,
    /// Last local instant (exclusive).
    to: DateTime,
    /// Sessions involving this unit's subtree.
    unit: Option<i64>,
    /// Sessions booking this endpoint.
    endpoint: Option<i64>,
    /// Sessions involving a unit of this level.
    level: Option<String>,
}

/// A session of the schedule with whether it is masked for the reader.
struct Listed {
    summary: SessionSummary,
    masked: bool,
}

/// The approved sessions matching `filter`, with the reader's masking.
async fn load(
    state: &AppState,
    user: &CurrentUser,
    filter: &ScheduleFilter,
) -> Result<Vec<Listed>, AppError> {
    if let Some(unit) = filter.unit {
        state.store.unit(unit).await?;
    }
    if let Some(endpoint) = filter.endpoint {
        state.store.endpoint(endpoint).await?;
    }
    let sessions = state
        .store
        .list_sessions(
            &SessionFilter {
                statuses: vec![SessionStatus::Approved],
                from: Some(filter.from),
                to: Some(filter.to),
                involving_subtree: filter.unit,
                endpoint_id: filter.endpoint,
                ..Default::default()
            },
            Page::all(),
        )
        .await?
        .items;
    let ids: Vec<i64> = sessions.iter().map(|s| s.session.id).collect();
    let booked = state.store.booked_units(&ids).await?;
    let of_level: Option<HashSet<i64>> = match &filter.level {
        Some(level) => Some(
            state
                .store
                .list_units(
                    &UnitFilter {
                        level: Some(level.clone()),
                        ..Default::default()
                    },
                    Page::all(),
                )
                .await?
                .items
                .into_iter()
                .map(|u| u.id)
                .collect(),
        ),
        None => None,
    };
    let visibility = Visibility::of(state, user).await?;
    let none = Vec::new();
    Ok(sessions
        .into_iter()
        .filter_map(|summary| {
            let units = booked.get(&summary.session.id).unwrap_or(&none);
            if let Some(level_units) = &of_level {
                let host = summary.session.registration.host_unit_id;
                if !level_units.contains(&host) && !units.iter().any(|u| level_units.contains(u)) {
                    return None;
                }
            }
            let masked = visibility.masks(&summary, units);
            Some(Listed { summary, masked })
        })
        .collect())
}

fn hhmm(at: DateTime) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

/// An instant with its offset, `2027-01-05T08:00:00+07:00`.
fn rfc3339(at: DateTime) -> String {
    at.to_zoned(zone())
        .map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_else(|_| at.to_string())
}

fn masked_title(lang: Lang) -> &'static str {
    crate::i18n::texts(lang).sch_classified
}

/// `https://host` of the request, for links that leave the browser (feed URLs).
fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| v == "https" || v == "http");
    let scheme = forwarded.unwrap_or_else(|| {
        if state.config.secure_cookies {
            "https".into()
        } else {
            "http".into()
        }
    });
    format!("{scheme}://{host}")
}

fn feed_url(base: &str, token: &str) -> String {
    format!("{base}/feeds/{token}.ics")
}

// ---------------------------------------------------------------------------------------
// Pages.

/// `?view=day|week|month&date=dd/mm/yyyy&unit=ID&endpoint=ID&level=CODE`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ScheduleQuery {
    view: String,
    date: String,
    unit: String,
    endpoint: String,
    level: String,
}

fn optional_id(name: &str, value: &str) -> Result<Option<i64>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(id) if id > 0 => Ok(Some(id)),
        _ => Err(bad_request(
            format!("Tham số {name}={value} không hợp lệ; cần một số định danh."),
            format!("Parameter {name}={value} is not valid; expected an id."),
        )),
    }
}

async fn checked_level(state: &AppState, level: &str) -> Result<Option<String>, AppError> {
    let level = level.trim();
    if level.is_empty() {
        return Ok(None);
    }
    let levels = state.store.levels().await?;
    if levels.iter().any(|l| l.def.code == level) {
        Ok(Some(level.to_string()))
    } else {
        let known: Vec<&str> = levels.iter().map(|l| l.def.code.as_str()).collect();
        Err(bad_request(
            format!("Không có cấp \"{level}\"; các cấp: {}.", known.join(", ")),
            format!(
                "No level \"{level}\"; the levels are: {}.",
                known.join(", ")
            ),
        ))
    }
}

/// A schedule view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Day,
    Week,
    Month,
}

impl View {
    fn parse(code: &str) -> View {
        match code.trim() {
            "day" => View::Day,
            "month" => View::Month,
            _ => View::Week,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            View::Day => "day",
            View::Week => "week",
            View::Month => "month",
        }
    }

    /// The first and the day after the last day shown around `date`.
    fn range(self, date: Date) -> (Date, Date) {
        let monday = |d: Date| {
            d.checked_sub(i64::from(d.weekday().to_monday_zero_offset()).days())
                .unwrap_or(d)
        };
        match self {
            View::Day => (date, date.tomorrow().unwrap_or(date)),
            View::Week => {
                let first = monday(date);
                (first, first.checked_add(7.days()).unwrap_or(first))
            }
            View::Month => {
                let first = monday(date.first_of_month());
                let last = monday(date.last_of_month());
                (first, last.checked_add(7.days()).unwrap_or(last))
            }
        }
    }

    fn step(self, date: Date, forward: bool) -> Date {
        let sign = if forward { 1 } else { -1 };
        let span = match self {
            View::Day => (sign).days(),
            View::Week => (7 * sign).days(),
            View::Month => (sign).months(),
        };
        date.checked_add(span).unwrap_or(date)
    }
}

/// A session as the pages show it.
pub struct EntryRow {
    /// Session id, for the link to its page.
    pub id: i64,
    /// `08:00`.
    pub start: String,
    /// `10:30`.
    pub end: String,
    /// The title, or "Classified session".
    pub title: String,
    /// Whether title and content are hidden from the reader.
    pub masked: bool,
    /// Host unit.
    pub host_unit: String,
    /// Host endpoint; empty when masked.
    pub host_endpoint: String,
    /// Chair, title and name; empty when masked.
    pub chair: String,
    /// Endpoints booked, the host's included.
    pub endpoint_count: u32,
    /// An emergency session (never shown when masked).
    pub emergency: bool,
    /// The secrecy level when the reader may see it; empty for normal sessions.
    pub classification: String,
}

fn entry_row(listed: &Listed, lang: Lang) -> EntryRow {
    let session = &listed.summary.session;
    let registration = &session.registration;
    let masked = listed.masked;
    let chair = format!("{} {}", registration.chair_title, registration.chair_name)
        .trim()
        .to_string();
    EntryRow {
        id: session.id,
        start: hhmm(registration.starts_at),
        end: hhmm(registration.ends_at),
        title: if masked {
            masked_title(lang).to_string()
        } else {
            registration.title.clone()
        },
        masked,
        host_unit: session.host_unit_name.clone(),
        host_endpoint: if masked {
            String::new()
        } else {
            session.host_endpoint_name.clone()
        },
        chair: if masked { String::new() } else { chair },
        endpoint_count: listed.summary.endpoint_count,
        emergency: !masked && registration.urgency == Urgency::Emergency,
        classification: if masked || registration.classification == Classification::Normal {
            String::new()
        } else {
            registration.classification.label(lang).to_string()
        },
    }
}

/// One day of the week or month views.
pub struct DayCell {
    /// `05/01`.
    pub short: String,
    /// Day of the month.
    pub day: i8,
    /// `Thứ Ba`.
    pub weekday: &'static str,
    /// Link to the day view.
    pub link: String,
    /// Inside the month shown (month view).
    pub in_month: bool,
    /// Today.
    pub today: bool,
    /// CSS class: `off` (holiday, day off), `weekend`, `worked` (weekend worked), or empty.
    pub kind: &'static str,
    /// The holiday's or change's name; empty for plain days.
    pub label: String,
    /// Sessions starting that day, by time.
    pub entries: Vec<EntryRow>,
}

struct Links<'a> {
    date: Date,
    view: View,
    query: &'a ScheduleQuery,
}

impl Links<'_> {
    fn to(&self, view: View, date: Date) -> String {
        let mut link = format!(
            "/schedule?view={}&date={}",
            view.as_str(),
            url_encode(&format_date(date))
        );
        for (name, value) in [
            ("unit", &self.query.unit),
            ("endpoint", &self.query.endpoint),
            ("level", &self.query.level),
        ] {
            if !value.trim().is_empty() {
                link.push_str(&format!("&{name}={}", url_encode(value.trim())));
            }
        }
        link
    }

    fn here(&self) -> String {
        self.to(self.view, self.date)
    }
}

/// The subscription box of a page filtered by a unit or an endpoint.
pub struct FeedBox {
    /// Whose schedule the feed carries.
    pub target_name: String,
    /// The feed's URL, once created.
    pub url: Option<String>,
    /// Unit id of the target, or empty.
    pub unit: String,
    /// Endpoint id of the target, or empty.
    pub endpoint: String,
    /// Where to come back after a POST.
    pub back: String,
    /// Whether the reader may reset the token.
    pub can_reset: bool,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    chrome: Chrome,
    view: &'static str,
    heading: String,
    date: String,
    prev: String,
    next: String,
    today_link: String,
    day_link: String,
    week_link: String,
    month_link: String,
    unit: String,
    endpoint: String,
    level: String,
    units: Vec<Choice>,
    endpoints: Vec<Choice>,
    levels: Vec<Choice>,
    /// Day view: the sessions; week view: unused.
    entries: Vec<EntryRow>,
    /// Day view: what the day is.
    day_label: String,
    day_kind: &'static str,
    /// Week view: the seven days.
    days: Vec<DayCell>,
    /// Month view: the weeks.
    weeks: Vec<Vec<DayCell>>,
    /// Column headings of the month view.
    weekday_names: Vec<&'static str>,
    feed: Option<FeedBox>,
    any_masked: bool,
    total: usize,
}

fn month_heading(date: Date, lang: Lang) -> String {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match lang {
        Lang::Vi => format!("Tháng {}/{}", date.month(), date.year()),
        Lang::En => format!(
            "{} {}",
            EN.get(usize::try_from(date.month() - 1).unwrap_or(0))
                .copied()
                .unwrap_or(""),
            date.year()
        ),
    }
}

fn day_kind_class(kind: &DayKind) -> &'static str {
    match kind {
        DayKind::Working => "",
        DayKind::Weekend => "weekend",
        DayKind::OfficialWorking { .. } => "worked",
        DayKind::Holiday { .. } | DayKind::Compensatory { .. } | DayKind::OfficialOff { .. } => {
            "off"
        }
    }
}

fn day_label(kind: &DayKind, lang: Lang) -> String {
    match kind {
        DayKind::OfficialWorking { name, .. } => {
            format!("{} — {}", kind.label(lang), name.get(lang))
        }
        other => other
            .name()
            .map(|n| n.get(lang).to_string())
            .unwrap_or_default(),
    }
}

async fn target_name(state: &AppState, target: FeedTarget) -> Result<String, AppError> {
    Ok(match target {
        FeedTarget::Unit(id) => state.store.unit(id).await?.name,
        FeedTarget::Endpoint(id) => {
            let listing = state.store.endpoint(id).await?;
            format!("{} ({})", listing.endpoint.name, listing.unit_name)
        }
    })
}

/// Whether `user` may reset `target`'s token: registering, calendar or directory rights on
/// its unit.
async fn may_reset(
    state: &AppState,
    user: &CurrentUser,
    target: FeedTarget,
) -> Result<bool, AppError> {
    let unit = match target {
        FeedTarget::Unit(id) => id,
        FeedTarget::Endpoint(id) => state.store.endpoint(id).await?.endpoint.unit_id,
    };
    for permission in [
        Permission::SessionRegister,
        Permission::CalendarManage,
        Permission::DirectoryWrite,
    ] {
        if user
            .require_on_unit(&state.store, permission, unit)
            .await
            .is_ok()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn schedule_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<ScheduleQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ScheduleRead)?;
    let lang = ctx.lang;
    let view = View::parse(&query.view);
    let today = today();
    let date = if query.date.trim().is_empty() {
        today
    } else {
        parse_date(&query.date).ok_or_else(|| {
            bad_request(
                format!(
                    "Ngày \"{}\" không hợp lệ; viết dd/mm/yyyy.",
                    query.date.trim()
                ),
                format!(
                    "Date \"{}\" is not valid; write dd/mm/yyyy.",
                    query.date.trim()
                ),
            )
        })?
    };
    let unit = optional_id("unit", &query.unit)?;
    let endpoint = optional_id("endpoint", &query.endpoint)?;
    let level = checked_level(&state, &query.level).await?;
    let (first, after) = view.range(date);
    let listed = load(
        &state,
        &user,
        &ScheduleFilter {
            from: first.to_datetime(jiff::civil::Time::midnight()),
            to: after.to_datetime(jiff::civil::Time::midnight()),
            unit,
            endpoint,
            level: level.clone(),
        },
    )
    .await?;
    let any_masked = listed.iter().any(|l| l.masked);
    let total = listed.len();
    let mut by_day: HashMap<Date, Vec<EntryRow>> = HashMap::new();
    for item in &listed {
        by_day
            .entry(item.summary.session.registration.starts_at.date())
            .or_default()
            .push(entry_row(item, lang));
    }
    let links = Links {
        date,
        view,
        query: &query,
    };
    let calendar = state.calendar();
    let cell = |day: Date, by_day: &mut HashMap<Date, Vec<EntryRow>>| {
        let kind = calendar.day(day);
        DayCell {
            short: format!("{:02}/{:02}", day.day(), day.month()),
            day: day.day(),
            weekday: weekday_name(day.weekday(), lang),
            link: links.to(View::Day, day),
            in_month: day.month() == date.month(),
            today: day == today,
            kind: day_kind_class(&kind),
            label: day_label(&kind, lang),
            entries: by_day.remove(&day).unwrap_or_default(),
        }
    };
    let mut days = Vec::new();
    let mut weeks = Vec::new();
    let mut entries = Vec::new();
    let (mut day_label_text, mut day_kind) = (String::new(), "");
    let heading = match view {
        View::Day => {
            let kind = calendar.day(date);
            day_label_text = day_label(&kind, lang);
            day_kind = day_kind_class(&kind);
            entries = by_day.remove(&date).unwrap_or_default();
            format!(
                "{}, {}",
                weekday_name(date.weekday(), lang),
                format_date(date)
            )
        }
        View::Week => {
            let mut day = first;
            while day < after {
                days.push(cell(day, &mut by_day));
                day = day.tomorrow().unwrap_or(after);
            }
            let last = after.yesterday().unwrap_or(after);
            match lang {
                Lang::Vi => format!(
                    "Tuần từ {:02}/{:02} đến {}",
                    first.day(),
                    first.month(),
                    format_date(last)
                ),
                Lang::En => format!(
                    "Week of {:02}/{:02} to {}",
                    first.day(),
                    first.month(),
                    format_date(last)
                ),
            }
        }
        View::Month => {
            let mut day = first;
            while day < after {
                let mut week = Vec::with_capacity(7);
                for _ in 0..7 {
                    week.push(cell(day, &mut by_day));
                    day = day.tomorrow().unwrap_or(after);
                }
                weeks.push(week);
            }
            month_heading(date, lang)
        }
    };
    let feed_target = match (endpoint, unit) {
        (Some(endpoint), _) => Some(FeedTarget::Endpoint(endpoint)),
        (None, Some(unit)) => Some(FeedTarget::Unit(unit)),
        (None, None) => None,
    };
    let feed = match feed_target {
        Some(target) => {
            let base = public_base(&state, &headers);
            Some(FeedBox {
                target_name: target_name(&state, target).await?,
                url: state
                    .store
                    .existing_feed_token(target)
                    .await?
                    .map(|token| feed_url(&base, &token)),
                unit: match target {
                    FeedTarget::Unit(id) => id.to_string(),
                    FeedTarget::Endpoint(_) => String::new(),
                },
                endpoint: match target {
                    FeedTarget::Endpoint(id) => id.to_string(),
                    FeedTarget::Unit(_) => String::new(),
                },
                back: links.here(),
                can_reset: may_reset(&state, &user, target).await?,
            })
        }
        None => None,
    };
    let units = state
        .store
        .list_units(
            &UnitFilter {
                active_on: Some(today),
                ..Default::default()
            },
            Page::all(),
        )
        .await?
        .items
        .into_iter()
        .map(|u| Choice {
            code: u.id.to_string(),
            label: u.name,
        })
        .collect();
    let endpoints = state
        .store
        .list_endpoints(&EndpointFilter::default(), Page::all())
        .await?
        .items
        .into_iter()
        .map(|e| Choice {
            code: e.endpoint.id.to_string(),
            label: format!("{} — {}", e.endpoint.name, e.unit_name),
        })
        .collect();
    let levels = state
        .store
        .levels()
        .await?
        .into_iter()
        .map(|l| Choice {
            label: l.def.name(lang).to_string(),
            code: l.def.code,
        })
        .collect();
    let weekday_names = (0..7)
        .filter_map(|offset| first.checked_add(offset.days()).ok())
        .map(|d| weekday_name(d.weekday(), lang))
        .collect();
    Ok(render(&SchedulePage {
        chrome: Chrome::new(&user, lang, links.here(), "schedule"),
        view: view.as_str(),
        heading,
        date: format_date(date),
        prev: links.to(view, view.step(date, false)),
        next: links.to(view, view.step(date, true)),
        today_link: links.to(view, today),
        day_link: links.to(View::Day, date),
        week_link: links.to(View::Week, date),
        month_link: links.to(View::Month, date),
        unit: query.unit.trim().to_string(),
        endpoint: query.endpoint.trim().to_string(),
        level: level.unwrap_or_default(),
        units,
        endpoints,
        levels,
        entries,
        day_label: day_label_text,
        day_kind,
        days,
        weeks,
        weekday_names,
        feed,
        any_masked,
        total,
    }))
}

/// The subscription buttons of the schedule page.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FeedForm {
    unit: String,
    endpoint: String,
    back: String,
}

impl FeedForm {
    fn target(&self) -> Result<FeedTarget, AppError> {
        match (
            optional_id("endpoint", &self.endpoint)?,
            optional_id("unit", &self.unit)?,
        ) {
            (Some(endpoint), _) => Ok(FeedTarget::Endpoint(endpoint)),
            (None, Some(unit)) => Ok(FeedTarget::Unit(unit)),
            (None, None) => Err(bad_request(
                "Hãy chọn một đơn vị hoặc một điểm cầu.",
                "Choose a unit or an endpoint.",
            )),
        }
    }

    /// Back to the schedule page it came from; never to another site.
    fn back(&self) -> String {
        let back = self.back.trim();
        if back.starts_with("/schedule") && !back.starts_with("//") {
            back.to_string()
        } else {
            "/schedule".to_string()
        }
    }
}

async fn feed_create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<FeedForm>,
) -> Result<Response, AppError> {
    user.require(Permission::ScheduleRead)?;
    state
        .store
        .feed_token(&user.actor(), form.target()?)
        .await?;
    Ok(Redirect::to(&form.back()).into_response())
}

async fn feed_reset_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<FeedForm>,
) -> Result<Response, AppError> {
    let target = form.target()?;
    if !may_reset(&state, &user, target).await? {
        return Err(AppError::Forbidden);
    }
    state.store.reset_feed_token(&user.actor(), target).await?;
    Ok(Redirect::to(&form.back()).into_response())
}

// ---------------------------------------------------------------------------------------
// The iCalendar feed.

/// `?lang=en` for an English feed; Vietnamese otherwise.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct FeedQuery {
    lang: String,
}

async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(query): Query<FeedQuery>,
) -> Result<Response, AppError> {
    let token = file
        .strip_suffix(".ics")
        .ok_or(AppError::NotFound("feed"))?;
    let target = state.store.feed_by_token(token).await?;
    let lang = Lang::parse(&query.lang).unwrap_or(Lang::Vi);
    let name = target_name(&state, target).await?;
    let now = now_local();
    let from = now
        .datetime()
        .checked_sub(FEED_PAST_DAYS.days())
        .unwrap_or(now.datetime());
    let mut filter = SessionFilter {
        statuses: vec![SessionStatus::Approved, SessionStatus::Cancelled],
        from: Some(from),
        ..Default::default()
    };
    match target {
        FeedTarget::Unit(id) => filter.involving_subtree = Some(id),
        FeedTarget::Endpoint(id) => filter.endpoint_id = Some(id),
    }
    let mut sessions = state.store.list_sessions(&filter, Page::all()).await?.items;
    let cancelled: Vec<i64> = sessions
        .iter()
        .filter(|s| s.session.status == SessionStatus::Cancelled)
        .map(|s| s.session.id)
        .collect();
    let published = state.store.sessions_ever_approved(&cancelled).await?;
    sessions.retain(|s| {
        s.session.status == SessionStatus::Approved || published.contains(&s.session.id)
    });
    let body = write_feed(&name, &sessions, &public_base(&state, &headers), lang);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"lich-hop.ics\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The iCalendar object of a feed named `name` (R-REG-5). Classified sessions are always
/// masked here (see the module's documentation).
fn write_feed(name: &str, sessions: &[SessionSummary], base: &str, lang: Lang) -> String {
    let t = crate::i18n::texts(lang);
    let mut w = ical::Writer::new();
    w.begin("VCALENDAR");
    w.raw("VERSION", "2.0");
    w.raw("PRODID", "-//hnth//Lich hop truc tuyen//VI");
    w.raw("CALSCALE", "GREGORIAN");
    let calendar_name = format!("{} — {name}", t.sch_title);
    w.text("NAME", &calendar_name);
    w.text("X-WR-CALNAME", &calendar_name);
    w.text("X-WR-TIMEZONE", ical::TZID);
    w.raw("REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
    w.raw("X-PUBLISHED-TTL", "PT1H");
    w.vtimezone();
    for summary in sessions {
        let session = &summary.session;
        let registration = &session.registration;
        let masked = registration.classification != Classification::Normal;
        let cancelled = session.status == SessionStatus::Cancelled;
        w.begin("VEVENT");
        w.raw("UID", &format!("session-{}@hnth", session.id));
        w.raw("SEQUENCE", &session.version.max(0).to_string());
        // Without METHOD, DTSTAMP is when the event was last revised (RFC 5545 §3.8.7.2):
        // stable between fetches, so an unchanged feed is byte for byte the same.
        w.utc("DTSTAMP", session.updated_at);
        w.utc("LAST-MODIFIED", session.updated_at);
        w.local("DTSTART", registration.starts_at);
        w.local("DTEND", registration.ends_at);
        let (vi_host, en_host) = ("Đơn vị chủ trì", "Host unit");
        let host_label = if lang == Lang::Vi { vi_host } else { en_host };
        let mut description = Vec::new();
        if masked {
            w.text("SUMMARY", t.sch_classified);
            w.raw("CLASS", "CONFIDENTIAL");
            description.push(format!("{host_label}: {}", session.host_unit_name));
            description.push(format!(
                "{}: {}",
                t.sch_endpoint_count, summary.endpoint_count
            ));
        } else {
            let title = if registration.urgency == Urgency::Emergency {
                format!("[{}] {}", t.sch_emergency, registration.title)
            } else {
                registration.title.clone()
            };
            w.text("SUMMARY", &title);
            w.raw("CLASS", "PUBLIC");
            w.text("LOCATION", &session.host_endpoint_name);
            description.push(format!("{host_label}: {}", session.host_unit_name));
            let chair = format!("{} {}", registration.chair_title, registration.chair_name);
            if !chair.trim().is_empty() {
                description.push(format!("{}: {}", t.sch_chair, chair.trim()));
            }
            description.push(format!(
                "{}: {}",
                t.sch_host_endpoint, session.host_endpoint_name
            ));
            description.push(format!(
                "{}: {}",
                t.sch_endpoint_count, summary.endpoint_count
            ));
            description.push(format!(
                "{}: {}",
                if lang == Lang::Vi {
                    "Loại hội nghị"
                } else {
                    "Meeting type"
                },
                registration.meeting_type.label(lang)
            ));
            let contact = [
                registration.contact_name.trim(),
                registration.contact_phone.trim(),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" — ");
            if !contact.is_empty() {
                description.push(format!(
                    "{}: {contact}",
                    if lang == Lang::Vi {
                        "Liên hệ"
                    } else {
                        "Contact"
                    }
                ));
            }
            if !registration.content.trim().is_empty() {
                description.push(String::new());
                description.push(registration.content.trim().to_string());
            }
        }
        if cancelled {
            let note = if session.decision_note.trim().is_empty() || masked {
                String::new()
            } else {
                format!(
                    " {}: {}",
                    if lang == Lang::Vi { "Lý do" } else { "Reason" },
                    session.decision_note.trim()
                )
            };
            description.insert(
                0,
                format!(
                    "{}{note}",
                    if lang == Lang::Vi {
                        "ĐÃ HỦY."
                    } else {
                        "CANCELLED."
                    }
                ),
            );
        }
        w.text("DESCRIPTION", &description.join("\n"));
        w.raw("STATUS", if cancelled { "CANCELLED" } else { "CONFIRMED" });
        w.raw("TRANSP", "OPAQUE");
        w.raw("URL", &format!("{base}/sessions/{}", session.id));
        w.end("VEVENT");
    }
    w.end("VCALENDAR");
    w.finish()
}

// ---------------------------------------------------------------------------------------
// API.

/// Query of the schedule API.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ScheduleParams {
    /// First day, `YYYY-MM-DD` (today when absent).
    from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (six days after `from` when absent; at most 366 days).
    to: Option<String>,
    /// Only sessions hosted by or booking an endpoint of a unit of this unit's subtree.
    unit_id: Option<i64>,
    /// Only sessions booking this endpoint.
    endpoint_id: Option<i64>,
    /// Only sessions involving a unit of this level (code of the policy's levels).
    level: Option<String>,
}

/// A session of the published schedule.
#[derive(Serialize, ToSchema)]
pub struct ScheduleEntryDto {
    id: i64,
    /// Classified and the caller is neither host, approver nor invited (R-SEC-4): the title
    /// is "Classified session" and only the time, host unit and endpoint count are given.
    masked: bool,
    /// Whether the session carries a state-secret classification.
    classified: bool,
    title: String,
    /// Start, RFC 3339 with the +07:00 offset.
    starts_at: String,
    /// End, RFC 3339 with the +07:00 offset.
    ends_at: String,
    host_unit_id: i64,
    host_unit_name: String,
    /// Absent when masked.
    host_endpoint_id: Option<i64>,
    /// Absent when masked.
    host_endpoint_name: Option<String>,
    /// Endpoints booked, the host's included.
    endpoint_count: u32,
    /// Title and name of the chair; absent when masked.
    chair: Option<String>,
    /// Meeting type code; absent when masked.
    meeting_type: Option<String>,
    /// `mat`, `toi_mat`, `tuyet_mat` or `normal`; absent when masked.
    classification: Option<String>,
    /// `normal` or `emergency`; absent when masked.
    urgency: Option<String>,
    /// The session's page.
    url: String,
}

fn entry_dto(listed: &Listed, lang: Lang) -> ScheduleEntryDto {
    let session = &listed.summary.session;
    let registration = &session.registration;
    let masked = listed.masked;
    let shown = |value: String| (!masked).then_some(value);
    ScheduleEntryDto {
        id: session.id,
        masked,
        classified: registration.classification != Classification::Normal,
        title: if masked {
            masked_title(lang).to_string()
        } else {
            registration.title.clone()
        },
        starts_at: rfc3339(registration.starts_at),
        ends_at: rfc3339(registration.ends_at),
        host_unit_id: registration.host_unit_id,
        host_unit_name: session.host_unit_name.clone(),
        host_endpoint_id: (!masked).then_some(registration.host_endpoint_id),
        host_endpoint_name: shown(session.host_endpoint_name.clone()),
        endpoint_count: listed.summary.endpoint_count,
        chair: shown(
            format!("{} {}", registration.chair_title, registration.chair_name)
                .trim()
                .to_string(),
        ),
        meeting_type: shown(registration.meeting_type.as_str().to_string()),
        classification: shown(registration.classification.as_str().to_string()),
        urgency: shown(registration.urgency.as_str().to_string()),
        url: format!("/sessions/{}", session.id),
    }
}

fn iso_day(name: &str, value: &str) -> Result<Date, AppError> {
    value.trim().parse::<Date>().map_err(|_| {
        bad_request(
            format!("Tham số {name}={value} không hợp lệ; viết YYYY-MM-DD."),
            format!("Parameter {name}={value} is not valid; write YYYY-MM-DD."),
        )
    })
}

/// The published schedule: approved sessions between two days (R-REG-5).
#[utoipa::path(get, path = "/api/v1/schedule", tag = "schedule", params(ScheduleParams),
    responses((status = 200, body = Vec<ScheduleEntryDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_schedule(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(params): Query<ScheduleParams>,
) -> Result<Json<Vec<ScheduleEntryDto>>, AppError> {
    user.require(Permission::ScheduleRead)?;
    let from = match params.from.as_deref() {
        Some(value) => iso_day("from", value)?,
        None => today(),
    };
    let to = match params.to.as_deref() {
        Some(value) => iso_day("to", value)?,
        None => from.checked_add(6.days()).unwrap_or(from),
    };
    let days = (to - from).get_days() as i64;
    if to < from || days >= MAX_API_DAYS {
        return Err(bad_request(
            format!("Khoảng thời gian phải từ 1 đến {MAX_API_DAYS} ngày, với to không trước from."),
            format!("The period must be 1 to {MAX_API_DAYS} days, with to not before from."),
        ));
    }
    let level = checked_level(&state, params.level.as_deref().unwrap_or("")).await?;
    let midnight = jiff::civil::Time::midnight();
    let listed = load(
        &state,
        &user,
        &ScheduleFilter {
            from: from.to_datetime(midnight),
            to: to.tomorrow().unwrap_or(to).to_datetime(midnight),
            unit: params.unit_id,
            endpoint: params.endpoint_id,
            level,
        },
    )
    .await?;
    Ok(Json(
        listed.iter().map(|l| entry_dto(l, ctx.lang)).collect(),
    ))
}

/// Whose feed: exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedInput {
    #[serde(default)]
    unit_id: Option<i64>,
    #[serde(default)]
    endpoint_id: Option<i64>,
}

impl FeedInput {
    fn target(&self) -> Result<FeedTarget, AppError> {
        match (self.unit_id, self.endpoint_id) {
            (Some(unit), None) => Ok(FeedTarget::Unit(unit)),
            (None, Some(endpoint)) => Ok(FeedTarget::Endpoint(endpoint)),
            _ => Err(bad_request(
                "Gửi đúng một trong hai trường unit_id hoặc endpoint_id.",
                "Send exactly one of unit_id and endpoint_id.",
            )),
        }
    }
}

/// A feed's address.
#[derive(Serialize, ToSchema)]
pub struct FeedDto {
    /// The iCalendar URL to subscribe to; it needs no login, so keep it within the body.
    url: String,
}

/// The iCalendar feed of a unit's subtree or of an endpoint, created if missing (R-REG-5).
#[utoipa::path(post, path = "/api/v1/feeds", tag = "schedule", request_body = FeedInput,
    responses((status = 200, body = FeedDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_feed_create(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Json(input): Json<FeedInput>,
) -> Result<Json<FeedDto>, AppError> {
    user.require(Permission::ScheduleRead)?;
    let token = state
        .store
        .feed_token(&user.actor(), input.target()?)
        .await?;
    Ok(Json(FeedDto {
        url: feed_url(&public_base(&state, &headers), &token),
    }))
}

/// Replaces a feed's secret token: the old URL stops working at once. Needs registering,
/// calendar or directory rights on the unit (the endpoint's unit).
#[utoipa::path(post, path = "/api/v1/feeds/reset", tag = "schedule", request_body = FeedInput,
    responses((status = 200, body = FeedDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_feed_reset(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Json(input): Json<FeedInput>,
) -> Result<Response, AppError> {
    let target = input.target()?;
    target_name(&state, target).await?;
    if !may_reset(&state, &user, target).await? {
        return Err(AppError::Forbidden);
    }
    let token = state.store.reset_feed_token(&user.actor(), target).await?;
    Ok((
        StatusCode::OK,
        Json(FeedDto {
            url: feed_url(&public_base(&state, &headers), &token),
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn views_cover_a_day_a_monday_week_and_whole_weeks_of_a_month() {
        let tuesday = date(2027, 1, 5);
        assert_eq!(View::Day.range(tuesday), (tuesday, date(2027, 1, 6)));
        assert_eq!(
            View::Week.range(tuesday),
            (date(2027, 1, 4), date(2027, 1, 11))
        );
        // January 2027 starts on a Friday and ends on a Sunday.
        assert_eq!(
            View::Month.range(tuesday),
            (date(2026, 12, 28), date(2027, 2, 1))
        );
        assert_eq!(View::Month.step(date(2027, 1, 31), true), date(2027, 2, 28));
        assert_eq!(View::Week.step(tuesday, false), date(2026, 12, 29));
    }
}
