#!/usr/bin/env python3
"""The table of scripts/gpu-bench.sh: each shape's `regula bench generate` figures next to the
card's memory-bandwidth limit (weight bytes read per decoded token vs the card's bandwidth).
Standard library only."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_gguf  # noqa: E402

# Peak memory bandwidth by card, GB/s (vendor specifications).
BANDWIDTH_GBS = {
    "H200": 4800, "H100 NVL": 3900, "H100 80GB HBM3": 3350, "H100 PCIe": 2000,
    "A100-SXM4-80GB": 2039, "A100 80GB PCIe": 1935, "A100-SXM4-40GB": 1555, "L40S": 864,
}


def bandwidth(card):
    if os.environ.get("BANDWIDTH_GBS"):
        return float(os.environ["BANDWIDTH_GBS"])
    for name, gbs in BANDWIDTH_GBS.items():
        if name in card:
            return gbs
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpu", default="0")
    ap.add_argument("shapes", nargs="+")
    args = ap.parse_args()
    card = "CPU rehearsal"
    gpu_csv = os.path.join(args.out, "gpu.csv")
    if args.cpu != "1" and os.path.exists(gpu_csv):
        card = open(gpu_csv).read().strip().splitlines()[0]
    gbs = None if args.cpu == "1" else bandwidth(card)
    print(f"Card: {card}; bandwidth {gbs or '?'} GB/s. Synthetic weights (real shapes, Q4_K_M mix).\n")
    print("| shape | weights GB read per token | prompt tokens | prefill tok/s | decode tok/s (1 stream) "
          "| bandwidth limit tok/s | share of limit | regula vs bare decode | 4 askers tok/s | 8 askers tok/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape in args.shapes:
        path = os.path.join(args.out, f"{shape}.json")
        if not os.path.exists(path):
            print(f"| {shape} | (no result) | | | | | | | | |")
            continue
        r = json.load(open(path))
        s = dict(synth_gguf.SHAPES[shape])
        s["n_vocab"] = s["n_vocab"] or 49152
        per_token = synth_gguf.bytes_per_token(s)
        decode = r["regula"]["decode_tok_s_p50"]
        limit = gbs * 1e9 / per_token if gbs else None
        steady = {c["askers"]: c["steady_decode_tok_s"] for c in r["concurrency"]}
        print(f"| {shape} | {per_token / 1e9:.2f} | {r['regula']['prompt_tokens']} "
              f"| {r['regula']['prefill_tok_s_p50']:.0f} | {decode:.1f} "
              f"| {f'{limit:.0f}' if limit else '—'} | {f'{100 * decode / limit:.0f}%' if limit else '—'} "
              f"| {r['decode_overhead_pct']:+.1f}% | {steady.get(4, 0):.1f} | {steady.get(8, 0):.1f} |")


if __name__ == "__main__":
    main()
