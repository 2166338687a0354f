#!/usr/bin/env bash
# dashboard.sh — the dashboard in real headless Chromium (Debian chromium, driven by npm
# playwright-core): with synthetic samples flowing through Redis, the page served by cg-wsd shows
# the test cgroups, non-zero CPU for the busy one, a drawn history chart, loads nothing from
# elsewhere; a screenshot is kept in build/test-artifacts/dashboard.png.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"

if [ ! -x /usr/bin/chromium ] || [ ! -d "$WSD_NODE_PATH/playwright-core" ]; then
  t_skip "dashboard in chromium" "needs /usr/bin/chromium and scripts/deps (playwright-core)"
  t_done; exit 0
fi
start_redis || { t_fail "redis starts"; t_done; exit 1; }
wsd_start || { t_fail "cg-wsd starts"; t_done; exit 1; }
/usr/bin/python3 "$TOP/tests/e2e/dashboard-feed.py" "$REDIS_PORT" cgroup_arch 40 &
track $!
wait_for 5 test -n "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'cgroup_arch/account/*' | head -1)"

mkdir -p "$BUILD/test-artifacts"
NODE_PATH=$WSD_NODE_PATH node "$TOP/tests/e2e/dashboard.js" "$WSD_PORT" "$BUILD/test-artifacts/dashboard.png" \
  > "$T_TMP/node.out" 2>&1
rc=$?
while read -r line; do
  case "$line" in
    "ok "*) t_ok "${line#ok }" ;;
    "not ok "*) t_fail "${line#not ok }" ;;
    *) t_diag "$line" ;;
  esac
done < "$T_TMP/node.out"
[ $rc -eq 0 ] || t_fail "browser script exited with $rc"
t_check "screenshot kept as build/test-artifacts/dashboard.png" test -s "$BUILD/test-artifacts/dashboard.png"
t_check "cg-wsd still running" kill -0 "$WSD_PID"
t_done
