#!/usr/bin/env bash
# dashboard.sh — the dashboard page as a "top" (issue 18 item 2), in real headless Chromium (Debian
# chromium, driven by npm playwright-core), at 1280 and at 360 px: with synthetic samples, an
# applied conf and a cg-taskd placement record (dashboard-feed.py), the page served by cg-wsd
# shows the host's name, sorts (remembered), shows each limit beside its usage, the pending and
# refused placements, works by keyboard, draws only the axes it has data for, does not overflow
# a phone's width, and passes axe-core (npm) with no serious or critical violation. The checks
# are in dashboard.js; screenshots are kept in <test logs>/dashboard/ (build/test-logs/ under
# tests/run). CGARCH_UPDATE_DOCS=1 also copies the desktop one to docs/dashboard.png (README).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"

if [ ! -x /usr/bin/chromium ] || [ ! -d "$WSD_NODE_PATH/playwright-core" ] || [ ! -d "$WSD_NODE_PATH/axe-core" ]; then
  t_skip "dashboard in chromium" "needs /usr/bin/chromium and scripts/deps (playwright-core, axe-core)"
  t_done; exit 0
fi
SHOTS=${CGARCH_TEST_LOGS:-$BUILD/test-logs}/dashboard
mkdir -p "$SHOTS" "$T_TMP/run"    # write_cfg's [daemon] runtime_dir: the placement record's place
rm -f "$SHOTS"/*.png
start_redis || { t_fail "redis starts"; t_done; exit 1; }
wsd_start </dev/null || { t_fail "cg-wsd starts"; t_done; exit 1; }
/usr/bin/python3 "$TOP/tests/e2e/dashboard-feed.py" "$REDIS_PORT" cgroup_arch 150 "$T_TMP/run" &
track $!
wait_for 5 test -n "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'cgroup_arch/account/*' | head -1)"

NODE_PATH=$WSD_NODE_PATH node "$TOP/tests/e2e/dashboard.js" "$WSD_PORT" "$SHOTS" > "$T_TMP/node.out" 2>&1
rc=$?
while read -r line; do
  case "$line" in
    "ok "*) t_ok "${line#ok }" ;;
    "not ok "*) t_fail "${line#not ok }" ;;
    *) t_diag "$line" ;;
  esac
done < "$T_TMP/node.out"
[ $rc -eq 0 ] || t_fail "browser script exited with $rc"
for w in 1280 360; do
  t_check "screenshot at $w px kept as $SHOTS/dashboard-$w.png" test -s "$SHOTS/dashboard-$w.png"
done
t_check "cg-wsd still running" kill -0 "$WSD_PID"
if [ -n "${CGARCH_UPDATE_DOCS:-}" ] && [ -s "$SHOTS/dashboard-1280.png" ]; then
  cp "$SHOTS/dashboard-1280.png" "$TOP/docs/dashboard.png" && t_diag "copied to docs/dashboard.png"
fi
t_check "the README's screenshot docs/dashboard.png is there and at most 200 KB" \
  test -s "$TOP/docs/dashboard.png" -a "$(stat -c %s "$TOP/docs/dashboard.png" 2>/dev/null || echo 0)" -le 204800
t_done
