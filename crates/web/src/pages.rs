//! Server-rendered pages: the unit tree, endpoints, contacts, import, policy, audit trail,
//! accounts.
//!
//! Handlers build small view structs of display-ready strings (dates as `dd/mm/yyyy`, labels
//! in the reader's language) and hand them to askama templates in `templates/`. Forms post
//! back to the same URL; on a validation error the form is shown again with each message next
//! to its field and nothing stored.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hnth_domain::contact::{ContactForm, ContactRole};
use hnth_domain::endpoint::{EndpointForm, EndpointStatus, NetworkKind, TerminalKind};
use hnth_domain::import::{read_csv, ImportErrors, ImportKind};
use hnth_domain::lang::Lang;
use hnth_domain::role::Permission;
use hnth_domain::unit::{UnitForm, UnitKind};
use hnth_domain::validate::{format_date, Invalid};
use hnth_store::directory::{
    ContactFilter, ContactListing, EndpointFilter, EndpointListing, UnitFilter,
};
use hnth_store::import::ImportSummary;
use hnth_store::Page;
use serde::Deserialize;

use crate::error::{AppError, Form, Path, Query};
use crate::i18n::{texts, Texts};
use crate::{auth, export, format_stored_instant, render, today, AppState, Ctx, CurrentUser};

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/units") }))
        .route("/login", get(auth::login_page).post(auth::login_submit))
        .route("/logout", post(auth::logout))
        .route("/lang", post(auth::set_lang))
        .route("/units", get(units_page).post(unit_create))
        .route("/units/new", get(unit_new))
        .route("/units/{id}", get(unit_page))
        .route("/units/{id}/edit", get(unit_edit).post(unit_update))
        .route("/endpoints", get(endpoints_page).post(endpoint_create))
        .route("/endpoints/new", get(endpoint_new))
        .route("/endpoints/{id}", get(endpoint_page))
        .route(
            "/endpoints/{id}/edit",
            get(endpoint_edit).post(endpoint_update),
        )
        .route("/contacts", get(contacts_page).post(contact_create))
        .route("/contacts/new", get(contact_new))
        .route(
            "/contacts/{id}/replace",
            get(contact_replace_page).post(contact_replace),
        )
        .route("/contacts/{id}/end", post(contact_end))
        .route("/import", get(import_page).post(import_upload))
        .route("/exports/contacts.xlsx", get(export::contacts_xlsx))
        .route("/exports/contacts.csv", get(export::contacts_csv))
        .route("/policy", get(policy_page))
        .route("/audit", get(audit_page))
        .route("/users", get(users_page))
        .route("/account", get(account_page))
        .route("/account/tokens", post(account_token_create))
}

/// Percent-encodes a path for a `?next=` parameter.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What every page shows around its content.
pub struct Chrome {
    /// Phrases in the reader's language.
    pub t: &'static Texts,
    /// The reader's language.
    pub lang: Lang,
    /// Who is logged in.
    pub user_name: String,
    /// The current path (for the language switch).
    pub path: String,
    /// Which section is open.
    pub section: &'static str,
    /// Menu entries the account may use.
    pub can_import: bool,
    /// Policy page.
    pub can_policy: bool,
    /// Audit trail.
    pub can_audit: bool,
    /// Accounts page.
    pub can_users: bool,
    /// Exports.
    pub can_export: bool,
    /// The published schedule of sessions.
    pub can_schedule: bool,
    /// The MCU operator's console.
    pub can_console: bool,
}

impl Chrome {
    /// The chrome of a page in `section` at `path`.
    pub(crate) fn new(
        user: &CurrentUser,
        lang: Lang,
        path: impl Into<String>,
        section: &'static str,
    ) -> Chrome {
        Chrome {
            t: texts(lang),
            lang,
            user_name: user.user.full_name.clone(),
            path: path.into(),
            section,
            can_import: user.can(Permission::DirectoryImport),
            can_policy: user.can(Permission::PolicyRead),
            can_audit: user.can(Permission::AuditRead),
            can_users: user.can(Permission::UsersManage),
            can_export: user.can(Permission::ContactsExport),
            can_schedule: user.can(Permission::ScheduleRead),
            can_console: user.can(Permission::LiveControl),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: &'static Texts,
    lang: Lang,
    title: &'static str,
    message: String,
}

/// The page shown for an error that is not a form's validation.
pub fn error_page(error: &AppError, lang: Lang) -> Response {
    let t = texts(lang);
    let title = match error {
        AppError::NotFound(_) => t.not_found_title,
        AppError::Forbidden => t.forbidden_title,
        _ => t.error_title,
    };
    render(&ErrorPage {
        t,
        lang,
        title,
        message: error.message(lang),
    })
}

/// Messages of a form's fields.
#[derive(Default)]
pub struct FieldErrors(HashMap<&'static str, String>);

impl FieldErrors {
    /// The first message of each field.
    pub(crate) fn from_invalid(invalid: &Invalid, lang: Lang) -> FieldErrors {
        let mut map = HashMap::new();
        for error in &invalid.errors {
            map.entry(error.field)
                .or_insert_with(|| error.message.get(lang).to_string());
        }
        FieldErrors(map)
    }

    /// Adds a message to `field` unless it has one.
    pub(crate) fn insert(&mut self, field: &'static str, message: String) {
        self.0.entry(field).or_insert(message);
    }

    /// The message of `field`, or empty.
    pub fn of(&self, field: &str) -> &str {
        self.0.get(field).map_or("", String::as_str)
    }

    /// Whether there is any message.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

/// A `(code, label)` choice of a select box.
pub struct Choice {
    /// The submitted value.
    pub code: String,
    /// What the user reads.
    pub label: String,
}

/// Choices of a select box from an enum's values.
pub(crate) fn choices<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            code: code(*v).to_string(),
            label: label(*v).to_string(),
        })
        .collect()
}

/// Links to the previous and next pages of a listing.
pub struct Pager {
    /// Rows in all pages.
    pub total: u64,
    /// First row shown, 1-based.
    pub from: u64,
    /// Last row shown.
    pub to: u64,
    /// URL of the previous page.
    pub prev: Option<String>,
    /// URL of the next page.
    pub next: Option<String>,
}

impl Pager {
    fn new(base: &str, query: &str, total: u64, page: Page, shown: usize) -> Pager {
        let link = |offset: u32| {
            let sep = if query.is_empty() { "" } else { "&" };
            format!("{base}?{query}{sep}offset={offset}")
        };
        Pager {
            total,
            from: if shown == 0 {
                0
            } else {
                u64::from(page.offset) + 1
            },
            to: u64::from(page.offset) + shown as u64,
            prev: (page.offset > 0).then(|| link(page.offset.saturating_sub(page.limit))),
            next: (u64::from(page.offset) + (shown as u64) < total)
                .then(|| link(page.offset + page.limit)),
        }
    }
}

/// A unit as a row of a list.
pub struct UnitRow {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind in words.
    pub kind: String,
    /// Level in words.
    pub level: String,
    /// Sub-units.
    pub children: u64,
    /// Endpoints.
    pub endpoints: u64,
    /// "dd/mm/yyyy" end of validity, empty if none.
    pub ceased: String,
}

async fn level_names(state: &AppState, lang: Lang) -> Result<HashMap<String, String>, AppError> {
    Ok(state
        .store
        .levels()
        .await?
        .into_iter()
        .map(|l| (l.def.code.clone(), l.def.name(lang).to_string()))
        .collect())
}

fn unit_row(
    unit: &hnth_domain::unit::Unit,
    levels: &HashMap<String, String>,
    lang: Lang,
    children: u64,
    endpoints: u64,
) -> UnitRow {
    UnitRow {
        id: unit.id,
        code: unit.code.clone(),
        name: unit.name.clone(),
        kind: unit.kind.label(lang).to_string(),
        level: levels
            .get(&unit.level)
            .cloned()
            .unwrap_or_else(|| unit.level.clone()),
        children,
        endpoints,
        ceased: unit.valid_to.map(format_date).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage {
    chrome: Chrome,
    q: String,
    show_dissolved: bool,
    rows: Vec<UnitRow>,
    searching: bool,
    pager: Pager,
    can_add_root: bool,
}

/// Query of list pages.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    dissolved: Option<String>,
    history: Option<String>,
    status: String,
    role: String,
    offset: u32,
}

pub(crate) async fn can_write_roots(
    state: &AppState,
    user: &CurrentUser,
) -> Result<bool, AppError> {
    for grant in user
        .grants
        .iter()
        .filter(|g| g.role.allows(Permission::DirectoryWrite))
    {
        if state.store.unit(grant.unit_id).await?.parent_id.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn units_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::DirectoryRead)?;
    let lang = ctx.lang;
    let levels = level_names(&state, lang).await?;
    let show_dissolved = query.dissolved.is_some();
    let active_on = (!show_dissolved).then(today);
    let searching = !query.q.trim().is_empty();
    let page = Page::new(50, query.offset);
    let (rows, total, shown) = if searching {
        let found = state
            .store
            .list_units(
                &UnitFilter {
                    q: Some(query.q.clone()),
                    active_on,
                    ..Default::default()
                },
                page,
            )
            .await?;
        let n = found.items.len();
        (
            found
                .items
                .iter()
                .map(|u| unit_row(u, &levels, lang, 0, 0))
                .collect(),
            found.total,
            n,
        )
    } else {
        let roots = state.store.unit_children(None, active_on).await?;
        let n = roots.len();
        (
            roots
                .iter()
                .map(|n| unit_row(&n.unit, &levels, lang, n.child_count, n.endpoint_count))
                .collect(),
            n as u64,
            n,
        )
    };
    let mut params = format!("q={}", url_encode(&query.q));
    if show_dissolved {
        params.push_str("&dissolved=1");
    }
    Ok(render(&UnitsPage {
        chrome: Chrome::new(&user, lang, "/units", "units"),
        q: query.q,
        show_dissolved,
        rows,
        searching,
        pager: Pager::new("/units", &params, total, page, shown),
        can_add_root: can_write_roots(&state, &user).await?,
    }))
}

/// A contact as a row.
pub struct ContactRow {
    /// Id.
    pub id: i64,
    /// Unit id.
    pub unit_id: i64,
    /// Unit name.
    pub unit_name: String,
    /// Role in words.
    pub role: String,
    /// Full name.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Since.
    pub since: String,
    /// Until, empty if current.
    pub until: String,
    /// Whether current.
    pub current: bool,
}

fn contact_row(listing: &ContactListing, lang: Lang) -> ContactRow {
    let c = &listing.contact;
    ContactRow {
        id: c.id,
        unit_id: c.unit_id,
        unit_name: listing.unit_name.clone(),
        role: c.role.label(lang).to_string(),
        full_name: c.full_name.clone(),
        position: c.position.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        since: format_date(c.valid_from),
        until: c.valid_to.map(format_date).unwrap_or_default(),
        current: c.is_current(),
    }
}

/// An endpoint as a row.
pub struct EndpointRow {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Room name.
    pub name: String,
    /// Unit id.
    pub unit_id: i64,
    /// Unit name.
    pub unit_name: String,
    /// Terminal in words.
    pub terminal: String,
    /// Network in words.
    pub network: String,
    /// Status in words.
    pub status: String,
    /// Status code, for the badge colour.
    pub status_code: &'static str,
    /// Seats.
    pub seats: u32,
    /// Control rights.
    pub control: bool,
}

fn endpoint_row(listing: &EndpointListing, lang: Lang) -> EndpointRow {
    let e = &listing.endpoint;
    EndpointRow {
        id: e.id,
        code: e.code.clone(),
        name: e.name.clone(),
        unit_id: e.unit_id,
        unit_name: listing.unit_name.clone(),
        terminal: e.terminal.label(lang).to_string(),
        network: e.network.label(lang).to_string(),
        status: e.status.label(lang).to_string(),
        status_code: e.status.as_str(),
        seats: e.seats,
        control: e.control_right,
    }
}

/// One step of the breadcrumbs.
pub struct Crumb {
    /// Unit id.
    pub id: i64,
    /// Unit name.
    pub name: String,
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    chrome: Chrome,
    unit: UnitRow,
    address: String,
    phone: String,
    email: String,
    valid_from: String,
    successor: Option<Crumb>,
    crumbs: Vec<Crumb>,
    children: Vec<UnitRow>,
    endpoints: Vec<EndpointRow>,
    contacts: Vec<ContactRow>,
    show_history: bool,
    can_write: bool,
    can_contacts: bool,
}

async fn unit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::DirectoryRead)?; // the directory is shared across the government
    let lang = ctx.lang;
    let levels = level_names(&state, lang).await?;
    let chain = state.store.unit_chain(id).await?;
    let unit = &chain[0];
    let children = state.store.unit_children(Some(id), None).await?;
    let endpoints = state
        .store
        .list_endpoints(
            &EndpointFilter {
                unit_id: Some(id),
                ..Default::default()
            },
            Page::all(),
        )
        .await?;
    let show_history = query.history.is_some();
    let contacts = state
        .store
        .list_contacts(
            &ContactFilter {
                unit_id: Some(id),
                include_history: show_history,
                ..Default::default()
            },
            Page::all(),
        )
        .await?;
    let successor = match unit.successor_id {
        Some(sid) => Some(state.store.unit(sid).await.map(|s| Crumb {
            id: s.id,
            name: s.name,
        })?),
        None => None,
    };
    let can_write = user
        .require_on_unit(&state.store, Permission::DirectoryWrite, id)
        .await
        .is_ok();
    let can_contacts = user
        .require_on_unit(&state.store, Permission::ContactsWrite, id)
        .await
        .is_ok();
    Ok(render(&UnitPage {
        chrome: Chrome::new(&user, lang, format!("/units/{id}"), "units"),
        unit: unit_row(unit, &levels, lang, children.len() as u64, endpoints.total),
        address: unit.address.clone(),
        phone: unit.phone.clone(),
        email: unit.email.clone(),
        valid_from: format_date(unit.valid_from),
        successor,
        crumbs: chain
            .iter()
            .skip(1)
            .rev()
            .map(|u| Crumb {
                id: u.id,
                name: u.name.clone(),
            })
            .collect(),
        children: children
            .iter()
            .map(|n| unit_row(&n.unit, &levels, lang, n.child_count, n.endpoint_count))
            .collect(),
        endpoints: endpoints
            .items
            .iter()
            .map(|e| endpoint_row(e, lang))
            .collect(),
        contacts: contacts
            .items
            .iter()
            .map(|c| contact_row(c, lang))
            .collect(),
        show_history,
        can_write,
        can_contacts,
    }))
}

#[derive(Template)]
#[template(path = "unit_form.html")]
struct UnitFormPage {
    chrome: Chrome,
    title: &'static str,
    action: String,
    cancel: String,
    form: UnitForm,
    errors: FieldErrors,
    kinds: Vec<Choice>,
    levels: Vec<Choice>,
}

async fn unit_form_page(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    existing: Option<i64>,
    form: UnitForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let t = texts(lang);
    let levels = state.store.levels().await?;
    let (title, action, cancel) = match existing {
        Some(id) => (t.edit, format!("/units/{id}/edit"), format!("/units/{id}")),
        None => (t.unit_new, "/units".to_string(), "/units".to_string()),
    };
    let page = UnitFormPage {
        chrome: Chrome::new(user, lang, action.clone(), "units"),
        title,
        action,
        cancel,
        form,
        kinds: choices(&UnitKind::ALL, UnitKind::as_str, |k| k.label(lang)),
        levels: levels
            .iter()
            .map(|l| Choice {
                code: l.def.code.clone(),
                label: l.def.name(lang).to_string(),
            })
            .collect(),
        errors,
    };
    let mut response = render(&page);
    if page.errors.any() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `?parent=CODE` / `?unit=CODE` of the new-item forms.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    parent: String,
    unit: String,
}

/// Checks that the account may write units under `parent_code` (or at the top).
pub(crate) async fn require_unit_write(
    state: &AppState,
    user: &CurrentUser,
    parent_code: &str,
) -> Result<(), AppError> {
    if parent_code.trim().is_empty() {
        return if can_write_roots(state, user).await? {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        };
    }
    match state.store.unit_by_code(parent_code).await? {
        Some(parent) => {
            user.require_on_unit(&state.store, Permission::DirectoryWrite, parent.id)
                .await
        }
        // An unknown parent is a field error the form shows; rights are checked on the account's reach.
        None => user.require(Permission::DirectoryWrite),
    }
}

async fn unit_new(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    require_unit_write(&state, &user, &query.parent).await?;
    let mut form = UnitForm {
        parent_code: query.parent.clone(),
        valid_from: format_date(today()),
        ..Default::default()
    };
    if let Some(parent) = state.store.unit_by_code(&query.parent).await? {
        form.level = parent.level;
    }
    unit_form_page(&state, &user, ctx.lang, None, form, FieldErrors::default()).await
}

async fn unit_create(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<UnitForm>,
) -> Result<Response, AppError> {
    require_unit_write(&state, &user, &form.parent_code).await?;
    let levels = state.store.levels().await?;
    let outcome = match form.parse(&levels, today()) {
        Ok(spec) => state
            .store
            .create_unit(&user.actor(), &spec)
            .await
            .map_err(AppError::from),
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(unit) => Ok(Redirect::to(&format!("/units/{}", unit.id)).into_response()),
        Err(AppError::Invalid(invalid)) => {
            let errors = FieldErrors::from_invalid(&invalid, ctx.lang);
            unit_form_page(&state, &user, ctx.lang, None, form, errors).await
        }
        Err(other) => Err(other),
    }
}

async fn unit_edit(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require_on_unit(&state.store, Permission::DirectoryWrite, id)
        .await?;
    let unit = state.store.unit(id).await?;
    let parent_code = match unit.parent_id {
        Some(p) => Some(state.store.unit(p).await?.code),
        None => None,
    };
    let successor_code = match unit.successor_id {
        Some(s) => Some(state.store.unit(s).await?.code),
        None => None,
    };
    let form = UnitForm::from_unit(&unit, parent_code.as_deref(), successor_code.as_deref());
    unit_form_page(
        &state,
        &user,
        ctx.lang,
        Some(id),
        form,
        FieldErrors::default(),
    )
    .await
}

async fn unit_update(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<UnitForm>,
) -> Result<Response, AppError> {
    user.require_on_unit(&state.store, Permission::DirectoryWrite, id)
        .await?;
    let current = state.store.unit(id).await?;
    let current_parent = match current.parent_id {
        Some(p) => state.store.unit(p).await?.code,
        None => String::new(),
    };
    if !form
        .parent_code
        .trim()
        .eq_ignore_ascii_case(&current_parent)
    {
        // Moving a unit needs the right on the new parent too.
        require_unit_write(&state, &user, &form.parent_code).await?;
    }
    let levels = state.store.levels().await?;
    let outcome = match form.parse(&levels, today()) {
        Ok(spec) => state
            .store
            .update_unit(&user.actor(), id, &spec)
            .await
            .map_err(AppError::from),
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/units/{id}")).into_response()),
        Err(AppError::Invalid(invalid)) => {
            let errors = FieldErrors::from_invalid(&invalid, ctx.lang);
            unit_form_page(&state, &user, ctx.lang, Some(id), form, errors).await
        }
        Err(other) => Err(other),
    }
}

#[derive(Template)]
#[template(path = "endpoints.html")]
struct EndpointsPage {
    chrome: Chrome,
    q: String,
    status: String,
    statuses: Vec<Choice>,
    rows: Vec<EndpointRow>,
    pager: Pager,
}

async fn endpoints_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::DirectoryRead)?;
    let lang = ctx.lang;
    let page = Page::new(50, query.offset);
    let status = EndpointStatus::parse(&query.status);
    let found = state
        .store
        .list_endpoints(
            &EndpointFilter {
                q: Some(query.q.clone()),
                status,
                ..Default::default()
            },
            page,
        )
        .await?;
    let params = format!(
        "q={}&status={}",
        url_encode(&query.q),
        url_encode(&query.status)
    );
    Ok(render(&EndpointsPage {
        chrome: Chrome::new(&user, lang, "/endpoints", "endpoints"),
        pager: Pager::new("/endpoints", &params, found.total, page, found.items.len()),
        rows: found.items.iter().map(|e| endpoint_row(e, lang)).collect(),
        q: query.q,
        status: query.status,
        statuses: choices(EndpointStatus::ALL, EndpointStatus::as_str, |s| {
            s.label(lang)
        }),
    }))
}

#[derive(Template)]
#[template(path = "endpoint.html")]
struct EndpointPage {
    chrome: Chrome,
    row: EndpointRow,
    unit_code: String,
    address: String,
    equipment: String,
    has_control_laptop: bool,
    vpn_token_issued: bool,
    crumbs: Vec<Crumb>,
    can_write: bool,
}

async fn endpoint_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let listing = state.store.endpoint(id).await?;
    let unit_id = listing.endpoint.unit_id;
    user.require(Permission::DirectoryRead)?; // the directory is shared across the government
    let chain = state.store.unit_chain(unit_id).await?;
    let e = &listing.endpoint;
    Ok(render(&EndpointPage {
        chrome: Chrome::new(&user, ctx.lang, format!("/endpoints/{id}"), "endpoints"),
        row: endpoint_row(&listing, ctx.lang),
        unit_code: listing.unit_code.clone(),
        address: e.address.clone(),
        equipment: e.equipment.clone(),
        has_control_laptop: e.has_control_laptop,
        vpn_token_issued: e.vpn_token_issued,
        crumbs: chain
            .iter()
            .rev()
            .map(|u| Crumb {
                id: u.id,
                name: u.name.clone(),
            })
            .collect(),
        can_write: user
            .require_on_unit(&state.store, Permission::DirectoryWrite, unit_id)
            .await
            .is_ok(),
    }))
}

#[derive(Template)]
#[template(path = "endpoint_form.html")]
struct EndpointFormPage {
    chrome: Chrome,
    title: &'static str,
    action: String,
    cancel: String,
    form: EndpointForm,
    errors: FieldErrors,
    terminals: Vec<Choice>,
    networks: Vec<Choice>,
    statuses: Vec<Choice>,
}

fn is_checked(flag: &str) -> bool {
    matches!(
        flag.trim().to_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "có" | "x"
    )
}

impl EndpointFormPage {
    fn checked(&self, field: &str) -> bool {
        is_checked(match field {
            "control_right" => &self.form.control_right,
            "has_control_laptop" => &self.form.has_control_laptop,
            _ => &self.form.vpn_token_issued,
        })
    }
}

async fn endpoint_form_page(
    user: &CurrentUser,
    lang: Lang,
    existing: Option<i64>,
    form: EndpointForm,
    errors: FieldErrors,
) -> Response {
    let t = texts(lang);
    let (title, action, cancel) = match existing {
        Some(id) => (
            t.edit,
            format!("/endpoints/{id}/edit"),
            format!("/endpoints/{id}"),
        ),
        None => (
            t.endpoint_new,
            "/endpoints".to_string(),
            "/endpoints".to_string(),
        ),
    };
    let page = EndpointFormPage {
        chrome: Chrome::new(user, lang, action.clone(), "endpoints"),
        title,
        action,
        cancel,
        form,
        terminals: choices(TerminalKind::ALL, TerminalKind::as_str, |v| v.label(lang)),
        networks: choices(NetworkKind::ALL, NetworkKind::as_str, |v| v.label(lang)),
        statuses: choices(EndpointStatus::ALL, EndpointStatus::as_str, |v| {
            v.label(lang)
        }),
        errors,
    };
    let mut response = render(&page);
    if page.errors.any() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// Checks a write right on the unit named by `code`; an unknown code is left to the form.
pub(crate) async fn require_on_unit_code(
    state: &AppState,
    user: &CurrentUser,
    permission: Permission,
    code: &str,
) -> Result<(), AppError> {
    match state.store.unit_by_code(code).await? {
        Some(unit) => {
            user.require_on_unit(&state.store, permission, unit.id)
                .await
        }
        None => user.require(permission),
    }
}

/// HTML checkboxes send nothing when unticked: an absent flag is "no".
fn normalise_flags(form: &mut EndpointForm) {
    for flag in [
        &mut form.control_right,
        &mut form.has_control_laptop,
        &mut form.vpn_token_issued,
    ] {
        if flag.trim().is_empty() {
            *flag = "0".to_string();
        }
    }
}

async fn endpoint_new(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    require_on_unit_code(&state, &user, Permission::DirectoryWrite, &query.unit).await?;
    let form = EndpointForm {
        unit_code: query.unit,
        terminal: TerminalKind::RoomSystem.as_str().into(),
        network: NetworkKind::Dedicated.as_str().into(),
        status: EndpointStatus::Active.as_str().into(),
        ..Default::default()
    };
    Ok(endpoint_form_page(&user, ctx.lang, None, form, FieldErrors::default()).await)
}

async fn endpoint_create(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(mut form): Form<EndpointForm>,
) -> Result<Response, AppError> {
    require_on_unit_code(&state, &user, Permission::DirectoryWrite, &form.unit_code).await?;
    normalise_flags(&mut form);
    let outcome = match form.parse() {
        Ok(spec) => state
            .store
            .create_endpoint(&user.actor(), &state.policy.policy, &spec, today())
            .await
            .map_err(AppError::from),
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(endpoint) => Ok(Redirect::to(&format!("/endpoints/{}", endpoint.id)).into_response()),
        Err(AppError::Invalid(invalid)) => Ok(endpoint_form_page(
            &user,
            ctx.lang,
            None,
            form,
            FieldErrors::from_invalid(&invalid, ctx.lang),
        )
        .await),
        Err(other) => Err(other),
    }
}

async fn endpoint_edit(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let listing = state.store.endpoint(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::DirectoryWrite,
        listing.endpoint.unit_id,
    )
    .await?;
    let form = EndpointForm::from_endpoint(&listing.endpoint, &listing.unit_code);
    Ok(endpoint_form_page(&user, ctx.lang, Some(id), form, FieldErrors::default()).await)
}

async fn endpoint_update(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(mut form): Form<EndpointForm>,
) -> Result<Response, AppError> {
    let listing = state.store.endpoint(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::DirectoryWrite,
        listing.endpoint.unit_id,
    )
    .await?;
    require_on_unit_code(&state, &user, Permission::DirectoryWrite, &form.unit_code).await?;
    normalise_flags(&mut form);
    let outcome = match form.parse() {
        Ok(spec) => state
            .store
            .update_endpoint(&user.actor(), &state.policy.policy, id, &spec, today())
            .await
            .map_err(AppError::from),
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/endpoints/{id}")).into_response()),
        Err(AppError::Invalid(invalid)) => Ok(endpoint_form_page(
            &user,
            ctx.lang,
            Some(id),
            form,
            FieldErrors::from_invalid(&invalid, ctx.lang),
        )
        .await),
        Err(other) => Err(other),
    }
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    chrome: Chrome,
    role: String,
    roles: Vec<Choice>,
    show_history: bool,
    rows: Vec<ContactRow>,
    pager: Pager,
}

async fn contacts_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::DirectoryRead)?;
    let lang = ctx.lang;
    let page = Page::new(100, query.offset);
    let show_history = query.history.is_some();
    let found = state
        .store
        .list_contacts(
            &ContactFilter {
                role: ContactRole::parse(&query.role),
                include_history: show_history,
                ..Default::default()
            },
            page,
        )
        .await?;
    let mut params = format!("role={}", url_encode(&query.role));
    if show_history {
        params.push_str("&history=1");
    }
    Ok(render(&ContactsPage {
        chrome: Chrome::new(&user, lang, "/contacts", "contacts"),
        pager: Pager::new("/contacts", &params, found.total, page, found.items.len()),
        rows: found.items.iter().map(|c| contact_row(c, lang)).collect(),
        role: query.role,
        roles: choices(&ContactRole::ALL, ContactRole::as_str, |r| r.label(lang)),
        show_history,
    }))
}

#[derive(Template)]
#[template(path = "contact_form.html")]
struct ContactFormPage {
    chrome: Chrome,
    title: &'static str,
    action: String,
    cancel: String,
    form: ContactForm,
    errors: FieldErrors,
    roles: Vec<Choice>,
    /// Replacing keeps unit and role fixed.
    replacing: Option<ContactRow>,
}

async fn contact_form_page(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    replacing: Option<i64>,
    form: ContactForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let t = texts(lang);
    let unit_url = match state.store.unit_by_code(&form.unit_code).await? {
        Some(unit) => format!("/units/{}", unit.id),
        None => "/contacts".to_string(),
    };
    let (title, action, replacing) = match replacing {
        Some(id) => (
            t.replace_title,
            format!("/contacts/{id}/replace"),
            Some(contact_row(&state.store.contact(id).await?, lang)),
        ),
        None => (t.contact_new, "/contacts".to_string(), None),
    };
    let page = ContactFormPage {
        chrome: Chrome::new(user, lang, action.clone(), "contacts"),
        title,
        action,
        cancel: unit_url,
        form,
        roles: choices(&ContactRole::ALL, ContactRole::as_str, |r| r.label(lang)),
        replacing,
        errors,
    };
    let mut response = render(&page);
    if page.errors.any() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn contact_new(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    require_on_unit_code(&state, &user, Permission::ContactsWrite, &query.unit).await?;
    let form = ContactForm {
        unit_code: query.unit,
        role: ContactRole::MainTechnician.as_str().into(),
        ..Default::default()
    };
    contact_form_page(&state, &user, ctx.lang, None, form, FieldErrors::default()).await
}

async fn contact_create(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    require_on_unit_code(&state, &user, Permission::ContactsWrite, &form.unit_code).await?;
    let outcome = match form.parse() {
        Ok(spec) => state
            .store
            .add_contact(&user.actor(), &spec, today())
            .await
            .map_err(AppError::from),
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(contact) => Ok(Redirect::to(&format!("/units/{}", contact.unit_id)).into_response()),
        Err(AppError::Invalid(invalid)) => {
            let errors = FieldErrors::from_invalid(&invalid, ctx.lang);
            contact_form_page(&state, &user, ctx.lang, None, form, errors).await
        }
        Err(other) => Err(other),
    }
}

async fn contact_replace_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let listing = state.store.contact(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::ContactsWrite,
        listing.contact.unit_id,
    )
    .await?;
    let form = ContactForm {
        unit_code: listing.unit_code,
        role: listing.contact.role.as_str().into(),
        ..Default::default()
    };
    contact_form_page(
        &state,
        &user,
        ctx.lang,
        Some(id),
        form,
        FieldErrors::default(),
    )
    .await
}

async fn contact_replace(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(mut form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let listing = state.store.contact(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::ContactsWrite,
        listing.contact.unit_id,
    )
    .await?;
    form.unit_code = listing.unit_code.clone();
    form.role = listing.contact.role.as_str().to_string();
    let outcome = match form.parse() {
        Ok(spec) => state
            .store
            .replace_contact(&user.actor(), id, &spec, today())
            .await
            .map_err(AppError::from),
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    match outcome {
        Ok(contact) => Ok(Redirect::to(&format!("/units/{}", contact.unit_id)).into_response()),
        Err(AppError::Invalid(invalid)) => {
            let errors = FieldErrors::from_invalid(&invalid, ctx.lang);
            contact_form_page(&state, &user, ctx.lang, Some(id), form, errors).await
        }
        Err(other) => Err(other),
    }
}

async fn contact_end(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let listing = state.store.contact(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::ContactsWrite,
        listing.contact.unit_id,
    )
    .await?;
    state.store.end_contact(&user.actor(), id, today()).await?;
    Ok(Redirect::to(&format!("/units/{}?history=1", listing.contact.unit_id)).into_response())
}

/// The columns of one kind of import file, for the help table.
pub struct ImportHelp {
    /// Kind in words.
    pub kind: &'static str,
    /// Required columns.
    pub required: String,
    /// Optional columns.
    pub optional: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    help: Vec<ImportHelp>,
    report: Vec<String>,
    failed: bool,
    summary: Option<String>,
}

fn import_page_view(
    user: &CurrentUser,
    lang: Lang,
    report: Vec<String>,
    failed: bool,
    summary: Option<String>,
) -> ImportPage {
    let help = [
        ImportKind::Units,
        ImportKind::Endpoints,
        ImportKind::Contacts,
    ]
    .into_iter()
    .map(|kind| {
        let (required, optional) = kind.columns();
        ImportHelp {
            kind: kind.label(lang),
            required: required.join(", "),
            optional: optional.join(", "),
        }
    })
    .collect();
    ImportPage {
        chrome: Chrome::new(user, lang, "/import", "import"),
        help,
        report,
        failed,
        summary,
    }
}

async fn import_page(ctx: Ctx, user: CurrentUser) -> Result<Response, AppError> {
    user.require(Permission::DirectoryImport)?;
    Ok(render(&import_page_view(
        &user,
        ctx.lang,
        Vec::new(),
        false,
        None,
    )))
}

/// Reads, scope-checks and applies a directory file for `user`.
pub async fn run_import(
    state: &AppState,
    user: &CurrentUser,
    bytes: &[u8],
) -> Result<ImportSummary, AppError> {
    user.require(Permission::DirectoryImport)?;
    let levels = state.store.levels().await?;
    let rows = read_csv(bytes, &levels, today()).map_err(AppError::Import)?;
    check_import_scope(state, user, &rows).await?;
    Ok(state
        .store
        .import(&user.actor(), &state.policy.policy, &rows, today(), &|_| {})
        .await?)
}

/// Every unit a file touches must be within the account's import grants; rows naming a unit
/// the file itself creates are covered by that unit's parent.
async fn check_import_scope(
    state: &AppState,
    user: &CurrentUser,
    rows: &hnth_domain::import::ImportRows,
) -> Result<(), AppError> {
    use hnth_domain::import::ImportRows;
    let mut touched: Vec<(u64, String)> = Vec::new();
    match rows {
        ImportRows::Units(units) => {
            for (line, spec) in units {
                touched.push((*line, spec.code.clone()));
                match &spec.parent_code {
                    Some(parent) => touched.push((*line, parent.clone())),
                    None => touched.push((*line, String::new())),
                }
            }
        }
        ImportRows::Endpoints(endpoints) => {
            touched.extend(endpoints.iter().map(|(l, s)| (*l, s.unit_code.clone())))
        }
        ImportRows::Contacts(contacts) => {
            touched.extend(contacts.iter().map(|(l, s)| (*l, s.unit_code.clone())))
        }
    }
    let mut errors = ImportErrors::default();
    let mut checked: HashMap<String, bool> = HashMap::new();
    for (line, code) in touched {
        let allowed = match checked.get(&code) {
            Some(allowed) => *allowed,
            None => {
                let allowed = if code.is_empty() {
                    can_write_roots(state, user).await?
                } else {
                    match state.store.unit_by_code(&code).await? {
                        Some(unit) => user
                            .require_on_unit(&state.store, Permission::DirectoryImport, unit.id)
                            .await
                            .is_ok(),
                        // Created by this file: its own parent row is checked.
                        None => true,
                    }
                };
                checked.insert(code.clone(), allowed);
                allowed
            }
        };
        if !allowed {
            errors.push(
                line,
                "",
                hnth_domain::lang::Text::new(
                    format!(
                        "Bạn không có quyền nhập dữ liệu cho đơn vị {}.",
                        if code.is_empty() {
                            "cấp cao nhất"
                        } else {
                            &code
                        }
                    ),
                    format!(
                        "You may not import data for unit {}.",
                        if code.is_empty() {
                            "at the top level"
                        } else {
                            &code
                        }
                    ),
                ),
            );
        }
    }
    if errors.errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Import(errors))
    }
}

fn summary_text(summary: &ImportSummary, lang: Lang) -> String {
    let t = texts(lang);
    format!(
        "{}: {} {}, {} {} ({})",
        t.import_done,
        summary.created,
        t.import_created,
        summary.updated,
        t.import_updated,
        summary.kind.label(lang)
    )
}

async fn import_upload(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    user.require(Permission::DirectoryImport)?;
    let lang = ctx.lang;
    let mut bytes = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        AppError::BadRequest(hnth_domain::lang::Text::new(
            format!("Tải tệp lên bị lỗi: {e}"),
            format!("The upload failed: {e}"),
        ))
    })? {
        if field.name() == Some("file") {
            let data = field.bytes().await.map_err(|e| {
                AppError::BadRequest(hnth_domain::lang::Text::new(
                    format!("Tải tệp lên bị lỗi: {e}"),
                    format!("The upload failed: {e}"),
                ))
            })?;
            bytes = Some(data);
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        let page = import_page_view(
            &user,
            lang,
            vec![texts(lang).import_no_file.to_string()],
            true,
            None,
        );
        let mut response = render(&page);
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    match run_import(&state, &user, &bytes).await {
        Ok(summary) => Ok(render(&import_page_view(
            &user,
            lang,
            Vec::new(),
            false,
            Some(summary_text(&summary, lang)),
        ))),
        Err(AppError::Import(errors)) => {
            let mut response = render(&import_page_view(
                &user,
                lang,
                errors.report(lang),
                true,
                None,
            ));
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

/// A policy rule as shown.
pub struct PolicyRow {
    /// Key in the configuration.
    pub key: &'static str,
    /// Value in words.
    pub value: String,
    /// Article or reasoning.
    pub source: String,
    /// Layer in words.
    pub origin: &'static str,
    /// Layer code, for the badge.
    pub origin_code: &'static str,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    profile_name: String,
    profile_id: String,
    document: String,
    rows: Vec<PolicyRow>,
}

async fn policy_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::PolicyRead)?;
    let lang = ctx.lang;
    let loaded = &state.policy;
    let rows = loaded
        .policy
        .entries(lang)
        .into_iter()
        .map(|e| PolicyRow {
            key: e.key,
            value: e.value,
            source: e.source,
            origin: e.origin.label(lang),
            origin_code: match e.origin {
                hnth_domain::policy::Origin::Default => "default",
                hnth_domain::policy::Origin::Seed => "seed",
                hnth_domain::policy::Origin::Config => "config",
            },
        })
        .collect();
    Ok(render(&PolicyPage {
        chrome: Chrome::new(&user, lang, "/policy", "policy"),
        profile_name: match lang {
            Lang::Vi => loaded.profile.name_vi.clone(),
            Lang::En => loaded.profile.name_en.clone(),
        },
        profile_id: loaded.profile.id.clone(),
        document: loaded.profile.document.clone(),
        rows,
    }))
}

/// An audit record as shown.
pub struct AuditRow {
    /// Sequence number.
    pub id: i64,
    /// When, local time.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub subject: String,
    /// Detail JSON.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    pager: Pager,
    chain_ok: bool,
    broken_at: i64,
    records: u64,
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::AuditRead)?;
    let page = Page::new(100, query.offset);
    let records = state.store.audit_records(page).await?;
    let check = state.store.verify_audit_chain().await?;
    Ok(render(&AuditPage {
        chrome: Chrome::new(&user, ctx.lang, "/audit", "audit"),
        pager: Pager::new("/audit", "", records.total, page, records.items.len()),
        rows: records
            .items
            .into_iter()
            .map(|r| AuditRow {
                id: r.id,
                at: format_stored_instant(&r.at),
                actor: r.actor,
                action: r.action,
                subject: r.subject,
                detail: r.detail,
            })
            .collect(),
        chain_ok: check.first_broken.is_none(),
        broken_at: check.first_broken.unwrap_or_default(),
        records: check.records,
    }))
}

/// An account as shown.
pub struct UserRow {
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Grants in words.
    pub roles: String,
    /// Active.
    pub active: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserRow>,
}

async fn users_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::UsersManage)?;
    let users = state
        .store
        .list_users(Page::new(Page::MAX_LIMIT, 0))
        .await?;
    let mut rows = Vec::new();
    for account in users.items {
        let mut roles = Vec::new();
        for grant in state.store.grants(account.id).await? {
            let unit = state.store.unit(grant.unit_id).await?;
            roles.push(format!("{} — {}", grant.role.label(ctx.lang), unit.name));
        }
        rows.push(UserRow {
            username: account.username,
            full_name: account.full_name,
            roles: roles.join("; "),
            active: account.active,
        });
    }
    Ok(render(&UsersPage {
        chrome: Chrome::new(&user, ctx.lang, "/users", "users"),
        rows,
    }))
}

/// A token as shown.
pub struct TokenRow {
    /// Label.
    pub name: String,
    /// Created.
    pub created: String,
    /// Last used.
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    username: String,
    roles: Vec<String>,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
}

async fn account_view(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    new_token: Option<String>,
) -> Result<Response, AppError> {
    let mut roles = Vec::new();
    for grant in &user.grants {
        roles.push(format!(
            "{} — {}",
            grant.role.label(lang),
            state.store.unit(grant.unit_id).await?.name
        ));
    }
    let tokens = state
        .store
        .api_tokens(user.user.id)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| TokenRow {
            name: t.name,
            created: format_stored_instant(&t.created_at),
            last_used: t
                .last_used_at
                .as_deref()
                .map(format_stored_instant)
                .unwrap_or_default(),
        })
        .collect();
    Ok(render(&AccountPage {
        chrome: Chrome::new(user, lang, "/account", "account"),
        username: user.user.username.clone(),
        roles,
        tokens,
        new_token,
    }))
}

async fn account_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    account_view(&state, &user, ctx.lang, None).await
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
}

async fn account_token_create(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim();
    let name = if name.is_empty() { "web" } else { name };
    let secret = state
        .store
        .create_api_token(&user.actor(), user.user.id, name)
        .await?;
    account_view(&state, &user, ctx.lang, Some(secret)).await
}
