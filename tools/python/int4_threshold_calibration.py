"""Calibrates grok verify's int4 (and q8) threshold defaults (docs/GOLDEN.md, "Thresholds").

Runs a float64 numpy port of the reference forward pass on a ckpt-0 fixture with golden
logits (public-tiny), with the MoE expert matrices quantized to 4 bits in several correct ways
and several broken ways, and prints the KL statistics against the f32 golden logits, so the
defaults can sit between "correct int4" and "broken int4". An experiment, not part of the
product: the Java tests never run it.

    python3 tools/python/int4_threshold_calibration.py ../shared/fixtures/public-tiny
    python3 tools/python/int4_threshold_calibration.py golden-tests/fixtures/tiny-np2-p5

A fixture without golden/ is compared against this port's own logits over its prompts.json.

The pickles are read with a restricted unpickler that only admits the numpy/ml_dtypes globals
of the checkpoint format.
"""
import json, pickle, sys
import numpy as np, ml_dtypes
FX = sys.argv[1] if len(sys.argv) > 1 else '../shared/fixtures/public-tiny'
cfg = json.load(open(f'{FX}/config.json'))
man = json.load(open(f'{FX}/manifest.json'))
class QuantizedWeight8bit:
    def __setstate__(self, st): self.__dict__.update(st)
class R(pickle.Unpickler):
    """Admits only the globals of the checkpoint format (numpy-1 and numpy-2 spellings, protocol 4/5)."""
    OK = {('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
          ('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer'),
          ('numpy', 'ndarray'), ('numpy', 'dtype'), ('ml_dtypes', 'bfloat16')}
    def find_class(self, mod, name):
        if (mod, name) == ('__main__', 'QuantizedWeight8bit'): return QuantizedWeight8bit
        if (mod, name) not in self.OK: raise pickle.UnpicklingError(f'refused {mod}.{name}')
        if mod == 'ml_dtypes': return ml_dtypes.bfloat16
        import importlib
        return getattr(importlib.import_module(mod.replace('numpy.core', 'numpy._core')), name)
P = {}
for t in man['tensors']:
    o = R(open(f"{FX}/ckpt-0/{t['file']}", 'rb')).load()
    if t['kind'] == 'qw8':
        q = o.weight.astype(np.float64); s = o.scales.astype(np.float32).astype(np.float64)
        ax = t['scale_block_axis']; nb = s.shape[ax]
        s = np.repeat(s, q.shape[ax] // nb, axis=ax)
        P[t['name']] = (q * s).astype(np.float32)
    else:
        P[t['name']] = np.asarray(o, dtype=np.float32)
L = cfg['num_layers']; K = cfg['key_size']; HQ = cfg['num_q_heads']; HK = cfg['num_kv_heads']
def rms(x, s): return x / np.sqrt(np.mean(x*x, -1, keepdims=True) + cfg['rms_norm_eps']) * s
def gelu(x): return 0.5*x*(1+np.tanh(np.sqrt(2/np.pi)*(x+0.044715*x**3)))
def rope(x):  # [T, H, K]
    T = x.shape[0]; half = K//2
    inv = cfg['rope_base'] ** (-np.arange(half)*2.0/K)
    ang = np.arange(T)[:, None] * inv[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1*c - x2*s, x2*c + x1*s], -1)
def forward(tokens, W):
    tokens = np.array(tokens); T = len(tokens)
    h = W['language_model/in_out_embed/embeddings'][tokens].astype(np.float64) * cfg['embedding_multiplier_scale']
    mask = np.tril(np.ones((T, T), bool)) & (tokens > cfg['pad_token'])[None, :]
    for l in range(L):
        p = f'transformer/decoder_layer_{l}/'
        x = rms(h, W[p+'rms_norm/scale'])
        q = rope((x @ W[p+'multi_head_attention/query/w']).reshape(T, HQ, K))
        k = rope((x @ W[p+'multi_head_attention/key/w']).reshape(T, HK, K))
        v = (x @ W[p+'multi_head_attention/value/w']).reshape(T, HK, K)
        g = HQ // HK
        out = np.zeros((T, HQ, K))
        for hh in range(HQ):
            lg = q[:, hh] @ k[:, hh//g].T * cfg['attn_output_multiplier']
            lg = 30*np.tanh(lg/30); lg = np.where(mask, lg, -1e30)
            pr = np.exp(lg - lg.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
            out[:, hh] = pr @ v[:, hh//g]
        h = h + rms(out.reshape(T, HQ*K) @ W[p+'multi_head_attention/linear/w'], W[p+'rms_norm_1/scale'])
        x = rms(h, W[p+'rms_norm_2/scale'])
        rl = x @ W[p+'router/w']; pr = np.exp(rl - rl.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
        top = np.argsort(-pr, -1, kind='stable')[:, :2]
        y = np.zeros_like(x)
        for t in range(T):
            for e in top[t]:
                a = gelu(x[t] @ W[p+'moe/linear/w'][e]) * (x[t] @ W[p+'moe/linear_v/w'][e])
                y[t] += pr[t, e] * (a @ W[p+'moe/linear_1/w'][e])
        h = h + rms(y, W[p+'rms_norm_3/scale'])
    h = rms(h, W['language_model/rms_norm/scale'])
    return (h @ W['language_model/in_out_embed/embeddings'].T * cfg['output_multiplier_scale']).astype(np.float32)

def lsm(x): x = x.astype(np.float64); m = x.max(-1, keepdims=True); return x - m - np.log(np.exp(x-m).sum(-1, keepdims=True))
import os
if os.path.exists(f'{FX}/golden/golden.json'):
    # The fixture's own f32 goldens (the sanity line below shows this port agrees with them).
    gold = json.load(open(f'{FX}/golden/golden.json'))
    CASES = [(p['tokens'], np.load(f"{FX}/golden/{p['files']['f32']}")) for p in gold['prompts']]
    REF_NAME = 'f32 golden'
else:
    # No goldens: this port's own float64 logits over prompts.json are the reference.
    CASES = [(t, forward(t, P)) for t in json.load(open(f'{FX}/prompts.json'))]
    REF_NAME = 'this port (no golden/ here)'
print(f'fixture {FX}: {sum(len(t) for t, _ in CASES)} positions, reference = {REF_NAME}')

def compare(W, label):
    kls = []; same = 0; n = 0; mx = 0
    for tokens, g in CASES:
        o = forward(tokens, W)
        a, b = lsm(g), lsm(o)
        kls += list((np.exp(a) * (a - b)).sum(-1)); same += (g.argmax(-1) == o.argmax(-1)).sum(); n += len(g)
        mx = max(mx, np.abs(g - o).max())
    kls = np.sort(kls)
    print(f"{label:36s} meanKL={kls.mean():.3e} medKL={np.median(kls):.3e} p99KL={np.percentile(kls,99):.3e} maxKL={kls.max():.3e} top1={same/n:.3f} max|d|={mx:.3g}", flush=True)


def set_experts(f_in64, f_in344):
    W = dict(P)
    for l in range(L):
        p = f'transformer/decoder_layer_{l}/moe/'
        W[p+'linear/w'] = f_in64(P[p+'linear/w'], 'linear', l)
        W[p+'linear_v/w'] = f_in64(P[p+'linear_v/w'], 'linear_v', l)
        W[p+'linear_1/w'] = f_in344(P[p+'linear_1/w'], 'linear_1', l)
    return W

def q4mse(w, G):
    """Per-group scale chosen from 29 candidates to minimise the squared error (llama.cpp-like)."""
    E, I, O = w.shape
    g = w.reshape(E, I//G, G, O).astype(np.float64)
    amax = np.abs(g).max(2, keepdims=True); amax[amax == 0] = 1
    best = besterr = None
    for f in np.linspace(0.5, 1.2, 29):
        sc = (amax * f / 7.0).astype(ml_dtypes.bfloat16).astype(np.float64)
        q = np.clip(np.round(g / sc), -8, 7); err = ((q*sc - g)**2).sum(2, keepdims=True)
        if best is None: best, besterr = q*sc, err
        else:
            m = err < besterr; best = np.where(m, q*sc, best); besterr = np.where(m, err, besterr)
    return best.reshape(E, I, O).astype(np.float32)

def q4x(w, G, variant):
    E, I, O = w.shape
    g = w.reshape(E, I//G, G, O)
    sc = (np.abs(g).max(2, keepdims=True) / 7.0).astype(ml_dtypes.bfloat16).astype(np.float64); sc[sc == 0] = 1
    q = np.clip(np.trunc(g / sc) if variant == 'trunc' else np.round(g / sc), -8, 7)
    if variant == 'nibble-swap': q = np.concatenate([q[:, :, G//2:], q[:, :, :G//2]], 2)  # halves of a group swapped
    if variant == 'no-offset': q = q + 8                                                   # stored q+8 not re-centred
    if variant == 'scale-roll': sc = np.roll(sc, 1, axis=1)                                # neighbouring group's scale
    if variant == 'scale-column': sc = np.roll(sc, 1, axis=3)                              # neighbouring column's scale
    return (q * sc).reshape(E, I, O).astype(np.float32)

def q8(w, G):
    E, I, O = w.shape
    g = w.reshape(E, I//G, G, O)
    sc = (np.abs(g).max(2, keepdims=True) / 127.0).astype(ml_dtypes.bfloat16).astype(np.float64); sc[sc == 0] = 1
    return (np.clip(np.round(g / sc), -127, 127) * sc).reshape(E, I, O).astype(np.float32)

compare(P, f'f32 port vs {REF_NAME} (sanity)')
print('-- q8 experts (for the q8 defaults)')
compare(set_experts(lambda w, n, l: q8(w, 32), lambda w, n, l: q8(w, 8)), 'q8 G32/8')
compare(set_experts(lambda w, n, l: q8(w, 64), lambda w, n, l: q8(w, 344)), 'q8 G64/344')
keep = lambda w, n, l: w
print('-- correct int4 (in=64 matrices: G=32 or 64; in=344: G=8, 86, 344 or kept int8)')
compare(set_experts(lambda w, n, l: q4x(w, 32, 'ok'), keep), 'absmax G32, linear_1 int8')
compare(set_experts(lambda w, n, l: q4x(w, 32, 'ok'), lambda w, n, l: q4x(w, 8, 'ok')), 'absmax G32/8')
compare(set_experts(lambda w, n, l: q4x(w, 32, 'ok'), lambda w, n, l: q4x(w, 86, 'ok')), 'absmax G32/86')
compare(set_experts(lambda w, n, l: q4x(w, 64, 'ok'), lambda w, n, l: q4x(w, 344, 'ok')), 'absmax G64/344')
compare(set_experts(lambda w, n, l: q4x(w, 32, 'trunc'), lambda w, n, l: q4x(w, 8, 'trunc')), 'absmax G32/8, truncating')
compare(set_experts(lambda w, n, l: q4mse(w, 32), keep), 'mse G32, linear_1 int8')
compare(set_experts(lambda w, n, l: q4mse(w, 8), lambda w, n, l: q4mse(w, 8)), 'mse G8/8')
print('-- broken int4')
for v in ['nibble-swap', 'no-offset', 'scale-roll', 'scale-column']:
    compare(set_experts(lambda w, n, l: q4x(w, 32, v), lambda w, n, l: q4x(w, 8, v)), f'G32/8 {v}')
compare(set_experts(lambda w, n, l: q4x(w, 32, 'ok'),
                    lambda w, n, l: q4x(w, 8, 'nibble-swap' if l == 0 else 'ok')), 'G32/8, only layer 0 linear_1 swapped')
