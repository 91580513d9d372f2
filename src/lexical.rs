//! Lexical terms for the sparse (BM25) side and for the confidence gate.
//!
//! English: NFKC, lowercase, stopwords dropped, Snowball stemming. Korean is agglutinative
//! (연차휴가는, 연차휴가를 …), so each Hangul word loses a trailing particle and yields the bare
//! word plus its syllable bigrams; a question's 연차휴가를 and a statute's 연차휴가는 then share
//! most terms. Terms are hashed into the u32 dimensions of a sparse vector; the IDF factor is
//! applied by Qdrant's sparse `Idf` modifier at query time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

use crate::morphology::{naming_part, KoreanTagger, Morpheme};

/// BM25 parameters for the document side.
const K1: f32 = 1.2;
const B: f32 = 0.75;

const EN_STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do",
    "does", "did", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "me", "my", "of", "on", "or", "our", "should", "so", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "us", "was", "we", "were", "what",
    "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your", "am",
    "any", "get", "got", "tell", "please", "s", "t",
];

/// Korean question words and fillers that carry no topic.
const KO_STOPWORDS: &[&str] = &[
    "무엇",
    "뭐",
    "뭔가",
    "어떻게",
    "어떤",
    "언제",
    "얼마",
    "얼마나",
    "누가",
    "누구",
    "왜",
    "어디",
    "있나요",
    "하나요",
    "인가요",
    "되나요",
    "알려줘",
    "알려주세요",
    "궁금",
    "궁금해요",
    "좀",
    "꼭",
    "수",
    "것",
    "등",
    "및",
    "그",
    "이",
    "저",
    "해야",
    "하는",
    "있는",
    "없는",
    "경우",
    "때",
    "몇",
    // Generic verbs of a question ("…받을 수 있나요", "…해야 하나요"): no topic in them.
    "받을",
    "받는",
    "받은",
    "받나요",
    "받아야",
    "할",
    "하면",
    "해요",
    "하나",
    "되나요",
    "될",
    "된",
    "되는",
    "있을",
    "있어요",
    "없나요",
    "없어요",
    "해도",
    "되요",
    "돼요",
    // Nouns of time and place too general to be a topic (며칠 안에, 그 날, 한 달 동안).
    "안",
    "동안",
    "날",
    "달",
    "끝",
];

/// Nouns every question may use and no rule is about (사람, 문제, 방법): with a Korean tagger, a
/// word naming only one of them is no concept ("저도 문제가 되나요?" asks whether it is allowed).
/// So are the nouns that ask what a term means (정의, 뜻, 의미): "괴롭힘은 법에서 어떻게
/// 정의하나요?" asks for the sentence that defines 괴롭힘, which does not say 정의. They still
/// search (a statute's 제2조 (정의) is found by them). And the nouns naming where the answer is
/// to be found (법에서, 법 위반 아닌가요, 법적으로): the rules are the law being asked about, and
/// they write 근로기준법 or 이 법, rarely the bare word.
const KO_GENERIC: &[&str] = &[
    "정의",
    "뜻",
    "의미",
    "법",
    "법적",
    "사람",
    "문제",
    "상황",
    "부분",
    "정도",
    "얘기",
    "이야기",
    "생각",
    "내용",
    "방법",
    "거",
    "게",
];

/// Beginnings of Korean question words (며칠이에요, 몇시간, 언제까지, 얼마씩, 최대): what a
/// question asks, not what it is about.
const KO_ASKING: &[&str] = &["며칠", "몇", "언제", "얼마", "최대", "최장", "최소"];

/// Particles and endings stripped from the end of a Hangul word, longest first.
const KO_SUFFIXES: &[&str] = &[
    "으로부터",
    "에서부터",
    "이라도",
    "에게서",
    "한테서",
    "으로서",
    "으로써",
    "입니까",
    "습니까",
    "인가요",
    "에서는",
    "에게는",
    "으로는",
    "이에요",
    "예요",
    "에서",
    "에게",
    "한테",
    "께서",
    "까지",
    "부터",
    "으로",
    "이나",
    "라도",
    "처럼",
    "보다",
    "마다",
    "만큼",
    "이다",
    "이며",
    "하고",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "에",
    "의",
    "로",
    "와",
    "과",
    "도",
    "만",
    "나",
    "요",
];

pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// Share of letters in `text` that are Hangul: decides how a question is gated and answered.
pub fn hangul_ratio(text: &str) -> f32 {
    let (mut hangul, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if is_hangul(c) {
            hangul += 1;
        }
    }
    if letters == 0 {
        0.0
    } else {
        hangul as f32 / letters as f32
    }
}

pub fn is_korean(text: &str) -> bool {
    hangul_ratio(text) >= 0.3
}

/// Weight of a term that only a thesaurus expansion brought into a query.
const EXPANSION_WEIGHT: f32 = 0.6;
/// Korean thesaurus expansions and question bigrams (see `query_vector`; chosen on tests/eval/ko.jsonl:
/// hit@5 0.61 -> 0.72, hit@1 0.33 -> 0.39).
const KO_EXPANSION_WEIGHT: f32 = 1.0;
const KO_BIGRAM_QUERY_WEIGHT: f32 = 0.5;

/// How employees say it -> how regulations say it (`resources/thesaurus.tsv`).
#[derive(Debug, Clone, Default)]
pub struct Thesaurus {
    entries: Vec<(String, String)>,
}

impl Thesaurus {
    /// The entries of `text`; lines that are no entry are passed over (see `load` for a file
    /// that must not have any).
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter_map(|l| match Line::of(l) {
                Line::Entry(k, v) => Some((k, v)),
                Line::Blank | Line::Malformed => None,
            })
            .collect();
        Self { entries }
    }

    pub fn builtin() -> Self {
        Self::parse(include_str!("../resources/thesaurus.tsv"))
    }

    /// A company's thesaurus file. Every line that is not blank or a `#` comment must be a key,
    /// a tab and at least one term: a line that is not is an error naming it, so that a mistyped
    /// entry does not silently do nothing.
    pub fn load(path: &Path) -> Result<Self, ThesaurusError> {
        let bad = |reason: String| ThesaurusError {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            match Line::of(line) {
                Line::Entry(k, v) => entries.push((k, v)),
                Line::Blank => {}
                Line::Malformed => {
                    return Err(bad(format!(
                        "line {}: expected a word, a tab and the regulation terms, got {line:?}",
                        n + 1
                    )))
                }
            }
        }
        Ok(Self { entries })
    }

    /// Regulation terms for the words of `text` that start with a thesaurus key (or, for a key
    /// ending in `$`, that are the key, a particle aside).
    pub fn expand(&self, text: &str) -> String {
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        for word in lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            for (key, terms) in &self.entries {
                let matches = match key.strip_suffix('$') {
                    // The whole word, a particle (or the plural 들) aside: 아이$ is met by
                    // 아이가 and 아이들을, not by 아이디어. A counter reads after a number
                    // too: 살$ is met by 18살도.
                    Some(whole) => counted(word).strip_prefix(whole).is_some_and(|rest| {
                        let rest = rest.strip_prefix('들').unwrap_or(rest);
                        rest.is_empty() || KO_SUFFIXES.contains(&rest)
                    }),
                    None => word.starts_with(key.as_str()),
                };
                if matches {
                    out.push(terms.as_str());
                }
            }
        }
        out.join(" ")
    }
}

/// A word without the number it may start with (18살 -> 살; a word of digits alone stays).
fn counted(word: &str) -> &str {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    if rest.is_empty() {
        word
    } else {
        rest
    }
}

/// One line of a thesaurus file.
enum Line {
    /// Blank, or a `#` comment.
    Blank,
    /// A key (lowercased) and its regulation terms.
    Entry(String, String),
    /// Neither: no tab, or nothing on one side of it.
    Malformed,
}

impl Line {
    fn of(line: &str) -> Self {
        if line.trim().is_empty() || line.starts_with('#') {
            return Line::Blank;
        }
        match line.split_once('\t') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                Line::Entry(k.trim().to_lowercase(), v.trim().to_string())
            }
            _ => Line::Malformed,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("thesaurus {path}: {reason}")]
pub struct ThesaurusError {
    path: PathBuf,
    reason: String,
}

pub struct Analyzer {
    stemmer: Stemmer,
    thesaurus: Thesaurus,
    /// Tells a Korean question's naming words from the rest (see `concepts`); without it every
    /// word of the question is a concept.
    korean: Option<Arc<KoreanTagger>>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
            thesaurus: Thesaurus::builtin(),
            korean: None,
        }
    }
}

// By hand: the stemmer (a function pointer) is not `Clone`; every analyzer's is English.
impl Clone for Analyzer {
    fn clone(&self) -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
            thesaurus: self.thesaurus.clone(),
            korean: self.korean.clone(),
        }
    }
}

impl Analyzer {
    /// This analyzer reading Korean questions with `tagger`.
    pub fn with_korean(mut self, tagger: Option<Arc<KoreanTagger>>) -> Self {
        self.korean = tagger;
        self
    }

    /// This analyzer with a company's own entries added to its thesaurus.
    pub fn with_company_thesaurus(mut self, company: Thesaurus) -> Self {
        self.thesaurus.entries.extend(company.entries);
        self
    }

    /// Whether Korean questions are read with a morphological analyzer.
    pub fn reads_korean(&self) -> bool {
        self.korean.is_some()
    }
}

/// A sparse vector as parallel arrays (indices unique).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparse {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Analyzer {
    /// Terms of `text` in order, with repeats.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let normalized: String = text.nfkc().collect::<String>().to_lowercase();
        let mut out = Vec::new();
        for word in normalized.split(|c: char| !(c.is_alphanumeric())) {
            if word.is_empty() {
                continue;
            }
            self.word_terms(word, &mut out);
        }
        out
    }

    fn word_terms(&self, word: &str, out: &mut Vec<String>) {
        // Split a word at script changes: "제60조의2" -> 제, 60, 조의, 2; "covid19" -> covid, 19.
        let mut runs: Vec<(Script, String)> = Vec::new();
        for c in word.chars() {
            let s = Script::of(c);
            match runs.last_mut() {
                Some((last, run)) if *last == s => run.push(c),
                _ => runs.push((s, c.to_string())),
            }
        }
        // Korean article references are kept whole as well: 제60조 is one term.
        if runs.len() >= 3 && word.starts_with('제') && runs[1].0 == Script::Digit {
            out.push(format!("k:{}", word));
        }
        for (script, run) in runs {
            match script {
                Script::Latin => {
                    if run.len() > 1 && !EN_STOPWORDS.contains(&run.as_str()) {
                        out.push(format!("e:{}", self.stemmer.stem(&run)));
                    }
                }
                Script::Digit => out.push(format!("n:{}", run.trim_start_matches('0'))),
                Script::Hangul => korean_terms(&run, out),
                Script::Other => out.push(format!("o:{run}")),
            }
        }
    }

    /// Distinct terms of `text`.
    pub fn term_set(&self, text: &str) -> Vec<String> {
        let mut terms = self.terms(text);
        terms.sort();
        terms.dedup();
        terms
    }

    /// Document-side BM25 term weights (IDF is applied by the index at query time).
    pub fn document_vector(&self, text: &str, avg_len: f32) -> Sparse {
        let terms = self.terms(text);
        let len = terms.len() as f32;
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for t in &terms {
            *tf.entry(term_id(t)).or_default() += 1.0;
        }
        let norm = K1 * (1.0 - B + B * len / avg_len.max(1.0));
        to_sparse(
            tf.into_iter()
                .map(|(i, f)| (i, f * (K1 + 1.0) / (f + norm))),
        )
    }

    /// Query-side weights: one per distinct term of the question, less for terms that only the
    /// thesaurus adds (연봉 -> 임금, vacation -> leave).
    pub fn query_vector(&self, text: &str) -> Sparse {
        let own = self.term_set(text);
        let expanded_text = self.thesaurus.expand(text);
        let mut words = self.korean_words(text);
        words.extend(self.korean_words(&expanded_text));
        // Korean syllable bigrams are a fallback for agglutination (연차휴가 inside 연차휴가를),
        // noisier than whole words: they count half in a question.
        let weight = |t: &str| {
            if t.starts_with("k:") && t.chars().count() == 4 && !words.iter().any(|w| w == t) {
                KO_BIGRAM_QUERY_WEIGHT
            } else {
                1.0
            }
        };
        // An employee's Korean word mapped to the statute's (월급 -> 임금) is the only way to meet
        // the statute's vocabulary: it counts fully. English expansions are looser synonyms.
        let expansion = |t: &str| {
            if t.starts_with("k:") {
                KO_EXPANSION_WEIGHT
            } else {
                EXPANSION_WEIGHT
            }
        };
        let expanded = self.term_set(&expanded_text);
        let extra = expanded.into_iter().filter(|t| !own.contains(t));
        to_sparse(
            own.iter()
                .map(|t| (term_id(t), weight(t)))
                .chain(extra.map(|t| (term_id(&t), expansion(&t) * weight(&t)))),
        )
    }

    /// The whole Korean words (particles stripped) of `text`, as terms.
    fn korean_words(&self, text: &str) -> Vec<String> {
        let normalized: String = text.nfkc().collect::<String>().to_lowercase();
        normalized
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().all(is_hangul) && !w.is_empty())
            .map(|w| format!("k:{}", strip_particle(w)))
            .collect()
    }
}

fn to_sparse(pairs: impl Iterator<Item = (u32, f32)>) -> Sparse {
    let mut pairs: Vec<(u32, f32)> = pairs.collect();
    pairs.sort_by_key(|p| p.0);
    pairs.dedup_by_key(|p| p.0);
    Sparse {
        indices: pairs.iter().map(|p| p.0).collect(),
        values: pairs.iter().map(|p| p.1).collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Digit,
    Hangul,
    Other,
}

impl Script {
    fn of(c: char) -> Self {
        if c.is_ascii_digit() {
            Script::Digit
        } else if is_hangul(c) {
            Script::Hangul
        } else if c.is_alphabetic() && (c.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(&c)) {
            Script::Latin
        } else {
            Script::Other
        }
    }
}

fn strip_particle(word: &str) -> &str {
    for suffix in KO_SUFFIXES {
        if let Some(stem) = word.strip_suffix(suffix) {
            // Keep at least two syllables: 회사가 -> 회사, but 나이 stays 나이.
            if stem.chars().count() >= 2 {
                return stem;
            }
        }
    }
    word
}

fn korean_terms(run: &str, out: &mut Vec<String>) {
    if KO_STOPWORDS.contains(&run) {
        return;
    }
    let stem = strip_particle(run);
    if KO_STOPWORDS.contains(&stem) {
        return;
    }
    let chars: Vec<char> = stem.chars().collect();
    out.push(format!("k:{stem}"));
    // Bigrams share the words' namespace, so a two-syllable question word (근로) meets the same
    // syllables inside a longer statute word (근로시간).
    if chars.len() > 2 {
        for pair in chars.windows(2) {
            out.push(format!("k:{}{}", pair[0], pair[1]));
        }
    }
}

/// FNV-1a: a stable, dependency-free hash; collisions among a corpus's terms are rare at 2^32.
pub fn term_id(term: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in term.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// One idea of a question: the whole-word terms that stand for it in a passage (the word, and the
/// regulation words the thesaurus maps it to) and, for a long Korean word, its syllable bigrams
/// (연차휴가 is also met by 연차 … 유급휴가: half its bigrams).
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    words: Vec<String>,
    /// The syllable bigrams of the word and of each long Korean thesaurus equivalent, one group
    /// each (가산임금 is met by 가산하여 … 통상임금).
    bigrams: Vec<Vec<String>>,
}

impl Concept {
    /// Whether the concept's word itself (or a thesaurus equivalent) is among these terms, not
    /// only half of its syllable pairs.
    pub fn met_whole_in(&self, passage_terms: &std::collections::HashSet<String>) -> bool {
        self.words.iter().any(|w| passage_terms.contains(w))
    }

    /// Whether a passage with these terms (see `passage_terms`) meets the concept.
    pub fn met_in(&self, passage_terms: &std::collections::HashSet<String>) -> bool {
        self.met_whole_in(passage_terms)
            || self.bigrams.iter().any(|group| {
                group
                    .first()
                    .is_some_and(|head| passage_terms.contains(head))
                    && 2 * group.iter().filter(|b| passage_terms.contains(*b)).count()
                        >= group.len()
            })
    }
}

impl Analyzer {
    /// The concepts of a question, one per content word (stopwords and question words carry
    /// none), with its thesaurus expansions as alternatives. With a Korean tagger, a Hangul word
    /// stands for what its nouns name (통보받았는데 -> 통보), and a word that names nothing (a
    /// verb, an adverb, 것/수/때) is no concept unless the thesaurus knows it (잘렸는데 -> 해고).
    pub fn concepts(&self, question: &str) -> Vec<Concept> {
        let normalized: String = question.nfkc().collect::<String>().to_lowercase();
        let words: Vec<(usize, &str)> = word_spans(&normalized);
        let naming = self.naming_parts(&normalized, &words);
        let mut out: Vec<Concept> = Vec::new();
        for (i, &(_, word)) in words.iter().enumerate() {
            // The same terms the index holds: a Hangul word gives its stem, then its bigrams.
            let mut terms = Vec::new();
            let hangul = word.chars().all(is_hangul);
            // A question word asks for the fact (see `quantity::asked`): no topic a passage must
            // meet, even where the thesaurus maps it for retrieval (며칠 -> 이내 일수; the
            // answer says "30일 전에").
            if hangul && KO_ASKING.iter().any(|w| word.starts_with(w)) {
                continue;
            }
            // So is a counting word after 몇 that the thesaurus maps to a statute's unit (몇 살
            // -> 세): any passage with such a number meets it (정년은 몇 살 -> "40세 이상").
            // An unmapped one stays (몇 시간: a passage with no hours at all does not answer).
            let expansions = self.thesaurus.expand(word);
            if hangul && i > 0 && words[i - 1].1 == "몇" && !expansions.is_empty() {
                continue;
            }
            let mut extra_word = None;
            if hangul {
                match naming.as_ref().map(|n| n[i].as_deref()) {
                    Some(Some(part)) if KO_GENERIC.contains(&part) && expansions.is_empty() => {
                        continue
                    }
                    Some(Some(part)) => {
                        // The noun as the index holds it: bare (휴가 -> 휴, the particle rule
                        // cannot tell) and with a particle (휴가는 -> 휴가): either meets it.
                        korean_terms(part, &mut terms);
                        if terms.first().is_some_and(|t| t[2..] != *part) {
                            extra_word = Some(format!("k:{part}"));
                        }
                    }
                    Some(None) if expansions.is_empty() => continue,
                    _ => korean_terms(word, &mut terms),
                }
            } else {
                self.word_terms(word, &mut terms);
            }
            if terms.is_empty() {
                continue;
            }
            let mut bigrams = if hangul {
                vec![terms.split_off(1)]
            } else {
                Vec::new()
            };
            let mut words = terms;
            words.extend(extra_word);
            for expansion in expansions.split_whitespace() {
                if expansion.chars().all(is_hangul) {
                    let mut t = Vec::new();
                    korean_terms(expansion, &mut t);
                    if t.len() > 1 {
                        bigrams.push(t.split_off(1));
                    }
                    words.push(format!("k:{}", strip_particle(expansion)));
                } else {
                    self.word_terms(&expansion.to_lowercase(), &mut words);
                }
            }
            let concept = Concept { words, bigrams };
            if !out.contains(&concept) {
                out.push(concept);
            }
        }
        out
    }

    /// For each of `words` (spans of `text`), the naming part of its morphemes (only Hangul words
    /// are read); None when there is no tagger, or the analysis fails or cannot be laid over the
    /// words (then every word counts, as without a tagger). The question is read whole, for
    /// context (중, 번, 시 after a number or a noun are dependent nouns, alone they read as
    /// nouns); a morpheme belongs to the word it starts in.
    fn naming_parts(&self, text: &str, words: &[(usize, &str)]) -> Option<Vec<Option<String>>> {
        let tagger = self.korean.as_ref()?;
        if !text.chars().any(is_hangul) {
            return None;
        }
        let morphemes = tagger
            .analyze(text)
            .map_err(|e| tracing::warn!(error = %e, "Korean analysis failed; every word counts"))
            .ok()?;
        let per_word = morphemes_per_word(text, words, morphemes)?;
        Some(
            words
                .iter()
                .zip(&per_word)
                .map(|(&(_, word), m)| {
                    if word.chars().all(is_hangul) {
                        naming_part(m)
                    } else {
                        None
                    }
                })
                .collect(),
        )
    }
}

/// `morphemes` of `text` grouped by the word of `words` each starts in; None when a morpheme's
/// text is not found in order.
fn morphemes_per_word(
    text: &str,
    words: &[(usize, &str)],
    morphemes: Vec<Morpheme>,
) -> Option<Vec<Vec<Morpheme>>> {
    let mut per_word: Vec<Vec<Morpheme>> = vec![Vec::new(); words.len()];
    let mut cursor = 0;
    for m in morphemes {
        let start = cursor + text.get(cursor..)?.find(m.surface.as_str())?;
        cursor = start + m.surface.len();
        if let Some(w) = words
            .iter()
            .position(|&(at, word)| start >= at && start < at + word.len())
        {
            per_word[w].push(m);
        }
    }
    Some(per_word)
}

/// The words of `text` (runs of letters and digits) with their byte offsets.
fn word_spans(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// The distinct terms of a passage, for `Concept::met_in`.
///
/// A word a prefix negates also stands for the word it negates (unpaid -> paid, nonexempt ->
/// exempt): "FMLA leave is unpaid" answers "Is FMLA leave paid?", whichever way the answer goes.
pub fn passage_terms(analyzer: &Analyzer, passage: &str) -> std::collections::HashSet<String> {
    let mut terms: std::collections::HashSet<String> =
        analyzer.terms(passage).into_iter().collect();
    let negated: Vec<String> = terms.iter().filter_map(|t| negated(t)).collect();
    terms.extend(negated);
    terms
}

/// The English term a negating prefix stands before (e:unpaid -> e:paid); short remainders are
/// no words (under, union, unit).
fn negated(term: &str) -> Option<String> {
    let word = term.strip_prefix("e:")?;
    let rest = word
        .strip_prefix("non")
        .or_else(|| word.strip_prefix("un"))?;
    (rest.len() >= 4).then(|| format!("e:{rest}"))
}

/// Share of the question's concepts that `passage` meets (0 when the question has none).
pub fn concept_coverage(analyzer: &Analyzer, concepts: &[Concept], passage: &str) -> f32 {
    concept_share(concepts, &passage_terms(analyzer, passage))
}

/// `concept_coverage` for a passage whose terms are already known (see `passage_terms`).
pub fn concept_share(
    concepts: &[Concept],
    passage_terms: &std::collections::HashSet<String>,
) -> f32 {
    if concepts.is_empty() {
        return 0.0;
    }
    let met = concepts.iter().filter(|c| c.met_in(passage_terms)).count();
    met as f32 / concepts.len() as f32
}

/// Share of the question's distinct terms that occur in `passage` (0 when the question has none).
pub fn coverage(analyzer: &Analyzer, question_terms: &[String], passage: &str) -> f32 {
    if question_terms.is_empty() {
        return 0.0;
    }
    let passage_terms: std::collections::HashSet<String> =
        analyzer.terms(passage).into_iter().collect();
    let hits = question_terms
        .iter()
        .filter(|t| passage_terms.contains(*t))
        .count();
    hits as f32 / question_terms.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_stemmed_and_stopwords_dropped() {
        let a = Analyzer::default();
        assert_eq!(
            a.terms("What are the Holidays?"),
            vec!["e:holiday".to_string()]
        );
        assert_eq!(
            a.term_set("vacation vacations"),
            vec!["e:vacat".to_string()]
        );
    }

    #[test]
    fn korean_particles_do_not_change_terms() {
        let a = Analyzer::default();
        let q = a.term_set("연차휴가를 언제 쓸 수 있나요?");
        let d = a.term_set("연차휴가는 1년간 80퍼센트 이상 출근한 근로자에게 준다");
        for t in ["k:연차휴가", "k:연차", "k:차휴", "k:휴가"] {
            assert!(q.contains(&t.to_string()), "{t} in question terms {q:?}");
            assert!(d.contains(&t.to_string()), "{t} in statute terms {d:?}");
        }
        assert!(!q.iter().any(|t| t.contains("언제")));
    }

    #[test]
    fn short_words_meet_the_syllables_of_longer_ones() {
        let a = Analyzer::default();
        let q = a.term_set("근로 시간");
        let d = a.term_set("근로시간은 40시간을 초과할 수 없다");
        assert!(q.iter().all(|t| d.contains(t)), "{q:?} in {d:?}");
    }

    #[test]
    fn article_references_stay_whole() {
        let a = Analyzer::default();
        let t = a.terms("제60조 (연차 유급휴가)");
        assert!(t.contains(&"k:제60조".to_string()), "{t:?}");
        assert!(t.contains(&"n:60".to_string()));
    }

    #[test]
    fn real_statute_text_matches_a_paraphrased_question() {
        let a = Analyzer::default();
        let article = "사용자는 근로계약을 체결할 때에 근로자에게 다음 각 호의 사항을 명시하여야 한다. \
                       1. 임금 2. 소정근로시간 3. 제55조에 따른 휴일 4. 제60조에 따른 연차 유급휴가";
        let q = a.term_set("근로계약을 맺을 때 회사가 꼭 알려줘야 하는 근로조건은?");
        let c = coverage(&a, &q, article);
        assert!(c >= 0.3, "coverage {c} for {q:?}");
        let off = coverage(&a, &q, "개인정보처리자는 정보주체의 동의를 받아야 한다");
        assert!(off < c, "off-topic coverage {off} should be below {c}");
    }

    #[test]
    fn concepts_measure_how_much_of_the_question_a_passage_answers() {
        let a = Analyzer::default();
        let q = a.concepts("퇴사하면 남은 월급은 언제까지 받아야 하나요?");
        // 퇴사하면, 남은, 월급은; the question words 언제까지, 받아야 and 하나요 carry none.
        assert_eq!(q.len(), 3, "{q:?}");
        // 근로기준법 제36조 answers it in the statute's words (퇴직, 임금) …
        let article = "제36조 (금품 청산)\n사용자는 근로자가 사망 또는 퇴직한 경우에는 그 지급 사유가 \
                       발생한 때부터 14일 이내에 임금, 보상금, 그 밖의 모든 금품을 지급하여야 한다.";
        // … while a definition shares only the employee's own word 월급.
        let definition = "제6조 (통상임금)\n\"통상임금\"이란 근로자에게 정기적이고 일률적으로 지급하기로 \
                          정한 시간급 금액, 일급 금액, 주급 금액, 월급 금액 또는 도급 금액을 말한다.";
        let answer = concept_coverage(&a, &q, article);
        let other = concept_coverage(&a, &q, definition);
        assert!(answer > 0.5 && other < 0.5, "{answer} vs {other}");
        // A long word is met by half its syllable pairs: 연차휴가 in 연차 유급휴가.
        let leave = a.concepts("연차휴가는 며칠인가요");
        assert!(concept_coverage(&a, &leave, "15일의 연차 유급휴가를 주어야 한다") > 0.0);
        // A thesaurus equivalent is met the same way: 수당 -> 가산임금, in 가산하여 … 통상임금.
        let pay = a.concepts("수당");
        let overtime = "통상임금의 100분의 50 이상을 가산하여 근로자에게 지급하여야 한다";
        assert_eq!(concept_coverage(&a, &pay, overtime), 1.0);
        assert_eq!(concept_coverage(&a, &pay, "통상임금을 지급한다"), 0.0);
        // English words are stemmed and met by the handbook's words.
        let en = a.concepts("How many vacation days do I get?");
        assert!(concept_coverage(&a, &en, "Employees earn annual leave each pay period") > 0.0);
        assert_eq!(concept_coverage(&a, &[], "anything"), 0.0);
    }

    #[test]
    fn question_words_are_no_concept_and_everyday_words_meet_the_statutes() {
        let a = Analyzer::default();
        // 며칠 asks for the fact, which the answer states as "30일 전에" (no 이내, no 일수):
        // without a tagger the concepts are 해고하려면, 전에, 미리 (-> 예고), 알려야.
        let notice = a.concepts("해고하려면 며칠 전에 미리 알려야 하나요?");
        assert_eq!(notice.len(), 4, "{notice:?}");
        let article = "사용자는 근로자를 해고하려면 적어도 30일 전에 예고를 하여야 한다.";
        assert_eq!(concept_coverage(&a, &notice, article), 0.75, "{notice:?}");
        for asking in ["몇일이에요", "얼마씩", "최대", "언제부터"] {
            assert!(a.concepts(asking).is_empty(), "{asking}");
        }
        // How employees say it: 주말 -> 휴일, 아이 -> 자녀, 해외 -> 국외.
        let weekend = a.concepts("주말에 출근하면");
        assert!(concept_coverage(&a, &weekend, "휴일에 근무한 경우") > 0.0);
        let child = a.concepts("아이가 있는 공무원");
        assert_eq!(
            concept_coverage(&a, &child, "자녀가 있는 공무원"),
            1.0,
            "{child:?}"
        );
        for child in ["아이", "아이가", "딸이", "아이들을"] {
            let c = a.concepts(child);
            assert_eq!(
                concept_coverage(&a, &c, "자녀를 양육하는 경우"),
                1.0,
                "{child}"
            );
        }
        let idea = a.concepts("아이디어 제안");
        assert_eq!(concept_coverage(&a, &idea, "자녀를 양육하는 경우"), 0.0);
        let abroad = a.concepts("해외 출장");
        assert_eq!(concept_coverage(&a, &abroad, "국외 출장의 여비"), 1.0);
        // Half of a compound's syllable pairs meet it only with its first pair: the modifier
        // says which thing, the last syllables only what kind (회식비 is no 식비).
        let dinner = a.concepts("회식비");
        assert_eq!(concept_coverage(&a, &dinner, "식비는 별표 2에 따라"), 0.0);
        assert_eq!(concept_coverage(&a, &dinner, "회식에 드는 비용"), 1.0);
        let night = a.concepts("야간근로수당");
        assert_eq!(
            concept_coverage(
                &a,
                &night,
                "야간근로에 대하여는 통상임금의 100분의 50 이상을 가산한 수당"
            ),
            1.0
        );
    }

    #[test]
    fn a_company_thesaurus_adds_its_words_and_a_mistyped_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("words.tsv");
        std::fs::write(&good, "# our words\n리프레시휴가\t연차 유급휴가\n\n").unwrap();
        let a = Analyzer::default().with_company_thesaurus(Thesaurus::load(&good).unwrap());
        let q = a.concepts("리프레시휴가");
        assert_eq!(
            concept_coverage(&a, &q, "15일의 유급휴가를 주어야 한다"),
            1.0
        );
        // Without it the company's word meets nothing in the statute.
        assert_eq!(
            concept_coverage(
                &Analyzer::default(),
                &Analyzer::default().concepts("리프레시휴가"),
                "15일의 유급휴가"
            ),
            0.0
        );
        let bad = dir.path().join("bad.tsv");
        std::fs::write(&bad, "리프레시휴가 연차\n").unwrap();
        let e = Thesaurus::load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.tsv") && e.contains("line 1"), "{e}");
        let missing = Thesaurus::load(&dir.path().join("none.tsv")).unwrap_err();
        assert!(missing.to_string().contains("none.tsv"), "{missing}");
    }

    #[test]
    fn document_vector_has_unique_sorted_indices_and_bm25_weights() {
        let a = Analyzer::default();
        let v = a.document_vector("leave leave leave policy", 100.0);
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        let leave = v
            .indices
            .iter()
            .position(|i| *i == term_id("e:leav"))
            .unwrap();
        let policy = v
            .indices
            .iter()
            .position(|i| *i == term_id("e:polici"))
            .unwrap();
        assert!(v.values[leave] > v.values[policy]);
        assert!(v.values[leave] < K1 + 1.0);
    }

    #[test]
    fn thesaurus_maps_employee_words_to_regulation_words() {
        let a = Analyzer::default();
        let plain = a.query_vector("근로계약");
        let q = a.query_vector("회사랑 계약을 맺을 때 알려줘야 하는 것");
        let weight = |v: &Sparse, t: &str| {
            v.indices
                .iter()
                .position(|i| *i == term_id(t))
                .map(|p| v.values[p])
        };
        assert_eq!(
            weight(&q, "k:체결"),
            Some(KO_EXPANSION_WEIGHT),
            "맺 -> 체결"
        );
        assert_eq!(
            weight(&q, "k:사용자"),
            Some(KO_EXPANSION_WEIGHT),
            "회사 -> 사용자"
        );
        assert_eq!(
            weight(&q, "k:명시"),
            Some(KO_EXPANSION_WEIGHT),
            "알려 -> 명시"
        );
        let notice = a.query_vector("해고를 문자로 통보받았어요 밤에");
        assert_eq!(
            weight(&notice, "k:통지"),
            Some(KO_EXPANSION_WEIGHT),
            "통보 -> 통지"
        );
        assert_eq!(
            weight(&notice, "k:야간"),
            Some(KO_EXPANSION_WEIGHT),
            "밤 -> 야간"
        );
        assert_eq!(
            weight(&a.query_vector("밤새"), "k:야간"),
            None,
            "밤$ is the whole word"
        );
        assert_eq!(weight(&plain, "k:근로계약"), Some(1.0));
        // Its syllable bigrams are a weaker fallback.
        assert_eq!(weight(&plain, "k:로계"), Some(KO_BIGRAM_QUERY_WEIGHT));
        let english = a.query_vector("vacation policy");
        assert_eq!(weight(&english, "e:leav"), Some(EXPANSION_WEIGHT));
        let ride = a.query_vector("can I expense an uber to the airport");
        assert_eq!(weight(&ride, "e:taxi"), Some(EXPANSION_WEIGHT));
        // A whole-word key is not met inside a longer word: hackerbay is no security incident.
        let company = Thesaurus::builtin().expand("who founded hackerbay");
        assert!(!company.contains("incident"), "{company}");
        let t = Thesaurus::parse("# comment\nvacation\tleave annual\n\nbad line\n");
        assert_eq!(t.expand("Vacations next week"), "leave annual");
    }

    /// The concept of `concepts` that `term` stands for.
    fn concept_with<'a>(concepts: &'a [Concept], term: &str) -> Option<&'a Concept> {
        concepts.iter().find(|c| c.words.iter().any(|w| w == term))
    }

    #[test]
    fn native_counting_words_meet_the_counters_statutes_write() {
        // 두 달에 한 번 is how people say what the statute writes as 매월 1회 (or 2개월).
        let a = Analyzer::default();
        let statute = "임금은 매월 1회 이상 일정한 날짜를 정하여 지급하여야 한다.";
        let terms = passage_terms(&a, statute);
        let asked = a.concepts("임금을 두 달에 한 번 줘도 되나요?");
        for counter in ["k:달에", "k:번"] {
            let concept = concept_with(&asked, counter);
            assert!(
                concept.is_some_and(|c| c.met_in(&terms)),
                "{counter}: {asked:?}"
            );
        }
        // The counter of what is asked is no topic: 몇 살 asks for an age.
        let asked_age = a.concepts("정년은 몇 살이에요?");
        assert!(concept_with(&asked_age, "k:세").is_none(), "{asked_age:?}");
        // A number before the counter is read the same way: 18살 -> 세.
        let age = Thesaurus::builtin().expand("18살도 야간에 일할 수 있나요");
        assert!(age.split_whitespace().any(|t| t == "세"), "{age}");
        // A word of digits alone is not a counter.
        assert_eq!(counted("2024"), "2024");
        assert_eq!(counted("3번"), "번");
    }

    #[test]
    fn a_negated_word_meets_the_word_it_negates() {
        let a = Analyzer::default();
        let asked = a.concepts("Is FMLA leave paid?");
        let paid = concept_with(&asked, "e:paid").expect("paid is a concept");
        assert!(paid.met_in(&passage_terms(&a, "FMLA leave is unpaid.")));
        assert!(paid.met_in(&passage_terms(&a, "Holidays are paid.")));
        assert!(!paid.met_in(&passage_terms(&a, "The union meets monthly.")));
        assert_eq!(negated("e:nonexempt").as_deref(), Some("e:exempt"));
        assert_eq!(negated("e:under"), None);
        assert_eq!(negated("k:불이익"), None);
    }

    #[test]
    fn korean_question_is_detected() {
        assert!(is_korean("연차휴가는 며칠인가요?"));
        assert!(!is_korean("How many days of leave (연차) do I get?"));
    }

    #[test]
    fn a_morpheme_belongs_to_the_word_it_starts_in() {
        // Debian's MeCab reads across the space: 올해 성과급은 as 올해 + 성 + 과 + 급 + 은.
        let text = "올해 성과급은 언제?";
        let m = |s: &str, t: &str| Morpheme {
            surface: s.into(),
            tag: t.into(),
        };
        let morphemes = vec![
            m("올해", "NNG"),
            m("성", "XSN"),
            m("과", "JC"),
            m("급", "NNG"),
            m("은", "JX"),
            m("언제", "MAG"),
            m("?", "SF"),
        ];
        let words = word_spans(text);
        let per_word = morphemes_per_word(text, &words, morphemes.clone()).unwrap();
        let parts: Vec<Option<String>> = per_word.iter().map(|m| naming_part(m)).collect();
        assert_eq!(
            parts,
            vec![Some("올해".to_string()), Some("성과급".to_string()), None]
        );
        // A morpheme that is not in the text: no grouping (every word then counts).
        assert!(morphemes_per_word("다른 글", &word_spans("다른 글"), morphemes).is_none());
    }
}
