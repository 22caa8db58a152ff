"""PyTorch peer for bench/train_compare.ts: the issue-4 MLP and CNN on Fashion-MNIST, SGD lr 0.1, batch 128.

/usr/bin/python3 bench/torch_fashion.py --model mlp|cnn --epochs 5 [--threads 2] [--data DIR]
Prints one JSON line per epoch: {"model", "epoch", "seconds", "test_accuracy"} (seconds = training only).
"""
import argparse, gzip, json, os, time

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb') as f:
        raw = f.read()
    nd = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(shape)


def load(d, prefix):
    x = idx(os.path.join(d, f'{prefix}-images-idx3-ubyte.gz')).astype(np.float32) / 255.0
    y = idx(os.path.join(d, f'{prefix}-labels-idx1-ubyte.gz')).astype(np.int64)
    return torch.from_numpy(x.reshape(-1, 1, 28, 28).copy()), torch.from_numpy(y.copy())


def model(kind):
    if kind == 'mlp':
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 5 * 5, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='mlp')
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--data', default=os.environ.get('RELML_FASHION_MNIST_DIR') or '/usr/share/datasets/fashion-mnist')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    xtr, ytr = load(a.data, 'train')
    xte, yte = load(a.data, 't10k')
    m = model(a.model)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    lossf = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(1)
    for e in range(a.epochs):
        m.train()
        perm = torch.randperm(len(ytr), generator=g)
        t0 = time.perf_counter()
        for i in range(0, len(ytr), 128):
            idx_ = perm[i:i + 128]
            opt.zero_grad()
            loss = lossf(m(xtr[idx_]), ytr[idx_])
            loss.backward()
            opt.step()
        secs = time.perf_counter() - t0
        m.eval()
        with torch.no_grad():
            acc = sum((m(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(yte), 1000)) / len(yte)
        print(json.dumps({'model': a.model, 'epoch': e + 1, 'seconds': round(secs, 3), 'test_accuracy': acc}), flush=True)


if __name__ == '__main__':
    main()
