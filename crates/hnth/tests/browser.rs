//! End to end as a person: the real `hnth serve --demo` binary, Debian's headless Chromium
//! driven through chromedriver (WebDriver over HTTP): a login, the unit tree, then a session
//! registered, approved, given a document, answered (seen live on the open page) and
//! cancelled, with screenshots.
//!
//! The test command of the README installs `chromium` and `chromium-driver`; without them
//! this test fails rather than silently passing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server with demo data and returns it with its base URL.
fn start_server(data: &std::path::Path) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hnth"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
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

struct Driver {
    client: reqwest::Client,
    base: String,
    session: String,
}

impl Driver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            response["value"].get("error").is_none(),
            "webdriver error on {path}: {response}"
        );
        response["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls the page until `ready` holds for its source: a click that submits a form or
    /// follows a link returns before the next page has loaded, and a slow machine shows it.
    async fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let mut source = String::new();
        for _ in 0..150 {
            source = self.source().await;
            if ready(&source) {
                return source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let start = source.find("<main").unwrap_or(0);
        let shown: String = source[start..].chars().take(1500).collect();
        panic!("{what}: not seen within 15 s; the page shows:\n{shown}");
    }

    /// Runs `script` in the page and returns its value.
    async fn execute(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Polls `script` until it returns `expected`.
    async fn wait_for_script(&self, what: &str, script: &str, expected: Value) {
        let mut last = Value::Null;
        for _ in 0..150 {
            last = self.execute(script).await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: `{script}` gave {last}, not {expected}, within 15 s");
    }

    /// Logs out and logs in again as `username` (demo password).
    async fn switch_user(&self, username: &str) {
        self.click("form[action='/logout'] button").await;
        self.wait_for("the login page after logging out", |page| {
            page.contains("name=\"password\"")
        })
        .await;
        self.type_into("input[name=username]", username).await;
        self.type_into("input[name=password]", "hnth-demo").await;
        self.click("button.primary").await;
        self.wait_for("logged in", |page| page.contains("/logout"))
            .await;
    }

    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, &png).unwrap();
        path
    }
}

#[tokio::test]
async fn r_dir_2_a_person_logs_in_and_walks_the_unit_tree_in_chromium() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "install Debian's chromium (the README's test command does)"
    );
    let data = tempfile::tempdir().unwrap();
    let (_server, address) = start_server(&data.path().join("data"));

    let port = free_port();
    let _driver = Killed(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (package chromium-driver)"),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let profile = tempfile::tempdir().unwrap();
    let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1366,900", format!("--user-data-dir={}", profile.path().display())]
    }}}});
    let mut session = None;
    for _ in 0..50 {
        if let Ok(response) = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
        {
            let body: Value = response.json().await.unwrap();
            session = Some(
                body["value"]["sessionId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no session: {body}"))
                    .to_string(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let driver = Driver {
        client,
        base,
        session: session.expect("chromedriver did not start"),
    };

    driver.goto(&format!("{address}/units")).await;
    // Not logged in: the login page, in Vietnamese.
    driver
        .wait_for("the login page", |page| page.contains("Đăng nhập"))
        .await;
    driver.type_into("input[name=username]", "admin").await;
    driver.type_into("input[name=password]", "hnth-demo").await;
    driver.click("button.primary").await;
    let tree = driver
        .wait_for("the unit tree after login", |page| {
            page.contains("id=\"unit-tree\"")
        })
        .await;
    assert!(tree.contains("Ủy ban nhân dân thành phố Cần Thơ"));
    assert!(tree.contains("Thành ủy Cần Thơ"));
    let shot = driver.screenshot("unit-tree.png").await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real rendering, not a blank page"
    );

    // Down the tree: city → district → commune, by clicking the links.
    driver
        .click("#unit-tree a[href^='/units/']:not([href$='new'])")
        .await;
    driver
        .goto(&format!("{address}/units?q=quan%20ninh%20kieu"))
        .await;
    driver.click("#unit-tree a").await;
    driver
        .wait_for("the district with its communes", |page| {
            page.contains("Ninh Kiều") && page.contains("id=\"children\"")
        })
        .await;
    driver.click("#children a").await;
    driver
        .wait_for("the commune with its endpoint", |page| {
            page.contains("Phòng họp trực tuyến UBND")
        })
        .await;
    driver.screenshot("commune.png").await;

    // R-REG-1: the host unit's secretary registers a session in the form and sends it for
    // approval; the page shows it awaiting the approver, with the answer deadline.
    driver.switch_user("thuky").await;
    driver.goto(&format!("{address}/sessions/new")).await;
    driver
        .wait_for("the registration form", |page| {
            page.contains("id=\"session-form\"")
        })
        .await;
    let calendar = hnth_domain::calendar::WorkCalendar::with_shipped();
    let day = calendar.add_working_days(hnth_web::today(), 20);
    driver
        .type_into("input[name=title]", "Giao ban công tác chuyển đổi số")
        .await;
    driver
        .type_into(
            "input[name=date]",
            &format!("{:02}/{:02}/{}", day.day(), day.month(), day.year()),
        )
        .await;
    driver.type_into("input[name=start_time]", "09:00").await;
    driver.type_into("input[name=end_time]", "10:30").await;
    driver
        .type_into("input[name=chair_name]", "Nguyễn Văn An")
        .await;
    driver
        .type_into("input[name=contact_phone]", "0292 3820 578")
        .await;
    // Ninh Kiều district, whose endpoint operator answers below.
    let ticked = driver
        .execute(
            "const box = [...document.querySelectorAll('input[name=member_endpoint_ids]')]
               .find(input => input.parentElement.textContent.includes('Ninh Kiều'));
             box.click(); return box.checked;",
        )
        .await;
    assert_eq!(ticked, json!(true), "Ninh Kiều's endpoint is offered");
    driver.screenshot("session-form.png").await;
    driver.click("button[name=intent][value=submit]").await;
    let page = driver
        .wait_for("the registration awaiting approval", |page| {
            page.contains("id=\"status\"") && page.contains("Chờ phê duyệt")
        })
        .await;
    assert!(
        page.contains("id=\"answer-due\""),
        "the answer deadline is shown"
    );
    driver.screenshot("session.png").await;
    let session_url = driver
        .call(reqwest::Method::GET, "/url", None)
        .await
        .as_str()
        .unwrap()
        .to_string();
    let session_id: i64 = session_url.rsplit('/').next().unwrap().parse().unwrap();

    // R-REG-4: the approver approves it on the page.
    driver.switch_user("pheduyet").await;
    driver.goto(&session_url).await;
    driver
        .wait_for("the approval form", |page| page.contains("id=\"decide\""))
        .await;
    driver.click("#decide button[value=approve]").await;
    driver
        .wait_for("the approved session", |page| {
            page.contains("Đã phê duyệt") && page.contains("id=\"invitations\"")
        })
        .await;

    // R-REG-9: the secretary attaches the plan; the page then listens for changes.
    driver.switch_user("thuky").await;
    driver.goto(&session_url).await;
    let document = data.path().join("Kế hoạch tổ chức hội nghị.pdf");
    std::fs::write(&document, b"%PDF-1.4\n% hnth browser test\n").unwrap();
    driver
        .type_into(
            "#document-upload input[type=file]",
            document.to_str().unwrap(),
        )
        .await;
    driver.click("#document-upload button").await;
    driver
        .wait_for("the uploaded document", |page| {
            page.contains("id=\"document-list\"") && page.contains("Kế hoạch tổ chức hội nghị.pdf")
        })
        .await;
    driver
        .wait_for_script(
            "the live stream is open",
            "return document.getElementById('live-note').hidden",
            json!(false),
        )
        .await;
    driver.execute("window.hnthNotReloaded = 42").await;

    // R-REG-7: Ninh Kiều confirms elsewhere; the secretary's open page shows it without a
    // reload (the marker set in the page survives).
    let token = Command::new(env!("CARGO_BIN_EXE_hnth"))
        .args(["token", "create", "--user", "diemcau", "--data"])
        .arg(data.path().join("data"))
        .env("HNTH_LOG", "warn")
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8(token.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let api = reqwest::Client::new();
    let detail: Value = api
        .get(format!("{address}/api/v1/sessions/{session_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invitation = detail["invitations"][0]["id"].as_i64().unwrap();
    let answered = api
        .post(format!("{address}/api/v1/invitations/{invitation}/answer"))
        .bearer_auth(&token)
        .json(&json!({ "answer": "confirm", "chair_name": "Trần Văn Bình", "chair_title": "Chủ tịch UBND quận" }))
        .send()
        .await
        .unwrap();
    assert!(
        answered.status().is_success(),
        "{}",
        answered.text().await.unwrap()
    );
    let live = driver
        .wait_for("the answer shown live", |page| {
            page.contains("Đã xác nhận 1") && page.contains("Trần Văn Bình")
        })
        .await;
    assert!(live.contains("Kế hoạch tổ chức hội nghị.pdf"));
    assert_eq!(
        driver.execute("return window.hnthNotReloaded").await,
        json!(42),
        "the page was reloaded instead of updated"
    );
    driver.execute("window.scrollTo(0, 0)").await;
    driver.screenshot("session-live.png").await;

    // R-REG-6: the secretary cancels with a reason; the page says so.
    driver
        .type_into(".cancel-form input[name=reason]", "Lãnh đạo bận đột xuất")
        .await;
    driver.click(".cancel-form button").await;
    driver
        .wait_for("the cancelled session", |page| page.contains("Đã hủy"))
        .await;
    driver.call(reqwest::Method::DELETE, "", None).await;
}
