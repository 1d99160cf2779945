use jiff::civil::{date, Date, DateTime, Weekday};
use proptest::prelude::*;

use super::lunar::{
    self, leap_month, lunar_from_solar, lunar_new_year, solar_from_lunar, LunarDate, Reckoner,
};
use super::*;

// ---------------------------------------------------------------------------------------
// The lunar calendar
// ---------------------------------------------------------------------------------------

/// Tết (1/1 lunar) in Vietnam, 1990–2040, as published: Vietnamese Wikipedia, "Tết Nguyên
/// Đán", table of solar dates of Tết; the same dates as Hồ Ngọc Đức's published Vietnamese
/// lunar calendar tables (data only). They differ from the Chinese New Year in 2007 and 2030.
const TET: [(i16, i8, i8); 51] = [
    (1990, 1, 27),
    (1991, 2, 15),
    (1992, 2, 4),
    (1993, 1, 23),
    (1994, 2, 10),
    (1995, 1, 31),
    (1996, 2, 19),
    (1997, 2, 7),
    (1998, 1, 28),
    (1999, 2, 16),
    (2000, 2, 5),
    (2001, 1, 24),
    (2002, 2, 12),
    (2003, 2, 1),
    (2004, 1, 22),
    (2005, 2, 9),
    (2006, 1, 29),
    (2007, 2, 17),
    (2008, 2, 7),
    (2009, 1, 26),
    (2010, 2, 14),
    (2011, 2, 3),
    (2012, 1, 23),
    (2013, 2, 10),
    (2014, 1, 31),
    (2015, 2, 19),
    (2016, 2, 8),
    (2017, 1, 28),
    (2018, 2, 16),
    (2019, 2, 5),
    (2020, 1, 25),
    (2021, 2, 12),
    (2022, 2, 1),
    (2023, 1, 22),
    (2024, 2, 10),
    (2025, 1, 29),
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 2),
    (2031, 1, 23),
    (2032, 2, 11),
    (2033, 1, 31),
    (2034, 2, 19),
    (2035, 2, 8),
    (2036, 1, 28),
    (2037, 2, 15),
    (2038, 2, 4),
    (2039, 1, 24),
    (2040, 2, 12),
];

#[test]
fn tet_matches_the_published_vietnamese_dates_1990_to_2040() {
    for (year, month, day) in TET {
        assert_eq!(lunar_new_year(year), date(year, month, day), "Tết {year}");
        assert_eq!(
            lunar_from_solar(date(year, month, day)),
            LunarDate {
                year,
                month: 1,
                day: 1,
                leap: false
            }
        );
    }
}

/// Years where Vietnam (UTC+7) and China (UTC+8) begin the year on different days
/// (English Wikipedia, "Vietnamese calendar"; Vietnam's National Calendar Department, on
/// 2007): 1985 because the 1984 solstice fell before midnight in Hanoi and after it in
/// Beijing, moving month 11 and the leap month; 2007 and 2030 because the new moon fell
/// between 23:00 and midnight in Hanoi.
#[test]
fn vietnamese_new_year_differs_from_the_chinese_one_in_1985_2007_2030() {
    let china = Reckoner::at_utc_offset(8.0);
    for (year, vietnam_date, china_date) in [
        (1985, date(1985, 1, 21), date(1985, 2, 20)),
        (2007, date(2007, 2, 17), date(2007, 2, 18)),
        (2030, date(2030, 2, 2), date(2030, 2, 3)),
    ] {
        assert_eq!(lunar_new_year(year), vietnam_date, "Vietnam {year}");
        assert_eq!(china.new_year(year), china_date, "China {year}");
    }
    // Where both zones agree, so do the calendars.
    assert_eq!(china.new_year(2026), lunar_new_year(2026));
}

#[test]
fn hung_kings_day_is_the_tenth_of_the_third_lunar_month() {
    for (year, month, day) in [
        (2016, 4, 16),
        (2018, 4, 25),
        (2019, 4, 14),
        (2020, 4, 2),
        (2021, 4, 21),
        (2022, 4, 10),
        (2023, 4, 29),
        (2024, 4, 18),
        (2025, 4, 7),
        (2026, 4, 26),
    ] {
        assert_eq!(
            solar_from_lunar(year, 3, 10, false),
            Some(date(year, month, day)),
            "{year}"
        );
    }
}

#[test]
fn leap_months() {
    for (year, leap) in [
        (2004, Some(2)),
        (2006, Some(7)),
        (2009, Some(5)),
        (2012, Some(4)),
        (2014, Some(9)),
        (2017, Some(6)),
        (2020, Some(4)),
        (2023, Some(2)),
        (2025, Some(6)),
        // The rare leap 11th month: it follows month 11 of 2033, in December.
        (2033, Some(11)),
        (2024, None),
        (2026, None),
    ] {
        assert_eq!(leap_month(year), leap, "{year}");
    }
    // The leap 6th month of 2025 began on 25 July, after the 6th month of 25 June.
    assert_eq!(solar_from_lunar(2025, 6, 1, false), Some(date(2025, 6, 25)));
    assert_eq!(solar_from_lunar(2025, 6, 1, true), Some(date(2025, 7, 25)));
    assert_eq!(solar_from_lunar(2026, 6, 1, true), None);
    assert_eq!(
        lunar_from_solar(date(2025, 8, 8)).to_string(),
        "15/6 nhuận/2025"
    );
}

#[test]
fn last_day_of_the_year_and_days_that_do_not_exist() {
    // The 12th month of Ất Tỵ has 29 days: 16/2/2026 is its last day.
    assert_eq!(
        lunar_from_solar(date(2026, 2, 16)),
        LunarDate {
            year: 2025,
            month: 12,
            day: 29,
            leap: false
        }
    );
    assert_eq!(solar_from_lunar(2025, 12, 30, false), None);
    assert_eq!(solar_from_lunar(2025, 13, 1, false), None);
    assert_eq!(solar_from_lunar(2025, 0, 1, false), None);
    assert_eq!(solar_from_lunar(2025, 1, 0, false), None);
    assert_eq!(
        lunar_from_solar(date(2025, 1, 27)).to_string(),
        "28/12/2024"
    );
}

#[test]
fn every_lunar_year_from_1900_to_2100_is_well_formed() {
    for year in 1900..=2100i16 {
        let tet = lunar_new_year(year);
        assert!(
            (date(year, 1, 21)..=date(year, 2, 20)).contains(&tet),
            "Tết {year} on {tet}"
        );
        let length = lunar::day_number(lunar_new_year(year + 1)) - lunar::day_number(tet);
        let leap = leap_month(year);
        match leap {
            None => assert!((353..=355).contains(&length), "{year}: {length} days"),
            Some(_) => assert!((383..=385).contains(&length), "{year}: {length} days"),
        }
        let months = (1..=12u8)
            .flat_map(|month| [(month, false), (month, true)])
            .filter(|&(month, is_leap)| !is_leap || leap == Some(month));
        let mut days_in_year = 0;
        for (month, is_leap) in months {
            let first = solar_from_lunar(year, month, 1, is_leap)
                .unwrap_or_else(|| panic!("{year}/{month} leap {is_leap}"));
            assert_eq!(
                lunar_from_solar(first),
                LunarDate {
                    year,
                    month,
                    day: 1,
                    leap: is_leap
                }
            );
            let days = if solar_from_lunar(year, month, 30, is_leap).is_some() {
                30
            } else {
                29
            };
            assert!(solar_from_lunar(year, month, 29, is_leap).is_some());
            days_in_year += days;
        }
        assert_eq!(days_in_year, length, "{year}");
    }
}

/// Jean Meeus, Astronomical Algorithms, examples 49.a (the new moon of February 1977) and
/// 25.a (the Sun on 1992 October 13.0 TD, low-accuracy method).
#[test]
fn astronomy_matches_the_worked_examples_of_meeus() {
    assert!((lunar::new_moon_jde(-283) - 2443192.65118).abs() < 0.00002);
    assert!((lunar::sun_apparent_longitude(2448908.5) - 199.90895).abs() < 0.00002);
}

proptest! {
    #[test]
    fn a_solar_date_survives_the_round_trip_through_the_lunar_calendar(offset in 0i64..73_413) {
        let solar = lunar::date_from_day_number(lunar::day_number(date(1900, 2, 1)) + offset);
        let lunar_date = lunar_from_solar(solar);
        prop_assert_eq!(
            solar_from_lunar(lunar_date.year, lunar_date.month, lunar_date.day, lunar_date.leap),
            Some(solar)
        );
    }
}

// ---------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------

fn rules_only() -> WorkCalendar {
    WorkCalendar::new(Vec::new())
}

fn off(calendar: &WorkCalendar, dates: &[Date]) {
    for &day in dates {
        assert!(
            !calendar.is_working_day(day),
            "{day} should be a day off: {:?}",
            calendar.day(day)
        );
    }
}

fn working(calendar: &WorkCalendar, dates: &[Date]) {
    for &day in dates {
        assert!(
            calendar.is_working_day(day),
            "{day} should be a working day: {:?}",
            calendar.day(day)
        );
    }
}

fn is_compensatory(kind: &DayKind) -> bool {
    matches!(kind, DayKind::Compensatory { .. })
}

#[test]
fn weekends_and_fixed_holidays() {
    let calendar = rules_only();
    assert_eq!(calendar.day(date(2027, 3, 6)), DayKind::Weekend);
    assert_eq!(calendar.day(date(2027, 3, 8)), DayKind::Working);
    for holiday in [
        date(2027, 1, 1),
        date(2027, 4, 30),
        date(2027, 5, 1),
        date(2027, 9, 2),
    ] {
        let kind = calendar.day(holiday);
        assert!(
            matches!(kind, DayKind::Holiday { .. }),
            "{holiday}: {kind:?}"
        );
        assert_eq!(kind.source(), Some(LABOUR_CODE_HOLIDAYS));
    }
}

/// 2023: Hùng Kings' day on Saturday 29/4 and 30/4 on Sunday give two days in lieu after the
/// Monday 1/5 holiday: the decided break was 29/4–3/5.
#[test]
fn compensatory_days_chain_after_holidays() {
    let calendar = rules_only();
    off(
        &calendar,
        &[
            date(2023, 4, 29),
            date(2023, 4, 30),
            date(2023, 5, 1),
            date(2023, 5, 2),
            date(2023, 5, 3),
        ],
    );
    working(&calendar, &[date(2023, 4, 28), date(2023, 5, 4)]);
    assert!(is_compensatory(&calendar.day(date(2023, 5, 2))));
    let in_lieu = calendar.day(date(2023, 5, 3));
    assert!(is_compensatory(&in_lieu));
    assert_eq!(in_lieu.source(), Some(LABOUR_CODE_COMPENSATION));

    // 2026: Hùng Kings' day on Sunday 26/4 gives Monday 27/4.
    let in_lieu = calendar.day(date(2026, 4, 27));
    assert!(is_compensatory(&in_lieu));
    assert!(in_lieu
        .name()
        .is_some_and(|name| name.vi.contains("Hùng Vương")));
}

/// Default Tết: last day of the lunar year + mùng 1–4, each weekend day compensated.
#[test]
fn default_tet_covers_five_days_and_compensates_its_weekend() {
    let calendar = rules_only();
    // Tết Tân Sửu, Friday 12/2/2021: Thu 11 to Mon 15, with Sat 13 and Sun 14 made up on
    // Tue 16 and Wed 17.
    off(
        &calendar,
        &[
            date(2021, 2, 11),
            date(2021, 2, 12),
            date(2021, 2, 15),
            date(2021, 2, 16),
            date(2021, 2, 17),
        ],
    );
    working(&calendar, &[date(2021, 2, 10), date(2021, 2, 18)]);
    assert!(matches!(
        calendar.day(date(2021, 2, 13)),
        DayKind::Holiday { .. }
    ));
    // 2027: Tết on Saturday 6/2: Fri 5 to Tue 9, then Wed 10 and Thu 11 in lieu.
    let tet_2027 = calendar
        .breaks(2027)
        .into_iter()
        .find(|stretch| stretch.first.month() == 2)
        .map(|stretch| (stretch.first, stretch.last));
    assert_eq!(tet_2027, Some((date(2027, 2, 5), date(2027, 2, 11))));
}

/// The adjacent day of National Day as decided since 2021, when it became 2 days.
#[test]
fn national_day_neighbour_follows_recent_decisions() {
    let calendar = rules_only();
    for (national_day, neighbour) in [
        (date(2021, 9, 2), date(2021, 9, 3)), // Thursday → Friday
        (date(2022, 9, 2), date(2022, 9, 1)), // Friday → Thursday
        (date(2023, 9, 2), date(2023, 9, 1)), // Saturday → Friday (+ Monday in lieu)
        (date(2024, 9, 2), date(2024, 9, 3)), // Monday → Tuesday
        (date(2025, 9, 2), date(2025, 9, 1)), // Tuesday → Monday
        (date(2026, 9, 2), date(2026, 9, 1)), // Wednesday → Tuesday
    ] {
        assert_eq!(
            default_national_day_neighbour(national_day),
            neighbour,
            "{national_day}"
        );
        assert!(matches!(calendar.day(neighbour), DayKind::Holiday { .. }));
    }
    off(&calendar, &[date(2023, 9, 4)]);
    working(&calendar, &[date(2023, 9, 5)]);
}

// ---------------------------------------------------------------------------------------
// The official tables
// ---------------------------------------------------------------------------------------

#[test]
fn shipped_tables_parse_and_cite_a_source() {
    let changes = WorkCalendar::shipped_changes();
    assert!(!changes.is_empty());
    for change in &changes {
        assert!(!change.source.trim().is_empty(), "{change:?}");
        assert!(!change.name.vi.is_empty() && !change.name.en.is_empty());
    }
    assert_eq!(
        WorkCalendar::shipped_years().collect::<Vec<_>>(),
        [2025, 2026]
    );
}

/// The tables hold only what the rules do not give: every `off` entry is a working day by the
/// rules, every `working` entry a day off by the rules.
#[test]
fn every_shipped_change_changes_what_the_rules_give() {
    let rules = rules_only();
    for change in WorkCalendar::shipped_changes() {
        match change.kind {
            ChangeKind::Off => assert!(rules.is_working_day(change.date), "{change:?}"),
            ChangeKind::Working => assert!(!rules.is_working_day(change.date), "{change:?}"),
            ChangeKind::Tet => {
                let distance = lunar::day_number(change.date)
                    - lunar::day_number(lunar_new_year(change.date.year()));
                assert!((-3..=5).contains(&distance), "{change:?}");
            }
        }
    }
}

/// Thông báo 6150/TB-BLĐTBXH (3/12/2024): Tết 25/1–2/2, 30/4–4/5 with Saturday 26/4 worked,
/// National Day 30/8–2/9; and 1/1 and Hùng Kings' day (Monday 7/4) by the rules.
#[test]
fn official_2025() {
    let calendar = WorkCalendar::with_shipped();
    off(
        &calendar,
        &[
            date(2025, 1, 1),
            date(2025, 1, 27),
            date(2025, 1, 28),
            date(2025, 1, 29),
            date(2025, 1, 30),
            date(2025, 1, 31),
            date(2025, 4, 7),
            date(2025, 4, 30),
            date(2025, 5, 1),
            date(2025, 5, 2),
            date(2025, 9, 1),
            date(2025, 9, 2),
        ],
    );
    working(
        &calendar,
        &[
            date(2025, 1, 24),
            // The default Tết would have given Monday 3/2 in lieu of Saturday 1/2.
            date(2025, 2, 3),
            date(2025, 4, 26),
            date(2025, 5, 5),
            date(2025, 9, 3),
        ],
    );
    let breaks: Vec<_> = calendar
        .breaks(2025)
        .iter()
        .map(|stretch| (stretch.first, stretch.last))
        .collect();
    assert_eq!(
        breaks,
        [
            (date(2025, 1, 1), date(2025, 1, 1)),
            (date(2025, 1, 25), date(2025, 2, 2)),
            (date(2025, 4, 5), date(2025, 4, 7)),
            (date(2025, 4, 30), date(2025, 5, 4)),
            (date(2025, 8, 30), date(2025, 9, 2)),
        ]
    );
    // "22 days off in 2025", as the press counted the decided breaks.
    let total: i64 = calendar.breaks(2025).iter().map(Break::length).sum();
    assert_eq!(total, 22);
}

/// Công văn 12729/VPCP-KGVX (25/12/2025) and Thông báo 9441/TB-BNV (16/10/2025): New Year
/// 1/1–4/1 with Saturday 10/1 worked; Tết 14/2–22/2; Hùng Kings' day on Sunday 26/4, in lieu
/// Monday 27/4; 30/4–3/5; National Day 29/8–2/9 with Saturday 22/8 worked.
#[test]
fn official_2026() {
    let calendar = WorkCalendar::with_shipped();
    off(
        &calendar,
        &[
            date(2026, 1, 1),
            date(2026, 1, 2),
            date(2026, 2, 16),
            date(2026, 2, 17),
            date(2026, 2, 18),
            date(2026, 2, 19),
            date(2026, 2, 20),
            date(2026, 4, 27),
            date(2026, 4, 30),
            date(2026, 5, 1),
            date(2026, 8, 31),
            date(2026, 9, 1),
            date(2026, 9, 2),
        ],
    );
    working(
        &calendar,
        &[
            date(2026, 1, 10),
            date(2026, 2, 13),
            date(2026, 2, 23),
            date(2026, 4, 28),
            date(2026, 8, 22),
            date(2026, 9, 3),
            // Vietnam Culture Day is not a day off in any text in force yet.
            date(2026, 11, 24),
        ],
    );
    assert!(matches!(
        calendar.day(date(2026, 1, 10)),
        DayKind::OfficialWorking { .. }
    ));
    assert_eq!(
        calendar.day(date(2026, 1, 2)).source(),
        Some("Công văn 12729/VPCP-KGVX ngày 25/12/2025")
    );
    let breaks: Vec<_> = calendar
        .breaks(2026)
        .iter()
        .map(|stretch| (stretch.first, stretch.last))
        .collect();
    assert_eq!(
        breaks,
        [
            (date(2026, 1, 1), date(2026, 1, 4)),
            (date(2026, 2, 14), date(2026, 2, 22)),
            (date(2026, 4, 25), date(2026, 4, 27)),
            (date(2026, 4, 30), date(2026, 5, 3)),
            (date(2026, 8, 29), date(2026, 9, 2)),
        ]
    );
    let total: i64 = calendar.breaks(2026).iter().map(Break::length).sum();
    assert_eq!(total, 25);
    let worked: Vec<_> = calendar
        .worked_weekend_days(2026)
        .iter()
        .map(|day| day.date)
        .collect();
    assert_eq!(worked, [date(2026, 1, 10), date(2026, 8, 22)]);
}

#[test]
fn working_days_across_tet_2026() {
    let calendar = WorkCalendar::with_shipped();
    assert_eq!(
        calendar.add_working_days(date(2026, 2, 13), 1),
        date(2026, 2, 23)
    );
    assert_eq!(
        calendar.add_working_days(date(2026, 2, 23), -1),
        date(2026, 2, 13)
    );
    assert_eq!(
        calendar.add_working_days(date(2026, 2, 11), 3),
        date(2026, 2, 23)
    );
    // A session at 09:00 on Tuesday 24/2 registered 3 working days ahead (CT) is due
    // by 09:00 on Thursday 12/2: 23/2, 13/2 and 12/2 are the three working days before.
    let start: DateTime = date(2026, 2, 24).at(9, 0, 0, 0);
    assert_eq!(
        calendar.working_days_before(start, 3),
        date(2026, 2, 12).at(9, 0, 0, 0)
    );
    assert_eq!(calendar.working_days_before(start, 0), start);
    // Over New Year 2026, the worked Saturday counts.
    assert_eq!(
        calendar.add_working_days(date(2026, 1, 9), 1),
        date(2026, 1, 10)
    );
    assert_eq!(
        calendar.add_working_days(date(2025, 12, 31), 1),
        date(2026, 1, 5)
    );
}

// ---------------------------------------------------------------------------------------
// Administrator input
// ---------------------------------------------------------------------------------------

fn form(date: &str, kind: &str) -> DayChangeForm {
    DayChangeForm {
        date: date.to_string(),
        kind: kind.to_string(),
        name_vi: "Nghỉ bù".to_string(),
        name_en: "Day off".to_string(),
        source: "Thông báo 1/TB-BNV".to_string(),
    }
}

fn codes(result: Result<DayChange, Invalid>) -> Vec<&'static str> {
    result.unwrap_err().errors.iter().map(|e| e.code).collect()
}

#[test]
fn admin_changes_are_checked() {
    let calendar = WorkCalendar::with_shipped();
    let change = form("04/06/2027", "off").parse(&calendar).unwrap();
    assert_eq!(change.date, date(2027, 6, 4));
    assert_eq!(change.kind, ChangeKind::Off);
    assert_eq!(
        form("2027-06-05", "working").parse(&calendar).unwrap().date,
        date(2027, 6, 5)
    );

    // A worked weekday that is already a working day changes nothing.
    let refused = form("2027-06-07", "working").parse(&calendar);
    assert_eq!(codes(refused.clone()), ["already_working"]);
    let message = refused.unwrap_err().summary(Lang::Vi);
    assert!(message.contains("Thứ Hai 07/06/2027"), "{message}");
    // A day off on a Sunday, or on a holiday, changes nothing either.
    assert_eq!(
        codes(form("2027-06-06", "off").parse(&calendar)),
        ["already_off"]
    );
    let refused = form("2027-04-30", "off").parse(&calendar).unwrap_err();
    assert!(refused.summary(Lang::En).contains("Reunification Day"));
    // Tết days must be near Tết.
    assert_eq!(
        codes(form("2027-06-04", "tet").parse(&calendar)),
        ["not_near_tet"]
    );
    assert!(form("2027-02-05", "tet").parse(&calendar).is_ok());
    // Editing a recorded change: its own entry is ignored, so re-saving it is accepted.
    assert!(form("2026-01-10", "working").parse(&calendar).is_ok());

    let empty = DayChangeForm::default().parse(&calendar);
    assert_eq!(
        codes(empty),
        [
            "required",
            "bad_kind",
            "required",
            "required",
            "source_required"
        ]
    );
    assert_eq!(
        codes(form("31/02/2027", "holiday").parse(&calendar)),
        ["bad_date", "bad_kind"]
    );
}

#[test]
fn a_change_reads_back_from_its_form_and_from_toml() {
    let calendar = WorkCalendar::with_shipped();
    for change in WorkCalendar::shipped_changes() {
        let form = DayChangeForm::from_change(&change);
        // Parsing against the calendar holding the change itself: its own entry is ignored.
        assert_eq!(form.parse(&calendar).as_ref(), Ok(&change));
        let text = toml::to_string(&change).unwrap();
        assert_eq!(toml::from_str::<DayChange>(&text).unwrap(), change);
    }
    let unknown = "date = \"2027-01-02\"\nkind = \"off\"\nname = { vi = \"a\", en = \"b\", fr = \"c\" }\nsource = \"x\"";
    assert!(toml::from_str::<DayChange>(unknown).is_err());
}

#[test]
fn a_change_wins_over_the_rules() {
    // Move the 2027 National Day neighbour from Thursday 2/9's default Friday 3/9 to 1/9.
    let move_neighbour = vec![
        DayChange {
            date: date(2027, 9, 3),
            kind: ChangeKind::Working,
            name: Text::new("Làm việc", "Worked"),
            source: "test".to_string(),
        },
        DayChange {
            date: date(2027, 9, 1),
            kind: ChangeKind::Off,
            name: Text::new("Quốc khánh (ngày liền kề)", "National Day (adjacent day)"),
            source: "test".to_string(),
        },
    ];
    let calendar = WorkCalendar::new(move_neighbour);
    off(&calendar, &[date(2027, 9, 1), date(2027, 9, 2)]);
    working(&calendar, &[date(2027, 9, 3)]);
    assert_eq!(date(2027, 9, 2).weekday(), Weekday::Thursday);
}

// ---------------------------------------------------------------------------------------
// Working-day arithmetic
// ---------------------------------------------------------------------------------------

fn any_date() -> impl Strategy<Value = Date> {
    (0i64..(365 * 12)).prop_map(|offset| {
        lunar::date_from_day_number(lunar::day_number(date(2020, 1, 1)) + offset)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_result_is_always_a_working_day(start in any_date(), n in -40i32..=40) {
        let calendar = WorkCalendar::with_shipped();
        let end = calendar.add_working_days(start, n);
        if n != 0 {
            prop_assert!(calendar.is_working_day(end));
        }
        prop_assert_eq!(n > 0, end > start);
        prop_assert_eq!(n < 0, end < start);
    }

    #[test]
    fn there_and_back_returns_the_last_working_day_not_after_the_start(
        start in any_date(),
        n in 1i32..=40,
    ) {
        let calendar = WorkCalendar::with_shipped();
        let back = calendar.add_working_days(calendar.add_working_days(start, n), -n);
        prop_assert!(calendar.is_working_day(back));
        prop_assert!(back <= start);
        if calendar.is_working_day(start) {
            prop_assert_eq!(back, start);
        } else {
            prop_assert_eq!(back, calendar.add_working_days(start, -1));
        }
    }

    #[test]
    fn exactly_n_working_days_lie_between(start in any_date(), n in 1i32..=40) {
        let calendar = WorkCalendar::with_shipped();
        let end = calendar.add_working_days(start, n);
        let mut counted = 0;
        let mut day = start;
        while day < end {
            day = day.tomorrow().unwrap();
            if calendar.is_working_day(day) {
                counted += 1;
            }
        }
        prop_assert_eq!(counted, n);
    }
}
