//! Endpoints (điểm cầu, R-DIR-3): meeting rooms and personal devices that take part in
//! sessions, each belonging to one unit; with the rules on how many a unit may have
//! (R-DIR-5) and who may hold delegated control rights (R-DIR-7).

use serde::{Deserialize, Serialize};

use crate::lang::{Lang, Text};
use crate::policy::Policy;
use crate::unit::Unit;
use crate::validate::{self, Invalid};

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $vi:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The code used in data files and the API.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $code,)+ } }
            /// Parses a code.
            pub fn parse(code: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == code.trim())
            }
            /// The name shown to users.
            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) { $(($name::$variant, Lang::Vi) => $vi, ($name::$variant, Lang::En) => $en,)+ }
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// The terminal that makes a place an endpoint (004 art. 3.4).
    TerminalKind {
        /// A room codec with camera, microphones and screens.
        RoomSystem = "room_system", "Thiết bị phòng họp", "Room system";
        /// A PC, phone or tablet of one person.
        PersonalDevice = "personal_device", "Thiết bị cá nhân", "Personal device";
    }
}

code_enum! {
    /// How an endpoint reaches the MCU.
    NetworkKind {
        /// The dedicated government network (mạng truyền số liệu chuyên dùng).
        Dedicated = "dedicated", "Mạng truyền số liệu chuyên dùng", "Dedicated network";
        /// The city/province WAN.
        Wan = "wan", "Mạng WAN", "WAN";
        /// The Internet through a VPN.
        InternetVpn = "internet_vpn", "Internet + VPN", "Internet + VPN";
    }
}

code_enum! {
    /// Whether an endpoint can be booked.
    EndpointStatus {
        /// In service.
        Active = "active", "Đang hoạt động", "Active";
        /// Temporarily out of service.
        Maintenance = "maintenance", "Đang bảo trì", "Maintenance";
        /// Permanently out of service; kept for history.
        Retired = "retired", "Ngừng sử dụng", "Retired";
    }
}

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// Database id.
    pub id: i64,
    /// Stable code, unique.
    pub code: String,
    /// The owning unit.
    pub unit_id: i64,
    /// Room (or device) name, e.g. "Phòng họp trực tuyến UBND quận Ninh Kiều".
    pub name: String,
    /// Where it is.
    pub address: String,
    /// Seats in the room (0 for a personal device).
    pub seats: u32,
    /// Terminal kind.
    pub terminal: TerminalKind,
    /// Free text: codec model, cameras, microphones, screens.
    pub equipment: String,
    /// Network.
    pub network: NetworkKind,
    /// Status.
    pub status: EndpointStatus,
    /// Holds delegated control rights over the MCU (R-DIR-7).
    pub control_right: bool,
    /// Has a control laptop (R-DIR-7).
    pub has_control_laptop: bool,
    /// A VPN token was issued (R-DIR-7).
    pub vpn_token_issued: bool,
}

/// Raw fields of an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointForm {
    /// Stable code.
    pub code: String,
    /// The owning unit's code.
    pub unit_code: String,
    /// Room name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Seats, a number.
    pub seats: String,
    /// `room_system` or `personal_device`.
    pub terminal: String,
    /// Equipment description.
    pub equipment: String,
    /// `dedicated`, `wan` or `internet_vpn`.
    pub network: String,
    /// `active`, `maintenance` or `retired`; empty is `active`.
    pub status: String,
    /// Yes/no.
    pub control_right: String,
    /// Yes/no.
    pub has_control_laptop: String,
    /// Yes/no.
    pub vpn_token_issued: String,
}

/// An endpoint's fields after validation; the unit still a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// Code.
    pub code: String,
    /// Owning unit's code.
    pub unit_code: String,
    /// Room name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Seats.
    pub seats: u32,
    /// Terminal.
    pub terminal: TerminalKind,
    /// Equipment.
    pub equipment: String,
    /// Network.
    pub network: NetworkKind,
    /// Status.
    pub status: EndpointStatus,
    /// Control right.
    pub control_right: bool,
    /// Control laptop.
    pub has_control_laptop: bool,
    /// VPN token.
    pub vpn_token_issued: bool,
}

fn choice<T: Copy>(
    invalid: &mut Invalid,
    field: &'static str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    all: &[&str],
    default: Option<T>,
) -> Option<T> {
    if value.trim().is_empty() {
        if default.is_none() {
            invalid.push(
                field,
                "required",
                Text::new("Không được để trống.", "Required."),
            );
        }
        return default;
    }
    let parsed = parse(value);
    if parsed.is_none() {
        let known = all.join(", ");
        invalid.push(
            field,
            "bad_choice",
            Text::new(
                format!("Giá trị không hợp lệ; chọn một trong: {known}."),
                format!("Not a valid choice; choose one of: {known}."),
            ),
        );
    }
    parsed
}

impl EndpointForm {
    /// Checks every field.
    pub fn parse(&self) -> Result<EndpointSpec, Invalid> {
        let mut invalid = Invalid::default();
        let code = validate::code(&mut invalid, "code", &self.code);
        let unit_code = validate::code(&mut invalid, "unit_code", &self.unit_code);
        let name = validate::required_text(&mut invalid, "name", &self.name, 200);
        let address = validate::optional_text(&mut invalid, "address", &self.address, 300);
        let seats = validate::number(&mut invalid, "seats", &self.seats, 5000, 0);
        let terminal_codes: Vec<_> = TerminalKind::ALL.iter().map(|t| t.as_str()).collect();
        let terminal = choice(
            &mut invalid,
            "terminal",
            &self.terminal,
            TerminalKind::parse,
            &terminal_codes,
            None,
        );
        let equipment = validate::optional_text(&mut invalid, "equipment", &self.equipment, 1000);
        let network_codes: Vec<_> = NetworkKind::ALL.iter().map(|t| t.as_str()).collect();
        let network = choice(
            &mut invalid,
            "network",
            &self.network,
            NetworkKind::parse,
            &network_codes,
            None,
        );
        let status_codes: Vec<_> = EndpointStatus::ALL.iter().map(|t| t.as_str()).collect();
        let status = choice(
            &mut invalid,
            "status",
            &self.status,
            EndpointStatus::parse,
            &status_codes,
            Some(EndpointStatus::Active),
        );
        let control_right = validate::flag(&mut invalid, "control_right", &self.control_right);
        let has_control_laptop =
            validate::flag(&mut invalid, "has_control_laptop", &self.has_control_laptop);
        let vpn_token_issued =
            validate::flag(&mut invalid, "vpn_token_issued", &self.vpn_token_issued);
        invalid.finish(|| EndpointSpec {
            code,
            unit_code,
            name,
            address,
            seats,
            // Both are `Some` here: `choice` pushed an error otherwise and `finish` returned it.
            terminal: terminal.unwrap_or(TerminalKind::RoomSystem),
            equipment,
            network: network.unwrap_or(NetworkKind::Dedicated),
            status: status.unwrap_or(EndpointStatus::Active),
            control_right,
            has_control_laptop,
            vpn_token_issued,
        })
    }

    /// The form filled from a stored endpoint, for editing.
    pub fn from_endpoint(endpoint: &Endpoint, unit_code: &str) -> EndpointForm {
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        EndpointForm {
            code: endpoint.code.clone(),
            unit_code: unit_code.to_string(),
            name: endpoint.name.clone(),
            address: endpoint.address.clone(),
            seats: endpoint.seats.to_string(),
            terminal: endpoint.terminal.as_str().to_string(),
            equipment: endpoint.equipment.clone(),
            network: endpoint.network.as_str().to_string(),
            status: endpoint.status.as_str().to_string(),
            control_right: flag(endpoint.control_right),
            has_control_laptop: flag(endpoint.has_control_laptop),
            vpn_token_issued: flag(endpoint.vpn_token_issued),
        }
    }
}

/// The rules that need the owning unit and the policy:
///
/// - the unit exists today (no new endpoints for a merged-away body);
/// - the unit's endpoint count stays within the policy's limit for its level (R-DIR-5);
///   `other_endpoints_in_service` counts the unit's endpoints that are not retired, not
///   counting this one;
/// - control rights only at the allowed levels, and with a control laptop and a VPN token
///   when the policy asks (R-DIR-7).
pub fn check_endpoint_rules(
    policy: &Policy,
    spec: &EndpointSpec,
    unit: &Unit,
    other_endpoints_in_service: u32,
    today: jiff::civil::Date,
) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if !unit.is_active_on(today) && spec.status != EndpointStatus::Retired {
        invalid.push(
            "unit_code",
            "unit_dissolved",
            Text::new(
                format!(
                    "Đơn vị {} đã hết hiệu lực; gắn điểm cầu cho đơn vị kế thừa.",
                    unit.name
                ),
                format!(
                    "Unit {} no longer exists; attach the endpoint to its successor.",
                    unit.name
                ),
            ),
        );
    }
    if spec.status != EndpointStatus::Retired {
        if let Some(limit) = policy.endpoint_limit(&unit.level, unit.kind) {
            if other_endpoints_in_service + 1 > limit.max {
                invalid.push(
                    "unit_code",
                    "endpoint_limit_exceeded",
                    Text::new(
                        format!(
                            "Đơn vị đã có {other_endpoints_in_service} điểm cầu; mỗi đơn vị cấp này được tối đa {} điểm cầu ({}). Muốn thêm cần có văn bản đề nghị được phê duyệt, hoặc chuyển một điểm cầu sang ngừng sử dụng.",
                            limit.max, policy.endpoint_limits.source
                        ),
                        format!(
                            "The unit already has {other_endpoints_in_service} endpoints; a unit of this level may have at most {} ({}). More need an approved request, or retire an endpoint first.",
                            limit.max, policy.endpoint_limits.source
                        ),
                    ),
                );
            }
        }
    }
    if spec.control_right {
        if !policy.control_allowed_at(&unit.level) {
            invalid.push(
                "control_right",
                "control_level_not_allowed",
                Text::new(
                    format!(
                        "Chỉ điểm cầu của các cấp được phép mới được phân quyền điều khiển ({}).",
                        policy.control_levels.source
                    ),
                    format!(
                        "Only endpoints of the permitted levels may hold control rights ({}).",
                        policy.control_levels.source
                    ),
                ),
            );
        }
        if policy.control_requires_laptop_and_vpn.value
            && !(spec.has_control_laptop && spec.vpn_token_issued)
        {
            invalid.push(
                "control_right",
                "control_needs_laptop_and_vpn",
                Text::new(
                    format!(
                        "Quyền điều khiển cần máy tính điều khiển và token VPN đã cấp ({}).",
                        policy.control_requires_laptop_and_vpn.source
                    ),
                    format!(
                        "Control rights need a control laptop and an issued VPN token ({}).",
                        policy.control_requires_laptop_and_vpn.source
                    ),
                ),
            );
        }
    }
    invalid.finish(|| ())
}
