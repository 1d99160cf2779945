//! Scenario tests of the SFU core with simulated endpoints and simulated time.
//!
//! Each test builds a room of str0m endpoints in [`crate::sim`], lets them connect through
//! the in-memory network, and checks what each endpoint actually received: forwarding,
//! server-enforced mute, keyframe requests, layouts, removal, panic isolation, loss and
//! reordering, statistics, lock and ICE restart.

use std::time::Duration;

use crate::sim::{Sim, ROOM};
use crate::{
    Actor, Command, Datagram, Error, Event, Input, JoinRequest, KeyframeCause, Layout, LayoutScope,
    LeaveReason, Role, Source, Track,
};

const SETTLE: Duration = Duration::from_millis(300);

/// Host (0) with 2 audio and 4 video slots, and `members` members with the same.
fn room(members: usize) -> Sim {
    let mut sim = Sim::new();
    sim.join(Role::Host, true, 2, 4, false);
    for _ in 0..members {
        sim.join(Role::Member, true, 2, 4, true);
    }
    sim.connect();
    sim
}

fn after(sim: &mut Sim, d: Duration) -> std::time::Instant {
    sim.run(SETTLE);
    let t = sim.now;
    sim.run(d);
    t
}

#[test]
fn r_live_forwarding_follows_the_room_state() {
    let mut sim = room(2);
    let t = after(&mut sim, Duration::from_secs(2));
    // Members see the host and each other; they hear only the host (members join muted).
    assert_eq!(
        sim.sources_at(1, t),
        [(0, Track::Audio), (0, Track::Camera), (2, Track::Camera)].into()
    );
    assert_eq!(
        sim.sources_at(0, t),
        [(1, Track::Camera), (2, Track::Camera)].into()
    );
    // About 60 frames in 2 s at 30 fps, and 100 audio packets at 50 per second.
    let video = sim.count_at(1, 2, Track::Camera, t);
    let audio = sim.count_at(1, 0, Track::Audio, t);
    assert!((55..=62).contains(&video), "video packets: {video}");
    assert!((95..=102).contains(&audio), "audio packets: {audio}");
    let joined = sim
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::PeerConnected { .. }))
        .count();
    assert_eq!(joined, 3);
}

#[test]
fn r_live_2_server_mute_drops_packets_and_unmute_requests_a_keyframe() {
    let mut sim = room(2);
    let a = sim.peer(1);
    sim.command(Actor::Operator, Command::MuteVideo(a, true))
        .unwrap();
    let muted_at = sim.now;
    let t = after(&mut sim, Duration::from_secs(2));
    // The client keeps sending; the server drops it.
    assert_eq!(sim.count_at(0, 1, Track::Camera, t), 0);
    assert_eq!(sim.count_at(2, 1, Track::Camera, t), 0);
    let snap = sim.sfu.snapshot(ROOM).unwrap();
    let m = snap.members.iter().find(|m| m.peer == a).unwrap();
    assert!(m.video_muted);
    assert!(m.packets_dropped >= 60, "dropped: {}", m.packets_dropped);

    let before = sim.clients[1]
        .keyframe_requests
        .iter()
        .filter(|(at, _)| *at >= muted_at)
        .count();
    sim.command(Actor::Peer(sim.peer(0)), Command::MuteVideo(a, false))
        .unwrap();
    let unmuted_at = sim.now;
    sim.run(Duration::from_millis(100));
    // The publisher was asked for a keyframe right away (PLI), so receivers see it at once.
    let asked: Vec<_> = sim.clients[1]
        .keyframe_requests
        .iter()
        .filter(|(at, tr)| *at >= unmuted_at && *tr == Track::Camera)
        .collect();
    assert!(!asked.is_empty(), "no keyframe request after unmute");
    assert!(before <= sim.clients[1].keyframe_requests.len());
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::KeyframeRequested { publisher, track: Track::Camera, cause: KeyframeCause::Unmuted, .. }
            if *publisher == a
    )));
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(0, 1, Track::Camera, t) > 20);
    // Receivers start on the keyframe: nothing of A reached the host in between.
    let first = sim.first_at(0, 1, Track::Camera, unmuted_at).unwrap();
    assert!(first.keyframe, "{first:?}");
}

#[test]
fn r_live_4_a_member_cannot_unmute_itself_or_route_others() {
    let mut sim = room(2);
    let (a, b) = (sim.peer(1), sim.peer(2));
    assert_eq!(
        sim.command(Actor::Peer(a), Command::MuteAudio(a, false)),
        Err(Error::NotAllowed)
    );
    assert_eq!(
        sim.command(Actor::Peer(a), Command::ConnectToHost(b)),
        Err(Error::NotAllowed)
    );
    let t = after(&mut sim, Duration::from_secs(1));
    assert_eq!(sim.count_at(0, 1, Track::Audio, t), 0);
    assert_eq!(sim.count_at(2, 1, Track::Audio, t), 0);
}

#[test]
fn r_live_1_connect_to_host_switches_the_hosts_layout_and_is_measured() {
    let mut sim = room(3);
    let (host, c) = (sim.peer(0), sim.peer(3));
    sim.command(
        Actor::Peer(host),
        Command::SetLayout(LayoutScope::Host, Layout::SingleSpeaker),
    )
    .unwrap();
    let t = after(&mut sim, Duration::from_secs(1));
    // Single speaker: one camera, the first member by join order.
    assert_eq!(sim.sources_at(0, t), [(1, Track::Camera)].into());
    // Everyone else keeps the shared layout (the host and the other two members).
    assert_eq!(
        sim.sources_at(2, t),
        [
            (0, Track::Audio),
            (0, Track::Camera),
            (1, Track::Camera),
            (3, Track::Camera)
        ]
        .into()
    );

    sim.command(Actor::Peer(host), Command::ConnectToHost(c))
        .unwrap();
    let called_at = sim.now;
    let t = after(&mut sim, Duration::from_secs(1));
    // The host's slot switched to C on a keyframe, not on a delta frame it could not decode.
    let first = sim.first_at(0, 3, Track::Camera, called_at).unwrap();
    assert!(first.keyframe, "{first:?}");
    assert_eq!(
        sim.sources_at(0, t),
        [(3, Track::Audio), (3, Track::Camera)].into()
    );
    let measured: Vec<Duration> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ConnectedToHost { peer, elapsed, .. } if *peer == c => Some(*elapsed),
            _ => None,
        })
        .collect();
    assert_eq!(measured.len(), 1, "exactly one measurement per request");
    // Measured in the SFU, from the command to the first packet of C written towards the
    // host: at most one frame interval in simulated time (C was already sending).
    assert!(measured[0] <= Duration::from_millis(40), "{measured:?}");

    // The slot was reused: sequence numbers at the host continue across the switch.
    let slot = sim.clients[0].video_slots[0];
    let seqs: Vec<u64> = sim.clients[0]
        .got
        .iter()
        .filter(|g| g.mid == slot)
        .map(|g| g.seq)
        .collect();
    assert!(seqs.len() > 40);
    for w in seqs.windows(2) {
        assert!(w[1] > w[0] && w[1] - w[0] < 5, "gap in slot: {w:?}");
    }

    // 2×2 for the host: every camera, the called endpoint first.
    sim.command(
        Actor::Operator,
        Command::SetLayout(LayoutScope::Host, Layout::Grid2x2),
    )
    .unwrap();
    let t = after(&mut sim, Duration::from_secs(1));
    assert_eq!(
        sim.sources_at(0, t),
        [
            (3, Track::Audio),
            (1, Track::Camera),
            (2, Track::Camera),
            (3, Track::Camera)
        ]
        .into()
    );
}

#[test]
fn r_live_layout_switch_asks_the_new_source_for_a_keyframe() {
    let mut sim = room(3);
    let b = sim.peer(2);
    sim.run(SETTLE);
    let t0 = sim.now;
    let custom = Layout::Custom(vec![Source {
        peer: b,
        track: Track::Camera,
    }]);
    sim.command(
        Actor::Operator,
        Command::SetLayout(LayoutScope::Everyone, custom),
    )
    .unwrap();
    let t = after(&mut sim, Duration::from_secs(1));
    assert_eq!(
        sim.sources_at(1, t),
        [(0, Track::Audio), (2, Track::Camera)].into()
    );
    // B itself sees an empty screen (it never sees itself), and hears the host.
    assert_eq!(sim.sources_at(2, t), [(0, Track::Audio)].into());
    assert!(sim.clients[2]
        .keyframe_requests
        .iter()
        .any(|(at, tr)| *at >= t0 && *tr == Track::Camera));
}

#[test]
fn h264_video_is_forwarded_as_h264() {
    let mut sim = room(2);
    sim.clients[2].video_codec = str0m::format::Codec::H264;
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(0, 2, Track::Camera, t) > 20);
    assert!(sim.count_at(1, 2, Track::Camera, t) > 20);
    assert!(sim.count_at(0, 1, Track::Camera, t) > 20);
    use str0m::format::Codec;
    for g in sim.clients[0].got.iter().filter(|g| g.at >= t) {
        let want = match (g.from, g.track) {
            (_, Track::Audio) => Codec::Opus,
            (2, _) => Codec::H264,
            _ => Codec::Vp8,
        };
        assert_eq!(g.codec, Some(want), "{g:?}");
    }
}

#[test]
fn r_live_10_content_reaches_everyone_only_when_granted() {
    let mut sim = room(2);
    sim.clients[1].sharing = true;
    let t = after(&mut sim, Duration::from_secs(1));
    assert_eq!(sim.count_at(0, 1, Track::Content, t), 0);
    sim.command(Actor::Operator, Command::ShareContent(sim.peer(1)))
        .unwrap();
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(0, 1, Track::Content, t) > 20);
    assert!(sim.count_at(2, 1, Track::Content, t) > 20);
}

#[test]
fn r_live_5_removed_peer_gets_nothing_and_others_carry_on() {
    let mut sim = room(2);
    let a = sim.peer(1);
    assert_eq!(
        sim.command(Actor::Peer(sim.peer(2)), Command::Remove(a)),
        Err(Error::NotAllowed)
    );
    sim.command(Actor::Peer(sim.peer(0)), Command::Remove(a))
        .unwrap();
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::PeerLeft { peer, reason: LeaveReason::Removed, .. } if *peer == a
    )));
    let t = after(&mut sim, Duration::from_secs(1));
    // The SFU closed its side politely: the endpoint knows it was cut off.
    assert!(sim.clients[1].closed);
    assert!(sim.clients[1].got.iter().all(|g| g.at < t));
    assert_eq!(sim.count_at(0, 1, Track::Camera, t), 0);
    assert!(sim.count_at(0, 2, Track::Camera, t) > 20);
    let snap = sim.sfu.snapshot(ROOM).unwrap();
    assert!(snap.members.iter().all(|m| m.peer != a));
    assert_eq!(sim.sfu.remove_peer(a), Err(Error::UnknownPeer(a)));
}

#[test]
fn an_endpoint_that_hangs_up_leaves_the_room() {
    let mut sim = room(2);
    let b = sim.peer(2);
    sim.hang_up(2);
    sim.run(Duration::from_secs(1));
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::PeerLeft { peer, reason: LeaveReason::HungUp, .. } if *peer == b
    )));
    assert_eq!(sim.sfu.snapshot(ROOM).unwrap().members.len(), 2);
}

#[test]
fn closing_the_room_says_goodbye_to_everyone() {
    let mut sim = room(2);
    sim.sfu.close_room(ROOM).unwrap();
    sim.drain_sfu();
    sim.run(Duration::from_millis(200));
    assert!(sim.clients.iter().all(|c| c.closed));
    let left = sim
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                Event::PeerLeft {
                    reason: LeaveReason::RoomClosed,
                    ..
                }
            )
        })
        .count();
    assert_eq!(left, 3);
    assert_eq!(sim.sfu.snapshot(ROOM), None);
    assert_eq!(sim.sfu.close_room(ROOM), Err(Error::UnknownRoom(ROOM)));
}

#[test]
fn a_panicking_peer_is_dropped_not_the_server() {
    let mut sim = room(2);
    let a = sim.peer(1);
    sim.sfu.inject_panic(a);
    sim.run(Duration::from_millis(200));
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::PeerLeft { peer, reason: LeaveReason::Panicked, .. } if *peer == a
    )));
    assert_eq!(sim.sfu.room_of(a), None);
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(0, 2, Track::Camera, t) > 20);
    assert!(sim.count_at(2, 0, Track::Audio, t) > 40);
    assert_eq!(sim.count_at(0, 1, Track::Camera, t), 0);
}

#[test]
fn forwarding_survives_loss_and_reordering() {
    let mut sim = room(2);
    sim.loss = 0.05;
    sim.jitter = Duration::from_millis(30);
    let t = after(&mut sim, Duration::from_secs(4));
    // 5 % loss on each of two links, repaired in part by NACK for video.
    let video = sim.count_at(0, 1, Track::Camera, t);
    let audio = sim.count_at(1, 0, Track::Audio, t);
    assert!(video > 100, "video packets: {video}");
    assert!(audio > 150, "audio packets: {audio}");
    // Reordering passed through: somewhere a packet came after a later one.
    let seqs: Vec<u64> = sim.clients[1]
        .got
        .iter()
        .filter(|g| g.at >= t && g.from == 0 && g.track == Track::Audio)
        .map(|g| g.seq)
        .collect();
    assert!(seqs.windows(2).any(|w| w[1] < w[0]), "no reordering seen");
    // Only what the room allows arrives, loss or not.
    assert_eq!(sim.count_at(0, 1, Track::Audio, t), 0);

    // The link statistics see the loss on the way in.
    sim.run(Duration::from_secs(8));
    let a = sim.peer(1);
    let lossy = sim.events.iter().any(|(_, e)| {
        matches!(e, Event::LinkStats { peer, stats, .. }
            if *peer == a && stats.loss_in.is_some_and(|l| l > 0.0))
    });
    assert!(lossy, "no loss reported for {a}");
}

#[test]
fn r_prep_2_link_statistics_are_sampled_per_peer() {
    let mut sim = room(1);
    sim.run(Duration::from_secs(16));
    let stats: Vec<_> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::LinkStats { peer, stats, .. } => Some((*peer, *stats)),
            _ => None,
        })
        .collect();
    for idx in 0..2 {
        let p = sim.peer(idx);
        let mine: Vec<_> = stats.iter().filter(|(q, _)| *q == p).collect();
        assert!(mine.len() >= 2, "{p}: {} samples", mine.len());
        let last = mine.last().unwrap().1;
        assert!(last.bitrate_in > 10_000, "{p} in: {}", last.bitrate_in);
        assert!(last.bitrate_out > 10_000, "{p} out: {}", last.bitrate_out);
    }
}

#[test]
fn r_reg_7_a_locked_room_holds_joiners_until_admitted() {
    let mut sim = room(1);
    sim.command(Actor::Peer(sim.peer(0)), Command::Lock(true))
        .unwrap();
    let late = sim.join(Role::Member, true, 2, 4, false);
    sim.connect();
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.sources_at(late, t).is_empty());
    assert_eq!(sim.count_at(0, late, Track::Camera, t), 0);
    sim.command(Actor::Operator, Command::Admit(sim.peer(late)))
        .unwrap();
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(late, 0, Track::Camera, t) > 20);
    assert!(sim.count_at(0, late, Track::Camera, t) > 20);
}

#[test]
fn r_live_3_granting_the_floor_opens_the_microphone() {
    let mut sim = room(2);
    let (host, b) = (sim.peer(0), sim.peer(2));
    sim.command(Actor::Peer(b), Command::RaiseHand(b)).unwrap();
    assert_eq!(sim.sfu.snapshot(ROOM).unwrap().queue, vec![b]);
    sim.command(Actor::Peer(host), Command::Grant(b)).unwrap();
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(0, 2, Track::Audio, t) > 40);
    assert!(sim.count_at(1, 2, Track::Audio, t) > 40);
    let snap = sim.sfu.snapshot(ROOM).unwrap();
    assert!(snap.queue.is_empty());
    assert_eq!(snap.on_stage, vec![b]);
}

#[test]
fn a_network_flap_and_ice_restart_keep_role_and_mute() {
    let mut sim = room(2);
    let (a, host) = (sim.peer(1), sim.peer(0));
    sim.command(Actor::Peer(host), Command::ConnectToHost(a))
        .unwrap();
    sim.command(Actor::Operator, Command::MuteVideo(a, true))
        .unwrap();
    // The endpoint's network goes away for 20 s: long enough for the server's ICE to call
    // it disconnected (after 15 s without checks), shorter than the grace that follows.
    let old = sim.clients[1].addr;
    sim.cut.insert(old);
    sim.run(Duration::from_secs(20));
    assert_eq!(sim.sfu.room_of(a), Some(ROOM));

    // It comes back on another address and restarts ICE with a new offer; the SFU answers
    // on the same peer and finds the new address by the new ICE ufrag.
    let new: std::net::SocketAddr = "127.0.0.200:6000".parse().unwrap();
    let mut api = sim.clients[1].rtc.sdp_api();
    api.ice_restart(false);
    let (offer, pending) = api.apply().expect("ICE restart makes an offer");
    let answer = sim
        .sfu
        .renegotiate(sim.now, a, &offer.to_sdp_string())
        .expect("same peer renegotiates");
    sim.drain_sfu();
    let answer = str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap();
    let c = &mut sim.clients[1];
    c.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    c.rtc
        .add_local_candidate(str0m::Candidate::host(new, "udp").unwrap());
    c.addr = new;
    let t = after(&mut sim, Duration::from_secs(2));
    assert_eq!(sim.sfu.room_of(a), Some(ROOM));
    // Still on stage with its microphone open and its camera muted, as before the flap.
    assert!(sim.count_at(0, 1, Track::Audio, t) > 50);
    assert_eq!(sim.count_at(0, 1, Track::Camera, t), 0);
    assert!(sim.count_at(1, 0, Track::Camera, t) > 20);
    let snap = sim.sfu.snapshot(ROOM).unwrap();
    assert_eq!(snap.on_stage, vec![a]);
    assert!(!sim
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::PeerLeft { peer, .. } if *peer == a)));
    // Well past the grace, it is still there.
    sim.run(Duration::from_secs(20));
    assert_eq!(sim.sfu.room_of(a), Some(ROOM));
}

#[test]
fn a_peer_that_never_comes_back_is_removed_after_the_grace() {
    let mut sim = room(1);
    let a = sim.peer(1);
    sim.cut.insert(sim.clients[1].addr);
    // ICE gives up after 15 s without checks; the place is kept 15 s more.
    sim.run(Duration::from_secs(25));
    assert_eq!(sim.sfu.room_of(a), Some(ROOM));
    sim.run(Duration::from_secs(10));
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        Event::PeerLeft { peer, reason: LeaveReason::Disconnected, .. } if *peer == a
    )));
    assert_eq!(sim.sfu.snapshot(ROOM).unwrap().members.len(), 1);
}

#[test]
fn bad_input_is_an_error_or_ignored_never_a_crash() {
    let mut sim = room(1);
    let join = JoinRequest {
        endpoint: "X".into(),
        role: Role::Member,
        invited: true,
    };
    assert!(matches!(
        sim.sfu.add_peer(sim.now, ROOM, join.clone(), "not sdp"),
        Err(Error::BadSdp(_))
    ));
    assert!(matches!(
        sim.sfu.add_peer(sim.now, crate::RoomId(9), join, "v=0"),
        Err(Error::UnknownRoom(_))
    ));
    assert!(matches!(
        sim.sfu.add_ice_candidate(sim.peer(1), "candidate:garbage"),
        Err(Error::BadCandidate(_))
    ));
    // Garbage from an unknown address and from a known one.
    let known = sim.clients[1].addr;
    for source in ["127.0.0.99:9".parse().unwrap(), known] {
        for contents in [&[0u8; 3][..], &[0x80; 40][..], &[22, 254, 253, 0, 0][..]] {
            sim.sfu.handle_input(Input::Receive(
                sim.now,
                Datagram {
                    source,
                    destination: sim.sfu_addr,
                    contents,
                },
            ));
            sim.drain_sfu();
        }
    }
    let t = after(&mut sim, Duration::from_secs(1));
    assert!(sim.count_at(1, 0, Track::Camera, t) > 20);
}

/// The last [`Event::RoomChanged`] emitted at or after `since`.
fn last_room_change(sim: &Sim, since: std::time::Instant) -> Option<&crate::RoomSnapshot> {
    sim.events.iter().rev().find_map(|(at, e)| match e {
        Event::RoomChanged(s) if *at >= since => Some(s),
        _ => None,
    })
}

/// Asserts that every receive slot of endpoint `idx` received, since `since`, exactly the
/// source its plan in the snapshot names, and nothing in an empty slot.
fn assert_slots_follow_the_plan(
    sim: &Sim,
    idx: usize,
    plan: &crate::Plan,
    since: std::time::Instant,
) {
    let index_of = |peer| (0..sim.clients.len()).find(|i| sim.peer(*i) == peer);
    let c = &sim.clients[idx];
    let audio = c.audio_slots.iter().zip(&plan.audio).map(|(mid, p)| {
        let want = p.map(|peer| {
            (
                index_of(peer).expect("planned peer is a client"),
                Track::Audio,
            )
        });
        (*mid, want)
    });
    let video = c.video_slots.iter().zip(&plan.video).map(|(mid, s)| {
        let want = s.map(|s| (index_of(s.peer).expect("planned peer is a client"), s.track));
        (*mid, want)
    });
    assert_eq!(plan.audio.len(), c.audio_slots.len());
    assert_eq!(plan.video.len(), c.video_slots.len());
    for (mid, want) in audio.chain(video) {
        let got: std::collections::HashSet<(usize, Track)> = c
            .got
            .iter()
            .filter(|g| g.at >= since && g.mid == mid)
            .map(|g| (g.from, g.track))
            .collect();
        assert_eq!(
            got,
            want.into_iter().collect(),
            "slot {mid} of endpoint {idx}"
        );
    }
}

#[test]
fn snapshot_plans_are_what_each_slot_receives_after_a_layout_change() {
    let mut sim = room(3);
    let (host, a, c) = (sim.peer(0), sim.peer(1), sim.peer(3));
    sim.run(SETTLE);
    // A custom order unlike any preset's, so agreement cannot come from a default.
    let cell = |peer| Source {
        peer,
        track: Track::Camera,
    };
    let changed_at = sim.now;
    sim.command(
        Actor::Peer(host),
        Command::SetLayout(LayoutScope::Host, Layout::Custom(vec![cell(c), cell(a)])),
    )
    .unwrap();
    // The change was announced with the host's new plan, the same the snapshot gives.
    let announced = last_room_change(&sim, changed_at).expect("layout change announced");
    let mine =
        |s: &crate::RoomSnapshot, p| s.members.iter().find(|m| m.peer == p).unwrap().plan.clone();
    let plan = mine(announced, host);
    assert_eq!(plan, mine(&sim.sfu.snapshot(ROOM).unwrap(), host));
    assert_eq!(plan.video, vec![Some(cell(c)), Some(cell(a)), None, None]);
    // Members join muted: the host hears nobody.
    assert_eq!(plan.audio, vec![None, None]);
    let t = after(&mut sim, Duration::from_secs(1));
    assert_slots_follow_the_plan(&sim, 0, &plan, t);
    // A member's plan holds too: the host's microphone, and the shared grid.
    let member_plan = mine(&sim.sfu.snapshot(ROOM).unwrap(), a);
    assert_eq!(member_plan.audio, vec![Some(host), None]);
    assert_slots_follow_the_plan(&sim, 1, &member_plan, t);

    // Calling C to the host opens its microphone: the host's audio plan changes, announced.
    let called_at = sim.now;
    sim.command(Actor::Peer(host), Command::ConnectToHost(c))
        .unwrap();
    let plan = mine(
        last_room_change(&sim, called_at).expect("call announced"),
        host,
    );
    assert_eq!(plan.audio, vec![Some(c), None]);
    let t = after(&mut sim, Duration::from_secs(1));
    assert_slots_follow_the_plan(&sim, 0, &plan, t);
}

#[test]
fn room_changes_are_announced_once_and_only_when_something_visible_changed() {
    let mut sim = room(2);
    let (host, a, b) = (sim.peer(0), sim.peer(1), sim.peer(2));
    // Each connection is announced, with the slots its offer declared.
    for (i, (_, e)) in sim.events.iter().enumerate() {
        let Event::PeerConnected { peer, .. } = e else {
            continue;
        };
        let next = sim.events[i..].iter().find_map(|(_, e)| match e {
            Event::RoomChanged(s) => s.members.iter().find(|m| m.peer == *peer),
            _ => None,
        });
        let m = next.expect("a connection is announced");
        assert!(m.connected, "{m:?}");
        assert_eq!((m.plan.audio.len(), m.plan.video.len()), (2, 4), "{m:?}");
    }
    let changes = |sim: &Sim| {
        sim.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::RoomChanged(_)))
            .count()
    };
    // Media flowing changes counters only: no announcement.
    let before = changes(&sim);
    sim.run(Duration::from_secs(1));
    assert_eq!(changes(&sim), before);
    // A command that sets what is already set is applied, but nothing changed.
    sim.command(Actor::Operator, Command::Lock(false)).unwrap();
    assert_eq!(changes(&sim), before);
    sim.command(Actor::Operator, Command::Lock(true)).unwrap();
    assert_eq!(changes(&sim), before + 1);
    // Muting A's camera takes it off B's screen: B's plan changes, announced once.
    let at = sim.now;
    sim.command(Actor::Peer(host), Command::MuteVideo(a, true))
        .unwrap();
    assert_eq!(changes(&sim), before + 2);
    let s = last_room_change(&sim, at).unwrap();
    let b_plan = &s.members.iter().find(|m| m.peer == b).unwrap().plan;
    assert!(
        !b_plan.video.iter().flatten().any(|s| s.peer == a),
        "{b_plan:?}"
    );
}
