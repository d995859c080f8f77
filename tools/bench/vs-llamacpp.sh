#!/usr/bin/env bash
# Same-run, interleaved decode and prefill tokens/s of grok-kit against llama.cpp at the small
# Grok shape (issue 15): per round, llama.cpp Q8_0, grok int8, llama.cpp Q4_0, grok q4nl, each
# measured right after the other so the shared VM's drift hits both sides alike.
#   tools/bench/vs-llamacpp.sh LLAMA_BENCH GGUF_Q8_0 GGUF_Q4_0 [ROUNDS] [PROMPTS]
# LLAMA_BENCH: llama-bench of a native build (../shared/llamacpp/README.md shows how: cmake with
# -DGGML_NATIVE=ON and the AMX flags off; the portable binaries are up to 13% slower at prefill);
# the GGUFs: tools/bench/make_grok_gguf.py, then llama-quantize Q8_0 and --pure Q4_0
# (docs/benchmarks/llamacpp.md). Prints one line per round and case: llama=… grok=… ratio=….
# grok's runs warm the kernels up at load (--load-warmup), as `grok run` does and as llama-bench
# runs a warm-up pass: without it, code run a few times per token (router, embedding lookup)
# may still be interpreted during the timed tokens.
set -euo pipefail
if [[ $# -lt 3 || ! -x "$1" || ! -f "$2" || ! -f "$3" ]]; then
  echo "usage: $0 LLAMA_BENCH GGUF_Q8_0 GGUF_Q4_0 [ROUNDS] [PROMPTS]  (an executable llama-bench and two GGUF files)" >&2
  exit 2
fi
bench="$(realpath "$1")"; q8="$(realpath "$2")"; q4="$(realpath "$3")"; rounds="${4:-3}"; prompts="${5:-64 512}"
export LD_LIBRARY_PATH="$(dirname "$bench")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$(dirname "$0")/../.."
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) CPUs, $(date -u +%FT%TZ), grok-kit $(git rev-parse --short HEAD 2>/dev/null), llama.cpp $("$bench" -m "$q8" -t 1 -p 0 -n 1 -r 1 -o csv 2>/dev/null | tail -1 | cut -d, -f1 | tr -d '"')"
llama() { # MODEL KIND(tg|ppN) -> tokens/s (mean of 3 repetitions)
  local args
  if [[ $2 == tg ]]; then args="-p 0 -n 32"; else args="-p ${2#pp} -n 0"; fi
  OMP_WAIT_POLICY=PASSIVE "$bench" -m "$1" -t 2 $args -r 3 -o csv 2>/dev/null | tail -1 | awk -F, '{gsub(/"/,""); print $(NF-1)}'
}
grok() { # ENCODING KIND -> tokens/s
  if [[ $2 == tg ]]; then
    ./grok bench decode --shape small --encoding "$1" --threads 2 --repeats 3 --tokens 32 --probe-mb 64 --load-warmup 2>&1 | grep 'best of' | grep -o '[0-9.]* tokens/s' | head -1 | cut -d' ' -f1
  else
    ./grok bench prefill --shape small --encoding "$1" --threads 2 --prompt "${2#pp}" --repeats 3 --probe-mb 64 --load-warmup 2>&1 | grep '^prefill:' | grep -o '[0-9.]* tokens/s' | head -1 | cut -d' ' -f1
  fi
}
for round in $(seq 1 "$rounds"); do
  for pair in "int8 $q8 Q8_0" "q4nl $q4 Q4_0"; do
    set -- $pair
    for kind in tg $(for p in $prompts; do echo "pp$p"; done); do
      if (( round % 2 )); then l=$(llama "$2" "$kind"); g=$(grok "$1" "$kind"); else g=$(grok "$1" "$kind"); l=$(llama "$2" "$kind"); fi
      if [[ -z "$l" || -z "$g" ]]; then echo "$0: no figure for $1/$3 $kind (llama='$l' grok='$g'): run the commands by hand to see why" >&2; exit 1; fi
      echo "round=$round case=$kind grok=$1 llama=$3 grok_tps=$g llama_tps=$l ratio=$(awk -v a="$g" -v b="$l" 'BEGIN{printf "%.2f", a/b}') load=$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
