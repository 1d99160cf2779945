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
        Ok(settings)
    }

    /// The policy in force.
    pub fn policy(&self) -> Result<LoadedPolicy> {
        LoadedPolicy::load(&self.policy.profile, &self.policy.overrides)
            .context("invalid policy settings")
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
