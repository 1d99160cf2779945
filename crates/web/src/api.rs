//! The REST API under `/api/v1/`, described by the OpenAPI 3 document at `/api/openapi.json`.
//!
//! Routes are registered through `utoipa_axum::routes!`, which adds each handler to the
//! router and its `#[utoipa::path]` description to the document in one step: a route cannot
//! exist without being documented. The API speaks its own JSON shapes (`…Dto`, `…Input`)
//! rather than the domain types, so the contract stays stable when the domain changes; typed
//! JSON (numbers, booleans) is turned into the domain's forms and validated by the same rules
//! as the pages. Authentication is a personal token in `Authorization: Bearer`, or the
//! session cookie.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hnth_domain::contact::{Contact, ContactForm, ContactRole};
use hnth_domain::endpoint::{EndpointForm, EndpointStatus};
use hnth_domain::lang::Text;
use hnth_domain::role::Permission;
use hnth_domain::unit::{Unit, UnitForm, UnitKind};
use hnth_store::directory::{
    ContactFilter, ContactListing, EndpointFilter, EndpointListing, UnitFilter,
};
use hnth_store::{Page, Paged};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{AppError, Json, Path, Query};
use crate::pages::{require_on_unit_code, require_unit_write, run_import};
use crate::{export, today, AppState, Ctx, CurrentUser};

#[derive(OpenApi)]
#[openapi(
    info(title = "hnth API", description = "Directory, accounts and policy of the hnth video-conference platform. Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}` in the caller's language."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "directory", description = "Units, endpoints, contacts"), (name = "system", description = "Policy, levels, audit, account"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API routes with their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_units, create_unit))
        .routes(routes!(get_unit, update_unit))
        .routes(routes!(unit_children))
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(get_endpoint, update_endpoint))
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact))
        .routes(routes!(replace_contact))
        .routes(routes!(end_contact))
        .routes(routes!(import_csv))
        .routes(routes!(export_contacts_xlsx))
        .routes(routes!(export_contacts_csv))
        .routes(routes!(list_levels))
        .routes(routes!(get_policy))
        .routes(routes!(list_audit))
        .routes(routes!(me))
}

/// The error body of every failing call.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// Details of an error.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code: `unauthenticated`, `forbidden`, `not_found`, `invalid`, `import_rejected`, `conflict`, `bad_request`, `internal`.
    code: String,
    /// Message for a person, in the caller's language.
    message: String,
    /// Per field (`field`, `code`, `message`) or per line of an import (`line`, `field`, `message`).
    fields: Vec<serde_json::Value>,
}

/// A page of results.
#[derive(Serialize, ToSchema)]
pub struct PageDto<T> {
    /// The rows.
    items: Vec<T>,
    /// Rows over all pages.
    total: u64,
    /// Page size.
    limit: u32,
    /// Rows skipped.
    offset: u32,
}

fn page_of<S, T>(paged: Paged<S>, convert: impl Fn(S) -> T) -> PageDto<T> {
    PageDto {
        total: paged.total,
        limit: paged.limit,
        offset: paged.offset,
        items: paged.items.into_iter().map(convert).collect(),
    }
}

/// Paging and search parameters.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words to find in names or codes; Vietnamese marks optional.
    q: Option<String>,
    /// Level code (units).
    level: Option<String>,
    /// Unit kind (units).
    kind: Option<String>,
    /// Only children of this unit (units), or only this unit's (endpoints, contacts).
    unit_id: Option<i64>,
    /// Only units existing on this day, `YYYY-MM-DD` (units).
    active_on: Option<String>,
    /// Endpoint status (endpoints).
    status: Option<String>,
    /// Contact role (contacts).
    role: Option<String>,
    /// Include replaced contacts (contacts).
    history: Option<bool>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
    /// Rows to skip.
    offset: Option<u32>,
}

impl ListParams {
    fn page(&self) -> Page {
        Page::new(self.limit.unwrap_or(50), self.offset.unwrap_or(0))
    }
}

fn bad_param(name: &str, value: &str, expected: &str) -> AppError {
    AppError::BadRequest(Text::new(
        format!("Tham số {name}={value} không hợp lệ; giá trị hợp lệ: {expected}."),
        format!("Parameter {name}={value} is not valid; expected {expected}."),
    ))
}

/// A unit.
#[derive(Serialize, ToSchema)]
pub struct UnitDto {
    id: i64,
    code: String,
    name: String,
    /// `party_office`, `people_council`, `people_committee`, `department`, `fatherland_front`, `carrier`, `power_company`, `police`, `other`.
    kind: String,
    /// Level code of the policy in force.
    level: String,
    parent_id: Option<i64>,
    address: String,
    phone: String,
    email: String,
    /// `YYYY-MM-DD`.
    valid_from: String,
    /// `YYYY-MM-DD`, when the body ceased (merger, dissolution).
    valid_to: Option<String>,
    /// The body that took over.
    successor_id: Option<i64>,
}

impl From<Unit> for UnitDto {
    fn from(u: Unit) -> UnitDto {
        UnitDto {
            id: u.id,
            code: u.code,
            name: u.name,
            kind: u.kind.as_str().to_string(),
            level: u.level,
            parent_id: u.parent_id,
            address: u.address,
            phone: u.phone,
            email: u.email,
            valid_from: u.valid_from.to_string(),
            valid_to: u.valid_to.map(|d| d.to_string()),
            successor_id: u.successor_id,
        }
    }
}

/// Fields to create or replace a unit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    code: String,
    name: String,
    kind: String,
    level: String,
    #[serde(default)]
    parent_code: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// `YYYY-MM-DD` or `dd/mm/yyyy`; today when absent.
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_to: Option<String>,
    #[serde(default)]
    successor_code: Option<String>,
}

impl From<UnitInput> for UnitForm {
    fn from(i: UnitInput) -> UnitForm {
        UnitForm {
            code: i.code,
            name: i.name,
            kind: i.kind,
            level: i.level,
            parent_code: i.parent_code.unwrap_or_default(),
            address: i.address.unwrap_or_default(),
            phone: i.phone.unwrap_or_default(),
            email: i.email.unwrap_or_default(),
            valid_from: i.valid_from.unwrap_or_default(),
            valid_to: i.valid_to.unwrap_or_default(),
            successor_code: i.successor_code.unwrap_or_default(),
        }
    }
}

/// List units.
#[utoipa::path(get, path = "/api/v1/units", tag = "directory", params(ListParams),
    responses((status = 200, body = PageDto<UnitDto>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_units(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Json<PageDto<UnitDto>>, AppError> {
    user.require(Permission::DirectoryRead)?;
    let kind = match params.kind.as_deref() {
        Some(k) => Some(UnitKind::parse(k).ok_or_else(|| {
            bad_param("kind", k, &UnitKind::ALL.map(UnitKind::as_str).join(", "))
        })?),
        None => None,
    };
    let active_on = match params.active_on.as_deref() {
        Some(d) => Some(
            hnth_domain::validate::parse_date(d)
                .ok_or_else(|| bad_param("active_on", d, "YYYY-MM-DD"))?,
        ),
        None => None,
    };
    let filter = UnitFilter {
        q: params.q.clone(),
        level: params.level.clone(),
        kind,
        parent_id: params.unit_id,
        active_on,
    };
    let found = state.store.list_units(&filter, params.page()).await?;
    Ok(Json(page_of(found, UnitDto::from)))
}

/// One unit.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "directory", params(("id" = i64, Path)),
    responses((status = 200, body = UnitDto), (status = 404, body = ErrorBody)))]
async fn get_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<UnitDto>, AppError> {
    user.require(Permission::DirectoryRead)?;
    Ok(Json(state.store.unit(id).await?.into()))
}

/// The direct children of a unit.
#[utoipa::path(get, path = "/api/v1/units/{id}/children", tag = "directory", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<UnitDto>), (status = 404, body = ErrorBody)))]
async fn unit_children(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<UnitDto>>, AppError> {
    user.require(Permission::DirectoryRead)?;
    state.store.unit(id).await?;
    let children = state.store.unit_children(Some(id), None).await?;
    Ok(Json(children.into_iter().map(|n| n.unit.into()).collect()))
}

/// Create a unit (needs `DirectoryWrite` on the parent; a top-level unit needs it on a top-level unit).
#[utoipa::path(post, path = "/api/v1/units", tag = "directory", request_body = UnitInput,
    responses((status = 201, body = UnitDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<UnitInput>,
) -> Result<Response, AppError> {
    let form = UnitForm::from(input);
    require_unit_write(&state, &user, &form.parent_code).await?;
    let spec = form.parse(&state.store.levels().await?, today())?;
    let unit = state.store.create_unit(&user.actor(), &spec).await?;
    Ok((StatusCode::CREATED, Json(UnitDto::from(unit))).into_response())
}

/// Replace a unit's fields.
#[utoipa::path(put, path = "/api/v1/units/{id}", tag = "directory", params(("id" = i64, Path)), request_body = UnitInput,
    responses((status = 200, body = UnitDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_unit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<UnitInput>,
) -> Result<Json<UnitDto>, AppError> {
    user.require_on_unit(&state.store, Permission::DirectoryWrite, id)
        .await?;
    let form = UnitForm::from(input);
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
        require_unit_write(&state, &user, &form.parent_code).await?;
    }
    let spec = form.parse(&state.store.levels().await?, today())?;
    Ok(Json(
        state
            .store
            .update_unit(&user.actor(), id, &spec)
            .await?
            .into(),
    ))
}

/// An endpoint.
#[derive(Serialize, ToSchema)]
pub struct EndpointDto {
    id: i64,
    code: String,
    unit_id: i64,
    unit_code: String,
    unit_name: String,
    name: String,
    address: String,
    seats: u32,
    /// `room_system` or `personal_device`.
    terminal: String,
    equipment: String,
    /// `dedicated`, `wan` or `internet_vpn`.
    network: String,
    /// `active`, `maintenance` or `retired`.
    status: String,
    control_right: bool,
    has_control_laptop: bool,
    vpn_token_issued: bool,
}

impl From<EndpointListing> for EndpointDto {
    fn from(l: EndpointListing) -> EndpointDto {
        let e = l.endpoint;
        EndpointDto {
            id: e.id,
            code: e.code,
            unit_id: e.unit_id,
            unit_code: l.unit_code,
            unit_name: l.unit_name,
            name: e.name,
            address: e.address,
            seats: e.seats,
            terminal: e.terminal.as_str().to_string(),
            equipment: e.equipment,
            network: e.network.as_str().to_string(),
            status: e.status.as_str().to_string(),
            control_right: e.control_right,
            has_control_laptop: e.has_control_laptop,
            vpn_token_issued: e.vpn_token_issued,
        }
    }
}

/// Fields to create or replace an endpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    code: String,
    unit_code: String,
    name: String,
    terminal: String,
    network: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    seats: Option<u32>,
    #[serde(default)]
    equipment: Option<String>,
    /// Default `active`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    control_right: bool,
    #[serde(default)]
    has_control_laptop: bool,
    #[serde(default)]
    vpn_token_issued: bool,
}

impl From<EndpointInput> for EndpointForm {
    fn from(i: EndpointInput) -> EndpointForm {
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        EndpointForm {
            code: i.code,
            unit_code: i.unit_code,
            name: i.name,
            address: i.address.unwrap_or_default(),
            seats: i.seats.map(|s| s.to_string()).unwrap_or_default(),
            terminal: i.terminal,
            equipment: i.equipment.unwrap_or_default(),
            network: i.network,
            status: i.status.unwrap_or_default(),
            control_right: flag(i.control_right),
            has_control_laptop: flag(i.has_control_laptop),
            vpn_token_issued: flag(i.vpn_token_issued),
        }
    }
}

/// List endpoints.
#[utoipa::path(get, path = "/api/v1/endpoints", tag = "directory", params(ListParams),
    responses((status = 200, body = PageDto<EndpointDto>), (status = 400, body = ErrorBody)))]
async fn list_endpoints(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Json<PageDto<EndpointDto>>, AppError> {
    user.require(Permission::DirectoryRead)?;
    let status = match params.status.as_deref() {
        Some(s) => Some(
            EndpointStatus::parse(s)
                .ok_or_else(|| bad_param("status", s, "active, maintenance, retired"))?,
        ),
        None => None,
    };
    let filter = EndpointFilter {
        q: params.q.clone(),
        unit_id: params.unit_id,
        status,
    };
    Ok(Json(page_of(
        state.store.list_endpoints(&filter, params.page()).await?,
        EndpointDto::from,
    )))
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v1/endpoints/{id}", tag = "directory", params(("id" = i64, Path)),
    responses((status = 200, body = EndpointDto), (status = 404, body = ErrorBody)))]
async fn get_endpoint(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<EndpointDto>, AppError> {
    user.require(Permission::DirectoryRead)?;
    Ok(Json(state.store.endpoint(id).await?.into()))
}

/// Create an endpoint; the policy's endpoint limits (R-DIR-5) and control-right rules (R-DIR-7) apply.
#[utoipa::path(post, path = "/api/v1/endpoints", tag = "directory", request_body = EndpointInput,
    responses((status = 201, body = EndpointDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_endpoint(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<EndpointInput>,
) -> Result<Response, AppError> {
    let form = EndpointForm::from(input);
    require_on_unit_code(&state, &user, Permission::DirectoryWrite, &form.unit_code).await?;
    let spec = form.parse()?;
    let endpoint = state
        .store
        .create_endpoint(&user.actor(), &state.policy.policy, &spec, today())
        .await?;
    let listing = state.store.endpoint(endpoint.id).await?;
    Ok((StatusCode::CREATED, Json(EndpointDto::from(listing))).into_response())
}

/// Replace an endpoint's fields.
#[utoipa::path(put, path = "/api/v1/endpoints/{id}", tag = "directory", params(("id" = i64, Path)), request_body = EndpointInput,
    responses((status = 200, body = EndpointDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_endpoint(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<EndpointInput>,
) -> Result<Json<EndpointDto>, AppError> {
    let current = state.store.endpoint(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::DirectoryWrite,
        current.endpoint.unit_id,
    )
    .await?;
    let form = EndpointForm::from(input);
    require_on_unit_code(&state, &user, Permission::DirectoryWrite, &form.unit_code).await?;
    let spec = form.parse()?;
    state
        .store
        .update_endpoint(&user.actor(), &state.policy.policy, id, &spec, today())
        .await?;
    Ok(Json(state.store.endpoint(id).await?.into()))
}

/// A focal or on-duty contact.
#[derive(Serialize, ToSchema)]
pub struct ContactDto {
    id: i64,
    unit_id: i64,
    unit_code: String,
    unit_name: String,
    /// `leader`, `main_technician`, `support_technician`, `on_duty`.
    role: String,
    full_name: String,
    position: String,
    email: String,
    phone: String,
    /// `YYYY-MM-DD`.
    valid_from: String,
    /// Set once the person was replaced or ended.
    valid_to: Option<String>,
    /// The contact who replaced this one.
    replaced_by: Option<i64>,
}

fn contact_dto(listing: ContactListing) -> ContactDto {
    let c: Contact = listing.contact;
    ContactDto {
        id: c.id,
        unit_id: c.unit_id,
        unit_code: listing.unit_code,
        unit_name: listing.unit_name,
        role: c.role.as_str().to_string(),
        full_name: c.full_name,
        position: c.position,
        email: c.email,
        phone: c.phone,
        valid_from: c.valid_from.to_string(),
        valid_to: c.valid_to.map(|d| d.to_string()),
        replaced_by: c.replaced_by,
    }
}

/// Fields of a new contact.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    unit_code: String,
    role: String,
    full_name: String,
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

/// The person replacing a contact (same unit and role).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementInput {
    full_name: String,
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

/// List contacts (current ones unless `history=true`).
#[utoipa::path(get, path = "/api/v1/contacts", tag = "directory", params(ListParams),
    responses((status = 200, body = PageDto<ContactDto>), (status = 400, body = ErrorBody)))]
async fn list_contacts(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Json<PageDto<ContactDto>>, AppError> {
    user.require(Permission::DirectoryRead)?;
    let role = match params.role.as_deref() {
        Some(r) => Some(ContactRole::parse(r).ok_or_else(|| {
            bad_param(
                "role",
                r,
                &ContactRole::ALL.map(ContactRole::as_str).join(", "),
            )
        })?),
        None => None,
    };
    let filter = ContactFilter {
        unit_id: params.unit_id,
        role,
        include_history: params.history.unwrap_or(false),
    };
    Ok(Json(page_of(
        state.store.list_contacts(&filter, params.page()).await?,
        contact_dto,
    )))
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "directory", params(("id" = i64, Path)),
    responses((status = 200, body = ContactDto), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<ContactDto>, AppError> {
    user.require(Permission::DirectoryRead)?;
    Ok(Json(contact_dto(state.store.contact(id).await?)))
}

/// Add a contact; a new leader or main technician replaces the current one, who is kept in the history.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "directory", request_body = ContactInput,
    responses((status = 201, body = ContactDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<ContactInput>,
) -> Result<Response, AppError> {
    let form = ContactForm {
        unit_code: input.unit_code,
        role: input.role,
        full_name: input.full_name,
        position: input.position.unwrap_or_default(),
        email: input.email.unwrap_or_default(),
        phone: input.phone.unwrap_or_default(),
    };
    require_on_unit_code(&state, &user, Permission::ContactsWrite, &form.unit_code).await?;
    let spec = form.parse()?;
    let contact = state
        .store
        .add_contact(&user.actor(), &spec, today())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(contact_dto(state.store.contact(contact.id).await?)),
    )
        .into_response())
}

/// Replace the person of a current contact.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/replace", tag = "directory", params(("id" = i64, Path)), request_body = ReplacementInput,
    responses((status = 201, body = ContactDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ReplacementInput>,
) -> Result<Response, AppError> {
    let current = state.store.contact(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::ContactsWrite,
        current.contact.unit_id,
    )
    .await?;
    let spec = ContactForm {
        unit_code: current.unit_code,
        role: current.contact.role.as_str().to_string(),
        full_name: input.full_name,
        position: input.position.unwrap_or_default(),
        email: input.email.unwrap_or_default(),
        phone: input.phone.unwrap_or_default(),
    }
    .parse()?;
    let new = state
        .store
        .replace_contact(&user.actor(), id, &spec, today())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(contact_dto(state.store.contact(new.id).await?)),
    )
        .into_response())
}

/// End a current contact without replacement.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/end", tag = "directory", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn end_contact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    let current = state.store.contact(id).await?;
    user.require_on_unit(
        &state.store,
        Permission::ContactsWrite,
        current.contact.unit_id,
    )
    .await?;
    state.store.end_contact(&user.actor(), id, today()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The result of an import.
#[derive(Serialize, ToSchema)]
pub struct ImportResultDto {
    /// `units`, `endpoints` or `contacts`.
    kind: String,
    created: u32,
    updated: u32,
}

/// Import a CSV file of units, endpoints or contacts (told by its header); all or nothing, errors by line.
#[utoipa::path(post, path = "/api/v1/import", tag = "directory", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportResultDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Bytes,
) -> Result<Json<ImportResultDto>, AppError> {
    let summary = run_import(&state, &user, &body).await?;
    let kind = match summary.kind {
        hnth_domain::import::ImportKind::Units => "units",
        hnth_domain::import::ImportKind::Endpoints => "endpoints",
        hnth_domain::import::ImportKind::Contacts => "contacts",
    };
    Ok(Json(ImportResultDto {
        kind: kind.to_string(),
        created: summary.created,
        updated: summary.updated,
    }))
}

/// The focal-contact list in the Cần Thơ Appendix II form, as XLSX.
#[utoipa::path(get, path = "/api/v1/exports/contacts.xlsx", tag = "directory",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 403, body = ErrorBody)))]
async fn export_contacts_xlsx(
    state: State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    export::contacts_xlsx(state, ctx, user).await
}

/// The focal-contact list in the Cần Thơ Appendix II form, as CSV.
#[utoipa::path(get, path = "/api/v1/exports/contacts.csv", tag = "directory",
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody)))]
async fn export_contacts_csv(
    state: State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    export::contacts_csv(state, ctx, user).await
}

/// An administrative level.
#[derive(Serialize, ToSchema)]
pub struct LevelDto {
    code: String,
    /// 0 = top.
    rank: u32,
    name_vi: String,
    name_en: String,
}

/// The administrative levels, top first.
#[utoipa::path(get, path = "/api/v1/levels", tag = "system", responses((status = 200, body = Vec<LevelDto>)))]
async fn list_levels(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<LevelDto>>, AppError> {
    user.require(Permission::DirectoryRead)?;
    let levels = state.store.levels().await?;
    Ok(Json(
        levels
            .into_iter()
            .map(|l| LevelDto {
                code: l.def.code,
                rank: l.rank,
                name_vi: l.def.name_vi,
                name_en: l.def.name_en,
            })
            .collect(),
    ))
}

/// One rule of the policy.
#[derive(Serialize, ToSchema)]
pub struct PolicyRuleDto {
    key: String,
    /// The value in words, in the caller's language.
    value: String,
    /// The article or reasoning.
    source: String,
    /// `default`, `seed` or `config`.
    origin: String,
}

/// The policy in force.
#[derive(Serialize, ToSchema)]
pub struct PolicyDto {
    profile: String,
    name_vi: String,
    name_en: String,
    document: String,
    rules: Vec<PolicyRuleDto>,
    /// The full policy as structured values.
    #[schema(value_type = Object)]
    values: serde_json::Value,
}

/// The policy in force and where each value comes from.
#[utoipa::path(get, path = "/api/v1/policy", tag = "system", responses((status = 200, body = PolicyDto), (status = 403, body = ErrorBody)))]
async fn get_policy(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Json<PolicyDto>, AppError> {
    user.require(Permission::PolicyRead)?;
    let loaded = &state.policy;
    let rules = loaded
        .policy
        .entries(ctx.lang)
        .into_iter()
        .map(|e| PolicyRuleDto {
            key: e.key.to_string(),
            value: e.value,
            source: e.source,
            origin: serde_json::to_value(e.origin)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(PolicyDto {
        profile: loaded.profile.id.clone(),
        name_vi: loaded.profile.name_vi.clone(),
        name_en: loaded.profile.name_en.clone(),
        document: loaded.profile.document.clone(),
        rules,
        values: serde_json::to_value(&loaded.policy).map_err(|_| AppError::Internal)?,
    }))
}

/// A record of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    id: i64,
    /// RFC 3339, UTC.
    at: String,
    actor: String,
    action: String,
    subject: String,
    /// JSON text.
    detail: String,
    prev_hash: String,
    hash: String,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "system", params(ListParams),
    responses((status = 200, body = PageDto<AuditDto>), (status = 403, body = ErrorBody)))]
async fn list_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Json<PageDto<AuditDto>>, AppError> {
    user.require(Permission::AuditRead)?;
    let records = state.store.audit_records(params.page()).await?;
    Ok(Json(page_of(records, |r| AuditDto {
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        subject: r.subject,
        detail: r.detail,
        prev_hash: r.prev_hash,
        hash: r.hash,
    })))
}

/// A grant of the caller.
#[derive(Serialize, ToSchema)]
pub struct GrantDto {
    role: String,
    unit_id: i64,
}

/// The caller's account.
#[derive(Serialize, ToSchema)]
pub struct MeDto {
    id: i64,
    username: String,
    full_name: String,
    /// `vi` or `en`.
    lang: String,
    grants: Vec<GrantDto>,
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "system", responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
async fn me(user: CurrentUser) -> Json<MeDto> {
    Json(MeDto {
        id: user.user.id,
        username: user.user.username.clone(),
        full_name: user.user.full_name.clone(),
        lang: user.user.lang.as_str().to_string(),
        grants: user
            .grants
            .iter()
            .map(|g| GrantDto {
                role: g.role.as_str().to_string(),
                unit_id: g.unit_id,
            })
            .collect(),
    })
}
