//! Re-ordering the fused candidates before the cut, without dropping any:
//!
//! - Spreading the top passages over sections: one long section (a statute article cut into five
//!   passages, a handbook page's table) otherwise fills the whole top of the list with
//!   near-duplicates, and the passage of another section that answers the question falls below
//!   the cut. At most `per_section` passages of one section come first, in rank order; the rest
//!   follow, so nothing is lost when there is room.
//! - Supplementary provisions last: a statute's or company rule's 부칙 (effective dates,
//!   transitional rules, "application of Article N") names each topic it amends, so it matches a
//!   question's words while the rule itself is in the main text. Unless the question asks about
//!   them, such passages follow the main text's.

use std::collections::HashMap;

use crate::index::Hit;

/// The first `limit` of `hits` with no more than `per_section` from one (document, section)
/// ahead of any passage of another section; `per_section` 0 keeps the order as it is.
pub fn diversify(hits: Vec<Hit>, per_section: usize, limit: usize) -> Vec<Hit> {
    if per_section == 0 {
        return hits.into_iter().take(limit).collect();
    }
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for hit in hits {
        let key = (hit.payload.document_id.clone(), hit.payload.section.clone());
        let n = seen.entry(key).or_default();
        *n += 1;
        if *n <= per_section {
            first.push(hit);
        } else {
            rest.push(hit);
        }
    }
    first.extend(rest);
    first.truncate(limit);
    first
}

/// Words of a question about supplementary provisions themselves.
const ADDENDA_WORDS: &[&str] = &[
    "부칙",
    "시행일",
    "시행 일",
    "경과조치",
    "경과 조치",
    "적용례",
    "addend",
    "supplementary provision",
    "effective date",
    "transitional",
];

/// A section inside a 부칙 (supplementary provisions) part.
fn is_addendum(section: &str) -> bool {
    section
        .split(" > ")
        .any(|part| part.trim_start().starts_with("부칙"))
}

/// `hits` with the supplementary provisions' passages after the main text's, each group in rank
/// order — unless `question` asks about supplementary provisions.
pub fn addenda_last(hits: Vec<Hit>, question: &str) -> Vec<Hit> {
    let q = question.to_lowercase();
    if ADDENDA_WORDS.iter().any(|w| q.contains(w)) {
        return hits;
    }
    let (mut main, addenda): (Vec<Hit>, Vec<Hit>) = hits
        .into_iter()
        .partition(|h| !is_addendum(&h.payload.section));
    main.extend(addenda);
    main
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ChunkPayload;

    fn hit(doc: &str, section: &str, ordinal: usize) -> Hit {
        Hit {
            payload: ChunkPayload {
                chunk_id: format!("{doc}-{section}-{ordinal}"),
                document_id: doc.into(),
                version_id: "v".into(),
                groups: vec![],
                title: doc.into(),
                source: format!("{doc}.md"),
                section: section.into(),
                page: None,
                ordinal,
                text: String::new(),
            },
            score: 1.0,
            dense_similarity: 0.5,
        }
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.payload.chunk_id.as_str()).collect()
    }

    #[test]
    fn a_long_section_gives_way_to_the_next_section_and_keeps_its_rank_order() {
        let hits = vec![
            hit("law", "제51조", 0),
            hit("law", "제51조", 1),
            hit("law", "제51조", 2),
            hit("law", "제50조", 0),
            hit("law", "제51조", 3),
            hit("handbook", "제51조", 0),
        ];
        let out = diversify(hits, 2, 4);
        assert_eq!(
            ids(&out),
            vec![
                "law-제51조-0",
                "law-제51조-1",
                "law-제50조-0",
                "handbook-제51조-0"
            ]
        );
    }

    #[test]
    fn capped_passages_fill_the_list_when_nothing_else_is_left() {
        let hits = (0..4).map(|i| hit("law", "제1조", i)).collect();
        let out = diversify(hits, 1, 3);
        assert_eq!(ids(&out), vec!["law-제1조-0", "law-제1조-1", "law-제1조-2"]);
    }

    #[test]
    fn supplementary_provisions_follow_the_main_text_unless_asked_about() {
        let hits = vec![
            hit(
                "law",
                "근로자퇴직급여 보장법 > 부칙 > 제9조(퇴직금 우선변제에 관한 경과조치)",
                0,
            ),
            hit(
                "law",
                "근로자퇴직급여 보장법 > 제2장 퇴직급여제도의 설정 > 제8조 (퇴직금제도의 설정 등)",
                0,
            ),
            hit("law", "부칙 <제18469호, 2021.10.14> > 제1조(시행일)", 0),
            hit(
                "law",
                "근로자퇴직급여 보장법 > 제1장 총칙 > 제2조 (정의)",
                0,
            ),
        ];
        // The article each passage is from, in the order given.
        let articles = |hits: &[Hit]| -> Vec<String> {
            hits.iter()
                .filter_map(|h| h.payload.section.rsplit(" > ").next().map(str::to_string))
                .collect()
        };
        let out = addenda_last(hits.clone(), "퇴직금은 1년 일하면 얼마를 받나요?");
        assert_eq!(
            articles(&out),
            vec![
                "제8조 (퇴직금제도의 설정 등)",
                "제2조 (정의)",
                "제9조(퇴직금 우선변제에 관한 경과조치)",
                "제1조(시행일)",
            ]
        );
        let asked = addenda_last(hits.clone(), "개정법 시행일이 언제인가요?");
        assert_eq!(articles(&asked), articles(&hits));
    }

    #[test]
    fn zero_keeps_the_ranking() {
        let hits = vec![hit("a", "s", 0), hit("a", "s", 1), hit("b", "t", 0)];
        assert_eq!(ids(&diversify(hits, 0, 2)), vec!["a-s-0", "a-s-1"]);
    }
}
