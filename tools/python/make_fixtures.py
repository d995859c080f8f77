#!/usr/bin/env python3
"""Regenerate the committed fixtures under golden-tests/fixtures/ (checkpoints, prompts,
goldens). Deterministic: the same inputs give byte-identical checkpoints, manifests and prompts;
goldens are byte-identical on the same CPU/JAX build (XLA's CPU kernels may round differently
on other hardware, well inside the documented tolerances).

    python3 tools/python/make_fixtures.py [--only NAME] [--skip-golden] [--root REPO]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SMALL = {"emb_size": 64, "key_size": 16, "num_q_heads": 4, "num_kv_heads": 2,
         "num_experts": 8, "num_selected_experts": 2, "widening_factor": 8,
         "pad_token": 0, "eos_token": 2}

FIXTURES = {
    # 12 layers: files sort as layers 0, 1, 10, 11, 2, ... (a numeric-order reader scrambles them)
    # emb 96 (6 q heads x 16, 3 q heads per kv head), ffn 512 (a multiple of 32, 64, 128: every
    # int4 group size divides it). Conditioned like a trained LLM rather than a chaotic random net
    # (docs/FIXTURES.md): post-norm scales 0.3 so each layer adds a modest update to the
    # residual stream, router gain 3 for clear but unsaturated routes. Heavy tails and outlier
    # input channels stay at their defaults.
    "tiny-12l": dict(config=dict(SMALL, emb_size=96, num_q_heads=6, vocab_size=512,
                                 num_layers=12, seed=12,
                                 init={"kind": "heavy", "post_norm_mean": 0.3,
                                       "router_gain": 3.0}),
                     init="heavy", numpy_style=1, protocol=4, prompt_seed=1212,
                     lengths=[8, 16, 72, 136], pad_prompt_len=40),
    # K-quant-friendly widths (emb 256, ffn 256: every row is a whole number of 256-value
    # super-blocks, so GGUF Q4_K/Q5_K/Q6_K export without fallbacks), 4 layers, 4 experts top-2
    # to stay small (~4.5 MB); heavy-tailed like tiny-12l. Used by the GGUF quality benchmark
    # (docs/benchmarks/gguf-quality.md). Logit std 0.7: at the default 3 its heavy-tailed head
    # puts the top logit ~30 above the next, every softmax is one-hot and KL (~1e-10) measures
    # nothing; at 0.7 the top-1 margin is ~7, as tiny-12l's.
    "tiny-4l-k": dict(config=dict(SMALL, emb_size=256, key_size=64, num_q_heads=4, num_kv_heads=2,
                                  num_experts=4, widening_factor=1.5, vocab_size=512,
                                  num_layers=4, seed=44,
                                  init={"kind": "heavy", "post_norm_mean": 0.3,
                                        "router_gain": 3.0, "target_logit_std": 0.7}),
                      init="heavy", numpy_style=1, protocol=4, prompt_seed=4444,
                      lengths=[8, 16, 72, 136], pad_prompt_len=40),
    "tiny-np2-p5": dict(config=dict(SMALL, vocab_size=256, num_layers=3, seed=25),
                        init="gaussian", numpy_style=2, protocol=5, prompt_seed=2525,
                        lengths=[6, 24, 70], pad_prompt_len=None),
    "tiny-np1-p5": dict(config=dict(SMALL, vocab_size=256, num_layers=3, seed=15),
                        init="heavy", numpy_style=1, protocol=5, prompt_seed=1515,
                        lengths=[6, 24, 70], pad_prompt_len=None),
}


def candidate_prompt(spec, slot, attempt):
    """One candidate token list for prompt `slot`. Every prompt starts with BOS 1 and otherwise
    avoids pad (0), BOS and EOS (2); long prompts repeat a 24-token segment (so attention has
    something to find); the pad slot has pad tokens in the middle to exercise the
    `tokens != pad` key mask (never at position 0: a query whose keys are all masked degenerates
    to a uniform average over every position)."""
    V = spec["config"]["vocab_size"]
    rng = np.random.default_rng([spec["prompt_seed"], slot, attempt])
    lengths = spec["lengths"] + ([spec["pad_prompt_len"]] if spec["pad_prompt_len"] else [])
    n = lengths[slot]
    body = rng.integers(3, V, size=n - 1)
    if n >= 64:
        seg = rng.integers(3, V, size=24)
        body[8:32] = seg
        body[n // 2: n // 2 + 24] = seg[: len(body[n // 2: n // 2 + 24])]
    if slot == len(spec["lengths"]):  # the pad prompt
        body[n // 2] = body[n // 2 + 1] = body[n - 6] = 0
    return [1] + [int(t) for t in body]


def margins(logits, routing):
    """(smallest 2nd-vs-3rd expert log-prob margin over layers/positions, smallest top-1 vs
    top-2 logit margin) of a float32 forward."""
    route = min(float(np.min(np.log(p[:, 1]) - np.log(p[:, 2])))
                for p in (np.sort(np.asarray(r[0], np.float32), -1)[:, ::-1] for r in routing))
    s = np.sort(logits, axis=-1)
    return route, float(np.min(s[:, -1] - s[:, -2]))


def make_prompts(spec, model_dir, min_route_gap, min_logit_gap, max_attempts=40):
    """Pick, for each prompt slot, the first candidate whose float32 forward has no near-tie:
    a route whose 2nd/3rd experts are within `min_route_gap` in log-probability, or a position
    whose top-2 logits are within `min_logit_gap`, would let a correct float32 runtime flip a
    route or the top-1 token through rounding alone and fail a tight comparison spuriously."""
    import reference as ref
    cfg = ref.load_config(model_dir, None)
    ckpt = ref.Checkpoint(os.path.join(model_dir, "ckpt-0"), cfg)
    n_slots = len(spec["lengths"]) + (1 if spec["pad_prompt_len"] else 0)
    prompts = []
    for slot in range(n_slots):
        for attempt in range(max_attempts):
            toks = candidate_prompt(spec, slot, attempt)
            logits, routing = ref.run(ckpt, cfg, [toks], ["f32"], log=lambda s: None)
            rg, lg = margins(logits[("f32", 0)], routing[("f32", 0)])
            print(f"  prompt {slot} attempt {attempt}: route gap {rg:.2e}, logit gap {lg:.2e}",
                  file=sys.stderr)
            if rg >= min_route_gap and lg >= min_logit_gap:
                prompts.append(toks)
                break
        else:
            raise SystemExit(f"prompt {slot}: no candidate without near-ties in {max_attempts} tries")
    return prompts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default=os.path.abspath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--only", action="append")
    ap.add_argument("--skip-golden", action="store_true")
    ap.add_argument("--min-route-gap", type=float, default=1e-3,
                    help="reject prompts with a 2nd/3rd expert log-prob margin below this")
    ap.add_argument("--min-logit-gap", type=float, default=1e-3,
                    help="reject prompts with a top-1/top-2 logit margin below this")
    args = ap.parse_args(argv)
    base = os.path.join(args.root, "golden-tests", "fixtures")
    for name, spec in FIXTURES.items():
        if args.only and name not in args.only:
            continue
        out = os.path.join(base, name)
        os.makedirs(out, exist_ok=True)
        cfg_path = os.path.join(out, "generator-config.json")
        with open(cfg_path, "w") as f:
            json.dump(spec["config"], f, indent=1)
            f.write("\n")
        subprocess.run([sys.executable, os.path.join(HERE, "make_checkpoint.py"), out,
                        "--config", cfg_path, "--init", spec["init"],
                        "--numpy-style", str(spec["numpy_style"]),
                        "--protocol", str(spec["protocol"]), "--force"], check=True)
        prompts = make_prompts(spec, out, args.min_route_gap, args.min_logit_gap)
        with open(os.path.join(out, "prompts.json"), "w") as f:
            json.dump(prompts, f)
            f.write("\n")
        if not args.skip_golden:
            subprocess.run([sys.executable, os.path.join(HERE, "reference.py"), out], check=True)
        print(f"{name}: done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
