//! Recurring sessions (the Monday briefing, the daily flood-season call): a rule that
//! expands into occurrences, each of which is then registered and checked on its own.
//!
//! Occurrences that fall on a day off (a public holiday, a compensation day, an official
//! day off) are skipped rather than moved, as offices do with a briefing that falls on a
//! holiday; the host can register that week's briefing separately if it is still needed.

use jiff::civil::Date;
use jiff::ToSpan;
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::lang::Text;
use crate::validate::{self, Invalid};

/// The most occurrences one series may have (a year of weekly briefings, or a season of
/// daily calls), so a typo in the end date cannot book years of rooms.
pub const MAX_OCCURRENCES: usize = 120;

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every week on the first occurrence's weekday.
    Weekly,
    /// Every working day.
    WorkingDays,
}

/// A series: the first occurrence's day comes from the registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    /// How often.
    pub frequency: Frequency,
    /// The last day an occurrence may fall on.
    pub until: Date,
    /// Days left out.
    pub except: Vec<Date>,
}

impl Recurrence {
    /// The days of the series starting on `first`: at most [`MAX_OCCURRENCES`], never on a
    /// day off or an excepted day, `first` included when it qualifies.
    pub fn days(&self, first: Date, calendar: &WorkCalendar) -> Vec<Date> {
        let step = match self.frequency {
            Frequency::Weekly => 7.days(),
            Frequency::WorkingDays => 1.day(),
        };
        let mut days = Vec::new();
        let mut day = first;
        while day <= self.until && days.len() < MAX_OCCURRENCES {
            if calendar.is_working_day(day) && !self.except.contains(&day) {
                days.push(day);
            }
            match day.checked_add(step) {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }
}

/// Reads the repeat fields of the registration form; `first` is the session's day.
pub(crate) fn parse_form(
    invalid: &mut Invalid,
    repeat: &str,
    until: &str,
    except: &str,
    first: Option<Date>,
) -> Option<Recurrence> {
    let frequency = match repeat.trim() {
        "" | "none" => return None,
        "weekly" => Frequency::Weekly,
        "working_days" => Frequency::WorkingDays,
        _ => {
            invalid.push(
                "repeat",
                "invalid",
                Text::new("Giá trị không hợp lệ.", "Not a valid choice."),
            );
            return None;
        }
    };
    let until_day = match validate::parse_date(until.trim()) {
        Some(day) => day,
        None => {
            invalid.push(
                "repeat_until",
                "invalid_date",
                Text::new(
                    "Hãy nhập ngày kết thúc chuỗi theo dạng dd/mm/yyyy.",
                    "Enter the last day of the series as dd/mm/yyyy.",
                ),
            );
            return None;
        }
    };
    if let Some(first) = first {
        if until_day < first {
            invalid.push(
                "repeat_until",
                "before_start",
                Text::new(
                    "Ngày kết thúc chuỗi phải từ ngày họp đầu tiên trở đi.",
                    "The series must end on or after its first day.",
                ),
            );
            return None;
        }
        if until_day > first.saturating_add(1.year()) {
            invalid.push(
                "repeat_until",
                "too_far",
                Text::new(
                    "Một chuỗi phiên họp kéo dài tối đa một năm.",
                    "A series lasts at most one year.",
                ),
            );
            return None;
        }
    }
    let mut except_days = Vec::new();
    for raw in super::split_list(except).flat_map(|part| part.split_whitespace()) {
        match validate::parse_date(raw) {
            Some(day) => except_days.push(day),
            None => invalid.push(
                "repeat_except",
                "invalid_date",
                Text::new(
                    format!("\"{raw}\" không phải là ngày hợp lệ (dd/mm/yyyy)."),
                    format!("\"{raw}\" is not a valid date (dd/mm/yyyy)."),
                ),
            ),
        }
    }
    Some(Recurrence {
        frequency,
        until: until_day,
        except: except_days,
    })
}
