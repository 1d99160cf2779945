//! hnth as the measured server, driven as its users drive it: `hnth serve --demo` on a fresh
//! database, N synthetic endpoints imported into the directory, a session registered by the
//! host's secretary and approved, every endpoint joined by its join link over the conference
//! WebSocket (`docs/conference-protocol.md`), and the MCU operator's commands over REST.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, Mid};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::peer::{self, PeerSetup, Publish};
use crate::server::ServerProcess;

/// Receive slots, as the protocol recommends.
const AUDIO_SLOTS: usize = 4;
const VIDEO_SLOTS: usize = 9;

/// A running hnth with a session ready to join.
pub struct Hnth {
    /// The process.
    pub process: ServerProcess,
    base: String,
    http: reqwest::Client,
    operator: String,
    session: i64,
    /// Join paths (`/join/…`): the host's first, then the members' in endpoint order.
    links: Vec<String>,
    _scratch: tempfile::TempDir,
}

/// An endpoint's lines, as the protocol orders them.
struct Lines {
    mic: Mid,
    camera: Mid,
}

impl Hnth {
    /// Starts `binary` with the demo data and books a session of one host (the city's
    /// meeting room) and `members` synthetic endpoints.
    pub async fn start(binary: &Path, members: usize) -> Result<Hnth> {
        let scratch = tempfile::tempdir()?;
        let data = scratch.path().join("data");
        // The policy caps what one MCU node may be booked for (200 endpoints by default; a
        // bigger session is refused as a conflict, R-REG-3): the node under test is declared
        // large enough for the run.
        let config = scratch.path().join("hnth.toml");
        std::fs::write(
            &config,
            format!(
                "[policy.overrides]\nmcu_capacity = {{ sessions = 4, endpoints = {} }}\n",
                members + 1
            ),
        )?;
        let mut command = Command::new(binary);
        command
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(&data)
            .env("HNTH_LOG", "warn")
            .env("HNTH_MEDIA__BIND", "127.0.0.1:0");
        let (process, line) = ServerProcess::start(
            "hnth",
            command,
            Some("listening on "),
            Duration::from_secs(60),
        )?;
        let base = line
            .split("listening on ")
            .nth(1)
            .context("no address")?
            .trim()
            .to_string();
        let token = |user: &str| token(binary, &data, user);
        let administrator = token("vanhanh")?;
        let secretary = token("thuky")?;
        let approver = token("pheduyet")?;
        let operator = token("mcu")?;
        let mut hnth = Hnth {
            process,
            base,
            http: reqwest::Client::new(),
            operator,
            session: 0,
            links: Vec::new(),
            _scratch: scratch,
        };
        hnth.book(&administrator, &secretary, &approver, members)
            .await?;
        Ok(hnth)
    }

    /// Imports the synthetic endpoints, registers the session and has it approved.
    async fn book(
        &mut self,
        administrator: &str,
        secretary: &str,
        approver: &str,
        members: usize,
    ) -> Result<()> {
        let found = self
            .call(
                secretary,
                reqwest::Method::GET,
                "/api/v1/endpoints?q=CT.VPUBND.P1",
                None,
            )
            .await?;
        let host = found["items"]
            .as_array()
            .and_then(|items| items.iter().find(|e| e["code"] == "CT.VPUBND.P1"))
            .context("the demo city's meeting room is missing")?
            .clone();
        let unit = self
            .call(
                secretary,
                reqwest::Method::GET,
                &format!("/api/v1/units/{}", host["unit_id"]),
                None,
            )
            .await?;
        let unit_code = unit["code"].as_str().context("unit without a code")?;
        // One CSV import: all or nothing, in one transaction.
        let mut csv = String::from("code,unit_code,name,terminal,network\n");
        for i in 1..=members {
            csv.push_str(&format!(
                "BENCH.{i:04},{unit_code},Điểm cầu thử tải {i},room_system,wan\n"
            ));
        }
        let response = self
            .http
            .post(format!("{}/api/v1/import", self.base))
            .bearer_auth(administrator)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("import refused: {}", response.text().await?);
        }
        let mut member_ids = Vec::with_capacity(members);
        while member_ids.len() < members {
            let page = self
                .call(
                    secretary,
                    reqwest::Method::GET,
                    &format!(
                        "/api/v1/endpoints?q=BENCH.&limit=500&offset={}",
                        member_ids.len()
                    ),
                    None,
                )
                .await?;
            let items = page["items"].as_array().context("no items")?;
            if items.is_empty() {
                bail!(
                    "{} synthetic endpoints listed of {members}",
                    member_ids.len()
                );
            }
            member_ids.extend(items.iter().map(|e| e["id"].clone()));
        }
        let calendar = hnth_domain::calendar::WorkCalendar::with_shipped();
        let today = jiff::Zoned::now()
            .with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh")?)
            .date();
        let day = calendar.add_working_days(today, 15);
        let created = self
            .call(
                secretary,
                reqwest::Method::POST,
                "/api/v1/sessions",
                Some(json!({
                    "host_unit_id": host["unit_id"],
                    "host_endpoint_id": host["id"],
                    "member_endpoint_ids": member_ids,
                    "title": format!("Đo tải máy chủ truyền thông: {members} điểm cầu"),
                    "meeting_type": "thematic",
                    "chair_name": "Nguyễn Văn An",
                    "contact_name": "Trần Thị Bình",
                    "contact_phone": "0292 3820 578",
                    "date": format!("{:02}/{:02}/{}", day.day(), day.month(), day.year()),
                    "start_time": "14:00",
                    "end_time": "16:00",
                    "submit": true,
                })),
            )
            .await?;
        self.session = created[0]["id"]
            .as_i64()
            .context("no session id in the answer")?;
        self.call(
            approver,
            reqwest::Method::POST,
            &format!("/api/v1/sessions/{}/actions", self.session),
            Some(json!({ "action": "approve" })),
        )
        .await?;
        let links = self
            .call(
                secretary,
                reqwest::Method::GET,
                &format!("/api/v1/sessions/{}/join-links", self.session),
                None,
            )
            .await?;
        let links = links.as_array().context("no links")?;
        let url_of = |endpoint: &Value| -> Result<String> {
            links
                .iter()
                .find(|l| l["endpoint_id"] == *endpoint)
                .and_then(|l| l["url"].as_str())
                .map(str::to_string)
                .with_context(|| format!("no join link for endpoint {endpoint}"))
        };
        self.links.push(url_of(&host["id"])?);
        for id in &member_ids {
            self.links.push(url_of(id)?);
        }
        Ok(())
    }

    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Applies an operator command (the console's REST call).
    pub async fn command(&self, command: Value) -> Result<()> {
        self.call(
            &self.operator,
            reqwest::Method::POST,
            &format!("/api/v1/sessions/{}/conference/commands", self.session),
            Some(command),
        )
        .await
        .map(drop)
    }

    /// The room as the operator sees it.
    pub async fn room(&self) -> Result<Value> {
        self.call(
            &self.operator,
            reqwest::Method::GET,
            &format!("/api/v1/sessions/{}/conference", self.session),
            None,
        )
        .await
    }

    /// Joins endpoint `idx` (0 is the host, 1… the members) by its link; returns the
    /// negotiated peer and its peer number in the room. The WebSocket is kept open (closing
    /// it leaves the room) by a task that ends when `stop` turns true.
    pub async fn join(
        &self,
        idx: u16,
        publish: bool,
        stop: watch::Receiver<bool>,
    ) -> Result<(PeerSetup, u64)> {
        let started = Instant::now();
        let link = self
            .links
            .get(usize::from(idx))
            .with_context(|| format!("no endpoint {idx}"))?;
        let (socket, candidate) = peer::bind(std::net::Ipv4Addr::LOCALHOST.into()).await?;
        let mut rtc = peer::new_rtc();
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let lines = Lines {
            mic: api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None),
            camera: api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None),
        };
        api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        for _ in 0..AUDIO_SLOTS {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        for _ in 0..VIDEO_SLOTS {
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = api.apply().context("an offer with media lines")?;
        let url = format!("{}{link}/ws", self.base.replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let offer = json!({ "type": "offer", "sdp": offer.to_sdp_string() }).to_string();
        ws.send(Message::Text(offer.into())).await?;
        let answer = loop {
            let frame = tokio::time::timeout(Duration::from_secs(60), ws.next())
                .await
                .context("no answer within 60 s")?
                .context("the server closed the socket")??;
            let Message::Text(text) = frame else { continue };
            // States are large and frequent in a big room: only the answer is parsed.
            if !text.contains(r#""type":"answer""#) {
                if text.contains(r#""type":"error""#) {
                    bail!("refused: {text}");
                }
                continue;
            }
            break serde_json::from_str::<Value>(&text)?;
        };
        let sdp = answer["sdp"].as_str().context("answer without sdp")?;
        let peer_number = answer["peer"].as_u64().context("answer without peer")?;
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(sdp)?)?;
        tokio::spawn(keep_open(ws, stop));
        let publish = if publish {
            Publish {
                audio: Some(lines.mic),
                video: Some(lines.camera),
            }
        } else {
            Publish::default()
        };
        Ok((
            PeerSetup {
                idx,
                rtc,
                socket,
                started,
                negotiated: Instant::now(),
                publish,
                probe: None,
            },
            peer_number,
        ))
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads (and drops) what the server sends until `stop`, then hangs up politely.
async fn keep_open(mut ws: Socket, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            frame = ws.next() => if !matches!(frame, Some(Ok(_))) { return },
            _ = stop.changed() => break,
        }
    }
    let _ = ws.send(Message::Close(None)).await;
}

/// A bearer token for a demo account, from the CLI beside the server.
fn token(binary: &Path, data: &Path, user: &str) -> Result<String> {
    let out = Command::new(binary)
        .args(["token", "create", "--user", user, "--data"])
        .arg(data)
        .env("HNTH_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!("token for {user}: {}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8(out.stdout)?
        .lines()
        .last()
        .map(|l| l.trim().to_string())
        .context("no token printed")
}

/// The `hnth` binary next to this one (both are built into the same target folder).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("hnth")))
        .unwrap_or_else(|| PathBuf::from("hnth"))
}
