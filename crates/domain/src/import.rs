//! Reading directory files (CSV) of units, endpoints or contacts.
//!
//! A file holds one kind of record, told apart by its header row, so each kind opens as a
//! plain sheet in a spreadsheet program. This module only reads and checks rows on their own;
//! the store resolves codes against the database and applies the whole file in one
//! transaction, so a file with any bad row changes nothing. Every problem is reported with
//! the line number a spreadsheet user sees (the header is line 1).

use serde::Serialize;

use crate::contact::{ContactForm, ContactSpec};
use crate::endpoint::{EndpointForm, EndpointSpec};
use crate::lang::{Lang, Text};
use crate::level::Level;
use crate::unit::{UnitForm, UnitSpec};
use crate::validate::Invalid;

/// The kind of record a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// Units.
    Units,
    /// Endpoints.
    Endpoints,
    /// Focal and on-duty contacts.
    Contacts,
}

impl ImportKind {
    /// The columns of a file of this kind; the first ones are required.
    pub fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ImportKind::Units => (
                &["code", "name", "kind", "level"],
                &[
                    "parent_code",
                    "address",
                    "phone",
                    "email",
                    "valid_from",
                    "valid_to",
                    "successor_code",
                ],
            ),
            ImportKind::Endpoints => (
                &["code", "unit_code", "name", "terminal", "network"],
                &[
                    "address",
                    "seats",
                    "equipment",
                    "status",
                    "control_right",
                    "has_control_laptop",
                    "vpn_token_issued",
                ],
            ),
            ImportKind::Contacts => (
                &["unit_code", "role", "full_name"],
                &["position", "email", "phone"],
            ),
        }
    }

    /// The name shown to users.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ImportKind::Units, Lang::Vi) => "đơn vị",
            (ImportKind::Units, Lang::En) => "units",
            (ImportKind::Endpoints, Lang::Vi) => "điểm cầu",
            (ImportKind::Endpoints, Lang::En) => "endpoints",
            (ImportKind::Contacts, Lang::Vi) => "cán bộ đầu mối",
            (ImportKind::Contacts, Lang::En) => "contacts",
        }
    }
}

/// One problem on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line number in the file, 1 = header.
    pub line: u64,
    /// The column, if the problem is in one.
    pub field: String,
    /// What is wrong and what to do.
    pub message: Text,
}

/// Every problem found in a file. Nothing is stored when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ImportErrors {
    /// The problems, by line.
    pub errors: Vec<RowError>,
}

impl ImportErrors {
    /// Adds the problems of one line.
    pub fn push_invalid(&mut self, line: u64, invalid: Invalid) {
        for error in invalid.errors {
            self.errors.push(RowError {
                line,
                field: error.field.to_string(),
                message: error.message,
            });
        }
    }

    /// Adds one problem.
    pub fn push(&mut self, line: u64, field: &str, message: Text) {
        self.errors.push(RowError {
            line,
            field: field.to_string(),
            message,
        });
    }

    /// The report as lines: `dòng 7, cột email: …`.
    pub fn report(&self, lang: Lang) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| match (lang, e.field.is_empty()) {
                (Lang::Vi, true) => format!("dòng {}: {}", e.line, e.message.vi),
                (Lang::Vi, false) => format!("dòng {}, cột {}: {}", e.line, e.field, e.message.vi),
                (Lang::En, true) => format!("line {}: {}", e.line, e.message.en),
                (Lang::En, false) => {
                    format!("line {}, column {}: {}", e.line, e.field, e.message.en)
                }
            })
            .collect()
    }
}

/// Rows of a file that passed the checks that need no database, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRows {
    /// `(line, unit)`.
    Units(Vec<(u64, UnitSpec)>),
    /// `(line, endpoint)`.
    Endpoints(Vec<(u64, EndpointSpec)>),
    /// `(line, contact)`.
    Contacts(Vec<(u64, ContactSpec)>),
}

impl ImportRows {
    /// The kind of the rows.
    pub fn kind(&self) -> ImportKind {
        match self {
            ImportRows::Units(_) => ImportKind::Units,
            ImportRows::Endpoints(_) => ImportKind::Endpoints,
            ImportRows::Contacts(_) => ImportKind::Contacts,
        }
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            ImportRows::Units(rows) => rows.len(),
            ImportRows::Endpoints(rows) => rows.len(),
            ImportRows::Contacts(rows) => rows.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn detect(header: &[String]) -> Option<ImportKind> {
    let has = |name: &str| header.iter().any(|h| h == name);
    if has("full_name") {
        Some(ImportKind::Contacts)
    } else if has("terminal") || has("unit_code") {
        Some(ImportKind::Endpoints)
    } else if has("level") || has("kind") {
        Some(ImportKind::Units)
    } else {
        None
    }
}

fn line_at(text: &str, byte: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    // A record's position is where the reader started, which may be on blank lines before it.
    while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
        end += 1;
    }
    bytes[..end].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// Reads a CSV file (UTF-8, comma or semicolon separated, optional byte-order mark) and
/// checks each row. `today` fills empty start dates.
pub fn read_csv(
    bytes: &[u8],
    levels: &[Level],
    today: jiff::civil::Date,
) -> Result<ImportRows, ImportErrors> {
    let mut errors = ImportErrors::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        errors.push(
            1,
            "",
            Text::new(
                "Tệp không phải UTF-8. Trong Excel, chọn Lưu thành \"CSV UTF-8\".",
                "The file is not UTF-8. In Excel, save as \"CSV UTF-8\".",
            ),
        );
        return Err(errors);
    };
    // Vietnamese Excel writes `;` when the decimal separator is `,`.
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        Err(error) => {
            errors.push(
                1,
                "",
                Text::new(
                    format!("Không đọc được dòng tiêu đề: {error}"),
                    format!("Cannot read the header row: {error}"),
                ),
            );
            return Err(errors);
        }
    };
    let Some(kind) = detect(&header) else {
        let expected = [
            ImportKind::Units,
            ImportKind::Endpoints,
            ImportKind::Contacts,
        ]
        .map(|k| format!("{}: {}", k.label(Lang::En), k.columns().0.join(",")))
        .join(" | ");
        errors.push(
            1,
            "",
            Text::new(
                format!("Không nhận ra loại tệp từ dòng tiêu đề. Các cột bắt buộc — {expected}"),
                format!("Cannot tell the kind of file from its header row. Required columns — {expected}"),
            ),
        );
        return Err(errors);
    };
    let (required, optional) = kind.columns();
    for column in required {
        if !header.iter().any(|h| h == column) {
            errors.push(
                1,
                column,
                Text::new(
                    format!("Thiếu cột bắt buộc \"{column}\"."),
                    format!("Required column \"{column}\" is missing."),
                ),
            );
        }
    }
    for column in &header {
        if !required.contains(&column.as_str()) && !optional.contains(&column.as_str()) {
            let known = required
                .iter()
                .chain(optional)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            errors.push(
                1,
                column,
                Text::new(
                    format!("Cột \"{column}\" không được hỗ trợ; các cột: {known}."),
                    format!("Column \"{column}\" is not supported; columns are: {known}."),
                ),
            );
        }
    }
    if !errors.errors.is_empty() {
        return Err(errors);
    }
    let mut rows = match kind {
        ImportKind::Units => ImportRows::Units(Vec::new()),
        ImportKind::Endpoints => ImportRows::Endpoints(Vec::new()),
        ImportKind::Contacts => ImportRows::Contacts(Vec::new()),
    };
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| line_at(text, p.byte()));
                errors.push(
                    line,
                    "",
                    Text::new(
                        format!("Dòng không đọc được: {error}"),
                        format!("Unreadable line: {error}"),
                    ),
                );
                continue;
            }
        };
        // The reader's own line count skips blank lines; count newlines up to the record so
        // the number matches what a spreadsheet or editor shows.
        let line = record.position().map_or(0, |p| line_at(text, p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| -> String {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_string()
        };
        match &mut rows {
            ImportRows::Units(units) => {
                let form = UnitForm {
                    code: cell("code"),
                    name: cell("name"),
                    kind: cell("kind"),
                    level: cell("level"),
                    parent_code: cell("parent_code"),
                    address: cell("address"),
                    phone: cell("phone"),
                    email: cell("email"),
                    valid_from: cell("valid_from"),
                    valid_to: cell("valid_to"),
                    successor_code: cell("successor_code"),
                };
                match form.parse(levels, today) {
                    Ok(spec) => units.push((line, spec)),
                    Err(invalid) => errors.push_invalid(line, invalid),
                }
            }
            ImportRows::Endpoints(endpoints) => {
                let form = EndpointForm {
                    code: cell("code"),
                    unit_code: cell("unit_code"),
                    name: cell("name"),
                    address: cell("address"),
                    seats: cell("seats"),
                    terminal: cell("terminal"),
                    equipment: cell("equipment"),
                    network: cell("network"),
                    status: cell("status"),
                    control_right: cell("control_right"),
                    has_control_laptop: cell("has_control_laptop"),
                    vpn_token_issued: cell("vpn_token_issued"),
                };
                match form.parse() {
                    Ok(spec) => endpoints.push((line, spec)),
                    Err(invalid) => errors.push_invalid(line, invalid),
                }
            }
            ImportRows::Contacts(contacts) => {
                let form = ContactForm {
                    unit_code: cell("unit_code"),
                    role: cell("role"),
                    full_name: cell("full_name"),
                    position: cell("position"),
                    email: cell("email"),
                    phone: cell("phone"),
                };
                match form.parse() {
                    Ok(spec) => contacts.push((line, spec)),
                    Err(invalid) => errors.push_invalid(line, invalid),
                }
            }
        }
    }
    if errors.errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::LevelDef;

    fn levels() -> Vec<Level> {
        vec![Level {
            rank: 0,
            def: LevelDef {
                code: "city".into(),
                name_vi: "Thành phố".into(),
                name_en: "City".into(),
            },
        }]
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "\u{feff}unit_code,role,full_name,phone,email\n\
                   CT.STTTT,leader,Nguyễn Văn An,0292 3820 123,an@cantho.gov.vn\n\
                   CT.STTTT,boss,Lê Thị Bình,0292 3820 124,\n\
                   \n\
                   CT.STTTT,main_technician,Trần Văn Cường,,cuong@cantho\n";
        let errors =
            read_csv(csv.as_bytes(), &levels(), jiff::civil::date(2026, 1, 5)).unwrap_err();
        let report = errors.report(Lang::En);
        assert_eq!(report.len(), 3, "{report:?}");
        assert!(report[0].starts_with("line 3, column role"), "{report:?}");
        assert!(report[1].starts_with("line 5, column email"), "{report:?}");
        assert!(report[2].starts_with("line 5, column phone"), "{report:?}");
    }

    #[test]
    fn semicolon_files_from_vietnamese_excel_are_read() {
        let csv = "code;name;kind;level\nCT.UBND;Ủy ban nhân dân thành phố Cần Thơ;people_committee;city\n";
        let rows = read_csv(csv.as_bytes(), &levels(), jiff::civil::date(2026, 1, 5)).unwrap();
        assert_eq!(rows.kind(), ImportKind::Units);
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn unknown_and_missing_columns_are_named() {
        let csv = "code,name,kind,colour\n";
        let report = read_csv(csv.as_bytes(), &levels(), jiff::civil::date(2026, 1, 5))
            .unwrap_err()
            .report(Lang::En);
        assert!(
            report.iter().any(|l| l.contains("\"level\" is missing")),
            "{report:?}"
        );
        assert!(
            report
                .iter()
                .any(|l| l.contains("\"colour\" is not supported")),
            "{report:?}"
        );
    }
}
