//! Incidents of a live session (sự cố, R-LIVE-6): what went wrong, who handles it, and the
//! link figures past which the media server opens one by itself.

use serde::{Deserialize, Serialize};

use crate::endpoint::code_enum;
use crate::lang::{Lang, Text};
use crate::policy::LinkThresholds;

code_enum! {
    /// What went wrong.
    IncidentKind {
        /// The endpoint dropped out of the session.
        LostConnection = "lost_connection", "Mất kết nối", "Lost connection";
        /// Sound is poor or missing.
        PoorAudio = "poor_audio", "Âm thanh kém", "Poor audio";
        /// Picture is poor or missing.
        PoorVideo = "poor_video", "Hình ảnh kém", "Poor video";
        /// Power failure at the endpoint.
        Power = "power", "Mất điện", "Power failure";
        /// The line is degraded (loss, delay).
        Network = "network", "Đường truyền kém", "Network degraded";
        /// Anything else.
        Other = "other", "Khác", "Other";
    }
}

code_enum! {
    /// Who fixes it (TH art. 10.2e, HN art. 13).
    IncidentHandler {
        /// The operating unit's technicians.
        OperatingUnit = "operating_unit", "Đơn vị vận hành", "Operating unit";
        /// The carrier of the line.
        Carrier = "carrier", "Doanh nghiệp viễn thông", "Carrier";
        /// The power company.
        PowerCompany = "power_company", "Công ty Điện lực", "Power company";
    }
}

impl IncidentKind {
    /// Who handles this kind unless the reporter says otherwise.
    pub fn default_handler(self) -> IncidentHandler {
        match self {
            IncidentKind::Power => IncidentHandler::PowerCompany,
            IncidentKind::Network | IncidentKind::LostConnection => IncidentHandler::Carrier,
            _ => IncidentHandler::OperatingUnit,
        }
    }
}

/// Link figures past which the media server opens an incident on its own: the `fail` levels
/// of the policy's link thresholds (R-PREP-2), so the readiness grade and the alarm agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkLimits {
    /// Round-trip time.
    pub rtt_ms: f64,
    /// Fraction of packets lost either way.
    pub loss: f64,
    /// Interarrival jitter.
    pub jitter_ms: f64,
}

impl From<&LinkThresholds> for LinkLimits {
    fn from(thresholds: &LinkThresholds) -> LinkLimits {
        LinkLimits {
            rtt_ms: thresholds.rtt_ms.fail,
            loss: thresholds.loss_percent.fail / 100.0,
            jitter_ms: thresholds.jitter_ms.fail,
        }
    }
}

impl LinkLimits {
    /// What is past the limits in one sample, or `None` when the line is fine.
    pub fn breach(
        &self,
        rtt_ms: Option<f64>,
        loss: Option<f64>,
        jitter_ms: Option<f64>,
    ) -> Option<Text> {
        let mut vi = Vec::new();
        let mut en = Vec::new();
        if let Some(rtt) = rtt_ms.filter(|rtt| *rtt > self.rtt_ms) {
            vi.push(format!(
                "độ trễ khứ hồi {rtt:.0} ms > {:.0} ms",
                self.rtt_ms
            ));
            en.push(format!("round trip {rtt:.0} ms > {:.0} ms", self.rtt_ms));
        }
        if let Some(loss) = loss.filter(|loss| *loss > self.loss) {
            vi.push(format!(
                "mất gói {:.1}% > {:.1}%",
                loss * 100.0,
                self.loss * 100.0
            ));
            en.push(format!(
                "loss {:.1}% > {:.1}%",
                loss * 100.0,
                self.loss * 100.0
            ));
        }
        if let Some(jitter) = jitter_ms.filter(|jitter| *jitter > self.jitter_ms) {
            vi.push(format!("jitter {jitter:.0} ms > {:.0} ms", self.jitter_ms));
            en.push(format!("jitter {jitter:.0} ms > {:.0} ms", self.jitter_ms));
        }
        (!vi.is_empty()).then(|| {
            Text::new(
                format!("Đường truyền kém: {}.", vi.join(", ")),
                format!("Line degraded: {}.", en.join(", ")),
            )
        })
    }
}

/// The label of a kind and handler together, for notices.
pub fn describe(kind: IncidentKind, handler: IncidentHandler, lang: Lang) -> String {
    format!("{} — {}", kind.label(lang), handler.label(lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_live_6_degraded_links_are_named_with_their_figures() {
        let limits = LinkLimits {
            rtt_ms: 400.0,
            loss: 0.05,
            jitter_ms: 60.0,
        };
        assert!(limits.breach(Some(40.0), Some(0.0), Some(5.0)).is_none());
        assert!(limits.breach(None, None, None).is_none());
        let bad = limits.breach(Some(620.0), Some(0.12), None).unwrap();
        assert!(bad.vi.contains("620 ms"), "{}", bad.vi);
        assert!(bad.vi.contains("12.0%"), "{}", bad.vi);
        assert!(bad.en.starts_with("Line degraded"));
    }

    #[test]
    fn r_live_6_each_kind_goes_to_its_handler() {
        assert_eq!(
            IncidentKind::Power.default_handler(),
            IncidentHandler::PowerCompany
        );
        assert_eq!(
            IncidentKind::LostConnection.default_handler(),
            IncidentHandler::Carrier
        );
        assert_eq!(
            IncidentKind::PoorAudio.default_handler(),
            IncidentHandler::OperatingUnit
        );
        assert_eq!(
            IncidentHandler::parse("power_company"),
            Some(IncidentHandler::PowerCompany)
        );
    }
}
