//! Live updates of open pages: a hub that every handler tells after a committed change to a
//! session, and a server-sent-events stream per session that open pages listen to.
//!
//! The events carry no content, only "session N changed, in this way". A page that hears one
//! fetches itself again and swaps the parts marked `data-live` (`static/live.js`), so what a
//! page shows is always rendered by the same server code, with the reader's permissions, and
//! a reader never receives through the stream what they could not load.
//!
//! Trade-off: the hub is in-process (a `tokio::sync::broadcast` channel), so it reaches the
//! pages served by this process only; several web nodes would need a shared bus.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use serde::Serialize;
use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::error::{AppError, Path};
use crate::{AppState, CurrentUser};

/// How many events a slow listener may fall behind before it is told to reload.
const BACKLOG: usize = 256;

/// One committed change to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionEvent {
    /// The session.
    pub session_id: i64,
    /// What happened, e.g. `invitation.answered`, `document.added`.
    pub what: &'static str,
}

/// Fans committed changes out to the pages listening; cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<SessionEvent>,
    /// Turns `true` at shutdown, which ends every open stream: a graceful shutdown waits
    /// for open responses, and these would otherwise never end.
    closing: Arc<watch::Sender<bool>>,
}

impl Default for LiveHub {
    fn default() -> LiveHub {
        LiveHub {
            sender: broadcast::channel(BACKLOG).0,
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

impl LiveHub {
    /// Tells every listener of `session_id`. Call after the change is committed.
    pub fn session_changed(&self, session_id: i64, what: &'static str) {
        // An error only means nobody listens right now, which is fine.
        let _ = self.sender.send(SessionEvent { session_id, what });
    }

    /// Ends every open stream; call when the server starts shutting down.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// A new listener of every session's events.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.sender.subscribe()
    }
}

/// `GET /sessions/{id}/live`: the session's changes as server-sent events named `session`,
/// for whoever may read the session. A listener that fell behind gets one `session` event
/// with `what = "lagged"`, which makes the page refresh just the same.
pub async fn session_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    let detail = state.store.session_detail(id).await?;
    crate::sessions::require_visible(&state, &user, &detail).await?;
    let listening = (state.live.subscribe(), state.live.closing.subscribe());
    let stream =
        futures_util::stream::unfold(listening, move |(mut receiver, mut closing)| async move {
            loop {
                if *closing.borrow_and_update() {
                    return None;
                }
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    _ = closing.changed() => return None,
                };
                let event = match received {
                    Ok(event) if event.session_id == id => event,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => SessionEvent {
                        session_id: id,
                        what: "lagged",
                    },
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                let data = serde_json::to_string(&event).unwrap_or_default();
                let sse = Event::default().event("session").data(data);
                return Some((Ok::<_, Infallible>(sse), (receiver, closing)));
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
