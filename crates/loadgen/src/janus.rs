//! Janus Gateway's VideoRoom as the server compared with: Debian's `janus`, started on
//! loopback from the configuration templates in `bench/janus/` (VideoRoom the only plugin,
//! plain HTTP the only transport), driven through its own REST API by the same peers.
//!
//! The load generator keeps one Janus session with a handle per peer connection: a
//! publisher handle per sending endpoint (`joinandconfigure` with our offer), a subscriber
//! handle per receiving endpoint (`join` with the feeds it watches, then `start` with our
//! answer to Janus's offer). Asynchronous answers come through one long poll of the session,
//! dispatched by transaction. The operator's "connect to host" is Janus's `switch` of the
//! host's subscription to another feed, which, like hnth's command, changes what is forwarded
//! without renegotiating.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::peer::{self, PeerSetup, Publish};
use crate::server::ServerProcess;

/// The room every run uses.
const ROOM: u64 = 1234;

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// A running Janus with a session of the load generator's and a room.
pub struct Janus {
    /// The process.
    pub process: ServerProcess,
    base: String,
    http: reqwest::Client,
    session: u64,
    transactions: AtomicU64,
    /// The handle that created the room and asks who publishes.
    admin: u64,
    /// The local address Janus and the peers use for ICE.
    ice_ip: IpAddr,
    waiting: Waiting,
    /// Requests in flight at once: Janus's HTTP server takes about a thousand connections,
    /// and a join storm must not be refused for want of them.
    in_flight: tokio::sync::Semaphore,
    poller: tokio::task::JoinHandle<()>,
    _configs: tempfile::TempDir,
}

/// A publishing endpoint in the room: its feed and its mids.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Janus's id of the publisher.
    pub id: u64,
    /// The mid of its audio line in its offer.
    pub audio_mid: String,
    /// The mid of its video line.
    pub video_mid: String,
}

/// A subscription: which of Janus's offered mids carries which feed's line.
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    handle: u64,
    /// (subscriber mid, feed, feed mid) per stream.
    streams: Vec<(String, u64, String)>,
}

impl Janus {
    /// Starts `binary` with the templates of `configs` on a free loopback port, and opens a
    /// session and the room.
    pub async fn start(binary: &Path, configs: &Path) -> Result<Janus> {
        let folder = tempfile::tempdir()?;
        let port = free_port()?;
        for entry in std::fs::read_dir(configs)
            .with_context(|| format!("no Janus configuration in {}", configs.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "jcfg") {
                let text =
                    std::fs::read_to_string(&path)?.replace("@HTTP_PORT@", &port.to_string());
                std::fs::write(
                    folder.path().join(path.file_name().context("a file name")?),
                    text,
                )?;
            }
        }
        let ice_ip = ice_address()?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--configs-folder={}", folder.path().display()))
            .arg(format!("--ice-enforce-list={ice_ip}"));
        // It logs warnings only, so readiness is its API answering.
        let (mut process, _) =
            ServerProcess::start("janus", command, None, Duration::from_secs(30))?;
        let base = format!("http://127.0.0.1:{port}/janus");
        let http = reqwest::Client::new();
        let ready_by = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{base}/info")).send().await.is_err() {
            if !process.running() || Instant::now() > ready_by {
                bail!("Janus did not start (is the port {port} free? try `janus -F` by hand)");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created: Value = http
            .post(&base)
            .json(&json!({ "janus": "create", "transaction": "create" }))
            .send()
            .await?
            .json()
            .await?;
        let session = created["data"]["id"]
            .as_u64()
            .with_context(|| format!("no session: {created}"))?;
        let waiting: Waiting = Arc::default();
        let poller = tokio::spawn(poll(
            http.clone(),
            format!("{base}/{session}"),
            waiting.clone(),
        ));
        let mut janus = Janus {
            process,
            base,
            http,
            session,
            transactions: AtomicU64::new(0),
            admin: 0,
            ice_ip,
            waiting,
            in_flight: tokio::sync::Semaphore::new(64),
            poller,
            _configs: folder,
        };
        let admin = janus.attach().await?;
        janus.admin = admin;
        let created = janus
            .message(
                admin,
                json!({
                    "request": "create", "room": ROOM, "publishers": 64,
                    "audiocodec": "opus", "videocodec": "vp8", "bitrate": 0,
                    "fir_freq": 0, "notify_joining": false,
                }),
                None,
            )
            .await?;
        if created["plugindata"]["data"]["videoroom"] != "created" {
            bail!("room not created: {created}");
        }
        Ok(janus)
    }

    fn transaction(&self) -> String {
        format!("t{}", self.transactions.fetch_add(1, Ordering::Relaxed))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let _permit = self.in_flight.acquire().await?;
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        Ok(response.json().await?)
    }

    /// A new handle on the VideoRoom plugin.
    async fn attach(&self) -> Result<u64> {
        let attached = self
            .post(
                &format!("/{}", self.session),
                json!({ "janus": "attach", "plugin": "janus.plugin.videoroom",
                        "transaction": self.transaction() }),
            )
            .await?;
        attached["data"]["id"]
            .as_u64()
            .with_context(|| format!("not attached: {attached}"))
    }

    /// Sends a plugin message; returns the plugin's answer (synchronous, or the event that
    /// follows the `ack`).
    async fn message(&self, handle: u64, body: Value, jsep: Option<Value>) -> Result<Value> {
        let transaction = self.transaction();
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(transaction.clone(), tx);
        let mut request = json!({ "janus": "message", "transaction": transaction, "body": body });
        if let Some(jsep) = jsep {
            request["jsep"] = jsep;
        }
        let answer = self
            .post(&format!("/{}/{handle}", self.session), request)
            .await?;
        let answer = match answer["janus"].as_str() {
            Some("ack") => tokio::time::timeout(Duration::from_secs(60), rx)
                .await
                .context("no event from Janus within 60 s")?
                .context("the long poll ended")?,
            _ => {
                self.waiting
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&transaction);
                answer
            }
        };
        if answer["janus"] == "error" || answer["plugindata"]["data"].get("error").is_some() {
            bail!("Janus refused: {answer}");
        }
        Ok(answer)
    }

    /// Joins a publisher (endpoint `idx`) sending audio and video.
    pub async fn publish(&self, idx: u16) -> Result<(PeerSetup, Feed)> {
        let started = Instant::now();
        let (socket, candidate) = peer::bind(self.ice_ip).await?;
        let mut rtc = peer::new_rtc();
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().context("an offer with media lines")?;
        let handle = self.attach().await?;
        let joined = self
            .message(
                handle,
                json!({ "request": "joinandconfigure", "room": ROOM, "ptype": "publisher",
                        "display": format!("EP{idx}"), "audio": true, "video": true }),
                Some(json!({ "type": "offer", "sdp": offer.to_sdp_string(), "trickle": false })),
            )
            .await?;
        let sdp = joined["jsep"]["sdp"]
            .as_str()
            .with_context(|| format!("no answer: {joined}"))?;
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(sdp)?)?;
        let id = joined["plugindata"]["data"]["id"]
            .as_u64()
            .with_context(|| format!("no feed id: {joined}"))?;
        let feed = Feed {
            id,
            audio_mid: audio.to_string(),
            video_mid: video.to_string(),
        };
        let setup = PeerSetup {
            idx,
            rtc,
            socket,
            started,
            negotiated: Instant::now(),
            publish: Publish {
                audio: Some(audio),
                video: Some(video),
            },
            probe: None,
        };
        Ok((setup, feed))
    }

    /// Waits until Janus lists every one of `feeds` as publishing (its PeerConnection up):
    /// before that, subscribing to it is refused ("No such feed").
    pub async fn until_published(&self, feeds: &[Feed], within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let listed = self
                .message(
                    self.admin,
                    json!({ "request": "listparticipants", "room": ROOM }),
                    None,
                )
                .await?;
            let publishing: Vec<u64> = listed["plugindata"]["data"]["participants"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["publisher"] == true)
                        .filter_map(|p| p["id"].as_u64())
                        .collect()
                })
                .unwrap_or_default();
            if feeds.iter().all(|f| publishing.contains(&f.id)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("publishers not up in Janus within {within:?}: {listed}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Joins a receiver (endpoint `idx`) watching `streams`: (feed, which of its lines).
    pub async fn subscribe(
        &self,
        idx: u16,
        streams: &[(&Feed, MediaKind)],
    ) -> Result<(PeerSetup, Subscription)> {
        let started = Instant::now();
        let handle = self.attach().await?;
        let wanted: Vec<Value> = streams
            .iter()
            .map(|(feed, kind)| {
                let mid = if *kind == MediaKind::Audio {
                    &feed.audio_mid
                } else {
                    &feed.video_mid
                };
                json!({ "feed": feed.id, "mid": mid })
            })
            .collect();
        let attached = self
            .message(
                handle,
                json!({ "request": "join", "room": ROOM, "ptype": "subscriber",
                        "streams": wanted }),
                None,
            )
            .await?;
        let offer = attached["jsep"]["sdp"]
            .as_str()
            .with_context(|| format!("no offer: {attached}"))?;
        let (socket, candidate) = peer::bind(self.ice_ip).await?;
        let mut rtc = peer::new_rtc();
        rtc.add_local_candidate(candidate);
        let answer = rtc
            .sdp_api()
            .accept_offer(SdpOffer::from_sdp_string(offer)?)?;
        self.message(
            handle,
            json!({ "request": "start" }),
            Some(json!({ "type": "answer", "sdp": answer.to_sdp_string(), "trickle": false })),
        )
        .await?;
        let subscription = Subscription {
            handle,
            streams: attached["plugindata"]["data"]["streams"]
                .as_array()
                .map(|streams| {
                    streams
                        .iter()
                        .filter_map(|s| {
                            Some((
                                s["mid"].as_str()?.to_string(),
                                s["feed_id"].as_u64()?,
                                s["feed_mid"].as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let setup = PeerSetup {
            idx,
            rtc,
            socket,
            started,
            negotiated: Instant::now(),
            publish: Publish::default(),
            probe: None,
        };
        Ok((setup, subscription))
    }

    /// Switches every stream of `subscription` that carries `from` to the same line of `to`
    /// (the host calling another endpoint).
    pub async fn switch(
        &self,
        subscription: &mut Subscription,
        from: &Feed,
        to: &Feed,
    ) -> Result<()> {
        let mut streams = Vec::new();
        for (sub_mid, feed, feed_mid) in &mut subscription.streams {
            if *feed != from.id {
                continue;
            }
            let new_mid = if *feed_mid == from.audio_mid {
                to.audio_mid.clone()
            } else {
                to.video_mid.clone()
            };
            streams.push(json!({ "feed": to.id, "mid": new_mid, "sub_mid": sub_mid }));
            *feed = to.id;
            *feed_mid = new_mid;
        }
        if streams.is_empty() {
            bail!("the subscription does not carry feed {}", from.id);
        }
        self.message(
            subscription.handle,
            json!({ "request": "switch", "streams": streams }),
            None,
        )
        .await
        .map(drop)
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

/// The session's long poll: hands each event to whoever waits for its transaction.
async fn poll(http: reqwest::Client, url: String, waiting: Waiting) {
    loop {
        let events: Value = match http.get(format!("{url}?maxev=100")).send().await {
            Ok(response) => match response.json().await {
                Ok(events) => events,
                Err(_) => continue,
            },
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let events = match events {
            Value::Array(events) => events,
            event => vec![event],
        };
        for event in events {
            let Some(transaction) = event["transaction"].as_str() else {
                continue;
            };
            let waiter = waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(transaction);
            if let Some(waiter) = waiter {
                let _ = waiter.send(event);
            }
        }
    }
}

/// The address Janus can do ICE on. Janus never gathers loopback candidates (libnice skips
/// loopback interfaces), so both ends use the machine's own IPv4 address instead: datagrams
/// between two local addresses still go through the kernel's loopback device, never a wire.
/// It is the source address of the default route (a UDP `connect` sends nothing).
fn ice_address() -> Result<IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0")?;
    probe
        .connect("192.0.2.1:9")
        .or_else(|_| probe.connect("10.255.255.255:9"))
        .context("no IPv4 route: Janus needs a non-loopback IPv4 address for ICE")?;
    let ip = probe.local_addr()?.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        bail!("no non-loopback IPv4 address for Janus's ICE (found {ip})");
    }
    Ok(ip)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Debian's Janus binary.
pub fn default_binary() -> PathBuf {
    PathBuf::from("/usr/bin/janus")
}
