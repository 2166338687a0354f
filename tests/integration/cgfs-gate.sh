#!/usr/bin/env bash
# cgfs-gate.sh — cgfs owns every byte read from or written to the cgroup filesystem (issue 11).
# Fails when a C file outside common/cgfs* (in cg-*/, cgarch/, common/):
#   - has a string literal naming a path below the cgroup mount ("/sys/fs/cgroup...");
#   - has a string literal naming a cgroup control file as a path component ("cgroup.procs",
#     "%s/cpu.stat", "tasks", "x/blkio.weight", any "<controller>.<file>" of cgroup v1/v2);
#   - builds or opens a path from the cgroup dir (a *printf/strcat/open/stat/mkdir/read/write
#     call whose arguments use cfg->cg.dir, cgroup_dir, CGFS_DEFAULT_DIR, cgfs_acct_dir() or
#     cgfs_subsys_dirs(), or a variable assigned from them).
# Comments and display text (" cpu.weight 100" in `cgarch tree`) do not count: a control file
# name counts only where it stands as a path component of the literal.
# The scanner first proves on planted files that it catches each rule (so that it cannot rot
# into a gate that passes everything), then scans the tree. Usage: cgfs-gate.sh [TREE]
set -u
. "$(dirname "$0")/../lib.sh"
TREE=${1:-$TOP}

SCAN=$TOP/tests/tools/cgfs-gate-scan.py
command -v python3 >/dev/null || { t_skip "cgfs gate" "python3 missing"; t_done; exit; }

# ---- the scanner catches what it must, and only that ----
P=$T_TMP/planted
mkdir -p "$P/ok/cg-demo" "$P/ok/common"
cat >"$P/ok/cg-demo/ok.c" <<'EOF'
/* Writes cgroup.procs of "/sys/fs/cgroup/x" and "cpu.stat": only a comment. */
// "cpuacct.usage" in a line comment
static void show(long w) { printf(" cpu.weight %ld (share = cpu.shares)\n", w); }
static int go(struct cfg *cfg) { log_info("Opening %s", cfg->cg.dir); return cgfs_open(cfg->cg.dir, "", 0, &fs); }
char c = '"'; static const char *s = "not a \" cgroup.procs";
EOF
echo 'static const char *f = "cgroup.procs"; /* cgfs itself is exempt */' >"$P/ok/common/cgfs-own.c"
declare -A plant=(
  [literal-procs]='int fd = open("cgroup.procs", O_WRONLY);'
  [literal-path]='xasprintf(&p, "%s/%s/cpu.stat", dir, path);'
  [literal-split]='const char *f = "cpuacct" ".usage";'
  [literal-tasks]='read_full_file_at(fd, "a/tasks", &t, NULL);'
  [literal-blkio]='static const char *const v[] = { "blkio.throttle.io_service_bytes" };'
  [literal-memory]='write_string_file_at(fd, "memory.max", "1G");'
  [literal-joined]='xasprintf(&f, "%s%scgroup.subtree_control", dir, *dir ? "/" : "");'
  [mount]='const char *d = "/sys/fs/cgroup/unified";'
  [cgdir]='r = xasprintf(&path, "%s/%s", cfg->cg.dir, name);'
  [acctdir]='const char *dir = cgfs_acct_dir(fs, s); r = xasprintf(&p, "%s/x", dir);'
  [subsysdirs]='n = cgfs_subsys_dirs(d->fs, s, &dirs); fd = open(dirs[0], O_RDONLY);'
  [strdup]='tr->dir = strdup(cgfs_acct_dir(fs, s)); r = read_full_file(tr->dir, &t, NULL);'
)
roots=("$P/ok")
for k in "${!plant[@]}"; do
  mkdir -p "$P/$k/cg-demo"
  printf 'static void f(void) {\n        %s\n}\n' "${plant[$k]}" >"$P/$k/cg-demo/bad.c"
  roots+=("$P/$k")
done
python3 "$SCAN" "$TREE" "${roots[@]}" >"$T_TMP/scan.out"
t_check "the scanner ran" test $? = 0
hits() { awk -F'\t' -v r="$1" '$1 == r' "$T_TMP/scan.out" | cut -f2-; }
out=$(hits "$P/ok")
t_check "the scanner passes comments, display text, log arguments and common/cgfs*" test -z "$out"
[ -z "$out" ] || t_diag "$out"
for k in "${!plant[@]}"; do
  t_check "the scanner catches $k" test -n "$(hits "$P/$k")"
done

# ---- the tree ----
out=$(hits "$TREE")
t_check "no C file outside common/cgfs* builds a cgroup path or names a cgroup file" test -z "$out"
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   /'
t_done
