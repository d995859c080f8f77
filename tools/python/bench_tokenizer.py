#!/usr/bin/env python3
"""Tokenizer speed: the reference SentencePiece library vs grok-kit's Java tokenizer, same text,
same run.

Generates a deterministic multi-MB text (English-like prose, code, numbers, whitespace runs,
CJK, accented Latin, emoji), times the library encoding it (whole text as one string, and line
by line; single thread; best of N after a warm-up), checks that both produce the same ids, then
runs `./grok tokenize --bench` on the same file and prints the speed ratios.

Usage: python3 tools/python/bench_tokenizer.py --tokenizer MODEL [--mb 8] [--repeat 3] [--keep FILE]
Run from the repository root after building tools/target/grok.jar.
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

import sentencepiece as spm

WORDS = """the of and to in is was for on that with as by at from his her it an be this which or had
are not but were they have one their all has been its who more when also there would into can time
only other new some could these two may first then do any like my now over such our man even most
made after did many before must through back years where much your way well down should because each
just those people how too little state good very make world still own see work long get here between
both life being under never day same another know while last might great old year off come since
against go came right used take three model token weight layer expert tensor shard memory kernel
vector matrix sample logits prompt router attention cache decode encode transformer quantization
""".split()
EXTRA = ["世界", "你好", "東京", "日本語", "こんにちは", "한국어", "café", "naïve", "Straße", "Привет", "мир",
         "مرحبا", "😀", "🚀", "👍🏽", "∑", "→", "½"]


def make_text(mb, seed=1234):
    rng = random.Random(seed)
    out, size = [], 0
    while size < mb * 1_000_000:
        r = rng.random()
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 30))]
        if r < 0.6:
            s = " ".join(words)
            s = s[0].upper() + s[1:] + rng.choice([".", ".", "!", "?", ","])
        elif r < 0.75:
            s = "    " * rng.randint(0, 3) + "if (" + "_".join(words[:2]) + " > %d) {\n\t\treturn %s;\n}" % (
                rng.randint(0, 10 ** 6), words[2])
        elif r < 0.85:
            s = " ".join(words[:6]) + " %d.%02d%% of %d, %s" % (
                rng.randint(0, 100), rng.randint(0, 99), rng.randint(0, 10 ** 7), rng.choice(EXTRA))
        elif r < 0.93:
            s = " ".join(rng.choice(EXTRA + WORDS) for _ in range(rng.randint(3, 12)))
        else:
            s = "\n" * rng.randint(1, 3) + " " * rng.randint(2, 12) + " ".join(words[:5])
        out.append(s)
        size += len(s.encode("utf-8")) + 1
    return "\n".join(out) + "\n"


def best_of(repeat, fn):
    """Best (thread CPU seconds, wall seconds) of `repeat` runs, and the last result. CPU time is
    the stable number on a shared machine; the library encodes on the calling thread."""
    cpu, wall, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        c0, w0 = time.thread_time(), time.perf_counter()
        result = fn()
        cpu = min(cpu, time.thread_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return (cpu, wall), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--mb", type=float, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="write the generated text here (default: a temporary file)")
    ap.add_argument("--grok", default=os.path.join(os.path.dirname(__file__), "..", "..", "grok"))
    args = ap.parse_args()

    text = make_text(args.mb)
    path = args.keep or os.path.join(tempfile.mkdtemp(), "bench.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    nbytes = len(text.encode("utf-8"))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # like Java's String.lines(): no empty last line after the final newline

    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    sp.encode(lines[:20000], num_threads=1)  # warm-up
    t_whole, whole_ids = best_of(args.repeat, lambda: sp.encode(text, num_threads=1))
    t_lines, line_ids = best_of(args.repeat, lambda: [sp.encode(l) for l in lines])
    line_tokens = sum(len(x) for x in line_ids)
    mbs = nbytes / 1e6
    print("file %s: %.2f MB, %d lines" % (path, mbs, len(lines)))
    for what, (cpu, wall), tokens in (("whole-text", t_whole, len(whole_ids)), ("line-by-line", t_lines, line_tokens)):
        print("sentencepiece %s %s: %d tokens in %.3f s cpu (%.3f s wall) = %.2f MB/s cpu, %.0f tokens/s cpu"
              % (spm.__version__, what, tokens, cpu, wall, mbs / cpu, tokens / cpu))
    sys.stdout.flush()

    java = subprocess.run([args.grok, "tokenize", "--tokenizer", args.tokenizer, "--bench", path,
                           "--repeat", str(args.repeat)], capture_output=True, text=True)
    if java.returncode != 0:
        sys.exit("grok tokenize --bench failed:\n" + java.stderr)
    print(java.stdout, end="")
    pattern = r"java %s: (\d+) tokens in ([\d.]+) s cpu \(([\d.]+) s wall\)"
    jw = re.search(pattern % "whole-text", java.stdout)
    jl = re.search(pattern % "line-by-line", java.stdout)
    print("token counts agree: whole-text %s, line-by-line %s"
          % (int(jw.group(1)) == len(whole_ids), int(jl.group(1)) == line_tokens))
    for what, lib, j in (("whole-text", t_whole, jw), ("line-by-line", t_lines, jl)):
        print("java / library speed, %s: %.2fx by cpu time, %.2fx by wall time"
              % (what, lib[0] / float(j.group(2)), lib[1] / float(j.group(3))))


if __name__ == "__main__":
    main()
