//! Demo data for `hnth serve --demo`: a city shaped like the Cần Thơ seed (city level,
//! 9 districts, 85 communes), each body with a meeting-room endpoint and its focal contacts
//! (Appendix II: a leader, a main and a support technician; on-duty staff for districts and
//! carriers), plus one account per role.
//!
//! Loading is idempotent: everything is matched by code or username, so a second run adds
//! nothing. People's names are generated deterministically from the name lists of the data
//! file, so every run and every machine shows the same demo.

use anyhow::{Context, Result};
use hnth_domain::contact::ContactForm;
use hnth_domain::endpoint::EndpointForm;
use hnth_domain::lang::Lang;
use hnth_domain::policy::Policy;
use hnth_domain::role::Role;
use hnth_domain::unit::UnitForm;
use hnth_store::accounts::NewUser;
use hnth_store::directory::ContactFilter;
use hnth_store::{Actor, Page, Store};
use serde::Deserialize;

const DATA: &str = include_str!("demo/can_tho.toml");

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "hnth-demo";

#[derive(Deserialize)]
struct DemoFile {
    units: Vec<DemoUnit>,
    districts: Vec<DemoDistrict>,
    names: Names,
}

#[derive(Deserialize)]
struct DemoUnit {
    code: String,
    name: String,
    kind: String,
    parent: String,
    address: String,
    phone: String,
    email: String,
    room: String,
    seats: u32,
}

#[derive(Deserialize)]
struct DemoDistrict {
    code: String,
    name: String,
    address: String,
    phone: String,
    email: String,
    room: String,
    seats: u32,
    communes: Vec<DemoCommune>,
}

#[derive(Deserialize)]
struct DemoCommune {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct Names {
    family: Vec<String>,
    middle_male: Vec<String>,
    middle_female: Vec<String>,
    given_male: Vec<String>,
    given_female: Vec<String>,
    leader_positions: Vec<String>,
    technician_positions: Vec<String>,
}

impl Names {
    /// A person for `seed`: a stable pseudo-random pick from the lists.
    fn person(&self, seed: u64) -> String {
        let mix = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ n;
        let pick = |list: &[String], salt: u64| {
            list[(mix(seed.wrapping_add(salt)) % list.len() as u64) as usize].clone()
        };
        let female = mix(seed) % 2 == 0;
        let (middle, given) = if female {
            (&self.middle_female, &self.given_female)
        } else {
            (&self.middle_male, &self.given_male)
        };
        format!(
            "{} {} {}",
            pick(&self.family, 1),
            pick(middle, 2),
            pick(given, 3)
        )
    }
}

/// One account per role, with where its grant sits.
const ACCOUNTS: &[(&str, &str, Role, &[&str])] = &[
    ("admin", "Quản trị hệ thống", Role::SystemAdmin, &["*"]),
    ("vanhanh", "Quản trị Sở TT&TT", Role::OperatingAdmin, &["*"]),
    (
        "pheduyet",
        "Lãnh đạo phê duyệt",
        Role::Approver,
        &["CT.UBND"],
    ),
    (
        "thuky",
        "Thư ký Văn phòng UBND",
        Role::HostSecretary,
        &["CT.VPUBND"],
    ),
    ("mcu", "Cán bộ điều khiển MCU", Role::McuOperator, &["*"]),
    (
        "diemcau",
        "Cán bộ kỹ thuật quận Ninh Kiều",
        Role::EndpointOperator,
        &["CT.NINHKIEU"],
    ),
    ("vnpt", "Trực kỹ thuật VNPT", Role::Liaison, &["CT.VNPT"]),
    ("kiemtra", "Kiểm tra, giám sát", Role::Auditor, &["*"]),
];

/// The demo accounts as `(username, role)`, for the start banner.
pub fn accounts() -> impl Iterator<Item = (&'static str, Role)> {
    ACCOUNTS
        .iter()
        .map(|(username, _, role, _)| (*username, *role))
}

/// What loading added.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Units created.
    pub units: u32,
    /// Endpoints created.
    pub endpoints: u32,
    /// Contacts created.
    pub contacts: u32,
    /// Accounts created.
    pub accounts: u32,
}

/// Loads the demo into `store`.
pub async fn load(store: &Store, policy: &Policy, today: jiff::civil::Date) -> Result<Loaded> {
    let file: DemoFile = toml::from_str(DATA).context("demo data file")?;
    let levels = store.levels().await?;
    for needed in ["city", "district", "commune"] {
        anyhow::ensure!(
            levels.iter().any(|l| l.def.code == needed),
            "the demo needs the levels city, district and commune (profiles can-tho or ha-noi); the policy in force has {}",
            levels.iter().map(|l| l.def.code.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    let actor = Actor::system("demo");
    let mut loaded = Loaded::default();
    let mut places: Vec<Place> = Vec::new();
    for unit in &file.units {
        places.push(Place {
            form: UnitForm {
                code: unit.code.clone(),
                name: unit.name.clone(),
                kind: unit.kind.clone(),
                level: "city".into(),
                parent_code: unit.parent.clone(),
                address: unit.address.clone(),
                phone: unit.phone.clone(),
                email: unit.email.clone(),
                valid_from: "01/01/2004".into(),
                ..Default::default()
            },
            room: unit.room.clone(),
            seats: unit.seats,
            on_duty: unit.kind == "carrier" || unit.kind == "power_company",
        });
    }
    for district in &file.districts {
        places.push(Place {
            form: UnitForm {
                code: district.code.clone(),
                name: district.name.clone(),
                kind: "people_committee".into(),
                level: "district".into(),
                parent_code: "CT.UBND".into(),
                address: district.address.clone(),
                phone: district.phone.clone(),
                email: district.email.clone(),
                valid_from: "01/01/2004".into(),
                ..Default::default()
            },
            room: district.room.clone(),
            seats: district.seats,
            on_duty: true,
        });
        for commune in &district.communes {
            let short = commune
                .name
                .trim_start_matches("Ủy ban nhân dân ")
                .to_string();
            places.push(Place {
                form: UnitForm {
                    code: commune.code.clone(),
                    name: commune.name.clone(),
                    kind: "people_committee".into(),
                    level: "commune".into(),
                    parent_code: district.code.clone(),
                    valid_from: "01/01/2004".into(),
                    ..Default::default()
                },
                room: format!("Phòng họp trực tuyến UBND {short}"),
                seats: 20,
                on_duty: false,
            });
        }
    }
    for (index, place) in places.iter().enumerate() {
        let seed = index as u64 * 7 + 1;
        if store.unit_by_code(&place.form.code).await?.is_none() {
            let spec = place
                .form
                .parse(&levels, today)
                .map_err(|e| anyhow::anyhow!("demo unit {}: {e}", place.form.code))?;
            store.create_unit(&actor, &spec).await?;
            loaded.units += 1;
        }
        let unit = store
            .unit_by_code(&place.form.code)
            .await?
            .context("demo unit just stored")?;
        if !place.room.is_empty() {
            let code = format!("{}.P1", place.form.code);
            let existing = store
                .list_endpoints(
                    &hnth_store::directory::EndpointFilter {
                        unit_id: Some(unit.id),
                        ..Default::default()
                    },
                    Page::new(1, 0),
                )
                .await?;
            if existing.total == 0 {
                let control =
                    policy.control_allowed_at(&unit.level) && place.form.level != "commune";
                let flag = |b: bool| if b { "1" } else { "0" }.to_string();
                let form = EndpointForm {
                    code,
                    unit_code: unit.code.clone(),
                    name: place.room.clone(),
                    address: unit.address.clone(),
                    seats: place.seats.to_string(),
                    terminal: "room_system".into(),
                    equipment: "Codec phòng họp, camera PTZ, 4 micro đại biểu, 2 màn hình 65 inch"
                        .into(),
                    network: if place.form.level == "commune" {
                        "wan"
                    } else {
                        "dedicated"
                    }
                    .into(),
                    status: "active".into(),
                    control_right: flag(control),
                    has_control_laptop: flag(control),
                    vpn_token_issued: flag(control),
                };
                let spec = form
                    .parse()
                    .map_err(|e| anyhow::anyhow!("demo endpoint of {}: {e}", unit.code))?;
                store.create_endpoint(&actor, policy, &spec, today).await?;
                loaded.endpoints += 1;
            }
        }
        let has_contacts = store
            .list_contacts(
                &ContactFilter {
                    unit_id: Some(unit.id),
                    ..Default::default()
                },
                Page::new(1, 0),
            )
            .await?
            .total
            > 0;
        if !has_contacts {
            let mut roles = Vec::new();
            if !place.room.is_empty() {
                roles.extend(["leader", "main_technician", "support_technician"]);
            }
            if place.on_duty {
                roles.push("on_duty");
            }
            for (offset, role) in roles.into_iter().enumerate() {
                let person_seed = seed * 13 + offset as u64;
                let positions = if role == "leader" {
                    &file.names.leader_positions
                } else {
                    &file.names.technician_positions
                };
                let form = ContactForm {
                    unit_code: unit.code.clone(),
                    role: role.into(),
                    full_name: file.names.person(person_seed),
                    position: positions[(person_seed as usize) % positions.len()].clone(),
                    email: format!("canbo{}@cantho.gov.vn", index * 4 + offset + 1),
                    phone: format!("09{:08}", (person_seed * 7_919) % 100_000_000),
                };
                let spec = form
                    .parse()
                    .map_err(|e| anyhow::anyhow!("demo contact of {}: {e}", unit.code))?;
                store.add_contact(&actor, &spec, today).await?;
                loaded.contacts += 1;
            }
        }
    }
    let roots: Vec<i64> = store
        .unit_children(None, None)
        .await?
        .into_iter()
        .map(|n| n.unit.id)
        .collect();
    let password_hash = hnth_web::auth::hash_password(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    for (username, full_name, role, scopes) in ACCOUNTS {
        if store.user_for_login(username).await?.is_some() {
            continue;
        }
        let user = store
            .create_user(
                &actor,
                &NewUser {
                    username: username.to_string(),
                    full_name: full_name.to_string(),
                    email: format!("{username}@cantho.gov.vn"),
                    unit_id: None,
                    password_hash: password_hash.clone(),
                    lang: Lang::Vi,
                },
            )
            .await?;
        for scope in *scopes {
            let units = if *scope == "*" {
                roots.clone()
            } else {
                vec![
                    store
                        .unit_by_code(scope)
                        .await?
                        .with_context(|| format!("demo scope {scope}"))?
                        .id,
                ]
            };
            for unit in units {
                store.add_grant(&actor, user.id, *role, unit).await?;
            }
        }
        loaded.accounts += 1;
    }
    Ok(loaded)
}

struct Place {
    form: UnitForm,
    room: String,
    seats: u32,
    on_duty: bool,
}
