#!/usr/bin/env bash
# `make demo`: the whole story through kubectl on the local cluster. Starts the local control plane (API server double +
# node agent), s3rver and the operator (scripts/local-cluster.sh), applies the Fashion-MNIST example (cnn, S3
# checkpoints), evicts its pod part-way through an epoch with the Eviction API, shows the replacement resume at exactly
# that batch, waits for Succeeded, prints the job and its accuracy, and stops everything.
# Exits 0 only if all of that happened. DEMO_TIMEOUT_SECONDS bounds the training (default 3600).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="$root/.local/demo"
kubeconfig="$work/kubeconfig"
timeout_s="${DEMO_TIMEOUT_SECONDS:-3600}"
job=fashion-mnist
ns=default
steps_per_epoch=$(( (60000 + 128 - 1) / 128 ))
# shellcheck source=scripts/demo-lib.sh
. "$root/scripts/demo-lib.sh"
demo_check_prerequisites

rm -rf "$work"; mkdir -p "$work"
# A fresh checkpoint prefix: an old run's checkpoints would make the first attempt resume instead of start.
rm -rf "$root/.local/s3/k8straining/jobs/$job" "$root/.local/nodes/local-node/pods/${ns}_${job}-"* 2>/dev/null || true
s3_port="$(free_port)"

say "1/6 starting the local cluster (API server, node agent, s3rver on port $s3_port, operator)"
demo_start_cluster

say "2/6 kubectl apply: the S3 Secret and examples/fashion-mnist-s3.yaml"
k apply -f "$(demo_s3_secret)" -f examples/fashion-mnist-s3.yaml

is_running() { [ "$(field .status.phase)" = Running ]; }
wait_for "the job to run" 300 is_running
k get tj "$job"

say "3/6 training; evicting the pod part-way through epoch 0 (after its first progress line)"
has_progress() { podlog "$job-attempt-1" | grep -qE '\(global [0-9]+/'; }
wait_for "training progress" "$timeout_s" has_progress
podlog "$job-attempt-1" | grep -E '\(global [0-9]+/' | tail -1
cat > "$work/eviction.json" <<JSON
{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"$job-attempt-1","namespace":"$ns"}}
JSON
k create --raw "/api/v1/namespaces/$ns/pods/$job-attempt-1/eviction" -f "$work/eviction.json" >/dev/null
echo "evicted pod $job-attempt-1 (POST .../pods/$job-attempt-1/eviction)"

say "4/6 the operator replaces the pod; the replacement resumes from the checkpoint the trainer wrote on SIGTERM"
replaced() { [ "$(field .status.preemptions)" = 1 ] && [ "$(field .status.attempt)" = 2 ]; }
wait_for "the replacement" 300 replaced
k get tj "$job"
epoch="$(field .status.resumeFrom.epoch)"; step="$(field .status.resumeFrom.stepInEpoch)"; global="$(field .status.resumeFrom.globalStep)"
echo "status.lastTermination: $(field .status.lastTermination)"
echo "status.resumeFrom:      $(field .status.resumeFrom)"
[ "$(field .status.lastTermination.reason)" = EvictionByEvictionAPI ] || fail "the last termination is not the eviction"
[ "$(field .status.restarts)" = 0 ] || fail "the preemption was counted as a restart"
[ -n "$global" ] && [ "$step" -gt 0 ] && [ "$step" -lt "$steps_per_epoch" ] || fail "the eviction did not land inside an epoch (step '$step')"
expected="Resuming at epoch $epoch, step $step of epoch (global step $global)"
resumed() { podlog "$job-attempt-2" | grep -qF "$expected"; }
wait_for "the replacement to log: $expected" 600 resumed
echo "pod $job-attempt-2: $(podlog "$job-attempt-2" | grep -F "$expected" | sed -E 's/.*(Resuming)/\1/')"

say "5/6 while the replacement trains, the status follows it: live step, and the newest checkpoint in S3 as the resume point"
live() {
  [ "$(field .status.phase)" = Succeeded ] && fail "the job finished before the status showed a checkpoint newer than $global"
  r="$(field .status.resumeFrom.globalStep)"; [ -n "$r" ] && [ "$r" -gt "$global" ]
}
wait_for "a resume point past global step $global in the status" 300 live
k get tj "$job" -o wide
echo "status.resumeFrom: $(field .status.resumeFrom)"

say "waiting for Succeeded (the cnn trains ${steps_per_epoch} steps per epoch, 5 epochs)"
finished() { p="$(field .status.phase)"; [ "$p" = Succeeded ] || { [ "$p" = Failed ] && fail "the job failed: $(field .status.conditions)"; }; }
wait_for "Succeeded" "$timeout_s" finished

say "6/6 the job as kubectl shows it"
k get tj
k describe tj "$job"
accuracy="$(field .status.testAccuracy)"
echo
echo "preemptions: $(field .status.preemptions), restarts: $(field .status.restarts), resumed at epoch $epoch step $step (global $global), test accuracy: $accuracy"
awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.91) }' || fail "test accuracy $accuracy is below 0.91"
say "demo passed: a real preemption, an exact resume, Succeeded with accuracy $accuracy"
