//! The media server of hnth: a selective forwarding unit (SFU) for the live sessions of
//! Vietnam's government video conferences, built on [str0m] in RTP mode.
//!
//! This crate owns rooms (one per live session), peers (one per connected endpoint), the
//! forwarding of Opus audio and VP8/H.264 video (camera and a second track for content) from
//! publishers to the subscribers that the room's state allows, the server-enforced control of
//! R-LIVE (admit, remove, mute, lock, layout, connect to the host, the speaking queue) and
//! per-peer link statistics. It does not own signalling: the web layer carries SDP and
//! commands over its WebSocket and calls the API of [`Sfu`].
//!
//! # The model: sans I/O
//!
//! Like str0m, the core [`Sfu`] does no I/O and reads no clock. Everything comes in as input
//! and goes out as output:
//!
//! - **Inputs**: datagrams from the network ([`Input::Receive`]), the passing of time
//!   ([`Input::Timeout`]), and calls from the application: [`Sfu::add_peer`] with an SDP
//!   offer, [`Sfu::add_ice_candidate`], [`Sfu::renegotiate`] (ICE restart),
//!   [`Sfu::remove_peer`] and control [`Command`]s through [`Sfu::command`]. Each takes the
//!   time as an `Instant` argument.
//! - **Outputs**: [`Output::Transmit`] (a datagram to send), [`Output::Event`] (peers joined,
//!   connected and left; commands applied; room state changed; the measured time from
//!   "connect X to the host" to X's first packet at the host; keyframe requests; link
//!   statistics) and [`Output::Timeout`] (when to feed the next `Input::Timeout`).
//!
//! **The drain rule:** after every input or call, drain [`Sfu::poll_output`] until it returns
//! `Output::Timeout`, then wait for the earlier of that instant and the next datagram. The
//! core itself keeps str0m's rule for each peer: every mutation of a peer's `Rtc` is followed
//! by a full drain of that `Rtc` before the next one, and what the drain yields on one peer
//! (an RTP packet to forward, a keyframe request) is queued and handled after it, so no peer
//! is mutated while another is being drained.
//!
//! ```no_run
//! # use std::time::Instant;
//! # use hnth_media::{Sfu, SfuConfig, Input, Output, Datagram};
//! let socket = std::net::UdpSocket::bind("0.0.0.0:3478").unwrap();
//! // The address endpoints send to: the ICE candidate, and the destination str0m expects.
//! let public: std::net::SocketAddr = "203.0.113.5:3478".parse().unwrap();
//! let mut sfu = Sfu::new(SfuConfig::new(public), Instant::now());
//! let mut buf = vec![0; 2000];
//! loop {
//!     let timeout = loop {
//!         match sfu.poll_output() {
//!             Output::Transmit(t) => { socket.send_to(&t.contents, t.destination).unwrap(); }
//!             Output::Event(e) => println!("{e:?}"),
//!             Output::Timeout(t) => break t,
//!         }
//!     };
//!     let wait = timeout.saturating_duration_since(Instant::now());
//!     socket.set_read_timeout(Some(wait.max(std::time::Duration::from_millis(1)))).unwrap();
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, source)) => sfu.handle_input(Input::Receive(Instant::now(), Datagram {
//!             source, destination: public, contents: &buf[..n],
//!         })),
//!         Err(_) => sfu.handle_input(Input::Timeout(Instant::now())),
//!     }
//! }
//! ```
//!
//! # Receive slots instead of renegotiation
//!
//! An endpoint's offer declares, once, what it sends (first audio line: microphone; first
//! video line: camera; second video line: content) and how many audio and video tracks it can
//! receive (its receive-only lines: its *slots*). The room's layout decides which source feeds
//! which slot; when it changes, the slot's RTP sequence numbers and timestamps are rewritten
//! so the endpoint's decoder sees one continuous stream; the new source is asked for a
//! keyframe (PLI) and a video slot forwards nothing from it until a keyframe starts (VP8 and
//! H.264 are recognised), so the picture switches cleanly. Trade-off: no SDP round trip on a layout change (fast, and the server needs no
//! offer/answer state machine per layout), at the price of a fixed maximum of tiles per
//! endpoint, chosen by the endpoint when it joins (a 3×3 layout needs 9 video slots).
//!
//! # The room's state for the web layer
//!
//! [`Sfu::snapshot`] (and [`driver::MediaHandle::snapshot`]) gives a [`RoomSnapshot`]: lock,
//! layouts, stage, speaking queue (an endpoint has its hand raised while it is in
//! `queue`), sharing, and per member its role, admission, mutes, connection, packet
//! counters and its [`Plan`] ([`MemberSnapshot::plan`]): which source feeds each of its
//! receive slots. Slot `i` of a kind is the endpoint's `i`-th receive-only line of that kind
//! in its offer; audio slot `i` carries a member's microphone, video slot `i` a
//! [`Source`] (member and camera or content). The plan comes from the same
//! [`policy::RoomState::plan_for`] that points the slots, so it is what the SFU forwards,
//! and the web layer can label each tile without knowing the layout rules. A peer's plan has
//! no slots until it is connected: str0m reports the offer's media lines once ICE and DTLS
//! are up.
//!
//! [`Event::RoomChanged`] carries a fresh snapshot after every change of what a snapshot
//! shows apart from the packet counters: a join, a leave, a connection, a command that
//! changed something, and so every change of any member's plan (a layout change, a call to
//! the host, an unmute that changes who is shown). It is emitted once per change, and not
//! for a command that set what was already set, so the web layer can push the state to its
//! endpoints on each one.
//!
//! # One socket, many peers
//!
//! All peers share one UDP port. A datagram is routed by a map from its source address to
//! the peer; a source not seen before must be a STUN check, whose USERNAME starts with the
//! server's ICE ufrag for that peer, found by a second map. Both are hash maps, not a scan
//! of every peer (`Rtc::accepts`). An ICE restart ([`Sfu::renegotiate`]) brings a new ufrag
//! and, often, a new address; a peer whose ICE connection dropped keeps its place, role and
//! mute state for [`SfuConfig::reconnect_grace`] before it is removed.
//!
//! # Policy in pure code
//!
//! Who may publish and who sees whom is decided by [`policy::RoomState`], which knows nothing
//! of str0m and is unit-tested on its own. A muted endpoint's packets are dropped in the SFU
//! whatever its client does; only the MCU operator and the host endpoint route media.
//!
//! # Panics, errors and unwraps
//!
//! Errors are bad input (a malformed offer, an unknown peer, a command without the right) and
//! come back as [`Error`]. Panics are bugs: every `expect` says which invariant it relies on.
//! Each call into one peer's `Rtc` runs under `catch_unwind`, so a bug that panics while
//! handling one peer drops that peer ([`LeaveReason::Panicked`]) and the room goes on.
//!
//! # Crypto
//!
//! DTLS is str0m's own (dimpl) with the `aws-lc-rs` backend; SRTP profiles are offered in the
//! order AEAD-AES-256-GCM, AEAD-AES-128-GCM, AES128-CM-SHA1-80, so AES-GCM is preferred
//! whenever the browser supports it. The pure-Rust backend (`rust-crypto`) would be preferred,
//! but its release matching str0m 0.25 (`str0m-rust-crypto` 0.7) is not on the registry this
//! project builds from; aws-lc builds here with the C compiler alone (no cmake, no OpenSSL).
//!
//! # The driver
//!
//! [`driver`] runs the core on one tokio UDP socket and gives the web layer a cloneable
//! [`driver::MediaHandle`] (`create_room`, `add_peer` → answer, `add_ice_candidate`,
//! `renegotiate`, `remove_peer`, `command`, `snapshot`, `subscribe` to events, `shutdown`).
//!
//! # Tests
//!
//! The policy is unit-tested on its own; the core runs in scenario tests against simulated
//! str0m endpoints on a simulated network and clock (fast and exact: packet counts, keyframe
//! starts, slot plans against what each slot received). Two integration tests run the
//! driver over real loopback UDP with str0m endpoints: `tests/driver.rs` (two endpoints,
//! AES-GCM negotiated, goodbyes on shutdown) and `tests/room_of_twenty.rs`, the acceptance
//! run of one host and twenty endpoints on a two-thread runtime, every endpoint receiving
//! the host, which prints its join times and packet figures (`--nocapture`).
//!
//! [str0m]: https://docs.rs/str0m/0.25.0

pub mod driver;
mod forward;
pub mod policy;
mod sfu;
mod stats;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use std::fmt;

pub use policy::{Actor, Command, Layout, LayoutScope, Plan, Role, Source, Track};
pub use sfu::{
    Datagram, Event, Input, JoinRequest, KeyframeCause, LeaveReason, MemberSnapshot, Output,
    RoomSnapshot, Sfu, SfuConfig,
};
pub use stats::LinkStats;
pub use str0m::net::Transmit;

/// A room: one live session. The web layer chooses the number (the session's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub i64);

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "room-{}", self.0)
    }
}

/// A peer: one connected endpoint, numbered by the SFU when it joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub(crate) u64);

impl PeerId {
    /// The number, for logs and for the web layer's messages.
    pub fn get(self) -> u64 {
        self.0
    }

    /// A peer id back from its number (as the web layer's messages carry it). Forging one
    /// gains nothing: every command is checked against the room's members and their rights.
    pub fn from_raw(n: u64) -> Self {
        Self(n)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer-{}", self.0)
    }
}

/// Bad input to the SFU. Bugs are panics, not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No room with that id.
    #[error("no such room: {0}")]
    UnknownRoom(RoomId),
    /// The room is already open.
    #[error("room already exists: {0}")]
    RoomExists(RoomId),
    /// No peer with that id (in that room).
    #[error("no such peer: {0}")]
    UnknownPeer(PeerId),
    /// The actor has no right to this command (R-LIVE-4, R-LIVE-7).
    #[error("not allowed")]
    NotAllowed,
    /// The SDP offer could not be parsed or accepted.
    #[error("bad SDP: {0}")]
    BadSdp(String),
    /// The ICE candidate could not be parsed.
    #[error("bad ICE candidate: {0}")]
    BadCandidate(String),
    /// The peer failed while being set up.
    #[error("peer failed: {0}")]
    PeerFailed(String),
    /// The media server's task has stopped.
    #[error("the media server has stopped")]
    Stopped,
}
