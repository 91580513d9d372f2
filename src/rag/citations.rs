//! Citation parsing and verification.
//!
//! The answer is split into sentences. Each `[n]` (also `[1, 2]`, `[1][2]`, full-width ［1］) must
//! name a passage that was given; other markers are removed. A sentence is *supported* by a passage
//! when at least `MIN_SUPPORT` of its content terms (the same terms as the sparse index: stems,
//! Hangul words and bigrams, numbers) occur in that passage. Unsupported sentences are dropped; a
//! sentence without a marker gets the passage that supports it best, if any does. This is lexical
//! and explainable: a sentence that brings words or numbers found in no passage is not kept.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::lexical::{coverage, Analyzer};

pub const MIN_SUPPORT: f32 = 0.6;
/// A cited passage is kept when it supports the sentence nearly as well as the best passage.
const SUPPORT_MARGIN: f32 = 0.1;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\[［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]］]").expect("regex")
});
static SENTENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s).*?(?:[.!?。](?:\s*[\[［][^\]］]*[\]］])*(?:\s+|$)|다\.\s*|\n+|$)")
        .expect("regex")
});

/// Passage numbers (1-based) cited in `text`, in order of first appearance, valid or not.
pub fn parse_markers(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for c in MARKER.captures_iter(text) {
        for n in c[1].split([',', '，', '、']) {
            if let Ok(n) = n.trim().parse::<usize>() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// Remove every citation marker.
pub fn strip_markers(text: &str) -> String {
    MARKER.replace_all(text, "").to_string()
}

pub fn sentences(text: &str) -> Vec<String> {
    SENTENCE
        .find_iter(text)
        .map(|m| m.as_str().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSentence {
    /// The sentence without markers.
    pub text: String,
    /// Passage numbers (1-based) that support it.
    pub cites: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub sentences: Vec<VerifiedSentence>,
    pub dropped: usize,
}

impl Verified {
    pub fn render(&self) -> String {
        self.sentences
            .iter()
            .map(|s| {
                let marks: String = s.cites.iter().map(|n| format!("[{n}]")).collect();
                // "covers GSA systems [2]." — the marker goes before the closing punctuation.
                let body = s.text.trim_end();
                let cut = body.trim_end_matches(['.', '!', '?', '。']).trim_end();
                format!("{cut} {marks}{}", &body[cut.len()..].trim_start())
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn cited(&self) -> BTreeSet<usize> {
        self.sentences
            .iter()
            .flat_map(|s| s.cites.iter().copied())
            .collect()
    }
}

/// Collapse whitespace and the space a removed marker leaves before punctuation.
fn tidy(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    SPACE_BEFORE_PUNCT.replace_all(&joined, "$1").to_string()
}

static SPACE_BEFORE_PUNCT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s+([.,;:!?。，])").expect("regex"));

/// Verify `answer` against `passages` (passage n is `passages[n - 1]`).
pub fn verify(analyzer: &Analyzer, answer: &str, passages: &[&str]) -> Verified {
    let mut out = Vec::new();
    let mut dropped = 0;
    for sentence in sentences(answer) {
        let marked: Vec<usize> = parse_markers(&sentence)
            .into_iter()
            .filter(|n| *n >= 1 && *n <= passages.len())
            .collect();
        let text = tidy(&strip_markers(&sentence));
        let terms = analyzer.term_set(&text);
        if terms.is_empty() {
            // Nothing checkable ("Yes.", a stray bracket): keep only if it cites validly.
            if !marked.is_empty() && !text.trim_matches(|c: char| !c.is_alphanumeric()).is_empty() {
                out.push(VerifiedSentence {
                    text,
                    cites: marked,
                });
            } else if !text.trim().is_empty() {
                dropped += 1;
            }
            continue;
        }
        let support: Vec<f32> = passages
            .iter()
            .map(|p| coverage(analyzer, &terms, p))
            .collect();
        // The best-supporting passage; ties go to the better-ranked (lower) number.
        let (best, best_support) = support
            .iter()
            .enumerate()
            .fold(
                (0, f32::MIN),
                |acc, (i, s)| if *s > acc.1 { (i + 1, *s) } else { acc },
            );
        let mut cites: Vec<usize> = marked
            .into_iter()
            .filter(|n| {
                support[n - 1] >= MIN_SUPPORT && support[n - 1] >= best_support - SUPPORT_MARGIN
            })
            .collect();
        if best_support >= MIN_SUPPORT && !cites.contains(&best) {
            cites.insert(0, best);
        }
        if cites.is_empty() {
            dropped += 1;
        } else {
            out.push(VerifiedSentence { text, cites });
        }
    }
    Verified {
        sentences: out,
        dropped,
    }
}

/// The sentence of `passage` that shares most terms with `claim`: the quote shown with a citation.
pub fn best_quote(analyzer: &Analyzer, claim: &str, passage: &str) -> String {
    let terms = analyzer.term_set(claim);
    sentences(passage)
        .into_iter()
        .map(|s| (coverage(analyzer, &terms, &s), s))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.0)
        .map(|(_, s)| s)
        .unwrap_or_else(|| passage.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: &str = "Employees accrue 4 hours of annual leave per pay period.";
    const P2: &str = "The TTS Bug Bounty Program lets security researchers report vulnerabilities in GSA systems.";

    #[test]
    fn markers_of_every_shape() {
        assert_eq!(
            parse_markers("a [1] b [2, 3] c [1][4] d ［5］ e [ 6 ]"),
            vec![1, 2, 3, 4, 5, 6]
        );
        assert_eq!(
            parse_markers("no [x] or [] or [1 or 2]"),
            Vec::<usize>::new()
        );
        assert_eq!(
            strip_markers("Leave [1]. Bounty [2, 3]."),
            "Leave . Bounty ."
        );
    }

    #[test]
    fn out_of_range_citations_are_dropped_or_reassigned() {
        let a = Analyzer::default();
        let v = verify(
            &a,
            "Security researchers report vulnerabilities in GSA systems [12].",
            &[P1, P2],
        );
        assert_eq!(v.sentences.len(), 1);
        assert_eq!(
            v.sentences[0].cites,
            vec![2],
            "reassigned to the supporting passage"
        );
    }

    #[test]
    fn a_citation_to_the_wrong_passage_is_corrected() {
        let a = Analyzer::default();
        let v = verify(
            &a,
            "You accrue 4 hours of annual leave per pay period [2].",
            &[P2, P1],
        );
        assert_eq!(v.sentences[0].cites, vec![2]);
        let v = verify(
            &a,
            "You accrue 4 hours of annual leave per pay period [1].",
            &[P2, P1],
        );
        assert_eq!(
            v.sentences[0].cites,
            vec![2],
            "the misleading passage 1 does not support it"
        );
    }

    #[test]
    fn the_best_supporting_passage_is_always_cited() {
        let a = Analyzer::default();
        let near = "Researchers report vulnerabilities in public systems to GSA.";
        let v = verify(
            &a,
            "The TTS Bug Bounty Program lets security researchers report vulnerabilities [2].",
            &[P2, near],
        );
        assert_eq!(v.sentences[0].cites, vec![1], "{v:?}");
    }

    #[test]
    fn unsupported_sentences_are_dropped() {
        let a = Analyzer::default();
        let v = verify(
            &a,
            "The bug bounty program covers GSA systems [2]. Rewards reach one million dollars paid in bitcoin [2].",
            &[P1, P2],
        );
        assert_eq!(v.sentences.len(), 1);
        assert_eq!(v.dropped, 1);
        assert_eq!(v.render(), "The bug bounty program covers GSA systems [2].");
    }

    #[test]
    fn korean_sentences_and_punctuation() {
        let a = Analyzer::default();
        let p = "사용자는 근로계약을 체결할 때에 근로자에게 임금, 소정근로시간, 휴일, 연차 유급휴가를 명시하여야 한다.";
        let v = verify(
            &a,
            "근로계약을 체결할 때 임금과 소정근로시간을 명시하여야 한다［1］。",
            &[p],
        );
        assert_eq!(v.sentences.len(), 1, "{v:?}");
        assert_eq!(v.cited(), BTreeSet::from([1]));
    }

    #[test]
    fn quote_is_the_best_matching_sentence() {
        let a = Analyzer::default();
        let passage = "Intro sentence here. Researchers report vulnerabilities to the program. Closing words.";
        assert_eq!(
            best_quote(&a, "How do researchers report vulnerabilities?", passage),
            "Researchers report vulnerabilities to the program."
        );
    }
}
