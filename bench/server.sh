#!/usr/bin/env bash
# The token service's benchmark: logins per second and p50/p99 latency over
# HTTP on loopback, closed loop at concurrency 16, each case bounded in time,
# on SQLite (embedded) and PostgreSQL, with right codes (many contracts, each
# once per 30-second step) and wrong codes. Figures, no assertions.
#
# Usage: bench/server.sh [SECONDS]   (per case; default 10)
# Environment: BENCH_CONCURRENCY (16), BENCH_CONTRACTS (right-code contracts,
# 20000), BENCH_DATABASE_URL (a PostgreSQL server to create a scratch database
# on; default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_DATABASES ("sqlite postgres").
# The server runs with --lockout 100 so that the wrong-code case can send 99
# real checks per contract before any "locked".
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
concurrency="${BENCH_CONCURRENCY:-16}"
contracts="${BENCH_CONTRACTS:-20000}"
databases="${BENCH_DATABASES:-sqlite postgres}"
admin_url="${BENCH_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"

cargo build --release --locked -p softtoken-server --bin softtoken-server --example loadgen >/dev/null 2>&1
server=target/release/softtoken-server
loadgen=target/release/examples/loadgen

work=$(mktemp -d)
pid=""
db=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$db" ] && psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "server bench: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg); $seconds s per case, concurrency $concurrency"
for kind in $databases; do
  dir="$work/$kind"
  mkdir -p "$dir"
  args=(--data-dir "$dir")
  if [ "$kind" = postgres ]; then
    if ! psql -q "$admin_url" -c "SELECT 1" >/dev/null 2>&1; then
      echo "postgres: skipped: no PostgreSQL at $admin_url (set BENCH_DATABASE_URL, or run scripts/setup.sh)"
      continue
    fi
    db="softtoken_bench_$$"
    psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
    base="${admin_url%%\?*}"
    args+=(--database "${base%/*}/$db?sslmode=disable")
  fi
  keys=$("$server" "${args[@]}" add-bank "Bench Bank" --json 2>/dev/null)
  bank_key=$(printf '%s' "$keys" | sed -n 's/.*"bank_key":"\([^"]*\)".*/\1/p')
  # shellcheck disable=SC2086
  "$server" "${args[@]}" --listen 127.0.0.1:0 --lockout 100 ${BENCH_SERVER_ARGS:-} \
    --issue-per-minute 1000000000 --issue-burst 1000000000 >"$dir/out" 2>"$dir/log" &
  pid=$!
  for _ in $(seq 100); do
    grep -q 'http://' "$dir/out" 2>/dev/null && break
    sleep 0.1
  done
  url=$(grep -o 'http://[0-9.:]*' "$dir/out" | head -1)
  [ -n "$url" ] || { echo "$kind: the server did not start:"; cat "$dir/log"; exit 1; }
  echo "$kind: $(head -1 "$dir/out")"
  for mode in right wrong; do
    if [ "$mode" = right ]; then n="$contracts"; each=1; else n=1000; each=99; fi
    printf '%-8s ' "$kind"
    "$loadgen" "$url" "$bank_key" "$mode" --contracts "$n" --wrong-each "$each" \
      --concurrency "$concurrency" --seconds "$seconds" --cpu-of "$pid"
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  if [ -n "$db" ]; then
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    db=""
  fi
done
echo "server bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
