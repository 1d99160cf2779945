//! R-REG-5: the published schedule, its iCalendar feeds (parsed by a real iCalendar library,
//! Python's `icalendar` from Debian's `python3-icalendar`), R-SEC-4 masking of classified
//! sessions, and the working-day calendar's API.
//!
//! Sessions are put in the database through the store, as the registration API would.

use std::process::Command;

use hnth_domain::calendar::WorkCalendar;
use hnth_domain::endpoint::EndpointForm;
use hnth_domain::policy::LoadedPolicy;
use hnth_domain::role::Role;
use hnth_domain::session::{
    Action, Classification, MeetingType, Registration, SessionStatus, Urgency,
};
use hnth_store::sessions::{BookingRules, Change};
use hnth_store::Actor;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::ToSpan;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const NORMAL_TITLE: &str = "Giao ban trực tuyến tháng 12, quý IV; triển khai nhiệm vụ";
const SECRET_TITLE: &str = "Họp về phương án phòng thủ khu vực";

/// What the tests book: one endpoint per unit, and the sessions of a Tuesday and Wednesday.
struct World {
    app: TestApp,
    policy: LoadedPolicy,
    calendar: WorkCalendar,
    /// A Tuesday at least two weeks ahead.
    tuesday: Date,
    /// Endpoints of CT.UBND, CT.STTTT, CT.NK, CT.NK.TANAN.
    ubnd_room: i64,
    sttt_room: i64,
    nk_room: i64,
    tanan_room: i64,
    /// Approved, normal: STTTT hosts, NK invited.
    normal: i64,
    /// Approved, classified (Mật): STTTT hosts, UBND invited.
    secret: i64,
    /// Submitted only.
    submitted: i64,
    /// A draft.
    draft: i64,
}

impl World {
    fn rules(&self) -> BookingRules<'_> {
        let policy = &self.policy.policy;
        BookingRules {
            capacity: policy.mcu_capacity.value,
            approvers: &policy.approvers.value,
            operating_unit_id: None,
            answer_within: policy.registration_answer_within.value,
            carrier_notice_before: policy.carrier_notice_before.value,
            calendar: &self.calendar,
        }
    }

    async fn get(&self, role: Role, path: &str) -> reqwest::Response {
        self.app
            .as_role(role, Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    async fn schedule(&self, role: Role) -> Vec<Value> {
        let to = self.tuesday.checked_add(1.day()).unwrap();
        let response = self
            .get(
                role,
                &format!("/api/v1/schedule?from={}&to={to}", self.tuesday),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn session_version(&self, id: i64) -> i64 {
        self.app.store.session(id).await.unwrap().version
    }
}

fn registration(
    host_unit: i64,
    host_endpoint: i64,
    members: Vec<i64>,
    title: &str,
    at: DateTime,
    classification: Classification,
) -> Registration {
    Registration {
        host_unit_id: host_unit,
        host_endpoint_id: host_endpoint,
        member_endpoint_ids: members,
        title: title.to_string(),
        content: "Nội dung: báo cáo, thảo luận\nKết luận.".to_string(),
        meeting_type: MeetingType::PeriodicBriefing,
        classification,
        urgency: Urgency::Normal,
        emergency_reason: String::new(),
        chair_name: "Nguyễn Văn A".to_string(),
        chair_title: "Phó Chủ tịch".to_string(),
        contact_name: "Trần Thị B".to_string(),
        contact_phone: "0292 3820 123".to_string(),
        extra_needs: Vec::new(),
        starts_at: at,
        ends_at: at.checked_add(2.hours()).unwrap(),
        rehearsals: Vec::new(),
        recurrence: None,
    }
}

async fn world() -> World {
    let app = spawn_app().await;
    let policy = LoadedPolicy::load("can-tho", &toml::Table::new()).unwrap();
    let actor = Actor::system("test");
    let mut rooms = Vec::new();
    for unit in ["CT.UBND", "CT.STTTT", "CT.NK", "CT.NK.TANAN"] {
        let spec = EndpointForm {
            code: format!("{unit}.P1"),
            unit_code: unit.into(),
            name: format!("Phòng họp {unit}"),
            terminal: "room_system".into(),
            network: "dedicated".into(),
            status: "active".into(),
            ..EndpointForm::default()
        }
        .parse()
        .unwrap();
        let endpoint = app
            .store
            .create_endpoint(&actor, &policy.policy, &spec, hnth_web::today())
            .await
            .unwrap();
        rooms.push(endpoint.id);
    }
    let mut tuesday = hnth_web::today().checked_add(14.days()).unwrap();
    while tuesday.weekday() != Weekday::Tuesday {
        tuesday = tuesday.tomorrow().unwrap();
    }
    let mut world = World {
        app,
        policy,
        calendar: WorkCalendar::with_shipped(),
        tuesday,
        ubnd_room: rooms[0],
        sttt_room: rooms[1],
        nk_room: rooms[2],
        tanan_room: rooms[3],
        normal: 0,
        secret: 0,
        submitted: 0,
        draft: 0,
    };
    let (ubnd, sttt) = (world.app.units["CT.UBND"], world.app.units["CT.STTTT"]);
    let at = |day: Date, hour: i8| day.at(hour, 0, 0, 0);
    let now = jiff::Timestamp::now();
    let rules = &world.rules();
    let store = &world.app.store;
    let book = |registration: Registration, submit: bool| async move {
        store
            .register(&actor_for_tests(), &registration, submit, rules, now)
            .await
            .unwrap()[0]
    };
    let normal = book(
        registration(
            sttt,
            world.sttt_room,
            vec![world.nk_room],
            NORMAL_TITLE,
            at(tuesday, 8),
            Classification::Normal,
        ),
        true,
    )
    .await;
    let secret = book(
        registration(
            sttt,
            world.sttt_room,
            vec![world.ubnd_room],
            SECRET_TITLE,
            at(tuesday, 14),
            Classification::Confidential,
        ),
        true,
    )
    .await;
    let submitted = book(
        registration(
            ubnd,
            world.ubnd_room,
            vec![world.tanan_room],
            "Chưa được phê duyệt",
            at(tuesday, 8),
            Classification::Normal,
        ),
        true,
    )
    .await;
    let draft = book(
        registration(
            ubnd,
            world.ubnd_room,
            vec![world.tanan_room],
            "Bản nháp chưa gửi",
            at(tuesday, 16),
            Classification::Normal,
        ),
        false,
    )
    .await;
    for id in [normal, secret] {
        let status = store
            .act_on_session(
                &actor_for_tests(),
                id,
                Action::Approve,
                "",
                None,
                rules,
                now,
            )
            .await
            .unwrap();
        assert_eq!(status, SessionStatus::Approved);
    }
    world.normal = normal;
    world.secret = secret;
    world.submitted = submitted;
    world.draft = draft;
    world
}

fn actor_for_tests() -> Actor {
    Actor::system("test")
}

fn ids(entries: &[Value]) -> Vec<i64> {
    entries.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

fn entry(entries: &[Value], id: i64) -> &Value {
    entries
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("session {id} not in {entries:?}"))
}

#[tokio::test]
async fn r_reg_5_the_schedule_lists_approved_sessions_only() {
    let w = world().await;
    for role in Role::ALL {
        let entries = w.schedule(role).await;
        let mut listed = ids(&entries);
        listed.sort_unstable();
        assert_eq!(listed, vec![w.normal, w.secret], "{role:?}");
    }
    let entries = w.schedule(Role::Approver).await;
    let normal = entry(&entries, w.normal);
    assert_eq!(normal["title"], NORMAL_TITLE);
    assert_eq!(normal["endpoint_count"], 2);
    assert_eq!(normal["masked"], false);
    assert_eq!(normal["starts_at"], format!("{}T08:00:00+07:00", w.tuesday));
    assert_eq!(normal["url"], format!("/sessions/{}", w.normal));

    // Filters: by unit subtree, by endpoint, by level.
    let day = w.tuesday;
    let nk = w.app.units["CT.NK"];
    let by_unit: Vec<Value> = w
        .get(
            Role::McuOperator,
            &format!("/api/v1/schedule?from={day}&to={day}&unit_id={nk}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&by_unit), vec![w.normal]);
    let by_endpoint: Vec<Value> = w
        .get(
            Role::McuOperator,
            &format!(
                "/api/v1/schedule?from={day}&to={day}&endpoint_id={}",
                w.ubnd_room
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&by_endpoint), vec![w.secret]);
    let by_level: Vec<Value> = w
        .get(
            Role::McuOperator,
            &format!("/api/v1/schedule?from={day}&to={day}&level=district"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&by_level), vec![w.normal]);
    let bad = w
        .get(
            Role::McuOperator,
            &format!("/api/v1/schedule?from={day}&to=2020-01-01"),
        )
        .await;
    assert_eq!(bad.status(), 400);

    // The pages: week, month and day views, with the same sessions.
    let date = hnth_domain::validate::format_date(day);
    for view in ["week", "month", "day"] {
        let response = w
            .get(
                Role::Approver,
                &format!("/schedule?view={view}&date={date}"),
            )
            .await;
        assert_eq!(response.status(), 200, "{view}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Giao ban trực tuyến tháng 12"), "{view}");
        assert!(html.contains(&format!("/sessions/{}", w.normal)), "{view}");
        assert!(!html.contains("Chưa được phê duyệt"), "{view}");
        assert!(!html.contains("Bản nháp chưa gửi"), "{view}");
    }
    let filtered = w
        .get(
            Role::Approver,
            &format!("/schedule?view=week&date={date}&unit={nk}"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(filtered.contains("Đăng ký lịch (iCalendar)"));
    assert!(!filtered.contains("Họp về phương án"));
}

#[tokio::test]
async fn r_sec_4_a_classified_session_is_masked_outside_its_host_and_invitees() {
    let w = world().await;
    // Every role is granted on the city (CT.UBND), which covers the host: full view.
    let inside = w.schedule(Role::Auditor).await;
    let secret = entry(&inside, w.secret);
    assert_eq!(secret["masked"], false);
    assert_eq!(secret["title"], SECRET_TITLE);
    assert_eq!(secret["classification"], "mat");

    // The carrier's liaison (its own root) and a district's administrator are outside.
    let liaison = w.schedule(Role::Liaison).await;
    let nk_admin: Vec<Value> = w
        .app
        .client
        .get(w.app.url(&format!(
            "/api/v1/schedule?from={}&to={}",
            w.tuesday, w.tuesday
        )))
        .bearer_auth(&w.app.nk_admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for entries in [&liaison, &nk_admin] {
        let masked = entry(entries, w.secret);
        assert_eq!(masked["masked"], true);
        assert_eq!(masked["classified"], true);
        assert_eq!(masked["title"], "Phiên họp mật");
        assert_eq!(masked["host_unit_name"], "Sở Thông tin và Truyền thông");
        assert_eq!(masked["endpoint_count"], 2);
        for hidden in [
            "host_endpoint_name",
            "chair",
            "classification",
            "urgency",
            "meeting_type",
        ] {
            assert!(masked[hidden].is_null(), "{hidden} leaks: {masked}");
        }
        let text = serde_json::to_string(entries).unwrap();
        assert!(!text.contains("phòng thủ"), "the title leaks: {text}");
        // The normal session is shown as it is.
        assert_eq!(entry(entries, w.normal)["title"], NORMAL_TITLE);
    }
    // The pages too.
    let date = hnth_domain::validate::format_date(w.tuesday);
    for view in ["week", "month", "day"] {
        let html = w
            .get(Role::Liaison, &format!("/schedule?view={view}&date={date}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!html.contains("phòng thủ"), "{view}");
        assert!(html.contains("Phiên họp mật"), "{view}");
    }
}

/// Parses an iCalendar text with Python's `icalendar` and returns what the tests look at.
fn parse_ics(text: &str) -> Value {
    const SCRIPT: &str = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(open(sys.argv[1], 'rb').read())
errors = [str(e) for c in cal.walk() for e in getattr(c, 'errors', [])]
out = {"errors": errors, "name": str(cal.get('X-WR-CALNAME')),
       "timezones": [str(tz['TZID']) for tz in cal.walk('VTIMEZONE')], "events": {}}
for e in cal.walk('VEVENT'):
    out["events"][str(e['UID'])] = {
        "summary": str(e['SUMMARY']), "sequence": int(e['SEQUENCE']), "status": str(e['STATUS']),
        "tzid": e['DTSTART'].params.get('TZID'), "start": e.decoded('DTSTART').isoformat(),
        "end": e.decoded('DTEND').isoformat(), "description": str(e.get('DESCRIPTION', '')),
        "location": str(e.get('LOCATION', '')), "class": str(e.get('CLASS', '')),
    }
print(json.dumps(out))
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, text).unwrap();
    // Debian's interpreter, where `python3-icalendar` is installed (scripts/test.sh).
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let output = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "python3-icalendar could not parse the feed (apt-get install python3-icalendar):\n{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn fetch_feed(url: &str) -> (reqwest::StatusCode, String) {
    // A calendar client: no cookie, no token.
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    if status == 200 {
        assert_eq!(
            response.headers()["content-type"],
            "text/calendar; charset=utf-8"
        );
    }
    (status, response.text().await.unwrap())
}

async fn feed_url(w: &World, role: Role, body: Value) -> String {
    let response = w
        .app
        .as_role(role, Method::POST, "/api/v1/feeds")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let url = body["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&w.app.address), "{url}");
    assert!(url.ends_with(".ics"));
    url
}

#[tokio::test]
async fn r_reg_5_the_ical_feed_parses_and_follows_changes_and_cancellations() {
    let w = world().await;
    let sttt = w.app.units["CT.STTTT"];
    let url = feed_url(&w, Role::HostSecretary, json!({ "unit_id": sttt })).await;
    // The same address the second time.
    assert_eq!(
        feed_url(&w, Role::Auditor, json!({ "unit_id": sttt })).await,
        url
    );
    let (status, text) = fetch_feed(&url).await;
    assert_eq!(status, 200);
    assert!(text.contains("\r\n"), "CRLF line ends");
    assert!(
        text.split("\r\n").all(|line| line.len() <= 75),
        "lines folded at 75 octets"
    );
    let feed = parse_ics(&text);
    assert_eq!(feed["errors"], json!([]));
    assert_eq!(feed["timezones"], json!(["Asia/Ho_Chi_Minh"]));
    let events = feed["events"].as_object().unwrap();
    let uid = |id: i64| format!("session-{id}@hnth");
    assert!(
        !events.contains_key(&uid(w.submitted)),
        "not published before approval"
    );
    assert!(!events.contains_key(&uid(w.draft)));
    let normal = &events[&uid(w.normal)];
    assert_eq!(
        normal["summary"], NORMAL_TITLE,
        "commas and semicolons round-trip"
    );
    assert_eq!(normal["tzid"], "Asia/Ho_Chi_Minh");
    assert_eq!(normal["start"], format!("{}T08:00:00+07:00", w.tuesday));
    assert_eq!(normal["end"], format!("{}T10:00:00+07:00", w.tuesday));
    assert_eq!(normal["status"], "CONFIRMED");
    assert_eq!(normal["location"], "Phòng họp CT.STTTT");
    assert!(normal["description"]
        .as_str()
        .unwrap()
        .contains("Phó Chủ tịch Nguyễn Văn A"));
    assert_eq!(normal["sequence"], w.session_version(w.normal).await);
    // A feed has no reader to check: classified sessions are always masked there.
    let secret = &events[&uid(w.secret)];
    assert_eq!(secret["summary"], "Phiên họp mật");
    assert_eq!(secret["class"], "CONFIDENTIAL");
    assert_eq!(secret["location"], "");
    assert!(
        !text.replace("\r\n ", "").contains("phòng thủ"),
        "the title leaks"
    );
    let before = normal["sequence"].as_i64().unwrap();

    // A change (postponed by an hour, retitled) bumps SEQUENCE; clients replace the event.
    let rules = w.rules();
    let stored = w.app.store.session(w.normal).await.unwrap();
    let mut changed = stored.registration.clone();
    changed.title = "Giao ban trực tuyến (dời giờ)".into();
    changed.starts_at = w.tuesday.at(9, 0, 0, 0);
    changed.ends_at = w.tuesday.at(11, 0, 0, 0);
    w.app
        .store
        .change_session(
            &actor_for_tests(),
            w.normal,
            &Change {
                registration: &changed,
                expected_version: stored.version,
                reason: "Lãnh đạo bận đột xuất",
            },
            &rules,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let feed = parse_ics(&fetch_feed(&url).await.1);
    let normal = &feed["events"][&uid(w.normal)];
    assert!(normal["sequence"].as_i64().unwrap() > before);
    assert_eq!(normal["summary"], "Giao ban trực tuyến (dời giờ)");
    assert_eq!(normal["start"], format!("{}T09:00:00+07:00", w.tuesday));
    let after_change = normal["sequence"].as_i64().unwrap();

    // A cancellation stays in the feed as CANCELLED so subscribers drop it.
    w.app
        .store
        .act_on_session(
            &actor_for_tests(),
            w.normal,
            Action::Cancel,
            "Hoãn theo chỉ đạo",
            None,
            &rules,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    // A cancelled draft was never published and does not appear.
    w.app
        .store
        .act_on_session(
            &actor_for_tests(),
            w.draft,
            Action::Cancel,
            "Không cần nữa",
            None,
            &rules,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let feed = parse_ics(&fetch_feed(&url).await.1);
    let normal = &feed["events"][&uid(w.normal)];
    assert_eq!(normal["status"], "CANCELLED");
    assert!(normal["sequence"].as_i64().unwrap() > after_change);
    assert!(normal["description"]
        .as_str()
        .unwrap()
        .contains("Hoãn theo chỉ đạo"));
    assert!(feed["events"].get(uid(w.draft)).is_none());

    // An endpoint's feed: only the sessions booking it.
    let url = feed_url(
        &w,
        Role::EndpointOperator,
        json!({ "endpoint_id": w.ubnd_room }),
    )
    .await;
    let feed = parse_ics(&fetch_feed(&url).await.1);
    let events: Vec<&String> = feed["events"].as_object().unwrap().keys().collect();
    assert_eq!(events, vec![&uid(w.secret)]);
    // English on request.
    let english = parse_ics(&fetch_feed(&format!("{url}?lang=en")).await.1);
    assert_eq!(
        english["events"][&uid(w.secret)]["summary"],
        "Classified session"
    );

    // Unknown tokens and malformed requests.
    let (status, _) = fetch_feed(&w.app.url(&format!("/feeds/{}.ics", "0".repeat(64)))).await;
    assert_eq!(status, 404);
    let both = w
        .app
        .as_role(Role::Auditor, Method::POST, "/api/v1/feeds")
        .json(&json!({ "unit_id": sttt, "endpoint_id": w.ubnd_room }))
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400);
    let missing = w
        .app
        .as_role(Role::Auditor, Method::POST, "/api/v1/feeds")
        .json(&json!({ "unit_id": 999_999 }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn r_reg_5_a_reset_token_stops_the_old_feed() {
    let w = world().await;
    let nk = w.app.units["CT.NK"];
    let old = feed_url(&w, Role::Auditor, json!({ "unit_id": nk })).await;
    assert_eq!(fetch_feed(&old).await.0, 200);
    // Reading the schedule is not enough to reset.
    for role in [
        Role::Auditor,
        Role::Approver,
        Role::McuOperator,
        Role::Liaison,
    ] {
        let refused = w
            .app
            .as_role(role, Method::POST, "/api/v1/feeds/reset")
            .json(&json!({ "unit_id": nk }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{role:?}");
    }
    assert_eq!(
        fetch_feed(&old).await.0,
        200,
        "a refused reset changes nothing"
    );
    let response = w
        .app
        .as_role(Role::HostSecretary, Method::POST, "/api/v1/feeds/reset")
        .json(&json!({ "unit_id": nk }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let new = response.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    assert_eq!(fetch_feed(&old).await.0, 404);
    assert_eq!(fetch_feed(&new).await.0, 200);
    // The page shows the new address and, to those who may, the reset button.
    let page = w
        .get(Role::HostSecretary, &format!("/schedule?unit={nk}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&new));
    assert!(page.contains("Tạo lại mã"));
    let page = w
        .get(Role::Auditor, &format!("/schedule?unit={nk}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&new));
    assert!(!page.contains("Tạo lại mã"));
}

#[tokio::test]
async fn working_calendar_api_records_and_removes_an_official_day_off() {
    let app = spawn_app().await;
    // Friday 31/12/2027: a working day under the rules.
    let change = json!({
        "date": "2027-12-31",
        "kind": "off",
        "name_vi": "Nghỉ hoán đổi cuối năm",
        "name_en": "Year-end swapped day off",
        "source": "Thông báo thử nghiệm 1/TB-BNV"
    });
    let put = |role: Role, body: Value| {
        app.as_role(role, Method::PUT, "/api/v1/calendar/changes")
            .json(&body)
            .send()
    };
    for role in [Role::Approver, Role::HostSecretary, Role::Auditor] {
        assert_eq!(
            put(role, change.clone()).await.unwrap().status(),
            403,
            "{role:?}"
        );
    }
    // An operating admin of a district cannot change the national calendar.
    let district = app
        .client
        .put(app.url("/api/v1/calendar/changes"))
        .bearer_auth(&app.nk_admin_token)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(district.status(), 403);

    let saved = put(Role::OperatingAdmin, change.clone()).await.unwrap();
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.json::<Value>().await.unwrap()["kind"], "off");
    let year: Value = app
        .as_role(Role::Liaison, Method::GET, "/api/v1/calendar/2027")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let day = year["days_off"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == "2027-12-31")
        .expect("the new day off is listed");
    assert_eq!(day["kind"], "official_off");
    assert_eq!(day["weekday"], "friday");
    assert_eq!(day["name_vi"], "Nghỉ hoán đổi cuối năm");
    assert_eq!(day["source"], "Thông báo thử nghiệm 1/TB-BNV");
    assert!(year["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["date"] == "2027-12-31"));
    // With 1/1/2028 (a Saturday, its day in lieu on Monday) it makes a four-day break.
    assert!(year["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["first"] == "2027-12-31"));
    let page = app
        .as_role(Role::EndpointOperator, Method::GET, "/calendar?year=2027")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nghỉ hoán đổi cuối năm"));

    // A change that changes nothing is refused with the field named.
    let wrong = put(
        Role::SystemAdmin,
        json!({ "date": "2027-12-29", "kind": "working", "name_vi": "Làm bù", "name_en": "Worked", "source": "TB 1" }),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 422);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "date");

    let deleted = app
        .as_role(
            Role::SystemAdmin,
            Method::DELETE,
            "/api/v1/calendar/changes/2027-12-31",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let again = app
        .as_role(
            Role::SystemAdmin,
            Method::DELETE,
            "/api/v1/calendar/changes/2027-12-31",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let year: Value = app
        .as_role(Role::Liaison, Method::GET, "/api/v1/calendar/2027")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!year["days_off"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["date"] == "2027-12-31"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_schedule_and_calendar() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/schedule",
        "/api/v1/feeds",
        "/api/v1/feeds/reset",
        "/api/v1/calendar/{year}",
        "/api/v1/calendar/changes",
        "/api/v1/calendar/changes/{date}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
}
