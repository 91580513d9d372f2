#!/usr/bin/env python3
"""Synthesize a GGUF with the exact tensor shapes and Q4_K_M quantization mix of a real
30B-class model, random weights, and a real tokenizer, for throughput measurements on a machine
no real weights can reach. Standard library only (the GPU machine has no PyPI).

    synth_gguf.py extract-tokenizer MODEL.gguf TOKENIZER.gguf   # tokenizer keys only, ~3 MB
    synth_gguf.py write --shape dense-32b --tokenizer TOKENIZER.gguf --out MODEL.gguf
    synth_gguf.py size --shape dense-32b                          # bytes, bytes read per token

Every figure measured with such a file is a figure for synthetic weights: the compute and the
memory traffic per token are those of the real model, the text it writes is noise.

The quantized blocks are valid (finite fp16 scales, zero-mean weights of a realistic magnitude),
so activations stay finite through every layer and sampling behaves; the tokenizer's vocabulary
is padded with unused tokens to the real model's size, so the embedding and output matrices have
the real shape.
"""

import argparse
import os
import struct
import sys

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# GGUF metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, \
    T_UINT64, T_INT64, T_FLOAT64 = range(13)
SCALAR = {
    T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I", T_INT32: "<i",
    T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d",
}

# ggml tensor types used here: (id, weights per block, bytes per block).
F32 = (0, 1, 4)
Q4_K = (12, 256, 144)
Q6_K = (14, 256, 210)
LLAMA_FTYPE_MOSTLY_Q4_K_M = 15
TOKEN_TYPE_UNUSED = 5

# Real models' dimensions (from their published config.json).
SHAPES = {
    # Qwen2.5-32B(-Instruct): dense, GQA 40/8, biases on q/k/v.
    "dense-32b": dict(
        arch="qwen2", name="synthetic Qwen2.5-32B shape", n_embd=5120, n_layer=64, n_head=40,
        n_head_kv=8, head_dim=128, n_ff=27648, n_vocab=152064, rope_base=1000000.0,
        eps=1e-6, ctx=32768, qkv_bias=True,
    ),
    # Qwen3-30B-A3B: mixture of experts, 128 experts, 8 used per token, q/k norms.
    "moe-30b-a3b": dict(
        arch="qwen3moe", name="synthetic Qwen3-30B-A3B shape", n_embd=2048, n_layer=48,
        n_head=32, n_head_kv=4, head_dim=128, n_ff=6144, n_vocab=151936,
        rope_base=1000000.0, eps=1e-6, ctx=40960, n_expert=128, n_expert_used=8,
        n_ff_exp=768,
    ),
    # Small enough to write and run on two CPU cores: the script's own test shape.
    "tiny": dict(
        arch="qwen2", name="synthetic tiny shape", n_embd=256, n_layer=2, n_head=4,
        n_head_kv=2, head_dim=64, n_ff=512, n_vocab=0, rope_base=10000.0, eps=1e-6,
        ctx=4096, qkv_bias=True,
    ),
    "tiny-moe": dict(
        arch="qwen3moe", name="synthetic tiny MoE shape", n_embd=256, n_layer=2, n_head=4,
        n_head_kv=2, head_dim=64, n_ff=512, n_vocab=0, rope_base=10000.0, eps=1e-6,
        ctx=4096, n_expert=8, n_expert_used=2, n_ff_exp=256,
    ),
}


# ---- reading (metadata only) ---------------------------------------------------------------

class Reader:
    def __init__(self, f):
        self.f = f

    def read(self, fmt):
        size = struct.calcsize(fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise ValueError("truncated GGUF")
        return struct.unpack(fmt, data)[0]

    def string(self):
        return self.f.read(self.read("<Q")).decode("utf-8", errors="surrogateescape")

    def value(self, vtype):
        if vtype == T_STRING:
            return self.string()
        if vtype == T_ARRAY:
            etype, count = self.read("<I"), self.read("<Q")
            return (etype, [self.value(etype) for _ in range(count)])
        return self.read(SCALAR[vtype])


def read_metadata(path):
    """The key/value pairs of a GGUF: {key: (type, value)}; arrays are (T_ARRAY, (etype, list))."""
    with open(path, "rb") as f:
        r = Reader(f)
        if f.read(4) != GGUF_MAGIC:
            raise ValueError(f"{path}: not a GGUF file")
        version = r.read("<I")
        if version not in (2, 3):
            raise ValueError(f"{path}: GGUF version {version} not supported")
        r.read("<Q")  # tensors
        kv_count = r.read("<Q")
        out = {}
        for _ in range(kv_count):
            key = r.string()
            vtype = r.read("<I")
            out[key] = (vtype, r.value(vtype))
        return out


# ---- writing -------------------------------------------------------------------------------

def pack_string(s):
    b = s.encode("utf-8", errors="surrogateescape")
    return struct.pack("<Q", len(b)) + b


def pack_value(vtype, value):
    if vtype == T_STRING:
        return pack_string(value)
    if vtype == T_ARRAY:
        etype, items = value
        head = struct.pack("<IQ", etype, len(items))
        if etype == T_STRING:
            return head + b"".join(pack_string(s) for s in items)
        return head + struct.pack("<%d%s" % (len(items), SCALAR[etype][1]), *items)
    return struct.pack(SCALAR[vtype], value)


def pack_kv(key, vtype, value):
    return pack_string(key) + struct.pack("<I", vtype) + pack_value(vtype, value)


def align(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def use_more_bits(i, n):
    """llama.cpp's rule for which layers get Q6_K in a Q4_K_M file."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensors(shape):
    """(name, dims with the row length first, type) for every tensor, in llama.cpp's names."""
    s = shape
    e, hd = s["n_embd"], s["head_dim"]
    q, kv = s["n_head"] * hd, s["n_head_kv"] * hd
    n = s["n_layer"]
    out = [("token_embd.weight", [e, s["n_vocab"]], Q4_K)]
    for i in range(n):
        p = f"blk.{i}."
        more = Q6_K if use_more_bits(i, n) else Q4_K
        out += [
            (p + "attn_norm.weight", [e], F32),
            (p + "attn_q.weight", [e, q], Q4_K),
            (p + "attn_k.weight", [e, kv], Q4_K),
            (p + "attn_v.weight", [e, kv], more),
            (p + "attn_output.weight", [q, e], Q4_K),
            (p + "ffn_norm.weight", [e], F32),
        ]
        if s.get("qkv_bias"):
            out += [(p + "attn_q.bias", [q], F32), (p + "attn_k.bias", [kv], F32),
                    (p + "attn_v.bias", [kv], F32)]
        if "n_expert" in s:
            x, f = s["n_expert"], s["n_ff_exp"]
            out += [
                (p + "attn_q_norm.weight", [hd], F32),
                (p + "attn_k_norm.weight", [hd], F32),
                (p + "ffn_gate_inp.weight", [e, x], F32),
                (p + "ffn_gate_exps.weight", [e, f, x], Q4_K),
                (p + "ffn_up_exps.weight", [e, f, x], Q4_K),
                (p + "ffn_down_exps.weight", [f, e, x], more),
            ]
        else:
            f = s["n_ff"]
            out += [
                (p + "ffn_gate.weight", [e, f], Q4_K),
                (p + "ffn_up.weight", [e, f], Q4_K),
                (p + "ffn_down.weight", [f, e], more),
            ]
    out += [("output_norm.weight", [e], F32), ("output.weight", [e, s["n_vocab"]], Q6_K)]
    return out


def elements(dims):
    count = 1
    for d in dims:
        count *= d
    return count


def nbytes(dims, ttype):
    _, per_block, block_bytes = ttype
    if dims[0] % per_block:
        raise ValueError(f"row length {dims[0]} is not a multiple of {per_block}")
    return elements(dims) // per_block * block_bytes


def bytes_per_token(shape):
    """Weight bytes one decoded token reads: everything but the embedding table (one row of it),
    and for a mixture of experts only the experts in use."""
    total = 0
    for name, dims, ttype in tensors(shape):
        size = nbytes(dims, ttype)
        if name == "token_embd.weight":
            size //= dims[1]
        elif "_exps." in name:
            size = size * shape["n_expert_used"] // shape["n_expert"]
        total += size
    return total


def half(x):
    return struct.pack("<e", x)


def q4_k_tile(blocks):
    """Q4_K blocks: d, dmin (fp16), 12 bytes of 6-bit scales and mins (all 32), 128 bytes of
    random 4-bit weights. dmin = 7.5·d makes each weight d·32·(q − 7.5): zero-mean, |w| ≤ 0.024."""
    d = 1e-4
    head = half(d) + half(7.5 * d) + bytes([160] * 8 + [0] * 4)
    rnd = os.urandom(128 * blocks)
    return b"".join(head + rnd[i * 128:(i + 1) * 128] for i in range(blocks))


def q6_k_tile(blocks):
    """Q6_K blocks: 192 bytes of random 6-bit weights, 16 int8 scales (16), d (fp16):
    each weight d·16·(q − 32), zero-mean, |w| ≤ 0.05."""
    tail = bytes([16] * 16) + half(1e-4)
    rnd = os.urandom(192 * blocks)
    return b"".join(rnd[i * 192:(i + 1) * 192] + tail for i in range(blocks))


def f32_data(name, count):
    if name.endswith("norm.weight"):
        return struct.pack("<%df" % count, *([1.0] * count))
    if "ffn_gate_inp" in name:
        # A router with random logits, so each token picks its own experts.
        rnd = os.urandom(count)
        return struct.pack("<%df" % count, *[(b - 127.5) / 64.0 for b in rnd])
    return bytes(4 * count)  # biases


def write_tensor(f, name, dims, ttype, tiles):
    size = nbytes(dims, ttype)
    if ttype == F32:
        f.write(f32_data(name, size // 4))
        return
    written, k = 0, 0
    pool = [memoryview(t) for t in tiles[ttype[0]]]  # slices without copies: 20 GB go through here
    while written < size:
        tile = pool[k % len(pool)]
        k += 1
        chunk = tile[: min(len(tile), size - written)]
        f.write(chunk)
        written += len(chunk)


def tokenizer_kvs(path, n_vocab):
    """The tokenizer (and chat template) of a real model, its vocabulary padded to n_vocab."""
    meta = read_metadata(path)
    kvs = {k: v for k, v in meta.items()
           if k.startswith("tokenizer.")}
    if "tokenizer.ggml.tokens" not in kvs:
        raise ValueError(f"{path}: no tokenizer in this GGUF")
    _, (etype, tokens) = kvs["tokenizer.ggml.tokens"]
    real = len(tokens)
    n_vocab = n_vocab or real
    if n_vocab < real:
        raise ValueError(f"the tokenizer has {real} tokens, more than the shape's {n_vocab}")
    pad = n_vocab - real
    kvs["tokenizer.ggml.tokens"] = (T_ARRAY, (etype, tokens + [
        f"<|synthetic_unused_{i}|>" for i in range(pad)]))
    if "tokenizer.ggml.token_type" in kvs:
        _, (ttype, types) = kvs["tokenizer.ggml.token_type"]
        kvs["tokenizer.ggml.token_type"] = (T_ARRAY, (ttype, types + [TOKEN_TYPE_UNUSED] * pad))
    if "tokenizer.ggml.scores" in kvs:
        _, (stype, scores) = kvs["tokenizer.ggml.scores"]
        kvs["tokenizer.ggml.scores"] = (T_ARRAY, (stype, scores + [0.0] * pad))
    return kvs, n_vocab


def model_kvs(shape):
    s, a = shape, shape["arch"]
    kvs = {
        "general.architecture": (T_STRING, a),
        "general.name": (T_STRING, s["name"]),
        "general.file_type": (T_UINT32, LLAMA_FTYPE_MOSTLY_Q4_K_M),
        "general.alignment": (T_UINT32, ALIGNMENT),
        f"{a}.context_length": (T_UINT32, s["ctx"]),
        f"{a}.embedding_length": (T_UINT32, s["n_embd"]),
        f"{a}.block_count": (T_UINT32, s["n_layer"]),
        f"{a}.feed_forward_length": (T_UINT32, s["n_ff"]),
        f"{a}.attention.head_count": (T_UINT32, s["n_head"]),
        f"{a}.attention.head_count_kv": (T_UINT32, s["n_head_kv"]),
        f"{a}.attention.key_length": (T_UINT32, s["head_dim"]),
        f"{a}.attention.value_length": (T_UINT32, s["head_dim"]),
        f"{a}.rope.freq_base": (T_FLOAT32, s["rope_base"]),
        f"{a}.attention.layer_norm_rms_epsilon": (T_FLOAT32, s["eps"]),
    }
    if "n_expert" in s:
        kvs[f"{a}.expert_count"] = (T_UINT32, s["n_expert"])
        kvs[f"{a}.expert_used_count"] = (T_UINT32, s["n_expert_used"])
        kvs[f"{a}.expert_feed_forward_length"] = (T_UINT32, s["n_ff_exp"])
    return kvs


def write_gguf(out, kvs, tensor_list):
    """Header, metadata, tensor infos, then the data, each tensor aligned."""
    # A few random tiles of blocks, repeated: the traffic per token is what is measured, and
    # generating 20 GB of random bytes would take longer than the measurement.
    tiles = {Q4_K[0]: [q4_k_tile(4096) for _ in range(4)] if tensor_list else [],
             Q6_K[0]: [q6_k_tile(4096) for _ in range(4)] if tensor_list else []}
    infos, offset = [], 0
    for name, dims, ttype in tensor_list:
        infos.append(pack_string(name) + struct.pack("<I", len(dims))
                     + struct.pack("<%dQ" % len(dims), *dims) + struct.pack("<IQ", ttype[0], offset))
        offset = align(offset + nbytes(dims, ttype))
    tmp = out + ".partial"
    with open(tmp, "wb") as f:
        f.write(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(tensor_list), len(kvs)))
        for key, (vtype, value) in kvs.items():
            f.write(pack_kv(key, vtype, value))
        for info in infos:
            f.write(info)
        f.write(bytes(align(f.tell()) - f.tell()))
        start = f.tell()
        for name, dims, ttype in tensor_list:
            write_tensor(f, name, dims, ttype, tiles)
            f.write(bytes(align(f.tell() - start) - (f.tell() - start)))
    os.replace(tmp, out)  # never leave a half-written model under the real name


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("extract-tokenizer", help="keep only a model's tokenizer keys")
    ex.add_argument("model")
    ex.add_argument("out")
    wr = sub.add_parser("write", help="write a synthetic model")
    wr.add_argument("--shape", choices=sorted(SHAPES), required=True)
    wr.add_argument("--tokenizer", required=True, help="a GGUF holding a tokenizer")
    wr.add_argument("--out", required=True)
    sz = sub.add_parser("size", help="file size and weight bytes read per decoded token")
    sz.add_argument("--shape", choices=sorted(SHAPES), required=True)
    sz.add_argument("--n-vocab", type=int, default=0, help="for shapes that take the tokenizer's")
    args = ap.parse_args()

    if args.cmd == "extract-tokenizer":
        kvs, _ = tokenizer_kvs(args.model, 0)
        kvs["general.architecture"] = (T_STRING, "tokenizer-only")
        write_gguf(args.out, kvs, [])
        print(f"{args.out}: {len(kvs['tokenizer.ggml.tokens'][1][1])} tokens")
        return
    shape = dict(SHAPES[args.shape])
    if args.cmd == "size":
        shape["n_vocab"] = shape["n_vocab"] or args.n_vocab or 49152
        total = sum(nbytes(d, t) for _, d, t in tensors(shape))
        per_token = bytes_per_token(shape)
        print(f"shape={args.shape} file_bytes={total} bytes_per_token={per_token} "
              f"bits_per_weight={8 * total / sum(elements(d) for _, d, _ in tensors(shape)):.2f}")
        return
    kvs, shape["n_vocab"] = tokenizer_kvs(args.tokenizer, shape["n_vocab"])
    all_kvs = model_kvs(shape)
    all_kvs.update(kvs)
    write_gguf(args.out, all_kvs, tensors(shape))
    print(f"{args.out}: {args.shape}, {os.path.getsize(args.out)} bytes, "
          f"{bytes_per_token(shape)} weight bytes per token, vocabulary {shape['n_vocab']}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        print(f"synth_gguf: {e}", file=sys.stderr)
        sys.exit(1)
