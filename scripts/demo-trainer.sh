#!/usr/bin/env bash
# The trainer's own story: train the cnn on Fashion-MNIST, send it a real SIGTERM part-way through an epoch, restart it,
# show it resume at exactly the next batch, and finish with test accuracy >= 0.91. Exits 0 only if all of that happened.
# Knobs: DEMO_EPOCHS (default 5), DEMO_STOP_AT_STEP (global step to stop after, default 150, inside epoch 0).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
trainer="$root/.local/publish/trainer/K8sTraining.Trainer.dll"
data=/usr/share/datasets/fashion-mnist
epochs="${DEMO_EPOCHS:-5}"
stop_at="${DEMO_STOP_AT_STEP:-150}"
batch=128
work="$root/.local/demo-trainer"
log="$work/trainer.log"
[ -f "$trainer" ] || { echo "demo: $trainer is missing; run make publish" >&2; exit 1; }
ls "$data"/train-images-idx3-ubyte* >/dev/null 2>&1 || { echo "demo: Fashion-MNIST is missing in $data; run make deps" >&2; exit 1; }
rm -rf "$work"; mkdir -p "$work"; : > "$log"

args=(train --model cnn --dataset fashion-mnist --data "$data" --epochs "$epochs" --batch-size "$batch"
      --optimizer adamw --lr 0.003 --lr-gamma 0.6 --seed 42 --threads "$(nproc)"
      --checkpoint-dir "$work/checkpoints" --checkpoint-every-steps 100 --keep-checkpoints 3
      --output "$work/cnn-final.bin" --termination-log "$work/termination-log" --log-every-steps 25 --progress log)
field() { sed -nE "s/.*\"$1\":(\"?)([^,\"}]*)\1.*/\2/p" "$work/termination-log"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1/3 training the cnn on Fashion-MNIST ($epochs epochs, batch $batch); a SIGTERM will arrive after global step $stop_at"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"  # no spinning torch threads when the CPU is shared
dotnet "$trainer" "${args[@]}" > >(tee "$log") 2>&1 &
pid=$!
deadline=$((SECONDS + 3600))
until grep -qE "\(global $stop_at/" "$log"; do
  kill -0 "$pid" 2>/dev/null || { echo "demo: the trainer exited before step $stop_at" >&2; exit 1; }
  [ $SECONDS -lt $deadline ] || { echo "demo: step $stop_at not reached within an hour" >&2; kill "$pid"; exit 1; }
  sleep 0.2
done
say "sending SIGTERM to the trainer (pid $pid), as the kubelet does when a pod is preempted"
sent=$(date +%s.%N)
kill -TERM "$pid"
set +e; wait "$pid"; code=$?; set -e
took=$(awk -v a="$sent" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "trainer exited with $code ${took}s after SIGTERM; termination log: $(cat "$work/termination-log")"
[ "$code" = 75 ] || { echo "demo: expected exit 75 (resumable)" >&2; exit 1; }
[ "$(field status)" = preempted ] || { echo "demo: termination log does not say preempted" >&2; exit 1; }
stopped_epoch=$(field epoch); stopped_step=$(field stepInEpoch); stopped_global=$(field globalStep)
steps_per_epoch=$(( (60000 + batch - 1) / batch ))
if [ "$stopped_step" -le 0 ] || [ "$stopped_step" -ge "$steps_per_epoch" ]; then
  echo "demo: the stop did not land inside an epoch (step $stopped_step of $steps_per_epoch)" >&2; exit 1
fi
echo "stopped inside epoch $stopped_epoch after $stopped_step of its $steps_per_epoch steps (global step $stopped_global)"

say "2/3 restarting the same command: the trainer finds the checkpoint and resumes at the next batch"
: > "$log"
set +e; dotnet "$trainer" "${args[@]}" 2>&1 | tee "$log"; code=${PIPESTATUS[0]}; set -e
expected="Resuming at epoch $stopped_epoch, step $stopped_step of epoch (global step $stopped_global)"
grep -qF "$expected" "$log" || { echo "demo: the log does not show: $expected" >&2; exit 1; }
[ "$code" = 0 ] || { echo "demo: the resumed run exited $code" >&2; exit 1; }

say "3/3 result"
accuracy=$(field testAccuracy)
echo "resume line:   $(grep -F "$expected" "$log" | sed -E 's/.*(Resuming)/\1/')"
echo "termination:   $(cat "$work/termination-log")"
echo "test accuracy: $accuracy on the 10,000 test images (needs >= 0.91)"
awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.91) }' || { echo "demo: accuracy $accuracy is below 0.91" >&2; exit 1; }
echo "demo: OK - SIGTERM mid-epoch, exit 75, exact resume at step $stopped_step of epoch $stopped_epoch, accuracy $accuracy"
