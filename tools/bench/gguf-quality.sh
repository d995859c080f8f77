#!/usr/bin/env bash
# GGUF 4-bit quality: our `grok export` against `llama-quantize --pure`, both run by llama.cpp.
#   tools/bench/gguf-quality.sh FIXTURE_DIR WORK_DIR [LLAMACPP_BIN]
# FIXTURE_DIR: a committed fixture (ckpt-0/, config.json, prompts.json, golden/pK.f32.npy), e.g.
# golden-tests/fixtures/tiny-12l. LLAMACPP_BIN defaults to ../shared/llamacpp/bin.
# For each of q4_0, iq4_nl and q4_k, experts at that type and attention and embeddings f32 on both
# sides, without and with an importance matrix collected on the same calibration text
# (golden-tests/fixtures/calibration/tiny-calibration.txt; ours: grok imatrix over a lossless
# int8 conversion; theirs: llama-imatrix over our f32 export), it scores every GGUF with
# llama.cpp's dump_logits against the fixture's float32 goldens (positions before a prompt's
# first pad, which llama.cpp does not mask) and prints a markdown table: mean KL(golden || model),
# same top-1, max |dlogit|, file size, and ours / theirs.
# Their side gets --override-kv general.alignment=int:32: with --imatrix, llama-quantize 34af94cd
# lays the tensors out for 32-byte alignment but keeps the source's general.alignment of 64, and
# the file does not load ("data is not within the file bounds"); the override keeps key and
# layout consistent (applied to both their runs, so the two differ only in --imatrix).
set -euo pipefail
fx=$(cd "$1" && pwd); work=$2; here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin=${3:-$here/../shared/llamacpp/bin}
[[ -x $bin/dump_logits && -x $bin/llama-quantize && -x $bin/llama-imatrix ]] || { echo "gguf-quality: no llama.cpp tools in $bin" >&2; exit 2; }
mkdir -p "$work"; work=$(cd "$work" && pwd)
tok=$here/golden-tests/fixtures/tokenizer/tiny.model
cal=$here/golden-tests/fixtures/calibration/tiny-calibration.txt
grok=$here/grok
src=(--model-config "$fx/config.json" --tokenizer "$tok" -q)
keep_f32=(--tensor-type attn_q=f32 --tensor-type attn_k=f32 --tensor-type attn_v=f32 --tensor-type attn_output=f32
          --token-embedding-type f32 --output-tensor-type f32 --override-kv general.alignment=int:32)
echo "# $(date -u +%FT%TZ) $(basename "$fx"), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg)" >&2

run() { echo "+ $*" >&2; "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }; }

# Mean KL etc. of one GGUF against the goldens (numpy; dump_logits writes float32 [T, vocab]).
score() {
  local model=$1 k=0
  python3 - "$fx" "$model" "$bin/dump_logits" "$work" <<'EOF'
import json, os, subprocess, sys
import numpy as np
fx, model, dump, work = sys.argv[1:5]
prompts = json.load(open(os.path.join(fx, "prompts.json")))
kl = same = n = 0; mx = 0.0
for k, p in enumerate(prompts):
    t = p["tokens"] if isinstance(p, dict) else p
    upto = next((i for i, x in enumerate(t) if x == 0), len(t))
    out = os.path.join(work, "logits.npy")
    subprocess.run([dump, model, ",".join(map(str, t)), out, "--threads", "2"], check=True, capture_output=True)
    a = np.load(out).astype(np.float64)[:upto]
    g = np.load(os.path.join(fx, "golden", f"p{k}.f32.npy")).astype(np.float64)[:upto]
    ls = lambda z: z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    lg, la = ls(g), ls(a)
    kl += (np.exp(lg) * (lg - la)).sum(); same += (a.argmax(1) == g.argmax(1)).sum(); n += upto
    mx = max(mx, float(np.abs(a - g).max()))
print(f"{kl / n:.6g} {same / n:.4f} {mx:.3g} {os.path.getsize(model)}")
EOF
}

[[ -f $work/f32.gguf ]] || run "$grok" export "$fx/ckpt-0" "$work/f32.gguf" --type f32 "${src[@]}"
[[ -d $work/int8 ]] || run "$grok" convert "$fx/ckpt-0" "$work/int8" "${src[@]}"
[[ -f $work/ours.imatrix.json ]] || run "$grok" imatrix "$work/int8" --text "$cal" --context 128 --out "$work/ours.imatrix.json" -q
[[ -f $work/theirs.imatrix.gguf ]] || run "$bin/llama-imatrix" -m "$work/f32.gguf" -f "$cal" -c 128 -o "$work/theirs.imatrix.gguf" -t 2 --no-ppl

echo "| type | imatrix | ours: mean KL | top-1 | max Δ | bytes | llama-quantize --pure: mean KL | top-1 | max Δ | bytes | ours / theirs |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for type in ${TYPES:-q4_0 iq4_nl q4_k}; do
  for im in no yes; do
    ours=$work/ours-$type-im$im.gguf theirs=$work/theirs-$type-im$im.gguf
    rm -f "$ours" "$theirs"
    oi=(); ti=()
    [[ $im == yes ]] && { oi=(--imatrix "$work/ours.imatrix.json"); ti=(--imatrix "$work/theirs.imatrix.gguf"); }
    run "$grok" export "$fx/ckpt-0" "$ours" --type "$type" --attention-type f32 --embedding-type f32 "${src[@]}" "${oi[@]}"
    run "$bin/llama-quantize" "${ti[@]}" --pure "${keep_f32[@]}" "$work/f32.gguf" "$theirs" "${type^^}" 2
    read -r okl otop omax osize < <(score "$ours")
    read -r tkl ttop tmax tsize < <(score "$theirs")
    echo "| $type | $im | $okl | $otop | $omax | $osize | $tkl | $ttop | $tmax | $tsize | **$(python3 -c "print(f'{$okl/$tkl:.2f}')")×** |"
  done
done
