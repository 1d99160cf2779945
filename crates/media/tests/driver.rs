//! The driver over real loopback UDP: two str0m endpoints join a room through the
//! [`MediaHandle`], exchange media through one server socket, and are told goodbye when the
//! server shuts down. Bounded: every wait has a deadline and the test stops by itself.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hnth_media::driver::{self, DriverConfig, MediaHandle};
use hnth_media::{Event, JoinRequest, Role, RoomId, Track};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Rtc};
use tokio::net::UdpSocket;
use tokio::time::Instant;

const ROOM: RoomId = RoomId(7);

/// What one endpoint saw.
#[derive(Debug, Default)]
struct Seen {
    /// Packets per (sender index, track).
    packets: HashMap<(u8, u8), usize>,
    connected: bool,
    closed: bool,
}

/// A str0m endpoint on its own loopback socket: joins, sends Opus/VP8-shaped RTP until
/// `stop`, and counts what it receives.
async fn endpoint(handle: MediaHandle, idx: u8, role: Role, stop: Instant) -> Seen {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let start = Instant::now().into_std();
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(start);
    rtc.add_local_candidate(Candidate::host(local, Protocol::Udp).unwrap());
    let mut api = rtc.sdp_api();
    let mic = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let cam = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    for _ in 0..2 {
        api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    }
    for _ in 0..4 {
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    }
    let (offer, pending) = api.apply().unwrap();
    let join = JoinRequest {
        endpoint: format!("EP{idx}"),
        role,
        invited: true,
    };
    let (_, answer) = handle
        .add_peer(ROOM, join, offer.to_sdp_string())
        .await
        .unwrap();
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();

    let mut seen = Seen::default();
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut n: u64 = 0;
    let mut media: Vec<(Mid, Codec)> = Vec::new();
    loop {
        // Drain the endpoint's Rtc to its timeout (str0m's rule), sending what it wants.
        let timeout = loop {
            match rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => break t,
                Ok(str0m::Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Ok(str0m::Output::Event(e)) => match e {
                    str0m::Event::Connected => seen.connected = true,
                    str0m::Event::Closed => seen.closed = true,
                    str0m::Event::RtpPacket(p) if p.payload.len() >= 2 => {
                        *seen
                            .packets
                            .entry((p.payload[0], p.payload[1]))
                            .or_default() += 1;
                    }
                    _ => {}
                },
                Err(_) => return seen,
            }
        };
        if !rtc.is_alive() || Instant::now() >= stop {
            return seen;
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((len, source)) = r else { continue };
                let Ok(contents) = buf[..len].try_into() else { continue };
                let input = str0m::Input::Receive(
                    Instant::now().into_std(),
                    Receive { proto: Protocol::Udp, source, destination: local, contents },
                );
                let _ = rtc.handle_input(input);
            }
            _ = tokio::time::sleep_until(Instant::from_std(timeout)) => {
                let _ = rtc.handle_input(str0m::Input::Timeout(Instant::now().into_std()));
            }
            _ = tick.tick(), if seen.connected && !seen.closed => {
                n += 1;
                if media.is_empty() {
                    for (mid, codec) in [(mic, Codec::Opus), (cam, Codec::Vp8)] {
                        media.push((mid, codec));
                    }
                }
                for (track, (mid, codec)) in media.iter().enumerate() {
                    let Some(pt) = rtc.codec_config().find(|p| p.spec().codec == *codec).map(|p| p.pt()) else {
                        continue;
                    };
                    let step = if track == 0 { 960 } else { 1800 };
                    let mut payload = vec![idx, track as u8];
                    payload.resize(160, 0x5a);
                    let mut api = rtc.direct_api();
                    if let Some(tx) = api.stream_tx_by_mid(*mid, None) {
                        tx.write_rtp(
                            RtpWrite::new(pt, (100 + n).into(), (n * step) as u32, Instant::now().into_std(), payload)
                                .marker(true),
                        );
                    }
                    // Each write is a mutation: drain before the next.
                    loop {
                        match rtc.poll_output() {
                            Ok(str0m::Output::Timeout(_)) | Err(_) => break,
                            Ok(str0m::Output::Transmit(t)) => {
                                let _ = socket.send_to(&t.contents, t.destination).await;
                            }
                            Ok(str0m::Output::Event(_)) => {}
                        }
                    }
                }
            }
        }
    }
}

/// str0m's log, kept to read the negotiated SRTP profile, which it exposes nowhere else.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A poisoned lock means an assertion already failed in this test.
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The only test of this binary: it owns the process-wide log subscriber, which sees the
/// driver's task and the endpoints on every runtime thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_endpoints_exchange_media_through_one_socket_and_are_closed_on_shutdown() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("str0m=debug"))
        .with_writer(move || writer.clone())
        .init();
    let mut config = DriverConfig::new("127.0.0.1:0".parse().unwrap());
    config.stats_interval = Duration::from_secs(1);
    let (handle, task) = driver::start(config).await.unwrap();
    let mut events = handle.subscribe();
    handle.create_room(ROOM).await.unwrap();

    let stop = Instant::now() + Duration::from_secs(6);
    let host = tokio::spawn(endpoint(handle.clone(), 0, Role::Host, stop));
    let member = tokio::spawn(endpoint(handle.clone(), 1, Role::Member, stop));

    // Let media flow, then shut the server down while the endpoints still listen.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let snapshot = handle.snapshot(ROOM).await.unwrap().unwrap();
    assert_eq!(snapshot.members.len(), 2);
    assert!(snapshot.members.iter().all(|m| m.connected));
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("task ends")
        .unwrap();

    let host = host.await.unwrap();
    let member = member.await.unwrap();
    let camera = Track::Camera as u8;
    let audio = Track::Audio as u8;
    // The member hears and sees the host; the host sees the member, who joined muted.
    assert!(
        member.packets.get(&(0, audio)).copied().unwrap_or(0) > 20,
        "{member:?}"
    );
    assert!(
        member.packets.get(&(0, camera)).copied().unwrap_or(0) > 20,
        "{member:?}"
    );
    assert!(
        host.packets.get(&(1, camera)).copied().unwrap_or(0) > 20,
        "{host:?}"
    );
    assert_eq!(host.packets.get(&(1, audio)), None, "{host:?}");
    // Shutdown said goodbye (DTLS close_notify) to both.
    assert!(
        host.closed && member.closed,
        "host {host:?} member {member:?}"
    );

    let mut connected = 0;
    let mut stats = 0;
    while let Ok(e) = events.try_recv() {
        match e {
            Event::PeerConnected { .. } => connected += 1,
            Event::LinkStats { .. } => stats += 1,
            _ => {}
        }
    }
    assert_eq!(connected, 2);
    assert!(stats >= 2, "link statistics emitted: {stats}");
    // After shutdown the handle reports it.
    assert!(handle.snapshot(ROOM).await.is_err());

    // DTLS-SRTP chose AES-GCM at both ends of both sessions.
    let text = String::from_utf8_lossy(&log.0.lock().expect("log lock")).into_owned();
    let profiles: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("SRTP keying material and profile: ").nth(1))
        .collect();
    assert_eq!(
        profiles.len(),
        4,
        "two DTLS sessions, two ends each: {profiles:?}"
    );
    assert!(
        profiles
            .iter()
            .all(|p| p.contains("AEAD_AES") && p.contains("GCM")),
        "{profiles:?}"
    );
}
