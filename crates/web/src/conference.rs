//! The live conference at the web layer: signalling between browser endpoints and the media
//! server (`hnth-media`), the MCU operator's REST control, join links, and what the session
//! keeps of it (commands with their measured effect, link statistics).
//!
//! The protocol is written down in `docs/conference-protocol.md`. In short: one WebSocket
//! per endpoint carries the SDP offer and answer, trickled ICE candidates, ICE restarts and
//! control commands up, and the room's state (who is in, mute flags, the layout, the
//! speaking queue, which source feeds each of the endpoint's receive slots) down.
//!
//! Who may do what is decided twice, on purpose: here (which account or link may join as
//! which endpoint; whether a host endpoint holds delegated control rights, R-DIR-7, R-LIVE-7)
//! and in the media server's room policy (what a member or the host may route at all,
//! R-LIVE-4). A command is recorded, with its author, in the session's commands and the audit
//! trail only once the media server has applied it (R-SEC-5).
//!
//! [`Conferences`] keeps which WebSocket speaks for which peer, and one task pumps the media
//! server's events to them: room changes become `state` messages, "connected to the host"
//! measurements are stored with the command that caused them, link statistics are stored
//! per endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use askama::Template;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hnth_domain::lang::{Lang, Text};
use hnth_domain::role::Permission;
use hnth_domain::session::incident::{IncidentKind, LinkLimits};
use hnth_domain::session::SessionStatus;
use hnth_media::driver::MediaHandle;
use hnth_media::{
    Actor as MediaActor, Command, Event, JoinRequest, Layout, LayoutScope, LeaveReason,
    MemberSnapshot, PeerId, Role, RoomId, RoomSnapshot, Source, Track,
};
use hnth_store::conference::{CommandRecord, LinkSample};
use hnth_store::live_log::NewIncident;
use hnth_store::sessions::{SeatFacts, SessionDetail, SessionRecord};
use hnth_store::{Actor, Store};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Notify};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ErrorBody;
use crate::error::{AppError, Path, Query};
use crate::sessions::{allowed_on, require_visible};
use crate::{render, AppState, Ctx, CurrentUser};

/// Who automatic records are written down as.
const MEDIA_SERVER: &str = "media-server";

/// How long a new WebSocket may take to send its offer.
const OFFER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long after its end a session can still be joined (sessions overrun).
const OVERRUN: Duration = Duration::from_secs(3 * 3600);

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conference/{id}", get(conference_page))
        .route("/conference/{id}/ws", get(conference_socket))
        .route("/join/{token}", get(join_page))
        .route("/join/{token}/ws", get(join_socket))
        .route("/console/{id}/ws", get(console_socket))
}

/// The API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_room))
        .routes(routes!(api_commands, api_command))
        .routes(routes!(api_join_links))
}

// ---------------------------------------------------------------------------------------
// Who is connected: the registry and the event pump
// ---------------------------------------------------------------------------------------

/// One endpoint's place in a live session, as decided before it joins.
#[derive(Debug, Clone)]
struct Seat {
    session_id: i64,
    endpoint_id: i64,
    endpoint_name: String,
    unit_name: String,
    /// Who sits there (R-LIVE-5): the account's name, or who the invited unit said chairs.
    person: String,
    role: Role,
    /// Booked in the session (R-REG-7); others wait in the lobby.
    invited: bool,
    /// The host endpoint with delegated control rights (R-DIR-7).
    can_control: bool,
    /// Who its commands are written down as.
    actor: Actor,
    lang: Lang,
}

/// What the server sends down one endpoint's WebSocket.
type Outbox = mpsc::UnboundedSender<Value>;

struct Connected {
    seat: Seat,
    outbox: Outbox,
    /// The latest room state for this endpoint, already serialized. A slot, not a queue: an
    /// endpoint whose socket is slow skips the states it had no time for instead of piling
    /// them up in the server's memory (each one lists the whole room).
    state: watch::Sender<Option<String>>,
}

#[derive(Default)]
struct Registry {
    peers: HashMap<PeerId, Connected>,
    /// The peer currently speaking for each (session, endpoint).
    by_endpoint: HashMap<(i64, i64), PeerId>,
    /// `connect_to_host` commands recorded and not yet measured: (session, peer) → command.
    awaiting_effect: HashMap<(i64, PeerId), i64>,
    /// Measurements that arrived before their command was recorded.
    early_effects: HashMap<(i64, PeerId), f64>,
    /// Operator consoles watching a session: they get every state, link-statistics sample
    /// and connect-to-host measurement of its room.
    observers: HashMap<i64, Vec<Outbox>>,
}

impl Registry {
    /// Sends `message` to the consoles watching `session_id`, forgetting closed ones.
    fn tell_observers(&mut self, session_id: i64, message: &Value) {
        if let Some(observers) = self.observers.get_mut(&session_id) {
            observers.retain(|outbox| outbox.send(message.clone()).is_ok());
        }
    }
}

/// The live sessions' connections to the media server.
pub struct Conferences {
    media: MediaHandle,
    store: Store,
    /// Tells open pages (the session's log, its page) when the media server wrote something.
    live: crate::live::LiveHub,
    /// Past these a link sample opens an incident (the policy's fail levels).
    limits: LinkLimits,
    registry: Mutex<Registry>,
    /// Rooms whose state changed since the endpoints were last told, with the latest
    /// snapshot: the teller sends each once per round, however many changes came in between.
    changed_rooms: Mutex<HashMap<RoomId, RoomSnapshot>>,
    /// Wakes the teller.
    rooms_changed: Notify,
}

/// The shortest pause between two rounds of telling rooms their state: changes within it
/// (a join storm makes several per joining endpoint) go out as one state.
const STATE_PACE_MIN: Duration = Duration::from_millis(50);
/// The longest: the room's state is at most this late, however big the room.
const STATE_PACE_MAX: Duration = Duration::from_secs(2);
/// Up to this many members every endpoint is told about every other (a province's sessions,
/// Cần Thơ's 95 endpoints among them); past it only the endpoints with control rights are.
const FULL_LIST_UP_TO: usize = 100;

impl Conferences {
    /// Wraps a running media server and starts pumping its events.
    pub fn start(
        media: MediaHandle,
        store: Store,
        live: crate::live::LiveHub,
        limits: LinkLimits,
    ) -> Arc<Conferences> {
        let conferences = Arc::new(Conferences {
            media,
            store,
            live,
            limits,
            registry: Mutex::new(Registry::default()),
            changed_rooms: Mutex::new(HashMap::new()),
            rooms_changed: Notify::new(),
        });
        let pump = conferences.clone();
        tokio::spawn(async move { pump.pump_events().await });
        tokio::spawn(tell_states(conferences.clone()));
        conferences
    }

    /// The media server.
    pub fn media(&self) -> &MediaHandle {
        &self.media
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves plain maps behind, still usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn pump_events(self: Arc<Self>) {
        let mut events = self.media.subscribe();
        loop {
            match events.recv().await {
                Ok(Event::RoomChanged(snapshot)) => self.state_changed(snapshot),
                Ok(Event::ConnectedToHost {
                    room,
                    peer,
                    elapsed,
                }) => self.effect_measured(room, peer, elapsed).await,
                Ok(Event::PeerLeft { peer, reason, .. }) => self.peer_left(peer, &reason),
                Ok(Event::LinkStats { room, peer, stats }) => {
                    let endpoint = self.registry().peers.get(&peer).map(|c| c.seat.endpoint_id);
                    if let Some(endpoint_id) = endpoint {
                        let figures = json!({
                            "type": "link_stats",
                            "peer": peer.get(),
                            "endpoint_id": endpoint_id,
                            "rtt_ms": stats.rtt.map(|d| d.as_secs_f64() * 1000.0),
                            "loss_in": stats.loss_in,
                            "loss_out": stats.loss_out,
                            "jitter_ms": stats.jitter.map(|d| d.as_secs_f64() * 1000.0),
                            "bitrate_in": stats.bitrate_in,
                            "bitrate_out": stats.bitrate_out,
                        });
                        self.registry().tell_observers(room.0, &figures);
                        let sample = LinkSample {
                            endpoint_id,
                            at: jiff::Timestamp::now(),
                            rtt_ms: stats.rtt.map(|d| d.as_secs_f64() * 1000.0),
                            loss_in: stats.loss_in.map(f64::from),
                            loss_out: stats.loss_out.map(f64::from),
                            jitter_ms: stats.jitter.map(|d| d.as_secs_f64() * 1000.0),
                            bitrate_in: i64::try_from(stats.bitrate_in).unwrap_or(i64::MAX),
                            bitrate_out: i64::try_from(stats.bitrate_out).unwrap_or(i64::MAX),
                        };
                        if let Err(error) = self.store.record_link_sample(room.0, &sample).await {
                            tracing::warn!(%error, "link statistics not stored");
                        }
                        self.grade_link(room.0, endpoint_id, &sample).await;
                        // The readiness board grades the link from the stored samples.
                        self.live.session_changed(room.0, "link.sampled");
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "conference events missed; refreshing every room");
                    let sessions: Vec<i64> = {
                        let registry = self.registry();
                        let mut sessions: Vec<i64> =
                            registry.peers.values().map(|c| c.seat.session_id).collect();
                        sessions.sort_unstable();
                        sessions.dedup();
                        sessions
                    };
                    for session in sessions {
                        self.refresh(session).await;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    /// Queues the room's new state for the teller ([`tell_states`]).
    fn state_changed(&self, snapshot: RoomSnapshot) {
        self.changed_rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(snapshot.room, snapshot);
        self.rooms_changed.notify_one();
    }

    /// Sends the room's state to every endpoint in it and to the consoles watching it.
    ///
    /// Each member's entry is serialized once per round and the entries are put together per
    /// endpoint. Endpoints with control rights and the consoles get the whole list; in a room
    /// larger than [`FULL_LIST_UP_TO`] the other endpoints get the entries that concern them
    /// (themselves, the host, who is on stage, asking to speak, sharing or on their screen)
    /// and `member_count`: telling a thousand endpoints about a thousand others on every
    /// round would cost the square of the room, which a join storm cannot afford.
    fn push_state(&self, snapshot: &RoomSnapshot) {
        let compact_room = snapshot.members.len() > FULL_LIST_UP_TO;
        let (entries, recipients) = {
            let mut registry = self.registry();
            if registry.observers.contains_key(&snapshot.room.0) {
                let full = state_json(snapshot, &registry);
                registry
                    .tell_observers(snapshot.room.0, &json!({ "type": "state", "state": full }));
            }
            let entries: Vec<(PeerId, String)> = snapshot
                .members
                .iter()
                .map(|member| {
                    (
                        member.peer,
                        member_json(snapshot, member, &registry).to_string(),
                    )
                })
                .collect();
            let recipients: Vec<(&MemberSnapshot, bool, watch::Sender<Option<String>>)> = snapshot
                .members
                .iter()
                .filter_map(|member| {
                    let connected = registry.peers.get(&member.peer)?;
                    Some((member, connected.seat.can_control, connected.state.clone()))
                })
                .collect();
            (entries, recipients)
        };
        let full_list = format!(
            "[{}]",
            entries
                .iter()
                .map(|(_, e)| e.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        // The fields every endpoint shares, as the tail of an object.
        let shared = json!({
            "locked": snapshot.locked,
            "layout": layout_json(&snapshot.layout),
            "host_layout": snapshot.host_layout.as_ref().map(layout_json),
            "on_stage": snapshot.on_stage.iter().map(|p| p.get()).collect::<Vec<_>>(),
            "queue": snapshot.queue.iter().map(|p| p.get()).collect::<Vec<_>>(),
            "sharing": snapshot.sharing.map(PeerId::get),
            "member_count": snapshot.members.len(),
        })
        .to_string();
        let fields = shared.strip_prefix('{').unwrap_or("}");
        for (member, can_control, slot) in recipients {
            let you = you_json(member, can_control);
            let members = if compact_room && !can_control {
                let shown: Vec<&str> = snapshot
                    .members
                    .iter()
                    .zip(&entries)
                    .filter(|(other, _)| concerns(snapshot, member, other))
                    .map(|(_, (_, e))| e.as_str())
                    .collect();
                format!("[{}]", shown.join(","))
            } else {
                full_list.clone()
            };
            slot.send_replace(Some(format!(
                r#"{{"type":"state","state":{{"you":{you},"members":{members},{fields}}}"#
            )));
        }
    }

    /// Writes down an endpoint's arrival; an automatic "lost connection" incident of the
    /// endpoint is resolved by it. Returns the presence to close on departure.
    async fn arrived(&self, seat: &Seat) -> Option<i64> {
        let presence = self
            .store
            .presence_started(seat.session_id, seat.endpoint_id)
            .await;
        let lost = self
            .store
            .open_automatic_incident(
                seat.session_id,
                seat.endpoint_id,
                IncidentKind::LostConnection,
            )
            .await;
        if let Ok(Some(incident)) = lost {
            let now = crate::now_local();
            let resolution = format!(
                "Điểm cầu đã kết nối lại lúc {:02}:{:02}. / The endpoint reconnected at {:02}:{:02}.",
                now.hour(),
                now.minute(),
                now.hour(),
                now.minute()
            );
            if let Err(error) = self
                .store
                .resolve_incident(&Actor::system(MEDIA_SERVER), incident, &resolution)
                .await
            {
                tracing::warn!(%error, "incident not resolved");
            }
        }
        self.live
            .session_changed(seat.session_id, "attendance.arrived");
        match presence {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::warn!(%error, "attendance not recorded");
                None
            }
        }
    }

    /// Writes down an endpoint's departure; a lost connection opens an incident for the
    /// carrier (R-LIVE-6), which its return resolves.
    async fn departed(&self, seat: &Seat, presence: Option<i64>, how: &'static str) {
        if let Some(presence) = presence {
            if let Err(error) = self.store.presence_ended(presence, how).await {
                tracing::warn!(%error, "attendance not recorded");
            }
        }
        self.live
            .session_changed(seat.session_id, "attendance.departed");
        if how != "lost" {
            return;
        }
        let now = crate::now_local();
        let incident = NewIncident {
            session_id: seat.session_id,
            endpoint_id: Some(seat.endpoint_id),
            kind: IncidentKind::LostConnection,
            description: format!(
                "{} mất kết nối lúc {:02}:{:02} (ngắt đột ngột, không rời phòng). / {} lost its connection at {:02}:{:02} (dropped, did not hang up).",
                seat.endpoint_name,
                now.hour(),
                now.minute(),
                seat.endpoint_name,
                now.hour(),
                now.minute()
            ),
            handler: IncidentKind::LostConnection.default_handler(),
            automatic: true,
            estimated_fix_at: None,
        };
        if let Err(error) = self
            .store
            .open_incident(&Actor::system(MEDIA_SERVER), &incident)
            .await
        {
            tracing::warn!(%error, "incident not opened");
        }
        self.live
            .session_changed(seat.session_id, "incident.opened");
    }

    /// Opens an automatic "network" incident when a sample breaks the limits, and resolves
    /// it when a sample is within them again.
    async fn grade_link(&self, session_id: i64, endpoint_id: i64, sample: &LinkSample) {
        let breach = self.limits.breach(
            sample.rtt_ms,
            // The worse direction counts; either may be unknown.
            match (sample.loss_in, sample.loss_out) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            sample.jitter_ms,
        );
        let open = match self
            .store
            .open_automatic_incident(session_id, endpoint_id, IncidentKind::Network)
            .await
        {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!(%error, "incidents not read");
                return;
            }
        };
        let actor = Actor::system(MEDIA_SERVER);
        let result = match (breach, open) {
            (Some(breach), None) => self
                .store
                .open_incident(
                    &actor,
                    &NewIncident {
                        session_id,
                        endpoint_id: Some(endpoint_id),
                        kind: IncidentKind::Network,
                        description: format!("{} / {}", breach.vi, breach.en),
                        handler: IncidentKind::Network.default_handler(),
                        automatic: true,
                        estimated_fix_at: None,
                    },
                )
                .await
                .map(drop),
            (None, Some(incident)) => self
                .store
                .resolve_incident(
                    &actor,
                    incident,
                    "Đường truyền trở lại bình thường. / The line is back within limits.",
                )
                .await
                .map(drop),
            _ => Ok(()),
        };
        match result {
            Ok(()) => self.live.session_changed(session_id, "incident.changed"),
            Err(error) => tracing::warn!(%error, "automatic incident not written"),
        }
    }

    /// The sessions with at least one endpoint connected now, smallest id first.
    pub fn sessions_in_use(&self) -> Vec<i64> {
        let registry = self.registry();
        let mut sessions: Vec<i64> = registry.peers.values().map(|c| c.seat.session_id).collect();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    /// Adds an operator console watching `session_id`; it gets the room's state at once.
    async fn watch(&self, session_id: i64, outbox: Outbox) {
        let snapshot = self.media.snapshot(RoomId(session_id)).await.ok().flatten();
        let mut registry = self.registry();
        let state = match &snapshot {
            Some(snapshot) => state_json(snapshot, &registry),
            None => json!({ "members": [], "queue": [], "on_stage": [] }),
        };
        let _ = outbox.send(json!({ "type": "state", "state": state }));
        registry
            .observers
            .entry(session_id)
            .or_default()
            .push(outbox);
    }

    /// Asks the media server for the room's state and queues it for the endpoints.
    async fn refresh(&self, session_id: i64) {
        if let Ok(Some(snapshot)) = self.media.snapshot(RoomId(session_id)).await {
            self.state_changed(snapshot);
        }
    }

    async fn effect_measured(&self, room: RoomId, peer: PeerId, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let command = {
            let mut registry = self.registry();
            for connected in registry.peers.values() {
                if connected.seat.session_id == room.0 {
                    let _ = connected.outbox.send(json!({
                        "type": "connected_to_host", "peer": peer.get(), "elapsed_ms": ms,
                    }));
                }
            }
            registry.tell_observers(
                room.0,
                &json!({ "type": "connected_to_host", "peer": peer.get(), "elapsed_ms": ms }),
            );
            match registry.awaiting_effect.remove(&(room.0, peer)) {
                Some(command) => Some(command),
                None => {
                    registry.early_effects.insert((room.0, peer), ms);
                    None
                }
            }
        };
        if let Some(command) = command {
            if let Err(error) = self.store.record_command_effect(command, ms).await {
                tracing::warn!(%error, "connect-to-host time not stored");
            }
        }
    }

    fn peer_left(&self, peer: PeerId, reason: &LeaveReason) {
        let mut registry = self.registry();
        if let Some(connected) = registry.peers.remove(&peer) {
            let key = (connected.seat.session_id, connected.seat.endpoint_id);
            if registry.by_endpoint.get(&key) == Some(&peer) {
                registry.by_endpoint.remove(&key);
            }
            let reason = match reason {
                LeaveReason::Removed => "removed",
                LeaveReason::RoomClosed => "ended",
                LeaveReason::HungUp => "hung_up",
                LeaveReason::Disconnected => "disconnected",
                LeaveReason::Failed(_) | LeaveReason::Panicked => "failed",
            };
            let _ = connected
                .outbox
                .send(json!({ "type": "removed", "reason": reason }));
        }
    }

    /// Records an applied command; a `connect_to_host` (or a granted floor) waits for its
    /// measured time, which may already have arrived.
    async fn record(
        &self,
        seat_actor: &Actor,
        session_id: i64,
        endpoint_id: Option<i64>,
        input: &CommandInput,
        command: &Command,
    ) -> Result<i64, AppError> {
        let detail = serde_json::to_value(input).unwrap_or(Value::Null);
        let id = self
            .store
            .record_command(seat_actor, session_id, endpoint_id, input.name(), &detail)
            .await?;
        let called = match command {
            Command::ConnectToHost(peer) | Command::Grant(peer) => Some(*peer),
            _ => None,
        };
        if let Some(peer) = called {
            let early = {
                let mut registry = self.registry();
                match registry.early_effects.remove(&(session_id, peer)) {
                    Some(ms) => Some(ms),
                    None => {
                        registry.awaiting_effect.insert((session_id, peer), id);
                        None
                    }
                }
            };
            if let Some(ms) = early {
                self.store.record_command_effect(id, ms).await?;
            }
        }
        Ok(id)
    }
}

/// The room's state as the protocol's `state`, seen by `you` (or by the operator).
/// Tells rooms their new state, in rounds, as long as the server runs: each round sends every changed room's latest
/// snapshot once, and the next round waits a multiple of what this one cost (within
/// [`STATE_PACE_MIN`]..[`STATE_PACE_MAX`]). A quiet room is told at once; a room of hundreds
/// joining together is told a few times a second instead of once per change, which would
/// cost the square of its size per change. Ends with the conferences.
async fn tell_states(conferences: Arc<Conferences>) {
    loop {
        // Registered before the map is read, so a change queued meanwhile is not slept over.
        let woken = conferences.rooms_changed.notified();
        let rooms: Vec<RoomSnapshot> = conferences
            .changed_rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, snapshot)| snapshot)
            .collect();
        if rooms.is_empty() {
            woken.await;
            continue;
        }
        let started = tokio::time::Instant::now();
        for snapshot in &rooms {
            conferences.push_state(snapshot);
        }
        let cost = started.elapsed();
        tokio::time::sleep_until(started + (cost * 4).clamp(STATE_PACE_MIN, STATE_PACE_MAX)).await;
    }
}

/// Whether `other` concerns `viewer` enough to be listed to it in a large room: itself, the
/// host, whoever is on stage, asking to speak or sharing, and whoever its slots carry.
fn concerns(snapshot: &RoomSnapshot, viewer: &MemberSnapshot, other: &MemberSnapshot) -> bool {
    let peer = other.peer;
    other.role == Role::Host
        || peer == viewer.peer
        || snapshot.on_stage.contains(&peer)
        || snapshot.queue.contains(&peer)
        || snapshot.sharing == Some(peer)
        || viewer.plan.audio.contains(&Some(peer))
        || viewer.plan.video.iter().flatten().any(|s| s.peer == peer)
}

/// The room's whole state, as the consoles and the REST API see it.
fn state_json(snapshot: &RoomSnapshot, registry: &Registry) -> Value {
    json!({
        "locked": snapshot.locked,
        "layout": layout_json(&snapshot.layout),
        "host_layout": snapshot.host_layout.as_ref().map(layout_json),
        "members": snapshot
            .members
            .iter()
            .map(|member| member_json(snapshot, member, registry))
            .collect::<Vec<_>>(),
        "on_stage": snapshot.on_stage.iter().map(|p| p.get()).collect::<Vec<_>>(),
        "queue": snapshot.queue.iter().map(|p| p.get()).collect::<Vec<_>>(),
        "sharing": snapshot.sharing.map(PeerId::get),
        "member_count": snapshot.members.len(),
    })
}

/// One member's entry in the state's `members`.
fn member_json(snapshot: &RoomSnapshot, member: &MemberSnapshot, registry: &Registry) -> Value {
    let seat = registry.peers.get(&member.peer).map(|c| &c.seat);
    json!({
        "peer": member.peer.get(),
        "endpoint_id": seat.map(|s| s.endpoint_id),
        "endpoint_name": seat.map_or(member.endpoint.clone(), |s| s.endpoint_name.clone()),
        "unit_name": seat.map(|s| s.unit_name.clone()).unwrap_or_default(),
        "person": seat.map(|s| s.person.clone()).unwrap_or_default(),
        "role": role_code(member.role),
        "admitted": member.admitted,
        "connected": member.connected,
        "audio_muted": member.audio_muted,
        "video_muted": member.video_muted,
        "hand_raised": snapshot.queue.contains(&member.peer),
        "packets_in": member.packets_in,
        "packets_dropped": member.packets_dropped,
    })
}

/// The part of the state only `member` is told: who it is and what its slots receive.
fn you_json(member: &MemberSnapshot, can_control: bool) -> Value {
    json!({
        "peer": member.peer.get(),
        "admitted": member.admitted,
        "can_control": can_control,
        "slots": {
            "audio": member.plan.audio.iter().map(|p| p.map(PeerId::get)).collect::<Vec<_>>(),
            "video": member.plan.video.iter().map(|s| s.map(source_json)).collect::<Vec<_>>(),
        },
    })
}

fn role_code(role: Role) -> &'static str {
    match role {
        Role::Host => "host",
        Role::Member => "member",
    }
}

fn track_code(track: Track) -> &'static str {
    match track {
        Track::Audio => "audio",
        Track::Camera => "camera",
        Track::Content => "content",
    }
}

fn source_json(source: Source) -> Value {
    json!({ "peer": source.peer.get(), "track": track_code(source.track) })
}

fn layout_json(layout: &Layout) -> Value {
    match layout {
        Layout::SingleSpeaker => json!({ "kind": "single_speaker" }),
        Layout::OnePlusN(n) => json!({ "kind": "one_plus_n", "n": n }),
        Layout::Grid2x2 => json!({ "kind": "grid_2x2" }),
        Layout::Grid3x3 => json!({ "kind": "grid_3x3" }),
        Layout::Custom(cells) => json!({
            "kind": "custom",
            "cells": cells.iter().map(|s| source_json(*s)).collect::<Vec<_>>(),
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

/// A cell of a custom layout.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct CellInput {
    /// The member shown.
    pub peer: u64,
    /// `camera` (default) or `content`.
    #[serde(default)]
    pub track: Option<String>,
}

/// A control command, as the protocol and the operator's API send it.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CommandInput {
    /// Let a waiting endpoint in.
    Admit {
        /// The peer.
        peer: u64,
    },
    /// Drop an endpoint (R-LIVE-5).
    Remove {
        /// The peer.
        peer: u64,
    },
    /// Server-side microphone mute (R-LIVE-2).
    MuteAudio {
        /// The peer (default: the sender itself).
        peer: Option<u64>,
        /// Mute or unmute.
        muted: bool,
    },
    /// Server-side camera mute.
    MuteVideo {
        /// The peer (default: the sender itself).
        peer: Option<u64>,
        /// Mute or unmute.
        muted: bool,
    },
    /// Lock the room: new endpoints wait in the lobby.
    Lock {
        /// Lock or unlock.
        locked: bool,
    },
    /// Set everyone's layout or the host's.
    SetLayout {
        /// `everyone` (default) or `host`.
        #[serde(default)]
        scope: Option<String>,
        /// `single_speaker`, `one_plus_n`, `grid_2x2`, `grid_3x3` or `custom`.
        layout: String,
        /// Small cells of `one_plus_n`.
        #[serde(default)]
        n: Option<usize>,
        /// The cells of `custom`.
        #[serde(default)]
        cells: Option<Vec<CellInput>>,
    },
    /// Turn an endpoint's audio and video on and show it to the host (R-LIVE-1, R-LIVE-2).
    ConnectToHost {
        /// The peer.
        peer: u64,
    },
    /// Take an endpoint off the host's screen.
    DisconnectFromHost {
        /// The peer.
        peer: u64,
    },
    /// Ask for the floor (R-LIVE-3).
    RaiseHand {
        /// The peer (default: the sender itself).
        peer: Option<u64>,
    },
    /// Withdraw the request.
    LowerHand {
        /// The peer (default: the sender itself).
        peer: Option<u64>,
    },
    /// Grant the floor (= connect to the host).
    Grant {
        /// The peer.
        peer: u64,
    },
    /// Refuse the floor.
    Refuse {
        /// The peer.
        peer: u64,
    },
    /// Let an endpoint share content (R-LIVE-10).
    ShareContent {
        /// The peer (default: the sender itself).
        peer: Option<u64>,
    },
    /// Stop content sharing.
    StopContent,
}

impl CommandInput {
    /// The command's name, as recorded.
    fn name(&self) -> &'static str {
        match self {
            CommandInput::Admit { .. } => "admit",
            CommandInput::Remove { .. } => "remove",
            CommandInput::MuteAudio { .. } => "mute_audio",
            CommandInput::MuteVideo { .. } => "mute_video",
            CommandInput::Lock { .. } => "lock",
            CommandInput::SetLayout { .. } => "set_layout",
            CommandInput::ConnectToHost { .. } => "connect_to_host",
            CommandInput::DisconnectFromHost { .. } => "disconnect_from_host",
            CommandInput::RaiseHand { .. } => "raise_hand",
            CommandInput::LowerHand { .. } => "lower_hand",
            CommandInput::Grant { .. } => "grant",
            CommandInput::Refuse { .. } => "refuse",
            CommandInput::ShareContent { .. } => "share_content",
            CommandInput::StopContent => "stop_content",
        }
    }

    /// The media server's command; `me` stands in for an omitted peer (an endpoint acting
    /// on itself).
    fn to_command(&self, me: Option<PeerId>) -> Result<Command, AppError> {
        let peer = PeerId::from_raw;
        let own = |given: Option<u64>| -> Result<PeerId, AppError> {
            given.map(peer).or(me).ok_or_else(|| {
                AppError::BadRequest(Text::new(
                    "Lệnh cần chỉ rõ điểm cầu (peer).",
                    "The command needs the endpoint (peer).",
                ))
            })
        };
        Ok(match self {
            CommandInput::Admit { peer: p } => Command::Admit(peer(*p)),
            CommandInput::Remove { peer: p } => Command::Remove(peer(*p)),
            CommandInput::MuteAudio { peer: p, muted } => Command::MuteAudio(own(*p)?, *muted),
            CommandInput::MuteVideo { peer: p, muted } => Command::MuteVideo(own(*p)?, *muted),
            CommandInput::Lock { locked } => Command::Lock(*locked),
            CommandInput::SetLayout {
                scope,
                layout,
                n,
                cells,
            } => {
                let scope = match scope.as_deref().unwrap_or("everyone") {
                    "everyone" => LayoutScope::Everyone,
                    "host" => LayoutScope::Host,
                    other => return Err(bad_value("scope", other)),
                };
                let layout = match layout.as_str() {
                    "single_speaker" => Layout::SingleSpeaker,
                    "one_plus_n" => Layout::OnePlusN(n.unwrap_or(3).clamp(1, 8)),
                    "grid_2x2" => Layout::Grid2x2,
                    "grid_3x3" => Layout::Grid3x3,
                    "custom" => Layout::Custom(
                        cells
                            .iter()
                            .flatten()
                            .map(|cell| {
                                let track = match cell.track.as_deref().unwrap_or("camera") {
                                    "camera" => Track::Camera,
                                    "content" => Track::Content,
                                    other => return Err(bad_value("track", other)),
                                };
                                Ok(Source {
                                    peer: peer(cell.peer),
                                    track,
                                })
                            })
                            .collect::<Result<_, AppError>>()?,
                    ),
                    other => return Err(bad_value("layout", other)),
                };
                Command::SetLayout(scope, layout)
            }
            CommandInput::ConnectToHost { peer: p } => Command::ConnectToHost(peer(*p)),
            CommandInput::DisconnectFromHost { peer: p } => Command::DisconnectFromHost(peer(*p)),
            CommandInput::RaiseHand { peer: p } => Command::RaiseHand(own(*p)?),
            CommandInput::LowerHand { peer: p } => Command::LowerHand(own(*p)?),
            CommandInput::Grant { peer: p } => Command::Grant(peer(*p)),
            CommandInput::Refuse { peer: p } => Command::Refuse(peer(*p)),
            CommandInput::ShareContent { peer: p } => Command::ShareContent(own(*p)?),
            CommandInput::StopContent => Command::StopContent,
        })
    }
}

fn bad_value(field: &str, value: &str) -> AppError {
    AppError::BadRequest(Text::new(
        format!("Giá trị \"{value}\" của {field} không hợp lệ."),
        format!("\"{value}\" is not a valid {field}."),
    ))
}

/// Whether an endpoint may issue `command` without delegated control rights: only on itself,
/// and only to ask for the floor, withdraw it, mute itself or stop its own content (R-LIVE-4).
fn self_service(command: &Command, me: PeerId) -> bool {
    match command {
        Command::RaiseHand(peer) | Command::LowerHand(peer) => *peer == me,
        Command::MuteAudio(peer, true) | Command::MuteVideo(peer, true) => *peer == me,
        Command::StopContent => true,
        _ => false,
    }
}

fn no_control_rights() -> AppError {
    AppError::Conflict(Text::new(
        "Điểm cầu này không được giao quyền điều khiển; đề nghị cán bộ điều khiển MCU thực hiện (R-LIVE-7).",
        "This endpoint holds no delegated control rights; ask the MCU operator to do it (R-LIVE-7).",
    ))
}

fn media_error(error: hnth_media::Error) -> AppError {
    use hnth_media::Error as E;
    match error {
        E::NotAllowed => AppError::Forbidden,
        E::UnknownRoom(_) => AppError::Conflict(Text::new(
            "Phiên họp chưa có điểm cầu nào kết nối.",
            "No endpoint has joined the session yet.",
        )),
        E::UnknownPeer(_) => AppError::NotFound("peer"),
        E::BadSdp(detail) | E::BadCandidate(detail) => AppError::BadRequest(Text::new(
            format!("Dữ liệu kết nối không hợp lệ: {detail}"),
            format!("Invalid connection data: {detail}"),
        )),
        E::RoomExists(_) | E::PeerFailed(_) | E::Stopped => {
            tracing::error!(%error, "media server");
            AppError::Internal
        }
    }
}

// ---------------------------------------------------------------------------------------
// Seats: who may join as which endpoint
// ---------------------------------------------------------------------------------------

fn conferences(state: &AppState) -> Result<&Arc<Conferences>, AppError> {
    state.conferences.as_ref().ok_or_else(|| {
        AppError::Conflict(Text::new(
            "Máy chủ truyền hình (MCU) không chạy trên máy chủ này.",
            "The media server (MCU) is not running on this server.",
        ))
    })
}

/// The session must be approved and not long over.
fn require_live(session: &SessionRecord) -> Result<(), AppError> {
    if session.status != SessionStatus::Approved {
        return Err(AppError::Conflict(Text::new(
            "Chỉ tham gia được phiên họp đã phê duyệt.",
            "Only an approved session can be joined.",
        )));
    }
    let end = hnth_store::sessions::to_unix(session.registration.ends_at);
    let now = jiff::Timestamp::now().as_second();
    if now > end + OVERRUN.as_secs() as i64 {
        return Err(AppError::Conflict(Text::new(
            "Phiên họp đã kết thúc.",
            "The session is over.",
        )));
    }
    Ok(())
}

async fn seat(
    state: &AppState,
    facts: &SeatFacts,
    endpoint_id: i64,
    account_name: String,
    actor: Actor,
    lang: Lang,
) -> Result<Seat, AppError> {
    let endpoint = state.store.endpoint(endpoint_id).await?;
    let role = if endpoint_id == facts.session.registration.host_endpoint_id {
        Role::Host
    } else {
        Role::Member
    };
    // Who presides at the endpoint (R-LIVE-5): the session's chair at the host, the person
    // an invited unit confirmed at a member; failing that, the account joining.
    let registration = &facts.session.registration;
    let presiding = if role == Role::Host {
        format!("{} {}", registration.chair_title, registration.chair_name)
    } else {
        facts
            .invitation
            .as_ref()
            .filter(|i| i.status == "confirmed")
            .map(|i| format!("{} {}", i.chair_title, i.chair_name))
            .unwrap_or_default()
    };
    let presiding = presiding.trim();
    let person = if presiding.is_empty() {
        account_name
    } else {
        presiding.to_string()
    };
    Ok(Seat {
        session_id: facts.session.id,
        endpoint_id,
        endpoint_name: endpoint.endpoint.name.clone(),
        unit_name: endpoint.unit_name.clone(),
        person,
        role,
        invited: facts.booked,
        can_control: role == Role::Host && endpoint.endpoint.control_right,
        actor,
        lang,
    })
}

/// The session's endpoints `user` may join as: those of units its grants cover.
async fn joinable(
    state: &AppState,
    user: &CurrentUser,
    detail: &SessionDetail,
) -> Result<Vec<(i64, String, String)>, AppError> {
    let mut joinable = Vec::new();
    for booked in &detail.endpoints {
        if allowed_on(state, user, Permission::ConferenceJoin, booked.unit_id).await? {
            joinable.push((
                booked.endpoint_id,
                booked.endpoint_name.clone(),
                booked.unit_name.clone(),
            ));
        }
    }
    Ok(joinable)
}

async fn seat_for_user(
    state: &AppState,
    user: &CurrentUser,
    lang: Lang,
    id: i64,
    endpoint_id: i64,
) -> Result<Seat, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_visible(state, user, &detail).await?;
    require_live(&detail.session)?;
    let endpoint = state.store.endpoint(endpoint_id).await?;
    // Any endpoint of the account's units may ask; one the session did not book waits in
    // the lobby for the chair (R-REG-7).
    if !allowed_on(
        state,
        user,
        Permission::ConferenceJoin,
        endpoint.endpoint.unit_id,
    )
    .await?
    {
        return Err(AppError::Forbidden);
    }
    seat(
        state,
        &detail.seat_facts(endpoint_id),
        endpoint_id,
        user.user.full_name.clone(),
        user.actor(),
        lang,
    )
    .await
}

async fn seat_for_link(state: &AppState, token: &str, lang: Lang) -> Result<Seat, AppError> {
    let (session_id, endpoint_id) = state
        .store
        .join_link(token)
        .await?
        .ok_or(AppError::NotFound("join link"))?;
    let facts = state.store.seat_facts(session_id, endpoint_id).await?;
    require_live(&facts.session)?;
    let endpoint = state.store.endpoint(endpoint_id).await?;
    let actor = Actor {
        user_id: None,
        name: format!("endpoint:{}", endpoint.endpoint.code),
    };
    seat(state, &facts, endpoint_id, String::new(), actor, lang).await
}

// ---------------------------------------------------------------------------------------
// The WebSocket of one endpoint
// ---------------------------------------------------------------------------------------

/// What an endpoint sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Offer { sdp: String },
    Candidate { candidate: String },
    Restart { sdp: String },
    Command(CommandInput),
}

fn error_message(error: &AppError, lang: Lang) -> Value {
    let code = match error {
        AppError::Forbidden => "not_allowed",
        AppError::BadRequest(_) => "bad_request",
        AppError::NotFound(_) => "not_found",
        AppError::Conflict(_) => "refused",
        _ => "internal",
    };
    json!({ "type": "error", "code": code, "message": error.message(lang) })
}

async fn send(socket: &mut WebSocket, message: &Value) -> bool {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .is_ok()
}

/// Reads frames until the endpoint's offer; `None` if it never comes.
async fn read_offer(socket: &mut WebSocket, lang: Lang) -> Option<String> {
    loop {
        let frame = tokio::time::timeout(OFFER_TIMEOUT, socket.recv())
            .await
            .ok()??
            .ok()?;
        match frame {
            Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Offer { sdp }) => return Some(sdp),
                _ => {
                    let refused = AppError::BadRequest(Text::new(
                        "Cần gửi lời mời kết nối (offer) trước.",
                        "Send the connection offer first.",
                    ));
                    send(socket, &error_message(&refused, lang)).await;
                }
            },
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// One endpoint's whole stay in the room.
async fn run_endpoint(conferences: Arc<Conferences>, seat: Seat, mut socket: WebSocket) {
    let lang = seat.lang;
    let Some(offer) = read_offer(&mut socket, lang).await else {
        return;
    };
    let room = RoomId(seat.session_id);
    match conferences.media.create_room(room).await {
        Ok(()) | Err(hnth_media::Error::RoomExists(_)) => {}
        Err(error) => {
            send(&mut socket, &error_message(&media_error(error), lang)).await;
            return;
        }
    }
    let request = JoinRequest {
        endpoint: seat.endpoint_id.to_string(),
        role: seat.role,
        invited: seat.invited,
    };
    let (peer, answer) = match conferences.media.add_peer(room, request, offer).await {
        Ok(joined) => joined,
        Err(error) => {
            send(&mut socket, &error_message(&media_error(error), lang)).await;
            return;
        }
    };
    let (outbox, mut inbox) = mpsc::unbounded_channel();
    let (state, mut states) = watch::channel(None);
    let mut states_open = true;
    let replaced = {
        let mut registry = conferences.registry();
        let key = (seat.session_id, seat.endpoint_id);
        let replaced = registry.by_endpoint.insert(key, peer);
        registry.peers.insert(
            peer,
            Connected {
                seat: seat.clone(),
                outbox,
                state,
            },
        );
        replaced.and_then(|old| registry.peers.remove(&old).map(|c| (old, c.outbox)))
    };
    // The same endpoint joined again (a reloaded page, a second device): the newest wins.
    if let Some((old, old_outbox)) = replaced {
        let _ = old_outbox.send(json!({ "type": "removed", "reason": "replaced" }));
        let _ = conferences.media.remove_peer(old).await;
    }
    if !send(
        &mut socket,
        &json!({ "type": "answer", "sdp": answer, "peer": peer.get() }),
    )
    .await
    {
        leave(&conferences, peer).await;
        return;
    }
    if !seat.invited {
        send(&mut socket, &json!({ "type": "lobby" })).await;
    }
    conferences.refresh(seat.session_id).await;
    let presence = conferences.arrived(&seat).await;

    // How the stay ended decides what is written down: a page that hangs up (or is closed
    // by its user) sends a close frame; a killed browser, a dead network or a crashed device
    // leaves without one, which is an incident (R-LIVE-6).
    let how_left = loop {
        tokio::select! {
            outgoing = inbox.recv() => match outgoing {
                Some(message) => {
                    if message["type"] == "removed" {
                        send(&mut socket, &message).await;
                        break match message["reason"].as_str() {
                            Some("disconnected" | "failed") => "lost",
                            Some("replaced") => "replaced",
                            Some("ended") => "ended",
                            Some("hung_up") => "left",
                            _ => "removed",
                        };
                    }
                    if !send(&mut socket, &message).await {
                        break "lost";
                    }
                }
                None => break "removed",
            },
            changed = states.changed(), if states_open => {
                // The slot closes with the registry entry; the outbox, closed at the same
                // moment, still holds the `removed` message that tells why: read that.
                if changed.is_err() {
                    states_open = false;
                    continue;
                }
                let latest = states.borrow_and_update().clone();
                if let Some(text) = latest {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break "lost";
                    }
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Err(error) = handle(&conferences, &seat, peer, &text, &mut socket).await {
                        send(&mut socket, &error_message(&error, lang)).await;
                    }
                }
                Some(Ok(Message::Close(_))) => break "left",
                None | Some(Err(_)) => break "lost",
                Some(Ok(_)) => {}
            },
        }
    };
    leave(&conferences, peer).await;
    conferences.departed(&seat, presence, how_left).await;
}

/// Takes a peer out of the registry and the room (if it is still there).
async fn leave(conferences: &Conferences, peer: PeerId) {
    {
        let mut registry = conferences.registry();
        if let Some(connected) = registry.peers.remove(&peer) {
            let key = (connected.seat.session_id, connected.seat.endpoint_id);
            if registry.by_endpoint.get(&key) == Some(&peer) {
                registry.by_endpoint.remove(&key);
            }
        }
    }
    let _ = conferences.media.remove_peer(peer).await;
}

async fn handle(
    conferences: &Conferences,
    seat: &Seat,
    peer: PeerId,
    text: &str,
    socket: &mut WebSocket,
) -> Result<(), AppError> {
    let message: ClientMessage = serde_json::from_str(text).map_err(|error| {
        AppError::BadRequest(Text::new(
            format!("Thông điệp không hợp lệ: {error}"),
            format!("Invalid message: {error}"),
        ))
    })?;
    match message {
        ClientMessage::Offer { .. } => Err(AppError::BadRequest(Text::new(
            "Điểm cầu đã kết nối; dùng \"restart\" để kết nối lại.",
            "Already connected; send \"restart\" to reconnect.",
        ))),
        ClientMessage::Candidate { candidate } => {
            // Browsers send an empty candidate to say gathering is over.
            if candidate.trim().is_empty() {
                return Ok(());
            }
            conferences
                .media
                .add_ice_candidate(peer, candidate)
                .await
                .map_err(media_error)
        }
        ClientMessage::Restart { sdp } => {
            let answer = conferences
                .media
                .renegotiate(peer, sdp)
                .await
                .map_err(media_error)?;
            send(
                socket,
                &json!({ "type": "answer", "sdp": answer, "peer": peer.get() }),
            )
            .await;
            Ok(())
        }
        ClientMessage::Command(input) => {
            let command = input.to_command(Some(peer))?;
            if !seat.can_control && !self_service(&command, peer) {
                return Err(no_control_rights());
            }
            conferences
                .media
                .command(
                    RoomId(seat.session_id),
                    MediaActor::Peer(peer),
                    command.clone(),
                )
                .await
                .map_err(media_error)?;
            conferences
                .record(
                    &seat.actor,
                    seat.session_id,
                    Some(seat.endpoint_id),
                    &input,
                    &command,
                )
                .await?;
            Ok(())
        }
    }
}

/// `?endpoint=` of the conference page and socket.
#[derive(Debug, Deserialize)]
struct EndpointQuery {
    endpoint: Option<i64>,
}

async fn conference_socket(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<EndpointQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let conferences = conferences(&state)?.clone();
    let endpoint = query.endpoint.ok_or_else(|| bad_value("endpoint", ""))?;
    let seat = seat_for_user(&state, &user, ctx.lang, id, endpoint).await?;
    Ok(upgrade.on_upgrade(move |socket| run_endpoint(conferences, seat, socket)))
}

async fn join_socket(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let conferences = conferences(&state)?.clone();
    let seat = seat_for_link(&state, &token, ctx.lang).await?;
    Ok(upgrade.on_upgrade(move |socket| run_endpoint(conferences, seat, socket)))
}

/// `GET /console/{id}/ws`: the operator console's live feed of one room (MCU operators):
/// `state` on every change, `link_stats` samples, `connected_to_host` measurements. The
/// console sends its commands through the REST API, so every command has one path.
async fn console_socket(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    user.require(Permission::LiveControl)?;
    let conferences = conferences(&state)?.clone();
    state.store.session(id).await?;
    Ok(upgrade.on_upgrade(move |mut socket| async move {
        let (outbox, mut inbox) = mpsc::unbounded_channel();
        conferences.watch(id, outbox).await;
        loop {
            tokio::select! {
                outgoing = inbox.recv() => match outgoing {
                    Some(message) => if !send(&mut socket, &message).await { break },
                    None => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/// The endpoint's page (`templates/conference.html`, script `static/conference.js`).
#[derive(Template)]
#[template(path = "conference.html")]
struct ConferencePage {
    lang: String,
    session_title: String,
    when: String,
    endpoint_name: String,
    unit_name: String,
    person: String,
    role: String,
    ws_path: String,
    back_href: String,
}

impl ConferencePage {
    fn new(detail: &SessionDetail, seat: &Seat, ws_path: String, back_href: String) -> Self {
        let r = &detail.session.registration;
        ConferencePage {
            lang: seat.lang.as_str().to_string(),
            session_title: r.title.clone(),
            when: crate::sessions::time_range(r.starts_at, r.ends_at),
            endpoint_name: seat.endpoint_name.clone(),
            unit_name: seat.unit_name.clone(),
            person: seat.person.clone(),
            role: role_code(seat.role).to_string(),
            ws_path,
            back_href,
        }
    }
}

/// Choosing which of the session's endpoints to join as.
#[derive(Template)]
#[template(path = "conference_choose.html")]
struct ChoosePage {
    chrome: crate::pages::Chrome,
    id: i64,
    title: String,
    endpoints: Vec<(i64, String, String)>,
}

async fn conference_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<EndpointQuery>,
) -> Result<Response, AppError> {
    conferences(&state)?;
    let detail = state.store.session_detail(id).await?;
    require_visible(&state, &user, &detail).await?;
    require_live(&detail.session)?;
    let endpoint = match query.endpoint {
        Some(endpoint) => endpoint,
        None => {
            let endpoints = joinable(&state, &user, &detail).await?;
            if let [(only, _, _)] = endpoints.as_slice() {
                *only
            } else {
                return Ok(render(&ChoosePage {
                    chrome: crate::pages::Chrome::new(
                        &user,
                        ctx.lang,
                        format!("/conference/{id}"),
                        "sessions",
                    ),
                    id,
                    title: detail.session.registration.title.clone(),
                    endpoints,
                }));
            }
        }
    };
    let seat = seat_for_user(&state, &user, ctx.lang, id, endpoint).await?;
    Ok(render(&ConferencePage::new(
        &detail,
        &seat,
        format!("/conference/{id}/ws?endpoint={endpoint}"),
        format!("/sessions/{id}"),
    )))
}

async fn join_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    conferences(&state)?;
    let seat = seat_for_link(&state, &token, ctx.lang).await?;
    let detail = state.store.session_detail(seat.session_id).await?;
    Ok(render(&ConferencePage::new(
        &detail,
        &seat,
        format!("/join/{token}/ws"),
        String::new(),
    )))
}

// ---------------------------------------------------------------------------------------
// API: the MCU operator
// ---------------------------------------------------------------------------------------

/// The live room of a session: members, mute flags, layout, queue, and each endpoint's
/// latest link statistics (MCU operators and those the session involves).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/conference", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn api_room(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let conferences = conferences(&state)?;
    let detail = state.store.session_detail(id).await?;
    require_visible(&state, &user, &detail).await?;
    let snapshot = conferences
        .media
        .snapshot(RoomId(id))
        .await
        .map_err(media_error)?;
    let links = state.store.latest_link_samples(id).await?;
    let mut room = match snapshot {
        Some(snapshot) => state_json(&snapshot, &conferences.registry()),
        None => json!({ "members": [], "open": false }),
    };
    room["open"] = json!(room.get("layout").is_some());
    room["link_stats"] = serde_json::to_value(&links).unwrap_or(Value::Null);
    Ok(Json(room))
}

/// Apply a control command as the MCU operator (R-LIVE-1, R-LIVE-2, R-LIVE-7); recorded with
/// its author in the session's commands and the audit trail.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/conference/commands", tag = "conference", params(("id" = i64, Path)),
    request_body = CommandInput,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn api_command(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    crate::error::Json(input): crate::error::Json<CommandInput>,
) -> Result<Json<Value>, AppError> {
    user.require(Permission::LiveControl)?;
    let conferences = conferences(&state)?;
    let detail = state.store.session_detail(id).await?;
    require_live(&detail.session)?;
    let command = input.to_command(None)?;
    // The operator may prepare the room (lock it, set its layout) before anyone joins.
    match conferences.media.create_room(RoomId(id)).await {
        Ok(()) | Err(hnth_media::Error::RoomExists(_)) => {}
        Err(error) => return Err(media_error(error)),
    }
    conferences
        .media
        .command(RoomId(id), MediaActor::Operator, command.clone())
        .await
        .map_err(media_error)?;
    let command_id = conferences
        .record(&user.actor(), id, None, &input, &command)
        .await?;
    Ok(Json(json!({ "command_id": command_id })))
}

/// Every control command of a session, with its author and, for `connect_to_host` and
/// `grant`, the measured time to the first packet at the host (`effect_ms`).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/conference/commands", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn api_commands(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<CommandRecord>>, AppError> {
    let detail = state.store.session_detail(id).await?;
    require_visible(&state, &user, &detail).await?;
    Ok(Json(state.store.commands_for(id).await?))
}

/// The join link of every endpoint the session books (the host unit's registrars and MCU
/// operators); created on first request, the same afterwards.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/join-links", tag = "conference", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn api_join_links(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let detail = state.store.session_detail(id).await?;
    let host = detail.session.registration.host_unit_id;
    if !(user.can(Permission::LiveControl)
        || allowed_on(&state, &user, Permission::SessionRegister, host).await?)
    {
        return Err(AppError::Forbidden);
    }
    require_live(&detail.session)?;
    let endpoints: Vec<i64> = detail.endpoints.iter().map(|e| e.endpoint_id).collect();
    let links = state
        .store
        .join_links(&user.actor(), id, &endpoints)
        .await?;
    let body: Vec<Value> = detail
        .endpoints
        .iter()
        .zip(links)
        .map(|(endpoint, (_, token))| {
            json!({
                "endpoint_id": endpoint.endpoint_id,
                "endpoint_name": endpoint.endpoint_name,
                "unit_name": endpoint.unit_name,
                "role": endpoint.role,
                "url": format!("/join/{token}"),
            })
        })
        .collect();
    Ok((StatusCode::OK, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hnth_media::Plan;

    fn member(n: u64, role: Role, plan: Plan) -> MemberSnapshot {
        MemberSnapshot {
            peer: PeerId::from_raw(n),
            endpoint: format!("EP{n}"),
            role,
            admitted: true,
            audio_muted: true,
            video_muted: false,
            connected: true,
            packets_in: 0,
            packets_dropped: 0,
            packets_out: 0,
            plan,
        }
    }

    #[test]
    fn a_large_room_lists_to_a_member_only_who_concerns_it() {
        let p = PeerId::from_raw;
        let viewer_plan = Plan {
            audio: vec![Some(p(1)), None],
            video: vec![
                Some(Source {
                    peer: p(4),
                    track: Track::Camera,
                }),
                None,
            ],
        };
        let snapshot = RoomSnapshot {
            room: RoomId(1),
            locked: false,
            layout: Layout::Grid2x2,
            host_layout: None,
            members: vec![
                member(1, Role::Host, Plan::default()),
                member(2, Role::Member, viewer_plan),
                member(3, Role::Member, Plan::default()),
                member(4, Role::Member, Plan::default()),
                member(5, Role::Member, Plan::default()),
                member(6, Role::Member, Plan::default()),
                member(7, Role::Member, Plan::default()),
            ],
            on_stage: vec![p(5)],
            queue: vec![p(6)],
            sharing: None,
        };
        let viewer = &snapshot.members[1];
        let shown: Vec<u64> = snapshot
            .members
            .iter()
            .filter(|other| concerns(&snapshot, viewer, other))
            .map(|m| m.peer.get())
            .collect();
        // The host, itself, its screen, the stage and the queue; not 3 nor 7.
        assert_eq!(shown, vec![1, 2, 4, 5, 6]);
    }
}
