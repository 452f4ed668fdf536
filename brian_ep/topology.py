"""Brain-inspired residual topologies: which hidden layers get a skip projection.

Hidden layers are numbered ``1 .. n_hidden`` from the input up; layer ``l`` and ``l + 1`` are
already coupled by the feedforward chain, so every function here returns *skips*: pairs
``(a, b)`` with ``1 <= a < b <= n_hidden`` and ``b - a >= 2``, sorted, without duplicates.
All randomness comes from the ``numpy.random.Generator`` passed in, so a graph is a
deterministic function of the seed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dense_every", "random_skips", "small_world", "skip_pairs"]


def dense_every(n_hidden: int, k: int, start: int = 1) -> list[tuple[int, int]]:
    """Skips ``start <-> start+k <-> start+2k ...`` (Liu & Chen's 1-4-7-10 is ``k=3, start=1``).

    Parameters
    ----------
    n_hidden : int
        Number of hidden layers.
    k : int
        Layer distance of each skip (>= 2).
    start : int, optional
        First hidden layer of the chain of skips (default 1).
    """
    if k < 2:
        raise ValueError(f"k must be >= 2 (got {k})")
    pairs, a = [], start
    while a + k <= n_hidden:
        pairs.append((a, a + k))
        a += k
    return pairs


def random_skips(n_hidden: int, p: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Each non-adjacent pair of hidden layers is connected with probability ``p``
    (sparse random long-range connections)."""
    candidates = [(a, b) for a in range(1, n_hidden + 1) for b in range(a + 2, n_hidden + 1)]
    keep = rng.random(len(candidates)) < p
    return [pair for pair, k in zip(candidates, keep) if k]


def small_world(n_hidden: int, neighbours: int, p: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Watts-Strogatz small-world skips over the ring of hidden layers.

    The ring lattice connects each layer to its ``neighbours`` nearest layers on each side;
    ring distance 1 is the feedforward chain (kept as it is), and every other lattice edge
    (ring distance 2 .. ``neighbours``, and the edge closing the ring) is a skip, rewired
    with probability ``p`` to a layer drawn uniformly among those it is not yet coupled to.
    """
    n = n_hidden
    if n < 3:
        return []
    lattice = set()
    for a in range(1, n + 1):
        for d in range(1, min(neighbours, n) + 1):
            b = (a - 1 + d) % n + 1
            pair = (min(a, b), max(a, b))
            if pair[1] - pair[0] >= 2:
                lattice.add(pair)
    edges = set(lattice)
    for pair in sorted(lattice):
        if rng.random() >= p:
            continue
        a = pair[0]
        taken = {e[1] if e[0] == a else e[0] for e in edges if a in e}
        options = [b for b in range(1, n + 1) if abs(b - a) >= 2 and b not in taken]
        if not options:
            continue
        b = options[int(rng.integers(len(options)))]
        edges.discard(pair)
        edges.add((min(a, b), max(a, b)))
    return sorted(edges)


def skip_pairs(residual, n_hidden: int, seed: int) -> list[tuple[int, int]]:
    """The skips described by a :class:`~brian_ep.spec.ResidualSpec`.

    ``residual.seed`` (or ``seed`` when it is unset) seeds the random topologies.
    """
    rng = np.random.default_rng(residual.seed if residual.seed is not None else seed)
    if residual.topology == "dense_every":
        return dense_every(n_hidden, residual.k, residual.start)
    if residual.topology == "random":
        return random_skips(n_hidden, residual.p, rng)
    if residual.topology == "small_world":
        return small_world(n_hidden, residual.neighbours, residual.p, rng)
    raise ValueError(f"unknown topology {residual.topology!r}")
