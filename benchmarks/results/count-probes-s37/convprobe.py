"""Conv AE trunk probe: codes -> 5-NN purity, first partition (library rules)."""
import sys, argparse, time, numpy as np, torch, torch.nn as nn
sys.path.insert(0, "/work/main/benchmarks")
import quality
from mixae_graph.blur import gaussian_blur
from mixae_graph.datamodule import default_batch_size
from mixae_graph import graph as G
from mixae_graph.merge_split import partition
from mixae_graph.metrics import evaluate
from sklearn.neighbors import NearestNeighbors
torch.set_num_threads(2)
class CAE(nn.Module):
    def __init__(self, h, w, d=10, ch=(32, 64, 128)):
        super().__init__()
        self.h8, self.w8 = -(-h // 8), -(-w // 8)
        self.enc = nn.Sequential(nn.Conv2d(1, ch[0], 5, 2, 2), nn.ReLU(), nn.Conv2d(ch[0], ch[1], 5, 2, 2), nn.ReLU(),
                                 nn.Conv2d(ch[1], ch[2], 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(ch[2] * self.h8 * self.w8, d))
        self.fc = nn.Linear(d, ch[2] * self.h8 * self.w8); self.ch = ch; self.h, self.w = h, w
        self.dec = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(ch[2], ch[1], 3, 2, 1, output_padding=1), nn.ReLU(),
                                 nn.ConvTranspose2d(ch[1], ch[0], 5, 2, 2, output_padding=1), nn.ReLU(),
                                 nn.ConvTranspose2d(ch[0], 1, 5, 2, 2, output_padding=1))
    def forward(self, x):
        z = self.enc(x)
        r = self.dec(self.fc(z).view(-1, self.ch[2], self.h8, self.w8))[:, :, :self.h, :self.w]
        return z, r
def run(name, seed, epochs=50, drop=0.2):
    data = quality.load_all(argparse.Namespace(datasets=[name], data=[]))[0]
    h, w = data.image_shape[:2]
    X = torch.as_tensor(data.X, dtype=torch.float32)
    X = gaussian_blur(X, data.image_shape, 0.036)
    X = (X - X.min()) / (X.max() - X.min())
    mean = X.mean(0)
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
    m = CAE(h, w); opt = torch.optim.Adam(m.parameters(), 1e-3)
    n = len(X); bs = default_batch_size(n); steps = max(32, n // bs)
    t = time.time()
    for ep in range(epochs):
        for s in range(steps):
            idx = torch.randint(0, n, (bs,), generator=g)
            x = X[idx]; mask = torch.rand(x.shape, generator=g) < drop
            xin = torch.where(mask, mean.expand_as(x), x)
            _, r = m(xin.view(-1, 1, h, w))
            loss = ((r.reshape(len(x), -1) - x) ** 2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        codes = torch.cat([m(X[i:i+1024].view(-1, 1, h, w))[0] for i in range(0, n, 1024)]).numpy()
    y = data.y
    idx = NearestNeighbors(n_neighbors=6).fit(codes).kneighbors(codes, return_distance=False)[:, 1:]
    gr = G.point_graph(codes, random_state=seed)
    lab = partition(gr.graph, min_size=5, random_state=seed, fine=gr.fine, fine_min_size=max(5, gr.n_neighbors))
    e = evaluate(y, lab[gr.nearest])
    np.savez(f"/tmp/s37/codes/conv-{name}-{seed}.npz", codes=codes, y=y)
    print(f"conv {name} s{seed} loss {loss.item():.4f} 5nn {(y[idx]==y[:,None]).mean():.3f} first partition {lab.max()+1} acc {e['acc']:.3f} ({time.time()-t:.0f} s)", flush=True)
quality.quiet_lightning()
for spec in sys.argv[1:]:
    name, seed = spec.split(":"); run(name, int(seed))
