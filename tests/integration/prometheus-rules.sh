#!/usr/bin/env bash
# prometheus-rules.sh — contrib/prometheus/cgrouparch.rules.yml is valid for Prometheus
# (`promtool check rules`) and its alerts fire when and only when they should (`promtool test
# rules` on cgrouparch.rules.test.yml: version skew within a role but not across roles, the
# lagging host, apply failing, a rejected conf, ZooKeeper down, samples dropped, a stale daemon).
. "$(dirname "$0")/../lib.sh"

command -v promtool >/dev/null || { t_skip "alert rules" "promtool missing (apt-get install prometheus)"; t_done; exit; }
cd "$TOP/contrib/prometheus" || exit 1
out=$(promtool check rules cgrouparch.rules.yml 2>&1)
t_check "promtool check rules" test $? = 0 || t_diag "$out"
t_check "the four alerts the fleet needs are there" eval 'for a in CgrouparchConfVersionSkew CgrouparchApplyFailing CgrouparchZooKeeperDown CgrouparchSamplesDropped; do grep -q "alert: $a\$" cgrouparch.rules.yml || exit 1; done'
out=$(promtool test rules cgrouparch.rules.test.yml 2>&1)
t_check "promtool test rules" test $? = 0 || t_diag "$out"
# Every metric the rules read is one a daemon writes (a renamed metric would silently never fire).
for m in $(grep -o 'cgrouparch_[a-z_]*' cgrouparch.rules.yml | sort -u); do
  t_check "$m is written by the code" grep -rqF "\"$m\"" "$TOP/cg-syncd" "$TOP/cg-accountd" "$TOP/cg-taskd" "$TOP/cg-wsd"
done
t_done
