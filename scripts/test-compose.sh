#!/usr/bin/env bash
# The end-to-end suite against the real compose stack: builds the images, starts the stack on
# fresh volumes (cold start), takes the containers down and starts them again on the same volumes
# (warm start), printing the time from `up` to the gateway's /health/ready each time; checks that
# a token issued before the restart still works (auth keeps its dev key); runs apps/stack-e2e
# against the stack, and takes it down again (volumes included).
# Uses the local stand-in base images when no registry is reachable (../shared/compose-stand-ins).
set -euo pipefail
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
if ! docker info >/dev/null 2>&1 || ! docker image inspect node:24-bookworm-slim >/dev/null 2>&1; then
  stand_ins=../shared/compose-stand-ins/build
  [[ -x "$stand_ins" ]] && "$stand_ins"
fi

project="shop-e2e-$$"
export GATEWAY_PORT="${GATEWAY_PORT:-18080}"
# The suite sends thousands of requests from one address and one account: the same generous limits
# as its own stack (GENEROUS_LIMITS in apps/stack-e2e/test/stack.ts), handed to this project only.
export RATE_LIMIT_MAX=1000000 RATE_LIMIT_ANONYMOUS_MAX=1000000 RATE_LIMIT_LOGIN_MAX=1000000
export LOGIN_MAX_FAILURES_PER_ACCOUNT=1000000 LOGIN_MAX_FAILURES_PER_ADDRESS=1000000
gateway="http://127.0.0.1:$GATEWAY_PORT"
stack() { "${compose[@]}" -p "$project" "$@"; }
down() { stack down -v --remove-orphans >/dev/null 2>&1 || true; }
trap down EXIT

# From `up` to the first 200 of the gateway's /health/ready: the time a user waits for a working
# stack. Polled beside `up -d`, which returns only once the one-shot catalog-seed has started.
up_until_ready() {
  local label=$1 started ready up log
  log=$(mktemp)
  started=$(date +%s%N)
  stack up -d >"$log" 2>&1 &
  up=$!
  for _ in $(seq 900); do
    curl -fsS "$gateway/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  ready=$(date +%s%N)
  wait "$up" || { cat "$log" >&2; exit 1; }
  rm -f "$log"
  curl -fsS "$gateway/health/ready" >/dev/null || { stack ps; stack logs --tail 30; exit 1; }
  printf '%s start: gateway ready %.1f s after `up`\n' "$label" "$(((ready - started) / 1000000))e-3"
}

stack build
up_until_ready cold

# A token issued now must survive recreated containers: auth keeps its dev-only key in a volume.
token=$(curl -fsS "$gateway/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"${ADMIN_EMAIL:-admin@example.com}\",\"password\":\"${ADMIN_PASSWORD:-dev-only-admin-password}\"}" |
  node -e 'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => process.stdout.write(JSON.parse(s).accessToken))')

stack down >/dev/null 2>&1
up_until_ready warm

status=$(curl -sS -o /dev/null -w '%{http_code}' "$gateway/v1/auth/me" -H "authorization: Bearer $token")
if [[ "$status" != 200 ]]; then
  echo "a token issued before the restart is refused after it: $status" >&2
  exit 1
fi
echo "a token issued before the restart still works: $status"

cd apps/stack-e2e
GATEWAY_URL="$gateway" npx tap --disable-coverage
