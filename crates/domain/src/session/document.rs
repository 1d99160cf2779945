//! Documents attached to a session (tài liệu phục vụ hội nghị, R-REG-9): which files may be
//! attached, and who may attach and read them.
//!
//! The file itself is opaque here; what the domain decides is the name it is kept under, the
//! media type it is served with (from an allow-list of office formats, never from what the
//! uploader claims, so a browser is never handed script to run), and whether the session's
//! classification allows materials on the system at all (R-SEC-4, R-SEC-7: state-secret
//! materials travel by the secret-document channels, never through hnth).

use super::{Classification, SessionStatus};
use crate::lang::Text;
use crate::validate::Invalid;

/// The longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The formats a session document may have: extension (lower case) → media type.
const ALLOWED: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("rtf", "application/rtf"),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("zip", "application/zip"),
];

/// The extensions accepted, for messages and the form's `accept` attribute.
pub fn allowed_extensions() -> impl Iterator<Item = &'static str> {
    ALLOWED.iter().map(|(extension, _)| *extension)
}

/// A file accepted as a session document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFile {
    name: String,
    content_type: &'static str,
}

impl DocumentFile {
    /// Checks an uploaded file: its name (only the last path component is kept, since some
    /// browsers send the uploader's whole path), its format, and that it is not empty or
    /// larger than `max_bytes`.
    pub fn parse(file_name: &str, size: usize, max_bytes: usize) -> Result<DocumentFile, Invalid> {
        let name = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>();
        let mut invalid = Invalid::default();
        let extension = name
            .rsplit_once('.')
            .map(|(_, extension)| extension.to_lowercase())
            .unwrap_or_default();
        let content_type = ALLOWED
            .iter()
            .find(|(allowed, _)| *allowed == extension)
            .map(|(_, content_type)| *content_type);
        if name.is_empty() || name.starts_with('.') {
            invalid.push(
                "file",
                "required",
                Text::new(
                    "Hãy chọn một tệp tài liệu có tên.",
                    "Choose a document file with a name.",
                ),
            );
        } else if content_type.is_none() {
            let list = allowed_extensions().collect::<Vec<_>>().join(", ");
            invalid.push(
                "file",
                "file_type",
                Text::new(
                    format!("Định dạng tệp \"{name}\" không được nhận. Các định dạng được nhận: {list}."),
                    format!("The format of \"{name}\" is not accepted. Accepted formats: {list}."),
                ),
            );
        } else if name.chars().count() > MAX_NAME_CHARS {
            invalid.push(
                "file",
                "too_long",
                Text::new(
                    format!("Tên tệp dài quá {MAX_NAME_CHARS} ký tự; hãy đổi tên ngắn hơn rồi tải lên lại."),
                    format!("The file name is longer than {MAX_NAME_CHARS} characters; rename it and upload again."),
                ),
            );
        }
        if size == 0 {
            invalid.push(
                "file",
                "empty",
                Text::new(
                    "Tệp rỗng; hãy chọn lại tệp tài liệu.",
                    "The file is empty; choose the document again.",
                ),
            );
        } else if size > max_bytes {
            let mib = max_bytes / (1 << 20);
            invalid.push(
                "file",
                "too_large",
                Text::new(
                    format!("Tệp lớn hơn {mib} MiB; hãy nén hoặc chia nhỏ tài liệu."),
                    format!("The file is larger than {mib} MiB; compress or split the document."),
                ),
            );
        }
        invalid.finish(|| DocumentFile {
            name,
            // `finish` returns Ok only when no problem was pushed, and a missing type pushes one.
            content_type: content_type.unwrap_or("application/octet-stream"),
        })
    }

    /// The name the file is kept and offered under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The media type it is served with.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }
}

/// Why documents cannot be attached to a session now, or `None` when they can.
///
/// Classified sessions never carry materials on the system (R-SEC-4: no export or sharing;
/// R-SEC-7: no download), and a session that is over or cancelled takes no more.
pub fn attach_refusal(classification: Classification, status: SessionStatus) -> Option<Text> {
    if classification != Classification::Normal {
        return Some(Text::new(
            "Phiên họp có độ mật: tài liệu không được đưa lên hay tải xuống qua hệ thống (Luật Bảo vệ bí mật nhà nước 2018, điều 17; Nghị định 26/2020, điều 6). Hãy chuyển tài liệu theo đường văn thư mật.",
            "Classified session: materials are neither uploaded to nor downloaded from the system (State Secrets Law 2018 art. 17; Decree 26/2020 art. 6). Send them through the classified-document channel.",
        ));
    }
    if matches!(status, SessionStatus::Cancelled | SessionStatus::Refused) {
        return Some(Text::new(
            "Phiên họp đã hủy hoặc bị từ chối nên không nhận thêm tài liệu.",
            "The session is cancelled or refused, so it takes no more documents.",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn r_reg_9_keeps_the_last_path_component_and_serves_the_listed_type() {
        let file = DocumentFile::parse("C:\\Users\\thuky\\Báo cáo Quý IV.PDF", 10, MIB).unwrap();
        assert_eq!(file.name(), "Báo cáo Quý IV.PDF");
        assert_eq!(file.content_type(), "application/pdf");
        let file = DocumentFile::parse("/home/a/ke-hoach.docx", 10, MIB).unwrap();
        assert_eq!(file.name(), "ke-hoach.docx");
        assert!(file.content_type().contains("wordprocessingml"));
    }

    #[test]
    fn r_reg_9_refuses_script_empty_and_oversized_files_with_reasons() {
        let refused = DocumentFile::parse("trang.html", 10, MIB).unwrap_err();
        assert_eq!(refused.errors[0].code, "file_type");
        assert!(refused.errors[0].message.vi.contains("pdf"));
        assert_eq!(
            DocumentFile::parse("a.pdf", 0, MIB).unwrap_err().errors[0].code,
            "empty"
        );
        assert_eq!(
            DocumentFile::parse("a.pdf", MIB + 1, MIB)
                .unwrap_err()
                .errors[0]
                .code,
            "too_large"
        );
        assert_eq!(
            DocumentFile::parse("", 5, MIB).unwrap_err().errors[0].code,
            "required"
        );
        assert_eq!(
            DocumentFile::parse(".pdf", 5, MIB).unwrap_err().errors[0].code,
            "required"
        );
        let long = format!("{}.pdf", "a".repeat(MAX_NAME_CHARS));
        assert_eq!(
            DocumentFile::parse(&long, 5, MIB).unwrap_err().errors[0].code,
            "too_long"
        );
    }

    #[test]
    fn r_sec_7_classified_sessions_take_no_documents() {
        for classification in [
            Classification::Confidential,
            Classification::Secret,
            Classification::TopSecret,
        ] {
            assert!(attach_refusal(classification, SessionStatus::Approved).is_some());
        }
        assert!(attach_refusal(Classification::Normal, SessionStatus::Approved).is_none());
        assert!(attach_refusal(Classification::Normal, SessionStatus::Draft).is_none());
        assert!(attach_refusal(Classification::Normal, SessionStatus::Cancelled).is_some());
    }
}
