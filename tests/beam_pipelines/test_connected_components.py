"""Connected components for near-duplicate clusters: star rounds and local union-find
against a breadth-first-search reference, long chains, and the convergence report."""
import random
from collections import defaultdict, deque

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.connected_components import (
    _LocalUnionFind,
    _large_star,
    _oriented,
    _small_star,
    connected_components,
    union_find_roots,
)


def bfs_roots(edges):
    """Reference: node -> smallest node of its component."""
    adj = defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    roots = {}
    for start in adj:
        if start in roots:
            continue
        seen, queue = {start}, deque([start])
        while queue:
            for nxt in adj[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        root = min(seen)
        roots.update({n: root for n in seen})
    return roots


def chain_edges(n, prefix, seed):
    """A path of n nodes whose ids are in random order along it."""
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    random.Random(seed).shuffle(ids)
    return [(ids[i], ids[i + 1]) for i in range(n - 1)]


def random_forest_edges(seed, num_nodes=120, num_edges=90):
    rng = random.Random(seed)
    nodes = [f"r{i:04d}" for i in range(num_nodes)]
    return [tuple(rng.sample(nodes, 2)) for _ in range(num_edges)] + [("r0001", "r0001")]  # a self-loop too


def run_rounds_in_python(edges, rounds):
    """The same per-node functions, driven by an in-memory loop (no Beam)."""
    current = {e for edge in edges for e in _oriented(edge)}
    for _ in range(rounds):
        adj = defaultdict(list)
        for a, b in current:
            adj[a].append(b)
            adj[b].append(a)
        large = [e for node in adj.items() for e in _large_star(node)]
        smaller = defaultdict(list)
        for a, b in large:
            smaller[a].append(b)
        current = {e for node in smaller.items() for e in _small_star(node)}
    roots = {}
    for a, b in current:
        roots[a] = min(roots.get(a, a), b)
        roots.setdefault(b, b)
    return roots


@pytest.mark.parametrize("seed", range(8))
def test_star_rounds_match_bfs_on_random_graphs(seed):
    edges = random_forest_edges(seed) + chain_edges(60, "c", seed)
    assert run_rounds_in_python(edges, rounds=12) == bfs_roots([e for e in edges if e[0] != e[1]])


def test_union_find_matches_bfs():
    edges = random_forest_edges(3) + chain_edges(200, "c", 3)
    edges = [e for e in edges if e[0] != e[1]]
    assert union_find_roots(edges) == bfs_roots(edges)


def test_local_union_find_refuses_too_many_edges():
    with pytest.raises(ValueError, match="max_local_edges"):
        list(_LocalUnionFind(max_edges=2).process([("b", "a"), ("c", "b"), ("d", "c")]))


@pytest.mark.parametrize("algorithm", ["star_rounds", "local_union_find"])
def test_chain_of_200_collapses_to_one_component(algorithm):
    chain = chain_edges(200, "c", seed=7)
    forest = random_forest_edges(11)
    edges = chain + forest
    expected = bfs_roots([e for e in edges if e[0] != e[1]])
    assert len({expected[n] for n in expected if n.startswith("c")}) == 1  # the chain is one component
    with TestPipeline(runner="FnApiRunner") as p:
        cc = p | beam.Create(edges) | connected_components(algorithm, 10, 10_000, "cc")
        assert_that(cc["labels"], equal_to(sorted(expected.items())), label="labels")
        unconverged = cc["metrics"] | beam.Filter(lambda kv: kv[0] == "cc/unconverged_nodes")
        assert_that(unconverged, equal_to([]), label="converged")


def test_too_few_rounds_are_reported_and_never_join_components():
    chain = chain_edges(200, "c", seed=5)
    other = chain_edges(50, "d", seed=6)
    truth = bfs_roots(chain + other)

    def check(labels):
        labels = dict(labels)
        assert set(labels) == set(truth)
        for node, label in labels.items():
            assert truth[label] == truth[node]  # a label never crosses components
        assert len(set(labels.values())) > 2  # two rounds cannot finish a 200-long chain

    with TestPipeline(runner="FnApiRunner") as p:
        cc = p | beam.Create(chain + other) | connected_components("star_rounds", 2, 10_000, "cc")
        assert_that(cc["labels"] | beam.combiners.ToList(), lambda got: check(got[0]), label="labels")
        total = (cc["metrics"] | beam.Filter(lambda kv: kv[0] == "cc/unconverged_nodes")
                 | beam.combiners.Count.Globally())
        assert_that(total, _is_positive, label="reported")


def _is_positive(got):
    assert got[0] > 0, got
