#!/usr/bin/env bash
# wsd-subscribe.sh — live pushes to a node 20 client (its built-in WebSocket): after
# subscribe_account, each sample published on <prefix>/account arrives once a second, in order,
# promptly; after unsubscribe_account none does; several subscribers share one Redis SUBSCRIBE.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-wsd.sh"

start_redis || { t_fail "redis starts"; t_done; exit 1; }
wsd_start || { t_fail "cg-wsd starts"; t_done; exit 1; }
wait_for 5 wsd_healthy

node --no-warnings --experimental-websocket "$TOP/tests/integration/wsd-subscribe.js" \
  "$WSD_PORT" "$REDIS_PORT" cgroup_arch > "$T_TMP/node.out" 2>&1
rc=$?
while read -r line; do
  case "$line" in
    "ok "*) t_ok "${line#ok }" ;;
    "not ok "*) t_fail "${line#not ok }" ;;
    *) t_diag "$line" ;;
  esac
done < "$T_TMP/node.out"
[ $rc -eq 0 ] || t_fail "node client exited with $rc"
t_eq "one SUBSCRIBE connection for all subscribers" \
  "$(redis-cli -p "$REDIS_PORT" pubsub numsub cgroup_arch/account | tail -1)" 1
t_check "cg-wsd still running" kill -0 "$WSD_PID"
t_done
