//! Link statistics per peer, from str0m's RTCP-derived samples (R-PREP-2, R-POST-2).
//!
//! str0m emits, every stats interval, one `PeerStats` (totals, loss fractions, round-trip
//! time) and one `MediaIngressStats` per incoming media line (jitter). This module owns the
//! little state needed to turn those into one [`LinkStats`] per peer and interval: the jitter
//! of the latest ingress samples, converted from RTP units to time, and the byte counters of
//! the previous sample, from which the bitrates are computed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::Mid;
use str0m::stats::{MediaIngressStats, PeerStats};

/// One sample of a peer's link quality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkStats {
    /// When the sample was taken.
    pub at: Instant,
    /// Round-trip time between the server and the endpoint, from RTCP.
    pub rtt: Option<Duration>,
    /// Fraction (0..1) of the endpoint's packets lost on the way to the server.
    pub loss_in: Option<f32>,
    /// Fraction (0..1) of the server's packets lost on the way to the endpoint.
    pub loss_out: Option<f32>,
    /// The worst interarrival jitter over the endpoint's tracks.
    pub jitter: Option<Duration>,
    /// Bits per second received from the endpoint since the previous sample.
    pub bitrate_in: u64,
    /// Bits per second sent to the endpoint since the previous sample.
    pub bitrate_out: u64,
}

/// The state between samples.
#[derive(Debug, Default)]
pub(crate) struct StatsAccumulator {
    /// Latest jitter per incoming media line.
    jitter: HashMap<Mid, Duration>,
    /// (time, bytes received, bytes sent) of the previous peer sample.
    last: Option<(Instant, u64, u64)>,
}

impl StatsAccumulator {
    /// Records an ingress sample; `clock_rate` converts its jitter from RTP units.
    pub(crate) fn ingress(&mut self, s: &MediaIngressStats, clock_rate: u32) {
        let jitter = Duration::from_secs_f64(f64::from(s.jitter) / f64::from(clock_rate));
        self.jitter.insert(s.mid, jitter);
    }

    /// Turns a peer sample into [`LinkStats`]. The first sample only sets the baseline of
    /// the bitrates, so it yields nothing.
    pub(crate) fn peer(&mut self, s: &PeerStats) -> Option<LinkStats> {
        let prev = self
            .last
            .replace((s.timestamp, s.peer_bytes_rx, s.peer_bytes_tx));
        let (t0, rx0, tx0) = prev?;
        let dt = s.timestamp.checked_duration_since(t0)?.as_secs_f64();
        if dt <= 0.0 {
            return None;
        }
        let rate = |now: u64, before: u64| (now.saturating_sub(before) as f64 * 8.0 / dt) as u64;
        Some(LinkStats {
            at: s.timestamp,
            rtt: s.rtt,
            loss_in: s.ingress_loss_fraction,
            loss_out: s.egress_loss_fraction,
            jitter: self.jitter.values().max().copied(),
            bitrate_in: rate(s.peer_bytes_rx, rx0),
            bitrate_out: rate(s.peer_bytes_tx, tx0),
        })
    }
}
