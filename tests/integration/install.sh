#!/usr/bin/env bash
# tests/run: no asan pass
# make install / uninstall into a DESTDIR: every file in its place, the public C API usable from
# the installed header, library and pkg-config file, man pages that render, the config kept.
. "$(dirname "$0")/../lib.sh"
cd "$TOP"
D=$T_TMP/dest
P=/usr/local

make -s --no-print-directory install DESTDIR="$D" >"$T_TMP/install.log" 2>&1
t_check "make install DESTDIR succeeds" [ $? -eq 0 ]
want="$P/bin/cgarch $P/sbin/cg-syncd $P/sbin/cg-taskd $P/sbin/cg-accountd $P/sbin/cg-wsd
$P/lib/libcgarch.so.0 $P/lib/libcgarch.so $P/lib/libcgarch.a $P/include/cgrouparch.h
$P/lib/pkgconfig/cgrouparch.pc $P/lib/systemd/system/cgrouparch.target
$P/lib/systemd/system/cg-syncd.service $P/lib/systemd/system/cg-taskd.service
$P/lib/systemd/system/cg-accountd.service $P/lib/systemd/system/cg-wsd.service
$P/share/cgrouparch/www/index.html $P/share/man/man1/cgarch.1 $P/share/man/man5/cgrouparch.conf.5
$P/share/man/man8/cg-syncd.8 $P/share/man/man8/cg-taskd.8 $P/share/man/man8/cg-accountd.8
$P/share/man/man8/cg-wsd.8 $P/share/doc/cgrouparch/cg-syncd-v2.conf /etc/cgrouparch/cgrouparch.conf
/etc/cgrouparch/cg-wsd.conf"
missing=""
for f in $want; do [ -e "$D$f" ] || missing="$missing $f"; done
t_eq "every file installed" "$missing" ""
t_check "installed binaries run (--version)" "$D$P/bin/cgarch" --version
t_check "the installed default config parses (cg-wsd --check)" \
  "$D$P/sbin/cg-wsd" --check -c "$D/etc/cgrouparch/cgrouparch.conf"
printf '[cgroup]\nbogus = 1\n' > "$T_TMP/bad.conf"
t_eq "a bad config is refused naming file, line, section and key" \
  "$("$D$P/sbin/cg-wsd" --check -c "$T_TMP/bad.conf" 2>&1 >/dev/null | sed 's/^<[0-9]>//')" \
  "$T_TMP/bad.conf:2: [cgroup] bogus: unknown key"

# The public API from the installed files only, through pkg-config, linked both ways: against
# libcgarch.so, and statically against libcgarch.a with `pkg-config --static` (which must name
# every library the archive needs: Requires.private, Libs.private). The program also references
# cgarch_cgexec_arg_zk, so the static link pulls in the ZooKeeper client too.
cat > "$T_TMP/api.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cgrouparch.h>
int main(int argc, char **argv) {
        const char *names[] = {"test_cgroup_a", "test_cgroup_b_sub1", "nope"};
        char *json = NULL;
        int r;
        if (argc > 2 && strcmp(argv[1], "zk") == 0)
                r = cgarch_cgexec_arg_zk(argv[2], "/nowhere", NULL, NULL, names, 3, 100, &json);
        else
                r = cgarch_cgexec_arg(argv[1], argc > 2 ? argv[2] : NULL, names, 3, &json);
        if (r < 0) { fprintf(stderr, "error %d\n", r); return 1; }
        puts(json);
        free(json);
        return 0;
}
C
export PKG_CONFIG_PATH=$D$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
want_out="{\"test_cgroup_a\": \"$(cg_cgexec_cpu test_cgroup_a) -g blkio:test_cgroup_a\", \"test_cgroup_b_sub1\": \"$(cg_cgexec_cpu test_cgroup_b/test_cgroup_b_sub1)\", \"nope\": \"\"}"

cc -o "$T_TMP/api" "$T_TMP/api.c" $(pkg-config --cflags --libs cgrouparch) 2>"$T_TMP/cc.log"
t_check "a program builds against the installed header and libcgarch.so via pkg-config" [ -x "$T_TMP/api" ]
[ -s "$T_TMP/cc.log" ] && t_diag "$(cat "$T_TMP/cc.log")"
t_eq "cgarch_cgexec_arg from the installed libcgarch.so" \
  "$(LD_LIBRARY_PATH=$D$P/lib "$T_TMP/api" "$SEED_CONF" 2>&1)" "$want_out"
t_check "the shared library is the one linked (ldd)" bash -c "LD_LIBRARY_PATH='$D$P/lib' ldd '$T_TMP/api' | grep -q '$D$P/lib/libcgarch.so.0'"

# -Bstatic for libcgarch alone: the system libraries stay shared (not all ship a .a).
libs_static=$(pkg-config --static --libs cgrouparch | sed 's/-lcgarch\b//')
cc -o "$T_TMP/api-static" "$T_TMP/api.c" $(pkg-config --cflags cgrouparch) \
  -L"$D$P/lib" -Wl,-Bstatic -lcgarch -Wl,-Bdynamic $libs_static 2>"$T_TMP/cc-static.log"
t_check "a program links statically against libcgarch.a with pkg-config --static" [ -x "$T_TMP/api-static" ]
[ -s "$T_TMP/cc-static.log" ] && t_diag "$(cat "$T_TMP/cc-static.log")"
t_eq "cgarch_cgexec_arg from the static libcgarch.a" "$("$T_TMP/api-static" "$SEED_CONF" 2>&1)" "$want_out"
t_check "the static program needs no libcgarch.so" bash -c "! ldd '$T_TMP/api-static' | grep -q libcgarch"
printf '[cgroup]\nroot = r\n' > "$T_TMP/root-r.conf"
t_eq "the CLI prints what the API returns" \
  "$(echo "$SEED_CONF" | "$D$P/bin/cgarch" -c "$T_TMP/root-r.conf" cgexec-arg --cgexec --conf - test_cgroup_a test_cgroup_b_sub1 nope)" \
  "$("$T_TMP/api-static" "$SEED_CONF" r)"

# The shared library's surface: the public API and its version node, nothing else.
syms=$(nm -D --defined-only "$D$P/lib/libcgarch.so.0" | awk '{print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
t_eq "libcgarch.so exports only the cgarch_* API (nm -D --defined-only)" "$syms" \
  "LIBCGARCH_0 cgarch_cgexec_arg cgarch_cgexec_arg_one cgarch_cgexec_arg_zk "

bad=""
for m in "$D$P"/share/man/man*/*; do
  w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
  [ -n "$w" ] && bad="$bad ${m##*/}"
done
t_eq "man pages render without warnings" "$bad" ""

# A second install keeps an edited config.
echo "# edited" >> "$D/etc/cgrouparch/cgrouparch.conf"
make -s --no-print-directory install DESTDIR="$D" >/dev/null 2>&1
t_check "re-install keeps an existing config" grep -q '^# edited' "$D/etc/cgrouparch/cgrouparch.conf"

make -s --no-print-directory uninstall DESTDIR="$D" >/dev/null 2>&1
left=$(cd "$D" && find . -type f -o -type l | sort | tr '\n' ' ')
t_eq "make uninstall removes everything but the configs" "$left" "./etc/cgrouparch/cg-wsd.conf ./etc/cgrouparch/cgrouparch.conf "
t_done
