#!/usr/bin/env bash
# Runs every test (engine, data, web, end-to-end in Chromium), installing what the tests need first, and prints
# one summary line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the end-to-end tests..."
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
    || { echo "Could not install chromium (apt-get install chromium); end-to-end tests need it." >&2; exit 1; }
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
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
