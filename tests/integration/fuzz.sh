#!/usr/bin/env bash
# tests/run: no asan pass
# fuzz.sh — a bounded libFuzzer run of every target tests/fuzz/fuzz-*.c (CGARCH_FUZZ_SECONDS,
# default 3 s each, from the seed corpora only) as part of `make test`; `make fuzz` runs them
# longer. Targets are shared round-robin between one worker per CPU (at most 4), each with its
# own output directory, so 9 targets take about 30 s on 2 cores, builds included.
# Skips without clang/libFuzzer.
. "$(dirname "$0")/../lib.sh"

secs=${CGARCH_FUZZ_SECONDS:-3}
targets=()
for f in "$TOP"/tests/fuzz/fuzz-*.c; do targets+=("$(basename "$f" .c)"); done
workers=$(nproc 2>/dev/null || echo 1)
[ "$workers" -gt 4 ] && workers=4
[ "$workers" -gt ${#targets[@]} ] && workers=${#targets[@]}

pids=()
for ((w = 0; w < workers; w++)); do
  mine=()
  for ((i = w; i < ${#targets[@]}; i += workers)); do mine+=("${targets[i]}"); done
  FUZZ_OUT=$T_TMP/fuzz/w$w "$TOP/tests/fuzz/run" "$secs" "${mine[@]}" >"$T_TMP/fuzz-w$w.log" 2>&1 &
  pids+=($!)
  track $!
done
skip=0 failed=0
for ((w = 0; w < workers; w++)); do
  wait "${pids[w]}"
  case $? in
    0) ;;
    77) skip=1 ;;
    *) failed=1 ;;
  esac
done
cat "$T_TMP"/fuzz-w*.log >"$T_TMP/fuzz.log"
grep -E '^fuzz: .*(clean|FAILED|failed|missing|cannot)' "$T_TMP/fuzz.log" | sed 's/^/# /'
if [ $skip = 1 ]; then
  t_skip "fuzz every parser of outside input" "clang or libFuzzer missing"
  t_done
  exit
fi
for t in "${targets[@]}"; do
  t_check "$t: ${secs}s of libFuzzer from the seed corpus, no crash, leak, UB or broken invariant" \
    grep -q "^fuzz: $t: clean" "$T_TMP/fuzz.log"
done
if [ $failed != 0 ]; then
  grep -v '^    #' "$T_TMP/fuzz.log" | tail -n 60 | sed 's/^/#   /'
  ls "$T_TMP"/fuzz/w*/artifacts/*/ 2>/dev/null | sed 's/^/#   artifact: /'
fi
t_done
