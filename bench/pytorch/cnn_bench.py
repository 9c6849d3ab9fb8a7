#!/usr/bin/env python3
"""The trainer's networks in PyTorch, for `make bench`'s side-by-side throughput rows.

Trains `cnn` (training/Models/Cnn.cs, layer for layer) on Fashion-MNIST held in memory, or a ResNet-18 with the small
stem for 32x32 inputs (TorchVision's architecture written with torch.nn only, since Debian ships no python3-torchvision)
on random data, with AdamW, one thread and the given batch size, and prints one JSON line: the steady-state samples/s
over the measured steps (the warm-up steps are left out), and samples per CPU-second of the process (the figure to
compare on a machine whose cores other programs share).

Only the standard library and torch (Debian's python3-torch 1.13) are needed.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

# The trainer's Fashion-MNIST normalisation (training/Data/DatasetLoader.cs).
MEAN, STD = 0.2860, 0.3530


class Cnn(nn.Module):
    """training/Models/Cnn.cs: two conv/bn/relu/max-pool blocks, dropout 0.25, 1568-128-10 classifier."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.fc1(self.dropout(self.flatten(x)))
        return self.fc2(self.dropout(F.relu(x)))


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock."""

    def __init__(self, in_planes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    """torchvision.models.resnet18 with the small-image stem: a 3x3 stride-1 conv1 and no max pool."""

    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = self._make_layer(64, 2, 1)
        self.layer2 = self._make_layer(128, 2, 2)
        self.layer3 = self._make_layer(256, 2, 2)
        self.layer4 = self._make_layer(512, 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.in_planes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.in_planes, planes, stride, downsample)]
        self.in_planes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def read_idx(path):
    """An idx file (gzipped or not), as the trainer's IdxReader reads it: the dimensions and the raw bytes."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{name}(.gz) is not in {directory}: install dataset-fashion-mnist or pass --data")


def fashion_mnist(directory):
    shape, pixels = read_idx(find(directory, "train-images-idx3-ubyte"))
    _, labels = read_idx(find(directory, "train-labels-idx1-ubyte"))
    images = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(shape[0], 1, shape[1], shape[2])
    images = (images.float() / 255.0 - MEAN) / STD
    return images, torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["cnn", "resnet18"], default="cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--steps", type=int, default=100, help="measured steps after the warm-up")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--image-size", type=int, default=32, help="resnet18: random 3-channel images of this size")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.model == "cnn":
        images, labels = fashion_mnist(args.data)
        model = Cnn()
    else:
        # A pool of random samples, cycled through, as the C# side does.
        pool = 8 * args.batch_size
        images = torch.randn(pool, 3, args.image_size, args.image_size)
        labels = torch.randint(0, 10, (pool,))
        model = ResNet18()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(images.shape[0], generator=generator)

    def step(i):
        start = (i * args.batch_size) % (order.shape[0] - args.batch_size + 1)
        index = order[start:start + args.batch_size]
        x, y = images.index_select(0, index), labels.index_select(0, index)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    for i in range(args.warmup_steps):
        step(i)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(args.warmup_steps, args.warmup_steps + args.steps):
        step(i)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({
        "model": args.model,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "samples_per_second": args.steps * args.batch_size / seconds,
        "samples_per_cpu_second": args.steps * args.batch_size / cpu_seconds,
    }))


if __name__ == "__main__":
    main()
