#!/usr/bin/env python3
# cgfs-gate-scan.py ROOT... — the scanner of tests/integration/cgfs-gate.sh (which says what it
# looks for). Prints "ROOT<TAB>file:line: rule: text" for every violation under each ROOT; one
# process for every tree, since a Python start-up is what costs on a loaded machine.
import os, re, sys

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

TOKEN_RE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|' + r"'(?:\\.|[^'\\\n])*'" +
                      r'|[^/"\']+|.', re.S)
UNESC = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}

def strip(text):
    """Comments removed (newlines kept), literals collected with their line and replaced by ""
    (adjacent literals merged into one), so that statements can be scanned without their text."""
    out, lits, line, last_lit = [], [], 1, False
    for m in TOKEN_RE.finditer(text):
        t = m.group(0)
        nl = t.count("\n")
        if t.startswith("/*") or t.startswith("//"):
            out.append("\n" * nl)
        elif t.startswith('"'):
            v = re.sub(r"\\(.)", lambda e: UNESC.get(e.group(1), e.group(1)), t[1:-1])
            if last_lit:  # "a" "b" is one string
                lits[-1] = (lits[-1][0], lits[-1][1] + v)
            else:
                lits.append((line, v))
                out.append('""')
            last_lit = True
            line += nl
            continue
        elif t.startswith("'"):
            out.append("' '")
        else:
            out.append(t)
        line += nl
        if not t.isspace() and not t.startswith(("/*", "//")):
            last_lit = False
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

def scan_root(root):
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
    return bad

for root in sys.argv[1:]:
    for b in scan_root(root):
        print(f"{root}\t{b}")
