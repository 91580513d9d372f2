//! Fitting the answer-or-abstain decision: a logistic model per language, its operating point
//! chosen on the training collections, judged on a collection it never saw (leave one
//! collection out), so the figures say how it does on a new company's documents.

use serde::Serialize;

use super::{ratio, CaseResult};
use crate::rag::decision::{DecisionModel, Features, Logistic};

/// How a decision did on one collection's questions.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub collection: String,
    pub questions: usize,
    pub unanswerable: usize,
    /// Answered questions whose answer the passages hold, of all answerable ones.
    pub answered_correctly: f64,
    pub abstention_precision: f64,
    pub abstention_recall: f64,
    /// The operating point used (for cross-validated rows: chosen without this collection).
    pub threshold: Option<f32>,
}

/// Score decisions (`true`: answer) against the cases.
pub fn outcome(
    collection: &str,
    cases: &[&CaseResult],
    answers: &[bool],
    context: usize,
    threshold: Option<f32>,
) -> Outcome {
    let answerable = cases.iter().filter(|c| c.answerable).count();
    let unanswerable = cases.len() - answerable;
    let abstained = answers.iter().filter(|a| !**a).count();
    let right_abstentions = cases
        .iter()
        .zip(answers)
        .filter(|(c, a)| !**a && !c.answerable)
        .count();
    let right_answers = cases
        .iter()
        .zip(answers)
        .filter(|(c, a)| **a && c.should_answer(context))
        .count();
    Outcome {
        collection: collection.to_string(),
        questions: cases.len(),
        unanswerable,
        answered_correctly: ratio(right_answers, answerable),
        abstention_precision: ratio(right_abstentions, abstained),
        abstention_recall: ratio(right_abstentions, unanswerable),
        threshold,
    }
}

fn samples(cases: &[&CaseResult], context: usize) -> Vec<(Features, bool)> {
    cases
        .iter()
        .map(|c| (c.features, c.should_answer(context)))
        .collect()
}

/// The probability from which to answer: the best balanced accuracy (answer what should be
/// answered, abstain on the rest, each class counting alike) on the given samples.
pub fn operating_point(model: &Logistic, samples: &[(Features, bool)]) -> f32 {
    let positives = samples.iter().filter(|(_, y)| *y).count().max(1) as f64;
    let negatives = samples.iter().filter(|(_, y)| !*y).count().max(1) as f64;
    let probs: Vec<(f32, bool)> = samples
        .iter()
        .map(|(f, y)| (model.probability(f), *y))
        .collect();
    let mut best = (f64::MIN, 0.5f32);
    for step in 1..100 {
        let t = step as f32 / 100.0;
        let tp = probs.iter().filter(|(p, y)| *y && *p >= t).count() as f64;
        let tn = probs.iter().filter(|(p, y)| !*y && *p < t).count() as f64;
        let balanced = tp / positives + tn / negatives;
        // Ties go to the lower threshold, which answers more.
        if balanced > best.0 + 1e-9 {
            best = (balanced, t);
        }
    }
    best.1
}

/// What a language's model is fitted on, and how strongly it is held back.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub features: Vec<String>,
    pub l2: f32,
}

impl Recipe {
    /// The recipes of the shipped model (chosen among subsets of up to four features by their
    /// leave-one-collection-out figures; see BENCHMARKS.md). Korean has no cosine (the default
    /// embedding model does not read Korean): the best sentence's score, and whether the top
    /// passages state the kind of fact asked.
    pub fn shipped(korean: bool) -> Self {
        let (features, l2): (&[&str], f32) = if korean {
            (&["sentence", "asked_stated"], 0.01)
        } else {
            (&["dense", "sentence", "margin"], 0.01)
        };
        Recipe {
            features: features.iter().map(|f| f.to_string()).collect(),
            l2,
        }
    }

    /// Every feature is one the decision computes.
    pub fn check(&self) -> Result<(), String> {
        let names = crate::rag::decision::FEATURE_NAMES;
        match self.features.iter().find(|f| !names.contains(&f.as_str())) {
            Some(bad) => Err(format!(
                "unknown feature {bad:?}; known: {}",
                names.join(", ")
            )),
            None if self.features.is_empty() => Err("a recipe needs at least one feature".into()),
            None => Ok(()),
        }
    }
}

/// Fit on `cases`, operating point included.
pub fn fit(cases: &[&CaseResult], context: usize, recipe: &Recipe) -> Logistic {
    let s = samples(cases, context);
    let names: Vec<&str> = recipe.features.iter().map(String::as_str).collect();
    let mut model = Logistic::fit(&s, &names, recipe.l2);
    model.threshold = operating_point(&model, &s);
    model
}

/// The collections among `cases`, each once, in name order.
fn collection_names<'a>(cases: &[&'a CaseResult]) -> Vec<&'a str> {
    let mut names: Vec<&str> = cases.iter().map(|c| c.collection.as_str()).collect();
    names.sort();
    names.dedup();
    names
}

/// The cases of `collection`, and those of every other collection.
fn split<'a>(
    cases: &[&'a CaseResult],
    collection: &str,
) -> (Vec<&'a CaseResult>, Vec<&'a CaseResult>) {
    cases.iter().partition(|c| c.collection == collection)
}

/// `recipe` fitted on `train` and judged on `held_out`'s cases `test`.
fn judge(
    held_out: &str,
    train: &[&CaseResult],
    test: &[&CaseResult],
    context: usize,
    recipe: &Recipe,
) -> Outcome {
    let model = fit(train, context, recipe);
    let answers: Vec<bool> = test.iter().map(|c| model.answers(&c.features)).collect();
    outcome(held_out, test, &answers, context, Some(model.threshold))
}

/// One row per collection: the model fitted on the other collections of the language.
pub fn leave_one_collection_out(
    cases: &[&CaseResult],
    context: usize,
    recipe: &Recipe,
) -> Vec<Outcome> {
    collection_names(cases)
        .into_iter()
        .map(|held_out| {
            let (test, train) = split(cases, held_out);
            judge(held_out, &train, &test, context, recipe)
        })
        .collect()
}

/// The rows of a decision already made (the `abstained` of each case), per collection.
pub fn as_decided(cases: &[&CaseResult], context: usize) -> Vec<Outcome> {
    collection_names(cases)
        .into_iter()
        .map(|name| {
            let (of, _) = split(cases, name);
            let answers: Vec<bool> = of.iter().map(|c| !c.abstained).collect();
            outcome(name, &of, &answers, context, None)
        })
        .collect()
}

/// Mean and range of a figure over collections.
pub fn spread(rows: &[Outcome], figure: impl Fn(&Outcome) -> f64) -> (f64, f64, f64) {
    let v: Vec<f64> = rows.iter().map(figure).collect();
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (mean, min, max)
}

/// "answered correctly mean [min–max], abstention P …, R …" over collections.
pub fn summary(rows: &[Outcome]) -> String {
    let (am, alo, ahi) = spread(rows, |r| r.answered_correctly);
    let (pm, plo, phi) = spread(rows, |r| r.abstention_precision);
    let (rm, rlo, rhi) = spread(rows, |r| r.abstention_recall);
    format!(
        "answered correctly {am:.3} [{alo:.3}–{ahi:.3}], abstention P {pm:.3} [{plo:.3}–{phi:.3}], R {rm:.3} [{rlo:.3}–{rhi:.3}]"
    )
}

/// A recipe and how it did on the collections it was not fitted on.
#[derive(Debug, Clone)]
pub struct Tried {
    pub recipe: Recipe,
    /// Held-out balanced accuracy (answered correctly and abstention recall, alike), the mean
    /// over collections and the worst collection.
    pub mean: f64,
    pub worst: f64,
}

/// Features the search leaves out: the question's length separated the development sets only
/// because of how their unanswerable questions happened to be written (short), which says
/// nothing about a company's own questions.
const NOT_SEARCHED: [&str; 1] = ["length"];

/// Every subset of up to `max_features` features at two strengths of the L2 penalty, each judged
/// leaving one collection out; the best first. Features constant over `cases` (the cosine where
/// the embedding model does not read the language) are left out. This is what the shipped
/// recipes were chosen by, and a second-level fit to the collections it runs on: `nested` says
/// what the choice itself is worth on a collection it never saw.
pub fn search(cases: &[&CaseResult], context: usize, max_features: usize) -> Vec<Tried> {
    let names = crate::rag::decision::FEATURE_NAMES;
    let varies = |i: usize| {
        let mut values = cases.iter().map(|c| c.features.vector()[i]);
        let first = values.next().unwrap_or(0.0);
        values.any(|v| (v - first).abs() > 1e-6)
    };
    let usable: Vec<usize> = (0..names.len())
        .filter(|&i| varies(i) && !NOT_SEARCHED.contains(&names[i]))
        .collect();
    let mut tried = Vec::new();
    for mask in 1u32..(1 << usable.len()) {
        if mask.count_ones() as usize > max_features {
            continue;
        }
        let features: Vec<String> = (0..usable.len())
            .filter(|b| mask & (1 << b) != 0)
            .map(|b| names[usable[b]].to_string())
            .collect();
        for l2 in [0.01, 0.3] {
            let recipe = Recipe {
                features: features.clone(),
                l2,
            };
            let rows = leave_one_collection_out(cases, context, &recipe);
            let (mean, worst, _) = spread(&rows, |r| {
                (r.answered_correctly + r.abstention_recall) / 2.0
            });
            tried.push(Tried {
                recipe,
                mean,
                worst,
            });
        }
    }
    // Best mean first; among equals, the simpler recipe.
    tried.sort_by(|a, b| {
        b.mean
            .total_cmp(&a.mean)
            .then(a.recipe.features.len().cmp(&b.recipe.features.len()))
    });
    tried
}

/// The search itself judged on collections it never saw: for each collection, the recipe is
/// chosen by `search` over the other collections, fitted on them, and applied to this one.
pub fn nested(
    cases: &[&CaseResult],
    context: usize,
    max_features: usize,
) -> Vec<(Outcome, Recipe)> {
    collection_names(cases)
        .into_iter()
        .filter_map(|held_out| {
            let (test, train) = split(cases, held_out);
            let best = search(&train, context, max_features).into_iter().next()?;
            Some((
                judge(held_out, &train, &test, context, &best.recipe),
                best.recipe,
            ))
        })
        .collect()
}

/// The full model: each language fitted on all of its collections.
pub fn fit_model(cases: &[CaseResult], context: usize, en: &Recipe, ko: &Recipe) -> DecisionModel {
    let of = |korean: bool| -> Vec<&CaseResult> {
        cases.iter().filter(|c| c.korean == korean).collect()
    };
    DecisionModel {
        en: fit(&of(false), context, en),
        ko: fit(&of(true), context, ko),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(collection: &str, answerable: bool, strength: f32) -> CaseResult {
        CaseResult {
            id: "q".into(),
            answerable,
            abstained: false,
            hit_rank: answerable.then_some(1),
            cited_expected: false,
            facts_found: 0,
            facts_total: 0,
            latency_ms: 0,
            korean: false,
            collection: collection.into(),
            features: Features {
                dense: strength,
                concept_coverage: strength,
                rare_coverage: strength,
                sentence: strength,
                margin: 0.3,
                agreement: 1.0,
                whole_word_coverage: strength,
                top_score: 0.5,
                length: 0.5,
                asked_stated: 1.0,
                closest_sentence: strength,
            },
            mode: None,
        }
    }

    #[test]
    fn a_held_out_collection_is_judged_by_a_model_that_never_saw_it() {
        let mut cases = Vec::new();
        for (name, shift) in [("a", 0.0), ("b", 0.02), ("c", -0.02)] {
            for i in 0..20 {
                let t = i as f32 / 100.0;
                cases.push(case(name, true, 0.6 + shift + t));
                cases.push(case(name, false, 0.3 + shift + t));
            }
        }
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let recipe = Recipe {
            features: vec!["dense".into(), "concept_coverage".into()],
            l2: 0.01,
        };
        let rows = leave_one_collection_out(&refs, 3, &recipe);
        assert_eq!(rows.len(), 3);
        for r in &rows {
            assert!(r.answered_correctly >= 0.9, "{r:?}");
            assert!(
                r.abstention_recall >= 0.9 && r.abstention_precision >= 0.9,
                "{r:?}"
            );
        }
        let (mean, min, max) = spread(&rows, |r| r.answered_correctly);
        assert!(min <= mean && mean <= max);
    }

    #[test]
    fn the_search_finds_the_feature_that_separates_and_is_judged_nested() {
        let mut cases = Vec::new();
        for (name, shift) in [("a", 0.0), ("b", 0.02), ("c", -0.02)] {
            for i in 0..20 {
                for answerable in [true, false] {
                    // Every coverage feature is noise; only the sparse score separates.
                    let noise = ((i * 7 + usize::from(answerable) * 3) % 10) as f32 / 10.0;
                    let mut c = case(name, answerable, noise);
                    c.features.top_score =
                        if answerable { 1.0 } else { 0.4 } + shift + i as f32 / 100.0;
                    cases.push(c);
                }
            }
        }
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let tried = search(&refs, 3, 2);
        let has_top_score = |r: &Recipe| r.features.iter().any(|f| f == "top_score");
        assert!(has_top_score(&tried[0].recipe), "{:?}", tried[0]);
        assert!(tried[0].mean > 0.95 && tried[0].worst > 0.9);
        // Constant features (margin, agreement here) and the question's length are never tried.
        for t in &tried {
            for f in ["margin", "agreement", "asked_stated", "length"] {
                assert!(!t.recipe.features.iter().any(|x| x == f), "{t:?}");
            }
        }
        let nested = nested(&refs, 3, 2);
        assert_eq!(nested.len(), 3);
        for (o, recipe) in &nested {
            assert!(has_top_score(recipe), "{recipe:?}");
            assert!(
                o.answered_correctly >= 0.9 && o.abstention_recall >= 0.9,
                "{o:?}"
            );
        }
    }

    #[test]
    fn a_recipe_names_known_features() {
        let mut r = Recipe::shipped(false);
        assert!(r.check().is_ok());
        r.features.push("vibes".into());
        assert!(r.check().unwrap_err().contains("vibes"));
        r.features.clear();
        assert!(r.check().is_err());
    }

    #[test]
    fn outcome_counts_by_hand() {
        let cases = [
            case("a", true, 1.0),
            case("a", true, 1.0),
            case("a", false, 0.0),
        ];
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let o = outcome("a", &refs, &[true, false, false], 3, None);
        assert_eq!(o.answered_correctly, 0.5);
        assert_eq!(o.abstention_precision, 0.5);
        assert_eq!(o.abstention_recall, 1.0);
    }
}
