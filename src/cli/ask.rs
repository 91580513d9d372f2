//! `regula ask` and `regula search`, here or through a running server, and the HTTP client for the server.

use super::*;

/// `regula ask`: through a running server, or here. A local question is recorded like an API
/// one: a conversation and an audit row of the local operator's.
pub(super) async fn ask(
    settings: Settings,
    question: &str,
    server: Option<&str>,
    key: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let answer: Answer = match server {
        Some(url) => remote(url, key, "/api/v1/ask", json!({ "question": question })).await?,
        None => {
            let app = App::build(settings, Parts::Full).await?;
            app.answers
                .ask(
                    crate::answer::Asker::local(),
                    question,
                    crate::answer::Conversation::New,
                    crate::answer::Door::Cli,
                    None,
                )
                .await?
        }
    };
    print_answer(&answer, json_out)
}

pub(super) async fn search(
    settings: Settings,
    query: &str,
    top_k: usize,
    mode: ModeArg,
    server: Option<&str>,
    key: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let results: Vec<SearchResult> = match server {
        Some(url) => {
            let v: serde_json::Value = remote(
                url,
                key,
                "/api/v1/search",
                json!({ "query": query, "top_k": top_k, "mode": SearchMode::from(mode) }),
            )
            .await?;
            serde_json::from_value(v["results"].clone()).context("server response")?
        }
        None => {
            let app = App::build(settings, Parts::Retrieval).await?;
            app.rag.search(query, None, top_k, mode.into()).await?
        }
    };
    print_results(&results, json_out)
}

/// An HTTP client that sends the API key (if any) on every request.
pub(super) fn http_client(key: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = key {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
            .context("the API key is not valid header text")?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

/// Send a request to a Regula server at `url`: the status and the JSON body (an error when the
/// server cannot be reached or does not answer JSON).
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    url: &str,
) -> anyhow::Result<(reqwest::StatusCode, serde_json::Value)> {
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let value = response
        .json()
        .await
        .context("server response is not JSON")?;
    Ok((status, value))
}

pub(super) async fn remote<T: serde::de::DeserializeOwned>(
    base: &str,
    key: Option<&str>,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<T> {
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let (status, value) = send(http_client(key)?.post(&url).json(&body), &url).await?;
    if !status.is_success() {
        bail!(
            "{status}: {}",
            value["error"]["message"].as_str().unwrap_or("error")
        );
    }
    Ok(serde_json::from_value(value)?)
}

pub(super) fn print_answer(answer: &Answer, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(answer)?);
        return Ok(());
    }
    println!("{}", answer.answer);
    if !answer.citations.is_empty() {
        println!();
        for c in &answer.citations {
            let page = c.page.map(|p| format!(", p. {p}")).unwrap_or_default();
            println!(
                "[{}] {} — {}{} ({})",
                c.n, c.title, c.section, page, c.source
            );
        }
    }
    Ok(())
}

pub(super) fn print_results(results: &[SearchResult], json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "results": results }))?
        );
        return Ok(());
    }
    for (i, r) in results.iter().enumerate() {
        let snippet: String = r.text.chars().take(160).collect();
        println!(
            "{:>2}. {:.4}  {}  [{}]\n    {}",
            i + 1,
            r.score,
            r.source,
            r.section,
            snippet.replace('\n', " ")
        );
    }
    Ok(())
}
