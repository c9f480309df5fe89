#!/usr/bin/env bash
# HTTP throughput of a hello-world axum server with no auth, with JwtAuthLayer, and with
# jsonwebtoken::decode in axum::middleware::from_fn; with REDIS_URL set, also with the pair check
# on Redis, and with DATABASE_URL set on PostgreSQL, each without and with the near cache; and a
# resource server verifying an RS256 token with its verified-token cache (resource-rs256). The
# server runs on core 0 (one thread), wrk on core 1, over loopback; rounds interleave the servers
# and the median round counts.
#
#   bash benches/http.sh                      # ROUNDS=3 DURATION=10s CONNECTIONS=32
#   REDIS_URL=redis://127.0.0.1:6379 bash benches/http.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bash benches/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
ADDR=127.0.0.1:${PORT:-3199}
MODES=(none layer jsonwebtoken resource-rs256)
features=()
if [ -n "${REDIS_URL:-}" ]; then
    MODES+=(layer-redis layer-redis-cache)
    features+=(--features redis)
fi
if [ -n "${DATABASE_URL:-}" ]; then
    MODES+=(layer-postgres layer-postgres-cache)
    features+=(--features postgres)
fi

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
cargo build --release --quiet --example bench_server "${features[@]}"
server=target/release/examples/bench_server
results=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$results"' EXIT

for round in $(seq "$ROUNDS"); do
    for mode in "${MODES[@]}"; do
        MODE=$mode ADDR=$ADDR REDIS_URL=${REDIS_URL:-} DATABASE_URL=${DATABASE_URL:-} taskset -c 0 "$server" >"$results/server.out" &
        pid=$!
        for _ in $(seq 100); do grep -q '^listening' "$results/server.out" 2>/dev/null && break; sleep 0.05; done
        token=$(sed -n 's/^token: //p' "$results/server.out")
        taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
            -H "authorization: Bearer $token" "http://$ADDR/" >"$results/$mode.$round"
        kill "$pid"; wait "$pid" 2>/dev/null || true
        if grep -q "Non-2xx" "$results/$mode.$round"; then
            echo "error: $mode answered non-2xx statuses" >&2; cat "$results/$mode.$round" >&2; exit 1
        fi
    done
done

# Median round of each mode: requests/s, p50, p99.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f\n", v}'; }
declare -A rps p50 p99
for mode in "${MODES[@]}"; do
    rps[$mode]=$(cat "$results/$mode".* | awk '/^Requests\/sec/ {print $2}' | median)
    p50[$mode]=$(cat "$results/$mode".* | awk '$1=="50%" {print $2}' | ms | median)
    p99[$mode]=$(cat "$results/$mode".* | awk '$1=="99%" {print $2}' | ms | median)
done

echo "wrk -t1 -c$CONNECTIONS -d$DURATION --latency, $ROUNDS rounds, server on core 0, wrk on core 1"
printf '%-18s %12s %9s %9s %14s %14s\n' server "req/s" "p50 ms" "p99 ms" "vs no auth" "vs jwt::decode"
for mode in "${MODES[@]}"; do
    awk -v m="$mode" -v r="${rps[$mode]}" -v a="${p50[$mode]}" -v b="${p99[$mode]}" \
        -v none="${rps[none]}" -v jwt="${rps[jsonwebtoken]}" \
        'BEGIN { printf "%-18s %12.0f %9.3f %9.3f %14.2f %14.2f\n", m, r, a, b, r / none, r / jwt }'
done
if [ -n "${REDIS_URL:-}" ]; then
    awk -v c="${rps[layer-redis-cache]}" -v r="${rps[layer-redis]}" -v m="${rps[layer]}" \
        'BEGIN { printf "pair check on Redis / in memory: %.2f without the near cache, %.2f with it\n", r / m, c / m }'
fi
if [ -n "${DATABASE_URL:-}" ]; then
    awk -v c="${rps[layer-postgres-cache]}" -v r="${rps[layer-postgres]}" -v m="${rps[layer]}" \
        'BEGIN { printf "pair check on PostgreSQL / in memory: %.2f without the near cache, %.2f with it\n", r / m, c / m }'
fi
