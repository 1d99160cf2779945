//! Typed settings: built-in defaults, then the configuration file, then `HNTH_`-prefixed
//! environment variables (`HNTH_LISTEN`, `HNTH_DATA_DIR`, `HNTH_POLICY__PROFILE` …), then
//! command-line flags. Validated once at start; a bad value stops the start with a message.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use hnth_domain::policy::LoadedPolicy;
use serde::{Deserialize, Serialize};

/// Everything the binary can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to serve HTTP on.
    pub listen: SocketAddr,
    /// Folder of the SQLite database.
    pub data_dir: PathBuf,
    /// Policy profile and overrides.
    pub policy: PolicySettings,
    /// Web settings.
    pub web: WebSettings,
    /// Code of the operating unit (Sở TT&TT / Sở KH&CN) that approves registrations by
    /// default (R-REG-4); when absent, the root of the host unit's tree stands for it.
    #[serde(default)]
    pub operating_unit: Option<String>,
    /// Notifications: e-mail and webhook delivery.
    #[serde(default)]
    pub notify: NotifySettings,
    /// The media server (SFU) that carries the live sessions' audio and video.
    #[serde(default)]
    pub media: MediaSettings,
}

/// `[media]`: where the media server listens for the endpoints' WebRTC traffic (one UDP
/// port for every endpoint, R-SEC-3: only that port needs opening).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSettings {
    /// Run the media server in this process.
    pub enabled: bool,
    /// The UDP socket, e.g. `0.0.0.0:3478`. The default (loopback, any free port) suits a
    /// demo on one machine; a deployment fixes the port and opens it in the firewall.
    pub bind: SocketAddr,
    /// The address endpoints reach the socket at (offered as the ICE candidate); needed when
    /// `bind` is `0.0.0.0` or behind NAT.
    pub public_addr: Option<SocketAddr>,
    /// How often link statistics are sampled per endpoint.
    pub stats_seconds: u64,
    /// How long an endpoint whose network dropped keeps its place for a reconnection.
    pub reconnect_grace_seconds: u64,
}

impl Default for MediaSettings {
    fn default() -> MediaSettings {
        MediaSettings {
            enabled: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_addr: None,
            stats_seconds: 5,
            reconnect_grace_seconds: 15,
        }
    }
}

/// `[notify]`: how the outbox's notices are sent. Without `[notify.smtp]` no e-mail is
/// created at all; in-app notifications and webhooks work regardless.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    /// The mail relay; absent: the e-mail channel is off.
    pub smtp: Option<SmtpSettings>,
    /// Longest time one webhook call may take.
    pub webhook_timeout_seconds: u64,
    /// Attempts per delivery, the first included, before it gives up (stays visible).
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub retry_first_seconds: u64,
    /// Longest wait between attempts.
    pub retry_max_seconds: u64,
    /// How long a delivery being sent is reserved; after a crash it is sent again once this
    /// has passed. Must exceed both timeouts.
    pub lease_seconds: u64,
    /// How often to look for due deliveries besides being woken by new notices.
    pub poll_seconds: u64,
    /// Deliveries sent at the same time.
    pub concurrency: usize,
}

impl Default for NotifySettings {
    fn default() -> NotifySettings {
        let retry = hnth_store::outbox::RetryPolicy::default();
        NotifySettings {
            smtp: None,
            webhook_timeout_seconds: 10,
            max_attempts: retry.max_attempts,
            retry_first_seconds: retry.first_delay.as_secs(),
            retry_max_seconds: retry.max_delay.as_secs(),
            lease_seconds: 300,
            poll_seconds: 5,
            concurrency: 4,
        }
    }
}

/// `[notify.smtp]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// The relay's host name.
    pub host: String,
    /// The relay's port; by default 25 (`tls = "none"`), 587 (`starttls`) or 465 (`tls`).
    #[serde(default)]
    pub port: Option<u16>,
    /// The sender, e.g. `"Hội nghị truyền hình <hnth@cantho.gov.vn>"`.
    pub from: String,
    /// Login name, when the relay requires one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (better given as `HNTH_NOTIFY__SMTP__PASSWORD`); never written back out.
    #[serde(default, skip_serializing)]
    pub password: Option<secrecy::SecretString>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub tls: hnth_notify::SmtpTls,
    /// Longest time one message may take.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_seconds: u64,
}

fn default_smtp_timeout() -> u64 {
    30
}

/// `[policy]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// One of the shipped profiles.
    pub profile: String,
    /// Values that replace the profile's, keyed like the profile.
    #[serde(default)]
    pub overrides: toml::Table,
}

/// `[web]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Mark cookies `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// Login lifetime.
    pub session_hours: u32,
    /// Failed logins before a lock.
    pub max_failed_logins: u32,
    /// Lock duration.
    pub lockout_minutes: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            policy: PolicySettings {
                profile: "can-tho".into(),
                overrides: toml::Table::new(),
            },
            web: WebSettings {
                secure_cookies: false,
                session_hours: 12,
                max_failed_logins: 5,
                lockout_minutes: 15,
            },
            operating_unit: None,
            notify: NotifySettings::default(),
            media: MediaSettings::default(),
        }
    }
}

impl Settings {
    /// Loads the layers; `config` must exist when given.
    pub fn load(config: Option<&Path>) -> Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config {
            anyhow::ensure!(
                path.is_file(),
                "configuration file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            // HNTH_LOG and HNTH_PASSWORD are read elsewhere; they are not settings.
            .merge(
                Env::prefixed("HNTH_")
                    .filter(|key| key != "log" && key != "password")
                    .split("__"),
            )
            .extract()
            .context("invalid settings")?;
        anyhow::ensure!(
            settings.web.session_hours >= 1,
            "web.session_hours must be at least 1"
        );
        anyhow::ensure!(
            settings.web.max_failed_logins >= 1,
            "web.max_failed_logins must be at least 1"
        );
        settings.notify_config().validate()?;
        anyhow::ensure!(
            !settings.media.enabled
                || !settings.media.bind.ip().is_unspecified()
                || settings.media.public_addr.is_some(),
            "media.bind is {}: set media.public_addr to the address endpoints reach",
            settings.media.bind
        );
        anyhow::ensure!(
            settings.media.stats_seconds >= 1,
            "media.stats_seconds must be at least 1"
        );
        Ok(settings)
    }

    /// The policy in force.
    pub fn policy(&self) -> Result<LoadedPolicy> {
        LoadedPolicy::load(&self.policy.profile, &self.policy.overrides)
            .context("invalid policy settings")
    }

    /// The media server's part.
    pub fn media_config(&self) -> hnth_media::driver::DriverConfig {
        let mut config = hnth_media::driver::DriverConfig::new(self.media.bind);
        config.public_addr = self.media.public_addr;
        config.stats_interval = std::time::Duration::from_secs(self.media.stats_seconds);
        config.reconnect_grace = std::time::Duration::from_secs(self.media.reconnect_grace_seconds);
        config
    }

    /// The notification dispatcher's part.
    pub fn notify_config(&self) -> hnth_notify::NotifyConfig {
        let n = &self.notify;
        let secs = std::time::Duration::from_secs;
        hnth_notify::NotifyConfig {
            smtp: n.smtp.as_ref().map(|s| hnth_notify::SmtpConfig {
                host: s.host.clone(),
                port: s.port.unwrap_or(match s.tls {
                    hnth_notify::SmtpTls::None => 25,
                    hnth_notify::SmtpTls::Starttls => 587,
                    hnth_notify::SmtpTls::Tls => 465,
                }),
                from: s.from.clone(),
                username: s.username.clone(),
                password: s.password.clone(),
                tls: s.tls,
                timeout: secs(s.timeout_seconds),
            }),
            webhook_timeout: secs(n.webhook_timeout_seconds),
            retry: hnth_store::outbox::RetryPolicy {
                first_delay: secs(n.retry_first_seconds),
                max_delay: secs(n.retry_max_seconds),
                max_attempts: n.max_attempts,
            },
            lease: secs(n.lease_seconds),
            poll_interval: secs(n.poll_seconds),
            concurrency: n.concurrency,
        }
    }

    /// The web layer's part.
    pub fn web_config(&self) -> hnth_web::WebConfig {
        hnth_web::WebConfig {
            secure_cookies: self.web.secure_cookies,
            session_hours: self.web.session_hours,
            max_failed_logins: self.web.max_failed_logins,
            lockout_minutes: self.web.lockout_minutes,
            ..Default::default()
        }
    }
}
