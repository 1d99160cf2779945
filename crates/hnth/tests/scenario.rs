//! A whole session as the regulations run it, through the real `hnth serve --demo` binary:
//! one host and ten district endpoints of the demo city, registered and approved; the
//! rehearsal proposed by the profile and held in the real media room; readiness checks with
//! one endpoint failing and being fixed; live control (a speaking request granted by the
//! host, a mute by the MCU operator); an endpoint whose client dies, the automatic incident
//! and its recovery when it rejoins; attendance and its export; closing by every endpoint.
//! Each step asserts what the readiness board, the console's feed and the exports show.
//!
//! The endpoints speak the signalling protocol with real WebRTC offers (str0m, the media
//! server's own library); media flow itself is proven by the browser tests.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::{serve, token, Api};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn offer() -> String {
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
    api.apply()
        .expect("an offer with media lines")
        .0
        .to_sdp_string()
}

/// An endpoint joined by its link: its socket and its peer number.
struct Endpoint {
    socket: Socket,
    peer: u64,
}

async fn join(base: &str, link: &str) -> Endpoint {
    let url = format!("{}{link}/ws", base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "offer", "sdp": offer() })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let answer = next_of(&mut socket, "answer").await;
    Endpoint {
        peer: answer["peer"].as_u64().unwrap(),
        socket,
    }
}

async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` within 15 s"))
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

async fn command(endpoint: &mut Endpoint, body: Value) {
    let mut message = body;
    message["type"] = json!("command");
    endpoint
        .socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

fn all_items(result: &str) -> Vec<Value> {
    [
        "power",
        "backup_power",
        "network",
        "terminal",
        "audio",
        "video",
        "lighting",
    ]
    .iter()
    .map(|item| json!({ "item": item, "result": result }))
    .collect()
}

#[tokio::test]
async fn r_prep_r_live_r_post_a_session_of_one_host_and_ten_endpoints_from_rehearsal_to_closing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, base) = serve(&data);
    let api = Api {
        client: reqwest::Client::new(),
        base: base.clone(),
    };
    let secretary = token(&data, "thuky");
    let approver = token(&data, "pheduyet");
    let operator = token(&data, "mcu");
    let administrator = token(&data, "vanhanh");

    // Registration: the city office hosts ten districts, well ahead; approved.
    let endpoints = api
        .call(&secretary, Method::GET, "/api/v1/endpoints?limit=500", None)
        .await;
    let items = endpoints["items"].as_array().unwrap();
    let host = items.iter().find(|e| e["code"] == "CT.VPUBND.P1").unwrap();
    // The nine districts, and a ward for the tenth.
    let named = |part: &str| {
        items
            .iter()
            .filter(move |e| e["name"].as_str().unwrap().contains(part))
            .collect::<Vec<_>>()
    };
    let mut members: Vec<&Value> = named("UBND quận");
    members.extend(named("UBND huyện"));
    members.extend(
        named("UBND phường")
            .into_iter()
            .take(10 - members.len().min(10)),
    );
    members.truncate(10);
    assert_eq!(members.len(), 10, "ten endpoints of the demo city");
    let calendar = hnth_domain::calendar::WorkCalendar::with_shipped();
    let day = calendar.add_working_days(hnth_web::today(), 15);
    let created = api
        .call(
            &secretary,
            Method::POST,
            "/api/v1/sessions",
            Some(json!({
                "host_unit_id": host["unit_id"],
                "host_endpoint_id": host["id"],
                "member_endpoint_ids": members.iter().map(|m| m["id"].clone()).collect::<Vec<_>>(),
                "title": "Hội nghị triển khai phương án ứng phó mùa mưa bão",
                "meeting_type": "thematic",
                "chair_name": "Nguyễn Văn An",
                "chair_title": "Chủ tịch UBND thành phố",
                "contact_name": "Trần Thị Bình",
                "contact_phone": "0292 3820 578",
                "date": format!("{:02}/{:02}/{}", day.day(), day.month(), day.year()),
                "start_time": "14:00",
                "end_time": "16:00",
                "submit": true,
            })),
        )
        .await;
    let session = created[0]["id"].as_i64().unwrap();
    api.call(
        &approver,
        Method::POST,
        &format!("/api/v1/sessions/{session}/actions"),
        Some(json!({ "action": "approve" })),
    )
    .await;
    let board_path = format!("/api/v1/sessions/{session}/readiness");

    // Rehearsal (R-PREP-1): the profile's proposal (Cần Thơ: a working day before), and
    // nobody checked in yet.
    let board = api.call(&operator, Method::GET, &board_path, None).await;
    assert_eq!(
        board["summary"], "0/11 sẵn sàng, 11 chưa kiểm tra",
        "{board:#}"
    );
    let rehearsal = board["rehearsals"][0]["id"]
        .as_i64()
        .expect("a proposed rehearsal");

    // Every endpoint joins the room by its link, as for the rehearsal.
    let links = api
        .call(
            &secretary,
            Method::GET,
            &format!("/api/v1/sessions/{session}/join-links"),
            None,
        )
        .await;
    let links = links.as_array().unwrap().clone();
    assert_eq!(links.len(), 11);
    let mut joined = Vec::new();
    for link in &links {
        joined.push((
            link.clone(),
            join(&base, link["url"].as_str().unwrap()).await,
        ));
    }
    let room = api
        .until(
            &operator,
            &format!("/api/v1/sessions/{session}/conference"),
            "all eleven in the room",
            |room| room["members"].as_array().is_some_and(|m| m.len() == 11),
        )
        .await;
    assert!(room["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["admitted"] == true));

    // Readiness (R-PREP-2, R-PREP-3): ten pass; one fails its backup power, is fixed and
    // re-tested.
    let failing = members[3]["id"].as_i64().unwrap();
    for link in &links {
        let endpoint = link["endpoint_id"].as_i64().unwrap();
        let mut items = all_items("pass");
        if endpoint == failing {
            items[1] = json!({ "item": "backup_power", "result": "fail", "note": "UPS không giữ điện, đang thay ắc quy" });
        }
        api.call(
            &administrator,
            Method::POST,
            &format!("{board_path}/{endpoint}/checks"),
            Some(json!({ "rehearsal_id": rehearsal, "items": items })),
        )
        .await;
    }
    let board = api.call(&operator, Method::GET, &board_path, None).await;
    assert_eq!(board["summary"], "10/11 sẵn sàng, 1 lỗi", "{board:#}");
    // Everyone is in the room, so nobody is missing from their place (R-PREP-6).
    assert_eq!(board["not_in_place"], json!([]), "{board:#}");
    api.call(
        &administrator,
        Method::POST,
        &format!("{board_path}/{failing}/checks"),
        Some(json!({ "rehearsal_id": rehearsal, "items": all_items("pass") })),
    )
    .await;
    let board = api.call(&operator, Method::GET, &board_path, None).await;
    assert_eq!(board["summary"], "11/11 sẵn sàng", "{board:#}");
    let fixed = board["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint_id"] == failing)
        .unwrap();
    assert_eq!(fixed["state"], "fixed");

    // Live control (R-LIVE-3): a district asks for the floor, the host (delegated control
    // rights) grants it; (R-LIVE-2) the MCU operator mutes another district.
    let host_index = joined
        .iter()
        .position(|(link, _)| link["role"] == "host")
        .unwrap();
    let (asking, muted) = (members[0]["id"].clone(), members[1]["id"].clone());
    let peer_of = |joined: &Vec<(Value, Endpoint)>, endpoint: &Value| {
        joined
            .iter()
            .find(|(link, _)| &link["endpoint_id"] == endpoint)
            .unwrap()
            .1
            .peer
    };
    let asking_peer = peer_of(&joined, &asking);
    let muted_peer = peer_of(&joined, &muted);
    let asker = joined
        .iter()
        .position(|(link, _)| link["endpoint_id"] == asking)
        .unwrap();
    command(&mut joined[asker].1, json!({ "command": "raise_hand" })).await;
    let conference = format!("/api/v1/sessions/{session}/conference");
    api.until(&operator, &conference, "the request in the queue", |room| {
        room["queue"] == json!([asking_peer])
    })
    .await;
    command(
        &mut joined[host_index].1,
        json!({ "command": "grant", "peer": asking_peer }),
    )
    .await;
    let room = api
        .until(&operator, &conference, "the floor granted", |room| {
            room["queue"] == json!([])
                && room["on_stage"]
                    .as_array()
                    .is_some_and(|s| s.contains(&json!(asking_peer)))
        })
        .await;
    let speaker = room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["peer"] == asking_peer)
        .unwrap();
    assert_eq!(
        speaker["audio_muted"], false,
        "granted the floor, its microphone is open"
    );
    api.call(
        &operator,
        Method::POST,
        &format!("{conference}/commands"),
        Some(json!({ "command": "mute_audio", "peer": muted_peer, "muted": true })),
    )
    .await;
    let commands = api
        .call(
            &operator,
            Method::GET,
            &format!("{conference}/commands"),
            None,
        )
        .await;
    let names: Vec<(String, String)> = commands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["command"].as_str().unwrap().into(),
                c["actor_name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        names
            .iter()
            .any(|(c, a)| c == "raise_hand" && a.starts_with("endpoint:")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|(c, a)| c == "grant" && a == "endpoint:CT.VPUBND.P1"),
        "{names:?}"
    );
    assert!(
        names.contains(&("mute_audio".into(), "mcu".into())),
        "{names:?}"
    );

    // R-LIVE-6: one district's client dies; the media server opens an incident for the
    // carrier, and the district's return resolves it.
    let dying = joined
        .iter()
        .position(|(link, _)| link["endpoint_id"] == members[5]["id"])
        .unwrap();
    let (dying_link, dead) = joined.remove(dying);
    drop(dead);
    let incidents_path = format!("/api/v1/sessions/{session}/incidents");
    let incidents = api
        .until(
            &operator,
            &incidents_path,
            "the automatic incident",
            |list| list.as_array().is_some_and(|l| !l.is_empty()),
        )
        .await;
    assert_eq!(incidents[0]["kind"], "lost_connection");
    assert_eq!(incidents[0]["endpoint_id"], dying_link["endpoint_id"]);
    let back = join(&base, dying_link["url"].as_str().unwrap()).await;
    joined.push((dying_link.clone(), back));
    api.until(
        &operator,
        &incidents_path,
        "the incident resolved on return",
        |list| list[0]["resolved_at"].is_string(),
    )
    .await;

    // Attendance (R-LIVE-8): everyone joined; one lost its connection once; exportable.
    let attendance = api
        .call(
            &operator,
            Method::GET,
            &format!("/api/v1/sessions/{session}/attendance"),
            None,
        )
        .await;
    let rows = attendance.as_array().unwrap();
    assert_eq!(rows.len(), 11);
    assert!(
        rows.iter().all(|r| r["first_joined"].is_string()),
        "{attendance:#}"
    );
    let lost: Vec<&Value> = rows.iter().filter(|r| r["connections_lost"] == 1).collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["endpoint_id"], dying_link["endpoint_id"]);
    let csv = api
        .text(&operator, &format!("/sessions/{session}/attendance.csv"))
        .await;
    assert_eq!(csv.lines().count(), 12, "a header and eleven endpoints");

    // The console and the board pages render for the operator.
    let console = api.text(&operator, &format!("/console/{session}")).await;
    assert!(console.contains("data-ws=\"/console/"));
    let board_page = api
        .text(&operator, &format!("/sessions/{session}/readiness"))
        .await;
    assert!(board_page.contains("11/11 sẵn sàng"));

    // Closing (R-POST-1): every endpoint confirms; the last confirmation closes the session
    // and the room ends for everyone still in it.
    for link in &links {
        api.call(
            &administrator,
            Method::POST,
            &format!("/api/v1/sessions/{session}/closing/{}", link["endpoint_id"]),
            Some(json!({ "system_checked": true, "terminals_off": true, "power_cut": true })),
        )
        .await;
    }
    let closing = api
        .call(
            &operator,
            Method::GET,
            &format!("/api/v1/sessions/{session}/closing"),
            None,
        )
        .await;
    assert_eq!(closing["closed"]["closed_by"], "system", "{closing:#}");
    assert_eq!(closing["closed"]["missing"], json!([]));
    let removed = next_of(&mut joined[0].1.socket, "removed").await;
    assert_eq!(removed["reason"], "ended");
    let auditor = token(&data, "kiemtra");
    let audit = api
        .call(&auditor, Method::GET, "/api/v1/audit?limit=500", None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|a| a["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(actions.contains(&"session.close"), "{actions:?}");
}
