//! The conference's signalling and control through the real server and its media server:
//! join links and who gets them, the WebSocket protocol with a real WebRTC offer (answer,
//! state with the endpoint's own slots), the lobby for an endpoint the session did not book
//! and its admission by the MCU operator (R-REG-7), endpoints without control rights
//! (R-LIVE-4, R-LIVE-7), and every command recorded with its author (R-SEC-5).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hnth_domain::calendar::WorkCalendar;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::sessions::{body, far_working_day, json_of, province, register_approved, Province};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An approved session hosted by UB with HUYEN as its only member.
pub(crate) async fn approved_session(p: &Province) -> i64 {
    let calendar = WorkCalendar::with_shipped();
    register_approved(
        p,
        body(p, "UB", &["HUYEN"], far_working_day(&calendar, 1), 60),
    )
    .await
}

/// An offer shaped as the protocol asks: microphone, camera, content, 4 audio and 9 video
/// receive slots.
pub(crate) fn offer() -> String {
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    for _ in 0..4 {
        api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    }
    for _ in 0..9 {
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    }
    let (offer, _pending) = api.apply().expect("an offer with media lines");
    offer.to_sdp_string()
}

pub(crate) async fn connect(p: &Province, path: &str, token: Option<&str>) -> Socket {
    let url = format!("{}{path}", p.address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", p.tokens[token]).parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message whose `type` is `kind`, skipping others, within 10 seconds.
pub(crate) async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` message within 10 s"))
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = frame {
            let message: Value = serde_json::from_str(&text).unwrap();
            if message["type"] == kind {
                return message;
            }
        }
    }
}

/// The next `state` in which `ready` holds.
pub(crate) async fn state_where(socket: &mut Socket, ready: impl Fn(&Value) -> bool) -> Value {
    loop {
        let state = next_of(socket, "state").await["state"].clone();
        if ready(&state) {
            return state;
        }
    }
}

#[tokio::test]
async fn r_reg_7_an_endpoint_joins_by_link_and_an_unbooked_one_waits_until_admitted() {
    let p = province("can-tho").await;
    let id = approved_session(&p).await;

    // Join links: the host's secretary gets one per booked endpoint; an endpoint operator
    // gets none.
    let links = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/join-links"),
        )
        .send()
        .await
        .unwrap();
    let links = json_of(links, StatusCode::OK).await;
    assert_eq!(links.as_array().unwrap().len(), 2, "{links:#}");
    let again = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/join-links"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(again, StatusCode::OK).await,
        links,
        "a link, once given, stays the same"
    );
    let refused = p
        .call(
            "diemcau",
            Method::GET,
            &format!("/api/v1/sessions/{id}/join-links"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let link = |role: &str| {
        links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["role"] == role)
            .unwrap()["url"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // The booked member joins by its link: an answer, then the state with its own slots.
    let mut member = connect(&p, &format!("{}/ws", link("member")), None).await;
    send(&mut member, json!({ "type": "offer", "sdp": offer() })).await;
    let answer = next_of(&mut member, "answer").await;
    assert!(answer["sdp"].as_str().unwrap().starts_with("v=0"));
    let member_peer = answer["peer"].as_u64().unwrap();
    let state = state_where(&mut member, |s| {
        !s["members"].as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(state["you"]["peer"], member_peer);
    assert_eq!(state["you"]["admitted"], true);
    assert_eq!(state["you"]["can_control"], false);
    let me = &state["members"][0];
    assert_eq!(me["endpoint_name"], "Phòng họp huyện Một");
    assert_eq!(me["unit_name"], "Ủy ban nhân dân huyện Một");
    assert_eq!(me["role"], "member");
    assert_eq!(me["audio_muted"], true, "members join muted");

    // Without control rights it may ask for the floor, not route media (R-LIVE-4, R-LIVE-7).
    send(
        &mut member,
        json!({ "type": "command", "command": "raise_hand" }),
    )
    .await;
    let state = state_where(&mut member, |s| !s["queue"].as_array().unwrap().is_empty()).await;
    assert_eq!(state["queue"], json!([member_peer]));
    send(
        &mut member,
        json!({ "type": "command", "command": "mute_audio", "muted": false }),
    )
    .await;
    let error = next_of(&mut member, "error").await;
    assert!(
        error["message"].as_str().unwrap().contains("MCU"),
        "{error}"
    );

    // An endpoint the session did not book (district Two's operator) waits in the lobby.
    let mut outsider = connect(
        &p,
        &format!("/conference/{id}/ws?endpoint={}", p.endpoints["HUYEN2"]),
        Some("diemcau2"),
    )
    .await;
    send(&mut outsider, json!({ "type": "offer", "sdp": offer() })).await;
    let outsider_peer = next_of(&mut outsider, "answer").await["peer"]
        .as_u64()
        .unwrap();
    next_of(&mut outsider, "lobby").await;
    let state = state_where(&mut outsider, |s| s["you"]["peer"] == outsider_peer).await;
    assert_eq!(state["you"]["admitted"], false);

    // Only the MCU operator admits from the console; the secretary cannot.
    let by_secretary = p
        .call(
            "thuky",
            Method::POST,
            &format!("/api/v1/sessions/{id}/conference/commands"),
        )
        .json(&json!({ "command": "admit", "peer": outsider_peer }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_secretary.status(), StatusCode::FORBIDDEN);
    let admitted = p
        .call(
            "mcu",
            Method::POST,
            &format!("/api/v1/sessions/{id}/conference/commands"),
        )
        .json(&json!({ "command": "admit", "peer": outsider_peer }))
        .send()
        .await
        .unwrap();
    json_of(admitted, StatusCode::OK).await;
    let state = state_where(&mut outsider, |s| s["you"]["admitted"] == true).await;
    assert_eq!(state["members"].as_array().unwrap().len(), 2);

    // The operator's view of the room, and the commands with their authors.
    let room = p
        .call(
            "mcu",
            Method::GET,
            &format!("/api/v1/sessions/{id}/conference"),
        )
        .send()
        .await
        .unwrap();
    let room = json_of(room, StatusCode::OK).await;
    assert_eq!(room["open"], true);
    assert_eq!(room["members"].as_array().unwrap().len(), 2);
    let commands = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/conference/commands"),
        )
        .send()
        .await
        .unwrap();
    let commands = json_of(commands, StatusCode::OK).await;
    let names: Vec<(&str, &str)> = commands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["command"].as_str().unwrap(),
                c["actor_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        names
            .iter()
            .any(|(c, a)| *c == "raise_hand" && a.starts_with("endpoint:")),
        "{names:?}"
    );
    assert!(names.contains(&("admit", "mcu")), "{names:?}");
    assert!(
        !names.iter().any(|(c, _)| *c == "mute_audio"),
        "a refused command is not recorded: {names:?}"
    );

    // Leaving takes the endpoint out of the room.
    member.close(None).await.unwrap();
    let state = state_where(&mut outsider, |s| {
        s["members"].as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(state["members"][0]["peer"], outsider_peer);
}

#[tokio::test]
async fn r_reg_7_only_approved_sessions_can_be_joined() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    let draft = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&body(
            &p,
            "UB",
            &["HUYEN"],
            far_working_day(&calendar, 3),
            60,
        ))
        .send()
        .await
        .unwrap();
    let id = json_of(draft, StatusCode::CREATED).await[0]["id"]
        .as_i64()
        .unwrap();
    let links = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/join-links"),
        )
        .send()
        .await
        .unwrap();
    let refused = json_of(links, StatusCode::CONFLICT).await;
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("đã phê duyệt"));
    let page = p
        .call(
            "diemcau",
            Method::GET,
            &format!("/conference/{id}?endpoint={}", p.endpoints["HUYEN"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::CONFLICT);
    let unknown = p
        .client
        .get(format!("{}/join/jnot-a-link", p.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
