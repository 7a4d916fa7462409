"""The scikit-learn estimator contract (``parametrize_with_checks``) on tiny nets, and the one check it
cannot pass to the letter (row order, at float32 resolution) tested as its own property."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from mixae_graph import MixAEGraph

TINY = dict(trunk=dict(epochs=2, hidden=(16,)), experts=dict(epochs=2, hidden=(8,)),
            graph=dict(n_neighbors=5, merge_every=1))


# scikit-learn asks transform to agree to 1e-7 (relative) between two row orders; float32 matrix
# products round a row by where it falls in the BLAS kernel's tiles (measured: 1 ulp, 2e-7
# relative, on about a quarter of random permutations). The property itself is tested below at
# float32's resolution, and exactly for predict.
ROUNDING = {"check_methods_sample_order_invariance": "float32 products round by row position (1 ulp); "
            "tested at float32 resolution in test_row_order_changes_transform_only_by_float32_rounding"}


@parametrize_with_checks([MixAEGraph(**TINY)], expected_failed_checks=lambda estimator: ROUNDING)
def test_scikit_learn_contract(estimator, check):
    check(estimator)


def test_row_order_changes_transform_only_by_float32_rounding():
    rng = np.random.default_rng(0)
    X = 3 * rng.uniform(size=(40, 3))
    model = MixAEGraph(**TINY).fit(X)
    errors, labels = model.transform(X), model.predict(X)
    for _ in range(20):
        order = rng.permutation(len(X))
        np.testing.assert_allclose(model.transform(X[order]), errors[order], rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(model.predict(X[order]), labels[order])
