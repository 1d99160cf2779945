//! A small writer of iCalendar (RFC 5545) text: just what the schedule feeds need.
//!
//! Why not the `icalendar` crate: checked at 0.17 it writes a `DTSTAMP` and a random `UID`
//! into every component it serialises that lacks them, `VTIMEZONE` and `STANDARD` included
//! (RFC 5545 §3.6.5 allows neither there); it has no public way to build a `VTIMEZONE`; it
//! works on `chrono` types where this workspace uses `jiff`; and its latest release needs a
//! newer Rust than the workspace's `rust-version`. What is needed here is small and fully
//! specified, so it is written out and tested against the RFC and, in the API tests, against
//! Python's `icalendar` parser:
//!
//! - lines end in CRLF (§3.1);
//! - a content line longer than 75 octets is folded: CRLF and one space, never inside a
//!   UTF-8 sequence, each physical line at most 75 octets including the leading space;
//! - TEXT values escape backslash, semicolon, comma and new line (§3.3.11) and drop the
//!   control characters TEXT does not allow;
//! - date-times are local times with a `TZID` parameter that names a `VTIMEZONE` written in
//!   the same object (§3.3.5 form 3), or UTC with `Z`.

use jiff::civil::DateTime;
use jiff::Timestamp;

/// The `TZID` of every local time in the feeds.
pub const TZID: &str = "Asia/Ho_Chi_Minh";

/// Longest physical line, in octets, without the CRLF (RFC 5545 §3.1).
const LINE_LIMIT: usize = 75;

/// An iCalendar object being written.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// A new, empty object.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// `BEGIN:NAME`.
    pub fn begin(&mut self, component: &str) {
        self.line(&format!("BEGIN:{component}"));
    }

    /// `END:NAME`.
    pub fn end(&mut self, component: &str) {
        self.line(&format!("END:{component}"));
    }

    /// A property whose value is written as given (numbers, codes, durations …).
    pub fn raw(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{value}"));
    }

    /// A TEXT property, escaped.
    pub fn text(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{}", escape_text(value)));
    }

    /// A local date-time in [`TZID`]: `NAME;TZID=Asia/Ho_Chi_Minh:YYYYMMDDTHHMMSS`.
    pub fn local(&mut self, name: &str, at: DateTime) {
        self.line(&format!(
            "{name};TZID={TZID}:{}",
            at.strftime("%Y%m%dT%H%M%S")
        ));
    }

    /// A UTC date-time: `NAME:YYYYMMDDTHHMMSSZ`.
    pub fn utc(&mut self, name: &str, at: Timestamp) {
        self.line(&format!("{name}:{}", at.strftime("%Y%m%dT%H%M%SZ")));
    }

    /// The `VTIMEZONE` of [`TZID`]: Vietnam has kept UTC+7 without daylight saving since
    /// 1975, so one `STANDARD` observance describes every time the feeds carry.
    pub fn vtimezone(&mut self) {
        self.begin("VTIMEZONE");
        self.raw("TZID", TZID);
        self.begin("STANDARD");
        self.raw("DTSTART", "19750613T000000");
        self.raw("TZOFFSETFROM", "+0700");
        self.raw("TZOFFSETTO", "+0700");
        self.raw("TZNAME", "ICT");
        self.end("STANDARD");
        self.end("VTIMEZONE");
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    fn line(&mut self, content: &str) {
        fold_into(&mut self.out, content);
    }
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\r' => {
                // CRLF and lone CR are both one line break.
                if chars.peek() != Some(&'\n') {
                    escaped.push_str("\\n");
                }
            }
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push('\t'),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends `content` as one content line, folded at [`LINE_LIMIT`] octets on character
/// boundaries, with its CRLF.
fn fold_into(out: &mut String, content: &str) {
    let mut rest = content;
    // The first physical line has the whole limit; continuations lose one octet to the space.
    let mut limit = LINE_LIMIT;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = LINE_LIMIT - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\u{7}h:i"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ngh:i"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_on_character_boundaries() {
        let title = "Hội nghị trực tuyến triển khai nhiệm vụ phát triển kinh tế – xã hội, \
                     bảo đảm quốc phòng, an ninh năm 2027 của thành phố Cần Thơ";
        let mut writer = Writer::new();
        writer.text("SUMMARY", title);
        let text = writer.finish();
        assert!(text.ends_with("\r\n"));
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert!(lines.len() > 2, "folded: {lines:?}");
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        assert_eq!(
            unfold(&text),
            format!("SUMMARY:{}\r\n", escape_text(title)),
            "unfolding restores the line"
        );
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded() {
        let mut writer = Writer::new();
        writer.raw("X-A", &"b".repeat(71));
        let text = writer.finish();
        assert_eq!(text.len(), 77);
        assert!(!text.contains("\r\n "));
    }

    #[test]
    fn local_times_name_their_zone_and_utc_ends_in_z() {
        let mut writer = Writer::new();
        writer.local("DTSTART", jiff::civil::date(2027, 1, 5).at(8, 0, 0, 0));
        writer.utc("DTSTAMP", "2026-11-23T01:02:03Z".parse().unwrap());
        assert_eq!(
            writer.finish(),
            "DTSTART;TZID=Asia/Ho_Chi_Minh:20270105T080000\r\nDTSTAMP:20261123T010203Z\r\n"
        );
    }
}
