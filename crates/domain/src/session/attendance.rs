//! Attendance of a live session (R-LIVE-8, R-PREP-6): from the times an endpoint was
//! connected, whether it was in place in time, late, left early or absent, judged against
//! the session's times and the unit's answer to its invitation.
//!
//! Pure: the intervals come from the media server's join and leave times, `now` is an
//! argument. An interval still open (`left` is `None`) counts as connected up to `now`.

use jiff::civil::DateTime;
use jiff::SignedDuration;
use serde::Serialize;

use crate::lang::{Lang, Text};

/// One stretch of time an endpoint was connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    /// When it joined.
    pub joined: DateTime,
    /// When it left; `None` while it is still in.
    pub left: Option<DateTime>,
}

/// What the attendance of one endpoint comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The session has not started and the endpoint is not in yet.
    NotYet,
    /// In place by the "in place before" time (R-PREP-6) and there until the end (or now).
    OnTime,
    /// Arrived after the "in place before" time.
    Late,
    /// Left before the end and did not come back.
    LeftEarly,
    /// Both late and left early.
    LateAndLeftEarly,
    /// Never joined although the session has started.
    Absent,
    /// Declined the invitation and did not join: excused.
    Excused,
}

impl Verdict {
    /// The label shown.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = match self {
            Verdict::NotYet => ("Chưa đến giờ", "Not yet"),
            Verdict::OnTime => ("Đúng giờ", "On time"),
            Verdict::Late => ("Đến muộn", "Late"),
            Verdict::LeftEarly => ("Về sớm", "Left early"),
            Verdict::LateAndLeftEarly => ("Đến muộn, về sớm", "Late and left early"),
            Verdict::Absent => ("Vắng mặt", "Absent"),
            Verdict::Excused => ("Vắng có lý do", "Excused"),
        };
        match lang {
            Lang::Vi => text.0,
            Lang::En => text.1,
        }
    }

    /// Whether it needs the operator's attention.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Verdict::Late | Verdict::LeftEarly | Verdict::LateAndLeftEarly | Verdict::Absent
        )
    }
}

/// The attendance of one endpoint, summed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendance {
    /// The verdict.
    pub verdict: Verdict,
    /// First join.
    pub first_joined: Option<DateTime>,
    /// Last leave, if it is out now.
    pub last_left: Option<DateTime>,
    /// Time connected within the session's times.
    pub minutes_in_session: i64,
    /// Why, in words.
    pub note: Text,
}

/// Judges one endpoint's presences against a session from `start` to `end`, whose
/// participants must be in place by `in_place_by` (R-PREP-6: the policy's lead before the
/// start), at `now`. `declined` is true when its unit declined the invitation.
pub fn judge(
    presences: &[Presence],
    start: DateTime,
    end: DateTime,
    in_place_by: DateTime,
    declined: bool,
    now: DateTime,
) -> Attendance {
    let first_joined = presences.iter().map(|p| p.joined).min();
    let still_in = presences.iter().any(|p| p.left.is_none());
    let last_left = if still_in {
        None
    } else {
        presences.iter().filter_map(|p| p.left).max()
    };
    let minutes_in_session = presences
        .iter()
        .map(|p| {
            let from = p.joined.max(start);
            let to = p.left.unwrap_or(now).min(end);
            if to > from {
                from.duration_until(to)
            } else {
                SignedDuration::ZERO
            }
        })
        .map(|d| d.as_secs() / 60)
        .sum();
    let format = |at: DateTime| format!("{:02}:{:02}", at.hour(), at.minute());
    let (verdict, note) = match first_joined {
        None if declined => (
            Verdict::Excused,
            Text::new(
                "Đơn vị đã báo không dự.",
                "The unit declined the invitation.",
            ),
        ),
        None if now < start => (
            Verdict::NotYet,
            Text::new("Chưa kết nối.", "Not connected yet."),
        ),
        None => (
            Verdict::Absent,
            Text::new(
                "Không kết nối vào phiên họp.",
                "Never connected to the session.",
            ),
        ),
        Some(first) => {
            let late = first > in_place_by;
            let left_early = !still_in && last_left.is_some_and(|left| left < end);
            let verdict = match (late, left_early) {
                (false, false) => {
                    if now < start {
                        Verdict::NotYet
                    } else {
                        Verdict::OnTime
                    }
                }
                (true, false) => Verdict::Late,
                (false, true) => Verdict::LeftEarly,
                (true, true) => Verdict::LateAndLeftEarly,
            };
            let mut vi = format!("Vào lúc {}", format(first));
            let mut en = format!("Joined at {}", format(first));
            if late {
                vi.push_str(&format!(" (phải có mặt trước {})", format(in_place_by)));
                en.push_str(&format!(" (due in place by {})", format(in_place_by)));
            }
            if let Some(left) = last_left {
                vi.push_str(&format!("; rời lúc {}", format(left)));
                en.push_str(&format!("; left at {}", format(left)));
            }
            (verdict, Text::new(vi, en))
        }
    };
    Attendance {
        verdict,
        first_joined,
        last_left,
        minutes_in_session,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(h: i8, m: i8) -> DateTime {
        date(2026, 12, 3).at(h, m, 0, 0)
    }

    fn judge_at(presences: &[Presence], declined: bool, now: DateTime) -> Attendance {
        judge(presences, at(9, 0), at(11, 0), at(8, 50), declined, now)
    }

    #[test]
    fn r_prep_6_in_place_ten_minutes_before_is_on_time_later_is_late() {
        let on_time = [Presence {
            joined: at(8, 45),
            left: None,
        }];
        assert_eq!(
            judge_at(&on_time, false, at(10, 0)).verdict,
            Verdict::OnTime
        );
        let late = [Presence {
            joined: at(8, 55),
            left: None,
        }];
        let judged = judge_at(&late, false, at(10, 0));
        assert_eq!(judged.verdict, Verdict::Late);
        assert!(judged.note.vi.contains("08:50"), "{}", judged.note.vi);
    }

    #[test]
    fn r_live_8_left_early_absent_and_excused() {
        let left = [Presence {
            joined: at(8, 40),
            left: Some(at(10, 15)),
        }];
        let judged = judge_at(&left, false, at(11, 30));
        assert_eq!(judged.verdict, Verdict::LeftEarly);
        assert_eq!(judged.minutes_in_session, 75);
        assert_eq!(judge_at(&[], false, at(9, 30)).verdict, Verdict::Absent);
        assert_eq!(judge_at(&[], true, at(9, 30)).verdict, Verdict::Excused);
        assert_eq!(judge_at(&[], false, at(8, 0)).verdict, Verdict::NotYet);
    }

    #[test]
    fn r_live_8_a_dropped_endpoint_that_came_back_is_not_early() {
        // Dropped at 09:30, back at 09:32, in until the end.
        let presences = [
            Presence {
                joined: at(8, 40),
                left: Some(at(9, 30)),
            },
            Presence {
                joined: at(9, 32),
                left: Some(at(11, 0)),
            },
        ];
        let judged = judge_at(&presences, false, at(11, 5));
        assert_eq!(judged.verdict, Verdict::OnTime);
        assert_eq!(judged.minutes_in_session, 118);
    }
}
