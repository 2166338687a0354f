# tests/lib-wsd.sh — shell helpers of the cg-wsd tests. Source after tests/lib.sh.

# wsd_start [extra cfg lines on stdin]: starts cg-wsd on a free port against $REDIS_PORT, with
# the repo's www/; sets WSD_PORT WSD_PID WSD_CFG WSD_LOG and waits until it answers HTTP.
wsd_start() {
  WSD_PORT=$(free_port)
  WSD_CFG=$T_TMP/wsd.$WSD_PORT.conf
  WSD_LOG=$T_TMP/wsd.$WSD_PORT.log
  local extra=""
  [ -t 0 ] || extra=$(cat)
  printf '[wsd]\nport = %s\nwww_dir = %s\n%s\n' "$WSD_PORT" "$TOP/www" "$extra" | write_cfg "$WSD_CFG"
  "$BUILD/cg-wsd" -c "$WSD_CFG" >"$WSD_LOG" 2>&1 &
  WSD_PID=$!; track $WSD_PID
  wait_for 10 wsd_http_up || { echo "# cg-wsd did not start"; tail -20 "$WSD_LOG"; return 1; }
}
wsd_http_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$WSD_PORT/healthz"; }
wsd_healthy() { curl -sf -o /dev/null -m 2 "http://127.0.0.1:$WSD_PORT/healthz"; }

# Node with the npm packages of tests/e2e (playwright-core, ws).
WSD_NODE_PATH=$TOP/tests/e2e/node_modules
