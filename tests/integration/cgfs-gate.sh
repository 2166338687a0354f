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

scan() { # scan ROOT: prints "file:line: rule: text" per violation; exit 1 if any
  python3 - "$1" <<'EOF'
import os, re, sys

root = sys.argv[1]
CTL = (r"(?:cgroup\.[a-z_.]+|tasks|notify_on_release|release_agent|"
       r"(?:cpu|cpuacct|cpuset|blkio|io|memory|pids|hugetlb|rdma|misc|freezer|devices|net_cls|"
       r"net_prio|perf_event|irq)\.[a-z_.]+)")
CTL_RE = re.compile(r"(?:^|/|%s)" + CTL + r"(?=$|[/\s:,;)\]'\"])")
MOUNT_RE = re.compile(r"/sys/fs/cgroup")
CALLS = (r"\b(?:x?asprintf|v?snprintf|v?sprintf|strn?cat|strn?cpy|stpcpy|open|openat|openat2|"
         r"fopen|opendir|access|faccessat|stat|lstat|fstatat|statfs|mkdir|mkdirat|rmdir|unlink|"
         r"unlinkat|read_full_file|read_full_file_at|write_string_file_at|path_join|glob)\s*\(")
CALL_RE = re.compile(CALLS)
SOURCE_RE = r"(?:\bcg\s*(?:\.|->)\s*dir\b|\bcgroup_dir\b|\bCGFS_DEFAULT_DIR\b|\bcgfs_acct_dir\s*\(|\bcgfs_subsys_dirs\s*\()"

def strip(text):
    """Comments removed (newlines kept), literals collected and replaced by "" (adjacent
    literals merged), so that statements can be scanned without their text."""
    out, lits, i, n, pending = [], [], 0, len(text), 0
    line = 1
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j)); line += text.count("\n", i, j); i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j:j + 2]); j += 2
                else:
                    buf.append(text[j]); j += 1
            s = "".join(buf).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
            # adjacent literals ("a" "b") are one string
            if lits and out and out[-1] == '""':
                lits[-1] = (lits[-1][0], lits[-1][1] + s)
            else:
                lits.append((line, s))
                out.append('""')
            line += text.count("\n", i, j + 1)
            i = j + 1
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            out.append("' '"); i = j + 1
        elif c.isspace() and out and out[-1] == '""':
            # keep a run of whitespace after a literal out of `out` so adjacent ones merge
            j = i
            while j < n and text[j].isspace():
                j += 1
            if text.startswith('"', j):
                # the newlines go after the merged literal, so that lines keep their numbers
                pending += text.count("\n", i, j); line += text.count("\n", i, j); i = j
            else:
                out.append(text[i:j]); line += text.count("\n", i, j); i = j
        else:
            out.append(c); line += c == "\n"; i += 1
        if pending and out and out[-1] != '""':
            out.insert(len(out) - 1, "\n" * pending); pending = 0
    return "".join(out), lits

def scan_file(path, rel, bad):
    text = open(path, encoding="utf-8", errors="replace").read()
    code, lits = strip(text)
    for line, s in lits:
        if MOUNT_RE.search(s):
            bad.append(f"{rel}:{line}: path below the cgroup mount: \"{s}\"")
        elif CTL_RE.search(s):
            bad.append(f"{rel}:{line}: cgroup control file named: \"{s.strip()}\"")
    # variables that hold a cgroup dir (one level of assignment and strdup)
    tainted = set()
    for m in re.finditer(r"cgfs_subsys_dirs\s*\([^;]*?&\s*(\w+)\s*\)", code):
        tainted.add(m.group(1))
    for m in re.finditer(r"(\w+)\s*=\s*[^;=]*" + SOURCE_RE, code):
        tainted.add(m.group(1))
    for _ in range(2):
        for m in re.finditer(r"(\w+)\s*=\s*(?:x?strdup\s*\(\s*)?([\w>.-]+)", code):
            src = re.split(r"->|\.", m.group(2))[-1]
            if src in tainted:
                tainted.add(m.group(1))
    taint_re = SOURCE_RE
    if tainted:
        taint_re = r"(?:" + SOURCE_RE + r"|\b(?:" + "|".join(map(re.escape, sorted(tainted))) + r")\b)"
    pos = 0
    for stmt in re.split(r"[;{}]", code):
        start = pos
        pos += len(stmt) + 1
        if not CALL_RE.search(stmt):
            continue
        for cm in CALL_RE.finditer(stmt):
            args = stmt[cm.end():]
            if re.search(taint_re, args):
                line = code.count("\n", 0, start + cm.start()) + 1
                bad.append(f"{rel}:{line}: path built from the cgroup dir: "
                           f"{' '.join(stmt[cm.start():].split())[:100]}")
                break

bad = []
for top in sorted(os.listdir(root)):
    if not (top.startswith("cg-") or top in ("cgarch", "common")):
        continue
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            if rel.startswith("common/cgfs"):
                continue
            scan_file(os.path.join(dirpath, f), rel, bad)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# ---- the scanner catches what it must, and only that ----
P=$T_TMP/planted
mkdir -p "$P/cg-demo" "$P/common"
cat >"$P/cg-demo/ok.c" <<'EOF'
/* Writes cgroup.procs of "/sys/fs/cgroup/x" and "cpu.stat": only a comment. */
// "cpuacct.usage" in a line comment
static void show(long w) { printf(" cpu.weight %ld (share = cpu.shares)\n", w); }
static int go(struct cfg *cfg) { log_info("Opening %s", cfg->cg.dir); return cgfs_open(cfg->cg.dir, "", 0, &fs); }
char c = '"'; static const char *s = "not a \" cgroup.procs";
EOF
cat >"$P/common/cgfs-own.c" <<'EOF'
static const char *f = "cgroup.procs"; /* cgfs's own files are exempt */
EOF
declare -A plant=(
  [literal-procs]='int fd = open("cgroup.procs", O_WRONLY);'
  [literal-path]='xasprintf(&p, "%s/%s/cpu.stat", dir, path);'
  [literal-split]='const char *f = "cpuacct" ".usage";'
  [literal-tasks]='read_full_file_at(fd, "a/tasks", &t, NULL);'
  [literal-blkio]='static const char *const v[] = { "blkio.throttle.io_service_bytes" };'
  [literal-memory]='write_string_file_at(fd, "memory.max", "1G");'
  [mount]='const char *d = "/sys/fs/cgroup/unified";'
  [cgdir]='r = xasprintf(&path, "%s/%s", cfg->cg.dir, name);'
  [acctdir]='const char *dir = cgfs_acct_dir(fs, s); r = xasprintf(&p, "%s/x", dir);'
  [subsysdirs]='n = cgfs_subsys_dirs(d->fs, s, &dirs); fd = open(dirs[0], O_RDONLY);'
  [strdup]='tr->dir = strdup(cgfs_acct_dir(fs, s)); r = read_full_file(tr->dir, &t, NULL);'
)
out=$(scan "$P"); rc=$?
t_check "the scanner passes comments, display text, log arguments and common/cgfs*" \
  test "$rc" = 0 -a -z "$out"
[ -n "$out" ] && t_diag "$out"
for k in "${!plant[@]}"; do
  printf 'static void f(void) {\n        %s\n}\n' "${plant[$k]}" >"$P/cg-demo/bad.c"
  out=$(scan "$P"); rc=$?
  t_check "the scanner catches $k" test "$rc" = 1 -a -n "$out"
  rm -f "$P/cg-demo/bad.c"
done

# ---- the tree ----
out=$(scan "$TREE"); rc=$?
t_check "no C file outside common/cgfs* builds a cgroup path or names a cgroup file" test "$rc" = 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
t_done
