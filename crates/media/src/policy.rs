//! Room policy: who is in a room, what the server lets through, and who sees whom.
//!
//! This module owns the state of one live session's room as pure data ([`RoomState`]) and
//! the rules that change it ([`RoomState::apply`]). It knows nothing of str0m, packets or
//! time: the SFU asks it two questions, "may this packet of this track pass?"
//! ([`RoomState::may_publish`]) and "which source goes into which receive slot of this
//! subscriber?" ([`RoomState::plan_for`]). Keeping these here lets every rule of R-LIVE be
//! unit-tested without a single peer connection.
//!
//! Invariants:
//! - at most one member has [`Role::Host`] (the chair's endpoint); the first one to join as
//!   host holds it until it leaves;
//! - a member that is not admitted publishes nothing and receives nothing;
//! - a muted track is dropped whatever the endpoint's client does (R-LIVE-2);
//! - only the MCU operator or the host endpoint changes routing, mute and layout; a member may
//!   only ask for the floor, withdraw the request, or mute itself (R-LIVE-4).

use std::collections::{BTreeMap, VecDeque};

use crate::{Error, PeerId};

/// The part a member plays in its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The host endpoint (điểm cầu chủ trì): it chairs and, with control rights, controls.
    Host,
    /// Every other endpoint (điểm cầu thành phần).
    Member,
}

/// One media track an endpoint publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Track {
    /// The microphone (Opus).
    Audio,
    /// The camera (VP8 or H.264).
    Camera,
    /// Content sharing: slides, a screen or a clip (R-LIVE-10), a second video track.
    Content,
}

impl Track {
    /// Whether the track carries video.
    pub fn is_video(self) -> bool {
        !matches!(self, Track::Audio)
    }
}

/// A video source: a member's camera or its shared content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source {
    /// The publishing member.
    pub peer: PeerId,
    /// Its camera or its content track.
    pub track: Track,
}

/// What a screen shows. Presets are filled from the room's state; custom cells are fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One cell: shared content if any, else the speaker.
    SingleSpeaker,
    /// One large cell and `n` small ones.
    OnePlusN(usize),
    /// Four cells.
    Grid2x2,
    /// Nine cells.
    Grid3x3,
    /// Exactly these sources in these cells, whatever the state (a cell whose source is
    /// muted, absent or the viewer itself stays empty).
    Custom(Vec<Source>),
}

impl Layout {
    /// How many cells the layout has.
    pub fn cells(&self) -> usize {
        match self {
            Layout::SingleSpeaker => 1,
            Layout::OnePlusN(n) => 1 + n,
            Layout::Grid2x2 => 4,
            Layout::Grid3x3 => 9,
            Layout::Custom(cells) => cells.len(),
        }
    }
}

/// Whose screen a layout command sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutScope {
    /// Every endpoint's screen (and the host's, unless it has its own).
    Everyone,
    /// Only the host endpoint's screen.
    Host,
}

/// Who issues a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The MCU operator at the operating unit's console: may do everything.
    Operator,
    /// An endpoint in the room, with the rights of its [`Role`].
    Peer(PeerId),
}

/// A control command on a room (R-LIVE-1..4, R-LIVE-10). Enforced here, by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Let a waiting endpoint in (R-REG-7: an uninvited endpoint needs the chair).
    Admit(PeerId),
    /// Drop an endpoint from the room (R-LIVE-5).
    Remove(PeerId),
    /// Mute (`true`) or unmute an endpoint's microphone.
    MuteAudio(PeerId, bool),
    /// Mute (`true`) or unmute an endpoint's camera.
    MuteVideo(PeerId, bool),
    /// Lock (`true`) the room: endpoints joining from now on wait to be admitted.
    Lock(bool),
    /// Set the layout of everyone's screen or of the host's.
    SetLayout(LayoutScope, Layout),
    /// Turn an endpoint's audio and video on and show it on the host's screen (R-LIVE-2).
    ConnectToHost(PeerId),
    /// Take an endpoint off the host's screen and mute it again.
    DisconnectFromHost(PeerId),
    /// Ask for the floor (R-LIVE-3).
    RaiseHand(PeerId),
    /// Withdraw a request for the floor.
    LowerHand(PeerId),
    /// Grant the floor: take it off the queue and connect it to the host.
    Grant(PeerId),
    /// Refuse the floor: take it off the queue.
    Refuse(PeerId),
    /// Let this endpoint share content (only one at a time, R-LIVE-10).
    ShareContent(PeerId),
    /// Stop content sharing.
    StopContent,
}

/// One endpoint in a room, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The endpoint's label as the web layer knows it (e.g. the endpoint's code).
    pub endpoint: String,
    /// Host or member.
    pub role: Role,
    /// Whether it is in the room proper (not waiting to be admitted).
    pub admitted: bool,
    /// Server-side microphone mute.
    pub audio_muted: bool,
    /// Server-side camera mute.
    pub video_muted: bool,
    /// How many audio tracks it can receive at once (its receive-only audio m-lines).
    pub audio_slots: usize,
    /// How many video tracks it can receive at once (its receive-only video m-lines).
    pub video_slots: usize,
    /// Join order, used to fill layouts deterministically.
    pub seq: u64,
}

/// What a subscriber receives: one optional source per receive slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Audio slot `i` carries the microphone of this member.
    pub audio: Vec<Option<PeerId>>,
    /// Video slot `i` carries this source.
    pub video: Vec<Option<Source>>,
}

/// The state of one room (one live session).
#[derive(Debug, Clone, Default)]
pub struct RoomState {
    /// Members by id; a `BTreeMap` so snapshots and fills are in a stable order.
    pub members: BTreeMap<PeerId, Member>,
    /// When locked, joining endpoints wait to be admitted even if invited.
    pub locked: bool,
    /// The layout on every screen.
    pub layout: Layout,
    /// The host's own layout, when set apart from everyone's.
    pub host_layout: Option<Layout>,
    /// Endpoints connected to the host, most recent last (R-LIVE-2).
    pub on_stage: Vec<PeerId>,
    /// Speaking requests in the order they were made (R-LIVE-3).
    pub queue: VecDeque<PeerId>,
    /// The one endpoint allowed to share content.
    pub sharing: Option<PeerId>,
    next_seq: u64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout::OnePlusN(3)
    }
}

/// What a command changed, so the SFU knows which side effects to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Camera tracks that were just unmuted: ask their publishers for a keyframe.
    pub unmuted_video: Vec<PeerId>,
    /// Endpoints just connected to the host: measure the time to their first packet there.
    pub connected_to_host: Vec<PeerId>,
    /// Endpoints to drop: close their connection, then [`RoomState::leave`].
    pub removed: Vec<PeerId>,
}

impl RoomState {
    /// Adds an endpoint. It is admitted when invited and the room is not locked.
    /// Returns whether it was admitted. A second host joins as a member.
    pub fn join(
        &mut self,
        peer: PeerId,
        endpoint: String,
        role: Role,
        invited: bool,
        audio_slots: usize,
        video_slots: usize,
    ) -> bool {
        let role = if role == Role::Host && self.host().is_some() {
            Role::Member
        } else {
            role
        };
        // The host is the chair: a locked room never shuts out the one who locked it.
        let admitted = role == Role::Host || (invited && !self.locked);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.members.insert(
            peer,
            Member {
                endpoint,
                role,
                admitted,
                // Members join muted: the chair turns them on (R-LIVE-2). The host speaks.
                audio_muted: role != Role::Host,
                video_muted: false,
                audio_slots,
                video_slots,
                seq,
            },
        );
        admitted
    }

    /// Removes an endpoint and every reference to it.
    pub fn leave(&mut self, peer: PeerId) {
        self.members.remove(&peer);
        self.on_stage.retain(|p| *p != peer);
        self.queue.retain(|p| *p != peer);
        if self.sharing == Some(peer) {
            self.sharing = None;
        }
        if let Some(Layout::Custom(cells)) = &mut self.host_layout {
            cells.retain(|c| c.peer != peer);
        }
        if let Layout::Custom(cells) = &mut self.layout {
            cells.retain(|c| c.peer != peer);
        }
    }

    /// The host endpoint, if it is in the room.
    pub fn host(&self) -> Option<PeerId> {
        self.members
            .iter()
            .find(|(_, m)| m.role == Role::Host)
            .map(|(p, _)| *p)
    }

    /// Whether `actor` may issue `command` (R-LIVE-4, R-LIVE-7).
    pub fn permits(&self, actor: Actor, command: &Command) -> bool {
        let peer = match actor {
            Actor::Operator => return true,
            Actor::Peer(p) => p,
        };
        let Some(member) = self.members.get(&peer) else {
            return false;
        };
        if member.role == Role::Host && member.admitted {
            return true;
        }
        // A member may only act on itself, and never to open its own channel.
        match command {
            Command::RaiseHand(p) | Command::LowerHand(p) => *p == peer && member.admitted,
            Command::MuteAudio(p, true) | Command::MuteVideo(p, true) => *p == peer,
            Command::StopContent => self.sharing == Some(peer),
            _ => false,
        }
    }

    /// Applies a command from `actor`. Bad input (unknown peer, no right) is an error and
    /// changes nothing.
    pub fn apply(&mut self, actor: Actor, command: &Command) -> Result<Effects, Error> {
        if !self.permits(actor, command) {
            return Err(Error::NotAllowed);
        }
        let mut fx = Effects::default();
        let known = |s: &Self, p: &PeerId| {
            if s.members.contains_key(p) {
                Ok(())
            } else {
                Err(Error::UnknownPeer(*p))
            }
        };
        match command {
            Command::Admit(p) => {
                known(self, p)?;
                self.member_mut(*p).admitted = true;
            }
            Command::Remove(p) => {
                known(self, p)?;
                // The caller closes its connection, then calls `leave`.
                fx.removed.push(*p);
            }
            Command::MuteAudio(p, muted) => {
                known(self, p)?;
                self.member_mut(*p).audio_muted = *muted;
            }
            Command::MuteVideo(p, muted) => {
                known(self, p)?;
                let m = self.member_mut(*p);
                if m.video_muted && !*muted {
                    fx.unmuted_video.push(*p);
                }
                m.video_muted = *muted;
            }
            Command::Lock(locked) => self.locked = *locked,
            Command::SetLayout(scope, layout) => {
                for cell in layout_sources(layout) {
                    known(self, &cell.peer)?;
                }
                match scope {
                    LayoutScope::Everyone => self.layout = layout.clone(),
                    LayoutScope::Host => self.host_layout = Some(layout.clone()),
                }
            }
            Command::ConnectToHost(p) | Command::Grant(p) => {
                known(self, p)?;
                self.queue.retain(|q| q != p);
                self.connect_to_host(*p, &mut fx);
            }
            Command::DisconnectFromHost(p) => {
                known(self, p)?;
                self.on_stage.retain(|q| q != p);
                let m = self.member_mut(*p);
                if m.role != Role::Host {
                    m.audio_muted = true;
                }
            }
            Command::RaiseHand(p) => {
                known(self, p)?;
                if !self.queue.contains(p) && !self.on_stage.contains(p) {
                    self.queue.push_back(*p);
                }
            }
            Command::LowerHand(p) | Command::Refuse(p) => {
                known(self, p)?;
                self.queue.retain(|q| q != p);
            }
            Command::ShareContent(p) => {
                known(self, p)?;
                self.sharing = Some(*p);
            }
            Command::StopContent => self.sharing = None,
        }
        Ok(fx)
    }

    fn connect_to_host(&mut self, peer: PeerId, fx: &mut Effects) {
        let m = self.member_mut(peer);
        // Calling an endpoint admits it: the chair has decided (R-LIVE-1).
        m.admitted = true;
        m.audio_muted = false;
        if m.video_muted {
            m.video_muted = false;
            fx.unmuted_video.push(peer);
        }
        self.on_stage.retain(|q| *q != peer);
        self.on_stage.push(peer);
        fx.connected_to_host.push(peer);
    }

    fn member_mut(&mut self, peer: PeerId) -> &mut Member {
        // The callers check `known` first; a missing member here is a bug in this module.
        self.members
            .get_mut(&peer)
            .expect("member checked to exist before mutation")
    }

    /// Whether a packet of `track` from `peer` may enter the room.
    pub fn may_publish(&self, peer: PeerId, track: Track) -> bool {
        let Some(m) = self.members.get(&peer) else {
            return false;
        };
        m.admitted
            && match track {
                Track::Audio => !m.audio_muted,
                Track::Camera => !m.video_muted,
                Track::Content => self.sharing == Some(peer),
            }
    }

    /// The receive plan of `viewer`: which source goes into each of its slots.
    pub fn plan_for(&self, viewer: PeerId) -> Plan {
        self.plan_with(viewer, &self.ranking())
    }

    /// The order in which plans fill slots, for every viewer at once: open microphones and
    /// cameras ranked by [`RoomState::rank`]. Ranking is the costly part of a plan (it looks
    /// at every member), so planning a whole room ranks once and then gives each viewer the
    /// first sources that are not its own: linear in the room, not quadratic.
    pub fn ranking(&self) -> Ranking {
        let ranked = |track: Track| {
            let mut peers: Vec<PeerId> = self
                .members
                .keys()
                .copied()
                .filter(|p| self.may_publish(*p, track))
                .collect();
            peers.sort_by_cached_key(|p| self.rank(*p));
            peers
        };
        Ranking {
            speakers: ranked(Track::Audio),
            cameras: ranked(Track::Camera),
        }
    }

    /// The receive plan of `viewer` given the room's [`RoomState::ranking`].
    pub fn plan_with(&self, viewer: PeerId, ranking: &Ranking) -> Plan {
        let Some(me) = self.members.get(&viewer) else {
            return Plan::default();
        };
        let mut plan = Plan {
            audio: vec![None; me.audio_slots],
            video: vec![None; me.video_slots],
        };
        if !me.admitted {
            return plan;
        }

        // Audio: every open microphone but one's own; the host first, then those on stage,
        // then by join order, as far as the viewer has slots.
        let speakers = ranking.speakers.iter().filter(|p| **p != viewer);
        for (slot, p) in plan.audio.iter_mut().zip(speakers) {
            *slot = Some(*p);
        }

        let layout = match (me.role, &self.host_layout) {
            (Role::Host, Some(l)) => l,
            _ => &self.layout,
        };
        let cells: Vec<Option<Source>> = match layout {
            Layout::Custom(cells) => cells
                .iter()
                .map(|c| {
                    let visible = c.peer != viewer && self.may_publish(c.peer, c.track);
                    visible.then_some(*c)
                })
                .collect(),
            preset => {
                let mut fill = self.preset_order(viewer, ranking).map(Some);
                (0..preset.cells()).map(|_| fill.next().flatten()).collect()
            }
        };
        for (slot, cell) in plan.video.iter_mut().zip(cells) {
            *slot = cell;
        }
        plan
    }

    /// The order in which presets fill their cells for `viewer`: shared content, then the
    /// endpoints on stage (latest call first), then the host, then everyone else by join
    /// order. The viewer never sees itself; a muted camera is skipped.
    fn preset_order<'a>(
        &'a self,
        viewer: PeerId,
        ranking: &'a Ranking,
    ) -> impl Iterator<Item = Source> + 'a {
        let content = self
            .sharing
            .filter(|p| *p != viewer && self.may_publish(*p, Track::Content))
            .map(|peer| Source {
                peer,
                track: Track::Content,
            });
        let cameras = ranking
            .cameras
            .iter()
            .filter(move |p| **p != viewer)
            .map(|peer| Source {
                peer: *peer,
                track: Track::Camera,
            });
        content.into_iter().chain(cameras)
    }

    /// Sort key: latest on stage first, then the host, then join order.
    fn rank(&self, peer: PeerId) -> (u8, u64) {
        if let Some(i) = self.on_stage.iter().position(|p| *p == peer) {
            return (0, (self.on_stage.len() - i) as u64);
        }
        match self.members.get(&peer) {
            Some(m) if m.role == Role::Host => (1, 0),
            Some(m) => (2, m.seq),
            None => (3, 0),
        }
    }
}

/// Open microphones and cameras in the order plans fill slots ([`RoomState::ranking`]).
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    speakers: Vec<PeerId>,
    cameras: Vec<PeerId>,
}

fn layout_sources(layout: &Layout) -> &[Source] {
    match layout {
        Layout::Custom(cells) => cells,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u64) -> PeerId {
        PeerId(n)
    }

    fn room() -> RoomState {
        let mut r = RoomState::default();
        assert!(r.join(p(1), "HOST".into(), Role::Host, true, 2, 4));
        assert!(r.join(p(2), "A".into(), Role::Member, true, 2, 4));
        assert!(r.join(p(3), "B".into(), Role::Member, true, 2, 4));
        r
    }

    fn cam(n: u64) -> Option<Source> {
        Some(Source {
            peer: p(n),
            track: Track::Camera,
        })
    }

    #[test]
    fn r_live_2_members_join_muted_and_the_host_speaks() {
        let r = room();
        assert!(r.may_publish(p(1), Track::Audio));
        assert!(!r.may_publish(p(2), Track::Audio));
        assert!(r.may_publish(p(2), Track::Camera));
        // Only the host's microphone reaches the members.
        assert_eq!(r.plan_for(p(2)).audio, vec![Some(p(1)), None]);
        assert_eq!(r.plan_for(p(1)).audio, vec![None, None]);
    }

    #[test]
    fn r_live_4_members_cannot_route_media() {
        let mut r = room();
        let member = Actor::Peer(p(2));
        for cmd in [
            Command::MuteAudio(p(2), false),
            Command::MuteAudio(p(3), true),
            Command::ConnectToHost(p(2)),
            Command::SetLayout(LayoutScope::Everyone, Layout::Grid2x2),
            Command::Admit(p(3)),
            Command::Lock(true),
            Command::ShareContent(p(2)),
            Command::RaiseHand(p(3)),
        ] {
            assert_eq!(r.apply(member, &cmd), Err(Error::NotAllowed), "{cmd:?}");
        }
        // What a member may do: ask for the floor and mute itself.
        assert!(r.apply(member, &Command::RaiseHand(p(2))).is_ok());
        assert!(r.apply(member, &Command::MuteVideo(p(2), true)).is_ok());
        assert!(!r.may_publish(p(2), Track::Camera));
        assert!(r.apply(Actor::Peer(p(1)), &Command::Lock(true)).is_ok());
        assert!(r.apply(Actor::Operator, &Command::Lock(false)).is_ok());
    }

    #[test]
    fn r_live_2_connect_to_host_unmutes_and_puts_on_the_hosts_screen() {
        let mut r = room();
        r.apply(Actor::Operator, &Command::MuteVideo(p(3), true))
            .unwrap();
        let fx = r
            .apply(Actor::Peer(p(1)), &Command::ConnectToHost(p(3)))
            .unwrap();
        assert_eq!(fx.unmuted_video, vec![p(3)]);
        assert_eq!(fx.connected_to_host, vec![p(3)]);
        assert!(r.may_publish(p(3), Track::Audio));
        let host = r.plan_for(p(1));
        // The called endpoint takes the first cell; the host hears it.
        assert_eq!(host.video[0], cam(3));
        assert_eq!(host.audio, vec![Some(p(3)), None]);
        r.apply(Actor::Operator, &Command::DisconnectFromHost(p(3)))
            .unwrap();
        assert!(!r.may_publish(p(3), Track::Audio));
        assert_eq!(r.plan_for(p(1)).video[0], cam(2));
    }

    #[test]
    fn r_live_3_speaking_queue_is_ordered_and_grant_connects() {
        let mut r = room();
        assert!(r.join(p(4), "C".into(), Role::Member, true, 1, 1));
        for n in [3, 2, 4, 3] {
            r.apply(Actor::Peer(p(n)), &Command::RaiseHand(p(n)))
                .unwrap();
        }
        assert_eq!(Vec::from(r.queue.clone()), vec![p(3), p(2), p(4)]);
        r.apply(Actor::Peer(p(1)), &Command::Refuse(p(2))).unwrap();
        r.apply(Actor::Peer(p(1)), &Command::Grant(p(4))).unwrap();
        assert_eq!(Vec::from(r.queue.clone()), vec![p(3)]);
        assert_eq!(r.on_stage, vec![p(4)]);
        assert!(r.may_publish(p(4), Track::Audio));
        assert!(!r.may_publish(p(2), Track::Audio));
    }

    #[test]
    fn r_reg_7_lock_and_admit() {
        let mut r = room();
        assert!(!r.join(p(4), "LATE".into(), Role::Member, false, 1, 1));
        r.apply(Actor::Operator, &Command::Lock(true)).unwrap();
        assert!(!r.join(p(5), "INVITED".into(), Role::Member, true, 1, 1));
        // A waiting endpoint neither publishes nor receives.
        assert!(!r.may_publish(p(5), Track::Camera));
        assert_eq!(r.plan_for(p(5)).video, vec![None]);
        assert!(!r.plan_for(p(1)).video.contains(&cam(5)));
        r.apply(Actor::Peer(p(1)), &Command::Admit(p(5))).unwrap();
        assert!(r.may_publish(p(5), Track::Camera));
        assert_eq!(
            r.apply(Actor::Operator, &Command::Admit(p(99))),
            Err(Error::UnknownPeer(p(99)))
        );
    }

    #[test]
    fn layouts_fill_their_cells_and_the_host_may_have_its_own() {
        let mut r = room();
        assert!(r.join(p(4), "C".into(), Role::Member, true, 1, 4));
        r.apply(
            Actor::Operator,
            &Command::SetLayout(LayoutScope::Everyone, Layout::SingleSpeaker),
        )
        .unwrap();
        assert_eq!(r.plan_for(p(2)).video, vec![cam(1), None, None, None]);
        r.apply(
            Actor::Operator,
            &Command::SetLayout(LayoutScope::Host, Layout::Grid2x2),
        )
        .unwrap();
        assert_eq!(r.plan_for(p(1)).video, vec![cam(2), cam(3), cam(4), None]);
        // Everyone else still sees one speaker.
        assert_eq!(r.plan_for(p(3)).video, vec![cam(1), None, None, None]);
        let custom = Layout::Custom(vec![
            Source {
                peer: p(4),
                track: Track::Camera,
            },
            Source {
                peer: p(2),
                track: Track::Camera,
            },
        ]);
        r.apply(
            Actor::Operator,
            &Command::SetLayout(LayoutScope::Everyone, custom),
        )
        .unwrap();
        assert_eq!(r.plan_for(p(3)).video, vec![cam(4), cam(2), None, None]);
        // The viewer never sees itself.
        assert_eq!(r.plan_for(p(4)).video, vec![None, cam(2), None, None]);
        r.leave(p(4));
        assert_eq!(r.plan_for(p(3)).video, vec![cam(2), None, None, None]);
    }

    #[test]
    fn r_live_10_content_goes_first_and_only_from_the_sharer() {
        let mut r = room();
        assert!(!r.may_publish(p(2), Track::Content));
        r.apply(Actor::Peer(p(1)), &Command::ShareContent(p(2)))
            .unwrap();
        assert!(r.may_publish(p(2), Track::Content));
        assert!(!r.may_publish(p(3), Track::Content));
        assert_eq!(
            r.plan_for(p(3)).video[0],
            Some(Source {
                peer: p(2),
                track: Track::Content
            })
        );
        // The sharer may stop its own sharing.
        r.apply(Actor::Peer(p(2)), &Command::StopContent).unwrap();
        assert_eq!(r.sharing, None);
    }

    #[test]
    fn a_second_host_joins_as_member() {
        let mut r = room();
        r.join(p(9), "H2".into(), Role::Host, true, 1, 1);
        assert_eq!(r.members[&p(9)].role, Role::Member);
        assert_eq!(r.host(), Some(p(1)));
    }
}
