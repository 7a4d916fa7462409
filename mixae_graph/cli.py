"""The command line: ``mixae-graph fit|predict --config configs/digits.yaml``.

A :class:`~lightning.pytorch.cli.LightningCLI` over :class:`~mixae_graph.module.MixAEGraphModule`
and :class:`~mixae_graph.datamodule.MixAEDataModule`; every model default is the module's own.
One setting per idea: the input size comes from the data, the epoch budget is
``trunk.epochs + experts.epochs``, and ``seed_everything`` also seeds the model and the neighbour draws.

Each run writes, under ``<default_root_dir>/version_N/`` (``runs/`` by default): ``config.yaml``
(the resolved config), ``metrics.csv``, ``checkpoints/last.ckpt``, ``labels.csv`` and, after a fit,
``report.md`` with its pictures (``latent_graph.png``, ``cluster_tree.png``, ``training_curves.png``,
``confusion.png`` when the data has classes, ``expert_reconstructions.png`` when it is images;
``--report false`` skips them).

Examples
--------
    mixae-graph fit --config configs/moons.yaml
    mixae-graph fit --config configs/moons.yaml --ckpt_path runs/version_0/checkpoints/last.ckpt  # resume
    mixae-graph predict --config runs/version_0/config.yaml --ckpt_path runs/version_0/checkpoints/last.ckpt
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger
from jsonargparse import Namespace

from . import estimator
from .datamodule import MixAEDataModule
from .metrics import evaluate
from .module import MixAEGraphModule
from .settings import check_settings

# Settings every fit needs (see `mixae_graph.estimator.make_trainer`); `max_epochs` is linked.
TRAINER_DEFAULTS = dict(
    estimator.TRAINER_DEFAULTS,
    default_root_dir="runs",
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
    model.latent_graph_ = module.state.full_graph
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
    lines += ["", "## Joins of the cluster tree", "", "| join | height | points | modularity gain | experts |",
              "|---:|---:|---:|---:|---|"]
    for row in tree_table(model.cluster_tree_):
        lines.append(f"| {row['node']} | {row['height']} | {row['size']} | {row['gain']:.3g} | "
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


class MixAEGraphArgumentParser(LightningArgumentParser):
    """A parse error in a few lines: the message, and for an unknown key the valid keys of its group
    (with the closest match), instead of jsonargparse's ~90 lines of usage."""

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error or os.environ.get("MIXAE_GRAPH_DEBUG") or os.environ.get("JSONARGPARSE_DEBUG"):
            super().error(message, ex)  # raises, or prints the full usage
        parser = getattr(ex, "subcommand_parser", None) or self
        lines = [f"mixae-graph: error: {_shorten(message)}"]
        unknown = re.search(r"unrecognized arguments: --([\w.]+)|does not accept option '([\w.]+)'", message)
        if unknown:
            key = unknown.group(1) or unknown.group(2)
            group, _, name = key.rpartition(".")
            valid = _valid_keys(parser, group)
            if valid:
                close = difflib.get_close_matches(name, valid, n=1)
                if close:
                    lines.append(f"did you mean {'.'.join(filter(None, [group, close[0]]))}?")
                lines += textwrap.wrap(f"valid {group or 'top-level'} keys: {', '.join(valid)}", 100,
                                       subsequent_indent="  ")
        command = " ".join(["mixae-graph", *parser.prog.replace(" [options]", "").split()[1:]])
        lines.append(f"(every option, with its default: {command} --help)")
        sys.stderr.write("\n".join(lines) + "\n")
        self.exit(2)


def _shorten(message: str, max_lines: int = 6) -> str:
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    return "\n".join(lines[:max_lines] + (["..."] if len(lines) > max_lines else []))


def _valid_keys(parser, group: str) -> list[str]:
    """The keys directly under ``group`` ("" for the top level) that ``parser`` accepts."""
    prefix = f"{group}." if group else ""
    keys = []
    for action in parser._actions:
        dest = getattr(action, "dest", "") or ""
        if dest.startswith(prefix) and dest not in ("help", "==SUPPRESS=="):
            key = dest[len(prefix):].split(".")[0]
            if key and key not in keys and not key.startswith("_"):
                keys.append(key)
    return keys


def check_checkpoint(path) -> None:
    """Refuse a checkpoint that is missing, corrupt or not mixae-graph's, before Lightning reads it.

    Read with ``weights_only=True`` (and ``mmap``, so the weights are not loaded twice): a checkpoint
    never runs pickled code.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    with open(path, "rb") as file:
        if file.read(4) != b"PK\x03\x04":  # torch.save writes a zip archive
            raise ValueError(f"could not read checkpoint {path}: it is not a PyTorch checkpoint (not a zip archive)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001  torch raises pickle, zip and runtime errors alike
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"could not read checkpoint {path}: it is not a PyTorch checkpoint, or it is truncated or "
            f"corrupt ({first})"
        ) from None
    if not isinstance(checkpoint, dict) or "mixae_graph" not in checkpoint or "state_dict" not in checkpoint:
        raise ValueError(
            f"{path} is not a mixae-graph checkpoint (one written by mixae-graph fit, such as "
            "runs/version_N/checkpoints/last.ckpt): it has no 'mixae_graph' entry"
        )


class MixAEGraphCLI(LightningCLI):
    """LightningCLI for mixae-graph: links, trainer defaults, and the labels written after fit/predict."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parser_class", MixAEGraphArgumentParser)
        kwargs.setdefault("trainer_defaults", TRAINER_DEFAULTS)
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(MixAEGraphModule, MixAEDataModule, *args, **kwargs)

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """``fit`` and ``predict``: clustering has no validation or test labels to score against."""
        return {name: kwargs for name, kwargs in LightningCLI.subcommands().items() if name in ("fit", "predict")}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.n_features", "model.n_features", apply_on="instantiate")
        parser.link_arguments("data.image_shape", "model.image_shape", apply_on="instantiate")
        parser.link_arguments(("model.trunk.epochs", "model.experts.epochs"), "trainer.max_epochs",
                              compute_fn=_epoch_budget, apply_on="parse")
        parser.link_arguments("seed_everything", "model.random_state", compute_fn=_seed, apply_on="parse")
        parser.link_arguments("seed_everything", "data.seed", compute_fn=_seed, apply_on="parse")
        # Every epoch, so that an interrupted run resumes with `--ckpt_path .../last.ckpt`.
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.every_n_epochs": 1,
                             "model.verbose": True})  # a line per graph step; --quiet turns it off
        parser.add_argument("--quiet", type=bool, default=False,
                            help="No progress bar and no line per graph step; the summary stays.")
        parser.add_argument("--report", type=bool, default=True,
                            help="After fit, write report.md and its plots in the run's log folder "
                                 "(the latent-graph plot lays every point out with UMAP: seconds to minutes).")
        parser.add_argument("--labels_path", type=str | None, default=None,
                            help="Where fit/predict write the cluster of every point "
                                 "(default: labels.csv in the run's log folder).")

    def parse_arguments(self, parser, args) -> None:
        super().parse_arguments(parser, args)
        config = self.config[self.config.subcommand] if self.config.get("subcommand") else self.config
        ckpt_path = config.get("ckpt_path")
        if ckpt_path and str(ckpt_path) not in ("best", "last", "hpc") and not str(ckpt_path).startswith("registry"):
            check_checkpoint(ckpt_path)  # before Lightning reads its hyperparameters

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        model = config.get("model")
        if model is not None:  # out-of-range settings: refused now, not after the trunk's epochs
            check_settings({k: v.as_dict() if isinstance(v, Namespace) else v
                            for k, v in vars(model).items() if not k.startswith("_")})
        if config.get("quiet"):  # no progress bar, no graph-step lines; the summary stays
            config["model.verbose"] = False
            config["trainer.enable_progress_bar"] = False
            config["trainer.enable_model_summary"] = False

    def before_fit(self) -> None:
        check_settings({"graph": self.model.hparams.graph}, len(self.datamodule.X))

    def instantiate_trainer(self, **kwargs):
        config = self._get(self.config_init, "trainer", default={})
        if config.get("logger") in (None, True):  # the default logger: a CSV file per run
            kwargs["logger"] = CSVLogger(config.get("default_root_dir") or "runs", name="")
        return super().instantiate_trainer(**kwargs)

    # ------------------------------------------------------------------ outputs
    def _labels_path(self, log_dir: str | None) -> Path:
        given = self._get(self.config, "labels_path")
        if given:
            return Path(given)
        return Path(log_dir or os.getcwd()) / "labels.csv"

    def _say(self, message: str) -> None:
        print(f"[mixae-graph] {message}", flush=True)

    def after_fit(self) -> None:
        trainer, module, data = self.trainer, self.model, self.datamodule
        log_dir = trainer.log_dir  # a collective call under DDP: every rank asks, then rank 0 writes
        if trainer.interrupted or not trainer.is_global_zero:
            return
        checkpoint = trainer.checkpoint_callback
        ckpt_path = checkpoint.last_model_path if checkpoint is not None else None
        labels = module.fit_labels()
        labels_path = write_labels(labels, self._labels_path(log_dir))
        summary = f"{int(module.bank.n_active)} experts, {len(np.unique(labels))} clusters"
        scores = None
        if data.y is not None:
            scores = evaluate(data.y, labels)
            summary += f"; ACC {scores['acc']:.3f}  NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}"
        self._say(summary)
        if log_dir is not None:
            self._say(f"config:     {Path(log_dir) / 'config.yaml'}")
        if ckpt_path is not None:
            self._say(f"checkpoint: {ckpt_path}")
        self._say(f"labels:     {labels_path}")
        if log_dir is not None and self._get(self.config, "report"):
            report = write_report(fitted_estimator(module, data), data.data, log_dir, scores)
            self._say(f"report:     {report}")

    def after_predict(self) -> None:
        log_dir = self.trainer.log_dir
        predictions = self.trainer.predict_loop.predictions
        if not predictions or not self.trainer.is_global_zero:
            return
        labels = torch.cat([p.cpu() for p in predictions]).numpy()
        path = write_labels(labels, self._labels_path(log_dir))
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
