//! The policy's deadlines applied to a registration (R-REG-2, R-REG-9, R-REG-10).
//!
//! A lead time is counted back from the official start: in working days on the
//! [`WorkCalendar`] (same time of day, on the day that many working days earlier), or on the
//! clock. A refusal names the rule, the seed article the profile cites and the latest
//! allowed time, and says what to do instead, in both languages.

use jiff::civil::DateTime;
use jiff::ToSpan;
use serde::Serialize;

use super::{format_date_time, MeetingType, Registration, Urgency};
use crate::calendar::WorkCalendar;
use crate::lang::{Lang, Text};
use crate::policy::{LeadTime, Policy, Sourced};

/// One deadline a registration misses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The requirement, e.g. `R-REG-2`.
    pub rule: &'static str,
    /// The form field to show it next to.
    pub field: &'static str,
    /// Stable machine code.
    pub code: &'static str,
    /// What is wrong and what to do.
    pub message: Text,
    /// The latest time the thing could have been done.
    pub deadline: DateTime,
}

/// The latest time something due `lead` before `start` can be done.
pub fn deadline(lead: LeadTime, start: DateTime, calendar: &WorkCalendar) -> DateTime {
    match lead {
        LeadTime::WorkingDays(n) => calendar.working_days_before(start, n),
        LeadTime::Days(n) => start.saturating_sub((n as i64).days()),
        LeadTime::Hours(n) => start.saturating_sub((n as i64).hours()),
        LeadTime::Minutes(n) => start.saturating_sub((n as i64).minutes()),
    }
}

/// The article part of a policy source: `"CT art. 7.1: written notice …"` → `"CT art. 7.1"`.
pub fn article(source: &str) -> &str {
    source
        .split_once(':')
        .map_or(source, |(article, _)| article)
        .trim()
}

/// Checks a registration made at `now` against the lead times of `policy`.
///
/// `previous_start` is the start already booked when an existing registration is changed:
/// moving a session later (a postponement) is never refused for lead time, since the
/// invitees were already told of an earlier time; moving it earlier is checked like a new
/// registration.
pub fn check_registration(
    policy: &Policy,
    calendar: &WorkCalendar,
    now: DateTime,
    registration: &Registration,
    previous_start: Option<DateTime>,
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    let start = registration.starts_at;
    if start <= now {
        refusals.push(Refusal {
            rule: "R-REG-2",
            field: "date",
            code: "start_in_past",
            message: Text::new(
                "Giờ bắt đầu đã qua; hãy chọn một thời điểm trong tương lai.",
                "The start has passed; choose a time in the future.",
            ),
            deadline: start,
        });
        return refusals;
    }
    if previous_start.is_some_and(|previous| start >= previous) {
        return refusals;
    }
    match registration.urgency {
        Urgency::Normal => {
            if let Some(refusal) = late(
                &policy.lead_time_normal,
                start,
                now,
                calendar,
                "date",
                "lead_time",
                (
                    "Phải đăng ký trước ít nhất",
                    "Hãy chọn thời gian họp muộn hơn; nếu là việc khẩn cấp (bão, lũ, thiên tai, dịch bệnh, cháy nổ), chọn mức \"Khẩn cấp\" và nêu lý do.",
                ),
                (
                    "A session must be registered at least",
                    "Choose a later time; if this is an emergency (storm, flood, disaster, epidemic, fire), mark it \"Emergency\" and give the reason.",
                ),
            ) {
                refusals.push(refusal);
            }
            if !registration.extra_needs.is_empty() {
                if let Some(refusal) = late(
                    &policy.lead_time_extra_needs,
                    start,
                    now,
                    calendar,
                    "extra_needs",
                    "extra_needs_lead_time",
                    (
                        "Yêu cầu ghi hình, trình chiếu, phát video hoặc phòng họp đặc biệt phải gửi trước ít nhất",
                        "Hãy bỏ các nhu cầu thêm này hoặc chọn thời gian họp muộn hơn.",
                    ),
                    (
                        "Requests for recording, slides, video playback or a special room must be made at least",
                        "Remove these extra needs or choose a later time.",
                    ),
                ) {
                    refusals.push(refusal);
                }
            }
        }
        Urgency::Emergency => {
            if let Some(refusal) = late(
                &policy.lead_time_emergency,
                start,
                now,
                calendar,
                "date",
                "emergency_lead_time",
                (
                    "Phiên họp khẩn cấp cũng phải được báo trước ít nhất",
                    "Hãy lùi giờ họp hoặc gọi điện trực tiếp cho đơn vị vận hành.",
                ),
                (
                    "Even an emergency session must be announced at least",
                    "Move the start later or call the operating unit directly.",
                ),
            ) {
                refusals.push(refusal);
            }
        }
    }
    refusals
}

/// The lead time documents need before `registration` starts (R-REG-9; Decision 45/2018
/// art. 10 for periodic meetings), or `None` for an emergency, which has none.
fn document_lead<'p>(
    policy: &'p Policy,
    registration: &Registration,
) -> Option<&'p Sourced<LeadTime>> {
    match (registration.urgency, registration.meeting_type) {
        (Urgency::Emergency, _) => None,
        (_, MeetingType::PeriodicBriefing) => Some(&policy.periodic_documents_before),
        _ => Some(&policy.documents_before),
    }
}

/// The latest time documents for `registration` reach the endpoints in time, or `None` for
/// an emergency.
pub fn document_deadline(
    policy: &Policy,
    calendar: &WorkCalendar,
    registration: &Registration,
) -> Option<DateTime> {
    document_lead(policy, registration)
        .map(|lead| deadline(lead.value, registration.starts_at, calendar))
}

/// Checks that documents attached at `now` reach the endpoints in time (R-REG-9, and
/// Decision 45/2018 art. 10 for periodic meetings). Emergencies are exempt.
pub fn check_document(
    policy: &Policy,
    calendar: &WorkCalendar,
    now: DateTime,
    registration: &Registration,
) -> Option<Refusal> {
    late(
        document_lead(policy, registration)?,
        registration.starts_at,
        now,
        calendar,
        "document",
        "documents_lead_time",
        (
            "Tài liệu phải gửi đến các điểm cầu trước ít nhất",
            "Hãy gửi tài liệu trực tiếp cho các điểm cầu và ghi chú lý do gửi muộn, hoặc dời phiên họp.",
        ),
        (
            "Documents must reach the endpoints at least",
            "Send the document to the endpoints directly and note why it is late, or move the session.",
        ),
    )
    .map(|refusal| Refusal {
        rule: "R-REG-9",
        ..refusal
    })
}

/// Checks that every rehearsal of a centrally convened session ends before the whole
/// system must be connected (R-REG-10).
pub fn check_central_rehearsals(
    policy: &Policy,
    calendar: &WorkCalendar,
    registration: &Registration,
) -> Option<Refusal> {
    let connected_by = deadline(
        policy.central_connection_complete_before.value,
        registration.starts_at,
        calendar,
    );
    let lead = policy.central_connection_complete_before.value;
    let article = article(&policy.central_connection_complete_before.source);
    registration
        .rehearsals
        .iter()
        .any(|at| *at > connected_by)
        .then(|| Refusal {
            rule: "R-REG-10",
            field: "rehearsals",
            code: "rehearsal_after_connection",
            message: Text::new(
                format!(
                    "Phiên họp do Trung ương triệu tập phải kết nối toàn hệ thống trước ít nhất {} ({article}); buổi chạy thử phải xong trước {}. Hãy chọn giờ chạy thử sớm hơn.",
                    lead.describe(Lang::Vi),
                    format_date_time(connected_by, Lang::Vi)
                ),
                format!(
                    "A centrally convened session must have the whole system connected at least {} ahead ({article}); rehearsals must be over by {}. Choose an earlier rehearsal.",
                    lead.describe(Lang::En),
                    format_date_time(connected_by, Lang::En)
                ),
            ),
            deadline: connected_by,
        })
}

/// A refusal if `now` is past the deadline of `lead` before `start`.
#[allow(clippy::too_many_arguments)]
fn late(
    lead: &Sourced<LeadTime>,
    start: DateTime,
    now: DateTime,
    calendar: &WorkCalendar,
    field: &'static str,
    code: &'static str,
    (rule_vi, advice_vi): (&str, &str),
    (rule_en, advice_en): (&str, &str),
) -> Option<Refusal> {
    let latest = deadline(lead.value, start, calendar);
    if now <= latest {
        return None;
    }
    let article = article(&lead.source);
    Some(Refusal {
        rule: "R-REG-2",
        field,
        code,
        message: Text::new(
            format!(
                "{rule_vi} {} ({article}) — hạn chót {}. {advice_vi}",
                lead.value.describe(Lang::Vi),
                format_date_time(latest, Lang::Vi)
            ),
            format!(
                "{rule_en} {} ahead ({article}) — the deadline was {}. {advice_en}",
                lead.value.describe(Lang::En),
                format_date_time(latest, Lang::En)
            ),
        ),
        deadline: latest,
    })
}
