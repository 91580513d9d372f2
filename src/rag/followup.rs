//! Follow-up questions ("and for part-timers?", "그럼 그건 며칠이에요?") depend on the previous turn.
//! Before retrieval they are made standalone by joining the previous standalone question: the
//! question's own terms stay, and the earlier topic comes back. A question that names its own topic
//! is left alone. Deterministic, so it works with a small model that cannot rewrite reliably.

use std::sync::LazyLock;

use regex::Regex;

use crate::lexical::Analyzer;

/// Words that point back at the previous turn, or open a continuation.
static ANAPHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        ^\s*(and|also|what\s+about|how\s+about|same\s+for|then)\b
        | \b(it|its|that|this|these|those|they|them|there)\b
        | ^\s*(그럼|그러면|그리고|또|그건|그것|그거|이건|이것|이거|거기|그때|그\s|이\s경우)
        | (그것|그거|그건|이것|이거|이건|거기|그때)",
    )
    .expect("regex")
});

/// Few topic terms: a question this short rarely stands alone.
const SHORT_TERMS: usize = 2;

pub fn is_followup(analyzer: &Analyzer, question: &str) -> bool {
    ANAPHOR.is_match(question) || analyzer.term_set(question).len() <= SHORT_TERMS
}

/// The standalone form of `question`, given the earlier questions of the conversation (oldest first).
pub fn standalone(analyzer: &Analyzer, history: &[String], question: &str) -> String {
    let mut context: Option<String> = None;
    for q in history
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(question))
    {
        context = Some(match context {
            Some(prev) if is_followup(analyzer, q) => format!("{prev} {q}"),
            _ => q.to_string(),
        });
    }
    context.unwrap_or_else(|| question.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followups_carry_the_previous_topic() {
        let a = Analyzer::default();
        let h = vec!["How much annual leave do I earn per pay period?".to_string()];
        assert_eq!(
            standalone(&a, &h, "And how much of it can I carry over?"),
            "How much annual leave do I earn per pay period? And how much of it can I carry over?"
        );
        let h = vec!["출산휴가는 며칠인가요?".to_string()];
        assert_eq!(
            standalone(&a, &h, "그럼 배우자는요?"),
            "출산휴가는 며칠인가요? 그럼 배우자는요?"
        );
    }

    #[test]
    fn standalone_questions_are_left_alone() {
        let a = Analyzer::default();
        let h = vec!["How much annual leave do I earn?".to_string()];
        let q = "What is the TTS bug bounty program?";
        assert_eq!(standalone(&a, &h, q), q);
        assert_eq!(
            standalone(&a, &[], "And what about it?"),
            "And what about it?"
        );
    }

    #[test]
    fn chains_of_followups_keep_the_original_topic() {
        let a = Analyzer::default();
        let h = vec![
            "What is comp time?".to_string(),
            "Does it expire?".to_string(),
        ];
        assert_eq!(
            standalone(&a, &h, "And who approves it?"),
            "What is comp time? Does it expire? And who approves it?"
        );
    }
}
