//! Field-level validation shared by every form, API body and import row.
//!
//! Input arrives as text (HTML forms, JSON, CSV cells). Each resource has a `…Form` of raw
//! fields and a `parse` that either returns typed values or an [`Invalid`] listing every bad
//! field with a message in both languages, so a page can show each message next to its field
//! and the API can return them all at once.

use jiff::civil::Date;
use serde::Serialize;

use crate::lang::{Lang, Text};

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as in the form and the API body.
    pub field: &'static str,
    /// A stable machine code, e.g. `required`, `endpoint_limit_exceeded`.
    pub code: &'static str,
    /// What is wrong and what to do, in both languages.
    pub message: Text,
}

/// Every problem found in one input. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Invalid {
    /// The problems, in field order.
    pub errors: Vec<FieldError>,
}

impl Invalid {
    /// Adds a problem.
    pub fn push(&mut self, field: &'static str, code: &'static str, message: Text) {
        self.errors.push(FieldError {
            field,
            code,
            message,
        });
    }

    /// `Ok(value)` if nothing was pushed, else `Err(self)`.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }

    /// The message for `field`, if it has one.
    pub fn message_for(&self, field: &str, lang: Lang) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.get(lang))
    }

    /// A one-line summary: `field: message; …`.
    pub fn summary(&self, lang: Lang) -> String {
        self.errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message.get(lang)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A single problem.
    pub fn one(field: &'static str, code: &'static str, message: Text) -> Invalid {
        let mut invalid = Invalid::default();
        invalid.push(field, code, message);
        invalid
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary(Lang::En))
    }
}

impl std::error::Error for Invalid {}

/// Trims and checks a required text of at most `max` characters.
pub fn required_text(
    invalid: &mut Invalid,
    field: &'static str,
    value: &str,
    max: usize,
) -> String {
    let value = value.trim();
    if value.is_empty() {
        invalid.push(
            field,
            "required",
            Text::new("Không được để trống.", "Required."),
        );
    } else if value.chars().count() > max {
        invalid.push(
            field,
            "too_long",
            Text::new(
                format!("Tối đa {max} ký tự."),
                format!("At most {max} characters."),
            ),
        );
    }
    value.to_string()
}

/// Trims an optional text of at most `max` characters.
pub fn optional_text(
    invalid: &mut Invalid,
    field: &'static str,
    value: &str,
    max: usize,
) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        invalid.push(
            field,
            "too_long",
            Text::new(
                format!("Tối đa {max} ký tự."),
                format!("At most {max} characters."),
            ),
        );
    }
    value.to_string()
}

/// A stable code: 1–40 of `A–Z 0–9 . _ -`, upper-cased.
pub fn code(invalid: &mut Invalid, field: &'static str, value: &str) -> String {
    let value = value.trim().to_ascii_uppercase();
    if value.is_empty() {
        invalid.push(
            field,
            "required",
            Text::new("Không được để trống.", "Required."),
        );
    } else if value.len() > 40
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        invalid.push(
            field,
            "bad_code",
            Text::new(
                "Mã chỉ gồm chữ không dấu, số và . _ - (tối đa 40 ký tự), ví dụ CT.SOTTTT.",
                "A code has only letters A–Z, digits and . _ - (at most 40), e.g. CT.SOTTTT.",
            ),
        );
    }
    value
}

/// An optional e-mail address; light syntax check (one `@`, a dot in the domain, no spaces).
pub fn email(invalid: &mut Invalid, field: &'static str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return String::new();
    }
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if !valid || value.len() > 254 {
        invalid.push(
            field,
            "bad_email",
            Text::new(
                "Địa chỉ thư điện tử không hợp lệ, ví dụ ten@cantho.gov.vn.",
                "Not a valid e-mail address, e.g. name@cantho.gov.vn.",
            ),
        );
    }
    value.to_string()
}

/// An optional phone number: digits with optional leading `+` and spaces, dots or dashes;
/// 8 to 15 digits (landlines with area code, mobiles, +84 …).
pub fn phone(invalid: &mut Invalid, field: &'static str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return String::new();
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')') || (c == '+' && i == 0)
    });
    if !allowed || !(8..=15).contains(&digits) {
        invalid.push(
            field,
            "bad_phone",
            Text::new(
                "Số điện thoại gồm 8–15 chữ số, ví dụ 0292 3820 123 hoặc 0912 345 678.",
                "A phone number has 8–15 digits, e.g. 0292 3820 123 or 0912 345 678.",
            ),
        );
    }
    value.to_string()
}

/// A date written `dd/mm/yyyy` (as shown to users) or `yyyy-mm-dd` (HTML date inputs, the
/// API). Empty is `None`.
pub fn optional_date(invalid: &mut Invalid, field: &'static str, value: &str) -> Option<Date> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match parse_date(value) {
        Some(date) => Some(date),
        None => {
            invalid.push(
                field,
                "bad_date",
                Text::new(
                    "Ngày không hợp lệ; nhập dạng dd/mm/yyyy.",
                    "Not a valid date; write dd/mm/yyyy.",
                ),
            );
            None
        }
    }
}

/// Parses `dd/mm/yyyy` or `yyyy-mm-dd`.
pub fn parse_date(value: &str) -> Option<Date> {
    if let Some((day, rest)) = value.split_once('/') {
        let (month, year) = rest.split_once('/')?;
        let (day, month, year) = (
            day.parse::<i8>().ok()?,
            month.parse::<i8>().ok()?,
            year.parse::<i16>().ok()?,
        );
        return Date::new(year, month, day).ok();
    }
    value.parse::<Date>().ok()
}

/// Shows a date as `dd/mm/yyyy`.
pub fn format_date(date: Date) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), date.month(), date.year())
}

/// A whole number in `range`; empty gives `default`.
pub fn number(
    invalid: &mut Invalid,
    field: &'static str,
    value: &str,
    max: u32,
    default: u32,
) -> u32 {
    let value = value.trim();
    if value.is_empty() {
        return default;
    }
    match value.parse::<u32>() {
        Ok(n) if n <= max => n,
        _ => {
            invalid.push(
                field,
                "bad_number",
                Text::new(
                    format!("Nhập một số nguyên từ 0 đến {max}."),
                    format!("Enter a whole number from 0 to {max}."),
                ),
            );
            default
        }
    }
}

/// A yes/no cell: `1/0`, `true/false`, `yes/no`, `có/không`, `x`/empty, `on` (HTML checkbox).
pub fn flag(invalid: &mut Invalid, field: &'static str, value: &str) -> bool {
    match value.trim().to_lowercase().as_str() {
        "" | "0" | "false" | "no" | "không" | "khong" | "off" => false,
        "1" | "true" | "yes" | "có" | "co" | "x" | "on" => true,
        _ => {
            invalid.push(
                field,
                "bad_flag",
                Text::new("Nhập có hoặc không.", "Enter yes or no."),
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_both_forms_and_print_vietnamese_style() {
        let date = parse_date("05/07/2025").unwrap();
        assert_eq!(date, parse_date("2025-07-05").unwrap());
        assert_eq!(format_date(date), "05/07/2025");
        assert!(parse_date("31/02/2025").is_none());
        assert!(parse_date("hôm nay").is_none());
    }

    #[test]
    fn phones_and_emails() {
        let mut invalid = Invalid::default();
        phone(&mut invalid, "phone", "0292 3820 123");
        phone(&mut invalid, "phone", "+84 912.345.678");
        email(&mut invalid, "email", "ten@cantho.gov.vn");
        assert!(invalid.errors.is_empty(), "{invalid}");
        phone(&mut invalid, "phone", "12ab");
        email(&mut invalid, "email", "ten@cantho");
        code(&mut invalid, "code", "Sở TT");
        let codes: Vec<_> = invalid.errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["bad_phone", "bad_email", "bad_code"]);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_shown_date_reads_back_as_the_same_date(year in 1900i16..2100, month in 1i8..=12, day in 1i8..=28) {
            let date = Date::new(year, month, day).unwrap();
            prop_assert_eq!(parse_date(&format_date(date)), Some(date));
            prop_assert_eq!(parse_date(&date.to_string()), Some(date));
        }
    }
}
