#!/usr/bin/env python3
"""Independent float64 NumPy forward pass (no JAX), compared with a golden's f32 logits.

    python3 tools/python/crosscheck_f64.py MODEL_DIR [--golden DIR]

A second implementation of the same semantics (docs/FIXTURES.md, "Goldens"), written with plain
NumPy in float64 and computing only the selected experts. Agreement with `reference.py`'s f32
goldens to ~1e-5 shows both the port and the fixture are numerically sound: a correct float32
runtime can be held to a tight threshold on them.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402  (only for reading the checkpoint)


def dequant64(qw):
    q = np.asarray(qw.weight, dtype=np.float64)
    s = np.asarray(qw.scales).astype(np.float64)
    *lead, R, N = q.shape
    B = s.shape[-2]
    return (q.reshape(*lead, B, R // B, N) * s.reshape(*lead, B, 1, N)).reshape(q.shape)


def rms(x, scale, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * scale


def rope(x, base):  # x [T, H, K]
    T, _, K = x.shape
    inv = 1.0 / (base ** (np.arange(0, K, 2, dtype=np.float64) / K))
    ph = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    ph = np.concatenate([ph, ph], axis=-1)[:, None, :]
    rot = np.concatenate([-x[..., K // 2:], x[..., : K // 2]], axis=-1)
    return x * np.cos(ph) + rot * np.sin(ph)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forward(ckpt, cfg, tokens):
    eps, K = cfg["rms_norm_eps"], cfg["key_size"]
    Hq, Hkv, k_sel = cfg["num_q_heads"], cfg["num_kv_heads"], cfg["num_selected_experts"]
    emb = np.asarray(ckpt.get("language_model/in_out_embed/embeddings"), dtype=np.float64)
    tok = np.asarray(tokens)
    T = len(tok)
    h = emb[tok] * cfg["embedding_multiplier_scale"]
    allowed = np.tril(np.ones((T, T), bool)) & (tok != cfg["pad_token"])[None, :]
    for L in range(cfg["num_layers"]):
        raw = ckpt.layer(L)
        n = [np.asarray(raw[m], np.float64) for m in ("rms_norm", "rms_norm_1", "rms_norm_2", "rms_norm_3")]
        x = rms(h, n[0], eps)
        q = rope((x @ dequant64(raw["multi_head_attention/query"])).reshape(T, Hq, K), cfg["rope_base"])
        k = rope((x @ dequant64(raw["multi_head_attention/key"])).reshape(T, Hkv, K), cfg["rope_base"])
        v = (x @ dequant64(raw["multi_head_attention/value"])).reshape(T, Hkv, K)
        out = np.empty((T, Hq, K))
        for hq in range(Hq):
            kv = hq // (Hq // Hkv)
            lg = (q[:, hq, :] @ k[:, kv, :].T) * cfg["attn_output_multiplier"]
            lg = cfg["attn_logit_cap"] * np.tanh(lg / cfg["attn_logit_cap"])
            lg = np.where(allowed, lg, -1e30)
            out[:, hq, :] = softmax(lg) @ v[:, kv, :]
        a = out.reshape(T, Hq * K) @ dequant64(raw["multi_head_attention/linear"])
        h = h + rms(a, n[1], eps)
        x = rms(h, n[2], eps)
        probs = softmax(x @ np.asarray(raw["router"], np.float64))
        top = np.argsort(-probs, axis=-1, kind="stable")[:, :k_sel]
        wg, wu, wd = (dequant64(raw[m]) for m in ("moe/linear", "moe/linear_v", "moe/linear_1"))
        m = np.zeros_like(h)
        for t in range(T):
            for e in top[t]:
                y = (x[t] @ wu[e]) * gelu_tanh(x[t] @ wg[e])
                m[t] += probs[t, e] * (y @ wd[e])
        h = h + rms(m, n[3], eps)
    final = np.asarray(ckpt.get("language_model/rms_norm/scale"), np.float64)
    return rms(h, final, eps) @ emb.T * cfg["output_multiplier_scale"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--golden", help="golden dir (default MODEL_DIR/golden)")
    args = ap.parse_args(argv)
    cfg = ref.load_config(args.model_dir, None)
    ckpt = ref.Checkpoint(os.path.join(args.model_dir, "ckpt-0"), cfg)
    gdir = args.golden or os.path.join(args.model_dir, "golden")
    with open(os.path.join(gdir, "golden.json")) as f:
        golden = json.load(f)
    worst = 0.0
    for p in golden["prompts"]:
        ours = forward(ckpt, cfg, p["tokens"])
        g = np.load(os.path.join(gdir, p["files"]["f32"])).astype(np.float64)
        d = np.abs(ours - g)
        same = float(np.mean(np.argmax(ours, -1) == np.argmax(g, -1)))
        worst = max(worst, float(d.max()))
        print(f"p{p['k']} T={p['length']}: max |f64 - f32 golden| {d.max():.2e}, "
              f"rms {np.sqrt((d ** 2).mean()):.2e}, same argmax {same * 100:.1f}%")
    print(f"worst max |diff| {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
