#!/usr/bin/env python3
"""Write a random-weight GGUF of llama.cpp's `grok` architecture at grok-kit's "small" bench shape
(emb 2048, 16 q / 4 kv heads of 128, ffn 8192, 8 experts top-2, 4 layers, vocab 32000), f16 weights,
so that llama.cpp's llama-bench runs the same shape as `grok bench decode|prefill --shape small`.
Only for speed measurement: weights are slices of one random pool (speed does not depend on values).

    python3 tools/bench/make_grok_gguf.py LLAMA_CPP_CHECKOUT OUT.gguf

It imports the `gguf` package from the llama.cpp checkout's gguf-py/ (nothing of llama.cpp is
part of this project). Method and results: docs/benchmarks/llamacpp.md."""
import sys, time
from pathlib import Path
import numpy as np

if len(sys.argv) != 3:
    sys.exit(__doc__)
sys.path.insert(0, str(Path(sys.argv[1]) / "gguf-py"))
import gguf  # noqa: E402

out = sys.argv[2]
EMB, NH, NKV, HD, FF, NE, TOPK, NL, VOCAB = 2048, 16, 4, 128, 8192, 8, 2, 4, 32000

rng = np.random.default_rng(1234)
t0 = time.time()
POOL = (rng.standard_normal(NE * FF * EMB + (1 << 24), dtype=np.float32) * 0.02).astype(np.float16)
print(f"pool {POOL.size/1e6:.0f}M f16 in {time.time()-t0:.1f}s", flush=True)


def rand(*shape):
    n = int(np.prod(shape))
    off = int(rng.integers(0, POOL.size - n + 1))
    return POOL[off:off + n].reshape(shape)


A = gguf.MODEL_ARCH.GROK
def name(t, bid=None):
    return gguf.TENSOR_NAMES[t].format(bid=bid) + ".weight"

w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[A])
w.add_name("grok-small-random")
w.add_context_length(8192)
w.add_embedding_length(EMB)
w.add_block_count(NL)
w.add_feed_forward_length(FF)
w.add_expert_feed_forward_length(FF)
w.add_head_count(NH)
w.add_head_count_kv(NKV)
w.add_rope_dimension_count(HD)
w.add_rope_freq_base(10000.0)
w.add_layer_norm_rms_eps(1e-5)
w.add_expert_count(NE)
w.add_expert_used_count(TOPK)
w.add_embedding_scale(float(np.sqrt(EMB)))  # Grok-1 multiplies embeddings by sqrt(emb)
w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

# minimal SentencePiece-style ("llama") vocab: unk, bos, eos, 256 byte pieces, then filler pieces
tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [
    gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
for b in range(256):
    tokens.append(f"<0x{b:02X}>"); scores.append(0.0); types.append(gguf.TokenType.BYTE)
i = 0
while len(tokens) < VOCAB:
    tokens.append(f"\u2581t{i}"); scores.append(-float(i)); types.append(gguf.TokenType.NORMAL); i += 1
w.add_tokenizer_model("llama")
w.add_token_list(tokens)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_unk_token_id(0)
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_add_bos_token(True)

T = gguf.MODEL_TENSOR
ones = np.ones(EMB, dtype=np.float32)
# numpy shapes are ggml ne reversed; output is tied to token_embd (as in Grok-1)
w.add_tensor(name(T.TOKEN_EMBD), rand(VOCAB, EMB))
w.add_tensor(name(T.OUTPUT_NORM), ones)
for l in range(NL):
    w.add_tensor(name(T.ATTN_NORM, l), ones)
    w.add_tensor(name(T.ATTN_Q, l), rand(NH * HD, EMB))
    w.add_tensor(name(T.ATTN_K, l), rand(NKV * HD, EMB))
    w.add_tensor(name(T.ATTN_V, l), rand(NKV * HD, EMB))
    w.add_tensor(name(T.ATTN_OUT, l), rand(EMB, NH * HD))
    w.add_tensor(name(T.ATTN_OUT_NORM, l), ones)
    w.add_tensor(name(T.FFN_NORM, l), ones)
    w.add_tensor(name(T.FFN_GATE_INP, l), rand(NE, EMB).astype(np.float32))
    w.add_tensor(name(T.FFN_GATE_EXP, l), rand(NE, FF, EMB))
    w.add_tensor(name(T.FFN_UP_EXP, l), rand(NE, FF, EMB))
    w.add_tensor(name(T.FFN_DOWN_EXP, l), rand(NE, EMB, FF))
    w.add_tensor(name(T.LAYER_OUT_NORM, l), ones)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file(progress=False)
w.close()
print(f"wrote {out} in {time.time()-t0:.1f}s", flush=True)
