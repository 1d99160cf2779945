//! Double booking (R-REG-3): an endpoint (room) cannot be in two overlapping sessions, and
//! the MCU carries at most a configured number of concurrent sessions and endpoints. Also
//! the search for the nearest free slots for the same endpoints.
//!
//! Intervals are half-open, `[start, end)`: a session ending at 10:00 and one starting at
//! 10:00 do not collide. The store runs [`conflicts`] inside the transaction that books, on
//! the sessions it read in that transaction, so two registrations cannot both win.

use jiff::civil::{Date, DateTime, Time};
use jiff::ToSpan;
use serde::Serialize;

use super::format_date_time;
use crate::calendar::WorkCalendar;
use crate::lang::{Lang, Text};
use crate::policy::McuCapacity;

/// A session that holds resources during `[starts_at, ends_at)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booked {
    /// The session.
    pub session_id: i64,
    /// Its title, to say what collides.
    pub title: String,
    /// Start, local time.
    pub starts_at: DateTime,
    /// End, local time.
    pub ends_at: DateTime,
    /// Every endpoint it books, with its name.
    pub endpoints: Vec<(i64, String)>,
}

impl Booked {
    fn overlaps(&self, start: DateTime, end: DateTime) -> bool {
        self.starts_at < end && start < self.ends_at
    }
}

/// One collision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// An endpoint is already booked by another session.
    Endpoint {
        /// The endpoint.
        endpoint_id: i64,
        /// Its name.
        endpoint_name: String,
        /// The session holding it.
        session_id: i64,
        /// That session's title.
        title: String,
        /// That session's start.
        starts_at: DateTime,
        /// That session's end.
        ends_at: DateTime,
    },
    /// The MCU would carry too many sessions at once.
    McuSessions {
        /// When the limit is exceeded first.
        at: DateTime,
        /// Sessions at that moment, this one included.
        needed: u32,
        /// The capacity.
        max: u32,
    },
    /// The MCU would carry too many endpoints at once.
    McuEndpoints {
        /// When the limit is exceeded first.
        at: DateTime,
        /// Endpoints at that moment, this session's included.
        needed: u32,
        /// The capacity.
        max: u32,
    },
}

impl Conflict {
    /// What collides with what, and what to do.
    pub fn message(&self) -> Text {
        match self {
            Conflict::Endpoint {
                endpoint_name,
                title,
                starts_at,
                ends_at,
                ..
            } => Text::new(
                format!(
                    "Điểm cầu \"{endpoint_name}\" đã được đặt cho phiên \"{title}\" từ {} đến {:02}:{:02}. Hãy chọn giờ khác hoặc bỏ điểm cầu này.",
                    format_date_time(*starts_at, Lang::Vi),
                    ends_at.hour(),
                    ends_at.minute()
                ),
                format!(
                    "Endpoint \"{endpoint_name}\" is already booked for \"{title}\" from {} to {:02}:{:02}. Choose another time or remove this endpoint.",
                    format_date_time(*starts_at, Lang::En),
                    ends_at.hour(),
                    ends_at.minute()
                ),
            ),
            Conflict::McuSessions { at, needed, max } => Text::new(
                format!(
                    "Lúc {} MCU sẽ phải phục vụ {needed} phiên đồng thời, vượt năng lực {max} phiên. Hãy chọn giờ khác.",
                    format_date_time(*at, Lang::Vi)
                ),
                format!(
                    "At {} the MCU would carry {needed} concurrent sessions, over its capacity of {max}. Choose another time.",
                    format_date_time(*at, Lang::En)
                ),
            ),
            Conflict::McuEndpoints { at, needed, max } => Text::new(
                format!(
                    "Lúc {} MCU sẽ phải kết nối {needed} điểm cầu đồng thời, vượt năng lực {max} điểm cầu. Hãy chọn giờ khác hoặc giảm số điểm cầu.",
                    format_date_time(*at, Lang::Vi)
                ),
                format!(
                    "At {} the MCU would connect {needed} endpoints at once, over its capacity of {max}. Choose another time or fewer endpoints.",
                    format_date_time(*at, Lang::En)
                ),
            ),
        }
    }
}

/// Every collision of a session `[start, end)` booking `endpoints` with what is `booked`
/// (which must not contain the session itself when it is being changed).
pub fn conflicts(
    start: DateTime,
    end: DateTime,
    endpoints: &[i64],
    booked: &[Booked],
    capacity: McuCapacity,
) -> Vec<Conflict> {
    let overlapping: Vec<&Booked> = booked.iter().filter(|b| b.overlaps(start, end)).collect();
    let mut found = Vec::new();
    for other in &overlapping {
        for (endpoint_id, endpoint_name) in &other.endpoints {
            if endpoints.contains(endpoint_id) {
                found.push(Conflict::Endpoint {
                    endpoint_id: *endpoint_id,
                    endpoint_name: endpoint_name.clone(),
                    session_id: other.session_id,
                    title: other.title.clone(),
                    starts_at: other.starts_at,
                    ends_at: other.ends_at,
                });
            }
        }
    }
    // The load only rises when a session starts, so the peak inside [start, end) is at
    // `start` or at the start of one of the overlapping sessions.
    let mut instants: Vec<DateTime> = std::iter::once(start)
        .chain(
            overlapping
                .iter()
                .map(|b| b.starts_at)
                .filter(|at| *at > start),
        )
        .collect();
    instants.sort();
    let mut sessions_reported = false;
    let mut endpoints_reported = false;
    for at in instants {
        let active: Vec<&&Booked> = overlapping
            .iter()
            .filter(|b| b.starts_at <= at && at < b.ends_at)
            .collect();
        let sessions = active.len() as u32 + 1;
        let endpoint_count =
            active.iter().map(|b| b.endpoints.len() as u32).sum::<u32>() + endpoints.len() as u32;
        if sessions > capacity.sessions && !sessions_reported {
            sessions_reported = true;
            found.push(Conflict::McuSessions {
                at,
                needed: sessions,
                max: capacity.sessions,
            });
        }
        if endpoint_count > capacity.endpoints && !endpoints_reported {
            endpoints_reported = true;
            found.push(Conflict::McuEndpoints {
                at,
                needed: endpoint_count,
                max: capacity.endpoints,
            });
        }
    }
    found
}

/// Office hours in which free slots are proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficeHours {
    /// Earliest start.
    pub opens: Time,
    /// Latest end.
    pub closes: Time,
}

impl Default for OfficeHours {
    /// 07:30–17:00, the working hours of most provincial bodies.
    fn default() -> OfficeHours {
        OfficeHours {
            opens: Time::constant(7, 30, 0, 0),
            closes: Time::constant(17, 0, 0, 0),
        }
    }
}

/// What [`free_slots`] searches for.
#[derive(Debug, Clone)]
pub struct SlotRequest<'a> {
    /// The time asked for.
    pub wanted_start: DateTime,
    /// The session's length.
    pub duration: jiff::Span,
    /// The endpoints it books.
    pub endpoints: &'a [i64],
    /// Nothing may start before this (now, or the lead-time limit).
    pub not_before: DateTime,
    /// Only working days (false for emergencies).
    pub working_days_only: bool,
    /// How many slots to return.
    pub count: usize,
}

/// The free slots nearest to the wanted start (before or after it), on a 15-minute grid,
/// within office hours and up to 14 days away, where the same endpoints and the MCU are
/// free. Nearest first.
pub fn free_slots(
    request: &SlotRequest<'_>,
    booked: &[Booked],
    capacity: McuCapacity,
    calendar: &WorkCalendar,
    hours: OfficeHours,
) -> Vec<(DateTime, DateTime)> {
    let step = 15.minutes();
    let horizon = 14 * 24 * 4; // steps of 15 minutes in 14 days
    let anchor = round_to_quarter(request.wanted_start);
    let mut slots = Vec::new();
    for distance in 0..=horizon {
        let candidates = if distance == 0 {
            vec![anchor]
        } else {
            let span = step.checked_mul(distance).unwrap_or(step);
            vec![anchor.checked_sub(span).ok(), anchor.checked_add(span).ok()]
                .into_iter()
                .flatten()
                .collect()
        };
        for start in candidates {
            if start == request.wanted_start || start < request.not_before {
                continue;
            }
            let Ok(end) = start.checked_add(request.duration) else {
                continue;
            };
            if !within_hours(start, end, hours)
                || (request.working_days_only && !calendar.is_working_day(start.date()))
            {
                continue;
            }
            if conflicts(start, end, request.endpoints, booked, capacity).is_empty() {
                slots.push((start, end));
                if slots.len() == request.count {
                    return slots;
                }
            }
        }
    }
    slots
}

fn within_hours(start: DateTime, end: DateTime, hours: OfficeHours) -> bool {
    let day: Date = start.date();
    end.date() == day && start.time() >= hours.opens && end.time() <= hours.closes
}

fn round_to_quarter(at: DateTime) -> DateTime {
    let minute = at.minute() - at.minute() % 15;
    at.date()
        .to_datetime(Time::new(at.hour(), minute, 0, 0).unwrap_or(at.time()))
}
