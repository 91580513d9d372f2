//! Feedback as labelled questions: each thumbs up or down on an answer becomes a line of a QA
//! set (`regula eval feedback`), for refitting the decision on a company's own questions.

use serde_json::{json, Value};

use crate::rag::Answer;
use crate::store::{FeedbackEntry, Rating};

/// One line per rated answer. What the rating settles is written as a case; what it leaves open
/// is marked `review` (an answerable question whose right document only a person can name, or a
/// wrong answer that may instead have needed a refusal), which `read_qa` refuses until edited.
pub fn cases(entries: &[FeedbackEntry]) -> Vec<Value> {
    entries
        .iter()
        .filter_map(|e| {
            let question = e.question.as_deref()?;
            let answer: Option<Answer> = e
                .recorded
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok());
            let abstained = answer.as_ref().is_none_or(|a| a.abstained);
            let id = format!("feedback-{}", e.id);
            let cited = answer.as_ref().and_then(|a| a.citations.first());
            Some(match (e.rating, abstained, cited) {
                (Rating::Up, false, Some(c)) => json!({
                    "id": id, "question": question, "answerable": true,
                    "expected": {"source": c.source, "section": c.section},
                }),
                (Rating::Up, true, _) => json!({
                    "id": id, "question": question, "answerable": false,
                }),
                (Rating::Down, true, _) => json!({
                    "id": id, "question": question, "answerable": true,
                    "review": "refused but rated down: set expected.source (and section) to the document that answers it",
                    "comment": e.comment,
                }),
                _ => json!({
                    "id": id, "question": question,
                    "review": "answered but rated down: either set answerable true with the right expected.source, or answerable false if the documents do not answer it",
                    "answer": e.answer, "comment": e.comment,
                }),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rating: Rating, recorded: Value) -> FeedbackEntry {
        FeedbackEntry {
            id: "1".into(),
            rating,
            comment: None,
            actor: "a".into(),
            created_at: "t".into(),
            message_id: "m".into(),
            conversation_id: "c".into(),
            question: Some("how many days?".into()),
            answer: "text".into(),
            recorded: Some(recorded.to_string()),
        }
    }

    fn answer(abstained: bool) -> Value {
        json!({
            "answer": "x", "abstained": abstained, "nearest": [], "mode": if abstained { "abstained" } else { "extractive" },
            "conversation_id": null, "timings_ms": {"retrieve": 1, "first_token": null, "total": 1},
            "citations": if abstained { json!([]) } else { json!([{"n": 1, "document_id": "d", "title": "t",
                "source": "leave.md", "section": "Annual leave", "page": null, "chunk_id": "c", "quote": "q", "score": 0.5}]) },
        })
    }

    #[test]
    fn ratings_become_cases_or_lines_to_review() {
        let c = cases(&[
            entry(Rating::Up, answer(false)),
            entry(Rating::Up, answer(true)),
            entry(Rating::Down, answer(true)),
            entry(Rating::Down, answer(false)),
        ]);
        assert_eq!(c[0]["answerable"], true);
        assert_eq!(c[0]["expected"]["source"], "leave.md");
        assert_eq!(c[1]["answerable"], false);
        assert!(c[2]["review"].is_string() && c[2]["answerable"] == true);
        assert!(c[3]["review"].is_string() && c[3].get("answerable").is_none());
        // The settled lines read as QA cases; the others are refused until reviewed.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.jsonl");
        let lines: Vec<String> = c.iter().map(|v| v.to_string()).collect();
        std::fs::write(&p, lines[..2].join("\n")).unwrap();
        assert_eq!(super::super::read_qa(&p).unwrap().len(), 2);
        std::fs::write(&p, lines.join("\n")).unwrap();
        let err = super::super::read_qa(&p).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("review"), "{err}");
    }
}
