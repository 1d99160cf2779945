//! The session log through the real server and media server: a presence per join, an
//! automatic "lost connection" incident when an endpoint drops without hanging up and its
//! resolution when it comes back (R-LIVE-6, R-LIVE-8); incidents reported and resolved by
//! people, with their permissions; the attendance export.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::conference::{approved_session, connect, next_of, offer, send};
use crate::sessions::{json_of, province, Province};

async fn get(p: &Province, who: &str, path: &str) -> Value {
    json_of(
        p.call(who, Method::GET, path).send().await.unwrap(),
        StatusCode::OK,
    )
    .await
}

/// Polls the session's incidents until `ready` holds, for at most 10 seconds.
async fn incidents_where(p: &Province, id: i64, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let incidents = get(p, "thuky", &format!("/api/v1/sessions/{id}/incidents")).await;
        let incidents = incidents.as_array().unwrap().clone();
        if ready(&incidents) {
            return incidents;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the incidents never reached the expected state");
}

#[tokio::test]
async fn r_live_6_8_a_dropped_endpoint_opens_an_incident_and_its_return_resolves_it() {
    let p = province("can-tho").await;
    let id = approved_session(&p).await;
    let links = get(&p, "thuky", &format!("/api/v1/sessions/{id}/join-links")).await;
    let member_link = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["role"] == "member")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();

    // The member joins, then its device dies: the socket ends without a close frame.
    let mut member = connect(&p, &format!("{member_link}/ws"), None).await;
    send(&mut member, json!({ "type": "offer", "sdp": offer() })).await;
    next_of(&mut member, "answer").await;
    next_of(&mut member, "state").await;
    drop(member);
    let incidents = incidents_where(&p, id, |list| !list.is_empty()).await;
    let lost = &incidents[0];
    assert_eq!(lost["kind"], "lost_connection");
    assert_eq!(lost["automatic"], true);
    assert_eq!(lost["handler"], "carrier");
    assert_eq!(lost["endpoint_id"], p.endpoints["HUYEN"]);
    assert!(lost["resolved_at"].is_null());
    assert!(lost["description"]
        .as_str()
        .unwrap()
        .contains("mất kết nối"));
    // The host unit is told (R-LIVE-6).
    let inbox = get(&p, "thuky", "/api/v1/notifications").await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "incident.opened"),
        "{inbox:#}"
    );

    // It comes back: the incident is resolved by the media server.
    let mut member = connect(&p, &format!("{member_link}/ws"), None).await;
    send(&mut member, json!({ "type": "offer", "sdp": offer() })).await;
    next_of(&mut member, "answer").await;
    let incidents = incidents_where(&p, id, |list| list[0]["resolved_at"].is_string()).await;
    assert!(incidents[0]["resolution"]
        .as_str()
        .unwrap()
        .contains("kết nối lại"));

    // Hanging up properly is not an incident.
    member.close(None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let incidents = get(&p, "thuky", &format!("/api/v1/sessions/{id}/incidents")).await;
    assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents:#}");

    // Attendance: two presences, one lost connection; the session is weeks away.
    let attendance = get(&p, "thuky", &format!("/api/v1/sessions/{id}/attendance")).await;
    let row = attendance
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["endpoint_id"] == p.endpoints["HUYEN"])
        .unwrap();
    assert_eq!(row["connections_lost"], 1, "{row:#}");
    assert!(row["first_joined"].is_string());
    assert!(row["last_left"].is_string());
    let host = attendance
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "host")
        .unwrap();
    assert_eq!(host["verdict"], "not_yet");

    // The export carries the same, with a header a spreadsheet reads.
    let csv = p
        .call(
            "thuky",
            Method::GET,
            &format!("/sessions/{id}/attendance.csv"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("Phòng họp huyện Một"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "a header and two endpoints: {csv}");
}

#[tokio::test]
async fn r_live_6_people_report_and_resolve_incidents_within_their_rights() {
    let p = province("can-tho").await;
    let id = approved_session(&p).await;
    let path = format!("/api/v1/sessions/{id}/incidents");

    // The district's operator reports its own endpoint's power failure; the power company
    // handles power by default.
    let reported = p
        .call("diemcau", Method::POST, &path)
        .json(&json!({ "endpoint_id": p.endpoints["HUYEN"], "kind": "power",
                       "description": "Mất điện lưới, đang chuyển sang máy phát", "estimated_fix": "09:40" }))
        .send()
        .await
        .unwrap();
    let reported = json_of(reported, StatusCode::CREATED).await;
    assert_eq!(reported["handler"], "power_company");
    assert_eq!(reported["automatic"], false);
    assert_eq!(reported["reported_by"], "diemcau");
    assert!(reported["estimated_fix_at"].is_string());
    let incident = reported["id"].as_i64().unwrap();

    // Not for another district's endpoint, nor for a carrier's liaison.
    let other = p
        .call("diemcau2", Method::POST, &path)
        .json(&json!({ "endpoint_id": p.endpoints["HUYEN"], "kind": "poor_audio" }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let bad = p
        .call("diemcau", Method::POST, &path)
        .json(&json!({ "endpoint_id": p.endpoints["HUYEN"], "kind": "meteor", "estimated_fix": "9h" }))
        .send()
        .await
        .unwrap();
    let bad = json_of(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = bad["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"kind"), "{bad:#}");

    // Resolving needs the words of how; the MCU operator resolves it.
    let resolve = format!("/api/v1/incidents/{incident}/resolve");
    let empty = p
        .call("mcu", Method::POST, &resolve)
        .json(&json!({ "resolution": " " }))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resolved = p
        .call("mcu", Method::POST, &resolve)
        .json(&json!({ "resolution": "Đã có điện từ máy phát dự phòng" }))
        .send()
        .await
        .unwrap();
    let resolved = json_of(resolved, StatusCode::OK).await;
    assert_eq!(resolved["resolved_by"], "mcu");
    let again = p
        .call("mcu", Method::POST, &resolve)
        .json(&json!({ "resolution": "lần nữa" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The log page shows it, resolved, to the host.
    let page = p
        .call("thuky", Method::GET, &format!("/sessions/{id}/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Mất điện lưới"), "the incident is listed");
    assert!(page.contains("Đã có điện từ máy phát dự phòng"));
    assert!(page.contains("id=\"attendance-list\""));
}

#[tokio::test]
async fn r_post_1_the_session_closes_when_every_endpoint_confirms_or_by_the_operator() {
    let p = province("can-tho").await;
    let id = approved_session(&p).await;
    let (host, member) = (p.endpoints["UB"], p.endpoints["HUYEN"]);
    let confirm = |who: &'static str, endpoint: i64, body: Value| {
        p.call(
            who,
            Method::POST,
            &format!("/api/v1/sessions/{id}/closing/{endpoint}"),
        )
        .json(&body)
        .send()
    };
    let all_done = json!({ "system_checked": true, "terminals_off": true, "power_cut": true });

    // An item left undone needs a reason; another district cannot confirm for this one.
    let partial = confirm("diemcau", member, json!({ "system_checked": true }))
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let other = confirm("diemcau2", member, all_done.clone()).await.unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);

    // The member confirms; the host has not yet, so the session stays open.
    let first = json_of(
        confirm("diemcau", member, all_done.clone()).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(first["closed"].is_null(), "{first:#}");
    // The host's secretary confirms the host endpoint: every endpoint has, so it closes.
    let last = json_of(
        confirm("thuky", host, all_done.clone()).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(last["closed"]["missing"], json!([]), "{last:#}");
    let closing = get(&p, "thuky", &format!("/api/v1/sessions/{id}/closing")).await;
    assert!(closing["closed"].is_object());
    assert!(closing["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["complete"] == true));
    let late = confirm("diemcau", member, all_done.clone()).await.unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);

    // Another session: the operator closes it with the host's checklist missing.
    let calendar = hnth_domain::calendar::WorkCalendar::with_shipped();
    let second = crate::sessions::register_approved(
        &p,
        crate::sessions::body(
            &p,
            "UB",
            &["HUYEN2"],
            crate::sessions::far_working_day(&calendar, 4),
            60,
        ),
    )
    .await;
    let by_endpoint = p
        .call(
            "diemcau2",
            Method::POST,
            &format!("/api/v1/sessions/{second}/close"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_endpoint.status(), StatusCode::FORBIDDEN);
    json_of(
        p.call(
            "diemcau2",
            Method::POST,
            &format!(
                "/api/v1/sessions/{second}/closing/{}",
                p.endpoints["HUYEN2"]
            ),
        )
        .json(&all_done)
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let closed = p
        .call(
            "mcu",
            Method::POST,
            &format!("/api/v1/sessions/{second}/close"),
        )
        .send()
        .await
        .unwrap();
    let closed = json_of(closed, StatusCode::OK).await;
    assert_eq!(closed["closed_by"], "mcu");
    assert_eq!(closed["missing"], json!([host]));
    let page = p
        .call("mcu", Method::GET, &format!("/sessions/{second}/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"closed\""));
    assert!(
        page.contains("Phòng họp UBND tỉnh"),
        "the missing host endpoint is named"
    );
    let again = p
        .call(
            "mcu",
            Method::POST,
            &format!("/api/v1/sessions/{second}/close"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
}
