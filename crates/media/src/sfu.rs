//! The SFU core: rooms of peers, each peer one str0m [`Rtc`] in RTP mode.
//!
//! This module owns the peers' WebRTC sessions, the demultiplexing of datagrams to them
//! (by remote address, and by ICE ufrag for an address not seen before), the forwarding of
//! RTP from publishers to the receive slots that the room's [`RoomState`] plans, keyframe
//! requests, link statistics and the isolation of a panicking peer. It also announces the
//! room's state ([`Event::RoomChanged`]) once per visible change, by comparing each new
//! snapshot, counters aside, with the last one announced.
//!
//! Every call into one peer's `Rtc` goes through [`Sfu::with_peer`], which performs exactly
//! one mutation, then drains that `Rtc` to its timeout (str0m's single-mutation rule), all
//! inside `catch_unwind`: a panic there is a bug in str0m or in this crate, and it drops
//! that peer, never the server.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::format::PayloadParams;
use str0m::ice::StunMessage;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Candidate, IceConnectionState, Rtc, RtcError};

use crate::forward::{starts_keyframe, SlotRewriter};
use crate::policy::{Actor, Command, Layout, Plan, Role, RoomState, Source, Track};
use crate::stats::{LinkStats, StatsAccumulator};
use crate::{Error, PeerId, RoomId};

/// Settings of the SFU core.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The server's address as endpoints reach it: offered as the only ICE candidate.
    pub public_addr: SocketAddr,
    /// How often link statistics are sampled and emitted per peer.
    pub stats_interval: Duration,
    /// How long a peer whose ICE connection dropped keeps its place (role, mute, layout)
    /// while it restarts ICE, before it is removed.
    pub reconnect_grace: Duration,
}

impl SfuConfig {
    /// Defaults for a server reached at `public_addr`: statistics every 5 s, 15 s of grace.
    pub fn new(public_addr: SocketAddr) -> Self {
        Self {
            public_addr,
            stats_interval: Duration::from_secs(5),
            reconnect_grace: Duration::from_secs(15),
        }
    }
}

/// What an endpoint brings when it joins.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The endpoint's label as the web layer knows it.
    pub endpoint: String,
    /// Host or member; decided by the web layer from the session's registration.
    pub role: Role,
    /// Whether the endpoint is invited to the session (R-REG-7).
    pub invited: bool,
}

/// One datagram received on the server's socket.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// Where it came from.
    pub source: SocketAddr,
    /// The local address it arrived on.
    pub destination: SocketAddr,
    /// Its bytes.
    pub contents: &'a [u8],
}

/// Input to the core: network data or the passing of time.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A datagram received at the given time.
    Receive(Instant, Datagram<'a>),
    /// Time has reached the given instant (normally the last [`Output::Timeout`]).
    Timeout(Instant),
}

/// Output of the core, drained with [`Sfu::poll_output`] until a `Timeout`.
#[derive(Debug)]
pub enum Output {
    /// A datagram to send.
    Transmit(Transmit),
    /// Something the application should know.
    Event(Event),
    /// When the core next wants an [`Input::Timeout`].
    Timeout(Instant),
}

/// Why a peer left its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveReason {
    /// Removed by a command or by the application.
    Removed,
    /// The endpoint closed its connection.
    HungUp,
    /// Its connection did not come back within the grace period.
    Disconnected,
    /// Its WebRTC session failed with an error.
    Failed(String),
    /// Handling it panicked: a bug, isolated to this peer.
    Panicked,
    /// Its room was closed.
    RoomClosed,
}

/// Why a keyframe was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeCause {
    /// The track was just unmuted, so receivers see it at once.
    Unmuted,
    /// A receive slot switched to this source (layout change).
    SourceSwitched,
    /// A subscriber asked (PLI/FIR from its decoder).
    Subscriber,
}

/// Events for the application (the web layer, the session log).
#[derive(Debug, Clone)]
pub enum Event {
    /// A peer joined a room.
    PeerJoined {
        /// The room.
        room: RoomId,
        /// The new peer.
        peer: PeerId,
        /// Whether it is in, or waiting to be admitted.
        admitted: bool,
    },
    /// A peer's ICE and DTLS completed: media can flow.
    PeerConnected {
        /// The room.
        room: RoomId,
        /// The peer.
        peer: PeerId,
    },
    /// A peer left its room.
    PeerLeft {
        /// The room.
        room: RoomId,
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: LeaveReason,
    },
    /// A control command was applied.
    ControlApplied {
        /// The room.
        room: RoomId,
        /// Who issued it.
        actor: Actor,
        /// What it was.
        command: Command,
    },
    /// The room's state changed; here is the new one.
    ///
    /// Emitted once for each change of what a [`RoomSnapshot`] shows apart from its packet
    /// counters: members joining, leaving, being admitted or connecting; mute, lock, layout,
    /// stage, queue and sharing; and any member's receive [`Plan`] (a layout change, a call
    /// to the host, an unmute that changes who is shown). Not emitted when nothing visible
    /// changed (a command that sets what was already set), nor for the counters, which
    /// change with every packet: ask [`Sfu::snapshot`] for fresh ones.
    RoomChanged(RoomSnapshot),
    /// The first packet of an endpoint called to the host reached the host (R-LIVE-1).
    ConnectedToHost {
        /// The room.
        room: RoomId,
        /// The endpoint called.
        peer: PeerId,
        /// From the command to the first forwarded packet at the host.
        elapsed: Duration,
    },
    /// A keyframe was requested from a publisher.
    KeyframeRequested {
        /// The room.
        room: RoomId,
        /// The publisher asked.
        publisher: PeerId,
        /// Its track.
        track: Track,
        /// Why.
        cause: KeyframeCause,
    },
    /// A sample of a peer's link quality (R-PREP-2).
    LinkStats {
        /// The room.
        room: RoomId,
        /// The peer.
        peer: PeerId,
        /// The figures.
        stats: LinkStats,
    },
}

/// A room as the operator's console shows it, and as each endpoint's screen is fed (every
/// member's receive [`Plan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSnapshot {
    /// The room.
    pub room: RoomId,
    /// Whether joining endpoints wait to be admitted.
    pub locked: bool,
    /// Everyone's layout.
    pub layout: Layout,
    /// The host's own layout, if set.
    pub host_layout: Option<Layout>,
    /// The members in join order.
    pub members: Vec<MemberSnapshot>,
    /// Endpoints connected to the host, most recent last.
    pub on_stage: Vec<PeerId>,
    /// Speaking requests in order.
    pub queue: Vec<PeerId>,
    /// Who shares content.
    pub sharing: Option<PeerId>,
}

/// One member in a [`RoomSnapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSnapshot {
    /// The peer.
    pub peer: PeerId,
    /// Its endpoint label.
    pub endpoint: String,
    /// Host or member.
    pub role: Role,
    /// In the room or waiting.
    pub admitted: bool,
    /// Server-side microphone mute.
    pub audio_muted: bool,
    /// Server-side camera mute.
    pub video_muted: bool,
    /// Whether ICE and DTLS are up.
    pub connected: bool,
    /// RTP packets received from it.
    pub packets_in: u64,
    /// Of those, dropped because the policy did not let them through (mute, not admitted).
    pub packets_dropped: u64,
    /// RTP packets forwarded to it (written into its receive slots).
    pub packets_out: u64,
    /// Which source feeds each of its receive slots, exactly as the SFU forwards: audio slot
    /// `i` is its `i`-th receive-only audio line in the offer, video slot `i` its `i`-th
    /// receive-only video line. Empty slots are `None`; a member waiting to be admitted has
    /// only empty slots. Until the peer is connected the plan has no slots at all: str0m
    /// reports an offer's media lines once ICE and DTLS are up, and a [`Event::RoomChanged`]
    /// follows with the slots filled in.
    pub plan: Plan,
}

/// One receive slot of a subscriber.
struct Slot {
    mid: Mid,
    rewriter: SlotRewriter,
}

/// One connected endpoint.
struct Peer {
    room: RoomId,
    rtc: Rtc,
    next_timeout: Instant,
    /// Local ICE ufrag, to find the peer from a STUN request on a new address.
    ufrag: String,
    /// Remote addresses seen, to clean the address map on removal.
    addrs: Vec<SocketAddr>,
    /// Inbound media by mid: which track each carries.
    inbound: HashMap<Mid, Track>,
    /// Inbound SSRCs resolved to tracks, filled on first sight.
    ssrc_track: HashMap<Ssrc, Track>,
    audio_out: Vec<Slot>,
    video_out: Vec<Slot>,
    connected: bool,
    /// The endpoint closed its side (DTLS close_notify); it leaves once str0m has drained.
    hung_up: bool,
    /// Since when ICE has been disconnected, for the grace period.
    disconnected_since: Option<Instant>,
    packets_in: u64,
    packets_dropped: u64,
    packets_out: u64,
    stats: StatsAccumulator,
    /// Last keyframe request per track, to throttle subscribers' PLI storms.
    last_keyframe: HashMap<Track, Instant>,
    /// Test hook: the next call into this peer panics, as a bug in str0m would.
    #[cfg(test)]
    panic_next: bool,
}

impl Peer {
    fn mid_of(&self, track: Track) -> Option<Mid> {
        self.inbound
            .iter()
            .find(|(_, t)| **t == track)
            .map(|(m, _)| *m)
    }

    /// Records a new media line from the negotiation: from the SFU's side, a receiving line
    /// is one of the endpoint's tracks (first audio = microphone, first video = camera,
    /// second video = content), a sending line is a receive slot of the endpoint.
    fn classify(&mut self, mid: Mid, kind: MediaKind, direction: Direction) {
        if direction.is_receiving() {
            let taken = |t| self.inbound.values().any(|x| *x == t);
            let track = match kind {
                MediaKind::Audio if !taken(Track::Audio) => Some(Track::Audio),
                MediaKind::Video if !taken(Track::Camera) => Some(Track::Camera),
                MediaKind::Video if !taken(Track::Content) => Some(Track::Content),
                _ => None,
            };
            if let Some(track) = track {
                self.inbound.insert(mid, track);
            }
        }
        if direction.is_sending() {
            let slot = Slot {
                mid,
                rewriter: SlotRewriter::default(),
            };
            match kind {
                MediaKind::Audio => self.audio_out.push(slot),
                MediaKind::Video => self.video_out.push(slot),
            }
        }
    }
}

struct Room {
    state: RoomState,
    /// Endpoints called to the host and when, until their first packet reaches the host.
    pending_connect: HashMap<PeerId, Instant>,
    /// The last snapshot announced by [`Event::RoomChanged`], counters zeroed, so a change
    /// is announced once and a non-change not at all.
    announced: Option<RoomSnapshot>,
}

/// The SFU: rooms, peers and the queues of output. See the crate docs for the model.
pub struct Sfu {
    config: SfuConfig,
    /// One DTLS certificate for every peer, made once: its key is the server's identity, as
    /// with Janus or a browser's one certificate for all its connections (the session keys
    /// are negotiated per peer). str0m's default, a new key pair and certificate per peer,
    /// put that work into every join, inside the loop that forwards media.
    dtls_cert: Option<str0m::config::DtlsCert>,
    rooms: HashMap<RoomId, Room>,
    peers: HashMap<PeerId, Peer>,
    by_addr: HashMap<SocketAddr, PeerId>,
    by_ufrag: HashMap<String, PeerId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_peer: u64,
    last_now: Instant,
}

/// How long a subscriber must wait between two keyframe requests it causes for one track.
const KEYFRAME_THROTTLE: Duration = Duration::from_millis(300);

impl Sfu {
    /// A new SFU with no rooms. `now` starts its clock.
    pub fn new(config: SfuConfig, now: Instant) -> Self {
        Self {
            config,
            // None only if the crypto backend cannot make certificates; str0m then makes
            // one per peer as before.
            dtls_cert: str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate(),
            rooms: HashMap::new(),
            peers: HashMap::new(),
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_peer: 1,
            last_now: now,
        }
    }

    /// Opens a room for a live session.
    pub fn create_room(&mut self, room: RoomId) -> Result<(), Error> {
        if self.rooms.contains_key(&room) {
            return Err(Error::RoomExists(room));
        }
        self.rooms.insert(
            room,
            Room {
                state: RoomState::default(),
                pending_connect: HashMap::new(),
                announced: None,
            },
        );
        Ok(())
    }

    /// Closes a room, dropping its peers.
    pub fn close_room(&mut self, room: RoomId) -> Result<(), Error> {
        let r = self.rooms.get(&room).ok_or(Error::UnknownRoom(room))?;
        let peers: Vec<PeerId> = r.state.members.keys().copied().collect();
        for p in peers {
            self.drop_peer(p, LeaveReason::RoomClosed);
        }
        self.rooms.remove(&room);
        Ok(())
    }

    /// Adds an endpoint to `room` with its SDP offer; returns its id and the SDP answer.
    ///
    /// The offer's receive-only lines become the endpoint's receive slots: as many audio
    /// and video tracks as it can show at once. Its send lines are its microphone, camera
    /// and (second video line) content.
    pub fn add_peer(
        &mut self,
        now: Instant,
        room: RoomId,
        join: JoinRequest,
        offer: &str,
    ) -> Result<(PeerId, String), Error> {
        self.tick(now);
        if !self.rooms.contains_key(&room) {
            return Err(Error::UnknownRoom(room));
        }
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| Error::BadSdp(e.to_string()))?;
        let config = &self.config;
        let dtls_cert = self.dtls_cert.clone();
        let built = catch_unwind(AssertUnwindSafe(|| -> Result<Rtc, Error> {
            let mut builder = Rtc::builder();
            if let Some(cert) = dtls_cert {
                builder = builder.set_dtls_cert(cert);
            }
            let mut rtc = builder
                .set_rtp_mode(true)
                // The server has a public address: it answers checks, it does not probe.
                .set_ice_lite(true)
                .set_stats_interval(Some(config.stats_interval))
                .clear_codecs()
                .enable_opus(true, false)
                .enable_vp8(true)
                .enable_h264(true)
                .build(now);
            let candidate = Candidate::host(config.public_addr, Protocol::Udp)
                .map_err(|e| Error::BadCandidate(e.to_string()))?;
            rtc.add_local_candidate(candidate);
            // Adding a candidate is a mutation: drain before the next one. With no remote
            // peer yet there is nothing to send, only a timeout.
            loop {
                match rtc.poll_output() {
                    Ok(str0m::Output::Timeout(_)) => break,
                    Ok(_) => {}
                    Err(e) => return Err(Error::PeerFailed(e.to_string())),
                }
            }
            Ok(rtc)
        }));
        let mut rtc = built.map_err(|_| Error::PeerFailed("panic in setup".into()))??;

        let id = PeerId(self.next_peer);
        self.next_peer += 1;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        self.by_ufrag.insert(ufrag.clone(), id);
        self.peers.insert(
            id,
            Peer {
                room,
                rtc,
                next_timeout: now,
                ufrag,
                addrs: Vec::new(),
                inbound: HashMap::new(),
                ssrc_track: HashMap::new(),
                audio_out: Vec::new(),
                video_out: Vec::new(),
                connected: false,
                hung_up: false,
                disconnected_since: None,
                packets_in: 0,
                packets_dropped: 0,
                packets_out: 0,
                stats: StatsAccumulator::default(),
                last_keyframe: HashMap::new(),
                #[cfg(test)]
                panic_next: false,
            },
        );
        // The peer is not a member yet: if the offer fails, it leaves no trace in the room.
        let (answer, events) = self
            .with_peer_result(id, |p| {
                p.rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .map(|a| a.to_sdp_string())
            })
            .ok_or(Error::PeerFailed("peer dropped during setup".into()))?;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.drop_peer(id, LeaveReason::Failed(e.to_string()));
                return Err(Error::BadSdp(e.to_string()));
            }
        };
        let r = self.rooms.get_mut(&room).ok_or(Error::UnknownRoom(room))?;
        let admitted = r
            .state
            .join(id, join.endpoint, join.role, join.invited, 0, 0);
        self.events.push_back(Event::PeerJoined {
            room,
            peer: id,
            admitted,
        });
        // The media lines of the offer arrive as `MediaAdded` and become tracks and slots.
        self.process(now, id, events);
        if !self.peers.contains_key(&id) {
            return Err(Error::PeerFailed("peer dropped during setup".into()));
        }
        self.replan(room);
        Ok((id, answer))
    }

    /// Accepts a new offer from an existing peer (ICE restart after a network change, or
    /// more media lines); returns the answer. Role, mute and layout are the room's and are
    /// kept.
    pub fn renegotiate(
        &mut self,
        now: Instant,
        peer: PeerId,
        offer: &str,
    ) -> Result<String, Error> {
        self.tick(now);
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| Error::BadSdp(e.to_string()))?;
        if !self.peers.contains_key(&peer) {
            return Err(Error::UnknownPeer(peer));
        }
        let (answer, events) = self
            .with_peer_result(peer, |p| {
                p.rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .map(|a| a.to_sdp_string())
            })
            .ok_or(Error::PeerFailed("peer dropped".into()))?;
        let answer = answer.map_err(|e| Error::BadSdp(e.to_string()))?;
        // An ICE restart brings new credentials: map the new ufrag, forget the old.
        if let Some(p) = self.peers.get_mut(&peer) {
            let ufrag = p.rtc.direct_api().local_ice_credentials().ufrag;
            if ufrag != p.ufrag {
                self.by_ufrag.remove(&p.ufrag);
                self.by_ufrag.insert(ufrag.clone(), peer);
                p.ufrag = ufrag;
            }
        }
        self.process(now, peer, events);
        if let Some(room) = self.peers.get(&peer).map(|p| p.room) {
            self.replan(room);
        }
        Ok(answer)
    }

    /// Adds a trickled ICE candidate of the endpoint (`a=candidate` line or its value).
    pub fn add_ice_candidate(&mut self, peer: PeerId, candidate: &str) -> Result<(), Error> {
        let c = candidate.trim().trim_start_matches("a=");
        let c = Candidate::from_sdp_string(c).map_err(|e| Error::BadCandidate(e.to_string()))?;
        if !self.peers.contains_key(&peer) {
            return Err(Error::UnknownPeer(peer));
        }
        let now = self.last_now;
        if let Some(events) = self.with_peer(peer, |p| {
            p.rtc.add_remote_candidate(c);
            Ok(())
        }) {
            self.process(now, peer, events);
        }
        Ok(())
    }

    /// Removes a peer (the endpoint hung up, or the web layer closes it).
    pub fn remove_peer(&mut self, peer: PeerId) -> Result<(), Error> {
        if !self.peers.contains_key(&peer) {
            return Err(Error::UnknownPeer(peer));
        }
        self.drop_peer(peer, LeaveReason::Removed);
        Ok(())
    }

    /// Applies a control command in `room`, enforcing who may issue it.
    pub fn command(
        &mut self,
        now: Instant,
        room: RoomId,
        actor: Actor,
        command: Command,
    ) -> Result<(), Error> {
        self.tick(now);
        let r = self.rooms.get_mut(&room).ok_or(Error::UnknownRoom(room))?;
        let fx = r.state.apply(actor, &command)?;
        for p in &fx.connected_to_host {
            r.pending_connect.insert(*p, now);
        }
        for p in fx.removed {
            self.drop_peer(p, LeaveReason::Removed);
        }
        self.events.push_back(Event::ControlApplied {
            room,
            actor,
            command,
        });
        self.replan(room);
        for p in fx.unmuted_video {
            self.request_keyframe(now, p, Track::Camera, KeyframeCause::Unmuted);
        }
        Ok(())
    }

    /// The state of a room: who is in, mute states, layout, speaking queue.
    pub fn snapshot(&self, room: RoomId) -> Option<RoomSnapshot> {
        let r = self.rooms.get(&room)?;
        let s = &r.state;
        let ranking = s.ranking();
        let mut members: Vec<(u64, MemberSnapshot)> = s
            .members
            .iter()
            .map(|(id, m)| {
                let p = self.peers.get(id);
                let snapshot = MemberSnapshot {
                    peer: *id,
                    endpoint: m.endpoint.clone(),
                    role: m.role,
                    admitted: m.admitted,
                    audio_muted: m.audio_muted,
                    video_muted: m.video_muted,
                    connected: p.is_some_and(|p| p.connected),
                    packets_in: p.map_or(0, |p| p.packets_in),
                    packets_dropped: p.map_or(0, |p| p.packets_dropped),
                    packets_out: p.map_or(0, |p| p.packets_out),
                    plan: s.plan_with(*id, &ranking),
                };
                (m.seq, snapshot)
            })
            .collect();
        members.sort_by_key(|(seq, _)| *seq);
        let members = members.into_iter().map(|(_, m)| m).collect();
        Some(RoomSnapshot {
            room,
            locked: s.locked,
            layout: s.layout.clone(),
            host_layout: s.host_layout.clone(),
            members,
            on_stage: s.on_stage.clone(),
            queue: s.queue.iter().copied().collect(),
            sharing: s.sharing,
        })
    }

    /// The room a peer is in.
    pub fn room_of(&self, peer: PeerId) -> Option<RoomId> {
        self.peers.get(&peer).map(|p| p.room)
    }

    /// Feeds one input. Afterwards, drain [`Sfu::poll_output`] until it returns a timeout.
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Receive(now, d) => {
                self.tick(now);
                self.receive(now, d);
            }
            Input::Timeout(now) => {
                self.tick(now);
                self.timeout(now);
            }
        }
    }

    /// The next output: transmits first, then events, then the next timeout.
    pub fn poll_output(&mut self) -> Output {
        if let Some(t) = self.transmits.pop_front() {
            return Output::Transmit(t);
        }
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        let next = self.peers.values().map(|p| p.next_timeout).min();
        // With no peers nothing is due; come back in a second to keep the loop simple.
        Output::Timeout(next.unwrap_or(self.last_now + Duration::from_secs(1)))
    }

    fn tick(&mut self, now: Instant) {
        if now > self.last_now {
            self.last_now = now;
        }
    }

    fn receive(&mut self, now: Instant, d: Datagram<'_>) {
        let Some(id) = self.demux(&d) else {
            return;
        };
        let Ok(contents) = d.contents.try_into() else {
            // Not STUN, DTLS, RTP or RTCP: not for us.
            return;
        };
        let receive = Receive {
            proto: Protocol::Udp,
            source: d.source,
            destination: d.destination,
            contents,
        };
        let input = str0m::Input::Receive(now, receive);
        if let Some(events) = self.with_peer(id, |p| p.rtc.handle_input(input)) {
            self.process(now, id, events);
        }
    }

    /// Finds the peer of a datagram: by its source address, or for a STUN request from an
    /// address not seen yet, by the server ufrag in its USERNAME (`server:client`).
    fn demux(&mut self, d: &Datagram<'_>) -> Option<PeerId> {
        if let Some(id) = self.by_addr.get(&d.source) {
            return Some(*id);
        }
        let msg = StunMessage::parse(d.contents).ok()?;
        let (local, _) = msg.split_username()?;
        let id = *self.by_ufrag.get(local)?;
        self.by_addr.insert(d.source, id);
        if let Some(p) = self.peers.get_mut(&id) {
            p.addrs.push(d.source);
        }
        Some(id)
    }

    fn timeout(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.next_timeout <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(events) =
                self.with_peer(id, |p| p.rtc.handle_input(str0m::Input::Timeout(now)))
            {
                self.process(now, id, events);
            }
        }
        let grace = self.config.reconnect_grace;
        let gone: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.disconnected_since.is_some_and(|t| now >= t + grace))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.drop_peer(id, LeaveReason::Disconnected);
        }
    }

    /// Runs one mutation on a peer and drains its `Rtc`, isolated by `catch_unwind`.
    /// Returns the str0m events of the drain, or `None` if the peer was dropped.
    fn with_peer(
        &mut self,
        id: PeerId,
        f: impl FnOnce(&mut Peer) -> Result<(), RtcError>,
    ) -> Option<Vec<str0m::Event>> {
        let (result, events) = self.with_peer_result(id, f)?;
        if let Err(e) = result {
            // Bad input from the network (a malformed packet) is not the peer's end.
            tracing::debug!(peer = %id, error = %e, "input refused");
        }
        Some(events)
    }

    fn with_peer_result<R>(
        &mut self,
        id: PeerId,
        f: impl FnOnce(&mut Peer) -> R,
    ) -> Option<(R, Vec<str0m::Event>)> {
        let peer = self.peers.get_mut(&id)?;
        let transmits = &mut self.transmits;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            #[cfg(test)]
            if std::mem::take(&mut peer.panic_next) {
                panic!("injected fault in peer {id}");
            }
            let r = f(peer);
            let mut events = Vec::new();
            let drained = loop {
                match peer.rtc.poll_output() {
                    Ok(str0m::Output::Timeout(t)) => {
                        peer.next_timeout = t;
                        break Ok(());
                    }
                    Ok(str0m::Output::Transmit(t)) => transmits.push_back(t),
                    Ok(str0m::Output::Event(e)) => events.push(e),
                    Err(e) => break Err(e),
                }
            };
            (r, events, drained, peer.rtc.is_alive())
        }));
        match outcome {
            Ok((r, events, Ok(()), true)) => Some((r, events)),
            Ok((_, events, Ok(()), false)) => {
                let hung_up = events.iter().any(|e| matches!(e, str0m::Event::Closed));
                let reason = if hung_up || self.peers.get(&id).is_some_and(|p| p.hung_up) {
                    LeaveReason::HungUp
                } else {
                    LeaveReason::Disconnected
                };
                self.drop_peer(id, reason);
                None
            }
            Ok((_, _, Err(e), _)) => {
                self.drop_peer(id, LeaveReason::Failed(e.to_string()));
                None
            }
            Err(_) => {
                tracing::error!(peer = %id, "peer panicked; dropped");
                self.drop_peer(id, LeaveReason::Panicked);
                None
            }
        }
    }

    /// Handles the str0m events of one peer, and those that handling them causes on other
    /// peers, breadth first, so no peer is mutated while another is being drained.
    fn process(&mut self, now: Instant, id: PeerId, events: Vec<str0m::Event>) {
        let mut work: VecDeque<(PeerId, Vec<str0m::Event>)> = VecDeque::new();
        work.push_back((id, events));
        let mut replan = Vec::new();
        while let Some((id, events)) = work.pop_front() {
            for e in events {
                let Some(room) = self.peers.get(&id).map(|p| p.room) else {
                    break;
                };
                match e {
                    str0m::Event::Connected => {
                        let mut waiting = Vec::new();
                        if let Some(p) = self.peers.get_mut(&id) {
                            p.connected = true;
                            waiting.extend(
                                p.video_out
                                    .iter()
                                    .filter(|s| s.rewriter.waiting())
                                    .filter_map(|s| s.rewriter.source()),
                            );
                        }
                        self.events
                            .push_back(Event::PeerConnected { room, peer: id });
                        // `connected` is part of the room's state as the web shows it; the
                        // replan below announces it, with the slots that str0m reports
                        // (as `MediaAdded`) once the connection is up.
                        replan.push(room);
                        // Its slots were planned before it could receive: the keyframes
                        // asked for then went to nobody, so ask again.
                        for src in waiting {
                            if let Some(evs) =
                                self.keyframe(now, src, KeyframeCause::SourceSwitched)
                            {
                                work.push_back((src.peer, evs));
                            }
                        }
                    }
                    str0m::Event::IceConnectionStateChange(s) => {
                        if let Some(p) = self.peers.get_mut(&id) {
                            match s {
                                IceConnectionState::Disconnected => {
                                    p.disconnected_since.get_or_insert(now);
                                }
                                _ => p.disconnected_since = None,
                            }
                        }
                    }
                    str0m::Event::Closed => {
                        if let Some(p) = self.peers.get_mut(&id) {
                            p.hung_up = true;
                        }
                    }
                    str0m::Event::MediaAdded(m) => {
                        if let Some(p) = self.peers.get_mut(&id) {
                            p.classify(m.mid, m.kind, m.direction);
                            let (a, v) = (p.audio_out.len(), p.video_out.len());
                            if let Some(member) = self
                                .rooms
                                .get_mut(&room)
                                .and_then(|r| r.state.members.get_mut(&id))
                            {
                                member.audio_slots = a;
                                member.video_slots = v;
                            }
                            replan.push(room);
                        }
                    }
                    str0m::Event::RtpPacket(pkt) => self.forward(now, id, room, pkt, &mut work),
                    str0m::Event::KeyframeRequest(req) => {
                        let source = self.peers.get(&id).and_then(|p| {
                            p.video_out
                                .iter()
                                .find(|s| s.mid == req.mid)
                                .and_then(|s| s.rewriter.source())
                        });
                        if let Some(src) = source {
                            if let Some(evs) = self.keyframe(now, src, KeyframeCause::Subscriber) {
                                work.push_back((src.peer, evs));
                            }
                        }
                    }
                    str0m::Event::PeerStats(s) => {
                        if let Some(stats) = self.peers.get_mut(&id).and_then(|p| p.stats.peer(&s))
                        {
                            self.events.push_back(Event::LinkStats {
                                room,
                                peer: id,
                                stats,
                            });
                        }
                    }
                    str0m::Event::MediaIngressStats(s) => {
                        if let Some(p) = self.peers.get_mut(&id) {
                            let audio = p.inbound.get(&s.mid) == Some(&Track::Audio);
                            p.stats.ingress(&s, if audio { 48_000 } else { 90_000 });
                        }
                    }
                    _ => {}
                }
            }
        }
        replan.dedup();
        for room in replan {
            self.replan(room);
        }
    }

    /// Forwards one RTP packet of publisher `id` to every slot that plans it.
    fn forward(
        &mut self,
        now: Instant,
        id: PeerId,
        room: RoomId,
        pkt: RtpPacket,
        work: &mut VecDeque<(PeerId, Vec<str0m::Event>)>,
    ) {
        let Some(publisher) = self.peers.get_mut(&id) else {
            return;
        };
        publisher.packets_in += 1;
        let ssrc = pkt.header.ssrc;
        let track = match publisher.ssrc_track.get(&ssrc) {
            Some(t) => Some(*t),
            None => {
                let mid = publisher.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid());
                let t = mid.and_then(|m| publisher.inbound.get(&m).copied());
                if let Some(t) = t {
                    publisher.ssrc_track.insert(ssrc, t);
                }
                t
            }
        };
        let params: Option<PayloadParams> = publisher
            .rtc
            .codec_config()
            .find(|p| p.pt() == pkt.header.payload_type)
            .cloned();
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let (Some(track), Some(params)) = (track, params) else {
            return;
        };
        if !r.state.may_publish(id, track) {
            // Server-enforced mute (R-LIVE-2): the packet stops here.
            if let Some(p) = self.peers.get_mut(&id) {
                p.packets_dropped += 1;
            }
            return;
        }
        let source = Source { peer: id, track };
        let host = r.state.host();
        let subscribers: Vec<PeerId> = r
            .state
            .members
            .keys()
            .copied()
            .filter(|p| *p != id)
            .collect();
        let frame = if track.is_video() { 3000 } else { 960 };
        let keyframe = track.is_video() && starts_keyframe(params.spec().codec, &pkt.payload);
        let mut reached_host = false;
        for sub in subscribers {
            let Some(s) = self.peers.get_mut(&sub) else {
                continue;
            };
            if !s.connected {
                continue;
            }
            let slots = if track.is_video() {
                &mut s.video_out
            } else {
                &mut s.audio_out
            };
            let mut writes = Vec::new();
            for slot in slots.iter_mut() {
                if slot.rewriter.source() == Some(source) {
                    if let Some((seq, ts)) =
                        slot.rewriter
                            .map(*pkt.seq_no, pkt.header.timestamp, frame, keyframe, now)
                    {
                        writes.push((slot.mid, seq, ts));
                    }
                }
            }
            if writes.is_empty() {
                continue;
            }
            let ext = &pkt.header.ext_vals;
            // Only the media-describing extensions travel; transport ones (mid, TWCC,
            // send time) belong to each hop and str0m writes its own.
            let ext_out = ExtensionValues {
                audio_level: ext.audio_level,
                voice_activity: ext.voice_activity,
                video_orientation: ext.video_orientation,
                ..Default::default()
            };
            for (mid, seq, ts) in writes {
                let payload = pkt.payload.clone();
                let written = self.with_peer_result(sub, |s| {
                    let Some(pt) = s.rtc.codec_config().match_params(params).map(|p| p.pt()) else {
                        return false;
                    };
                    let mut api = s.rtc.direct_api();
                    let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                        return false;
                    };
                    tx.write_rtp(
                        RtpWrite::new(pt, seq.into(), ts, pkt.timestamp, payload)
                            .marker(pkt.header.marker)
                            .nackable(track.is_video())
                            .ext_vals(ext_out.clone()),
                    );
                    true
                });
                if let Some((ok, events)) = written {
                    if ok {
                        if let Some(s) = self.peers.get_mut(&sub) {
                            s.packets_out += 1;
                        }
                    }
                    reached_host |= ok && Some(sub) == host;
                    work.push_back((sub, events));
                }
            }
        }
        if reached_host {
            if let Some(t0) = self
                .rooms
                .get_mut(&room)
                .and_then(|r| r.pending_connect.remove(&id))
            {
                self.events.push_back(Event::ConnectedToHost {
                    room,
                    peer: id,
                    elapsed: now.saturating_duration_since(t0),
                });
            }
        }
    }

    /// Asks `src`'s publisher for a keyframe; returns the events of its drain.
    fn keyframe(
        &mut self,
        now: Instant,
        src: Source,
        cause: KeyframeCause,
    ) -> Option<Vec<str0m::Event>> {
        let p = self.peers.get_mut(&src.peer)?;
        let room = p.room;
        if cause == KeyframeCause::Subscriber {
            if let Some(last) = p.last_keyframe.get(&src.track) {
                if now < *last + KEYFRAME_THROTTLE {
                    return None;
                }
            }
        }
        p.last_keyframe.insert(src.track, now);
        let mid = p.mid_of(src.track)?;
        let (asked, events) = self.with_peer_result(src.peer, |p| {
            let mut api = p.rtc.direct_api();
            match api.stream_rx_by_mid(mid, None) {
                Some(rx) => {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                    true
                }
                // No packet seen yet on that line: the first frame will be a keyframe anyway.
                None => false,
            }
        })?;
        if asked {
            self.events.push_back(Event::KeyframeRequested {
                room,
                publisher: src.peer,
                track: src.track,
                cause,
            });
        }
        Some(events)
    }

    fn request_keyframe(&mut self, now: Instant, peer: PeerId, track: Track, cause: KeyframeCause) {
        if let Some(events) = self.keyframe(now, Source { peer, track }, cause) {
            self.process(now, peer, events);
        }
    }

    /// Recomputes every member's receive plan and points the slots at their sources, then
    /// announces the room's state if it changed. A video slot that switches asks the new
    /// source for a keyframe, so the picture appears at once.
    fn replan(&mut self, room: RoomId) {
        let Some(r) = self.rooms.get(&room) else {
            return;
        };
        let now = self.last_now;
        let mut switched: Vec<Source> = Vec::new();
        let ids: Vec<PeerId> = r.state.members.keys().copied().collect();
        let ranking = r.state.ranking();
        for id in ids {
            let plan = r.state.plan_with(id, &ranking);
            let Some(p) = self.peers.get_mut(&id) else {
                continue;
            };
            for (slot, src) in p.audio_out.iter_mut().zip(plan.audio) {
                let src = src.map(|peer| Source {
                    peer,
                    track: Track::Audio,
                });
                slot.rewriter.switch(src, now);
            }
            for (slot, src) in p.video_out.iter_mut().zip(plan.video) {
                if slot.rewriter.switch(src, now) {
                    if let Some(s) = src {
                        if !switched.contains(&s) {
                            switched.push(s);
                        }
                    }
                }
            }
        }
        self.announce(room);
        for s in switched {
            self.request_keyframe(now, s.peer, s.track, KeyframeCause::SourceSwitched);
        }
    }

    /// Emits [`Event::RoomChanged`] if the room's snapshot, counters aside, differs from the
    /// last one announced. Every change of the room's state (a command, a join, a leave, new
    /// media lines) and every new connection ends in [`Sfu::replan`], which calls this, so no
    /// change goes unannounced; repeated calls for one change announce it once.
    fn announce(&mut self, room: RoomId) {
        let Some(snapshot) = self.snapshot(room) else {
            return;
        };
        let mut bare = snapshot.clone();
        for m in &mut bare.members {
            m.packets_in = 0;
            m.packets_dropped = 0;
            m.packets_out = 0;
        }
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if r.announced.as_ref() != Some(&bare) {
            r.announced = Some(bare);
            self.events.push_back(Event::RoomChanged(snapshot));
        }
    }

    fn drop_peer(&mut self, id: PeerId, reason: LeaveReason) {
        let Some(mut p) = self.peers.remove(&id) else {
            return;
        };
        if reason != LeaveReason::Panicked {
            // A polite end: RTCP BYE and DTLS close_notify, so the endpoint knows at once.
            // After a panic the Rtc is not touched again.
            let transmits = &mut self.transmits;
            let _ = catch_unwind(AssertUnwindSafe(|| {
                if p.rtc.close().is_err() {
                    return;
                }
                // Closing only drains what is queued; the bound guards against a bug.
                for _ in 0..1000 {
                    match p.rtc.poll_output() {
                        Ok(str0m::Output::Transmit(t)) => transmits.push_back(t),
                        Ok(str0m::Output::Event(_)) => {}
                        Ok(str0m::Output::Timeout(_)) | Err(_) => break,
                    }
                    if !p.rtc.is_alive() {
                        break;
                    }
                }
            }));
        }
        self.by_ufrag.remove(&p.ufrag);
        for a in &p.addrs {
            self.by_addr.remove(a);
        }
        let room = p.room;
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if !r.state.members.contains_key(&id) {
            // Failed before it joined (a bad offer): nobody saw it arrive.
            return;
        }
        r.state.leave(id);
        r.pending_connect.remove(&id);
        self.events.push_back(Event::PeerLeft {
            room,
            peer: id,
            reason,
        });
        self.replan(room);
    }

    /// Test hook: makes the next call into `peer` panic.
    #[cfg(test)]
    pub(crate) fn inject_panic(&mut self, peer: PeerId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.panic_next = true;
        }
    }
}
