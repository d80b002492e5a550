#!/usr/bin/env bash
# Requires: jq, build/bin/cbtship, build/bin/cbt-chunk-bench. Projects and
# quotas on the POSIX target: a project sees only its own backups, an
# admin sees all and backs up on behalf of a project (--os-project-name),
# which counts against that project's quota; quota-show/update/usage; a
# backup-create over a quota is refused before any I/O with the numbers;
# two backup-creates racing for the last slot: exactly one succeeds; the
# configuration's quota defaults apply to projects without limits of their
# own; backup-reset-state repairs a stuck state.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq

shipper_test_start

ids_of() { jq -r '.[].id' | sort | tr '\n' ' '; }
for v in a b c; do
	cbt-chunk-bench make-image --image "$tmp/$v.img" --size 8M --seed 40 >/dev/null
done

check "project alpha backs up its volume" \
	bash -c "OS_PROJECT_NAME=alpha cbtship backup-create --wait --format json '$tmp/a.img' >'$tmp/a.json'"
a=$(jq -r .id "$tmp/a.json")
check "  it belongs to alpha" \
	test "$(jq -r '."os-backup-project-attr:project_id"' "$tmp/a.json")" = alpha
check "project beta does not see it" \
	test "$(OS_PROJECT_NAME=beta cbtship backup-list --format json | jq length)" = 0
refuse "  nor show it" env OS_PROJECT_NAME=beta cbtship backup-show "$a"
refuse "  nor delete it" env OS_PROJECT_NAME=beta cbtship backup-delete "$a"
check "the admin backs up for beta (--os-project-name)" \
	bash -c "cbtship --os-project-name beta backup-create --wait --format json '$tmp/b.img' >'$tmp/b.json'"
b=$(jq -r .id "$tmp/b.json")
check "  it belongs to beta" \
	test "$(jq -r '."os-backup-project-attr:project_id"' "$tmp/b.json")" = beta
check "  beta sees it" test "$(OS_PROJECT_NAME=beta cbtship backup-list --format json | ids_of)" = "$b "
check "  it counts against beta's quota" \
	test "$(cbtship quota-usage --format json beta | jq .backups.in_use)" = 1
check "the admin sees every project's (--all-projects)" \
	test "$(cbtship backup-list --all-projects --format json | jq length)" = 2

check "quota-show: no limit yet" test "$(cbtship quota-show --format json beta | jq .backups)" = -1
check "quota-update --backups 1 beta" cbtship quota-update --backups 1 beta
check "  quota-show says 1" test "$(cbtship quota-show --format json beta | jq .backups)" = 1
objects() { find "$CBTSHIP_STATE_DIR/backup" -type f ! -name '.*' | wc -l; }
before=$(objects)
rc=0
OS_PROJECT_NAME=beta cbtship backup-create --wait "$tmp/c.img" >/dev/null 2>"$tmp/q.err" || rc=$?
cat "$tmp/q.err"
check "a backup over beta's quota is refused (exit $rc)" test $rc -ne 0
check "  with the numbers" grep -q 'allowed (1) exceeded: 1 in use' "$tmp/q.err"
check "  before any I/O (no new object)" test "$(objects)" = "$before"
check "  and no record" test "$(OS_PROJECT_NAME=beta cbtship backup-list --format json | jq length)" = 1
refuse "a bad quota value is refused" cbtship quota-update --backups lots beta

# Two creates racing for the last slot.
check "quota-update --backups 2 beta" cbtship quota-update --backups 2 beta
OS_PROJECT_NAME=beta cbtship backup-create --wait "$tmp/a.img" >/dev/null 2>"$tmp/r1" &
p1=$!
OS_PROJECT_NAME=beta cbtship backup-create --wait "$tmp/c.img" >/dev/null 2>"$tmp/r2" &
p2=$!
rc1=0 rc2=0
wait $p1 || rc1=$?
wait $p2 || rc2=$?
check "two creates racing for the last slot: exactly one succeeds ($rc1, $rc2)" \
	test $(((rc1 == 0) + (rc2 == 0))) = 1
check "  the other was refused by the quota" bash -c "cat '$tmp/r1' '$tmp/r2' | grep -q -i quota"
check "  usage: 2 in use, none reserved" \
	test "$(cbtship quota-usage --format json beta | jq -c '[.backups.in_use, .backups.reserved]')" = "[2,0]"

# The configuration's defaults for projects without limits of their own.
printf '[DEFAULT]\nquota_backups = 1\n' >"$tmp/cbtship.conf"
check "with quota_backups = 1 in the configuration, gamma gets limit 1" \
	test "$(CBTSHIP_CONFIG=$tmp/cbtship.conf cbtship quota-show --format json gamma | jq .backups)" = 1
check "  gamma's first backup goes" \
	env CBTSHIP_CONFIG="$tmp/cbtship.conf" OS_PROJECT_NAME=gamma cbtship backup-create --wait "$tmp/a.img"
refuse "  its second is refused" \
	env CBTSHIP_CONFIG="$tmp/cbtship.conf" OS_PROJECT_NAME=gamma cbtship backup-create --wait "$tmp/c.img"

# A stuck state repaired.
sqlite3 "$CBTSHIP_STATE_DIR/catalog.db" "UPDATE backups SET status = 'restoring' WHERE id = '$a'" 2>/dev/null ||
	/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE backups SET status='restoring' WHERE id=?\", (sys.argv[2],)); c.commit()" "$CBTSHIP_STATE_DIR/catalog.db" "$a"
refuse "a restoring backup cannot be deleted without --force" \
	env OS_PROJECT_NAME=alpha cbtship backup-delete "$a"
check "backup-reset-state puts it back to available" \
	env OS_PROJECT_NAME=alpha cbtship backup-reset-state "$a"
check "  it is available" \
	test "$(OS_PROJECT_NAME=alpha cbtship backup-show --format json "$a" | jq -r .status)" = available
refuse "reset-state to another state is refused" cbtship backup-reset-state --state deleting "$a"
check "  and it deletes" env OS_PROJECT_NAME=alpha cbtship backup-delete "$a"
