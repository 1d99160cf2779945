//! Printing the figures: a plain-text table per run or per comparison (hnth beside Janus,
//! with the ratio hnth/Janus on every figure), Markdown tables for `docs/benchmarks.md`,
//! and SVG plots of CPU per forwarded packet and join time against N.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::scenario::Figures;

/// Both servers' figures for one scenario and N.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The scenario.
    pub scenario: String,
    /// Receivers.
    pub n: usize,
    /// hnth's run (absent past the N where it stopped).
    pub hnth: Option<Figures>,
    /// Janus's run.
    pub janus: Option<Figures>,
}

/// One row of a table: its label, whether lower is better, and how to read it off.
struct Row {
    label: &'static str,
    get: fn(&Figures) -> Option<f64>,
    digits: usize,
}

const ROWS: &[Row] = &[
    Row {
        label: "receivers with media",
        get: |f| Some(f.joined as f64),
        digits: 0,
    },
    Row {
        label: "join p50 (ms)",
        get: |f| f.join_p50_ms,
        digits: 0,
    },
    Row {
        label: "join p95 (ms)",
        get: |f| f.join_p95_ms,
        digits: 0,
    },
    Row {
        label: "join p99 (ms)",
        get: |f| f.join_p99_ms,
        digits: 0,
    },
    Row {
        label: "· SDP exchanged p50 (ms)",
        get: |f| f.negotiated_p50_ms,
        digits: 0,
    },
    Row {
        label: "· ICE+DTLS up p50 (ms)",
        get: |f| f.connected_p50_ms,
        digits: 0,
    },
    Row {
        label: "forwarded packets/s",
        get: |f| Some(f.forwarded_pps),
        digits: 0,
    },
    Row {
        label: "server CPU (% of a core)",
        get: |f| Some(f.server_cpu_pct),
        digits: 0,
    },
    Row {
        label: "CPU s per million packets",
        get: |f| f.cpu_s_per_mpkt,
        digits: 2,
    },
    Row {
        label: "peak memory (MiB)",
        get: |f| Some(f.peak_memory_mib),
        digits: 1,
    },
    Row {
        label: "loss at receivers (%)",
        get: |f| Some(f.loss_pct),
        digits: 3,
    },
    Row {
        label: "kernel UDP drops",
        get: |f| Some(f.kernel_udp_drops as f64),
        digits: 0,
    },
    Row {
        label: "forwarding latency p50 (ms)",
        get: |f| f.latency_p50_ms,
        digits: 2,
    },
    Row {
        label: "forwarding latency p99 (ms)",
        get: |f| f.latency_p99_ms,
        digits: 2,
    },
    Row {
        label: "control latency p50 (ms)",
        get: |f| f.control_p50_ms,
        digits: 1,
    },
    Row {
        label: "control latency p99 (ms)",
        get: |f| f.control_p99_ms,
        digits: 1,
    },
];

fn cell(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.digits$}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
        // Both zero (no loss, no drops): equal.
        (Some(0.0), Some(_)) => "1.00".into(),
        _ => "–".into(),
    }
}

/// One run's figures as a plain-text table.
pub fn run_table(f: &Figures) -> String {
    let mut out = format!("{} · {} · N = {}\n", f.server, f.scenario, f.n);
    for row in ROWS {
        let _ = writeln!(
            out,
            "  {:<30} {:>12}",
            row.label,
            cell((row.get)(f), row.digits)
        );
    }
    if let Some(failure) = &f.failure {
        let _ = writeln!(out, "  stopped: {failure}");
    }
    out
}

/// A comparison as a plain-text table with the ratio on every figure.
pub fn comparison_table(c: &Comparison) -> String {
    let mut out = format!("{} · N = {}\n", c.scenario, c.n);
    let _ = writeln!(
        out,
        "  {:<30} {:>12} {:>12} {:>11}",
        "figure", "hnth", "janus", "hnth/janus"
    );
    for row in ROWS {
        let h = c.hnth.as_ref().and_then(row.get);
        let j = c.janus.as_ref().and_then(row.get);
        let _ = writeln!(
            out,
            "  {:<30} {:>12} {:>12} {:>11}",
            row.label,
            cell(h, row.digits),
            cell(j, row.digits),
            ratio(h, j)
        );
    }
    for (name, f) in [("hnth", &c.hnth), ("janus", &c.janus)] {
        match f {
            Some(Figures {
                failure: Some(why), ..
            }) => {
                let _ = writeln!(out, "  {name} stopped: {why}");
            }
            None => {
                let _ = writeln!(out, "  {name}: not run (it stopped at a smaller N)");
            }
            _ => {}
        }
    }
    out
}

/// Markdown tables, one per scenario: a row per figure, a column per N holding
/// "hnth / janus (ratio)".
pub fn markdown(comparisons: &[Comparison]) -> String {
    let mut out = String::new();
    let mut scenarios: Vec<&str> = comparisons.iter().map(|c| c.scenario.as_str()).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let cs: Vec<&Comparison> = comparisons
            .iter()
            .filter(|c| c.scenario == scenario)
            .collect();
        let _ = writeln!(out, "### {scenario}\n");
        let _ = write!(out, "| figure (hnth / Janus, ratio) |");
        for c in &cs {
            let _ = write!(out, " N = {} |", c.n);
        }
        let _ = write!(out, "\n|---|");
        for _ in &cs {
            let _ = write!(out, "---|");
        }
        out.push('\n');
        for row in ROWS {
            let measured = cs.iter().any(|c| {
                c.hnth.as_ref().and_then(row.get).is_some()
                    || c.janus.as_ref().and_then(row.get).is_some()
            });
            if !measured {
                // Control latency outside the control scenario, say.
                continue;
            }
            let _ = write!(out, "| {} |", row.label);
            for c in &cs {
                let h = c.hnth.as_ref().and_then(row.get);
                let j = c.janus.as_ref().and_then(row.get);
                let _ = write!(
                    out,
                    " {} / {} ({}) |",
                    cell(h, row.digits),
                    cell(j, row.digits),
                    ratio(h, j)
                );
            }
            out.push('\n');
        }
        for c in &cs {
            for (name, f) in [("hnth", &c.hnth), ("Janus", &c.janus)] {
                if let Some(Figures {
                    failure: Some(why), ..
                }) = f
                {
                    let _ = writeln!(out, "\n- N = {}: {name} stopped: {why}", c.n);
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Writes the plots of `docs/benchmarks.md` into `dir`: CPU per forwarded packet (broadcast)
/// and join time (join storm) against N, for both servers.
pub fn plots(comparisons: &[Comparison], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    plot(
        comparisons,
        "broadcast",
        "Server CPU per forwarded packet (broadcast)",
        "CPU µs per forwarded packet",
        |f| f.cpu_s_per_mpkt,
        &dir.join("cpu-per-packet.svg"),
    )?;
    plot(
        comparisons,
        "join-storm",
        "Join time, p50, N endpoints joining within 10 s",
        "join p50 (ms)",
        |f| f.join_p50_ms,
        &dir.join("join-p50.svg"),
    )?;
    plot(
        comparisons,
        "join-storm",
        "Join time, p95, N endpoints joining within 10 s",
        "join p95 (ms)",
        |f| f.join_p95_ms,
        &dir.join("join-p95.svg"),
    )
}

/// Plots `figure` against N for both servers of `scenario` into an SVG file.
pub fn plot(
    comparisons: &[Comparison],
    scenario: &str,
    title: &str,
    y_label: &str,
    figure: fn(&Figures) -> Option<f64>,
    path: &Path,
) -> Result<()> {
    // (N, value, whether the run completed): a run where some receivers never got media
    // still measured the others; its point is drawn hollow.
    let series = |pick: fn(&Comparison) -> Option<&Figures>| -> Vec<(f64, f64, bool)> {
        comparisons
            .iter()
            .filter(|c| c.scenario == scenario)
            .filter_map(|c| {
                let f = pick(c)?;
                Some((c.n as f64, figure(f)?, f.failure.is_none()))
            })
            .collect()
    };
    let hnth = series(|c| c.hnth.as_ref());
    let janus = series(|c| c.janus.as_ref());
    let all: Vec<&(f64, f64, bool)> = hnth.iter().chain(&janus).collect();
    let x_max = all.iter().map(|p| p.0).fold(1.0, f64::max) * 1.05;
    let y_max = all.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("N (receiving endpoints); hollow: not every receiver got media")
        .y_desc(y_label)
        .draw()?;
    for (name, points, color) in [("hnth", &hnth, RED), ("Janus VideoRoom", &janus, BLUE)] {
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.1)),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart.draw_series(points.iter().map(|p| {
            let style = if p.2 {
                color.filled()
            } else {
                color.stroke_width(2)
            };
            Circle::new((p.0, p.1), 5, style)
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
