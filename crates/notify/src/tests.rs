//! Dispatcher tests: the pure parts, and a webhook receiver in the same process.

use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode};
use hnth_domain::lang::Text;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::unit::UnitForm;
use hnth_store::outbox::UnitRef;
use hnth_store::{Actor, StoreOptions};

use super::*;

fn delivery() -> Delivery {
    Delivery {
        id: 42,
        notification_id: 7,
        target: Target::Email("a@x.vn".into()),
        attempt: 1,
        event: "notify.test".into(),
        unit: UnitRef {
            id: 3,
            code: "CT.NK".into(),
            name: "UBND quận Ninh Kiều".into(),
        },
        session_id: None,
        subject: Text::new("Tiêu đề", "Subject"),
        body: Text::new("Nội dung tiếng Việt.", "English text."),
        payload: serde_json::json!({}),
        created_at: Timestamp::from_second(1_800_000_000).unwrap(),
    }
}

#[test]
fn hmac_matches_rfc_4231_test_case_2() {
    assert_eq!(
        hmac_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn the_signature_covers_timestamp_and_body() {
    let base = signature("s3cret", "1800000000", "{\"a\":1}");
    assert_eq!(base, hmac_hex(b"s3cret", b"1800000000.{\"a\":1}"));
    assert_ne!(base, signature("s3cret", "1800000001", "{\"a\":1}"));
    assert_ne!(base, signature("s3cret", "1800000000", "{\"a\":2}"));
    assert_ne!(base, signature("other", "1800000000", "{\"a\":1}"));
}

#[test]
fn an_email_is_bilingual_vietnamese_first_with_a_stable_message_id() {
    let mailer = Mailer::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: 25,
        from: "Hội nghị truyền hình <hnth@cantho.gov.vn>".into(),
        username: None,
        password: None,
        tls: SmtpTls::None,
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let d = delivery();
    let text = email_text(&d);
    let vi = text.find("Nội dung tiếng Việt.").unwrap();
    let en = text.find("English text.").unwrap();
    assert!(vi < en);
    assert!(text.contains("CT.NK"));
    assert_eq!(message_id(&d, "cantho.gov.vn"), "<hnth.7.42@cantho.gov.vn>");
    let raw = String::from_utf8(mailer.message(&d, "a@x.vn").unwrap().formatted()).unwrap();
    assert!(
        raw.contains("Message-ID: <hnth.7.42@cantho.gov.vn>"),
        "{raw}"
    );
    // The same delivery, a second attempt: the same identity.
    let again = Delivery { attempt: 2, ..d };
    let raw2 = String::from_utf8(mailer.message(&again, "a@x.vn").unwrap().formatted()).unwrap();
    assert!(raw2.contains("Message-ID: <hnth.7.42@cantho.gov.vn>"));
    assert!(mailer.message(&again, "not an address").is_err());
}

#[test]
fn a_lease_shorter_than_a_send_is_refused() {
    let config = NotifyConfig {
        webhook_timeout: Duration::from_secs(10),
        lease: Duration::from_secs(10),
        ..NotifyConfig::default()
    };
    assert!(config.validate().is_err());
    assert!(NotifyConfig::default().validate().is_ok());
    let smtp = SmtpConfig {
        host: "mail.cantho.gov.vn".into(),
        port: 587,
        from: "not an address".into(),
        username: None,
        password: None,
        tls: SmtpTls::Starttls,
        timeout: Duration::from_secs(30),
    };
    let config = NotifyConfig {
        smtp: Some(smtp),
        ..NotifyConfig::default()
    };
    assert!(config.validate().is_err());
}

/// What the receiver saw: (delivery id, attempt, signature valid), and how many to refuse.
#[derive(Default)]
struct Seen {
    calls: Vec<(String, bool)>,
    refuse: usize,
}

#[tokio::test]
async fn a_refused_webhook_is_retried_with_the_same_delivery_id_and_a_valid_signature() {
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
    let levels = store.levels().await.unwrap();
    let today = jiff::civil::date(2026, 11, 23);
    let spec = UnitForm {
        code: "CT.UBND".into(),
        name: "UBND thành phố".into(),
        kind: "people_committee".into(),
        level: "city".into(),
        valid_from: "01/01/2020".into(),
        ..UnitForm::default()
    }
    .parse(&levels, today)
    .unwrap();
    let actor = Actor::system("test");
    let unit = store.create_unit(&actor, &spec).await.unwrap();

    let seen = Arc::new(Mutex::new(Seen {
        refuse: 1,
        ..Seen::default()
    }));
    let _hook = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let hook = store
            .create_webhook(&actor, unit.id, &format!("http://{address}/hook"))
            .await
            .unwrap();
        let seen = seen.clone();
        let secret = hook.1.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                let secret = secret.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let valid = header("X-Hnth-Signature")
                        == format!(
                            "sha256={}",
                            signature(&secret, &header("X-Hnth-Timestamp"), &body)
                        );
                    let mut seen = seen.lock().unwrap();
                    seen.calls.push((header("X-Hnth-Delivery"), valid));
                    if seen.refuse > 0 {
                        seen.refuse -= 1;
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        hook
    };

    let wake = Arc::new(Notify::new());
    let dispatcher = start(
        store.clone(),
        NotifyConfig {
            retry: RetryPolicy {
                first_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(1),
                max_attempts: 5,
            },
            poll_interval: Duration::from_millis(100),
            ..NotifyConfig::default()
        },
        wake.clone(),
    )
    .await
    .unwrap();
    store.send_test_notice(&actor, unit.id).await.unwrap();
    wake.notify_one();

    let mut delivered = false;
    for _ in 0..100 {
        let overview = store.delivery_overview().await.unwrap();
        let hooks = overview.iter().find(|c| c.channel == "webhook").unwrap();
        if hooks.counts.delivered == 1 {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    dispatcher.shutdown().await;
    assert!(delivered, "the webhook was not delivered");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.calls.len(), 2, "{:?}", seen.calls);
    assert_eq!(
        seen.calls[0].0, seen.calls[1].0,
        "same delivery id on retry"
    );
    assert!(seen.calls.iter().all(|(_, valid)| *valid));
}
