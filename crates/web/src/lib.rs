//! The HTTP face of hnth: server-rendered pages, the REST API under `/api/v1/` with its
//! OpenAPI document, and authentication.
//!
//! [`router`] builds the whole application from an [`AppState`], so tests drive it without a
//! socket and the binary serves it on one. Every request passes through [`context`], which
//! finds the account (session cookie or `Authorization: Bearer` token), picks the reader's
//! language, and turns any [`error::AppError`] into the right answer for a page or the API.
//! Every route checks the account's grants against the unit it touches ([`CurrentUser`]).
//!
//! Pages need no JavaScript and no build step: askama templates compiled into the binary,
//! one stylesheet served from it.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::CookieJar;
use hnth_domain::calendar::WorkCalendar;
use hnth_domain::lang::Lang;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::role::{is_allowed, Grant, Permission, Target};
use hnth_store::accounts::{secret_digest, User};
use hnth_store::{Actor, Store};
use jiff::civil::Date;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod api;
pub mod auth;
pub mod conference;
pub mod console;
pub mod documents;
pub mod error;
pub mod export;
pub mod i18n;
pub mod inbox;
pub mod live;
pub mod live_log;
pub mod pages;
pub mod readiness;
pub mod schedule;
pub mod sessions;

use error::AppError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "hnth_session";
/// The name of the language cookie for visitors who are not logged in.
pub const LANG_COOKIE: &str = "hnth_lang";

/// Settings of the web layer, from the binary's settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (when served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// How long a login lasts.
    pub session_hours: u32,
    /// Failed logins in a row before the account locks.
    pub max_failed_logins: u32,
    /// How long a lock lasts.
    pub lockout_minutes: u32,
    /// Largest accepted upload (CSV import), bytes.
    pub max_upload_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            secure_cookies: false,
            session_hours: 12,
            max_failed_logins: 5,
            lockout_minutes: 15,
            max_upload_bytes: 20 << 20,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The policy in force.
    pub policy: Arc<LoadedPolicy>,
    /// Web settings.
    pub config: Arc<WebConfig>,
    /// The working-day calendar in force (the rules plus the administrator's official
    /// changes); replaced as a whole when an administrator edits it, so a request always
    /// counts with one consistent calendar.
    pub calendar: Arc<std::sync::RwLock<Arc<WorkCalendar>>>,
    /// The operating unit (Sở TT&TT / Sở KH&CN) that approves by default (R-REG-4); `None`
    /// lets the root of the host's tree stand for it.
    pub operating_unit_id: Option<i64>,
    /// Wakes the notification dispatcher (`hnth-notify`) after a write that enqueued notices,
    /// so they leave at once instead of at its next poll. Without a dispatcher (tests) a
    /// fresh `Notify` that nobody waits on.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Tells open pages that a session changed (server-sent events, [`live`]).
    pub live: live::LiveHub,
    /// The live conferences on the media server; `None` when this process runs none.
    pub conferences: Option<Arc<conference::Conferences>>,
}

impl AppState {
    /// The calendar in force now.
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        // A poisoned lock means a panic while swapping an `Arc`: the value is still whole.
        self.calendar
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reloads the calendar from the store after an edit.
    pub async fn reload_calendar(&self) -> Result<(), AppError> {
        let fresh = Arc::new(self.store.work_calendar().await?);
        *self
            .calendar
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }

    /// What booking and routing need from the policy.
    pub fn booking_rules<'a>(
        &'a self,
        calendar: &'a WorkCalendar,
    ) -> hnth_store::sessions::BookingRules<'a> {
        let policy = &self.policy.policy;
        hnth_store::sessions::BookingRules {
            capacity: policy.mcu_capacity.value,
            approvers: &policy.approvers.value,
            operating_unit_id: self.operating_unit_id,
            answer_within: policy.registration_answer_within.value,
            carrier_notice_before: policy.carrier_notice_before.value,
            calendar,
        }
    }
}

/// Today in Asia/Ho_Chi_Minh, the date every rule of the deployment counts in.
pub fn today() -> Date {
    now_local().date()
}

/// Now in Asia/Ho_Chi_Minh.
pub fn now_local() -> jiff::Zoned {
    // The zone is bundled into the binary (jiff's `tzdb-bundle-always`), so this lookup
    // cannot fail on a machine without tzdata; fall back to UTC+7 all the same.
    let zone = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh")
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(7)));
    jiff::Timestamp::now().to_zoned(zone)
}

/// Formats an instant as `dd/mm/yyyy HH:MM` in Asia/Ho_Chi_Minh.
pub fn format_instant(at: jiff::Timestamp) -> String {
    let zone = now_local().time_zone().clone();
    at.to_zoned(zone).strftime("%d/%m/%Y %H:%M").to_string()
}

/// Formats a stored RFC 3339 instant for people; unparsable text is shown as is.
pub fn format_stored_instant(text: &str) -> String {
    text.parse::<jiff::Timestamp>()
        .map(format_instant)
        .unwrap_or_else(|_| text.to_string())
}

/// The logged-in account with its grants.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account.
    pub user: User,
    /// Its grants.
    pub grants: Vec<Grant>,
}

impl CurrentUser {
    /// The actor written in the audit trail.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            name: self.user.username.clone(),
        }
    }

    /// Whether some grant includes `permission` (menus).
    pub fn can(&self, permission: Permission) -> bool {
        hnth_domain::role::has_permission(&self.grants, permission)
    }

    /// Fails unless a grant allows `permission` system-wide.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if is_allowed(&self.grants, permission, Target::System) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Fails unless a grant on `unit_id` or an ancestor allows `permission`.
    pub async fn require_on_unit(
        &self,
        store: &Store,
        permission: Permission,
        unit_id: i64,
    ) -> Result<(), AppError> {
        if !self.can(permission) {
            return Err(AppError::Forbidden);
        }
        let chain = store.unit_chain_ids(unit_id).await?;
        if is_allowed(&self.grants, permission, Target::Unit(&chain)) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Per-request facts set by [`context`].
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The reader's language.
    pub lang: Lang,
    /// The account, if logged in.
    pub user: Option<CurrentUser>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Ctx, AppError> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or(AppError::Internal)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<CurrentUser, AppError> {
        parts
            .extensions
            .get::<Ctx>()
            .and_then(|ctx| ctx.user.clone())
            .ok_or(AppError::Unauthenticated)
    }
}

/// Finds the account of a request: a session cookie for pages, a bearer token for the API.
async fn resolve_user(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
) -> Result<Option<CurrentUser>, AppError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let user_id = match (bearer, jar.get(SESSION_COOKIE)) {
        (Some(token), _) => match state.store.api_token_user(token).await? {
            Some(id) => Some(id),
            // A wrong token is an error, not an anonymous request.
            None => return Err(AppError::Unauthenticated),
        },
        (None, Some(cookie)) => {
            state
                .store
                .web_session_user(&secret_digest(cookie.value()))
                .await?
        }
        (None, None) => None,
    };
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let user = state.store.user(user_id).await?;
    if !user.active {
        return Ok(None);
    }
    let grants = state.store.grants(user.id).await?;
    Ok(Some(CurrentUser { user, grants }))
}

/// The language of a visitor who is not logged in: the language cookie; for API clients
/// also `Accept-Language`; Vietnamese otherwise. Pages ignore the browser's language on
/// purpose: the interface is Vietnamese unless the person chooses English.
fn negotiated_lang(headers: &HeaderMap, jar: &CookieJar, is_api: bool) -> Lang {
    if let Some(lang) = jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
        return lang;
    }
    if !is_api {
        return Lang::Vi;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // The first language listed that we speak; Vietnamese otherwise.
    accept
        .split(',')
        .filter_map(|part| part.split(';').next())
        .find_map(|tag| Lang::parse(tag.trim()).or_else(|| Lang::parse(tag.trim().get(..2)?)))
        .unwrap_or_default()
}

/// The middleware every request passes: account, language, error rendering.
pub async fn context(
    State(state): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let is_api = path.starts_with("/api/");
    let resolved = resolve_user(&state, request.headers(), &jar).await;
    let lang_guess = negotiated_lang(request.headers(), &jar, is_api);
    let response = match resolved {
        Ok(user) => {
            let lang = user.as_ref().map_or(lang_guess, |u| u.user.lang);
            request.extensions_mut().insert(Ctx { lang, user });
            let response = next.run(request).await;
            return render_error(response, lang, is_api, &path);
        }
        Err(error) => error.into_response(),
    };
    render_error(response, lang_guess, is_api, &path)
}

fn render_error(response: Response, lang: Lang, is_api: bool, path: &str) -> Response {
    let Some(error) = response.extensions().get::<AppError>().cloned() else {
        return response;
    };
    if is_api {
        let mut response = (error.status(), axum::Json(error.to_json(lang))).into_response();
        if matches!(error, AppError::Unauthenticated) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return response;
    }
    if matches!(error, AppError::Unauthenticated) {
        let next = if path == "/" {
            String::new()
        } else {
            format!("?next={}", pages::url_encode(path))
        };
        return Redirect::to(&format!("/login{next}")).into_response();
    }
    (error.status(), pages::error_page(&error, lang)).into_response()
}

async fn healthz(State(state): State<AppState>) -> Response {
    let database = state.store.ping().await.is_ok();
    let status = if database { "ok" } else { "degraded" };
    let code = if database {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        axum::Json(serde_json::json!({ "status": status, "version": env!("CARGO_PKG_VERSION") })),
    )
        .into_response()
}

/// The files under `static/`, built into the binary so that `cargo run` is enough: the
/// stylesheet and the small plain ES modules some pages use (no build step).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../static/app.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/live.js"),
    ),
    (
        "conference.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/conference.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/console.js"),
    ),
    (
        "conference.css",
        "text/css; charset=utf-8",
        include_str!("../static/conference.css"),
    ),
];

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => AppError::NotFound("file").into_response(),
    }
}

async fn not_found() -> AppError {
    AppError::NotFound("page")
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api_routes, openapi) = api::router()
        .merge(inbox::api_router())
        .merge(sessions::api_router())
        .merge(documents::api_router())
        .merge(readiness::api_router())
        .merge(conference::api_router())
        .merge(live_log::api_router())
        .merge(schedule::api_router())
        .split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(pages::router())
        .merge(inbox::router())
        .merge(sessions::router())
        .merge(documents::router())
        .merge(readiness::router())
        .merge(conference::router())
        .merge(console::router())
        .merge(live_log::router())
        .merge(schedule::router())
        .merge(api_routes)
        .route("/api/openapi.json", get(move || async move { axum::Json(openapi.as_ref().clone()) }))
        .route("/healthz", get(healthz))
        .route("/static/{file}", get(asset))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), context))
        .layer(axum::extract::DefaultBodyLimit::max(state.config.max_upload_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Renders an askama template to an HTML response, logging a render failure.
pub fn render(template: &impl askama::Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            AppError::Internal.into_response()
        }
    }
}
