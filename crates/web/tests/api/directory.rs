//! The directory through the API and the pages, login, import and export.

use hnth_domain::role::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn healthz_and_openapi_cover_every_api_route() {
    let app = spawn_app().await;
    let health: serde_json::Value = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/units",
        "/api/v1/units/{id}",
        "/api/v1/units/{id}/children",
        "/api/v1/endpoints",
        "/api/v1/endpoints/{id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/contacts/{id}/replace",
        "/api/v1/contacts/{id}/end",
        "/api/v1/import",
        "/api/v1/exports/contacts.xlsx",
        "/api/v1/exports/contacts.csv",
        "/api/v1/levels",
        "/api/v1/policy",
        "/api/v1/audit",
        "/api/v1/me",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    // And every documented GET without parameters answers (no undocumented 404s).
    for (path, item) in paths {
        if item.get("get").is_some() && !path.contains('{') {
            let status = app
                .as_role(Role::SystemAdmin, Method::GET, path)
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success(), "{path}: {status}");
        }
    }
}

#[tokio::test]
async fn r_dir_3_endpoint_crud_with_field_errors_and_pagination() {
    let app = spawn_app().await;
    let bad = app
        .as_role(Role::SystemAdmin, Method::POST, "/api/v1/endpoints")
        .json(&json!({"code": "CT.STTTT.P1", "unit_code": "CT.STTTT", "name": "", "terminal": "hologram", "network": "dedicated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid");
    let fields: Vec<_> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["name", "terminal"]);

    // Malformed JSON is a clear 400, not a plain-text rejection.
    let malformed = app
        .as_role(Role::SystemAdmin, Method::POST, "/api/v1/endpoints")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    for i in 0..3 {
        let created = app
            .as_role(Role::SystemAdmin, Method::POST, "/api/v1/endpoints")
            .json(&json!({"code": format!("CT.STTTT.P{i}"), "unit_code": "CT.STTTT", "name": format!("Phòng họp {i}"), "terminal": "room_system", "network": "dedicated", "seats": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let page: serde_json::Value = app
        .as_role(Role::Auditor, Method::GET, "/api/v1/endpoints?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["unit_code"], "CT.STTTT");

    // R-DIR-7 in can-tho: communes may not hold control rights.
    let refused = app
        .as_role(Role::SystemAdmin, Method::POST, "/api/v1/endpoints")
        .json(&json!({"code": "CT.NK.TANAN.P1", "unit_code": "CT.NK.TANAN", "name": "Phòng họp", "terminal": "room_system", "network": "wan", "control_right": true, "has_control_laptop": true, "vpn_token_issued": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"]["fields"][0]["code"],
        "control_level_not_allowed"
    );
}

#[tokio::test]
async fn import_with_one_bad_row_reports_the_line_and_stores_nothing() {
    let app = spawn_app().await;
    let csv = "code,unit_code,name,terminal,network,seats\n\
               CT.NK.P1,CT.NK,Phòng họp quận,room_system,dedicated,40\n\
               CT.NK.TANAN.P1,CT.NK.TANAN,Phòng họp phường,room_system,satellite,20\n";
    let response = app
        .as_role(Role::OperatingAdmin, Method::POST, "/api/v1/import")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "import_rejected");
    assert_eq!(body["error"]["fields"][0]["line"], 3);
    assert_eq!(body["error"]["fields"][0]["field"], "network");
    let page: serde_json::Value = app
        .as_role(Role::OperatingAdmin, Method::GET, "/api/v1/endpoints")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0, "nothing of a rejected file is stored");

    let fixed = csv.replace("satellite", "wan");
    let response = app
        .as_role(Role::OperatingAdmin, Method::POST, "/api/v1/import")
        .header("content-type", "text/csv")
        .body(fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"kind": "endpoints", "created": 2, "updated": 0})
    );
}

#[tokio::test]
async fn r_dir_4_appendix_ii_xlsx_opens_in_a_real_reader() {
    use calamine::{Reader, Xlsx};
    let app = spawn_app().await;
    for (role, name) in [
        ("leader", "Nguyễn Văn An"),
        ("main_technician", "Trần Thị Bình"),
        ("support_technician", "Lê Văn Cường"),
    ] {
        let response = app
            .as_role(Role::SystemAdmin, Method::POST, "/api/v1/contacts")
            .json(&json!({"unit_code": "CT.STTTT", "role": role, "full_name": name, "position": "Chuyên viên", "phone": "0292 3820 123", "email": "a@cantho.gov.vn"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let response = app
        .as_role(Role::Auditor, Method::GET, "/api/v1/exports/contacts.xlsx")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".xlsx"));
    let bytes = response.bytes().await.unwrap();
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = workbook.worksheet_range("Phu luc II").unwrap();
    let text = |r: usize, c: usize| range.get((r, c)).map(|v| v.to_string()).unwrap_or_default();
    assert_eq!(text(0, 0), "PHỤ LỤC II");
    assert_eq!(text(5, 3), "1. Cán bộ lãnh đạo đơn vị");
    assert_eq!(text(6, 3), "Họ tên");
    // Rows follow the tree: CT.UBND, then its children by name (Sở…, UBND quận…), then CT.VNPT.
    let row = (7..range.height())
        .find(|r| text(*r, 1) == "CT.STTTT")
        .expect("the department has a row");
    assert_eq!(text(row, 3), "Nguyễn Văn An");
    assert_eq!(text(row, 7), "Trần Thị Bình");
    assert_eq!(text(row, 11), "Lê Văn Cường");
    assert_eq!(text(7, 1), "CT.UBND");

    let csv = app
        .as_role(Role::Auditor, Method::GET, "/api/v1/exports/contacts.csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("Nguyễn Văn An"));
}

#[tokio::test]
async fn r_sec_2_login_cookie_and_lockout() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Đăng nhập"));

    let ok = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("username", "auditor"),
            ("password", PASSWORD),
            ("next", "/units"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Max-Age"),
        "{cookie}"
    );
    let units = app.client.get(app.url("/units")).send().await.unwrap();
    assert_eq!(units.status(), 200);
    assert!(units
        .text()
        .await
        .unwrap()
        .contains("Ủy ban nhân dân thành phố Cần Thơ"));
    app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(
        app.client
            .get(app.url("/units"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );

    // Five wrong passwords lock the account, even for the right password afterwards.
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..5 {
        let response = fresh
            .post(app.url("/login"))
            .form(&[("username", "approver"), ("password", "sai")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let locked = fresh
        .post(app.url("/login"))
        .form(&[("username", "approver"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 401);
    assert!(locked.text().await.unwrap().contains("tạm khóa"));
    let audit = app
        .store
        .audit_records(hnth_store::Page::default())
        .await
        .unwrap();
    assert!(audit
        .items
        .iter()
        .any(|r| r.action == "auth.lockout" && r.subject == "user:approver"));
}

#[tokio::test]
async fn page_forms_show_errors_next_to_fields_and_store_nothing() {
    let app = spawn_app().await;
    app.client
        .post(app.url("/login"))
        .form(&[("username", "system_admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let sttt = app.units["CT.STTTT"];
    let response = app
        .client
        .post(app.url(&format!("/units/{sttt}/edit")))
        .form(&[
            ("code", "CT.STTTT"),
            ("name", "Sở mới"),
            ("kind", "department"),
            ("level", "city"),
            ("parent_code", "CT.UBND"),
            ("email", "khong-hop-le"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("aria-invalid"), "the field is marked");
    assert!(
        html.contains("Địa chỉ thư điện tử không hợp lệ"),
        "the message is in Vietnamese"
    );
    assert_eq!(
        app.store.unit(sttt).await.unwrap().name,
        "Sở Thông tin và Truyền thông",
        "nothing stored"
    );

    // English after switching the language.
    app.client
        .post(app.url("/lang"))
        .form(&[("lang", "en"), ("next", "/units")])
        .send()
        .await
        .unwrap();
    let html = app
        .client
        .get(app.url("/units"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Unit tree"));
}
