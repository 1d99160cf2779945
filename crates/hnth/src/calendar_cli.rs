//! `hnth calendar YEAR`: the days off of a year, as the working-day calendar counts them, so
//! an administrator can check the calendar against the government's notice before lead
//! times are computed with it.

use std::io::{self, Write};

use hnth_domain::calendar::{weekday_name, WorkCalendar};
use hnth_domain::lang::Lang;
use hnth_domain::validate::format_date;

/// Prints `year`'s breaks (stretches of days off, weekends included), each holiday,
/// compensatory day and official day off in it with its weekday, name and source, and then
/// the weekend days worked in exchange.
pub fn print_year(
    calendar: &WorkCalendar,
    year: i16,
    lang: Lang,
    out: &mut impl Write,
) -> io::Result<()> {
    let text = Labels::for_lang(lang);
    let day_and_weekday = |date: jiff::civil::Date| {
        format!(
            "{} ({})",
            format_date(date),
            weekday_name(date.weekday(), lang)
        )
    };

    writeln!(out, "{} {year}", text.title)?;
    if !calendar.changes().any(|change| change.date.year() == year) {
        writeln!(out, "{}", text.no_decision)?;
    }
    for stretch in calendar.breaks(year) {
        writeln!(out)?;
        writeln!(
            out,
            "{} – {}: {} {}",
            day_and_weekday(stretch.first),
            day_and_weekday(stretch.last),
            stretch.length(),
            text.days
        )?;
        for day in &stretch.days {
            writeln!(
                out,
                "  {}  {:<9}  {:<20}  {} [{}]",
                format_date(day.date),
                weekday_name(day.date.weekday(), lang),
                day.kind.label(lang),
                day.kind.name().map_or("", |name| name.get(lang)),
                day.kind.source().unwrap_or_default(),
            )?;
        }
    }
    let worked = calendar.worked_weekend_days(year);
    if !worked.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", text.worked)?;
        for day in worked {
            writeln!(
                out,
                "  {}  {:<9}  {} [{}]",
                format_date(day.date),
                weekday_name(day.date.weekday(), lang),
                day.kind.name().map_or("", |name| name.get(lang)),
                day.kind.source().unwrap_or_default(),
            )?;
        }
    }
    Ok(())
}

struct Labels {
    title: &'static str,
    no_decision: &'static str,
    days: &'static str,
    worked: &'static str,
}

impl Labels {
    fn for_lang(lang: Lang) -> Labels {
        match lang {
            Lang::Vi => Labels {
                title: "Ngày nghỉ lễ, tết, nghỉ bù và thay đổi chính thức năm",
                no_decision: "Chưa có quyết định chính thức nào cho năm này: Tết và ngày liền kề \
                              Quốc khánh theo cách bố trí mặc định.",
                days: "ngày",
                worked: "Ngày cuối tuần làm việc bù:",
            },
            Lang::En => Labels {
                title: "Public holidays, days off in lieu and official changes of",
                no_decision: "No official decision recorded for this year: Tết and the day \
                              next to National Day are placed by default.",
                days: "days",
                worked: "Weekend days worked in exchange:",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(year: i16, lang: Lang) -> String {
        let mut out = Vec::new();
        print_year(&WorkCalendar::with_shipped(), year, lang, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn year_2026_lists_the_tet_break_and_the_day_in_lieu_of_hung_kings_day() {
        let text = printed(2026, Lang::Vi);
        assert!(
            text.contains("14/02/2026 (Thứ Bảy) – 22/02/2026 (Chủ nhật): 9 ngày"),
            "{text}"
        );
        assert!(text.contains("27/04/2026"), "{text}");
        assert!(text.contains("Nghỉ bù Giỗ Tổ Hùng Vương"), "{text}");
        assert!(text.contains("Thông báo 9441/TB-BNV"), "{text}");
        assert!(text.contains("10/01/2026"), "{text}");
        assert!(!text.contains("Chưa có quyết định"), "{text}");
        let english = printed(2026, Lang::En);
        assert!(english.contains("Day off in lieu"), "{english}");
    }

    #[test]
    fn a_year_without_a_decision_says_so() {
        assert!(printed(2031, Lang::En).contains("No official decision"));
    }
}
