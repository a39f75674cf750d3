#!/usr/bin/env bash
# A new user's tour of Experiments II through the web API, on a real folder (images/ + masks/, e.g. ../shared/datasets/busi):
# starts MedSeg (Release, fresh data folder), uploads the folder, benchmarks three architectures on it (a leaderboard with
# a small epoch budget), compares the first two runs, reads the best run's review metrics (HD95 in px and mm, FP/FN),
# downloads its weights and reproduces one prediction in PyTorch (Debian's python3-torch), then predicts that image with
# an ensemble of the three runs. Prints what each step answered.
# Usage: scripts/trial-web.sh [folder] [epochs] [models]   (defaults: ../shared/datasets/busi 2 unext,segformer,hrnet)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/datasets/busi}"
epochs="${2:-2}"
models="${3:-unext,segformer,hrnet}"
port="${MEDSEG_BENCH_PORT:-5094}"
work="$(mktemp -d /tmp/medseg-trial-XXXXXX)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; [ -n "${MEDSEG_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
dotnet build MedSeg.Web -c Release -v q -nologo >/dev/null
MedSeg__DataRoot="$work/data" MedSeg__Admin__Email=admin@medseg.test MedSeg__Admin__Password=Admin-Pass-1 \
  dotnet MedSeg.Web/bin/Release/net10.0/MedSeg.Web.dll --urls "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
api="http://127.0.0.1:$port/api"
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$port/account/login" && break; sleep 0.5; done
token="$(curl -sf -H 'Content-Type: application/json' -d '{"email":"admin@medseg.test","password":"Admin-Pass-1"}' "$api/tokens" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
auth=(-H "Authorization: Bearer $token")
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

if [ -d "$data/images" ]; then
  (cd "$data" && zip -q -0 -r "$work/upload.zip" images masks)
else # an MSD / nnU-Net folder (imagesTr, labelsTr, dataset.json) goes up as it is
  (cd "$data" && zip -q -0 -r "$work/upload.zip" . -x '.*' -x '*/.*' -x 'README*' -x 'MANIFEST*')
fi
dataset="$(curl -sf "${auth[@]}" -F "name=$(basename "$data")" -F "file=@$work/upload.zip" "$api/datasets" | json 'd["id"]')"
echo "uploaded: $(curl -sf "${auth[@]}" "$api/datasets/$dataset" | json '"%d cases, %d classes" % (d["cases"], d["classCount"])')"

t0=$(date +%s)
board="$(python3 -c 'import json,sys; print(json.dumps({"datasetId": sys.argv[1], "models": sys.argv[2].split(","), "epochs": int(sys.argv[3])}))' \
  "$dataset" "$models" "$epochs" | curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d @- "$api/leaderboards" | json 'd["id"]')"
while true; do
  status="$(curl -sf "${auth[@]}" "$api/leaderboards/$board" | json 'd["status"]')"
  [ "$status" = running ] && sleep 15 || break
done
echo "leaderboard ($status, $(( $(date +%s) - t0 )) s):"
curl -sf "${auth[@]}" "$api/leaderboards/$board/table.csv"
runs="$(curl -sf "${auth[@]}" "$api/leaderboards/$board" | json '",".join(r["runs"][0]["experimentId"] for r in d["rows"] if r["runs"])')"
first="${runs%%,*}"; rest="${runs#*,}"; second="${rest%%,*}"
echo "compare $first,$second:"
curl -sf "${auth[@]}" "$api/compare?ids=$first,$second" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("  diff:", [(x["field"], x["values"]) for x in d["diff"]])
print("  metrics:", [(r["runId"][:8], r["metrics"]) for r in d["metrics"]["runs"]])
print("  largest spread:", [(c["name"], round(c["spread"], 3)) for c in d["cases"][:3]])'
echo "review of $first (worst first):"
curl -sf "${auth[@]}" "$api/experiments/$first/cases" | python3 -c '
import json, sys, statistics
rows = json.load(sys.stdin)
for r in rows[:3]: print("  %s dice %.3f hd95 %s px (%s mm) fp %d fn %d" % (r["name"], r["dice"], r["hd95"], r["hd95Mm"], r["fp"], r["fn"]))
hd = [r["hd95"] for r in rows if r["hd95"] is not None]
print("  %d cases, mean Dice %.3f, median HD95 %s px" % (len(rows), statistics.mean(r["dice"] for r in rows), round(statistics.median(hd), 2) if hd else None))
k = max((len(r.get("classes") or []) for r in rows), default=0)
for c in range(k):
    v = [r["classes"][c] for r in rows if len(r.get("classes") or []) > c]
    hm = [x["hd95Mm"] for x in v if x.get("hd95Mm") is not None]
    print("  class %s: mean Dice %.3f, median HD95 %s mm" % (v[0]["class"], statistics.mean(x["dice"] for x in v), round(statistics.median(hm), 2) if hm else None))'
# The PyTorch loader rebuilds UNeXt and U-Net (scripts/bench/torch_models.py): download a run of one of them when there is one.
twin="$(curl -sf "${auth[@]}" "$api/leaderboards/$board" | json 'next((r["runs"][0]["experimentId"] for r in d["rows"] if r["runs"] and r["model"] in ("unext", "unet")), "'"$first"'")')"
curl -sf "${auth[@]}" -o "$work/export.zip" "$api/experiments/$twin/export.zip"
echo "weights of $twin:"
echo "export.zip: $(python3 -c 'import zipfile,sys; print(sorted(zipfile.ZipFile(sys.argv[1]).namelist()))' "$work/export.zip")"
if [ ! -d "$data/images" ]; then
  echo "(a volume dataset: the PyTorch load and the ensemble take 2D images; skipped)"
  exit 0
fi
image="$(find "$data/images" -type f | sort | head -1)"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 scripts/export/load_medseg.py --export "$work/export.zip" --image "$image" --mask "$work/torch-mask.pgm" && echo "PyTorch predicted $(basename "$image")"
else
  echo "python3-torch is not installed: skipped the PyTorch load"
fi
ids="$(echo "$runs" | tr ',' '\n' | tail -n +2 | paste -sd,)"
pred="$(curl -sf "${auth[@]}" -F "files=@$image" -F "experimentIds=$ids" "$api/experiments/$first/predictions")"
echo "ensemble prediction: $(echo "$pred" | head -c 300)"
