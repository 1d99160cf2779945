//! The load generator tested against the real server: a small broadcast (the host and five
//! receivers, joined by their links through the conference WebSocket) in which every receiver
//! must get the host's audio and video, and the figures must be filled in. No figure is
//! compared with a speed: the benchmark (`docs/benchmarks.md`) is where speed is read.

use std::path::PathBuf;
use std::time::Duration;

use hnth_loadgen::scenario::{self, Scenario, ServerKind, Timing};

fn hnth() -> ServerKind {
    ServerKind::Hnth {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_hnth")),
    }
}

fn short() -> Timing {
    Timing {
        settle: Duration::from_millis(500),
        window: Duration::from_secs(2),
        join_deadline: Duration::from_secs(30),
        join_concurrency: 4,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_broadcast_reaches_every_receiver() {
    let figures = scenario::run(&hnth(), Scenario::Broadcast, 5, short()).await;
    println!("{}", hnth_loadgen::report::run_table(&figures));
    assert_eq!(figures.failure, None);
    assert_eq!(figures.joined, 5, "every receiver got media");
    assert_eq!(
        figures.receivers_without_host, 0,
        "every receiver got the host's audio and video"
    );
    assert!(figures.forwarded_pps > 0.0);
    assert!(figures.cpu_s_per_mpkt.is_some());
    assert!(figures.peak_memory_mib > 0.0);
    assert!(figures.latency_p50_ms.is_some());
    assert!(figures.join_p50_ms.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_calls_reach_the_host() {
    let figures = scenario::run(&hnth(), Scenario::Control, 3, short()).await;
    println!("{}", hnth_loadgen::report::run_table(&figures));
    assert_eq!(figures.failure, None);
    assert_eq!(figures.receivers_without_host, 0);
    assert!(
        figures.control_p50_ms.is_some() && figures.control_p99_ms.is_some(),
        "every call was heard at the host"
    );
}
