#!/usr/bin/env bash
# tests/run: no asan pass
# The Debian packages (issue 15): `scripts/make-deb` builds cgrouparch, libcgarch0 and
# libcgarch-dev from this checkout with debhelper, lintian-clean; the layout is what an operator
# expects of a Debian daemon (binaries in /usr, units in /lib/systemd/system, the configs as
# conffiles with mode 0640, the page where the binary looks for it), and a program builds against
# the -dev package. (tests/e2e/vm-deb.sh installs them with dpkg -i on a clean systemd host.)
. "$(dirname "$0")/../lib.sh"
cd "$TOP"
for t in dpkg-buildpackage dh lintian; do
  command -v $t >/dev/null || { t_ok "deb # SKIP $t missing (scripts/deps installs it)"; t_done; exit 0; }
done
# build/deb, as `make deb`: scripts/make-deb keeps it when its inputs did not change, so
# tests/e2e/vm-deb.sh (after this test in tests/run) reuses the build.
OUT=${CGARCH_DEB_DIR:-$BUILD/deb}
scripts/make-deb "$OUT" >"$T_TMP/make-deb.log" 2>&1; rc=$?
sed 's/^/# /' "$T_TMP/make-deb.log" | tail -15
t_eq "scripts/make-deb builds the packages" "$rc" 0
for p in cgrouparch libcgarch0 libcgarch-dev; do
  t_check "package $p built" bash -c "ls '$OUT'/${p}_*.deb >/dev/null"
done
t_check "lintian: no error or warning" grep -q 'lintian clean' "$T_TMP/make-deb.log"

R=$T_TMP/root
for d in "$OUT"/*.deb; do case $d in *dbgsym*) ;; *) dpkg-deb -x "$d" "$R" ;; esac; done
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
missing=""
for f in usr/bin/cgarch usr/sbin/cg-syncd usr/sbin/cg-taskd usr/sbin/cg-accountd usr/sbin/cg-wsd \
         lib/systemd/system/cg-syncd.service lib/systemd/system/cg-wsd.service \
         lib/systemd/system/cgrouparch.target usr/share/cgrouparch/www/index.html \
         usr/share/man/man1/cgarch.1.gz usr/share/man/man5/cgrouparch.conf.5.gz \
         usr/share/man/man8/cg-wsd.8.gz etc/cgrouparch/cgrouparch.conf etc/cgrouparch/cg-wsd.conf \
         usr/lib/$ma/libcgarch.so.0 usr/lib/$ma/libcgarch.so usr/lib/$ma/libcgarch.a \
         usr/include/cgrouparch.h usr/lib/$ma/pkgconfig/cgrouparch.pc; do
  [ -e "$R/$f" ] || missing="$missing $f"
done
t_eq "every file in its Debian place" "$missing" ""
perms=$(dpkg-deb -c "$OUT"/cgrouparch_*.deb | awk '$6 ~ /etc\/cgrouparch\/.*conf$/ {print $1, $6}' | sort | tr '\n' ';')
t_eq "the configs are 0640" "$perms" "-rw-r----- ./etc/cgrouparch/cg-wsd.conf;-rw-r----- ./etc/cgrouparch/cgrouparch.conf;"
conffiles=$(dpkg-deb -I "$OUT"/cgrouparch_*.deb conffiles | sort | tr '\n' ' ')
t_eq "the configs are conffiles" "$conffiles" "/etc/cgrouparch/cg-wsd.conf /etc/cgrouparch/cgrouparch.conf "
t_check "cg-wsd looks for the page where the package puts it" \
  grep -aq '/usr/share/cgrouparch/www' "$R/usr/sbin/cg-wsd"
t_check "cgrouparch.pc says /usr and the multiarch libdir" \
  bash -c "grep -qx 'prefix=/usr' '$R/usr/lib/$ma/pkgconfig/cgrouparch.pc' && grep -q '/usr/lib/$ma' '$R/usr/lib/$ma/pkgconfig/cgrouparch.pc'"
t_check "the packaged cgarch runs against the packaged library" \
  env LD_LIBRARY_PATH="$R/usr/lib/$ma" "$R/usr/bin/cgarch" --version
deps=$(dpkg-deb -f "$OUT"/cgrouparch_*.deb Depends)
t_check "cgrouparch depends on its libraries ($deps)" \
  bash -c "grep -q libcgarch0 <<<'$deps' && grep -q libhiredis <<<'$deps' && grep -q libzookeeper-mt <<<'$deps'"
# dh_installsystemd --no-enable --no-start --restart-after-upgrade: postinst only re-enables what
# the admin had enabled, and on an upgrade try-restarts what was running; preinst stops nothing.
postinst=$(dpkg-deb -I "$OUT"/cgrouparch_*.deb postinst 2>/dev/null)
preinst=$(dpkg-deb -I "$OUT"/cgrouparch_*.deb preinst 2>/dev/null)
t_check "no unit is started at install (the config comes first): only try-restart, on upgrade" \
  bash -c '! grep "deb-systemd-invoke" <<<"$1" | grep -qv "deb-systemd-invoke try-restart" &&
           grep -B3 "deb-systemd-invoke try-restart" <<<"$1" | grep -q "\$2"' _ "$postinst"
t_check "an upgrade does not stop the daemons in preinst (running ones are try-restarted)" \
  bash -c '! grep -q "deb-systemd-invoke stop" <<<"$1"' _ "$preinst"
t_check "no unit is enabled at a fresh install (only an upgrade re-enables: was-enabled)" \
  awk '/was-enabled/ {g = NR} /deb-systemd-helper enable/ && NR - g > 2 {bad = 1} END {exit bad}' <<<"$postinst"
prerm=$(dpkg-deb -I "$OUT"/cgrouparch_*.deb prerm 2>/dev/null)
t_check "prerm stops the daemons on removal (not on upgrade)" \
  bash -c 'grep -B2 "deb-systemd-invoke stop .*cg-syncd.service" <<<"$1" | grep -q "\"\$1\" = remove"' _ "$prerm"
cat > "$T_TMP/use.c" <<'C'
#include <cgrouparch.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
        char *s = NULL;
        if (cgarch_cgexec_arg_one("{\"cpu\": {\"sub_cgroup\": {\"a\": {}}}}", "r", "a", &s) < 0)
                return 1;
        printf("%s\n", s);
        free(s);
        return 0;
}
C
# cgrouparch.pc's Requires.private (libcjson, inih, ...) come from the system's -dev packages,
# as libcgarch-dev's Depends pull them in.
out=$(PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_LIBDIR="$R/usr/lib/$ma/pkgconfig:/usr/lib/$ma/pkgconfig:/usr/share/pkgconfig" pkg-config --cflags --libs cgrouparch)
t_check "a program builds against libcgarch-dev ($out)" cc -o "$T_TMP/use" "$T_TMP/use.c" $out
t_eq "... and runs against libcgarch0" "$(LD_LIBRARY_PATH="$R/usr/lib/$ma" "$T_TMP/use")" "$(cg_cgexec_cpu r/a)"
t_done
