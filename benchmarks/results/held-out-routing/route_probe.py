"""Held-out routing probe: fit on a stratified 80%, then route the 20% by several rules."""
import sys; from pathlib import Path
ROOT = Path(__file__).resolve().parents[3]  # the checkout
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import json
import numpy as np, torch
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
import quality as Q
from mixae_graph.datasets import load_file
from mixae_graph.metrics import match_labels

names, seeds = sys.argv[1].split(","), [int(s) for s in sys.argv[2].split(",")]
mnist = load_file(Q.FILES["mnist"])
for name in names:
    data = Q.image_stress(name, mnist)
    for seed in seeds:
        _, held = train_test_split(np.arange(len(data.y)), test_size=0.2, stratify=data.y, random_state=seed)
        train = np.ones(len(data.y), bool); train[held] = False
        model = Q.MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X[train])
        m = model.module_
        yt, yh = data.y[train], data.y[~train]
        matched = match_labels(yt, model.labels_)
        lookup = dict(zip(model.labels_.tolist(), matched.tolist()))
        acc = lambda c: float(np.mean([lookup.get(int(a), -1) == t for a, t in zip(c, yh)]))
        Xt, Xh = torch.as_tensor(data.X[train]), torch.as_tensor(data.X[~train])
        slots = m.bank.active_slots
        cos = m.cluster_of_slot[slots].numpy()
        E = m.expert_errors(Xh)                         # (n, k)
        Et = m.expert_errors(Xt)
        v, lp = m.noise_var[slots], m.log_prior[slots]
        d = m.hparams.n_features
        rules = {}
        rules["default"] = cos[m.deviance(E).argmin(1).numpy()]
        rules["raw error"] = cos[E.argmin(1).numpy()]
        from mixae_graph.routing import deviance
        rules["no prior"] = cos[deviance(E, v, torch.zeros_like(lp), d).argmin(1).numpy()]
        rules["shared v"] = cos[deviance(E, torch.full_like(v, float(v.mean())), lp, d).argmin(1).numpy()]
        # noise variance re-estimated on held-out-like errors: each expert's error on its own training points is memorised;
        # use the mean error of points routed to it at held-out (transductive) -- just a diagnostic
        zt, zh = m.trunk_codes(Xt).numpy(), m.trunk_codes(Xh).numpy()
        for k in (1, 5):
            rules[f"{k}-NN codes"] = KNeighborsClassifier(k).fit(zt, model.labels_).predict(zh)
        own_t = Et.min(1).values.mean().item(); own_h = E.min(1).values.mean().item()
        out = {r: acc(c) for r, c in rules.items()}
        print(json.dumps(dict(name=name, seed=seed, train_acc=float(np.mean(matched == yt)), k=len(slots),
                              ratio=own_h / own_t, v=[round(float(x), 3) for x in sorted(v.tolist())][:5], **out)), flush=True)
