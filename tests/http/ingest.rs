//! Documents as admins have them: every format chunked with its structure, broken files refused
//! with a reason, versions swapped without stale answers, background jobs retried and resumed, a
//! watched folder kept in sync.

use crate::common;

use std::time::Duration;

use crate::common::fixtures::{docx, hwpx, zip_bomb_docx, H, W};
use crate::common::{client, get_json as get, post_json as post, start_app, upload, TestApp};
use serde_json::{json, Value};

/// Upload and return the document's chunks (section, page, text).
async fn chunks_of(app: &TestApp, name: &str, bytes: Vec<u8>) -> Vec<Value> {
    let (status, v) = upload(app, name, bytes).await;
    assert_eq!(status, 200, "{v:#}");
    let id = v["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no document: {v:#}"))
        .to_string();
    let (_, c) = get(app, &format!("/api/v1/documents/{id}/chunks")).await;
    c["chunks"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(chunks: &'a [Value], needle: &str) -> &'a Value {
    chunks
        .iter()
        .find(|c| c["text"].as_str().unwrap_or_default().contains(needle))
        .unwrap_or_else(|| panic!("no chunk with {needle:?} in {chunks:#?}"))
}

fn no_app_settings(_: &mut regula::config::Settings) {}

fn app() -> &'static TestApp {
    static APP: std::sync::OnceLock<TestApp> = std::sync::OnceLock::new();
    APP.get_or_init(|| start_app(no_app_settings, &[]))
}

#[tokio::test]
async fn docx_keeps_headings_lists_and_tables() {
    let file = docx(
        "Travel Policy",
        &[
            W::H(1, "1. Booking"),
            W::P("All trips are booked through the travel desk at least 14 days ahead."),
            W::H(2, "1.1 Hotels"),
            W::Item("Hotels cost up to 150 euros per night."),
            W::Item("Breakfast is included in the rate."),
            W::Table(&[
                &["Grade", "Daily allowance"],
                &["Staff", "40 euros"],
                &["Manager", "55 euros"],
            ]),
            W::H(1, "2. Claims"),
            W::P("Claims are filed within 30 days of return."),
        ],
    );
    let chunks = chunks_of(app(), "travel.docx", file).await;
    let hotels = find(&chunks, "150 euros");
    assert_eq!(
        hotels["section"], "Travel Policy > 1. Booking > 1.1 Hotels",
        "{hotels:#}"
    );
    let row = find(&chunks, "Manager");
    assert!(
        row["text"]
            .as_str()
            .unwrap()
            .contains("Grade: Manager; Daily allowance: 55 euros"),
        "{row:#}"
    );
    assert_eq!(
        find(&chunks, "30 days")["section"],
        "Travel Policy > 2. Claims"
    );
}

/// Word keeps text in places a paragraph walk can miss: hyperlink runs (with a page break
/// inside), one-cell tables, tables inside tables, text boxes (written twice: the drawing and
/// its VML fallback). Every word must reach the passages.
#[tokio::test]
async fn docx_text_in_hyperlinks_text_boxes_and_nested_tables_is_kept() {
    let run = |t: &str| format!("<w:r><w:t xml:space=\"preserve\">{t}</w:t></w:r>");
    let hyperlink = format!(
        "<w:p>{}<w:hyperlink r:id=\"rId9\" w:history=\"1\"><w:r><w:rPr><w:rStyle w:val=\"Hyperlink\"/></w:rPr><w:t>this hyperlink</w:t></w:r><w:r><w:br w:type=\"page\"/></w:r><w:r><w:lastRenderedPageBreak/><w:t xml:space=\"preserve\"> and another</w:t></w:r></w:hyperlink>{}</w:p>",
        run("Page break in "),
        run(" one here about the Ravelin portal.")
    );
    let field_link = format!(
        "<w:p>{}<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> HYPERLINK \"https://intranet/forms\" </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>{}<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>{}</w:p>",
        run("Claims use the "),
        run("Marlinspike expense form"),
        run(" on the intranet.")
    );
    let one_cell = format!(
        "<w:tbl><w:tblPr/><w:tr><w:tc><w:tcPr/><w:p>{}</w:p></w:tc></w:tr></w:tbl>",
        run("Note: the Quokkaville office closes at six.")
    );
    let nested = format!(
        "<w:tbl><w:tblPr/><w:tr><w:tc><w:p>{}</w:p></w:tc><w:tc><w:tbl><w:tblPr/><w:tr><w:tc><w:p>{}</w:p></w:tc><w:tc><w:p>{}</w:p></w:tc></w:tr></w:tbl><w:p/></w:tc></w:tr><w:tr><w:tc><w:p>{}</w:p></w:tc><w:tc><w:p>{}</w:p></w:tc></w:tr></w:tbl>",
        run("Region"),
        run("Nested cell Tamarindo"),
        run("allowance 12 euros"),
        run("North"),
        run("Ravioli district")
    );
    let text_box = format!(
        "<w:p>{}<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wp:anchor><a:graphic><a:graphicData><wps:wsp><wps:txbx><w:txbxContent><w:p>{}</w:p></w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:rect><v:textbox><w:txbxContent><w:p>{}</w:p></w:txbxContent></v:textbox></v:rect></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>",
        run("Before the box."),
        run("Boxed: badges are renewed by the Zanzibar desk."),
        run("Boxed: badges are renewed by the Zanzibar desk.")
    );
    let file = docx(
        "Office Notes",
        &[
            W::H(1, "Office notes"),
            W::Raw(&hyperlink),
            W::Raw(&field_link),
            W::Raw(&one_cell),
            W::Raw(&nested),
            W::Raw(&text_box),
        ],
    );
    let chunks = chunks_of(app(), "office-notes.docx", file).await;
    let all: String = chunks
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let flat = all.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Page break in this hyperlink",
        "and another one here about the Ravelin portal",
        "Claims use the Marlinspike expense form on the intranet",
        "the Quokkaville office closes at six",
        "Nested cell Tamarindo",
        "allowance 12 euros",
        "Ravioli district",
        "Before the box",
        "badges are renewed by the Zanzibar desk",
    ] {
        assert!(flat.contains(needle), "{needle:?} is missing from:\n{all}");
    }
    assert_eq!(
        flat.matches("Zanzibar").count(),
        1,
        "the text box once, not twice:\n{all}"
    );
    assert!(
        !flat.contains("HYPERLINK"),
        "field codes are not text:\n{all}"
    );
}

/// Hangul drawing objects (a rectangle with text, a text box) hold text too.
#[tokio::test]
async fn hwpx_text_in_drawing_objects_is_kept() {
    let shape = r#"<hp:p id="0" paraPrIDRef="0" styleIDRef="0"><hp:run charPrIDRef="0"><hp:t>도형 앞 문장.</hp:t><hp:rect id="1"><hp:shapeComment>사각형입니다.</hp:shapeComment><hp:drawText lastWidth="100"><hp:subList><hp:p id="0" paraPrIDRef="0" styleIDRef="0"><hp:run charPrIDRef="0"><hp:t>상자 안: 출입증은 보안실에서 재발급한다.</hp:t></hp:run></hp:p></hp:subList></hp:drawText></hp:rect></hp:run></hp:p>"#;
    let file = hwpx(
        "사내 안내",
        &[&[
            H::Heading("제1조 (출입)"),
            H::Raw(shape),
            H::P("본문 문장입니다."),
        ]],
    );
    let chunks = chunks_of(app(), "notice.hwpx", file).await;
    let all: String = chunks
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "도형 앞 문장",
        "출입증은 보안실에서 재발급한다",
        "본문 문장입니다",
    ] {
        assert!(all.contains(needle), "{needle:?} is missing from:\n{all}");
    }
    assert!(
        !all.contains("사각형입니다"),
        "a shape's comment is not its text:\n{all}"
    );
}

#[tokio::test]
async fn hwpx_keeps_korean_articles_clauses_and_tables_across_sections() {
    let file = hwpx(
        "취업규칙",
        &[
            &[
                H::Heading("제1장 총칙"),
                H::P("제1조(목적) 이 규칙은 직원의 근무 조건을 정한다."),
                H::P("제2조(휴가) ① 직원은 연 15일의 유급휴가를 받는다."),
                H::P("② 휴가는 부서장의 승인을 받아 사용한다."),
                H::Table(&[&["구분", "일수"], &["경조휴가", "5일"]]),
            ],
            &[H::P("제3조(시행) 이 규칙은 2026년 1월 1일부터 시행한다.")],
        ],
    );
    let chunks = chunks_of(app(), "취업규칙.hwpx", file).await;
    let leave = find(&chunks, "15일");
    let section = leave["section"].as_str().unwrap();
    assert!(section.starts_with("취업규칙 > 제1장 총칙"), "{leave:#}");
    assert!(section.contains("제2조(휴가)"), "{leave:#}");
    assert!(find(&chunks, "경조휴가")["text"]
        .as_str()
        .unwrap()
        .contains("구분: 경조휴가; 일수: 5일"));
    // The second section comes after the first.
    let last = find(&chunks, "2026년");
    assert!(
        last["ordinal"].as_i64() > leave["ordinal"].as_i64(),
        "{chunks:#?}"
    );
    assert!(last["section"].as_str().unwrap().contains("제3조(시행)"));
}

#[tokio::test]
async fn html_main_text_without_scripts_or_navigation_and_euc_kr() {
    let page = r#"<!DOCTYPE html><html><head><title>Remote work</title>
        <script>document.write('tracking')</script></head><body>
        <nav><a href="/">Intranet home</a></nav>
        <main><h1>Remote work</h1><p>Employees may work remotely up to <b>two days</b> a week.</p>
        <h2>Equipment</h2><table><tr><th>Item</th><th>Budget</th></tr><tr><td>Monitor</td><td>200 dollars</td></tr></table>
        </main><footer>Copyright ACME</footer></body></html>"#;
    let chunks = chunks_of(app(), "remote.html", page.as_bytes().to_vec()).await;
    assert!(find(&chunks, "two days")["section"]
        .as_str()
        .unwrap()
        .starts_with("Remote work"));
    let row = find(&chunks, "Monitor");
    assert_eq!(row["section"], "Remote work > Equipment", "{row:#}");
    assert!(row["text"]
        .as_str()
        .unwrap()
        .contains("Item: Monitor; Budget: 200 dollars"));
    let all: String = chunks
        .iter()
        .map(|c| c["text"].as_str().unwrap_or_default())
        .collect();
    for gone in ["tracking", "Intranet home", "Copyright"] {
        assert!(!all.contains(gone), "{gone} leaked into {all}");
    }

    let (korean, _, _) = encoding_rs::EUC_KR.encode(
        "<html><head><meta charset=\"euc-kr\"><title>복무규정</title></head><body><h1>출근</h1><p>출근 시간은 오전 9시이다.</p></body></html>",
    );
    let chunks = chunks_of(app(), "복무규정.htm", korean.into_owned()).await;
    assert_eq!(find(&chunks, "오전 9시")["section"], "복무규정 > 출근");
}

#[tokio::test]
async fn pdf_running_headers_and_footers_are_removed_and_pages_kept() {
    let pages: Vec<Vec<String>> = [
        "Section 1 Working hours",
        "Section 2 Overtime",
        "Section 3 Holidays",
        "Section 4 Leave",
    ]
    .iter()
    .enumerate()
    .map(|(i, heading)| {
        vec![
            "ACME Corporation Internal Use Only".to_string(),
            heading.to_string(),
            format!(
                "Body of {heading} with rules number {} for all staff.",
                i + 11
            ),
            format!("Page {} of 4", i + 1),
        ]
    })
    .collect();
    let refs: Vec<Vec<&str>> = pages
        .iter()
        .map(|p| p.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    let chunks = chunks_of(app(), "handbook.pdf", common::make_pdf(&refs)).await;
    let overtime = find(&chunks, "Overtime with rules");
    assert_eq!(overtime["page"], 2, "{overtime:#}");
    for c in &chunks {
        let text = c["text"].as_str().unwrap();
        assert!(
            !text.contains("Internal Use Only") && !text.contains("of 4"),
            "{c:#}"
        );
    }
}

#[tokio::test]
async fn broken_files_get_a_reason_and_nothing_else_breaks() {
    let app = app();
    let good = common::make_pdf(&[&[
        "Article 1. Desks",
        "Desks are cleared every Friday evening.",
    ]]);
    let mut fuzzed = good.clone();
    for i in (40..fuzzed.len()).step_by(7) {
        fuzzed[i] = fuzzed[i].wrapping_mul(31).wrapping_add(7);
    }
    let truncated_pdf = good[..good.len() / 2].to_vec();
    // The same PDF declaring RC4 encryption with keys that do not open it.
    let encrypted = String::from_utf8_lossy(&good)
        .replace(
            "/Root 1 0 R >>",
            "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O (0123456789abcdef0123456789abcdef) /U (fedcba9876543210fedcba9876543210) /P -4 >> /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>",
        )
        .into_bytes();
    let full_docx = docx("Desk policy", &[W::P("Desks are cleared every Friday.")]);
    let truncated_docx = full_docx[..full_docx.len() / 2].to_vec();
    let mut big_html = String::from("<html><body>");
    while big_html.len() < 50 << 20 {
        big_html.push_str(
            "<p>Paragraph about the rules of the office kitchen and its many appliances.</p>\n",
        );
    }
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("truncated.pdf", truncated_pdf, 422, "PDF"),
        ("fuzzed.pdf", fuzzed, 422, "PDF"),
        ("encrypted.pdf", encrypted, 422, "PDF"),
        ("bomb.docx", zip_bomb_docx(), 413, "zip bomb"),
        ("truncated.docx", truncated_docx, 422, "zip"),
        (
            "garbage.md",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            422,
            "binary",
        ),
        (
            "old.doc",
            [&[0xD0u8, 0xCF, 0x11, 0xE0][..], &[0u8; 512]].concat(),
            422,
            "legacy",
        ),
        ("huge.html", big_html.into_bytes(), 413, "passages"),
    ];
    for (name, bytes, status, reason) in cases {
        let (got, v) = upload(app, name, bytes).await;
        assert_eq!(got, status, "{name}: {v:#}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{name}: {message}");
        let job = &v["results"][0]["job"];
        if !job.is_null() {
            assert_eq!(job["status"], "failed", "{name}: {job:#}");
        }
    }
    // Still up, and a good file still goes in.
    let (status, v) = upload(app, "desks.pdf", good).await;
    assert_eq!(status, 200, "{v:#}");
    let (_, v) = post(
        app,
        "/api/v1/search",
        json!({"query": "when are desks cleared"}),
    )
    .await;
    assert_eq!(v["results"][0]["source"], "desks.pdf", "{v:#}");
}

#[tokio::test]
async fn a_new_version_replaces_the_old_one_in_answers_and_reindex_rebuilds() {
    let app = app();
    let v1 = "# Home office allowance\n\nEach employee receives a home office allowance of 50 dollars per month for internet costs.\n";
    let v2 = "# Home office allowance\n\nEach employee receives a home office allowance of 75 dollars per month for internet costs.\n";
    let (status, first) = upload(app, "home-office.md", v1.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{first:#}");
    let question = json!({"question": "How much is the home office allowance per month?"});
    let (_, answer) = post(app, "/api/v1/ask", question.clone()).await;
    assert!(
        answer["answer"].as_str().unwrap().contains("50"),
        "{answer:#}"
    );

    // Queued without waiting: 202 and a job to follow.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(v2.as_bytes().to_vec()).file_name("home-office.md"),
    );
    let r = client()
        .post(app.url("/api/v1/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let queued: Value = r.json().await.unwrap();
    let job_id = queued["results"][0]["job_id"].as_str().unwrap().to_string();
    let job = wait_job(app, &job_id).await;
    assert_eq!(job["outcome"], "indexed", "{job:#}");
    assert_eq!(job["embedded"], job["chunks"]);

    let (_, answer) = post(app, "/api/v1/ask", question).await;
    let text = answer["answer"].as_str().unwrap();
    assert!(
        text.contains("75") && !text.contains("50 dollars"),
        "{answer:#}"
    );
    let (_, hits) = post(
        app,
        "/api/v1/search",
        json!({"query": "home office allowance dollars per month", "top_k": 20}),
    )
    .await;
    for h in hits["results"].as_array().unwrap() {
        assert!(
            !h["text"].as_str().unwrap().contains("50 dollars"),
            "stale passage: {h:#}"
        );
    }

    let doc_id = job["document_id"].as_str().unwrap();
    let (status, r) = post(
        app,
        &format!("/api/v1/documents/{doc_id}/reindex"),
        json!({}),
    )
    .await;
    assert_eq!(status, 202, "{r:#}");
    let job = wait_job(app, r["job_id"].as_str().unwrap()).await;
    assert_eq!(
        job["outcome"], "indexed",
        "re-indexed although unchanged: {job:#}"
    );
    let (_, doc) = get(app, &format!("/api/v1/documents/{doc_id}")).await;
    let versions = doc["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{doc:#}");
    assert_eq!(versions[0]["status"], "active");
    assert!(
        versions[1..].iter().all(|v| v["status"] == "superseded"),
        "{doc:#}"
    );
    assert_eq!(doc["active"]["number"], 3);
}

async fn wait_job(app: &TestApp, id: &str) -> Value {
    for _ in 0..600 {
        let (_, job) = get(app, &format!("/api/v1/jobs/{id}")).await;
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn transient_failures_are_retried_a_bounded_number_of_times() {
    // A zero time budget: every attempt runs out of time, which is worth retrying, twice.
    let app = start_app(
        |s| {
            s.ingest.file_time_budget_secs = 0;
            s.ingest.max_attempts = 2;
            s.ingest.retry_backoff_ms = 10;
        },
        &[],
    );
    let (status, v) = upload(
        &app,
        "slow.md",
        b"# Slow\n\nA document that takes too long.\n".to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{v:#}");
    let job = &v["results"][0]["job"];
    assert_eq!(job["status"], "failed");
    assert_eq!(job["attempts"], 2, "{job:#}");
    assert_eq!(job["error_kind"], "timeout");
    assert!(
        job["error"].as_str().unwrap().contains("time budget"),
        "{job:#}"
    );
    let (_, jobs) = get(&app, "/api/v1/jobs?status=failed").await;
    assert_eq!(jobs["jobs"][0]["id"], job["id"]);
}

#[tokio::test]
async fn a_watched_folder_is_kept_in_sync() {
    let share = tempfile::tempdir().unwrap();
    let folder = share.path().join("rules");
    std::fs::create_dir_all(&folder).unwrap();
    let dir = folder.clone();
    let app = start_app(
        move |s| {
            s.ingest.watch_dir = Some(dir);
            s.ingest.watch_interval_secs = 1;
        },
        &[],
    );
    // Never read through the folder: a symlink to a file elsewhere, and a FIFO (whose read
    // would block the scan forever).
    let secret = share.path().join("secret.md");
    std::fs::write(&secret, "# Secret\n\nThe vault code is Xylophonic.\n").unwrap();
    std::os::unix::fs::symlink(&secret, folder.join("linked.md")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(folder.join("pipe.md"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    // A second file stays: an empty folder looks like an unmounted share and removes nothing.
    std::fs::write(
        folder.join("parking.md"),
        "# Parking\n\nVisitors park in the front lot.\n",
    )
    .unwrap();
    let file = folder.join("lockers.md");
    std::fs::write(
        &file,
        "# Lockers\n\nLocker keys are issued by the reception desk on the first day.\n",
    )
    .unwrap();
    let found = |needle: &'static str| {
        let app = &app;
        async move {
            for _ in 0..120 {
                let (_, v) = post(
                    app,
                    "/api/v1/search",
                    json!({"query": "who issues locker keys", "top_k": 3}),
                )
                .await;
                let hit = v["results"].as_array().is_some_and(|r| {
                    r.iter().any(|h| {
                        h["source"] == "rules/lockers.md"
                            && h["text"].as_str().unwrap_or("").contains(needle)
                    })
                });
                if hit {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            false
        }
    };
    assert!(found("reception desk").await, "a new file is ingested");
    std::fs::write(
        &file,
        "# Lockers\n\nLocker keys are issued by the security office on the first day.\n",
    )
    .unwrap();
    assert!(
        found("security office").await,
        "a changed file is re-ingested"
    );
    std::fs::remove_file(&file).unwrap();
    let mut gone = false;
    for _ in 0..120 {
        let (_, docs) = get(&app, "/api/v1/documents").await;
        let sources: Vec<&str> = docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["source"].as_str().unwrap())
            .collect();
        if sources == ["rules/parking.md"] {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(gone, "a removed file is removed from search");
    let (_, hits) = post(
        &app,
        "/api/v1/search",
        json!({"query": "vault code", "top_k": 10}),
    )
    .await;
    assert!(!hits.to_string().contains("Xylophonic"), "{hits:#}");
}

/// Two ingest workers and two uploads of one file at once: whichever activates last is the one
/// version search shows, and the database agrees.
#[tokio::test]
async fn racing_versions_of_one_file_never_leave_two_searchable() {
    let app = start_app(|s| s.ingest.workers = 2, &[]);
    let version = |n: usize| {
        let mut text = String::from("# Desk booking rules\n\n");
        for section in 0..12 {
            text.push_str(&format!(
                "## Rule {section}\n\nRevision {n} of rule {section}: desks are booked through the Ploverdesk portal up to {} days ahead.\n\n",
                n + section
            ));
        }
        text
    };
    for round in 0..3 {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(version(round * 2).into_bytes())
                    .file_name("desks.md"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(version(round * 2 + 1).into_bytes())
                    .file_name("desks.md"),
            );
        let r = client()
            .post(app.url("/api/v1/documents?wait=true"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let doc_id = body["results"][0]["job"]["document_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, chunks) = get(&app, &format!("/api/v1/documents/{doc_id}/chunks")).await;
        let active: std::collections::HashSet<String> = chunks["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        let (_, hits) = post(
            &app,
            "/api/v1/search",
            json!({"query": "Ploverdesk portal desks booked days ahead revision", "top_k": 50}),
        )
        .await;
        let hits = hits["results"].as_array().unwrap();
        assert!(!hits.is_empty());
        for h in hits {
            assert!(
                active.contains(h["chunk_id"].as_str().unwrap()),
                "round {round}: a passage of another version is searchable: {h:#}"
            );
        }
        let (_, doc) = get(&app, &format!("/api/v1/documents/{doc_id}")).await;
        let active_versions = doc["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["status"] == "active")
            .count();
        assert_eq!(active_versions, 1, "{doc:#}");
    }
}

/// Delete is final: a queued or running re-index of the document stops and never brings it back.
#[tokio::test]
async fn deleting_a_document_cancels_its_queued_and_running_jobs() {
    let app = app();
    // A long English document: embedding it takes seconds, so the first re-index is still
    // running when the delete arrives.
    let mut handbook = String::new();
    let mut files: Vec<_> = walk_md(&common::sample("en-18f-handbook"));
    files.sort();
    for f in files {
        handbook.push_str(&std::fs::read_to_string(f).unwrap());
        handbook.push_str("\n\n");
        if handbook.len() > 150_000 {
            break;
        }
    }
    let (status, body) = upload(app, "doomed-act.md", handbook.into_bytes()).await;
    assert_eq!(status, 200, "{body:#}");
    let doc_id = body["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Three re-indexes: the first runs (a long statute takes seconds), the others wait.
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let (status, r) = post(
            app,
            &format!("/api/v1/documents/{doc_id}/reindex"),
            json!({}),
        )
        .await;
        assert_eq!(status, 202, "{r:#}");
        jobs.push(r["job_id"].as_str().unwrap().to_string());
    }
    for _ in 0..100 {
        let (_, j) = get(app, &format!("/api/v1/jobs/{}", jobs[0])).await;
        if j["status"] == "running" && j["embedded"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client()
        .delete(app.url(&format!("/api/v1/documents/{doc_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for id in &jobs {
        let job = wait_job(app, id).await;
        assert_eq!(job["status"], "failed", "{job:#}");
        assert_eq!(job["error_kind"], "cancelled", "{job:#}");
    }
    // The queue has drained: the document is gone from the list, by id, and from search.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, docs) = get(app, "/api/v1/documents").await;
    assert!(!docs.to_string().contains("doomed-act.md"), "{docs:#}");
    let (status, _) = get(app, &format!("/api/v1/documents/{doc_id}")).await;
    assert_eq!(status, 404);
    let (_, hits) = post(
        app,
        "/api/v1/search",
        json!({"query": "annual leave sick leave overtime", "top_k": 50}),
    )
    .await;
    assert!(
        hits["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"] != "doomed-act.md"),
        "{hits:#}"
    );
}

fn walk_md(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_md(&p));
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    out
}

/// Old versions beyond `ingest.keep_versions` lose their records and original files; deleting a
/// document removes every original it had from the disk.
#[tokio::test]
async fn superseded_versions_and_deleted_documents_leave_nothing_on_disk() {
    let app = app();
    let text =
        |n: u32| format!("# Bike storage\n\nBikes are stored in the basement rack number {n}.\n");
    let mut hashes = Vec::new();
    let mut doc_id = String::new();
    for n in 1..=5 {
        let (status, body) = upload(app, "bikes.md", text(n).into_bytes()).await;
        assert_eq!(status, 200, "{body:#}");
        doc_id = body["results"][0]["job"]["document_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, doc) = get(app, &format!("/api/v1/documents/{doc_id}")).await;
        hashes.push(
            doc["versions"][0]["content_hash"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let originals = &app.app.ingestor.originals;
    let on_disk = |h: &str| originals.path(h).unwrap().exists();
    let (_, doc) = get(app, &format!("/api/v1/documents/{doc_id}")).await;
    let numbers: Vec<i64> = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        vec![5, 4, 3],
        "the active version and two before it: {doc:#}"
    );
    assert!(
        !on_disk(&hashes[0]) && !on_disk(&hashes[1]),
        "pruned versions' files are gone"
    );
    assert!(
        hashes[2..].iter().all(|h| on_disk(h)),
        "kept versions' files stay"
    );

    let r = client()
        .delete(app.url(&format!("/api/v1/documents/{doc_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        hashes.iter().all(|h| !on_disk(h)),
        "deleted means deleted on disk too"
    );
}
