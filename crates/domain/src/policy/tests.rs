use super::*;
use crate::endpoint::{check_endpoint_rules, EndpointForm};
use crate::unit::Unit;

fn load(id: &str) -> Policy {
    LoadedPolicy::load(id, &toml::Table::new())
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .policy
}

fn overrides(text: &str) -> toml::Table {
    text.parse().unwrap()
}

#[test]
fn every_shipped_profile_loads_and_cites_its_seed() {
    for id in profile_ids() {
        let loaded =
            LoadedPolicy::load(id, &toml::Table::new()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(loaded.profile.id, id);
        assert_eq!(
            loaded.policy.levels.origin,
            Origin::Seed,
            "{id} must set its levels"
        );
        let rows = loaded.policy.entries(Lang::Vi);
        assert!(rows.iter().any(|r| r.origin == Origin::Seed), "{id}");
        assert!(
            rows.iter()
                .all(|r| !r.value.is_empty() && !r.source.is_empty()),
            "{id}"
        );
    }
}

#[test]
fn r_dir_1_levels_differ_by_profile() {
    let codes = |id| {
        load(id)
            .levels
            .value
            .iter()
            .map(|l| l.code.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes("thanh-hoa"),
        ["central", "province", "district", "commune"]
    );
    assert_eq!(codes("can-tho"), ["city", "district", "commune"]);
    assert_eq!(codes("ha-noi"), ["city", "district", "commune"]);
}

#[test]
fn r_dir_1_a_deployment_runs_on_the_two_local_levels_since_2025() {
    let two_levels = overrides(
        r#"
        levels = [ { code = "province", name_vi = "Tỉnh", name_en = "Province" },
                   { code = "commune", name_vi = "Xã", name_en = "Commune" } ]
        control_levels = ["province"]
        endpoint_limits = []
        "#,
    );
    let loaded = LoadedPolicy::load("thanh-hoa", &two_levels).unwrap();
    assert_eq!(loaded.policy.levels.value.len(), 2);
    assert_eq!(loaded.policy.levels.origin, Origin::Config);
    assert_eq!(loaded.policy.levels.source, "configuration file");
}

#[test]
fn r_reg_2_lead_times_come_from_each_seed() {
    assert_eq!(
        load("thanh-hoa").lead_time_normal.value,
        LeadTime::WorkingDays(2)
    );
    assert_eq!(
        load("can-tho").lead_time_normal.value,
        LeadTime::WorkingDays(3)
    );
    assert_eq!(load("ha-noi").lead_time_normal.value, LeadTime::Hours(24));
    assert_eq!(load("ha-noi").lead_time_emergency.value, LeadTime::Hours(6));
    assert!(load("ha-noi").lead_time_normal.source.starts_with("HN"));
}

#[test]
fn overrides_replace_values_and_say_so() {
    let loaded = LoadedPolicy::load(
        "ha-noi",
        &overrides("lead_time_normal = { working_days = 1 }"),
    )
    .unwrap();
    assert_eq!(
        loaded.policy.lead_time_normal.value,
        LeadTime::WorkingDays(1)
    );
    assert_eq!(loaded.policy.lead_time_normal.origin, Origin::Config);
    // Everything else keeps its seed.
    assert_eq!(loaded.policy.lead_time_emergency.origin, Origin::Seed);
}

#[test]
fn mistakes_in_configuration_are_errors_not_silence() {
    assert_eq!(
        LoadedPolicy::load("da-nang", &toml::Table::new()).unwrap_err(),
        PolicyError::UnknownProfile("da-nang".into())
    );
    assert!(matches!(
        LoadedPolicy::load("ha-noi", &overrides("lead_time_normall = { hours = 2 }")),
        Err(PolicyError::UnknownKey { key, .. }) if key == "lead_time_normall"
    ));
    assert!(matches!(
        LoadedPolicy::load(
            "ha-noi",
            &overrides("lead_time_normal = { fortnights = 2 }")
        ),
        Err(PolicyError::Malformed { .. })
    ));
    assert!(matches!(
        LoadedPolicy::load("ha-noi", &overrides("control_levels = [\"region\"]")),
        Err(PolicyError::Inconsistent(message)) if message.contains("region")
    ));
}

fn unit(level: &str, kind: UnitKind) -> Unit {
    Unit {
        id: 7,
        code: "HN.X".into(),
        name: "Đơn vị thử".into(),
        kind,
        level: level.into(),
        parent_id: None,
        address: String::new(),
        phone: String::new(),
        email: String::new(),
        valid_from: jiff::civil::date(2020, 1, 1),
        valid_to: None,
        successor_id: None,
    }
}

fn endpoint(control: bool, laptop: bool, vpn: bool) -> crate::endpoint::EndpointSpec {
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    EndpointForm {
        code: "HN.X.P1".into(),
        unit_code: "HN.X".into(),
        name: "Phòng họp".into(),
        terminal: "room_system".into(),
        network: "dedicated".into(),
        control_right: flag(control),
        has_control_laptop: flag(laptop),
        vpn_token_issued: flag(vpn),
        ..EndpointForm::default()
    }
    .parse()
    .unwrap()
}

#[test]
fn r_dir_5_endpoint_limits_per_level_in_ha_noi() {
    let policy = load("ha-noi");
    let today = jiff::civil::date(2026, 11, 23);
    let spec = endpoint(false, false, false);
    let department = unit("city", UnitKind::Department);
    assert!(check_endpoint_rules(&policy, &spec, &department, 1, today).is_ok());
    let refused = check_endpoint_rules(&policy, &spec, &department, 2, today).unwrap_err();
    assert_eq!(refused.errors[0].code, "endpoint_limit_exceeded");
    assert!(
        refused.errors[0].message.vi.contains("HN"),
        "the refusal cites the rule: {}",
        refused.errors[0].message.vi
    );
    // The HQ of the People's Committee is not limited.
    assert!(check_endpoint_rules(
        &policy,
        &spec,
        &unit("city", UnitKind::PeopleCommittee),
        10,
        today
    )
    .is_ok());
    assert!(check_endpoint_rules(
        &policy,
        &spec,
        &unit("district", UnitKind::PeopleCommittee),
        2,
        today
    )
    .is_ok());
    assert!(check_endpoint_rules(
        &policy,
        &spec,
        &unit("district", UnitKind::PeopleCommittee),
        3,
        today
    )
    .is_err());
    assert!(check_endpoint_rules(
        &policy,
        &spec,
        &unit("commune", UnitKind::PeopleCommittee),
        1,
        today
    )
    .is_err());
    // A retired endpoint does not count against the limit.
    let retired = crate::endpoint::EndpointSpec {
        status: crate::endpoint::EndpointStatus::Retired,
        ..spec
    };
    assert!(check_endpoint_rules(
        &policy,
        &retired,
        &unit("commune", UnitKind::PeopleCommittee),
        1,
        today
    )
    .is_ok());
}

#[test]
fn r_dir_7_control_rights_only_at_allowed_levels_with_laptop_and_vpn() {
    let policy = load("ha-noi");
    let today = jiff::civil::date(2026, 11, 23);
    let district = unit("district", UnitKind::PeopleCommittee);
    assert!(
        check_endpoint_rules(&policy, &endpoint(true, true, true), &district, 0, today).is_ok()
    );
    let no_vpn = check_endpoint_rules(&policy, &endpoint(true, true, false), &district, 0, today)
        .unwrap_err();
    assert_eq!(no_vpn.errors[0].code, "control_needs_laptop_and_vpn");
    let commune = unit("commune", UnitKind::PeopleCommittee);
    let refused =
        check_endpoint_rules(&policy, &endpoint(true, true, true), &commune, 0, today).unwrap_err();
    assert_eq!(refused.errors[0].code, "control_level_not_allowed");
}

#[test]
fn no_new_endpoints_for_a_merged_away_unit() {
    let policy = load("can-tho");
    let mut merged = unit("district", UnitKind::PeopleCommittee);
    merged.valid_to = Some(jiff::civil::date(2025, 6, 30));
    merged.successor_id = Some(8);
    let refused = check_endpoint_rules(
        &policy,
        &endpoint(false, false, false),
        &merged,
        0,
        jiff::civil::date(2025, 7, 1),
    )
    .unwrap_err();
    assert_eq!(refused.errors[0].code, "unit_dissolved");
}
