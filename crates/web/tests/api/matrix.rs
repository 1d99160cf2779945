//! R-SEC-1: every route with every role — who is allowed, who gets 403, who must log in.

use hnth_domain::role::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

use Role::*;

const ALL: &[Role] = &Role::ALL;
const ADMINS: &[Role] = &[SystemAdmin, OperatingAdmin];

struct Case {
    method: Method,
    path: String,
    body: Option<Body>,
    allowed: &'static [Role],
}

enum Body {
    Json(serde_json::Value),
    Csv(String),
}

fn case(method: Method, path: &str, allowed: &'static [Role]) -> Case {
    Case {
        method,
        path: path.to_string(),
        body: None,
        allowed,
    }
}

#[tokio::test]
async fn r_sec_1_role_route_matrix() {
    let app = spawn_app().await;
    let sttt = app.units["CT.STTTT"];
    let ubnd = app.units["CT.UBND"];
    let cases = |role: Role| -> Vec<Case> {
        let tag = role.as_str().replace('_', "").to_uppercase();
        vec![
            case(Method::GET, "/api/v1/units", ALL),
            case(Method::GET, &format!("/api/v1/units/{ubnd}"), ALL),
            case(Method::GET, &format!("/api/v1/units/{ubnd}/children"), ALL),
            case(Method::GET, "/api/v1/endpoints", ALL),
            case(Method::GET, "/api/v1/contacts", ALL),
            case(Method::GET, "/api/v1/levels", ALL),
            case(Method::GET, "/api/v1/me", ALL),
            Case {
                method: Method::POST,
                path: "/api/v1/units".into(),
                body: Some(Body::Json(json!({"code": format!("CT.M.{tag}"), "name": "Ban thử nghiệm", "kind": "department", "level": "city", "parent_code": "CT.UBND"}))),
                allowed: ADMINS,
            },
            Case {
                method: Method::PUT,
                path: format!("/api/v1/units/{sttt}"),
                body: Some(Body::Json(json!({"code": "CT.STTTT", "name": "Sở Khoa học và Công nghệ", "kind": "department", "level": "city", "parent_code": "CT.UBND", "valid_from": "2020-01-01"}))),
                allowed: ADMINS,
            },
            Case {
                method: Method::POST,
                path: "/api/v1/endpoints".into(),
                body: Some(Body::Json(json!({"code": format!("CT.STTTT.P{tag}"), "unit_code": "CT.STTTT", "name": "Phòng họp", "terminal": "personal_device", "network": "internet_vpn"}))),
                allowed: ADMINS,
            },
            Case {
                method: Method::POST,
                path: "/api/v1/contacts".into(),
                body: Some(Body::Json(json!({"unit_code": "CT.STTTT", "role": "support_technician", "full_name": format!("Kỹ thuật {tag}"), "phone": "0292 3820 123"}))),
                allowed: &[SystemAdmin, OperatingAdmin, HostSecretary, EndpointOperator],
            },
            Case {
                method: Method::POST,
                path: "/api/v1/contacts".into(),
                body: Some(Body::Json(json!({"unit_code": "CT.VNPT", "role": "on_duty", "full_name": format!("Trực {tag}"), "phone": "0292 3820 999"}))),
                // The carrier is a root of its own: only the liaison granted on it reaches it.
                allowed: &[Liaison],
            },
            Case {
                method: Method::POST,
                path: "/api/v1/import".into(),
                body: Some(Body::Csv(format!("code,name,kind,level,parent_code\nCT.I.{tag},Ban nhập,department,city,CT.UBND\n"))),
                allowed: ADMINS,
            },
            case(Method::GET, "/api/v1/exports/contacts.xlsx", &[SystemAdmin, OperatingAdmin, Approver, McuOperator, Auditor]),
            case(Method::GET, "/api/v1/exports/contacts.csv", &[SystemAdmin, OperatingAdmin, Approver, McuOperator, Auditor]),
            case(Method::GET, "/api/v1/policy", &[SystemAdmin, OperatingAdmin, Approver, Auditor]),
            case(Method::GET, "/api/v1/audit", &[SystemAdmin, Auditor]),
            // The published schedule, its feeds and the working calendar (R-REG-5).
            case(Method::GET, "/api/v1/schedule", ALL),
            case(Method::GET, "/api/v1/calendar/2026", ALL),
            Case {
                method: Method::POST,
                path: "/api/v1/feeds".into(),
                body: Some(Body::Json(json!({"unit_id": ubnd}))),
                allowed: ALL,
            },
            Case {
                method: Method::POST,
                path: "/api/v1/feeds/reset".into(),
                body: Some(Body::Json(json!({"unit_id": ubnd}))),
                allowed: &[SystemAdmin, OperatingAdmin, HostSecretary],
            },
            Case {
                method: Method::PUT,
                path: "/api/v1/calendar/changes".into(),
                body: Some(Body::Json(json!({"date": "2027-12-31", "kind": "off", "name_vi": "Nghỉ hoán đổi", "name_en": "Swapped day off", "source": "Thông báo thử nghiệm"}))),
                allowed: ADMINS,
            },
            // Pages.
            case(Method::GET, "/units", ALL),
            case(Method::GET, &format!("/units/{ubnd}"), ALL),
            case(Method::GET, "/endpoints", ALL),
            case(Method::GET, "/contacts", ALL),
            case(Method::GET, "/account", ALL),
            case(Method::GET, "/units/new?parent=CT.UBND", ADMINS),
            case(Method::GET, &format!("/units/{sttt}/edit"), ADMINS),
            case(Method::GET, "/endpoints/new?unit=CT.STTTT", ADMINS),
            case(Method::GET, "/contacts/new?unit=CT.STTTT", &[SystemAdmin, OperatingAdmin, HostSecretary, EndpointOperator]),
            case(Method::GET, "/import", ADMINS),
            case(Method::GET, "/exports/contacts.xlsx", &[SystemAdmin, OperatingAdmin, Approver, McuOperator, Auditor]),
            case(Method::GET, "/policy", &[SystemAdmin, OperatingAdmin, Approver, Auditor]),
            case(Method::GET, "/audit", &[SystemAdmin, Auditor]),
            case(Method::GET, "/users", &[SystemAdmin]),
            case(Method::GET, "/schedule", ALL),
            case(Method::GET, "/schedule?view=month", ALL),
            case(Method::GET, &format!("/schedule?view=day&unit={ubnd}"), ALL),
            case(Method::GET, "/calendar", ALL),
        ]
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for role in Role::ALL {
        for case in cases(role) {
            let mut request = app.as_role(role, case.method.clone(), &case.path);
            request = match &case.body {
                Some(Body::Json(value)) => request.json(value),
                Some(Body::Csv(text)) => request
                    .header("content-type", "text/csv")
                    .body(text.clone()),
                None => request,
            };
            let status = request.send().await.unwrap().status();
            let expected_allowed = case.allowed.contains(&role);
            let ok = if expected_allowed {
                status.is_success()
            } else {
                status == 403
            };
            if !ok {
                failures.push(format!(
                    "{:?} {} {} → {status} (expected {})",
                    role,
                    case.method,
                    case.path,
                    if expected_allowed { "2xx" } else { "403" }
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Without credentials: the API answers 401 with a machine code, pages send to the login.
    for path in ["/api/v1/units", "/api/v1/me", "/api/v1/policy"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    for path in ["/units", "/policy", "/audit"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
    }
    // A wrong token is refused, not treated as anonymous.
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("hnth_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn r_sec_1_grants_cover_their_subtree_only() {
    let app = spawn_app().await;
    let token = &app.nk_admin_token;
    // Inside CT.NK: allowed.
    let created = app
        .client
        .post(app.url("/api/v1/units"))
        .bearer_auth(token)
        .json(&json!({"code": "CT.NK.ANCU", "name": "Ủy ban nhân dân phường An Cư", "kind": "people_committee", "level": "commune", "parent_code": "CT.NK"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // Outside: the department of the city is not theirs.
    let sttt = app.units["CT.STTTT"];
    let refused = app
        .client
        .put(app.url(&format!("/api/v1/units/{sttt}")))
        .bearer_auth(token)
        .json(&json!({"code": "CT.STTTT", "name": "X", "kind": "department", "level": "city", "parent_code": "CT.UBND"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Vai trò"),
        "Vietnamese by default: {body}"
    );
    // Moving a commune out of the district into the city is refused too.
    let tanan = app.units["CT.NK.TANAN"];
    let moved = app
        .client
        .put(app.url(&format!("/api/v1/units/{tanan}")))
        .bearer_auth(token)
        .json(&json!({"code": "CT.NK.TANAN", "name": "Phường Tân An", "kind": "people_committee", "level": "commune", "parent_code": "CT.UBND"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 403);
}
