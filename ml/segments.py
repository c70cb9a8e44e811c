"""Customer segments in SHAP space: UMAP embedding + HDBSCAN, assigned to everyone by kNN.

SHAP values are not rescaled: they already share one unit (log-odds), so distances weigh
each feature by how much it moves the score, and unimportant features add no noise.
UMAP and HDBSCAN are fitted on a bounded sample (``max_fit_rows``). Every customer, in the
sample or not, then gets the segment of its nearest fitted neighbours in SHAP space and an
embedding position averaged from theirs, so assignment scales to any table size.
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

    def assign(self, shap_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment ids, n x 2 embedding positions) for any rows of SHAP vectors."""
        Z = np.asarray(shap_matrix, dtype=float)
        return self.classifier_.predict(Z).astype(int), self.locator_.predict(Z)


def match_segments(
    new_centroids: dict[int, np.ndarray], previous_centroids: dict[int, np.ndarray]
) -> dict[int, int]:
    """Stable segment ids: map each new segment label to an id.

    New and previous segments are matched one to one by the Hungarian method on the
    Euclidean distance between their centroids (both measured in the current SHAP space). A
    match counts only when the two centroids are closer than half the smallest gap between
    previous centroids, so a segment that persists keeps its id, while a segment that is new
    (or moved too far to be the same one) gets a new id above every id used before.
    """
    from scipy.optimize import linear_sum_assignment

    new_labels = sorted(new_centroids)
    if not previous_centroids:
        return {label: label for label in new_labels}
    old_ids = sorted(previous_centroids)
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
    mapping = {
        new_labels[r]: old_ids[c] for r, c in zip(rows, cols, strict=True) if cost[r, c] < radius
    }
    next_id = max(old_ids) + 1
    for label in new_labels:
        if label not in mapping:
            mapping[label] = next_id
            next_id += 1
    return mapping
