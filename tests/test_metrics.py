import numpy as np
import pytest

from mixae_graph.metrics import cluster_accuracy, evaluate, match_labels


def test_permuted_labels_are_perfect():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([5, 5, 0, 0, 9, 9, 9])
    assert cluster_accuracy(y_true, y_pred) == 1.0
    np.testing.assert_array_equal(match_labels(y_true, y_pred), y_true)
    scores = evaluate(y_true, y_pred)
    assert scores == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "n_clusters": 3})


def test_known_two_by_two_confusion():
    # cluster 1 holds 3 of class 0 and 1 of class 1; cluster 0 the reverse
    y_true = [0, 0, 0, 0, 1, 1, 1, 1]
    y_pred = [1, 1, 1, 0, 0, 0, 0, 1]
    assert cluster_accuracy(y_true, y_pred) == 6 / 8
    np.testing.assert_array_equal(match_labels(y_true, y_pred), [0, 0, 0, 1, 1, 1, 1, 0])


def test_matching_is_optimal_not_greedy():
    # contingency (clusters x classes) = [[3, 2], [2, 0]]: greedy takes the 3 and then 0 (3/7),
    # the best matching takes 2 + 2 (4/7)
    y_true = [0, 0, 0, 1, 1, 0, 0]
    y_pred = [0, 0, 0, 0, 0, 1, 1]
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(4 / 7)
    np.testing.assert_array_equal(match_labels(y_true, y_pred), [1, 1, 1, 1, 1, 0, 0])


def test_more_clusters_than_classes():
    y_true = np.array([0, 0, 1, 1, 1, 1])
    y_pred = np.array([7, 7, 3, 3, 3, 5])  # cluster 5 is left without a class
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    matched = match_labels(y_true, y_pred)
    np.testing.assert_array_equal(matched, [0, 0, 1, 1, 1, 2])
    assert np.mean(matched == y_true) == cluster_accuracy(y_true, y_pred)
    assert evaluate(y_true, y_pred)["n_clusters"] == 3


def test_fewer_clusters_than_classes():
    assert cluster_accuracy([0, 1, 2], [4, 4, 4]) == pytest.approx(1 / 3)


def test_string_classes_score_but_do_not_relabel():
    assert cluster_accuracy(["a", "a", "b"], [1, 1, 0]) == 1.0
    with pytest.raises(ValueError, match="integer class labels"):
        match_labels(["a", "a", "b"], [1, 1, 0])


@pytest.mark.parametrize("func", [cluster_accuracy, match_labels, evaluate])
def test_bad_input(func):
    with pytest.raises(ValueError, match="different lengths: 3 and 2"):
        func([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        func([], [])
    with pytest.raises(ValueError, match="y_pred must be 1-D"):
        func([0, 1], [[0, 1]])
