//! One synthetic WebRTC peer: a str0m `Rtc` in RTP mode on its own loopback UDP socket.
//!
//! A peer publishes what a browser endpoint publishes, shaped like the real thing: an Opus
//! packet of 60 to 120 bytes every 20 ms, and VP8 at 30 frames per second (deltas of 1.2 to
//! 2.8 kB, about 500 kbit/s, keyframes of 10 to 14 kB every 3 s and whenever a receiver asks),
//! cut into packets of at most 1,100 bytes with VP8 payload descriptors and, on keyframes, a
//! real VP8 keyframe header (an SFU may look for it). The last [`TAG_LEN`] bytes of every
//! payload are a [`Tag`]: who sent it, on which track, its sequence number per track and the
//! send time. SFUs forward payloads untouched, so the receiver reads the tag back and knows
//! the source, the loss and the forwarding latency without trusting anything the server
//! rewrote (SSRCs, sequence numbers and timestamps are rewritten by both servers measured).
//!
//! How the peer was negotiated (hnth's WebSocket, Janus's HTTP API) is not its business: it
//! gets an `Rtc` with the answer applied and the mids to send on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use str0m::format::Codec;
use str0m::media::Mid;
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

/// Payload bytes per RTP packet at most, as a browser keeps under the path MTU.
const MAX_PAYLOAD: usize = 1_100;
/// The tag's length at the end of every payload.
pub const TAG_LEN: usize = 16;
/// Marks a tagged payload (a payload of another origin is not counted).
const TAG_MAGIC: u8 = 0xb7;

/// The track a packet was sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// The microphone (Opus).
    Audio = 0,
    /// The camera (VP8).
    Video = 1,
}

/// What the last [`TAG_LEN`] bytes of a payload say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The sending endpoint's index in the load generator.
    pub from: u16,
    /// Its track.
    pub track: Track,
    /// The packet's number on that track, from 1.
    pub seq: u32,
    /// When it was sent, in microseconds since the load generator's epoch.
    pub sent_us: u64,
}

impl Tag {
    fn write(self, payload: &mut [u8]) {
        let at = payload.len() - TAG_LEN;
        let tail = &mut payload[at..];
        tail[0] = TAG_MAGIC;
        tail[1] = self.track as u8;
        tail[2..4].copy_from_slice(&self.from.to_le_bytes());
        tail[4..8].copy_from_slice(&self.seq.to_le_bytes());
        tail[8..16].copy_from_slice(&self.sent_us.to_le_bytes());
    }

    /// Reads the tag off a payload; `None` for a payload the load generator did not send.
    pub fn read(payload: &[u8]) -> Option<Tag> {
        let at = payload.len().checked_sub(TAG_LEN)?;
        let tail = &payload[at..];
        if tail[0] != TAG_MAGIC {
            return None;
        }
        let track = match tail[1] {
            0 => Track::Audio,
            1 => Track::Video,
            _ => return None,
        };
        Some(Tag {
            track,
            from: u16::from_le_bytes([tail[2], tail[3]]),
            seq: u32::from_le_bytes(tail[4..8].try_into().ok()?),
            sent_us: u64::from_le_bytes(tail[8..16].try_into().ok()?),
        })
    }
}

/// Phases of a run, shared by every peer: counters of loss and latency only run while
/// measuring, so the join and the drain are not mixed into the steady state.
pub const WARMING: u8 = 0;
/// The measurement window.
pub const MEASURING: u8 = 1;
/// After the window.
pub const DONE: u8 = 2;

/// What every peer of a run shares with the controller.
pub struct Shared {
    /// The load generator's clock origin, for the tags' send times.
    pub epoch: Instant,
    /// [`WARMING`], [`MEASURING`] or [`DONE`].
    pub phase: AtomicU8,
    /// Tagged RTP packets received by all peers, whatever the phase.
    pub received: AtomicU64,
    /// Endpoints from this index on are receivers.
    pub receivers_from: u16,
    /// Receivers that have had their first media packet.
    pub receiving: AtomicU64,
}

impl Shared {
    /// A fresh run's shared state.
    pub fn new(receivers_from: u16) -> Arc<Shared> {
        Arc::new(Shared {
            receivers_from,
            receiving: AtomicU64::new(0),
            epoch: Instant::now(),
            phase: AtomicU8::new(WARMING),
            received: AtomicU64::new(0),
        })
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }
}

/// A wish of the controller, set on the host's peer: tell me when the first packet from
/// endpoint `from` arrives (control latency).
pub struct Probe {
    /// The endpoint waited for.
    pub from: u16,
    /// Its track waited for.
    pub track: Track,
    /// Told the arrival time.
    pub arrived: oneshot::Sender<Instant>,
}

/// Per received source (endpoint and track), inside the measurement window.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    first_seq: u32,
    max_seq: u32,
    received: u64,
}

/// What one peer saw.
#[derive(Debug)]
pub struct PeerReport {
    /// The endpoint's index.
    pub idx: u16,
    /// From the start of signalling to the first tagged media packet received.
    pub join: Option<Duration>,
    /// ICE and DTLS up, from the start of signalling.
    pub connected: Option<Duration>,
    /// Signalling done (the SDP exchange), from its start.
    pub negotiated: Duration,
    /// Tagged packets received per (sender, track), whatever the phase.
    pub packets: HashMap<(u16, Track), u64>,
    /// Packets expected in the window (per source, highest minus first sequence number + 1).
    pub expected: u64,
    /// Packets received in the window.
    pub in_window: u64,
    /// Forwarding latency in the window, in microseconds.
    pub latency_us: Histogram<u64>,
}

impl PeerReport {
    /// Tagged packets received from `from` on `track`.
    pub fn got(&self, from: u16, track: Track) -> u64 {
        self.packets.get(&(from, track)).copied().unwrap_or(0)
    }
}

/// What a peer sends, on which of its negotiated lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Publish {
    /// The microphone line.
    pub audio: Option<Mid>,
    /// The camera line.
    pub video: Option<Mid>,
}

/// A UDP socket on a local address and the host candidate for it, to add to an `Rtc` before
/// negotiating.
pub async fn bind(ip: std::net::IpAddr) -> anyhow::Result<(UdpSocket, Candidate)> {
    let socket = UdpSocket::bind((ip, 0)).await?;
    let candidate = Candidate::host(socket.local_addr()?, Protocol::Udp)?;
    Ok((socket, candidate))
}

/// A new `Rtc` in RTP mode, as every peer of the load generator uses.
pub fn new_rtc() -> Rtc {
    Rtc::builder()
        .set_rtp_mode(true)
        .build(Instant::now().into_std())
}

/// One running peer.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    shared: Arc<Shared>,
    started: Instant,
    probe: Option<Arc<Mutex<Option<Probe>>>>,
    report: PeerReport,
    windows: HashMap<(u16, Track), Window>,
    /// Deterministic sizes per endpoint (xorshift).
    rng: u64,
    want_keyframe: bool,
    audio_n: u32,
    frame_n: u32,
    video_n: u32,
    audio_pt: Option<str0m::media::Pt>,
    video_pt: Option<str0m::media::Pt>,
}

/// Everything a peer needs to run.
pub struct PeerSetup {
    /// The endpoint's index (tags carry it).
    pub idx: u16,
    /// Negotiated: the answer (or the offer) already applied.
    pub rtc: Rtc,
    /// The socket its candidate names.
    pub socket: UdpSocket,
    /// When signalling began (the join time counts from here).
    pub started: Instant,
    /// When the server's answer (or offer) had been applied.
    pub negotiated: Instant,
    /// What to send.
    pub publish: Publish,
    /// Set on the host's receiving peer in the control scenario.
    pub probe: Option<Arc<Mutex<Option<Probe>>>>,
}

/// Runs a negotiated peer until `stop` turns true (or its `Rtc` fails), then reports.
pub async fn run(
    setup: PeerSetup,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> PeerReport {
    let local = setup
        .socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let pt_of = |rtc: &Rtc, codec: Codec| {
        rtc.codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
    };
    let audio_pt = pt_of(&setup.rtc, Codec::Opus);
    let video_pt = pt_of(&setup.rtc, Codec::Vp8);
    let mut peer = Peer {
        rtc: setup.rtc,
        socket: setup.socket,
        local,
        shared,
        started: setup.started,
        probe: setup.probe,
        report: PeerReport {
            idx: setup.idx,
            join: None,
            connected: None,
            negotiated: setup.negotiated.saturating_duration_since(setup.started),
            packets: HashMap::new(),
            expected: 0,
            in_window: 0,
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("static histogram bounds"),
        },
        windows: HashMap::new(),
        rng: 0x2545_f491_4f6c_dd1d ^ (u64::from(setup.idx) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        want_keyframe: true,
        audio_n: 0,
        frame_n: 0,
        video_n: 0,
        audio_pt,
        video_pt,
    };
    let publish = setup.publish;
    // Encoders produce at a fixed rate whatever the scheduler does: a late tick is made up,
    // as an encoder's queued frames would be sent.
    let mut audio_tick = tokio::time::interval(Duration::from_millis(20));
    let mut video_tick = tokio::time::interval(Duration::from_micros(33_333));
    let mut buf = vec![0u8; 2048];
    loop {
        let Some(timeout) = peer.drain().await else {
            break;
        };
        if *stop.borrow() || !peer.rtc.is_alive() {
            break;
        }
        let sending = peer.report.connected.is_some();
        tokio::select! {
            r = peer.socket.recv_from(&mut buf) => {
                let Ok((len, source)) = r else { continue };
                let Ok(contents) = buf[..len].try_into() else { continue };
                let input = str0m::Input::Receive(
                    Instant::now().into_std(),
                    Receive { proto: Protocol::Udp, source, destination: peer.local, contents },
                );
                // Garbage or a late packet is refused by str0m; the drain above goes on.
                let _ = peer.rtc.handle_input(input);
            }
            _ = tokio::time::sleep_until(timeout) => {
                let _ = peer.rtc.handle_input(str0m::Input::Timeout(Instant::now().into_std()));
            }
            _ = audio_tick.tick(), if sending && publish.audio.is_some() => {
                if let Some(mid) = publish.audio { peer.send_audio(mid).await }
            }
            _ = video_tick.tick(), if sending && publish.video.is_some() => {
                if let Some(mid) = publish.video { peer.send_video(mid).await }
            }
            _ = stop.changed() => {}
        }
    }
    for w in peer.windows.values() {
        peer.report.expected += u64::from(w.max_seq - w.first_seq) + 1;
        peer.report.in_window += w.received;
    }
    peer.report
}

impl Peer {
    fn random(&mut self) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 33) as usize
    }

    /// Drains the `Rtc` to its timeout (str0m's rule after every mutation). `None` once it
    /// has failed.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => return Some(Instant::from_std(t)),
                Ok(str0m::Output::Transmit(t)) => {
                    // Loopback UDP: a datagram the kernel drops is lost, as on a network.
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                }
                Ok(str0m::Output::Event(e)) => self.on_event(e),
                Err(_) => return None,
            }
        }
    }

    fn on_event(&mut self, e: str0m::Event) {
        match e {
            str0m::Event::Connected => self.report.connected = Some(self.started.elapsed()),
            str0m::Event::KeyframeRequest(_) => {
                self.want_keyframe = true;
            }
            str0m::Event::RtpPacket(p) => {
                let Some(tag) = Tag::read(&p.payload) else {
                    return;
                };
                let now = Instant::now();
                self.shared.received.fetch_add(1, Ordering::Relaxed);
                if self.report.join.is_none() {
                    self.report.join = Some(now.saturating_duration_since(self.started));
                    if self.report.idx >= self.shared.receivers_from {
                        self.shared.receiving.fetch_add(1, Ordering::Relaxed);
                    }
                }
                *self
                    .report
                    .packets
                    .entry((tag.from, tag.track))
                    .or_default() += 1;
                if let Some(probe) = &self.probe {
                    let mut wish = probe.lock().unwrap_or_else(|e| e.into_inner());
                    if wish
                        .as_ref()
                        .is_some_and(|w| w.from == tag.from && w.track == tag.track)
                    {
                        if let Some(w) = wish.take() {
                            let _ = w.arrived.send(now);
                        }
                    }
                }
                if self.shared.phase.load(Ordering::Relaxed) == MEASURING {
                    let latency = self.shared.micros(now).saturating_sub(tag.sent_us);
                    let _ = self.report.latency_us.record(latency.max(1));
                    let w = self.windows.entry((tag.from, tag.track)).or_insert(Window {
                        first_seq: tag.seq,
                        max_seq: tag.seq,
                        received: 0,
                    });
                    w.first_seq = w.first_seq.min(tag.seq);
                    w.max_seq = w.max_seq.max(tag.seq);
                    w.received += 1;
                }
            }
            _ => {}
        }
    }

    /// Writes one RTP packet on `mid`, tagged (its sequence number is the tag's), and drains.
    async fn write(
        &mut self,
        mid: Mid,
        pt: Option<str0m::media::Pt>,
        ts: u32,
        last: bool,
        mut payload: Vec<u8>,
        tag: Tag,
    ) {
        let Some(pt) = pt else { return };
        let now = Instant::now();
        Tag {
            sent_us: self.shared.micros(now),
            ..tag
        }
        .write(&mut payload);
        let audio = tag.track == Track::Audio;
        if let Some(tx) = self.rtc.direct_api().stream_tx_by_mid(mid, None) {
            tx.write_rtp(
                RtpWrite::new(pt, u64::from(tag.seq).into(), ts, now.into_std(), payload)
                    .marker(last)
                    .nackable(!audio),
            );
        }
        self.drain().await;
    }

    /// One 20 ms Opus packet: 60 to 120 bytes, as speech at 24 to 48 kbit/s.
    async fn send_audio(&mut self, mid: Mid) {
        self.audio_n += 1;
        let len = 60 + self.random() % 61;
        let seq = self.audio_n;
        let tag = Tag {
            from: self.report.idx,
            track: Track::Audio,
            seq,
            sent_us: 0,
        };
        let pt = self.audio_pt;
        self.write(mid, pt, seq.wrapping_mul(960), true, vec![0x78; len], tag)
            .await;
    }

    /// One VP8 frame, cut into packets.
    async fn send_video(&mut self, mid: Mid) {
        self.frame_n += 1;
        let key = std::mem::take(&mut self.want_keyframe) || self.frame_n % 90 == 1;
        let size = if key {
            10_000 + self.random() % 4_000
        } else {
            1_200 + self.random() % 1_600
        };
        let count = size.div_ceil(MAX_PAYLOAD);
        let ts = self.frame_n.wrapping_mul(3_000);
        for i in 0..count {
            let len = (size - i * MAX_PAYLOAD).clamp(TAG_LEN + 12, MAX_PAYLOAD);
            let mut payload = vec![0x5a; len];
            // Payload descriptor: S (start of partition 0) on the first packet only.
            payload[0] = if i == 0 { 0x10 } else { 0x00 };
            if i == 0 {
                // VP8 frame tag: bit 0 clear on a keyframe (version 0, shown), then on a
                // keyframe the start code and a 640×360 size.
                payload[1] = if key { 0x10 } else { 0x11 };
                payload[2] = 0x02;
                payload[3] = 0x00;
                if key {
                    payload[4..7].copy_from_slice(&[0x9d, 0x01, 0x2a]);
                    payload[7..9].copy_from_slice(&640u16.to_le_bytes());
                    payload[9..11].copy_from_slice(&360u16.to_le_bytes());
                }
            }
            self.video_n += 1;
            let seq = self.video_n;
            let tag = Tag {
                from: self.report.idx,
                track: Track::Video,
                seq,
                sent_us: 0,
            };
            let pt = self.video_pt;
            self.write(mid, pt, ts, i + 1 == count, payload, tag).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reads_back_from_the_end_of_a_payload() {
        let mut payload = vec![0x5a; 40];
        let tag = Tag {
            from: 513,
            track: Track::Video,
            seq: 70_000,
            sent_us: 12_345_678_901,
        };
        tag.write(&mut payload);
        assert_eq!(Tag::read(&payload), Some(tag));
        assert_eq!(payload[0], 0x5a, "the head of the payload is untouched");
        assert_eq!(Tag::read(&payload[..10]), None, "too short");
        assert_eq!(Tag::read(&[0u8; 40]), None, "not ours");
    }
}
