#!/usr/bin/env bash
# Runs MedSeg on the embedded defaults: SQLite + Hangfire SQLite in ./data, training on CPU (or CUDA when libtorch CUDA
# is on the library path). Extra arguments go to the app, e.g. scripts/run.sh --urls http://0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }
# The app's data folder defaults to ./data in its working directory, and dotnet run starts a web project in the
# project's folder (MedSeg.Web/); name the repository's ./data explicitly unless MedSeg__DataRoot is set.
export MedSeg__DataRoot="${MedSeg__DataRoot:-$PWD/data}"
urls=()
# A worker (--role worker) needs no address; every other role gets localhost:5000 unless --urls is given.
[[ " $* " == *" --urls"* || " $* " == *" --role worker"* || "${MedSeg__Role:-}" == worker ]] || urls=(--urls "http://localhost:5000")
exec dotnet run --project MedSeg.Web -c Release -- "${urls[@]}" "$@"
