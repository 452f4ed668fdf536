"""Tests of brian_ep.topology: the residual (skip) graphs over hidden layers."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brian_ep.spec import ResidualSpec
from brian_ep.topology import dense_every, random_skips, skip_pairs, small_world

pytestmark = pytest.mark.codegen_independent


def rng(seed=0):
    return np.random.default_rng(seed)


def all_skips(n):
    return [(a, b) for a in range(1, n + 1) for b in range(a + 2, n + 1)]


def assert_valid(pairs, n):
    assert pairs == sorted(pairs)
    assert len(set(pairs)) == len(pairs)
    for a, b in pairs:
        assert isinstance(a, int) and isinstance(b, int)
        assert 1 <= a < b <= n
        assert b - a >= 2


# ---------------------------------------------------------------- dense_every


def test_dense_every_paper():
    assert dense_every(10, 3, 1) == [(1, 4), (4, 7), (7, 10)]
    assert dense_every(10, 3) == [(1, 4), (4, 7), (7, 10)]


@pytest.mark.parametrize(
    "n, k, start, expected",
    [
        (10, 2, 1, [(1, 3), (3, 5), (5, 7), (7, 9)]),
        (10, 3, 2, [(2, 5), (5, 8)]),
        (9, 3, 1, [(1, 4), (4, 7)]),
        (4, 3, 1, [(1, 4)]),
        (3, 3, 1, []),
        (10, 9, 1, [(1, 10)]),
        (10, 10, 1, []),
        (10, 4, 7, []),
        (10, 2, 9, []),
        (10, 2, 8, [(8, 10)]),
        (1, 2, 1, []),
    ],
)
def test_dense_every_cases(n, k, start, expected):
    assert dense_every(n, k, start) == expected


@pytest.mark.parametrize("k", [1, 0, -2])
def test_dense_every_rejects_small_k(k):
    with pytest.raises(ValueError, match="k must be >= 2"):
        dense_every(10, k)


# ---------------------------------------------------------------- random_skips


def test_random_skips_p0_none():
    assert random_skips(10, 0.0, rng()) == []


def test_random_skips_p1_all():
    assert random_skips(5, 1.0, rng()) == [(1, 3), (1, 4), (1, 5), (2, 4), (2, 5), (3, 5)]
    assert random_skips(12, 1.0, rng()) == all_skips(12)
    assert len(all_skips(12)) == 12 * 11 // 2 - 11


@pytest.mark.parametrize("n", [0, 1, 2])
def test_random_skips_too_few_layers(n):
    assert random_skips(n, 1.0, rng()) == []


def test_random_skips_deterministic_and_seed_dependent():
    a = random_skips(15, 0.3, rng(7))
    assert a == random_skips(15, 0.3, rng(7))
    assert_valid(a, 15)
    draws = {tuple(random_skips(15, 0.3, rng(s))) for s in range(10)}
    assert len(draws) > 1


def test_random_skips_rate():
    n = 30
    counts = [len(random_skips(n, 0.25, rng(s))) for s in range(40)]
    mean = np.mean(counts) / len(all_skips(n))
    assert 0.2 < mean < 0.3


# ---------------------------------------------------------------- small_world


# ring of 6 layers, two neighbours each side: distance 2 edges (1,3) (2,4) (3,5) (4,6) (5,1) (6,2)
# and the edge closing the ring (6,1); distance 1 edges are the chain, not skips.
LATTICE_6_2 = [(1, 3), (1, 5), (1, 6), (2, 4), (2, 6), (3, 5), (4, 6)]


def test_small_world_p0_is_the_lattice():
    assert small_world(6, 2, 0.0, rng()) == LATTICE_6_2


def test_small_world_lattice_other_sizes():
    # n=5, neighbours=2: distance 2 edges (1,3) (2,4) (3,5) (4,1) (5,2) and the ring edge (5,1)
    assert small_world(5, 2, 0.0, rng()) == [(1, 3), (1, 4), (1, 5), (2, 4), (2, 5), (3, 5)]
    # n=3: only the ring edge (3,1)
    assert small_world(3, 2, 0.0, rng()) == [(1, 3)]
    # neighbours reaching half the ring: every non-adjacent pair
    assert small_world(8, 4, 0.0, rng()) == all_skips(8)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_small_world_too_few_layers(n):
    assert small_world(n, 2, 1.0, rng()) == []


def test_small_world_rewired_is_valid_and_deterministic():
    pairs = small_world(12, 3, 0.5, rng(3))
    assert_valid(pairs, 12)
    assert pairs == small_world(12, 3, 0.5, rng(3))
    assert len(pairs) == len(small_world(12, 3, 0.0, rng(3)))  # rewiring keeps the edge count
    draws = {tuple(small_world(12, 3, 0.5, rng(s))) for s in range(10)}
    assert len(draws) > 1
    assert any(set(d) != set(small_world(12, 3, 0.0, rng())) for d in draws)


def test_small_world_huge_neighbours_is_fast():
    t0 = time.perf_counter()
    pairs = small_world(8, 10**9, 0.0, rng())
    assert time.perf_counter() - t0 < 1.0
    assert pairs == all_skips(8)
    assert small_world(9, 10**9, 0.7, rng(4)) == small_world(9, 9, 0.7, rng(4))


# ---------------------------------------------------------------- skip_pairs


def test_skip_pairs_dispatch_and_seed():
    assert skip_pairs(ResidualSpec(topology="dense_every", k=3), 10, seed=0) == [(1, 4), (4, 7), (7, 10)]
    res = ResidualSpec(topology="random", p=0.4)
    assert skip_pairs(res, 12, seed=5) == random_skips(12, 0.4, rng(5))
    pinned = ResidualSpec(topology="small_world", p=0.5, neighbours=3, seed=11)
    assert skip_pairs(pinned, 12, seed=0) == skip_pairs(pinned, 12, seed=99) == small_world(12, 3, 0.5, rng(11))


# ---------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 30),
    k=st.integers(2, 12),
    start=st.integers(1, 31),
    p=st.floats(0, 1),
    neighbours=st.integers(2, 16),
    seed=st.integers(0, 2**32 - 1),
)
def test_topology_properties(n, k, start, p, neighbours, seed):
    dense = dense_every(n, k, start)
    assert_valid(dense, n)
    assert all(b - a == k for a, b in dense)
    assert [a for a, _ in dense[1:]] == [b for _, b in dense[:-1]]  # a chain of skips
    if dense:
        assert dense[0][0] == start and dense[-1][1] + k > n
    else:
        assert start + k > n

    rand = random_skips(n, p, rng(seed))
    assert_valid(rand, n)
    assert set(rand) <= set(all_skips(n))
    assert rand == random_skips(n, p, rng(seed))

    lattice = small_world(n, neighbours, 0.0, rng(seed))
    assert_valid(lattice, n)
    sw = small_world(n, neighbours, p, rng(seed))
    assert_valid(sw, n)
    assert sw == small_world(n, neighbours, p, rng(seed))
    assert len(sw) == len(lattice)
    # the lattice: every non-adjacent pair at most `neighbours` steps apart around the ring
    assert lattice == [(a, b) for a, b in all_skips(n) if min(b - a, n - (b - a)) <= neighbours]
    if n >= 3:
        assert (1, n) in lattice  # the edge closing the ring
