"""A harder turntable: each digit is a card turned about its vertical axis (out of the image
plane): width |cos(angle)| (at least `floor`), mirrored from behind, with a small in-plane tilt."""
import sys, numpy as np
OUT = __import__("os").environ.get("OUT", "/tmp/s48")  # where the codes files go
from common import q, load  # noqa: F401  (the repository on the path)
from scipy.ndimage import affine_transform
from mixae_graph import MixAEGraph
from mixae_graph.datasets import from_arrays
from mixae_graph.metrics import cluster_accuracy

def card(image, angle, floor):
    c = np.cos(np.deg2rad(angle))
    w = np.sign(c if c != 0 else 1) * max(abs(c), floor)
    m = np.array([[1.0, 0.0], [0.0, 1.0 / w]])  # (row, col): columns squeezed by w, mirrored if w < 0
    centre = (np.asarray(image.shape) - 1) / 2
    return affine_transform(image, m, offset=centre - m @ centre, order=1, mode="constant")

def make_cards(images, shape, n_views=72, floor=0.2):
    images = np.asarray(images, dtype=np.float32).reshape(-1, *shape)
    angles = np.arange(n_views) * 360.0 / n_views
    X = np.stack([card(im, a, floor) for im in images for a in angles])
    return from_arrays(X.reshape(len(X), -1), np.repeat(np.arange(len(images)), n_views), image_shape=shape, name="cards")

if __name__ == "__main__":
    mnist = load("mnist")
    data = make_cards(q._subjects(mnist, 2), mnist.image_shape, floor=float(sys.argv[2]))
    np.savez(f"{OUT}/cards.npz", X=data.X, y=data.y)
    for seed in [int(s) for s in sys.argv[1].split(",")]:
        m = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
        first = m.module_.state.initial_slots
        print("cards", seed, "first %.3f %d" % (cluster_accuracy(data.y, first), len(np.unique(first))),
              "final %.3f %d" % (cluster_accuracy(data.y, m.labels_), m.labels_.max() + 1), flush=True)
