#!/usr/bin/env bash
# Conversion throughput against `cp` of the same checkpoint files to the same disk, in one run.
#   tools/bench/convert-bench.sh CKPT_DIR WORK_DIR [MODEL_CONFIG]
# Every step ends with `sync`, so each figure includes writing its output to disk. The input is
# read once first (`cat > /dev/null`) so that every step reads it from the page cache alike.
# Writes WORK_DIR/convert-bench.txt; removes each step's output after measuring it.
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
  say "$(printf '%-12s %8.1f s %7.3f GB/s  cpu %6.1f s  peak RSS %6d MiB  %s' "$name" "$secs" "$(echo "$bytes / $secs / 1000000000" | bc -l)" "$cpu" $((rss / 1024)) "$heap")"
  echo "$secs" > "$work/$name.secs"
  cp "$out/conversion-report.json" "$work/$name-report.json" 2>/dev/null || true
  rm -rf "$out"
}
grok=("$here/grok" convert "$ckpt")
opts=(--model-config "$cfg")
step cp       "$work/cp"   cp -r "$ckpt" "$work/cp"
GROK_JAVA_OPTS="-Xmx1g" step int8 "$work/int8" "${grok[@]}" "$work/int8" "${opts[@]}"
GROK_JAVA_OPTS="-Xmx1g" step int4 "$work/int4" "${grok[@]}" "$work/int4" "${opts[@]}" --experts int4
GROK_JAVA_OPTS="-Xmx1g -Dgrok.convert.q4=absmax" step int4-absmax "$work/int4a" "${grok[@]}" "$work/int4a" "${opts[@]}" --experts int4
step cp2      "$work/cp"   cp -r "$ckpt" "$work/cp"
cp_secs=$(echo "($(cat "$work/cp.secs") + $(cat "$work/cp2.secs")) / 2" | bc -l)
for s in int8 int4 int4-absmax; do
  say "$(printf 'ratio %-12s %.2f x cp (cp = mean of the two cp runs, %.1f s)' "$s" "$(echo "$cp_secs / $(cat "$work/$s.secs")" | bc -l)" "$cp_secs")"
done
say "$(printf 'q4 search / absmax time: %.2f' "$(echo "$(cat "$work/int4.secs") / $(cat "$work/int4-absmax.secs")" | bc -l)")"
