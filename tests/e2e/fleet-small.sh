#!/usr/bin/env bash
# tests/e2e/fleet-small.sh — issue 17's fleet, small enough for `make test`: 5 hosts in network
# namespaces on a 3-server ZooKeeper ensemble; propagation (20 changes), a leader kill -9 in the
# middle of a stream of changes, one host partitioned for 3x its session timeout. The full set
# (50 hosts, rolling restart, quorum loss, thundering herd) is `make fleet` (tests/fleet/run).
for tool in nsenter ip java nc; do
  command -v "$tool" >/dev/null || { echo "ok 1 - fleet # SKIP no $tool"; echo "1..1"; exit 0; }
done
export FLEET_N=${FLEET_N:-5} FLEET_FULL=${FLEET_FULL:-2} FLEET_SESSION_MS=${FLEET_SESSION_MS:-2000}
export FLEET_CHANGES=${FLEET_CHANGES:-20}
export FLEET_SCENARIOS=${FLEET_SCENARIOS:-propagation failover partition}
exec "$(dirname "$0")/../fleet/fleet.sh"
