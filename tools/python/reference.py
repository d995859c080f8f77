#!/usr/bin/env python3
"""Golden logits for a Grok-1 `ckpt-0` checkpoint: a plain-JAX port of the reference forward pass
(xai-org/grok-1 model.py, `LanguageModel.__call__`), without Haiku.

    python3 tools/python/reference.py MODEL_DIR [--ckpt DIR] [--config FILE] [--prompts FILE]
                                      [--out DIR] [--modes bf16,f32]

MODEL_DIR holds `ckpt-0/`, `config.json` (reference field names; absent fields default to
Grok-1's) and `prompts.json` (a list of token-id lists). Writes OUT (default MODEL_DIR/golden):
`golden.json` + `p{k}.{bf16,f32}.npy` (float32 [T, vocab], row t = logits after tokens[0..t]).

Modes:
  f32   every op in float32, weights dequantized q*s in float32, Precision.HIGHEST dots.
  bf16  the reference's dtype flow (fprop bfloat16, f32 norms/router/softmax, the MoE's f32
        one-hot combine), eager op by op on CPU with XLA excess precision disabled.

Memory: the pass is layer-major (one layer's weights loaded at a time, applied to every prompt
in every mode), so the real 64-layer model needs about one layer's tensors plus the embeddings
and their dequantized copies (docs/FIXTURES.md gives the numbers).
"""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_allow_excess_precision=false")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

BF16 = jnp.bfloat16
F32 = jnp.float32
HIGHEST = jax.lax.Precision.HIGHEST

GROK1 = {
    "vocab_size": 131072, "emb_size": 6144, "key_size": 128, "num_q_heads": 48,
    "num_kv_heads": 8, "num_layers": 64, "num_experts": 8, "num_selected_experts": 2,
    "widening_factor": 8, "attn_output_multiplier": 0.08838834764831845,
    "embedding_multiplier_scale": 78.38367176906169,
    "output_multiplier_scale": 0.5773502691896257, "pad_token": 0, "eos_token": 2,
    "rms_norm_eps": 1e-05, "rope_base": 10000, "attn_logit_cap": 30.0,
}


# ---------------------------------------------------------------------------------------
# Reading the checkpoint: a restricted unpickler (only the globals the format uses)
# ---------------------------------------------------------------------------------------

class QW8:
    """Stand-in for the reference's QuantizedWeight8bit (fields weight, scales)."""

    def __setstate__(self, state):
        self.weight, self.scales = state["weight"], state["scales"]

    @staticmethod
    def of(weight, scales):
        qw = QW8()
        qw.weight, qw.scales = weight, scales
        return qw


class _CkptUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if name == "QuantizedWeight8bit" and module in ("__main__", "model"):
            return QW8
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return np._core.multiarray._reconstruct
        if module in ("numpy.core.numeric", "numpy._core.numeric") and name == "_frombuffer":
            return np._core.numeric._frombuffer
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module == "ml_dtypes" and name == "bfloat16":
            return ml_dtypes.bfloat16
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a ckpt-0 file")


def load_tensor(path):
    with open(path, "rb") as f:
        return _CkptUnpickler(f).load()


def ffn_size(emb, wf):
    f = int(wf * emb) * 2 // 3
    return f + (8 - f) % 8


def layer_param_names():
    """Per-layer (module suffix, param) in sorted order, as `tree_flatten` orders them."""
    mods = ["moe/linear", "moe/linear_1", "moe/linear_v", "multi_head_attention/key",
            "multi_head_attention/linear", "multi_head_attention/query",
            "multi_head_attention/value", "rms_norm", "rms_norm_1", "rms_norm_2", "rms_norm_3",
            "router"]
    return sorted((m, "scale" if m.startswith("rms_norm") else "w") for m in mods)


def file_index(cfg):
    """name -> file index by the reference's sorted-key flattening (layer 10 after 1)."""
    names = ["language_model/in_out_embed/embeddings", "language_model/rms_norm/scale"]
    for L in range(cfg["num_layers"]):
        names += [f"transformer/decoder_layer_{L}/{m}/{p}" for m, p in layer_param_names()]
    # sort on (module, param) exactly as the dict keys sort
    keyed = sorted(names, key=lambda n: (n.rsplit("/", 1)[0], n.rsplit("/", 1)[1]))
    return {n: i for i, n in enumerate(keyed)}


class Checkpoint:
    def __init__(self, ckpt_dir, cfg):
        self.dir, self.index = ckpt_dir, file_index(cfg)
        n_files = len([f for f in os.listdir(ckpt_dir) if f.startswith("tensor")])
        if n_files != len(self.index):
            raise SystemExit(f"{ckpt_dir}: {n_files} tensor files, config implies {len(self.index)}")

    def get(self, name):
        return load_tensor(os.path.join(self.dir, f"tensor{self.index[name]:05d}_000"))

    def layer(self, L):
        p = f"transformer/decoder_layer_{L}/"
        return {m: self.get(p + m + "/" + q) for m, q in layer_param_names()}


# ---------------------------------------------------------------------------------------
# The forward pass
# ---------------------------------------------------------------------------------------

def dequant(qw, dtype):
    """q * s with the row-block layout: scales [..., B, N] apply to B contiguous row blocks.
    bf16 mode: q.astype(bf16) * s in bf16, as the reference; f32 mode: in float32."""
    q = jnp.asarray(qw.weight)
    s = jnp.asarray(qw.scales)
    *lead, R, N = q.shape
    B = s.shape[-2]
    w = q.astype(dtype).reshape(*lead, B, R // B, N) * s.astype(dtype).reshape(*lead, B, 1, N)
    return w.reshape(q.shape)


class Mode:
    def __init__(self, name):
        self.name = name
        self.bf16 = name == "bf16"
        self.act = BF16 if self.bf16 else F32          # fprop dtype
        self.prec = None if self.bf16 else HIGHEST

    def dot(self, a, b):
        return jnp.dot(a, b, precision=self.prec)

    def einsum(self, spec, *xs):
        return jnp.einsum(spec, *xs, precision=self.prec)


def rms_norm(x, scale, eps):
    """float32 RMSNorm, cast back to the input dtype."""
    dt = x.dtype
    xf = x.astype(F32)
    ms = jnp.mean(jnp.square(xf), axis=-1, keepdims=True)
    return (scale.astype(F32) * (xf * jax.lax.rsqrt(ms + eps))).astype(dt)


def rope(x, base):
    """Rotate-half RoPE on x [B, T, H, K] at positions 0..T-1, phases in float32."""
    dt = x.dtype
    K, T = x.shape[-1], x.shape[1]
    exponents = jnp.arange(0, K, 2, dtype=F32)
    inv_freq = jnp.asarray(1.0 / (base ** (exponents / K)), dtype=F32)
    t = jnp.arange(T, dtype=F32)[None, :]
    phase = jnp.einsum("bi,j->bij", t, inv_freq, precision=HIGHEST)
    phase = jnp.tile(phase, reps=(1, 2))[:, :, None, :]
    x1, x2 = jnp.split(x, 2, axis=-1)
    rot = jnp.concatenate((-x2, x1), axis=-1)
    return (x * jnp.cos(phase) + rot * jnp.sin(phase)).astype(dt)


class LayerWeights:
    """One layer's weights for one mode. Attention matrices are dequantized up front; expert
    tensors stay int8 and are dequantized one expert at a time inside the MoE (the real
    model's [8, 6144, 32768] expert tensor would be 6.4 GB as float32)."""

    def __init__(self, raw, mode):
        self.dt = BF16 if mode.bf16 else F32
        self.q = dequant(raw["multi_head_attention/query"], self.dt)
        self.k = dequant(raw["multi_head_attention/key"], self.dt)
        self.v = dequant(raw["multi_head_attention/value"], self.dt)
        self.o = dequant(raw["multi_head_attention/linear"], self.dt)
        self.w_gate = raw["moe/linear"]
        self.w_up = raw["moe/linear_v"]
        self.w_down = raw["moe/linear_1"]
        self.norms = [jnp.asarray(raw[n]) for n in ("rms_norm", "rms_norm_1", "rms_norm_2", "rms_norm_3")]
        self.router = jnp.asarray(raw["router"])

    def expert(self, qw, e):
        return dequant(QW8.of(qw.weight[e], qw.scales[e]), self.dt)


def attention(x, lw, mask, cfg, mode):
    B, T, D = x.shape
    K, Hq, Hkv = cfg["key_size"], cfg["num_q_heads"], cfg["num_kv_heads"]
    x2 = x.reshape(-1, D)
    q = mode.dot(x2, lw.q.astype(mode.act)).reshape(B, T, Hq, K)
    k = mode.dot(x2, lw.k.astype(mode.act)).reshape(B, T, Hkv, K)
    v = mode.dot(x2, lw.v.astype(mode.act)).reshape(B, T, Hkv, K)
    k = rope(k, cfg["rope_base"])
    q = rope(q, cfg["rope_base"])
    q = q.reshape(B, T, Hkv, Hq // Hkv, K)          # q head i uses kv head i // (Hq/Hkv)
    logits = mode.einsum("...thHd,...Thd->...hHtT", q, k).astype(F32)
    logits = logits * cfg["attn_output_multiplier"]
    cap = jnp.array(cfg["attn_logit_cap"], dtype=F32)
    logits = cap * jnp.tanh(logits / cap)
    logits = jnp.where(mask[:, :, None, :, :], logits, -1e30)
    weights = jax.nn.softmax(logits).astype(x.dtype)
    attn = mode.einsum("...hHtT,...Thd->...thHd", weights, v).reshape(B, T, Hq * K)
    return mode.dot(attn.reshape(-1, Hq * K), lw.o.astype(mode.act)).reshape(B, T, D)


def moe(x, lw, cfg, mode):
    """Router in f32 over all experts, top-k by probability, gate = the probability itself.
    Every expert is applied to every (token, slot) and the chosen one is picked by a one-hot
    contraction, as the reference does; in bf16 mode that contraction promotes to float32."""
    B, T, D = x.shape
    E, k = cfg["num_experts"], cfg["num_selected_experts"]
    xf = x.astype(F32)
    router_logits = jnp.dot(xf, lw.router.astype(F32), precision=HIGHEST)
    probs = jax.nn.softmax(router_logits)
    gate, index = jax.lax.top_k(probs, k)
    tmp = x.reshape(B * T, D)
    broad = jnp.tile(tmp[:, None, :], (1, k, 1)).reshape(B * T * k, D)
    one_hot = jax.nn.one_hot(index.reshape(-1), E, axis=0)          # f32 [E, M]

    def expert_matmul(inp, qw):
        # the reference's einsum("mk,bkn->bmn") over all experts, one expert at a time
        all_out = jnp.stack([mode.dot(inp, lw.expert(qw, e)) for e in range(E)])
        return mode.einsum("bm,bmn->mn", one_hot, all_out)

    up = expert_matmul(broad, lw.w_up)
    act = jax.nn.gelu(expert_matmul(broad, lw.w_gate))
    out = expert_matmul(up * act, lw.w_down)
    out = out.reshape(B, T, k, D)
    out = gate[:, :, :, None].astype(mode.act) * out
    out = jnp.sum(out, axis=2).astype(mode.act)
    return out, probs, gate, index


def decoder_layer(h, lw, mask, cfg, mode):
    eps = cfg["rms_norm_eps"]
    a = attention(rms_norm(h, lw.norms[0], eps), lw, mask, cfg, mode)
    h = h + rms_norm(a, lw.norms[1], eps)
    m, probs, gate, index = moe(rms_norm(h, lw.norms[2], eps), lw, cfg, mode)
    h = h + rms_norm(m, lw.norms[3], eps)
    return h, (probs, gate, index)


def embed(tokens, emb, cfg, mode):
    x = emb[jnp.asarray(tokens)[None, :]].astype(mode.act)
    return x * cfg["embedding_multiplier_scale"]


def make_mask(tokens, cfg, mode):
    """Key mask `tokens != pad_token` times the causal mask, as [B, 1, T, T]."""
    tok = jnp.asarray(tokens)[None, :]
    T = tok.shape[1]
    key_ok = jnp.not_equal(tok, cfg["pad_token"])[:, None, None, :]
    causal = jnp.tril(jnp.ones((1, 1, T, T))).astype(mode.act)
    return key_ok * causal


def unembed(h, emb_t, final_scale, cfg, mode):
    """emb_t: embeddings.T already cast to the fprop dtype (tied output weights)."""
    h = rms_norm(h, final_scale, cfg["rms_norm_eps"])
    out = mode.dot(h, emb_t)
    return out * cfg["output_multiplier_scale"]


# ---------------------------------------------------------------------------------------

def load_config(model_dir, config_path):
    cfg = dict(GROK1)
    path = config_path or os.path.join(model_dir, "config.json")
    if os.path.exists(path):
        with open(path) as f:
            cfg.update(json.load(f))
    elif config_path:
        raise SystemExit(f"{config_path}: not found")
    cfg.setdefault("ffn_size", ffn_size(cfg["emb_size"], cfg["widening_factor"]))
    return cfg


def run(ckpt, cfg, prompts, modes, log=print):
    """Layer-major forward of every prompt in every mode. Returns logits and routing."""
    emb = jnp.asarray(ckpt.get("language_model/in_out_embed/embeddings"))  # one copy, float32
    final_scale = jnp.asarray(ckpt.get("language_model/rms_norm/scale"))
    ms = [Mode(m) for m in modes]
    state = {(m.name, k): embed(toks, emb, cfg, m) for m in ms for k, toks in enumerate(prompts)}
    masks = {(m.name, k): make_mask(toks, cfg, m) for m in ms for k, toks in enumerate(prompts)}
    routing = {key: [] for key in state}
    for L in range(cfg["num_layers"]):
        raw = ckpt.layer(L)
        for m in ms:
            lw = LayerWeights(raw, m)
            for k in range(len(prompts)):
                h, r = decoder_layer(state[(m.name, k)], lw, masks[(m.name, k)], cfg, m)
                state[(m.name, k)] = h
                routing[(m.name, k)].append(tuple(np.asarray(a)[0] for a in r))
            del lw
        del raw
        log(f"layer {L} done")
    logits = {}
    for m in ms:
        emb_t = emb.T.astype(m.act)  # transient transposed copy, once per mode
        for k in range(len(prompts)):
            out = unembed(state[(m.name, k)], emb_t, final_scale, cfg, m)
            logits[(m.name, k)] = np.asarray(out.astype(F32))[0]
        del emb_t
    return logits, routing


def routing_summary(rt):
    idx = [[[int(e) for e in row] for row in r[2]] for r in rt]
    gates = [[[float(np.float32(round(float(g), 6))) for g in row] for row in r[1]] for r in rt]
    gap = math.inf
    for probs, _, _ in rt:
        p = np.sort(np.asarray(probs, dtype=np.float32), axis=-1)[:, ::-1]
        if p.shape[-1] >= 3:  # log-prob margin that keeps the 2nd expert selected (float32)
            gap = min(gap, float(np.min(np.log(p[:, 1]) - np.log(p[:, 2]))))
    return {"expert_index": idx, "gates": gates, "min_logprob_gap_2nd_3rd": gap}


def top5(row):
    order = np.argsort(-row, kind="stable")[:5]
    return [[int(i), float(row[i])] for i in order]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--ckpt", help="ckpt-0 directory (default MODEL_DIR/ckpt-0)")
    ap.add_argument("--config", help="config JSON (default MODEL_DIR/config.json, else Grok-1)")
    ap.add_argument("--prompts", help="prompts JSON (default MODEL_DIR/prompts.json)")
    ap.add_argument("--out", help="output directory (default MODEL_DIR/golden)")
    ap.add_argument("--modes", default="bf16,f32")
    args = ap.parse_args(argv)

    cfg = load_config(args.model_dir, args.config)
    with open(args.prompts or os.path.join(args.model_dir, "prompts.json")) as f:
        prompts = json.load(f)
    for k, p in enumerate(prompts):
        if not p or any(not (0 <= t < cfg["vocab_size"]) for t in p):
            raise SystemExit(f"prompt {k}: empty or token id out of range [0, {cfg['vocab_size']})")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    ckpt = Checkpoint(args.ckpt or os.path.join(args.model_dir, "ckpt-0"), cfg)
    out_dir = args.out or os.path.join(args.model_dir, "golden")
    os.makedirs(out_dir, exist_ok=True)

    logits, routing = run(ckpt, cfg, prompts, modes, log=lambda s: print(s, file=sys.stderr))

    entries = []
    for k, toks in enumerate(prompts):
        e = {"k": k, "tokens": list(map(int, toks)), "length": len(toks),
             "shape": [len(toks), cfg["vocab_size"]], "files": {}, "argmax": {}, "top5": {},
             "sha256": {}, "routing": {}}
        for m in modes:
            fn = f"p{k}.{m}.npy"
            arr = np.ascontiguousarray(logits[(m, k)], dtype="<f4")
            np.save(os.path.join(out_dir, fn), arr)
            e["files"][m] = fn
            e["argmax"][m] = [int(i) for i in np.argmax(arr, axis=-1)]
            e["top5"][m] = [top5(r) for r in arr]
            e["sha256"][m] = sha256_file(os.path.join(out_dir, fn))
            e["routing"][m] = routing_summary(routing[(m, k)])
        if "bf16" in modes and "f32" in modes:
            a, b = logits[("bf16", k)], logits[("f32", k)]
            same_route = all(np.array_equal(x[2], y[2])
                             for x, y in zip(routing[("bf16", k)], routing[("f32", k)]))
            e["bf16_vs_f32"] = {"max_abs": float(np.max(np.abs(a - b))),
                                "mean_abs": float(np.mean(np.abs(a - b))),
                                "argmax_agree": float(np.mean(np.argmax(a, -1) == np.argmax(b, -1))),
                                "routing_identical": bool(same_route)}
        entries.append(e)

    with open(os.path.abspath(__file__), "rb") as f:
        ref_sha = hashlib.sha256(f.read()).hexdigest()
    golden = {
        "config": cfg,
        "modes": {
            "bf16": "model.py dtype flow (fprop bfloat16), eager op-by-op on CPU, "
                    "XLA_FLAGS=--xla_allow_excess_precision=false; logits are bf16 values stored as float32",
            "f32": "every op in float32, weights dequantized q*s in float32, Precision.HIGHEST dots"},
        "generator": {"script": "tools/python/reference.py", "reference_sha256": ref_sha,
                      "jax": jax.__version__, "numpy": np.__version__,
                      "platform": jax.default_backend()},
        "logits_layout": "float32 [T, vocab_size], row t = next-token logits after tokens[0..t]",
        "prompts": entries,
    }
    golden["modes"] = {m: golden["modes"][m] for m in modes}
    tmp = os.path.join(out_dir, "golden.json.partial")
    with open(tmp, "w") as f:
        json.dump(golden, f)
    os.replace(tmp, os.path.join(out_dir, "golden.json"))
    print(f"wrote {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
