#!/usr/bin/env python3
"""A plain PyTorch trainer that follows the K8sTraining trainer contract (docs/trainer-contract.md), nothing of ours.

It writes each checkpoint to CHECKPOINT_DIR/step-<12 digits> through a temporary name and a rename (the checkpoint-sync
sidecar uploads what appears under that name), resumes from the newest one, and on SIGTERM finishes the step, saves and
exits 75. Deterministic on CPU: the same seed gives the same weights, byte for byte, however often it is interrupted.
Runs alone, or under torchrun (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT: gloo, rank 0 writes the checkpoints).
"""
import argparse, gzip, json, os, re, shutil, signal, struct, sys, time

stopping = []  # SIGTERM is caught from the first moment (importing torch takes seconds); the loop checks it per step
signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

env = os.environ.get
LOG = env("TRAINER_TERMINATION_LOG") or "/dev/termination-log"
STEP_DIR = re.compile(r"^step-\d{12}$")


def report(status, code, message, **fields):
    line = json.dumps({"status": status, "message": message, "checkpointUploaded": False, **fields})
    try:
        with open(LOG, "w") as f:
            f.write(line + "\n")
    except OSError as e:
        print(f"warning: cannot write the termination log {LOG}: {e}", file=sys.stderr)
    print(line, flush=True)
    sys.exit(code)


# Each setting is a flag (spec.args) or the built-in trainer's TRAINER_* variable (set with spec.training); flags win.
ap = argparse.ArgumentParser(description="A resumable PyTorch trainer (K8sTraining contract).", exit_on_error=False)
for flag, var, default, kind in [("--epochs", "EPOCHS", "3", int), ("--batch-size", "BATCH_SIZE", "32", int),
                                 ("--lr", "LR", "0.05", float), ("--seed", "SEED", "42", int), ("--samples", "SAMPLES", "2048", int),
                                 ("--checkpoint-every-steps", "CHECKPOINT_EVERY_STEPS", "20", int),
                                 ("--keep-checkpoints", "KEEP_CHECKPOINTS", "3", int), ("--dataset", "DATASET", "synthetic", str),
                                 ("--data", "DATA", "/usr/share/datasets/fashion-mnist", str)]:
    ap.add_argument(flag, type=kind, default=env("TRAINER_" + var, default))
try:
    a = ap.parse_args()
    CKPT, EPOCHS, BATCH, LR, SEED = env("TRAINER_CHECKPOINT_DIR", "./checkpoints"), int(a.epochs), int(a.batch_size), float(a.lr), int(a.seed)
    SAMPLES, EVERY, KEEP, DATASET = int(a.samples), int(a.checkpoint_every_steps), int(a.keep_checkpoints), a.dataset
    DELAY = float(env("EXAMPLE_STEP_DELAY_MS", "0")) / 1000  # for tests and demos: lets a preemption land mid-epoch
    WORLD, RANK = int(env("WORLD_SIZE", "1")), int(env("RANK", "0"))
    if min(EPOCHS, BATCH, SAMPLES, EVERY, KEEP) < 1 or DATASET not in ("synthetic", "fashion-mnist"):
        raise ValueError("epochs, batch size, samples, checkpoint interval and keep must be >= 1; dataset synthetic or fashion-mnist")
except (ValueError, argparse.ArgumentError) as e:
    report("invalid", 2, f"invalid configuration: {e}", reason="InvalidConfiguration")

torch.manual_seed(SEED)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
if "WORLD_SIZE" in os.environ:  # torchrun-style: MASTER_ADDR and MASTER_PORT come from the environment
    torch.distributed.init_process_group("gloo", rank=RANK, world_size=WORLD)


def idx(path):  # Fashion-MNIST's idx files, as Debian's dataset-fashion-mnist installs them
    with gzip.open(path) as f:
        dims = struct.unpack(">I", f.read(4))[0] & 0xFF
        shape = struct.unpack(">" + "I" * dims, f.read(4 * dims))
        return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).reshape(shape)


if DATASET == "fashion-mnist":
    d = a.data
    X = idx(f"{d}/train-images-idx3-ubyte.gz")[:SAMPLES].flatten(1).float() / 255
    y = idx(f"{d}/train-labels-idx1-ubyte.gz")[:SAMPLES].long()
    Xt = idx(f"{d}/t10k-images-idx3-ubyte.gz")[:1000].flatten(1).float() / 255
    yt = idx(f"{d}/t10k-labels-idx1-ubyte.gz")[:1000].long()
else:  # a random linear teacher: 4 classes over 32 features
    g = torch.Generator().manual_seed(SEED)
    allX = torch.randn(SAMPLES + 512, 32, generator=g)
    ally = (allX @ torch.randn(32, 4, generator=g)).argmax(1)
    X, y, Xt, yt = allX[:SAMPLES], ally[:SAMPLES], allX[SAMPLES:], ally[SAMPLES:]
classes = int(y.max()) + 1
net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 64), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(64, classes))
model = torch.nn.parallel.DistributedDataParallel(net) if "WORLD_SIZE" in os.environ else net
opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9)
steps_per_epoch = len(X) // (BATCH * WORLD)
gstep = epoch = sie = 0
resumed = None


def step_dirs():
    return sorted(n for n in os.listdir(CKPT) if STEP_DIR.match(n)) if os.path.isdir(CKPT) else []


for name in reversed(step_dirs()):  # the newest complete checkpoint (a restored one carries the sidecar's manifest too)
    path = os.path.join(CKPT, name)
    try:
        state = json.load(open(os.path.join(path, "state.json")))
        net.load_state_dict(torch.load(os.path.join(path, "model.pt")))
        opt.load_state_dict(torch.load(os.path.join(path, "optimizer.pt")))
        torch.set_rng_state(torch.load(os.path.join(path, "rng.pt")))
    except (OSError, ValueError, RuntimeError) as e:
        print(f"skipping {path}: {e}", file=sys.stderr)
        continue
    gstep, epoch, sie = state["globalStep"], state["epoch"], state["stepInEpoch"]
    resumed = {"globalStep": gstep, "epoch": epoch, "stepInEpoch": sie, "checkpoint": path}
    print(f"resumed from {path} at step {gstep} (epoch {epoch}, step in epoch {sie})", flush=True)
    break


def save():
    final = os.path.join(CKPT, f"step-{gstep:012d}")
    if RANK != 0 or os.path.isdir(final):
        return final
    tmp = os.path.join(CKPT, f".tmp-step-{gstep:012d}-{os.getpid()}")  # never a step-<12 digits> name until complete
    os.makedirs(tmp)
    torch.save(net.state_dict(), os.path.join(tmp, "model.pt"))
    torch.save(opt.state_dict(), os.path.join(tmp, "optimizer.pt"))
    torch.save(torch.get_rng_state(), os.path.join(tmp, "rng.pt"))
    with open(os.path.join(tmp, "weights.bin"), "wb") as f:  # raw parameter bytes, for comparing runs
        for t in net.state_dict().values():
            f.write(t.detach().contiguous().numpy().tobytes())
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump({"globalStep": gstep, "epoch": epoch, "stepInEpoch": sie}, f)
    for name in os.listdir(tmp):
        with open(os.path.join(tmp, name), "rb") as f:
            os.fsync(f.fileno())
    os.rename(tmp, final)
    for old in step_dirs()[:-KEEP]:
        shutil.rmtree(os.path.join(CKPT, old), ignore_errors=True)
    return final


def finish(status, code):
    path = save()
    net.eval()
    with torch.no_grad():
        accuracy = (net(Xt).argmax(1) == yt).float().mean().item()
    report(status, code, f"{status} at step {gstep} (epoch {epoch}, step in epoch {sie}); checkpoint {path}",
           globalStep=gstep, epoch=epoch, stepInEpoch=sie, checkpoint=path, testAccuracy=accuracy, reason=None, resumedFrom=resumed)


os.makedirs(CKPT, exist_ok=True)
print(f"training from step {gstep} (epoch {epoch}, step in epoch {sie}), {steps_per_epoch} steps per epoch", flush=True)
perm_epoch, perm = -1, None
while epoch < EPOCHS:
    if perm_epoch != epoch:  # the data order depends on the epoch alone, so a resume mid-epoch sees the same batches
        perm_epoch, perm = epoch, torch.randperm(len(X), generator=torch.Generator().manual_seed(SEED * 1000 + epoch))
    batch = perm[(sie * WORLD + RANK) * BATCH:(sie * WORLD + RANK + 1) * BATCH]
    model.train()
    opt.zero_grad()
    F.cross_entropy(model(X[batch]), y[batch]).backward()
    opt.step()
    gstep, sie = gstep + 1, sie + 1
    if sie == steps_per_epoch:
        epoch, sie = epoch + 1, 0
    time.sleep(DELAY)
    if stopping:
        finish("preempted", 75)
    if gstep % EVERY == 0:
        save()
finish("completed", 0)
