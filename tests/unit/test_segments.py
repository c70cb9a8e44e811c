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


def test_segments_that_persist_keep_their_ids_and_new_ones_get_new_ids():
    from ml.segments import match_segments

    previous = {0: np.array([5.0, 0.0]), 1: np.array([0.0, 5.0]), 4: np.array([-5.0, 0.0])}
    # refitted: labels come out in another order, one old segment is gone, one is new
    new = {0: np.array([0.1, 4.9]), 1: np.array([4.8, 0.2]), 2: np.array([0.0, -6.0])}
    mapping = match_segments(new, {k: previous[k] for k in (0, 1)})
    assert mapping[0] == 1 and mapping[1] == 0
    assert mapping[2] == 2, "a new segment gets an id above every id used before"
    mapping = match_segments(new, previous)
    assert mapping == {0: 1, 1: 0, 2: 5}, "too far from old segment 4 to be the same one"


def test_a_refit_segment_keeps_its_id_when_most_of_its_customers_stay_together():
    from ml.segments import match_segments

    # the model moved every centroid far away, but the customers stayed together
    previous = {3: np.array([5.0, 0.0]), 7: np.array([5.1, 0.0]), 9: np.array([0.0, 5.0])}
    new = {0: np.array([-9.0, -9.0]), 1: np.array([9.0, 9.0]), 2: np.array([0.0, -9.0])}
    new_of = np.array([1] * 8 + [0] * 2 + [0] * 9 + [1] + [2] * 5 + [2, -1])
    old_of = np.array([3] * 8 + [3] * 2 + [7] * 9 + [7] + [9] * 5 + [-1, 9])
    mapping = match_segments(new, previous, (new_of, old_of))
    assert mapping == {1: 3, 0: 7, 2: 9}, mapping
    # old 7 scatters: no new segment holds most of it or is mostly made of it, so its best
    # match (new 1) is a new segment; new 2 is mostly old 9's customers, so it keeps id 9
    new_of = np.array([0] * 8 + [1] * 4 + [2] * 3 + [0] * 3 + [1] * 4 + [2] * 4 + [0] * 2)
    old_of = np.array([3] * 8 + [7] * 4 + [7] * 3 + [7] * 3 + [9] * 4 + [9] * 4 + [9] * 2)
    assert match_segments(new, previous, (new_of, old_of)) == {0: 3, 1: 10, 2: 9}
    # new 0 shares more customers with old 7 (a small part of it) than with old 3 (most of
    # it): old 3 persists in new 0; old 7 went to new 1
    new_of = np.array([0] * 37 + [1] * 58 + [0] * 34 + [2] * 6)
    old_of = np.array([7] * 37 + [7] * 58 + [3] * 34 + [3] * 6)
    assert match_segments(new, previous, (new_of, old_of)) == {0: 3, 1: 7, 2: 10}
    # old 3 splits 6 and 2: the larger part keeps the id
    new_of, old_of = np.array([0] * 6 + [1] * 2), np.array([3] * 8)
    assert match_segments(new, previous, (new_of, old_of)) == {0: 3, 1: 10, 2: 11}


def test_the_first_build_keeps_the_fitted_labels():
    from ml.segments import match_segments

    assert match_segments({0: np.zeros(2), 1: np.ones(2)}, {}) == {0: 0, 1: 1}


def test_the_same_sample_gives_the_same_segments_and_positions():
    X, _ = _blobs(70, 3)
    first = ShapSegmenter(random_state=7).fit(X)
    second = ShapSegmenter(random_state=7).fit(X.copy())
    assert (first.fit_labels_ == second.fit_labels_).all()
    assert np.array_equal(first.embedding_, second.embedding_)
    labels_a, positions_a = first.assign(X)
    labels_b, positions_b = second.assign(X)
    assert (labels_a == labels_b).all() and np.array_equal(positions_a, positions_b)


def test_a_segmenter_rebuilt_from_its_fit_rows_assigns_as_the_fitted_one():
    X, _ = _blobs(50, 4)
    fitted = ShapSegmenter(random_state=0).fit(X)
    rebuilt = ShapSegmenter.from_fit(X, fitted.fit_labels_, fitted.embedding_)
    new, _ = _blobs(15, 5)
    for rows in (X, new):
        labels_a, positions_a = fitted.assign(rows)
        labels_b, positions_b = rebuilt.assign(rows)
        assert (labels_a == labels_b).all() and np.array_equal(positions_a, positions_b)


def test_carried_forward_customers_keep_their_segment_and_newcomers_join_their_neighbours():
    from ml.segments import carry_forward

    held, truth = _blobs(30, 4)
    segments = np.where(truth == 2, -1, truth + 10)  # ids 10 and 11; the third left unclustered
    positions = np.column_stack([truth, -truth]).astype(float)
    newcomers, new_truth = _blobs(5, 5)
    sample = np.vstack([held[:40], newcomers[new_truth < 2]])
    row = np.concatenate([np.arange(40), -np.ones((new_truth < 2).sum(), dtype=int)])
    labels, embedding = carry_forward(held, segments, positions, sample, row)
    assert (labels[:40] == segments[:40]).all() and (embedding[:40] == positions[:40]).all()
    assert (labels[40:] == new_truth[new_truth < 2] + 10).all()
    assert np.allclose(embedding[40:, 0], new_truth[new_truth < 2])


def test_segments_are_refitted_only_for_a_reason():
    import datetime as dt

    import pandas as pd

    from ml.segments import refit_reason

    features = ["a", "b"]
    month = dt.date(2026, 9, 1)
    previous = pd.DataFrame(
        {"customer_id": ["c1"], "segment_id": [0], "fitted_month": [dt.date(2026, 8, 1)]}
        | {f: [0.0] for f in features}
    )
    held = pd.DataFrame({"customer_id": ["c1"], "previous_segment_id": [0]})
    assert refit_reason(previous, held, features, month) is None
    assert refit_reason(previous.iloc[:0], held, features, month) == "the first fit"
    assert "features changed" in refit_reason(previous, held, ["a", "c"], month)
    assert "asked" in refit_reason(previous, held, features, month, asked=True)
    assert "13 months old" in refit_reason(previous, held, features, dt.date(2027, 9, 1))
    # between reviews an old fit is carried until the next review month
    assert refit_reason(previous, held, features, dt.date(2027, 9, 1), review=False) is None
    assert "still scored" in refit_reason(previous, held.iloc[:0], features, month)


def test_a_persisting_segment_keeps_its_name_and_names_stay_unique():
    from ml.segment_rules import keep_names

    generated = {0: "High fees", 1: "Low balance", 2: "Low activity"}
    names = keep_names(generated, {0: "Low activity", 1: "Low balance", 7: "Gone"})
    assert names[0] == "Low activity" and names[1] == "Low balance"
    assert names[2] == "Low activity (segment 2)"
    assert len(set(names.values())) == 3


def test_a_customer_keeps_last_builds_segment_while_enough_neighbours_hold_it():
    X, truth = _blobs(40, 6)
    seg = ShapSegmenter(random_state=0).fit(X)
    labels, _ = seg.assign(X)
    # halfway between the first two groups: the vote may tip either way
    between = (X[truth == 0].mean(axis=0) + X[truth == 1].mean(axis=0)) / 2
    rows = np.vstack([between + 0.01 * i for i in range(5)])
    first, second = labels[truth == 0][0], labels[truth == 1][0]
    votes = seg.classifier_.predict_proba(rows)
    column = list(seg.classifier_.classes_).index(first)
    held, _ = seg.assign(rows, previous=np.full(len(rows), first), keep_share=0.4)
    assert ((held == first) == (votes[:, column] >= 0.4)).all()
    # a customer deep inside another group moves whatever they had
    deep, _ = seg.assign(X[truth == 1][:3], previous=np.full(3, first))
    assert (deep == second).all()
    # no history: the vote
    plain, _ = seg.assign(rows, previous=np.full(len(rows), -1))
    assert (plain == seg.classifier_.predict(rows)).all()


def test_membership_is_reviewed_at_each_quarter_end_by_default():
    from datetime import date

    from ml.segments import is_review_month

    reviewed = [m for m in range(1, 13) if is_review_month(date(2026, m, 1), 3)]
    assert reviewed == [3, 6, 9, 12]
    assert all(is_review_month(date(2026, m, 1), 1) for m in range(1, 13))
    assert [m for m in range(1, 13) if is_review_month(date(2026, m, 1), 12)] == [12]


def test_between_reviews_a_customer_keeps_a_segment_that_still_exists():
    from ml.segments import hold_between_reviews

    labels = np.array([0, 1, 2, 1, 0])
    previous = np.array([0, 2, -1, 5, 1])  # same, moved, new customer, vanished, moved
    held_labels, held = hold_between_reviews(labels, previous, classes=np.array([0, 1, 2]))
    assert held_labels.tolist() == [0, 2, 2, 1, 1]
    assert held.tolist() == [False, True, False, False, True]
