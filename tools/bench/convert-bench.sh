#!/usr/bin/env bash
# Conversion throughput against `cp` of the same checkpoint files to the same disk, in one run.
#   tools/bench/convert-bench.sh CKPT_DIR WORK_DIR [MODEL_CONFIG]
# Every step ends with `sync`, so each figure includes writing its output to disk. The input is
# read once first (`cat > /dev/null`) so that every step reads it from the page cache alike.
# Writes WORK_DIR/convert-bench.txt; removes each step's output after measuring it.
# Steps: cp; int8 (O_DIRECT writes, the default); int8-buffered (-Dgrok.convert.direct=false:
# page-cache writes, the earlier write path); int4 (the default int4 = q4nl); q4 (--experts q4,
# the uniform grid with its scale search); cp again. STEPS="cp int8 cp2" runs a subset (the
# ratios need cp and cp2); STEPS="cp gguf-q8_0 gguf-q4_k cp2" measures grok export instead
# (gguf-TYPE for any --type). (The former q4-absmax step used -Dgrok.convert.q4=absmax, a hidden
# input removed by issue 12; the encoder's cost against plain absmax/7 is measured per core by
# quant's Q4NlEncodeBench, docs/benchmarks/int4.md.)
set -euo pipefail
ckpt=$(cd "$1" && pwd); work=$2; cfg=${3:-$ckpt/../config.json}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$work"; work=$(cd "$work" && pwd)
log="$work/convert-bench.txt"; : > "$log"
bytes=$(du -sb "$ckpt" | cut -f1)
say() { echo "$*" | tee -a "$log"; }
say "# $(date -u +%FT%TZ) $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# input $ckpt: $bytes bytes; output on $(df --output=source "$work" | tail -1)"
cat "$ckpt"/* > /dev/null
# step NAME OUTDIR COMMAND...: wall seconds and peak RSS of COMMAND + sync
step() {
  local name=$1 out=$2; shift 2
  rm -rf "$out"; sync
  local t0=$(date +%s.%N)
  /usr/bin/time -f "%M %U %S" -o "$work/rss" "$@" > "$work/$name.out" 2>&1
  sync
  local t1=$(date +%s.%N)
  local secs=$(echo "$t1 - $t0" | bc -l) rss cpu
  read -r rss usr sys < <(tail -1 "$work/rss")
  cpu=$(echo "$usr + $sys" | bc -l)
  local heap=$(grep -o 'peak heap [0-9.]* [KMG]iB' "$work/$name.out" | tail -1 || true)
  say "$(printf '%-13s %7.1f s %6.3f GB/s  cpu %6.1f s (%5.2f CPU-s/GB, %5.3f GB/s per core)  peak RSS %6d MiB  %s  load %s' "$name" "$secs" \
    "$(echo "$bytes / $secs / 1000000000" | bc -l)" "$cpu" "$(echo "$cpu * 1000000000 / $bytes" | bc -l)" \
    "$(echo "$bytes / ($cpu + 0.001) / 1000000000" | bc -l)" $((rss / 1024)) "$heap" "$(cut -d' ' -f1 /proc/loadavg)")"
  echo "$secs" > "$work/$name.secs"
  cp "$out/conversion-report.json" "$work/$name-report.json" 2>/dev/null || true
  rm -rf "$out"
}
grok=("$here/grok" convert "$ckpt")
opts=(--model-config "$cfg")
steps=${STEPS:-cp int8 int8-buffered int4 q4 cp2}
for s in $steps; do
  case $s in
    cp|cp2) step $s "$work/cp" cp -r "$ckpt" "$work/cp" ;;
    int8) GROK_JAVA_OPTS="-Xmx1g" step int8 "$work/int8" "${grok[@]}" "$work/int8" "${opts[@]}" ;;
    int8-buffered) GROK_JAVA_OPTS="-Xmx1g -Dgrok.convert.direct=false" step int8-buffered "$work/int8b" "${grok[@]}" "$work/int8b" "${opts[@]}" ;;
    int4) GROK_JAVA_OPTS="-Xmx1g" step int4 "$work/int4" "${grok[@]}" "$work/int4" "${opts[@]}" --experts int4 ;;
    q4) GROK_JAVA_OPTS="-Xmx1g" step q4 "$work/q4" "${grok[@]}" "$work/q4" "${opts[@]}" --experts q4 ;;
    # grok export to GGUF (docs/EXPORT.md): gguf-TYPE with TYPE's default mix (attention and
    # embedding q8_0 below 8 bits; channel folds on below 8 bits), one file.
    gguf-*) GROK_JAVA_OPTS="-Xmx1g" step $s "$work/$s.gguf" "$here/grok" export "$ckpt" "$work/$s.gguf" "${opts[@]}" --type "${s#gguf-}" ;;
    *) echo "unknown step $s" >&2; exit 2 ;;
  esac
done
[[ -f "$work/cp.secs" && -f "$work/cp2.secs" ]] || exit 0
cp_secs=$(echo "($(cat "$work/cp.secs") + $(cat "$work/cp2.secs")) / 2" | bc -l)
for s in $steps; do
  [[ $s == cp* ]] && continue
  say "$(printf 'ratio %-13s %.2f x cp (cp = mean of the two cp runs, %.1f s)' "$s" "$(echo "$cp_secs / $(cat "$work/$s.secs")" | bc -l)" "$cp_secs")"
done
if [[ -f "$work/int4.secs" && -f "$work/q4.secs" ]]; then
  say "$(printf 'int4 (q4nl) / q4 (search) time: %.2f' "$(echo "$(cat "$work/int4.secs") / $(cat "$work/q4.secs")" | bc -l)")"
fi
