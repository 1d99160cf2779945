//! Outbox tests on a fresh temporary database each.

use std::time::Duration;

use hnth_domain::contact::ContactForm;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::role::{Grant, Role};
use hnth_domain::unit::UnitForm;
use jiff::civil::{date, Date};
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::StoreOptions;

const TODAY: Date = date(2026, 11, 23);

async fn open() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreOptions {
        data_dir: dir.path().join("data"),
        read_connections: 2,
    })
    .await
    .unwrap();
    let policy = LoadedPolicy::load("can-tho", &toml::Table::new())
        .unwrap()
        .policy;
    store.sync_levels(&policy.levels.value).await.unwrap();
    (store, dir)
}

fn actor() -> Actor {
    Actor::system("test")
}

async fn unit(store: &Store, code: &str, level: &str, parent: &str, email: &str) -> i64 {
    let levels = store.levels().await.unwrap();
    let form = UnitForm {
        code: code.into(),
        name: format!("Đơn vị {code}"),
        kind: "people_committee".into(),
        level: level.into(),
        parent_code: parent.into(),
        email: email.into(),
        valid_from: "01/01/2020".into(),
        ..UnitForm::default()
    };
    store
        .create_unit(&actor(), &form.parse(&levels, TODAY).unwrap())
        .await
        .unwrap()
        .id
}

async fn contact(store: &Store, unit: &str, role: &str, name: &str, email: &str) -> i64 {
    let spec = ContactForm {
        unit_code: unit.into(),
        role: role.into(),
        full_name: name.into(),
        position: "Cán bộ".into(),
        email: email.into(),
        phone: "0292 3820 123".into(),
    }
    .parse()
    .unwrap();
    store.add_contact(&actor(), &spec, TODAY).await.unwrap().id
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&store.read)
        .await
        .unwrap()
}

async fn recipients(store: &Store, notification_id: i64, channel: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT recipient FROM outbox WHERE notification_id = ? AND channel = ? ORDER BY id",
    )
    .bind(notification_id)
    .bind(channel)
    .fetch_all(&store.read)
    .await
    .unwrap()
}

fn notice(unit_id: i64) -> Notice {
    Notice {
        unit_id,
        session_id: None,
        event: "test.event",
        subject: Text::new("Tiêu đề", "Subject"),
        body: Text::new("Nội dung", "Body"),
        payload: serde_json::json!({ "k": 1 }),
    }
}

#[tokio::test]
async fn a_notice_written_in_a_rolled_back_transaction_leaves_nothing() {
    let (store, _dir) = open().await;
    store.set_email_delivery(true).await.unwrap();
    let city = unit(&store, "CT.UBND", "city", "", "ubnd@cantho.gov.vn").await;
    store
        .create_webhook(&actor(), city, "https://example.test/hook")
        .await
        .unwrap();

    let mut tx = store.write.begin().await.unwrap();
    enqueue_tx(&mut tx, &notice(city), Timestamp::now())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notifications").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM outbox").await, 0);

    // The same, committed: the notification and both deliveries exist.
    let mut tx = store.write.begin().await.unwrap();
    enqueue_tx(&mut tx, &notice(city), Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notifications").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM outbox").await, 2);
}

#[tokio::test]
async fn recipients_are_the_unit_its_current_contacts_and_the_webhooks_above_it() {
    let (store, _dir) = open().await;
    store.set_email_delivery(true).await.unwrap();
    let city = unit(&store, "CT.UBND", "city", "", "ubnd@cantho.gov.vn").await;
    let district = unit(&store, "CT.NK", "district", "CT.UBND", "nk@cantho.gov.vn").await;
    let sibling = unit(&store, "CT.CR", "district", "CT.UBND", "cr@cantho.gov.vn").await;
    let commune = unit(&store, "CT.NK.X1", "commune", "CT.NK", "").await;
    // The leader shares the unit's address (another case): it is sent once.
    contact(
        &store,
        "CT.NK",
        "leader",
        "Nguyễn Văn An",
        "NK@cantho.gov.vn",
    )
    .await;
    // Replaced technician: only the current one is told.
    contact(
        &store,
        "CT.NK",
        "main_technician",
        "Trần Văn Bình",
        "old.tech@cantho.gov.vn",
    )
    .await;
    contact(
        &store,
        "CT.NK",
        "main_technician",
        "Lê Văn Cường",
        "tech@cantho.gov.vn",
    )
    .await;
    contact(
        &store,
        "CT.NK",
        "support_technician",
        "Phạm Thị Dung",
        "support@cantho.gov.vn",
    )
    .await;
    contact(
        &store,
        "CT.NK",
        "on_duty",
        "Hoàng Văn Em",
        "duty@cantho.gov.vn",
    )
    .await;
    contact(&store, "CT.NK", "on_duty", "Võ Thị Giang", "").await;
    contact(
        &store,
        "CT.CR",
        "leader",
        "Đặng Văn Hùng",
        "cr.leader@cantho.gov.vn",
    )
    .await;

    let (on_city, _) = store
        .create_webhook(&actor(), city, "https://city.example.test/h")
        .await
        .unwrap();
    let (on_district, _) = store
        .create_webhook(&actor(), district, "http://127.0.0.1:9/h")
        .await
        .unwrap();
    store
        .create_webhook(&actor(), sibling, "https://cr.example.test/h")
        .await
        .unwrap();
    let (stopped, _) = store
        .create_webhook(&actor(), city, "https://stopped.example.test/h")
        .await
        .unwrap();
    store
        .deactivate_webhook(&actor(), stopped.id)
        .await
        .unwrap();

    let sent = store.send_test_notice(&actor(), district).await.unwrap();
    assert_eq!(
        recipients(&store, sent.notification_id, "email").await,
        [
            "nk@cantho.gov.vn",
            "tech@cantho.gov.vn",
            "duty@cantho.gov.vn"
        ]
    );
    assert_eq!(
        recipients(&store, sent.notification_id, "webhook").await,
        [on_city.id.to_string(), on_district.id.to_string()]
    );
    assert_eq!((sent.emails, sent.webhooks), (3, 2));

    // A commune without address or contacts still gets the in-app notice and the webhooks
    // of its district and city.
    let sent = store.send_test_notice(&actor(), commune).await.unwrap();
    assert_eq!((sent.emails, sent.webhooks), (0, 2));

    // The test notice is in the audit trail with what it created.
    let audit = store.audit_records(Page::default()).await.unwrap();
    assert_eq!(audit.items[0].action, "notify.test");
    assert_eq!(audit.items[0].subject, "unit:CT.NK.X1");
}

#[tokio::test]
async fn without_smtp_no_email_deliveries_are_created_and_waiting_ones_give_up() {
    let (store, _dir) = open().await;
    let city = unit(&store, "CT.UBND", "city", "", "ubnd@cantho.gov.vn").await;
    // The channel is off until a server with SMTP settings turns it on.
    let sent = store.send_test_notice(&actor(), city).await.unwrap();
    assert_eq!(sent.emails, 0);
    store.set_email_delivery(true).await.unwrap();
    let sent = store.send_test_notice(&actor(), city).await.unwrap();
    assert_eq!(sent.emails, 1);
    store.set_email_delivery(false).await.unwrap();
    let failing = store.failing_deliveries(10).await.unwrap();
    assert_eq!(failing.len(), 1);
    assert!(failing[0].gave_up);
    assert!(store
        .claim_due_deliveries(Timestamp::now(), Duration::from_secs(60), 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_expired_lease_makes_a_claimed_delivery_due_again() {
    let (store, _dir) = open().await;
    store.set_email_delivery(true).await.unwrap();
    let city = unit(&store, "CT.UBND", "city", "", "ubnd@cantho.gov.vn").await;
    let sent = store.send_test_notice(&actor(), city).await.unwrap();
    let lease = Duration::from_secs(60);
    let t0 = Timestamp::now();

    let first = store.claim_due_deliveries(t0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let delivery = &first[0];
    assert_eq!(delivery.attempt, 1);
    assert_eq!(delivery.notification_id, sent.notification_id);
    assert_eq!(delivery.target, Target::Email("ubnd@cantho.gov.vn".into()));
    assert_eq!(delivery.event, "notify.test");
    assert_eq!(delivery.unit.code, "CT.UBND");

    // Claimed: not handed out again while the lease holds (the sender is assumed alive).
    let during = t0 + SignedDuration::from_secs(59);
    assert!(store
        .claim_due_deliveries(during, lease, 10)
        .await
        .unwrap()
        .is_empty());

    // The sender died: after the lease the same delivery is due again, as attempt 2.
    let after = t0 + SignedDuration::from_secs(61);
    let again = store.claim_due_deliveries(after, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, delivery.id);
    assert_eq!(again[0].attempt, 2);

    // Delivered: never handed out again.
    store.mark_delivered(delivery.id).await.unwrap();
    let much_later = t0 + SignedDuration::from_hours(10);
    assert!(store
        .claim_due_deliveries(much_later, lease, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_failed_delivery_waits_for_its_retry_then_gives_up_and_stays_visible() {
    let (store, _dir) = open().await;
    store.set_email_delivery(true).await.unwrap();
    let city = unit(&store, "CT.UBND", "city", "", "ubnd@cantho.gov.vn").await;
    store.send_test_notice(&actor(), city).await.unwrap();
    let lease = Duration::from_secs(60);
    let t0 = Timestamp::now();
    let claimed = store.claim_due_deliveries(t0, lease, 10).await.unwrap();
    let id = claimed[0].id;
    let retry_at = t0 + SignedDuration::from_secs(30);
    store
        .mark_failed(id, "421 try later", Some(retry_at))
        .await
        .unwrap();
    // Not before the retry time, even though the lease was released.
    let early = t0 + SignedDuration::from_secs(10);
    assert!(store
        .claim_due_deliveries(early, lease, 10)
        .await
        .unwrap()
        .is_empty());
    let retried = store
        .claim_due_deliveries(retry_at, lease, 10)
        .await
        .unwrap();
    assert_eq!(retried[0].id, id);
    assert_eq!(retried[0].attempt, 2);
    store
        .mark_failed(id, "550 no such user", None)
        .await
        .unwrap();
    assert!(store
        .claim_due_deliveries(t0 + SignedDuration::from_hours(100), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let failing = store.failing_deliveries(10).await.unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].last_error, "550 no such user");
    assert_eq!(failing[0].attempts, 2);
    assert!(failing[0].gave_up);
    let overview = store.delivery_overview().await.unwrap();
    let email = overview.iter().find(|c| c.channel == "email").unwrap();
    assert_eq!(email.counts.failed, 1);
    assert_eq!(email.counts.pending, 0);
}

#[test]
fn back_off_doubles_up_to_the_cap_then_gives_up() {
    let policy = RetryPolicy {
        first_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(3600),
        max_attempts: 12,
    };
    let delays: Vec<u64> = (1..12)
        .map(|n| policy.delay_after(n).unwrap().as_secs())
        .collect();
    assert_eq!(
        delays,
        [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
    );
    assert_eq!(policy.delay_after(12), None);
    assert_eq!(policy.delay_after(u32::MAX), None);
    // No overflow with absurd settings.
    let wild = RetryPolicy {
        first_delay: Duration::from_secs(u64::MAX / 2),
        max_delay: Duration::from_secs(3600),
        max_attempts: u32::MAX,
    };
    assert_eq!(wild.delay_after(40), Some(Duration::from_secs(3600)));
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    assert_eq!(
        policy.next_attempt_at(2, now),
        Some(Timestamp::from_second(1_800_000_060).unwrap())
    );
    assert_eq!(policy.next_attempt_at(12, now), None);
}

#[test]
fn email_recipients_are_trimmed_deduplicated_and_never_empty() {
    let contacts = vec![
        " A@x.vn ".to_string(),
        String::new(),
        "b@x.vn".to_string(),
        "a@X.vn".to_string(),
    ];
    assert_eq!(email_recipients("a@x.vn", &contacts), ["a@x.vn", "b@x.vn"]);
    assert_eq!(email_recipients("", &contacts), ["A@x.vn", "b@x.vn"]);
}

#[tokio::test]
async fn the_inbox_shows_the_notices_of_the_subtree_unread_first() {
    let (store, _dir) = open().await;
    let city = unit(&store, "CT.UBND", "city", "", "").await;
    let district = unit(&store, "CT.NK", "district", "CT.UBND", "").await;
    let sibling = unit(&store, "CT.CR", "district", "CT.UBND", "").await;
    let commune = unit(&store, "CT.NK.X1", "commune", "CT.NK", "").await;
    let user = store
        .create_user(
            &actor(),
            &crate::accounts::NewUser {
                username: "nk".into(),
                full_name: "Cán bộ NK".into(),
                email: String::new(),
                unit_id: Some(district),
                password_hash: "x".into(),
                lang: hnth_domain::lang::Lang::Vi,
            },
        )
        .await
        .unwrap();
    let grants = [Grant {
        role: Role::EndpointOperator,
        unit_id: district,
    }];
    let on_city = store.send_test_notice(&actor(), city).await.unwrap();
    let on_district = store.send_test_notice(&actor(), district).await.unwrap();
    store.send_test_notice(&actor(), sibling).await.unwrap();
    let on_commune = store.send_test_notice(&actor(), commune).await.unwrap();

    let inbox = store
        .notifications_for_user(user.id, &grants, Page::default())
        .await
        .unwrap();
    let ids: Vec<i64> = inbox.items.iter().map(|n| n.id).collect();
    assert_eq!(
        ids,
        [on_commune.notification_id, on_district.notification_id]
    );
    assert_eq!(inbox.total, 2);
    assert_eq!(
        store.unread_notifications(user.id, &grants).await.unwrap(),
        2
    );

    store
        .mark_notification_read(user.id, &grants, on_commune.notification_id)
        .await
        .unwrap();
    // Twice is fine.
    store
        .mark_notification_read(user.id, &grants, on_commune.notification_id)
        .await
        .unwrap();
    assert_eq!(
        store.unread_notifications(user.id, &grants).await.unwrap(),
        1
    );
    let inbox = store
        .notifications_for_user(user.id, &grants, Page::default())
        .await
        .unwrap();
    assert_eq!(inbox.items[0].id, on_district.notification_id);
    assert!(!inbox.items[0].read);
    assert!(inbox.items[1].read);

    // A notice outside the grants is not found, not marked.
    assert!(matches!(
        store
            .mark_notification_read(user.id, &grants, on_city.notification_id)
            .await,
        Err(StoreError::NotFound("notification"))
    ));
    assert_eq!(
        store
            .mark_all_notifications_read(user.id, &grants)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.unread_notifications(user.id, &grants).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn webhooks_are_checked_listed_by_scope_and_deactivation_abandons_their_deliveries() {
    let (store, _dir) = open().await;
    let city = unit(&store, "CT.UBND", "city", "", "").await;
    let district = unit(&store, "CT.NK", "district", "CT.UBND", "").await;
    for bad in [
        "ftp://x.vn/h",
        "https://",
        "https://user@x.vn/h",
        "https://x.vn/a b",
        "x.vn",
    ] {
        assert!(
            matches!(
                store.create_webhook(&actor(), city, bad).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad} accepted"
        );
    }
    let (hook, secret) = store
        .create_webhook(&actor(), district, " https://nk.example.test/hook ")
        .await
        .unwrap();
    assert_eq!(hook.url, "https://nk.example.test/hook");
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let (_, other_secret) = store
        .create_webhook(&actor(), city, "https://city.example.test/hook")
        .await
        .unwrap();
    assert_ne!(secret, other_secret);

    let admin_on_district = [Grant {
        role: Role::OperatingAdmin,
        unit_id: district,
    }];
    let listed = store.webhooks(&admin_on_district).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, hook.id);
    // A role without NotifyManage sees none.
    let operator = [Grant {
        role: Role::EndpointOperator,
        unit_id: city,
    }];
    assert!(store.webhooks(&operator).await.unwrap().is_empty());

    store.send_test_notice(&actor(), district).await.unwrap();
    let stopped = store.deactivate_webhook(&actor(), hook.id).await.unwrap();
    assert!(!stopped.active);
    // Idempotent.
    store.deactivate_webhook(&actor(), hook.id).await.unwrap();
    let claimed = store
        .claim_due_deliveries(Timestamp::now(), Duration::from_secs(60), 10)
        .await
        .unwrap();
    // Only the city's subscription is still served.
    assert_eq!(claimed.len(), 1);
    assert!(
        matches!(&claimed[0].target, Target::Webhook { url, .. } if url == "https://city.example.test/hook")
    );
    let failing = store.failing_deliveries(10).await.unwrap();
    assert_eq!(failing[0].last_error, "subscription deactivated");
    let audit = store.audit_records(Page::default()).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "webhook.deactivate")
            .count(),
        1
    );
    assert!(actions.contains(&"webhook.create"));
    // The secret never reaches the trail.
    assert!(audit.items.iter().all(|r| !r.detail.contains(&secret)));
    assert!(store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_broken
        .is_none());
}
