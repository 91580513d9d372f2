//! Sentence-level answers: the sentences (Korean statutes: 항 and 호) of the retrieved passages
//! that answer the question, chosen by how much of the question's rarer content they meet,
//! whether they hold the kind of fact asked for (a number, a duration, a date) and, where the
//! embedding model reads the language, how close they are to the question in meaning.

use std::collections::{HashMap, HashSet};

use super::hierarchy;
use super::quantity::{self, Asked};
use crate::lexical::{concept_share, passage_terms, Analyzer, Concept};

/// One answering unit of a passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// Index of the passage (in the list the units were taken from).
    pub passage: usize,
    pub text: String,
    pub score: f32,
}

/// What the sentences of the retrieved passages say about the question.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// One to three units, in passage order, the best first within a passage.
    pub chosen: Vec<Chosen>,
    /// The best unit's score (0 when nothing matched): a decision feature.
    pub best: f32,
    /// Share of the question's concept weight (rarer concepts weigh more) met by the best of
    /// the top three passages.
    pub rare_coverage: f32,
    /// The same, counting only concepts met by a whole word.
    pub whole_word_coverage: f32,
    /// How many concepts the question has.
    pub concepts: usize,
    /// Best share of the question's concepts (unweighted) met by one of the top three passages.
    pub concept_coverage: f32,
    /// Whether a unit of the top three passages that meets the question states the kind of
    /// fact it asks for (an amount, a duration; always true when it asks for neither).
    pub asked_stated: bool,
    /// The highest closeness in meaning to the question of a unit of the top three passages
    /// that meets it (0 when the embedding model does not read the question's language).
    pub closest: f32,
}

/// How close in meaning each answering unit is to the question: the cosine similarity of their
/// embeddings, for languages the embedding model reads. Lexical coverage alone picks a sentence
/// that repeats the question's words over the one that answers it in other words ("what is
/// comp time?" → "Comp time is when you receive hours of leave instead of overtime pay.").
#[derive(Debug, Clone, Default)]
pub struct Closeness(HashMap<String, f32>);

impl Closeness {
    pub fn of(&self, unit: &str) -> Option<f32> {
        self.0.get(unit).copied()
    }

    pub fn insert(&mut self, unit: String, cosine: f32) {
        self.0.insert(unit, cosine);
    }

    pub fn contains(&self, unit: &str) -> bool {
        self.0.contains_key(unit)
    }
}

/// The share of a unit's score that closeness in meaning takes when it is known: at 0.3 each of
/// the three English development collections stated as many facts and cited as well as with
/// lexical coverage alone, or better; 0.2 and 0.4 were close, 0.7 and above lost facts
/// (BENCHMARKS.md).
const CLOSENESS_WEIGHT: f32 = 0.3;

const MAX_UNITS: usize = 3;
const MAX_CHARS: usize = 700;

/// A unit joins the answer (up to `MAX_UNITS` and `MAX_CHARS`) when its score reaches this share
/// of the best unit's: the sentence that states the fact often meets less of the question than
/// one that repeats its words. Over the eleven collections 0.5 answered and cited more in seven
/// and less in none than 0.8 (en-18f 0.827 → 0.865, ko-fixed-term 0.792 → 0.917, ko-labor 0.509 →
/// 0.545 …; fact recall alike); 0.4 gave the same as 0.5 (the caps bind). BENCHMARKS.md.
const KEEP_FROM: f32 = 0.5;

/// Split a passage into answering units: sentences of prose, list items, statute paragraphs
/// (①) and items (1., 가.), a lead that announces items ("다음 각 호", a trailing colon) joined
/// with the items it announces, and a table joined with the lead that announces it ("연가 일수는
/// 다음과 같다") — a row alone ("│1년 이상 3년 미만 │15 │") answers nothing without its header.
pub fn units(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut lead_open = false;
    let mut items_joined = 0;
    let mut table_open = false;
    // The bullets under an open lead, until the list ends.
    let mut bullets: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = clean_line(raw);
        if line.chars().count() < 3 {
            continue;
        }
        // A bullet under an open lead waits until the list ends; any other line ends the list.
        let bullet = lead_open && is_bullet(raw) && !is_item(&line);
        if !bullet {
            join_bullets(&mut out, &mut bullets);
        }
        match table_line(&line) {
            TableLine::Border => continue,
            TableLine::Row(row) => {
                match out.last_mut() {
                    Some(last) if (lead_open || table_open) && items_joined < MAX_ROWS => {
                        last.push_str(if table_open { "; " } else { " " });
                        last.push_str(&row);
                        items_joined += 1;
                    }
                    _ => {
                        out.push(row);
                        items_joined = 1;
                    }
                }
                table_open = true;
                continue;
            }
            TableLine::Not => table_open = false,
        }
        if bullet {
            bullets.push(line);
            continue;
        }
        let item = is_item(&line);
        if item && lead_open && items_joined < 8 {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(&line);
                items_joined += 1;
                continue;
            }
        }
        lead_open = false;
        items_joined = 0;
        out.extend(line_units(&line));
        if let Some(last) = out.last() {
            lead_open = announces_items(last);
        }
    }
    join_bullets(&mut out, &mut bullets);
    out
}

/// A lead and the bullets it announces read as one unit while they are short together ("they
/// can contact TWN via the options below: The Work Number website; 800-367-5690"); a long list
/// stays a list of units, each bullet answering on its own ("Laundry expenses, if official
/// travel is at least 4 nights" under a lead naming eight kinds of expense).
fn join_bullets(out: &mut Vec<String>, bullets: &mut Vec<String>) {
    if bullets.is_empty() {
        return;
    }
    let listed: usize = bullets.iter().map(|b| b.chars().count() + 2).sum();
    match out.last_mut() {
        Some(lead) if lead.chars().count() + listed <= MAX_JOINED_CHARS => {
            lead.push(' ');
            lead.push_str(&bullets.join("; "));
            bullets.clear();
        }
        _ => out.extend(bullets.drain(..).flat_map(|b| line_units(&b))),
    }
}

/// The units of one line: a Korean statute's paragraph (항) is the unit a citation names and its
/// sentences lean on each other ("이 경우 …"), so it is kept whole; prose is split into sentences.
fn line_units(line: &str) -> Vec<String> {
    if crate::lexical::is_korean(line) {
        vec![line.to_string()]
    } else {
        split_sentences(line)
    }
}

/// The longest lead-and-bullets unit (the length penalty of a unit starts above 450).
const MAX_JOINED_CHARS: usize = 400;

/// Rows of one table kept with its lead.
const MAX_ROWS: usize = 16;

enum TableLine {
    /// ┌──┬──┐, |---|---|, or a row of empty cells.
    Border,
    /// A row's cells, joined by " | ".
    Row(String),
    Not,
}

fn table_line(line: &str) -> TableLine {
    const SEPARATORS: [char; 3] = ['│', '|', '┃'];
    let first = line.chars().next().unwrap_or(' ');
    let box_drawing = |c: char| ('\u{2500}'..='\u{257F}').contains(&c);
    if !(SEPARATORS.contains(&first) || box_drawing(first)) {
        return TableLine::Not;
    }
    let cells: Vec<&str> = line
        .split(SEPARATORS)
        .map(str::trim)
        .filter(|c| {
            c.chars()
                .any(|ch| !(box_drawing(ch) || matches!(ch, '-' | ':' | '+' | ' ')))
        })
        .collect();
    if cells.is_empty() {
        TableLine::Border
    } else {
        TableLine::Row(cells.join(" | "))
    }
}

fn clean_line(raw: &str) -> String {
    let mut s = raw.trim().to_string();
    // Markdown that carries no words: emphasis around statute paragraph marks, list bullets,
    // escaped item numbers ("1\\."), heading hashes.
    for (from, to) in [("**", ""), ("\\.", "."), ("__", "")] {
        s = s.replace(from, to);
    }
    let s = s.trim_start_matches(['#', '-', '*', '>', ' ']);
    // An image carries no words the answer could quote.
    if s.starts_with("<img") {
        return String::new();
    }
    without_amendment_notes(s).trim().to_string()
}

/// Korean statutes mark amendments inline ("<개정 2012.2.1>", "<신설 2018.7.2>"): history, not
/// the rule, so they are left out of the answer.
fn without_amendment_notes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('<') {
        let tail = &rest[start + 1..];
        let note = ["개정", "신설", "전문개정", "본조신설", "제목개정", "종전"]
            .iter()
            .any(|w| tail.starts_with(w));
        match (note, tail.find('>')) {
            (true, Some(end)) => {
                out.push_str(&rest[..start]);
                rest = &tail[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_item(line: &str) -> bool {
    let mut chars = line.chars();
    let first = chars.next();
    match first {
        Some(c) if c.is_ascii_digit() => {
            let rest: String = line.chars().skip_while(|c| c.is_ascii_digit()).collect();
            rest.starts_with(". ") || rest.starts_with(") ")
        }
        Some(c) if ('가'..='하').contains(&c) => {
            let rest: String = chars.collect();
            rest.starts_with(". ")
        }
        _ => false,
    }
}

/// A list bullet ("- ", "* ", "• "), read before `clean_line` drops it: after a lead that
/// announces items ("contact TWN via the options below:") the bullets are what it announces.
fn is_bullet(raw: &str) -> bool {
    let t = raw.trim_start();
    ["- ", "* ", "• ", "+ "].iter().any(|b| t.starts_with(b))
}

fn announces_items(unit: &str) -> bool {
    let t = unit.trim_end();
    t.ends_with(':')
        || [
            "다음 각 호",
            "다음 각 목",
            "다음과 같다",
            "다음 표",
            "as follows",
        ]
        .iter()
        .any(|w| t.contains(w))
}

/// Words that end with a dot without ending a sentence.
const ABBREVIATIONS: [&str; 14] = [
    "mr", "ms", "mrs", "dr", "no", "vs", "st", "jr", "sr", "inc", "co", "etc", "approx", "dept",
];

/// Sentence ends: ". ", "? ", "! " followed by a capital, a digit or Hangul; "다. " in Korean.
fn split_sentences(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 2 < chars.len() {
        let end = matches!(chars[i], '.' | '?' | '!')
            && chars[i + 1] == ' '
            && (chars[i + 2].is_uppercase()
                || chars[i + 2].is_ascii_digit()
                || crate::lexical::is_hangul(chars[i + 2])
                || chars[i + 2] == '*');
        // "e.g. Foo", "U.S. Bar", "No. 5": short tokens before the dot are abbreviations.
        let abbreviation = end && chars[i] == '.' && {
            let word: String = chars[start..i]
                .iter()
                .rev()
                .take_while(|c| !c.is_whitespace())
                .collect();
            let word = word.chars().rev().collect::<String>().to_lowercase();
            word.chars().count() == 1
                || word.contains('.')
                || ABBREVIATIONS.contains(&word.as_str())
        };
        if end && !abbreviation {
            let s: String = chars[start..=i].iter().collect();
            if s.trim().chars().count() >= 3 {
                out.push(s.trim().to_string());
            }
            start = i + 2;
            i += 2;
            continue;
        }
        i += 1;
    }
    let rest: String = chars[start..].iter().collect();
    if rest.trim().chars().count() >= 3 {
        out.push(rest.trim().to_string());
    }
    out
}

/// The units of `passages` that meet at least one of the question's concepts, read as `select`
/// reads them: the only units `select` can choose, so the only ones worth embedding for their
/// closeness.
pub fn meeting(analyzer: &Analyzer, question: &str, passages: &[Passage]) -> Vec<String> {
    let concepts = analyzer.concepts(question);
    passages
        .iter()
        .flat_map(|p| read_units(analyzer, p))
        .filter(|(_, terms)| concepts.iter().any(|c| c.met_in(terms)))
        .map(|(unit, _)| unit)
        .collect()
}

/// The units of `passage`, each with the terms it is read with: its own and those of its
/// passage's nearest heading ("Medical Leave", "제15조 (연가 일수)"). The headings above it (the
/// document's title, a chapter) are shared by many passages and lent every sentence of a broad
/// page the question's words ("Salary and Leave Policy").
fn read_units(analyzer: &Analyzer, passage: &Passage) -> Vec<(String, HashSet<String>)> {
    let heading = label_terms(
        analyzer,
        passage.section.rsplit(" > ").next().unwrap_or(""),
        passage.full_names,
    );
    units(passage.text)
        .into_iter()
        .map(|unit| {
            let mut terms = passage_terms(analyzer, &unit);
            terms.extend(heading.iter().cloned());
            (unit, terms)
        })
        .collect()
}

/// The terms a passage is matched by besides its text: those of a label it stands under (its
/// section path, or its nearest heading) and of the full names it refers to by its document's
/// short forms (`ingest::defined_terms`).
pub(super) fn label_terms(
    analyzer: &Analyzer,
    label: &str,
    full_names: &[String],
) -> HashSet<String> {
    let mut terms = passage_terms(analyzer, label);
    terms.extend(passage_terms(analyzer, &full_names.join(" ")));
    terms
}

/// A retrieved passage as the selection reads it.
#[derive(Debug, Clone, Copy)]
pub struct Passage<'a> {
    /// The document's title: a decree's or rules' unit stands below the act's (`hierarchy`).
    pub title: &'a str,
    /// The section path ("Handbook > Leave > Medical Leave"): it often names the topic the
    /// question uses, so its terms count for the whole passage and its nearest heading's for
    /// every unit of it, but it is never chosen itself.
    pub section: &'a str,
    pub text: &'a str,
    /// Full names the text refers to by its document's short forms (협의회 for 노사협의회): they
    /// count for every unit, as the heading does.
    pub full_names: &'a [String],
}

/// Choose the units of the first `answer_from` of `passages` (best-ranked first) that answer
/// `question`; all of `passages` tell how rare each of the question's concepts is.
pub fn select(
    analyzer: &Analyzer,
    question: &str,
    passages: &[Passage],
    answer_from: usize,
    closeness: &Closeness,
) -> Selection {
    let concepts = analyzer.concepts(question);
    if concepts.is_empty() || passages.is_empty() {
        return Selection::default();
    }
    let passage_sets: Vec<HashSet<String>> = passages
        .iter()
        .map(|p| matched_terms(analyzer, p))
        .collect();
    let weights = concept_weights(&concepts, &passage_sets);
    let weighted = |met: &dyn Fn(&Concept) -> bool| weighted_share(&concepts, &weights, met);
    let covered = |terms: &HashSet<String>| weighted(&|c| c.met_in(terms));
    let best_of_top3 = |share: &dyn Fn(&HashSet<String>) -> f32| {
        passage_sets.iter().take(3).map(share).fold(0.0, f32::max)
    };
    let rare_coverage = best_of_top3(&covered);
    let concept_coverage = best_of_top3(&|terms| concept_share(&concepts, terms));
    let whole_word_coverage = best_of_top3(&|terms| weighted(&|c| c.met_whole_in(terms)));

    let asked = quantity::asked(question);
    let given = quantity::numbers(question);
    let mut asked_stated = asked == Asked::Other;
    let mut scored: Vec<Chosen> = Vec::new();
    let mut closest = 0.0f32;
    for (p, passage) in passages.iter().enumerate().take(answer_from) {
        // Retrieval ranked the passages with more evidence than one sentence holds: a sentence
        // of a lower-ranked passage must meet clearly more of the question to win; and the act's
        // sentence wins a near tie with its decree's restatement of it.
        let standing = (1.0 - 0.1 * p as f32) * hierarchy::weight(passage.title);
        for (unit, terms) in read_units(analyzer, passage) {
            let lexical = covered(&terms);
            // A unit that meets none of the question's concepts is not read, however close
            // (letting close ones in, from cosine 0.45 or 0.65, changed no development answer).
            if lexical == 0.0 {
                continue;
            }
            let close = closeness.of(&unit);
            if p < 3 {
                closest = closest.max(close.unwrap_or(0.0));
            }
            let mut score = match close {
                Some(c) => (1.0 - CLOSENESS_WEIGHT) * lexical + CLOSENESS_WEIGHT * c.max(0.0),
                None => lexical,
            };
            if asked != Asked::Other && quantity::stated_beyond(&unit, &given).answers(asked) {
                score += 0.15;
                asked_stated |= p < 3;
            }
            let len = unit.chars().count();
            if len < 25 {
                score *= 0.7;
            } else if len > 450 {
                score *= 0.85;
            }
            score *= standing;
            scored.push(Chosen {
                passage: p,
                text: unit,
                score,
            });
        }
    }
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    let best = scored.first().map_or(0.0, |c| c.score);
    let mut chosen: Vec<Chosen> = Vec::new();
    let mut chars = 0;
    for c in scored {
        if chosen.len() == MAX_UNITS || c.score < best * KEEP_FROM {
            break;
        }
        let len = c.text.chars().count();
        if !chosen.is_empty() && chars + len > MAX_CHARS {
            continue;
        }
        if chosen
            .iter()
            .any(|k| k.text.contains(&c.text) || c.text.contains(&k.text))
        {
            continue;
        }
        chars += len;
        chosen.push(c);
    }
    // In passage rank order, the best unit first within a passage: the answer's first line is
    // the top passage's best answer, and the units that join it from half the best score on
    // follow as context.
    chosen.sort_by(|a, b| a.passage.cmp(&b.passage).then(b.score.total_cmp(&a.score)));
    Selection {
        chosen,
        best,
        rare_coverage,
        whole_word_coverage,
        concepts: concepts.len(),
        concept_coverage,
        asked_stated,
        closest,
    }
}

/// For each of `passages`, the largest share of the question's concept weight met by one of its
/// units that states the kind of fact the question asks for (an amount, an identifier, another
/// quantity); 0 where none does, and for every passage when it asks for none of them.
pub fn stating_coverage(analyzer: &Analyzer, question: &str, passages: &[Passage]) -> Vec<f32> {
    let asked = quantity::asked(question);
    let concepts = analyzer.concepts(question);
    if asked == Asked::Other || concepts.is_empty() {
        return vec![0.0; passages.len()];
    }
    let given = quantity::numbers(question);
    let passage_sets: Vec<HashSet<String>> = passages
        .iter()
        .map(|p| matched_terms(analyzer, p))
        .collect();
    let weights = concept_weights(&concepts, &passage_sets);
    passages
        .iter()
        .map(|passage| {
            read_units(analyzer, passage)
                .into_iter()
                .filter(|(unit, _)| quantity::stated_beyond(unit, &given).answers(asked))
                .map(|(_, terms)| weighted_share(&concepts, &weights, &|c| c.met_in(&terms)))
                .fold(0.0, f32::max)
        })
        .collect()
}

/// What a passage is matched by: its text's terms and its section label's.
fn matched_terms(analyzer: &Analyzer, passage: &Passage) -> HashSet<String> {
    let mut terms = passage_terms(analyzer, passage.text);
    terms.extend(label_terms(analyzer, passage.section, passage.full_names));
    terms
}

/// The share of the question's concept weight (`weights`, from `concept_weights`) met, "met" as
/// the caller says.
fn weighted_share(concepts: &[Concept], weights: &[f32], met: &dyn Fn(&Concept) -> bool) -> f32 {
    let total: f32 = weights.iter().sum();
    concepts
        .iter()
        .zip(weights)
        .filter(|(c, _)| met(c))
        .map(|(_, w)| *w)
        .sum::<f32>()
        / total.max(f32::EPSILON)
}

/// Rarer concepts weigh more: a concept met by every retrieved passage tells little about which
/// sentence answers (ln of the inverse share of passages meeting it, like IDF over the hits).
pub(super) fn concept_weights(concepts: &[Concept], passages: &[HashSet<String>]) -> Vec<f32> {
    let n = passages.len() as f32;
    concepts
        .iter()
        .map(|c| {
            let df = passages.iter().filter(|p| c.met_in(p)).count() as f32;
            (1.0 + (n + 1.0) / (df + 1.0)).ln()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statute_paragraphs_and_their_items_are_units() {
        let text = "##### 제18조 (병가)\n**①** 행정기관의 장은 다음 각 호의 어느 하나에 해당할 경우에는 연 60일의 범위에서 병가를 승인할 수 있다.\n  1\\. 질병 또는 부상으로 인하여 직무를 수행할 수 없을 때\n  2\\. 감염병에 걸렸을 때\n**②** 병가 일수가 연간 6일을 초과하는 경우에는 의사의 진단서를 첨부하여야 한다.";
        let u = units(text);
        assert_eq!(u.len(), 3, "{u:#?}");
        assert!(u[1].starts_with("① 행정기관의 장은"));
        assert!(u[1].contains("1. 질병") && u[1].contains("2. 감염병"));
        assert!(u[2].starts_with("② 병가 일수"));
    }

    #[test]
    fn a_table_reads_with_the_lead_that_announces_it() {
        let text = "① 공무원의 재직기간별 연가 일수는 다음과 같다.\n<img src=\"x.png\" alt=\"img\">\n┌────┬───┐\n│재직기간 │연가 일수 │\n├────┼───┤\n│1년 이상 3년 미만 │15 │\n│    │    │\n│6년 이상 │21 │\n└────┴───┘\n② 연가는 나누어 쓸 수 있다.";
        assert_eq!(
            units(text),
            vec![
                "① 공무원의 재직기간별 연가 일수는 다음과 같다. 재직기간 | 연가 일수; 1년 이상 3년 미만 | 15; 6년 이상 | 21".to_string(),
                "② 연가는 나누어 쓸 수 있다.".to_string(),
            ]
        );
        // A table without a lead is one unit of its own, header first.
        assert_eq!(
            units("| Level | Days |\n|---|---|\n| Junior | 10 |"),
            vec!["Level | Days; Junior | 10".to_string()]
        );
    }

    #[test]
    fn a_lead_reads_with_the_bullets_it_announces() {
        let text = "If a lender needs to verify your employment, they can contact TWN via the options below:\n- The Work Number website\n- 800-367-5690\nFor more, read the guide.\n- A bullet after prose stands alone.";
        assert_eq!(
            units(text),
            vec![
                "If a lender needs to verify your employment, they can contact TWN via the options below: The Work Number website; 800-367-5690",
                "For more, read the guide.",
                "A bullet after prose stands alone.",
            ]
        );
        // A long list stays a list: each bullet can answer on its own.
        let long = format!(
            "These expenses need no receipt when each is under $75:\n{}- Laundry expenses, if official travel is at least 4 nights",
            "- Checked baggage fees for more than one piece of luggage per leg of your trip\n".repeat(4)
        );
        let u = units(&long);
        assert_eq!(u.len(), 6, "{u:#?}");
        assert_eq!(
            u[5],
            "Laundry expenses, if official travel is at least 4 nights"
        );
    }

    #[test]
    fn a_korean_paragraph_stays_whole() {
        let u = units("**①** 병가를 승인할 수 있다. 이 경우 누계 8시간을 병가 1일로 계산한다.");
        assert_eq!(
            u,
            vec!["① 병가를 승인할 수 있다. 이 경우 누계 8시간을 병가 1일로 계산한다."]
        );
    }

    #[test]
    fn amendment_notes_are_left_out() {
        assert_eq!(
            units(
                "**①** 사용자는 15일의 유급휴가를 주어야 한다. <개정 2012.2.1>\nA <b> tag stays."
            ),
            vec![
                "① 사용자는 15일의 유급휴가를 주어야 한다.",
                "A <b> tag stays."
            ]
        );
    }

    #[test]
    fn prose_splits_into_sentences_but_not_at_abbreviations() {
        let u = units(
            "- You get 10 days. See e.g. the table. Ask HR? Yes. We need it. It is Dr. Kim's call.\n- Second item here",
        );
        assert_eq!(
            u,
            vec![
                "You get 10 days.",
                "See e.g. the table.",
                "Ask HR?",
                "Yes.",
                "We need it.",
                "It is Dr. Kim's call.",
                "Second item here"
            ]
        );
    }

    #[test]
    fn the_sentence_with_the_asked_quantity_is_chosen() {
        let a = Analyzer::default();
        let passage = Passage {
            title: "",
            section: "Leave > Annual leave",
            text: "Employees accrue it from their first pay period. Full-time employees earn 4 hours each pay period. Requests go to your supervisor.",
            full_names: &[],
        };
        let other = Passage {
            title: "",
            section: "Leave > Sick leave",
            text: "Sick leave is earned at 4 hours per pay period for everyone.",
            full_names: &[],
        };
        let s = select(
            &a,
            "how much annual leave do I earn each pay period?",
            &[passage, other],
            2,
            &Closeness::default(),
        );
        assert!(
            s.chosen[0].text.contains("earn 4 hours each pay period"),
            "{s:#?}"
        );
        assert!(s.chosen.iter().all(|c| !c.text.contains("supervisor")));
        assert!(s.best > 0.5 && s.rare_coverage > 0.5, "{s:#?}");
    }

    #[test]
    fn the_sentence_that_answers_in_other_words_joins_the_one_that_repeats_the_question() {
        let a = Analyzer::default();
        let passage = Passage {
            title: "",
            section: "Telework",
            text: "Telework requests for a new telework agreement are entered in the HR system. \
                   Your supervisor approves each agreement within five business days.",
            full_names: &[],
        };
        let s = select(
            &a,
            "who approves new telework requests?",
            &[passage],
            1,
            &Closeness::default(),
        );
        assert!(s.chosen[0].text.starts_with("Telework requests"), "{s:#?}");
        assert!(
            s.chosen
                .iter()
                .any(|c| c.text.contains("supervisor approves")),
            "{s:#?}"
        );
    }

    #[test]
    fn a_document_title_does_not_lend_its_words_to_every_sentence() {
        let a = Analyzer::default();
        let paycheck = Passage {
            title: "",
            section: "Paycheck > Introduction",
            text: "Your Salary is processed on 1st of month. We always pay on time.",
            full_names: &[],
        };
        let leave = Passage {
            title: "",
            section: "Salary and Leave Policy > Leave Policy",
            text: "You get 18 hours of paid leaves a month. Leave days are not accumulated.",
            full_names: &[],
        };
        let s = select(
            &a,
            "what day of the month is salary paid?",
            &[paycheck, leave],
            2,
            &Closeness::default(),
        );
        assert!(s.chosen[0].text.contains("1st of month"), "{s:#?}");
    }

    #[test]
    fn closeness_in_meaning_ranks_sentences_that_meet_the_question_alike() {
        let a = Analyzer::default();
        let passage = Passage {
            title: "",
            section: "Overtime",
            text: "The amount of comp time you receive depends on your salary. Comp time is when you receive hours of leave instead of overtime pay.",
            full_names: &[],
        };
        let question = "what is comp time you receive?";
        let top = |s: &Selection| {
            s.chosen
                .iter()
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .map(|c| c.text.clone())
                .unwrap_or_default()
        };
        // By the question's words alone, the two sentences are alike.
        let lexical = select(&a, question, &[passage], 1, &Closeness::default());
        assert_eq!(lexical.chosen.len(), 2, "{lexical:#?}");
        assert_eq!(lexical.chosen[0].score, lexical.chosen[1].score);
        assert_eq!(lexical.closest, 0.0);
        let mut close = Closeness::default();
        close.insert(
            "The amount of comp time you receive depends on your salary.".into(),
            0.35,
        );
        close.insert(
            "Comp time is when you receive hours of leave instead of overtime pay.".into(),
            0.8,
        );
        let s = select(&a, question, &[passage], 1, &close);
        assert!(top(&s).contains("instead of overtime pay"), "{s:#?}");
        assert_eq!(s.closest, 0.8);
    }

    #[test]
    fn the_acts_sentence_wins_a_tie_with_its_decrees() {
        let a = Analyzer::default();
        let decree = Passage {
            title: "근로기준법 시행령",
            section: "근로기준법 시행령 > 제30조 (연차 유급휴가)",
            text: "법 제60조에 따른 연차 유급휴가는 출근율을 계산하여 15일을 준다.",
            full_names: &[],
        };
        let act = Passage {
            title: "근로기준법",
            section: "근로기준법 > 제60조 (연차 유급휴가)",
            text:
                "사용자는 1년간 80퍼센트 이상 출근한 근로자에게 15일의 연차 유급휴가를 주어야 한다.",
            full_names: &[],
        };
        let s = select(
            &a,
            "연차 유급휴가는 며칠이에요?",
            &[decree, act],
            2,
            &Closeness::default(),
        );
        let best = s.chosen.iter().max_by(|x, y| x.score.total_cmp(&y.score));
        assert_eq!(best.map(|c| c.passage), Some(1), "{s:#?}");
    }

    #[test]
    fn a_unit_the_document_abbreviates_meets_the_question() {
        let a = Analyzer::default();
        let passage = Passage {
            title: "",
            section: "Salary and Leave",
            text: "You're paid per hour of work done. We cap it to 40 hrs/week or 8 hrs/day. Leave is paid.",
            full_names: &[],
        };
        let s = select(
            &a,
            "whats the max hours per week i can get paid for?",
            &[passage],
            1,
            &Closeness::default(),
        );
        assert!(
            s.chosen.iter().any(|c| c.text.contains("40 hrs/week")),
            "{s:#?}"
        );
    }

    #[test]
    fn a_question_the_passages_do_not_touch_scores_nothing() {
        let a = Analyzer::default();
        let s = select(
            &a,
            "parking garage fee?",
            &[Passage {
                title: "",
                section: "Leave",
                text: "Employees earn annual leave.",
                full_names: &[],
            }],
            1,
            &Closeness::default(),
        );
        assert!(s.chosen.is_empty());
        assert_eq!(s.best, 0.0);
    }
}
