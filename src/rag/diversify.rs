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
//! - Penalty provisions after the rules they enforce, for the same reason: a 벌칙 or 과태료 article
//!   restates every duty of its act ("제19조제1항을 위반하여 육아휴직을 허용하지 아니한 자"), so
//!   it meets a question's words while the duty itself is stated in its own article. Unless the
//!   question asks about punishment, they follow the other passages.

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

/// Words of a question about punishment itself.
const PENALTY_WORDS: &[&str] = &[
    "벌칙",
    "처벌",
    "벌금",
    "과태료",
    "징역",
    "형사",
    "고발",
    "penalt",
    "punish",
    "fined",
];

/// A section in a penalties chapter (제6장 벌칙) or a penalty article (벌칙, 과태료, 양벌규정).
fn is_penalty(section: &str) -> bool {
    section.split(" > ").any(|part| {
        let title = part.trim();
        ["(벌칙", "(과태료", "(양벌규정"]
            .iter()
            .any(|t| title.contains(t))
            || title
                .strip_prefix('제')
                .and_then(|rest| rest.split_once("장 "))
                .is_some_and(|(_, name)| name.starts_with("벌칙"))
    })
}

/// `hits` with the supplementary provisions' passages after the main text's, and the penalty
/// provisions' after the rules', each group in rank order — unless `question` asks about them.
pub fn addenda_last(hits: Vec<Hit>, question: &str) -> Vec<Hit> {
    let q = question.to_lowercase();
    let keep_addenda = ADDENDA_WORDS.iter().any(|w| q.contains(w));
    let keep_penalties = PENALTY_WORDS.iter().any(|w| q.contains(w));
    let (mut main, mut later): (Vec<Hit>, Vec<Hit>) = hits.into_iter().partition(|h| {
        let section = &h.payload.section;
        (keep_addenda || !is_addendum(section)) && (keep_penalties || !is_penalty(section))
    });
    main.append(&mut later);
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
                full_names: vec![],
            },
            score: 1.0,
            dense_similarity: 0.5,
        }
    }

    /// The article each passage is from (its section's last part), in the order given.
    fn articles(hits: &[Hit]) -> Vec<&str> {
        hits.iter()
            .filter_map(|h| h.payload.section.rsplit(" > ").next())
            .collect()
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
    fn penalty_provisions_follow_the_duties_unless_punishment_is_asked_about() {
        let hits = vec![
            hit(
                "act",
                "남녀고용평등법 > 제6장 벌칙 <개정 2007.12.21> > 제37조 (벌칙)",
                0,
            ),
            hit(
                "act",
                "남녀고용평등법 > 제3장 모성 보호 > 제19조 (육아휴직)",
                0,
            ),
            hit("act", "근로기준법 > 제12장 벌칙 > 제116조 (과태료)", 0),
            hit(
                "act",
                "근로기준법 > 제5장 여성과 소년 > 제75조 (육아 시간)",
                0,
            ),
        ];
        let out = addenda_last(hits.clone(), "육아휴직은 얼마 동안 쓸 수 있나요?");
        assert_eq!(
            articles(&out),
            vec![
                "제19조 (육아휴직)",
                "제75조 (육아 시간)",
                "제37조 (벌칙)",
                "제116조 (과태료)"
            ]
        );
        let asked = addenda_last(hits.clone(), "육아휴직을 안 주면 회사는 처벌받나요?");
        assert_eq!(articles(&asked), articles(&hits));
        // A duty whose title merely mentions sanctions is no penalty provision.
        let duty = vec![hit(
            "act",
            "근로기준법 > 제9장 취업규칙 > 제95조 (제재 규정의 제한)",
            0,
        )];
        assert_eq!(
            ids(&addenda_last(duty.clone(), "감봉은 얼마까지")),
            ids(&duty)
        );
    }

    #[test]
    fn zero_keeps_the_ranking() {
        let hits = vec![hit("a", "s", 0), hit("a", "s", 1), hit("b", "t", 0)];
        assert_eq!(ids(&diversify(hits, 0, 2)), vec!["a-s-0", "a-s-1"]);
    }
}
