#!/usr/bin/env bash
# prometheus-rules.sh — contrib/prometheus/cgrouparch.rules.yml is valid for Prometheus
# (`promtool check rules`) and its alerts fire when and only when they should (`promtool test
# rules` on cgrouparch.rules.test.yml: version skew within a role but not across roles, the
# lagging host, apply failing, a rejected conf, ZooKeeper down, samples dropped, a stale daemon).
# contrib/grafana/cgrouparch-fleet.json is a dashboard whose every PromQL expression parses
# (each as a recording rule for `promtool check rules`, Grafana's variables replaced) and reads
# only metrics the daemons write. That they return data is checked against a live fleet by
# tests/fleet (the dashboard scenario, also in tests/e2e/fleet-small.sh).
. "$(dirname "$0")/../lib.sh"

command -v promtool >/dev/null || { t_skip "alert rules" "promtool missing (apt-get install prometheus)"; t_done; exit; }
cd "$TOP/contrib/prometheus" || exit 1
out=$(promtool check rules cgrouparch.rules.yml 2>&1)
t_check "promtool check rules" test $? = 0 || t_diag "$out"
t_check "the four alerts the fleet needs are there" eval 'for a in CgrouparchConfVersionSkew CgrouparchApplyFailing CgrouparchZooKeeperDown CgrouparchSamplesDropped; do grep -q "alert: $a\$" cgrouparch.rules.yml || exit 1; done'
out=$(promtool test rules cgrouparch.rules.test.yml 2>&1)
t_check "promtool test rules" test $? = 0 || t_diag "$out"
# Every metric the rules read is one a daemon writes (a renamed metric would silently never fire).
written() { grep -rqF "\"$1\"" "$TOP/cg-syncd" "$TOP/cg-accountd" "$TOP/cg-taskd" "$TOP/cg-wsd" ||
  case $1 in cgrouparch_cpu_*|cgrouparch_blkio_*) grep -qF "${1%_total}" "$TOP/cg-wsd/wsproto.c" ;; *) false ;; esac; }
for m in $(grep -o 'cgrouparch_[a-z_]*' cgrouparch.rules.yml | sort -u); do
  t_check "$m is written by the code" written "$m"
done

# ---- the Grafana dashboard
DASH=$TOP/contrib/grafana/cgrouparch-fleet.json
t_check "the dashboard is valid JSON with panels" eval 'jq -e ".panels | length > 0" "$DASH" >/dev/null'
# Grafana replaces $job with the selected job and $__rate_interval with a duration.
jq -r '.. | objects | select(has("expr")) | .expr' "$DASH" |
  sed -e 's/\$__rate_interval/1m/g' -e 's/\${job}/web/g' -e 's/\$job/web/g' > "$T_TMP/exprs"
n=$(wc -l < "$T_TMP/exprs")
t_check "the dashboard has its queries ($n)" test "$n" -gt 10
t_check "no Grafana variable other than \$job and \$__rate_interval" eval '! grep -q "\\$" "$T_TMP/exprs"'
{
  echo "groups:"; echo "  - name: dashboard"; echo "    rules:"
  i=0
  while IFS= read -r e; do
    i=$((i + 1)); echo "      - record: dashboard:expr$i"
    printf '        expr: %s\n' "$(jq -Rn --arg e "$e" '$e')"   # a JSON string is a YAML string
  done < "$T_TMP/exprs"
} > "$T_TMP/dashboard.rules.yml"
out=$(promtool check rules "$T_TMP/dashboard.rules.yml" 2>&1)
t_check "every dashboard expression parses (promtool check rules, $n expressions)" test $? = 0 || t_diag "$out"
for m in $(grep -o 'cgrouparch_[a-z_]*' "$T_TMP/exprs" | sort -u); do
  t_check "dashboard: $m is written by the code" written "$m"
done
t_done
