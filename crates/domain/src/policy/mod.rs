//! Policy profiles: each province's rules as data.
//!
//! A [`Policy`] is built in three layers, each a TOML table of the same keys:
//!
//! 1. `profiles/defaults.toml` — a value for every rule, used when a seed is silent;
//! 2. one profile file (`quang-binh`, `thanh-hoa`, `can-tho`, `thua-thien-hue`, `ha-noi`),
//!    shipped in the binary, that replaces the keys its seed regulation sets;
//! 3. the deployment's overrides from its configuration file.
//!
//! Every value remembers where it came from ([`Sourced`]): the seed article, the default's
//! reasoning, or the configuration. The admin page shows exactly that, so an operator can
//! answer "why 2 working days?" by pointing at an article.
//!
//! Invariants, checked by [`Policy::load`]: every key of a profile or override exists in the
//! defaults (a typo is an error, not a silently ignored rule); levels are non-empty with
//! unique codes; every level named elsewhere (control levels, endpoint limits) is defined.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::level::LevelDef;
use crate::unit::UnitKind;

const DEFAULTS: &str = include_str!("profiles/defaults.toml");

/// The profiles shipped inside the binary: `(id, TOML text)`.
const PROFILES: &[(&str, &str)] = &[
    ("quang-binh", include_str!("profiles/quang-binh.toml")),
    ("thanh-hoa", include_str!("profiles/thanh-hoa.toml")),
    ("can-tho", include_str!("profiles/can-tho.toml")),
    (
        "thua-thien-hue",
        include_str!("profiles/thua-thien-hue.toml"),
    ),
    ("ha-noi", include_str!("profiles/ha-noi.toml")),
];

/// The ids of the profiles shipped with hnth, in the order of the seeds.
pub fn profile_ids() -> impl Iterator<Item = &'static str> {
    PROFILES.iter().map(|(id, _)| *id)
}

/// Where a policy value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `defaults.toml`: no seed sets this rule.
    Default,
    /// The selected profile, from its seed regulation.
    Seed,
    /// The deployment's configuration file.
    Config,
}

impl Origin {
    /// The label shown on the policy page.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Origin::Default, Lang::Vi) => "Mặc định",
            (Origin::Default, Lang::En) => "Default",
            (Origin::Seed, Lang::Vi) => "Văn bản quy định",
            (Origin::Seed, Lang::En) => "Regulation",
            (Origin::Config, Lang::Vi) => "Cấu hình triển khai",
            (Origin::Config, Lang::En) => "Deployment config",
        }
    }
}

/// A policy value with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sourced<T> {
    /// The value in force.
    pub value: T,
    /// The article or reasoning it comes from, e.g. `"HN art. 11.3"`.
    pub source: String,
    /// Which layer set it.
    pub origin: Origin,
}

/// A span of time counted either in working days or on the clock.
///
/// Written in TOML as `{ working_days = 2 }`, `{ hours = 24 }` or `{ minutes = 30 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LeadTime {
    /// Whole working days (Mon–Fri except public holidays).
    WorkingDays(u32),
    /// Calendar days.
    Days(u32),
    /// Clock hours.
    Hours(u32),
    /// Clock minutes.
    Minutes(u32),
}

impl LeadTime {
    /// Human text, e.g. "2 ngày làm việc" / "2 working days".
    pub fn describe(self, lang: Lang) -> String {
        match (self, lang) {
            (LeadTime::WorkingDays(n), Lang::Vi) => format!("{n} ngày làm việc"),
            (LeadTime::WorkingDays(1), Lang::En) => "1 working day".to_string(),
            (LeadTime::WorkingDays(n), Lang::En) => format!("{n} working days"),
            (LeadTime::Days(n), Lang::Vi) => format!("{n} ngày"),
            (LeadTime::Days(1), Lang::En) => "1 day".to_string(),
            (LeadTime::Days(n), Lang::En) => format!("{n} days"),
            (LeadTime::Hours(n), Lang::Vi) => format!("{n} giờ"),
            (LeadTime::Hours(1), Lang::En) => "1 hour".to_string(),
            (LeadTime::Hours(n), Lang::En) => format!("{n} hours"),
            (LeadTime::Minutes(n), Lang::Vi) => format!("{n} phút"),
            (LeadTime::Minutes(n), Lang::En) => format!("{n} minutes"),
        }
    }
}

/// Which bodies' sessions an approver rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ConvenerMatch {
    /// `"*"`: every convening body not matched by an earlier rule.
    Any,
    /// Bodies of this kind.
    Kind(UnitKind),
}

impl TryFrom<String> for ConvenerMatch {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text == "*" {
            return Ok(ConvenerMatch::Any);
        }
        UnitKind::parse(&text)
            .map(ConvenerMatch::Kind)
            .ok_or_else(|| format!("unknown unit kind `{text}`"))
    }
}

impl From<ConvenerMatch> for String {
    fn from(m: ConvenerMatch) -> String {
        match m {
            ConvenerMatch::Any => "*".to_string(),
            ConvenerMatch::Kind(kind) => kind.as_str().to_string(),
        }
    }
}

/// Who approves a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ApproverRef {
    /// The operating unit of the system (Sở TT&TT / Sở KH&CN, VP UBND …).
    OperatingUnit,
    /// The office of the nearest body of this kind at the convener's level.
    Kind(UnitKind),
}

impl TryFrom<String> for ApproverRef {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text == "operating_unit" {
            return Ok(ApproverRef::OperatingUnit);
        }
        UnitKind::parse(&text)
            .map(ApproverRef::Kind)
            .ok_or_else(|| format!("unknown approver `{text}`"))
    }
}

impl From<ApproverRef> for String {
    fn from(a: ApproverRef) -> String {
        match a {
            ApproverRef::OperatingUnit => "operating_unit".to_string(),
            ApproverRef::Kind(kind) => kind.as_str().to_string(),
        }
    }
}

/// One line of the approval routing table (R-REG-4); the first match wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproverRule {
    /// The convening bodies this line covers.
    pub convener: ConvenerMatch,
    /// Who approves their registrations.
    pub approver: ApproverRef,
}

/// The most endpoints a unit of one level may have (R-DIR-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointLimit {
    /// Level code the limit applies to.
    pub level: String,
    /// The most active or maintained (not retired) endpoints per unit.
    pub max: u32,
    /// Kinds of unit at that level that have no limit (HN art. 7: the HQs of Thành ủy,
    /// HĐND and UBND).
    #[serde(default)]
    pub unlimited_kinds: Vec<UnitKind>,
}

/// A reporting period (R-POST-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportPeriod {
    /// The period's kind.
    pub period: PeriodKind,
    /// When units must hand in their part, as `"MM-DD"` (TH: `"12-10"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units_due: Option<String>,
}

/// Kinds of reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// Every three months.
    Quarter,
    /// Every six months.
    HalfYear,
    /// Every year.
    Year,
    /// When asked.
    OnDemand,
}

/// How much the MCU (media server) carries at once (R-REG-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McuCapacity {
    /// Concurrent sessions.
    pub sessions: u32,
    /// Concurrent endpoints over all sessions.
    pub endpoints: u32,
}

/// The rules in force for one deployment. See the module docs for how it is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Administrative levels, top first (R-DIR-1).
    pub levels: Sourced<Vec<LevelDef>>,
    /// Registration lead time for normal sessions (R-REG-2).
    pub lead_time_normal: Sourced<LeadTime>,
    /// Registration lead time for emergencies (R-REG-2).
    pub lead_time_emergency: Sourced<LeadTime>,
    /// Lead time for extra needs such as recording or slides (R-REG-2, CT).
    pub lead_time_extra_needs: Sourced<LeadTime>,
    /// How fast the operating unit answers a registration (R-REG-4).
    pub registration_answer_within: Sourced<LeadTime>,
    /// Rehearsals, as offsets before the official start (R-PREP-1).
    pub rehearsals: Sourced<Vec<LeadTime>>,
    /// The system is ready this long before the start (R-PREP-1).
    pub ready_before: Sourced<LeadTime>,
    /// Whole-system connection complete before a session convened centrally (R-REG-10).
    pub central_connection_complete_before: Sourced<LeadTime>,
    /// Participants in place before the start (R-PREP-6).
    pub participants_in_place_before: Sourced<LeadTime>,
    /// Carriers and the power company notified this long before (R-REG-8).
    pub carrier_notice_before: Sourced<LeadTime>,
    /// Documents reach the endpoints this long before (R-REG-9).
    pub documents_before: Sourced<LeadTime>,
    /// Documents of periodic meetings go out this long before (Decision 45/2018 art. 10).
    pub periodic_documents_before: Sourced<LeadTime>,
    /// A requested endpoint is connected to the host within this many seconds (R-LIVE-1).
    pub connect_to_host_within_seconds: Sourced<u32>,
    /// Recordings are handed to the host unit within this time (R-POST-3).
    pub recording_handover_within: Sourced<LeadTime>,
    /// Approval routing by convening body (R-REG-4).
    pub approvers: Sourced<Vec<ApproverRule>>,
    /// Endpoint-count limits per unit level (R-DIR-5).
    pub endpoint_limits: Sourced<Vec<EndpointLimit>>,
    /// Levels whose endpoints may hold delegated control rights (R-DIR-7).
    pub control_levels: Sourced<Vec<String>>,
    /// Control rights also need a control laptop and an issued VPN token (R-DIR-7).
    pub control_requires_laptop_and_vpn: Sourced<bool>,
    /// Reporting periods (R-POST-4).
    pub report_periods: Sourced<Vec<ReportPeriod>>,
    /// MCU capacity (R-REG-3).
    pub mcu_capacity: Sourced<McuCapacity>,
    /// Grades of the automatic link test of a readiness check (R-PREP-2).
    pub link_thresholds: Sourced<LinkThresholds>,
}

/// Limits of one link measure: `warn` starts "degraded", `fail` starts "poor".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// From here on the measure is degraded.
    pub warn: f64,
    /// From here on the measure is poor: the endpoint fails its link test.
    pub fail: f64,
}

/// Thresholds against which the media server's link samples are graded (R-PREP-2). For
/// round-trip time, loss and jitter higher is worse; for the bitrate lower is worse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkThresholds {
    /// Round-trip time, milliseconds.
    pub rtt_ms: Limit,
    /// Packet loss, percent, the worse direction.
    pub loss_percent: Limit,
    /// Interarrival jitter, milliseconds.
    pub jitter_ms: Limit,
    /// Bitrate from the endpoint, kbit/s: below `warn` degraded, below `fail` poor.
    pub min_bitrate_kbps: Limit,
}

/// Identity of the profile a policy was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInfo {
    /// Profile id, e.g. `can-tho`.
    pub id: String,
    /// Vietnamese name of the issuing province.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// The regulation the profile is taken from.
    pub document: String,
    /// The seed file in `shared/seeds/`.
    pub seed_file: String,
}

/// A policy together with the profile it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedPolicy {
    /// Which profile.
    pub profile: ProfileInfo,
    /// The rules in force.
    pub policy: Policy,
}

/// Why a policy could not be built. These are configuration mistakes: they stop the start.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    /// The configured profile id is not shipped.
    #[error("unknown policy profile `{0}`; known profiles: {known}", known = profile_ids().collect::<Vec<_>>().join(", "))]
    UnknownProfile(String),
    /// A profile or override names a rule that does not exist.
    #[error("{layer}: unknown policy key `{key}`")]
    UnknownKey {
        /// `profile <id>` or `config`.
        layer: String,
        /// The offending key.
        key: String,
    },
    /// A file is not valid TOML or a value has the wrong shape.
    #[error("{layer}: {message}")]
    Malformed {
        /// `profile <id>`, `defaults` or `config`.
        layer: String,
        /// What the parser said.
        message: String,
    },
    /// Values are individually fine but contradict each other.
    #[error("policy is inconsistent: {0}")]
    Inconsistent(String),
}

impl LoadedPolicy {
    /// Builds the policy of `profile_id` with the deployment's `overrides` (bare values keyed
    /// like the defaults, e.g. `lead_time_normal = { hours = 24 }`).
    pub fn load(profile_id: &str, overrides: &toml::Table) -> Result<LoadedPolicy, PolicyError> {
        let profile_text = PROFILES
            .iter()
            .find(|(id, _)| *id == profile_id)
            .map(|(_, text)| *text)
            .ok_or_else(|| PolicyError::UnknownProfile(profile_id.to_string()))?;
        let mut merged = parse_layer("defaults", DEFAULTS)?;
        for (_, entry) in merged.iter_mut() {
            set_origin(entry, Origin::Default);
        }
        let profile_layer = format!("profile {profile_id}");
        let mut profile_table = parse_layer(&profile_layer, profile_text)?;
        let info = profile_table
            .remove("profile")
            .ok_or_else(|| PolicyError::Malformed {
                layer: profile_layer.clone(),
                message: "missing [profile] table".into(),
            })?;
        let profile: ProfileInfo =
            info.try_into()
                .map_err(|e: toml::de::Error| PolicyError::Malformed {
                    layer: profile_layer.clone(),
                    message: e.to_string(),
                })?;
        for (key, mut entry) in profile_table {
            if !merged.contains_key(&key) {
                return Err(PolicyError::UnknownKey {
                    layer: profile_layer,
                    key,
                });
            }
            set_origin(&mut entry, Origin::Seed);
            merged.insert(key, entry);
        }
        for (key, value) in overrides {
            if !merged.contains_key(key) {
                return Err(PolicyError::UnknownKey {
                    layer: "config".into(),
                    key: key.clone(),
                });
            }
            let mut entry = toml::Table::new();
            entry.insert("value".into(), value.clone());
            entry.insert("source".into(), "configuration file".into());
            entry.insert("origin".into(), "config".into());
            merged.insert(key.clone(), toml::Value::Table(entry));
        }
        let mut policy: Policy =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| PolicyError::Malformed {
                    layer: profile_layer_or_config(overrides, profile_id),
                    message: e.to_string(),
                })?;
        // The default control level is "the top local level", whatever the levels are called:
        // the central level's endpoints are run by the central operator, not this deployment.
        if policy.control_levels.origin == Origin::Default {
            let levels = &policy.levels.value;
            if let Some(top) = levels
                .iter()
                .find(|l| l.code != "central")
                .or(levels.first())
            {
                policy.control_levels.value = vec![top.code.clone()];
            }
        }
        policy.check_consistency()?;
        Ok(LoadedPolicy { profile, policy })
    }
}

fn profile_layer_or_config(overrides: &toml::Table, profile_id: &str) -> String {
    if overrides.is_empty() {
        format!("profile {profile_id}")
    } else {
        format!("profile {profile_id} with config overrides")
    }
}

fn parse_layer(layer: &str, text: &str) -> Result<toml::Table, PolicyError> {
    text.parse::<toml::Table>()
        .map_err(|e| PolicyError::Malformed {
            layer: layer.to_string(),
            message: e.to_string(),
        })
}

fn set_origin(entry: &mut toml::Value, origin: Origin) {
    if let toml::Value::Table(table) = entry {
        let name = match origin {
            Origin::Default => "default",
            Origin::Seed => "seed",
            Origin::Config => "config",
        };
        table.insert("origin".into(), name.into());
    }
}

impl Policy {
    fn check_consistency(&self) -> Result<(), PolicyError> {
        let levels = &self.levels.value;
        if levels.is_empty() {
            return Err(PolicyError::Inconsistent(
                "at least one administrative level is needed".into(),
            ));
        }
        let mut codes = BTreeSet::new();
        for level in levels {
            if !codes.insert(level.code.as_str()) {
                return Err(PolicyError::Inconsistent(format!(
                    "level `{}` is defined twice",
                    level.code
                )));
            }
        }
        let named = self
            .control_levels
            .value
            .iter()
            .map(|code| ("control_levels", code))
            .chain(
                self.endpoint_limits
                    .value
                    .iter()
                    .map(|limit| ("endpoint_limits", &limit.level)),
            );
        for (key, code) in named {
            if !codes.contains(code.as_str()) {
                return Err(PolicyError::Inconsistent(format!(
                    "{key} names level `{code}`, which is not among the levels ({})",
                    codes.iter().copied().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The limit on endpoints for a unit of `level` and `kind`, if any (R-DIR-5).
    pub fn endpoint_limit(&self, level: &str, kind: UnitKind) -> Option<&EndpointLimit> {
        self.endpoint_limits
            .value
            .iter()
            .find(|limit| limit.level == level && !limit.unlimited_kinds.contains(&kind))
    }

    /// Whether endpoints of units at `level` may hold delegated control rights (R-DIR-7).
    pub fn control_allowed_at(&self, level: &str) -> bool {
        self.control_levels.value.iter().any(|code| code == level)
    }

    /// Every rule as a row for the policy page: key, value in words, source, origin.
    pub fn entries(&self, lang: Lang) -> Vec<PolicyEntry> {
        let mut rows = Vec::new();
        let mut push = |key: &'static str, value: String, source: &str, origin: Origin| {
            rows.push(PolicyEntry {
                key,
                value,
                source: source.to_string(),
                origin,
            });
        };
        macro_rules! lead {
            ($field:ident) => {
                push(
                    stringify!($field),
                    self.$field.value.describe(lang),
                    &self.$field.source,
                    self.$field.origin,
                )
            };
        }
        let level_names = |codes: &[String]| {
            codes
                .iter()
                .map(|code| {
                    self.levels
                        .value
                        .iter()
                        .find(|l| &l.code == code)
                        .map_or(code.clone(), |l| l.name(lang).to_string())
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        push(
            "levels",
            self.levels
                .value
                .iter()
                .map(|l| l.name(lang))
                .collect::<Vec<_>>()
                .join(" → "),
            &self.levels.source,
            self.levels.origin,
        );
        lead!(lead_time_normal);
        lead!(lead_time_emergency);
        lead!(lead_time_extra_needs);
        lead!(registration_answer_within);
        push(
            "rehearsals",
            self.rehearsals
                .value
                .iter()
                .map(|t| t.describe(lang))
                .collect::<Vec<_>>()
                .join("; "),
            &self.rehearsals.source,
            self.rehearsals.origin,
        );
        lead!(ready_before);
        lead!(central_connection_complete_before);
        lead!(participants_in_place_before);
        lead!(carrier_notice_before);
        lead!(documents_before);
        lead!(periodic_documents_before);
        push(
            "connect_to_host_within_seconds",
            format!("{} s", self.connect_to_host_within_seconds.value),
            &self.connect_to_host_within_seconds.source,
            self.connect_to_host_within_seconds.origin,
        );
        lead!(recording_handover_within);
        push(
            "approvers",
            self.approvers
                .value
                .iter()
                .map(|rule| {
                    let convener = match rule.convener {
                        ConvenerMatch::Any => match lang {
                            Lang::Vi => "Các cơ quan khác".to_string(),
                            Lang::En => "Any other body".to_string(),
                        },
                        ConvenerMatch::Kind(kind) => kind.label(lang).to_string(),
                    };
                    let approver = match rule.approver {
                        ApproverRef::OperatingUnit => match lang {
                            Lang::Vi => "Đơn vị quản lý, vận hành".to_string(),
                            Lang::En => "Operating unit".to_string(),
                        },
                        ApproverRef::Kind(kind) => kind.label(lang).to_string(),
                    };
                    format!("{convener} → {approver}")
                })
                .collect::<Vec<_>>()
                .join("; "),
            &self.approvers.source,
            self.approvers.origin,
        );
        push(
            "endpoint_limits",
            if self.endpoint_limits.value.is_empty() {
                match lang {
                    Lang::Vi => "Không giới hạn".to_string(),
                    Lang::En => "No limit".to_string(),
                }
            } else {
                self.endpoint_limits
                    .value
                    .iter()
                    .map(|limit| {
                        let mut text = format!(
                            "{}: ≤ {}",
                            level_names(std::slice::from_ref(&limit.level)),
                            limit.max
                        );
                        if !limit.unlimited_kinds.is_empty() {
                            let kinds = limit
                                .unlimited_kinds
                                .iter()
                                .map(|k| k.label(lang))
                                .collect::<Vec<_>>()
                                .join(", ");
                            text.push_str(&match lang {
                                Lang::Vi => format!(" (trừ {kinds}: không giới hạn)"),
                                Lang::En => format!(" (except {kinds}: unlimited)"),
                            });
                        }
                        text
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            &self.endpoint_limits.source,
            self.endpoint_limits.origin,
        );
        push(
            "control_levels",
            level_names(&self.control_levels.value),
            &self.control_levels.source,
            self.control_levels.origin,
        );
        push(
            "control_requires_laptop_and_vpn",
            yes_no(self.control_requires_laptop_and_vpn.value, lang).to_string(),
            &self.control_requires_laptop_and_vpn.source,
            self.control_requires_laptop_and_vpn.origin,
        );
        push(
            "report_periods",
            self.report_periods
                .value
                .iter()
                .map(|p| {
                    let name = p.period.label(lang);
                    match &p.units_due {
                        Some(due) => match lang {
                            Lang::Vi => format!("{name} (đơn vị nộp trước {})", day_month(due)),
                            Lang::En => format!("{name} (units report by {})", day_month(due)),
                        },
                        None => name.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            &self.report_periods.source,
            self.report_periods.origin,
        );
        push(
            "mcu_capacity",
            match lang {
                Lang::Vi => format!(
                    "{} phiên đồng thời, {} điểm cầu",
                    self.mcu_capacity.value.sessions, self.mcu_capacity.value.endpoints
                ),
                Lang::En => format!(
                    "{} concurrent sessions, {} endpoints",
                    self.mcu_capacity.value.sessions, self.mcu_capacity.value.endpoints
                ),
            },
            &self.mcu_capacity.source,
            self.mcu_capacity.origin,
        );
        let t = self.link_thresholds.value;
        push(
            "link_thresholds",
            match lang {
                Lang::Vi => format!(
                    "RTT ≤ {} / {} ms; mất gói ≤ {} / {} %; jitter ≤ {} / {} ms; tốc độ ≥ {} / {} kbit/s (mức suy giảm / mức không đạt)",
                    t.rtt_ms.warn, t.rtt_ms.fail, t.loss_percent.warn, t.loss_percent.fail,
                    t.jitter_ms.warn, t.jitter_ms.fail, t.min_bitrate_kbps.warn, t.min_bitrate_kbps.fail
                ),
                Lang::En => format!(
                    "RTT ≤ {} / {} ms; loss ≤ {} / {} %; jitter ≤ {} / {} ms; bitrate ≥ {} / {} kbit/s (degraded / failing)",
                    t.rtt_ms.warn, t.rtt_ms.fail, t.loss_percent.warn, t.loss_percent.fail,
                    t.jitter_ms.warn, t.jitter_ms.fail, t.min_bitrate_kbps.warn, t.min_bitrate_kbps.fail
                ),
            },
            &self.link_thresholds.source,
            self.link_thresholds.origin,
        );
        rows
    }
}

fn yes_no(value: bool, lang: Lang) -> &'static str {
    match (value, lang) {
        (true, Lang::Vi) => "Có",
        (false, Lang::Vi) => "Không",
        (true, Lang::En) => "Yes",
        (false, Lang::En) => "No",
    }
}

/// `"12-10"` (MM-DD) shown as `10/12`.
fn day_month(month_day: &str) -> String {
    match month_day.split_once('-') {
        Some((month, day)) => format!("{day}/{month}"),
        None => month_day.to_string(),
    }
}

impl PeriodKind {
    /// Name of the period.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (PeriodKind::Quarter, Lang::Vi) => "Hằng quý",
            (PeriodKind::Quarter, Lang::En) => "Quarterly",
            (PeriodKind::HalfYear, Lang::Vi) => "6 tháng",
            (PeriodKind::HalfYear, Lang::En) => "Half-yearly",
            (PeriodKind::Year, Lang::Vi) => "Hằng năm",
            (PeriodKind::Year, Lang::En) => "Yearly",
            (PeriodKind::OnDemand, Lang::Vi) => "Đột xuất",
            (PeriodKind::OnDemand, Lang::En) => "On demand",
        }
    }
}

/// One row of the policy page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    /// The key, as written in profiles and configuration.
    pub key: &'static str,
    /// The value in words in the reader's language.
    pub value: String,
    /// The article or reasoning.
    pub source: String,
    /// Which layer set it.
    pub origin: Origin,
}

impl fmt::Display for LeadTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Lang::En))
    }
}

#[cfg(test)]
mod tests;
