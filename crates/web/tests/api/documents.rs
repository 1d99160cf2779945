//! Documents of a session (R-REG-9) and the live event stream of the session page, through
//! the real server: upload by the host, the deadline and the late reason, the circulation
//! scope, classified sessions, notices to the invitees, removal with its audit record.

use std::time::Duration;

use hnth_domain::calendar::WorkCalendar;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::sessions::{
    body, far_working_day, json_of, province, register_approved, soon, Province,
};

fn file_form(name: &str, bytes: &[u8], late_reason: Option<&str>) -> Form {
    let form = Form::new().part(
        "file",
        Part::bytes(bytes.to_vec()).file_name(name.to_string()),
    );
    match late_reason {
        Some(reason) => form.text("late_reason", reason.to_string()),
        None => form,
    }
}

async fn upload(p: &Province, who: &str, id: i64, form: Form) -> reqwest::Response {
    p.call(
        who,
        Method::POST,
        &format!("/api/v1/sessions/{id}/documents"),
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

/// The session page as `who` sees it.
async fn page_text(p: &Province, who: &str, id: i64) -> String {
    p.call(who, Method::GET, &format!("/sessions/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn create(p: &Province, registration: Value) -> i64 {
    let created = p
        .call("thuky", Method::POST, "/api/v1/sessions")
        .json(&registration)
        .send()
        .await
        .unwrap();
    json_of(created, StatusCode::CREATED).await[0]["id"]
        .as_i64()
        .unwrap()
}

/// Reads the event stream until an event mentions `what`, for at most 10 seconds.
async fn wait_for_event(stream: &mut reqwest::Response, seen: &mut String, what: &str) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains(what) {
            match stream.chunk().await.unwrap() {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                None => panic!("the event stream ended; got: {seen}"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no `{what}` event within 10 s; got: {seen}");
}

#[tokio::test]
async fn r_reg_9_documents_reach_the_invitees_within_scope_and_the_page_hears_it_live() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    let registration = body(
        &p,
        "UB",
        &["HUYEN", "HUYEN2"],
        far_working_day(&calendar, 0),
        90,
    );
    let id = register_approved(&p, registration).await;

    // The host's page listens to the session's events.
    let mut stream = p
        .call("thuky", Method::GET, &format!("/sessions/{id}/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut seen = String::new();

    // In time: accepted, not late, with the deadline of 1 working day (CT) recorded.
    let content = "Báo cáo tình hình phòng chống thiên tai năm 2026".as_bytes();
    let added = upload(
        &p,
        "thuky",
        id,
        file_form("Báo cáo PCTT.pdf", content, None),
    )
    .await;
    let added = json_of(added, StatusCode::CREATED).await;
    assert_eq!(added["file_name"], "Báo cáo PCTT.pdf");
    assert_eq!(added["content_type"], "application/pdf");
    assert_eq!(added["late"], false);
    assert_eq!(added["size"], content.len());
    assert!(added["due_at"].is_string());
    let document = added["id"].as_i64().unwrap();
    wait_for_event(&mut stream, &mut seen, "document.added").await;

    // An invited district reads and downloads it, under its Vietnamese name, byte for byte.
    let listed = p
        .call(
            "diemcau",
            Method::GET,
            &format!("/api/v1/sessions/{id}/documents"),
        )
        .send()
        .await
        .unwrap();
    let listed = json_of(listed, StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["sha256"], added["sha256"]);
    let downloaded = p
        .call(
            "diemcau",
            Method::GET,
            &format!("/api/v1/sessions/{id}/documents/{document}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    let disposition = downloaded.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20PCTT.pdf"),
        "{disposition}"
    );
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), content);

    // The invitees were told, in the same transaction as the upload.
    let inbox = p
        .call("diemcau", Method::GET, "/api/v1/notifications")
        .send()
        .await
        .unwrap();
    let inbox = json_of(inbox, StatusCode::OK).await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "session.document"
                && n["body"].as_str().unwrap().contains("Báo cáo PCTT.pdf")),
        "{inbox:#}"
    );

    // Outside the circulation scope: the carrier sees the published session, not its papers.
    let outside = p
        .call(
            "vnpt",
            Method::GET,
            &format!("/api/v1/sessions/{id}/documents/{document}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    let session_page = page_text(&p, "vnpt", id).await;
    assert!(!session_page.contains("Báo cáo PCTT.pdf"));

    // Only the host uploads and removes.
    let by_invitee = upload(&p, "diemcau", id, file_form("x.pdf", b"x", None)).await;
    assert_eq!(by_invitee.status(), StatusCode::FORBIDDEN);
    let removal = p
        .call(
            "diemcau",
            Method::DELETE,
            &format!("/api/v1/sessions/{id}/documents/{document}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removal.status(), StatusCode::FORBIDDEN);

    // Bad files get reasons, in Vietnamese by default, and nothing is stored.
    let script = upload(&p, "thuky", id, file_form("trang.html", b"<script>", None)).await;
    let script = json_of(script, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        script["error"]["fields"][0]["code"], "file_type",
        "{script:#}"
    );
    assert!(script["error"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Định dạng"));
    let empty = upload(&p, "thuky", id, file_form("rong.pdf", b"", None)).await;
    let empty = json_of(empty, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(empty["error"]["fields"][0]["code"], "empty");

    // An invitee's answer reaches the host's open page too.
    let detail = json_of(
        p.call("thuky", Method::GET, &format!("/api/v1/sessions/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let invitation = detail["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["endpoint_id"] == p.endpoints["HUYEN"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let answered = p
        .call("diemcau", Method::POST, &format!("/api/v1/invitations/{invitation}/answer"))
        .json(&json!({ "answer": "confirm", "chair_name": "Lê Văn Cường", "chair_title": "Chủ tịch UBND huyện" }))
        .send()
        .await
        .unwrap();
    json_of(answered, StatusCode::OK).await;
    wait_for_event(&mut stream, &mut seen, "invitation.answered").await;

    // The host removes the document; the trail keeps its name and hash.
    let removed = p
        .call(
            "thuky",
            Method::DELETE,
            &format!("/api/v1/sessions/{id}/documents/{document}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    wait_for_event(&mut stream, &mut seen, "document.removed").await;
    let listed = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/documents"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(listed, StatusCode::OK).await, json!([]));
    let gone = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/documents/{document}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn r_reg_9_a_late_document_needs_a_reason_and_is_marked_late() {
    let p = province("can-tho").await;
    // A draft an hour from now: documents are already past CT's 1 working day.
    let id = create(&p, body(&p, "UB", &["HUYEN"], soon(), 20)).await;
    let refused = upload(&p, "thuky", id, file_form("ke-hoach.docx", b"PK..", None)).await;
    let refused = json_of(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    let field = &refused["error"]["fields"][0];
    assert_eq!(field["rule"], "R-REG-9", "{refused:#}");
    assert_eq!(field["code"], "documents_lead_time");
    let message = field["message"].as_str().unwrap();
    assert!(message.contains("1 ngày làm việc"), "{message}");
    assert!(message.contains("ghi chú lý do"), "{message}");
    let listed = p
        .call(
            "thuky",
            Method::GET,
            &format!("/api/v1/sessions/{id}/documents"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(listed, StatusCode::OK).await,
        json!([]),
        "nothing half-stored"
    );

    let accepted = upload(
        &p,
        "thuky",
        id,
        file_form(
            "ke-hoach.docx",
            b"PK..",
            Some("Chủ tịch bổ sung nội dung chiều nay"),
        ),
    )
    .await;
    let accepted = json_of(accepted, StatusCode::CREATED).await;
    assert_eq!(accepted["late"], true);
    assert_eq!(
        accepted["late_reason"],
        "Chủ tịch bổ sung nội dung chiều nay"
    );

    // The page shows it with its late mark and reason.
    let page = page_text(&p, "thuky", id).await;
    assert!(page.contains("ke-hoach.docx"));
    assert!(page.contains("Chủ tịch bổ sung nội dung chiều nay"));
    assert!(page.contains("id=\"document-upload\""));
}

#[tokio::test]
async fn r_sec_7_a_classified_session_takes_no_documents() {
    let p = province("can-tho").await;
    let calendar = WorkCalendar::with_shipped();
    let mut registration = body(&p, "UB", &["HUYEN"], far_working_day(&calendar, 2), 60);
    registration["classification"] = json!("mat");
    let id = create(&p, registration).await;
    let refused = upload(&p, "thuky", id, file_form("mat.pdf", b"%PDF", None)).await;
    let refused = json_of(refused, StatusCode::CONFLICT).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("văn thư mật"),
        "{refused:#}"
    );
    let page = page_text(&p, "thuky", id).await;
    assert!(page.contains("id=\"documents-closed\""));
    assert!(!page.contains("id=\"document-upload\""));
}
