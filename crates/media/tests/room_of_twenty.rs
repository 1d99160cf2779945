//! One host and twenty endpoints in one room, over real loopback UDP: the acceptance
//! run ("a session of 1 host and at least 20 endpoints runs on the 2-core machine, every
//! endpoint receiving the host").
//!
//! The driver runs on a two-thread runtime, as on the 2-core server. Every endpoint is a
//! str0m peer on its own UDP socket that offers what the conference protocol prescribes (a
//! microphone, a camera, a content line, 4 audio and 9 video receive slots), sends Opus-sized
//! audio every 20 ms and VP8-shaped video at 30 frames per second (deltas of one to three
//! packets, keyframes of ten or more every 3 s and on request), and counts what it receives.
//! The twenty members join at once, as they do when a session opens. Halfway through, the
//! host calls one member to the host.
//!
//! The assertions are about what arrives, never about speed: every member must have received
//! the host's audio and video at no less than a quarter of the rate sent over the time it was
//! connected (a floor far below what an idle machine delivers, so a loaded one passes), the
//! muted members' microphones must not reach anyone, and each receive slot must carry the
//! source that the room's snapshot plans for it. The figures of the run (join times, packets
//! forwarded, wall time) are printed for the record; run with `--nocapture` to see them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use hnth_media::driver::{self, DriverConfig, MediaHandle};
use hnth_media::{
    Actor, Command, Event, JoinRequest, Layout, LayoutScope, MemberSnapshot, PeerId, Role, RoomId,
    RoomSnapshot, Track,
};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::Instant;

const ROOM: RoomId = RoomId(20);
const MEMBERS: u8 = 20;
/// How long media flows once everyone is connected.
const MEDIA: Duration = Duration::from_secs(5);
/// The member the host calls halfway through.
const CALLED: u8 = 7;
/// Receive slots, as the protocol recommends (9 video slots allow a 3×3 layout).
const AUDIO_SLOTS: usize = 4;
const VIDEO_SLOTS: usize = 9;
/// Payload bytes per RTP packet at most, as a browser keeps under the path MTU.
const MAX_PAYLOAD: usize = 1_100;
/// Every payload carries, at these offsets, the sender's index and the track's tag.
const TAG_FROM: usize = 2;
const TAG_TRACK: usize = 3;
const AUDIO: u8 = 0;
const CAMERA: u8 = 1;

/// What one endpoint measured and received.
#[derive(Debug, Default)]
struct Report {
    idx: u8,
    peer: Option<PeerId>,
    /// From the start of the join to the SDP answer.
    answered: Option<Duration>,
    /// From the start of the join to ICE and DTLS up.
    connected: Option<Duration>,
    connected_at: Option<Instant>,
    /// Its receive-only lines in offer order: slot `i` of a kind is the `i`-th of them.
    audio_mids: Vec<Mid>,
    video_mids: Vec<Mid>,
    /// RTP packets received per (sender, track).
    packets: HashMap<(u8, u8), u64>,
    /// Video frames received (packets with the marker bit) per sender.
    frames: HashMap<u8, u64>,
    /// The source of the last packet received on each receive line.
    last_on: HashMap<Mid, (u8, u8)>,
    sent_packets: u64,
    keyframes_sent: u64,
    keyframe_requests: u64,
}

impl Report {
    fn got(&self, from: u8, track: u8) -> u64 {
        self.packets.get(&(from, track)).copied().unwrap_or(0)
    }
}

/// One endpoint: a str0m peer on its own loopback socket.
struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    start: Instant,
    report: Report,
    /// Per endpoint, so the sizes differ between endpoints yet replay exactly.
    rng: u64,
    want_keyframe: bool,
    audio_n: u64,
    frame_n: u64,
    video_seq: u64,
}

impl Client {
    /// xorshift: deterministic sizes.
    fn random(&mut self) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 33) as usize
    }

    /// Drains the `Rtc` to its timeout (str0m's rule after every mutation): sends what it
    /// wants sent and records what it received. `None` once the `Rtc` has failed.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => return Some(Instant::from_std(t)),
                Ok(str0m::Output::Transmit(t)) => {
                    // Loopback UDP; a lost datagram is repaired by RTCP or simply lost.
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                }
                Ok(str0m::Output::Event(e)) => self.on_event(e),
                Err(_) => return None,
            }
        }
    }

    fn on_event(&mut self, e: str0m::Event) {
        let r = &mut self.report;
        match e {
            str0m::Event::Connected => {
                r.connected = Some(self.start.elapsed());
                r.connected_at = Some(Instant::now());
            }
            str0m::Event::KeyframeRequest(_) => {
                r.keyframe_requests += 1;
                self.want_keyframe = true;
            }
            str0m::Event::RtpPacket(p) => {
                let (Some(&from), Some(&track)) =
                    (p.payload.get(TAG_FROM), p.payload.get(TAG_TRACK))
                else {
                    return;
                };
                *r.packets.entry((from, track)).or_default() += 1;
                if track == CAMERA && p.header.marker {
                    *r.frames.entry(from).or_default() += 1;
                }
                let mid = self
                    .rtc
                    .direct_api()
                    .stream_rx(&p.header.ssrc)
                    .map(|s| s.mid());
                if let Some(mid) = mid {
                    r.last_on.insert(mid, (from, track));
                }
            }
            _ => {}
        }
    }

    /// Writes one RTP packet on `mid` and drains.
    async fn write(
        &mut self,
        mid: Mid,
        codec: Codec,
        seq: u64,
        ts: u32,
        last: bool,
        payload: Vec<u8>,
    ) {
        let Some(pt) = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
        else {
            return;
        };
        let now = Instant::now().into_std();
        if let Some(tx) = self.rtc.direct_api().stream_tx_by_mid(mid, None) {
            tx.write_rtp(
                RtpWrite::new(pt, seq.into(), ts, now, payload)
                    .marker(last)
                    .nackable(codec != Codec::Opus),
            );
            self.report.sent_packets += 1;
        }
        self.drain().await;
    }

    /// One 20 ms Opus packet: 60 to 120 bytes, as speech at 24 to 48 kbit/s.
    async fn send_audio(&mut self, mic: Mid) {
        self.audio_n += 1;
        let len = 60 + self.random() % 61;
        let mut payload = vec![0x78; len];
        payload[TAG_FROM] = self.report.idx;
        payload[TAG_TRACK] = AUDIO;
        let (seq, ts) = (self.audio_n, (self.audio_n * 960) as u32);
        self.write(mic, Codec::Opus, seq, ts, true, payload).await;
    }

    /// One VP8 frame: a delta of 1.2 to 2.8 kB (about 500 kbit/s at 30 fps), or a keyframe of
    /// 10 to 14 kB every 3 s and when asked, cut into packets with VP8 payload descriptors.
    async fn send_video(&mut self, cam: Mid) {
        self.frame_n += 1;
        let key = std::mem::take(&mut self.want_keyframe) || self.frame_n % 90 == 1;
        let size = if key {
            10_000 + self.random() % 4_000
        } else {
            1_200 + self.random() % 1_600
        };
        if key {
            self.report.keyframes_sent += 1;
        }
        let count = size.div_ceil(MAX_PAYLOAD);
        let ts = (self.frame_n * 3_000) as u32;
        for i in 0..count {
            let len = (size - i * MAX_PAYLOAD).clamp(TAG_TRACK + 1, MAX_PAYLOAD);
            let mut payload = vec![0x5a; len];
            // Descriptor: S (start of partition) on the first packet only, partition 0; then
            // the VP8 payload header, whose P bit is clear for a keyframe.
            payload[0] = if i == 0 { 0x10 } else { 0x00 };
            payload[1] = if key { 0x00 } else { 0x01 };
            payload[TAG_FROM] = self.report.idx;
            payload[TAG_TRACK] = CAMERA;
            self.video_seq += 1;
            let seq = self.video_seq;
            self.write(cam, Codec::Vp8, seq, ts, i + 1 == count, payload)
                .await;
        }
    }
}

/// Runs endpoint `idx` until `stop` turns true: joins through the handle, connects, sends
/// and receives. Returns what it saw.
async fn endpoint(
    handle: MediaHandle,
    idx: u8,
    role: Role,
    mut stop: watch::Receiver<bool>,
) -> Report {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind loopback");
    let local = socket.local_addr().expect("bound socket has an address");
    let start = Instant::now();
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(start.into_std());
    rtc.add_local_candidate(Candidate::host(local, Protocol::Udp).expect("host candidate"));
    let mut api = rtc.sdp_api();
    // The protocol's order: microphone, camera, content, then the receive slots.
    let mic = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let cam = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let audio_mids: Vec<Mid> = (0..AUDIO_SLOTS)
        .map(|_| api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None))
        .collect();
    let video_mids: Vec<Mid> = (0..VIDEO_SLOTS)
        .map(|_| api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
        .collect();
    let (offer, pending) = api.apply().expect("an offer with media lines");
    let join = JoinRequest {
        endpoint: format!("EP{idx:02}"),
        role,
        invited: true,
    };
    let (peer, answer) = handle
        .add_peer(ROOM, join, offer.to_sdp_string())
        .await
        .expect("the server accepts the offer");
    let answered = start.elapsed();
    rtc.sdp_api()
        .accept_answer(
            pending,
            SdpAnswer::from_sdp_string(&answer).expect("answer parses"),
        )
        .expect("answer matches the offer");

    let mut c = Client {
        rtc,
        socket,
        local,
        start,
        report: Report {
            idx,
            peer: Some(peer),
            answered: Some(answered),
            audio_mids,
            video_mids,
            ..Report::default()
        },
        rng: 0x2545_f491_4f6c_dd1d ^ (u64::from(idx) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        want_keyframe: true,
        audio_n: 0,
        frame_n: 0,
        video_seq: 0,
    };
    // Encoders produce at a fixed rate whatever the scheduler does: a late tick is made up
    // (the interval's default), as an encoder's queued frames would be sent.
    let mut audio_tick = tokio::time::interval(Duration::from_millis(20));
    let mut video_tick = tokio::time::interval(Duration::from_micros(33_333));
    let mut buf = vec![0u8; 2048];
    loop {
        let Some(timeout) = c.drain().await else {
            break;
        };
        if *stop.borrow() || !c.rtc.is_alive() {
            break;
        }
        let sending = c.report.connected.is_some();
        tokio::select! {
            r = c.socket.recv_from(&mut buf) => {
                let Ok((len, source)) = r else { continue };
                let Ok(contents) = buf[..len].try_into() else { continue };
                let input = str0m::Input::Receive(
                    Instant::now().into_std(),
                    Receive { proto: Protocol::Udp, source, destination: c.local, contents },
                );
                // Garbage or a late packet is refused by str0m; the drain above goes on.
                let _ = c.rtc.handle_input(input);
            }
            _ = tokio::time::sleep_until(timeout) => {
                let _ = c.rtc.handle_input(str0m::Input::Timeout(Instant::now().into_std()));
            }
            _ = audio_tick.tick(), if sending => c.send_audio(mic).await,
            _ = video_tick.tick(), if sending => c.send_video(cam).await,
            _ = stop.changed() => {}
        }
    }
    c.report
}

/// Polls the room's snapshot until `done` holds, or panics after `within`.
async fn wait_for(
    handle: &MediaHandle,
    within: Duration,
    what: &str,
    done: impl Fn(&RoomSnapshot) -> bool,
) -> RoomSnapshot {
    let deadline = Instant::now() + within;
    loop {
        let s = handle
            .snapshot(ROOM)
            .await
            .expect("server running")
            .expect("room open");
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

/// Asserts that each planned receive slot of `m` last received the source its plan names.
fn assert_slots_carry_the_plan(m: &MemberSnapshot, r: &Report, idx_of: &HashMap<PeerId, u8>) {
    let audio = m
        .plan
        .audio
        .iter()
        .zip(&r.audio_mids)
        .filter_map(|(p, mid)| p.map(|p| (*mid, (idx_of[&p], AUDIO))));
    let video = m
        .plan
        .video
        .iter()
        .zip(&r.video_mids)
        .filter_map(|(s, mid)| {
            s.map(|s| {
                assert_eq!(s.track, Track::Camera, "nobody shares content here");
                (*mid, (idx_of[&s.peer], CAMERA))
            })
        });
    for (mid, want) in audio.chain(video) {
        assert_eq!(
            r.last_on.get(&mid),
            Some(&want),
            "endpoint {} slot {mid}: plan {:?}",
            r.idx,
            m.plan
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_and_twenty_endpoints_over_loopback_all_receive_the_host() {
    let wall = std::time::Instant::now();
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    // Room enough that this test, reading events only at the end, misses none.
    config.event_buffer = 1 << 16;
    let (handle, task) = driver::start(config).await.unwrap();
    let mut events = handle.subscribe();
    handle.create_room(ROOM).await.unwrap();
    // Members see the speaker large and the host (or, once someone is called, the called
    // endpoint and the host); the host sees a 3×3 grid of the room.
    handle
        .command(
            ROOM,
            Actor::Operator,
            Command::SetLayout(LayoutScope::Everyone, Layout::OnePlusN(1)),
        )
        .await
        .unwrap();
    handle
        .command(
            ROOM,
            Actor::Operator,
            Command::SetLayout(LayoutScope::Host, Layout::Grid3x3),
        )
        .await
        .unwrap();
    let (stop_tx, stop) = watch::channel(false);

    let host = tokio::spawn(endpoint(handle.clone(), 0, Role::Host, stop.clone()));
    wait_for(&handle, Duration::from_secs(20), "host connects", |s| {
        s.members.len() == 1 && s.members[0].connected
    })
    .await;
    let joins_started = Instant::now();
    let members: Vec<_> = (1..=MEMBERS)
        .map(|i| tokio::spawn(endpoint(handle.clone(), i, Role::Member, stop.clone())))
        .collect();
    let total = usize::from(MEMBERS) + 1;
    wait_for(&handle, Duration::from_secs(30), "everyone connects", |s| {
        s.members.len() == total && s.members.iter().all(|m| m.connected)
    })
    .await;
    let all_joined = joins_started.elapsed();

    // Media flows; halfway through, the host calls one member.
    tokio::time::sleep(MEDIA / 2).await;
    let snap = handle.snapshot(ROOM).await.unwrap().unwrap();
    let host_peer = snap.members[0].peer;
    // Members are listed in join order, which the concurrent joins make arbitrary: find the
    // called one by its label.
    let called = snap
        .members
        .iter()
        .find(|m| m.endpoint == format!("EP{CALLED:02}"))
        .expect("the called member is in")
        .peer;
    assert_eq!(snap.members[0].role, Role::Host);
    handle
        .command(ROOM, Actor::Peer(host_peer), Command::ConnectToHost(called))
        .await
        .unwrap();
    tokio::time::sleep(MEDIA / 2).await;
    let last = handle.snapshot(ROOM).await.unwrap().unwrap();

    let stopped = Instant::now();
    stop_tx.send(true).unwrap();
    let host = tokio::time::timeout(Duration::from_secs(10), host)
        .await
        .expect("host stops")
        .unwrap();
    let mut reports = vec![host];
    for m in members {
        reports.push(
            tokio::time::timeout(Duration::from_secs(10), m)
                .await
                .expect("member stops")
                .unwrap(),
        );
    }
    tokio::time::timeout(Duration::from_secs(10), handle.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("task ends")
        .unwrap();

    let mut connect_to_host = None;
    let mut room_changes = 0;
    loop {
        match events.try_recv() {
            Ok(Event::ConnectedToHost { peer, elapsed, .. }) if peer == called => {
                connect_to_host = Some(elapsed);
            }
            Ok(Event::RoomChanged(_)) => room_changes += 1,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                panic!("{n} events missed")
            }
            Err(_) => break,
        }
    }

    // Everyone was in, connected, with the host the only host.
    assert_eq!(last.members.len(), total);
    assert!(last.members.iter().all(|m| m.connected && m.admitted));
    let idx_of: HashMap<PeerId, u8> = reports
        .iter()
        .map(|r| (r.peer.expect("joined"), r.idx))
        .collect();

    // Every member received the host: at least a quarter of what the host sent while the
    // member was connected (50 audio packets and 30 frames a second).
    let mut host_audio = Vec::new();
    let mut host_frames = Vec::new();
    for r in &reports[1..] {
        let since = r.connected_at.expect("member connected");
        let secs = stopped.saturating_duration_since(since).as_secs_f64();
        let (audio, frames) = (r.got(0, AUDIO), r.frames.get(&0).copied().unwrap_or(0));
        assert!(
            audio as f64 >= secs * 50.0 / 4.0,
            "EP{}: {audio} host audio packets in {secs:.1} s",
            r.idx
        );
        assert!(
            frames as f64 >= secs * 30.0 / 4.0,
            "EP{}: {frames} host frames in {secs:.1} s",
            r.idx
        );
        host_audio.push(audio);
        host_frames.push(frames);
    }

    // Members joined muted (R-LIVE-2): no microphone but the host's and, once called, that
    // member's reached anyone, although every endpoint sent one all along.
    for r in &reports {
        for from in 1..=MEMBERS {
            if from != CALLED && from != r.idx {
                assert_eq!(r.got(from, AUDIO), 0, "EP{} heard EP{from}", r.idx);
            }
        }
    }
    // The call reached the host: measured by the server, and heard.
    assert!(connect_to_host.is_some(), "no ConnectedToHost");
    assert!(
        reports[0].got(CALLED, AUDIO) > 0,
        "the host did not hear the call"
    );
    // The host's grid is full, and every slot of every endpoint carries what its plan says.
    assert!(
        last.members[0].plan.video.iter().all(Option::is_some),
        "{:?}",
        last.members[0].plan
    );
    for m in &last.members {
        let r = &reports[usize::from(idx_of[&m.peer])];
        assert_eq!(m.endpoint, format!("EP{:02}", r.idx));
        assert_slots_carry_the_plan(m, r, &idx_of);
    }

    // The record.
    let mut connected: Vec<Duration> = reports[1..].iter().filter_map(|r| r.connected).collect();
    let mut answered: Vec<Duration> = reports[1..].iter().filter_map(|r| r.answered).collect();
    connected.sort();
    answered.sort();
    host_audio.sort_unstable();
    host_frames.sort_unstable();
    let sfu_in: u64 = last.members.iter().map(|m| m.packets_in).sum();
    let sfu_dropped: u64 = last.members.iter().map(|m| m.packets_dropped).sum();
    let sfu_out: u64 = last.members.iter().map(|m| m.packets_out).sum();
    let sent: u64 = reports.iter().map(|r| r.sent_packets).sum();
    let received: u64 = reports
        .iter()
        .map(|r| r.packets.values().sum::<u64>())
        .sum();
    let keyframes: u64 = reports.iter().map(|r| r.keyframes_sent).sum();
    let requests: u64 = reports.iter().map(|r| r.keyframe_requests).sum();
    println!("room of 1 host + {MEMBERS} endpoints over loopback UDP, 2 runtime threads");
    println!(
        "join (20 at once): answer p50 {:?} p95 {:?}; connected p50 {:?} p95 {:?} max {:?}; \
         all seen connected by the server after {:?}",
        percentile(&answered, 50),
        percentile(&answered, 95),
        percentile(&connected, 50),
        percentile(&connected, 95),
        percentile(&connected, 100),
        all_joined
    );
    println!(
        "host media per member: audio packets min {} median {}, video frames min {} median {}",
        host_audio[0],
        host_audio[host_audio.len() / 2],
        host_frames[0],
        host_frames[host_frames.len() / 2]
    );
    println!(
        "RTP packets: sent by endpoints {sent}, into the SFU {sfu_in} (dropped by policy \
         {sfu_dropped}), forwarded {sfu_out}, received by endpoints {received} \
         (snapshot taken before the endpoints stopped)"
    );
    println!("keyframes sent {keyframes}, keyframe requests received {requests}");
    println!("connect to host: {connect_to_host:?}; RoomChanged events: {room_changes}");
    println!("wall time {:?}", wall.elapsed());
}
