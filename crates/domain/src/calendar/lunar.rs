//! The Vietnamese lunar calendar (âm lịch), computed for Vietnam's time zone, UTC+7.
//!
//! Written from the public astronomical rules of the lunisolar calendar:
//!
//! 1. a month begins on the civil day (at UTC+7) that contains the new moon;
//! 2. the month that contains the winter solstice is month 11;
//! 3. when 13 months begin between one month 11 and the next, the first month after month 11
//!    that contains no major solar term (the Sun's apparent longitude crossing a multiple of
//!    30°) is the leap month (tháng nhuận); it repeats the number of the month before it.
//!
//! The astronomy comes from Jean Meeus, *Astronomical Algorithms* (2nd ed., 1998): new moons
//! from chapter 49 (mean phase plus the periodic and planetary corrections, a few seconds
//! off), the Sun's apparent longitude from chapter 25 (the low-accuracy method, about 0.01°).
//! Both give dynamical time; civil time is that minus ΔT, taken from the polynomials of
//! Espenak & Meeus (NASA, *Five Millennium Canon of Solar Eclipses*, 2006).
//!
//! Why UTC+7 and not the Chinese calendar: since 1967 (North Vietnam; the whole country from
//! 1975) the calendar is computed for Vietnam's own time zone. A new moon between 23:00 and
//! midnight in Hanoi starts the month a day earlier than in Beijing (UTC+8): Tết 2007 and
//! 2030 come a day before the Chinese New Year; and a solstice just before midnight can move
//! month 11, as in 1984, when Tết 1985 came a whole month earlier in Vietnam. Dates before
//! 1968 are computed with the same rules at UTC+7, which is not always what was printed then.

use std::fmt;

use jiff::civil::Date;

/// Hours east of UTC of the time zone the Vietnamese calendar is computed for.
const VIETNAM_UTC_OFFSET_HOURS: f64 = 7.0;

/// The mean synodic month in days (Meeus 49.1).
const SYNODIC_MONTH: f64 = 29.530588861;

/// Julian Ephemeris Day of new moon number 0, 6 January 2000 (Meeus 49.1).
const NEW_MOON_ZERO: f64 = 2451550.09766;

/// A day of the Vietnamese lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LunarDate {
    /// The lunar year, named after the Gregorian year in which its month 1 begins.
    pub year: i16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 30.
    pub day: u8,
    /// Whether the month is the leap month that repeats `month`.
    pub leap: bool,
}

impl fmt::Display for LunarDate {
    /// `10/3/2026`, or `15/6 nhuận/2025` in a leap month.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let leap = if self.leap { " nhuận" } else { "" };
        write!(f, "{}/{}{leap}/{}", self.day, self.month, self.year)
    }
}

/// The solar date of Tết (1/1 lunar) of the lunar year that begins in Gregorian `year`.
pub fn lunar_new_year(year: i16) -> Date {
    Reckoner::VIETNAM.new_year(year)
}

/// The solar date of a lunar date, or `None` when it does not exist (a leap month the year
/// does not have, day 30 of a 29-day month, a month outside 1–12).
pub fn solar_from_lunar(year: i16, month: u8, day: u8, leap: bool) -> Option<Date> {
    Reckoner::VIETNAM.solar_from_lunar(year, month, day, leap)
}

/// The lunar date of a solar date.
pub fn lunar_from_solar(date: Date) -> LunarDate {
    Reckoner::VIETNAM.lunar_from_solar(date)
}

/// The leap month of lunar `year`, if it has one. A leap 11 or 12 (rare: 2033) belongs to the
/// lunar year it follows, though it begins in the next solar year's calendar cycle.
pub fn leap_month(year: i16) -> Option<u8> {
    Reckoner::VIETNAM.leap_month(year)
}

/// One lunar month: its first day (a Julian Day Number) and its name.
#[derive(Debug, Clone, Copy)]
struct Month {
    start: i64,
    number: u8,
    leap: bool,
    year: i16,
}

/// The months from one month 11 to the next: the cycle in which the leap-month rule applies.
struct SolarCycle {
    months: Vec<Month>,
    /// First day of the next month 11, where the last month ends.
    end: i64,
}

impl SolarCycle {
    fn length_of(&self, index: usize) -> i64 {
        let next = self
            .months
            .get(index + 1)
            .map_or(self.end, |month| month.start);
        next - self.months[index].start
    }
}

/// The calendar rules evaluated for one time zone. Vietnam's is the public one; the Chinese
/// zone (UTC+8) is used by the tests, which check the method against the Chinese dates too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reckoner {
    /// The zone's offset from UTC, in days.
    utc_offset_days: f64,
}

impl Reckoner {
    /// Vietnam, UTC+7.
    pub(crate) const VIETNAM: Reckoner = Reckoner::at_utc_offset(VIETNAM_UTC_OFFSET_HOURS);

    /// The rules evaluated at `hours` east of UTC.
    pub(crate) const fn at_utc_offset(hours: f64) -> Reckoner {
        Reckoner {
            utc_offset_days: hours / 24.0,
        }
    }

    pub(crate) fn new_year(self, year: i16) -> Date {
        let cycle = self.cycle_ending_in(year);
        let first_month = cycle
            .months
            .iter()
            .find(|month| month.number == 1 && !month.leap)
            // Month 1 is always the third or fourth month after month 11.
            .map_or(cycle.months[2].start, |month| month.start);
        date_from_day_number(first_month)
    }

    fn solar_from_lunar(self, year: i16, month: u8, day: u8, leap: bool) -> Option<Date> {
        if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
            return None;
        }
        // Months 11 and 12 (and a leap 11 or 12) come after the solstice that closes the
        // cycle of months 1–10, so they live in the next cycle.
        let cycle_year = if month >= 11 {
            year.checked_add(1)?
        } else {
            year
        };
        let cycle = self.cycle_ending_in(cycle_year);
        let index = cycle
            .months
            .iter()
            .position(|m| m.year == year && m.number == month && m.leap == leap)?;
        if i64::from(day) > cycle.length_of(index) {
            return None;
        }
        Some(date_from_day_number(
            cycle.months[index].start + i64::from(day) - 1,
        ))
    }

    fn lunar_from_solar(self, date: Date) -> LunarDate {
        let day = day_number(date);
        let mut cycle = self.cycle_ending_in(date.year());
        if day >= cycle.end {
            // December, on or after the month 11 that contains this year's solstice.
            cycle = self.cycle_ending_in(date.year().saturating_add(1));
        }
        let month = cycle
            .months
            .iter()
            .rev()
            .find(|month| month.start <= day)
            .unwrap_or(&cycle.months[0]);
        LunarDate {
            year: month.year,
            month: month.number,
            day: u8::try_from(day - month.start + 1).unwrap_or(1),
            leap: month.leap,
        }
    }

    fn leap_month(self, year: i16) -> Option<u8> {
        [year, year.saturating_add(1)]
            .into_iter()
            .flat_map(|cycle_year| self.cycle_ending_in(cycle_year).months)
            .find(|month| month.leap && month.year == year)
            .map(|month| month.number)
    }

    /// The months from the month 11 containing the winter solstice of `year - 1` up to the
    /// month before the one containing the solstice of `year`. Months 1–10 of lunar `year`
    /// are in it, after months 11 and 12 of lunar `year - 1`.
    fn cycle_ending_in(self, year: i16) -> SolarCycle {
        let first =
            self.new_moon_index_on_or_before(self.winter_solstice_day(year.saturating_sub(1)));
        let next = self.new_moon_index_on_or_before(self.winter_solstice_day(year));
        let count = next - first;
        let starts: Vec<i64> = (first..=next).map(|k| self.new_moon_day(k)).collect();
        let leap_index = if count == 13 {
            // Thirteen months but only twelve major terms: at least one month after month 11
            // (which holds the solstice) has none; the first such month is the leap month.
            (1..13).find(|&i| self.term_sector(starts[i]) == self.term_sector(starts[i + 1]))
        } else {
            None
        };
        let mut months = Vec::with_capacity(13);
        let (mut number, mut lunar_year) = (11u8, year.saturating_sub(1));
        for (index, &start) in starts[..starts.len() - 1].iter().enumerate() {
            let leap = leap_index == Some(index);
            if index > 0 && !leap {
                number = number % 12 + 1;
                if number == 1 {
                    lunar_year = year;
                }
            }
            months.push(Month {
                start,
                number,
                leap,
                year: lunar_year,
            });
        }
        SolarCycle {
            months,
            end: starts[starts.len() - 1],
        }
    }

    /// The local civil day (a Julian Day Number) during which the Sun reaches longitude 270°
    /// in December of `year`.
    fn winter_solstice_day(self, year: i16) -> i64 {
        const BEFORE_SOLSTICE_SECTOR: i64 = 8; // 240°–270°
        let mut day = day_number_of(year, 12, 15);
        while self.term_sector(day + 1) == BEFORE_SOLSTICE_SECTOR {
            day += 1;
        }
        day
    }

    /// Which 30° sector of ecliptic longitude the Sun is in at the local midnight that
    /// starts `day`: 0 for 0°–30°, …, 11 for 330°–360°. A month contains a major term exactly
    /// when the sector at its first day differs from the one at the next month's first day.
    fn term_sector(self, day: i64) -> i64 {
        let midnight_ut = day as f64 - 0.5 - self.utc_offset_days;
        (sun_apparent_longitude(dynamical_from_universal(midnight_ut)) / 30.0).floor() as i64
    }

    /// The local civil day on which new moon number `k` falls.
    fn new_moon_day(self, k: i64) -> i64 {
        let universal = universal_from_dynamical(new_moon_jde(k));
        (universal + 0.5 + self.utc_offset_days).floor() as i64
    }

    /// The number of the last new moon whose local day is on or before `day`.
    fn new_moon_index_on_or_before(self, day: i64) -> i64 {
        let mut k = ((day as f64 - NEW_MOON_ZERO) / SYNODIC_MONTH).floor() as i64;
        while self.new_moon_day(k + 1) <= day {
            k += 1;
        }
        while self.new_moon_day(k) > day {
            k -= 1;
        }
        k
    }
}

/// Julian Ephemeris Day (dynamical time) of new moon number `k`, counted from the new moon of
/// 6 January 2000: Meeus, chapter 49.
pub(crate) fn new_moon_jde(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85; // Julian centuries from J2000.0
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);
    let mean =
        NEW_MOON_ZERO + SYNODIC_MONTH * k + 0.00015437 * t2 - 0.000000150 * t3 + 0.00000000073 * t4;

    // Eccentricity of the Earth's orbit, and the arguments in degrees.
    let e = 1.0 - 0.002516 * t - 0.0000074 * t2;
    let sun_anomaly = 2.5534 + 29.10535670 * k - 0.0000014 * t2 - 0.00000011 * t3;
    let moon_anomaly =
        201.5643 + 385.81693528 * k + 0.0107582 * t2 + 0.00001238 * t3 - 0.000000058 * t4;
    let moon_latitude =
        160.7108 + 390.67050284 * k - 0.0016118 * t2 - 0.00000227 * t3 + 0.000000011 * t4;
    let node = 124.7746 - 1.56375588 * k + 0.0020672 * t2 + 0.00000215 * t3;

    // (coefficient, power of E, multiples of the Moon's anomaly, the Sun's anomaly, and the
    // Moon's argument of latitude), Meeus p. 351, new moon column.
    const PERIODIC: [(f64, i32, f64, f64, f64); 24] = [
        (-0.40720, 0, 1.0, 0.0, 0.0),
        (0.17241, 1, 0.0, 1.0, 0.0),
        (0.01608, 0, 2.0, 0.0, 0.0),
        (0.01039, 0, 0.0, 0.0, 2.0),
        (0.00739, 1, 1.0, -1.0, 0.0),
        (-0.00514, 1, 1.0, 1.0, 0.0),
        (0.00208, 2, 0.0, 2.0, 0.0),
        (-0.00111, 0, 1.0, 0.0, -2.0),
        (-0.00057, 0, 1.0, 0.0, 2.0),
        (0.00056, 1, 2.0, 1.0, 0.0),
        (-0.00042, 0, 3.0, 0.0, 0.0),
        (0.00042, 1, 0.0, 1.0, 2.0),
        (0.00038, 1, 0.0, 1.0, -2.0),
        (-0.00024, 1, 2.0, -1.0, 0.0),
        (-0.00007, 0, 1.0, 2.0, 0.0),
        (0.00004, 0, 2.0, 0.0, -2.0),
        (0.00004, 0, 0.0, 3.0, 0.0),
        (0.00003, 0, 1.0, 1.0, -2.0),
        (0.00003, 0, 2.0, 0.0, 2.0),
        (-0.00003, 0, 1.0, 1.0, 2.0),
        (0.00003, 0, 1.0, -1.0, 2.0),
        (-0.00002, 0, 1.0, -1.0, -2.0),
        (-0.00002, 0, 3.0, 1.0, 0.0),
        (0.00002, 0, 4.0, 0.0, 0.0),
    ];
    let periodic: f64 = PERIODIC
        .iter()
        .map(|&(coefficient, e_power, moon, sun, latitude)| {
            let argument = moon * moon_anomaly + sun * sun_anomaly + latitude * moon_latitude;
            coefficient * e.powi(e_power) * sin_degrees(argument)
        })
        .sum::<f64>()
        - 0.00017 * sin_degrees(node);

    // The planetary arguments A1–A14 and their coefficients, Meeus p. 352.
    let planetary_arguments = [
        (299.77 + 0.107408 * k - 0.009173 * t2, 0.000325),
        (251.88 + 0.016321 * k, 0.000165),
        (251.83 + 26.651886 * k, 0.000164),
        (349.42 + 36.412478 * k, 0.000126),
        (84.66 + 18.206239 * k, 0.000110),
        (141.74 + 53.303771 * k, 0.000062),
        (207.14 + 2.453732 * k, 0.000060),
        (154.84 + 7.306860 * k, 0.000056),
        (34.52 + 27.261239 * k, 0.000047),
        (207.19 + 0.121824 * k, 0.000042),
        (291.34 + 1.844379 * k, 0.000040),
        (161.72 + 24.198154 * k, 0.000037),
        (239.56 + 25.513099 * k, 0.000035),
        (331.55 + 3.592518 * k, 0.000023),
    ];
    let planetary: f64 = planetary_arguments
        .iter()
        .map(|&(argument, coefficient)| coefficient * sin_degrees(argument))
        .sum();

    mean + periodic + planetary
}

/// The Sun's apparent ecliptic longitude in degrees, 0 ≤ λ < 360, at Julian Ephemeris Day
/// `jde`: Meeus, chapter 25, low-accuracy method (nutation and aberration included).
pub(crate) fn sun_apparent_longitude(jde: f64) -> f64 {
    let t = (jde - 2451545.0) / 36525.0;
    let mean_longitude = 280.46646 + 36000.76983 * t + 0.0003032 * t * t;
    let mean_anomaly = 357.52911 + 35999.05029 * t - 0.0001537 * t * t;
    let equation_of_center = (1.914602 - 0.004817 * t - 0.000014 * t * t)
        * sin_degrees(mean_anomaly)
        + (0.019993 - 0.000101 * t) * sin_degrees(2.0 * mean_anomaly)
        + 0.000289 * sin_degrees(3.0 * mean_anomaly);
    let node = 125.04 - 1934.136 * t;
    let apparent = mean_longitude + equation_of_center - 0.00569 - 0.00478 * sin_degrees(node);
    apparent.rem_euclid(360.0)
}

fn sin_degrees(degrees: f64) -> f64 {
    degrees.rem_euclid(360.0).to_radians().sin()
}

/// ΔT = TT − UT in seconds for a decimal year: the polynomials of Espenak & Meeus (2006),
/// with their long-term parabola outside 1800–2150.
fn delta_t_seconds(year: f64) -> f64 {
    let long_term = |y: f64| {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    match year {
        y if !(1800.0..2150.0).contains(&y) => long_term(y),
        y if y < 1860.0 => {
            let t = y - 1800.0;
            13.72 - 0.332447 * t + 0.0068612 * t.powi(2) + 0.0041116 * t.powi(3)
                - 0.00037436 * t.powi(4)
                + 0.0000121272 * t.powi(5)
                - 0.0000001699 * t.powi(6)
                + 0.000000000875 * t.powi(7)
        }
        y if y < 1900.0 => {
            let t = y - 1860.0;
            7.62 + 0.5737 * t - 0.251754 * t.powi(2) + 0.01680668 * t.powi(3)
                - 0.0004473624 * t.powi(4)
                + t.powi(5) / 233174.0
        }
        y if y < 1920.0 => {
            let t = y - 1900.0;
            -2.79 + 1.494119 * t - 0.0598939 * t.powi(2) + 0.0061966 * t.powi(3)
                - 0.000197 * t.powi(4)
        }
        y if y < 1941.0 => {
            let t = y - 1920.0;
            21.20 + 0.84493 * t - 0.076100 * t.powi(2) + 0.0020936 * t.powi(3)
        }
        y if y < 1961.0 => {
            let t = y - 1950.0;
            29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
        }
        y if y < 1986.0 => {
            let t = y - 1975.0;
            45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
        }
        y if y < 2005.0 => {
            let t = y - 2000.0;
            63.86 + 0.3345 * t - 0.060374 * t.powi(2)
                + 0.0017275 * t.powi(3)
                + 0.000651814 * t.powi(4)
                + 0.00002373599 * t.powi(5)
        }
        y if y < 2050.0 => {
            let t = y - 2000.0;
            62.92 + 0.32217 * t + 0.005589 * t.powi(2)
        }
        y => long_term(y) - 0.5628 * (2150.0 - y),
    }
}

fn decimal_year(julian_day: f64) -> f64 {
    2000.0 + (julian_day - 2451545.0) / 365.25
}

fn universal_from_dynamical(jde: f64) -> f64 {
    jde - delta_t_seconds(decimal_year(jde)) / 86400.0
}

fn dynamical_from_universal(jd: f64) -> f64 {
    jd + delta_t_seconds(decimal_year(jd)) / 86400.0
}

/// The Julian Day Number of a Gregorian date (the Julian Day at its noon).
fn day_number_of(year: i16, month: i8, day: i8) -> i64 {
    // Fliegel & Van Flandern (1968), with March as the first month of the computing year.
    let (year, month, day) = (i64::from(year), i64::from(month), i64::from(day));
    let shift = (14 - month) / 12;
    let y = year + 4800 - shift;
    let m = month + 12 * shift - 3;
    day + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
        - 32045
}

pub(crate) fn day_number(date: Date) -> i64 {
    day_number_of(date.year(), date.month(), date.day())
}

/// The Gregorian date of a Julian Day Number; outside jiff's years (−9999 to 9999) the
/// nearest representable date.
pub(crate) fn date_from_day_number(day_number: i64) -> Date {
    let a = day_number + 32044;
    let b = (4 * a + 3).div_euclid(146097);
    let c = a - (146097 * b).div_euclid(4);
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2) / 153;
    let day = e - (153 * m + 2) / 5 + 1;
    let month = m + 3 - 12 * (m / 10);
    let year = 100 * b + d - 4800 + m / 10;
    match (i16::try_from(year), i8::try_from(month), i8::try_from(day)) {
        (Ok(year), Ok(month), Ok(day)) => {
            Date::new(year, month, day).unwrap_or(if year < 0 { Date::MIN } else { Date::MAX })
        }
        _ if year < 0 => Date::MIN,
        _ => Date::MAX,
    }
}
