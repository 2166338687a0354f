#!/usr/bin/env bash
# tests/bench/compare.sh — the old commit against the current build, side by side in one run
# (issue 11: apply, the cg-taskd pass, the cg-accountd tick and cg-syncd's change latency must be
# no worse than before the restructuring).
#
# Builds the old commit (BASE_REV, default below) from `git archive` into a scratch directory
# under /tmp, cached by commit hash (BASE_CACHE, default /tmp), or takes its binaries from
# BASE_BUILD. Then, REPEATS times (default 4), runs apply.sh, taskd.sh, accountd.sh and syncd.sh
# once against the old binaries and once against the new (CGARCH_BIN_DIR, see lib-bench.sh),
# back to back, the side that goes first alternating from one repeat to the next (old new, new
# old, old new, ...), so the load of this shared machine falls on both sides alike. The
# measuring tools are the current build's for both sides. Prints a Markdown table of the
# medians, the new/old ratio and the spread of each side; the raw reports are kept in
# build/bench-compare/<time>/.
#
# About 10 minutes per repeat on an idle 2-core VM (the cg-taskd bench spawns 10,000 processes
# twice); much longer under load. So inside the full `make bench` it only runs when BASE_REV or
# BASE_BUILD is set; `tests/bench/run compare` or running it directly always runs it.
# bench-timeout: 10800
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
BUILD=${CGARCH_BUILD:-$TOP/build}
# The end of the first landing: 28e9b69 ("proc: one /proc scan ...", 2026-11-28 20:16) is the
# last commit before issue 11's work began (3d758f4, the layout move, 2026-11-30); it has the
# code BENCHMARKS.md's reference run measured plus that proc.c cleanup.
DEFAULT_BASE=28e9b69f490188f0cfe35af0678d1758345695ee
REPEATS=${REPEATS:-4} # even: each side goes first equally often
RUN_TIMEOUT=${COMPARE_RUN_TIMEOUT:-900}

if [ -n "${CGARCH_BENCH_ALL:-}" ] && [ -z "${BASE_REV:-}" ] && [ -z "${BASE_BUILD:-}" ]; then
  echo "## Old commit against new"
  echo
  echo "skipped in the full run (10+ minutes per repeat): \`tests/bench/run compare\`, or set"
  echo "BASE_REV=<commit> or BASE_BUILD=<dir with its binaries> for \`make bench\`."
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "## Old commit against new"; echo; echo "skipped: needs root (cgroups)"; exit 0; }

die() { echo "compare.sh: $*" >&2; exit 1; }
for f in cgarch cg-syncd cg-taskd cg-accountd bench/bare-mkdir bench/taskd-bench bench/syncd-lat \
  bench/accountd-bare bench/accountd-sub tests/tools/zk-ctl tests/tools/taskd-tree; do
  [ -x "$BUILD/$f" ] || die "$BUILD/$f missing: run make bench (or make all tests-build and the bench tools) first"
done

# ---- the old binaries ----
base_desc=""
if [ -n "${BASE_BUILD:-}" ]; then
  OLD_BIN=$(cd "$BASE_BUILD" && pwd) || die "BASE_BUILD=$BASE_BUILD: no such directory"
  base_desc="binaries of $OLD_BIN"
else
  rev=$(git -C "$TOP" rev-parse --verify -q "${BASE_REV:-$DEFAULT_BASE}^{commit}") ||
    die "BASE_REV=${BASE_REV:-$DEFAULT_BASE}: not a commit of this repository"
  dir=${BASE_CACHE:-/tmp}/cgarch-base-$rev
  if [ ! -f "$dir/ok" ]; then
    echo "compare.sh: building $rev in $dir/src (once per commit)" >&2
    rm -rf "$dir"; mkdir -p "$dir/src"
    git -C "$TOP" archive "$rev" | tar -x -C "$dir/src" || die "git archive $rev failed"
    # the same compiler and flags as the new build (make's defaults unless CFLAGS is set)
    timeout -k 10 1800 make -C "$dir/src" --no-print-directory -j"$(nproc)" all >"$dir/build.log" 2>&1 ||
      { tail -20 "$dir/build.log" >&2; die "building $rev failed (log: $dir/build.log)"; }
    touch "$dir/ok"
  fi
  OLD_BIN=$dir/src/build
  subj=$(git -C "$TOP" log -1 --format=%s "$rev"); [ ${#subj} -le 60 ] || subj="${subj:0:60}…"
  base_desc="commit $(git -C "$TOP" log -1 --format='%h of %ad' --date=short "$rev") (\"$subj\")"
fi
for p in cgarch cg-syncd cg-taskd cg-accountd; do [ -x "$OLD_BIN/$p" ] || die "$OLD_BIN/$p missing"; done
NEW_BIN=$BUILD
new_rev=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo "?")
[ -z "$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null)" ] || new_rev="$new_rev + local changes"

OUT=$BUILD/bench-compare/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date -u '+%Y-%m-%d %H:%M UTC')
s_start=$(date +%s)

# The benches and their environment for this comparison, one VAR=VALUE a line: only the parts
# compared (no bare-syscall or cgconfigparser baselines), the sizes of BENCHMARKS.md's reference run.
SCRIPTS=${COMPARE_ONLY:-apply taskd accountd syncd} # COMPARE_ONLY: a subset, e.g. "apply syncd"
for s in $SCRIPTS; do case $s in apply|taskd|accountd|syncd) ;; *) die "COMPARE_ONLY: no bench '$s'" ;; esac; done
env_of() {
  if [ -n "${COMPARE_QUICK:-}" ]; then # a smoke test of the plumbing, a minute or two
    case $1 in
      apply) printf '%s\n' APPLY_BASELINES=0 APPLY_SIZES=1000 ;;
      taskd) printf '%s\n' TASKD_BENCH_CGCLASSIFY=0 N_RESTARTS=20 N_GROUPS=5 N_CHILDREN=9 ;;
      accountd) printf '%s\n' ACCTD_BENCH_SIZES=100 ACCTD_BENCH_SECS=3 ;;
      syncd) printf '%s\n' SYNCD_BENCH_N=10 ;;
    esac
    return
  fi
  case $1 in
    apply) printf '%s\n' APPLY_BASELINES=0 ;;
    taskd) printf '%s\n' TASKD_BENCH_CGCLASSIFY=0 "N_RESTARTS=${COMPARE_TASKD_RESTARTS:-200}" ;;
    accountd) printf '%s\n' "ACCTD_BENCH_SIZES=1000 10000" "ACCTD_BENCH_SECS=${COMPARE_ACCTD_SECS:-10}" ;;
    syncd) printf '%s\n' "SYNCD_BENCH_N=${COMPARE_SYNCD_N:-200}" ;;
  esac
}

# A TERM/INT (tests/bench/run's timeout) reaches the running bench too, so it cleans up its
# cgroups and processes: it runs under its own timeout (which leaves it 2 minutes to clean up
# 10,000 processes on a loaded machine), in a process group of its own.
child=""
trap '[ -z "$child" ] || { kill -TERM "$child" 2>/dev/null; wait "$child"; }; exit 143' TERM INT
failed=0
for ((rep = 1; rep <= REPEATS; rep++)); do
  if ((rep % 2)); then order="old new"; else order="new old"; fi
  for s in $SCRIPTS; do
    for side in $order; do
      bin=$NEW_BIN; [ $side = old ] && bin=$OLD_BIN
      tag=$s.$side.$rep
      echo "compare.sh: repeat $rep/$REPEATS, $s, $side (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      t0=$(date +%s)
      mapfile -t e < <(env_of $s)
      env "${e[@]}" CGARCH_TOP="$TOP" CGARCH_BUILD="$BUILD" CGARCH_BIN_DIR="$bin" \
        BENCH_FIGURES="$OUT/fig.$tag" timeout -k 120 "$RUN_TIMEOUT" "tests/bench/$s.sh" \
        >"$OUT/$tag.md" 2>"$OUT/$tag.err" &
      child=$!; wait "$child"; rc=$?; child=""
      echo "$tag rc=$rc $(( $(date +%s) - t0 )) s load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/runs.log"
      if [ $rc != 0 ] || [ ! -s "$OUT/fig.$tag" ]; then
        echo "compare.sh: $tag failed (rc $rc), see $OUT/$tag.err" >&2; failed=$((failed + 1))
      fi
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
mins=$(( ($(date +%s) - s_start + 30) / 60 ))

# ---- the table ----
# name|label; ".cpu" names are CPU time of the program under test, the others wall clock
# (taskd_pass_* is cg-taskd's own monotonic timing of the pass) or as labelled.
FIGS='apply_create_1000|cgarch apply, create 1,000 cgroups (ms)
apply_create_1000.cpu|  same, CPU (ms)
apply_noop_1000|cgarch apply, no-op re-apply of 1,000, best of 3 (ms)
apply_noop_1000.cpu|  same, CPU (ms)
apply_prune_1000|cgarch apply, prune 1,000 (ms)
apply_prune_1000.cpu|  same, CPU (ms)
apply_create_10000|cgarch apply, create 10,000 cgroups (ms)
apply_create_10000.cpu|  same, CPU (ms)
apply_noop_10000|cgarch apply, no-op re-apply of 10,000, best of 3 (ms)
apply_noop_10000.cpu|  same, CPU (ms)
apply_prune_10000|cgarch apply, prune 10,000 (ms)
apply_prune_10000.cpu|  same, CPU (ms)
taskd_pass_start|cg-taskd first pass at start, 10,000 processes (ms)
taskd_pass_first|cg-taskd first pass again, median of 3 (ms)
taskd_pass_first.cpu|  same, CPU per pass (ms)
taskd_pass_steady|cg-taskd steady pass, everything in place, median of 10 (ms)
taskd_pass_steady.cpu|  same, CPU per pass (ms)
taskd_latency_p50|cg-taskd pid file -> placed, p50 (ms)
taskd_latency_p99|cg-taskd pid file -> placed, p99 (ms)
taskd_rss_kib|cg-taskd RSS, 10,000 processes (KiB)
accountd_tick_1000|cg-accountd CPU per tick, 1,000 cgroups (ms)
accountd_tick_10000|cg-accountd CPU per tick, 10,000 cgroups (ms)
accountd_jitter_p50_1000|cg-accountd tick jitter p50, 1,000 cgroups (ms)
accountd_rss_kib_1000|cg-accountd RSS, 1,000 cgroups (KiB)
syncd_weight_p50|cg-syncd ZooKeeper set -> snapshot, one weight, p50 (ms)
syncd_weight_p99|  same, p99 (ms)
syncd_weight.cpu|  same, cg-syncd CPU per change (ms)
syncd_dirs_p50|cg-syncd ZooKeeper set -> snapshot, +/-100 cgroups, p50 (ms)
syncd_dirs_p99|  same, p99 (ms)
syncd_dirs.cpu|  same, cg-syncd CPU per change (ms)
syncd_reconcile_read|cg-syncd reconcile read of 1,000 cgroups, median (ms)
syncd_apply_10k|cg-syncd apply of a 10,000-cgroup conf, set -> snapshot (ms)
syncd_rss_kib_10k|cg-syncd RSS after it (KiB)'

# stats SIDE NAME: "median min max n" over the repeats (nothing when no run gave it)
stats() {
  cat "$OUT"/fig.*."$1".* 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) printf "%s %s %s %d\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR], NR }'
}

cat <<EOF
## Old commit against new (issue 11), side by side in one run

Old: $base_desc. New: $new_rev. $t_start, $(nproc) cores, $(uname -r); load average
(1, 5, 15 min) $load_start at the start, $load_end at the end ($mins min). $REPEATS repeats; in each, every
bench ran once with the old and once with the new binaries back to back (the side that went
first alternating between repeats); the measuring tools and the machine are the same for both.
Cells: median of the repeats (min–max); ratio = new / old median, below 1 is better. Verdict:
"same" when the two ranges overlap (the difference is inside this machine's noise), otherwise
faster or **slower**. "CPU" rows are the CPU time of the program under test, which waiting for
a CPU on a loaded machine does not inflate as it does the wall-clock rows.

| figure | old | new | new/old | verdict |
|---|---:|---:|---:|---|
EOF
while IFS='|' read -r name label; do
  label=${label/#  /\&nbsp;\&nbsp;} # an indented row belongs to the row above
  read -r om omin omax on < <(stats old "$name"; echo)
  read -r nm nmin nmax nn < <(stats new "$name"; echo)
  case " $SCRIPTS " in *" ${name%%_*} "*) ;; *) continue ;; esac
  if [ -z "${om:-}" ] || [ -z "${nm:-}" ]; then
    echo "| $label | ${om:-—} | ${nm:-—} | — | not measured |"; continue
  fi
  awk -v l="$label" -v on="$on" -v nn="$nn" -v reps="$REPEATS" -v om="$om" -v omin="$omin" -v omax="$omax" -v nm="$nm" -v nmin="$nmin" -v nmax="$nmax" '
    function f(x) { return (x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x)) }
    BEGIN {
      r = om > 0 ? sprintf("%.2f", nm / om) : "—"
      v = (nmin > omax) ? "**slower**" : (nmax < omin) ? "faster" : "same"
      if (on < reps || nn < reps) v = v sprintf(" (runs: old %d, new %d)", on, nn)
      printf "| %s | %s (%s–%s) | %s (%s–%s) | %s | %s |\n", l, f(om), f(omin), f(omax), f(nm), f(nmin), f(nmax), r, v
    }'
done <<<"$FIGS"
echo
echo "Raw reports and each run's time and load: \`${OUT#"$TOP"/}/\`."
[ $failed = 0 ] || { echo; echo "**$failed of $((REPEATS * 2 * $(wc -w <<<"$SCRIPTS"))) runs failed** (see the .err files there)."; exit 1; }
