//! Units (bodies) and their tree (R-DIR-2), with validity dates and successors for the
//! mergers of 2025.
//!
//! A unit sits at one administrative level under a parent at the same level (a department
//! under the province's People's Committee) or a level above. A unit that was merged away
//! keeps its rows: it gets `valid_to` and a `successor`, so past sessions still resolve to
//! the body they had.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::lang::{Lang, Text};
use crate::level::{may_nest, Level};
use crate::validate::{self, Invalid};

/// Kinds of body (R-DIR-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Party committee or its office (Thành ủy, Tỉnh ủy, Huyện ủy, Đảng ủy).
    PartyOffice,
    /// People's Council (HĐND) or its office.
    PeopleCouncil,
    /// People's Committee (UBND) or its office.
    PeopleCommittee,
    /// Department or agency (Sở, ban, ngành).
    Department,
    /// Fatherland Front and mass organisations.
    FatherlandFront,
    /// Telecommunication carrier (VNPT, Viettel …).
    Carrier,
    /// Power company.
    PowerCompany,
    /// Police (security inspections of state-secret sessions).
    Police,
    /// Anything else.
    Other,
}

impl UnitKind {
    /// Every kind, in display order.
    pub const ALL: [UnitKind; 9] = [
        UnitKind::PartyOffice,
        UnitKind::PeopleCouncil,
        UnitKind::PeopleCommittee,
        UnitKind::Department,
        UnitKind::FatherlandFront,
        UnitKind::Carrier,
        UnitKind::PowerCompany,
        UnitKind::Police,
        UnitKind::Other,
    ];

    /// The code used in data files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::PartyOffice => "party_office",
            UnitKind::PeopleCouncil => "people_council",
            UnitKind::PeopleCommittee => "people_committee",
            UnitKind::Department => "department",
            UnitKind::FatherlandFront => "fatherland_front",
            UnitKind::Carrier => "carrier",
            UnitKind::PowerCompany => "power_company",
            UnitKind::Police => "police",
            UnitKind::Other => "other",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<UnitKind> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == code.trim())
    }

    /// The name shown to users.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (UnitKind::PartyOffice, Lang::Vi) => "Cơ quan Đảng",
            (UnitKind::PartyOffice, Lang::En) => "Party office",
            (UnitKind::PeopleCouncil, Lang::Vi) => "Hội đồng nhân dân",
            (UnitKind::PeopleCouncil, Lang::En) => "People's Council",
            (UnitKind::PeopleCommittee, Lang::Vi) => "Ủy ban nhân dân",
            (UnitKind::PeopleCommittee, Lang::En) => "People's Committee",
            (UnitKind::Department, Lang::Vi) => "Sở, ban, ngành",
            (UnitKind::Department, Lang::En) => "Department",
            (UnitKind::FatherlandFront, Lang::Vi) => "Mặt trận Tổ quốc",
            (UnitKind::FatherlandFront, Lang::En) => "Fatherland Front",
            (UnitKind::Carrier, Lang::Vi) => "Doanh nghiệp viễn thông",
            (UnitKind::Carrier, Lang::En) => "Carrier",
            (UnitKind::PowerCompany, Lang::Vi) => "Công ty Điện lực",
            (UnitKind::PowerCompany, Lang::En) => "Power company",
            (UnitKind::Police, Lang::Vi) => "Công an",
            (UnitKind::Police, Lang::En) => "Police",
            (UnitKind::Other, Lang::Vi) => "Khác",
            (UnitKind::Other, Lang::En) => "Other",
        }
    }
}

/// A unit as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// Database id.
    pub id: i64,
    /// Stable code, unique, e.g. `CT.UBND`.
    pub code: String,
    /// Full name, e.g. "Sở Thông tin và Truyền thông".
    pub name: String,
    /// Kind of body.
    pub kind: UnitKind,
    /// Level code.
    pub level: String,
    /// Parent unit, `None` for a root.
    pub parent_id: Option<i64>,
    /// Postal address.
    pub address: String,
    /// Switchboard phone.
    pub phone: String,
    /// Official e-mail.
    pub email: String,
    /// First day the body exists.
    pub valid_from: Date,
    /// Last day it exists, if it was dissolved or merged.
    pub valid_to: Option<Date>,
    /// The body that took over, after a merger.
    pub successor_id: Option<i64>,
}

impl Unit {
    /// Whether the body exists on `day`.
    pub fn is_active_on(&self, day: Date) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|end| day <= end)
    }
}

/// Raw fields of a unit from a form, a JSON body or a CSV row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnitForm {
    /// Stable code.
    pub code: String,
    /// Full name.
    pub name: String,
    /// Kind code (see [`UnitKind::as_str`]).
    pub kind: String,
    /// Level code.
    pub level: String,
    /// Code of the parent unit; empty for a root.
    pub parent_code: String,
    /// Postal address.
    pub address: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// `dd/mm/yyyy` or `yyyy-mm-dd`; empty means today.
    pub valid_from: String,
    /// Empty while the body exists.
    pub valid_to: String,
    /// Code of the successor after a merger.
    pub successor_code: String,
}

/// A unit's fields after validation, with references still as codes for the store to
/// resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// Stable code, upper case.
    pub code: String,
    /// Full name.
    pub name: String,
    /// Kind.
    pub kind: UnitKind,
    /// Level (known to the policy).
    pub level: Level,
    /// Parent code.
    pub parent_code: Option<String>,
    /// Address.
    pub address: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// First valid day.
    pub valid_from: Date,
    /// Last valid day.
    pub valid_to: Option<Date>,
    /// Successor's code.
    pub successor_code: Option<String>,
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_ascii_uppercase())
}

impl UnitForm {
    /// Checks every field; `levels` are the deployment's levels, `today` fills an empty
    /// `valid_from`.
    pub fn parse(&self, levels: &[Level], today: Date) -> Result<UnitSpec, Invalid> {
        let mut invalid = Invalid::default();
        let code = validate::code(&mut invalid, "code", &self.code);
        let name = validate::required_text(&mut invalid, "name", &self.name, 200);
        let kind = UnitKind::parse(&self.kind);
        if kind.is_none() {
            let known = UnitKind::ALL.map(UnitKind::as_str).join(", ");
            invalid.push(
                "kind",
                "bad_kind",
                Text::new(
                    format!("Loại cơ quan không hợp lệ; chọn một trong: {known}."),
                    format!("Unknown kind of unit; choose one of: {known}."),
                ),
            );
        }
        let level = levels.iter().find(|l| l.def.code == self.level.trim());
        if level.is_none() {
            let known = levels
                .iter()
                .map(|l| l.def.code.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            invalid.push(
                "level",
                "bad_level",
                Text::new(
                    format!("Cấp hành chính không có trong cấu hình; chọn: {known}."),
                    format!("Not a configured level; choose: {known}."),
                ),
            );
        }
        let parent_code = non_empty(&self.parent_code);
        if parent_code.as_deref() == Some(code.as_str()) {
            invalid.push(
                "parent_code",
                "self_parent",
                Text::new(
                    "Một đơn vị không thể trực thuộc chính nó.",
                    "A unit cannot be its own parent.",
                ),
            );
        }
        let address = validate::optional_text(&mut invalid, "address", &self.address, 300);
        let phone = validate::phone(&mut invalid, "phone", &self.phone);
        let email = validate::email(&mut invalid, "email", &self.email);
        let valid_from =
            validate::optional_date(&mut invalid, "valid_from", &self.valid_from).unwrap_or(today);
        let valid_to = validate::optional_date(&mut invalid, "valid_to", &self.valid_to);
        if valid_to.is_some_and(|end| end < valid_from) {
            invalid.push(
                "valid_to",
                "ends_before_start",
                Text::new(
                    "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.",
                    "The end date must not be before the start date.",
                ),
            );
        }
        let successor_code = non_empty(&self.successor_code);
        if successor_code.as_deref() == Some(code.as_str()) {
            invalid.push(
                "successor_code",
                "self_successor",
                Text::new(
                    "Một đơn vị không thể kế thừa chính nó.",
                    "A unit cannot succeed itself.",
                ),
            );
        }
        if successor_code.is_some() && valid_to.is_none() {
            invalid.push(
                "valid_to",
                "successor_needs_end",
                Text::new(
                    "Đơn vị có đơn vị kế thừa phải có ngày hết hiệu lực (ngày sáp nhập).",
                    "A unit with a successor needs an end date (the day of the merger).",
                ),
            );
        }
        invalid.finish(|| UnitSpec {
            code,
            name,
            kind: kind.unwrap_or(UnitKind::Other),
            level: level.cloned().unwrap_or_else(|| levels[0].clone()),
            parent_code,
            address,
            phone,
            email,
            valid_from,
            valid_to,
            successor_code,
        })
    }

    /// The form filled from a stored unit, for editing.
    pub fn from_unit(
        unit: &Unit,
        parent_code: Option<&str>,
        successor_code: Option<&str>,
    ) -> UnitForm {
        UnitForm {
            code: unit.code.clone(),
            name: unit.name.clone(),
            kind: unit.kind.as_str().to_string(),
            level: unit.level.clone(),
            parent_code: parent_code.unwrap_or_default().to_string(),
            address: unit.address.clone(),
            phone: unit.phone.clone(),
            email: unit.email.clone(),
            valid_from: validate::format_date(unit.valid_from),
            valid_to: unit.valid_to.map(validate::format_date).unwrap_or_default(),
            successor_code: successor_code.unwrap_or_default().to_string(),
        }
    }
}

/// What the rules need to know about the parent a unit is placed under.
#[derive(Debug, Clone)]
pub struct ParentFacts {
    /// The parent's level rank.
    pub rank: u32,
    /// The parent's last valid day.
    pub valid_to: Option<Date>,
    /// Whether the unit being edited is the parent or one of its ancestors (a cycle).
    pub is_descendant_of_child: bool,
}

/// Rules that need the tree: the parent's level is not below the child's, the parent exists
/// over the child's lifetime, no cycles.
pub fn check_placement(spec: &UnitSpec, parent: Option<&ParentFacts>) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if let Some(parent) = parent {
        if !may_nest(parent.rank, spec.level.rank) {
            invalid.push(
                "parent_code",
                "parent_below_child",
                Text::new(
                    "Đơn vị cấp trên phải cùng cấp hoặc cấp cao hơn đơn vị này (R-DIR-2).",
                    "The parent must be at the same level as this unit or above it (R-DIR-2).",
                ),
            );
        }
        if parent.is_descendant_of_child {
            invalid.push(
                "parent_code",
                "cycle",
                Text::new(
                    "Không thể đặt đơn vị dưới một đơn vị trực thuộc nó.",
                    "A unit cannot be placed under one of its own sub-units.",
                ),
            );
        }
        if let Some(parent_end) = parent.valid_to {
            if spec.valid_to.is_none_or(|end| end > parent_end) {
                invalid.push(
                    "parent_code",
                    "parent_dissolved",
                    Text::new(
                        format!(
                            "Đơn vị cấp trên hết hiệu lực từ {}; chọn đơn vị kế thừa của nó.",
                            validate::format_date(parent_end)
                        ),
                        format!(
                            "The parent ceased on {}; choose its successor.",
                            validate::format_date(parent_end)
                        ),
                    ),
                );
            }
        }
    }
    invalid.finish(|| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::LevelDef;

    fn levels() -> Vec<Level> {
        ["province", "district", "commune"]
            .iter()
            .enumerate()
            .map(|(rank, code)| Level {
                rank: rank as u32,
                def: LevelDef {
                    code: code.to_string(),
                    name_vi: code.to_string(),
                    name_en: code.to_string(),
                },
            })
            .collect()
    }

    fn today() -> Date {
        jiff::civil::date(2026, 11, 23)
    }

    fn form() -> UnitForm {
        UnitForm {
            code: "ct.ninhkieu".into(),
            name: "UBND quận Ninh Kiều".into(),
            kind: "people_committee".into(),
            level: "district".into(),
            parent_code: "CT.UBND".into(),
            ..UnitForm::default()
        }
    }

    #[test]
    fn r_dir_2_a_valid_unit_parses_with_upper_case_codes() {
        let spec = form().parse(&levels(), today()).unwrap();
        assert_eq!(spec.code, "CT.NINHKIEU");
        assert_eq!(spec.level.rank, 1);
        assert_eq!(spec.valid_from, today());
    }

    #[test]
    fn r_dir_1_a_level_not_in_the_policy_is_refused() {
        let err = UnitForm {
            level: "region".into(),
            ..form()
        }
        .parse(&levels(), today())
        .unwrap_err();
        assert_eq!(err.errors[0].code, "bad_level");
        assert!(err.errors[0]
            .message
            .en
            .contains("province, district, commune"));
    }

    #[test]
    fn r_dir_2_a_parent_below_the_child_is_refused() {
        let spec = form().parse(&levels(), today()).unwrap();
        let commune_parent = ParentFacts {
            rank: 2,
            valid_to: None,
            is_descendant_of_child: false,
        };
        assert_eq!(
            check_placement(&spec, Some(&commune_parent))
                .unwrap_err()
                .errors[0]
                .code,
            "parent_below_child"
        );
        let same_level = ParentFacts {
            rank: 1,
            valid_to: None,
            is_descendant_of_child: false,
        };
        assert!(check_placement(&spec, Some(&same_level)).is_ok());
    }

    #[test]
    fn r_dir_2_cycles_are_refused() {
        let spec = form().parse(&levels(), today()).unwrap();
        let parent = ParentFacts {
            rank: 0,
            valid_to: None,
            is_descendant_of_child: true,
        };
        assert_eq!(
            check_placement(&spec, Some(&parent)).unwrap_err().errors[0].code,
            "cycle"
        );
    }

    #[test]
    fn validity_and_succession_rules() {
        let merged = UnitForm {
            valid_from: "01/01/2004".into(),
            valid_to: "30/06/2025".into(),
            successor_code: "CT.P.NINHKIEU".into(),
            ..form()
        };
        let spec = merged.parse(&levels(), today()).unwrap();
        let unit = Unit {
            id: 1,
            code: spec.code,
            name: spec.name,
            kind: spec.kind,
            level: "district".into(),
            parent_id: None,
            address: String::new(),
            phone: String::new(),
            email: String::new(),
            valid_from: spec.valid_from,
            valid_to: spec.valid_to,
            successor_id: Some(2),
        };
        assert!(unit.is_active_on(jiff::civil::date(2025, 6, 30)));
        assert!(!unit.is_active_on(jiff::civil::date(2025, 7, 1)));

        let no_end = UnitForm {
            successor_code: "CT.X".into(),
            ..form()
        }
        .parse(&levels(), today())
        .unwrap_err();
        assert_eq!(no_end.errors[0].code, "successor_needs_end");
        let backwards = UnitForm {
            valid_from: "02/01/2025".into(),
            valid_to: "01/01/2025".into(),
            ..form()
        };
        assert_eq!(
            backwards.parse(&levels(), today()).unwrap_err().errors[0].code,
            "ends_before_start"
        );

        // A unit that outlives its dissolved parent is refused: it must move to the successor.
        let spec = form().parse(&levels(), today()).unwrap();
        let dissolved = ParentFacts {
            rank: 0,
            valid_to: Some(jiff::civil::date(2025, 6, 30)),
            is_descendant_of_child: false,
        };
        assert_eq!(
            check_placement(&spec, Some(&dissolved)).unwrap_err().errors[0].code,
            "parent_dissolved"
        );
    }
}
