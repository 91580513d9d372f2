//! Retrieval and answer metrics, pure functions (unit-tested against hand-computed values).

use std::collections::{HashMap, HashSet};

/// nDCG@k with graded relevance (`qrels`: doc id -> grade > 0), ranking by document id.
pub fn ndcg_at_k(ranking: &[String], qrels: &HashMap<String, u32>, k: usize) -> f64 {
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| {
            let rel = f64::from(*qrels.get(d).unwrap_or(&0));
            (2f64.powf(rel) - 1.0) / ((i + 2) as f64).log2()
        })
        .sum();
    let mut ideal: Vec<u32> = qrels.values().copied().filter(|r| *r > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, r)| (2f64.powf(f64::from(*r)) - 1.0) / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Share of the relevant documents found in the first k.
pub fn recall_at_k(ranking: &[String], qrels: &HashMap<String, u32>, k: usize) -> f64 {
    let relevant: HashSet<&String> = qrels
        .iter()
        .filter(|(_, r)| **r > 0)
        .map(|(d, _)| d)
        .collect();
    if relevant.is_empty() {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|d| relevant.contains(d))
        .count();
    found as f64 / relevant.len() as f64
}

/// Reciprocal rank of the first relevant document within k (0 if none).
pub fn mrr_at_k(ranking: &[String], qrels: &HashMap<String, u32>, k: usize) -> f64 {
    ranking
        .iter()
        .take(k)
        .position(|d| qrels.get(d).is_some_and(|r| *r > 0))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// The p-th percentile (0..=100) by nearest rank; 0 for no samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

/// Keep the first occurrence of each id (chunks of one document collapse to the document).
pub fn dedup_keep_order(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|d| seen.insert(d.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_matches_hand_computation() {
        let qrels: HashMap<String, u32> = [("a".to_string(), 1), ("b".to_string(), 1)].into();
        // Relevant at ranks 1 and 3: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) = 1.6309.
        let v = ndcg_at_k(&ids(&["a", "x", "b"]), &qrels, 10);
        assert!((v - 1.5 / 1.630_929_753_571_457).abs() < 1e-9, "{v}");
        assert_eq!(ndcg_at_k(&ids(&["a", "b"]), &qrels, 10), 1.0);
        assert_eq!(ndcg_at_k(&ids(&["x", "y"]), &qrels, 10), 0.0);
        // Cut at k: the relevant doc at rank 3 does not count at k = 2.
        let v = ndcg_at_k(&ids(&["a", "x", "b"]), &qrels, 2);
        assert!((v - 1.0 / 1.630_929_753_571_457).abs() < 1e-9);
    }

    #[test]
    fn recall_and_mrr() {
        let qrels: HashMap<String, u32> = [("a".to_string(), 1), ("b".to_string(), 1)].into();
        assert_eq!(recall_at_k(&ids(&["x", "a"]), &qrels, 100), 0.5);
        assert_eq!(recall_at_k(&ids(&["x", "a"]), &qrels, 1), 0.0);
        assert_eq!(mrr_at_k(&ids(&["x", "y", "b"]), &qrels, 10), 1.0 / 3.0);
        assert_eq!(mrr_at_k(&ids(&["x", "y", "b"]), &qrels, 2), 0.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let s = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&s, 50.0), 3.0);
        assert_eq!(percentile(&s, 95.0), 5.0);
        assert_eq!(percentile(&s, 0.0), 1.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(
            dedup_keep_order(ids(&["a", "b", "a", "c"])),
            ids(&["a", "b", "c"])
        );
    }
}
