"""ShapSegmenter: finds separated groups on a sample and assigns every row."""

import numpy as np

from ml.segments import ShapSegmenter


def _blobs(n_per, seed):
    rng = np.random.default_rng(seed)
    centres = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=float)
    X = np.vstack([c + rng.normal(0, 0.3, (n_per, 4)) for c in centres])
    return X, np.repeat([0, 1, 2], n_per)


def test_separated_groups_become_separate_segments():
    X, truth = _blobs(80, 0)
    seg = ShapSegmenter(random_state=0).fit(X)
    labels, positions = seg.assign(X)
    assert seg.n_segments_ == 3
    assert positions.shape == (len(X), 2)
    # each true group maps to one segment
    for group in range(3):
        assert len(set(labels[truth == group])) == 1
    assert len(set(labels)) == 3


def test_rows_outside_the_fit_sample_are_assigned_to_their_group():
    X, _ = _blobs(60, 1)
    seg = ShapSegmenter(random_state=0).fit(X)
    new, truth = _blobs(10, 2)
    fitted_labels, _ = seg.assign(X)
    new_labels, _ = seg.assign(new)
    for group in range(3):
        assert set(new_labels[truth == group]) == set(fitted_labels[60 * group : 60 * group + 1])
