#!/usr/bin/env bash
# tests/bench/conf.sh — the arch conf model: parse + validate, canonical JSON, lookups and the
# snapshot round trip for 1,000 / 10,000 / 100,000 cgroups, beside the bare cJSON parse of the
# same text (the floor) measured in the same run. Pure CPU, a few seconds; no cgroups touched.
. "$(dirname "$0")/../lib.sh"
BENCH=$BUILD/bench/conf-bench
[ -x "$BENCH" ] || { echo "build $BENCH first (make bench)" >&2; exit 1; }
echo "## The arch conf model (libcgarch conf.c, snapshot.c)"
echo
echo "Median of 9 runs; trees of fanout 10, half in cpu, half in blkio; load average" \
     "$(cut -d' ' -f1 /proc/loadavg) at the start."
echo
"$BENCH" 9
