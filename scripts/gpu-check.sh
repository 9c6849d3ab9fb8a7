#!/usr/bin/env bash
# Verifies the NCCL backend (training/Distributed/NcclCollective) on one GPU machine, in under 5 minutes: builds the
# check program against TorchSharp's CUDA build, runs two ranks as two processes, each doing float32 and float64
# all-reduces, a broadcast and a barrier on CUDA tensors and checking every result, then prints PASS or FAIL.
# Needs: the NVIDIA driver, NCCL 2 (libnccl.so.2: apt-get install libnccl2), the .NET 10 SDK and NuGet access (the first
# run restores TorchSharp-cuda-linux, a few GB).
# With 2+ GPUs the ranks use cuda:0 and cuda:1. With one GPU both use cuda:0: NCCL (2.5+) refuses two ranks on one GPU
# of one host, so each rank gets its own NCCL_HOSTID and they talk over NCCL's socket transport on loopback, as two
# hosts would.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="$root/.local/gpu-check"
log="$out/log"
mkdir -p "$log"

fail() { echo "gpu-check: FAIL: $*"; exit 1; }

command -v nvidia-smi >/dev/null || fail "no NVIDIA driver here (nvidia-smi not found): run this on a GPU machine"
gpus="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')"
[ "$gpus" -ge 1 ] || fail "nvidia-smi lists no GPU"
if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libnccl\.so\.2'; then
  echo "gpu-check: note: libnccl.so.2 is not in the loader cache; the check finds it only beside the program (apt-get install libnccl2)"
fi
command -v dotnet >/dev/null || fail "the .NET SDK is needed (dotnet not found)"

echo "gpu-check: building the check program with TorchSharp's CUDA build ($gpus GPU(s))"
if ! timeout 240 dotnet build scripts/gpu-check/GpuCheck.csproj -c Release -p:TorchBackend=cuda -nologo -clp:ErrorsOnly \
    -o "$out/bin" >"$log/build.txt" 2>&1; then
  tail -20 "$log/build.txt"
  fail "the build failed (log: $log/build.txt)"
fi

port=$(( 29600 + RANDOM % 300 ))
pids=()
for rank in 0 1; do
  if [ "$gpus" -ge 2 ]; then
    device=$rank
    env_for_rank=()
  else
    device=0
    env_for_rank=(NCCL_HOSTID="k8straining-gpu-check-$rank" NCCL_SOCKET_IFNAME=lo NCCL_IB_DISABLE=1 NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1)
  fi
  env "${env_for_rank[@]}" NCCL_DEBUG=WARN timeout 120 dotnet "$out/bin/GpuCheck.dll" "$rank" 2 "$port" "$device" \
    >"$log/rank-$rank.txt" 2>&1 &
  pids+=($!)
done

status=0
for rank in 0 1; do
  wait "${pids[$rank]}" || status=1
  echo "--- rank $rank (cuda:$([ "$gpus" -ge 2 ] && echo "$rank" || echo 0))"
  tail -15 "$log/rank-$rank.txt"
done

if [ "$status" = 0 ] && grep -q "rank 0: PASS" "$log/rank-0.txt" && grep -q "rank 1: PASS" "$log/rank-1.txt"; then
  echo "gpu-check: PASS: NCCL all-reduce (float32, float64, deterministic), broadcast and barrier on CUDA tensors, 2 ranks"
  exit 0
fi
fail "see the ranks' output above (logs: $log)"
