"""Paired table: two quality.json runs (same seeds, same trunks), each cell seed 0 / 1 / 2 = mean (clusters).

python compare.py BASE.json NEW.json METHOD [METHOD ...]
"""
import json, sys
import numpy as np

def cells(path, method):
    out = {}
    for r in json.load(open(path))["records"]:
        if r["method"] == method:
            out.setdefault(r["dataset"], []).append((r["seed"], r["acc"], r["n_clusters"]))
    return {k: sorted(v) for k, v in out.items()}

def text(rows):
    accs = [a for _, a, _ in rows]; ks = [k for _, _, k in rows]
    k = f"{ks[0]}" if len(set(ks)) == 1 else "/".join(map(str, ks))
    return " / ".join(f"{a:.3f}" for a in accs) + f" = **{np.mean(accs):.3f}** ({k})", float(np.mean(accs))

base, new = sys.argv[1], sys.argv[2]
for method in sys.argv[3:]:
    b, n = cells(base, method), cells(new, method)
    print(f"\n{method}\n\n| data | before | after | change |\n|---|---|---|---|")
    for name in n:
        if name in b:
            (tb, mb), (tn, mn) = text(b[name]), text(n[name])
            print(f"| {name} | {tb} | {tn} | {mn - mb:+.3f} |")
