#!/usr/bin/env bash
# Accuracy through the web, as a user's script would get it: starts MedSeg (Release, fresh data folder), uploads an
# MSD / nnU-Net folder as it is, saves a split grouped by source volume, launches a label-map experiment with the launch
# form's suggested settings (GET /api/experiments/suggestions) on that split, waits, and prints the per-volume validation
# Dice of every class (GET /api/experiments/{id}/volumes), the epochs and the wall time.
# Usage: scripts/accuracy-web.sh [MSD folder] [model] [extra launch JSON fields, e.g. '"epochs":30']
set -euo pipefail
cd "$(dirname "$0")/.."
msd="${1:-../shared/datasets/hippocampus-msd}"
model="${2:-unext}"
extra="${3:-}"
port="${MEDSEG_BENCH_PORT:-5093}"
work="$(mktemp -d /tmp/medseg-accuracy-XXXXXX)"
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

(cd "$msd" && zip -q -0 -r "$work/upload.zip" . -x '.*' -x '*/.*' -x 'README*' -x 'MANIFEST*')
t0=$(date +%s)
dataset="$(curl -sf "${auth[@]}" -F "name=$(basename "$msd")" -F "file=@$work/upload.zip" "$api/datasets" | json 'd["id"]')"
curl -sf "${auth[@]}" "$api/datasets/$dataset" | json '"dataset: %d cases, %d classes %s, %s" % (d["cases"], d["classCount"], [c["name"] for c in d["classes"]], d["source"])'
split="$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d '{"kind":"grouped","validationFraction":0.2,"seed":1,"name":"by volume"}' \
  "$api/datasets/$dataset/splits" | json 'd["id"]')"
curl -sf "${auth[@]}" "$api/datasets/$dataset/splits" | json '"split by volume: " + str(d[0]["folds"][0])'
suggestions="$(curl -sf "${auth[@]}" "$api/experiments/suggestions?datasetId=$dataset&model=$model")"
echo "$suggestions" | python3 -c 'import json,sys; [print("suggested %s = %s (%s)" % (s["label"], s["value"], s["reason"])) for s in json.load(sys.stdin)]'
launch="$(echo "$suggestions" | python3 -c '
import json, sys
req = {"datasetId": sys.argv[1], "model": sys.argv[2], "name": "hippocampus, suggested settings", "splitId": sys.argv[3], "fold": 0}
for s in json.load(sys.stdin):
    f = s["field"][0].lower() + s["field"][1:]
    if s["field"] == "Normalization":
        req["normalization"] = s["name"]; req["windowLow"] = s.get("windowLow"); req["windowHigh"] = s.get("windowHigh")
    elif s["field"] == "Resize":
        req["resize"] = s["name"]
    else:
        req[f] = s["number"]
extra = sys.argv[4]
if extra: req.update(json.loads("{" + extra + "}"))
print(json.dumps(req))' "$dataset" "$model" "$split" "$extra")"
echo "launch: $launch"
experiment="$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d "$launch" "$api/experiments" | json 'd["id"]')"
t1=$(date +%s)
while true; do
  status="$(curl -sf "${auth[@]}" "$api/experiments/$experiment" | json 'd["summary"]["status"] + " epoch " + str(d["summary"].get("currentEpoch"))')"
  case "$status" in Completed*|Failed*|Cancelled*) break ;; esac
  sleep 20
done
t2=$(date +%s)
curl -sf "${auth[@]}" "$api/experiments/$experiment" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["metrics"]
print("status:", d["summary"]["status"], d.get("error") or "")
print("epochs: %d, best slice-mean Dice %.4f at epoch %s" % (len(m), d["summary"].get("bestDice") or 0, d["summary"].get("bestEpoch")))
last = m[-1] if m else {}
print("last epoch per-class Dice (slices):", last.get("classDice"), " per volume:", last.get("volumeDice"))'
curl -sf "${auth[@]}" "$api/experiments/$experiment/volumes" | python3 -c '
import json, sys, statistics
rows = json.load(sys.stdin)
rows = rows.get("volumes", rows) if isinstance(rows, dict) else rows
k = len(rows[0]["dice"]) if rows else 0
for c in range(k):
    vals = [r["dice"][c] for r in rows if r["dice"][c] is not None]
    hd = [r["hd95Mm"][c] for r in rows if r.get("hd95Mm") and r["hd95Mm"][c] is not None]
    print("class %d: per-volume Dice mean %.4f (median %.4f) over %d volumes; HD95 mean %.2f mm" % (c + 1, statistics.mean(vals), statistics.median(vals), len(vals), statistics.mean(hd) if hd else float("nan")))'
echo "wall time: upload+split $((t1 - t0)) s, training+evaluation $((t2 - t1)) s"
