//! Preparation of a session (R-PREP-1 … R-PREP-6): the rehearsal times the profile proposes,
//! the readiness check an endpoint's operator fills in, the grading of the media server's
//! link samples, the readiness state of each endpoint and the deadlines a board counts to.
//!
//! Design choices:
//! - Proposed rehearsals are derived, never stored here: the store keeps what the host
//!   accepted or edited. A centrally convened session must be connected by the central
//!   operator's deadline (R-REG-10), so a profile rehearsal after it gives way to a
//!   connection check at that deadline.
//! - The readiness state of an endpoint is a fold over what happened to it, in order (a
//!   check saved half-way or the endpoint joining the room, a passed or failed check), so
//!   "failed, then fixed and re-tested" (R-PREP-3) is a state of its own and cannot be
//!   confused with "ready at the first try".
//! - The link grade is taken at the moment the operator saves a complete check and kept
//!   with it: a poor link fails the check even when every item passes.

use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use super::checks::{article, deadline};
use super::format_date_time;
use crate::calendar::WorkCalendar;
use crate::endpoint::code_enum;
use crate::lang::{Lang, Text};
use crate::policy::{LinkThresholds, Policy};
use crate::validate::{self, Invalid};

/// A rehearsal time the profile (or the registration) proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposedRehearsal {
    /// When, local time.
    pub at: DateTime,
    /// Where the time comes from: a seed article, `registration`, …
    pub source: String,
}

/// The rehearsal times proposed for a session starting at `start`, in order (R-PREP-1).
///
/// The times the registration asked for win when there are any (the host chose them and
/// they were checked at registration). Otherwise each offset of the profile's `rehearsals`
/// counted back from the start (working days on the calendar). A centrally convened
/// session (`central`) drops the times after the whole-system connection deadline and gets
/// a connection check at that deadline (R-REG-10). Times not after `now` are left out: a
/// session approved late gets only the rehearsals still possible.
pub fn propose_rehearsals(
    policy: &Policy,
    calendar: &WorkCalendar,
    start: DateTime,
    central: bool,
    asked: &[DateTime],
    now: DateTime,
) -> Vec<ProposedRehearsal> {
    let mut proposed: Vec<ProposedRehearsal> = if asked.is_empty() {
        policy
            .rehearsals
            .value
            .iter()
            .map(|lead| ProposedRehearsal {
                at: deadline(*lead, start, calendar),
                source: article(&policy.rehearsals.source).to_string(),
            })
            .collect()
    } else {
        asked
            .iter()
            .map(|at| ProposedRehearsal {
                at: *at,
                source: "registration".to_string(),
            })
            .collect()
    };
    if central {
        let connected_by = deadline(
            policy.central_connection_complete_before.value,
            start,
            calendar,
        );
        proposed.retain(|rehearsal| rehearsal.at <= connected_by);
        proposed.push(ProposedRehearsal {
            at: connected_by,
            source: article(&policy.central_connection_complete_before.source).to_string(),
        });
    }
    proposed.retain(|rehearsal| rehearsal.at > now && rehearsal.at < start);
    proposed.sort_by_key(|rehearsal| rehearsal.at);
    proposed.dedup_by_key(|rehearsal| rehearsal.at);
    proposed
}

/// Why a rehearsal cannot be set at `at`, or `None` when it can: it must be in the future,
/// before the official start, and for a centrally convened session no later than the
/// whole-system connection deadline `connected_by` (R-REG-10).
pub fn rehearsal_refusal(
    at: DateTime,
    start: DateTime,
    now: DateTime,
    connected_by: Option<DateTime>,
) -> Option<Text> {
    if at <= now {
        return Some(Text::new(
            "Giờ chạy thử đã qua; hãy chọn một thời điểm sắp tới.",
            "That rehearsal time has passed; choose a time still ahead.",
        ));
    }
    if at >= start {
        return Some(Text::new(
            format!(
                "Buổi chạy thử phải trước giờ họp chính thức ({}); hãy chọn giờ sớm hơn.",
                format_date_time(start, Lang::Vi)
            ),
            format!(
                "A rehearsal must come before the official start ({}); choose an earlier time.",
                format_date_time(start, Lang::En)
            ),
        ));
    }
    if let Some(connected_by) = connected_by.filter(|by| at > *by) {
        return Some(Text::new(
            format!(
                "Phiên họp do Trung ương triệu tập phải kết nối xong toàn hệ thống trước {}; hãy chọn giờ chạy thử không muộn hơn.",
                format_date_time(connected_by, Lang::Vi)
            ),
            format!(
                "A centrally convened session must be fully connected by {}; choose a rehearsal no later than that.",
                format_date_time(connected_by, Lang::En)
            ),
        ));
    }
    None
}

/// Parses a rehearsal time typed as `dd/mm/yyyy HH:MM` (or ISO).
pub fn parse_rehearsal_time(field: &'static str, value: &str) -> Result<DateTime, Invalid> {
    super::parse_date_time(value).ok_or_else(|| {
        Invalid::one(
            field,
            "invalid",
            Text::new(
                "Thời gian không hợp lệ; hãy nhập theo dạng dd/mm/yyyy HH:MM, ví dụ 14/05/2026 08:00.",
                "Not a valid time; use dd/mm/yyyy HH:MM, e.g. 14/05/2026 08:00.",
            ),
        )
    })
}

code_enum! {
    /// One line of the readiness check of an endpoint (R-PREP-2).
    CheckItem {
        /// Mains power.
        Power = "power", "Nguồn điện", "Power";
        /// Backup power (UPS, generator).
        BackupPower = "backup_power", "Nguồn điện dự phòng", "Backup power";
        /// The line to the MCU.
        Network = "network", "Đường truyền", "Network";
        /// The room codec or the device.
        Terminal = "terminal", "Thiết bị đầu cuối", "Terminal";
        /// Microphones and loudspeakers.
        Audio = "audio", "Âm thanh", "Audio";
        /// Cameras and screens.
        Video = "video", "Hình ảnh", "Video";
        /// Lighting of the room.
        Lighting = "lighting", "Ánh sáng", "Lighting";
    }
}

/// One item as the operator enters it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemForm {
    /// The item's code.
    pub item: String,
    /// `pass` or `fail`.
    pub result: String,
    /// What was seen; required when it fails.
    pub note: String,
}

/// One checked item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemResult {
    /// Which item.
    pub item: CheckItem,
    /// Whether it works.
    pub pass: bool,
    /// What the operator noted.
    pub note: String,
}

/// A readiness check as entered: the items checked so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckEntry {
    /// The items, in [`CheckItem::ALL`] order.
    pub items: Vec<ItemResult>,
}

impl CheckEntry {
    /// Checks the items an operator sent: known codes, each at most once, `pass` or
    /// `fail`, a note for every failure (it tells the host what is being fixed). Items may
    /// be missing: the check is then saved as in progress.
    pub fn parse(forms: &[ItemForm]) -> Result<CheckEntry, Invalid> {
        let mut invalid = Invalid::default();
        let mut items = Vec::new();
        for form in forms {
            let code = form.item.trim();
            let Some(item) = CheckItem::parse(code) else {
                invalid.push(
                    "items",
                    "invalid",
                    Text::new(
                        format!("Không có hạng mục kiểm tra \"{code}\"; các hạng mục: nguồn điện, nguồn dự phòng, đường truyền, thiết bị đầu cuối, âm thanh, hình ảnh, ánh sáng."),
                        format!("There is no check item \"{code}\"; the items are power, backup power, network, terminal, audio, video, lighting."),
                    ),
                );
                continue;
            };
            if items.iter().any(|r: &ItemResult| r.item == item) {
                invalid.push(
                    "items",
                    "duplicate",
                    Text::new(
                        format!(
                            "Hạng mục \"{}\" được nhập hai lần; hãy giữ một kết quả.",
                            item.label(Lang::Vi)
                        ),
                        format!(
                            "The item \"{}\" is entered twice; keep one result.",
                            item.label(Lang::En)
                        ),
                    ),
                );
                continue;
            }
            let pass = match form.result.trim() {
                "pass" => true,
                "fail" => false,
                // Not yet checked: the item is left out of an in-progress check.
                "" => continue,
                _ => {
                    invalid.push(
                        "items",
                        "invalid",
                        Text::new(
                            format!(
                                "Kết quả của \"{}\" phải là đạt hoặc không đạt.",
                                item.label(Lang::Vi)
                            ),
                            format!(
                                "The result of \"{}\" must be pass or fail.",
                                item.label(Lang::En)
                            ),
                        ),
                    );
                    continue;
                }
            };
            let note = validate::optional_text(&mut invalid, "items", &form.note, 500);
            if !pass && note.is_empty() {
                invalid.push(
                    "items",
                    "note_required",
                    Text::new(
                        format!("Hạng mục \"{}\" không đạt: hãy ghi rõ lỗi và việc đang làm để khắc phục.", item.label(Lang::Vi)),
                        format!("\"{}\" failed: note what is wrong and what is being done to fix it.", item.label(Lang::En)),
                    ),
                );
            }
            items.push(ItemResult { item, pass, note });
        }
        if items.is_empty() && invalid.errors.is_empty() {
            invalid.push(
                "items",
                "required",
                Text::new(
                    "Hãy đánh giá ít nhất một hạng mục (đạt hoặc không đạt).",
                    "Grade at least one item (pass or fail).",
                ),
            );
        }
        items.sort_by_key(|r| CheckItem::ALL.iter().position(|i| *i == r.item));
        invalid.finish(|| CheckEntry { items })
    }

    /// Whether every item has a result.
    pub fn complete(&self) -> bool {
        CheckItem::ALL
            .iter()
            .all(|item| self.items.iter().any(|r| r.item == *item))
    }

    /// The outcome with the link grade taken when it was saved: passed only when complete,
    /// every item passes and the link is not poor.
    pub fn outcome(&self, link: LinkGrade) -> CheckOutcome {
        if self.items.iter().any(|r| !r.pass) || link == LinkGrade::Poor {
            CheckOutcome::Failed
        } else if self.complete() {
            CheckOutcome::Passed
        } else {
            CheckOutcome::InProgress
        }
    }
}

code_enum! {
    /// What a saved check says.
    CheckOutcome {
        /// Some items are still to be checked, none failed so far.
        InProgress = "in_progress", "Đang kiểm tra", "In progress";
        /// Every item passed and the link is not poor.
        Passed = "passed", "Đạt", "Passed";
        /// An item failed or the link is poor.
        Failed = "failed", "Không đạt", "Failed";
    }
}

code_enum! {
    /// Where an endpoint stands in its preparation (R-PREP-3).
    ReadinessState {
        /// Nothing heard from it yet.
        NotCheckedIn = "not_checked_in", "Chưa kiểm tra", "Not checked in";
        /// It joined the room or started its check.
        Checking = "checking", "Đang kiểm tra", "Checking";
        /// Its check passed.
        Ready = "ready", "Sẵn sàng", "Ready";
        /// Its last check failed.
        Failed = "failed", "Lỗi", "Failed";
        /// It failed, was fixed and passed a re-test.
        Fixed = "fixed", "Đã khắc phục, kiểm tra lại đạt", "Fixed and re-tested";
    }
}

/// Something that happened to an endpoint's readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadinessEvent {
    /// It joined the room, or saved a check still in progress.
    Started,
    /// A complete check passed.
    Passed,
    /// A check failed.
    Failed,
}

impl From<CheckOutcome> for ReadinessEvent {
    fn from(outcome: CheckOutcome) -> ReadinessEvent {
        match outcome {
            CheckOutcome::InProgress => ReadinessEvent::Started,
            CheckOutcome::Passed => ReadinessEvent::Passed,
            CheckOutcome::Failed => ReadinessEvent::Failed,
        }
    }
}

impl ReadinessState {
    /// The state after `event`.
    pub fn after(self, event: ReadinessEvent) -> ReadinessState {
        use ReadinessEvent as E;
        use ReadinessState as S;
        match (self, event) {
            (S::NotCheckedIn, E::Started) => S::Checking,
            // Starting again does not undo a result: a ready endpoint stays ready while it
            // re-checks, a failed one stays failed until a check passes.
            (state, E::Started) => state,
            (_, E::Failed) => S::Failed,
            (S::Failed | S::Fixed, E::Passed) => S::Fixed,
            (S::NotCheckedIn | S::Checking | S::Ready, E::Passed) => S::Ready,
        }
    }

    /// The state after every event, in order, from "not checked in".
    pub fn fold(events: impl IntoIterator<Item = ReadinessEvent>) -> ReadinessState {
        events
            .into_iter()
            .fold(ReadinessState::NotCheckedIn, ReadinessState::after)
    }

    /// Whether the endpoint counts as ready.
    pub fn is_ready(self) -> bool {
        matches!(self, ReadinessState::Ready | ReadinessState::Fixed)
    }
}

/// The count of a board: ready (fixed included), failed, not checked in, checking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReadinessTally {
    /// Every endpoint.
    pub total: usize,
    /// Ready or fixed and re-tested.
    pub ready: usize,
    /// Failed.
    pub failed: usize,
    /// Not checked in.
    pub not_checked_in: usize,
    /// Checking.
    pub checking: usize,
}

impl ReadinessTally {
    /// Counts `states`.
    pub fn of(states: impl IntoIterator<Item = ReadinessState>) -> ReadinessTally {
        let mut tally = ReadinessTally::default();
        for state in states {
            tally.total += 1;
            match state {
                ReadinessState::Ready | ReadinessState::Fixed => tally.ready += 1,
                ReadinessState::Failed => tally.failed += 1,
                ReadinessState::NotCheckedIn => tally.not_checked_in += 1,
                ReadinessState::Checking => tally.checking += 1,
            }
        }
        tally
    }

    /// The summary line, e.g. "92/95 sẵn sàng, 2 lỗi, 1 chưa kiểm tra".
    pub fn summary(&self, lang: Lang) -> String {
        let mut parts = vec![match lang {
            Lang::Vi => format!("{}/{} sẵn sàng", self.ready, self.total),
            Lang::En => format!("{}/{} ready", self.ready, self.total),
        }];
        if self.failed > 0 {
            parts.push(match lang {
                Lang::Vi => format!("{} lỗi", self.failed),
                Lang::En => format!("{} failed", self.failed),
            });
        }
        if self.checking > 0 {
            parts.push(match lang {
                Lang::Vi => format!("{} đang kiểm tra", self.checking),
                Lang::En => format!("{} checking", self.checking),
            });
        }
        if self.not_checked_in > 0 {
            parts.push(match lang {
                Lang::Vi => format!("{} chưa kiểm tra", self.not_checked_in),
                Lang::En => format!("{} not checked in", self.not_checked_in),
            });
        }
        parts.join(", ")
    }
}

code_enum! {
    /// The grade of an endpoint's link as the media server measures it (R-PREP-2).
    LinkGrade {
        /// No fresh sample: the endpoint is not joined now.
        NotMeasured = "not_measured", "Chưa đo", "Not measured";
        /// Within every threshold.
        Good = "good", "Tốt", "Good";
        /// Past a warning threshold: usable, watch it.
        Degraded = "degraded", "Suy giảm", "Degraded";
        /// Past a failing threshold: the link test fails.
        Poor = "poor", "Không đạt", "Poor";
    }
}

/// The most a sample may be behind for the endpoint to count as joined now: a few of the
/// media server's sampling periods (5 s by default), so one late sample does not flap.
pub const FRESH_SAMPLE_SECONDS: i64 = 30;

/// One link sample of an endpoint, as the media server measured it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkMeasure {
    /// Seconds since it was taken.
    pub age_seconds: i64,
    /// Round-trip time.
    pub rtt_ms: Option<f64>,
    /// Fraction lost (0..1) from the endpoint.
    pub loss_in: Option<f64>,
    /// Fraction lost (0..1) towards the endpoint.
    pub loss_out: Option<f64>,
    /// Jitter.
    pub jitter_ms: Option<f64>,
    /// Bits per second from the endpoint.
    pub bitrate_in: i64,
}

impl LinkMeasure {
    /// Whether the endpoint is joined now (R-PREP-6 counts it as in place).
    pub fn fresh(&self) -> bool {
        self.age_seconds <= FRESH_SAMPLE_SECONDS
    }
}

/// A graded link with the reasons for anything below "good".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkReport {
    /// The grade.
    pub grade: LinkGrade,
    /// What is degraded or poor, and what to do.
    pub reasons: Vec<Text>,
}

/// Grades the latest sample of an endpoint against the policy's thresholds.
pub fn grade_link(sample: Option<&LinkMeasure>, limits: &LinkThresholds) -> LinkReport {
    let Some(sample) = sample.filter(|s| s.fresh()) else {
        return LinkReport {
            grade: LinkGrade::NotMeasured,
            reasons: vec![Text::new(
                "Điểm cầu chưa vào phòng họp nên chưa đo được đường truyền; hãy tham gia hội nghị để hệ thống tự đo.",
                "The endpoint has not joined the room, so its link is not measured; join the conference and the system measures it.",
            )],
        };
    };
    let mut grade = LinkGrade::Good;
    let mut reasons = Vec::new();
    let mut judge = |value: f64,
                     limit: crate::policy::Limit,
                     higher_is_worse: bool,
                     what: (&str, &str),
                     unit: &str| {
        let (warn, fail) = if higher_is_worse {
            (value > limit.warn, value > limit.fail)
        } else {
            (value < limit.warn, value < limit.fail)
        };
        let level = if fail {
            LinkGrade::Poor
        } else if warn {
            LinkGrade::Degraded
        } else {
            return;
        };
        if level == LinkGrade::Poor || grade == LinkGrade::Good {
            grade = level;
        }
        let bound = if fail { limit.fail } else { limit.warn };
        let (word_vi, word_en) = if higher_is_worse {
            ("vượt", "above")
        } else {
            ("dưới", "below")
        };
        reasons.push(Text::new(
            format!(
                "{} {value:.1} {unit} {word_vi} ngưỡng {bound} {unit}; hãy kiểm tra đường truyền với nhà mạng.",
                what.0
            ),
            format!(
                "{} {value:.1} {unit} is {word_en} the threshold of {bound} {unit}; check the line with the carrier.",
                what.1
            ),
        ));
    };
    if let Some(rtt) = sample.rtt_ms {
        judge(
            rtt,
            limits.rtt_ms,
            true,
            ("Độ trễ khứ hồi", "Round-trip time"),
            "ms",
        );
    }
    let loss = sample
        .loss_in
        .into_iter()
        .chain(sample.loss_out)
        .fold(None, |worst: Option<f64>, l| {
            Some(worst.map_or(l, |w| w.max(l)))
        });
    if let Some(loss) = loss {
        judge(
            loss * 100.0,
            limits.loss_percent,
            true,
            ("Tỷ lệ mất gói", "Packet loss"),
            "%",
        );
    }
    if let Some(jitter) = sample.jitter_ms {
        judge(
            jitter,
            limits.jitter_ms,
            true,
            ("Độ biến động trễ (jitter)", "Jitter"),
            "ms",
        );
    }
    judge(
        sample.bitrate_in as f64 / 1000.0,
        limits.min_bitrate_kbps,
        false,
        ("Tốc độ từ điểm cầu", "Bitrate from the endpoint"),
        "kbit/s",
    );
    LinkReport { grade, reasons }
}

/// One deadline of the preparation, for the board (R-PREP-1, R-PREP-3, R-PREP-6, R-REG-10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrepDeadline {
    /// Stable code: `ready`, `connected`, `in_place`.
    pub code: &'static str,
    /// What must be done by then.
    pub label: Text,
    /// When, local time.
    pub at: DateTime,
    /// The article it comes from.
    pub source: String,
}

/// The deadlines of a session's preparation, in order: the central connection (centrally
/// convened sessions), the system ready, participants in place.
pub fn prep_deadlines(
    policy: &Policy,
    calendar: &WorkCalendar,
    start: DateTime,
    central: bool,
) -> Vec<PrepDeadline> {
    let mut deadlines = Vec::new();
    if central {
        deadlines.push(PrepDeadline {
            code: "connected",
            label: Text::new("Kết nối toàn hệ thống xong", "Whole system connected"),
            at: deadline(
                policy.central_connection_complete_before.value,
                start,
                calendar,
            ),
            source: article(&policy.central_connection_complete_before.source).to_string(),
        });
    }
    deadlines.push(PrepDeadline {
        code: "ready",
        label: Text::new("Các điểm cầu sẵn sàng", "Endpoints ready"),
        at: deadline(policy.ready_before.value, start, calendar),
        source: article(&policy.ready_before.source).to_string(),
    });
    deadlines.push(PrepDeadline {
        code: "in_place",
        label: Text::new(
            "Thành phần dự họp có mặt tại điểm cầu",
            "Participants in place",
        ),
        at: deadline(policy.participants_in_place_before.value, start, calendar),
        source: article(&policy.participants_in_place_before.source).to_string(),
    });
    deadlines.sort_by_key(|d| d.at);
    deadlines
}

/// "còn 1 giờ 05 phút" / "1 h 05 min left", or "quá hạn 12 phút" / "12 min overdue".
pub fn countdown(now: DateTime, at: DateTime, lang: Lang) -> String {
    let seconds = at.duration_since(now).as_secs();
    let minutes = seconds.unsigned_abs().div_ceil(60);
    let (days, hours, minutes) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let amount = match (lang, days) {
        (Lang::Vi, 0) if hours == 0 => format!("{minutes} phút"),
        (Lang::Vi, 0) => format!("{hours} giờ {minutes:02} phút"),
        (Lang::Vi, d) => format!("{d} ngày {hours} giờ"),
        (Lang::En, 0) if hours == 0 => format!("{minutes} min"),
        (Lang::En, 0) => format!("{hours} h {minutes:02} min"),
        (Lang::En, d) => format!("{d} d {hours} h"),
    };
    match (lang, seconds >= 0) {
        (Lang::Vi, true) => format!("còn {amount}"),
        (Lang::Vi, false) => format!("quá hạn {amount}"),
        (Lang::En, true) => format!("{amount} left"),
        (Lang::En, false) => format!("{amount} overdue"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::LoadedPolicy;
    use jiff::civil::date;

    fn policy(id: &str) -> Policy {
        LoadedPolicy::load(id, &toml::Table::new()).unwrap().policy
    }

    /// Thursday 14 May 2026, 09:00 (no holiday near it).
    fn start() -> DateTime {
        date(2026, 5, 14).at(9, 0, 0, 0)
    }

    fn long_before() -> DateTime {
        date(2026, 5, 1).at(8, 0, 0, 0)
    }

    fn times(proposed: &[ProposedRehearsal]) -> Vec<DateTime> {
        proposed.iter().map(|r| r.at).collect()
    }

    #[test]
    fn r_prep_1_thanh_hoa_proposes_one_day_and_one_hour_before() {
        let calendar = WorkCalendar::with_shipped();
        let proposed = propose_rehearsals(
            &policy("thanh-hoa"),
            &calendar,
            start(),
            false,
            &[],
            long_before(),
        );
        assert_eq!(
            times(&proposed),
            [
                date(2026, 5, 13).at(9, 0, 0, 0),
                date(2026, 5, 14).at(8, 0, 0, 0)
            ]
        );
        assert!(
            proposed[0].source.starts_with("TH art. 9.2"),
            "{}",
            proposed[0].source
        );
    }

    #[test]
    fn r_prep_1_thanh_hoa_counts_plain_days_across_a_weekend() {
        let calendar = WorkCalendar::with_shipped();
        // Monday 18 May 2026: the day before is the Sunday, not Friday.
        let monday = date(2026, 5, 18).at(9, 0, 0, 0);
        let proposed = propose_rehearsals(
            &policy("thanh-hoa"),
            &calendar,
            monday,
            false,
            &[],
            long_before(),
        );
        assert_eq!(proposed[0].at, date(2026, 5, 17).at(9, 0, 0, 0));
    }

    #[test]
    fn r_prep_1_can_tho_proposes_a_working_day_before_skipping_the_weekend() {
        let calendar = WorkCalendar::with_shipped();
        let monday = date(2026, 5, 18).at(14, 0, 0, 0);
        let proposed = propose_rehearsals(
            &policy("can-tho"),
            &calendar,
            monday,
            false,
            &[],
            long_before(),
        );
        assert_eq!(times(&proposed), [date(2026, 5, 15).at(14, 0, 0, 0)]);
        assert!(proposed[0].source.starts_with("CT art. 8.2"));
    }

    #[test]
    fn r_prep_1_ha_noi_proposes_a_technical_check_two_hours_before() {
        let calendar = WorkCalendar::with_shipped();
        let proposed = propose_rehearsals(
            &policy("ha-noi"),
            &calendar,
            start(),
            false,
            &[],
            long_before(),
        );
        assert_eq!(times(&proposed), [date(2026, 5, 14).at(7, 0, 0, 0)]);
    }

    #[test]
    fn r_prep_1_quang_binh_in_province_ready_thirty_minutes_before_central_connected_two_hours_before(
    ) {
        let calendar = WorkCalendar::with_shipped();
        let qb = policy("quang-binh");
        let local = propose_rehearsals(&qb, &calendar, start(), false, &[], long_before());
        assert_eq!(times(&local), [date(2026, 5, 14).at(8, 30, 0, 0)]);
        let central = propose_rehearsals(&qb, &calendar, start(), true, &[], long_before());
        assert_eq!(times(&central), [date(2026, 5, 14).at(7, 0, 0, 0)]);
        assert!(central[0].source.starts_with("QB II.1.2 step 4"));
    }

    #[test]
    fn r_reg_10_central_sessions_drop_rehearsals_after_the_connection_deadline() {
        let calendar = WorkCalendar::with_shipped();
        let proposed = propose_rehearsals(
            &policy("thanh-hoa"),
            &calendar,
            start(),
            true,
            &[],
            long_before(),
        );
        // The hour-before run gives way to the connection 2 h before.
        assert_eq!(
            times(&proposed),
            [
                date(2026, 5, 13).at(9, 0, 0, 0),
                date(2026, 5, 14).at(7, 0, 0, 0)
            ]
        );
    }

    #[test]
    fn r_prep_1_times_asked_at_registration_win_and_past_times_are_left_out() {
        let calendar = WorkCalendar::with_shipped();
        let asked = [date(2026, 5, 12).at(15, 0, 0, 0)];
        let proposed = propose_rehearsals(
            &policy("thanh-hoa"),
            &calendar,
            start(),
            false,
            &asked,
            long_before(),
        );
        assert_eq!(times(&proposed), asked);
        assert_eq!(proposed[0].source, "registration");
        // Approved at 08:15 on the day: nothing of TH's schedule is still ahead.
        let late = date(2026, 5, 14).at(8, 15, 0, 0);
        assert!(
            propose_rehearsals(&policy("thanh-hoa"), &calendar, start(), false, &[], late)
                .is_empty()
        );
    }

    #[test]
    fn r_prep_5_a_new_rehearsal_time_must_be_ahead_before_the_start_and_the_connection() {
        let now = date(2026, 5, 13).at(10, 0, 0, 0);
        assert!(rehearsal_refusal(date(2026, 5, 13).at(15, 0, 0, 0), start(), now, None).is_none());
        let past = rehearsal_refusal(date(2026, 5, 13).at(9, 0, 0, 0), start(), now, None).unwrap();
        assert!(past.vi.contains("đã qua"));
        let after = rehearsal_refusal(start(), start(), now, None).unwrap();
        assert!(after.en.contains("before the official start"));
        let connected_by = Some(date(2026, 5, 14).at(7, 0, 0, 0));
        assert!(
            rehearsal_refusal(date(2026, 5, 14).at(8, 0, 0, 0), start(), now, connected_by)
                .is_some()
        );
        assert!(
            rehearsal_refusal(date(2026, 5, 14).at(7, 0, 0, 0), start(), now, connected_by)
                .is_none()
        );
    }

    fn form(item: &str, result: &str, note: &str) -> ItemForm {
        ItemForm {
            item: item.into(),
            result: result.into(),
            note: note.into(),
        }
    }

    fn all_pass() -> Vec<ItemForm> {
        CheckItem::ALL
            .iter()
            .map(|i| form(i.as_str(), "pass", ""))
            .collect()
    }

    #[test]
    fn r_prep_2_a_check_has_seven_items_and_a_failure_needs_a_note() {
        let entry = CheckEntry::parse(&all_pass()).unwrap();
        assert!(entry.complete());
        assert_eq!(entry.items.len(), 7);
        assert_eq!(entry.outcome(LinkGrade::Good), CheckOutcome::Passed);
        assert_eq!(entry.outcome(LinkGrade::NotMeasured), CheckOutcome::Passed);

        let mut forms = all_pass();
        forms[1] = form("backup_power", "fail", "");
        let refused = CheckEntry::parse(&forms).unwrap_err();
        assert_eq!(refused.errors[0].code, "note_required");
        forms[1] = form("backup_power", "fail", "UPS hết pin, đang thay");
        assert_eq!(
            CheckEntry::parse(&forms).unwrap().outcome(LinkGrade::Good),
            CheckOutcome::Failed
        );

        let partial =
            CheckEntry::parse(&[form("audio", "pass", ""), form("video", "", "")]).unwrap();
        assert!(!partial.complete());
        assert_eq!(partial.outcome(LinkGrade::Good), CheckOutcome::InProgress);

        assert_eq!(
            CheckEntry::parse(&[form("smell", "pass", "")])
                .unwrap_err()
                .errors[0]
                .code,
            "invalid"
        );
        assert_eq!(
            CheckEntry::parse(&[form("audio", "pass", ""), form("audio", "fail", "x")])
                .unwrap_err()
                .errors[0]
                .code,
            "duplicate"
        );
        assert_eq!(
            CheckEntry::parse(&[]).unwrap_err().errors[0].code,
            "required"
        );
    }

    #[test]
    fn r_prep_2_a_poor_link_fails_a_check_whose_items_all_pass() {
        let entry = CheckEntry::parse(&all_pass()).unwrap();
        assert_eq!(entry.outcome(LinkGrade::Poor), CheckOutcome::Failed);
        assert_eq!(entry.outcome(LinkGrade::Degraded), CheckOutcome::Passed);
    }

    #[test]
    fn r_prep_3_failed_then_fixed_and_re_tested_is_its_own_state() {
        use ReadinessEvent::*;
        assert_eq!(ReadinessState::fold([]), ReadinessState::NotCheckedIn);
        assert_eq!(ReadinessState::fold([Started]), ReadinessState::Checking);
        assert_eq!(
            ReadinessState::fold([Started, Passed]),
            ReadinessState::Ready
        );
        assert_eq!(
            ReadinessState::fold([Passed, Failed]),
            ReadinessState::Failed
        );
        assert_eq!(
            ReadinessState::fold([Failed, Started]),
            ReadinessState::Failed
        );
        assert_eq!(
            ReadinessState::fold([Failed, Started, Passed]),
            ReadinessState::Fixed
        );
        assert_eq!(
            ReadinessState::fold([Failed, Passed, Passed]),
            ReadinessState::Fixed
        );
        assert_eq!(
            ReadinessState::fold([Failed, Passed, Failed]),
            ReadinessState::Failed
        );
        assert_eq!(
            ReadinessState::fold([Passed, Started]),
            ReadinessState::Ready
        );
        assert!(ReadinessState::Fixed.is_ready());
    }

    #[test]
    fn r_prep_3_summary_line_counts_ready_failed_and_silent_endpoints() {
        let mut states = vec![ReadinessState::Ready; 91];
        states.push(ReadinessState::Fixed);
        states.extend([
            ReadinessState::Failed,
            ReadinessState::Failed,
            ReadinessState::NotCheckedIn,
        ]);
        let tally = ReadinessTally::of(states);
        assert_eq!(
            tally.summary(Lang::Vi),
            "92/95 sẵn sàng, 2 lỗi, 1 chưa kiểm tra"
        );
        assert_eq!(
            tally.summary(Lang::En),
            "92/95 ready, 2 failed, 1 not checked in"
        );
    }

    fn sample(rtt: f64, loss: f64, jitter: f64, kbps: i64) -> LinkMeasure {
        LinkMeasure {
            age_seconds: 3,
            rtt_ms: Some(rtt),
            loss_in: Some(loss),
            loss_out: Some(0.0),
            jitter_ms: Some(jitter),
            bitrate_in: kbps * 1000,
        }
    }

    #[test]
    fn r_prep_2_link_samples_are_graded_against_the_policy_thresholds() {
        let limits = policy("ha-noi").link_thresholds.value;
        assert_eq!(
            grade_link(Some(&sample(40.0, 0.0, 5.0, 1500)), &limits).grade,
            LinkGrade::Good
        );
        let degraded = grade_link(Some(&sample(350.0, 0.0, 5.0, 1500)), &limits);
        assert_eq!(degraded.grade, LinkGrade::Degraded);
        assert!(
            degraded.reasons[0].en.contains("Round-trip time"),
            "{:?}",
            degraded.reasons
        );
        let lossy = grade_link(Some(&sample(40.0, 0.08, 5.0, 1500)), &limits);
        assert_eq!(lossy.grade, LinkGrade::Poor);
        assert!(lossy.reasons[0].vi.contains("mất gói"));
        // A poor measure is not hidden by a degraded one after it.
        let both = grade_link(Some(&sample(40.0, 0.08, 40.0, 1500)), &limits);
        assert_eq!(both.grade, LinkGrade::Poor);
        assert_eq!(both.reasons.len(), 2);
        assert_eq!(
            grade_link(Some(&sample(40.0, 0.0, 5.0, 64)), &limits).grade,
            LinkGrade::Poor
        );
        let mut stale = sample(40.0, 0.0, 5.0, 1500);
        stale.age_seconds = FRESH_SAMPLE_SECONDS + 1;
        assert_eq!(
            grade_link(Some(&stale), &limits).grade,
            LinkGrade::NotMeasured
        );
        assert_eq!(grade_link(None, &limits).grade, LinkGrade::NotMeasured);
    }

    #[test]
    fn r_prep_6_deadlines_include_participants_in_place_ten_minutes_before() {
        let calendar = WorkCalendar::with_shipped();
        let deadlines = prep_deadlines(&policy("thua-thien-hue"), &calendar, start(), false);
        let in_place = deadlines.iter().find(|d| d.code == "in_place").unwrap();
        assert_eq!(in_place.at, date(2026, 5, 14).at(8, 50, 0, 0));
        assert!(in_place.source.starts_with("HUE art. 6.1"));
        let central = prep_deadlines(&policy("quang-binh"), &calendar, start(), true);
        assert_eq!(central[0].code, "connected");
        assert_eq!(central[0].at, date(2026, 5, 14).at(7, 0, 0, 0));
    }

    #[test]
    fn r_prep_3_countdown_reads_left_and_overdue() {
        let at = date(2026, 5, 14).at(9, 0, 0, 0);
        assert_eq!(
            countdown(date(2026, 5, 14).at(7, 55, 0, 0), at, Lang::Vi),
            "còn 1 giờ 05 phút"
        );
        assert_eq!(
            countdown(date(2026, 5, 14).at(9, 12, 0, 0), at, Lang::En),
            "12 min overdue"
        );
        assert_eq!(
            countdown(date(2026, 5, 12).at(9, 0, 0, 0), at, Lang::En),
            "2 d 0 h left"
        );
    }
}
