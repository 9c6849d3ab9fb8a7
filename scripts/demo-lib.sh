# Pieces the demos share (sourced by scripts/demo.sh and scripts/demo-node-loss.sh, never run alone): output helpers,
# the prerequisites check, the local cluster (scripts/local-cluster.sh) started in the background and stopped on exit,
# kubectl against it, and polling with a deadline. Set root, work and kubeconfig before sourcing.
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }

demo_check_prerequisites() {
  local f
  for f in .local/publish/localcluster/K8sTraining.LocalCluster.dll .local/publish/operator/K8sTraining.Operator.dll .local/publish/trainer/K8sTraining.Trainer.dll; do
    [ -f "$f" ] || fail "$f is missing; run make publish"
  done
  ls /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte* >/dev/null 2>&1 || fail "Fashion-MNIST is missing; run make deps"
  command -v kubectl >/dev/null || fail "kubectl is missing"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Starts scripts/local-cluster.sh (its settings come from the caller's LOCAL_* environment) with S3 on $s3_port, waits
# for its banner and the operator, prints the banner, and stops it all when the demo exits.
demo_start_cluster() {
  LOCAL_KUBECONFIG="$kubeconfig" LOCAL_S3_PORT="$s3_port" setsid "$root/scripts/local-cluster.sh" >"$work/local-cluster.log" 2>&1 &
  cluster_pid=$!
  trap demo_cleanup EXIT
  trap 'exit 130' INT TERM
  for _ in $(seq 600); do
    grep -q "Ctrl+C stops everything" "$work/local-cluster.log" 2>/dev/null && break
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/local-cluster.log" >&2; fail "the local cluster did not start"; }
    sleep 0.1
  done
  grep -q "operator     running" "$work/local-cluster.log" || { cat "$work/local-cluster.log" >&2; fail "the operator is not running"; }
  sed -n '/K8sTraining local cluster/,/operator /p' "$work/local-cluster.log"
  k get crd trainingjobs.k8straining.io >/dev/null
}

demo_cleanup() {
  say "stopping everything"
  kill -TERM "$cluster_pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$cluster_pid" 2>/dev/null || true
  wait "$cluster_pid" 2>/dev/null || true
}

k() { kubectl --kubeconfig "$kubeconfig" "$@"; }

# The S3 credentials Secret, pointing where this demo's s3rver listens.
demo_s3_secret() {
  sed "s#AWS_ENDPOINT_URL: .*#AWS_ENDPOINT_URL: http://127.0.0.1:$s3_port#" examples/s3-credentials.yaml > "$work/s3-credentials.yaml"
  echo "$work/s3-credentials.yaml"
}

field() { k get tj "$job" -o "jsonpath={$1}" 2>/dev/null || true; }

wait_for() { # description, seconds, command...
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { k get tj,pods -o wide >&2 || true; fail "timed out waiting for $what"; }
    sleep 1
  done
}

podlog() { # the trainer's log: kubectl logs, or the node agent's file when the API server double has no /log
  k logs "$1" 2>/dev/null || cat "$root"/.local/nodes/*/pods/"${ns}_$1"_*/containers/trainer/*.log 2>/dev/null || true
}
