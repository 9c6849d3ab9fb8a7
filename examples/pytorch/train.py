#!/usr/bin/env python3
"""A plain PyTorch trainer that follows the K8sTraining trainer contract (docs/trainer-contract.md), nothing of ours.

It writes each checkpoint to CHECKPOINT_DIR/step-<12 digits> through a temporary name and a rename (the checkpoint-sync
sidecar uploads what appears under that name), resumes from the newest one, and on SIGTERM finishes the step, saves and
exits 75. Deterministic on CPU: the same seed gives the same weights, byte for byte, however often it is interrupted.
Runs alone, or data parallel when WORLD_SIZE > 1 (torchrun or a PyTorchJob-style pod: RANK, MASTER_ADDR, MASTER_PORT;
torch.distributed with the gloo backend): a global step takes the next batch-size x world samples of the epoch's
permutation, rank r its even share of them, so the ranks together see each sample of the epoch exactly once (the last
global batch is cut evenly, no padding); the gradients of the global mean loss are all-reduced with a stop flag each
step, so that a SIGTERM on any rank stops every rank after the same step; rank 0 alone loads and writes checkpoints
(the other ranks get the resume point by broadcast) and all exit 75. The checkpoint keeps the global sample index, so
a resume with another world size goes on at exactly that sample. WORLD_SIZE unset or 1 is the single-process trainer.
"""
import argparse, datetime, gzip, json, os, re, shutil, signal, struct, sys, time

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
    DIST_TIMEOUT = float(env("TRAINER_DIST_TIMEOUT_SECONDS", "300"))
    if min(EPOCHS, BATCH, SAMPLES, EVERY, KEEP, WORLD) < 1 or DATASET not in ("synthetic", "fashion-mnist"):
        raise ValueError("epochs, batch size, samples, checkpoint interval, keep and WORLD_SIZE must be >= 1; dataset synthetic or fashion-mnist")
    if not 0 <= RANK < WORLD:
        raise ValueError(f"RANK {RANK} is not in [0, WORLD_SIZE {WORLD})")
except (ValueError, argparse.ArgumentError) as e:
    report("invalid", 2, f"invalid configuration: {e}", reason="InvalidConfiguration")

torch.manual_seed(SEED)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
DIST = WORLD > 1
dist = torch.distributed
if DIST:  # env://: MASTER_ADDR and MASTER_PORT come from the environment; rank 0 serves the rendezvous store
    print(f"rank {RANK} of {WORLD}: rendezvous at {env('MASTER_ADDR')}:{env('MASTER_PORT')}", flush=True)
    dist.init_process_group("gloo", init_method="env://", rank=RANK, world_size=WORLD, timeout=datetime.timedelta(seconds=DIST_TIMEOUT))


def peer_lost(e):  # a rank vanished mid-collective: nothing is written, the orchestrator replaces the whole gang
    report("failed", 77, f"rank {RANK}: a peer was lost mid-step ({e}); check the other ranks' pods and MASTER_ADDR {env('MASTER_ADDR')}",
           reason="PeerLost")


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
opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9)
steps_per_epoch = len(X) // BATCH if not DIST else -(-len(X) // (BATCH * WORLD))  # one process drops a short tail, as ever
gstep = epoch = sie = sample = 0  # sample: the global sample index in the epoch, what a resume at any world size goes on from
resumed = None
rng_states = None  # every rank's RNG state (dropout), from the checkpoint


def step_dirs():
    return sorted(n for n in os.listdir(CKPT) if STEP_DIR.match(n)) if os.path.isdir(CKPT) else []


loaded = None
for name in reversed(step_dirs()) if RANK == 0 else []:  # the newest complete checkpoint (a restored one carries the sidecar's manifest too)
    path = os.path.join(CKPT, name)
    try:
        state = json.load(open(os.path.join(path, "state.json")))
        model_state, opt_state = torch.load(os.path.join(path, "model.pt")), torch.load(os.path.join(path, "optimizer.pt"))
        ranks_file = os.path.join(path, "rng-ranks.pt")
        rngs = torch.load(ranks_file) if os.path.exists(ranks_file) else [torch.load(os.path.join(path, "rng.pt"))]
        net.load_state_dict(model_state)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        print(f"skipping {path}: {e}", file=sys.stderr)
        continue
    loaded = (state, model_state, opt_state, rngs, path)
    break
if DIST:  # rank 0's resume point (or none) reaches every rank; only rank 0 reads the checkpoint directory
    box = [loaded]
    dist.broadcast_object_list(box, src=0)
    loaded = box[0]
if loaded is not None:
    state, model_state, opt_state, rng_states, path = loaded
    net.load_state_dict(model_state)
    opt.load_state_dict(opt_state)
    torch.set_rng_state(rng_states[RANK] if RANK < len(rng_states) else rng_states[0])
    gstep, epoch, sie = state["globalStep"], state["epoch"], state["stepInEpoch"]
    sample = state.get("sampleInEpoch", sie * BATCH * state.get("worldSize", WORLD))
    resumed = {"globalStep": gstep, "epoch": epoch, "stepInEpoch": sie, "checkpoint": path}
    print(f"resumed from {path} at step {gstep} (epoch {epoch}, step in epoch {sie}); sample {sample} of the epoch", flush=True)
elif DIST:  # every rank starts from rank 0's weights (the same seed gives the same ones; this makes sure)
    for p in net.parameters():
        dist.broadcast(p.data, src=0)


def save():
    final = os.path.join(CKPT, f"step-{gstep:012d}")
    rngs = None
    if DIST:  # every rank's RNG goes into rank 0's checkpoint (a collective: every rank saves at the same step)
        rngs = [None] * WORLD
        dist.all_gather_object(rngs, torch.get_rng_state())
    if RANK != 0 or os.path.isdir(final):
        return final
    tmp = os.path.join(CKPT, f".tmp-step-{gstep:012d}-{os.getpid()}")  # never a step-<12 digits> name until complete
    os.makedirs(tmp)
    torch.save(net.state_dict(), os.path.join(tmp, "model.pt"))
    torch.save(opt.state_dict(), os.path.join(tmp, "optimizer.pt"))
    torch.save(torch.get_rng_state(), os.path.join(tmp, "rng.pt"))
    if rngs is not None:
        torch.save(rngs, os.path.join(tmp, "rng-ranks.pt"))
    with open(os.path.join(tmp, "weights.bin"), "wb") as f:  # raw parameter bytes, for comparing runs
        for t in net.state_dict().values():
            f.write(t.detach().contiguous().numpy().tobytes())
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump({"globalStep": gstep, "epoch": epoch, "stepInEpoch": sie, "sampleInEpoch": sample, "worldSize": WORLD}, f)
    for name in os.listdir(tmp):
        with open(os.path.join(tmp, name), "rb") as f:
            os.fsync(f.fileno())
    os.rename(tmp, final)
    for old in step_dirs()[:-KEEP]:
        shutil.rmtree(os.path.join(CKPT, old), ignore_errors=True)
    return final


def finish(status, code):
    try:
        path = save()
        if DIST:  # nobody exits before rank 0 has written the checkpoint
            dist.barrier()
    except RuntimeError as e:
        peer_lost(e)
    net.eval()
    with torch.no_grad():
        accuracy = (net(Xt).argmax(1) == yt).float().mean().item()
    report(status, code, f"{status} at step {gstep} (epoch {epoch}, step in epoch {sie}); checkpoint {path}",
           globalStep=gstep, epoch=epoch, stepInEpoch=sie, checkpoint=path, testAccuracy=accuracy, reason=None, resumedFrom=resumed)


def shard(sample, world, rank):
    """Rank's part of the global batch that starts at `sample`: the next BATCH x world samples of the epoch (fewer at its
    end), cut evenly, so the ranks' parts never overlap and together cover the epoch. (start, count, global count)."""
    take = min(BATCH * world, len(X) - sample)
    base, extra = divmod(take, world)
    return sample + rank * base + min(rank, extra), base + (1 if rank < extra else 0), take


def step_dist(batch, count):
    """One data-parallel step: the gradient of the global mean loss (each rank's sum over its samples divided by the
    global count, all-reduced with a sum) and the stop flag in the same all-reduce; true when any rank was signalled."""
    opt.zero_grad()
    (F.cross_entropy(net(X[batch]), y[batch], reduction="sum") / count).backward()
    params = list(net.parameters())
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params]
                     + [torch.tensor([1.0 if stopping else 0.0])])
    try:
        dist.all_reduce(flat)
    except RuntimeError as e:
        peer_lost(e)
    offset = 0
    for p in params:
        p.grad = flat[offset:offset + p.numel()].view_as(p).clone()
        offset += p.numel()
    opt.step()
    return flat[-1].item() > 0


os.makedirs(CKPT, exist_ok=True)
print(f"training from step {gstep} (epoch {epoch}, step in epoch {sie}), {steps_per_epoch} steps per epoch; sample {sample} of the epoch,"
      f" rank {RANK} of {WORLD}", flush=True)
perm_epoch, perm = -1, None
while epoch < EPOCHS:
    if perm_epoch != epoch:  # the data order depends on the epoch alone, so a resume mid-epoch sees the same batches
        perm_epoch, perm = epoch, torch.randperm(len(X), generator=torch.Generator().manual_seed(SEED * 1000 + epoch))
    net.train()
    if DIST:
        start, count, take = shard(sample, WORLD, RANK)
        stop = step_dist(perm[start:start + count], take)
    else:
        batch = perm[sample:sample + BATCH]
        opt.zero_grad()
        F.cross_entropy(net(X[batch]), y[batch]).backward()
        opt.step()
        stop, take = bool(stopping), BATCH
    gstep, sie, sample = gstep + 1, sie + 1, sample + take
    if sample >= len(X) or (not DIST and len(X) - sample < BATCH):
        epoch, sie, sample = epoch + 1, 0, 0
    time.sleep(DELAY)
    if not DIST:
        stop = bool(stopping)
    if stop:
        finish("preempted", 75)
    if gstep % EVERY == 0:
        try:
            save()
        except RuntimeError as e:
            peer_lost(e)
finish("completed", 0)
