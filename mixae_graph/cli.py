"""The command line: ``mixae-graph fit|validate|test|predict --config configs/digits.yaml``.

A :class:`~lightning.pytorch.cli.LightningCLI` over :class:`~mixae_graph.module.MixAEGraphModule`
and :class:`~mixae_graph.datamodule.MixAEDataModule`; every model default is the module's own.
One setting per idea: the input size comes from the data, the epoch budget is
``trunk_epochs + expert_epochs``, and ``seed_everything`` also seeds the model and the neighbour draws.

Each run writes, under ``<default_root_dir>/version_N/`` (``runs/`` by default): ``config.yaml``
(the resolved config), ``metrics.csv``, ``checkpoints/last.ckpt``, ``labels.csv`` and, after a fit,
``report.md`` with its pictures (``latent_graph.png``, ``cluster_tree.png``, ``training_curves.png``,
``confusion.png`` when the data has classes, ``expert_reconstructions.png`` when it is images).

Examples
--------
    mixae-graph fit --config configs/moons.yaml
    mixae-graph fit --config configs/moons.yaml --ckpt_path runs/version_0/checkpoints/last.ckpt  # resume
    mixae-graph predict --config runs/version_0/config.yaml --ckpt_path runs/version_0/checkpoints/last.ckpt
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger

from .datamodule import MixAEDataModule
from .metrics import evaluate
from .module import MixAEGraphModule

# Settings every fit needs (see `mixae_graph.estimator.make_trainer`); `max_epochs` is linked.
TRAINER_DEFAULTS = dict(
    accelerator="cpu",
    devices=1,
    default_root_dir="runs",
    reload_dataloaders_every_n_epochs=1,  # neighbour pairs and expert labels change every epoch
    deterministic=True,
    log_every_n_steps=1,  # small data sets have few batches per epoch; metrics.csv should not be empty
)


def _epoch_budget(trunk_epochs: int, expert_epochs: int) -> int:
    return trunk_epochs + expert_epochs


def _seed(seed_everything) -> int:
    # `seed_everything: true` (a random seed) cannot be known at parse time: the model then uses 0.
    return 0 if isinstance(seed_everything, bool) else int(seed_everything)


def fitted_estimator(module: MixAEGraphModule, datamodule: MixAEDataModule):
    """A :class:`~mixae_graph.MixAEGraph` holding what a CLI fit made, for :mod:`mixae_graph.plot`."""
    from .estimator import MixAEGraph

    model = MixAEGraph()
    model.set_params(**{k: v for k, v in module.hparams.items() if k in model.get_params()})
    model.module_ = module.cpu().eval()
    model.latent_graph_ = datamodule.graph
    model.cluster_tree_ = module.cluster_tree
    model.n_experts_ = int(module.bank.n_active)
    model.labels_ = module.fit_labels()
    model.n_features_in_ = datamodule.X.shape[1]
    return model


def write_report(model, data, run_dir: str | os.PathLike, scores: dict | None = None) -> Path:
    """The plots of a fitted model as PNGs in ``run_dir``, and ``report.md`` showing them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot
    from .tree import tree_table

    run_dir = Path(run_dir)
    figures = {
        "latent_graph.png": lambda: plot.latent_graph(model, data.X, y=data.y),
        "cluster_tree.png": lambda: plot.cluster_tree(model),
        "training_curves.png": lambda: plot.training_curves(run_dir / "metrics.csv"),
    }
    if data.y is not None:
        figures["confusion.png"] = lambda: plot.confusion(model, data.y)
    if data.image_shape is not None:
        figures["expert_reconstructions.png"] = lambda: plot.expert_reconstructions(
            model, data.X, data.image_shape)
    if not (run_dir / "metrics.csv").is_file():
        del figures["training_curves.png"]
    for name, draw in figures.items():
        figure = draw().figure
        figure.savefig(run_dir / name, dpi=110)
        plt.close(figure)

    lines = [f"# mixae-graph run: {run_dir.name}", "",
             f"- data: {data.name}, {len(data.X)} points, {data.X.shape[1]} features",
             f"- experts found: {model.n_experts_}; clusters: {len(np.unique(model.labels_))}"]
    if scores:
        lines.append(f"- ACC {scores['acc']:.3f}, NMI {scores['nmi']:.3f}, ARI {scores['ari']:.3f}")
    tree = plot.cluster_tree_data(model)
    first = " + ".join(map(str, tree["first_experts"])) or "?"
    lines.append(f"- training: {first} experts from the graph partition, then {tree['n_splits']} "
                 f"splits and {tree['n_merges']} merges")
    lines += ["", "## Joins of the cluster tree", "", "| join | height | points | strength | experts |",
              "|---:|---:|---:|---:|---|"]
    for row in tree_table(model.cluster_tree_):
        lines.append(f"| {row['node']} | {row['height']} | {row['size']} | {row['strength']:.3g} | "
                     f"{', '.join(f'E{s}' for s in row['leaves'])} |")
    for name in figures:
        lines += ["", f"## {name[:-4].replace('_', ' ').capitalize()}", "", f"![{name}]({name})"]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_labels(labels: np.ndarray, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.asarray(labels, dtype=np.int64), fmt="%d", header="label", comments="")
    return path


class MixAEGraphCLI(LightningCLI):
    """LightningCLI for mixae-graph: links, trainer defaults, and the labels written after fit/predict."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("trainer_defaults", TRAINER_DEFAULTS)
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(MixAEGraphModule, MixAEDataModule, *args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.n_features", "model.n_features", apply_on="instantiate")
        parser.link_arguments(("model.trunk_epochs", "model.expert_epochs"), "trainer.max_epochs",
                              compute_fn=_epoch_budget, apply_on="parse")
        parser.link_arguments("seed_everything", "model.random_state", compute_fn=_seed, apply_on="parse")
        parser.link_arguments("seed_everything", "data.seed", compute_fn=_seed, apply_on="parse")
        # Every epoch, so that an interrupted run resumes with `--ckpt_path .../last.ckpt`.
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.every_n_epochs": 1})
        parser.add_argument("--quiet", type=bool, default=False,
                            help="No progress bar and no line per graph step; the summary stays.")
        parser.add_argument("--labels_path", type=str | None, default=None,
                            help="Where fit/predict write the cluster of every point "
                                 "(default: labels.csv in the run's log folder).")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.get("quiet"):  # no progress bar, no graph-step lines; the summary stays
            config["model.verbose"] = False
            config["trainer.enable_progress_bar"] = False
            config["trainer.enable_model_summary"] = False

    def instantiate_trainer(self, **kwargs):
        config = self._get(self.config_init, "trainer", default={})
        if config.get("logger") in (None, True):  # the default logger: a CSV file per run
            kwargs["logger"] = CSVLogger(config.get("default_root_dir") or "runs", name="")
        return super().instantiate_trainer(**kwargs)

    # ------------------------------------------------------------------ outputs
    def _labels_path(self) -> Path:
        given = self._get(self.config, "labels_path")
        if given:
            return Path(given)
        return Path(self.trainer.log_dir or os.getcwd()) / "labels.csv"

    def _say(self, message: str) -> None:
        if self.trainer.is_global_zero:
            print(f"[mixae-graph] {message}", flush=True)

    def after_fit(self) -> None:
        trainer, module, data = self.trainer, self.model, self.datamodule
        if trainer.interrupted:
            return
        checkpoint = trainer.checkpoint_callback
        ckpt_path = checkpoint.last_model_path if checkpoint is not None else None
        labels = module.fit_labels()
        labels_path = write_labels(labels, self._labels_path())
        summary = f"{int(module.bank.n_active)} experts, {len(np.unique(labels))} clusters"
        scores = None
        if data.y is not None:
            scores = evaluate(data.y, labels)
            summary += f"; ACC {scores['acc']:.3f}  NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}"
        self._say(summary)
        if trainer.log_dir is not None:
            self._say(f"config:     {Path(trainer.log_dir) / 'config.yaml'}")
        if ckpt_path is not None:
            self._say(f"checkpoint: {ckpt_path}")
        self._say(f"labels:     {labels_path}")
        if trainer.log_dir is not None and trainer.is_global_zero:
            report = write_report(fitted_estimator(module, data), data.data, trainer.log_dir, scores)
            self._say(f"report:     {report}")

    def after_predict(self) -> None:
        predictions = self.trainer.predict_loop.predictions
        if not predictions:
            return
        labels = torch.cat([p.cpu() for p in predictions]).numpy()
        path = write_labels(labels, self._labels_path())
        self._say(f"{len(labels)} labels, {len(np.unique(labels))} clusters: {path}")


def _no_tips(record: logging.LogRecord) -> bool:
    return "Tip:" not in record.getMessage()  # Lightning's advertising for its cloud services


def main(args=None) -> None:
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*dirpath has changed.*")  # predict/resume into a new run folder
    warnings.filterwarnings("ignore", ".*LeafSpec.*")  # torch/lightning version skew, not ours
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_no_tips)
    try:
        MixAEGraphCLI(args=args)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as error:
        # Bad data or settings: one readable line, not a traceback (MIXAE_GRAPH_DEBUG=1 shows it).
        if os.environ.get("MIXAE_GRAPH_DEBUG"):
            raise
        print(f"mixae-graph: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
