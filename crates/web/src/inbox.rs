//! Notifications: each person's inbox (the notices of the units their grants cover), and the
//! administrators' page for webhook subscriptions, delivery status and test notices.
//!
//! Notices are written by the store in the transaction of the change that causes them and
//! sent by the `hnth-notify` dispatcher; this module only reads them, marks them read, and
//! manages subscriptions. After a write that enqueued notices (a test notice) it wakes the
//! dispatcher through [`AppState::outbox_wake`] so they leave at once.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hnth_domain::lang::Lang;
use hnth_domain::role::Permission;
use hnth_store::outbox::{
    ChannelCounts, DeliveryCounts, Enqueued, FailingDelivery, Notification, Webhook,
};
use hnth_store::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Form, Json, Path, Query};
use crate::pages::{Chrome, Pager};
use crate::{format_stored_instant, render, AppState, Ctx, CurrentUser};

/// Pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(inbox_page))
        .route("/notifications/read-all", post(inbox_read_all))
        .route("/notifications/{id}/read", post(inbox_read))
        .route("/webhooks", get(webhooks_page).post(webhook_create_page))
        .route("/webhooks/test", post(test_notice_page))
        .route("/webhooks/{id}/deactivate", post(webhook_deactivate_page))
}

/// API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(send_test_notice))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(deactivate_webhook))
}

const INBOX_PAGE: u32 = 50;

/// A notification as the inbox shows it.
pub struct InboxRow {
    /// Id.
    pub id: i64,
    /// Subject in the reader's language.
    pub subject: String,
    /// Message in the reader's language.
    pub body: String,
    /// The unit told.
    pub unit_name: String,
    /// When, `dd/mm/yyyy HH:MM`.
    pub at: String,
    /// Whether read.
    pub read: bool,
    /// Deliveries by state.
    pub deliveries: DeliveryCounts,
}

impl InboxRow {
    fn new(n: Notification, lang: Lang) -> InboxRow {
        InboxRow {
            id: n.id,
            subject: n.subject.get(lang).to_string(),
            body: n.body.get(lang).to_string(),
            unit_name: n.unit.name,
            at: format_stored_instant(&n.created_at),
            read: n.read,
            deliveries: n.deliveries,
        }
    }
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    rows: Vec<InboxRow>,
    unread: u64,
    pager: Pager,
    can_manage: bool,
}

/// Query of the inbox page.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct InboxQuery {
    offset: u32,
}

async fn inbox_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(query): Query<InboxQuery>,
) -> Result<Response, AppError> {
    let page = Page::new(INBOX_PAGE, query.offset);
    let found = state
        .store
        .notifications_for_user(user.user.id, &user.grants, page)
        .await?;
    let unread = state
        .store
        .unread_notifications(user.user.id, &user.grants)
        .await?;
    let shown = found.items.len() as u64;
    let offset = u64::from(page.offset);
    let link = |offset: u32| format!("/notifications?offset={offset}");
    let pager = Pager {
        total: found.total,
        from: if shown == 0 { 0 } else { offset + 1 },
        to: offset + shown,
        prev: (page.offset > 0).then(|| link(page.offset.saturating_sub(page.limit))),
        next: (offset + shown < found.total).then(|| link(page.offset + page.limit)),
    };
    Ok(render(&InboxPage {
        chrome: Chrome::new(&user, ctx.lang, "/notifications", "notifications"),
        rows: found
            .items
            .into_iter()
            .map(|n| InboxRow::new(n, ctx.lang))
            .collect(),
        unread,
        pager,
        can_manage: user.can(Permission::NotifyManage),
    }))
}

async fn inbox_read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state
        .store
        .mark_notification_read(user.user.id, &user.grants, id)
        .await?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn inbox_read_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    state
        .store
        .mark_all_notifications_read(user.user.id, &user.grants)
        .await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// A subscription as a row.
pub struct WebhookRow {
    /// Id.
    pub id: i64,
    /// Unit name.
    pub unit_name: String,
    /// Unit code.
    pub unit_code: String,
    /// URL.
    pub url: String,
    /// Whether active.
    pub active: bool,
    /// Created, `dd/mm/yyyy HH:MM`.
    pub created: String,
}

/// A channel's line of the delivery overview.
pub struct ChannelRow {
    /// Channel name in the reader's language.
    pub label: &'static str,
    /// Whether it creates deliveries.
    pub enabled: bool,
    /// Counts.
    pub counts: DeliveryCounts,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    rows: Vec<WebhookRow>,
    channels: Vec<ChannelRow>,
    failing: Vec<FailingDelivery>,
    /// The secret of a subscription just made, shown once.
    new_secret: Option<String>,
    /// What a test notice just queued, in words.
    notice: Option<String>,
    /// A problem with the submitted form.
    error: Option<String>,
    unit_code: String,
    url: String,
}

/// Form of the webhook page.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct WebhookForm {
    unit_code: String,
    url: String,
}

/// What the webhook page shows besides its lists.
#[derive(Default)]
struct WebhookOutcome {
    new_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    form: WebhookForm,
}

async fn webhooks_view(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    outcome: WebhookOutcome,
) -> Result<Response, AppError> {
    let t = crate::i18n::texts(lang);
    let rows = state
        .store
        .webhooks(&user.grants)
        .await?
        .into_iter()
        .map(|w| WebhookRow {
            id: w.id,
            unit_name: w.unit.name,
            unit_code: w.unit.code,
            url: w.url,
            active: w.active,
            created: format_stored_instant(&w.created_at),
        })
        .collect();
    let channels = state
        .store
        .delivery_overview()
        .await?
        .into_iter()
        .map(|c: ChannelCounts| ChannelRow {
            label: if c.channel == "email" {
                t.channel_email
            } else {
                t.channel_webhook
            },
            enabled: c.enabled,
            counts: c.counts,
        })
        .collect();
    let status = if outcome.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = render(&WebhooksPage {
        chrome: Chrome::new(user, lang, "/webhooks", "notifications"),
        rows,
        channels,
        failing: state.store.failing_deliveries(20).await?,
        new_secret: outcome.new_secret,
        notice: outcome.notice,
        error: outcome.error,
        unit_code: outcome.form.unit_code,
        url: outcome.form.url,
    });
    Ok((status, page).into_response())
}

async fn webhooks_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::NotifyManage)?;
    webhooks_view(&state, &user, ctx.lang, WebhookOutcome::default()).await
}

/// The unit of a form's code, after checking the permission on it; `Err(Ok(page))` is the
/// page shown again with a message when the code names no unit.
async fn form_unit(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    form: WebhookForm,
) -> Result<Result<(i64, WebhookForm), Response>, AppError> {
    user.require(Permission::NotifyManage)?;
    match state.store.unit_by_code(&form.unit_code).await? {
        Some(unit) => {
            user.require_on_unit(&state.store, Permission::NotifyManage, unit.id)
                .await?;
            Ok(Ok((unit.id, form)))
        }
        None => {
            let t = crate::i18n::texts(lang);
            let error = Some(format!(
                "{} {}",
                t.webhook_unit_unknown,
                form.unit_code.trim()
            ));
            let page = webhooks_view(
                state,
                user,
                lang,
                WebhookOutcome {
                    error,
                    form,
                    ..WebhookOutcome::default()
                },
            )
            .await?;
            Ok(Err(page))
        }
    }
}

async fn webhook_create_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<WebhookForm>,
) -> Result<Response, AppError> {
    let (unit_id, form) = match form_unit(&state, &user, ctx.lang, form).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    match state
        .store
        .create_webhook(&user.actor(), unit_id, &form.url)
        .await
    {
        Ok((_, secret)) => {
            webhooks_view(
                &state,
                &user,
                ctx.lang,
                WebhookOutcome {
                    new_secret: Some(secret),
                    ..WebhookOutcome::default()
                },
            )
            .await
        }
        Err(hnth_store::StoreError::Invalid(invalid)) => {
            webhooks_view(
                &state,
                &user,
                ctx.lang,
                WebhookOutcome {
                    error: Some(invalid.summary(ctx.lang)),
                    form,
                    ..WebhookOutcome::default()
                },
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn webhook_deactivate_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    deactivate(&state, &user, id).await?;
    Ok(Redirect::to("/webhooks").into_response())
}

async fn test_notice_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Form(form): Form<WebhookForm>,
) -> Result<Response, AppError> {
    let (unit_id, _) = match form_unit(&state, &user, ctx.lang, form).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let sent = enqueue_test(&state, &user, unit_id).await?;
    let t = crate::i18n::texts(ctx.lang);
    let notice = t
        .test_notice_queued
        .replace("{emails}", &sent.emails.to_string())
        .replace("{webhooks}", &sent.webhooks.to_string());
    webhooks_view(
        &state,
        &user,
        ctx.lang,
        WebhookOutcome {
            notice: Some(notice),
            ..WebhookOutcome::default()
        },
    )
    .await
}

async fn enqueue_test(
    state: &AppState,
    user: &CurrentUser,
    unit_id: i64,
) -> Result<Enqueued, AppError> {
    user.require_on_unit(&state.store, Permission::NotifyManage, unit_id)
        .await?;
    let sent = state.store.send_test_notice(&user.actor(), unit_id).await?;
    state.outbox_wake.notify_one();
    Ok(sent)
}

async fn deactivate(state: &AppState, user: &CurrentUser, id: i64) -> Result<Webhook, AppError> {
    user.require(Permission::NotifyManage)?;
    let hook = state.store.webhook(id).await?;
    user.require_on_unit(&state.store, Permission::NotifyManage, hook.unit.id)
        .await?;
    Ok(state.store.deactivate_webhook(&user.actor(), id).await?)
}

/// A unit as notifications name it.
#[derive(Serialize, ToSchema)]
pub struct UnitRefDto {
    id: i64,
    code: String,
    name: String,
}

/// Deliveries of a notification by state.
#[derive(Serialize, ToSchema)]
pub struct DeliveryCountsDto {
    /// Still being tried.
    pending: u64,
    /// Accepted by the receiver.
    delivered: u64,
    /// Given up after the last attempt.
    failed: u64,
}

impl From<DeliveryCounts> for DeliveryCountsDto {
    fn from(c: DeliveryCounts) -> DeliveryCountsDto {
        DeliveryCountsDto {
            pending: c.pending,
            delivered: c.delivered,
            failed: c.failed,
        }
    }
}

/// A notification, in the caller's language.
#[derive(Serialize, ToSchema)]
pub struct NotificationDto {
    id: i64,
    unit: UnitRefDto,
    session_id: Option<i64>,
    /// Machine name of the event, e.g. `session.invited`, `notify.test`.
    event: String,
    subject: String,
    body: String,
    /// RFC 3339 UTC.
    created_at: String,
    read: bool,
    /// Its e-mail and webhook deliveries.
    deliveries: DeliveryCountsDto,
}

impl NotificationDto {
    fn new(n: Notification, lang: Lang) -> NotificationDto {
        NotificationDto {
            id: n.id,
            unit: UnitRefDto {
                id: n.unit.id,
                code: n.unit.code,
                name: n.unit.name,
            },
            session_id: n.session_id,
            event: n.event,
            subject: n.subject.get(lang).to_string(),
            body: n.body.get(lang).to_string(),
            created_at: n.created_at,
            read: n.read,
            deliveries: n.deliveries.into(),
        }
    }
}

/// A page of the caller's notifications, unread first.
#[derive(Serialize, ToSchema)]
pub struct NotificationPageDto {
    items: Vec<NotificationDto>,
    /// Notifications over all pages.
    total: u64,
    /// Unread over all pages.
    unread: u64,
    limit: u32,
    offset: u32,
}

/// Paging of the notification list.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
    /// Rows to skip.
    offset: Option<u32>,
}

/// The caller's notifications: those of every unit in the subtrees their grants cover,
/// unread first, then newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationParams),
    responses((status = 200, body = NotificationPageDto), (status = 401, body = ErrorBody)))]
async fn list_notifications(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Query(params): Query<NotificationParams>,
) -> Result<Json<NotificationPageDto>, AppError> {
    let page = Page::new(params.limit.unwrap_or(50), params.offset.unwrap_or(0));
    let found = state
        .store
        .notifications_for_user(user.user.id, &user.grants, page)
        .await?;
    let unread = state
        .store
        .unread_notifications(user.user.id, &user.grants)
        .await?;
    Ok(Json(NotificationPageDto {
        total: found.total,
        unread,
        limit: found.limit,
        offset: found.offset,
        items: found
            .items
            .into_iter()
            .map(|n| NotificationDto::new(n, ctx.lang))
            .collect(),
    }))
}

/// Mark a notification read (for the caller only).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn read_notification(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    state
        .store
        .mark_notification_read(user.user.id, &user.grants, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The unit to send a test notice to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestNoticeInput {
    unit_id: i64,
}

/// What a notice created.
#[derive(Serialize, ToSchema)]
pub struct EnqueuedDto {
    /// The in-app notification.
    notification_id: i64,
    /// E-mail deliveries queued (0 when SMTP is not configured).
    emails: u32,
    /// Webhook deliveries queued.
    webhooks: u32,
}

/// Send a test notice (`notify.test`) to a unit through every channel, to check the SMTP
/// and webhook settings (needs `NotifyManage` on the unit).
#[utoipa::path(post, path = "/api/v1/notifications/test", tag = "notifications", request_body = TestNoticeInput,
    responses((status = 202, body = EnqueuedDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn send_test_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<TestNoticeInput>,
) -> Result<Response, AppError> {
    user.require(Permission::NotifyManage)?;
    state.store.unit(input.unit_id).await?;
    let sent = enqueue_test(&state, &user, input.unit_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(EnqueuedDto {
            notification_id: sent.notification_id,
            emails: sent.emails,
            webhooks: sent.webhooks,
        }),
    )
        .into_response())
}

/// A webhook subscription; it receives the notices of its unit's whole subtree.
#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    id: i64,
    unit: UnitRefDto,
    url: String,
    active: bool,
    /// RFC 3339 UTC.
    created_at: String,
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> WebhookDto {
        WebhookDto {
            id: w.id,
            unit: UnitRefDto {
                id: w.unit.id,
                code: w.unit.code,
                name: w.unit.name,
            },
            url: w.url,
            active: w.active,
            created_at: w.created_at,
        }
    }
}

/// A new subscription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// The unit whose subtree's notices are sent.
    unit_id: i64,
    /// `https://…` (or `http://` on a trusted network).
    url: String,
}

/// A subscription just made, with its signing secret (shown this once).
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookDto {
    webhook: WebhookDto,
    /// HMAC-SHA256 key: `X-Hnth-Signature: sha256=hex(hmac(secret, "<X-Hnth-Timestamp>.<body>"))`.
    secret: String,
}

/// Subscriptions of the units where the caller manages notifications.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notifications",
    responses((status = 200, body = Vec<WebhookDto>), (status = 403, body = ErrorBody)))]
async fn list_webhooks(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<WebhookDto>>, AppError> {
    user.require(Permission::NotifyManage)?;
    let hooks = state.store.webhooks(&user.grants).await?;
    Ok(Json(hooks.into_iter().map(WebhookDto::from).collect()))
}

/// Subscribe a URL to the notices of a unit's subtree (needs `NotifyManage` on the unit).
/// Each call is a signed JSON POST with headers `X-Hnth-Event`, `X-Hnth-Delivery` (stable
/// across retries: deduplicate on it), `X-Hnth-Timestamp` and `X-Hnth-Signature`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notifications", request_body = WebhookInput,
    responses((status = 201, body = CreatedWebhookDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<WebhookInput>,
) -> Result<Response, AppError> {
    user.require(Permission::NotifyManage)?;
    state.store.unit(input.unit_id).await?;
    user.require_on_unit(&state.store, Permission::NotifyManage, input.unit_id)
        .await?;
    let (hook, secret) = state
        .store
        .create_webhook(&user.actor(), input.unit_id, &input.url)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookDto {
            webhook: hook.into(),
            secret,
        }),
    )
        .into_response())
}

/// Stop a subscription; its deliveries still waiting are given up.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deactivate", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = WebhookDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deactivate_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<WebhookDto>, AppError> {
    Ok(Json(deactivate(&state, &user, id).await?.into()))
}
