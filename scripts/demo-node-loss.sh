#!/usr/bin/env bash
# `make demo-node-loss`: a node that vanishes without warning, through kubectl on a 2-node local cluster. Starts the
# local cluster (scripts/local-cluster.sh, as make demo does) with LOCAL_NODES=2 and node-lifecycle timings shortened
# for a demo, applies the Fashion-MNIST example with spec.nodeLossToleranceSeconds 10 and nodeLossPolicy Wait, waits
# for a checkpoint, then freezes the trainer's node with kill (its processes die, no SIGTERM, no last checkpoint: a
# reclaimed VM). Shows `kubectl get nodes` (NotReady) and `kubectl describe tj` (condition NodeLost), waits for the
# replacement to resume from the last committed checkpoint on the other node and for the job to Succeed, and prints
# the recovery time. Exits 0 only if all of that happened.
#   DEMO_TIMEOUT_SECONDS  bounds the training (default 3600)
#   DEMO_EPOCHS           epochs to train (default 5, the example's)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
work="$root/.local/demo-node-loss"
kubeconfig="$work/kubeconfig"
timeout_s="${DEMO_TIMEOUT_SECONDS:-3600}"
job=fashion-mnist
ns=default
# shellcheck source=scripts/demo-lib.sh
. "$root/scripts/demo-lib.sh"
demo_check_prerequisites

# A real cluster's timings would make this demo wait minutes (NotReady after 50 s, pod GC after 40 s more); these keep
# every step of the story and take seconds. README "Nodes, heartbeats and node loss" lists the real defaults.
export LOCAL_NODES=2
export LOCAL_NODE_MONITOR_PERIOD=1 LOCAL_NODE_MONITOR_GRACE_PERIOD=10
export LOCAL_NODE_LEASE_DURATION=10 LOCAL_NODE_LEASE_RENEW_INTERVAL=2
export LOCAL_CLOUD_NODE_DELETION_DELAY=15 LOCAL_POD_GC_PERIOD=2 LOCAL_POD_GC_QUARANTINE=5
tolerance=10

rm -rf "$work"; mkdir -p "$work"
rm -rf "$root/.local/s3/k8straining/jobs/$job" "$root"/.local/nodes/*/pods/"${ns}_${job}-"* 2>/dev/null || true
s3_port="$(free_port)"

say "1/7 starting a 2-node local cluster (API server, node agents local-node and local-node-2, s3rver on port $s3_port, operator)"
echo "node lifecycle, shortened for the demo: NotReady ${LOCAL_NODE_MONITOR_GRACE_PERIOD}s after the last heartbeat (lease renewed every ${LOCAL_NODE_LEASE_RENEW_INTERVAL}s);"
echo "the cloud deletes a vanished node's Node ${LOCAL_CLOUD_NODE_DELETION_DELAY}s after that; pod GC removes its pods ${LOCAL_POD_GC_QUARANTINE}s later"
demo_start_cluster
k get nodes -o wide
k explain trainingjob.spec.nodeLossToleranceSeconds >/dev/null 2>&1 \
  || fail "the TrainingJob CRD has no spec.nodeLossToleranceSeconds: this build lacks the operator side of issue 12 (section 2)"

say "2/7 kubectl apply: the S3 Secret and the Fashion-MNIST job, tolerating a lost node for ${tolerance}s, policy Wait"
sed -e "s/^  maxRestarts: .*/&\n  nodeLossToleranceSeconds: $tolerance\n  nodeLossPolicy: Wait/" \
    -e "s/^    epochs: .*/    epochs: ${DEMO_EPOCHS:-5}/" examples/fashion-mnist-s3.yaml > "$work/job.yaml"
grep -E "epochs|nodeLoss" "$work/job.yaml"
k apply -f "$(demo_s3_secret)" -f "$work/job.yaml"
is_running() { [ "$(field .status.phase)" = Running ]; }
wait_for "the job to run" 300 is_running
node="$(k get pod "$job-attempt-1" -o 'jsonpath={.spec.nodeName}')"
k get pods -o wide

say "3/7 training on $node until the first checkpoint is committed"
has_checkpoint() { [ -n "$(field .status.resumeFrom.globalStep)" ]; }
wait_for "a checkpoint" "$timeout_s" has_checkpoint
k get tj "$job" -o wide
checkpoint="$(field .status.resumeFrom.globalStep)"
echo "last committed checkpoint: global step $checkpoint"
pid="$(cut -d' ' -f1 "$root"/.local/nodes/"$node"/pods/"${ns}_${job}-attempt-1"_*/containers/trainer/pid)"

say "4/7 $node vanishes: kubectl annotate node $node localcluster.k8straining.io/freeze=kill"
lost_at=$SECONDS
lost_epoch_ms=$(date +%s%3N)
k annotate node "$node" localcluster.k8straining.io/freeze=kill
# The step it had reached, from its log (its last checkpoint is what the replacement will resume from).
last_progress="$(podlog "$job-attempt-1" | grep -E '\(global [0-9]+/' | tail -1 || true)"
echo "$last_progress"
reached="$(echo "$last_progress" | sed -nE 's/.*\(global ([0-9]+)\/.*/\1/p')"
gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_for "the trainer process $pid to die with its node" 30 gone
echo "trainer process $pid is gone, with no SIGTERM and no last checkpoint"
not_ready() { k get node "$node" --no-headers 2>/dev/null | grep -q " NotReady "; }
wait_for "$node to turn NotReady" 120 not_ready
echo "after $((SECONDS - lost_at))s:"
k get nodes

say "5/7 kubectl describe tj: the operator says why it waits"
node_lost=0
for _ in $(seq 60); do
  k describe tj "$job" | grep -q "NodeLost" && { node_lost=1; break; }
  sleep 1
done
if [ "$node_lost" != 1 ]; then
  k describe tj "$job"
  fail "kubectl describe tj shows no NodeLost condition: this build lacks the operator side of issue 12 (section 2)"
fi
k describe tj "$job" | sed -n '/Conditions:/,/Events:/p'
k get pods -o wide

say "6/7 the old pod goes (taint manager, then pod GC once the Node is deleted); the replacement resumes on the other node"
replaced() { [ "$(field .status.attempt)" = 2 ] && k get pod "$job-attempt-2" >/dev/null 2>&1; }
wait_for "the replacement pod" 600 replaced
k get nodes
k get pods -o wide
resumed() { podlog "$job-attempt-2" | grep -q "Resuming at epoch"; }
wait_for "the replacement to resume" 600 resumed
# Recovery time: from the freeze to the replacement's "Resuming" log line (by its timestamp, not when we looked).
resumed_line="$(podlog "$job-attempt-2" | grep "Resuming at epoch" | head -1)"
resumed_epoch_ms="$(date -d "$(echo "$resumed_line" | cut -d' ' -f1)" +%s%3N 2>/dev/null || true)"
if [ -n "$resumed_epoch_ms" ]; then
  recovery="$(awk -v a="$lost_epoch_ms" -v b="$resumed_epoch_ms" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
else
  recovery=$((SECONDS - lost_at))
fi
line="$(echo "$resumed_line" | sed -E 's/.*(Resuming)/\1/')"
echo "pod $job-attempt-2 on $(k get pod "$job-attempt-2" -o 'jsonpath={.spec.nodeName}'): $line"
resumed_at="$(echo "$line" | sed -nE 's/.*\(global step ([0-9]+)\).*/\1/p')"
[ -n "$resumed_at" ] || fail "the replacement did not say where it resumed"
[ "$resumed_at" -ge "$checkpoint" ] || fail "the replacement resumed at global step $resumed_at, before the checkpoint $checkpoint committed before the loss"
[ -z "$reached" ] || echo "steps lost: $((reached - resumed_at)) (the old trainer had logged global step $reached; checkpoints every 200 steps)"

say "waiting for Succeeded"
finished() { p="$(field .status.phase)"; [ "$p" = Succeeded ] || { [ "$p" = Failed ] && fail "the job failed: $(field .status.conditions)"; }; }
wait_for "Succeeded" "$timeout_s" finished

say "7/7 the job as kubectl shows it"
k get tj
k describe tj "$job"
echo
echo "node $node lost; replacement resumed at global step $resumed_at after ${recovery}s (a default cluster: 5+ minutes);"
echo "preemptions: $(field .status.preemptions), restarts: $(field .status.restarts), test accuracy: $(field .status.testAccuracy)"
say "demo passed: a node lost without warning, NodeLost, a resume from the last committed checkpoint in ${recovery}s, Succeeded"
