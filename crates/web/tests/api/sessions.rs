//! Register → check → approve → invite → confirm → change → cancel through the API, once per
//! shipped policy profile with that profile's own numbers (lead times, approver, notice
//! periods); double booking under parallel requests; the pages of the same path.

use std::collections::HashMap;

use hnth_domain::calendar::WorkCalendar;
use hnth_domain::endpoint::EndpointForm;
use hnth_domain::lang::Lang;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::role::Role;
use hnth_domain::session::checks::deadline;
use hnth_domain::unit::UnitForm;
use hnth_store::accounts::NewUser;
use hnth_store::{Actor, Store, StoreOptions};
use jiff::civil::{Date, DateTime, Time};
use jiff::ToSpan;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::serve;

/// A province shaped for `profile`: the People's Committee (host), its office, the Party
/// committee, the operating department, a district, a carrier and a power company; one
/// endpoint per body; one account per role that the path needs.
pub(crate) struct Province {
    pub address: String,
    pub client: reqwest::Client,
    pub policy: LoadedPolicy,
    pub units: HashMap<&'static str, i64>,
    pub endpoints: HashMap<&'static str, i64>,
    pub tokens: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

impl Province {
    pub fn call(&self, who: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.tokens[who])
    }
}

pub(crate) async fn province(profile: &str) -> Province {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreOptions {
        data_dir: dir.path().join("data"),
        read_connections: 2,
    })
    .await
    .unwrap();
    let policy = LoadedPolicy::load(profile, &toml::Table::new()).unwrap();
    store
        .sync_levels(&policy.policy.levels.value)
        .await
        .unwrap();
    let levels = store.levels().await.unwrap();
    let local: Vec<&str> = policy
        .policy
        .levels
        .value
        .iter()
        .map(|l| l.code.as_str())
        .filter(|code| *code != "central")
        .collect();
    let (top, lower) = (local[0], local[1]);
    let actor = Actor::system("test");
    let mut units = HashMap::new();
    let mut endpoints = HashMap::new();
    for (code, name, kind, level, parent, room) in [
        (
            "UB",
            "Ủy ban nhân dân tỉnh",
            "people_committee",
            top,
            "",
            "Phòng họp UBND tỉnh",
        ),
        (
            "TU",
            "Tỉnh ủy",
            "party_office",
            top,
            "",
            "Phòng họp Tỉnh ủy",
        ),
        (
            "SO",
            "Sở Khoa học và Công nghệ",
            "department",
            top,
            "UB",
            "Phòng họp Sở",
        ),
        (
            "HUYEN",
            "Ủy ban nhân dân huyện Một",
            "people_committee",
            lower,
            "UB",
            "Phòng họp huyện Một",
        ),
        (
            "HUYEN2",
            "Ủy ban nhân dân huyện Hai",
            "people_committee",
            lower,
            "UB",
            "Phòng họp huyện Hai",
        ),
        ("VNPT", "VNPT tỉnh", "carrier", top, "", ""),
        (
            "DIEN",
            "Công ty Điện lực tỉnh",
            "power_company",
            top,
            "",
            "",
        ),
    ] {
        let form = UnitForm {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            level: level.into(),
            parent_code: parent.into(),
            valid_from: "01/01/2020".into(),
            ..Default::default()
        };
        let unit = store
            .create_unit(&actor, &form.parse(&levels, hnth_web::today()).unwrap())
            .await
            .unwrap();
        units.insert(code, unit.id);
        if !room.is_empty() {
            let form = EndpointForm {
                code: format!("{code}.P1"),
                unit_code: code.into(),
                name: room.into(),
                terminal: "room_system".into(),
                network: "dedicated".into(),
                status: "active".into(),
                seats: "30".into(),
                ..Default::default()
            };
            let endpoint = store
                .create_endpoint(
                    &actor,
                    &policy.policy,
                    &form.parse().unwrap(),
                    hnth_web::today(),
                )
                .await
                .unwrap();
            endpoints.insert(code, endpoint.id);
        }
    }
    let mut tokens = HashMap::new();
    for (username, role, unit) in [
        ("thuky", Role::HostSecretary, "UB"),
        ("thuky_tu", Role::HostSecretary, "TU"),
        ("pheduyet", Role::Approver, "UB"),
        ("pheduyet_tu", Role::Approver, "TU"),
        ("diemcau", Role::EndpointOperator, "HUYEN"),
        ("diemcau2", Role::EndpointOperator, "HUYEN2"),
        ("vnpt", Role::Liaison, "VNPT"),
        ("kiemtra", Role::Auditor, "UB"),
        ("mcu", Role::McuOperator, "SO"),
    ] {
        let user = store
            .create_user(
                &actor,
                &NewUser {
                    username: username.into(),
                    full_name: username.into(),
                    email: String::new(),
                    unit_id: Some(units[unit]),
                    password_hash: "x".into(),
                    lang: Lang::Vi,
                },
            )
            .await
            .unwrap();
        store
            .add_grant(&actor, user.id, role, units[unit])
            .await
            .unwrap();
        tokens.insert(
            username,
            store
                .create_api_token(&actor, user.id, "test")
                .await
                .unwrap(),
        );
    }
    let (address, client) = serve(store, policy.clone(), Some(units["SO"])).await;
    Province {
        address,
        client,
        policy,
        units,
        endpoints,
        tokens,
        _dir: dir,
    }
}

fn now() -> DateTime {
    hnth_web::now_local().datetime()
}

/// A working day well beyond every lead time, at 09:00.
pub(crate) fn far_working_day(calendar: &WorkCalendar, extra: i32) -> DateTime {
    calendar
        .add_working_days(now().date(), 25 + extra)
        .to_datetime(Time::constant(9, 0, 0, 0))
}

pub(crate) fn body(
    p: &Province,
    host: &str,
    members: &[&str],
    start: DateTime,
    minutes: i64,
) -> Value {
    let end = start.saturating_add(minutes.minutes());
    json!({
        "host_unit_id": p.units[host],
        "host_endpoint_id": p.endpoints[host],
        "member_endpoint_ids": members.iter().map(|m| p.endpoints[m]).collect::<Vec<_>>(),
        "title": "Hội nghị triển khai nhiệm vụ phòng chống thiên tai",
        "meeting_type": "thematic",
        "chair_name": "Nguyễn Văn An",
        "chair_title": "Chủ tịch UBND tỉnh",
        "contact_name": "Trần Thị Bình",
        "contact_phone": "0912 345 678",
        "date": format!("{:02}/{:02}/{}", start.day(), start.month(), start.year()),
        "start_time": format!("{:02}:{:02}", start.hour(), start.minute()),
        "end_time": format!("{:02}:{:02}", end.hour(), end.minute()),
    })
}

/// A start a little over an hour from now that stays on one day.
pub(crate) fn soon() -> DateTime {
    let start = now().saturating_add(70.minutes());
    let start = start
        .date()
        .to_datetime(Time::new(start.hour(), start.minute(), 0, 0).unwrap());
    if start.saturating_add(20.minutes()).date() != start.date() {
        start
            .date()
            .tomorrow()
            .unwrap()
            .to_datetime(Time::midnight())
    } else {
        start
    }
}

/// Registers `registration` as the host's secretary, submitted, and has it approved; the id.
pub(crate) async fn register_approved(p: &Province, mut registration: Value) -> i64 {
    registration["submit"] = json!(true);
    let created = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&registration)
        .send()
        .await
        .unwrap();
    let id = json_of(created, StatusCode::CREATED).await[0]["id"]
        .as_i64()
        .unwrap();
    let approved = p
        .call(
            "pheduyet",
            Method::POST,
            &format!("/api/v1/sessions/{id}/actions"),
        )
        .json(&json!({ "action": "approve" }))
        .send()
        .await
        .unwrap();
    json_of(approved, StatusCode::OK).await;
    id
}

pub(crate) async fn json_of(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert_eq!(status, expected, "{value:#}");
    value
}

/// The whole path for one profile; `lead_vi` is the profile's lead time as the message
/// says it, `approver` the unit that must receive the registration.
async fn path_for(profile: &str, lead_vi: &str, approver: &str, approver_token: &str) {
    let p = province(profile).await;
    let policy = &p.policy.policy;
    let calendar = WorkCalendar::with_shipped();

    // 1. Too late for the profile's lead time: refused with the rule, the article, the deadline.
    let mut late_body = body(&p, "UB", &["HUYEN"], soon(), 20);
    late_body["submit"] = json!(true);
    let late = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&late_body)
        .send()
        .await
        .unwrap();
    let refused = json_of(late, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["error"]["code"], "policy_refused", "{profile}");
    let field = &refused["error"]["fields"][0];
    assert_eq!(field["rule"], "R-REG-2");
    let message = field["message"].as_str().unwrap();
    assert!(message.contains(lead_vi), "{profile}: {message}");
    assert!(message.contains("hạn chót"), "{message}");
    let expected_deadline = deadline(policy.lead_time_normal.value, soon(), &calendar);
    assert_eq!(
        field["deadline"],
        expected_deadline.to_string(),
        "{profile}"
    );

    // The same, marked as an emergency with a reason, passes the normal lead time — unless
    // the profile's emergency lead time is longer than what is left (Hà Nội: 6 hours).
    let mut emergency = body(&p, "UB", &["HUYEN"], soon(), 20);
    emergency["urgency"] = json!("emergency");
    emergency["emergency_reason"] = json!("Bão số 5 đổ bộ");
    emergency["submit"] = json!(true);
    let response = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&emergency)
        .send()
        .await
        .unwrap();
    let emergency_deadline = deadline(policy.lead_time_emergency.value, soon(), &calendar);
    if now() <= emergency_deadline {
        let created = json_of(response, StatusCode::CREATED).await;
        assert_eq!(created[0]["urgency"], "emergency");
        // Cancel it so it books nothing.
        let id = created[0]["id"].as_i64().unwrap();
        let cancelled = p
            .call(
                "thuky",
                Method::POST,
                &format!("/api/v1/sessions/{id}/actions"),
            )
            .json(&json!({ "action": "cancel", "reason": "Bão đã suy yếu" }))
            .send()
            .await
            .unwrap();
        json_of(cancelled, StatusCode::OK).await;
    } else {
        let refused = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(refused["error"]["fields"][0]["code"], "emergency_lead_time");
    }

    // 2. In time: submitted, routed to the profile's approver with the answer deadline.
    let start = far_working_day(&calendar, 0);
    let mut registration = body(&p, "UB", &["HUYEN", "HUYEN2"], start, 90);
    registration["submit"] = json!(true);
    let created = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&registration)
        .send()
        .await
        .unwrap();
    let created = json_of(created, StatusCode::CREATED).await;
    let session = &created[0];
    let id = session["id"].as_i64().unwrap();
    assert_eq!(session["status"], "submitted");
    assert_eq!(session["approver_unit_id"], p.units[approver], "{profile}");
    assert!(session["answer_due_at"].is_string());
    assert_eq!(session["answer_overdue"], false);

    // 3. The same member endpoint at an overlapping time: a conflict with free slots.
    let mut clash = body(&p, "TU", &["HUYEN"], start.saturating_add(30.minutes()), 60);
    clash["submit"] = json!(true);
    let clash = p
        .call("thuky_tu", Method::POST, "/api/v1/sessions")
        .json(&clash)
        .send()
        .await
        .unwrap();
    let clash = json_of(clash, StatusCode::CONFLICT).await;
    assert_eq!(clash["error"]["code"], "booking_conflict");
    let with = &clash["error"]["conflicts"][0]["with"][0];
    assert_eq!(with["kind"], "endpoint");
    assert_eq!(with["endpoint_id"], p.endpoints["HUYEN"]);
    assert_eq!(with["session_id"], id);
    assert!(clash["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Phòng họp huyện Một"));
    let slots = clash["error"]["free_slots"].as_array().unwrap();
    assert!(!slots.is_empty(), "free slots proposed");
    // The first proposal is really free: registering there succeeds.
    let slot_start: DateTime = slots[0]["starts_at"].as_str().unwrap().parse().unwrap();
    let mut retry = body(&p, "TU", &["HUYEN"], slot_start, 60);
    retry["submit"] = json!(true);
    let retried = p
        .call("thuky_tu", Method::POST, "/api/v1/sessions")
        .json(&retry)
        .send()
        .await
        .unwrap();
    let retried = json_of(retried, StatusCode::CREATED).await;
    // A Party committee's session goes where the profile sends it.
    let party_approver = if matches!(profile, "thanh-hoa" | "ha-noi") {
        "TU"
    } else {
        "SO"
    };
    assert_eq!(
        retried[0]["approver_unit_id"], p.units[party_approver],
        "{profile}"
    );

    // 4. Someone without the grant cannot approve; the approver can.
    let forbidden = p
        .call(
            "diemcau",
            Method::POST,
            &format!("/api/v1/sessions/{id}/actions"),
        )
        .json(&json!({ "action": "approve" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let approved = p
        .call(
            approver_token,
            Method::POST,
            &format!("/api/v1/sessions/{id}/actions"),
        )
        .json(&json!({ "action": "approve", "reason": "Đồng ý", "version": session["version"] }))
        .send()
        .await
        .unwrap();
    let approved = json_of(approved, StatusCode::OK).await;
    assert_eq!(approved["status"], "approved");

    // Invitations to both districts, notices to the carrier and the power company due by
    // the profile's notice period.
    let detail = json_of(
        p.call("thuky", Method::GET, &format!("/api/v1/sessions/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let invitations = detail["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 2);
    let notices = detail["carrier_notices"].as_array().unwrap();
    assert_eq!(notices.len(), 2, "carrier and power company");
    let due = deadline(policy.carrier_notice_before.value, start, &calendar);
    let due_at: jiff::Timestamp = notices[0]["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(hnth_store::sessions::local(due_at), due, "{profile}");

    // 5. Each district answers for itself only.
    let mine = invitations
        .iter()
        .find(|i| i["unit_id"] == p.units["HUYEN"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let other = invitations
        .iter()
        .find(|i| i["unit_id"] == p.units["HUYEN2"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let not_mine = p
        .call(
            "diemcau",
            Method::POST,
            &format!("/api/v1/invitations/{other}/answer"),
        )
        .json(&json!({ "answer": "confirm", "chair_name": "X" }))
        .send()
        .await
        .unwrap();
    assert_eq!(not_mine.status(), StatusCode::FORBIDDEN);
    let no_chair = p
        .call(
            "diemcau",
            Method::POST,
            &format!("/api/v1/invitations/{mine}/answer"),
        )
        .json(&json!({ "answer": "confirm" }))
        .send()
        .await
        .unwrap();
    let no_chair = json_of(no_chair, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(no_chair["error"]["fields"][0]["field"], "chair_name");
    let confirmed = p
        .call("diemcau", Method::POST, &format!("/api/v1/invitations/{mine}/answer"))
        .json(&json!({ "answer": "confirm", "chair_name": "Lê Văn Cường", "chair_title": "Chủ tịch UBND huyện" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(confirmed, StatusCode::OK).await["status"],
        "confirmed"
    );
    let declined = p
        .call(
            "diemcau2",
            Method::POST,
            &format!("/api/v1/invitations/{other}/answer"),
        )
        .json(&json!({ "answer": "decline", "reason": "Trùng lịch tiếp công dân" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(declined, StatusCode::OK).await["status"],
        "declined"
    );
    let detail = json_of(
        p.call("thuky", Method::GET, &format!("/api/v1/sessions/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        detail["tally"],
        json!({ "confirmed": 1, "declined": 1, "pending": 0 })
    );

    // 6. The carrier names its duty staff.
    let vnpt_notice = notices
        .iter()
        .find(|n| n["unit_id"] == p.units["VNPT"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let duty = p
        .call(
            "vnpt",
            Method::POST,
            &format!("/api/v1/carrier-notices/{vnpt_notice}/confirm"),
        )
        .json(&json!({ "duty_staff_name": "Phạm Văn Dũng", "duty_staff_phone": "0913 000 111" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(duty, StatusCode::OK).await["duty_staff_name"],
        "Phạm Văn Dũng"
    );

    // 7. Postponed by an hour: a stale version is refused, the right one goes through, the
    // invitations go back to pending and the districts are told.
    let next_day = calendar
        .add_working_days(start.date(), 1)
        .to_datetime(start.time());
    let mut later = body(&p, "UB", &["HUYEN", "HUYEN2"], next_day, 90);
    later["version"] = json!(1);
    later["reason"] = json!("Lãnh đạo bận họp đột xuất");
    let stale = p
        .call("thuky", Method::PUT, &format!("/api/v1/sessions/{id}"))
        .json(&later)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    later["version"] = detail["version"].clone();
    let moved = p
        .call("thuky", Method::PUT, &format!("/api/v1/sessions/{id}"))
        .json(&later)
        .send()
        .await
        .unwrap();
    let moved = json_of(moved, StatusCode::OK).await;
    assert_eq!(moved["status"], "approved");
    assert_eq!(moved["starts_at"], next_day.to_string());
    let detail = json_of(
        p.call("thuky", Method::GET, &format!("/api/v1/sessions/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        detail["tally"]["pending"], 2,
        "answers are asked again after a move"
    );
    assert!(detail["versions"].as_array().unwrap().len() >= 3);
    let inbox = json_of(
        p.call("diemcau", Method::GET, "/api/v1/notifications")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let events: Vec<&str> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"session.invited"), "{events:?}");
    assert!(events.contains(&"session.changed"), "{events:?}");

    // 8. Cancelled with a reason; every invitee is told; it cannot be approved again.
    let no_reason = p
        .call(
            "thuky",
            Method::POST,
            &format!("/api/v1/sessions/{id}/actions"),
        )
        .json(&json!({ "action": "cancel" }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let cancelled = p
        .call(
            "thuky",
            Method::POST,
            &format!("/api/v1/sessions/{id}/actions"),
        )
        .json(&json!({ "action": "cancel", "reason": "Thay đổi kế hoạch công tác" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(cancelled, StatusCode::OK).await["status"],
        "cancelled"
    );
    for who in ["diemcau", "diemcau2", "vnpt"] {
        let inbox = json_of(
            p.call(who, Method::GET, "/api/v1/notifications")
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        assert!(
            inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["event"] == "session.cancelled"),
            "{who} told of the cancellation"
        );
    }
    let again = p
        .call(
            approver_token,
            Method::POST,
            &format!("/api/v1/sessions/{id}/actions"),
        )
        .json(&json!({ "action": "approve" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    // The slot is free again.
    let mut reuse = body(&p, "TU", &["HUYEN"], start, 60);
    reuse["submit"] = json!(true);
    let reuse = p
        .call("thuky_tu", Method::POST, "/api/v1/sessions")
        .json(&reuse)
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn r_reg_2_4_6_7_8_can_tho_three_working_days_operating_unit_approves() {
    path_for("can-tho", "3 ngày làm việc", "SO", "pheduyet").await;
}

#[tokio::test]
async fn r_reg_2_4_6_7_8_thanh_hoa_two_working_days_the_committee_office_approves_its_own() {
    path_for("thanh-hoa", "2 ngày làm việc", "UB", "pheduyet").await;
}

#[tokio::test]
async fn r_reg_2_4_6_7_8_ha_noi_twenty_four_hours_operating_unit_approves() {
    path_for("ha-noi", "24 giờ", "SO", "pheduyet").await;
}

#[tokio::test]
async fn r_reg_2_4_6_7_8_quang_binh_default_lead_time_operating_unit_approves() {
    path_for("quang-binh", "2 ngày làm việc", "SO", "pheduyet").await;
}

#[tokio::test]
async fn r_reg_2_4_6_7_8_thua_thien_hue_default_lead_time_operating_unit_approves() {
    path_for("thua-thien-hue", "2 ngày làm việc", "SO", "pheduyet").await;
}

#[tokio::test]
async fn r_reg_3_parallel_registrations_of_one_room_let_exactly_one_win() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    let start = far_working_day(&calendar, 3);
    let mut requests = Vec::new();
    for offset in 0..8 {
        // Eight overlapping sessions that all want the district's room.
        let mut registration = body(
            &p,
            "UB",
            &["HUYEN"],
            start.saturating_add((offset * 5).minutes()),
            60,
        );
        registration["submit"] = json!(true);
        requests.push(
            p.call("thuky", Method::POST, "/api/v1/sessions")
                .json(&registration)
                .send(),
        );
    }
    let statuses: Vec<StatusCode> = futures_join(requests).await;
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let lost = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 7), "{statuses:?}");
}

async fn futures_join(
    requests: Vec<
        impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<StatusCode> {
    let handles: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap().unwrap().status());
    }
    statuses
}

#[tokio::test]
async fn r_reg_3_recurring_weekly_briefing_books_every_occurrence_or_none() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    // The Monday briefing for five weeks, starting on a Monday far enough ahead.
    let mut first: Date = calendar.add_working_days(now().date(), 20);
    while first.weekday() != jiff::civil::Weekday::Monday {
        first = first.tomorrow().unwrap();
    }
    let start = first.to_datetime(Time::constant(8, 0, 0, 0));
    let until = first.saturating_add(28.days());
    let skipped = first.saturating_add(14.days());
    let fmt = |d: Date| format!("{:02}/{:02}/{}", d.day(), d.month(), d.year());
    // Something already holds the district room in the fourth week.
    let fourth = first
        .saturating_add(21.days())
        .to_datetime(Time::constant(8, 30, 0, 0));
    let mut blocker = body(&p, "TU", &["HUYEN"], fourth, 30);
    blocker["submit"] = json!(true);
    let blocked = p
        .call("thuky_tu", Method::POST, "/api/v1/sessions")
        .json(&blocker)
        .send()
        .await
        .unwrap();
    let blocker_id = json_of(blocked, StatusCode::CREATED).await[0]["id"]
        .as_i64()
        .unwrap();

    let mut series = body(&p, "UB", &["HUYEN", "HUYEN2"], start, 60);
    series["meeting_type"] = json!("periodic_briefing");
    series["repeat"] = json!("weekly");
    series["repeat_until"] = json!(fmt(until));
    series["repeat_except"] = json!([fmt(skipped)]);
    series["submit"] = json!(true);
    let refused = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&series)
        .send()
        .await
        .unwrap();
    let refused = json_of(refused, StatusCode::CONFLICT).await;
    let occurrences = refused["error"]["conflicts"].as_array().unwrap();
    assert_eq!(occurrences.len(), 1, "only the fourth week collides");
    assert_eq!(
        occurrences[0]["starts_at"],
        start.saturating_add(21.days()).to_string()
    );
    let listed = json_of(
        p.call("thuky", Method::GET, "/api/v1/sessions?view=mine")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["total"], 0, "nothing of the series was stored");

    // The blocker goes away: the series books every week but the excepted one.
    p.call(
        "thuky_tu",
        Method::POST,
        &format!("/api/v1/sessions/{blocker_id}/actions"),
    )
    .json(&json!({ "action": "cancel", "reason": "Dời lịch" }))
    .send()
    .await
    .unwrap();
    let created = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&series)
        .send()
        .await
        .unwrap();
    let created = json_of(created, StatusCode::CREATED).await;
    let days: Vec<String> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap()[..10].to_string())
        .collect();
    let expected: Vec<String> = [0, 7, 21, 28]
        .iter()
        .map(|d| first.saturating_add((*d as i64).days()))
        .filter(|d| calendar.is_working_day(*d))
        .map(|d| d.to_string())
        .collect();
    assert_eq!(days, expected);
    assert!(created
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["series_id"] == created[0]["series_id"]));
}

#[tokio::test]
async fn r_reg_1_the_registration_form_shows_errors_next_to_fields_and_saves_a_draft() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    // Log in through the page with a password account.
    let form = p
        .call("thuky", Method::GET, "/sessions/new")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(html.contains("name=\"member_endpoint_ids\""));
    assert!(html.contains("Phòng họp huyện Một"));
    // Missing fields: the form comes back with the messages.
    let bad = p
        .call("thuky", Method::POST, "/sessions")
        .form(&[
            ("host_unit_id", p.units["UB"].to_string()),
            ("intent", "submit".into()),
            ("date", "31/02/2030".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::OK);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Ngày không hợp lệ"), "date message");
    assert!(html.contains("Hãy chọn ít nhất một điểm cầu thành viên"));
    // A draft with repeated checkbox values.
    let start = far_working_day(&calendar, 1);
    let date = format!("{:02}/{:02}/{}", start.day(), start.month(), start.year());
    let fields = vec![
        ("host_unit_id", p.units["UB"].to_string()),
        ("host_endpoint_id", p.endpoints["UB"].to_string()),
        ("member_endpoint_ids", p.endpoints["HUYEN"].to_string()),
        ("member_endpoint_ids", p.endpoints["HUYEN2"].to_string()),
        ("extra_needs", "recording".into()),
        ("title", "Giao ban tuần".into()),
        ("meeting_type", "periodic_briefing".into()),
        ("classification", "normal".into()),
        ("urgency", "normal".into()),
        ("chair_name", "Nguyễn Văn An".into()),
        ("contact_name", "Trần Thị Bình".into()),
        ("contact_phone", "0912345678".into()),
        ("date", date),
        ("start_time", "09:00".into()),
        ("end_time", "10:00".into()),
        ("intent", "draft".into()),
    ];
    let saved = p
        .call("thuky", Method::POST, "/sessions")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let location = saved.headers()["location"].to_str().unwrap().to_string();
    let page = p
        .call("thuky", Method::GET, &location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Bản nháp"));
    assert!(page.contains("Phòng họp huyện Hai"));
    assert!(page.contains("Ghi hình"));
    // A draft is not published: another unit's operator cannot read it.
    let hidden = p.call("vnpt", Method::GET, &location).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::FORBIDDEN);
}
