"""Minimal numpy forward pass of Grok-1 (float32), for the int4 research script.

Written from /work/shared/grok1/REFERENCE.md; it reads a ckpt-0 directory with pickle (our own
trusted fixtures only — the Java product never unpickles). Weights are kept per parameter name:
f32 arrays as they are, QuantizedWeight8bit dequantized to float32 (q*s, row-block scales
expanded), so a quantization method can replace any expert matrix with its dequantized values.
"""
import json, os, pickle, sys
from dataclasses import dataclass
import os
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # tiny matrices: BLAS threads only spin on a shared machine
import numpy as np
import ml_dtypes  # noqa: F401  (registers bfloat16 for unpickling)


@dataclass
class QuantizedWeight8bit:
    weight: np.ndarray
    scales: np.ndarray


def _register():
    import __main__
    __main__.QuantizedWeight8bit = QuantizedWeight8bit


def dequant8(qw):
    w = qw.weight.astype(np.float32)
    s = qw.scales.astype(np.float32)
    blocks = s.shape[-2]
    if blocks != 1:
        rows = w.shape[-2]
        s = np.repeat(s, rows // blocks, axis=-2)
    return w * s


def load(ckpt_dir):
    """Returns (config dict, {name: float32 array}) from a fixture directory (config.json, manifest.json, ckpt-0/)."""
    _register()
    man = json.load(open(os.path.join(ckpt_dir, "manifest.json")))
    cfg = json.load(open(os.path.join(ckpt_dir, "config.json")))
    params = {}
    for t in man["tensors"]:
        with open(os.path.join(ckpt_dir, "ckpt-0", t["file"]), "rb") as f:
            obj = pickle.load(f)
        params[t["name"]] = dequant8(obj) if isinstance(obj, QuantizedWeight8bit) else np.asarray(obj, np.float32)
    return cfg, params


def rms_norm(x, scale, eps):
    return (x * (1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)) * scale).astype(np.float32)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def rope(x, base):
    # x [T, H, K]; rotate-half form
    T, _, K = x.shape
    inv = 1.0 / (base ** (np.arange(0, K, 2, dtype=np.float32) / K))
    ph = np.outer(np.arange(T, dtype=np.float32), inv)
    ph = np.concatenate([ph, ph], axis=-1)[:, None, :]
    x1, x2 = x[..., : K // 2], x[..., K // 2:]
    rot = np.concatenate([-x2, x1], axis=-1)
    return x * np.cos(ph) + rot * np.sin(ph)


class Model:
    def __init__(self, cfg, params):
        self.c, self.p = cfg, params

    def layer_name(self, l, sub):
        return f"transformer/decoder_layer_{l}/{sub}"

    def forward(self, tokens, expert_override=None, hook=None):
        """Logits [T, vocab] for one prompt. expert_override: {name: array [E, in, out]} replacing expert weights.
        hook(layer, x_after_norm2 [T,emb], expert_index_lists, h_inter per expert) collects calibration stats."""
        c, p = self.c, self.p
        ov = expert_override or {}
        get = lambda n: ov.get(n, p[n])
        eps = c["rms_norm_eps"]
        tokens = np.asarray(tokens)
        T = len(tokens)
        H, KV, K = c["num_q_heads"], c["num_kv_heads"], c["key_size"]
        E, k_sel = c["num_experts"], c["num_selected_experts"]
        h = p["language_model/in_out_embed/embeddings"][tokens] * np.float32(c["embedding_multiplier_scale"])
        mask = np.tril(np.ones((T, T), bool)) & (tokens > c["pad_token"])[None, :]
        cap = c.get("attn_logit_cap", 30.0)
        for l in range(c["num_layers"]):
            L = lambda s: self.layer_name(l, s)
            x = rms_norm(h, p[L("rms_norm/scale")], eps)
            q = (x @ p[L("multi_head_attention/query/w")]).reshape(T, H, K)
            k = (x @ p[L("multi_head_attention/key/w")]).reshape(T, KV, K)
            v = (x @ p[L("multi_head_attention/value/w")]).reshape(T, KV, K)
            q, k = rope(q, c["rope_base"]), rope(k, c["rope_base"])
            g = H // KV
            kh = np.repeat(k, g, axis=1)  # q head h uses kv head h // g
            vh = np.repeat(v, g, axis=1)
            logits = np.einsum("thd,shd->hts", q, kh) * np.float32(c["attn_output_multiplier"])
            logits = cap * np.tanh(logits / cap)
            logits = np.where(mask[None], logits, -1e30)
            logits -= logits.max(-1, keepdims=True)
            w = np.exp(logits); w /= w.sum(-1, keepdims=True)
            att = np.einsum("hts,shd->thd", w, vh).reshape(T, H * K)
            att = att @ p[L("multi_head_attention/linear/w")]
            h = h + rms_norm(att, p[L("rms_norm_1/scale")], eps)
            x = rms_norm(h, p[L("rms_norm_2/scale")], eps)
            rl = x @ p[L("router/w")]
            rl -= rl.max(-1, keepdims=True)
            pr = np.exp(rl); pr /= pr.sum(-1, keepdims=True)
            top = np.argsort(-pr, axis=-1, kind="stable")[:, :k_sel]
            out = np.zeros_like(x)
            W0, Wv, W1 = get(L("moe/linear/w")), get(L("moe/linear_v/w")), get(L("moe/linear_1/w"))
            for e in range(E):
                rows, slot = np.nonzero(top == e)
                if len(rows) == 0:
                    continue
                xe = x[rows]
                hi = gelu_tanh(xe @ W0[e]) * (xe @ Wv[e])
                if hook is not None:
                    hook(l, e, xe, hi)
                out[rows] += pr[rows, e][:, None] * (hi @ W1[e])
            h = h + rms_norm(out, p[L("rms_norm_3/scale")], eps)
        h = rms_norm(h, p["language_model/rms_norm/scale"], eps)
        return (h @ p["language_model/in_out_embed/embeddings"].T) * np.float32(c["output_multiplier_scale"])


if __name__ == "__main__":
    d = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/public-tiny"
    cfg, params = load(d)
    m = Model(cfg, params)
    prompts = json.load(open(os.path.join(d, "prompts.json")))
    for i, pr in enumerate(prompts):
        got = m.forward(pr)
        ref = np.load(os.path.join(d, "golden", f"p{i}.f32.npy"))
        print(i, got.shape, ref.shape, float(np.abs(got - ref).max()))
