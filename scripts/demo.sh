#!/usr/bin/env bash
# `make demo`: for now the trainer's own story (SIGTERM mid-epoch, exact resume, accuracy); the cluster story replaces it.
set -euo pipefail
exec "$(dirname "$0")/demo-trainer.sh" "$@"
