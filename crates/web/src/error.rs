//! The one error type of the web layer and how it reaches the user.
//!
//! Handlers return `Result<_, AppError>`. [`AppError::into_response`] only sets the status
//! and parks the error in the response's extensions; the [`crate::context`] middleware, which
//! knows the reader's language and whether the request was for the API or a page, turns it
//! into a JSON body (`{"error": {"code", "message", "fields"}}`) or an HTML page, or a
//! redirect to the login page. Internal errors are logged with their detail and shown as a
//! generic message: nothing internal leaks.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hnth_domain::import::ImportErrors;
use hnth_domain::lang::{Lang, Text};
use hnth_domain::session::checks::Refusal;
use hnth_domain::session::format_date_time;
use hnth_domain::validate::Invalid;
use hnth_store::import::ImportFailure;
use hnth_store::sessions::{OccurrenceConflicts, RegisterError};
use hnth_store::StoreError;
use jiff::civil::DateTime;
use serde_json::json;

/// Everything a handler can fail with.
#[derive(Debug, Clone)]
pub enum AppError {
    /// No valid session or token.
    Unauthenticated,
    /// Logged in, but the roles do not allow this here.
    Forbidden,
    /// The resource does not exist.
    NotFound(&'static str),
    /// Input breaks rules; one message per field.
    Invalid(Invalid),
    /// A directory file has bad rows.
    Import(ImportErrors),
    /// The request conflicts with the stored state.
    Conflict(Text),
    /// The request itself is malformed.
    BadRequest(Text),
    /// The registration misses the policy's deadlines (R-REG-2, R-REG-9, R-REG-10).
    Refused(Vec<Refusal>),
    /// The booking collides with booked sessions (R-REG-3); with the nearest free slots.
    Booking {
        /// Every colliding occurrence and what it collides with.
        occurrences: Vec<OccurrenceConflicts>,
        /// The nearest free slots for the same endpoints, nearest first.
        free_slots: Vec<(DateTime, DateTime)>,
    },
    /// A bug or an outage; the detail is logged, not shown.
    Internal,
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Import(_) | AppError::Refused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Conflict(_) | AppError::Booking { .. } => StatusCode::CONFLICT,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid(_) => "invalid",
            AppError::Import(_) => "import_rejected",
            AppError::Conflict(_) => "conflict",
            AppError::BadRequest(_) => "bad_request",
            AppError::Refused(_) => "policy_refused",
            AppError::Booking { .. } => "booking_conflict",
            AppError::Internal => "internal",
        }
    }

    /// The message for a person.
    pub fn message(&self, lang: Lang) -> String {
        let text = match self {
            AppError::Unauthenticated => Text::new(
                "Cần đăng nhập (hoặc gửi mã API trong tiêu đề Authorization: Bearer).",
                "Log in first (or send an API token as Authorization: Bearer).",
            ),
            AppError::Forbidden => Text::new(
                "Vai trò của bạn không cho phép thao tác này đối với đơn vị này. Liên hệ quản trị hệ thống nếu cần được cấp quyền.",
                "Your roles do not allow this for this unit. Ask a system administrator for a grant if you need it.",
            ),
            AppError::NotFound(what) => Text::new(
                format!("Không tìm thấy {}.", thing_vi(what)),
                format!("No such {what}."),
            ),
            AppError::Invalid(invalid) => Text::new(
                format!("Dữ liệu chưa hợp lệ: {}", invalid.summary(Lang::Vi)),
                format!("Invalid input: {}", invalid.summary(Lang::En)),
            ),
            AppError::Import(errors) => Text::new(
                format!("Tệp có {} lỗi; chưa có dữ liệu nào được lưu.", errors.errors.len()),
                format!("The file has {} problems; nothing was stored.", errors.errors.len()),
            ),
            AppError::Conflict(text) | AppError::BadRequest(text) => text.clone(),
            AppError::Refused(refusals) => Text::new(
                refusals.iter().map(|r| r.message.vi.as_str()).collect::<Vec<_>>().join(" "),
                refusals.iter().map(|r| r.message.en.as_str()).collect::<Vec<_>>().join(" "),
            ),
            AppError::Booking { occurrences, free_slots } => {
                let conflicts: Vec<Text> = occurrences
                    .iter()
                    .flat_map(|o| o.conflicts.iter().map(|c| c.message()))
                    .collect();
                let slots = |lang| {
                    free_slots
                        .iter()
                        .map(|(start, end)| {
                            format!("{}–{:02}:{:02}", format_date_time(*start, lang), end.hour(), end.minute())
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                let (vi_more, en_more) = if free_slots.is_empty() {
                    (String::new(), String::new())
                } else {
                    (
                        format!(" Khung giờ trống gần nhất: {}.", slots(Lang::Vi)),
                        format!(" Nearest free slots: {}.", slots(Lang::En)),
                    )
                };
                Text::new(
                    format!(
                        "Trùng lịch: {}{vi_more}",
                        conflicts.iter().map(|t| t.vi.as_str()).collect::<Vec<_>>().join(" ")
                    ),
                    format!(
                        "Double booking: {}{en_more}",
                        conflicts.iter().map(|t| t.en.as_str()).collect::<Vec<_>>().join(" ")
                    ),
                )
            }
            AppError::Internal => Text::new(
                "Lỗi hệ thống; thao tác chưa được thực hiện. Vui lòng thử lại hoặc báo cho quản trị hệ thống.",
                "A system error occurred; nothing was changed. Try again or tell the system administrator.",
            ),
        };
        text.get(lang).to_string()
    }

    /// The JSON body of the API.
    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        let fields: Vec<_> = match self {
            AppError::Invalid(invalid) => invalid
                .errors
                .iter()
                .map(
                    |e| json!({ "field": e.field, "code": e.code, "message": e.message.get(lang) }),
                )
                .collect(),
            AppError::Import(errors) => errors
                .errors
                .iter()
                .map(
                    |e| json!({ "line": e.line, "field": e.field, "message": e.message.get(lang) }),
                )
                .collect(),
            AppError::Refused(refusals) => refusals
                .iter()
                .map(|r| {
                    json!({ "field": r.field, "code": r.code, "rule": r.rule, "message": r.message.get(lang),
                            "deadline": r.deadline.to_string() })
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut body = json!({ "error": { "code": self.code(), "message": self.message(lang), "fields": fields } });
        if let AppError::Booking {
            occurrences,
            free_slots,
        } = self
        {
            body["error"]["conflicts"] = occurrences
                .iter()
                .map(|o| {
                    json!({
                        "starts_at": o.starts_at.to_string(),
                        "ends_at": o.ends_at.to_string(),
                        "with": o.conflicts.iter().map(|c| {
                            let mut detail = json!(c);
                            detail["message"] = json!(c.message().get(lang));
                            detail
                        }).collect::<Vec<_>>(),
                    })
                })
                .collect();
            body["error"]["free_slots"] = free_slots
                .iter()
                .map(|(start, end)| json!({ "starts_at": start.to_string(), "ends_at": end.to_string() }))
                .collect();
        }
        body
    }
}

fn thing_vi(what: &str) -> &str {
    match what {
        "unit" => "đơn vị",
        "endpoint" => "điểm cầu",
        "contact" => "cán bộ đầu mối",
        "user" => "tài khoản",
        "page" => "trang",
        "session" => "phiên họp",
        "invitation" => "giấy mời",
        "carrier notice" => "thông báo nhà mạng",
        "calendar change" => "thay đổi lịch làm việc",
        "feed" => "địa chỉ đăng ký lịch",
        other => other,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Invalid(invalid) => AppError::Invalid(invalid),
            StoreError::Conflict(text) => AppError::Conflict(text),
            other => {
                tracing::error!(error = %other, "store failure");
                AppError::Internal
            }
        }
    }
}

impl From<RegisterError> for AppError {
    /// A collision without proposals; handlers that can propose free slots add them.
    fn from(error: RegisterError) -> AppError {
        match error {
            RegisterError::Conflicts(occurrences) => AppError::Booking {
                occurrences,
                free_slots: Vec::new(),
            },
            RegisterError::Store(error) => error.into(),
        }
    }
}

impl From<ImportFailure> for AppError {
    fn from(failure: ImportFailure) -> AppError {
        match failure {
            ImportFailure::Rows(errors) => AppError::Import(errors),
            ImportFailure::Store(error) => error.into(),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(invalid: Invalid) -> AppError {
        AppError::Invalid(invalid)
    }
}

macro_rules! rejection {
    ($rejection:ty, $vi:literal, $en:literal) => {
        impl From<$rejection> for AppError {
            fn from(rejection: $rejection) -> AppError {
                let detail = rejection.body_text();
                AppError::BadRequest(Text::new(
                    format!(concat!($vi, ": {}"), detail),
                    format!(concat!($en, ": {}"), detail),
                ))
            }
        }
    };
}

rejection!(
    JsonRejection,
    "Nội dung JSON không hợp lệ",
    "The JSON body is not valid"
);
rejection!(
    QueryRejection,
    "Tham số truy vấn không hợp lệ",
    "The query parameters are not valid"
);
rejection!(
    PathRejection,
    "Đường dẫn không hợp lệ",
    "The path is not valid"
);
rejection!(
    FormRejection,
    "Dữ liệu biểu mẫu không hợp lệ",
    "The form data is not valid"
);

/// `axum::Json` whose rejections are [`AppError`]s in the user's language.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with [`AppError`] rejections.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` with [`AppError`] rejections.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// `axum::Form` with [`AppError`] rejections.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct Form<T>(pub T);
