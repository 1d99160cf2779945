//! The command line as an administrator uses it: `hnth calendar YEAR` prints the calendar the
//! server counts with, including the administrator's edits stored in the database.

use std::process::Command;

use hnth_domain::calendar::{ChangeKind, DayChange, WorkCalendar};
use hnth_domain::lang::Text;
use hnth_store::{Actor, Store, StoreOptions};

fn calendar_output(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hnth"))
        .arg("calendar")
        .args(args)
        .output()
        .expect("the hnth binary runs");
    assert!(
        output.status.success(),
        "hnth calendar failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[tokio::test]
async fn r_reg_2_calendar_cli_prints_the_administrators_edits_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();

    // No database yet: the shipped tables, said so, and no database is created.
    let shipped = calendar_output(&["2026", "--data", data_arg]);
    assert!(shipped.contains("chưa có cơ sở dữ liệu"), "{shipped}");
    assert!(shipped.contains("02/01/2026"), "{shipped}");
    assert!(
        !data.exists(),
        "printing the calendar must not create a data folder"
    );

    // The administrator removes the New Year swap (the day off and the Saturday worked for
    // it) and adds Culture Day.
    let store = Store::open(&StoreOptions {
        data_dir: data.clone(),
        read_connections: 1,
    })
    .await
    .unwrap();
    store
        .seed_calendar(&WorkCalendar::shipped_changes())
        .await
        .unwrap();
    let admin = Actor::system("test:admin");
    store
        .delete_calendar_change(&admin, jiff::civil::date(2026, 1, 2))
        .await
        .unwrap();
    store
        .delete_calendar_change(&admin, jiff::civil::date(2026, 1, 10))
        .await
        .unwrap();
    store
        .save_calendar_change(
            &admin,
            &DayChange {
                date: jiff::civil::date(2026, 11, 24),
                kind: ChangeKind::Off,
                name: Text::new("Ngày Văn hóa Việt Nam", "Vietnam Culture Day"),
                source: "Văn bản thử nghiệm".into(),
            },
        )
        .await
        .unwrap();
    store.close().await;

    let edited = calendar_output(&["2026", "--data", data_arg]);
    assert!(edited.contains("24/11/2026"), "{edited}");
    assert!(edited.contains("Ngày Văn hóa Việt Nam"), "{edited}");
    assert!(
        !edited.contains("02/01/2026"),
        "the deleted change still shows: {edited}"
    );
    assert!(!edited.contains("chưa có cơ sở dữ liệu"), "{edited}");

    // `--shipped` ignores the database.
    let shipped = calendar_output(&["2026", "--data", data_arg, "--shipped"]);
    assert!(shipped.contains("02/01/2026"), "{shipped}");
    assert!(!shipped.contains("24/11/2026"), "{shipped}");
}
