//! Documents attached to a session (R-REG-9), in pages and the API: upload by the host unit,
//! read by those the session involves, removal, and the deadline by which documents must
//! reach the endpoints.
//!
//! Circulation scope: a document is read only by the host, the approver and the invited
//! units (and auditors), even when the session itself is on the published schedule.
//! Classified sessions take no documents at all (R-SEC-4, R-SEC-7; the store checks it in the
//! writing transaction). A document uploaded after the deadline is accepted only with a
//! reason, which the page shows next to it.

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::Permission;
use hnth_domain::session::checks::{check_document, document_deadline};
use hnth_domain::session::document::{allowed_extensions, attach_refusal, DocumentFile};
use hnth_domain::session::format_date_time;
use hnth_store::documents::{DocumentRecord, NewDocument};
use hnth_store::sessions::{zone, SessionDetail};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Path};
use crate::i18n::texts;
use crate::sessions::{allowed_on, involved, require_visible};
use crate::{format_instant, now_local, AppState, Ctx, CurrentUser};

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/documents", post(upload_page))
        .route("/sessions/{id}/documents/{document}", get(download))
        .route(
            "/sessions/{id}/documents/{document}/remove",
            post(remove_page),
        )
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list_documents, api_upload_document))
        .routes(routes!(api_download_document, api_remove_document))
}

// ---------------------------------------------------------------------------------------
// Rules shared by pages and the API
// ---------------------------------------------------------------------------------------

/// Whoever may read the session's documents: those it involves, and auditors.
async fn require_reader(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<(), AppError> {
    require_visible(state, user, detail).await?;
    if user.can(Permission::AuditRead) || involved(state, user, detail).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whoever may add and remove documents: the host unit's registrars.
async fn require_host(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<(), AppError> {
    let host = detail.session.registration.host_unit_id;
    user.require_on_unit(&state.store, Permission::SessionRegister, host)
        .await
}

/// An upload as read from a multipart body.
struct Upload {
    file_name: String,
    bytes: Vec<u8>,
    late_reason: String,
}

fn upload_failed(error: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(Text::new(
        format!("Tải tệp lên bị lỗi: {error}. Hãy thử lại."),
        format!("The upload failed: {error}. Try again."),
    ))
}

/// Reads the `file` and `late_reason` fields.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload {
        file_name: String::new(),
        bytes: Vec::new(),
        late_reason: String::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(upload_failed)? {
        match field.name() {
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or_default().to_string();
                upload.bytes = field.bytes().await.map_err(upload_failed)?.to_vec();
            }
            Some("late_reason") => {
                upload.late_reason = field
                    .text()
                    .await
                    .map_err(upload_failed)?
                    .trim()
                    .to_string();
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// Checks and stores an upload, then tells open pages.
async fn add(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    upload: &Upload,
) -> Result<DocumentRecord, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_host(state, user, &detail).await?;
    let registration = &detail.session.registration;
    if let Some(reason) = attach_refusal(registration.classification, detail.session.status) {
        return Err(AppError::Conflict(reason));
    }
    let file = DocumentFile::parse(
        &upload.file_name,
        upload.bytes.len(),
        state.config.max_upload_bytes,
    )?;
    let policy = &state.policy.policy;
    let calendar = state.calendar();
    let now = now_local().datetime();
    if let Some(refusal) = check_document(policy, &calendar, now, registration) {
        if upload.late_reason.is_empty() {
            return Err(AppError::Refused(vec![refusal]));
        }
    }
    let due_at = document_deadline(policy, &calendar, registration)
        .map(|due| {
            due.to_zoned(zone())
                .map(|zoned| zoned.timestamp())
                .map_err(|_| AppError::Internal)
        })
        .transpose()?;
    let record = state
        .store
        .add_document(
            &user.actor(),
            NewDocument {
                session_id: id,
                file: &file,
                content: &upload.bytes,
                due_at,
                late_reason: &upload.late_reason,
            },
        )
        .await?;
    state.live.session_changed(id, "document.added");
    state.outbox_wake.notify_one();
    Ok(record)
}

async fn remove(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    document: i64,
) -> Result<(), AppError> {
    let detail = state.store.session_detail(id).await?;
    require_host(state, user, &detail).await?;
    state
        .store
        .remove_document(&user.actor(), id, document)
        .await?;
    state.live.session_changed(id, "document.removed");
    Ok(())
}

/// The file as an attachment, under its own (Vietnamese) name.
async fn file_response(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    document: i64,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_reader(state, user, &detail).await?;
    let (record, content) = state.store.document_content(id, document).await?;
    let ascii: String = record
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::pages::url_encode(&record.file_name).replace('/', "%2F")
    );
    Ok((
        [
            (header::CONTENT_TYPE, record.content_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        Body::from(content),
    )
        .into_response())
}

/// Bytes as `1,2 MB` / `1.2 MB`, or `39 B` below a kilobyte.
fn size_text(bytes: i64, lang: Lang) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let (value, unit) = if bytes >= 1 << 20 {
        (bytes as f64 / f64::from(1 << 20), "MB")
    } else {
        (bytes as f64 / 1024.0, "KB")
    };
    let text = format!("{value:.1} {unit}");
    match lang {
        Lang::Vi => text.replace('.', ","),
        Lang::En => text,
    }
}

// ---------------------------------------------------------------------------------------
// The session page's part
// ---------------------------------------------------------------------------------------

/// A document as the session page lists it.
pub struct DocumentLine {
    /// Its id.
    pub id: i64,
    /// File name.
    pub name: String,
    /// Human size.
    pub size: String,
    /// `dd/mm/yyyy HH:MM` and who.
    pub uploaded: String,
    /// Arrived after the deadline.
    pub late: bool,
    /// Why.
    pub late_reason: String,
    /// SHA-256, for checking a copy.
    pub sha256: String,
}

/// What the session page shows of documents; `None` for readers outside the scope.
pub struct DocumentsView {
    /// The documents.
    pub lines: Vec<DocumentLine>,
    /// The deadline, or the note that an emergency has none.
    pub due: String,
    /// Whether the deadline has passed.
    pub past_due: bool,
    /// Whether the reader may upload and remove.
    pub can_manage: bool,
    /// Why nothing can be attached, if so.
    pub closed: String,
    /// The `accept` attribute of the file input.
    pub accept: String,
}

/// The documents part of the session page for `user`, or `None` outside the circulation
/// scope.
pub async fn view(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    detail: &SessionDetail,
) -> Result<Option<DocumentsView>, AppError> {
    if !(user.can(Permission::AuditRead) || involved(state, user, detail).await?) {
        return Ok(None);
    }
    let registration = &detail.session.registration;
    let calendar = state.calendar();
    let policy = &state.policy.policy;
    let deadline = document_deadline(policy, &calendar, registration);
    let t = texts(lang);
    let lines = state
        .store
        .documents_for(detail.session.id)
        .await?
        .into_iter()
        .map(|record| DocumentLine {
            id: record.id,
            size: size_text(record.size, lang),
            uploaded: match &record.uploaded_by {
                Some(by) => format!("{} — {by}", format_instant(record.uploaded_at)),
                None => format_instant(record.uploaded_at),
            },
            late: record.late(),
            late_reason: record.late_reason.clone(),
            sha256: record.sha256.clone(),
            name: record.file_name,
        })
        .collect();
    let host = allowed_on(
        state,
        user,
        Permission::SessionRegister,
        registration.host_unit_id,
    )
    .await?;
    Ok(Some(DocumentsView {
        lines,
        due: deadline.map_or_else(
            || t.doc_no_due.to_string(),
            |due| format_date_time(due, lang),
        ),
        past_due: deadline.is_some_and(|due| now_local().datetime() > due),
        can_manage: host,
        closed: attach_refusal(registration.classification, detail.session.status)
            .map(|reason| reason.get(lang).to_string())
            .unwrap_or_default(),
        accept: allowed_extensions()
            .map(|extension| format!(".{extension}"))
            .collect::<Vec<_>>()
            .join(","),
    }))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

async fn upload_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = read_upload(multipart).await?;
    match add(&state, &user, id, &upload).await {
        Ok(_) => Ok(Redirect::to(&format!("/sessions/{id}#documents")).into_response()),
        Err(
            error @ (AppError::Invalid(_)
            | AppError::Refused(_)
            | AppError::Conflict(_)
            | AppError::BadRequest(_)),
        ) => {
            let mut response = crate::sessions::session_page_with(
                &state,
                &user,
                ctx.lang,
                id,
                error.message(ctx.lang),
            )
            .await?;
            *response.status_mut() = error.status();
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, document)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    file_response(&state, &user, id, document).await
}

async fn remove_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, document)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    remove(&state, &user, id, document).await?;
    Ok(Redirect::to(&format!("/sessions/{id}#documents")).into_response())
}

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

/// A session document, without its bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentDto {
    /// Id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Media type it is served with.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The R-REG-9 deadline in force when it was added (RFC 3339); absent for emergencies.
    pub due_at: Option<String>,
    /// Whether it arrived after the deadline.
    pub late: bool,
    /// Why it is late.
    pub late_reason: String,
    /// Username of the uploader.
    pub uploaded_by: Option<String>,
    /// RFC 3339.
    pub uploaded_at: String,
}

impl From<&DocumentRecord> for DocumentDto {
    fn from(record: &DocumentRecord) -> DocumentDto {
        DocumentDto {
            id: record.id,
            file_name: record.file_name.clone(),
            content_type: record.content_type.clone(),
            size: record.size,
            sha256: record.sha256.clone(),
            due_at: record.due_at.map(|due| due.to_string()),
            late: record.late(),
            late_reason: record.late_reason.clone(),
            uploaded_by: record.uploaded_by.clone(),
            uploaded_at: record.uploaded_at.to_string(),
        }
    }
}

/// The documents of a session (host, approver, invited units and auditors only).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/documents", tag = "sessions", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<DocumentDto>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_list_documents(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<DocumentDto>>, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_reader(&state, &user, &detail).await?;
    let documents = state.store.documents_for(id).await?;
    Ok(Json(documents.iter().map(DocumentDto::from).collect()))
}

/// Attach a document (multipart: `file`, and `late_reason` when past the R-REG-9 deadline).
/// Invited units are notified. Classified sessions take no documents (409).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/documents", tag = "sessions", params(("id" = i64, Path)),
    request_body(content = String, content_type = "multipart/form-data"),
    responses((status = 201, body = DocumentDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn api_upload_document(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = read_upload(multipart).await?;
    let record = add(&state, &user, id, &upload).await?;
    Ok((StatusCode::CREATED, Json(DocumentDto::from(&record))).into_response())
}

/// Download a document's bytes.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/documents/{document}", tag = "sessions",
    params(("id" = i64, Path), ("document" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_download_document(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, document)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    file_response(&state, &user, id, document).await
}

/// Remove a document (host unit); the audit trail keeps its name and hash.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/documents/{document}", tag = "sessions",
    params(("id" = i64, Path), ("document" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn api_remove_document(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, document)): Path<(i64, i64)>,
) -> Result<StatusCode, AppError> {
    remove(&state, &user, id, document).await?;
    Ok(StatusCode::NO_CONTENT)
}
