"""Customer segments in SHAP space: UMAP embedding + HDBSCAN, assigned to everyone by kNN.

SHAP values are not rescaled: they already share one unit (log-odds), so distances weigh
each feature by how much it moves the score, and unimportant features add no noise.
UMAP and HDBSCAN are fitted on a bounded sample (``max_fit_rows``). Every customer, in the
sample or not, then gets the segment of its nearest fitted neighbours in SHAP space and an
embedding position averaged from theirs, so assignment scales to any table size.

Between refits the segments are carried forward (``carry_forward``): each build keeps the
previous fit sample's customers in their segments and places newcomers by their nearest
held neighbours, so a campaign list built last month still means the same groups.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors


class ShapSegmenter:
    """Fit UMAP + HDBSCAN on SHAP vectors; assign segments and 2-D positions to new rows."""

    def __init__(
        self,
        *,
        n_neighbors: int = 15,
        min_cluster_share: float = 0.05,
        min_cluster_size: int = 15,
        assign_neighbors: int = 5,
        cluster_selection_method: str = "eom",
        random_state: int = 42,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_cluster_share = min_cluster_share
        self.min_cluster_size = min_cluster_size
        self.assign_neighbors = assign_neighbors
        self.cluster_selection_method = cluster_selection_method
        self.random_state = random_state

    def fit(self, shap_matrix: np.ndarray) -> ShapSegmenter:
        """Embed the sample with UMAP and cluster the embedding with HDBSCAN."""
        import umap  # imported here: numba compilation is slow and only fitting needs it

        X = np.asarray(shap_matrix, dtype=float)
        if X.ndim != 2 or len(X) < 5:
            raise ValueError(f"need at least 5 rows of SHAP vectors to segment, got {X.shape}")
        Z = X
        n_neighbors = min(self.n_neighbors, len(X) - 1)
        # exact neighbours of the (bounded) sample, brute force: UMAP's own approximate
        # search (pynndescent) spent 46 of 60 s compiling with numba on every build
        distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(Z).kneighbors(Z)
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=0.0,
            random_state=self.random_state,
            n_jobs=1,
            precomputed_knn=(indices, distances, None),
        )
        with warnings.catch_warnings():
            # without a search index UMAP cannot transform new rows; assign() uses k-NN
            warnings.filterwarnings("ignore", message=".*knn_search_index.*")
            self.embedding_ = reducer.fit_transform(Z).astype(float)
        size = max(self.min_cluster_size, int(self.min_cluster_share * len(X)))
        labels = HDBSCAN(
            min_cluster_size=min(size, len(X)),
            cluster_selection_method=self.cluster_selection_method,
            copy=True,
        ).fit_predict(self.embedding_)
        if (labels < 0).all():  # no structure found: one segment
            labels = np.zeros(len(X), dtype=int)
        return self._fit_assigners(Z, labels)

    def _fit_assigners(self, Z: np.ndarray, labels: np.ndarray) -> ShapSegmenter:
        """The k-NN steps that assign any row: a segment from the clustered fit rows, a
        position averaged from every fit row's embedding."""
        self.fit_labels_ = labels
        clustered = labels >= 0
        k = min(self.assign_neighbors, int(clustered.sum()))
        self.classifier_ = KNeighborsClassifier(n_neighbors=k).fit(Z[clustered], labels[clustered])
        self.locator_ = KNeighborsRegressor(n_neighbors=min(self.assign_neighbors, len(Z))).fit(
            Z, self.embedding_
        )
        self.n_segments_ = int(labels.max()) + 1
        return self

    @classmethod
    def from_fit(
        cls,
        shap_matrix: np.ndarray,
        labels: np.ndarray,
        embedding: np.ndarray,
        *,
        assign_neighbors: int = 5,
    ) -> ShapSegmenter:
        """The segmenter a fit produced, rebuilt from what it kept (the fit rows' SHAP
        vectors, labels and embedding, as the table churn_segmenter holds them): it assigns
        every row exactly as the fitted one did, with no UMAP or HDBSCAN and no pickle."""
        Z = np.asarray(shap_matrix, dtype=float)
        labels = np.asarray(labels, dtype=int)
        if Z.ndim != 2 or len(Z) != len(labels) or not (labels >= 0).any():
            raise ValueError(
                f"a segmenter needs fit rows with at least one segment, got {Z.shape} and "
                f"{int((labels >= 0).sum())} clustered rows: rebuild the fit with "
                "`propensity dbt build --select churn_segmenter+`"
            )
        segmenter = cls(assign_neighbors=assign_neighbors)
        segmenter.embedding_ = np.asarray(embedding, dtype=float)
        return segmenter._fit_assigners(Z, labels)

    @classmethod
    def from_table(cls, fit, names: list[str]) -> tuple[ShapSegmenter, dict[int, int], set[int]]:
        """The segmenter, the stable id of each fit label and the ids of new segments, from
        the rows of the table churn_segmenter (a pandas frame; ``names``: its SHAP columns,
        in the order the segmenter was fitted on)."""
        segmenter = cls.from_fit(
            fit[names].to_numpy(dtype=float),
            fit["fit_label"].to_numpy(),
            fit[["embedding_x", "embedding_y"]].to_numpy(dtype=float),
        )
        clustered = fit[fit["fit_label"] >= 0]
        stable_id = dict(
            zip(
                clustered["fit_label"].astype(int),
                clustered["segment_id"].astype(int),
                strict=True,
            )
        )
        fresh = clustered.loc[clustered["is_new_segment"].astype(bool), "segment_id"]
        return segmenter, stable_id, set(fresh.astype(int))

    def assign(
        self,
        shap_matrix: np.ndarray,
        previous: np.ndarray | None = None,
        keep_share: float = 0.4,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(fit labels, n x 2 embedding positions) for any rows of SHAP vectors.

        ``previous``: each row's label in the last build (-1 when it had none). A row keeps it
        while at least ``keep_share`` of its nearest fit neighbours still hold it, so a
        customer moves only when their reasons to leave clearly changed, not because a
        neighbour vote tipped."""
        Z = np.asarray(shap_matrix, dtype=float)
        votes = self.classifier_.predict_proba(Z)
        classes = self.classifier_.classes_.astype(int)
        labels = classes[np.argmax(votes, axis=1)]
        if previous is not None:
            previous = np.asarray(previous, dtype=int)
            column = {int(label): i for i, label in enumerate(classes)}
            for row in np.flatnonzero(np.isin(previous, classes)):
                if votes[row, column[int(previous[row])]] >= keep_share:
                    labels[row] = previous[row]
        return labels, self.locator_.predict(Z)


def is_review_month(month, review_months: int) -> bool:
    """Whether segment membership is reviewed for a scored month: the months whose number
    (January 1) is a multiple of ``review_months`` (3: March, June, September, December);
    every month when it is 1 or less."""
    return review_months <= 1 or month.month % review_months == 0


def hold_between_reviews(
    labels: np.ndarray, previous: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, held) between reviews: a row keeps its previous label while that label still
    exists (is in ``classes``; -1 is none); ``held`` marks the rows whose label the hold
    changed, i.e. those the next review would move."""
    labels, previous = np.asarray(labels, dtype=int), np.asarray(previous, dtype=int)
    held = np.isin(previous, classes) & (previous != labels)
    return np.where(held, previous, labels), held


def match_segments(
    new_centroids: dict[int, np.ndarray],
    previous_centroids: dict[int, np.ndarray],
    shared: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[int, int]:
    """Stable segment ids: map each new segment label to an id.

    New and previous segments are matched one to one by the Hungarian method. When the two
    fits share customers (``shared``: each shared customer's new label and previous id, -1
    for none), a segment is matched on its members: the pairs that share the most customers,
    and a pair counts when most of the previous segment's shared customers are in the new
    one, or most of the new one's came from it. A segment whose customers stay together keeps
    its id however far the model moved its centroid; where segments merge or split, the part
    that shares the most customers keeps the id. Without shared customers, on the Euclidean
    distance between centroids (both measured in the current SHAP space): a pair counts only
    when the centroids are closer than half the smallest gap between previous centroids. A
    segment that matches none gets a new id above every id used before.
    """
    from scipy.optimize import linear_sum_assignment

    new_labels = sorted(new_centroids)
    if not previous_centroids:
        return {label: label for label in new_labels}
    old_ids = sorted(previous_centroids)
    both = None
    if shared is not None:
        new_of, old_of = (np.asarray(x, dtype=int) for x in shared)
        keep = (new_of >= 0) & (old_of >= 0)
        both = np.array(
            [[np.sum(keep & (new_of == n) & (old_of == o)) for o in old_ids] for n in new_labels]
        )
    if both is not None and both.sum() > 0:
        # only pairs where one side is mostly the other are candidates; of those, the
        # one-to-one assignment that keeps the most customers together
        majority = 2 * both > np.minimum.outer(both.sum(axis=1), both.sum(axis=0))
        kept = np.where(majority, both, 0)
        rows, cols = linear_sum_assignment(-kept)
        accepted = [(r, c) for r, c in zip(rows, cols, strict=True) if kept[r, c] > 0]
    else:
        cost = np.array(
            [
                [np.linalg.norm(new_centroids[n] - previous_centroids[o]) for o in old_ids]
                for n in new_labels
            ]
        )
        gaps = [
            np.linalg.norm(previous_centroids[a] - previous_centroids[b])
            for i, a in enumerate(old_ids)
            for b in old_ids[i + 1 :]
        ]
        radius = 0.5 * min(gaps) if gaps else np.inf
        rows, cols = linear_sum_assignment(cost)
        accepted = [(r, c) for r, c in zip(rows, cols, strict=True) if cost[r, c] < radius]
    mapping = {new_labels[r]: old_ids[c] for r, c in accepted}
    next_id = max(old_ids) + 1
    for label in new_labels:
        if label not in mapping:
            mapping[label] = next_id
            next_id += 1
    return mapping


# churn_segmenter: a feature's value is in column VALUE_PREFIX + name, its SHAP value in name
VALUE_PREFIX = "value__"
# the columns of churn_segmenter that are neither a feature's SHAP value nor its value
FIT_COLUMNS = frozenset(
    {
        "customer_id",
        "as_of_month",
        "model_version",
        "fit_label",
        "segment_id",
        "is_new_segment",
        "embedding_x",
        "embedding_y",
        "segment_name",
        "segment_rule",
        "rule_precision",
        "rule_coverage",
        "surrogate_fidelity",
        "fitted_month",
        "refit_reason",
    }
)


def refit_reason(
    previous,
    held,
    features: list[str],
    scored_month,
    *,
    asked: bool = False,
    refit_months: int = 12,
    review: bool = True,
) -> str | None:
    """Why the segments must be refitted (UMAP + HDBSCAN) rather than carried forward, or
    None to carry them. ``previous``: the previous churn_segmenter rows (a pandas frame,
    empty on the first build); ``held``: today's rows of its customers still scored, with
    ``previous_segment_id``; ``review``: whether this is a review month, the only months a
    fit's age refits it (segments are redefined only where membership is reviewed)."""
    if previous.empty:
        return "the first fit"
    if "fitted_month" not in previous or previous["fitted_month"].isna().any():
        return "the previous fit records no fit month (an earlier version made it)"
    shap_columns = {
        c for c in previous.columns if c not in FIT_COLUMNS and not c.startswith(VALUE_PREFIX)
    }
    if shap_columns != set(features):
        return "the model's features changed"
    if asked:
        return "asked for (refit_segments)"
    fitted = max(previous["fitted_month"])
    age = (scored_month.year - fitted.year) * 12 + scored_month.month - fitted.month
    if review and age >= refit_months:
        return f"the fit is {age} months old (segment_refit_months: {refit_months})"
    if held.empty or not (held["previous_segment_id"] >= 0).any():
        return "no customer of the previous fit's segments is still scored"
    return None


def carry_forward(
    held_shap: np.ndarray,
    held_segments: np.ndarray,
    held_embedding: np.ndarray,
    sample_shap: np.ndarray,
    sample_held_row: np.ndarray,
    *,
    neighbors: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """The previous fit's segments carried to today's sample, without refitting.

    ``held_*``: the previous fit sample's customers still in the population, with their SHAP
    vectors today, their segment ids (-1: unclustered) and map positions; ``sample_held_row``:
    for each row of today's sample, the row of the same customer in ``held`` (-1 if none). A
    customer of both keeps their segment and position; a newcomer takes the segment of their
    nearest held neighbours in today's SHAP space and a position averaged from theirs.
    Returns (segment ids, n x 2 positions) for the sample rows.
    """
    held_shap = np.asarray(held_shap, dtype=float)
    held_segments = np.asarray(held_segments, dtype=int)
    held_embedding = np.asarray(held_embedding, dtype=float)
    sample_shap = np.asarray(sample_shap, dtype=float)
    row = np.asarray(sample_held_row, dtype=int)
    clustered = held_segments >= 0
    if not clustered.any():
        raise ValueError("no previous segment to carry forward: refit the segments")
    segments = np.full(len(sample_shap), -1, dtype=int)
    embedding = np.zeros((len(sample_shap), 2), dtype=float)
    known = row >= 0
    segments[known] = held_segments[row[known]]
    embedding[known] = held_embedding[row[known]]
    newcomers = ~known
    if newcomers.any():
        k = min(neighbors, int(clustered.sum()))
        segments[newcomers] = (
            KNeighborsClassifier(n_neighbors=k)
            .fit(held_shap[clustered], held_segments[clustered])
            .predict(sample_shap[newcomers])
        )
        embedding[newcomers] = (
            KNeighborsRegressor(n_neighbors=min(neighbors, len(held_shap)))
            .fit(held_shap, held_embedding)
            .predict(sample_shap[newcomers])
        )
    return segments, embedding
