"""Clustering scores against known classes: accuracy under the best matching, NMI, ARI.

Cluster ids are arbitrary, so accuracy first matches each predicted cluster to at most one class
(the Hungarian algorithm on the contingency table, as in DEC, Xie et al. 2016) and then
counts the points whose matched class is right. Clusters left without a class count as errors.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def _check_labels(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got an array of shape {y.shape}")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred have different lengths: {len(y_true)} and {len(y_pred)}"
        )
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty")
    return y_true, y_pred


def _matching(y_true, y_pred):
    """Contingency table and its best one-to-one matching.

    Returns ``classes``, ``clusters`` (sorted unique labels), ``table`` of shape
    ``(n_clusters, n_classes)`` and the matched index pairs ``(rows, cols)``.
    """
    classes, class_idx = np.unique(y_true, return_inverse=True)
    clusters, cluster_idx = np.unique(y_pred, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)  # (clusters, classes)
    np.add.at(table, (cluster_idx, class_idx), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return classes, clusters, table, rows, cols


def cluster_accuracy(y_true, y_pred):
    """Accuracy of ``y_pred`` after the best one-to-one matching of clusters to classes.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class labels.
    y_pred : array-like of shape (n_samples,)
        Cluster labels; their number may differ from the number of classes.

    Returns
    -------
    float
        Fraction of points in a matched cluster whose class is the matched one, in [0, 1].

    Examples
    --------
    >>> cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    y_true, y_pred = _check_labels(y_true, y_pred)
    _, _, table, rows, cols = _matching(y_true, y_pred)
    return float(table[rows, cols].sum() / len(y_true))


def match_labels(y_true, y_pred):
    """Relabel ``y_pred`` with the class each cluster is matched to.

    Clusters left without a class (more clusters than classes) get new ids
    ``max(y_true) + 1, max(y_true) + 2, ...`` in the order of their own labels.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        Integer class labels.
    y_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    ndarray of int64, shape (n_samples,)
        ``y_pred`` in class ids, ready for a confusion matrix against ``y_true``.

    See Also
    --------
    cluster_accuracy : equals ``mean(match_labels(y_true, y_pred) == y_true)``.
    """
    y_true, y_pred = _check_labels(y_true, y_pred)
    if not np.issubdtype(y_true.dtype, np.integer):
        raise ValueError(f"match_labels needs integer class labels, got dtype {y_true.dtype}")
    classes, clusters, _, rows, cols = _matching(y_true, y_pred)
    new_id = dict(zip(rows.tolist(), classes[cols].tolist()))
    next_id = int(classes.max()) + 1
    for row in range(len(clusters)):
        if row not in new_id:
            new_id[row] = next_id
            next_id += 1
    lookup = np.array([new_id[row] for row in range(len(clusters))], dtype=np.int64)
    return lookup[np.searchsorted(clusters, y_pred)]


def evaluate(y_true, y_pred):
    """All scores at once.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Class labels.
    y_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    dict
        ``acc`` (:func:`cluster_accuracy`), ``nmi`` (normalized mutual information, arithmetic
        mean), ``ari`` (adjusted Rand index), all floats, and ``n_clusters`` (int, distinct labels
        in ``y_pred``).
    """
    y_true, y_pred = _check_labels(y_true, y_pred)
    return {
        "acc": cluster_accuracy(y_true, y_pred),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
        "n_clusters": int(len(np.unique(y_pred))),
    }
