#!/usr/bin/env bash
# make local-cluster: the local control plane (API server double + node agent), an S3 server (s3rver) and, when it is
# published, the operator, all in the foreground. Ctrl+C (SIGINT) or SIGTERM stops everything and leaves no process behind.
#
#   LOCAL_KUBECONFIG   where the kubeconfig is written (default .local/kubeconfig)
#   LOCAL_CLUSTER_PORT API server port on 127.0.0.1 (default 0: a free port)
#   LOCAL_S3_PORT      s3rver port on 127.0.0.1 (default 4568, where examples/s3-credentials.yaml points; a free
#                      port if 4568 is taken, and then the banner prints a Secret that matches)
#   LOCAL_S3_DIR       s3rver's data directory (default .local/s3)
#   LOCAL_S3_KEEP      set to 1 to keep its data (by default it is emptied at start, as the cluster's objects are gone)
#   LOCAL_NO_ADMISSION set to 1 to turn off the ServiceAccount, PriorityClass and Pod Security admission checks
#   LOCAL_NO_OPERATOR  set to 1 to leave the operator out
#   LOCAL_PROGRESS_INTERVAL_SECONDS  how often the operator reads running trainers into the status (default 5)
#   LOCAL_NODES        how many nodes (node agents): local-node, local-node-2, ... on 127.0.0.1, 127.0.0.2, ... (default 1)
# Node lifecycle timings, in seconds (default: a real cluster's; README "Nodes, heartbeats and node loss" says whose):
#   LOCAL_NODE_MONITOR_PERIOD (5)  LOCAL_NODE_MONITOR_GRACE_PERIOD (50)  LOCAL_NODE_STARTUP_GRACE_PERIOD (60)
#   LOCAL_DEFAULT_TOLERATION_SECONDS (300)  LOCAL_POD_GC_PERIOD (20)  LOCAL_POD_GC_QUARANTINE (40)
#   LOCAL_CLOUD_NODE_DELETION_DELAY (0)  LOCAL_NODE_LEASE_DURATION (40)  LOCAL_NODE_LEASE_RENEW_INTERVAL (10)
#   LOCAL_NODE_STATUS_REPORT_FREQUENCY (300)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
kubeconfig="${LOCAL_KUBECONFIG:-.local/kubeconfig}"
case "$kubeconfig" in /*) ;; *) kubeconfig="$root/$kubeconfig" ;; esac
logs="$root/.local/logs"
s3_dir="${LOCAL_S3_DIR:-$root/.local/s3}"
mkdir -p "$logs" "$s3_dir" "$(dirname "$kubeconfig")"
apiserver_dll="$root/.local/publish/localcluster/K8sTraining.LocalCluster.dll"
operator_dll="$root/.local/publish/operator/K8sTraining.Operator.dll"
s3rver="$root/tools/node_modules/.bin/s3rver"
[ -f "$apiserver_dll" ] || { echo "missing $apiserver_dll: run make publish" >&2; exit 1; }

pids=()
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  # Nothing may cut the stop short: a second SIGTERM (make forwards one to its child, on top of the one sent to the
  # group) used to end the script before its SIGKILL step, and a closed stdout (the reader of a pipe stopped with us)
  # used to kill it with SIGPIPE at the first echo. Either way the operator and s3rver were left running.
  trap '' INT TERM PIPE HUP
  { echo; echo "stopping the local cluster"; } 2>/dev/null || true
  # Each component runs in its own process group (setsid): signal the whole group, give it time, then SIGKILL.
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT
trap 'stop; exit 129' HUP

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# 1. The API server double and the node agent.
admission=()
[ "${LOCAL_NO_ADMISSION:-0}" = 1 ] && admission=(--no-admission)
# Each LOCAL_<SETTING> that is set becomes serve's --<setting> (LOCAL_NODE_MONITOR_GRACE_PERIOD: --node-monitor-grace-period).
node_flags=()
for setting in NODES NODE_MONITOR_PERIOD NODE_MONITOR_GRACE_PERIOD NODE_STARTUP_GRACE_PERIOD DEFAULT_TOLERATION_SECONDS \
  POD_GC_PERIOD POD_GC_QUARANTINE CLOUD_NODE_DELETION_DELAY NODE_LEASE_DURATION NODE_LEASE_RENEW_INTERVAL NODE_STATUS_REPORT_FREQUENCY; do
  var="LOCAL_$setting"
  if [ -n "${!var:-}" ]; then
    flag="--$(echo "$setting" | tr 'A-Z_' 'a-z-')"
    node_flags+=("$flag" "${!var}")
  fi
done
# Empty the log here, not in the child's redirection: the loop below must never read an earlier run's "serving at".
: >"$logs/control-plane.log"
setsid dotnet "$apiserver_dll" serve --port "${LOCAL_CLUSTER_PORT:-0}" --kubeconfig "$kubeconfig" \
  --audit-log "$logs/audit.jsonl" --state-dir "$root/.local" "${admission[@]}" "${node_flags[@]}" >"$logs/control-plane.log" 2>&1 &
pids+=("$!")
server=""
for _ in $(seq 300); do
  server="$(sed -nE 's/^local control plane serving at (http:[^ ]+)$/\1/p' "$logs/control-plane.log" | head -1)"
  [ -n "$server" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$logs/control-plane.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$server" ] || { echo "the control plane did not start; see $logs/control-plane.log" >&2; exit 1; }
nodes="$(sed -nE 's/^node agents: (.*)$/\1/p' "$logs/control-plane.log" | head -1)"
second_node="$(echo "$nodes" | sed -nE 's/.*, ([^ ,]+) \(127\.0\.0\.2\).*/\1/p')"

# 2. S3 (s3rver) on loopback with the bucket the examples use.
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.close()' "$1" 2>/dev/null; }
example_s3_port=4568 # examples/s3-credentials.yaml: AWS_ENDPOINT_URL http://127.0.0.1:4568
s3_note=""
if [ -n "${LOCAL_S3_PORT:-}" ]; then
  s3_port="$LOCAL_S3_PORT"
elif port_free "$example_s3_port"; then
  s3_port="$example_s3_port"
else
  s3_port="$(free_port)"
  s3_note="port $example_s3_port (where examples/s3-credentials.yaml points) is taken; S3 listens on $s3_port instead"
  echo "warning: $s3_note" >&2
fi
# The cluster's objects live in memory and are gone: so are the jobs that owned the checkpoints in S3, and a
# re-created job of the same name must not find another job's checkpoints at its prefix.
if [ "${LOCAL_S3_KEEP:-0}" != 1 ]; then
  rm -rf "$s3_dir"
  mkdir -p "$s3_dir"
fi
# The Secret the examples need, pointing where S3 listens here: examples/s3-credentials.yaml itself on the example's port.
if [ "$s3_port" = "$example_s3_port" ]; then
  s3_secret=examples/s3-credentials.yaml
else
  s3_secret=.local/s3-credentials.yaml
  sed "s#AWS_ENDPOINT_URL: .*#AWS_ENDPOINT_URL: http://127.0.0.1:$s3_port#" examples/s3-credentials.yaml >"$root/$s3_secret"
fi
if [ -x "$s3rver" ]; then
  setsid "$s3rver" -d "$s3_dir" -a 127.0.0.1 -p "$s3_port" --configure-bucket k8straining --silent \
    >"$logs/s3rver.log" 2>&1 &
  pids+=("$!")
else
  echo "warning: $s3rver not found (make deps installs it); running without S3" >&2
fi

# 3. The CRDs, as on a real cluster.
if compgen -G "crds/*.yaml" >/dev/null; then
  kubectl --kubeconfig "$kubeconfig" apply -f crds/ >/dev/null
fi

# 4. The operator, when it is published and takes --kubeconfig.
operator_note="not started (LOCAL_NO_OPERATOR=1 or not published)"
if [ "${LOCAL_NO_OPERATOR:-0}" != 1 ] && [ -f "$operator_dll" ]; then
  AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
    setsid dotnet "$operator_dll" --kubeconfig "$kubeconfig" --http-port 0 \
      --progress-interval-seconds "${LOCAL_PROGRESS_INTERVAL_SECONDS:-5}" >"$logs/operator.log" 2>&1 &
  pids+=("$!")
  sleep 2
  if kill -0 "${pids[-1]}" 2>/dev/null; then
    operator_note="running (log: $logs/operator.log)"
  else
    operator_note="exited at start; see $logs/operator.log"
    unset 'pids[-1]'
  fi
fi

cat <<INFO

K8sTraining local cluster
  API server   $server  (log: $logs/control-plane.log; audit: $logs/audit.jsonl)
  nodes        ${nodes:-local-node}
  S3           http://127.0.0.1:$s3_port  bucket k8straining, access key S3RVER, secret S3RVER (data: ${s3_dir#"$root"/})${s3_note:+
               $s3_note: $s3_secret is the example Secret pointing there}
  operator     $operator_note

Use it (from $root):
  export KUBECONFIG=$kubeconfig
  kubectl get nodes
  kubectl apply -f $s3_secret -f examples/fashion-mnist-s3.yaml
  kubectl get trainingjobs -w
  export AWS_ENDPOINT_URL=http://127.0.0.1:$s3_port AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
${second_node:+
Partition a node (it turns NotReady, its processes run on; freeze=kill instead loses it for good, as a vanished VM), then heal it:
  kubectl annotate node $second_node localcluster.k8straining.io/freeze=keep
  kubectl annotate node $second_node localcluster.k8straining.io/freeze-
}
Ctrl+C stops everything.
INFO

# Stay in the foreground until a component exits or a signal arrives.
wait -n "${pids[@]}" || true
echo "a component exited; see $logs" >&2
