//! The working-day calendar (ngày làm việc): which days state bodies work, and counting in
//! working days.
//!
//! The seed regulations count lead times in working days (registration ≥ 2 or 3 working days
//! before, notices to carriers ≥ 1, recordings handed over within 2: R-REG-2, R-REG-8,
//! R-REG-9, R-POST-3; Decision 45/2018/QĐ-TTg art. 10: ≥ 3), so a deadline is only right if
//! the calendar knows Vietnam's days off. A working day is a Monday–Friday except:
//!
//! 1. the public holidays of Labour Code 2019 art. 112.1: 1/1; Tết Nguyên Đán (5 days);
//!    Hùng Kings' day (10/3 lunar); 30/4; 1/5; National Day 2/9 and one adjacent day;
//! 2. compensatory days (art. 111.3): each holiday day on a Saturday or Sunday gives the next
//!    working day off; several chain, each taking the next free weekday;
//! 3. the official changes of each year, decided by the Prime Minister and notified by the
//!    ministry in charge of labour (MOLISA until February 2025, Home Affairs since): extra
//!    days off and the Saturdays worked in exchange. They are data, [`DayChange`]: the years
//!    already decided ship with hnth (`official/2025.toml`, `official/2026.toml`, each entry
//!    with its legal source), and an administrator adds the next ones. A change wins over the
//!    rules for its day.
//!
//! Two holidays are placed by the Prime Minister each year (art. 112.3). When no table says
//! otherwise the rules use the placement of recent decisions:
//!
//! - **Tết**: the last day of the old lunar year and the first four days of the new one (as
//!   decided for 2026). If a year's table lists `tet` days, exactly those days are the Tết
//!   holiday of that year (2025's were 28 Chạp – mùng 3).
//! - **The day adjacent to 2/9**: 3/9 when 2/9 is a Thursday (the holiday then joins the
//!   weekend, as in 2021) or a Monday (1/9 would be a Sunday; 2024 took 3/9); 1/9 otherwise
//!   (2022, 2023, 2025, 2026). A table changes it with a `working` change on the default day
//!   and an `off` change on the other.
//!
//! Not a holiday here yet: Vietnam Culture Day, 24/11. Politburo Resolution 80-NQ/TW (January
//! 2026) makes it a paid day off in principle and Government Resolution 30/NQ-CP (February
//! 2026) asks for Labour Code art. 112.1 to be amended; until the amendment is law, an
//! administrator can add it to a year's table as an `off` change with that law as source.
//!
//! Dates of the lunar calendar come from [`lunar`], the Vietnamese calendar computed at UTC+7.
//! Like the whole crate this module reads no clock: the caller passes the dates.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use jiff::civil::{Date, DateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::lang::{Lang, Text};
use crate::validate::{self, Invalid};

pub mod lunar;
mod official;

#[cfg(test)]
mod tests;

const LABOUR_CODE_HOLIDAYS: &str = "Bộ luật Lao động 2019, Điều 112 khoản 1";
const LABOUR_CODE_COMPENSATION: &str = "Bộ luật Lao động 2019, Điều 111 khoản 3";

/// What kind of day a date is for state bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday, nothing special.
    Working,
    /// Saturday or Sunday.
    Weekend,
    /// A public holiday of Labour Code art. 112.1, also when it falls on a weekend.
    Holiday {
        /// The holiday's name.
        name: Text,
        /// The law or decision that places it.
        source: String,
    },
    /// A day off in lieu of a holiday that fell on a Saturday or Sunday (art. 111.3).
    Compensatory {
        /// Which holiday it makes up for.
        name: Text,
        /// Labour Code art. 111.3.
        source: String,
    },
    /// A day off decided by an official change (usually one half of a swap).
    OfficialOff {
        /// What the decision calls it.
        name: Text,
        /// The decision.
        source: String,
    },
    /// A Saturday or Sunday made a working day by an official change.
    OfficialWorking {
        /// What the decision calls it.
        name: Text,
        /// The decision.
        source: String,
    },
}

impl DayKind {
    /// Whether state bodies work that day.
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::OfficialWorking { .. })
    }

    /// The day's name, for every kind but plain working days and weekends.
    pub fn name(&self) -> Option<&Text> {
        match self {
            DayKind::Working | DayKind::Weekend => None,
            DayKind::Holiday { name, .. }
            | DayKind::Compensatory { name, .. }
            | DayKind::OfficialOff { name, .. }
            | DayKind::OfficialWorking { name, .. } => Some(name),
        }
    }

    /// The law or decision behind the day, for every kind but plain working days and weekends.
    pub fn source(&self) -> Option<&str> {
        match self {
            DayKind::Working | DayKind::Weekend => None,
            DayKind::Holiday { source, .. }
            | DayKind::Compensatory { source, .. }
            | DayKind::OfficialOff { source, .. }
            | DayKind::OfficialWorking { source, .. } => Some(source),
        }
    }

    /// A short label of the kind, for listings.
    pub fn label(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (DayKind::Working, Lang::Vi) => "Ngày làm việc",
            (DayKind::Working, Lang::En) => "Working day",
            (DayKind::Weekend, Lang::Vi) => "Nghỉ cuối tuần",
            (DayKind::Weekend, Lang::En) => "Weekend",
            (DayKind::Holiday { .. }, Lang::Vi) => "Nghỉ lễ, tết",
            (DayKind::Holiday { .. }, Lang::En) => "Public holiday",
            (DayKind::Compensatory { .. }, Lang::Vi) => "Nghỉ bù",
            (DayKind::Compensatory { .. }, Lang::En) => "Day off in lieu",
            (DayKind::OfficialOff { .. }, Lang::Vi) => "Nghỉ theo quyết định",
            (DayKind::OfficialOff { .. }, Lang::En) => "Official day off",
            (DayKind::OfficialWorking { .. }, Lang::Vi) => "Làm việc bù",
            (DayKind::OfficialWorking { .. }, Lang::En) => "Weekend worked in exchange",
        }
    }
}

/// A dated entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarDay {
    /// The date.
    pub date: Date,
    /// What it is, with its name and source.
    pub kind: DayKind,
}

/// A stretch of consecutive days off that contains at least one holiday, compensatory day or
/// official day off, with the weekends around it: what people call "nghỉ Tết 9 ngày".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The first day off.
    pub first: Date,
    /// The last day off.
    pub last: Date,
    /// The days of the stretch that are not plain weekends, in order.
    pub days: Vec<CalendarDay>,
}

impl Break {
    /// How many days the stretch lasts, weekends included.
    pub fn length(&self) -> i64 {
        lunar::day_number(self.last) - lunar::day_number(self.first) + 1
    }
}

/// What an official change does to its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An extra day off: usually a weekday between a holiday and a weekend, swapped with a
    /// Saturday declared working.
    Off,
    /// A Saturday or Sunday worked in exchange for a day off (or, rarely, a holiday moved).
    Working,
    /// One of the five Tết days of art. 112.1 as the government placed them that year. When
    /// a year lists any, they replace the default placement of Tết for that year, and they
    /// are holidays for compensation too (a listed weekend day gives a day off in lieu).
    Tet,
}

impl ChangeKind {
    /// Every kind, in display order.
    pub const ALL: [ChangeKind; 3] = [ChangeKind::Off, ChangeKind::Working, ChangeKind::Tet];

    /// The code used in data files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Off => "off",
            ChangeKind::Working => "working",
            ChangeKind::Tet => "tet",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == code.trim())
    }

    /// The name shown to users.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ChangeKind::Off, Lang::Vi) => "Ngày nghỉ thêm",
            (ChangeKind::Off, Lang::En) => "Extra day off",
            (ChangeKind::Working, Lang::Vi) => "Ngày làm việc bù",
            (ChangeKind::Working, Lang::En) => "Day worked in exchange",
            (ChangeKind::Tet, Lang::Vi) => "Ngày nghỉ Tết Nguyên Đán",
            (ChangeKind::Tet, Lang::En) => "Tết holiday day",
        }
    }
}

/// One official change to one day: what the yearly tables and the administrator record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayChange {
    /// The day changed.
    pub date: Date,
    /// What the change does.
    pub kind: ChangeKind,
    /// The name shown in listings, in both languages.
    #[serde(with = "TextFields")]
    pub name: Text,
    /// The decision, e.g. `Thông báo 9441/TB-BNV ngày 16/10/2025`.
    pub source: String,
}

/// `Text` read and written as `{ vi = "…", en = "…" }`; `Text` itself is serialise-only.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Text", deny_unknown_fields)]
struct TextFields {
    vi: String,
    en: String,
}

/// Raw fields of an official change, as an administrator types them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayChangeForm {
    /// The date, `dd/mm/yyyy` or `yyyy-mm-dd`.
    pub date: String,
    /// `off`, `working` or `tet`.
    pub kind: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// The decision.
    pub source: String,
}

impl DayChangeForm {
    /// Checks every field, and that the change changes something on `calendar` (where a
    /// change already recorded for the same date is ignored: saving replaces it): a day off
    /// must fall on a working day, a worked day on a day off, and a Tết day near Tết.
    pub fn parse(&self, calendar: &WorkCalendar) -> Result<DayChange, Invalid> {
        let mut invalid = Invalid::default();
        let date = validate::optional_date(&mut invalid, "date", &self.date);
        if self.date.trim().is_empty() {
            invalid.push(
                "date",
                "required",
                Text::new("Không được để trống.", "Required."),
            );
        }
        let kind = ChangeKind::parse(&self.kind);
        if kind.is_none() {
            let known = ChangeKind::ALL.map(ChangeKind::as_str).join(", ");
            invalid.push(
                "kind",
                "bad_kind",
                Text::new(
                    format!("Loại thay đổi không hợp lệ; chọn một trong: {known}."),
                    format!("Unknown kind of change; choose one of: {known}."),
                ),
            );
        }
        let name_vi = validate::required_text(&mut invalid, "name_vi", &self.name_vi, 200);
        let name_en = validate::required_text(&mut invalid, "name_en", &self.name_en, 200);
        let source = self.source.trim().to_string();
        if source.is_empty() {
            invalid.push(
                "source",
                "source_required",
                Text::new(
                    "Ghi văn bản quyết định, ví dụ Thông báo 9441/TB-BNV ngày 16/10/2025.",
                    "Name the decision, e.g. Thông báo 9441/TB-BNV ngày 16/10/2025.",
                ),
            );
        } else {
            validate::required_text(&mut invalid, "source", &source, 300);
        }
        if let (Some(date), Some(kind)) = (date, kind) {
            check_change_changes_something(&mut invalid, calendar, date, kind);
        }
        invalid.finish(|| DayChange {
            // Both are `Some` here: `finish` returned the error otherwise.
            date: date.unwrap_or(Date::ZERO),
            kind: kind.unwrap_or(ChangeKind::Off),
            name: Text::new(name_vi, name_en),
            source,
        })
    }

    /// The form filled from a recorded change.
    pub fn from_change(change: &DayChange) -> DayChangeForm {
        DayChangeForm {
            date: validate::format_date(change.date),
            kind: change.kind.as_str().to_string(),
            name_vi: change.name.vi.clone(),
            name_en: change.name.en.clone(),
            source: change.source.clone(),
        }
    }
}

/// Refuses changes that would change nothing, which are almost always a wrong date.
fn check_change_changes_something(
    invalid: &mut Invalid,
    calendar: &WorkCalendar,
    date: Date,
    kind: ChangeKind,
) {
    let without = calendar.without_change_on(date);
    let shown = validate::format_date(date);
    let (weekday_vi, weekday_en) = (
        weekday_name(date.weekday(), Lang::Vi),
        weekday_name(date.weekday(), Lang::En),
    );
    match kind {
        ChangeKind::Working if without.is_working_day(date) => invalid.push(
            "date",
            "already_working",
            Text::new(
                format!(
                    "{weekday_vi} {shown} đã là ngày làm việc; chỉ khai báo làm việc bù cho \
                     thứ Bảy, Chủ nhật hoặc ngày nghỉ."
                ),
                format!(
                    "{weekday_en} {shown} is already a working day; a worked day must be a \
                     Saturday, a Sunday or a day off."
                ),
            ),
        ),
        ChangeKind::Off if !without.is_working_day(date) => {
            let day = without.day(date);
            invalid.push(
                "date",
                "already_off",
                Text::new(
                    format!(
                        "{weekday_vi} {shown} đã là ngày nghỉ ({}).",
                        day.name().map_or(day.label(Lang::Vi), |name| &name.vi)
                    ),
                    format!(
                        "{weekday_en} {shown} is already a day off ({}).",
                        day.name().map_or(day.label(Lang::En), |name| &name.en)
                    ),
                ),
            );
        }
        ChangeKind::Tet => {
            let new_year = lunar::lunar_new_year(date.year());
            let distance = (lunar::day_number(date) - lunar::day_number(new_year)).abs();
            if distance > TET_WINDOW_DAYS {
                let new_year = validate::format_date(new_year);
                invalid.push(
                    "date",
                    "not_near_tet",
                    Text::new(
                        format!(
                            "Ngày nghỉ Tết phải trong vòng {TET_WINDOW_DAYS} ngày quanh mùng 1 \
                             Tết ({new_year})."
                        ),
                        format!(
                            "A Tết day must be within {TET_WINDOW_DAYS} days of the lunar new \
                             year ({new_year})."
                        ),
                    ),
                );
            }
        }
        ChangeKind::Working | ChangeKind::Off => {}
    }
}

/// How far from 1/1 lunar a Tết day may be: the government has placed the five days between
/// 26 Chạp and mùng 7.
const TET_WINDOW_DAYS: i64 = 10;

/// The weekday's name: `Thứ Hai` … `Chủ nhật`, `Monday` … `Sunday`.
pub fn weekday_name(weekday: Weekday, lang: Lang) -> &'static str {
    match (weekday, lang) {
        (Weekday::Monday, Lang::Vi) => "Thứ Hai",
        (Weekday::Tuesday, Lang::Vi) => "Thứ Ba",
        (Weekday::Wednesday, Lang::Vi) => "Thứ Tư",
        (Weekday::Thursday, Lang::Vi) => "Thứ Năm",
        (Weekday::Friday, Lang::Vi) => "Thứ Sáu",
        (Weekday::Saturday, Lang::Vi) => "Thứ Bảy",
        (Weekday::Sunday, Lang::Vi) => "Chủ nhật",
        (Weekday::Monday, Lang::En) => "Monday",
        (Weekday::Tuesday, Lang::En) => "Tuesday",
        (Weekday::Wednesday, Lang::En) => "Wednesday",
        (Weekday::Thursday, Lang::En) => "Thursday",
        (Weekday::Friday, Lang::En) => "Friday",
        (Weekday::Saturday, Lang::En) => "Saturday",
        (Weekday::Sunday, Lang::En) => "Sunday",
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The special days of one year: every date that is neither a plain working day nor a plain
/// weekend, with what it is.
type YearPlan = BTreeMap<Date, DayKind>;

/// Years whose plans are kept once computed; others are computed on each use.
const CACHED_YEARS: RangeInclusive<i16> = 1900..=2100;

/// Vietnam's working days: the rules of the Labour Code plus a table of official changes.
///
/// Cheap to query: each year's days off are computed once, on first use.
#[derive(Clone)]
pub struct WorkCalendar {
    changes: BTreeMap<Date, DayChange>,
    plans: Vec<OnceLock<YearPlan>>,
}

impl fmt::Debug for WorkCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkCalendar")
            .field("changes", &self.changes)
            .finish_non_exhaustive()
    }
}

impl Default for WorkCalendar {
    /// The shipped tables, as [`WorkCalendar::with_shipped`].
    fn default() -> WorkCalendar {
        WorkCalendar::with_shipped()
    }
}

impl WorkCalendar {
    /// The rules plus `changes`, e.g. the ones an administrator recorded. When two changes
    /// name the same date, the later in the list wins.
    pub fn new(changes: Vec<DayChange>) -> WorkCalendar {
        let cached = usize::try_from(CACHED_YEARS.end() - CACHED_YEARS.start() + 1).unwrap_or(0);
        WorkCalendar {
            changes: changes
                .into_iter()
                .map(|change| (change.date, change))
                .collect(),
            plans: (0..cached).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The rules plus the official changes shipped with hnth ([`WorkCalendar::shipped_changes`]).
    pub fn with_shipped() -> WorkCalendar {
        WorkCalendar::new(WorkCalendar::shipped_changes())
    }

    /// The official changes shipped with hnth, for the years already decided (2025, 2026),
    /// each with its legal source.
    ///
    /// # Panics
    ///
    /// If a shipped table does not parse: a build defect, which the tests catch.
    pub fn shipped_changes() -> Vec<DayChange> {
        official::shipped().unwrap_or_else(|error| panic!("{error}"))
    }

    /// The years for which hnth ships the official decisions.
    pub fn shipped_years() -> impl Iterator<Item = i16> {
        official::years()
    }

    /// The recorded changes, by date.
    pub fn changes(&self) -> impl Iterator<Item = &DayChange> {
        self.changes.values()
    }

    /// What `date` is.
    pub fn day(&self, date: Date) -> DayKind {
        let from_plan = |plan: &YearPlan| plan.get(&date).cloned();
        let special = match self.cached_plan(date.year()) {
            Some(plan) => from_plan(plan),
            None => from_plan(&self.compute_plan(date.year())),
        };
        special.unwrap_or(if is_weekend(date) {
            DayKind::Weekend
        } else {
            DayKind::Working
        })
    }

    /// Whether state bodies work on `date`.
    pub fn is_working_day(&self, date: Date) -> bool {
        self.day(date).is_working()
    }

    /// The date `n` working days after `date` (before it when `n` is negative); `date` itself
    /// is not counted, so the result is always a working day unless `n` is 0, which returns
    /// `date`. Saturates at the ends of jiff's range of dates.
    pub fn add_working_days(&self, date: Date, n: i32) -> Date {
        let forward = n >= 0;
        let mut remaining = n.unsigned_abs();
        let mut current = date;
        while remaining > 0 {
            let step = if forward {
                current.tomorrow()
            } else {
                current.yesterday()
            };
            let Ok(next) = step else {
                return current;
            };
            current = next;
            if self.is_working_day(current) {
                remaining -= 1;
            }
        }
        current
    }

    /// The deadline for something due `n` working days before `start`: the same time of day,
    /// on the date `n` working days before `start`'s date. With `n = 0`, `start` itself.
    pub fn working_days_before(&self, start: DateTime, n: u32) -> DateTime {
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.add_working_days(start.date(), -n)
            .to_datetime(start.time())
    }

    /// Every day of `year` that is not worked and not a plain weekend: holidays (also those
    /// on a weekend), compensatory days and official days off, in date order.
    pub fn days_off(&self, year: i16) -> Vec<CalendarDay> {
        self.special_days(year)
            .into_iter()
            .filter(|day| !day.kind.is_working())
            .collect()
    }

    /// The Saturdays and Sundays of `year` that official changes made working days.
    pub fn worked_weekend_days(&self, year: i16) -> Vec<CalendarDay> {
        self.special_days(year)
            .into_iter()
            .filter(|day| day.kind.is_working())
            .collect()
    }

    /// The stretches of days off of `year` (see [`Break`]), in order. A stretch that starts
    /// in December of the year before belongs to the year of its special days.
    pub fn breaks(&self, year: i16) -> Vec<Break> {
        let mut breaks: Vec<Break> = Vec::new();
        for day in self.days_off(year) {
            if let Some(last) = breaks.last_mut() {
                if day.date <= last.last {
                    last.days.push(day);
                    continue;
                }
            }
            let (first, last) = self.stretch_around(day.date);
            breaks.push(Break {
                first,
                last,
                days: vec![day],
            });
        }
        breaks
    }

    /// The maximal run of non-working days that contains `date`.
    fn stretch_around(&self, date: Date) -> (Date, Date) {
        let mut first = date;
        while let Ok(before) = first.yesterday() {
            if self.is_working_day(before) {
                break;
            }
            first = before;
        }
        let mut last = date;
        while let Ok(after) = last.tomorrow() {
            if self.is_working_day(after) {
                break;
            }
            last = after;
        }
        (first, last)
    }

    fn special_days(&self, year: i16) -> Vec<CalendarDay> {
        let to_days = |plan: &YearPlan| {
            plan.iter()
                .map(|(&date, kind)| CalendarDay {
                    date,
                    kind: kind.clone(),
                })
                .collect()
        };
        match self.cached_plan(year) {
            Some(plan) => to_days(plan),
            None => to_days(&self.compute_plan(year)),
        }
    }

    fn cached_plan(&self, year: i16) -> Option<&YearPlan> {
        let index = usize::try_from(year.checked_sub(*CACHED_YEARS.start())?).ok()?;
        let slot = self.plans.get(index)?;
        Some(slot.get_or_init(|| self.compute_plan(year)))
    }

    /// This calendar without the change recorded on `date`, if any.
    fn without_change_on(&self, date: Date) -> WorkCalendar {
        WorkCalendar::new(
            self.changes
                .values()
                .filter(|change| change.date != date)
                .cloned()
                .collect(),
        )
    }

    fn changes_in(&self, year: i16) -> impl Iterator<Item = &DayChange> {
        let first = Date::new(year, 1, 1).unwrap_or(Date::MIN);
        let last = Date::new(year, 12, 31).unwrap_or(Date::MAX);
        self.changes.range(first..=last).map(|(_, change)| change)
    }

    /// Every special day of `year`: the holidays, then the official changes over them, then
    /// a compensatory day for each holiday that fell on a weekend.
    fn compute_plan(&self, year: i16) -> YearPlan {
        let holidays = self.holidays(year);
        let mut plan: YearPlan = holidays
            .iter()
            .map(|(&date, (name, source))| {
                (
                    date,
                    DayKind::Holiday {
                        name: name.clone(),
                        source: source.clone(),
                    },
                )
            })
            .collect();
        for change in self.changes_in(year) {
            let (name, source) = (change.name.clone(), change.source.clone());
            match change.kind {
                ChangeKind::Off => {
                    plan.insert(change.date, DayKind::OfficialOff { name, source });
                }
                ChangeKind::Working => {
                    plan.insert(change.date, DayKind::OfficialWorking { name, source });
                }
                // Already among the holidays.
                ChangeKind::Tet => {}
            }
        }
        // In date order, so that when several holidays fall on a weekend (Tết over a
        // Saturday and a Sunday) each takes the next weekday still free.
        for (&date, (name, _)) in &holidays {
            let worked = matches!(plan.get(&date), Some(DayKind::OfficialWorking { .. }));
            if !is_weekend(date) || worked {
                continue;
            }
            let mut candidate = date;
            while let Ok(next) = candidate.tomorrow() {
                candidate = next;
                if !is_weekend(candidate) && !plan.contains_key(&candidate) {
                    plan.insert(
                        candidate,
                        DayKind::Compensatory {
                            name: Text::new(
                                format!("Nghỉ bù {}", name.vi),
                                format!("Day off in lieu of {}", name.en),
                            ),
                            source: LABOUR_CODE_COMPENSATION.to_string(),
                        },
                    );
                    break;
                }
            }
        }
        plan
    }

    /// The public holidays of art. 112.1 in `year`, with their names and sources.
    fn holidays(&self, year: i16) -> BTreeMap<Date, (Text, String)> {
        let mut holidays: BTreeMap<Date, (Text, String)> = BTreeMap::new();
        let mut add = |date: Option<Date>, name: Text, source: &str| {
            let Some(date) = date else { return };
            holidays
                .entry(date)
                // Two holidays on one day (Hùng Kings' day can meet 30/4): one day, both names.
                .and_modify(|(existing, _)| {
                    existing.vi = format!("{}; {}", existing.vi, name.vi);
                    existing.en = format!("{}; {}", existing.en, name.en);
                })
                .or_insert_with(|| (name, source.to_string()));
        };
        let solar = |month: i8, day: i8| Date::new(year, month, day).ok();

        add(
            solar(1, 1),
            Text::new("Tết Dương lịch", "New Year's Day"),
            LABOUR_CODE_HOLIDAYS,
        );

        let tet_changes: Vec<&DayChange> = self
            .changes_in(year)
            .filter(|change| change.kind == ChangeKind::Tet)
            .collect();
        if tet_changes.is_empty() {
            for (date, name) in default_tet(year) {
                add(Some(date), name, LABOUR_CODE_HOLIDAYS);
            }
        } else {
            for change in tet_changes {
                add(Some(change.date), change.name.clone(), &change.source);
            }
        }

        add(
            lunar::solar_from_lunar(year, 3, 10, false),
            Text::new(
                "Giỗ Tổ Hùng Vương (10/3 âm lịch)",
                "Hùng Kings' Commemoration Day (10th day of the 3rd lunar month)",
            ),
            LABOUR_CODE_HOLIDAYS,
        );
        add(
            solar(4, 30),
            Text::new("Ngày Chiến thắng (30/4)", "Reunification Day (30 April)"),
            LABOUR_CODE_HOLIDAYS,
        );
        add(
            solar(5, 1),
            Text::new(
                "Ngày Quốc tế Lao động (1/5)",
                "International Workers' Day (1 May)",
            ),
            LABOUR_CODE_HOLIDAYS,
        );
        add(
            solar(9, 2),
            Text::new("Quốc khánh (2/9)", "National Day (2 September)"),
            LABOUR_CODE_HOLIDAYS,
        );
        if let Some(national_day) = solar(9, 2) {
            add(
                Some(default_national_day_neighbour(national_day)),
                Text::new("Quốc khánh (ngày liền kề)", "National Day (adjacent day)"),
                LABOUR_CODE_HOLIDAYS,
            );
        }
        holidays
    }
}

/// Tết by default: the last day of the old lunar year and mùng 1 to mùng 4 of the new one.
fn default_tet(year: i16) -> Vec<(Date, Text)> {
    let new_year = lunar::lunar_new_year(year);
    let mut days = Vec::with_capacity(5);
    if let Ok(eve) = new_year.yesterday() {
        days.push((
            eve,
            Text::new(
                "Tết Nguyên Đán (ngày cuối năm âm lịch)",
                "Tết, Lunar New Year (last day of the lunar year)",
            ),
        ));
    }
    let mut date = new_year;
    for day in 1..=4 {
        days.push((
            date,
            Text::new(
                format!("Tết Nguyên Đán (mùng {day})"),
                format!("Tết, Lunar New Year (day {day})"),
            ),
        ));
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    days
}

/// The default day adjacent to National Day: see the module documentation.
fn default_national_day_neighbour(national_day: Date) -> Date {
    let after = matches!(national_day.weekday(), Weekday::Thursday | Weekday::Monday);
    let neighbour = if after {
        national_day.tomorrow()
    } else {
        national_day.yesterday()
    };
    neighbour.unwrap_or(national_day)
}
