#!/usr/bin/env bash
# The end-to-end suite against the real compose stack: builds and starts it, waits for the
# gateway, runs apps/stack-e2e against it, and takes it down again (volumes included).
# Uses the local stand-in base images when no registry is reachable (../shared/compose-stand-ins).
set -euo pipefail
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
if ! docker info >/dev/null 2>&1 || ! docker image inspect node:24-bookworm-slim >/dev/null 2>&1; then
  stand_ins=../shared/compose-stand-ins/build
  [[ -x "$stand_ins" ]] && "$stand_ins"
fi
# A TLS-inspecting proxy in front of the npm registry: hand its CA to the image build.
if [[ -z "${NPM_CA_CERT:-}" ]] && compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  NPM_CA_CERT="$(cat /usr/local/share/ca-certificates/*.crt)"
  export NPM_CA_CERT
fi

project="shop-e2e-$$"
port="${GATEWAY_PORT:-18080}"
down() { GATEWAY_PORT="$port" "${compose[@]}" -p "$project" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap down EXIT

GATEWAY_PORT="$port" "${compose[@]}" -p "$project" up -d --build
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/health/ready"; echo

cd apps/stack-e2e
GATEWAY_URL="http://127.0.0.1:$port" npx tap --disable-coverage
