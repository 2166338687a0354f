# shellcheck shell=bash
# tests/bench/lib-bench.sh — what apply.sh, taskd.sh, accountd.sh and syncd.sh share so that
# compare.sh can run them against another build. Source it after tests/lib.sh (and any other
# tests/lib-*.sh): it only adds to PATH and defines helpers, and changes nothing when
# CGARCH_BIN_DIR and BENCH_FIGURES are unset.
#
#   CGARCH_BIN_DIR  directory holding the programs under test (cgarch, cg-syncd, cg-taskd,
#                   cg-accountd), e.g. an old commit's build/; the measuring tools (zk-ctl,
#                   taskd-tree, syncd-lat, taskd-bench, accountd-bare/-sub, bare-mkdir) stay the
#                   current build's, so both sides are measured with the same instruments.
#   BENCH_FIGURES   file to which each script appends its headline figures as "name value"
#                   lines (milliseconds unless the name says otherwise), for compare.sh.
if [ -n "${CGARCH_BIN_DIR:-}" ]; then
  [ -x "$CGARCH_BIN_DIR/cgarch" ] || { echo "CGARCH_BIN_DIR=$CGARCH_BIN_DIR holds no cgarch" >&2; exit 1; }
  PATH=$CGARCH_BIN_DIR:$PATH
fi

# bench_figure NAME VALUE
bench_figure() { [ -z "${BENCH_FIGURES:-}" ] || echo "$1 $2" >>"$BENCH_FIGURES"; }

# The debug-log option of cg-taskd: -v, or -d before issue 11 gave every daemon -v/--verbose.
taskd_debug_opt() { if cg-taskd --help 2>&1 | grep -q -- --verbose; then echo -v; else echo -d; fi; }
