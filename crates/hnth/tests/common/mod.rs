//! What the end-to-end tests share: the real `hnth serve --demo` binary on a free port, demo
//! API tokens from the CLI, and Debian's headless Chromium driven through chromedriver
//! (WebDriver over HTTP), with the processes cleaned up however a test ends.
//!
//! Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

/// A child process that dies with the test, whichever way the test ends.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver in a process group of its own, with the browsers it starts: a failed
/// assertion skips the closing of the browser sessions, and killing chromedriver alone
/// would leave its Chromiums running.
pub struct Group(pub Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `hnth serve --demo` on a free port; returns it with its base URL.
pub fn serve(data: &std::path::Path) -> (Reaped, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hnth"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("HNTH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hnth");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("hnth exited before listening").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // A full stdout pipe would block the server.
    std::thread::spawn(move || lines.for_each(drop));
    (Reaped(child), base)
}

/// A bearer token for a demo account, from the CLI.
pub fn token(data: &std::path::Path, user: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hnth"))
        .args(["token", "create", "--user", user, "--data"])
        .arg(data)
        .env("HNTH_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "token for {user}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

/// Starts chromedriver in a process group of its own; returns it with its base URL.
pub fn chromedriver() -> (Group, String) {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "install Debian's chromium (the README's test command does)"
    );
    let port = unused_port();
    let group = Group(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver (package chromium-driver)"),
    );
    (group, format!("http://127.0.0.1:{port}"))
}

/// The server's REST API with bearer tokens; every call must succeed.
pub struct Api {
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server's base URL.
    pub base: String,
}

impl Api {
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn text(&self, token: &str, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        response.text().await.unwrap()
    }

    /// Polls `path` until `ready` holds, for at most 15 seconds.
    pub async fn until(
        &self,
        token: &str,
        path: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let value = self.call(token, Method::GET, path, None).await;
            if ready(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within 15 s; last {value:#}"
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The id of the unit with `code` and of its first endpoint.
    pub async fn unit_and_endpoint(&self, token: &str, code: &str) -> (i64, i64) {
        let units = self
            .call(token, Method::GET, &format!("/api/v1/units?q={code}"), None)
            .await;
        let unit = units["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == code)
            .unwrap_or_else(|| panic!("unit {code} in {units}"))["id"]
            .as_i64()
            .unwrap();
        let endpoints = self
            .call(
                token,
                Method::GET,
                &format!("/api/v1/endpoints?unit_id={unit}"),
                None,
            )
            .await;
        let endpoint = endpoints["items"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("an endpoint of {code} in {endpoints}"));
        (unit, endpoint)
    }
}

/// One browser: a WebDriver session of the shared chromedriver, with its own profile.
pub struct Browser {
    client: reqwest::Client,
    url: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn open(client: &reqwest::Client, driver: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"}, "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     "--window-size=1366,768", format!("--user-data-dir={}", profile.path().display())]
        }}}});
        // chromedriver takes a moment to listen.
        for _ in 0..50 {
            if let Ok(response) = client
                .post(format!("{driver}/session"))
                .json(&capabilities)
                .send()
                .await
            {
                let body: Value = response.json().await.unwrap();
                let id = body["value"]["sessionId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no browser session: {body}"));
                return Browser {
                    client: client.clone(),
                    url: format!("{driver}/session/{id}"),
                    _profile: profile,
                };
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("chromedriver did not start");
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            response["value"].get("error").is_none(),
            "webdriver {path}: {response}"
        );
        response["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn run(&self, script: &str) -> Value {
        self.call(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `body`, an async function body, and returns what it returns.
    pub async fn run_async(&self, body: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             (async () => {{ {body} }})().then(done, (e) => done({{ script_error: String(e && e.stack || e) }}));"
        );
        let value = self
            .call(
                Method::POST,
                "/execute/async",
                Some(json!({ "script": script, "args": [] })),
            )
            .await;
        assert!(value.get("script_error").is_none(), "{value}");
        value
    }

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(
            Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                Method::POST,
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

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn source(&self) -> String {
        self.call(Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls the page until `ready` holds for its source: a click that submits a form or
    /// follows a link returns before the next page has loaded, and a slow machine shows it.
    pub async fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
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

    /// Logs out and logs in again as `username` (demo password).
    pub async fn switch_user(&self, username: &str) {
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

    /// Polls `script` (sync) until `ready` holds for its value; 20 s at most.
    pub async fn until(&self, what: &str, script: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            last = self.run(script).await;
            if ready(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{what}: not within 20 s; last `{script}` gave {last}");
    }

    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let data = self.call(Method::GET, "/screenshot", None).await;
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

    pub async fn close(&self) {
        self.call(Method::DELETE, "", None).await;
    }
}
