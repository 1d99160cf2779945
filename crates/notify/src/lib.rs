//! The notification dispatcher: sends what the store's outbox holds, by e-mail (SMTP) and
//! by signed webhook, with retries and back-off.
//!
//! The store writes a notice and its deliveries in the same transaction as the change that
//! causes it (see `hnth_store::outbox`); this crate only moves them out over the network,
//! which the store must not do inside a transaction and the web layer should not own as a
//! background worker. [`start`] spawns one tokio task that:
//!
//! 1. claims due deliveries with a **lease** (as many as it has free send slots, so a claimed
//!    delivery starts sending at once and its lease only has to cover one send);
//! 2. sends each one, bounded by the channel's timeout, which the settings require to be
//!    shorter than the lease: a live sender is never overtaken by its own lease expiring;
//! 3. marks it delivered, or failed with the next attempt from the [`RetryPolicy`] (give up
//!    after the last attempt; a 5xx SMTP answer or an address that does not parse gives up at
//!    once, as retrying cannot help);
//! 4. sleeps until woken through the shared [`tokio::sync::Notify`] (the web layer pokes it
//!    after a write that enqueued notices), until the poll interval passes (retries coming
//!    due, leases of a crashed predecessor running out), or until shutdown.
//!
//! **At least once, and how receivers make it exactly once.** A delivery leaves the outbox
//! only once the receiver accepted it (SMTP `250` after the data, HTTP 2xx). If the process
//! dies after sending but before the store records it, or a timeout fires after the receiver
//! accepted, the delivery is sent again when its lease runs out. That window is small but
//! cannot be closed from the sender's side. So every attempt of a delivery carries the same
//! identity: the e-mail's `Message-ID` (`<hnth.N.D@domain>`, N the notification, D the
//! delivery) and the webhook's `X-Hnth-Delivery: D`. Mail systems and webhook receivers
//! deduplicate on it; the people reading never see the retry.
//!
//! **Shutdown** stops claiming, lets the sends in flight finish (each is bounded by its
//! timeout) and returns. A send cut short by a kill is safe: its lease runs out and it is
//! sent again.
//!
//! Webhook bodies are JSON; the signature header is
//! `X-Hnth-Signature: sha256=<hex HMAC-SHA256 over "<X-Hnth-Timestamp>.<body>">` with the
//! subscription's secret (see [`signature`]), so a receiver can check both origin and
//! freshness. Redirects are not followed: a signed body goes only where it was addressed.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use hnth_store::outbox::{Delivery, RetryPolicy, Target};
use hnth_store::Store;
use jiff::Timestamp;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same machine or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// Where and how e-mail is sent.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The relay's host name (checked against its certificate when TLS is used).
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// The sender, e.g. `Hội nghị truyền hình <hnth@cantho.gov.vn>`.
    pub from: String,
    /// Login name, when the relay requires authentication.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<SecretString>,
    /// Protection of the connection.
    pub tls: SmtpTls,
    /// Longest time one message may take, connection included.
    pub timeout: Duration,
}

/// Settings of the dispatcher.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// E-mail settings; `None` turns the e-mail channel off (no e-mail deliveries are
    /// created), while in-app notifications and webhooks keep working.
    pub smtp: Option<SmtpConfig>,
    /// Longest time one webhook call may take.
    pub webhook_timeout: Duration,
    /// Back-off and the number of attempts.
    pub retry: RetryPolicy,
    /// How long a claimed delivery is reserved for this sender; must exceed every timeout.
    pub lease: Duration,
    /// How often to look for due deliveries without being woken.
    pub poll_interval: Duration,
    /// Deliveries sent at the same time.
    pub concurrency: usize,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            smtp: None,
            webhook_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(300),
            poll_interval: Duration::from_secs(5),
            concurrency: 4,
        }
    }
}

/// What can stop the dispatcher from starting.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A setting is unusable.
    #[error("notify settings: {0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] hnth_store::StoreError),
}

impl NotifyConfig {
    /// Checks the settings that would otherwise fail at the first send or break the lease
    /// guarantee.
    pub fn validate(&self) -> Result<(), NotifyError> {
        let bad = |m: String| Err(NotifyError::Config(m));
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1".into());
        }
        if self.retry.max_attempts == 0 {
            return bad("max_attempts must be at least 1".into());
        }
        if self.poll_interval.is_zero() {
            return bad("poll_seconds must be at least 1".into());
        }
        let mut timeouts = vec![("webhook_timeout_seconds", self.webhook_timeout)];
        if let Some(smtp) = &self.smtp {
            timeouts.push(("smtp.timeout_seconds", smtp.timeout));
            if smtp.host.trim().is_empty() {
                return bad("smtp.host is empty".into());
            }
            if let Err(e) = smtp.from.parse::<Mailbox>() {
                return bad(format!("smtp.from `{}` is not an address: {e}", smtp.from));
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                return bad("smtp.username and smtp.password go together".into());
            }
        }
        for (name, timeout) in timeouts {
            if timeout.is_zero() {
                return bad(format!("{name} must be at least 1"));
            }
            // A send must end before its lease does, or a second sender could start it again
            // while the first is still talking to the receiver.
            if self.lease < timeout + Duration::from_secs(1) {
                return bad(format!(
                    "lease_seconds ({}) must exceed {name} ({}) by at least one second",
                    self.lease.as_secs(),
                    timeout.as_secs()
                ));
            }
        }
        Ok(())
    }
}

/// The running dispatcher.
#[derive(Debug)]
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Dispatcher {
    /// Stops claiming, waits for the sends in flight, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "notification dispatcher ended abnormally");
        }
    }
}

/// Starts the dispatcher. `wake` is shared with whoever writes notices (the web layer), who
/// calls `notify_one` after a write so that notices leave at once instead of at the next poll.
///
/// Also records in the store whether the e-mail channel is on (SMTP settings present).
pub async fn start(
    store: Store,
    config: NotifyConfig,
    wake: Arc<Notify>,
) -> Result<Dispatcher, NotifyError> {
    config.validate()?;
    store.set_email_delivery(config.smtp.is_some()).await?;
    let mailer = config.smtp.as_ref().map(Mailer::new).transpose()?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hnth/", env!("CARGO_PKG_VERSION")))
        .timeout(config.webhook_timeout)
        .build()
        .map_err(|e| NotifyError::Config(format!("HTTP client: {e}")))?;
    let (stop, stopped) = watch::channel(false);
    let sender = Arc::new(Sender {
        store,
        mailer,
        http,
        config,
    });
    let task = tokio::spawn(run(sender, wake, stopped));
    Ok(Dispatcher { stop, task })
}

/// Everything a send needs, shared by the send tasks.
struct Sender {
    store: Store,
    mailer: Option<Mailer>,
    http: reqwest::Client,
    config: NotifyConfig,
}

async fn run(sender: Arc<Sender>, wake: Arc<Notify>, mut stopped: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(sender.config.concurrency));
    let mut in_flight = JoinSet::new();
    tracing::info!(
        email = sender.mailer.is_some(),
        "notification dispatcher started"
    );
    loop {
        if *stopped.borrow() {
            break;
        }
        let free = slots.available_permits();
        let mut claimed_any = false;
        if free > 0 {
            match sender
                .store
                .claim_due_deliveries(Timestamp::now(), sender.config.lease, free as u32)
                .await
            {
                Ok(deliveries) => {
                    claimed_any = !deliveries.is_empty();
                    for delivery in deliveries {
                        // Never waits: at most `free` deliveries were claimed.
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let sender = sender.clone();
                        in_flight.spawn(async move {
                            sender.deliver(delivery).await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => tracing::error!(%error, "cannot claim deliveries"),
            }
        }
        // Reap finished sends so the set does not grow.
        while in_flight.try_join_next().is_some() {}
        if claimed_any && slots.available_permits() > 0 {
            // There may be more due right now.
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sender.config.poll_interval) => {}
            _ = stopped.changed() => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    let pending = in_flight.len();
    if pending > 0 {
        tracing::info!(pending, "waiting for notifications being sent");
    }
    while in_flight.join_next().await.is_some() {}
    tracing::info!("notification dispatcher stopped");
}

/// How one attempt ended.
#[derive(Debug)]
enum Outcome {
    /// The receiver accepted it.
    Delivered,
    /// Worth trying again later.
    Retry(String),
    /// Trying again cannot help.
    GiveUp(String),
}

impl Sender {
    async fn deliver(&self, delivery: Delivery) {
        let outcome = if delivery.attempt > self.config.retry.max_attempts {
            // Claimed more often than allowed without a recorded failure: earlier attempts
            // died with the process. Stop here rather than crash again.
            Outcome::GiveUp(format!(
                "{} attempts without an answer (the sender stopped each time)",
                delivery.attempt - 1
            ))
        } else {
            match &delivery.target {
                Target::Email(address) => self.send_email(&delivery, address).await,
                Target::Webhook { url, secret, .. } => {
                    self.send_webhook(&delivery, url, secret).await
                }
            }
        };
        let result = match &outcome {
            Outcome::Delivered => {
                tracing::info!(delivery = delivery.id, target = ?delivery.target, attempt = delivery.attempt, "notification delivered");
                self.store.mark_delivered(delivery.id).await
            }
            Outcome::Retry(error) => {
                let next = self
                    .config
                    .retry
                    .next_attempt_at(delivery.attempt, Timestamp::now());
                tracing::warn!(delivery = delivery.id, target = ?delivery.target, attempt = delivery.attempt, %error, retry = next.is_some(), "notification not delivered");
                self.store.mark_failed(delivery.id, error, next).await
            }
            Outcome::GiveUp(error) => {
                tracing::warn!(delivery = delivery.id, target = ?delivery.target, attempt = delivery.attempt, %error, "notification given up");
                self.store.mark_failed(delivery.id, error, None).await
            }
        };
        if let Err(error) = result {
            // The lease runs out and the delivery is tried again: at least once holds.
            tracing::error!(delivery = delivery.id, %error, "cannot record a delivery's outcome");
        }
    }

    async fn send_email(&self, delivery: &Delivery, address: &str) -> Outcome {
        let Some(mailer) = &self.mailer else {
            return Outcome::GiveUp("e-mail is not configured".into());
        };
        let message = match mailer.message(delivery, address) {
            Ok(message) => message,
            Err(error) => return Outcome::GiveUp(error),
        };
        match tokio::time::timeout(mailer.timeout, mailer.transport.send(message)).await {
            Ok(Ok(_)) => Outcome::Delivered,
            Ok(Err(error)) if error.is_permanent() => Outcome::GiveUp(format!("SMTP: {error}")),
            Ok(Err(error)) => Outcome::Retry(format!("SMTP: {error}")),
            Err(_) => Outcome::Retry(format!(
                "SMTP: no answer within {} s",
                mailer.timeout.as_secs()
            )),
        }
    }

    async fn send_webhook(&self, delivery: &Delivery, url: &str, secret: &str) -> Outcome {
        let body = webhook_body(delivery).to_string();
        let timestamp = Timestamp::now().as_second().to_string();
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Hnth-Event", &delivery.event)
            .header("X-Hnth-Delivery", delivery.id.to_string())
            .header("X-Hnth-Timestamp", &timestamp)
            .header(
                "X-Hnth-Signature",
                format!("sha256={}", signature(secret, &timestamp, &body)),
            )
            .body(body);
        let call = tokio::time::timeout(self.config.webhook_timeout, request.send()).await;
        match call {
            Ok(Ok(response)) if response.status().is_success() => Outcome::Delivered,
            Ok(Ok(response)) => Outcome::Retry(format!("HTTP {}", response.status())),
            Ok(Err(error)) if error.is_builder() => Outcome::GiveUp(format!("webhook: {error}")),
            Ok(Err(error)) => Outcome::Retry(format!("webhook: {error}")),
            Err(_) => Outcome::Retry(format!(
                "webhook: no answer within {} s",
                self.config.webhook_timeout.as_secs()
            )),
        }
    }
}

/// The SMTP side: a transport and the sender's address.
struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl Mailer {
    fn new(config: &SmtpConfig) -> Result<Mailer, NotifyError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| NotifyError::Config(format!("smtp.from: {e}")))?;
        let tls_error = |e: lettre::transport::smtp::Error| {
            NotifyError::Config(format!("smtp TLS for {}: {e}", config.host))
        };
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(tls_error)?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls_error)?
            }
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            timeout: config.timeout,
        })
    }

    /// The e-mail of one delivery; an error means it can never be sent (bad address).
    fn message(&self, delivery: &Delivery, address: &str) -> Result<Message, String> {
        let to: Mailbox = address
            .parse()
            .map_err(|e| format!("address `{address}`: {e}"))?;
        Message::builder()
            .message_id(Some(message_id(delivery, self.from.email.domain())))
            .from(self.from.clone())
            .to(to)
            .subject(format!("{} / {}", delivery.subject.vi, delivery.subject.en))
            .header(ContentType::TEXT_PLAIN)
            .body(email_text(delivery))
            .map_err(|e| format!("message: {e}"))
    }
}

/// The `Message-ID` of a delivery: the same on every attempt, so the receiving mail system
/// can drop a resent copy.
pub fn message_id(delivery: &Delivery, domain: &str) -> String {
    format!(
        "<hnth.{}.{}@{domain}>",
        delivery.notification_id, delivery.id
    )
}

/// The text of a notice's e-mail: Vietnamese first, then English, then where it comes from.
pub fn email_text(delivery: &Delivery) -> String {
    format!(
        "{}\n\n{}\n\n-- \nHội nghị truyền hình · Video conferencing\nĐơn vị / Unit: {} ({})\nMã thông báo / Notice: {}\n",
        delivery.body.vi.trim_end(),
        delivery.body.en.trim_end(),
        delivery.unit.name,
        delivery.unit.code,
        delivery.notification_id,
    )
}

/// The JSON body of a webhook call.
pub fn webhook_body(delivery: &Delivery) -> serde_json::Value {
    serde_json::json!({
        "delivery_id": delivery.id,
        "notification_id": delivery.notification_id,
        "event": delivery.event,
        "attempt": delivery.attempt,
        "unit": delivery.unit,
        "session_id": delivery.session_id,
        "subject": delivery.subject,
        "body": delivery.body,
        "payload": delivery.payload,
        "created_at": delivery.created_at.to_string(),
    })
}

/// Hex HMAC-SHA256 of `"<timestamp>.<body>"` with `secret`: the value of `X-Hnth-Signature`
/// after `sha256=`.
pub fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    hmac_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes())
}

fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests;
