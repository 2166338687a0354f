#!/usr/bin/python3
"""fleet-watch.py OUTDIR RUNDIR... -- one process that follows every simulated host of the fleet.

For each host i (0-based, in argument order):
- inotify on RUNDIR: each time <RUNDIR>/arch_conf.json is renamed into place (or rewritten), its
  version is read and "<epoch seconds> <i> <version>" is appended to OUTDIR/events.log;
- a NOTIFY_SOCKET at RUNDIR/notify.sock: each datagram becomes "<epoch> <i> <text>" in
  OUTDIR/notify.log (newlines shown as " | "), and the last STATUS= of every host is kept in
  OUTDIR/status (one line per host, "<i> <status>", rewritten atomically).

OUTDIR/versions holds the current snapshot version of every host, space separated, in host
order (-1 for none), rewritten atomically on each change, so that the harness can wait for a
version with a cheap read and no process per check. One process for all hosts on purpose: the
fleet runs 50 hosts on 2 cores.
"""
import ctypes
import os
import re
import select
import socket
import struct
import sys
import time

IN_CLOSE_WRITE = 0x08
IN_MOVED_TO = 0x80
IN_CREATE = 0x100

libc = ctypes.CDLL("libc.so.6", use_errno=True)
VER_RE = re.compile(rb'^\s*\{\s*"version"\s*:\s*(-?\d+)')


def atomic_write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def read_version(path):
    try:
        with open(path, "rb") as f:
            m = VER_RE.match(f.read(64))
        return int(m.group(1)) if m else None
    except OSError:
        return None


def main():
    outdir, rundirs = sys.argv[1], sys.argv[2:]
    n = len(rundirs)
    ifd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if ifd < 0:
        sys.exit("inotify_init1 failed")
    wd_host = {}
    for i, d in enumerate(rundirs):
        os.makedirs(d, exist_ok=True)
        wd = libc.inotify_add_watch(ifd, d.encode(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
        if wd < 0:
            sys.exit("inotify_add_watch %s failed" % d)
        wd_host[wd] = i
    socks = {}
    for i, d in enumerate(rundirs):
        p = os.path.join(d, "notify.sock")
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(p)
        s.setblocking(False)
        socks[s.fileno()] = (i, s)

    versions = [-1] * n
    status = [""] * n
    for i, d in enumerate(rundirs):
        v = read_version(os.path.join(d, "arch_conf.json"))
        if v is not None:
            versions[i] = v
    ev = open(os.path.join(outdir, "events.log"), "a", buffering=1)
    nl = open(os.path.join(outdir, "notify.log"), "a", buffering=1)
    vpath = os.path.join(outdir, "versions")
    spath = os.path.join(outdir, "status")
    atomic_write(vpath, " ".join(map(str, versions)) + "\n")
    atomic_write(spath, "".join("%d %s\n" % (i, s) for i, s in enumerate(status)))
    atomic_write(os.path.join(outdir, "watch.ready"), "%d\n" % os.getpid())

    ep = select.epoll()
    ep.register(ifd, select.EPOLLIN)
    for fd in socks:
        ep.register(fd, select.EPOLLIN)
    while True:
        for fd, _ in ep.poll():
            now = time.time()
            if fd == ifd:
                try:
                    buf = os.read(ifd, 65536)
                except BlockingIOError:
                    continue
                changed = False
                off = 0
                seen = set()
                while off < len(buf):
                    wd, mask, cookie, ln = struct.unpack_from("iIII", buf, off)
                    name = buf[off + 16:off + 16 + ln].rstrip(b"\0")
                    off += 16 + ln
                    if name != b"arch_conf.json" or wd not in wd_host:
                        continue
                    seen.add(wd_host[wd])
                for i in sorted(seen):
                    v = read_version(os.path.join(rundirs[i], "arch_conf.json"))
                    if v is None:
                        continue
                    ev.write("%.6f %d %d\n" % (now, i, v))
                    if v != versions[i]:
                        versions[i] = v
                        changed = True
                if changed:
                    atomic_write(vpath, " ".join(map(str, versions)) + "\n")
            else:
                i, s = socks[fd]
                try:
                    msg = s.recv(65536).decode(errors="replace")
                except BlockingIOError:
                    continue
                nl.write("%.6f %d %s\n" % (now, i, msg.replace("\n", " | ")))
                for line in msg.split("\n"):
                    if line.startswith("STATUS="):
                        status[i] = line[7:]
                        atomic_write(spath, "".join("%d %s\n" % (j, t) for j, t in enumerate(status)))


if __name__ == "__main__":
    main()
