//! Several document collections, each its own deployment (own data dir, own index), each with
//! its question set: what `regula eval collections` and `regula eval fit` run over.
//! Separate indexes matter: a question unanswerable from one company's handbook may be answered
//! by another's.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{bad, read_qa, EvalError, QaCase};

#[derive(Debug, Clone, Deserialize)]
pub struct Collection {
    pub name: String,
    /// `en` or `ko`: the language its questions are asked in.
    pub lang: String,
    /// Folders or files to ingest, relative to the manifest's folder.
    pub documents: Vec<PathBuf>,
    /// The question set (JSON lines, see `QaCase`), relative to the manifest's folder.
    pub questions: PathBuf,
    /// Where the documents come from and under which licence.
    #[serde(default)]
    pub source: String,
}

impl Collection {
    pub fn cases(&self) -> Result<Vec<QaCase>, EvalError> {
        read_qa(&self.questions)
    }
}

/// Read a manifest (a JSON list of collections); paths become relative to the current folder.
pub fn read_manifest(path: &Path) -> Result<Vec<Collection>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    let mut collections: Vec<Collection> = serde_json::from_str(&text).map_err(|e| bad(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for c in &mut collections {
        if c.name.is_empty()
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            return Err(bad(
                path,
                format!("collection name {:?}: use letters, digits and -", c.name),
            ));
        }
        if c.lang != "en" && c.lang != "ko" {
            return Err(bad(path, format!("{}: lang must be en or ko", c.name)));
        }
        c.documents = c.documents.iter().map(|d| base.join(d)).collect();
        c.questions = base.join(&c.questions);
    }
    Ok(collections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_manifest_holds_enough_varied_questions() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval/collections.json");
        let collections = read_manifest(&manifest).unwrap();
        for lang in ["en", "ko"] {
            let of_lang: Vec<&Collection> = collections.iter().filter(|c| c.lang == lang).collect();
            assert!(of_lang.len() >= 3, "{lang}: at least three collections");
            let (mut total, mut total_unanswerable) = (0, 0);
            for c in of_lang {
                let cases = c.cases().unwrap();
                let unanswerable = cases.iter().filter(|q| !q.answerable).count();
                assert!(
                    unanswerable * 4 >= cases.len(),
                    "{}: a quarter or more unanswerable",
                    c.name
                );
                assert!(
                    c.documents.iter().all(|d: &PathBuf| d.exists()),
                    "{}: documents exist",
                    c.name
                );
                for q in &cases {
                    assert_eq!(
                        crate::lexical::is_korean(&q.question),
                        lang == "ko",
                        "{}: {} is asked in {lang}",
                        c.name,
                        q.id
                    );
                }
                total += cases.len();
                total_unanswerable += unanswerable;
            }
            assert!(total >= 150, "{lang}: {total} questions");
            assert!(
                total_unanswerable * 3 >= total,
                "{lang}: a third unanswerable ({total_unanswerable} of {total})"
            );
        }
    }

    #[test]
    fn a_bad_collection_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        std::fs::write(
            &p,
            r#"[{"name": "../x", "lang": "en", "documents": [], "questions": "q.jsonl"}]"#,
        )
        .unwrap();
        assert!(read_manifest(&p).is_err());
    }
}
