#!/usr/bin/env python3
"""Write a synthetic Grok-1-architecture checkpoint in the exact released `ckpt-0` format.

    python3 tools/python/make_checkpoint.py OUT_DIR [--config FILE.json] [--num-layers 12 ...]
        [--init gaussian|heavy] [--numpy-style 1|2] [--protocol 4|5] [--seed N]
    python3 tools/python/make_checkpoint.py OUT_DIR --full-width-single-layer

OUT_DIR gets `ckpt-0/tensor{i:05d}_000` (one pickle per parameter, in the reference's sorted-key
flattening order), `config.json` (the reference's field names plus `seed` and `init`) and
`manifest.json` (index, file, name, kind, shapes, dtypes, bytes, sha256 per file).

Weights are drawn in float32, then quantized as the released checkpoint is: int8 per output
column with bf16 scale absmax/127, or per (8-row-block x column) for the row-block-sharded
tensors (attention `linear`, moe `linear_1`). Tensors larger than `--stream-threshold-mb` are
streamed chunk by chunk (see docs/FIXTURES.md "Full-width single layer") so memory stays bounded.
Output is a deterministic function of (config, init, seed, numpy style, protocol).
"""
import argparse
import json
import math
import os
import platform
import shutil
import sys
import zlib

import ml_dtypes
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ckpt_pickle  # noqa: E402
from ckpt_pickle import LazyArray, QuantizedWeight8bit  # noqa: E402

BF16 = ml_dtypes.bfloat16
ROW_BLOCKS = 8  # the reference's model-axis size: row-block-sharded scales have 8 blocks

GROK1 = {
    "vocab_size": 131072, "emb_size": 6144, "key_size": 128, "num_q_heads": 48,
    "num_kv_heads": 8, "num_layers": 64, "num_experts": 8, "num_selected_experts": 2,
    "widening_factor": 8, "attn_output_multiplier": 0.08838834764831845,
    "embedding_multiplier_scale": 78.38367176906169,
    "output_multiplier_scale": 0.5773502691896257, "pad_token": 0, "eos_token": 2,
    "sequence_len": 8192, "rms_norm_eps": 1e-05, "rope_base": 10000, "attn_logit_cap": 30.0,
}

# The heavy-tailed init (docs/FIXTURES.md explains each knob and why).
HEAVY_DEFAULTS = {
    "kind": "heavy",
    "tail_df": 5.0,            # student-t degrees of freedom of the bulk (excess kurtosis 6)
    "outlier_row_frac": 0.03,  # fraction of input rows (channels) per matrix that are outliers
    "outlier_min": 3.0, "outlier_max": 8.0,   # their magnitude multiplier, uniform in range
    "col_log_std": 0.35,       # per-output-column log-normal scale variation
    "q_gain": 1.0, "k_gain": 1.0, "v_gain": 1.0, "o_gain": 1.0,
    "ffn_in_gain": 1.0, "ffn_out_gain": 1.0,
    "router_gain": 2.0,        # router logit std ~ router_gain for unit-RMS inputs
    "expert_shared": 0.5,      # variance fraction the experts of a layer share
    "pre_norm_mean": 1.0, "post_norm_mean": 1.0, "norm_log_std": 0.2,
    "hot_channel_frac": 0.03,  # residual channels with large pre-norm scales (activation outliers)
    "hot_min": 1.5, "hot_max": 3.0,
    "target_logit_std": 3.0,   # sets the final norm's mean scale
}
GAUSSIAN_DEFAULTS = {
    "kind": "gaussian", "q_gain": 1.0, "k_gain": 1.0, "v_gain": 1.0, "o_gain": 1.0,
    "ffn_in_gain": 1.0, "ffn_out_gain": 1.0, "router_gain": 2.0, "expert_shared": 0.5,
    "pre_norm_mean": 1.0, "post_norm_mean": 1.0, "norm_log_std": 0.1, "target_logit_std": 3.0,
}


def ffn_size(emb, wf):
    f = int(wf * emb) * 2 // 3
    return f + (8 - f) % 8


# ---------------------------------------------------------------------------------------
# Parameter list and the reference's file order
# ---------------------------------------------------------------------------------------

def param_specs(cfg):
    """(module, param, kind, shape, scale_blocks, scale_axis) for every leaf, in file order.
    The order is derived, not hard-coded: JAX flattens the params dict in sorted key order,
    and the keys are module-path strings, so layer 10 sorts between 1 and 2."""
    V, D, K = cfg["vocab_size"], cfg["emb_size"], cfg["key_size"]
    Hq, Hkv, E, F = cfg["num_q_heads"], cfg["num_kv_heads"], cfg["num_experts"], cfg["ffn_size"]
    specs = {
        ("language_model/in_out_embed", "embeddings"): ("f32", (V, D), None, None),
        ("language_model/rms_norm", "scale"): ("f32", (D,), None, None),
    }
    for L in range(cfg["num_layers"]):
        p = f"transformer/decoder_layer_{L}/"
        specs[(p + "moe/linear", "w")] = ("qw8", (E, D, F), 1, 1)
        specs[(p + "moe/linear_v", "w")] = ("qw8", (E, D, F), 1, 1)
        specs[(p + "moe/linear_1", "w")] = ("qw8", (E, F, D), ROW_BLOCKS, 1)
        specs[(p + "multi_head_attention/query", "w")] = ("qw8", (D, Hq * K), 1, 0)
        specs[(p + "multi_head_attention/key", "w")] = ("qw8", (D, Hkv * K), 1, 0)
        specs[(p + "multi_head_attention/value", "w")] = ("qw8", (D, Hkv * K), 1, 0)
        specs[(p + "multi_head_attention/linear", "w")] = ("qw8", (Hq * K, D), ROW_BLOCKS, 0)
        for n in ("rms_norm", "rms_norm_1", "rms_norm_2", "rms_norm_3"):
            specs[(p + n, "scale")] = ("f32", (D,), None, None)
        specs[(p + "router", "w")] = ("f32", (D, E), None, None)
    return [(m, q) + specs[(m, q)] for (m, q) in sorted(specs)]


# ---------------------------------------------------------------------------------------
# Random draws (one independent, named stream per tensor: adding layers changes nothing else)
# ---------------------------------------------------------------------------------------

def rng_for(seed, name, salt=0):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        [int(seed), zlib.crc32(name.encode()), int(salt)])))


def student_t_unit(rng, shape, df):
    """Student-t samples scaled to unit variance (df > 2), as float32. Drawn in slices of the
    first axis so a full-width matrix never needs a float64 copy (the generator fills in C
    order, so slicing gives the same numbers as one draw)."""
    out = np.empty(shape, dtype=np.float32)
    flat = out.reshape(-1)
    step = 1 << 22
    for i in range(0, flat.size, step):
        k = min(step, flat.size - i)
        flat[i:i + k] = rng.standard_t(df, size=k) * math.sqrt((df - 2.0) / df)
    return out


def heavy_matrix(rng, n_in, n_out, gain, init, lead=()):
    """W [*lead, n_in, n_out] with std ~ gain/sqrt(n_in): student-t bulk, a few outlier input
    rows per matrix, log-normal per-column scale."""
    shape = tuple(lead) + (n_in, n_out)
    w = student_t_unit(rng, shape, init["tail_df"])
    w = _share_experts(rng, w, init, lambda shp: student_t_unit(rng, shp, init["tail_df"]))
    n_out_rows = max(1, round(init["outlier_row_frac"] * n_in))
    for idx in np.ndindex(*lead) if lead else [()]:
        rows = rng.choice(n_in, size=n_out_rows, replace=False)
        mult = rng.uniform(init["outlier_min"], init["outlier_max"], size=n_out_rows)
        w[idx + (rows,)] *= mult[:, None].astype(np.float32)
    col = np.exp(rng.normal(0.0, init["col_log_std"], size=tuple(lead) + (1, n_out)))
    w *= col.astype(np.float32)
    w *= np.float32(gain / math.sqrt(n_in))
    return w


def _share_experts(rng, w, init, draw):
    """Experts of one layer share a common component: W_e = sqrt(s)·Z + sqrt(1-s)·Z_e.
    Trained experts are correlated, and a routing flip then changes the output by a fraction
    of it instead of replacing it by an unrelated function (which makes a random MoE chaotic)."""
    s = init.get("expert_shared", 0.0)
    if w.ndim < 3 or s <= 0:
        return w
    z = draw(w.shape[-2:])
    return (np.float32(math.sqrt(1.0 - s)) * w + np.float32(math.sqrt(s)) * z).astype(np.float32)


def gaussian_matrix(rng, n_in, n_out, gain, init, lead=()):
    shape = tuple(lead) + (n_in, n_out)
    w = rng.standard_normal(shape, dtype=np.float32)
    w = _share_experts(rng, w, init, lambda shp: rng.standard_normal(shp, dtype=np.float32))
    return w * np.float32(gain / math.sqrt(n_in))


def quantize(w, blocks, axis_rows):
    """int8 weight + bf16 scales as the released checkpoint stores them.
    blocks == 1: per output column, scales [..., 1, N]; blocks == 8: per contiguous block of
    rows/8 input rows and column, scales [..., 8, N]. q = round(w / s), s = bf16(absmax/127)."""
    *lead, R, N = w.shape
    if R % blocks:
        raise SystemExit(f"rows {R} not divisible by {blocks} scale blocks")
    wb = w.reshape(*lead, blocks, R // blocks, N)
    amax = np.abs(wb).max(axis=-2, keepdims=True)
    s = (amax / np.float32(127.0)).astype(BF16)
    s = np.where(s == 0, BF16(1.0), s).astype(BF16)
    t = wb / s.astype(np.float32)           # in place from here: bounded memory at full width
    np.rint(t, out=t)
    np.clip(t, -127, 127, out=t)
    q = t.astype(np.int8)
    return q.reshape(w.shape), s.reshape(*lead, blocks, N)


# ---------------------------------------------------------------------------------------
# Init: what each tensor holds
# ---------------------------------------------------------------------------------------

class Init:
    def __init__(self, cfg, init, seed):
        self.cfg, self.init, self.seed = cfg, init, seed
        D = cfg["emb_size"]
        self.heavy = init["kind"] == "heavy"
        if self.heavy:
            # Activation-outlier channels of the residual stream: the same few channels in every
            # layer get large pre-norm scales (as trained LLMs show), so the matrices that read
            # the residual stream see a few input channels with large activations.
            r = rng_for(seed, "hot_channels")
            n_hot = max(1, round(init["hot_channel_frac"] * D))
            self.hot = np.sort(r.choice(D, size=n_hot, replace=False))
            self.hot_mult = r.uniform(init["hot_min"], init["hot_max"], size=n_hot)
        # Embedding entries have std 1/embedding_multiplier so the scaled input has RMS ~1.
        self.emb_std = 1.0 / cfg["embedding_multiplier_scale"]
        # Final norm chosen so logits = out_mult * |h_normed| * |e| * cos ~ target std.
        self.final_norm_mean = init["target_logit_std"] / (
            cfg["output_multiplier_scale"] * math.sqrt(D) * self.emb_std)
        init["final_norm_mean"] = self.final_norm_mean

    def matrix(self, name, rng, n_in, n_out, gain, lead=()):
        if self.heavy:
            return heavy_matrix(rng, n_in, n_out, gain, self.init, lead)
        return gaussian_matrix(rng, n_in, n_out, gain, self.init, lead)

    def norm(self, rng, D, mean, hot):
        s = mean * np.exp(rng.normal(0.0, self.init["norm_log_std"], size=D))
        if hot and self.heavy:
            s[self.hot] *= self.hot_mult
        return s.astype(np.float32)

    def tensor(self, module, param, kind, shape):
        """Returns an f32 ndarray or a QuantizedWeight8bit for one parameter."""
        name = f"{module}/{param}"
        rng = rng_for(self.seed, name)
        cfg, ini = self.cfg, self.init
        D, E, F = cfg["emb_size"], cfg["num_experts"], cfg["ffn_size"]
        leaf = module.rsplit("/", 1)[-1]
        if name == "language_model/in_out_embed/embeddings":
            V = shape[0]
            if self.heavy:
                e = student_t_unit(rng, shape, ini["tail_df"])
                e *= np.exp(rng.normal(0.0, 0.3, size=(1, D))).astype(np.float32)
            else:
                e = rng.standard_normal(shape, dtype=np.float32)
            return (e * np.float32(self.emb_std)).astype(np.float32)
        if name == "language_model/rms_norm/scale":
            return (self.final_norm_mean * np.exp(rng.normal(0.0, 0.1, size=D))).astype(np.float32)
        if leaf in ("rms_norm", "rms_norm_2"):
            return self.norm(rng, D, ini["pre_norm_mean"], hot=True)
        if leaf in ("rms_norm_1", "rms_norm_3"):
            return self.norm(rng, D, ini["post_norm_mean"], hot=False)
        if leaf == "router":
            return (rng.standard_normal((D, E)) * (ini["router_gain"] / math.sqrt(D))).astype(np.float32)
        gains = {"query": ini["q_gain"], "key": ini["k_gain"], "value": ini["v_gain"],
                 "linear": ini["o_gain"]}
        if "/moe/" in module:
            gain = ini["ffn_out_gain"] if leaf == "linear_1" else ini["ffn_in_gain"]
            w = self.matrix(name, rng, shape[1], shape[2], gain, lead=(shape[0],))
        else:
            w = self.matrix(name, rng, shape[0], shape[1], gains[leaf])
        return w


# ---------------------------------------------------------------------------------------
# Streaming for tensors too large to hold (full-width checkpoints)
# ---------------------------------------------------------------------------------------

CHUNK_ELEMS = 1 << 24  # 16 Mi elements per generated chunk (64 MB of float32 at most)


def streamed_f32(rng_seed, name, shape, std):
    def chunks():
        rng = rng_for(rng_seed, name, salt=1)
        n = int(np.prod(shape, dtype=np.int64))
        done = 0
        while done < n:
            k = min(CHUNK_ELEMS, n - done)
            yield (rng.standard_normal(k, dtype=np.float32) * np.float32(std)).tobytes()
            done += k
    return LazyArray(shape, np.float32, chunks)


def _code_table(seed, heavy, df):
    """65536-entry table of int8 codes: the quantiles of z * 127/4.5 (z unit-variance
    student-t when heavy, else standard normal), rounded and clipped. Indexing it with uniform
    16-bit random numbers samples the quantized distribution at memory speed."""
    rng = rng_for(seed, "code_table")
    n = 1 << 20
    if heavy:
        z = rng.standard_t(df, size=n) * math.sqrt((df - 2.0) / df)
    else:
        z = rng.standard_normal(n)
    qs = np.sort(z)[8::16]  # 65536 quantiles, mid-bin
    return np.clip(np.rint(qs * (127.0 / 4.5)), -127, 127).astype(np.int8)


def streamed_qw8(seed, name, shape, blocks, heavy, df):
    """int8 codes drawn directly (no float master copy) from the quantized distribution of
    z * 127/4.5, i.e. absmax quantization of a matrix whose column absmax is ~4.5 sigma;
    per-(block, column) bf16 scales log-normal around 4.5 sigma/127 with sigma = 1/sqrt(rows).
    Same format and value range as the real checkpoint's codes, generated at memory speed."""
    *lead, R, N = shape
    rng = rng_for(seed, name, salt=2)
    sigma = 1.0 / math.sqrt(R)
    sc = (4.5 * sigma / 127.0) * np.exp(rng.normal(0.0, 0.2, size=tuple(lead) + (blocks, N)))
    scales = sc.astype(BF16)
    table = _code_table(seed, heavy, df)

    def chunks():
        r = rng_for(seed, name, salt=3)
        n = int(np.prod(shape, dtype=np.int64))
        done = 0
        while done < n:
            k = min(CHUNK_ELEMS, n - done)
            yield table[r.integers(0, 1 << 16, size=k, dtype=np.uint16)].tobytes()
            done += k
    return QuantizedWeight8bit(LazyArray(shape, np.int8, chunks), scales)


# ---------------------------------------------------------------------------------------

def build_config(args):
    cfg = dict(GROK1)
    if args.config:
        with open(args.config) as f:
            user = json.load(f)
        cfg.update({k: v for k, v in user.items()})
    if args.full_width_single_layer:
        cfg.update(num_layers=1)
    for k in ("vocab_size", "emb_size", "key_size", "num_q_heads", "num_kv_heads", "num_layers",
              "num_experts", "num_selected_experts", "widening_factor", "pad_token", "eos_token"):
        v = getattr(args, k, None)
        if v is not None:
            cfg[k] = v
    if args.attn_output_multiplier is not None:
        cfg["attn_output_multiplier"] = args.attn_output_multiplier
    elif args.config is None or "attn_output_multiplier" not in (user if args.config else {}):
        cfg["attn_output_multiplier"] = 1.0 / math.sqrt(cfg["key_size"])
    if cfg["emb_size"] != cfg["num_q_heads"] * cfg["key_size"]:
        raise SystemExit("emb_size must equal num_q_heads * key_size (the reference's model_size)")
    cfg["ffn_size"] = ffn_size(cfg["emb_size"], cfg["widening_factor"])
    seed = args.seed if args.seed is not None else cfg.get("seed", 0)
    cfg["seed"] = seed
    kind = args.init or (cfg.get("init", {}) or {}).get("kind", "heavy")
    init = dict(HEAVY_DEFAULTS if kind == "heavy" else GAUSSIAN_DEFAULTS)
    if isinstance(cfg.get("init"), dict) and cfg["init"].get("kind", kind) == kind:
        init.update({k: v for k, v in cfg["init"].items() if k in init})
    cfg["init"] = init
    return cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--config", help="JSON config with the reference's field names")
    for k in ("vocab_size", "emb_size", "key_size", "num_q_heads", "num_kv_heads", "num_layers",
              "num_experts", "num_selected_experts", "widening_factor", "pad_token", "eos_token"):
        ap.add_argument("--" + k.replace("_", "-"), dest=k, type=int)
    ap.add_argument("--attn-output-multiplier", type=float)
    ap.add_argument("--init", choices=["gaussian", "heavy"])
    ap.add_argument("--seed", type=int)
    ap.add_argument("--numpy-style", type=int, choices=[1, 2], default=1)
    ap.add_argument("--protocol", type=int, choices=[4, 5], default=4)
    ap.add_argument("--full-width-single-layer", action="store_true",
                    help="Grok-1 widths, 1 layer (~8.5 GB), streamed")
    ap.add_argument("--stream-threshold-mb", type=float, default=256.0,
                    help="tensors above this size are generated and written chunk by chunk")
    ap.add_argument("--force", action="store_true", help="replace an existing OUT_DIR/ckpt-0")
    args = ap.parse_args(argv)

    cfg = build_config(args)
    out = args.out_dir
    ck = os.path.join(out, "ckpt-0")
    if os.path.exists(ck):
        if not args.force:
            raise SystemExit(f"{ck} exists (use --force to replace it)")
        shutil.rmtree(ck)
    os.makedirs(out, exist_ok=True)
    tmp_ck = ck + ".partial"
    shutil.rmtree(tmp_ck, ignore_errors=True)
    os.makedirs(tmp_ck)

    init = Init(cfg, cfg["init"], cfg["seed"])
    threshold = args.stream_threshold_mb * 1e6
    tensors = []
    for i, (module, param, kind, shape, blocks, axis) in enumerate(param_specs(cfg)):
        name = f"{module}/{param}"
        fname = f"tensor{i:05d}_000"
        nbytes = int(np.prod(shape, dtype=np.int64)) * (4 if kind == "f32" else 1)
        if nbytes > threshold:
            if kind == "f32":
                obj = streamed_f32(cfg["seed"], name, shape, init.emb_std)
            else:
                obj = streamed_qw8(cfg["seed"], name, shape, blocks, init.heavy,
                                   cfg["init"].get("tail_df", 5.0))
        else:
            obj = init.tensor(module, param, kind, shape)
            if kind == "qw8":
                q, s = quantize(obj, blocks, axis)
                obj = QuantizedWeight8bit(q, s)
        size, sha = ckpt_pickle.dump(obj, os.path.join(tmp_ck, fname), args.protocol,
                                     args.numpy_style)
        entry = {"index": i, "file": fname, "name": name, "module": module, "param": param,
                 "kind": kind}
        if kind == "f32":
            entry.update(shape=list(shape), dtype="float32")
        else:
            entry.update(weight_shape=list(shape), weight_dtype="int8",
                         scales_shape=list(obj.scales.shape), scales_dtype="bfloat16",
                         scale_row_blocks=blocks, scale_block_axis=axis)
        entry.update(bytes=size, sha256=sha)
        tensors.append(entry)
        del obj
        print(f"{fname} {name} {size} bytes", file=sys.stderr)
    os.replace(tmp_ck, ck)

    cfg_out = {k: cfg[k] for k in cfg if k != "init"}
    cfg_out["init"] = cfg["init"]
    write_json(os.path.join(out, "config.json"), cfg_out)
    manifest = {
        "format": "grok-1 ckpt-0 (one pickle per tree_flatten leaf, sorted haiku module paths)",
        "writer": {"script": "tools/python/make_checkpoint.py", "python": platform.python_version(),
                   "numpy": np.__version__, "ml_dtypes": ml_dtypes.__version__,
                   "numpy_style": args.numpy_style, "pickle_protocol": args.protocol},
        "config": cfg_out, "num_tensors": len(tensors), "tensors": tensors}
    write_json(os.path.join(out, "manifest.json"), manifest)
    return 0


def write_json(path, obj):
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
