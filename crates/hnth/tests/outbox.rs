//! The notification outbox end to end: the real `hnth serve` binary, a real SMTP server on
//! loopback (Python's `aiosmtpd`, Debian package `python3-aiosmtpd`) and a webhook receiver
//! in this process.
//!
//! The crash test kills the server with SIGKILL while the SMTP server holds two messages in
//! DATA (accepted bytes, no `250` yet), restarts it on the same data folder, and counts what
//! arrived: every (notice, recipient) pair exactly once. Nothing is deduplicated here; the
//! sink records a message only when it answers `250`, as a real mail server commits it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// A child process killed (SIGKILL) when dropped.
struct Killed(Child);

impl Killed {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

const SINK: &str = r#"
import asyncio, os, sys
from aiosmtpd.smtp import SMTP

log_path, pass_first, stall_next = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {"n": 0}

def header(content, name):
    for line in content.decode("utf-8", "replace").splitlines():
        if line == "":
            return None
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None

class Handler:
    async def handle_DATA(self, server, session, envelope):
        seen["n"] += 1
        n = seen["n"]
        message_id = header(envelope.content, "Message-ID")
        if pass_first < n <= pass_first + stall_next:
            print(f"STALL {n} {message_id}", flush=True)
            try:
                await asyncio.sleep(600)
            except asyncio.CancelledError:
                # The client went away before our 250: the message is not accepted.
                print(f"DROPPED {n} {message_id}", flush=True)
                raise
        # Commit before acknowledging, as a real server does.
        with open(log_path, "a") as log:
            for rcpt in envelope.rcpt_tos:
                log.write(f"{message_id} {rcpt}\n")
            log.flush()
            os.fsync(log.fileno())
        print(f"ACCEPTED {n} {message_id}", flush=True)
        return "250 OK"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// Starts the SMTP sink; returns it, its port and its event lines (`STALL …`, `ACCEPTED …`).
fn start_sink(
    dir: &Path,
    log: &Path,
    pass_first: u32,
    stall_next: u32,
) -> (Killed, u16, mpsc::Receiver<String>) {
    assert!(
        Command::new("/usr/bin/python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success()),
        "install Debian's python3-aiosmtpd (scripts/test.sh does)"
    );
    let script = dir.join("sink.py");
    std::fs::write(&script, SINK).unwrap();
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(log)
        .arg(pass_first.to_string())
        .arg(stall_next.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the SMTP sink");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("sink exited before listening").unwrap();
        if let Some(port) = line.strip_prefix("PORT ") {
            break port.trim().parse().unwrap();
        }
    };
    let (events, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = events.send(line);
        }
    });
    (Killed(child), port, received)
}

/// Runs `hnth` to completion and returns its standard output.
fn hnth(args: &[&str], data: &Path, config: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hnth"))
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(config)
        .env("HNTH_LOG", "warn")
        .output()
        .expect("run hnth");
    assert!(
        output.status.success(),
        "hnth {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Starts `hnth serve` and returns it with its base URL.
fn start_server(data: &Path, config: &Path, demo: bool) -> (Killed, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hnth"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data);
    command.arg("--config").arg(config);
    if demo {
        command.arg("--demo");
    }
    let mut child = command
        .env("HNTH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hnth");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines.next().expect("hnth exited before listening").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), address)
}

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn unit_id(&self, code: &str) -> i64 {
        let found = self.get(&format!("/api/v1/units?q={code}&limit=500")).await;
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == code)
            .unwrap_or_else(|| panic!("no unit {code}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// What the outbox must send for a unit: its address and its current leader, main
    /// technician and on-duty contacts, each address once.
    async fn expected_recipients(&self, unit_id: i64) -> BTreeSet<String> {
        let unit = self.get(&format!("/api/v1/units/{unit_id}")).await;
        let contacts = self
            .get(&format!("/api/v1/contacts?unit_id={unit_id}&limit=500"))
            .await;
        let mut all = BTreeSet::new();
        all.insert(unit["email"].as_str().unwrap().to_lowercase());
        for c in contacts["items"].as_array().unwrap() {
            if ["leader", "main_technician", "on_duty"].contains(&c["role"].as_str().unwrap())
                && c["valid_to"].is_null()
            {
                all.insert(c["email"].as_str().unwrap().to_lowercase());
            }
        }
        all.remove("");
        all
    }

    /// Notifications by id, as the admin's inbox lists them.
    async fn notifications(&self) -> BTreeMap<i64, Value> {
        let page = self.get("/api/v1/notifications?limit=500").await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_i64().unwrap(), n.clone()))
            .collect()
    }
}

/// A bearer token of the demo's system administrator, made with the CLI.
fn admin_token(data: &Path, config: &Path) -> String {
    let out = hnth(&["token", "create", "--user", "admin"], data, config);
    out.lines().last().unwrap().trim().to_string()
}

fn write_config(dir: &Path, smtp_port: Option<u16>) -> PathBuf {
    let mut text = String::from(
        "[notify]\nlease_seconds = 12\npoll_seconds = 1\nretry_first_seconds = 1\nretry_max_seconds = 2\nwebhook_timeout_seconds = 5\nconcurrency = 2\n",
    );
    if let Some(port) = smtp_port {
        text.push_str(&format!(
            "[notify.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nfrom = \"Hội nghị truyền hình <hnth@cantho.gov.vn>\"\ntls = \"none\"\ntimeout_seconds = 10\n"
        ));
    }
    let path = dir.join("hnth.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn wait_for_line(
    events: &mpsc::Receiver<String>,
    prefix: &str,
    count: usize,
    within: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => seen.push(line),
            Ok(_) => {}
            Err(_) => panic!(
                "saw {} `{prefix}` lines of {count} within {within:?}: {seen:?}",
                seen.len()
            ),
        }
    }
    seen
}

#[tokio::test]
async fn r_reg_6_every_notice_reaches_every_recipient_exactly_once_across_a_crash_mid_send() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("received.log");
    // Two messages pass, the next two hang in DATA until the sender goes away.
    let (_sink, port, events) = start_sink(dir.path(), &log, 2, 2);
    let config = write_config(dir.path(), Some(port));

    let (mut server, base) = start_server(&data, &config, true);
    let api = Api {
        client: reqwest::Client::new(),
        base,
        token: admin_token(&data, &config),
    };
    let codes = ["CT.UBND", "CT.STTTT", "CT.NINHKIEU", "CT.VNPT", "CT.TU"];
    let mut expected: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for code in codes {
        let unit_id = api.unit_id(code).await;
        let (status, sent) = api
            .post("/api/v1/notifications/test", json!({ "unit_id": unit_id }))
            .await;
        assert_eq!(status, 202, "{sent}");
        let recipients = api.expected_recipients(unit_id).await;
        assert_eq!(
            sent["emails"].as_u64().unwrap() as usize,
            recipients.len(),
            "{code}"
        );
        expected.insert(sent["notification_id"].as_i64().unwrap(), recipients);
    }
    let total: usize = expected.values().map(BTreeSet::len).sum();
    assert!(
        total > 4,
        "the test needs more messages than pass and stall: {total}"
    );

    // Both send slots are now stuck in DATA; everything sent before them is recorded.
    let stalled = wait_for_line(&events, "STALL", 2, Duration::from_secs(30));
    server.kill();
    let dropped = wait_for_line(&events, "DROPPED", 2, Duration::from_secs(10));
    assert_eq!(dropped.len(), stalled.len());
    let before_restart = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(
        before_restart, 2,
        "two messages were accepted before the crash"
    );

    // Restart on the same data: the stalled deliveries come back when their lease runs out.
    let restarted = Instant::now();
    let (_server, base) = start_server(&data, &config, false);
    let api = Api { base, ..api };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let notifications = api.notifications().await;
        let done = expected.keys().all(|id| {
            let d = &notifications[id]["deliveries"];
            d["pending"] == 0 && d["failed"] == 0
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all delivered: {notifications:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let after = restarted.elapsed();

    // Count, deduplicating nothing.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), total, "every pair once, no more: {lines:#?}");
    let mut got: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut message_ids = BTreeSet::new();
    for line in &lines {
        let (message_id, rcpt) = line.split_once(' ').unwrap();
        // <hnth.N.D@cantho.gov.vn>: N the notification, D the delivery.
        let inner = message_id
            .trim_start_matches("<hnth.")
            .trim_end_matches("@cantho.gov.vn>");
        let (notification, _delivery) = inner.split_once('.').unwrap();
        got.entry(notification.parse().unwrap())
            .or_default()
            .push(rcpt.to_lowercase());
        assert!(
            message_ids.insert(message_id.to_string()),
            "{message_id} twice"
        );
    }
    for (id, recipients) in &expected {
        let mut received = got.remove(id).unwrap_or_default();
        received.sort();
        let wanted: Vec<String> = recipients.iter().cloned().collect();
        assert_eq!(received, wanted, "notification {id}");
    }
    assert!(got.is_empty(), "unexpected notices: {got:?}");
    // The two dropped messages were sent again with their first Message-ID.
    for line in &stalled {
        let message_id = line.split(' ').nth(2).unwrap();
        assert!(
            message_ids.contains(message_id),
            "{message_id} never arrived"
        );
    }
    println!(
        "{total} messages, 2 cut off by the crash; all delivered {:.1} s after the restart (lease 12 s)",
        after.as_secs_f64()
    );
}

#[derive(Default)]
struct Received {
    /// (delivery id, event, signature valid, body)
    calls: Vec<(String, String, bool, Value)>,
    refuse_first: bool,
}

#[tokio::test]
async fn webhooks_are_signed_cover_the_subtree_and_retry_with_the_same_delivery_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // No SMTP: the e-mail channel is off, in-app and webhooks still work.
    let config = write_config(dir.path(), None);
    let (_server, base) = start_server(&data, &config, true);
    let api = Api {
        client: reqwest::Client::new(),
        base,
        token: admin_token(&data, &config),
    };

    let received = Arc::new(Mutex::new(Received {
        refuse_first: true,
        ..Received::default()
    }));
    let secret = Arc::new(Mutex::new(String::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hnth", listener.local_addr().unwrap());
    {
        let received = received.clone();
        let secret = secret.clone();
        let app = axum::Router::new().route(
            "/hnth",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let received = received.clone();
                let secret = secret.lock().unwrap().clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                    mac.update(format!("{}.{body}", header("X-Hnth-Timestamp")).as_bytes());
                    let valid = header("X-Hnth-Signature")
                        == format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                    let mut received = received.lock().unwrap();
                    received.calls.push((
                        header("X-Hnth-Delivery"),
                        header("X-Hnth-Event"),
                        valid,
                        serde_json::from_str(&body).unwrap_or(Value::Null),
                    ));
                    if std::mem::take(&mut received.refuse_first) {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }

    // Subscribe on the city People's Committee: its districts' notices come too.
    let city = api.unit_id("CT.UBND").await;
    let (status, created) = api
        .post(
            "/api/v1/webhooks",
            json!({ "unit_id": city, "url": hook_url }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    *secret.lock().unwrap() = created["secret"].as_str().unwrap().to_string();
    let listed = api.get("/api/v1/webhooks").await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["url"] == hook_url.as_str()));
    assert!(
        listed
            .to_string()
            .find(created["secret"].as_str().unwrap())
            .is_none(),
        "the secret is shown once only"
    );

    let district = api.unit_id("CT.NINHKIEU").await;
    let (status, sent) = api
        .post("/api/v1/notifications/test", json!({ "unit_id": district }))
        .await;
    assert_eq!(status, 202);
    assert_eq!(sent["emails"], 0, "no SMTP, no e-mail deliveries");
    assert_eq!(sent["webhooks"], 1);
    let notification = sent["notification_id"].as_i64().unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = &api.notifications().await[&notification];
        if n["deliveries"]["delivered"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "webhook not delivered: {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls = received.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), 2, "one refusal, one retry: {calls:?}");
    assert_eq!(calls[0].0, calls[1].0, "the retry keeps its delivery id");
    for (delivery, event, valid, body) in &calls {
        assert!(*valid, "bad signature");
        assert_eq!(event, "notify.test");
        assert_eq!(body["delivery_id"].to_string(), *delivery);
        assert_eq!(body["notification_id"], notification);
        assert_eq!(body["unit"]["code"], "CT.NINHKIEU");
        assert!(body["subject"]["vi"]
            .as_str()
            .unwrap()
            .starts_with("Thông báo thử nghiệm"));
        assert!(body["subject"]["en"]
            .as_str()
            .unwrap()
            .starts_with("Test notice"));
    }

    // The inbox marks read; the pages render; the API is documented.
    let (status, _) = api
        .post(
            &format!("/api/v1/notifications/{notification}/read"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(api.notifications().await[&notification]["read"], true);
    for (path, words) in [
        ("/notifications", "Thông báo thử nghiệm"),
        ("/webhooks", hook_url.as_str()),
    ] {
        let page = api
            .client
            .get(format!("{}{path}", api.base))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(page.text().await.unwrap().contains(words), "{path}");
    }
    let openapi = api.get("/api/openapi.json").await;
    for path in [
        "/api/v1/notifications",
        "/api/v1/notifications/{id}/read",
        "/api/v1/notifications/test",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}/deactivate",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} undocumented");
    }
    let hook_id = created["webhook"]["id"].as_i64().unwrap();
    let (status, stopped) = api
        .post(&format!("/api/v1/webhooks/{hook_id}/deactivate"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stopped["active"], false);
}
