#!/usr/bin/env python3
"""Writes the calibration text of the GGUF quality benchmark (offline, deterministic).

Importance matrices are collected on text, by `grok imatrix --text` on our side and by
`llama-imatrix -f` on llama.cpp's, so both read the same file and tokenize it with the same
`tiny.model` (golden-tests/fixtures/tokenizer). The text comes from the generator the
tokenizer was trained with (make_tokenizer_fixture.make_corpus, ASCII lines only, as tiny.model
was trained on), under a different seed, so it shares the tokenizer's vocabulary but none of
the evaluation prompts (those are random token ids, golden-tests/fixtures/*/prompts.json).

Usage: python3 tools/python/make_calibration_text.py [OUT_FILE]
       (default: golden-tests/fixtures/calibration/tiny-calibration.txt)
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixture import make_corpus  # noqa: E402

SEED = 20261203
LINES = 700  # ~20 KB, ~6-7k tokens of tiny.model: enough for 128-token chunks on both sides


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        "golden-tests", "fixtures", "calibration", "tiny-calibration.txt")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    lines = [s for s in make_corpus(random.Random(SEED), lines=LINES * 2) if s.isascii()][:LINES]
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for s in lines:
            f.write(s + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
