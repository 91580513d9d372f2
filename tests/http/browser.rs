//! The web UI in a real headless Chromium: an employee signs in, asks, watches the answer stream,
//! opens a cited passage, meets an abstention, switches to Korean and a phone width, rates an
//! answer; a document carrying `<script>` stays inert; an admin uploads a document in the admin
//! page and it becomes answerable. Screenshots of the main screens go to tests/artifacts/.

use crate::common;

use crate::common::webdriver::{Driver, Session, ENTER};
use crate::common::{client, start_app, TestApp, FIXTURES};
use serde_json::json;

const PASSWORD: &str = "browser test password";

async fn create_user(app: &TestApp, name: &str, role: &str) {
    let r = client()
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": name, "password": PASSWORD, "role": role}))
        .send()
        .await
        .expect("create user");
    assert!(r.status() == 201 || r.status() == 409, "{}", r.status());
}

async fn sign_in(s: &Session, app: &TestApp, path: &str, user: &str) {
    s.goto(&app.url(path)).await;
    let name = s.wait_for("#login-user", 30).await;
    s.type_into(&name, user).await;
    let pass = s.wait_for("#login-pass", 5).await;
    s.type_into(&pass, PASSWORD).await;
    s.click_css("#login-submit", 5).await;
}

/// Ask through the composer (Enter sends) and wait for the finished assistant message.
async fn ask(s: &Session, question: &str) -> String {
    let before = s.find_all(".message.assistant").await.len();
    let input = s.wait_for("#question", 30).await;
    s.type_into(&input, question).await;
    s.type_into(&input, ENTER).await;
    let selector = format!(
        ".message.assistant:nth-of-type({}) .answer-text:not(.streaming)",
        2 * (before + 1)
    );
    let done = s.wait_for(&selector, 240).await;
    s.text(&done).await
}

#[tokio::test]
async fn employees_and_admins_use_the_web_ui_in_chromium() {
    // Its own app: the documents it uploads stay out of the other modules' answers.
    let app = &start_app(|_| {}, FIXTURES);
    create_user(app, "emma", "employee").await;
    create_user(app, "adam", "admin").await;
    // A document whose text carries markup that must never run in the page.
    // Readers drop real tags; escaped ones become literal `<script>` text in the passage, which
    // the page must show as text.
    let hostile = "<html><head><title>Visitor Badges</title></head><body><h1>Visitor Badges</h1>\
        <p>Visitors wear the orange visitor badge at all times &lt;script&gt;window.__xss = 1&lt;/script&gt; \
        and return it at reception when they leave. &lt;img src=x onerror=\"window.__xss = 2\"&gt;</p>\
        <script>window.__xss = 3</script></body></html>";
    let (status, body) =
        common::upload(app, "visitor-badges.html", hostile.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{body:#}");

    let driver = Driver::start().await;
    let s = driver.session("en-US").await;
    sign_in(&s, app, "/", "emma").await;
    s.wait_for("#question", 30).await;
    // Count the updates of the streaming answer, to see tokens arrive one by one.
    s.run(
        "window.__updates = 0; new MutationObserver(() => { const a = document.querySelector('.answer-text.streaming'); \
         if (a && !a.querySelector('.muted')) window.__updates++; }).observe(document.getElementById('messages'), \
         {subtree: true, childList: true, characterData: true}); return true;",
    )
    .await;
    let answer = ask(&s, "What is the TTS bug bounty program?").await;
    assert!(answer.to_lowercase().contains("bug bounty"), "{answer}");
    let updates = s.run("return window.__updates").await.as_u64().unwrap_or(0);
    assert!(
        updates >= 3,
        "the answer streamed in pieces ({updates} updates)"
    );
    s.wait_for(".sources .chip", 10).await;
    s.screenshot("chat-answer.png").await;

    // A citation opens the passage, its document and section, the quote highlighted.
    s.click_css(".sources .chip", 10).await;
    let dialog = s.wait_for("#passage-dialog[open]", 10).await;
    let title = s.text(&s.wait_for("#passage-title", 5).await).await;
    assert!(title.contains("Bug Bounty"), "{title}");
    s.wait_for("#passage-text mark", 10).await;
    let href = s
        .attribute(&s.wait_for("#passage-original", 5).await, "href")
        .await
        .unwrap_or_default();
    assert!(href.contains("/original"), "{href}");
    assert!(s.displayed(&dialog).await);
    s.screenshot("passage.png").await;
    s.click_css("#passage-dialog .icon-button", 5).await;

    // The original opens for a reader of the document.
    let href = if href.starts_with('/') {
        app.url(&href)
    } else {
        href
    };
    let r = reqwest::get(&href).await.expect("original without cookie");
    assert_eq!(r.status(), 401, "the original needs a signed-in reader");

    // An unanswerable question looks different.
    s.click_css("#new-conversation", 5).await;
    // Markup typed by the user is shown as typed, never interpreted.
    let typed = "What is the capital of France? <img src=x onerror=\"window.__xss = 4\"><script>window.__xss = 5</script>";
    let abstained = ask(&s, typed).await;
    let message = s.wait_for(".message.assistant.abstained", 10).await;
    assert!(
        s.text(&message)
            .await
            .contains("Not found in the regulations"),
        "{abstained}"
    );
    let bubble = s.text(&s.wait_for(".message.user .bubble", 5).await).await;
    assert_eq!(bubble, typed);
    let inert = s
        .run("return window.__xss === undefined && document.querySelectorAll('#app script, #app img:not(.brand img)').length === 0")
        .await;
    assert_eq!(inert, true, "typed markup was inserted as HTML");
    s.screenshot("abstained.png").await;

    // The hostile document is quoted as text; nothing in it runs.
    s.click_css("#new-conversation", 5).await;
    ask(
        &s,
        "What colour is the visitor badge and where do I return it?",
    )
    .await;
    if !s.find_all(".sources .chip").await.is_empty() {
        s.click_css(".sources .chip", 5).await;
        s.wait_for("#passage-dialog[open]", 10).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let inert = s
        .run(
            "return window.__xss === undefined && \
             document.querySelectorAll('#messages script, #messages img, dialog script, dialog img').length === 0",
        )
        .await;
    assert_eq!(
        inert, true,
        "markup from a document ran or was inserted as HTML"
    );
    s.run(
        "const d = document.getElementById('passage-dialog'); if (d.open) d.close(); return true;",
    )
    .await;

    // History, feedback.
    let conversations = s.find_all("#conversations .conversation").await;
    assert!(
        conversations.len() >= 3,
        "{} conversations",
        conversations.len()
    );
    s.click_nth("#conversations .conversation", -1).await;
    s.click_css(".thumb[data-rating='down']", 10).await;
    s.wait_for(".feedback-form:not([hidden]) textarea", 10)
        .await;
    let (_, feedback) = common::get_json(app, "/api/v1/feedback?rating=down").await;
    assert!(
        feedback["feedback"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |f| f["actor"].as_str().unwrap_or_default().starts_with("user:")
                    && f["question"] == "What is the TTS bug bounty program?"
            ),
        "{feedback:#}"
    );

    // Korean UI text, and a phone-width layout with the conversation list behind a menu.
    s.click_css("#lang-switch", 5).await;
    let placeholder = s
        .attribute(&s.wait_for("#question", 5).await, "placeholder")
        .await
        .unwrap_or_default();
    assert!(placeholder.contains("질문"), "{placeholder}");
    s.click_css("#new-conversation", 5).await;
    ask(&s, "근로계약을 맺을 때 회사가 꼭 알려줘야 하는 근로조건은?").await;
    s.screenshot("korean.png").await;
    s.resize(390, 844).await;
    let menu = s.wait_for("#menu", 5).await;
    assert!(s.displayed(&menu).await, "the menu button shows on a phone");
    assert!(!s.displayed(&s.wait_for("#sidebar", 5).await).await);
    s.screenshot("phone.png").await;
    s.click(&menu).await;
    assert!(s.displayed(&s.wait_for("#sidebar", 5).await).await);
    s.screenshot("phone-menu.png").await;
    s.run("localStorage.clear(); return true;").await;
    s.close().await;

    // The admin uploads a document in the admin page; it becomes answerable.
    let s = driver.session("en-US").await;
    sign_in(&s, app, "/admin", "adam").await;
    s.wait_for("#dropzone", 30).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote-work.md");
    std::fs::write(
        &file,
        "# Remote Work\n\n## Fridays\n\nEmployees may work remotely on Fridays from the Tanglewood annex or from home, after telling their manager by Thursday noon.\n",
    )
    .unwrap();
    s.run(
        "document.getElementById('upload-files').classList.remove('visually-hidden'); return true;",
    )
    .await;
    let input = s.wait_for("#upload-files", 5).await;
    s.type_into(&input, file.to_str().unwrap()).await;
    s.wait_for("#documents tr[data-source='remote-work.md']", 240)
        .await;
    // The upload's status line follows its job to the end.
    let status = s.wait_for("#upload-status[data-state='done']", 30).await;
    assert_eq!(s.text(&status).await, "done 1/1");
    s.screenshot("admin-documents.png").await;
    // The hostile document's passages, shown to the admin as text.
    let doc_id = body["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, chunks) = common::get_json(app, &format!("/api/v1/documents/{doc_id}/chunks")).await;
    let stored = chunks["chunks"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    s.click_css(
        "#documents tr[data-source='visitor-badges.html'] td.actions button",
        5,
    )
    .await;
    let shown = s
        .text(&s.wait_for("#admin-dialog[open] .chunk-text", 10).await)
        .await;
    assert!(shown.contains("orange visitor badge"), "{shown}");
    assert_eq!(
        shown.trim(),
        stored.trim(),
        "the passage is shown as stored, as text"
    );
    let inert = s
        .run("return window.__xss === undefined && document.querySelectorAll('dialog script, dialog img').length === 0")
        .await;
    assert_eq!(inert, true, "markup from a document ran in the admin page");
    s.screenshot("admin-chunks.png").await;
    s.run("document.getElementById('admin-dialog').close(); return true;")
        .await;
    s.click_css("#tab-users", 5).await;
    s.wait_for("#users table", 10).await;
    s.screenshot("admin-users.png").await;
    s.goto(&app.url("/")).await;
    let answer = ask(&s, "Can I work from home on Fridays?").await;
    let page = s.text_of_page().await;
    assert!(
        page.contains("Remote Work"),
        "the new document is cited or named: {answer}\n{page}"
    );
    s.close().await;
}
