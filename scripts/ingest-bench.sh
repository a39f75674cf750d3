#!/usr/bin/env bash
# Ingest benchmark: a dataset archive uploaded end to end (HTTP body → staging → unzip → pair and decode every file →
# commit), against `unzip` of the same archive into the same disk measured in the same run (the floor any ingest pays),
# with the server's resident memory sampled every 50 ms during the upload (peak − idle = what the ingest costs).
# A 2D folder is measured at 1× and 4× (the same pairs copied under four names: the archive grows, the memory must not);
# an MSD/nnU-Net folder (dataset.json) is uploaded as volumes and reported as slices per second, against nibabel reading
# and slicing the same volumes (python3-nibabel).
# Usage: scripts/ingest-bench.sh [2D folder (images/ + masks/)] [MSD folder]
#   defaults: ../shared/datasets/kvasir-seg and ../shared/datasets/hippocampus-msd (nothing derived from them is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
flat="${1:-../shared/datasets/kvasir-seg}"
msd="${2:-../shared/datasets/hippocampus-msd}"
port="${MEDSEG_BENCH_PORT:-5091}"
work="$(mktemp -d /tmp/medseg-ingest-XXXXXX)"
data="$work/data"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v zip >/dev/null && command -v unzip >/dev/null || { echo "needs zip and unzip (apt-get install zip unzip)" >&2; exit 1; }
dotnet build MedSeg.Web -c Release -v q -nologo >/dev/null

start_server() {
  rm -rf "$data"; mkdir -p "$data"
  MedSeg__DataRoot="$data" MedSeg__Admin__Email=admin@medseg.test MedSeg__Admin__Password=Admin-Pass-1 \
    dotnet MedSeg.Web/bin/Release/net10.0/MedSeg.Web.dll --urls "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/account/login" && break
    sleep 0.5
  done
  token="$(curl -sf -H 'Content-Type: application/json' -d '{"email":"admin@medseg.test","password":"Admin-Pass-1"}' \
    "http://127.0.0.1:$port/api/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
  sleep 2 # let start-up work settle before the idle reading
}
stop_server() {
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=""
  # The server's own account of the stages (unpack+scan, commit), for where the time went.
  grep -hoE "Scanned upload .*|Dataset [0-9a-f-]+ .* committed .*|Imported .*" "$work/server.log" | sed 's/^/  server: /' || true
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# upload NAME ZIP [extra curl args]: prints "seconds peak_MiB idle_MiB cases"
upload() {
  local name="$1" zip="$2"; shift 2
  local idle peak=0 out="$work/answer.json"
  idle="$(rss_kib "$server")"
  local t0; t0="$(date +%s.%N)"
  curl -s -o "$out" -w '%{http_code}' -H "Authorization: Bearer $token" -F "name=$name" -F "file=@$zip" "$@" \
    "http://127.0.0.1:$port/api/datasets" >"$work/code" &
  local client=$!
  while kill -0 "$client" 2>/dev/null; do
    local now; now="$(rss_kib "$server")"; [ "$now" -gt "$peak" ] && peak="$now"
    sleep 0.05
  done
  wait "$client"
  local t1; t1="$(date +%s.%N)"
  [ "$(cat "$work/code")" = "201" ] || { echo "upload of $name answered $(cat "$work/code"): $(head -c 600 "$out")" >&2; exit 1; }
  local cases; cases="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cases"])' "$out")"
  echo "$(echo "$t1 - $t0" | bc -l) $((peak / 1024)) $((idle / 1024)) $cases"
}

floor() { # seconds to unzip the archive on the same disk
  local zip="$1" dir="$work/unzipped"; rm -rf "$dir"; mkdir -p "$dir"
  local t0; t0="$(date +%s.%N)"; unzip -q "$zip" -d "$dir"; local t1; t1="$(date +%s.%N)"; rm -rf "$dir"
  echo "$t1 - $t0" | bc -l
}

if [ -d "$flat/images" ]; then
  for copies in ${MEDSEG_BENCH_COPIES:-1 4}; do
    tree="$work/flat-$copies"; mkdir -p "$tree/images" "$tree/masks"
    for c in $(seq 1 "$copies"); do
      for f in "$flat"/images/*; do cp "$f" "$tree/images/c${c}_$(basename "$f")"; done
      for f in "$flat"/masks/*; do cp "$f" "$tree/masks/c${c}_$(basename "$f")"; done
    done
    (cd "$tree" && zip -q -0 -r "$work/flat-$copies.zip" images masks) # images are compressed already
    rm -rf "$tree"
    size="$(du -m "$work/flat-$copies.zip" | cut -f1)"
    start_server
    read -r seconds peak idle cases < <(upload "flat-$copies" "$work/flat-$copies.zip")
    stop_server
    unzip_s="$(floor "$work/flat-$copies.zip")"
    printf '%s ×%d: %d pairs, %d MiB archive: ingest %.2f s (unzip alone %.2f s, ratio %.1f×); server RSS idle %d MiB, peak %d MiB (+%d MiB)\n' \
      "$(basename "$flat")" "$copies" "$cases" "$size" "$seconds" "$unzip_s" "$(echo "$seconds / $unzip_s" | bc -l)" "$idle" "$peak" "$((peak - idle))"
    rm -f "$work/flat-$copies.zip"
  done
fi

if [ -f "$msd/dataset.json" ]; then
  (cd "$msd" && zip -q -0 -r "$work/msd.zip" dataset.json imagesTr labelsTr $( [ -d imagesTs ] && echo imagesTs ))
  start_server
  read -r seconds peak idle cases < <(upload msd "$work/msd.zip")
  stop_server
  baseline="$(/usr/bin/python3 - "$msd" <<'PY'
import glob, os, sys, time
import nibabel as nib
root = sys.argv[1]
t0 = time.perf_counter(); slices = 0
for path in sorted(glob.glob(os.path.join(root, "imagesTr", "*.nii*"))):
    if os.path.basename(path).startswith("."): continue
    img = nib.as_closest_canonical(nib.load(path)); data = img.get_fdata(dtype="float32")
    lab = nib.load(os.path.join(root, "labelsTr", os.path.basename(path))); labels = nib.as_closest_canonical(lab).get_fdata(dtype="float32")
    axis = int(max(range(3), key=lambda a: img.header.get_zooms()[a]))
    for k in range(data.shape[axis]):
        _ = data.take(k, axis=axis).copy(); _ = labels.take(k, axis=axis).copy(); slices += 1
print(f"{slices} {time.perf_counter() - t0:.3f}")
PY
)"
  read -r nib_slices nib_seconds <<<"$baseline"
  printf '%s: %d slices: import %.2f s = %.0f slices/s (nibabel read + slice alone: %d slices in %.2f s = %.0f slices/s, ratio %.1f×); server RSS idle %d MiB, peak %d MiB\n' \
    "$(basename "$msd")" "$cases" "$seconds" "$(echo "$cases / $seconds" | bc -l)" "$nib_slices" "$nib_seconds" \
    "$(echo "$nib_slices / $nib_seconds" | bc -l)" "$(echo "$seconds / $nib_seconds" | bc -l)" "$idle" "$peak"
fi
