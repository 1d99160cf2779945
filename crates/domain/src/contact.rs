//! Focal contacts (cán bộ đầu mối, R-DIR-4) and on-duty contacts (R-DIR-8).
//!
//! Each unit names one leader and one main technician, any number of support technicians
//! and of on-duty (24/7) contacts. Replacing a person never deletes: the old row is closed
//! (`valid_to`) and points at its replacement, so the history of who was responsible when is
//! kept (CT art. 11.3, TH art. 16.3, HN art. 19.3).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::lang::{Lang, Text};
use crate::validate::{self, Invalid};

/// What a contact is responsible for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// The leader in charge (lãnh đạo phụ trách); one per unit.
    Leader,
    /// The main technician (cán bộ kỹ thuật chính); one per unit.
    MainTechnician,
    /// A support technician (cán bộ kỹ thuật hỗ trợ); any number.
    SupportTechnician,
    /// A 24/7 on-duty contact (trực); any number (R-DIR-8).
    OnDuty,
}

impl ContactRole {
    /// Every role, in display order.
    pub const ALL: [ContactRole; 4] = [
        ContactRole::Leader,
        ContactRole::MainTechnician,
        ContactRole::SupportTechnician,
        ContactRole::OnDuty,
    ];

    /// The code used in data files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::Leader => "leader",
            ContactRole::MainTechnician => "main_technician",
            ContactRole::SupportTechnician => "support_technician",
            ContactRole::OnDuty => "on_duty",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<ContactRole> {
        ContactRole::ALL
            .into_iter()
            .find(|r| r.as_str() == code.trim())
    }

    /// Whether a unit has at most one current holder: assigning a new one replaces the old.
    pub fn is_single_holder(self) -> bool {
        matches!(self, ContactRole::Leader | ContactRole::MainTechnician)
    }

    /// The name shown to users.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ContactRole::Leader, Lang::Vi) => "Lãnh đạo phụ trách",
            (ContactRole::Leader, Lang::En) => "Leader in charge",
            (ContactRole::MainTechnician, Lang::Vi) => "Cán bộ kỹ thuật chính",
            (ContactRole::MainTechnician, Lang::En) => "Main technician",
            (ContactRole::SupportTechnician, Lang::Vi) => "Cán bộ kỹ thuật hỗ trợ",
            (ContactRole::SupportTechnician, Lang::En) => "Support technician",
            (ContactRole::OnDuty, Lang::Vi) => "Trực 24/7",
            (ContactRole::OnDuty, Lang::En) => "On duty 24/7",
        }
    }
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// Database id.
    pub id: i64,
    /// The unit.
    pub unit_id: i64,
    /// Responsibility.
    pub role: ContactRole,
    /// Full name.
    pub full_name: String,
    /// Position (chức vụ).
    pub position: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// First day in charge.
    pub valid_from: Date,
    /// Last day in charge, once replaced or removed.
    pub valid_to: Option<Date>,
    /// Who replaced this person.
    pub replaced_by: Option<i64>,
}

impl Contact {
    /// Whether the person is in charge now.
    pub fn is_current(&self) -> bool {
        self.valid_to.is_none()
    }
}

/// Raw fields of a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    /// The unit's code.
    pub unit_code: String,
    /// Role code.
    pub role: String,
    /// Full name.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
}

/// A contact's fields after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSpec {
    /// Unit code.
    pub unit_code: String,
    /// Role.
    pub role: ContactRole,
    /// Full name.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
}

impl ContactForm {
    /// Checks every field. A contact must be reachable: technicians and on-duty contacts
    /// need a phone (they are called when something breaks), everyone needs a phone or an
    /// e-mail.
    pub fn parse(&self) -> Result<ContactSpec, Invalid> {
        let mut invalid = Invalid::default();
        let unit_code = validate::code(&mut invalid, "unit_code", &self.unit_code);
        let role = ContactRole::parse(&self.role);
        if role.is_none() {
            let known = ContactRole::ALL.map(ContactRole::as_str).join(", ");
            invalid.push(
                "role",
                "bad_role",
                Text::new(
                    format!("Vai trò không hợp lệ; chọn một trong: {known}."),
                    format!("Unknown role; choose one of: {known}."),
                ),
            );
        }
        let full_name = validate::required_text(&mut invalid, "full_name", &self.full_name, 120);
        let position = validate::optional_text(&mut invalid, "position", &self.position, 120);
        let email = validate::email(&mut invalid, "email", &self.email);
        let phone = validate::phone(&mut invalid, "phone", &self.phone);
        if phone.is_empty() && role.is_some_and(|r| r != ContactRole::Leader) {
            invalid.push(
                "phone",
                "phone_required",
                Text::new(
                    "Cán bộ kỹ thuật và cán bộ trực phải có số điện thoại để liên hệ khi có sự cố.",
                    "Technicians and on-duty contacts need a phone number, to be reached when something breaks.",
                ),
            );
        } else if phone.is_empty() && email.is_empty() {
            invalid.push(
                "phone",
                "unreachable",
                Text::new(
                    "Cần ít nhất số điện thoại hoặc thư điện tử.",
                    "A phone number or an e-mail address is needed.",
                ),
            );
        }
        invalid.finish(|| ContactSpec {
            unit_code,
            // `role` is `Some` here: `finish` returned the error otherwise.
            role: role.unwrap_or(ContactRole::SupportTechnician),
            full_name,
            position,
            email,
            phone,
        })
    }

    /// The form filled from a stored contact.
    pub fn from_contact(contact: &Contact, unit_code: &str) -> ContactForm {
        ContactForm {
            unit_code: unit_code.to_string(),
            role: contact.role.as_str().to_string(),
            full_name: contact.full_name.clone(),
            position: contact.position.clone(),
            email: contact.email.clone(),
            phone: contact.phone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_dir_4_technicians_need_a_phone() {
        let form = ContactForm {
            unit_code: "CT.STTTT".into(),
            role: "main_technician".into(),
            full_name: "Trần Văn Bình".into(),
            email: "binh@cantho.gov.vn".into(),
            ..ContactForm::default()
        };
        assert_eq!(form.parse().unwrap_err().errors[0].code, "phone_required");
        let leader = ContactForm {
            role: "leader".into(),
            ..form.clone()
        };
        assert!(leader.parse().is_ok());
        let nobody = ContactForm {
            role: "leader".into(),
            email: String::new(),
            ..form
        };
        assert_eq!(nobody.parse().unwrap_err().errors[0].code, "unreachable");
    }

    #[test]
    fn r_dir_4_only_leader_and_main_technician_are_single_holders() {
        let singles: Vec<_> = ContactRole::ALL
            .into_iter()
            .filter(|r| r.is_single_holder())
            .collect();
        assert_eq!(singles, [ContactRole::Leader, ContactRole::MainTechnician]);
    }
}
