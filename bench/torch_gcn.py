"""PyTorch peer for bench/sql_gcn.ts (--engines torch): the same GCN epoch on the same generated graph.

/usr/bin/python3 bench/torch_gcn.py --nodes N --edges M [--features 128 --hidden 128 --classes 40 --lr 0.5
    --epochs 2 --threads 2 --layout coo|csr]
Same integer-hash formulas as the SQL tables and bench/gcn_peers.ts: edges (e*2654435761 % N,
(e*40503 + (e//N)*7 + 12345) % N) with reverse edges and self loops, deduplicated, w = 1/deg(src);
x = ((n*131 + f*31) % 97)/97 - 0.5; labels (n*7) % C on even nodes; W1, W2 from their formulas. Loss
-sum(Y * log_softmax(A relu(A X W1) W2)) / ceil(N/2); plain SGD. float32. One JSON line per epoch:
{"epoch", "seconds" (forward + backward + update), "loss" (before the update)}.
"""
import argparse, json, time, warnings

import numpy as np
import torch


def graph(N, M):
    e = np.arange(M, dtype=np.int64)
    src = (e * 2654435761) % N
    dst = (e * 40503 + (e // N) * 7 + 12345) % N
    n = np.arange(N, dtype=np.int64)
    keys = np.unique(np.concatenate([src * N + dst, dst * N + src, n * N + n]))
    rows, cols = keys // N, keys % N
    deg = np.bincount(rows, minlength=N)
    return rows, cols, (1.0 / deg[rows]).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    for name, default in [('nodes', 1693), ('edges', 11662), ('features', 128), ('hidden', 128), ('classes', 40), ('epochs', 2), ('threads', 2)]:
        ap.add_argument(f'--{name}', type=int, default=default)
    ap.add_argument('--lr', type=float, default=0.5)
    ap.add_argument('--layout', default='csr')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    N, F, H, C = a.nodes, a.features, a.hidden, a.classes
    rows, cols, w = graph(N, a.edges)
    A = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols])), torch.from_numpy(w), (N, N)).coalesce()
    if a.layout == 'csr':
        with warnings.catch_warnings():  # 'Sparse CSR tensor support is in beta state'
            warnings.simplefilter('ignore')
            A = A.to_sparse_csr()
    n = np.arange(N, dtype=np.int64)
    X = torch.from_numpy((((n[:, None] * 131 + np.arange(F)[None, :] * 31) % 97) / 97 - 0.5).astype(np.float32))
    Y = torch.zeros(N, C)
    even = torch.from_numpy(n[::2])
    Y[even, torch.from_numpy((n[::2] * 7) % C)] = 1
    f, h = np.meshgrid(np.arange(F), np.arange(H), indexing='ij')
    W1 = torch.from_numpy(((((f * 17 + h * 13) % 29) / 29 - 0.5) * 0.2).astype(np.float32)).requires_grad_()
    h2, c = np.meshgrid(np.arange(H), np.arange(C), indexing='ij')
    W2 = torch.from_numpy(((((h2 * 11 + c * 5) % 23) / 23 - 0.5) * 0.2).astype(np.float32)).requires_grad_()
    n_train = (N + 1) // 2
    print(f'torch {torch.__version__}: {N} nodes, {A._nnz() if a.layout == "coo" else A.values().numel()} nonzeros ({a.layout}), '
          f'{torch.get_num_threads()} threads', flush=True)
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        hid = torch.relu(torch.sparse.mm(A, X @ W1) if a.layout == 'coo' else A @ (X @ W1))
        z = torch.sparse.mm(A, hid @ W2) if a.layout == 'coo' else A @ (hid @ W2)
        loss = -(Y * torch.log_softmax(z, 1)).sum() / n_train
        g1, g2 = torch.autograd.grad(loss, [W1, W2])
        with torch.no_grad():
            W1 -= a.lr * g1
            W2 -= a.lr * g2
        secs = time.perf_counter() - t0
        print(json.dumps({'epoch': ep, 'seconds': secs, 'loss': loss.item()}), flush=True)


if __name__ == '__main__':
    main()
