"""Probe: does a contrastive term in the trunk's training give codes whose kNN graph partitions
better? Standalone MLP trunk like the library's (d-500-500-2000-10, 20% dropout, blurred and
standardised input, 50 epochs, >= 32 steps an epoch, Adam 1e-3). Variants:
  dae     : reconstruction only (the library's trunk loss)
  drop    : + NT-Xent between the codes of two dropout views of each batch (SimCSE-style)
  affine  : + NT-Xent between the codes of two views, each randomly rotated (+-10 deg) and shifted (+-1 px)
Usage: contrast_trunk.py DATASETS VARIANTS SEED"""
import sys, time, math
import os
CODES = os.environ.get("CODES", "/tmp/codes")  # files of probes-s46/save_codes.py
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q
from mixae_graph.blur import gaussian_blur
from mixae_graph.graph import latent_graph, stable_communities, nearest_neighbors
from mixae_graph.metrics import cluster_accuracy
from mixae_graph.datamodule import default_batch_size
torch.set_num_threads(int(__import__("os").environ.get("THREADS", "2")))

def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])

def nt_xent(z1, z2, tau=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / tau
    n = len(z1)
    sim.fill_diagonal_(-1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, target)

def affine_views(x, shape, rng):
    b = len(x); h, w = shape
    ang = torch.empty(b).uniform_(-10, 10, generator=rng) * math.pi / 180
    tx = torch.empty(b).uniform_(-1, 1, generator=rng) * 2 / w
    ty = torch.empty(b).uniform_(-1, 1, generator=rng) * 2 / h
    theta = torch.stack([torch.stack([ang.cos(), -ang.sin(), tx], 1), torch.stack([ang.sin(), ang.cos(), ty], 1)], 1)
    grid = F.affine_grid(theta, (b, 1, h, w), align_corners=False)
    return F.grid_sample(x.view(b, 1, h, w), grid, align_corners=False, padding_mode="zeros").view(b, -1)

def run(data, variant, seed, weight=1.0):
    torch.manual_seed(seed); rng = torch.Generator().manual_seed(seed)
    X = torch.as_tensor(data.X, dtype=torch.float32)
    shape = data.image_shape
    blur = (lambda t: gaussian_blur(t, shape, 0.036)) if shape is not None else (lambda t: t)
    Xb = blur(X)
    mean, scale = Xb.mean(0), Xb.std()
    std = lambda t: (t - mean) / scale
    d = X.shape[1]
    enc, dec = mlp([d, 500, 500, 2000, 10]), mlp([10, 2000, 500, 500, d])
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), 1e-3)
    n = len(X); bs = default_batch_size(n); steps = max(32, math.ceil(n / bs))
    t = time.time()
    for epoch in range(50):
        for _ in range(steps):
            idx = torch.randint(0, n, (bs,), generator=rng)
            raw = X[idx]
            x = std(blur(raw))
            loss = F.mse_loss(dec(enc(F.dropout(x, 0.2))), x)
            if variant == "drop":
                loss = loss + weight * nt_xent(enc(F.dropout(x, 0.2)), enc(F.dropout(x, 0.2)))
            elif variant == "affine":
                v1, v2 = (std(blur(affine_views(raw, shape, rng))) for _ in range(2))
                loss = loss + weight * nt_xent(enc(F.dropout(v1, 0.2)), enc(F.dropout(v2, 0.2)))
            opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        codes = enc(std(Xb)).numpy()
    train = time.time() - t
    idx, _ = nearest_neighbors(codes, 6)
    purity = float((data.y[idx[:, 1:]] == data.y[:, None]).mean())
    labels = stable_communities(latent_graph(codes))[0]
    print(f"{data.name} {variant} seed {seed}: 5-NN purity {purity:.3f}; graph's stable partition {labels.max()+1} "
          f"clusters, ACC {cluster_accuracy(data.y, labels):.3f} ({train:.0f} s train)", flush=True)
    np.savez(f"{CODES}/ct-{data.name}-{variant}-{seed}.npz", codes=codes, y=data.y)

class Args: pass
args = Args(); args.datasets = sys.argv[1].split(","); args.data = []
q.quiet_lightning()
for data in q.load_all(args):
    for variant in sys.argv[2].split(","):
        run(data, variant, int(sys.argv[3]))
