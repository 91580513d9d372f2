//! The answer-or-abstain decision: a logistic model over what is known when the passages come
//! back (no generation needed), one per question language, fitted by `regula eval fit` with
//! leave-one-collection-out cross-validation. The shipped model is `resources/decision.json`;
//! `retrieval.decision_model` points at a company's own refit.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::prompt::Lang;

/// What the decision looks at, all known once retrieval and sentence selection are done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Best cosine similarity of a passage (0 when the dense side does not read the language).
    pub dense: f32,
    /// Best share of the question's concepts met by one of the top three passages.
    pub concept_coverage: f32,
    /// The same with rarer concepts weighing more (an IDF over the retrieved passages).
    pub rare_coverage: f32,
    /// Score of the best answering sentence (rare coverage, plus the asked kind of fact).
    pub sentence: f32,
    /// How far the first passage's fused score stands above the fifth's, relative to it.
    pub margin: f32,
    /// 1 when the passage closest by cosine is also ranked first by the fused list.
    pub agreement: f32,
    /// Rare coverage counting only concepts met by a whole word (or a thesaurus equivalent), not
    /// by half of a Korean compound's syllable pairs: 당직비 is not met by 당직.
    pub whole_word_coverage: f32,
    /// The first passage's score per query term: with sparse-only retrieval (Korean on the
    /// English-only model) a BM25 sum, so matched rare terms count more than common ones.
    pub top_score: f32,
    /// The number of concepts in the question, over ten (coverage is harder for long questions).
    pub length: f32,
    /// 1 unless the question asks for a kind of fact (an amount, an identifier, another quantity)
    /// and no sentence of the top three passages that meets the question states one ("how much
    /// is the parking fee?").
    #[serde(default = "one")]
    pub asked_stated: f32,
    /// The highest cosine similarity to the question of an answering unit (sentence, list item,
    /// 항) of the top three passages that meets its concepts (0 when the model does not read
    /// the language): a passage can be near the question while none of its sentences says what
    /// is asked.
    #[serde(default)]
    pub closest_sentence: f32,
}

fn one() -> f32 {
    1.0
}

pub const N: usize = 11;

pub const FEATURE_NAMES: [&str; N] = [
    "dense",
    "concept_coverage",
    "rare_coverage",
    "sentence",
    "margin",
    "agreement",
    "whole_word_coverage",
    "top_score",
    "length",
    "asked_stated",
    "closest_sentence",
];

impl Features {
    pub fn vector(&self) -> [f32; N] {
        [
            self.dense,
            self.concept_coverage,
            self.rare_coverage,
            self.sentence,
            self.margin,
            self.agreement,
            self.whole_word_coverage,
            self.top_score,
            self.length,
            self.asked_stated,
            self.closest_sentence,
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("decision model {path}: {reason}")]
    Bad { path: String, reason: String },
}

/// A standardized logistic model and the probability from which it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub features: Vec<String>,
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// Answer when the probability that the passages answer reaches this.
    pub threshold: f32,
}

fn feature_index(name: &str) -> Option<usize> {
    FEATURE_NAMES.iter().position(|n| *n == name)
}

impl Logistic {
    pub fn probability(&self, f: &Features) -> f32 {
        let x = f.vector();
        let z = self.bias
            + self
                .features
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    // Names were checked when the model was made or loaded.
                    let v = feature_index(name).map_or(0.0, |j| x[j]);
                    self.weights[i] * (v - self.mean[i]) / self.scale[i]
                })
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    pub fn answers(&self, f: &Features) -> bool {
        self.probability(f) >= self.threshold
    }

    /// Fit on `features` (names from `FEATURE_NAMES`) by gradient descent on the mean log loss
    /// plus an L2 penalty (features standardized on the samples, so the penalty treats them
    /// alike). Classes are weighted to count equally.
    pub fn fit(samples: &[(Features, bool)], features: &[&str], l2: f32) -> Logistic {
        let columns: Vec<usize> = features.iter().filter_map(|f| feature_index(f)).collect();
        let k = columns.len();
        let n = samples.len().max(1) as f32;
        let xs: Vec<Vec<f32>> = samples
            .iter()
            .map(|(f, _)| {
                let v = f.vector();
                columns.iter().map(|&j| v[j]).collect()
            })
            .collect();
        let mut mean = vec![0.0f32; k];
        let mut scale = vec![0.0f32; k];
        for x in &xs {
            for i in 0..k {
                mean[i] += x[i] / n;
            }
        }
        for x in &xs {
            for i in 0..k {
                scale[i] += (x[i] - mean[i]).powi(2) / n;
            }
        }
        for s in &mut scale {
            // A constant feature (dense for a language the model does not read) gets no weight.
            *s = if *s > 1e-8 { s.sqrt() } else { 1.0 };
        }
        let positives = samples.iter().filter(|(_, y)| *y).count().max(1) as f32;
        let negatives = samples.iter().filter(|(_, y)| !*y).count().max(1) as f32;
        let class_weight = |y: bool| {
            if y {
                n / (2.0 * positives)
            } else {
                n / (2.0 * negatives)
            }
        };
        let z: Vec<Vec<f32>> = xs
            .iter()
            .map(|x| (0..k).map(|i| (x[i] - mean[i]) / scale[i]).collect())
            .collect();
        let (mut w, mut b) = (vec![0.0f32; k], 0.0f32);
        for _ in 0..3000 {
            let (mut gw, mut gb) = (vec![0.0f32; k], 0.0f32);
            for (zi, (_, y)) in z.iter().zip(samples) {
                let p = 1.0 / (1.0 + (-(b + (0..k).map(|i| w[i] * zi[i]).sum::<f32>())).exp());
                let err = (p - if *y { 1.0 } else { 0.0 }) * class_weight(*y);
                for i in 0..k {
                    gw[i] += err * zi[i] / n;
                }
                gb += err / n;
            }
            for i in 0..k {
                w[i] -= 0.5 * (gw[i] + l2 * w[i]);
            }
            b -= 0.5 * gb;
        }
        Logistic {
            features: columns
                .iter()
                .map(|&j| FEATURE_NAMES[j].to_string())
                .collect(),
            mean,
            scale,
            weights: w,
            bias: b,
            threshold: 0.5,
        }
    }

    fn check(&self, path: &str) -> Result<(), DecisionError> {
        let k = self.features.len();
        let ok = k > 0
            && self.features.iter().all(|f| feature_index(f).is_some())
            && self.mean.len() == k
            && self.scale.len() == k
            && self.weights.len() == k
            && self.scale.iter().all(|s| *s > 0.0)
            && (0.0..=1.0).contains(&self.threshold);
        if ok {
            Ok(())
        } else {
            Err(DecisionError::Bad {
                path: path.to_string(),
                reason: format!(
                    "expected features among {FEATURE_NAMES:?}, a mean, scale (> 0) and weight for each, and a threshold in 0..=1"
                ),
            })
        }
    }
}

/// One model per question language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionModel {
    pub en: Logistic,
    pub ko: Logistic,
}

const BUILTIN: &str = include_str!("../../resources/decision.json");

impl DecisionModel {
    /// The model shipped with Regula (fitted on tests/eval/, see BENCHMARKS.md).
    pub fn builtin() -> Self {
        Self::parse(BUILTIN, "resources/decision.json")
            .unwrap_or_else(|e| panic!("the built-in decision model is invalid: {e}"))
    }

    /// The model `retrieval.decision_model` names, or the built-in one.
    pub fn configured(path: Option<&Path>) -> Result<Self, DecisionError> {
        path.map_or_else(|| Ok(Self::builtin()), Self::load)
    }

    pub fn load(path: &Path) -> Result<Self, DecisionError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DecisionError::Bad {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &shown)
    }

    fn parse(text: &str, path: &str) -> Result<Self, DecisionError> {
        let model: DecisionModel = serde_json::from_str(text).map_err(|e| DecisionError::Bad {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        model.en.check(path)?;
        model.ko.check(path)?;
        Ok(model)
    }

    pub fn for_lang(&self, lang: Lang) -> &Logistic {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(dense: f32, cov: f32) -> Features {
        Features {
            dense,
            concept_coverage: cov,
            rare_coverage: cov,
            sentence: cov,
            margin: 0.5,
            agreement: 1.0,
            whole_word_coverage: cov,
            top_score: 0.5,
            length: 0.4,
            asked_stated: 1.0,
            closest_sentence: dense,
        }
    }

    #[test]
    fn a_fitted_model_separates_what_it_was_fitted_on() {
        let mut samples = Vec::new();
        for i in 0..40 {
            let t = i as f32 / 40.0;
            samples.push((f(0.55 + 0.3 * t, 0.6 + 0.4 * t), true));
            samples.push((f(0.2 + 0.3 * t, 0.1 + 0.4 * t), false));
        }
        let m = Logistic::fit(&samples, &FEATURE_NAMES, 0.01);
        let right = samples.iter().filter(|(x, y)| m.answers(x) == *y).count();
        assert!(right >= 78, "{right} of 80");
        assert!(m.weights[0] > 0.0 && m.weights[1] > 0.0, "{m:?}");
    }

    #[test]
    fn the_builtin_model_loads_and_a_broken_one_is_refused() {
        let m = DecisionModel::builtin();
        assert!(m.en.answers(&f(0.8, 1.0)));
        assert!(!m.en.answers(&f(0.1, 0.0)));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        std::fs::write(&p, r#"{"en": {"features": []}}"#).unwrap();
        assert!(DecisionModel::load(&p).is_err());
    }
}
