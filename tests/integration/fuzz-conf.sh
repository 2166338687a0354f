#!/usr/bin/env bash
# fuzz-conf.sh — a bounded libFuzzer run (about 10 s per target) of the arch conf and snapshot
# parsers as part of `make test`; `make fuzz` runs them longer. Skips without clang/libFuzzer.
. "$(dirname "$0")/../lib.sh"

secs=${CGARCH_FUZZ_SECONDS:-10}
out=$T_TMP/fuzz
FUZZ_OUT=$out "$TOP/tests/fuzz/run" "$secs" fuzz-conf fuzz-snapshot >"$T_TMP/fuzz.log" 2>&1
rc=$?
grep -E '^fuzz: .*(clean|FAILED|failed|missing|cannot)' "$T_TMP/fuzz.log" | sed 's/^/# /'
if [ $rc = 77 ]; then
  t_skip "fuzz conf and snapshot parsers" "clang or libFuzzer missing"
  t_done
  exit
fi
t_check "fuzz-conf: ${secs}s of libFuzzer on conf_parse_text, no crash, leak or broken invariant" \
  grep -q '^fuzz: fuzz-conf: clean' "$T_TMP/fuzz.log"
t_check "fuzz-snapshot: ${secs}s of libFuzzer on snapshot_parse, no crash or leak" \
  grep -q '^fuzz: fuzz-snapshot: clean' "$T_TMP/fuzz.log"
if [ $rc != 0 ]; then
  tail -n 40 "$T_TMP/fuzz.log" | sed 's/^/#   /'
  ls "$out"/artifacts/*/ 2>/dev/null | sed 's/^/#   artifact: /'
fi
t_done
