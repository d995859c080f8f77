#!/usr/bin/env python3
"""Builds the project's own SentencePiece test fixture (offline, deterministic).

Trains two small BPE models with the features of Grok-1's tokenizer -- byte fallback, identity
normaliser, dummy prefix, no whitespace removal, single-digit splitting, user-defined pieces for
runs of newlines / tabs / spaces and <|...|> markers, control pieces -- on a corpus this script
generates from a seeded random generator, then writes the reference library's encodings of a
varied set of test strings as JSONL (text, ids, pieces, decoded).

  tok-bpe.model       the Grok-like model (byte_fallback = true)
  tok-bpe.jsonl       its golden encodings
  tok-unk.model       the same recipe with byte_fallback = false and a few pieces re-typed UNUSED
                      (exercises unknown-run merging, the unk surface and UNUSED re-splitting)
  tok-unk.jsonl       its golden encodings
  tiny.model          the same recipe with 512 pieces, trained on the ASCII part of the corpus:
                      the tokenizer of the bundled example checkpoint (tiny-12l, vocab_size 512)
                      that the quickstart converts and runs
  tiny.jsonl          its golden encodings

Usage: python3 tools/python/make_tokenizer_fixture.py [OUT_DIR]
       (default OUT_DIR: golden-tests/fixtures/tokenizer). Needs the `sentencepiece` package.
"""
import json
import os
import random
import sys
import tempfile

import sentencepiece as spm

SEED = 20261128

WORDS = """the of and to in is was for on that with as by at from his her it an be this which
or had are not but were they have one their all has been its who more when also there would
into can time only other new some could these two may first then do any like my now over such
our man me even most made after also did many before must through back years where much your
way well down should because each just those people how too little state good very make world
still own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take three
model token weight layer expert tensor shard memory kernel vector matrix sample logits prompt
router attention cache decode encode byte piece vocabulary merge score river mountain castle
garden winter summer letter ocean forest silver golden quiet thunder lantern harbor meadow
""".split()
CJK = ["世界", "你好", "東京", "日本語", "中文", "漢字", "学习", "こんにちは", "カタカナ", "한국어"]
ACCENTED = ["café", "naïve", "résumé", "über", "Straße", "niño", "façade", "jalapeño", "Ångström"]
MARKERS = ["<|separator|>", "<|eos|>", "<|im_start|>", "<|im_end|>"]


def make_corpus(rng, lines=6000):
    out = []
    for i in range(lines):
        kind = rng.random()
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 18))]
        if kind < 0.55:
            s = " ".join(words)
            s = s[0].upper() + s[1:] + rng.choice([".", ".", "!", "?", ",", ";"])
        elif kind < 0.65:
            s = "    " * rng.randint(0, 3) + "def " + "_".join(words[:3]) + "(x, y):\n\t\treturn x * %d + y" % rng.randint(0, 9999)
        elif kind < 0.75:
            s = " ".join(words[:5]) + " %d.%d%% of %d" % (rng.randint(0, 100), rng.randint(0, 99), rng.randint(0, 10 ** 6))
        elif kind < 0.82:
            s = " ".join(rng.choice(CJK + ACCENTED) for _ in range(rng.randint(2, 6)))
        elif kind < 0.9:
            s = rng.choice(MARKERS) + "user: " + " ".join(words[:6]) + rng.choice(MARKERS)
        else:
            s = "\n".join(" ".join(words[j:j + 4]) for j in range(0, len(words), 4)) + "\n" * rng.randint(1, 3)
        out.append(s)
    return out


USER_SYMBOLS = (["\n" * k for k in range(1, 6)] + ["\t" * k for k in range(1, 5)]
                + [" " * k for k in range(2, 9)] + MARKERS)
CONTROL_SYMBOLS = ["<|control|>"]


def train(corpus_file, prefix, byte_fallback, vocab_size, user_symbols=None):
    spm.SentencePieceTrainer.train(
        input=corpus_file, model_prefix=prefix, model_type="bpe", vocab_size=vocab_size,
        character_coverage=0.9995 if byte_fallback else 0.995, byte_fallback=byte_fallback,
        normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, max_sentencepiece_length=16,
        user_defined_symbols=user_symbols or USER_SYMBOLS, control_symbols=CONTROL_SYMBOLS,
        pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="[PAD]", bos_piece="[BOS]",
        eos_piece="[EOS]", unk_piece="[UNK]", num_threads=1, shuffle_input_sentence=False,
        minloglevel=2)


# --- protobuf wire format, just enough to re-type pieces (the protobuf package is not needed) ---

def read_varint(b, i):
    shift = result = 0
    while True:
        x = b[i]
        i += 1
        result |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return result, i


def write_varint(v):
    out = bytearray()
    while True:
        x = v & 0x7F
        v >>= 7
        if v:
            out.append(x | 0x80)
        else:
            out.append(x)
            return bytes(out)


def fields(b):
    """Yields (field, wiretype, raw bytes of the whole field) for a message."""
    i = 0
    while i < len(b):
        start = i
        tag, i = read_varint(b, i)
        wt = tag & 7
        if wt == 0:
            _, i = read_varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = read_varint(b, i)
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        yield tag >> 3, wt, b[start:i]


def retype_pieces(model_bytes, ids, new_type):
    out = bytearray()
    index = 0
    for field, wt, raw in fields(model_bytes):
        if field == 1 and wt == 2:
            if index in ids:
                _, j = read_varint(raw, 0)
                n, j = read_varint(raw, j)
                body = b"".join(r for f, _, r in fields(raw[j:j + n]) if f != 3)
                body += write_varint(3 << 3) + write_varint(new_type)
                raw = write_varint((1 << 3) | 2) + write_varint(len(body)) + body
            index += 1
        out += raw
    return bytes(out)


def test_strings(rng, sp):
    fixed = [
        "", " ", "  ", "   ", "\n", "\n\n", "\t", "a", "Hello world", "hello  world", " leading", "trailing ",
        "  two leading", "tabs\tand\ttabs\t\t\tthree", "lines\nand\n\nmore\n\n\n\n\n\n\n\nlines",
        "The quick brown fox jumps over the lazy dog.", "model weight layer expert tensor",
        "3.14159 + 2.71828 = 5.85987", "1234567890", "year 2026, 42%", "<|separator|>user: hi<|separator|>",
        "<|im_start|>system<|im_end|>", "<|control|> is control text", "<|sep", "Hello, 世界! 🚀 1234567",
        "café naïve résumé Straße Ångström", "日本語のテキスト", "한국어 텍스트", "Привет, мир", "مرحبا بالعالم",
        "שלום עולם", "नमस्ते दुनिया", "ሰላም ልዑል", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙", "emoji 😀😃😄 family 👨‍👩‍👧‍👦 flag 🇯🇵",
        "𓀀𓀁𓀂 hieroglyphs", "\x00nul\x01soh\x07bel\x1besc\x7fdel", "\u200b\u200c\u200d zero widths \ufeff",
        "\u2581 literal lower block \u2581\u2581", "\ufffd replacement", "a" * 200, " " * 40,
        "\n" * 13, "\t" * 9, " \t \n \r\n \x0b \x0c ", "mixed  \t\n  whitespace   runs    here",
        "CamelCaseIdentifierWithDigits123", "snake_case_identifier = 0x7fffffff", "email@example.com https://x.ai/path?q=1",
        "def f(x, y):\n\t\treturn x * 42 + y\n", "    indented code\n        more indented",
        "unusual: ☃ ☄ ♞ ⚙ ✈ ⌘ ∑ ∫ √ ∞ ≠ ≤", "Ω≈ç√∫˜µ≤≥÷", "the the the the the", "thethethethe",
    ]
    alphabet_ranges = [(0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF),
                       (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0x1F300, 0x1F6FF),
                       (0x10000, 0x1007F), (0x1D400, 0x1D7FF), (0x20000, 0x2004F), (0xE000, 0xE0FF)]
    randoms = []
    for k in range(80):
        n = rng.randint(1, 60)
        chars = []
        for _ in range(n):
            r = rng.random()
            if r < 0.35:
                chars.append(rng.choice(WORDS) + " ")
            elif r < 0.5:
                chars.append(rng.choice([" ", "  ", "\n", "\t", "   \n", "\n\n\n"]) * rng.randint(1, 4))
            elif r < 0.6:
                chars.append(str(rng.randint(0, 99999)))
            else:
                lo, hi = rng.choice(alphabet_ranges)
                chars.append(chr(rng.randint(lo, hi)))
        randoms.append("".join(chars))
    return fixed + randoms


def write_golden(sp, texts, path):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            ids = sp.encode(t)
            pieces = sp.encode(t, out_type=str)
            assert len(ids) == len(pieces)
            f.write(json.dumps({"text": t, "ids": ids, "pieces": pieces, "decoded": sp.decode(ids)},
                               ensure_ascii=True) + "\n")


def main():
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join("golden-tests", "fixtures", "tokenizer"))
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(SEED)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # Relative names: the model records its input and prefix, and the bytes should not
        # depend on the temporary directory.
        os.chdir(tmp)
        tmp = "."
        corpus = "corpus.txt"
        with open(corpus, "w", encoding="utf-8") as f:
            for line in make_corpus(rng):
                # The trainer reads one sentence per line, so embedded newlines end sentences;
                # newline runs are user-defined symbols and need no training data.
                f.write(line + "\n")
        train(corpus, os.path.join(tmp, "bpe"), True, 1200)
        train(corpus, os.path.join(tmp, "unk"), False, 900)
        # 512 pieces = 256 bytes + 5 special + 16 user symbols + ~95 ASCII characters + merges.
        with open(corpus) as f, open("ascii.txt", "w") as g:
            g.writelines(line for line in f if line.isascii())
        train("ascii.txt", os.path.join(tmp, "tiny"), True, 512,
              ["\n" * k for k in range(1, 4)] + ["\t" * k for k in range(1, 3)]
              + [" " * k for k in range(2, 9)] + MARKERS)
        bpe = open(os.path.join(tmp, "bpe.model"), "rb").read()
        unk = open(os.path.join(tmp, "unk.model"), "rb").read()
        tiny = open(os.path.join(tmp, "tiny.model"), "rb").read()
        os.chdir(cwd)

    sp_unk0 = spm.SentencePieceProcessor(model_proto=unk)
    # Re-type a few frequent merged pieces as UNUSED: merges still pass through them, and the
    # library re-splits them into the two parts they were merged from.
    unused = [i for i in range(sp_unk0.get_piece_size())
              if sp_unk0.id_to_piece(i) in ("▁the", "he", "▁to", "▁and", "er", "in")]
    unk = retype_pieces(unk, set(unused), 5)

    with open(os.path.join(out_dir, "tok-bpe.model"), "wb") as f:
        f.write(bpe)
    with open(os.path.join(out_dir, "tok-unk.model"), "wb") as f:
        f.write(unk)
    with open(os.path.join(out_dir, "tiny.model"), "wb") as f:
        f.write(tiny)
    for name, model in (("tok-bpe", bpe), ("tok-unk", unk), ("tiny", tiny)):
        sp = spm.SentencePieceProcessor(model_proto=model)
        texts = test_strings(random.Random(SEED + 1), sp)
        write_golden(sp, texts, os.path.join(out_dir, name + ".jsonl"))
        print("%s: vocab %d, %d golden lines" % (name, sp.get_piece_size(), len(texts)))
    print("unused pieces in tok-unk:", unused)


if __name__ == "__main__":
    main()
