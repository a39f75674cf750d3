#!/usr/bin/env bash
# "Defaults without tuning", measured through the web as a user gets them: starts MedSeg (Release, fresh data folder),
# uploads a 2D dataset folder (images/ + masks/) as it is, asks for the launch form's suggested settings
# (GET /api/datasets/{id}/suggestion?model=), launches exactly the request the form submits with no field changed, waits,
# and prints the suggestions with their reasons, the curve (every 10th epoch), the best validation Dice, and the wall time.
# Usage: scripts/defaults-web.sh [dataset folder] [model]      (default ../shared/datasets/kvasir-seg, unext)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/datasets/kvasir-seg}"
model="${2:-unext}"
port="${MEDSEG_BENCH_PORT:-5094}"
work="$(mktemp -d /tmp/medseg-defaults-XXXXXX)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; [ -n "${MEDSEG_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
dotnet build MedSeg.Web -c Release -v q -nologo >/dev/null
MedSeg__DataRoot="$work/data" MedSeg__Admin__Email=admin@medseg.test MedSeg__Admin__Password=Admin-Pass-1 MedSeg__Training__Device=cpu \
  dotnet MedSeg.Web/bin/Release/net10.0/MedSeg.Web.dll --urls "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
api="http://127.0.0.1:$port/api"
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$port/account/login" && break; sleep 0.5; done
token="$(curl -sf -H 'Content-Type: application/json' -d '{"email":"admin@medseg.test","password":"Admin-Pass-1"}' "$api/tokens" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
auth=(-H "Authorization: Bearer $token")
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

(cd "$data" && zip -q -0 -r "$work/upload.zip" images masks -x '.*' -x '*/.*')
dataset="$(curl -sf "${auth[@]}" -F "name=$(basename "$data")" -F "file=@$work/upload.zip" "$api/datasets" | json 'd["id"]')"
curl -sf "${auth[@]}" "$api/datasets/$dataset" | json '"dataset: %d cases, %d class(es)" % (d["cases"], d["classCount"])'
suggestion="$(curl -sf "${auth[@]}" "$api/datasets/$dataset/suggestion?model=$model")"
echo "$suggestion" | python3 -c 'import json,sys; [print("suggested %s = %s (%s)" % (s["label"], s["value"], s["reason"])) for s in json.load(sys.stdin)["suggestions"]]'
launch="$(echo "$suggestion" | json 'json.dumps(d["request"])')"
echo "launch (the form's request, no field changed): $launch"
t1=$(date +%s)
experiment="$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d "$launch" "$api/experiments" | json 'd["id"]')"
while true; do
  status="$(curl -sf "${auth[@]}" "$api/experiments/$experiment" | json 'd["summary"]["status"] + " epoch " + str(d["summary"].get("currentEpoch"))')"
  case "$status" in Completed*|Failed*|Cancelled*) break ;; esac
  sleep 30
done
t2=$(date +%s)
curl -sf "${auth[@]}" "$api/experiments/$experiment" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["metrics"]
print("status:", d["summary"]["status"], d.get("error") or "", d.get("note") or "")
print("| epoch | train loss | val loss | val Dice | val IoU | lr | s |")
print("|---:|---:|---:|---:|---:|---:|---:|")
best = max(m, key=lambda p: p["validationDice"]) if m else None
for p in m:
    if p["epoch"] % 10 == 0 or p["epoch"] == 1 or p is best or p is m[-1]:
        print("| %d%s | %.4f | %.4f | %.4f | %.4f | %.2g | %.1f |" % (p["epoch"], " (best)" if p is best else "", p["trainLoss"], p["validationLoss"],
              p["validationDice"], p["validationIoU"], p["learningRate"], p["seconds"]))
print("epochs: %d of %d, best validation Dice %.4f" % (len(m), d["summary"]["epochs"], d["summary"].get("bestDice") or 0))
print("train/validation cases: %d / %d; training time %.1f min (sum of epochs)" % (d["trainCases"], d["validationCases"], sum(p["seconds"] for p in m) / 60))'
echo "wall time: launch to end $((t2 - t1)) s"
