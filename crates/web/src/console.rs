//! The MCU operator's console (R-LIVE-1..8): every session that is live or about to be, and
//! for one session the room as it is now — each endpoint's connection, server mute flags,
//! live link statistics, the speaking queue, the layout — with the controls to admit,
//! remove, mute, lay out and connect an endpoint to the host, and each "connect to host"
//! measured against the 30-second limit of the regulations (QB II.1 step 5).
//!
//! The page is rendered here; `static/console.js` keeps it live from the room's feed
//! (`/console/{id}/ws`, in [`crate::conference`]) and sends commands through the REST API,
//! so a command from the console and one from any other client are the same command, checked,
//! applied and recorded the same way.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hnth_domain::lang::Lang;
use hnth_domain::role::Permission;
use hnth_domain::session::SessionStatus;
use hnth_store::sessions::SessionFilter;
use hnth_store::Page;
use jiff::ToSpan;

use crate::error::{AppError, Path};
use crate::pages::Chrome;
use crate::sessions::time_range;
use crate::{render, AppState, Ctx, CurrentUser};

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(console_list))
        .route("/console/{id}", get(console_page))
}

/// The console's own phrases (its script carries those it writes itself).
struct Words {
    title: &'static str,
    intro: &'static str,
    none: &'static str,
    when: &'static str,
    session: &'static str,
    host: &'static str,
    endpoints: &'static str,
    open: &'static str,
    in_use: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    const VI: Words = Words {
        title: "Điều khiển hội nghị (MCU)",
        intro: "Các phiên họp đã phê duyệt đang diễn ra hoặc sắp diễn ra trong 24 giờ tới, và mọi phòng họp đang có điểm cầu kết nối (kể cả vận hành thử).",
        none: "Không có phiên họp nào đang hoặc sắp diễn ra.",
        when: "Thời gian",
        session: "Phiên họp",
        host: "Điểm cầu chủ trì",
        endpoints: "Số điểm cầu",
        open: "Điều khiển",
        in_use: "Đang kết nối",
    };
    const EN: Words = Words {
        title: "Conference control (MCU)",
        intro: "Approved sessions under way or starting in the next 24 hours, and every room with endpoints connected (rehearsals included).",
        none: "No session is under way or about to start.",
        when: "When",
        session: "Session",
        host: "Host endpoint",
        endpoints: "Endpoints",
        open: "Control",
        in_use: "In use",
    };
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

/// One line of the list.
struct LiveLine {
    id: i64,
    title: String,
    when: String,
    host: String,
    endpoints: u32,
    /// Endpoints are connected to its room now.
    in_use: bool,
}

#[derive(Template)]
#[template(path = "console_list.html")]
struct ListPage {
    chrome: Chrome,
    w: &'static Words,
    lines: Vec<LiveLine>,
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    chrome: Chrome,
    id: i64,
    title: String,
    when: String,
    host: String,
}

async fn console_list(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::LiveControl)?;
    let now = crate::now_local().datetime();
    let filter = SessionFilter {
        statuses: vec![SessionStatus::Approved],
        // Sessions overrun; rehearsals start a day ahead.
        from: Some(now.saturating_sub(3.hours())),
        to: Some(now.saturating_add(24.hours())),
        ..Default::default()
    };
    let found = state
        .store
        .list_sessions(&filter, Page::new(200, 0))
        .await?;
    let mut lines: Vec<LiveLine> = found
        .items
        .iter()
        .map(|summary| {
            let r = &summary.session.registration;
            LiveLine {
                id: summary.session.id,
                title: r.title.clone(),
                when: time_range(r.starts_at, r.ends_at),
                host: summary.session.host_endpoint_name.clone(),
                endpoints: summary.endpoint_count,
                in_use: false,
            }
        })
        .collect();
    // A room in use outside that window (a rehearsal days ahead) is live all the same.
    let in_use = state
        .conferences
        .as_ref()
        .map(|c| c.sessions_in_use())
        .unwrap_or_default();
    for id in in_use {
        match lines.iter_mut().find(|line| line.id == id) {
            Some(line) => line.in_use = true,
            None => {
                let detail = state.store.session_detail(id).await?;
                let r = &detail.session.registration;
                lines.push(LiveLine {
                    id,
                    title: r.title.clone(),
                    when: time_range(r.starts_at, r.ends_at),
                    host: detail.session.host_endpoint_name.clone(),
                    endpoints: u32::try_from(detail.endpoints.len()).unwrap_or(u32::MAX),
                    in_use: true,
                });
            }
        }
    }
    Ok(render(&ListPage {
        chrome: Chrome::new(&user, ctx.lang, "/console", "console"),
        w: words(ctx.lang),
        lines,
    }))
}

async fn console_page(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Permission::LiveControl)?;
    let session = state.store.session(id).await?;
    let r = &session.registration;
    Ok(render(&ConsolePage {
        chrome: Chrome::new(&user, ctx.lang, format!("/console/{id}"), "console"),
        id,
        title: r.title.clone(),
        when: time_range(r.starts_at, r.ends_at),
        host: session.host_endpoint_name.clone(),
    }))
}
