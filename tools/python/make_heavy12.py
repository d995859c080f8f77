"""Research-only stand-in for the 12-layer heavy-tailed fixture (until tiny-12l lands on main).

Takes public-tiny's embeddings, norms, attention and routers (layer l uses source layer l % 3) and
draws fresh expert weights per layer with public-tiny's statistics: per-input-channel scales
(outlier input channels up to ~7× the median), per-output scales, 30% of each expert shared
across experts, Gaussian bulk with 1% Student-t(3) tail values. ffn is 352 (a multiple of 32) so
that group sizes 16/32 divide every input dimension. Expert weights are then re-quantized to int8
with per-column (linear, linear_v) / 8-row-block (linear_1) bf16 scales like xAI's checkpoint.
Output: an .npz of float32 dequantized parameters + config.json (not the ckpt-0 format).
"""
import json, sys
import numpy as np
import ml_dtypes
import grok_np as g


def heavy(rng, shape, tail_prob=0.01, df=3.0):
    z = rng.standard_normal(shape)
    t = rng.standard_t(df, shape) / np.sqrt(df / (df - 2))
    return np.where(rng.random(shape) < tail_prob, t, z)


def int8_roundtrip(w, blocks):
    # w [E, in, out]; scales per column per row block, bf16, as in ckpt-0
    E, I, O = w.shape
    wb = w.reshape(E, blocks, I // blocks, O)
    s = (np.abs(wb).max(axis=2, keepdims=True) / 127.0).astype(ml_dtypes.bfloat16).astype(np.float32)
    s = np.where(s == 0, 1, s)
    q = np.clip(np.round(wb / s), -127, 127)
    return (q * s).reshape(E, I, O).astype(np.float32)


def profile(rng, W, axis, n):
    # rms profile of W[e] along `axis`, resampled to length n
    prof = np.sqrt((W ** 2).mean(axis=axis))
    return prof[rng.integers(0, len(prof), n)]


def main(out, layers=12, ffn=352, seed=7):
    cfg, p = g.load("/work/shared/fixtures/public-tiny")
    rng = np.random.default_rng(seed)
    src_layers = cfg["num_layers"]
    cfg = dict(cfg, num_layers=layers, ffn_size=ffn)
    E, D = cfg["num_experts"], cfg["emb_size"]
    newp = {k: v for k, v in p.items() if not k.startswith("transformer/")}
    for l in range(layers):
        s = l % src_layers
        for k, v in p.items():
            pre = f"transformer/decoder_layer_{s}/"
            if k.startswith(pre) and "/moe/" not in k:
                newp[f"transformer/decoder_layer_{l}/" + k[len(pre):]] = v
        for name, shape, blocks in (("linear", (D, ffn), 1), ("linear_v", (D, ffn), 1), ("linear_1", (ffn, D), 8)):
            Wsrc = p[f"transformer/decoder_layer_{s}/moe/{name}/w"]
            shared = heavy(rng, shape)
            W = np.empty((E,) + shape, np.float32)
            for e in range(E):
                rows = profile(rng, Wsrc[e], 1, shape[0])
                cols = profile(rng, Wsrc[e], 0, shape[1])
                cols = cols / np.sqrt((cols ** 2).mean())
                z = np.sqrt(0.3) * shared + np.sqrt(0.7) * heavy(rng, shape)
                W[e] = rows[:, None] * cols[None, :] * z
            # keep the source's overall scale (linear_1 input dim changed: keep the per-row rms)
            newp[f"transformer/decoder_layer_{l}/moe/{name}/w"] = int8_roundtrip(W, blocks)
    np.savez(out + ".npz", **newp)
    json.dump(cfg, open(out + ".json", "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/heavy12")
