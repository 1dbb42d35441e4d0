"""The vector index's narrower graph: photo vectors seen through their main directions.

At a million photos, 512 float32 numbers a photo are 2 GB of the index's 2.3 GB. Photo
embeddings vary mostly along a few dozen directions, so the graph holds each vector's
coordinates along the GRAPH_DIM principal directions of a sample of the library (a fixed
orthonormal basis, fitted once), which halves it for ViT-B-32. The graph then only proposes
candidates; their exact cosines, from the catalog's full vectors, rank them and are the
scores a search returns.
"""

from __future__ import annotations

import base64

import numpy as np

GRAPH_DIM = 256  # coordinates a photo keeps in the graph, for models wider than this
FIT_SAMPLE = 20_000  # vectors the directions are fitted on (an SVD of this many takes ~1 s)


class Projection:
    """A fixed orthonormal basis (dim × out_dim) that vectors are multiplied by."""

    def __init__(self, basis: np.ndarray):
        self.basis = np.ascontiguousarray(basis, dtype=np.float32)

    @property
    def out_dim(self) -> int:
        return int(self.basis.shape[1])

    @classmethod
    def fit(cls, vectors: np.ndarray, out_dim: int) -> Projection:
        """The out_dim principal directions of (a fixed sample of) vectors."""
        rng = np.random.default_rng(0)
        if len(vectors) > FIT_SAMPLE:
            vectors = vectors[np.sort(rng.choice(len(vectors), FIT_SAMPLE, replace=False))]
        centred = np.asarray(vectors, dtype=np.float64) - vectors.mean(axis=0)
        _, _, directions = np.linalg.svd(centred, full_matrices=False)
        return cls(directions[:out_dim].T)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        projected: np.ndarray = np.asarray(vectors, dtype=np.float32) @ self.basis
        return projected

    def to_json(self) -> dict:
        return {
            "shape": list(self.basis.shape),
            "basis": base64.b64encode(self.basis.tobytes()).decode("ascii"),
        }

    @classmethod
    def from_json(cls, doc: dict) -> Projection:
        """ValueError when the document is not a basis of the shape it claims."""
        rows, cols = (int(n) for n in doc["shape"])
        data = np.frombuffer(base64.b64decode(doc["basis"], validate=True), dtype=np.float32)
        if data.size != rows * cols:
            raise ValueError("a projection's basis does not have the shape it claims")
        return cls(data.reshape(rows, cols))
