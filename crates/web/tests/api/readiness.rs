//! Preparation of a session through the real server (R-PREP-1 … R-PREP-6): the profile's
//! rehearsal schedule proposed on approval and edited by the host, a failed rehearsal set
//! again with every invitee told, readiness checks by each endpoint's operator with the
//! board following them (failed → fixed and re-tested), technicians on duty, who may do what,
//! and a postponed session's untouched proposal counted again from the new start.

use hnth_domain::calendar::WorkCalendar;
use hnth_domain::session::checks::deadline;
use jiff::civil::DateTime;
use jiff::ToSpan;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::sessions::{body, far_working_day, json_of, province, register_approved, Province};

async fn get(p: &Province, who: &str, path: &str) -> reqwest::Response {
    p.call(who, Method::GET, path).send().await.unwrap()
}

async fn send(
    p: &Province,
    who: &str,
    method: Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    p.call(who, method, path).json(&body).send().await.unwrap()
}

fn typed(at: DateTime) -> String {
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        at.day(),
        at.month(),
        at.year(),
        at.hour(),
        at.minute()
    )
}

/// The notifications of `who` with `event`.
async fn notices(p: &Province, who: &str, event: &str) -> Vec<Value> {
    let inbox = json_of(get(p, who, "/api/v1/notifications").await, StatusCode::OK).await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == event)
        .cloned()
        .collect()
}

async fn audit_actions(p: &Province) -> Vec<String> {
    let audit = json_of(
        get(p, "kiemtra", "/api/v1/audit?limit=500").await,
        StatusCode::OK,
    )
    .await;
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn r_prep_1_thanh_hoa_proposes_one_day_and_one_hour_before_and_the_host_edits_it() {
    let p = province("thanh-hoa").await;
    let calendar = WorkCalendar::with_shipped();
    let start = far_working_day(&calendar, 0);

    // A draft is not prepared: nothing proposed, nothing may be added.
    let mut draft = body(&p, "UB", &["HUYEN"], start.saturating_add(3.days()), 60);
    draft["submit"] = json!(false);
    let created = send(&p, "thuky", Method::POST, "/api/v1/sessions", draft).await;
    let draft_id = json_of(created, StatusCode::CREATED).await[0]["id"]
        .as_i64()
        .unwrap();
    let none = get(
        &p,
        "thuky",
        &format!("/api/v1/sessions/{draft_id}/rehearsals"),
    )
    .await;
    assert_eq!(json_of(none, StatusCode::OK).await, json!([]));
    let refused = send(
        &p,
        "thuky",
        Method::POST,
        &format!("/api/v1/sessions/{draft_id}/rehearsals"),
        json!({ "at": typed(start) }),
    )
    .await;
    let refused = json_of(refused, StatusCode::CONFLICT).await;
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("phê duyệt"));

    let id = register_approved(&p, body(&p, "UB", &["HUYEN"], start, 90)).await;
    let path = format!("/api/v1/sessions/{id}/rehearsals");
    let proposed = json_of(get(&p, "diemcau", &path).await, StatusCode::OK).await;
    let proposed = proposed.as_array().unwrap().clone();
    assert_eq!(proposed.len(), 2, "{proposed:#?}");
    assert_eq!(
        proposed[0]["at"],
        start.saturating_sub(1.days()).to_string()
    );
    assert_eq!(
        proposed[1]["at"],
        start.saturating_sub(1.hours()).to_string()
    );
    assert!(proposed[0]["source"]
        .as_str()
        .unwrap()
        .starts_with("TH art. 9.2"));
    assert_eq!(proposed[0]["status"], "planned");
    // Proposed once: a second look returns the same rehearsals.
    let again = json_of(get(&p, "thuky", &path).await, StatusCode::OK).await;
    assert_eq!(again.as_array().unwrap().len(), 2);
    assert_eq!(again[0]["id"], proposed[0]["id"]);

    // The host moves the hour-before run; the invited district is told.
    let hour_before = proposed[1]["id"].as_i64().unwrap();
    let new_time = start.saturating_sub(90.minutes());
    let moved = send(
        &p,
        "thuky",
        Method::PUT,
        &format!("{path}/{hour_before}"),
        json!({ "at": typed(new_time), "reason": "Lãnh đạo đổi lịch" }),
    )
    .await;
    let moved = json_of(moved, StatusCode::OK).await;
    assert_eq!(moved["at"], new_time.to_string());
    assert_eq!(moved["source"], "host");
    let told = notices(&p, "diemcau", "rehearsal.moved").await;
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(told[0]["body"]
        .as_str()
        .unwrap()
        .contains("Lãnh đạo đổi lịch"));

    // A time after the start is refused with what to do.
    let late = send(
        &p,
        "thuky",
        Method::POST,
        &path,
        json!({ "at": typed(start.saturating_add(10.minutes())) }),
    )
    .await;
    let late = json_of(late, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(late["error"]["fields"][0]["code"], "rehearsal_time");
    assert!(late["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("chọn giờ sớm hơn"));

    // Only the host unit's registrars set rehearsals.
    let by_invitee = send(
        &p,
        "diemcau",
        Method::POST,
        &path,
        json!({ "at": typed(new_time) }),
    )
    .await;
    assert_eq!(by_invitee.status(), StatusCode::FORBIDDEN);
    let by_mcu = send(
        &p,
        "mcu",
        Method::POST,
        &path,
        json!({ "at": typed(new_time) }),
    )
    .await;
    assert_eq!(by_mcu.status(), StatusCode::FORBIDDEN);
    let added = send(
        &p,
        "thuky",
        Method::POST,
        &path,
        json!({ "at": typed(start.saturating_sub(2.days())) }),
    )
    .await;
    json_of(added, StatusCode::CREATED).await;
    assert_eq!(
        json_of(get(&p, "thuky", &path).await, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Once the host has edited the schedule, moving the session leaves it to the host.
    let before = json_of(get(&p, "thuky", &path).await, StatusCode::OK).await;
    let detail = json_of(
        get(&p, "thuky", &format!("/api/v1/sessions/{id}")).await,
        StatusCode::OK,
    )
    .await;
    let mut later = body(&p, "UB", &["HUYEN"], start.saturating_add(1.days()), 90);
    later["version"] = detail["version"].clone();
    later["reason"] = json!("Hoãn một ngày");
    let moved = send(
        &p,
        "thuky",
        Method::PUT,
        &format!("/api/v1/sessions/{id}"),
        later,
    )
    .await;
    json_of(moved, StatusCode::OK).await;
    let after = json_of(get(&p, "thuky", &path).await, StatusCode::OK).await;
    assert_eq!(after, before);

    let actions = audit_actions(&p).await;
    for action in [
        "session.rehearsals.proposed",
        "session.rehearsal.move",
        "session.rehearsal.add",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn r_prep_5_a_failed_rehearsal_gets_a_new_time_and_every_invitee_is_told() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    let start = far_working_day(&calendar, 1);
    let id = register_approved(&p, body(&p, "UB", &["HUYEN", "HUYEN2"], start, 60)).await;
    let path = format!("/api/v1/sessions/{id}/rehearsals");
    let proposed = json_of(get(&p, "thuky", &path).await, StatusCode::OK).await;
    // CT: one working day before (CT art. 8.2).
    assert_eq!(proposed.as_array().unwrap().len(), 1);
    assert_eq!(
        proposed[0]["at"],
        deadline(p.policy.policy.rehearsals.value[0], start, &calendar).to_string()
    );

    // The session is postponed by a working day before anyone touched the proposal: the
    // proposal is counted again from the new start.
    let start = calendar
        .add_working_days(start.date(), 1)
        .to_datetime(start.time());
    let detail = json_of(
        get(&p, "thuky", &format!("/api/v1/sessions/{id}")).await,
        StatusCode::OK,
    )
    .await;
    let mut later = body(&p, "UB", &["HUYEN", "HUYEN2"], start, 60);
    later["version"] = detail["version"].clone();
    later["reason"] = json!("Lãnh đạo bận họp đột xuất");
    let moved = send(
        &p,
        "thuky",
        Method::PUT,
        &format!("/api/v1/sessions/{id}"),
        later,
    )
    .await;
    json_of(moved, StatusCode::OK).await;
    let proposed = json_of(get(&p, "thuky", &path).await, StatusCode::OK).await;
    assert_eq!(proposed.as_array().unwrap().len(), 1);
    assert_eq!(
        proposed[0]["at"],
        deadline(p.policy.policy.rehearsals.value[0], start, &calendar).to_string()
    );

    let failed = proposed[0]["id"].as_i64().unwrap();
    let new_time = start.saturating_sub(3.hours());

    // Setting it again needs the reason the invitees will read.
    let no_reason = send(
        &p,
        "thuky",
        Method::POST,
        &format!("{path}/{failed}/reschedule"),
        json!({ "at": typed(new_time) }),
    )
    .await;
    let no_reason = json_of(no_reason, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(no_reason["error"]["fields"][0]["field"], "reason");

    let reason = "Mất tín hiệu hình tại huyện Hai";
    let replaced = send(
        &p,
        "thuky",
        Method::POST,
        &format!("{path}/{failed}/reschedule"),
        json!({ "at": typed(new_time), "reason": reason }),
    )
    .await;
    let replaced = json_of(replaced, StatusCode::CREATED).await;
    assert_eq!(replaced["replaces_id"], failed);
    assert_eq!(replaced["at"], new_time.to_string());
    let list = json_of(get(&p, "thuky", &path).await, StatusCode::OK).await;
    let old = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == failed)
        .unwrap();
    assert_eq!(old["status"], "failed");
    assert_eq!(old["note"], reason);

    // Every invited unit is told, with the reason and what to do.
    for who in ["diemcau", "diemcau2"] {
        let told = notices(&p, who, "rehearsal.rescheduled").await;
        assert_eq!(told.len(), 1, "{who}: {told:#?}");
        let text = told[0]["body"].as_str().unwrap();
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("kiểm tra lại"), "{text}");
    }

    // A failed rehearsal is not set again twice.
    let twice = send(
        &p,
        "thuky",
        Method::POST,
        &format!("{path}/{failed}/reschedule"),
        json!({ "at": typed(new_time), "reason": reason }),
    )
    .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    let actions = audit_actions(&p).await;
    for action in ["session.rehearsals.reproposed", "session.rehearsal.failed"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
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

fn line(board: &Value, endpoint: i64) -> &Value {
    board["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint_id"] == endpoint)
        .unwrap()
}

#[tokio::test]
async fn r_prep_2_operators_check_their_endpoints_and_the_board_follows_failed_fixed_retested() {
    let p = province("ha-noi").await;
    let calendar = WorkCalendar::with_shipped();
    let start = far_working_day(&calendar, 2);
    let id = register_approved(&p, body(&p, "UB", &["HUYEN", "HUYEN2"], start, 60)).await;
    let board_path = format!("/api/v1/sessions/{id}/readiness");
    let huyen = p.endpoints["HUYEN"];
    let huyen2 = p.endpoints["HUYEN2"];
    let checks = |endpoint: i64| format!("{board_path}/{endpoint}/checks");

    // Nobody checked in; nobody joined, so no link is measured and nobody is in place.
    let board = json_of(get(&p, "mcu", &board_path).await, StatusCode::OK).await;
    assert_eq!(board["summary"], "0/3 sẵn sàng, 3 chưa kiểm tra");
    assert_eq!(line(&board, huyen)["state"], "not_checked_in");
    assert_eq!(line(&board, huyen)["link_grade"], "not_measured");
    assert_eq!(line(&board, huyen)["in_place"], false);
    assert_eq!(board["not_in_place"].as_array().unwrap().len(), 3);
    // HN: technical check 2 h before; participants in place 10 min before (default).
    let rehearsal = board["rehearsals"][0]["id"].as_i64().unwrap();
    assert_eq!(
        board["rehearsals"][0]["at"],
        start.saturating_sub(2.hours()).to_string()
    );
    let in_place = board["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "in_place")
        .unwrap();
    assert_eq!(
        in_place["at"],
        start.saturating_sub(10.minutes()).to_string()
    );
    assert!(in_place["countdown"].as_str().unwrap().starts_with("còn"));

    // A failed item needs a note saying what is wrong.
    let mut items = all_items("pass");
    items[1] = json!({ "item": "backup_power", "result": "fail" });
    let no_note = send(
        &p,
        "diemcau",
        Method::POST,
        &checks(huyen),
        json!({ "rehearsal_id": rehearsal, "items": items }),
    )
    .await;
    let no_note = json_of(no_note, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(no_note["error"]["fields"][0]["code"], "note_required");

    items[1] = json!({ "item": "backup_power", "result": "fail", "note": "UPS hỏng, đang thay" });
    let failed = send(
        &p,
        "diemcau",
        Method::POST,
        &checks(huyen),
        json!({ "rehearsal_id": rehearsal, "items": items }),
    )
    .await;
    let failed = json_of(failed, StatusCode::CREATED).await;
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["link_grade"], "not_measured");
    assert_eq!(failed["items"].as_array().unwrap().len(), 7);
    // The host is told which endpoint failed and why.
    let told = notices(&p, "thuky", "readiness.failed").await;
    assert_eq!(told.len(), 1);
    assert!(told[0]["body"].as_str().unwrap().contains("UPS hỏng"));

    // The second district starts: a partial check is "checking".
    let partial = send(
        &p,
        "diemcau2",
        Method::POST,
        &checks(huyen2),
        json!({ "items": [{ "item": "power", "result": "pass" }, { "item": "audio", "result": "" }] }),
    )
    .await;
    assert_eq!(
        json_of(partial, StatusCode::CREATED).await["outcome"],
        "in_progress"
    );

    let board = json_of(get(&p, "thuky", &board_path).await, StatusCode::OK).await;
    assert_eq!(line(&board, huyen)["state"], "failed");
    assert_eq!(line(&board, huyen2)["state"], "checking");
    assert_eq!(
        board["summary"],
        "0/3 sẵn sàng, 1 lỗi, 1 đang kiểm tra, 1 chưa kiểm tra"
    );

    // Fixed and re-tested: its own state, counted as ready.
    let retest = send(
        &p,
        "diemcau",
        Method::POST,
        &checks(huyen),
        json!({ "rehearsal_id": rehearsal, "items": all_items("pass") }),
    )
    .await;
    assert_eq!(
        json_of(retest, StatusCode::CREATED).await["outcome"],
        "passed"
    );
    let board = json_of(get(&p, "diemcau", &board_path).await, StatusCode::OK).await;
    assert_eq!(line(&board, huyen)["state"], "fixed");
    assert_eq!(line(&board, huyen)["last_check"]["outcome"], "passed");
    assert_eq!(board["ready"], 1);
    assert_eq!(
        board["summary"],
        "1/3 sẵn sàng, 1 đang kiểm tra, 1 chưa kiểm tra"
    );

    // Each operator checks only its own endpoint; the MCU operator sees, does not enter.
    let other = send(
        &p,
        "diemcau",
        Method::POST,
        &checks(huyen2),
        json!({ "items": all_items("pass") }),
    )
    .await;
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let by_mcu = send(
        &p,
        "mcu",
        Method::POST,
        &checks(huyen),
        json!({ "items": all_items("pass") }),
    )
    .await;
    assert_eq!(by_mcu.status(), StatusCode::FORBIDDEN);
    let not_booked = send(
        &p,
        "thuky",
        Method::POST,
        &checks(p.endpoints["TU"]),
        json!({ "items": all_items("pass") }),
    )
    .await;
    assert_eq!(not_booked.status(), StatusCode::NOT_FOUND);
    // A carrier outside the session does not read the board.
    assert_eq!(
        get(&p, "vnpt", &board_path).await.status(),
        StatusCode::FORBIDDEN
    );

    // Technicians on duty (R-PREP-4): checked, then listed on the board for the host.
    let technicians = format!("{board_path}/{huyen}/technicians");
    let bad = send(
        &p,
        "diemcau",
        Method::PUT,
        &technicians,
        json!({ "technicians": [{ "name": "Lê Văn Cường", "phone": "12" }] }),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let saved = send(
        &p,
        "diemcau",
        Method::PUT,
        &technicians,
        json!({ "technicians": [{ "name": "Lê Văn Cường", "phone": "0912 000 111" }] }),
    )
    .await;
    assert_eq!(
        json_of(saved, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let board = json_of(get(&p, "thuky", &board_path).await, StatusCode::OK).await;
    assert_eq!(
        line(&board, huyen)["technicians"][0]["name"],
        "Lê Văn Cường"
    );

    // The pages: the board for the MCU operator, the phone-sized check page for the operator.
    let page = get(&p, "mcu", &format!("/sessions/{id}/readiness")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("1/3 sẵn sàng"), "{html}");
    assert!(html.contains("Lê Văn Cường"));
    let filtered = get(
        &p,
        "mcu",
        &format!("/sessions/{id}/readiness?unit={}", p.units["HUYEN2"]),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(filtered.contains("Phòng họp huyện Hai"));
    assert!(!filtered.contains("Phòng họp huyện Một"));
    let own = get(&p, "diemcau", &format!("/sessions/{id}/readiness/{huyen}")).await;
    assert_eq!(own.status(), StatusCode::OK);
    assert!(own.text().await.unwrap().contains("Nguồn điện dự phòng"));
    let foreign = get(&p, "diemcau2", &format!("/sessions/{id}/readiness/{huyen}")).await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let session_page = get(&p, "thuky", &format!("/sessions/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(session_page.contains(&format!("/sessions/{id}/readiness")));

    // The overview of upcoming sessions carries the same summary, only to those who may
    // read the board.
    let overview = json_of(get(&p, "mcu", "/api/v1/readiness").await, StatusCode::OK).await;
    let entry = overview
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == id)
        .unwrap();
    assert_eq!(
        entry["summary"],
        "1/3 sẵn sàng, 1 đang kiểm tra, 1 chưa kiểm tra"
    );
    let carrier = json_of(get(&p, "vnpt", "/api/v1/readiness").await, StatusCode::OK).await;
    assert!(carrier
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["session_id"] != id));
    let overview_page = get(&p, "mcu", "/readiness").await.text().await.unwrap();
    assert!(overview_page.contains(&format!("/sessions/{id}/readiness")));

    let actions = audit_actions(&p).await;
    for action in ["session.readiness.check", "session.duty_technicians"] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

#[tokio::test]
async fn r_prep_3_the_check_page_form_saves_and_the_board_hears_it_live() {
    let p = province("thua-thien-hue").await;
    let calendar = WorkCalendar::with_shipped();
    let start = far_working_day(&calendar, 3);
    let id = register_approved(&p, body(&p, "UB", &["HUYEN"], start, 60)).await;
    let huyen = p.endpoints["HUYEN"];

    let mut stream = get(&p, "thuky", &format!("/sessions/{id}/live")).await;
    assert_eq!(stream.status(), StatusCode::OK);

    // The phone-sized form posts plain fields; a failure without a note comes back with it.
    let mut form: Vec<(String, String)> = [
        "power",
        "backup_power",
        "network",
        "terminal",
        "audio",
        "video",
        "lighting",
    ]
    .iter()
    .map(|item| (format!("result_{item}"), "pass".to_string()))
    .collect();
    form[6] = ("result_lighting".into(), "fail".into());
    let refused = p
        .call(
            "diemcau",
            Method::POST,
            &format!("/sessions/{id}/readiness/{huyen}"),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("ghi rõ lỗi"));

    form[6] = ("result_lighting".into(), "pass".into());
    let saved = p
        .call(
            "diemcau",
            Method::POST,
            &format!("/sessions/{id}/readiness/{huyen}"),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    // Saved: back to the same page, as a phone browser expects.
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()["location"],
        format!("/sessions/{id}/readiness/{huyen}").as_str()
    );

    let mut seen = String::new();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !seen.contains("readiness.checked") {
            match stream.chunk().await.unwrap() {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                None => break,
            }
        }
    })
    .await;
    assert!(
        heard.is_ok() && seen.contains("readiness.checked"),
        "{seen}"
    );

    let board = json_of(
        get(&p, "thuky", &format!("/api/v1/sessions/{id}/readiness")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(line(&board, huyen)["state"], "ready");
    assert_eq!(board["summary"], "1/2 sẵn sàng, 1 chưa kiểm tra");
}
