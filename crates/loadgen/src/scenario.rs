//! The four scenarios, the same for both servers, and the figures of one run.
//!
//! A run starts the server fresh, joins the publishers (the host; the speakers or the
//! candidates to call), sets the room up (hnth: layouts and unmutes by the MCU operator;
//! Janus: which feeds each receiver subscribes to), joins N receivers, lets media settle,
//! and measures a steady window: packets received, the server's CPU time over the window,
//! loss and forwarding latency. The control scenario then calls candidates to the host one
//! after another and times each call until the candidate's first audio packet reaches the
//! host. Receivers never publish: they are the many small rooms that watch the chair.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use str0m::media::MediaKind;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::hnth::Hnth;
use crate::janus::{Feed, Janus, Subscription};
use crate::peer::{self, PeerReport, PeerSetup, Probe, Shared, Track};
use crate::server::{kernel_udp_drops, ServerProcess};

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The host publishes audio and video; N receivers watch it.
    Broadcast,
    /// The host and 4 speakers on everyone's screen (the host's and 3 speakers' audio).
    Interactive,
    /// As broadcast, but the N receivers all join within 10 s.
    JoinStorm,
    /// As broadcast, plus 10 publishing candidates called to the host one after another.
    Control,
}

impl Scenario {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Broadcast => "broadcast",
            Scenario::Interactive => "interactive",
            Scenario::JoinStorm => "join-storm",
            Scenario::Control => "control",
        }
    }

    /// Endpoints that publish besides the host.
    fn extra_publishers(self) -> u16 {
        match self {
            Scenario::Interactive => SPEAKERS,
            Scenario::Control => CANDIDATES,
            Scenario::Broadcast | Scenario::JoinStorm => 0,
        }
    }
}

const SPEAKERS: u16 = 4;
/// Of the speakers, how many are heard (hnth's endpoints have 4 audio receive slots: the
/// host's and 3 more).
const HEARD_SPEAKERS: u16 = 3;
const CANDIDATES: u16 = 10;
/// Calls timed in the control scenario.
const CALLS: usize = 20;
/// The join storm's spread.
const STORM: Duration = Duration::from_secs(10);

/// Which server, and how to start it.
#[derive(Debug, Clone)]
pub enum ServerKind {
    /// hnth, its binary.
    Hnth {
        /// `hnth`.
        binary: PathBuf,
    },
    /// Janus, its binary and configuration templates.
    Janus {
        /// `janus`.
        binary: PathBuf,
        /// The folder of `.jcfg` templates.
        configs: PathBuf,
    },
}

impl ServerKind {
    /// `hnth` or `janus`.
    pub fn name(&self) -> &'static str {
        match self {
            ServerKind::Hnth { .. } => "hnth",
            ServerKind::Janus { .. } => "janus",
        }
    }
}

/// How long to measure, and how patient to be.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Media flows this long after the joins before the window opens.
    pub settle: Duration,
    /// The measurement window.
    pub window: Duration,
    /// A receiver without media this long after its join started counts as failed.
    pub join_deadline: Duration,
    /// Joins in flight at once, outside the join storm.
    pub join_concurrency: usize,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            settle: Duration::from_secs(2),
            window: Duration::from_secs(8),
            join_deadline: Duration::from_secs(30),
            join_concurrency: 16,
        }
    }
}

/// The figures of one run. Durations in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Figures {
    /// `hnth` or `janus`.
    pub server: String,
    /// The scenario's name.
    pub scenario: String,
    /// Receivers asked for.
    pub n: usize,
    /// Receivers that got media within the deadline.
    pub joined: usize,
    /// Receivers that, by the end, had not received both the host's audio and its video.
    pub receivers_without_host: usize,
    /// Join (signalling start → first media packet), percentiles over the receivers.
    pub join_p50_ms: Option<f64>,
    /// 95th percentile.
    pub join_p95_ms: Option<f64>,
    /// 99th percentile.
    pub join_p99_ms: Option<f64>,
    /// Part of the join: the SDP exchange over the server's signalling, median.
    pub negotiated_p50_ms: Option<f64>,
    /// Part of the join: signalling start → ICE and DTLS up, median.
    pub connected_p50_ms: Option<f64>,
    /// Packets received by all endpoints per second of the window.
    pub forwarded_pps: f64,
    /// The server's CPU share over the window (100 = one core).
    pub server_cpu_pct: f64,
    /// Server CPU seconds per million packets forwarded in the window.
    pub cpu_s_per_mpkt: Option<f64>,
    /// The server's peak resident memory.
    pub peak_memory_mib: f64,
    /// Packets missing at receivers in the window, of those sent to them.
    pub loss_pct: f64,
    /// Datagrams the kernel dropped (receive buffers full) during the window.
    pub kernel_udp_drops: u64,
    /// Forwarding latency (sender's write → receiver's decryption), over the window.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile.
    pub latency_p99_ms: Option<f64>,
    /// Control latency (command sent → the called endpoint's first packet at the host).
    pub control_p50_ms: Option<f64>,
    /// 99th percentile.
    pub control_p99_ms: Option<f64>,
    /// Why the run stopped short, if it did.
    pub failure: Option<String>,
}

/// The server of a run, started.
enum Target {
    Hnth(Hnth),
    Janus(Janus),
}

impl Target {
    fn process(&mut self) -> &mut ServerProcess {
        match self {
            Target::Hnth(h) => &mut h.process,
            Target::Janus(j) => &mut j.process,
        }
    }
}

/// How the host receives in the control scenario.
enum HostEar {
    Hnth,
    Janus(Subscription),
}

/// Runs one scenario against one server with `n` receivers and returns its figures; a run
/// that cannot complete returns what it measured with `failure` set.
pub async fn run(kind: &ServerKind, scenario: Scenario, n: usize, timing: Timing) -> Figures {
    let mut figures = Figures {
        server: kind.name().into(),
        scenario: scenario.name().into(),
        n,
        ..Figures::default()
    };
    if let Err(error) = run_into(kind, scenario, n, timing, &mut figures).await {
        figures.failure = Some(format!("{error:#}"));
    }
    figures
}

async fn run_into(
    kind: &ServerKind,
    scenario: Scenario,
    n: usize,
    timing: Timing,
    figures: &mut Figures,
) -> Result<()> {
    let publishers = scenario.extra_publishers();
    let receivers_from = 1 + publishers;
    let target = match kind {
        ServerKind::Hnth { binary } => {
            Target::Hnth(Hnth::start(binary, usize::from(publishers) + n).await?)
        }
        ServerKind::Janus { binary, configs } => {
            Target::Janus(Janus::start(binary, configs).await?)
        }
    };
    let shared = Shared::new(receivers_from);
    let (stop_tx, stop) = watch::channel(false);
    let mut peers: Vec<JoinHandle<PeerReport>> = Vec::new();
    let spawn = |setup: PeerSetup, peers: &mut Vec<JoinHandle<PeerReport>>| {
        peers.push(tokio::spawn(peer::run(setup, shared.clone(), stop.clone())));
    };
    let probe: Arc<Mutex<Option<Probe>>> = Arc::default();

    // Publishers: the host (0), then speakers or candidates (1…).
    let mut feeds: Vec<Feed> = Vec::new();
    let mut hnth_peers: Vec<u64> = Vec::new();
    let mut ear = None;
    for idx in 0..receivers_from {
        match &target {
            Target::Hnth(h) => {
                let (mut setup, peer_number) = h.join(idx, true, stop.clone()).await?;
                if idx == 0 {
                    setup.probe = Some(probe.clone());
                    ear = Some(HostEar::Hnth);
                }
                hnth_peers.push(peer_number);
                spawn(setup, &mut peers);
            }
            Target::Janus(j) => {
                let (setup, feed) = j.publish(idx).await?;
                feeds.push(feed);
                spawn(setup, &mut peers);
            }
        }
    }
    // The room's set-up.
    match &target {
        Target::Hnth(h) => {
            let peer_of = |i: u16| hnth_peers[usize::from(i)];
            match scenario {
                Scenario::Broadcast | Scenario::JoinStorm | Scenario::Control => {
                    h.command(json!({"command": "set_layout", "scope": "everyone",
                                     "layout": "single_speaker"}))
                        .await?;
                    h.command(json!({"command": "set_layout", "scope": "host",
                                     "layout": "single_speaker"}))
                        .await?;
                }
                Scenario::Interactive => {
                    let cells: Vec<_> = (0..=SPEAKERS)
                        .map(|i| json!({"peer": peer_of(i), "track": "camera"}))
                        .collect();
                    h.command(json!({"command": "set_layout", "scope": "everyone",
                                     "layout": "custom", "cells": cells}))
                        .await?;
                    for i in 1..=HEARD_SPEAKERS {
                        h.command(json!({"command": "mute_audio", "peer": peer_of(i),
                                         "muted": false}))
                            .await?;
                    }
                }
            }
        }
        Target::Janus(j) => {
            j.until_published(&feeds, Duration::from_secs(30)).await?;
            if scenario == Scenario::Control {
                // The host hears and sees the first candidate; calls switch it.
                let (mut setup, subscription) = j
                    .subscribe(
                        0,
                        &[(&feeds[1], MediaKind::Audio), (&feeds[1], MediaKind::Video)],
                    )
                    .await?;
                setup.probe = Some(probe.clone());
                spawn(setup, &mut peers);
                ear = Some(HostEar::Janus(subscription));
            }
        }
    }
    // What each Janus receiver subscribes to: what hnth's layout forwards to it.
    let watched: Vec<(Feed, MediaKind)> = match scenario {
        Scenario::Interactive if !feeds.is_empty() => {
            let mut w = vec![(feeds[0].clone(), MediaKind::Audio)];
            w.extend(
                (1..=usize::from(HEARD_SPEAKERS)).map(|i| (feeds[i].clone(), MediaKind::Audio)),
            );
            w.extend((0..=usize::from(SPEAKERS)).map(|i| (feeds[i].clone(), MediaKind::Video)));
            w
        }
        _ if !feeds.is_empty() => vec![
            (feeds[0].clone(), MediaKind::Audio),
            (feeds[0].clone(), MediaKind::Video),
        ],
        _ => Vec::new(),
    };

    // Receivers.
    let target = Arc::new(target);
    let storm = scenario == Scenario::JoinStorm;
    let gate = Arc::new(Semaphore::new(if storm {
        n.max(1)
    } else {
        timing.join_concurrency.max(1)
    }));
    let joins_started = Instant::now();
    let mut joins = Vec::with_capacity(n);
    for i in 0..n {
        let idx = receivers_from + u16::try_from(i).context("at most 65,000 endpoints")?;
        let target = target.clone();
        let gate = gate.clone();
        let watched = watched.clone();
        let stop = stop.clone();
        let at = joins_started + STORM.mul_f64(i as f64 / n as f64);
        joins.push(tokio::spawn(async move {
            if storm {
                tokio::time::sleep_until(at).await;
            }
            let _permit = gate.acquire().await;
            match &*target {
                Target::Hnth(h) => h.join(idx, false, stop).await.map(|(s, _)| s),
                Target::Janus(j) => {
                    let streams: Vec<(&Feed, MediaKind)> =
                        watched.iter().map(|(f, k)| (f, *k)).collect();
                    j.subscribe(idx, &streams).await.map(|(s, _)| s)
                }
            }
        }));
    }
    let mut join_failures = Vec::new();
    for join in joins {
        match join.await? {
            Ok(setup) => spawn(setup, &mut peers),
            Err(e) => join_failures.push(format!("{e:#}")),
        }
    }
    // Media reach every receiver, or the deadline passes.
    let deadline = Instant::now() + timing.join_deadline;
    let expected_receivers = n - join_failures.len();
    while Instant::now() < deadline
        && shared.receiving.load(Ordering::Relaxed) < expected_receivers as u64
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(timing.settle).await;

    // The steady window.
    let mut target = Arc::try_unwrap(target)
        .map_err(|_| anyhow::anyhow!("a join task still holds the server"))?;
    let process = target.process();
    let cpu_before = process.cpu_seconds()?;
    let drops_before = kernel_udp_drops();
    let received_before = shared.received.load(Ordering::Relaxed);
    let window_start = Instant::now();
    shared.phase.store(peer::MEASURING, Ordering::Relaxed);
    tokio::time::sleep(timing.window).await;
    shared.phase.store(peer::DONE, Ordering::Relaxed);
    let window = window_start.elapsed().as_secs_f64();
    let received = shared.received.load(Ordering::Relaxed) - received_before;
    let cpu = target.process().cpu_seconds()? - cpu_before;
    figures.kernel_udp_drops = kernel_udp_drops().saturating_sub(drops_before);
    figures.forwarded_pps = received as f64 / window;
    figures.server_cpu_pct = cpu / window * 100.0;
    if received > 0 {
        figures.cpu_s_per_mpkt = Some(cpu / (received as f64 / 1e6));
    }

    // Calls to the host.
    if scenario == Scenario::Control {
        let timings = match (&mut target, ear) {
            (Target::Hnth(h), Some(HostEar::Hnth)) => call_hnth(h, &hnth_peers, &probe).await?,
            (Target::Janus(j), Some(HostEar::Janus(mut subscription))) => {
                call_janus(j, &feeds, &mut subscription, &probe).await?
            }
            _ => bail!("the host has no ear"),
        };
        let mut ms: Vec<f64> = timings.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        figures.control_p50_ms = percentile(&ms, 50.0);
        figures.control_p99_ms = percentile(&ms, 99.0);
    }
    figures.peak_memory_mib = target.process().peak_memory_mib()?;
    let still_up = target.process().running();

    // Everyone hangs up; the reports.
    let _ = stop_tx.send(true);
    let mut reports = Vec::with_capacity(peers.len());
    for p in peers {
        if let Ok(Ok(report)) = tokio::time::timeout(Duration::from_secs(10), p).await {
            reports.push(report);
        }
    }
    let receivers: Vec<&PeerReport> = reports.iter().filter(|r| r.idx >= receivers_from).collect();
    let mut joins_ms: Vec<f64> = receivers
        .iter()
        .filter_map(|r| r.join)
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    joins_ms.sort_by(f64::total_cmp);
    figures.joined = joins_ms.len();
    figures.receivers_without_host = n.saturating_sub(
        receivers
            .iter()
            .filter(|r| r.got(0, Track::Audio) > 0 && r.got(0, Track::Video) > 0)
            .count(),
    );
    figures.join_p50_ms = percentile(&joins_ms, 50.0);
    figures.join_p95_ms = percentile(&joins_ms, 95.0);
    figures.join_p99_ms = percentile(&joins_ms, 99.0);
    let mut connected_ms: Vec<f64> = receivers
        .iter()
        .filter_map(|r| r.connected)
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    connected_ms.sort_by(f64::total_cmp);
    figures.connected_p50_ms = percentile(&connected_ms, 50.0);
    let mut negotiated_ms: Vec<f64> = receivers
        .iter()
        .map(|r| r.negotiated.as_secs_f64() * 1e3)
        .collect();
    negotiated_ms.sort_by(f64::total_cmp);
    figures.negotiated_p50_ms = percentile(&negotiated_ms, 50.0);
    let expected: u64 = reports.iter().map(|r| r.expected).sum();
    let in_window: u64 = reports.iter().map(|r| r.in_window).sum();
    if expected > 0 {
        figures.loss_pct = (expected.saturating_sub(in_window)) as f64 * 100.0 / expected as f64;
    }
    let mut latency = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .expect("static histogram bounds");
    for r in &reports {
        let _ = latency.add(&r.latency_us);
    }
    if !latency.is_empty() {
        figures.latency_p50_ms = Some(latency.value_at_quantile(0.50) as f64 / 1e3);
        figures.latency_p99_ms = Some(latency.value_at_quantile(0.99) as f64 / 1e3);
    }
    drop(target);

    if !still_up {
        bail!("the server died during the run");
    }
    if !join_failures.is_empty() {
        bail!(
            "{} of {n} receivers could not join (first: {})",
            join_failures.len(),
            join_failures[0]
        );
    }
    if figures.joined < n {
        bail!(
            "{} of {n} receivers got no media within {:?}",
            n - figures.joined,
            timing.join_deadline
        );
    }
    Ok(())
}

/// Calls candidates 1… to the host by the operator's REST command, each until its first
/// audio packet reaches the host, then releases it.
async fn call_hnth(h: &Hnth, peers: &[u64], probe: &Mutex<Option<Probe>>) -> Result<Vec<Duration>> {
    let mut timings = Vec::with_capacity(CALLS);
    for call in 0..CALLS {
        let candidate = 1 + (call % usize::from(CANDIDATES)) as u16;
        let peer = peers[usize::from(candidate)];
        let (tx, rx) = oneshot::channel();
        *probe.lock().unwrap_or_else(|e| e.into_inner()) = Some(Probe {
            from: candidate,
            track: Track::Audio,
            arrived: tx,
        });
        let sent = Instant::now();
        h.command(json!({"command": "connect_to_host", "peer": peer}))
            .await?;
        let arrived = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .with_context(|| format!("call {call}: nothing from the candidate within 30 s"))??;
        timings.push(arrived - sent);
        h.command(json!({"command": "disconnect_from_host", "peer": peer}))
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(timings)
}

/// Switches the host's subscription from candidate to candidate (Janus's equivalent).
async fn call_janus(
    j: &Janus,
    feeds: &[Feed],
    subscription: &mut Subscription,
    probe: &Mutex<Option<Probe>>,
) -> Result<Vec<Duration>> {
    let mut timings = Vec::with_capacity(CALLS);
    let mut current = 1usize;
    for call in 0..CALLS {
        // Candidates 2…10, 1, 2…: never the one already on.
        let next = 1 + (call + 1) % usize::from(CANDIDATES);
        let (tx, rx) = oneshot::channel();
        *probe.lock().unwrap_or_else(|e| e.into_inner()) = Some(Probe {
            from: u16::try_from(next)?,
            track: Track::Audio,
            arrived: tx,
        });
        let sent = Instant::now();
        j.switch(subscription, &feeds[current], &feeds[next])
            .await?;
        let arrived = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .with_context(|| format!("call {call}: nothing from the candidate within 30 s"))??;
        timings.push(arrived - sent);
        current = next;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(timings)
}

/// The `p`-th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
