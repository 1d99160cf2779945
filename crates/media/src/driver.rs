//! The driver: the SFU core on one tokio UDP socket, and a handle for the web layer.
//!
//! This module owns the I/O the core leaves out: one UDP socket for every peer (the core
//! finds the peer of each datagram by its source address, or by ICE ufrag for a new address),
//! the clock, and a task that runs the core's loop. The web layer talks to it through a
//! cloneable [`MediaHandle`]: each call is a message to the task with a one-shot reply, so the
//! core stays single-threaded and lock-free, as str0m is. Events go out on a broadcast
//! channel that any number of WebSocket sessions can subscribe to.
//!
//! The loop is the core's: drain [`Sfu::poll_output`] to its timeout, then wait for the
//! first of a datagram, the timeout, or a request from a handle; feed it; repeat. Shutdown
//! (by [`MediaHandle::shutdown`] or when every handle is dropped) closes every room, which
//! sends each endpoint an RTCP BYE and a DTLS close_notify, and flushes them before the task
//! ends.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::sfu::{Datagram, Input, JoinRequest, Output, RoomSnapshot, Sfu, SfuConfig};
use crate::{Actor, Command, Error, Event, PeerId, RoomId};

/// Settings of the media server's network side.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Where to bind the UDP socket (`0.0.0.0:3478`, or port 0 for any).
    pub bind: SocketAddr,
    /// The address endpoints send to, offered as the ICE candidate. `None`: the bound
    /// address, which must then not be unspecified.
    pub public_addr: Option<SocketAddr>,
    /// How often link statistics are emitted per peer.
    pub stats_interval: Duration,
    /// How long a disconnected peer keeps its place for an ICE restart.
    pub reconnect_grace: Duration,
    /// How many events a slow subscriber may lag before it misses some.
    pub event_buffer: usize,
}

impl DriverConfig {
    /// Defaults around a bind address.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            public_addr: None,
            stats_interval: Duration::from_secs(5),
            reconnect_grace: Duration::from_secs(15),
            event_buffer: 1024,
        }
    }
}

type Reply<T> = oneshot::Sender<T>;

/// What a handle asks of the task.
enum Request {
    CreateRoom(RoomId, Reply<Result<(), Error>>),
    CloseRoom(RoomId, Reply<Result<(), Error>>),
    AddPeer(
        RoomId,
        JoinRequest,
        String,
        Reply<Result<(PeerId, String), Error>>,
    ),
    Renegotiate(PeerId, String, Reply<Result<String, Error>>),
    AddCandidate(PeerId, String, Reply<Result<(), Error>>),
    RemovePeer(PeerId, Reply<Result<(), Error>>),
    Command(RoomId, Actor, Command, Reply<Result<(), Error>>),
    Snapshot(RoomId, Reply<Option<RoomSnapshot>>),
    Shutdown(Reply<()>),
}

/// The web layer's handle on the running media server. Cheap to clone.
#[derive(Clone)]
pub struct MediaHandle {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<Event>,
    local_addr: SocketAddr,
}

/// Starts the media server: binds the socket and spawns its task on the current runtime.
/// Returns the handle and the task, which ends after shutdown.
pub async fn start(config: DriverConfig) -> io::Result<(MediaHandle, JoinHandle<()>)> {
    let socket = UdpSocket::bind(config.bind).await?;
    widen_buffers(&socket);
    let local_addr = socket.local_addr()?;
    let public = config.public_addr.unwrap_or(local_addr);
    if public.ip().is_unspecified() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "media: bound to an unspecified address; set public_addr to the address endpoints reach",
        ));
    }
    let sfu_config = SfuConfig {
        public_addr: public,
        stats_interval: config.stats_interval,
        reconnect_grace: config.reconnect_grace,
    };
    let (req_tx, req_rx) = mpsc::channel(256);
    let (ev_tx, _) = broadcast::channel(config.event_buffer.max(1));
    let task = tokio::spawn(run(socket, public, sfu_config, req_rx, ev_tx.clone()));
    Ok((
        MediaHandle {
            requests: req_tx,
            events: ev_tx,
            local_addr,
        },
        task,
    ))
}

impl MediaHandle {
    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A new receiver of the server's events, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(make(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Opens a room for a live session.
    pub async fn create_room(&self, room: RoomId) -> Result<(), Error> {
        self.call(|r| Request::CreateRoom(room, r)).await?
    }

    /// Closes a room and drops its peers.
    pub async fn close_room(&self, room: RoomId) -> Result<(), Error> {
        self.call(|r| Request::CloseRoom(room, r)).await?
    }

    /// Adds an endpoint with its SDP offer; returns its peer id and the SDP answer.
    pub async fn add_peer(
        &self,
        room: RoomId,
        join: JoinRequest,
        offer: String,
    ) -> Result<(PeerId, String), Error> {
        self.call(|r| Request::AddPeer(room, join, offer, r))
            .await?
    }

    /// A new offer from an existing peer (ICE restart); returns the answer.
    pub async fn renegotiate(&self, peer: PeerId, offer: String) -> Result<String, Error> {
        self.call(|r| Request::Renegotiate(peer, offer, r)).await?
    }

    /// A trickled ICE candidate of the endpoint.
    pub async fn add_ice_candidate(&self, peer: PeerId, candidate: String) -> Result<(), Error> {
        self.call(|r| Request::AddCandidate(peer, candidate, r))
            .await?
    }

    /// Removes a peer.
    pub async fn remove_peer(&self, peer: PeerId) -> Result<(), Error> {
        self.call(|r| Request::RemovePeer(peer, r)).await?
    }

    /// A control command, checked against the actor's rights.
    pub async fn command(&self, room: RoomId, actor: Actor, command: Command) -> Result<(), Error> {
        self.call(|r| Request::Command(room, actor, command, r))
            .await?
    }

    /// The room's state.
    pub async fn snapshot(&self, room: RoomId) -> Result<Option<RoomSnapshot>, Error> {
        self.call(|r| Request::Snapshot(room, r)).await
    }

    /// Closes every room, flushes the goodbyes, and stops the task.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.call(Request::Shutdown).await
    }
}

/// What the one socket of every peer asks the kernel to buffer each way.
const SOCKET_BUFFER: usize = 8 << 20;

/// Widens the socket's kernel buffers. One socket carries every peer, so while the loop
/// writes a burst (a keyframe to hundreds of endpoints) everything arriving meanwhile waits
/// in the receive buffer; at the usual default (208 KiB, about 90 small datagrams) a join
/// storm's ICE and DTLS packets overflowed it and each lost flight cost a retransmission of a
/// second or more. The kernel caps the size at `net.core.rmem_max`/`wmem_max`; a smaller
/// result is logged with the setting to raise.
fn widen_buffers(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
    // Linux reports twice what it reserves for data (the rest is bookkeeping).
    let granted = sock.recv_buffer_size().unwrap_or(0) / 2;
    if granted < SOCKET_BUFFER / 2 {
        tracing::warn!(
            granted_kib = granted / 1024,
            wanted_kib = SOCKET_BUFFER / 1024,
            "media: small UDP receive buffer; raise net.core.rmem_max (sysctl) for large sessions"
        );
    }
}

/// The task: the core's loop over the socket, the clock and the requests.
async fn run(
    socket: UdpSocket,
    public: SocketAddr,
    config: SfuConfig,
    mut requests: mpsc::Receiver<Request>,
    events: broadcast::Sender<Event>,
) {
    let mut sfu = Sfu::new(config, Instant::now().into_std());
    // Large enough for any datagram; WebRTC stays under the path MTU.
    let mut buf = vec![0u8; 2048];
    let mut rooms: Vec<RoomId> = Vec::new();
    let done = loop {
        let timeout = drain(&mut sfu, &socket, &events).await;
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, source)) => sfu.handle_input(Input::Receive(
                    Instant::now().into_std(),
                    Datagram { source, destination: public, contents: &buf[..n] },
                )),
                // ICMP errors (port unreachable) surface here on some systems: not fatal.
                Err(e) => tracing::debug!(error = %e, "media: recv failed"),
            },
            _ = tokio::time::sleep_until(Instant::from_std(timeout)) => {
                sfu.handle_input(Input::Timeout(Instant::now().into_std()));
            }
            req = requests.recv() => match req {
                Some(req) => {
                    if let Some(reply) = serve(&mut sfu, &mut rooms, req) {
                        break Some(reply);
                    }
                }
                // Every handle is gone: nobody can control the rooms any more.
                None => break None,
            },
        }
    };
    for room in rooms {
        let _ = sfu.close_room(room);
    }
    drain(&mut sfu, &socket, &events).await;
    if let Some(reply) = done {
        let _ = reply.send(());
    }
}

/// Serves one request; returns the reply channel of a shutdown request.
fn serve(sfu: &mut Sfu, rooms: &mut Vec<RoomId>, req: Request) -> Option<Reply<()>> {
    let now = Instant::now().into_std();
    // A caller that stopped waiting dropped its receiver; the work is done regardless.
    match req {
        Request::CreateRoom(room, r) => {
            let res = sfu.create_room(room);
            if res.is_ok() {
                rooms.push(room);
            }
            let _ = r.send(res);
        }
        Request::CloseRoom(room, r) => {
            rooms.retain(|x| *x != room);
            let _ = r.send(sfu.close_room(room));
        }
        Request::AddPeer(room, join, offer, r) => {
            let _ = r.send(sfu.add_peer(now, room, join, &offer));
        }
        Request::Renegotiate(peer, offer, r) => {
            let _ = r.send(sfu.renegotiate(now, peer, &offer));
        }
        Request::AddCandidate(peer, c, r) => {
            let _ = r.send(sfu.add_ice_candidate(peer, &c));
        }
        Request::RemovePeer(peer, r) => {
            let _ = r.send(sfu.remove_peer(peer));
        }
        Request::Command(room, actor, cmd, r) => {
            let _ = r.send(sfu.command(now, room, actor, cmd));
        }
        Request::Snapshot(room, r) => {
            let _ = r.send(sfu.snapshot(room));
        }
        Request::Shutdown(r) => return Some(r),
    }
    None
}

/// Sends every transmit and publishes every event; returns the core's next timeout.
async fn drain(
    sfu: &mut Sfu,
    socket: &UdpSocket,
    events: &broadcast::Sender<Event>,
) -> std::time::Instant {
    loop {
        match sfu.poll_output() {
            Output::Transmit(t) => {
                // UDP is lossy anyway: a failed send is a lost packet, which RTCP repairs.
                if let Err(e) = socket.send_to(&t.contents, t.destination).await {
                    tracing::debug!(error = %e, to = %t.destination, "media: send failed");
                }
            }
            Output::Event(e) => {
                // No subscriber is fine: events are information, not commands.
                let _ = events.send(e);
            }
            Output::Timeout(t) => return t,
        }
    }
}
