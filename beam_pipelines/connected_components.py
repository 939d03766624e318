"""Connected components of an id graph in Beam, for near-duplicate clusters.

Input: a PCollection of edges (a, b) between string ids. Output: {"labels": (node, root)
for every node that has an edge, root = the smallest id of its component;
"metrics": (key, number)}.

Two algorithms (FuzzyDedupConfig.cc_algorithm):

  "star_rounds" (default, distributed): Kiveris et al., "Connected Components in
     MapReduce and Beyond" (SoCC 2014). Edges are kept oriented (larger, smaller).
     large-star: every node u links each larger neighbour to m(u) = min(N(u) + u);
     small-star: every node u links its smaller neighbours and itself to the smallest of
     them. Both keep the components and drive every component towards a star around
     its minimum; once it is a star both are no-ops. A Beam graph cannot loop on data,
     so `max_rounds` rounds are unrolled (a path of n nodes needs ~log2(n) rounds:
     8 for 200, 17 for 100k). After the last round a convergence check counts nodes
     that are not yet leaves of a root (`<prefix>/unconverged_nodes`); if any remain,
     each gets its smallest neighbour as label, which can only split a component (a
     duplicate survives), never join two, and is reported, not hidden.
     Memory: every step streams a node's neighbour list twice (Beam iterables are
     re-iterable), so no worker holds more than one id per step; shuffles carry ids only.

  "local_union_find": all edges gathered on ONE worker and merged with union-find.
     Exact in one step, but that worker's memory grows with the number of edges
     (~100 bytes each); refused above `max_local_edges` with a clear error.
"""
from __future__ import annotations

import apache_beam as beam


def _oriented(edge):
    a, b = edge
    if a == b:
        return []
    return [(a, b) if a > b else (b, a)]


def _large_star(node_and_neighbours):
    """Link every neighbour larger than u to the smallest id in u's closed neighbourhood."""
    u, neighbours = node_and_neighbours
    m = min(min(neighbours), u)
    for v in neighbours:
        if v > u:
            yield (v, m)


def _small_star(node_and_smaller):
    """Link u and its smaller neighbours to the smallest of them."""
    u, smaller = node_and_smaller
    m = min(smaller)
    if u != m:
        yield (u, m)
    for v in smaller:
        if v != m:
            yield (v, m)


def _both_directions(edge):
    a, b = edge
    return [(a, b), (b, a)]


class _LabelAndCheck(beam.DoFn):
    """Per node: label = smallest smaller neighbour (or itself); flag non-star shapes."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def process(self, node_and_roles):
        node, roles = node_and_roles
        parents = 0
        is_parent = False
        label = node
        for role, other in roles:
            if role == "child":  # node is the larger end of an edge (node, other)
                parents += 1
                label = min(label, other)
            else:
                is_parent = True
        yield (node, label)
        if parents > 1 or (parents and is_parent):
            yield beam.pvalue.TaggedOutput("metrics", (f"{self._prefix}/unconverged_nodes", 1))


class StarRoundsComponents(beam.PTransform):
    def __init__(self, max_rounds: int = 32, metric_prefix: str = "cc"):
        super().__init__()
        self.max_rounds = max_rounds
        self.metric_prefix = metric_prefix

    def expand(self, edges):
        current = edges | "Orient" >> beam.FlatMap(_oriented) | "Distinct0" >> beam.Distinct()
        for i in range(1, self.max_rounds + 1):
            current = (
                current
                | f"LargeStarAdj{i}" >> beam.FlatMap(_both_directions)
                | f"LargeStarGroup{i}" >> beam.GroupByKey()
                | f"LargeStar{i}" >> beam.FlatMap(_large_star)
                # key = larger end, values = smaller ends (repeats are harmless: min and re-emit)
                | f"SmallStarGroup{i}" >> beam.GroupByKey()
                | f"SmallStar{i}" >> beam.FlatMap(_small_star)
                | f"SmallStarDistinct{i}" >> beam.Distinct()
            )
        roles = current | "Roles" >> beam.FlatMap(lambda e: [(e[0], ("child", e[1])), (e[1], ("parent", e[0]))])
        checked = (
            roles
            | "GroupRoles" >> beam.GroupByKey()
            | "LabelAndCheck" >> beam.ParDo(_LabelAndCheck(self.metric_prefix)).with_outputs("metrics", main="labels")
        )
        rounds = edges.pipeline | "Rounds" >> beam.Create([(f"{self.metric_prefix}/rounds", self.max_rounds)])
        metrics = (checked.metrics, rounds) | "Metrics" >> beam.Flatten()
        return {"labels": checked.labels, "metrics": metrics}


def union_find_roots(edges) -> dict:
    """node -> smallest id of its component, for an in-memory edge list."""
    parent: dict = {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        if ra != rb:  # the smaller root wins, so every root is its component's minimum
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            parent[hi] = lo
    return {node: find(node) for node in parent}


class _LocalUnionFind(beam.DoFn):
    def __init__(self, max_edges: int):
        self._max_edges = max_edges

    def process(self, edge_list):
        if len(edge_list) > self._max_edges:
            raise ValueError(
                f"local_union_find got {len(edge_list)} edges, more than max_local_edges={self._max_edges}; "
                "use cc_algorithm='star_rounds' (distributed) or raise the bound if one worker can hold them"
            )
        yield from union_find_roots(e for e in edge_list if e[0] != e[1]).items()


class LocalUnionFindComponents(beam.PTransform):
    def __init__(self, max_edges: int, metric_prefix: str = "cc"):
        super().__init__()
        self.max_edges = max_edges
        self.metric_prefix = metric_prefix

    def expand(self, edges):
        labels = (
            edges
            | "Orient" >> beam.FlatMap(_oriented)
            | "Distinct" >> beam.Distinct()
            | "Gather" >> beam.combiners.ToList()
            | "UnionFind" >> beam.ParDo(_LocalUnionFind(self.max_edges))
        )
        metrics = edges.pipeline | "NoMetrics" >> beam.Create([])
        return {"labels": labels, "metrics": metrics}


def connected_components(algorithm: str, max_rounds: int, max_local_edges: int, metric_prefix: str) -> beam.PTransform:
    if algorithm == "star_rounds":
        return StarRoundsComponents(max_rounds, metric_prefix)
    if algorithm == "local_union_find":
        return LocalUnionFindComponents(max_local_edges, metric_prefix)
    raise ValueError(f"unknown connected-components algorithm {algorithm!r}")
