//! Store tests on a fresh temporary database each.

use hnth_domain::contact::{ContactForm, ContactRole};
use hnth_domain::endpoint::EndpointForm;
use hnth_domain::import::read_csv;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::unit::UnitForm;
use jiff::civil::{date, Date};

use super::*;
use crate::directory::{ContactFilter, UnitFilter};
use crate::import::ImportFailure;

const TODAY: Date = date(2026, 11, 23);

async fn open(policy: &str) -> (Store, tempfile::TempDir, hnth_domain::policy::Policy) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreOptions {
        data_dir: dir.path().join("data"),
        read_connections: 2,
    })
    .await
    .unwrap();
    let policy = LoadedPolicy::load(policy, &toml::Table::new())
        .unwrap()
        .policy;
    store.sync_levels(&policy.levels.value).await.unwrap();
    (store, dir, policy)
}

fn actor() -> Actor {
    Actor::system("test")
}

async fn unit(
    store: &Store,
    code: &str,
    kind: &str,
    level: &str,
    parent: &str,
) -> hnth_domain::unit::Unit {
    let levels = store.levels().await.unwrap();
    let form = UnitForm {
        code: code.into(),
        name: format!("Đơn vị {code}"),
        kind: kind.into(),
        level: level.into(),
        parent_code: parent.into(),
        valid_from: "01/01/2020".into(),
        ..UnitForm::default()
    };
    store
        .create_unit(&actor(), &form.parse(&levels, TODAY).unwrap())
        .await
        .unwrap()
}

fn endpoint_form(code: &str, unit: &str) -> EndpointForm {
    EndpointForm {
        code: code.into(),
        unit_code: unit.into(),
        name: format!("Phòng họp {code}"),
        terminal: "room_system".into(),
        network: "dedicated".into(),
        ..EndpointForm::default()
    }
}

#[tokio::test]
async fn a_mistyped_data_path_is_an_error_not_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing_parent = dir.path().join("no-such-folder").join("data");
    let error = Store::open(&StoreOptions {
        data_dir: missing_parent,
        read_connections: 1,
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");

    let unrelated = dir.path().join("documents");
    std::fs::create_dir(&unrelated).unwrap();
    std::fs::write(unrelated.join("notes.txt"), "hello").unwrap();
    let error = Store::open(&StoreOptions {
        data_dir: unrelated,
        read_connections: 1,
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("refusing to create"), "{error}");

    // First start creates the folder; the second opens what is there.
    let data = dir.path().join("data");
    let store = Store::open(&StoreOptions {
        data_dir: data.clone(),
        read_connections: 1,
    })
    .await
    .unwrap();
    store.close().await;
    Store::open(&StoreOptions {
        data_dir: data,
        read_connections: 1,
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn r_dir_1_levels_follow_the_policy_and_used_levels_cannot_vanish() {
    let (store, _dir, policy) = open("can-tho").await;
    let codes: Vec<_> = store
        .levels()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.def.code)
        .collect();
    assert_eq!(codes, ["city", "district", "commune"]);
    unit(&store, "CT.UBND", "people_committee", "city", "").await;
    unit(&store, "CT.NK", "people_committee", "district", "CT.UBND").await;
    let two_levels = [
        policy.levels.value[0].clone(),
        policy.levels.value[2].clone(),
    ];
    let error = store.sync_levels(&two_levels).await.unwrap_err();
    assert!(error.to_string().contains("district"), "{error}");
    // Nothing changed.
    assert_eq!(store.levels().await.unwrap().len(), 3);
}

#[tokio::test]
async fn r_dir_2_the_tree_its_chain_and_vietnamese_order() {
    let (store, _dir, _policy) = open("can-tho").await;
    let city = unit(&store, "CT.UBND", "people_committee", "city", "").await;
    let district = unit(&store, "CT.NK", "people_committee", "district", "CT.UBND").await;
    let commune = unit(
        &store,
        "CT.NK.TANAN",
        "people_committee",
        "commune",
        "CT.NK",
    )
    .await;
    let chain = store.unit_chain_ids(commune.id).await.unwrap();
    assert_eq!(chain, [commune.id, district.id, city.id]);

    // A cycle is refused.
    let levels = store.levels().await.unwrap();
    let mut form = UnitForm::from_unit(&city, Some("CT.NK.TANAN"), None);
    form.level = "city".into();
    let error = store
        .update_unit(&actor(), city.id, &form.parse(&levels, TODAY).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(i) if i.errors.iter().any(|e| e.code == "parent_below_child" || e.code == "cycle")),
        "{error}"
    );

    // Vietnamese order: Đ after D, Ô after O; search ignores marks.
    for (code, name) in [
        ("X1", "Đông Thuận"),
        ("X2", "Dương Minh"),
        ("X3", "Ô Môn"),
        ("X4", "Ong Thơ"),
    ] {
        let form = UnitForm {
            code: code.into(),
            name: name.into(),
            kind: "other".into(),
            level: "city".into(),
            ..UnitForm::default()
        };
        store
            .create_unit(&actor(), &form.parse(&levels, TODAY).unwrap())
            .await
            .unwrap();
    }
    let names: Vec<_> = store
        .unit_children(None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.unit.name)
        .collect();
    assert_eq!(
        names,
        [
            "Dương Minh",
            "Đông Thuận",
            "Đơn vị CT.UBND",
            "Ong Thơ",
            "Ô Môn"
        ]
    );
    let found = store
        .list_units(
            &UnitFilter {
                q: Some("dong thuan".into()),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].name, "Đông Thuận");
}

#[tokio::test]
async fn duplicate_codes_are_field_errors() {
    let (store, _dir, _policy) = open("can-tho").await;
    unit(&store, "CT.UBND", "people_committee", "city", "").await;
    let levels = store.levels().await.unwrap();
    let form = UnitForm {
        code: "ct.ubnd".into(),
        name: "Khác".into(),
        kind: "other".into(),
        level: "city".into(),
        ..Default::default()
    };
    let error = store
        .create_unit(&actor(), &form.parse(&levels, TODAY).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid(i) if i.errors[0].code == "duplicate_code"));
}

#[tokio::test]
async fn r_dir_5_the_limit_holds_under_concurrent_creation() {
    let (store, _dir, policy) = open("ha-noi").await;
    unit(&store, "HN.UBND", "people_committee", "city", "").await;
    unit(&store, "HN.BD", "people_committee", "district", "HN.UBND").await;
    unit(&store, "HN.BD.X", "people_committee", "commune", "HN.BD").await;
    // Communes may have one endpoint: of eight parallel attempts exactly one wins.
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let policy = policy.clone();
        tokio::spawn(async move {
            let spec = endpoint_form(&format!("HN.BD.X.P{i}"), "HN.BD.X")
                .parse()
                .unwrap();
            store.create_endpoint(&actor(), &policy, &spec, TODAY).await
        })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Invalid(invalid)) => {
                assert_eq!(invalid.errors[0].code, "endpoint_limit_exceeded")
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn r_dir_4_replacing_a_leader_keeps_history() {
    let (store, _dir, _policy) = open("can-tho").await;
    let sttt = unit(&store, "CT.STTTT", "department", "city", "").await;
    let contact = |name: &str| {
        ContactForm {
            unit_code: "CT.STTTT".into(),
            role: "leader".into(),
            full_name: name.into(),
            position: "Phó Giám đốc".into(),
            phone: "0292 3820 123".into(),
            ..ContactForm::default()
        }
        .parse()
        .unwrap()
    };
    let first = store
        .add_contact(&actor(), &contact("Nguyễn Văn An"), date(2025, 1, 2))
        .await
        .unwrap();
    let second = store
        .add_contact(&actor(), &contact("Lê Thị Bình"), TODAY)
        .await
        .unwrap();
    let current = store
        .list_contacts(
            &ContactFilter {
                unit_id: Some(sttt.id),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(current.total, 1);
    assert_eq!(current.items[0].contact.full_name, "Lê Thị Bình");
    let old = store.contact(first.id).await.unwrap().contact;
    assert_eq!(old.valid_to, Some(TODAY));
    assert_eq!(old.replaced_by, Some(second.id));
    let history = store
        .list_contacts(
            &ContactFilter {
                unit_id: Some(sttt.id),
                role: Some(ContactRole::Leader),
                include_history: true,
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(history.total, 2);
    // A replaced person cannot be edited any more.
    assert!(matches!(
        store
            .replace_contact(&actor(), first.id, &contact("X Y"), TODAY)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn an_import_with_one_bad_row_stores_nothing_and_reports_the_line() {
    let (store, _dir, policy) = open("can-tho").await;
    let levels = store.levels().await.unwrap();
    let csv = "code,name,kind,level,parent_code\n\
               CT.UBND,UBND thành phố Cần Thơ,people_committee,city,\n\
               CT.NK,UBND quận Ninh Kiều,people_committee,district,CT.UBND\n\
               CT.NK.TANAN,UBND phường Tân An,people_committee,commune,CT.NOWHERE\n";
    let rows = read_csv(csv.as_bytes(), &levels, TODAY).unwrap();
    let failure = store
        .import(&actor(), &policy, &rows, TODAY, &|_| {})
        .await
        .unwrap_err();
    let ImportFailure::Rows(errors) = failure else {
        panic!("expected row errors")
    };
    let report = errors.report(hnth_domain::lang::Lang::En);
    assert_eq!(report.len(), 1, "{report:?}");
    assert!(
        report[0].starts_with("line 4, column parent_code"),
        "{report:?}"
    );
    assert_eq!(
        store
            .list_units(&UnitFilter::default(), Page::default())
            .await
            .unwrap()
            .total,
        0
    );

    // Fixed, it goes in; imported twice, it updates instead of duplicating.
    let fixed = csv.replace("CT.NOWHERE", "CT.NK");
    let rows = read_csv(fixed.as_bytes(), &levels, TODAY).unwrap();
    let first = store
        .import(&actor(), &policy, &rows, TODAY, &|_| {})
        .await
        .unwrap();
    assert_eq!((first.created, first.updated), (3, 0));
    let again = store
        .import(&actor(), &policy, &rows, TODAY, &|_| {})
        .await
        .unwrap();
    assert_eq!((again.created, again.updated), (0, 3));
    assert_eq!(
        store
            .list_units(&UnitFilter::default(), Page::default())
            .await
            .unwrap()
            .total,
        3
    );
}

#[tokio::test]
async fn r_sec_5_the_audit_trail_is_chained_and_append_only() {
    let (store, _dir, _policy) = open("can-tho").await;
    unit(&store, "CT.UBND", "people_committee", "city", "").await;
    unit(&store, "CT.STTTT", "department", "city", "CT.UBND").await;
    let check = store.verify_audit_chain().await.unwrap();
    assert_eq!(
        check,
        audit::ChainCheck {
            records: 2,
            first_broken: None
        }
    );
    let records = store.audit_records(Page::default()).await.unwrap();
    assert_eq!(records.items[0].action, "unit.create");
    assert_eq!(records.items[0].prev_hash, records.items[1].hash);
    let tamper = sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE id = 1")
        .execute(&store.write)
        .await;
    assert!(tamper.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(&store.write)
        .await;
    assert!(delete.is_err());
}

#[tokio::test]
async fn r_dir_2_a_unit_under_a_merged_parent_must_move_to_the_successor() {
    let (store, _dir, _policy) = open("can-tho").await;
    unit(&store, "CT.UBND", "people_committee", "city", "").await;
    let levels = store.levels().await.unwrap();
    let new_ward = UnitForm {
        code: "CT.P.NINHKIEU".into(),
        name: "UBND phường Ninh Kiều".into(),
        kind: "people_committee".into(),
        level: "commune".into(),
        parent_code: "CT.UBND".into(),
        valid_from: "01/07/2025".into(),
        ..Default::default()
    };
    store
        .create_unit(&actor(), &new_ward.parse(&levels, TODAY).unwrap())
        .await
        .unwrap();
    let old_district = UnitForm {
        code: "CT.NK".into(),
        name: "UBND quận Ninh Kiều".into(),
        kind: "people_committee".into(),
        level: "district".into(),
        parent_code: "CT.UBND".into(),
        valid_from: "01/01/2004".into(),
        valid_to: "30/06/2025".into(),
        successor_code: "CT.P.NINHKIEU".into(),
        ..Default::default()
    };
    let district = store
        .create_unit(&actor(), &old_district.parse(&levels, TODAY).unwrap())
        .await
        .unwrap();
    assert!(district.successor_id.is_some());
    let ward = UnitForm {
        code: "CT.NK.TANAN".into(),
        name: "UBND phường Tân An".into(),
        kind: "people_committee".into(),
        level: "commune".into(),
        parent_code: "CT.NK".into(),
        valid_from: "01/01/2004".into(),
        ..Default::default()
    };
    let error = store
        .create_unit(&actor(), &ward.parse(&levels, TODAY).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Invalid(i) if i.errors[0].code == "parent_dissolved"));
    // Listing what exists today leaves the dissolved district out.
    let today = store
        .list_units(
            &UnitFilter {
                active_on: Some(TODAY),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert!(today.items.iter().all(|u| u.code != "CT.NK"));
}

/// Two processes on one database (the CLI beside a running server): a writer that read
/// before another process committed must wait for the lock, not fail with "database is
/// locked", which is what a deferred transaction does.
#[tokio::test]
async fn a_second_process_waits_for_the_write_lock_instead_of_failing() {
    let (server, dir, policy) = open("can-tho").await;
    let cli = Store::open(&StoreOptions {
        data_dir: dir.path().join("data"),
        read_connections: 1,
    })
    .await
    .unwrap();
    // The server holds the write lock and commits a change a moment later.
    let mut held = server.begin_write().await.unwrap();
    sqlx::query("UPDATE levels SET name_vi = name_vi")
        .execute(&mut *held)
        .await
        .unwrap();
    let levels = policy.levels.value.clone();
    let waiting = tokio::spawn(async move { cli.sync_levels(&levels).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    held.commit().await.unwrap();
    waiting
        .await
        .unwrap()
        .expect("the second writer waits its turn and succeeds");
}
