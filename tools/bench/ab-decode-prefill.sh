#!/usr/bin/env bash
# Same-run A/B of decode and prefill tokens/s between this checkout's ./grok and another build's
# launcher (e.g. a `git worktree` of an older commit, built there): one short JVM per figure,
# the two sides alternating within each pair and swapping order every pair, because shared VMs
# drift 1.5-2x over tens of seconds. Prints one line per pair and measurement; compare per pair.
#   tools/bench/ab-decode-prefill.sh /path/to/old/grok [pairs] [encodings]
set -euo pipefail
if [[ $# -lt 1 || ! -x "$1" ]]; then
  echo "usage: $0 OLD_GROK_LAUNCHER [PAIRS] [ENCODINGS]  (OLD_GROK_LAUNCHER: an executable grok launcher of the other build; got '${1:-}')" >&2
  exit 2
fi
old="$1"
pairs="${2:-6}"
encodings="${3:-int8 q4nl}"
cd "$(dirname "$0")/../.."
for pair in $(seq 1 "$pairs"); do
  if (( pair % 2 )); then sides="new old"; else sides="old new"; fi
  for enc in $encodings; do
    for kind in decode prefill; do
      line="pair=$pair enc=$enc kind=$kind"
      for side in $sides; do
        g=./grok; [[ $side == old ]] && g="$old"
        if [[ $kind == decode ]]; then
          v=$("$g" bench decode --shape small --encoding "$enc" --threads 2 --repeats 2 --tokens 16 --probe-mb 64 2>&1 | grep 'best of' | grep -o '[0-9.]* tokens/s' | head -1)
        else
          v=$("$g" bench prefill --shape small --encoding "$enc" --threads 2 --prompt 64 --repeats 3 --probe-mb 64 --load-warmup 2>&1 | grep '^prefill:' | grep -o '[0-9.]* tokens/s' | head -1)
        fi
        if [[ -z "$v" ]]; then
          echo "$0: $g bench $kind --encoding $enc printed no tokens/s (not built? run it by hand to see why)" >&2
          exit 1
        fi
        line="$line $side=${v% tokens/s}"
      done
      echo "$line load=$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
