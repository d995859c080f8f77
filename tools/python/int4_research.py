"""int4 expert quantization research (issue 6): which method beats llama.cpp's Q4_0 on KL?

Quantizes ONLY the MoE expert weights (moe/linear, linear_v, linear_1) of a small Grok-1
checkpoint with each method, runs a float32 numpy forward pass (grok_np.py), and reports
mean / p99 / max KL(int8 model ‖ quantized model) over >= 1024 positions of 64-token prompts,
the same-top-1 rate and the perplexity ratio (of the int8 model's own greedy... see ppl()),
relative to Q4_0. Calibration statistics (E[x²] per input channel of each expert, like
llama.cpp's imatrix) come from separate calibration prompts (different seed).

Usage: python3 int4_research.py FIXTURE [--methods a,b,...] [--prompts 16] [--len 64]
FIXTURE is a fixture directory (config.json, manifest.json, ckpt-0/) or an .npz from make_heavy12.py.
"""
import argparse, json, os, re, sys, time
import os
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # tiny matrices: BLAS threads only spin on a shared machine
import numpy as np
import grok_np as g

EXPERT_PARAMS = ("moe/linear/w", "moe/linear_v/w", "moe/linear_1/w")

# IQ4_NL's published 16-level grid (int8 levels; w = d * level)
IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.float64)
UNIFORM = np.arange(-8, 8, dtype=np.float64)


def f16(x):
    return np.asarray(x, np.float64).astype(np.float16).astype(np.float64)


# ---------------------------------------------------------------- groups
def padded(I, G):
    return -(-I // G) * G


def to_groups(W, G):
    """W [E, in, out] → X [E*out*ceil(in/G), G]: groups of G consecutive inputs of one output column.
    A ragged last group (in not a multiple of G, e.g. ffn 344 with G 32) is padded with zeros that
    carry zero weight in every search and are dropped again by from_groups."""
    E, I, O = W.shape
    Wt = np.transpose(W, (0, 2, 1)).astype(np.float64)
    P = padded(I, G)
    if P != I:
        Wt = np.concatenate([Wt, np.zeros((E, O, P - I))], axis=2)
    return np.ascontiguousarray(Wt).reshape(-1, G)


def from_groups(X, shape):
    E, I, O = shape
    G = X.shape[1]
    return np.transpose(X.reshape(E, O, padded(I, G))[:, :, :I], (0, 2, 1)).astype(np.float32)


def imp_groups(imp, shape, G):
    """Per-input-channel importance [E, in] → per-element weights matching to_groups (0 on padding)."""
    E, I, O = shape
    P = padded(I, G)
    imp = np.concatenate([imp, np.zeros((E, P - I))], axis=1) if P != I else imp
    w = np.broadcast_to(imp[:, None, :], (E, O, P))
    return np.ascontiguousarray(w).reshape(-1, G).astype(np.float64)


def pad_mask(shape, G):
    E, I, O = shape
    return imp_groups(np.ones((E, I)), shape, G)


# ---------------------------------------------------------------- quantizers (each returns dequantized groups)
def q4_0(X):
    """llama.cpp Q4_0 reference rounding: d = (signed value of max |x|) / -8, q = min(15, trunc(x/d + 8.5)), fp16 d."""
    idx = np.argmax(np.abs(X), axis=1)  # first max, as the reference's strict '<' scan
    mx = X[np.arange(len(X)), idx].astype(np.float32)
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idd = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    x0 = (X.astype(np.float32) * idd[:, None]).astype(np.float32)
    q = np.minimum(15, np.trunc(x0 + np.float32(8.5)).astype(np.int64))
    return (q - 8) * f16(d)[:, None]


def nearest(levels, U):
    """Index of the nearest level for each entry of U (levels sorted)."""
    mid = (levels[1:] + levels[:-1]) / 2
    return np.searchsorted(mid, U)


def grid_search(X, Wt, levels, factors, refit=True, one_sign=False):
    """Per-group scale search on a fixed grid: candidates d = ±amax/ext·f; quantize to nearest level,
    refit d by weighted least squares, keep the candidate with the lowest weighted squared error.
    Returns (d [N], idx [N,G])."""
    N = len(X)
    amax = np.abs(X).max(1)
    amax = np.where(amax == 0, 1e-30, amax)
    best_err = np.full(N, np.inf)
    best_d = np.zeros(N)
    best_i = np.zeros(X.shape, np.int64)
    ext = np.abs(levels).max()
    # one_sign: only d = -m/127·f (the largest-magnitude value m maps to the -127 end, as IQ4_NL does)
    m = X[np.arange(N), np.argmax(np.abs(X), axis=1)]
    for sgn in ((1.0,) if one_sign else (1.0, -1.0)):
        if sgn < 0 and np.allclose(levels, -levels[::-1]):
            continue
        for f in factors:
            d = (-np.sign(m) * amax / ext * f) if one_sign else sgn * amax / ext * f
            i = nearest(levels, X / d[:, None])
            L = levels[i]
            if refit:
                num = (Wt * X * L).sum(1)
                den = (Wt * L * L).sum(1)
                d = np.where(den > 0, num / np.where(den > 0, den, 1), d)
            err = (Wt * (X - d[:, None] * L) ** 2).sum(1)
            better = err < best_err
            best_err = np.where(better, err, best_err)
            best_d = np.where(better, d, best_d)
            best_i[better] = i[better]
    return best_d, best_i


def requant(X, Wt, levels, d):
    """Best indices for fixed scales d."""
    return nearest(levels, X / np.where(d == 0, 1e-30, d)[:, None])


def quant_scale_f16(X, Wt, levels, d, idx):
    d16 = f16(d)
    idx = requant(X, Wt, levels, d16)
    return d16[:, None] * levels[idx]


def quant_scale_super(X, Wt, levels, d, per_super, bits):
    """Sub-scales as signed `bits`-bit integers times a per-super-block f16 scale (per_super groups share it).
    Tries the two nearest integers per group and keeps the better one after re-assigning levels."""
    N, G = X.shape
    ds = d.reshape(-1, per_super)
    qmax = 2 ** (bits - 1) - 1
    S = f16(np.abs(ds).max(1) / qmax)
    S = np.where(S == 0, 1e-30, S)
    r = ds / S[:, None]
    best = None
    Xs = X.reshape(-1, per_super, G)
    Ws = Wt.reshape(-1, per_super, G)
    for k in (np.floor(r), np.ceil(r)):
        k = np.clip(k, -qmax - 1, qmax)
        dd = (k * S[:, None]).reshape(-1)
        idx = requant(X, Wt, levels, dd)
        Y = dd[:, None] * levels[idx]
        err = (Wt * (X - Y) ** 2).sum(1)
        if best is None:
            best, berr = Y, err
        else:
            m = err < berr
            best[m] = Y[m]
            berr = np.where(m, err, berr)
    return best


def quant_scale_log8(X, Wt, levels, d, shape, G):
    """8-bit group scales: sign + 7-bit k with |d| = S·2^(-k/16), S = the matrix's (expert's) largest |d| (f32,
    stored once). Tries the two lattice points around the searched d and keeps the better after re-assigning levels."""
    E = shape[0]
    de = d.reshape(E, -1)
    S = np.abs(de).max(1, keepdims=True)
    S = np.where(S == 0, 1e-30, S)
    kf = -16 * np.log2(np.maximum(np.abs(de), 1e-38) / S)
    best, berr = None, None
    for k in (np.floor(kf), np.ceil(kf)):
        k = np.clip(k, 0, 127)
        dd = (np.sign(de) * S * 2.0 ** (-k / 16)).reshape(-1)
        idx = requant(X, Wt, levels, dd)
        Y = dd[:, None] * levels[idx]
        err = (Wt * (X - Y) ** 2).sum(1)
        if best is None:
            best, berr = Y, err
        else:
            m = err < berr
            best[m] = Y[m]
            berr = np.where(m, err, berr)
    return best


FACT = np.linspace(0.75, 1.25, 41)


def lloyd_codebook(X, Wt, levels, iters=6, factors=FACT):
    """Weighted Lloyd iteration of a 16-level codebook for one tensor, alternating with per-group scale search.
    Levels are normalised so max |level| = 127 and rounded to integers (int8 table)."""
    lv = levels.copy()
    for _ in range(iters):
        d, idx = grid_search(X, Wt, lv, factors)
        U = X / np.where(d == 0, 1e-30, d)[:, None]
        w = Wt * d[:, None] ** 2
        sw = np.bincount(idx.ravel(), w.ravel(), len(lv))
        su = np.bincount(idx.ravel(), (w * U).ravel(), len(lv))
        new = np.where(sw > 0, su / np.where(sw > 0, sw, 1), lv)
        new = np.sort(new)
        new = np.round(new * 127 / np.abs(new).max())
        if np.array_equal(new, lv):
            break
        lv = new
    return lv


# ---------------------------------------------------------------- methods
def method(name, W, imp, cfg):
    """Returns (dequantized W, bits per weight incl. scales) for method `name` on expert tensor W [E,in,out].
    imp: [E, in] mean x² of the inputs each expert saw (None if no calibration)."""
    if name in ("q4nl", "q4nl-imx"):
        return q4nl_java(W, imp if name == "q4nl-imx" else None)
    if name.startswith("q4nl-2s"):  # both signs, n factors in [0.9, 1.1]
        n = int(name.split("-f")[1])
        return q4nl_java(W, None, factors=np.linspace(0.9, 1.1, n) if n > 1 else np.array([1.0]))
    if name.startswith("q4nl-1s"):  # one sign, n factors: q4nl-1s-f5
        n = int(name.split("-f")[1])
        return q4nl_java(W, None, factors=np.linspace(0.9, 1.1, n) if n > 1 else np.array([1.0]), one_sign=True)
    spec = METHODS.setdefault(name, parse_method(name))
    G = spec.get("G", 32)
    W_orig = W
    eq = None
    if spec.get("eq"):
        # per-input-channel equalisation: W = diag(c)·W', quantize W', runtime computes (x∘c)·W'.
        # c = the channel's RMS over outputs (loud channels get their own range), stored as f16.
        c = np.sqrt((W.astype(np.float64) ** 2).mean(axis=2)) ** spec["eq"]
        c = f16(c / np.median(c, axis=1, keepdims=True))
        c = np.where(c == 0, 1, c)
        eq = c
        W = W / c[:, :, None]
        imp = (imp if spec.get("imatrix") else np.ones_like(c)) * c ** 2
        spec = dict(spec, imatrix=True)
    X = to_groups(W, G)
    pad = padded(W.shape[1], G) / W.shape[1]  # storage of a ragged last group counts in bpw
    Wt = imp_groups(imp, W.shape, G) if spec.get("imatrix") else pad_mask(W.shape, G)
    if spec.get("nlw"):  # llama.cpp-style: error weight sqrt(sigma² + x²) (times the importance, if any)
        n = pad_mask(W.shape, G).sum(1, keepdims=True)
        s2 = 2 * (X ** 2).sum(1, keepdims=True) / n
        Wt = Wt * np.sqrt(s2 + X ** 2)
    kind = spec["kind"]
    side = 16 / W.shape[2] if eq is not None else 0.0
    if eq is not None:
        Wq, bpw = method_core(spec, X, Wt, W, G, pad)
        return (Wq * eq[:, :, None]).astype(np.float32), bpw + side
    return method_core(spec, X, Wt, W, G, pad)


def method_core(spec, X, Wt, W, G, pad):
    kind = spec["kind"]
    if kind == "q4_0":
        return from_groups(q4_0(X), W.shape), 4.5 * pad
    if kind == "absmax":
        d = np.abs(X).max(1) / 7
        Y = quant_scale_f16(X, Wt, UNIFORM, d, None)
        return from_groups(Y, W.shape), (4 + 16 / G) * pad
    levels = {"uniform": UNIFORM, "nl": IQ4NL}[spec["grid"]] if spec["grid"] != "learned" else None
    if levels is None:
        levels = lloyd_codebook(X, Wt, IQ4NL)
        spec.setdefault("_codebooks", []).append(levels.tolist())
    d, idx = grid_search(X, Wt, levels, spec.get("factors", FACT))
    sc = spec.get("scales", "f16")
    if sc == "log8":
        Y = quant_scale_log8(X, Wt, levels, d, W.shape, G)
        bpw = 4 + 8 / G
    elif sc == "f16":
        Y = quant_scale_f16(X, Wt, levels, d, idx)
        bpw = 4 + 16 / G
    else:
        bits, per = sc  # e.g. (8, 8): 8-bit sub-scales, f16 super-scale per 8 groups
        Y = quant_scale_super(X, Wt, levels, d, per, bits)
        bpw = 4 + bits / G + 16 / (G * per)
    return from_groups(Y, W.shape), bpw * pad


def q4nl_java(W, imp, G=32, factors=np.array([0.9, 1.0, 1.1]), one_sign=False):
    """Exactly the rules of the Java encoder (grokkit.quant.Q4NlEncoder): channel scales c = f16(rms_i / rms),
    S = max|W/c| / 96 per matrix, IQ4_NL grid, error weights c²·sqrt(σ²+x²)(·importance), continuous search,
    then the better of the two neighbouring lattice scales ±S·2^(-k/16), k ≤ 126. Returns (dequantized, bpw)."""
    E, I, O = W.shape
    W64 = W.astype(np.float64)
    rms = np.sqrt((W64 ** 2).mean(axis=2))
    mean = np.sqrt((W64 ** 2).mean(axis=(1, 2)))[:, None]
    c = f16(np.clip(np.where((rms > 0) & (mean > 0), rms / np.where(mean > 0, mean, 1), 1), 1 / 4096, 4096))
    Wp = W64 / c[:, :, None]
    S = np.abs(Wp).max(axis=(1, 2)) / 96
    S = np.where(S > 0, S, 1)
    X = to_groups(Wp, G)
    mask = pad_mask(W.shape, G)
    cw = imp_groups(c ** 2 * (imp if imp is not None else 1), W.shape, G)
    n = mask.sum(1, keepdims=True)
    s2 = 2 * (X ** 2).sum(1, keepdims=True) / n
    Wt = cw * np.sqrt(s2 + X ** 2) * mask
    d, _ = grid_search(X, Wt, IQ4NL, factors, one_sign=one_sign)
    groups = X.shape[0] // E
    Sg = np.repeat(S, groups)
    kf = -16 * np.log2(np.maximum(np.abs(d), 1e-38) / Sg)
    k0 = np.clip(np.floor(kf), 0, 126)
    best, berr = None, None
    for k in (k0, np.minimum(126, k0 + 1)):
        dd = np.sign(d) * Sg * 2.0 ** (-k / 16)
        idx = requant(X, Wt, IQ4NL, dd)
        Y = dd[:, None] * IQ4NL[idx]
        err = (Wt * (X - Y) ** 2).sum(1)
        if best is None:
            best, berr = Y, err
        else:
            m = err < berr
            best[m] = Y[m]
            berr = np.where(m, err, berr)
    Wq = from_groups(best, W.shape) * c[:, :, None]
    ng = -(-I // G)
    bytes_ = O * ng * G // 2 + -(-(O * ng) // 4) * 4 + 4 + 2 * I
    return Wq.astype(np.float32), 8 * bytes_ / (I * O)


def parse_method(name):
    """Method names: q4_0 | absmax32 | GRID-G<g>[-s<bits>x<groups per super-scale>][-imx|-imxw][-f<factors>]
    with GRID uni (uniform -8..7), nl (IQ4_NL grid) or lrn (per-tensor learned int8 codebook)."""
    if name == "q4_0":
        return dict(kind="q4_0")
    m = re.fullmatch(r"absmax(\d+)", name)
    if m:
        return dict(kind="absmax", G=int(m.group(1)))
    parts = name.split("-")
    grid = {"uni": "uniform", "nl": "nl", "lrn": "learned"}[parts[0]]
    spec = dict(kind="grid", grid=grid)
    for p in parts[1:]:
        if p[0] == "G":
            spec["G"] = int(p[1:])
        elif p[0] == "s":
            b, per = p[1:].split("x")
            spec["scales"] = (int(b), int(per))
        elif p == "imx":
            spec["imatrix"] = True
        elif p == "L8":
            spec["scales"] = "log8"
        elif p.startswith("eq"):
            spec["eq"] = float(p[2:]) if len(p) > 2 else 1.0
        elif p == "nlw":
            spec["nlw"] = True
        elif p == "imxw":
            spec["imatrix"] = True
            spec["nlw"] = True
        elif p[0] == "f":
            n = int(p[1:])
            spec["factors"] = np.linspace(0.8, 1.2, n) if n > 1 else np.array([1.0])
        else:
            raise ValueError(name)
    return spec


METHODS = {}


# ---------------------------------------------------------------- evaluation
def load_any(path):
    if path.endswith(".npz"):
        cfg = json.load(open(path[:-4] + ".json"))
        z = np.load(path)
        return cfg, {k: z[k] for k in z.files}
    return g.load(path)


def make_prompts(cfg, n, length, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(3, cfg["vocab_size"], length).tolist() for _ in range(n)]


def log_softmax(z):
    z = z.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def calibrate(model, prompts, gate_weighted=False):
    """imatrix: per layer/param, [E, in] mean of x² over the tokens routed to each expert."""
    c = model.c
    E, nl = c["num_experts"], c["num_layers"]
    acc = {}

    def hook(l, e, xe, hi):
        for p, v in (("moe/linear/w", xe), ("moe/linear_v/w", xe), ("moe/linear_1/w", hi)):
            key = f"transformer/decoder_layer_{l}/{p}"
            if key not in acc:
                acc[key] = [np.zeros((E, v.shape[1])), np.zeros(E)]
            acc[key][0][e] += (v.astype(np.float64) ** 2).sum(0)
            acc[key][1][e] += len(v)

    for pr in prompts:
        model.forward(pr, hook=hook)
    out = {}
    for k, (s, n) in acc.items():
        m = s / np.maximum(n, 1)[:, None]
        # experts never routed get the layer mean (never zero weights)
        for e in range(E):
            if n[e] == 0:
                m[e] = s.sum(0) / max(n.sum(), 1)
        out[k] = m
    return out


def evaluate(model, prompts, ref_lp, override):
    kls, top = [], []
    nll_q, nll_r = [], []
    for pr, lr in zip(prompts, ref_lp):
        lq = log_softmax(model.forward(pr, expert_override=override))
        kl = (np.exp(lr) * (lr - lq)).sum(-1)
        kls.append(kl)
        top.append(lr.argmax(-1) == lq.argmax(-1))
        # perplexity of the next prompt token (random tokens: a relative, not absolute, measure)
        nxt = np.asarray(pr[1:])
        nll_q.append(-lq[np.arange(len(nxt)), nxt])
        nll_r.append(-lr[np.arange(len(nxt)), nxt])
    kls = np.concatenate(kls)
    return dict(mean_kl=float(kls.mean()), p99_kl=float(np.quantile(kls, 0.99)), max_kl=float(kls.max()),
                top1=float(np.concatenate(top).mean()),
                ppl_ratio=float(np.exp(np.concatenate(nll_q).mean() - np.concatenate(nll_r).mean())),
                positions=int(len(kls)))


def weight_error(W, Wq, imp):
    """Relative RMS error, and importance-weighted relative error."""
    d = (Wq - W).astype(np.float64)
    rel = np.sqrt((d ** 2).sum() / (W.astype(np.float64) ** 2).sum())
    wrel = np.sqrt(((d ** 2) * imp[:, :, None]).sum() / ((W.astype(np.float64) ** 2) * imp[:, :, None]).sum())
    return rel, wrel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture")
    ap.add_argument("--methods", default="q4_0,absmax32,uni-G32,nl-G32,uni-G32-imx,nl-G32-imx,nl-G32-imxw")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--calib", type=int, default=16)
    ap.add_argument("--json")
    a = ap.parse_args()
    cfg, params = load_any(a.fixture)
    model = g.Model(cfg, params)
    evp = make_prompts(cfg, a.prompts, a.len, seed=1234)
    calp = make_prompts(cfg, a.calib, a.len, seed=98765)
    t0 = time.time()
    ref = [log_softmax(model.forward(p)) for p in evp]
    imx = calibrate(model, calp)
    print(f"# {a.fixture}: {cfg['num_layers']} layers, emb {cfg['emb_size']}, ffn {cfg['ffn_size']}, "
          f"{a.prompts}x{a.len} eval positions, {a.calib}x{a.len} calibration; ref {time.time()-t0:.1f}s", flush=True)
    names = [k for k in params if any(k.endswith(p) for p in EXPERT_PARAMS)]
    rows = []
    base = None
    for mname in a.methods.split(","):
        t0 = time.time()
        ov, bits, errs = {}, [], []
        for n in names:
            Wq, bpw = method(mname, params[n], imx[n], cfg)
            ov[n] = Wq
            bits.append((bpw, params[n].size))
            errs.append(weight_error(params[n], Wq, imx[n]) + (params[n].size,))
        tq = time.time() - t0
        bpw = sum(b * s for b, s in bits) / sum(s for _, s in bits)
        tot = sum(e[2] for e in errs)
        rel = np.sqrt(sum(e[0] ** 2 * e[2] for e in errs) / tot)
        wrel = np.sqrt(sum(e[1] ** 2 * e[2] for e in errs) / tot)
        r = evaluate(model, evp, ref, ov)
        r.update(method=mname, bpw=bpw, rel_rms=float(rel), imp_rel_rms=float(wrel), quant_s=tq)
        if mname == "q4_0":
            base = r
        if base:
            r["kl_ratio"] = r["mean_kl"] / base["mean_kl"]
        rows.append(r)
        print(f"{mname:14s} bpw {bpw:.4f} relRMS {rel:.4f} impRel {wrel:.4f} | meanKL {r['mean_kl']:.4f} "
              f"p99 {r['p99_kl']:.3f} max {r['max_kl']:.3f} top1 {r['top1']:.3f} ppl× {r['ppl_ratio']:.3f} "
              f"ratio {r.get('kl_ratio', float('nan')):.3f}  ({tq:.1f}s)", flush=True)
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
