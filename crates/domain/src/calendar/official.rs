//! The official changes shipped with hnth: one TOML file per decided year.
//!
//! Each file holds what the rules of the [calendar](super) do not produce by themselves:
//! the Tết days as the government placed them (`tet`), the extra days off (`off`) and the
//! weekend days worked in exchange (`working`), each with the decision it comes from. What the
//! rules already give (1/1, Hùng Kings' day, 30/4, 1/5, 2/9 and its default neighbour, the
//! compensatory days) is not repeated, and a test checks that every entry changes something
//! the rules alone would give. Later years are added by an administrator, or here when a
//! release ships them.

use serde::Deserialize;

use super::DayChange;

/// `(year, TOML text)` of every shipped table.
const TABLES: &[(i16, &str)] = &[
    (2025, include_str!("official/2025.toml")),
    (2026, include_str!("official/2026.toml")),
];

/// One year's file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(rename = "change")]
    changes: Vec<DayChange>,
}

/// The years with a shipped table.
pub(super) fn years() -> impl Iterator<Item = i16> {
    TABLES.iter().map(|(year, _)| *year)
}

/// Every shipped change, in file order; an error names the file and the problem.
pub(super) fn shipped() -> Result<Vec<DayChange>, String> {
    let mut all = Vec::new();
    for (year, text) in TABLES {
        let table: Table = toml::from_str(text)
            .map_err(|error| format!("calendar/official/{year}.toml: {error}"))?;
        if let Some(stray) = table.changes.iter().find(|c| c.date.year() != *year) {
            return Err(format!(
                "calendar/official/{year}.toml: {} is not in {year}",
                stray.date
            ));
        }
        all.extend(table.changes);
    }
    Ok(all)
}
