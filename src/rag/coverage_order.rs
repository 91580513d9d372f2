//! Re-ordering lexical-only candidates by how much of the question they meet.
//!
//! A Korean question read without a multilingual embedder is searched on the sparse (BM25) side
//! alone, and a BM25 sum rewards a passage that repeats one of the question's words as much as
//! one that meets all of them: "퇴사하면 남은 월급은 언제까지" found the 통상임금 article (임금 in
//! every line) above 제36조 (퇴직 … 14일 이내에 임금 … 지급). The candidates are re-ordered by their
//! BM25 score scaled by the share of the question's concepts they meet, each concept weighted
//! by how few candidates meet it (`sentences::concept_weights`), so that a passage meeting the
//! rare parts of the question rises over one meeting its common part many times.

use std::collections::HashSet;

use crate::index::Hit;
use crate::lexical::{passage_terms, Analyzer};

use super::hierarchy;
use super::sentences::{concept_weights, label_terms};

/// How many candidates the sparse search returns for this re-ordering (the answering article
/// was found between rank 8 and 30 for questions in everyday words; 20 and 40 measured alike
/// on the Korean development collections, 40 slightly better on ko-labor).
pub const CANDIDATES: usize = 40;

/// The share of a candidate's BM25 score it keeps when it meets none of the question's concept
/// weight (0.3, 0.5 and 0.7 measured: MRR 0.744 / 0.742 / 0.742 over 171 Korean questions).
const FLOOR: f32 = 0.3;

/// `hits` (best first) re-ordered by score x (FLOOR + (1 - FLOOR) x weighted concept share), that
/// product becoming each hit's score (a result list reads in descending score, as it does
/// unordered).
pub fn by_coverage(analyzer: &Analyzer, question: &str, hits: Vec<Hit>) -> Vec<Hit> {
    let concepts = analyzer.concepts(question);
    if concepts.is_empty() || hits.len() < 2 {
        return hits;
    }
    let terms: Vec<HashSet<String>> = hits
        .iter()
        .map(|h| {
            let mut t = passage_terms(analyzer, &h.payload.text);
            t.extend(label_terms(
                analyzer,
                &h.payload.section,
                &h.payload.full_names,
            ));
            t
        })
        .collect();
    let weights = concept_weights(&concepts, &terms);
    let total = weights.iter().sum::<f32>().max(f32::EPSILON);
    let mut scored: Vec<Hit> = hits
        .into_iter()
        .zip(&terms)
        .map(|(mut hit, terms)| {
            let met: f32 = concepts
                .iter()
                .zip(&weights)
                .filter(|(c, _)| c.met_in(terms))
                .map(|(_, w)| *w)
                .sum();
            hit.score *=
                (FLOOR + (1.0 - FLOOR) * met / total) * hierarchy::weight(&hit.payload.title);
            hit
        })
        .collect();
    // Stable: candidates with equal scores keep the search's order.
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ChunkPayload;

    fn hit(section: &str, text: &str, score: f32) -> Hit {
        hit_in("근로기준법", section, text, score)
    }

    fn hit_in(title: &str, section: &str, text: &str, score: f32) -> Hit {
        Hit {
            payload: ChunkPayload {
                chunk_id: section.into(),
                document_id: "law".into(),
                version_id: "v".into(),
                groups: vec![],
                title: title.into(),
                source: "law.md".into(),
                section: section.into(),
                page: None,
                ordinal: 0,
                text: text.into(),
                full_names: vec![],
            },
            score,
            dense_similarity: 0.0,
        }
    }

    #[test]
    fn a_passage_meeting_the_whole_question_rises_over_one_repeating_a_part() {
        let hits = vec![
            hit(
                "시행령 > 제6조 (통상임금)",
                "통상임금이란 근로자에게 정기적이고 일률적으로 지급하기로 정한 시간급 금액, 일급 금액, \
                 주급 금액, 월급 금액 또는 도급 금액을 말한다. 통상임금을 시간급 금액으로 산정할 \
                 경우에는 임금을 소정근로시간으로 나눈 금액으로 한다.",
                13.8,
            ),
            hit(
                "근로기준법 > 제2장 근로계약 > 제17조 (근로조건의 명시)",
                "사용자는 근로계약을 체결할 때에 근로자에게 임금을 명시하여야 한다.",
                11.0,
            ),
            hit(
                "근로기준법 > 제2장 근로계약 > 제36조 (금품 청산)",
                "사용자는 근로자가 사망 또는 퇴직한 경우에는 그 지급 사유가 발생한 때부터 14일 \
                 이내에 임금, 보상금, 그 밖의 모든 금품을 지급하여야 한다.",
                9.4,
            ),
        ];
        let out = by_coverage(
            &Analyzer::default(),
            "퇴사하면 남은 월급은 언제까지 받아야 하나요?",
            hits.clone(),
        );
        assert_eq!(
            out[0].payload.chunk_id, hits[2].payload.chunk_id,
            "{out:#?}"
        );
        assert_eq!(out.len(), hits.len());
        assert!(out.windows(2).all(|w| w[0].score >= w[1].score), "{out:#?}");
    }

    #[test]
    fn candidates_meeting_the_question_alike_keep_their_order() {
        let hits = vec![
            hit("a", "연차 유급휴가 15일", 3.0),
            hit("b", "연차 유급휴가 25일", 2.0),
        ];
        let out = by_coverage(&Analyzer::default(), "연차휴가는 며칠인가요?", hits);
        assert_eq!(out[0].payload.chunk_id, "a");
    }

    #[test]
    fn an_acts_article_rises_over_its_decrees_restatement() {
        // The decree restates the act's words where it fills in a detail; BM25 ranks it first.
        let hits = vec![
            hit_in(
                "남녀고용평등법 시행령",
                "제16조의3 (가족돌봄휴가의 허용 예외)",
                "법 제22조의2제1항 단서에서 대통령령으로 정하는 경우란 가족돌봄휴가를 신청한 근로자 \
                 외에도 가족을 돌볼 수 있는 경우를 말한다.",
                12.0,
            ),
            hit_in(
                "남녀고용평등법",
                "제22조의2 (가족 돌봄 등을 위한 지원)",
                "가족돌봄휴가 기간은 연간 최장 10일로 하며, 일 단위로 사용할 수 있다.",
                11.0,
            ),
        ];
        let out = by_coverage(&Analyzer::default(), "가족돌봄휴가는 며칠까지 돼요?", hits);
        assert_eq!(out[0].payload.title, "남녀고용평등법", "{out:#?}");
    }

    #[test]
    fn a_passage_using_a_defined_short_form_meets_the_full_name() {
        // 노사협의회 is written in full only where the statute defines it; 제12조 says 협의회.
        let definition = hit(
            "제4조 (노사협의회의 설치)",
            "노사협의회(이하 \"협의회\"라 한다)는 사업장 단위로 설치하여야 한다.",
            10.0,
        );
        let mut meetings = hit(
            "제12조 (회의)",
            "협의회는 3개월마다 정기적으로 회의를 개최하여야 한다.",
            9.0,
        );
        let question = "노사협의회 회의는 어떻게 되나요?";
        let without = by_coverage(
            &Analyzer::default(),
            question,
            vec![definition.clone(), meetings.clone()],
        );
        assert_eq!(
            without[0].payload.chunk_id, "제4조 (노사협의회의 설치)",
            "{without:#?}"
        );
        meetings.payload.full_names = vec!["노사협의회".into()];
        let with = by_coverage(&Analyzer::default(), question, vec![definition, meetings]);
        assert_eq!(with[0].payload.chunk_id, "제12조 (회의)", "{with:#?}");
    }
}
