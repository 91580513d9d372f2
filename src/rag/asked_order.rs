//! Bringing the passage that states the asked kind of fact into the answer's context.
//!
//! Retrieval ranks passages by how well they match the whole question; "who do I email if I'm
//! harassed?" found three passages on reporting harassment above the one that gives the address
//! (fourth, with near-equal fused scores). When the question asks for a kind of fact (an amount,
//! an identifier, another quantity), none of the passages the answer is read from states one in
//! a unit that meets the question, and a passage just below them does, that passage takes the
//! context's last place.

use crate::index::Hit;
use crate::lexical::Analyzer;

use super::as_passages;
use super::sentences::stating_coverage;

/// How far below the context a stating passage is looked for.
const BELOW: usize = 2;

/// `hits` (best first) with the passage that states what is asked moved into place
/// `context - 1` when the first `context` do not state it.
pub fn stated_into_context(
    analyzer: &Analyzer,
    question: &str,
    mut hits: Vec<Hit>,
    context: usize,
) -> Vec<Hit> {
    if context == 0 || hits.len() <= context {
        return hits;
    }
    let window = (context + BELOW).min(hits.len());
    let coverage = stating_coverage(analyzer, question, &as_passages(&hits[..window]));
    if coverage[..context].iter().any(|c| *c > 0.0) {
        return hits;
    }
    let best = (context..window)
        .filter(|&i| coverage[i] > 0.0)
        // The most of the question met; among equals, the higher-ranked.
        .max_by(|&a, &b| coverage[a].total_cmp(&coverage[b]).then(b.cmp(&a)));
    if let Some(i) = best {
        let hit = hits.remove(i);
        hits.insert(context - 1, hit);
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ChunkPayload;

    fn hit(section: &str, text: &str) -> Hit {
        Hit {
            payload: ChunkPayload {
                chunk_id: section.into(),
                document_id: "policy".into(),
                version_id: "v".into(),
                groups: vec![],
                title: "Anti-Harassment Policy".into(),
                source: "anti-harassment.md".into(),
                section: format!("Anti-Harassment Policy > {section}"),
                page: None,
                ordinal: 0,
                text: text.into(),
                full_names: vec![],
            },
            score: 0.03,
            dense_similarity: 0.5,
        }
    }

    fn reporting() -> Vec<Hit> {
        vec![
            hit(
                "Introduction",
                "Everyone has a responsibility to prevent harassment. Most of our interactions \
                 are by video call and written communication such as email.",
            ),
            hit(
                "Reporting",
                "Anyone who believes they have been the target of harassment is encouraged to \
                 report it to People Operations.",
            ),
            hit(
                "Managers",
                "Managers who become aware of harassment must deal with it promptly.",
            ),
            hit(
                "TL;DR",
                "Harassment gets you fired. Please send an email to report@example.com if you \
                 are the victim.",
            ),
            hit(
                "Training",
                "Every employee takes the harassment training each year.",
            ),
        ]
    }

    fn sections(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.payload.chunk_id.as_str()).collect()
    }

    #[test]
    fn the_passage_that_states_what_is_asked_joins_the_context() {
        let out = stated_into_context(
            &Analyzer::default(),
            "who do I email if I'm being harassed?",
            reporting(),
            3,
        );
        assert_eq!(
            sections(&out),
            ["Introduction", "Reporting", "TL;DR", "Managers", "Training"]
        );
    }

    #[test]
    fn the_order_stays_when_the_context_states_it_or_nothing_is_asked_for() {
        let a = Analyzer::default();
        let mut stated = reporting();
        stated[1]
            .payload
            .text
            .push_str(" Harassment can be reported by email to people@example.com.");
        let out = stated_into_context(&a, "who do I email if I'm being harassed?", stated, 3);
        assert_eq!(sections(&out)[2], "Managers");
        // No kind of fact asked for: retrieval's order is the answer's.
        let out = stated_into_context(&a, "what happens if I harass someone?", reporting(), 3);
        assert_eq!(sections(&out)[2], "Managers");
        // Further down than just below the context: not looked at.
        let mut far = reporting();
        let tldr = far.remove(3);
        far.push(hit("Other", "Harassment is never acceptable."));
        far.push(tldr);
        let out = stated_into_context(&a, "who do I email if I'm being harassed?", far, 3);
        assert_eq!(sections(&out)[2], "Managers");
    }
}
