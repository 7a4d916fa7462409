"""Shared by the probes of this folder: the repository on the path, and a suite data set by name."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import quality as q  # noqa: E402


def load(name):
    """The data set ``name`` of ``benchmarks/quality.py``, Lightning's messages off."""
    class Args:
        data = []
    args = Args()
    args.datasets = [name]
    q.quiet_lightning()
    return q.load_all(args)[0]
