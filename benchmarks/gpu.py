"""The same MNIST-10k fit on a GPU and on the CPU of one machine (issue 24): wall time, ACC, and the
share of points whose cluster agrees between the two fits; predict timed on each device.

Run from the project root on a machine with a CUDA GPU (nothing is installed: the checkout is put
on the path, so its own torch, lightning, scikit-learn and numba serve)::

    python benchmarks/gpu.py --mnist ../shared/data/mnist10k.npz --out benchmarks/results/gpu
    python benchmarks/gpu.py --gpu-repeat --cpu-threads 2 ...   # determinism; the CPU fit on 2 threads

A short smoke fit on the GPU runs first, so that a broken device path fails in seconds. Results go
to ``OUT/gpu.json`` and ``OUT/gpu.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.metrics import cluster_accuracy, match_labels  # noqa: E402


def fit(X, y, accelerator: str, seed: int, **settings) -> tuple[MixAEGraph, dict]:
    started = time.perf_counter()
    model = MixAEGraph(image_shape=(28, 28), random_state=seed, trainer={"accelerator": accelerator},
                       **settings).fit(X)
    seconds = time.perf_counter() - started
    return model, {"fit_s": round(seconds, 2), "experts": int(model.n_experts_),
                   "clusters": int(len(np.unique(model.labels_))),
                   "acc": round(float(cluster_accuracy(y, model.labels_)), 4)}


def timed(call, repeats: int = 3) -> float:
    """Median wall seconds of ``call`` (CUDA work synchronised)."""
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        started = time.perf_counter()
        call()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def predict_times(model: MixAEGraph, X: np.ndarray) -> dict:
    """``predict`` as the estimator runs it (the CPU), and the same routing with the module on the GPU."""
    out = {"predict_cpu_s": round(timed(lambda: model.predict(X)), 4)}
    if torch.cuda.is_available():
        module = model.module_.cuda()
        x = torch.as_tensor(X).cuda()
        with torch.no_grad():
            module.route_slots(x)  # warm-up
            out["route_gpu_s"] = round(timed(lambda: module.route_slots(x)), 4)
            on_gpu = module.cluster_of_slot[module.route_slots(x)].cpu().numpy()
        model.module_ = module.cpu()
        out["gpu_route_equals_predict"] = float(np.mean(on_gpu == model.predict(X)))
    return out


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of points in the same cluster in both labelings, clusters matched one to one."""
    return float(np.mean(match_labels(a, b) == a))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=ROOT.parent / "shared/data/mnist10k.npz")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-cpu", action="store_true", help="the GPU fit only")
    parser.add_argument("--cpu-threads", type=int, default=None, help="torch threads of the CPU fit (default: all)")
    parser.add_argument("--gpu-repeat", action="store_true", help="fit on the GPU twice: are the labels identical?")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = np.load(args.mnist)
    X, y = data["X"].reshape(len(data["X"]), -1).astype(np.float32), data["y"].astype(int)
    if X.max() > 1:
        X /= 255.0
    res = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "n": len(X),
           "torch": torch.__version__, "python": platform.python_version(), "cpus": torch.get_num_threads(),
           "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "seed": args.seed}
    print(json.dumps(res), flush=True)

    def save():
        (args.out / "gpu.json").write_text(json.dumps(res, indent=1))
        (args.out / "gpu.md").write_text(report(res))

    try:  # seconds: the device path end to end on 2,000 points
        _, res["smoke"] = fit(X[:2000], y[:2000], "gpu", args.seed, trunk=dict(epochs=2), experts=dict(epochs=2),
                              graph=dict(merge_every=1))
        print("smoke", res["smoke"], flush=True)
    except Exception:
        res["smoke_error"] = traceback.format_exc()
        print(res["smoke_error"], flush=True)
        save()
        raise SystemExit(1)
    save()
    gpu_model, res["gpu"] = fit(X, y, "gpu", args.seed)
    res["gpu"].update(predict_times(gpu_model, X))
    print("gpu", res["gpu"], flush=True)
    save()
    if args.gpu_repeat:
        again, res["gpu_again"] = fit(X, y, "gpu", args.seed)
        res["gpu_repeat_identical"] = bool(np.array_equal(again.labels_, gpu_model.labels_))
        print("gpu again", res["gpu_again"], "identical", res["gpu_repeat_identical"], flush=True)
    if not args.skip_cpu:
        if args.cpu_threads:
            torch.set_num_threads(args.cpu_threads)
            res["cpus"] = args.cpu_threads
        cpu_model, res["cpu"] = fit(X, y, "cpu", args.seed)
        res["cpu"].update(predict_times(cpu_model, X))
        res["labels_agree"] = round(agreement(cpu_model.labels_, gpu_model.labels_), 4)
        res["ari_gpu_vs_cpu"] = round(float(adjusted_rand_score(cpu_model.labels_, gpu_model.labels_)), 4)
        res["gpu_vs_cpu_fit"] = round(res["gpu"]["fit_s"] / res["cpu"]["fit_s"], 3)
        print("cpu", res["cpu"], "agree", res["labels_agree"], flush=True)
    save()


def report(res: dict) -> str:
    lines = ["# GPU against CPU: the same MNIST-10k fit on one machine", "",
             f"Command: `python benchmarks/gpu.py`  ",
             f"Date: {res['date']}; GPU: {res['device']}; torch {res['torch']}, Python {res['python']}; "
             f"CPU threads: {res['cpus']}; seed {res['seed']}; library defaults (50 trunk + 30 expert epochs).", ""]
    if "smoke_error" in res:
        return "\n".join(lines + ["The smoke fit failed:", "", "```", res["smoke_error"], "```", ""])
    lines += ["| device | fit s | experts | clusters | ACC | predict s (CPU, as `predict`) | routing s on the GPU |",
              "|---|---|---|---|---|---|---|"]
    for device in ("gpu", "cpu"):
        if device in res:
            r = res[device]
            lines.append(f"| {device.upper()} | {r['fit_s']} | {r['experts']} | {r['clusters']} | {r['acc']} | "
                         f"{r['predict_cpu_s']} | {r.get('route_gpu_s', '')} |")
    if "labels_agree" in res:
        lines += ["", f"Labels of the GPU fit equal to the CPU fit's (clusters matched one to one): "
                      f"**{res['labels_agree']:.4f}** of the points (ARI {res['ari_gpu_vs_cpu']}); "
                      f"GPU fit time / CPU fit time: **{res['gpu_vs_cpu_fit']}**."]
    if "gpu_repeat_identical" in res:
        lines += ["", f"A second GPU fit with the same seed gave identical labels: **{res['gpu_repeat_identical']}**."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
