//! The `hnth-loadgen` command: one run (`run`) or hnth beside Janus over several N
//! (`compare`), printed as tables or JSON, with the Markdown and SVG plots of the report.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use hnth_loadgen::report::{self, Comparison};
use hnth_loadgen::scenario::{self, Figures, Scenario, ServerKind, Timing};

#[derive(Parser)]
#[command(
    version,
    about = "Synthetic WebRTC endpoints against hnth's media server (and Janus)"
)]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Hnth,
    Janus,
}

#[derive(clap::Args)]
struct Servers {
    /// The hnth binary (default: `hnth` beside this program).
    #[arg(long)]
    hnth_bin: Option<PathBuf>,
    /// The Janus binary.
    #[arg(long, default_value = "/usr/bin/janus")]
    janus_bin: PathBuf,
    /// The folder of Janus configuration templates.
    #[arg(long, default_value = "bench/janus")]
    janus_configs: PathBuf,
    /// Seconds of the measurement window.
    #[arg(long, default_value_t = 8)]
    window: u64,
    /// Seconds a receiver may take to get media before it counts as failed.
    #[arg(long, default_value_t = 30)]
    join_deadline: u64,
    /// Joins in flight at once (outside the join storm, where all N are).
    #[arg(long, default_value_t = 16)]
    join_concurrency: usize,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

impl Servers {
    fn kind(&self, which: Which) -> ServerKind {
        match which {
            Which::Hnth => ServerKind::Hnth {
                binary: self
                    .hnth_bin
                    .clone()
                    .unwrap_or_else(hnth_loadgen::hnth::default_binary),
            },
            Which::Janus => ServerKind::Janus {
                binary: self.janus_bin.clone(),
                configs: self.janus_configs.clone(),
            },
        }
    }

    fn timing(&self) -> Timing {
        Timing {
            window: Duration::from_secs(self.window),
            join_deadline: Duration::from_secs(self.join_deadline),
            join_concurrency: self.join_concurrency,
            ..Timing::default()
        }
    }
}

#[derive(Subcommand)]
enum Action {
    /// One scenario against one server.
    Run {
        #[arg(long, value_enum)]
        server: Which,
        #[arg(long, value_enum)]
        scenario: Scenario,
        /// Receiving endpoints.
        #[arg(short, long, default_value_t = 50)]
        n: usize,
        #[command(flatten)]
        servers: Servers,
    },
    /// The Markdown tables and plots again from a `compare --results` file.
    Report {
        /// The JSON written by `compare --results`.
        results: PathBuf,
        /// Writes the Markdown tables here (default: stdout).
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Writes the SVG plots into this folder.
        #[arg(long)]
        plots: Option<PathBuf>,
    },
    /// hnth and Janus side by side, every scenario at every N (a server that stops at some
    /// N is not run at larger ones).
    Compare {
        /// Receiving endpoints, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "50,200,500,1000")]
        n: Vec<usize>,
        /// Scenarios, comma-separated.
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "broadcast,interactive,join-storm,control"
        )]
        scenarios: Vec<Scenario>,
        /// Largest N per scenario, as `scenario=N` (e.g. `interactive=200`).
        #[arg(long, value_delimiter = ',')]
        cap: Vec<String>,
        /// Writes the Markdown tables here.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Writes the SVG plots into this folder.
        #[arg(long)]
        plots: Option<PathBuf>,
        /// Writes the JSON of every run here.
        #[arg(long)]
        results: Option<PathBuf>,
        #[command(flatten)]
        servers: Servers,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Each peer holds a socket, and each hnth endpoint a WebSocket: past the default limit
    // of 1,024 descriptors by a few hundred endpoints. Children (the servers) inherit it.
    rlimit::increase_nofile_limit(1 << 16).context("raising the open-files limit")?;
    // Two worker threads, as on the 2-core machine the issue names; the servers compete
    // for the same cores, as they would with a real load generator on the same host.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Action::Run {
                server,
                scenario,
                n,
                servers,
            } => {
                let figures =
                    scenario::run(&servers.kind(server), scenario, n, servers.timing()).await;
                if servers.json {
                    println!("{}", serde_json::to_string_pretty(&figures)?);
                } else {
                    print!("{}", report::run_table(&figures));
                }
                if figures.failure.is_some() {
                    std::process::exit(1);
                }
                Ok(())
            }
            Action::Compare {
                n,
                scenarios,
                cap,
                markdown,
                plots,
                results,
                servers,
            } => compare(&n, &scenarios, &cap, markdown, plots, results, &servers).await,
            Action::Report {
                results,
                markdown,
                plots,
            } => {
                let text = std::fs::read_to_string(&results)
                    .with_context(|| format!("cannot read {}", results.display()))?;
                let comparisons: Vec<Comparison> =
                    serde_json::from_str(&text).with_context(|| {
                        format!("{} is not a compare --results file", results.display())
                    })?;
                let tables = report::markdown(&comparisons);
                match markdown {
                    Some(path) => std::fs::write(path, tables)?,
                    None => print!("{tables}"),
                }
                if let Some(dir) = plots {
                    report::plots(&comparisons, &dir)?;
                }
                Ok(())
            }
        }
    })
}

async fn compare(
    ns: &[usize],
    scenarios: &[Scenario],
    caps: &[String],
    markdown: Option<PathBuf>,
    plots: Option<PathBuf>,
    results: Option<PathBuf>,
    servers: &Servers,
) -> Result<()> {
    let cap_of = |s: Scenario| -> Result<usize> {
        for cap in caps {
            let (name, n) = cap
                .split_once('=')
                .with_context(|| format!("--cap {cap}: expected scenario=N"))?;
            if name == s.name() {
                return n
                    .parse()
                    .with_context(|| format!("--cap {cap}: N is a number"));
            }
        }
        Ok(usize::MAX)
    };
    let started = std::time::Instant::now();
    let mut comparisons = Vec::new();
    for &scenario in scenarios {
        let cap = cap_of(scenario)?;
        let (mut hnth_stopped, mut janus_stopped) = (false, false);
        for &n in ns.iter().filter(|&&n| n <= cap) {
            let run = |which: Which, stopped: bool| {
                let kind = servers.kind(which);
                let timing = servers.timing();
                async move {
                    if stopped {
                        None
                    } else {
                        Some(scenario::run(&kind, scenario, n, timing).await)
                    }
                }
            };
            let hnth = run(Which::Hnth, hnth_stopped).await;
            let janus = run(Which::Janus, janus_stopped).await;
            let failed = |f: &Option<Figures>| f.as_ref().is_none_or(|f| f.failure.is_some());
            hnth_stopped = failed(&hnth);
            janus_stopped = failed(&janus);
            let comparison = Comparison {
                scenario: scenario.name().into(),
                n,
                hnth,
                janus,
            };
            if servers.json {
                println!("{}", serde_json::to_string(&comparison)?);
            } else {
                println!("{}", report::comparison_table(&comparison));
            }
            comparisons.push(comparison);
            if hnth_stopped && janus_stopped {
                break;
            }
        }
    }
    eprintln!("all runs: {:.0} s", started.elapsed().as_secs_f64());
    if let Some(path) = results {
        std::fs::write(&path, serde_json::to_string_pretty(&comparisons)?)?;
    }
    if let Some(path) = markdown {
        std::fs::write(&path, report::markdown(&comparisons))?;
    }
    if let Some(dir) = plots {
        report::plots(&comparisons, &dir)?;
    }
    Ok(())
}
