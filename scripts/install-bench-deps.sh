#!/usr/bin/env bash
# What `make bench` needs beyond scripts/install-deps.sh: Debian's python3-torch (PyTorch 1.13) for the side-by-side
# throughput rows (bench/pytorch/cnn_bench.py). `make test` never needs it. Idempotent.
set -euo pipefail

if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  echo "install-bench-deps: apt-get install python3-torch"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
echo "install-bench-deps: ok"
