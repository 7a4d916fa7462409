"""Stability in excess of a null: the same grid's stability on the kNN graph of isotropic Gaussian
noise with the set's size and code dimension."""
import glob, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
R = np.array(G.RESOLUTIONS)
def curve(graph, seed, runs=8, resolutions=R):
    st, se, L = [], [], []
    for r in resolutions:
        labels = [G.communities(graph, r, seed + run) for run in range(runs)]
        A = np.eye(runs)
        for i in range(runs):
            for j in range(i + 1, runs):
                A[i, j] = A[j, i] = G.adjusted_rand(labels[i], labels[j])
        per = (A.sum(1) - 1) / (runs - 1); st.append(per.mean()); se.append(per.std(ddof=1) / np.sqrt(runs)); L.append(labels[0])
    return np.array(st), np.array(se), L


def main():
    nulls = {}
    for f in sorted(glob.glob("/tmp/s30/codes/*.npz")):
        name = f.split("/")[-1][:-4]; seed = int(name[-1])
        z = np.load(f); codes, y = z["codes"], z["y"]
        n, d = codes.shape
        if (n, d) not in nulls:
            noise = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
            nulls[(n, d)] = curve(G.point_graph(noise, random_state=0).graph, 0)[0]
        null = nulls[(n, d)]
        g = G.point_graph(codes, random_state=seed)
        st, se, L = curve(g.graph, seed)
        def choose(score):
            most = int(np.argmax(score)); return int(np.flatnonzero(score >= score[most] - se[most] - 1e-9).max())
        out = []
        for rule, score in [("stab", st), ("excess", st - null), ("ratio", (st - null) / (1 - null + 1e-9))]:
            b = choose(score); out.append(f"{rule} r={R[b]:.2f} k={L[b].max()+1:3d} acc {evaluate(y, L[b][g.nearest])['acc']:.3f}")
        print(f"{name:20s} " + " | ".join(out) + " | null " + " ".join(f"{v:.2f}" for v in null), flush=True)


if __name__ == "__main__":
    main()
