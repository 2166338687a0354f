#!/usr/bin/env bash
# A read-only host identity (issue 12, safe deployment): `cgarch conf put` with an admin identity
# creates the node with an ACL where the admin has all rights and the hosts' [zookeeper] auth may
# only read. A host identity then cannot write the fleet's conf, anonymous clients cannot read it,
# and cg-syncd (a host) still reads and applies it.
. "$(dirname "$0")/../lib-syncd.sh"
ZK_AUTH=digest:host:hostpw
ZK_PREFIX=/cgrouparch-acl/site
syncd_env
ADMIN=digest:admin:adminpw
printf '%s\n' "$SEED_CONF" > "$T_TMP/seed.json"
echo '{"cpu": {"sub_cgroup": {"test_cgroup_a": {"conf": {"share": 300}}}}}' > "$T_TMP/change.json"

out=$(cgarch -c "$CFG" conf put --admin-auth "$ADMIN" "$T_TMP/seed.json" 2>&1); rc=$?
t_check "put --admin-auth: creates the node (version 0)" bash -c "[ $rc = 0 ] && grep -q 'version 0' <<<'$out'"
acl=$(zkctl getacl "$NODE" 2>&1)
t_check "node ACL: admin all rights, host read only (zk-ctl getacl: $acl)" \
  bash -c "grep -q 'digest:admin:.* cdrwa' <<<'$acl' && grep -q 'digest:host:.* r\$' <<<'$acl'"
t_check "the parent nodes carry the same ACL" \
  bash -c "zkctl() { '$ZKCTL' -a digest:super:123456 '$ZK_HOSTS' \"\$@\"; }; zkctl getacl /cgrouparch-acl | grep -q 'digest:host:.* r\$'"
t_eq "the host identity reads it (cgarch conf get)" "$(cgarch -c "$CFG" conf get --version-only 2>&1)" 0
out=$(cgarch -c "$CFG" conf put "$T_TMP/change.json" 2>&1); rc=$?
t_check "the host identity cannot write it: refused, exit 1 ($out)" \
  bash -c "[ $rc = 1 ] && grep -qi 'denied\|not authenticated\|permission' <<<'$out'"
t_eq "nothing written by the host" "$(cgarch -c "$CFG" conf get --version-only 2>&1)" 0
out=$("$ZKCTL" "$ZK_HOSTS" get "$NODE" 2>&1)
t_check "anonymous read refused" grep -q 'Permission denied' <<<"$out"
sed 's/^auth = .*/auth = digest:host:wrong/' "$CFG" > "$T_TMP/wrong.conf"
out=$(cgarch -c "$T_TMP/wrong.conf" conf put --admin-auth digest:admin:wrong "$T_TMP/change.json" 2>&1); rc=$?
t_check "a wrong admin password cannot write either" bash -c "[ $rc = 1 ]"

# cg-syncd runs with the host identity and still applies the conf, then a change by the admin.
start_syncd
t_check "cg-syncd (host identity) applies version 0" wait_for 15 snap_is 0
t_check "the tree is there" cg_exists cpu test_cgroup_a
printf '[zookeeper]\nadmin_auth = %s\n' "$ADMIN" | cat "$CFG" - > "$T_TMP/admin.conf"
out=$(cgarch -c "$T_TMP/admin.conf" conf put "$T_TMP/change.json" 2>&1); rc=$?
t_check "[zookeeper] admin_auth writes (version 1)" bash -c "[ $rc = 0 ] && grep -q 'version 1' <<<'$out'"
t_check "cg-syncd applies the admin's change" wait_for 15 snap_is 1
t_check "weight on the machine" wait_for 5 share_is test_cgroup_a 300
t_check "cg-syncd logged no auth error" bash -c "! grep -qi 'auth\|denied' '$SYNCD_LOG'"
t_done
