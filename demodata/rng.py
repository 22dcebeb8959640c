"""Named random streams: one PCG64 generator per purpose, all derived from the user's seed.

Each part of the simulation draws from its own stream, so the data are a pure function of the
seed (never of Python's global ``random``, time or chunk sizes) and changing how one table is
generated does not reshuffle every other table.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for ``name`` under ``seed`` (any int; negative seeds are fine)."""
    entropy = [seed % (1 << 64), zlib.crc32(name.encode("utf-8"))]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def weighted_choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights`` (int64)."""
    p = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)
