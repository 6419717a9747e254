"""Maximum clique of the "distinct" graph, exactly where time allows, with a proved upper bound otherwise.

A clique of size s lies inside the (s-1)-core of the graph, so a greedy clique first shrinks the problem to
the vertices whose core number could hold a larger one. In a case, those are mostly the tracks with faces
(machine "distinct" calls make that part dense) plus crowded frames. A dense graph has few non-edges, and
the clique problem is a small CP-SAT model there: one boolean per vertex, "not both" per non-edge, maximise
the sum.
When the remaining part is too sparse for that (too many non-edges), it is solved vertex by vertex in
degeneracy order: the largest clique holding v among v's later neighbours, each a small model of the same
kind. Every answer is a real clique; when a time limit stops the search, the bound is the solver's (or the
core number's) proof that no larger clique exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

MAX_NON_EDGES = 2_000_000  # above this, one model for the whole core is too big: decompose


@dataclass
class Clique:
    members: list[int]
    upper: int  # no clique is larger than this (proved)
    optimal: bool
    seconds: float


def max_clique(adj: list[set[int]], time_limit: float = 10.0, workers: int = 2) -> Clique:
    started = time.perf_counter()
    n = len(adj)
    if n == 0:
        return Clique([], 0, True, 0.0)
    order, core = _degeneracy(adj)
    best = _greedy(adj, order)
    core_bound = max(core) + 1
    candidates = [v for v in range(n) if core[v] + 1 > len(best)]
    if not candidates:
        return Clique(sorted(best), len(best), True, time.perf_counter() - started)
    inside = set(candidates)
    sub_edges = sum(len(adj[v] & inside) for v in candidates) // 2
    non_edges = len(candidates) * (len(candidates) - 1) // 2 - sub_edges
    if non_edges <= MAX_NON_EDGES:
        found, bound, optimal = _solve(adj, candidates, best, time_limit, workers)
        best = found if len(found) > len(best) else best
        upper = min(core_bound, bound)
        return Clique(sorted(best), max(upper, len(best)), optimal and upper <= len(best),
                      time.perf_counter() - started)
    # sparse and large: one subproblem per vertex, in degeneracy order, among its later neighbours
    position = {v: i for i, v in enumerate(order)}
    upper = len(best)
    optimal = True
    for v in sorted(candidates, key=position.__getitem__):
        later = [u for u in adj[v] if position[u] > position[v] and core[u] + 1 > len(best)]
        if len(later) + 1 <= len(best):
            continue
        left = time_limit - (time.perf_counter() - started)
        if left <= 0:
            upper = max(upper, len(later) + 1)
            optimal = False
            continue
        found, bound, solved = _solve(adj, later, [], left, workers)
        if len(found) + 1 > len(best):
            best = [v, *found]
        if not solved:
            optimal = False
            upper = max(upper, bound + 1)
    upper = min(core_bound, max(upper, len(best)))
    return Clique(sorted(best), upper, optimal or upper == len(best), time.perf_counter() - started)


def _solve(adj: list[set[int]], vertices: list[int], hint: list[int], time_limit: float,
           workers: int) -> tuple[list[int], int, bool]:
    """The largest clique among ``vertices``: (clique, proved bound, optimal)."""
    from ortools.sat.python import cp_model

    if not vertices:
        return [], 0, True
    model = cp_model.CpModel()
    x = {v: model.new_bool_var(f"x{v}") for v in vertices}
    ordered = sorted(vertices)
    for i, v in enumerate(ordered):
        near = adj[v]
        for u in ordered[i + 1:]:
            if u not in near:
                model.add_bool_or([x[v].Not(), x[u].Not()])
    model.maximize(sum(x.values()))
    chosen = set(hint)
    for v in ordered:
        model.add_hint(x[v], v in chosen)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return list(hint), len(vertices), False
    found = [v for v in ordered if solver.value(x[v])]
    return found, int(solver.best_objective_bound + 1e-6), status == cp_model.OPTIMAL


def _degeneracy(adj: list[set[int]]) -> tuple[list[int], list[int]]:
    """Vertices in degeneracy order (repeatedly the one of least remaining degree) and their core numbers."""
    n = len(adj)
    degree = [len(a) for a in adj]
    buckets: list[set[int]] = [set() for _ in range(max(degree, default=0) + 1)]
    for v, d in enumerate(degree):
        buckets[d].add(v)
    removed = [False] * n
    order: list[int] = []
    core = [0] * n
    k = 0
    low = 0
    for _ in range(n):
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()
        k = max(k, low)
        core[v] = k
        removed[v] = True
        order.append(v)
        for u in adj[v]:
            if not removed[u]:
                buckets[degree[u]].discard(u)
                degree[u] -= 1
                buckets[degree[u]].add(u)
                low = min(low, degree[u])
    return order, core


def _greedy(adj: list[set[int]], order: list[int]) -> list[int]:
    """A clique grown from each of the last vertices of the degeneracy order (the densest part), adding at
    each step the candidate latest in that order."""
    position = {v: i for i, v in enumerate(order)}
    best: list[int] = []
    for start in reversed(order[-16:]):
        clique = [start]
        candidates = set(adj[start])
        while candidates:
            v = max(candidates, key=position.__getitem__)
            clique.append(v)
            candidates &= adj[v]
        if len(clique) > len(best):
            best = clique
    return best
