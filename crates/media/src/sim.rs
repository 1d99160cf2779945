//! Test harness: simulated endpoints and a simulated network around one [`Sfu`].
//!
//! Each endpoint is a str0m `Rtc` playing the browser: it offers a microphone, a camera,
//! optionally content, and receive slots; it writes Opus- and VP8-shaped RTP and records
//! what it receives. Datagrams travel through an in-memory network with latency, optional
//! loss and jitter (which reorders), and links that can be cut. Time is an `Instant` this
//! harness advances itself: no sockets, no sleeping, and a run of minutes takes milliseconds.
//!
//! Every payload carries, after a codec-shaped head, the sending endpoint's index and the track, so a receiver can
//! tell whose media reached which slot.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Rtc};

use crate::forward::starts_keyframe;
use crate::{
    Datagram, Event, Input, JoinRequest, Output, PeerId, Role, RoomId, Sfu, SfuConfig, Track,
};

/// The room every test uses.
pub(crate) const ROOM: RoomId = RoomId(1);

/// One packet received by an endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub at: Instant,
    pub mid: Mid,
    /// Index of the endpoint that sent it.
    pub from: usize,
    pub track: Track,
    /// Sequence number as received (after the SFU's rewriting).
    pub seq: u64,
    /// The codec its payload type names at the receiver.
    pub codec: Option<Codec>,
    /// Whether it starts a keyframe.
    pub keyframe: bool,
}

/// A simulated browser endpoint.
pub(crate) struct Client {
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub peer: PeerId,
    pub mic: Mid,
    pub cam: Mid,
    pub content: Option<Mid>,
    /// Its receive-only lines in offer order: audio slot `i` is `audio_slots[i]`.
    pub audio_slots: Vec<Mid>,
    pub video_slots: Vec<Mid>,
    pub connected: bool,
    /// The SFU closed the connection (DTLS close_notify arrived).
    pub closed: bool,
    pub got: Vec<Got>,
    /// Keyframe requests received, per track.
    pub keyframe_requests: Vec<(Instant, Track)>,
    /// Whether it writes media.
    pub sending: bool,
    /// Whether it also writes its content track.
    pub sharing: bool,
    /// The codec of its video (VP8 unless a test sets H.264).
    pub video_codec: Codec,
    /// Per track: the next frame is a keyframe (at start, and after a PLI/FIR).
    want_keyframe: [bool; 3],
    next_audio: Instant,
    next_video: Instant,
    /// Packets written per track, which give each its sequence numbers and timestamps.
    counter: [u64; 3],
    timeout: Instant,
    pending: Option<SdpPendingOffer>,
}

struct InFlight {
    at: Instant,
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}

/// The world: one SFU, its endpoints, the network and the clock.
pub(crate) struct Sim {
    pub now: Instant,
    pub sfu: Sfu,
    pub sfu_addr: SocketAddr,
    pub clients: Vec<Client>,
    pub events: Vec<(Instant, Event)>,
    net: VecDeque<InFlight>,
    /// Probability that a media-phase datagram is lost.
    pub loss: f64,
    /// Up to this much extra delay per datagram, which reorders them.
    pub jitter: Duration,
    /// Addresses whose link is cut in both directions.
    pub cut: HashSet<SocketAddr>,
    rng: u64,
}

const LATENCY: Duration = Duration::from_millis(10);

impl Sim {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        let sfu_addr: SocketAddr = "127.0.0.1:3478".parse().expect("literal address");
        let mut sfu = Sfu::new(SfuConfig::new(sfu_addr), now);
        sfu.create_room(ROOM).expect("fresh SFU has no rooms");
        Self {
            now,
            sfu,
            sfu_addr,
            clients: Vec::new(),
            events: Vec::new(),
            net: VecDeque::new(),
            loss: 0.0,
            jitter: Duration::ZERO,
            cut: HashSet::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// A deterministic xorshift, so failures replay exactly.
    fn random(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Adds an endpoint that offers a microphone, a camera, content if `content`, and the
    /// given receive slots; returns its index.
    pub(crate) fn join(
        &mut self,
        role: Role,
        invited: bool,
        audio_slots: usize,
        video_slots: usize,
        content: bool,
    ) -> usize {
        let idx = self.clients.len();
        let addr: SocketAddr = format!("127.0.0.{}:5000", 10 + idx)
            .parse()
            .expect("literal address");
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, Protocol::Udp).expect("host candidate"));
        let mut api = rtc.sdp_api();
        let mic = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let cam = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let content_mid =
            content.then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        let audio_slots: Vec<Mid> = (0..audio_slots)
            .map(|_| api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None))
            .collect();
        let video_slots: Vec<Mid> = (0..video_slots)
            .map(|_| api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
            .collect();
        let (offer, pending) = api.apply().expect("offer has media");
        let join = JoinRequest {
            endpoint: format!("EP{idx}"),
            role,
            invited,
        };
        let (peer, answer) = self
            .sfu
            .add_peer(self.now, ROOM, join, &offer.to_sdp_string())
            .expect("SFU accepts a str0m offer");
        self.drain_sfu();
        let mut client = Client {
            rtc,
            addr,
            peer,
            mic,
            cam,
            content: content_mid,
            audio_slots,
            video_slots,
            connected: false,
            closed: false,
            got: Vec::new(),
            keyframe_requests: Vec::new(),
            sending: true,
            sharing: false,
            video_codec: Codec::Vp8,
            want_keyframe: [true; 3],
            next_audio: self.now,
            next_video: self.now,
            counter: [0; 3],
            timeout: self.now,
            pending: Some(pending),
        };
        let answer = SdpAnswer::from_sdp_string(&answer).expect("SFU answer parses");
        let pending = client.pending.take().expect("set above");
        client
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer matches offer");
        self.clients.push(client);
        self.drain_client(idx);
        idx
    }

    /// Runs the world for `d` of simulated time.
    pub(crate) fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
            let mut next = end;
            if let Some(p) = self.net.iter().map(|p| p.at).min() {
                next = next.min(p);
            }
            for c in &self.clients {
                next = next.min(c.timeout);
                if c.sending && c.connected {
                    next = next.min(c.next_audio).min(c.next_video);
                }
            }
            next = next.min(self.sfu_timeout());
            // Always move forward, even if something is due now (it was just handled).
            self.now = next.max(self.now + Duration::from_micros(100));
        }
    }

    /// Runs until every endpoint is connected, or panics after a simulated minute.
    pub(crate) fn connect(&mut self) {
        let until = self.now + Duration::from_secs(60);
        while self.clients.iter().any(|c| !c.connected) {
            assert!(self.now < until, "endpoints did not connect");
            self.run(Duration::from_millis(10));
        }
    }

    fn sfu_timeout(&mut self) -> Instant {
        match self.sfu.poll_output() {
            Output::Timeout(t) => t,
            // The SFU is always drained after input; anything else here is a harness bug.
            other => panic!("undrained SFU output: {other:?}"),
        }
    }

    fn step(&mut self) {
        let now = self.now;
        // Deliver what has arrived.
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.net.len() {
            if self.net[i].at <= now {
                due.push(self.net.remove(i).expect("index in range"));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|p| p.at);
        for p in due {
            if p.to == self.sfu_addr {
                self.sfu.handle_input(Input::Receive(
                    now,
                    Datagram {
                        source: p.from,
                        destination: p.to,
                        contents: &p.data,
                    },
                ));
                self.drain_sfu();
            } else if let Some(idx) = self.clients.iter().position(|c| c.addr == p.to) {
                let c = &mut self.clients[idx];
                let Ok(contents) = p.data.as_slice().try_into() else {
                    continue;
                };
                let r = Receive {
                    proto: Protocol::Udp,
                    source: p.from,
                    destination: p.to,
                    contents,
                };
                // A client that was dropped may refuse input; that is its business.
                let _ = c.rtc.handle_input(str0m::Input::Receive(now, r));
                self.drain_client(idx);
            }
        }
        // Media.
        for idx in 0..self.clients.len() {
            self.write_media(idx);
        }
        // Timeouts.
        if self.sfu_timeout() <= now {
            self.sfu.handle_input(Input::Timeout(now));
            self.drain_sfu();
        }
        for idx in 0..self.clients.len() {
            if self.clients[idx].timeout <= now {
                let _ = self.clients[idx]
                    .rtc
                    .handle_input(str0m::Input::Timeout(now));
                self.drain_client(idx);
            }
        }
    }

    fn write_media(&mut self, idx: usize) {
        let now = self.now;
        let c = &self.clients[idx];
        if !c.sending || !c.connected {
            return;
        }
        let mut writes: Vec<(Mid, Track, Codec)> = Vec::new();
        if c.next_audio <= now {
            writes.push((c.mic, Track::Audio, Codec::Opus));
        }
        if c.next_video <= now {
            writes.push((c.cam, Track::Camera, c.video_codec));
            if let (true, Some(m)) = (c.sharing, c.content) {
                writes.push((m, Track::Content, c.video_codec));
            }
        }
        for (mid, track, codec) in writes {
            let c = &mut self.clients[idx];
            c.counter[track as usize] += 1;
            let n = c.counter[track as usize];
            let (step, ts) = match track {
                Track::Audio => (Duration::from_millis(20), (n * 960) as u32),
                _ => (Duration::from_millis(33), (n * 3000) as u32),
            };
            if track == Track::Audio {
                c.next_audio = now + step;
            } else if track == Track::Camera {
                c.next_video = now + step;
            }
            let Some(pt) = c
                .rtc
                .codec_config()
                .find(|p| p.spec().codec == codec)
                .map(|p| p.pt())
            else {
                continue;
            };
            // A codec-shaped head, so the SFU can tell keyframes: VP8 descriptor (S=1)
            // and payload header (P bit), or an H.264 NAL header (IDR or P slice).
            let key = track.is_video() && std::mem::take(&mut c.want_keyframe[track as usize]);
            let head = match (track, codec) {
                (Track::Audio, _) => [0, 0],
                (_, Codec::H264) => [if key { 0x65 } else { 0x41 }, 0x88],
                _ => [0x10, if key { 0x00 } else { 0x01 }],
            };
            let mut payload = vec![head[0], head[1], idx as u8, track as u8];
            payload.extend_from_slice(&n.to_be_bytes());
            payload.resize(200, 0xab);
            let mut api = c.rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                continue;
            };
            let seq = 1000 + n;
            tx.write_rtp(
                RtpWrite::new(pt, seq.into(), ts, now, payload)
                    .marker(true)
                    .nackable(track != Track::Audio),
            );
            self.drain_client(idx);
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>, media_phase: bool) {
        if self.cut.contains(&from) || self.cut.contains(&to) {
            return;
        }
        if media_phase && self.loss > 0.0 && self.random() < self.loss {
            return;
        }
        let extra = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.jitter.mul_f64(self.random())
        };
        self.net.push_back(InFlight {
            at: self.now + LATENCY + extra,
            from,
            to,
            data,
        });
    }

    pub(crate) fn drain_sfu(&mut self) {
        loop {
            match self.sfu.poll_output() {
                Output::Transmit(t) => {
                    let connected = self
                        .clients
                        .iter()
                        .find(|c| c.addr == t.destination)
                        .is_some_and(|c| c.connected);
                    self.send(t.source, t.destination, t.contents.to_vec(), connected);
                }
                Output::Event(e) => self.events.push((self.now, e)),
                Output::Timeout(_) => break,
            }
        }
    }

    fn drain_client(&mut self, idx: usize) {
        let now = self.now;
        loop {
            let c = &mut self.clients[idx];
            let out = match c.rtc.poll_output() {
                Ok(o) => o,
                // A client the SFU dropped may end in an error; it just stops.
                Err(_) => {
                    c.timeout = now + Duration::from_secs(3600);
                    break;
                }
            };
            match out {
                str0m::Output::Timeout(t) => {
                    c.timeout = t;
                    break;
                }
                str0m::Output::Transmit(t) => {
                    let connected = c.connected;
                    self.send(t.source, t.destination, t.contents.to_vec(), connected);
                }
                str0m::Output::Event(e) => match e {
                    str0m::Event::Connected => c.connected = true,
                    str0m::Event::Closed => c.closed = true,
                    str0m::Event::RtpPacket(p) => {
                        let mid = c
                            .rtc
                            .direct_api()
                            .stream_rx(&p.header.ssrc)
                            .map(|s| s.mid());
                        let track = match p.payload.get(3) {
                            Some(0) => Some(Track::Audio),
                            Some(1) => Some(Track::Camera),
                            Some(2) => Some(Track::Content),
                            _ => None,
                        };
                        let codec = c
                            .rtc
                            .codec_config()
                            .find(|x| x.pt() == p.header.payload_type)
                            .map(|x| x.spec().codec);
                        let keyframe = codec.is_some_and(|k| starts_keyframe(k, &p.payload));
                        if let (Some(mid), Some(track), Some(from)) = (mid, track, p.payload.get(2))
                        {
                            c.got.push(Got {
                                at: now,
                                mid,
                                from: *from as usize,
                                track,
                                seq: *p.seq_no,
                                codec,
                                keyframe,
                            });
                        }
                    }
                    str0m::Event::KeyframeRequest(r) => {
                        let track = if Some(r.mid) == c.content {
                            Track::Content
                        } else {
                            Track::Camera
                        };
                        c.keyframe_requests.push((now, track));
                        c.want_keyframe[track as usize] = true;
                    }
                    _ => {}
                },
            }
        }
    }

    /// Sources (endpoint index, track) that endpoint `idx` received since `since`.
    pub(crate) fn sources_at(&self, idx: usize, since: Instant) -> HashSet<(usize, Track)> {
        self.clients[idx]
            .got
            .iter()
            .filter(|g| g.at >= since)
            .map(|g| (g.from, g.track))
            .collect()
    }

    /// How many packets of `from`'s `track` endpoint `idx` received since `since`.
    pub(crate) fn count_at(&self, idx: usize, from: usize, track: Track, since: Instant) -> usize {
        self.clients[idx]
            .got
            .iter()
            .filter(|g| g.at >= since && g.from == from && g.track == track)
            .count()
    }

    /// The first packet of `from`'s `track` that endpoint `idx` received since `since`.
    pub(crate) fn first_at(
        &self,
        idx: usize,
        from: usize,
        track: Track,
        since: Instant,
    ) -> Option<&Got> {
        self.clients[idx]
            .got
            .iter()
            .find(|g| g.at >= since && g.from == from && g.track == track)
    }

    /// The peer id of endpoint `idx`.
    pub(crate) fn peer(&self, idx: usize) -> PeerId {
        self.clients[idx].peer
    }

    /// Applies a command as `actor` and drains the SFU.
    pub(crate) fn command(
        &mut self,
        actor: crate::Actor,
        cmd: crate::Command,
    ) -> Result<(), crate::Error> {
        let r = self.sfu.command(self.now, ROOM, actor, cmd);
        self.drain_sfu();
        r
    }
}

impl Sim {
    /// Endpoint `idx` hangs up: it closes its connection as a browser closing the tab would.
    pub(crate) fn hang_up(&mut self, idx: usize) {
        let c = &mut self.clients[idx];
        c.sending = false;
        c.rtc.close().expect("close an open Rtc");
        self.drain_client(idx);
    }
}
