#!/usr/bin/env bash
# Runs every test (engine, data, web, end-to-end in Chromium), installing what the tests need first, and prints
# one summary line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }

# Debian packages the tests need: chromium and a font for the end-to-end tests, redis-server for the multi-node tests,
# python3-nibabel for the NIfTI tests, python3-torch (with libopenblas0-pthread) for the test that loads a weight download in
# PyTorch and reproduces the web's prediction. Whatever is missing is installed with one apt-get update, as root or through sudo.
packages=(chromium fonts-dejavu-core redis-server python3-nibabel python3-torch libopenblas0-pthread)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
    [ -t 0 ] || as_root+=(-n) # no terminal to ask for a password on: fail instead of waiting
  else
    echo "The tests need these Debian packages: ${missing[*]}. Run this script as root or as a sudoer, or install them" \
      "first as root: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing the Debian packages the tests need: ${missing[*]}..."
  # env, not "VAR=value cmd": with an empty as_root the assignment would be run as a command.
  if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "Could not install ${missing[*]} (as $(id -un)${as_root[*]:+ through sudo}). Install them as root:" \
      "apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
export MEDSEG_CHROMIUM="${MEDSEG_CHROMIUM:-$(command -v chromium)}"

dotnet tool restore >/dev/null
results="$(mktemp -d)"
dotnet test MedSeg.sln -c Release --logger "trx;LogFilePrefix=medseg" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
# The names of failed tests, last before the summary, so that a log's tail (all CI keeps) says what failed.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | grep -o 'testName="[^"]*"' | sed 's/^testName="/FAILED: /; s/"$//' || true
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
