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

SMALL = {"emb_size": 64, "key_size": 16, "num_q_heads": 4, "num_kv_heads": 2,
         "num_experts": 8, "num_selected_experts": 2, "widening_factor": 8,
         "pad_token": 0, "eos_token": 2}

FIXTURES = {
    # 12 layers: files sort as layers 0, 1, 10, 11, 2, ... (a numeric-order reader scrambles them)
    "tiny-12l": dict(config=dict(SMALL, vocab_size=512, num_layers=12, seed=12),
                     init="heavy", numpy_style=1, protocol=4, prompt_seed=1212,
                     lengths=[8, 16, 72, 136], pad_prompt_len=40),
    "tiny-np2-p5": dict(config=dict(SMALL, vocab_size=256, num_layers=3, seed=25),
                        init="gaussian", numpy_style=2, protocol=5, prompt_seed=2525,
                        lengths=[6, 24, 70], pad_prompt_len=None),
    "tiny-np1-p5": dict(config=dict(SMALL, vocab_size=256, num_layers=3, seed=15),
                        init="heavy", numpy_style=1, protocol=5, prompt_seed=1515,
                        lengths=[6, 24, 70], pad_prompt_len=None),
}


def make_prompts(spec):
    """Token-id prompts avoiding pad (0), BOS (1) and EOS (2) except where intended: each starts
    with BOS 1; the longest repeats a segment (so attention has something to find); the
    optional pad prompt has pad tokens in the middle to exercise the `tokens != pad` key mask
    (never at position 0: a query with every key masked degenerates to a uniform average)."""
    V = spec["config"]["vocab_size"]
    rng = np.random.default_rng(spec["prompt_seed"])
    prompts = []
    for n in spec["lengths"]:
        body = rng.integers(3, V, size=n - 1)
        if n >= 64:
            seg = rng.integers(3, V, size=24)
            body[n // 2: n // 2 + 24] = seg[: len(body[n // 2: n // 2 + 24])]
            body[8:32] = seg
        prompts.append([1] + [int(t) for t in body])
    n = spec["pad_prompt_len"]
    if n:
        body = [int(t) for t in rng.integers(3, V, size=n - 1)]
        body[n // 2] = 0
        body[n // 2 + 1] = 0
        body[n - 6] = 0
        prompts.append([1] + body)
    return prompts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default=os.path.abspath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--only", action="append")
    ap.add_argument("--skip-golden", action="store_true")
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
        with open(os.path.join(out, "prompts.json"), "w") as f:
            json.dump(make_prompts(spec), f)
            f.write("\n")
        if not args.skip_golden:
            subprocess.run([sys.executable, os.path.join(HERE, "reference.py"), out], check=True)
        print(f"{name}: done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
