//! HTML pages (e.g. an old intranet's): the main content's headings, paragraphs, lists and tables;
//! scripts, styles, navigation, forms and page chrome dropped. The tree is walked iteratively, so
//! a pathologically deep page cannot overflow the stack.

use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};

use super::blocks::{squash, to_markdown};
use super::flow::Flow;
use crate::ingest::IngestError;

pub struct Page {
    pub title: Option<String>,
    pub markdown: String,
}

/// Elements whose content is never document text.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "aside", "form", "button", "svg", "iframe",
    "select", "head", "object", "canvas", "dialog", "menu",
];
/// Page chrome, dropped when the walk starts at `<body>` (inside `<article>` a header holds the
/// article's own title).
const CHROME: &[&str] = &["header", "footer"];
const CHROME_ROLES: &[&str] = &["navigation", "banner", "contentinfo", "search", "menu"];
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "pre",
    "blockquote",
    "dd",
    "dt",
    "dl",
    "ul",
    "ol",
    "figure",
    "figcaption",
    "address",
    "body",
    "header",
    "footer",
    "hr",
    "details",
    "summary",
];

/// Deeper than any real page: the HTML parser's work grows with the square of the nesting, so a
/// hostile file nested a hundred thousand levels deep would hold a worker for minutes.
const MAX_NESTING: usize = 1_000;
/// Elements that close themselves or have optional end tags: they do not deepen the tree.
const NO_DEPTH: &[&str] = &[
    "br", "img", "hr", "input", "meta", "link", "area", "base", "col", "embed", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "tbody", "thead", "tfoot",
    "colgroup", "optgroup", "rt", "rp", "!doctype",
];

/// Refuse pathologically nested markup before parsing it (a linear scan of the tags).
pub fn check_nesting(bytes: &[u8]) -> Result<(), IngestError> {
    let mut depth: usize = 0;
    let mut deepest = 0;
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'<') {
        let start = i + at + 1;
        let closing = bytes.get(start) == Some(&b'/');
        let name_start = if closing { start + 1 } else { start };
        let name: String = bytes[name_start..]
            .iter()
            .take(16)
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'!')
            .map(|b| b.to_ascii_lowercase() as char)
            .collect();
        i = name_start;
        if name.is_empty() || name.starts_with('!') || NO_DEPTH.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            deepest = deepest.max(depth);
            if deepest > MAX_NESTING {
                return Err(IngestError::Malformed(format!(
                    "the HTML is nested more than {MAX_NESTING} elements deep"
                )));
            }
        }
    }
    Ok(())
}

fn selector(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

pub fn read(text: &str) -> Page {
    let html = Html::parse_document(text);
    let title = selector("title")
        .and_then(|s| html.select(&s).next())
        .map(|t| squash(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let main = selector("main, [role=main], article").and_then(|s| html.select(&s).next());
    let (root, page_level) = match main {
        Some(m) => (m, false),
        None => (
            selector("body")
                .and_then(|s| html.select(&s).next())
                .unwrap_or_else(|| html.root_element()),
            true,
        ),
    };
    let blocks = walk(root, page_level);
    let title = title.or_else(|| Flow::first_heading(&blocks));
    Page {
        title,
        markdown: to_markdown(&blocks),
    }
}

fn dropped(e: &scraper::node::Element, page_level: bool) -> bool {
    let name = e.name();
    DROPPED.contains(&name)
        || (page_level && CHROME.contains(&name))
        || e.attr("hidden").is_some()
        || e.attr("aria-hidden") == Some("true")
        || e.attr("role").is_some_and(|r| CHROME_ROLES.contains(&r))
}

fn walk(root: ElementRef, page_level: bool) -> Vec<super::blocks::Block> {
    let mut flow = Flow::default();
    flow.open_para();
    // The node whose subtree is being skipped, if any.
    let mut skipping: Option<ego_tree::NodeId> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => {
                        // Whitespace runs (source formatting) are one space in rendered HTML.
                        let s: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
                        if !s.is_empty() {
                            let lead = t.starts_with(char::is_whitespace);
                            let trail = t.ends_with(char::is_whitespace);
                            flow.text(&format!(
                                "{}{s}{}",
                                if lead { " " } else { "" },
                                if trail { " " } else { "" }
                            ));
                        } else if !t.is_empty() {
                            flow.text(" ");
                        }
                    }
                    Node::Element(e) => {
                        if dropped(e, page_level) {
                            skipping = Some(node.id());
                            continue;
                        }
                        open(&mut flow, e.name());
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skipping {
                    if id == node.id() {
                        skipping = None;
                    }
                    continue;
                }
                if let Node::Element(e) = node.value() {
                    close(&mut flow, e.name());
                }
            }
        }
    }
    flow.finish()
}

fn heading_level(name: &str) -> Option<usize> {
    let rest = name.strip_prefix('h')?;
    rest.parse::<usize>().ok().filter(|l| (1..=6).contains(l))
}

fn open(flow: &mut Flow, name: &str) {
    match name {
        "br" => flow.text("\n"),
        "table" => {
            flow.close_para();
            flow.open_table();
        }
        "tr" => flow.open_row(),
        "td" | "th" => flow.open_para(),
        "li" => {
            flow.close_para();
            flow.open_para();
            if let Some(p) = flow.para() {
                p.numbered = true;
            }
        }
        _ => {
            if let Some(level) = heading_level(name) {
                flow.close_para();
                flow.open_para();
                if let Some(p) = flow.para() {
                    p.level = Some(level);
                }
            } else if BLOCKS.contains(&name) {
                flow.close_para();
                flow.open_para();
            }
        }
    }
}

fn close(flow: &mut Flow, name: &str) {
    match name {
        "table" => {
            flow.close_table();
            flow.open_para();
        }
        "tr" => flow.close_row(),
        "td" | "th" => {
            flow.close_para();
            flow.close_cell();
        }
        _ if name == "li" || heading_level(name).is_some() || BLOCKS.contains(&name) => {
            flow.close_para();
            flow.open_para();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_text_headings_tables_without_chrome() {
        let page = read(
            r#"<!doctype html><html><head><title>Leave policy</title><style>p{}</style></head>
            <body><nav><a href="/">Home</a> | <a href="/hr">HR</a></nav>
            <header>Intranet banner</header>
            <h1>Leave</h1><p>Staff get <b>25 days</b>
               of annual leave.</p><script>alert(1)</script>
            <ul><li>Sick leave</li><li>Parental leave</li></ul>
            <table><tr><th>Type</th><th>Days</th></tr><tr><td>Sick</td><td><p>10</p></td></tr></table>
            <p>After the table.</p><footer>© ACME</footer></body></html>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Leave policy"));
        let md = page.markdown;
        assert!(md.contains("# Leave\n"), "{md}");
        assert!(md.contains("Staff get 25 days of annual leave."), "{md}");
        assert!(md.contains("- Sick leave\n"), "{md}");
        assert!(
            md.contains("| Type | Days |\n| --- | --- |\n| Sick | 10 |"),
            "{md}"
        );
        assert!(md.contains("After the table."), "{md}");
        for gone in ["alert", "Home", "banner", "ACME", "p{}"] {
            assert!(!md.contains(gone), "{gone} in {md}");
        }
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion_and_hostile_nesting_refused() {
        let deep = format!("{}text{}", "<div>".repeat(900), "</div>".repeat(900));
        assert!(check_nesting(deep.as_bytes()).is_ok());
        assert!(read(&deep).markdown.contains("text"));
        let hostile = "<div>".repeat(100_000);
        assert!(matches!(
            check_nesting(hostile.as_bytes()),
            Err(IngestError::Malformed(_))
        ));
        // Thousands of paragraphs without end tags are not nesting.
        let flat = "<p>x".repeat(10_000);
        assert!(check_nesting(flat.as_bytes()).is_ok());
    }
}
