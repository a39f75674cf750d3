#!/usr/bin/env bash
# What a GPU worker runs before it joins: the devices its libtorch sees (CUDA, GPUs, free memory), then one UNeXt
# training step (batch 8, 256²) and batch-1 inference timed on the device "auto" picks. Point LD_LIBRARY_PATH at a
# libtorch 2.10 CUDA build first (README, "Several machines"); without one it reports the CPU.
# Usage: scripts/gpu-check.sh [DEVICE]   (auto, cuda, cuda:N or cpu; default auto)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }
dotnet build MedSeg.Cli -c Release -v quiet -nologo >/dev/null
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,memory.free --format=csv || echo "nvidia-smi: not found"
exec dotnet MedSeg.Cli/bin/Release/net10.0/medseg.dll devices --check --device "${1:-auto}"
