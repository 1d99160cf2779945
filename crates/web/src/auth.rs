//! Logging in and out (R-SEC-2): argon2id passwords, session cookies, lock-out.
//!
//! A login creates a random 256-bit session secret; the browser gets it in an `HttpOnly`,
//! `SameSite=Strict` cookie with an expiry, the database keeps only its SHA-256. `Strict`
//! also means a cross-site form cannot ride on the cookie, which is this application's
//! protection against request forgery. After [`crate::WebConfig::max_failed_logins`] wrong
//! passwords in a row the account locks for a while; the lock is in the audit trail.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use hnth_domain::lang::Lang;
use hnth_store::accounts::{new_secret, secret_digest, FailureOutcome, User};
use serde::Deserialize;

use crate::error::{AppError, Form, Query};
use crate::i18n::{texts, Texts};
use crate::{format_instant, AppState, Ctx, LANG_COOKIE, SESSION_COOKIE};

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Verified against when the username is unknown, so that the answer takes as long as for a
/// known one and does not reveal which usernames exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not a real password").unwrap_or_default());

/// The result of a login attempt.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in.
    Success(User),
    /// Wrong username or password.
    Failed {
        /// Attempts left before a lock, when the username exists.
        remaining: Option<u32>,
    },
    /// The account is locked until then.
    Locked(jiff::Timestamp),
    /// The account is disabled.
    Inactive,
}

/// Checks a username and password, counting failures.
pub async fn attempt_login(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<LoginOutcome, AppError> {
    let found = state.store.user_for_login(username).await?;
    let (hash, user) = match found {
        Some((user, hash)) => (hash, Some(user)),
        None => (DUMMY_HASH.clone(), None),
    };
    let password = password.to_string();
    // argon2 is deliberately slow: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|_| AppError::Internal)?;
    let Some(user) = user else {
        return Ok(LoginOutcome::Failed { remaining: None });
    };
    if let Some(until) = user
        .locked_until
        .filter(|until| *until > jiff::Timestamp::now())
    {
        return Ok(LoginOutcome::Locked(until));
    }
    if !user.active {
        return Ok(LoginOutcome::Inactive);
    }
    if matches {
        state.store.record_login_success(&user).await?;
        return Ok(LoginOutcome::Success(user));
    }
    let lock_for = jiff::SignedDuration::from_mins(i64::from(state.config.lockout_minutes));
    Ok(
        match state
            .store
            .record_login_failure(&user, state.config.max_failed_logins, lock_for)
            .await?
        {
            FailureOutcome::Counted { remaining } => LoginOutcome::Failed {
                remaining: Some(remaining),
            },
            FailureOutcome::Locked(until) => LoginOutcome::Locked(until),
        },
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: &'static Texts,
    lang: Lang,
    next: String,
    username: String,
    error: Option<String>,
}

/// `?next=` of the login page.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

/// Only local paths are followed after login, never another site.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// `GET /login`.
pub async fn login_page(ctx: Ctx, Query(query): Query<NextQuery>) -> Response {
    if ctx.user.is_some() {
        return Redirect::to(&safe_next(&query.next)).into_response();
    }
    crate::render(&LoginPage {
        t: texts(ctx.lang),
        lang: ctx.lang,
        next: query.next,
        username: String::new(),
        error: None,
    })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`.
pub async fn login_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let t = texts(ctx.lang);
    let error = match attempt_login(&state, &form.username, &form.password).await? {
        LoginOutcome::Success(user) => {
            let secret = new_secret("");
            let expires = jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_hours(i64::from(
                    state.config.session_hours,
                )))
                .map_err(|_| AppError::Internal)?;
            state
                .store
                .create_web_session(user.id, &secret_digest(&secret), expires)
                .await?;
            let cookie = Cookie::build((SESSION_COOKIE, secret))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.config.secure_cookies)
                .max_age(time::Duration::hours(i64::from(state.config.session_hours)))
                .build();
            return Ok((jar.add(cookie), Redirect::to(&safe_next(&form.next))).into_response());
        }
        LoginOutcome::Failed { remaining } => {
            let mut message = t.login_failed.to_string();
            if let Some(n) = remaining.filter(|n| *n <= 3) {
                message.push(' ');
                message.push_str(&t.login_remaining.replace("{n}", &n.to_string()));
            }
            message
        }
        LoginOutcome::Locked(until) => t.login_locked.replace("{until}", &format_instant(until)),
        LoginOutcome::Inactive => t.login_inactive.to_string(),
    };
    let page = LoginPage {
        t,
        lang: ctx.lang,
        next: form.next,
        username: form.username,
        error: Some(error),
    };
    let mut response = crate::render(&page);
    *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    Ok(response)
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Result<Response, AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state
            .store
            .delete_web_session(&secret_digest(cookie.value()))
            .await?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response())
}

/// The language switch.
#[derive(Debug, Deserialize)]
pub struct LangForm {
    lang: String,
    #[serde(default)]
    next: String,
}

/// `POST /lang`: stored on the account when logged in, in a cookie otherwise.
pub async fn set_lang(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<LangForm>,
) -> Result<Response, AppError> {
    let lang = Lang::parse(&form.lang).ok_or_else(|| {
        AppError::BadRequest(hnth_domain::lang::Text::new(
            "Ngôn ngữ không được hỗ trợ (vi, en).",
            "Unsupported language (vi, en).",
        ))
    })?;
    if let Some(user) = &ctx.user {
        state.store.set_user_lang(user.user.id, lang).await?;
    }
    let cookie = Cookie::build((LANG_COOKIE, lang.as_str()))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(365))
        .build();
    Ok((jar.add(cookie), Redirect::to(&safe_next(&form.next))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_sec_2_passwords_are_argon2id_and_verify() {
        let hash = hash_password("mật khẩu dài").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "mật khẩu dài"));
        assert!(!verify_password(&hash, "mat khau dai"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn only_local_redirects_after_login() {
        assert_eq!(safe_next("/units/3"), "/units/3");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
