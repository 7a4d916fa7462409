"""Bad input is refused with an error that names the problem; degenerate but valid data gets a sensible answer.

Every bad-input case is one entry of ``CASES`` (where it is caught, what is wrong, the exception type and a
fragment of its message) and one test. ``docs/validation.md`` is the table of these cases with the messages
the code really prints; regenerate it with ``.venv/bin/python tests/test_validation.py`` after changing a
case (``test_doc_lists_exactly_the_tested_cases`` checks that the two agree).

The CLI cases run the command line's ``main`` in this process (they fail at parse or load time, so none of
them trains); ``tests/test_cli.py`` runs the installed console script.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))

from mixae_graph import MixAEGraph
from mixae_graph.datasets import from_arrays, load_dataset, load_file

DOC = ROOT / "docs" / "validation.md"
TINY = dict(trunk=dict(epochs=2, hidden=(32,)), experts=dict(epochs=2, hidden=(16,)), graph=dict(n_neighbors=5))

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 5)).astype(np.float32)


def with_value(row, column, value, dtype=np.float32):
    out = X.astype(dtype)
    out[row, column] = value
    return out


# ----------------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    id: str
    where: str  # "estimator", "loader" or "CLI"
    bad: str  # the bad input, in words (the doc's first column)
    error: type  # CLI cases: CLIError (exit code 2, one short message on stderr)
    match: str  # regular expression the message must contain
    call: Callable  # call(ctx) raises the error


class CLIError(Exception):
    """What a CLI run that exits with code 2 printed on stderr."""


class Context:
    """What a case may need: a folder of files, a fitted model, the finished CLI runs."""

    def __init__(self, tmp: Path, model=None, cli=None):
        self.tmp, self._model, self._cli = tmp, model, cli

    @property
    def model(self):
        return self._model() if callable(self._model) else self._model

    def cli(self, case_id):
        result = self._cli()[case_id]
        stderr = result.stderr
        if result.returncode != 2 or "mixae-graph: error: " not in stderr or "Traceback" in stderr:
            raise AssertionError(f"exit code {result.returncode}:\n{result.stdout[-2000:]}{stderr[-2000:]}")
        # What comes before the error is Lightning's log ("Seed set to 0"), not part of it.
        raise CLIError(stderr[stderr.index("mixae-graph: error: "):].strip())


def fit(X_bad, **settings):
    return lambda ctx: MixAEGraph(**{**TINY, **settings}).fit(X_bad)


def setting(**settings):
    return fit(X, **settings)


def group_setting(group, **values):
    """A fit with one setting of a group (``trunk``, ``experts``, ``graph``) changed."""
    return fit(X, **{group: {**TINY[group], **values}})


def method(name, X_bad):
    return lambda ctx: getattr(ctx.model, name)(X_bad)


def write(name, make):
    """A loader case: ``make(path)`` writes the file, then ``load_file`` reads it."""
    def call(ctx):
        path = ctx.tmp / name
        make(path)
        return load_file(path)
    return call


def npz(**arrays):
    return lambda path: np.savez(path, **arrays)


def truncated_npz(path):
    np.savez(path, X=X)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def pickled_npy(path):
    np.save(path, np.array([[1, "a"]], dtype=object), allow_pickle=True)


def text_file(text):
    return lambda path: path.write_text(text)


def random_bytes(path):
    path.write_bytes(np.random.default_rng(1).bytes(2000))


def folder(path):
    path.mkdir()


def cli(case_id):
    return lambda ctx: ctx.cli(case_id)


EXPECTED_FEATURES = "X has 3 features, but MixAEGraph is expecting 5 features as input"

CASES = [
    # -- estimator: the data given to fit
    Case("fit-nan", "estimator", "`fit` on X with a NaN", ValueError, r"NaN or infinite values in 1 of 60 rows \(first: row 3\)",
         fit(with_value(3, 2, np.nan))),
    Case("fit-inf", "estimator", "`fit` on X with an infinite value", ValueError, r"NaN or infinite values in 1 of 60 rows",
         fit(with_value(7, 0, -np.inf))),
    Case("fit-float32-overflow", "estimator", "`fit` on float64 X with 1e300 (beyond float32)", ValueError,
         r"values beyond float32's range \(\|x\| > 3.4e38\) in 1 of 60 rows \(first: row 0\)", fit(with_value(0, 0, 1e300, np.float64))),
    Case("fit-1d", "estimator", "`fit` on a 1-D array", ValueError, r"must be 2-D .*got 1-D with shape \(60,\)\. Reshape your data",
         fit(X[:, 0])),
    Case("fit-3d", "estimator", "`fit` on a 3-D array", ValueError, r"must be 2-D .*got 3-D .*X\.reshape\(len\(X\), -1\)",
         fit(X.reshape(60, 5, 1))),
    Case("fit-0-samples", "estimator", "`fit` on zero samples", ValueError, r"0 sample\(s\) \(shape=\(0, 5\)\)",
         fit(np.zeros((0, 5)))),
    Case("fit-0-features", "estimator", "`fit` on zero features", ValueError, r"0 feature\(s\) \(shape=\(60, 0\)\)",
         fit(np.zeros((60, 0)))),
    Case("fit-1-sample", "estimator", "`fit` on one sample", ValueError, r"1 sample\(s\) .*minimum of 2",
         fit(X[:1])),
    Case("fit-too-few-for-graph", "estimator", "`fit` on n_samples <= n_neighbors", ValueError,
         r"n_samples=5 is too few for the kNN graph: it needs more than graph.n_neighbors=5", fit(X[:5])),
    Case("fit-text-in-object-array", "estimator", "`fit` on an object array with a string", TypeError,
         r"X must hold numbers, but it holds non-numeric values \(could not convert string to float: 'a'\)",
         fit(np.array([["a", 1.0]] * 60, dtype=object))),
    Case("fit-text-array", "estimator", "`fit` on an array of words", TypeError, r"X must hold numbers",
         fit(np.array([["red", "blue"]] * 60))),
    Case("fit-ragged", "estimator", "`fit` on rows of different lengths", ValueError,
         r"could not be made into an array \(rows of different lengths\?\)", fit([[1.0, 2.0], [3.0]])),
    Case("fit-complex", "estimator", "`fit` on complex numbers", ValueError, r"Complex data not supported.*complex128",
         fit(X.astype(np.complex128))),
    Case("fit-none", "estimator", "`fit(None)`", TypeError, r"X is None", fit(None)),
    Case("fit-sparse", "estimator", "`fit` on a scipy sparse matrix", TypeError, r"dense data is required.*toarray",
         fit(sp.csr_matrix(X))),
    # -- estimator: settings out of range (checked before any training)
    Case("set-temperature-negative", "estimator", "`experts={'temperature': -1}`", ValueError,
         r"experts.temperature must be a positive finite number, got -1", group_setting("experts", temperature=-1.0)),
    Case("set-temperature-text", "estimator", "`experts={'temperature': 'hot'}`", ValueError,
         r"experts.temperature must be a positive finite number, got 'hot'", group_setting("experts", temperature="hot")),
    Case("set-max-experts-zero", "estimator", "`experts={'max_experts': 0}`", ValueError,
         r"experts.max_experts must be a positive integer, got 0", group_setting("experts", max_experts=0)),
    Case("set-unknown-group-key", "estimator", "`trunk={'epoch': 3}` (a typo)", ValueError,
         r"trunk has no setting 'epoch' \(did you mean 'epochs'\?\); its settings are: epochs, hidden, latent_dim, dropout",
         setting(trunk={"epoch": 3})),
    Case("set-group-not-a-dict", "estimator", "`graph=15`", TypeError,
         r"graph must be None, a dict or a mixae_graph.settings.Graph, got 15", setting(graph=15)),
    Case("set-trainer-max-epochs", "estimator", "`trainer={'max_epochs': 5}`", ValueError,
         r"trainer cannot set max_epochs: the epochs are trunk.epochs \+ experts.epochs", setting(trainer={"max_epochs": 5})),
    Case("set-n-clusters-zero", "estimator", "`n_clusters=0`", ValueError, r"n_clusters must be None or a positive integer, got 0",
         setting(n_clusters=0)),
    Case("set-n-clusters-bool", "estimator", "`n_clusters=True`", ValueError, r"n_clusters must be None or a positive integer, got True",
         setting(n_clusters=True)),
    Case("set-expert-dims-zero", "estimator", "`experts={'dims': 0}`", ValueError,
         r"experts.dims must be None or a positive integer, got 0", group_setting("experts", dims=0)),
    Case("set-trunk-epochs-negative", "estimator", "`trunk={'epochs': -1}`", ValueError,
         r"trunk.epochs must be a positive integer, got -1", group_setting("trunk", epochs=-1)),
    Case("set-expert-epochs-negative", "estimator", "`experts={'epochs': -1}`", ValueError,
         r"experts.epochs must be a non-negative integer, got -1", group_setting("experts", epochs=-1)),
    Case("set-chain-share-above-1", "estimator", "`graph={'chain_share': 1.5}`", ValueError,
         r"graph.chain_share must be a number in \(0, 1\], got 1.5", group_setting("graph", chain_share=1.5)),
    Case("set-image-blur-negative", "estimator", "`image_blur=-0.1`", ValueError,
         r"image_blur must be a non-negative finite number, got -0.1", setting(image_blur=-0.1)),
    Case("set-image-shape-mismatch", "estimator", "`image_shape=(2, 3)` for 5 features", ValueError,
         r"image_shape \(2, 3\) has 6 pixels per sample but X has 5 features", setting(image_shape=(2, 3))),
    Case("set-min-cluster-size-1", "estimator", "`min_cluster_size=1`", ValueError,
         r"min_cluster_size must be an integer of at least 2, got 1", setting(min_cluster_size=1)),
    Case("set-n-clusters-above-half", "estimator", "`n_clusters=` more than half the samples", ValueError,
         r"n_clusters=\d+ is more than half of the \d+ samples", setting(n_clusters=10**6)),
    Case("set-trunk-dropout-1", "estimator", "`trunk={'dropout': 1.0}`", ValueError,
         r"trunk.dropout must be a number in \[0, 1\), got 1.0", group_setting("trunk", dropout=1.0)),
    Case("set-learning-rate-zero", "estimator", "`learning_rate=0`", ValueError, r"learning_rate must be a positive finite number, got 0",
         setting(learning_rate=0)),
    Case("set-smoothing-1", "estimator", "`graph={'smoothing': 1.0}`", ValueError,
         r"graph.smoothing must be a number in \[0, 1\), got 1.0", group_setting("graph", smoothing=1.0)),
    Case("set-input-view-string", "estimator", "`graph={'input_view': 'yes'}`", ValueError,
         r"graph.input_view must be True or False, got 'yes'", group_setting("graph", input_view="yes")),
    Case("set-batch-size-zero", "estimator", "`batch_size=0`", ValueError, r"batch_size must be None or a positive integer, got 0",
         setting(batch_size=0)),
    Case("set-n-neighbors-1", "estimator", "`graph={'n_neighbors': 1}`", ValueError,
         r"graph.n_neighbors must be None or an integer of at least 2", group_setting("graph", n_neighbors=1)),
    Case("set-trunk-hidden-zero-width", "estimator", "`trunk={'hidden': (0,)}`", ValueError,
         r"trunk.hidden must be a tuple of positive layer widths", group_setting("trunk", hidden=(0,))),
    Case("set-random-state-none", "estimator", "`random_state=None`", ValueError,
         r"random_state must be an integer seed from 0 to 2\*\*32 - 1, got None", setting(random_state=None)),
    # -- estimator: new data after fit
    Case("predict-wrong-feature-count", "estimator", "`predict` with 3 features after fitting on 5", ValueError,
         EXPECTED_FEATURES, method("predict", X[:, :3])),
    Case("predict-proba-nan", "estimator", "`predict_proba` on X with a NaN", ValueError, r"NaN or infinite values in 1 of 60 rows",
         method("predict_proba", with_value(0, 1, np.nan))),
    Case("transform-1d", "estimator", "`transform` on one sample given as a 1-D array", ValueError, r"Reshape your data",
         method("transform", X[0])),
    Case("score-samples-text", "estimator", "`score_samples` on text", TypeError, r"X must hold numbers",
         method("score_samples", np.array([["a"] * 5] * 4, dtype=object))),
    Case("predict-not-fitted", "estimator", "`predict` before `fit`", NotFittedError, r"not fitted yet",
         lambda ctx: MixAEGraph().predict(X)),
    # -- loaders
    Case("from-arrays-nan", "loader", "`from_arrays` on X with a NaN", ValueError, r"X has NaN or infinite values in 1 of 60 rows",
         lambda ctx: from_arrays(with_value(3, 2, np.nan))),
    Case("from-arrays-1d", "loader", "`from_arrays` on a 1-D array", ValueError, r"must be 2-D .*got 1-D",
         lambda ctx: from_arrays(X[:, 0])),
    Case("from-arrays-3d", "loader", "`from_arrays` on a 3-D array", ValueError, r"must be 2-D .*got 3-D .*image_shape",
         lambda ctx: from_arrays(X.reshape(60, 5, 1))),
    Case("from-arrays-0-samples", "loader", "`from_arrays` on zero samples", ValueError, r"X has no samples",
         lambda ctx: from_arrays(np.zeros((0, 5)))),
    Case("from-arrays-0-features", "loader", "`from_arrays` on zero features", ValueError, r"X has no features",
         lambda ctx: from_arrays(np.zeros((60, 0)))),
    Case("from-arrays-text", "loader", "`from_arrays` on an object array with a string", TypeError,
         r"X must hold numbers, but it holds non-numeric objects", lambda ctx: from_arrays(np.array([["a", 1.0]] * 4, dtype=object))),
    Case("from-arrays-y-length", "loader", "`from_arrays` with 59 labels for 60 samples", ValueError,
         r"y has 59 labels but X has 60 samples", lambda ctx: from_arrays(X, y=np.zeros(59, dtype=int))),
    Case("file-missing", "loader", "`load_file` on a file that does not exist", FileNotFoundError, r"no such data file: .*absent\.npz",
         lambda ctx: load_file(ctx.tmp / "absent.npz")),
    Case("file-folder", "loader", "`load_file` on a folder", ValueError, r"is a folder, not a data file",
         write("folder.npz", folder)),
    Case("file-truncated-npz", "loader", "an .npz cut in half", ValueError, r"could not read .*cut\.npz: File is not a zip file",
         write("cut.npz", truncated_npz)),
    Case("file-npz-without-X", "loader", "an .npz without an `X` array", ValueError, r"has no array named 'X'; keys found: data",
         write("nox.npz", npz(data=X))),
    Case("file-npz-y-length", "loader", "an .npz whose `y` has the wrong length", ValueError, r"y has 30 labels but X has 60 samples",
         write("ylen.npz", npz(X=X, y=np.zeros(30, dtype=int)))),
    Case("file-npz-nan", "loader", "an .npz whose X has a NaN", ValueError, r"X has NaN or infinite values",
         write("nan.npz", npz(X=with_value(3, 2, np.nan)))),
    Case("file-npz-text", "loader", "an .npz whose X holds words", TypeError, r"X must hold real numbers; got dtype <U",
         write("words.npz", npz(X=np.array([["red", "blue"]] * 4)))),
    Case("file-pickled-npy", "loader", "an .npy of pickled Python objects", ValueError,
         r"pickled Python objects .*pickles are refused", write("objects.npy", pickled_npy)),
    Case("file-pickled-npz", "loader", "an .npz holding a pickled object array", ValueError,
         r"pickled Python objects .*pickles are refused", write("objects.npz", npz(X=np.array([[1, "a"]], dtype=object)))),
    Case("file-random-bytes", "loader", "an .npz of random bytes", ValueError, r"not a numpy file at all",
         write("noise.npz", random_bytes)),
    Case("file-csv-text-column", "loader", "a CSV with a text column", ValueError,
         r"text\.csv, line 2: non-numeric value 'x' in column 'name'", write("text.csv", text_file("a,b,name\n1,2,x\n3,4,y\n"))),
    Case("file-csv-ragged", "loader", "a CSV row with a missing field", ValueError, r"line 2: 1 fields where 2 were expected",
         write("ragged.csv", text_file("1,2\n3\n"))),
    Case("file-csv-empty", "loader", "an empty CSV", ValueError, r"the file is empty", write("empty.csv", text_file(""))),
    Case("file-unsupported-type", "loader", "a `.txt` file", ValueError, r"unsupported file type '\.txt'.*supported: \.csv, \.npy, \.npz",
         write("data.txt", text_file("1,2\n"))),
    Case("dataset-unknown-name", "loader", "`load_dataset('moonz')`", ValueError,
         r"'moonz' is neither a data set name \(digits, mnist, moons, circles, spirals\) nor an existing file",
         lambda ctx: load_dataset("moonz")),
    # -- command line (the CLI's main in this process; see CLIRuns)
    Case("cli-unknown-key", "CLI", "`fit --model.not_a_key 1`", CLIError,
         r"unrecognized arguments: --model.not_a_key 1\nvalid model keys: n_features, trunk", cli("cli-unknown-key")),
    Case("cli-unknown-key-in-yaml", "CLI", "a YAML config with `model: {experts: {temprature: 0.2}}`", CLIError,
         r"does not accept option 'model.experts.temprature'\ndid you mean model.experts.temperature\?",
         cli("cli-unknown-key-in-yaml")),
    Case("cli-python-tag-in-yaml", "CLI", "a YAML config with a `!!python/object/apply:os.system` tag", CLIError,
         r"could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
         cli("cli-python-tag-in-yaml")),
    Case("cli-setting-out-of-range", "CLI", "`fit --model.experts.temperature -1`", CLIError,
         r"mixae-graph: error: experts.temperature must be a positive finite number, got -1.0", cli("cli-setting-out-of-range")),
    Case("cli-too-few-samples", "CLI", "`fit --model.graph.n_neighbors 15` on 10 samples", CLIError,
         r"mixae-graph: error: n_samples=10 is too few for the kNN graph: it needs more than graph.n_neighbors=15",
         cli("cli-too-few-samples")),
    Case("cli-corrupt-checkpoint", "CLI", "`predict --ckpt_path` a file of random bytes", CLIError,
         r"could not read checkpoint .*noise\.ckpt: it is not a PyTorch checkpoint", cli("cli-corrupt-checkpoint")),
    Case("cli-foreign-checkpoint", "CLI", "`predict --ckpt_path` a `torch.save({'state_dict': {}})` file", CLIError,
         r"foreign\.ckpt is not a mixae-graph checkpoint .*no 'mixae_graph' entry", cli("cli-foreign-checkpoint")),
]


def cli_runs(tmp: Path) -> dict[str, list[str]]:
    """The files the CLI cases read, and their command lines."""
    np.savez(tmp / "small.npz", X=X[:10])
    (tmp / "typo.yaml").write_text("model:\n  experts:\n    temprature: 0.2\n")
    (tmp / "evil.yaml").write_text(
        f"model:\n  trunk:\n    epochs: !!python/object/apply:os.system ['touch {tmp / 'pwned'}']\n")
    random_bytes(tmp / "noise.ckpt")
    torch.save({"state_dict": {}}, tmp / "foreign.ckpt")
    runs = tmp / "runs"
    return {
        "cli-unknown-key": ["fit", "--model.not_a_key", "1"],
        "cli-unknown-key-in-yaml": ["fit", "--config", tmp / "typo.yaml"],
        "cli-python-tag-in-yaml": ["fit", "--config", tmp / "evil.yaml"],
        "cli-setting-out-of-range": ["fit", "--model.experts.temperature", "-1", "--trainer.default_root_dir", runs],
        "cli-too-few-samples": ["fit", "--data.source", tmp / "small.npz", "--model.graph.n_neighbors", "15",
                                "--trainer.default_root_dir", runs],
        "cli-corrupt-checkpoint": ["predict", "--ckpt_path", tmp / "noise.ckpt"],
        "cli-foreign-checkpoint": ["predict", "--ckpt_path", tmp / "foreign.ckpt"],
    }


@dataclass
class CLIResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], cwd: Path) -> CLIResult:
    """``mixae-graph ARGS`` in this process (the console script is ``mixae_graph.cli:main``; a
    subprocess would pay the imports again for every case): exit code and what it printed."""
    from mixae_graph.cli import main

    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    code = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except Exception:  # noqa: BLE001 - a traceback is what the case reports
        code = 1
        err.write(traceback.format_exc())
    finally:
        os.chdir(here)
    return CLIResult(code, out.getvalue(), err.getvalue())


class CLIRuns:
    """Runs the CLI cases (they only parse and load) when first asked for."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.results = None

    def __call__(self):
        if self.results is None:
            self.results = {case_id: run_cli(args, self.tmp) for case_id, args in cli_runs(self.tmp).items()}
        return self.results


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    return CLIRuns(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def fitted():
    return MixAEGraph(**TINY).fit(X)


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_with_a_message_naming_it(case, tmp_path, request, cli_results):
    ctx = Context(tmp_path, model=lambda: request.getfixturevalue("fitted"), cli=cli_results)
    with pytest.raises(case.error) as caught:
        case.call(ctx)
    message = str(caught.value)
    assert re.search(case.match, message), f"{case.match!r} not in {message!r}"
    if case.where == "CLI":
        assert message.startswith("mixae-graph: error: "), message
        assert "Traceback" not in message and "usage:" not in message
        assert len(message.splitlines()) <= 8, message  # short: not jsonargparse's 90 lines of usage


def test_cli_never_ran_the_python_tag_in_yaml(cli_results):
    cli_results()
    assert not (cli_results.tmp / "pwned").exists()


def test_cli_lists_valid_keys_without_the_usage_wall(cli_results):
    stderr = cli_results()["cli-unknown-key"].stderr
    for key in ("trunk", "experts", "graph", "n_clusters", "min_cluster_size"):
        assert key in stderr
    assert "mixae-graph fit --help" in stderr
    assert len(stderr) < 1200


# ----------------------------------------------------------------------------------------------- safe loading
class Payload:
    """Unpickling this creates ``path``: proof that pickled code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_loaders_never_unpickle(tmp_path):
    marker = tmp_path / "ran"
    np.savez(tmp_path / "evil.npz", X=np.array([Payload(marker)], dtype=object))
    np.save(tmp_path / "evil.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    for name in ("evil.npz", "evil.npy"):
        with pytest.raises(ValueError, match="pickles are refused"):
            load_file(tmp_path / name)
    assert not marker.exists()


def test_no_unsafe_loading_in_the_package():
    """np.load always with allow_pickle=False, torch.load always weights_only=True; no eval/exec/pickle/yaml.load."""
    for path in sorted((ROOT / "mixae_graph").glob("*.py")):
        text = path.read_text()
        for call in re.findall(r"np\.load\([^)]*\)", text):
            assert "allow_pickle=False" in call, f"{path.name}: {call}"
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path.name}: {call}"
        unsafe = (r"(?<![.\w])eval\(", r"(?<![.\w])exec\(", r"\bpickle\.loads?\(", r"yaml\.load\(",
                  r"allow_pickle=True", r"weights_only=False")
        for pattern in unsafe:
            assert not re.search(pattern, text), f"{path.name} uses {pattern}"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real checkpoint of a tiny fit (the graph steps included)."""
    import lightning as L

    from mixae_graph.datamodule import MixAEDataModule
    from mixae_graph.module import MixAEGraphModule

    tmp = tmp_path_factory.mktemp("ckpt")
    L.seed_everything(0, verbose=False)
    datamodule = MixAEDataModule.from_arrays(X, batch_size=64)
    module = MixAEGraphModule(n_features=X.shape[1], trunk=dict(epochs=2, hidden=(32,)),
                              experts=dict(epochs=1, hidden=(16,)), graph=dict(n_neighbors=5))
    callback = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp, save_last=True, every_n_epochs=1)
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, callbacks=[callback], enable_progress_bar=False,
                        enable_model_summary=False, reload_dataloaders_every_n_epochs=1)
    trainer.fit(module, datamodule)
    return tmp / "last.ckpt", module


def test_checkpoint_loads_weights_only(checkpoint):
    from mixae_graph.cli import check_checkpoint
    from mixae_graph.module import MixAEGraphModule

    path, module = checkpoint
    state = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors and Python values only
    assert "mixae_graph" in state and "state_dict" in state
    check_checkpoint(path)
    assert "weights_only" in inspect.signature(MixAEGraphModule.load_from_checkpoint).parameters
    restored = MixAEGraphModule.load_from_checkpoint(path, weights_only=True)
    x = torch.as_tensor(X)
    torch.testing.assert_close(restored.expert_errors(x), module.expert_errors(x))


def test_checkpoint_with_pickled_code_is_refused_unrun(checkpoint, tmp_path):
    from mixae_graph.cli import check_checkpoint
    from mixae_graph.module import MixAEGraphModule

    path, _ = checkpoint
    marker = tmp_path / "ran"
    state = torch.load(path, map_location="cpu", weights_only=True)
    state["payload"] = Payload(marker)
    torch.save(state, tmp_path / "evil.ckpt")
    with pytest.raises(ValueError, match=r"could not read checkpoint .*evil\.ckpt: .*Weights only load failed"):
        check_checkpoint(tmp_path / "evil.ckpt")
    with pytest.raises(Exception, match="Weights only load failed"):
        MixAEGraphModule.load_from_checkpoint(tmp_path / "evil.ckpt", weights_only=True)
    assert not marker.exists()


def test_truncated_checkpoint_is_refused(checkpoint, tmp_path):
    from mixae_graph.cli import check_checkpoint

    path, _ = checkpoint
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"could not read checkpoint .*cut\.ckpt: .*truncated or corrupt"):
        check_checkpoint(cut)


# ----------------------------------------------------------------------------------------------- degenerate but valid
def _groups(centres, size, spread, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([c + rng.normal(0, spread, (size, n_features)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(len(centres)), size)


def assert_sane(model, X):
    """Every point labelled; predictions, probabilities and errors well formed."""
    assert model.labels_.shape == (len(X),) and (model.labels_ >= 0).all()
    predicted = model.predict(X)
    assert predicted.shape == (len(X),) and (predicted >= 0).all()
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert np.isfinite(model.transform(X)).all() and np.isfinite(model.score_samples(X)).all()


def test_identical_rows_make_one_cluster():
    X = np.full((40, 4), 3.0, dtype=np.float32)
    model = MixAEGraph(**TINY).fit(X)
    assert_sane(model, X)
    assert np.unique(model.labels_).tolist() == [0]
    assert np.unique(model.predict(X)).tolist() == [0]


def test_two_distant_points_repeated_make_two_clusters():
    """Many copies of two far-apart points: two clusters, one per point (a kNN graph needs more points than
    n_neighbors, so two lone points are refused: see the fit-too-few-for-graph case)."""
    X = np.repeat(np.array([[0.0, 0.0, 0.0], [1000.0, -1000.0, 1000.0]], dtype=np.float32), 30, axis=0)
    model = MixAEGraph(**TINY).fit(X)
    assert_sane(model, X)
    truth = np.repeat([0, 1], 30)
    assert len(np.unique(model.labels_)) == 2
    assert adjusted_rand_score(truth, model.labels_) == 1.0
    assert adjusted_rand_score(truth, model.predict(X)) == 1.0


@pytest.fixture(scope="module")
def tight_groups():
    X, y = _groups([0.0, 100.0], 30, 0.01, 5)
    return X, y, MixAEGraph(**TINY).fit(X)


def test_two_tight_distant_groups_make_two_clusters(tight_groups):
    X, y, model = tight_groups
    assert_sane(model, X)
    assert len(np.unique(model.labels_)) == 2
    assert adjusted_rand_score(y, model.labels_) == 1.0
    assert adjusted_rand_score(y, model.predict(X)) == 1.0


def test_every_expert_owns_a_point(tight_groups):
    _, _, model = tight_groups
    assert model.n_experts_ == len(np.unique(model.labels_))


def test_single_feature():
    X, y = _groups([0.0, 50.0], 100, 0.1, 1)
    model = MixAEGraph(**{**TINY, "graph": dict(n_neighbors=15)}).fit(X)
    assert_sane(model, X)
    assert adjusted_rand_score(y, model.labels_) == 1.0


def test_duplicated_rows_share_their_label():
    base, _ = _groups([0.0, 8.0], 40, 1.0, 6)
    X = np.vstack([base, base])
    model = MixAEGraph(**TINY).fit(X)
    assert_sane(model, X)
    np.testing.assert_array_equal(model.labels_[: len(base)], model.labels_[len(base):])
    np.testing.assert_array_equal(model.predict(base), model.predict(X)[80:])


def test_repeating_every_row_keeps_the_clusters():
    base, y = _groups([0.0, 8.0], 75, 1.0, 10)
    settings = dict(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)))
    once = MixAEGraph(**settings).fit(base)
    thrice = MixAEGraph(**settings).fit(np.vstack([base] * 3))
    assert adjusted_rand_score(y, once.labels_) == 1.0
    assert adjusted_rand_score(np.tile(y, 3), thrice.labels_) == 1.0


def test_features_on_wildly_different_scales():
    """One column x1e6 and one constant column: no overflow, and the groups (apart in every column, the big
    one included) are found. Features keep their relative scale (one global scale, like k-means), so a
    column that is large but meaningless would dominate: standardise such data first."""
    X, y = _groups([0.0, 10.0], 40, 0.5, 5)
    X[:, 0] *= 1e6
    X[:, 2] = 7.0
    model = MixAEGraph(**TINY).fit(X)
    assert_sane(model, X)
    assert adjusted_rand_score(y, model.labels_) == 1.0


def test_smallest_allowed_sample_count():
    X, _ = _groups([0.0], 6, 1.0, 3)
    model = MixAEGraph(**TINY).fit(X)  # n_neighbors=5: six points are the fewest a graph can have
    assert_sane(model, X)


def test_values_near_the_float32_limit():
    X = np.full((30, 3), 3e38, dtype=np.float32)
    X[:15] *= -1
    model = MixAEGraph(**TINY).fit(X)
    assert len(np.unique(model.labels_)) == 2


# ----------------------------------------------------------------------------------------------- the doc
def test_doc_lists_exactly_the_tested_cases():
    ids = re.findall(r"^\| `([\w-]+)` \|", DOC.read_text(), flags=re.MULTILINE)
    assert sorted(ids) == sorted(case.id for case in CASES)
    assert len(ids) == len(set(ids)) >= 25


def _doc_message(case, error, tmp):
    message = str(error).replace(str(tmp), "…")
    if case.where == "CLI":
        lines = message.splitlines()
        shown = " ⏎ ".join(line.strip() for line in lines[:3]) + (" ⏎ …" if len(lines) > 3 else "")
        return f"exit code 2; stderr: `{shown}`"
    first = message.splitlines()[0] if message else ""
    return f"`{type(error).__name__}`: `{first}`"


def write_doc():
    """Run every case and write docs/validation.md from what the code really says."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        runs = CLIRuns(tmp / "cli")
        model = MixAEGraph(**TINY).fit(X)
        rows = []
        for case in CASES:
            case_tmp = tmp / case.id
            case_tmp.mkdir(parents=True)
            try:
                case.call(Context(case_tmp, model=model, cli=runs))
            except case.error as error:
                message = str(error)
                assert re.search(case.match, message), (case.id, message)
                shown = _doc_message(case, error, case_tmp if case.where != "CLI" else tmp / "cli")
            else:
                raise AssertionError(f"{case.id} raised nothing")
            rows.append(f"| `{case.id}` | {case.bad} | {case.where} | {shown.replace('|', '&#124;')} |")
    where = {w: sum(case.where == w for case in CASES) for w in ("estimator", "loader", "CLI")}
    lines = [
        "# What bad input gives",
        "",
        (f"Every row is one tested case of `tests/test_validation.py` ({len(CASES)} cases: {where['estimator']} "
         f"in the estimator, {where['loader']} in the loaders, {where['CLI']} on the command line). The messages "
         "are what the code prints, collected by `.venv/bin/python tests/test_validation.py` (folders shortened "
         "to `…`). On the command line every error is one short message and exit code 2 "
         "(`MIXAE_GRAPH_DEBUG=1` shows the traceback); ` ⏎ ` marks a line break."),
        "",
        ("The estimator checks its settings before any training, and its data with messages of its own where "
         "scikit-learn's would be unclear (NaN, text, 1-D or 3-D arrays); empty arrays, sparse matrices and the "
         "feature count at predict time keep scikit-learn's messages. Files are read with `allow_pickle=False` "
         "and checkpoints with `weights_only=True`: no pickled code from a user's file ever runs."),
        "",
        ("Degenerate but valid data is clustered, not refused (also tested there): identical rows give one "
         "cluster; many copies of two far-apart points, or two tight far-apart groups, give two; one feature "
         "works; copies of a row share its label; a column 1e6 times larger than the others, or a constant "
         "one, is fine, but features keep their relative scale (one global scale, as in k-means), so standardise "
         "columns whose units are arbitrary. Every expert owns a point; repeating every row keeps the "
         "clusters (copies hang on their original in the kNN graph); values near float32's limit are scaled "
         "in float64."),
        "",
        "| case | bad input | where | what the user sees |",
        "|---|---|---|---|",
        *rows,
        "",
    ]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(lines))
    print(f"wrote {DOC} ({len(rows)} cases)")


if __name__ == "__main__":
    torch.set_num_threads(1)
    write_doc()
