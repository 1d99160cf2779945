//! End to end as a person: the real `hnth serve --demo` binary, Debian's headless Chromium
//! driven through chromedriver (WebDriver over HTTP): a login, the unit tree, then a session
//! registered, approved, given a document, answered (seen live on the open page) and
//! cancelled, with screenshots.
//!
//! The test command of the README installs `chromium` and `chromium-driver`; without them
//! this test fails rather than silently passing.

use serde_json::{json, Value};

mod common;
use common::{serve, token, Browser};

#[tokio::test]
async fn r_dir_2_a_person_logs_in_and_walks_the_unit_tree_in_chromium() {
    let data = tempfile::tempdir().unwrap();
    let (_server, address) = serve(&data.path().join("data"));
    let (_chromedriver, chromedriver) = common::chromedriver();
    let driver = Browser::open(&reqwest::Client::new(), &chromedriver).await;

    driver.goto(&format!("{address}/units")).await;
    // Not logged in: the login page, in Vietnamese.
    driver
        .wait_for("the login page", |page| page.contains("Đăng nhập"))
        .await;
    driver.type_into("input[name=username]", "admin").await;
    driver.type_into("input[name=password]", "hnth-demo").await;
    driver.click("button.primary").await;
    let tree = driver
        .wait_for("the unit tree after login", |page| {
            page.contains("id=\"unit-tree\"")
        })
        .await;
    assert!(tree.contains("Ủy ban nhân dân thành phố Cần Thơ"));
    assert!(tree.contains("Thành ủy Cần Thơ"));
    let shot = driver.screenshot("unit-tree.png").await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real rendering, not a blank page"
    );

    // Down the tree: city → district → commune, by clicking the links.
    driver
        .click("#unit-tree a[href^='/units/']:not([href$='new'])")
        .await;
    driver
        .goto(&format!("{address}/units?q=quan%20ninh%20kieu"))
        .await;
    driver.click("#unit-tree a").await;
    driver
        .wait_for("the district with its communes", |page| {
            page.contains("Ninh Kiều") && page.contains("id=\"children\"")
        })
        .await;
    driver.click("#children a").await;
    driver
        .wait_for("the commune with its endpoint", |page| {
            page.contains("Phòng họp trực tuyến UBND")
        })
        .await;
    driver.screenshot("commune.png").await;

    // R-REG-1: the host unit's secretary registers a session in the form and sends it for
    // approval; the page shows it awaiting the approver, with the answer deadline.
    driver.switch_user("thuky").await;
    driver.goto(&format!("{address}/sessions/new")).await;
    driver
        .wait_for("the registration form", |page| {
            page.contains("id=\"session-form\"")
        })
        .await;
    let calendar = hnth_domain::calendar::WorkCalendar::with_shipped();
    let day = calendar.add_working_days(hnth_web::today(), 20);
    driver
        .type_into("input[name=title]", "Giao ban công tác chuyển đổi số")
        .await;
    driver
        .type_into(
            "input[name=date]",
            &format!("{:02}/{:02}/{}", day.day(), day.month(), day.year()),
        )
        .await;
    driver.type_into("input[name=start_time]", "09:00").await;
    driver.type_into("input[name=end_time]", "10:30").await;
    driver
        .type_into("input[name=chair_name]", "Nguyễn Văn An")
        .await;
    driver
        .type_into("input[name=contact_phone]", "0292 3820 578")
        .await;
    // Ninh Kiều district, whose endpoint operator answers below.
    let ticked = driver
        .run(
            "const box = [...document.querySelectorAll('input[name=member_endpoint_ids]')]
               .find(input => input.parentElement.textContent.includes('Ninh Kiều'));
             box.click(); return box.checked;",
        )
        .await;
    assert_eq!(ticked, json!(true), "Ninh Kiều's endpoint is offered");
    driver.screenshot("session-form.png").await;
    driver.click("button[name=intent][value=submit]").await;
    let page = driver
        .wait_for("the registration awaiting approval", |page| {
            page.contains("id=\"status\"") && page.contains("Chờ phê duyệt")
        })
        .await;
    assert!(
        page.contains("id=\"answer-due\""),
        "the answer deadline is shown"
    );
    driver.screenshot("session.png").await;
    let session_url = driver
        .call(reqwest::Method::GET, "/url", None)
        .await
        .as_str()
        .unwrap()
        .to_string();
    let session_id: i64 = session_url.rsplit('/').next().unwrap().parse().unwrap();

    // R-REG-4: the approver approves it on the page.
    driver.switch_user("pheduyet").await;
    driver.goto(&session_url).await;
    driver
        .wait_for("the approval form", |page| page.contains("id=\"decide\""))
        .await;
    driver.click("#decide button[value=approve]").await;
    driver
        .wait_for("the approved session", |page| {
            page.contains("Đã phê duyệt") && page.contains("id=\"invitations\"")
        })
        .await;

    // R-REG-9: the secretary attaches the plan; the page then listens for changes.
    driver.switch_user("thuky").await;
    driver.goto(&session_url).await;
    let document = data.path().join("Kế hoạch tổ chức hội nghị.pdf");
    std::fs::write(&document, b"%PDF-1.4\n% hnth browser test\n").unwrap();
    driver
        .type_into(
            "#document-upload input[type=file]",
            document.to_str().unwrap(),
        )
        .await;
    driver.click("#document-upload button").await;
    driver
        .wait_for("the uploaded document", |page| {
            page.contains("id=\"document-list\"") && page.contains("Kế hoạch tổ chức hội nghị.pdf")
        })
        .await;
    driver
        .until(
            "the live stream is open",
            "return document.getElementById('live-note').hidden",
            |hidden| hidden == &json!(false),
        )
        .await;
    driver.run("window.hnthNotReloaded = 42").await;

    // R-REG-7: Ninh Kiều confirms elsewhere; the secretary's open page shows it without a
    // reload (the marker set in the page survives).
    let token = token(&data.path().join("data"), "diemcau");
    let api = reqwest::Client::new();
    let detail: Value = api
        .get(format!("{address}/api/v1/sessions/{session_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invitation = detail["invitations"][0]["id"].as_i64().unwrap();
    let answered = api
        .post(format!("{address}/api/v1/invitations/{invitation}/answer"))
        .bearer_auth(&token)
        .json(&json!({ "answer": "confirm", "chair_name": "Trần Văn Bình", "chair_title": "Chủ tịch UBND quận" }))
        .send()
        .await
        .unwrap();
    assert!(
        answered.status().is_success(),
        "{}",
        answered.text().await.unwrap()
    );
    let live = driver
        .wait_for("the answer shown live", |page| {
            page.contains("Đã xác nhận 1") && page.contains("Trần Văn Bình")
        })
        .await;
    assert!(live.contains("Kế hoạch tổ chức hội nghị.pdf"));
    assert_eq!(
        driver.run("return window.hnthNotReloaded").await,
        json!(42),
        "the page was reloaded instead of updated"
    );
    driver.run("window.scrollTo(0, 0)").await;
    driver.screenshot("session-live.png").await;

    // R-REG-6: the secretary cancels with a reason; the page says so.
    driver
        .type_into(".cancel-form input[name=reason]", "Lãnh đạo bận đột xuất")
        .await;
    driver.click(".cancel-form button").await;
    driver
        .wait_for("the cancelled session", |page| page.contains("Đã hủy"))
        .await;
    driver.close().await;
}
