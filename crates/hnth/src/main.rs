//! `hnth`: the binary of the government video-conference platform (Hội nghị truyền hình).
//!
//! It owns the command line, the settings, the wiring of the crates and the clean shutdown;
//! the rules live in `hnth-domain`, the data in `hnth-store`, the HTTP face in `hnth-web`.
//! Each crate gets only its part of the settings; nothing is global.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use hnth_domain::import::read_csv;
use hnth_domain::lang::Lang;
use hnth_domain::role::Role;
use hnth_store::accounts::NewUser;
use hnth_store::import::ImportFailure;
use hnth_store::{Actor, Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};

mod calendar_cli;
mod demo;
mod settings;

use settings::Settings;

#[derive(Parser)]
#[command(
    name = "hnth",
    version,
    about = "Run and manage the video conferences of state bodies (Hội nghị truyền hình)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data and settings are: shared by every command.
#[derive(Args, Clone)]
struct Common {
    /// Data folder (holds the SQLite database; created on first start).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Load the demo city (Cần Thơ-shaped) and one account per role; harmless to repeat.
        #[arg(long)]
        demo: bool,
    },
    /// Import a CSV file of units, endpoints or contacts (all or nothing).
    Import {
        #[command(flatten)]
        common: Common,
        /// The CSV file.
        file: PathBuf,
    },
    /// Personal API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// List the shipped policy profiles.
    Profiles,
    /// Print a year's days off (public holidays, compensations, official changes) as the
    /// server counts them: with the administrator's edits when the data folder has a
    /// database, else from the official tables shipped with hnth.
    Calendar {
        #[command(flatten)]
        common: Common,
        /// The year, e.g. 2026.
        year: i16,
        /// Ignore the database and print the shipped official tables.
        #[arg(long)]
        shipped: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a user; the token is printed on the last line.
    Create {
        #[command(flatten)]
        common: Common,
        /// The username.
        #[arg(long)]
        user: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a personal account with a role on a unit's subtree. The password is read from
    /// the HNTH_PASSWORD environment variable.
    Create {
        #[command(flatten)]
        common: Common,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Full name.
        #[arg(long)]
        full_name: String,
        /// Role: system_admin, operating_admin, approver, host_secretary, mcu_operator, endpoint_operator, liaison, auditor.
        #[arg(long)]
        role: String,
        /// Code of the unit whose subtree the role covers.
        #[arg(long)]
        unit: String,
    },
}

fn settings_for(common: &Common) -> Result<Settings> {
    let mut settings = Settings::load(common.config.as_deref())?;
    if let Some(data) = &common.data {
        settings.data_dir = data.clone();
    }
    Ok(settings)
}

async fn open_store(
    settings: &Settings,
    policy: &hnth_domain::policy::LoadedPolicy,
) -> Result<Store> {
    let store = Store::open(&StoreOptions {
        data_dir: settings.data_dir.clone(),
        read_connections: 4,
    })
    .await
    .with_context(|| {
        format!(
            "cannot open the database in {}",
            settings.data_dir.display()
        )
    })?;
    store
        .sync_levels(&policy.policy.levels.value)
        .await
        .context("cannot apply the policy's levels")?;
    Ok(store)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HNTH_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            common,
            listen,
            demo,
        } => serve(common, listen, demo).await,
        Command::Import { common, file } => import(common, file).await,
        Command::Token {
            command: TokenCommand::Create { common, user, name },
        } => token_create(common, user, name).await,
        Command::User {
            command:
                UserCommand::Create {
                    common,
                    username,
                    full_name,
                    role,
                    unit,
                },
        } => user_create(common, username, full_name, role, unit).await,
        Command::Profiles => {
            for id in hnth_domain::policy::profile_ids() {
                let loaded = hnth_domain::policy::LoadedPolicy::load(id, &toml::Table::new())?;
                println!(
                    "{id:16} {} — {}",
                    loaded.profile.name_vi, loaded.profile.document
                );
            }
            Ok(())
        }
        Command::Calendar {
            common,
            year,
            shipped,
        } => calendar(common, year, shipped).await,
    }
}

/// `hnth calendar YEAR`: the calendar in force. An existing database is opened (never
/// created: a mistyped `--data` must not leave an empty database behind) and its shipped
/// years recorded, exactly as the server does at start, so both count the same days.
async fn calendar(common: Common, year: i16, shipped: bool) -> Result<()> {
    let settings = settings_for(&common)?;
    let database = settings.data_dir.join(hnth_store::DATABASE_FILE);
    let mut out = std::io::stdout().lock();
    let calendar = if shipped || !database.is_file() {
        use std::io::Write;
        writeln!(
            out,
            "(Bảng thay đổi chính thức kèm theo phần mềm{}.)",
            if shipped {
                String::new()
            } else {
                format!("; chưa có cơ sở dữ liệu ở {}", settings.data_dir.display())
            }
        )?;
        hnth_domain::calendar::WorkCalendar::with_shipped()
    } else {
        let policy = settings.policy()?;
        let store = open_store(&settings, &policy).await?;
        store
            .seed_calendar(&hnth_domain::calendar::WorkCalendar::shipped_changes())
            .await?;
        let calendar = store.work_calendar().await?;
        store.close().await;
        calendar
    };
    calendar_cli::print_year(&calendar, year, Lang::Vi, &mut out)?;
    Ok(())
}

async fn serve(common: Common, listen: Option<std::net::SocketAddr>, demo: bool) -> Result<()> {
    let mut settings = settings_for(&common)?;
    if let Some(listen) = listen {
        settings.listen = listen;
    }
    let policy = settings.policy()?;
    let store = open_store(&settings, &policy).await?;
    if demo {
        let loaded = demo::load(&store, &policy.policy, hnth_web::today()).await?;
        tracing::info!(
            units = loaded.units,
            endpoints = loaded.endpoints,
            contacts = loaded.contacts,
            accounts = loaded.accounts,
            "demo data loaded"
        );
    }
    let seeded = store
        .seed_calendar(&hnth_domain::calendar::WorkCalendar::shipped_changes())
        .await?;
    if !seeded.is_empty() {
        tracing::info!(
            ?seeded,
            "official calendar changes of the shipped years recorded"
        );
    }
    let calendar = store.work_calendar().await?;
    // The demo city's operating unit is its Department of Information and Communications.
    let operating_unit = settings
        .operating_unit
        .clone()
        .or_else(|| demo.then(|| "CT.STTTT".to_string()));
    let operating_unit_id = match operating_unit {
        Some(code) => Some(
            store
                .unit_by_code(&code)
                .await?
                .with_context(|| format!("operating_unit `{code}` is not a unit of the directory"))?
                .id,
        ),
        None => None,
    };
    let outbox_wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let media = if settings.media.enabled {
        let (handle, task) = hnth_media::driver::start(settings.media_config())
            .await
            .with_context(|| format!("cannot start the media server on {}", settings.media.bind))?;
        Some((handle, task))
    } else {
        None
    };
    let live = hnth_web::live::LiveHub::default();
    let conferences = media.as_ref().map(|(handle, _)| {
        hnth_web::conference::Conferences::start(
            handle.clone(),
            store.clone(),
            live.clone(),
            (&policy.policy.link_thresholds.value).into(),
        )
    });
    let state = hnth_web::AppState {
        store: store.clone(),
        policy: std::sync::Arc::new(policy),
        config: std::sync::Arc::new(settings.web_config()),
        calendar: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(calendar))),
        operating_unit_id,
        outbox_wake: outbox_wake.clone(),
        live,
        conferences,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    println!(
        "hnth {} listening on http://{address}",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "policy profile: {}; data: {}",
        state.policy.profile.id,
        settings.data_dir.display()
    );
    if let Some((handle, _)) = &media {
        println!("media server (WebRTC, UDP) on {}", handle.local_addr());
    }
    if demo {
        println!("demo logins (password `{}`):", demo::DEMO_PASSWORD);
        for (username, role) in demo::accounts() {
            println!("  {username:10} {}", role.label(Lang::En));
        }
    }
    let dispatcher = hnth_notify::start(store.clone(), settings.notify_config(), outbox_wake)
        .await
        .context("cannot start the notification dispatcher")?;
    let live = state.live.clone();
    let served = axum::serve(listener, hnth_web::router(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Open event streams never end by themselves; end them so the shutdown can.
            live.close();
        })
        .await;
    // Stop sending before closing the store; a send cut short is retried after its lease.
    dispatcher.shutdown().await;
    // Close every room: endpoints get a clean hang-up instead of a timeout.
    if let Some((handle, task)) = media {
        let _ = handle.shutdown().await;
        let _ = task.await;
    }
    served?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

async fn import(common: Common, file: PathBuf) -> Result<()> {
    let settings = settings_for(&common)?;
    let policy = settings.policy()?;
    let store = open_store(&settings, &policy).await?;
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let levels = store.levels().await?;
    let today = hnth_web::today();
    let rows = match read_csv(&bytes, &levels, today) {
        Ok(rows) => rows,
        Err(errors) => {
            for line in errors.report(Lang::Vi) {
                eprintln!("{}: {line}", file.display());
            }
            anyhow::bail!("{} problems; nothing was imported", errors.errors.len());
        }
    };
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = {
        let bar = bar.clone();
        move |done: usize| bar.set_position(done as u64)
    };
    let outcome = store
        .import(
            &Actor::system("cli:import"),
            &policy.policy,
            &rows,
            today,
            &progress,
        )
        .await;
    bar.finish_and_clear();
    match outcome {
        Ok(summary) => {
            println!(
                "{}: {} created, {} updated",
                summary.kind.label(Lang::En),
                summary.created,
                summary.updated
            );
            Ok(())
        }
        Err(ImportFailure::Rows(errors)) => {
            for line in errors.report(Lang::Vi) {
                eprintln!("{}: {line}", file.display());
            }
            anyhow::bail!("{} problems; nothing was imported", errors.errors.len())
        }
        Err(ImportFailure::Store(error)) => Err(error.into()),
    }
}

async fn token_create(common: Common, username: String, name: String) -> Result<()> {
    let settings = settings_for(&common)?;
    let policy = settings.policy()?;
    let store = open_store(&settings, &policy).await?;
    let (user, _) = store
        .user_for_login(&username)
        .await?
        .with_context(|| format!("no user named {username}"))?;
    let token = store
        .create_api_token(&Actor::system("cli:token"), user.id, &name)
        .await?;
    println!("API token for {username} (shown once; send as `Authorization: Bearer …`):");
    println!("{token}");
    Ok(())
}

async fn user_create(
    common: Common,
    username: String,
    full_name: String,
    role: String,
    unit: String,
) -> Result<()> {
    let settings = settings_for(&common)?;
    let policy = settings.policy()?;
    let store = open_store(&settings, &policy).await?;
    let role = Role::parse(&role).with_context(|| format!("unknown role {role}"))?;
    let unit = store
        .unit_by_code(&unit)
        .await?
        .with_context(|| format!("no unit with code {unit}"))?;
    let password = std::env::var("HNTH_PASSWORD")
        .context("set the password in the HNTH_PASSWORD environment variable")?;
    anyhow::ensure!(
        password.chars().count() >= 10,
        "the password needs at least 10 characters"
    );
    let password_hash =
        hnth_web::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let actor = Actor::system("cli:user");
    let user = store
        .create_user(
            &actor,
            &NewUser {
                username,
                full_name,
                email: String::new(),
                unit_id: Some(unit.id),
                password_hash,
                lang: Lang::Vi,
            },
        )
        .await?;
    store.add_grant(&actor, user.id, role, unit.id).await?;
    println!(
        "created {} with {} on {}",
        user.username,
        role.as_str(),
        unit.code
    );
    Ok(())
}
