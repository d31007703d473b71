#!/usr/bin/env bash
# The sandbox server from a shell, as a team whose CI is not in Rust would use it: start it, plan against it,
# change a group through the control endpoint as a third party, apply the reviewed plan, and see that group
# refused with nothing written to it (the request log), then stop the server.
#
#   bash tests/sandbox-server.sh [path/to/group-membership]
set -euo pipefail
tool=${1:-target/debug/group-membership}
command -v curl >/dev/null || { echo "this test needs curl"; exit 1; }
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

"$tool" sandbox examples/memberships.json > "$work/server.out" 2> "$work/server.err" &
server=$!
for _ in $(seq 100); do grep -q '^# ready$' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^# ready$' "$work/server.out" || { echo "the server did not start"; cat "$work/server.err"; exit 1; }
url=$(head -n 1 "$work/server.out" | awk '{print $4}')
eval "$(grep '^export ' "$work/server.out")"

status=0; "$tool" plan examples/memberships.json --out "$work/plan.json" > /dev/null || status=$?
[ "$status" -eq 2 ] || { echo "plan: expected exit 2, got $status"; exit 1; }

# Someone adds carol to the Danube Cloud group, then the log is cleared to see only the apply's requests.
curl -fsS -X PUT "${url}_sandbox/groups/danube/operators" -d '{"members": ["admin", "carol"]}' > /dev/null
curl -fsS -X DELETE "${url}_sandbox/requests"

status=0; "$tool" apply examples/memberships.json --plan "$work/plan.json" --output json > "$work/apply.json" || status=$?
[ "$status" -eq 1 ] || { echo "apply: expected exit 1 (a group refused), got $status"; exit 1; }
grep -q '"status": "changed_since_plan"' "$work/apply.json" || { echo "cloud/operators was not refused"; cat "$work/apply.json"; exit 1; }

curl -fsS "${url}_sandbox/requests" > "$work/requests.jsonl"
if grep -v '"method":"GET"' "$work/requests.jsonl" | grep -q '/accounts/group/operators'; then
  echo "a write reached the group that changed:"; cat "$work/requests.jsonl"; exit 1
fi
grep -q '"method":"PUT","path":"/api/v4/failover-groups/' "$work/requests.jsonl" || { echo "the other groups were not written"; exit 1; }
curl -fsS "${url}_sandbox/state" | grep -q '"operators":\["admin","carol"\]' || { echo "carol was lost"; exit 1; }

kill -INT "$server"; wait "$server" || true
echo "sandbox server shell test: ok"
