//! Sessions (phiên hội nghị) from registration to cancellation: what a registration carries
//! (R-REG-1), its life cycle, and the pure rules applied to it — lead times ([`checks`],
//! R-REG-2, R-REG-9, R-REG-10), double booking and free slots ([`booking`], R-REG-3),
//! recurring series ([`recurrence`]), who approves ([`route_approver`], R-REG-4) and the
//! documents attached to a session ([`document`], R-REG-9), and its preparation: rehearsals,
//! readiness checks and link grades ([`readiness`], R-PREP-1 … R-PREP-6).
//!
//! Times here are civil date-times in Vietnam (`Asia/Ho_Chi_Minh`, UTC+7 without daylight
//! saving), because every rule is stated in local office time and working days; the store
//! converts to instants. The clock is never read: `now` is an argument.

use jiff::civil::{DateTime, Time};
use serde::{Deserialize, Serialize};

use crate::endpoint::code_enum;
use crate::lang::{Lang, Text};
use crate::policy::{ApproverRef, ApproverRule, ConvenerMatch};
use crate::unit::UnitKind;
use crate::validate::{self, Invalid};

pub mod attendance;
pub mod booking;
pub mod checks;
pub mod document;
pub mod incident;
pub mod readiness;
pub mod recurrence;
#[cfg(test)]
mod tests;

pub use recurrence::Recurrence;

code_enum! {
    /// Meeting types of Decision 45/2018/QĐ-TTg.
    MeetingType {
        /// Họp tham mưu, tư vấn.
        Advisory = "advisory", "Họp tham mưu, tư vấn", "Advisory meeting";
        /// Họp giải quyết công việc.
        WorkResolution = "work_resolution", "Họp giải quyết công việc", "Work-resolution meeting";
        /// Họp chuyên môn.
        Professional = "professional", "Họp chuyên môn", "Professional meeting";
        /// Họp giao ban (periodic briefing).
        PeriodicBriefing = "periodic_briefing", "Họp giao ban", "Periodic briefing";
        /// Hội nghị sơ kết, tổng kết.
        Review = "review", "Hội nghị sơ kết, tổng kết", "Interim or annual review";
        /// Hội nghị chuyên đề.
        Thematic = "thematic", "Hội nghị chuyên đề", "Thematic conference";
        /// Hội nghị tập huấn, triển khai.
        Training = "training", "Hội nghị tập huấn, triển khai", "Training or roll-out";
        /// Họp lấy ý kiến.
        Consultation = "consultation", "Họp lấy ý kiến", "Consultation";
    }
}

code_enum! {
    /// State-secret classification (R-SEC-4).
    Classification {
        /// Not secret.
        Normal = "normal", "Thường", "Normal";
        /// Mật.
        Confidential = "mat", "Mật", "Confidential (Mật)";
        /// Tối mật.
        Secret = "toi_mat", "Tối mật", "Secret (Tối mật)";
        /// Tuyệt mật.
        TopSecret = "tuyet_mat", "Tuyệt mật", "Top secret (Tuyệt mật)";
    }
}

code_enum! {
    /// How urgent a registration is (R-REG-2).
    Urgency {
        /// Registered ahead under the normal lead time.
        Normal = "normal", "Bình thường", "Normal";
        /// Storm, flood, disaster, epidemic, fire …: the normal lead time does not apply.
        Emergency = "emergency", "Khẩn cấp", "Emergency";
    }
}

code_enum! {
    /// Extra needs asked with a registration (R-REG-1).
    ExtraNeed {
        /// Record the session.
        Recording = "recording", "Ghi hình", "Recording";
        /// Show slides.
        Slides = "slides", "Trình chiếu", "Slides";
        /// Play a video.
        VideoPlayback = "video_playback", "Phát video", "Video playback";
        /// A large hall.
        LargeHall = "large_hall", "Hội trường lớn", "Large hall";
        /// A room at the headquarters.
        HqRoom = "hq_room", "Phòng họp tại trụ sở", "Room at the headquarters";
    }
}

code_enum! {
    /// Where a registration stands.
    SessionStatus {
        /// Saved by the host, not sent; books nothing.
        Draft = "draft", "Bản nháp", "Draft";
        /// Sent, awaiting the approver; its rooms and MCU capacity are held.
        Submitted = "submitted", "Chờ phê duyệt", "Awaiting approval";
        /// The approver asked for changes; still held until resubmitted or cancelled.
        ChangesRequested = "changes_requested", "Yêu cầu chỉnh sửa", "Changes requested";
        /// Approved: invitations are out, the session is on the published schedule.
        Approved = "approved", "Đã phê duyệt", "Approved";
        /// Refused with a reason; books nothing.
        Refused = "refused", "Bị từ chối", "Refused";
        /// Cancelled by the host; books nothing.
        Cancelled = "cancelled", "Đã hủy", "Cancelled";
    }
}

impl SessionStatus {
    /// Whether a session in this state holds its rooms and MCU capacity (R-REG-3).
    pub fn holds_resources(self) -> bool {
        matches!(
            self,
            SessionStatus::Submitted | SessionStatus::ChangesRequested | SessionStatus::Approved
        )
    }

    /// Whether the host may still edit it.
    pub fn editable(self) -> bool {
        matches!(
            self,
            SessionStatus::Draft
                | SessionStatus::Submitted
                | SessionStatus::ChangesRequested
                | SessionStatus::Approved
        )
    }

    /// Codes of the states that hold resources, for SQL `IN` lists.
    pub const HOLDING: [&'static str; 3] = ["submitted", "changes_requested", "approved"];
}

/// What the host or the approver does to a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send a draft or a corrected registration for approval.
    Submit,
    /// Approve.
    Approve,
    /// Refuse, with a reason.
    Refuse,
    /// Send back for changes, with what to change.
    AskChanges,
    /// Cancel, with a reason.
    Cancel,
}

impl Action {
    /// The state after `self` is done in `from`, or a message saying why it cannot be.
    pub fn apply(self, from: SessionStatus) -> Result<SessionStatus, Text> {
        use SessionStatus as S;
        let to = match (self, from) {
            (Action::Submit, S::Draft | S::ChangesRequested) => S::Submitted,
            (Action::Approve, S::Submitted) => S::Approved,
            (Action::Refuse, S::Submitted) => S::Refused,
            (Action::AskChanges, S::Submitted) => S::ChangesRequested,
            (Action::Cancel, S::Draft | S::Submitted | S::ChangesRequested | S::Approved) => {
                S::Cancelled
            }
            _ => {
                return Err(Text::new(
                    format!(
                        "Không thể thực hiện thao tác này khi đăng ký đang ở trạng thái \"{}\".",
                        from.label(Lang::Vi)
                    ),
                    format!(
                        "This cannot be done while the registration is \"{}\".",
                        from.label(Lang::En)
                    ),
                ))
            }
        };
        Ok(to)
    }

    /// Whether the action needs a written reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Action::Refuse | Action::AskChanges | Action::Cancel)
    }
}

/// A registration as typed values (R-REG-1), ready for the policy checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The convening (host) unit.
    pub host_unit_id: i64,
    /// The chair's endpoint.
    pub host_endpoint_id: i64,
    /// Invited member endpoints, without the host's, in the order given.
    pub member_endpoint_ids: Vec<i64>,
    /// Title.
    pub title: String,
    /// Content and agenda.
    pub content: String,
    /// Meeting type (Decision 45/2018).
    pub meeting_type: MeetingType,
    /// State-secret classification.
    pub classification: Classification,
    /// Normal or emergency.
    pub urgency: Urgency,
    /// Why it is an emergency (required then).
    pub emergency_reason: String,
    /// Who chairs.
    pub chair_name: String,
    /// The chair's title.
    pub chair_title: String,
    /// Contact person at the host.
    pub contact_name: String,
    /// The contact's phone.
    pub contact_phone: String,
    /// Extra needs.
    pub extra_needs: Vec<ExtraNeed>,
    /// Official start, local time.
    pub starts_at: DateTime,
    /// Official end, local time.
    pub ends_at: DateTime,
    /// Rehearsals asked for, local times.
    pub rehearsals: Vec<DateTime>,
    /// Repetition, for a series (only when registering, not when editing one occurrence).
    pub recurrence: Option<Recurrence>,
}

impl Registration {
    /// Every endpoint booked: the host's first, then the members.
    pub fn all_endpoint_ids(&self) -> Vec<i64> {
        let mut all = vec![self.host_endpoint_id];
        all.extend(self.member_endpoint_ids.iter().copied());
        all
    }

    /// The length of the session.
    pub fn duration(&self) -> jiff::Span {
        self.ends_at
            .since(self.starts_at)
            .unwrap_or_else(|_| jiff::Span::new())
    }
}

/// A registration as typed by a person or sent to the API: every field is text so that a
/// bad value comes back with a message instead of a parse failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationForm {
    /// Host unit id.
    pub host_unit_id: String,
    /// Host endpoint id.
    pub host_endpoint_id: String,
    /// Member endpoint ids.
    pub member_endpoint_ids: Vec<String>,
    /// Title.
    pub title: String,
    /// Content.
    pub content: String,
    /// Meeting type code.
    pub meeting_type: String,
    /// Classification code.
    pub classification: String,
    /// `normal` or `emergency`.
    pub urgency: String,
    /// Why it is an emergency.
    pub emergency_reason: String,
    /// Chair's name.
    pub chair_name: String,
    /// Chair's title.
    pub chair_title: String,
    /// Contact person.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Extra need codes.
    pub extra_needs: Vec<String>,
    /// Day, `dd/mm/yyyy` or ISO.
    pub date: String,
    /// Start, `HH:MM`.
    pub start_time: String,
    /// End, `HH:MM`.
    pub end_time: String,
    /// Rehearsals, one per line, `dd/mm/yyyy HH:MM`.
    pub rehearsals: String,
    /// Repeat: empty, `weekly` or `working_days`.
    pub repeat: String,
    /// Last day of the series.
    pub repeat_until: String,
    /// Days of the series left out, separated by commas, spaces or new lines.
    pub repeat_except: String,
}

/// The longest session accepted, in hours (a whole working day with a margin).
pub const MAX_DURATION_HOURS: i64 = 12;

/// Parses `HH:MM` (or `H:MM`, `HHhMM`).
pub fn parse_time(value: &str) -> Option<Time> {
    let value = value.trim().replace(['h', 'H'], ":");
    let (hour, minute) = value.split_once(':')?;
    let minute = if minute.is_empty() { "0" } else { minute };
    Time::new(hour.parse().ok()?, minute.parse().ok()?, 0, 0).ok()
}

/// Parses `dd/mm/yyyy HH:MM` (or ISO `yyyy-mm-ddTHH:MM`).
pub fn parse_date_time(value: &str) -> Option<DateTime> {
    let value = value.trim();
    if let Some((date, time)) = value.split_once([' ', 'T']) {
        let date = validate::parse_date(date.trim())?;
        let time = parse_time(time)?;
        return Some(date.to_datetime(time));
    }
    None
}

/// Shows a date-time as `HH:MM ngày dd/mm/yyyy` (Vietnamese) or `HH:MM on dd/mm/yyyy`.
pub fn format_date_time(at: DateTime, lang: Lang) -> String {
    let date = validate::format_date(at.date());
    match lang {
        Lang::Vi => format!("{:02}:{:02} ngày {date}", at.hour(), at.minute()),
        Lang::En => format!("{:02}:{:02} on {date}", at.hour(), at.minute()),
    }
}

fn parse_id(invalid: &mut Invalid, field: &'static str, value: &str) -> i64 {
    match value.trim().parse::<i64>() {
        Ok(id) if id > 0 => id,
        _ if value.trim().is_empty() => {
            invalid.push(field, "required", Text::new("Hãy chọn.", "Choose one."));
            0
        }
        _ => {
            invalid.push(
                field,
                "invalid",
                Text::new("Giá trị không hợp lệ.", "Not a valid choice."),
            );
            0
        }
    }
}

fn parse_code<T: Copy>(
    invalid: &mut Invalid,
    field: &'static str,
    value: &str,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
) -> T {
    if value.trim().is_empty() {
        return default;
    }
    parse(value).unwrap_or_else(|| {
        invalid.push(
            field,
            "invalid",
            Text::new("Giá trị không hợp lệ.", "Not a valid choice."),
        );
        default
    })
}

/// Splits a list typed with commas, semicolons, spaces or new lines.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', ';', '\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

impl RegistrationForm {
    /// Checks every field and returns the typed registration, or every problem at once.
    pub fn parse(&self) -> Result<Registration, Invalid> {
        let mut invalid = Invalid::default();
        let host_unit_id = parse_id(&mut invalid, "host_unit_id", &self.host_unit_id);
        let host_endpoint_id = parse_id(&mut invalid, "host_endpoint_id", &self.host_endpoint_id);
        let mut member_endpoint_ids = Vec::new();
        for raw in self.member_endpoint_ids.iter().flat_map(|v| split_list(v)) {
            match raw.parse::<i64>() {
                Ok(id) if id > 0 => {
                    if id != host_endpoint_id && !member_endpoint_ids.contains(&id) {
                        member_endpoint_ids.push(id);
                    }
                }
                _ => invalid.push(
                    "member_endpoint_ids",
                    "invalid",
                    Text::new(
                        format!("\"{raw}\" không phải là điểm cầu hợp lệ."),
                        format!("\"{raw}\" is not a valid endpoint."),
                    ),
                ),
            }
        }
        if member_endpoint_ids.is_empty()
            && invalid
                .message_for("member_endpoint_ids", Lang::En)
                .is_none()
        {
            invalid.push(
                "member_endpoint_ids",
                "required",
                Text::new(
                    "Hãy chọn ít nhất một điểm cầu thành viên.",
                    "Choose at least one member endpoint.",
                ),
            );
        }
        let title = validate::required_text(&mut invalid, "title", &self.title, 300);
        let content = validate::optional_text(&mut invalid, "content", &self.content, 5000);
        let meeting_type = parse_code(
            &mut invalid,
            "meeting_type",
            &self.meeting_type,
            MeetingType::WorkResolution,
            MeetingType::parse,
        );
        let classification = parse_code(
            &mut invalid,
            "classification",
            &self.classification,
            Classification::Normal,
            Classification::parse,
        );
        let urgency = parse_code(
            &mut invalid,
            "urgency",
            &self.urgency,
            Urgency::Normal,
            Urgency::parse,
        );
        let emergency_reason = validate::optional_text(
            &mut invalid,
            "emergency_reason",
            &self.emergency_reason,
            500,
        );
        if urgency == Urgency::Emergency && emergency_reason.is_empty() {
            invalid.push(
                "emergency_reason",
                "required",
                Text::new(
                    "Hãy nêu lý do khẩn cấp (bão, lũ, thiên tai, dịch bệnh, cháy nổ …).",
                    "Give the reason for the emergency (storm, flood, disaster, epidemic, fire …).",
                ),
            );
        }
        let chair_name = validate::required_text(&mut invalid, "chair_name", &self.chair_name, 120);
        let chair_title =
            validate::optional_text(&mut invalid, "chair_title", &self.chair_title, 200);
        let contact_name =
            validate::required_text(&mut invalid, "contact_name", &self.contact_name, 120);
        let contact_phone = if self.contact_phone.trim().is_empty() {
            validate::required_text(&mut invalid, "contact_phone", "", 20)
        } else {
            validate::phone(&mut invalid, "contact_phone", &self.contact_phone)
        };
        let mut extra_needs = Vec::new();
        for raw in self.extra_needs.iter().flat_map(|v| split_list(v)) {
            match ExtraNeed::parse(raw) {
                Some(need) if !extra_needs.contains(&need) => extra_needs.push(need),
                Some(_) => {}
                None => invalid.push(
                    "extra_needs",
                    "invalid",
                    Text::new(
                        format!("Không có nhu cầu \"{raw}\"."),
                        format!("There is no extra need \"{raw}\"."),
                    ),
                ),
            }
        }

        let date = if self.date.trim().is_empty() {
            invalid.push(
                "date",
                "required",
                Text::new("Hãy nhập ngày họp.", "Enter the day."),
            );
            None
        } else {
            let date = validate::parse_date(self.date.trim());
            if date.is_none() {
                invalid.push(
                    "date",
                    "invalid_date",
                    Text::new(
                        "Ngày không hợp lệ; hãy nhập theo dạng dd/mm/yyyy.",
                        "Not a valid date; use dd/mm/yyyy.",
                    ),
                );
            }
            date
        };
        let mut time = |field: &'static str, value: &str| {
            let parsed = parse_time(value);
            if parsed.is_none() {
                invalid.push(
                    field,
                    "invalid_time",
                    Text::new(
                        "Giờ không hợp lệ; hãy nhập theo dạng HH:MM, ví dụ 14:00.",
                        "Not a valid time; use HH:MM, e.g. 14:00.",
                    ),
                );
            }
            parsed
        };
        let start_time = time("start_time", &self.start_time);
        let end_time = time("end_time", &self.end_time);
        let (mut starts_at, mut ends_at) = (DateTime::default(), DateTime::default());
        if let (Some(date), Some(start), Some(end)) = (date, start_time, end_time) {
            starts_at = date.to_datetime(start);
            ends_at = date.to_datetime(end);
            if ends_at <= starts_at {
                invalid.push(
                    "end_time",
                    "end_before_start",
                    Text::new(
                        "Giờ kết thúc phải sau giờ bắt đầu.",
                        "The end must be after the start.",
                    ),
                );
            } else if ends_at
                .since(starts_at)
                .map(|s| s.get_hours() as i64 + (s.get_minutes() > 0) as i64)
                .unwrap_or(0)
                > MAX_DURATION_HOURS
            {
                invalid.push(
                    "end_time",
                    "too_long",
                    Text::new(
                        format!("Một phiên họp dài tối đa {MAX_DURATION_HOURS} giờ."),
                        format!("A session lasts at most {MAX_DURATION_HOURS} hours."),
                    ),
                );
            }
        }
        let mut rehearsals = Vec::new();
        for line in self
            .rehearsals
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match parse_date_time(line) {
                Some(at) if at < starts_at || date.is_none() => rehearsals.push(at),
                Some(_) => invalid.push(
                    "rehearsals",
                    "rehearsal_after_start",
                    Text::new(
                        format!("Buổi chạy thử \"{line}\" phải trước giờ họp chính thức."),
                        format!("The rehearsal \"{line}\" must be before the official start."),
                    ),
                ),
                None => invalid.push(
                    "rehearsals",
                    "invalid",
                    Text::new(
                        format!(
                            "\"{line}\" không hợp lệ; mỗi dòng một buổi, dạng dd/mm/yyyy HH:MM."
                        ),
                        format!(
                            "\"{line}\" is not valid; one rehearsal per line, dd/mm/yyyy HH:MM."
                        ),
                    ),
                ),
            }
        }
        rehearsals.sort();
        let recurrence = recurrence::parse_form(
            &mut invalid,
            &self.repeat,
            &self.repeat_until,
            &self.repeat_except,
            date,
        );
        invalid.finish(|| Registration {
            host_unit_id,
            host_endpoint_id,
            member_endpoint_ids,
            title,
            content,
            meeting_type,
            classification,
            urgency,
            emergency_reason,
            chair_name,
            chair_title,
            contact_name,
            contact_phone,
            extra_needs,
            starts_at,
            ends_at,
            rehearsals,
            recurrence,
        })
    }

    /// The form filled with a stored registration, for editing.
    pub fn from_registration(registration: &Registration) -> RegistrationForm {
        let time = |at: DateTime| format!("{:02}:{:02}", at.hour(), at.minute());
        RegistrationForm {
            host_unit_id: registration.host_unit_id.to_string(),
            host_endpoint_id: registration.host_endpoint_id.to_string(),
            member_endpoint_ids: registration
                .member_endpoint_ids
                .iter()
                .map(i64::to_string)
                .collect(),
            title: registration.title.clone(),
            content: registration.content.clone(),
            meeting_type: registration.meeting_type.as_str().into(),
            classification: registration.classification.as_str().into(),
            urgency: registration.urgency.as_str().into(),
            emergency_reason: registration.emergency_reason.clone(),
            chair_name: registration.chair_name.clone(),
            chair_title: registration.chair_title.clone(),
            contact_name: registration.contact_name.clone(),
            contact_phone: registration.contact_phone.clone(),
            extra_needs: registration
                .extra_needs
                .iter()
                .map(|n| n.as_str().to_string())
                .collect(),
            date: validate::format_date(registration.starts_at.date()),
            start_time: time(registration.starts_at),
            end_time: time(registration.ends_at),
            rehearsals: registration
                .rehearsals
                .iter()
                .map(|at| format!("{} {}", validate::format_date(at.date()), time(*at)))
                .collect::<Vec<_>>()
                .join("\n"),
            repeat: String::new(),
            repeat_until: String::new(),
            repeat_except: String::new(),
        }
    }
}

/// Who approves a registration of the host whose ancestor chain (host first, then its
/// parent, up to the root) is `host_chain` (R-REG-4): the first rule matching the host's
/// kind names either the operating unit or the nearest unit of a kind in the chain. When no
/// unit of that kind is found, the operating unit answers, as the seeds make it the default
/// recipient of every registration.
pub fn route_approver(
    rules: &[ApproverRule],
    host_chain: &[(i64, UnitKind)],
    operating_unit_id: i64,
) -> i64 {
    let Some(&(_, host_kind)) = host_chain.first() else {
        return operating_unit_id;
    };
    let rule = rules.iter().find(|rule| match rule.convener {
        ConvenerMatch::Any => true,
        ConvenerMatch::Kind(kind) => kind == host_kind,
    });
    match rule.map(|rule| rule.approver) {
        Some(ApproverRef::Kind(kind)) => host_chain
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(id, _)| *id)
            .unwrap_or(operating_unit_id),
        Some(ApproverRef::OperatingUnit) | None => operating_unit_id,
    }
}
