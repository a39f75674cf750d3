#!/usr/bin/env bash
# Load test on loopback, bounded and self-stopping: starts MedSeg on a fresh data folder with 2 concurrent training jobs,
# then 50 signed-in clients browse pages and APIs and 20 SignalR clients follow the live experiments for 60 s (at most
# 20 000 requests). Prints p50/p95 latency, errors and server/child memory (docs/benchmarks.md quotes it).
# Usage: scripts/load-test.sh [--clients 50] [--hub-clients 20] [--seconds 60] [--trainings 2]
set -euo pipefail
cd "$(dirname "$0")/.."
port="${MEDSEG_LOAD_PORT:-5089}"
data="$(mktemp -d /tmp/medseg-load-XXXXXX)"
dotnet build MedSeg.Web -c Release -v q -nologo >/dev/null
dotnet build MedSeg.LoadTest -c Release -v q -nologo >/dev/null
MedSeg__DataRoot="$data" MedSeg__Admin__Email=admin@medseg.test MedSeg__Admin__Password=Admin-Pass-1 \
  MedSeg__Jobs__WorkerCount=2 MedSeg__Training__Threads=1 MedSeg__Training__Device=cpu \
  dotnet MedSeg.Web/bin/Release/net10.0/MedSeg.Web.dll --urls "http://127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; pkill -f "$data" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
[ -n "${MEDSEG_LOAD_KEEP_LOG:-}" ] && trap "cp $data/server.log $MEDSEG_LOAD_KEEP_LOG; cleanup" EXIT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/account/login" && break
  kill -0 "$server" 2>/dev/null || { echo "the server exited:"; cat "$data/server.log"; exit 1; }
  sleep 0.5
done
dotnet MedSeg.LoadTest/bin/Release/net10.0/MedSeg.LoadTest.dll --url "http://127.0.0.1:$port" --server-pid "$server" "$@"
