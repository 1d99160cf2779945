//! Rewriting of RTP sequence numbers and timestamps for one receive slot, and the wait for
//! a keyframe when a video slot changes source.
//!
//! A subscriber has a fixed set of receive slots (its receive-only m-lines), negotiated once.
//! When the layout changes, the source feeding a slot changes, but the subscriber's decoder
//! sees one continuous stream: this module owns the offsets that make the new source's
//! sequence numbers continue where the old one stopped and its timestamps move forward by
//! one frame. Renegotiating SDP for each layout change would take round trips through the
//! signalling channel; rewriting takes none.
//!
//! A video decoder cannot start on a delta frame, so a video slot that switches waits for
//! the first packet that starts a keyframe (the SFU asks the new source for one at the same
//! moment) and only then starts forwarding. If none comes within [`KEYFRAME_WAIT`] it
//! forwards anyway: a picture that repairs itself beats a frozen one.
//!
//! Invariants: within one source the mapping is a fixed offset, so loss and reordering pass
//! through unchanged (the subscriber's NACKs and jitter buffer see what the publisher sent);
//! a packet older than the first one forwarded from the current source is dropped, because
//! its rewritten number would collide with the previous source's packets.

use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::rtp::Vp8Descriptor;

use crate::policy::Source;

/// How long a switched video slot waits for a keyframe before forwarding delta frames.
pub(crate) const KEYFRAME_WAIT: Duration = Duration::from_secs(1);

/// Offsets of one slot.
#[derive(Debug, Default)]
pub(crate) struct SlotRewriter {
    /// The source currently feeding the slot.
    source: Option<Source>,
    /// Set on a switch: the next forwarded packet fixes the offsets.
    rebase: bool,
    /// For video after a switch: forward nothing but a keyframe start until this instant.
    gate: Option<Instant>,
    /// Extended input sequence number of the first packet from the current source.
    first_in_seq: u64,
    seq_offset: u64,
    ts_offset: u32,
    /// Highest sequence number and its timestamp written so far (any source).
    last_out: Option<(u64, u32)>,
}

impl SlotRewriter {
    /// The source feeding the slot.
    pub(crate) fn source(&self) -> Option<Source> {
        self.source
    }

    /// Whether the slot has a source but has not forwarded anything from it yet.
    pub(crate) fn waiting(&self) -> bool {
        self.source.is_some() && self.rebase
    }

    /// Points the slot at `source` at `now`; a video slot then waits for a keyframe.
    /// Returns whether this was a change.
    pub(crate) fn switch(&mut self, source: Option<Source>, now: Instant) -> bool {
        if self.source == source {
            return false;
        }
        self.source = source;
        self.rebase = true;
        self.gate = source
            .filter(|s| s.track.is_video())
            .map(|_| now + KEYFRAME_WAIT);
        true
    }

    /// Maps an input packet (extended sequence number, RTP timestamp) to the output, or
    /// `None` when it must be dropped. `frame` is one frame's duration in RTP units, the gap
    /// put between the last timestamp of the old source and the first of the new; `keyframe`
    /// says whether the packet starts a keyframe.
    pub(crate) fn map(
        &mut self,
        in_seq: u64,
        in_ts: u32,
        frame: u32,
        keyframe: bool,
        now: Instant,
    ) -> Option<(u64, u32)> {
        if let Some(deadline) = self.gate {
            if !keyframe && now < deadline {
                return None;
            }
            self.gate = None;
        }
        if self.rebase {
            self.rebase = false;
            self.first_in_seq = in_seq;
            let (out_seq, out_ts) = match self.last_out {
                Some((seq, ts)) => (seq + 1, ts.wrapping_add(frame)),
                // A fresh slot keeps the publisher's numbers, folded below 2^16 so str0m
                // needs no out-of-band rollover counter for this receiver.
                None => (in_seq & 0xffff, in_ts),
            };
            self.seq_offset = out_seq.wrapping_sub(in_seq);
            self.ts_offset = out_ts.wrapping_sub(in_ts);
        } else if in_seq < self.first_in_seq {
            return None;
        }
        let out_seq = in_seq.wrapping_add(self.seq_offset);
        let out_ts = in_ts.wrapping_add(self.ts_offset);
        match self.last_out {
            Some((seq, _)) if seq >= out_seq => {}
            _ => self.last_out = Some((out_seq, out_ts)),
        }
        Some((out_seq, out_ts))
    }
}

/// Whether an RTP payload of `codec` starts a keyframe (a decoder can begin here).
/// Audio and codecs not forwarded here always can.
pub(crate) fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => Vp8Descriptor::parse(payload).is_ok_and(|d| d.starts_keyframe(payload)),
        Codec::H264 => h264_starts_keyframe(payload),
        _ => true,
    }
}

/// H.264 (RFC 6184): an IDR slice (NAL type 5) or the SPS (7) sent just before one, as a
/// single NAL unit, inside a STAP-A aggregate (24), or as the first fragment of an FU-A (28).
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    let starts = |nal: u8| matches!(nal & 0x1f, 5 | 7);
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        24 => {
            // STAP-A: after the 1-byte header, units of (16-bit size, NAL unit).
            let mut at = 1;
            while let (Some(&hi), Some(&lo)) = (payload.get(at), payload.get(at + 1)) {
                let size = usize::from(hi) << 8 | usize::from(lo);
                match payload.get(at + 2) {
                    Some(&nal) if starts(nal) => return true,
                    Some(_) => at += 2 + size,
                    None => return false,
                }
            }
            false
        }
        // FU-A: the FU header's S bit marks the first fragment; its low bits are the type.
        28 => payload
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && starts(fu)),
        _ => starts(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Track;
    use crate::PeerId;

    fn src(n: u64) -> Option<Source> {
        Some(Source {
            peer: PeerId(n),
            track: Track::Camera,
        })
    }

    #[test]
    fn a_switch_continues_the_sequence_and_reordering_passes_through() {
        let now = Instant::now();
        let mut s = SlotRewriter::default();
        assert!(s.switch(src(1), now));
        assert!(!s.switch(src(1), now));
        // Delta frames wait for the keyframe.
        assert_eq!(s.map(69_999, 0, 3000, false, now), None);
        assert_eq!(
            s.map(70_000, 1000, 3000, true, now),
            Some((70_000 & 0xffff, 1000))
        );
        let base = 70_000 & 0xffff;
        // Reordered: 70_002 before 70_001; both keep their distance.
        assert_eq!(
            s.map(70_002, 7000, 3000, false, now),
            Some((base + 2, 7000))
        );
        assert_eq!(
            s.map(70_001, 4000, 3000, false, now),
            Some((base + 1, 4000))
        );

        s.switch(src(2), now);
        let (seq, ts) = s.map(10, u32::MAX - 10, 3000, true, now).unwrap();
        assert_eq!(seq, base + 3);
        assert_eq!(ts, 7000 + 3000);
        assert_eq!(
            s.map(12, 5, 3000, false, now),
            Some((base + 5, 7000 + 3000 + 16))
        );
        // Older than the switch point: would collide with source 1's numbers.
        assert_eq!(s.map(9, 0, 3000, false, now), None);
        assert_eq!(s.source(), src(2));
    }

    #[test]
    fn without_a_keyframe_the_slot_opens_after_the_wait() {
        let now = Instant::now();
        let mut s = SlotRewriter::default();
        s.switch(src(1), now);
        assert_eq!(s.map(1, 0, 3000, false, now + KEYFRAME_WAIT / 2), None);
        assert!(s.map(2, 0, 3000, false, now + KEYFRAME_WAIT).is_some());
        // Audio never waits.
        let mut a = SlotRewriter::default();
        a.switch(
            Some(Source {
                peer: PeerId(1),
                track: Track::Audio,
            }),
            now,
        );
        assert!(a.map(1, 0, 960, false, now).is_some());
    }

    #[test]
    fn keyframe_starts_are_recognised() {
        // VP8: descriptor with S=1, PID=0, then the payload header's P bit clear.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00, 0x9d, 0x01, 0x2a]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01, 0x00]));
        // Not the start of a partition.
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x00, 0x00]));
        // H.264: IDR, SPS, a STAP-A holding SPS, an FU-A start of an IDR; a P slice is not.
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]));
        assert!(starts_keyframe(
            Codec::H264,
            &[0x78, 0x00, 0x02, 0x67, 0x42]
        ));
        assert!(!starts_keyframe(
            Codec::H264,
            &[0x78, 0x00, 0x02, 0x41, 0x9a]
        ));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        assert!(!starts_keyframe(Codec::H264, &[]));
        assert!(starts_keyframe(Codec::Opus, &[]));
    }
}
