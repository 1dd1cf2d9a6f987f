"""Interchangeable offers, made one node for the min-cost flows that steer gender counts.

Where no pair costs anything (the steered flows of the school-fairness stage, on a
network cut down to least-cost flows), offers that the same students reach by open
pair arcs are interchangeable for them: the solver gets one node per class, whose
arc to the sink holds the class's capacity. At 10,000 students that is about two
thirds of the offers and of the arcs, and each solve a third shorter. The merged
flow is then shared out among the class's offers (`OfferClasses.share_out`).

A class also keeps offers apart that owe places (a lower bound above what their
forced pairs bring) from those that hold more than they owe: then what a class's
arc may carry is exactly what its offers' bounds allow together, and every flow of
the merged network shares out within every offer's bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mobility_match.matching.pairs import IntArray


class OfferClasses:
    """A network's offers in classes, and its solver arcs (`solver`: the indexes of the
    arcs the solvers get) with each class made one node: an offer's node becomes that
    of the first offer of its class, and arcs that then join the same nodes are one
    (`merged`: each solver arc's merged arc).

    The network: `tails`, `heads`, `capacities` and `lower` bounds of every arc, the
    supply its fixed lower bounds leave each node (`fixed_supply`), where its pair arcs
    sit (`pairs`) with each pair's offer (`pair_offer`), and each offer's arc to the
    sink (`offer_arcs`). Pair arcs run student → offer, offer arcs offer → sink.
    """

    def __init__(
        self,
        tails: npt.NDArray[np.int32],
        heads: npt.NDArray[np.int32],
        capacities: npt.NDArray[Any],
        lower: npt.NDArray[Any],
        fixed_supply: IntArray,
        pairs: slice,
        pair_offer: npt.NDArray[Any],
        offer_arcs: npt.NDArray[Any],
        solver: npt.NDArray[Any],
    ) -> None:
        self.n_nodes = n_nodes = len(fixed_supply)
        pair_arcs = np.arange(pairs.start, pairs.stop)
        open_pairs = pair_arcs[capacities[pair_arcs] > lower[pair_arcs]]
        offer_node = tails[offer_arcs].astype(np.int64)
        owing = fixed_supply[offer_node] < 0
        students = tails[open_pairs].astype(np.int64)
        offers = pair_offer[open_pairs - pairs.start].astype(np.int64)
        pair_keys = students * n_nodes + offer_node[offers]
        sorting = np.argsort(pair_keys)
        self.pair_keys = pair_keys[sorting]
        """Each open pair arc as student node · nodes + offer node, in order."""
        # Offers with the same number of students, the same sums of two random weights of
        # them (exact in floating point: below 2**53) and owing or not are one class,
        # each offer's students checked to be its class's first offer's.
        weights = np.random.default_rng(0).integers(0, 1 << 20, size=(2, n_nodes))
        signature = np.stack(
            [
                np.bincount(offers, minlength=len(offer_node)),
                *(np.bincount(offers, w[students], len(offer_node)) for w in weights),
                owing,
            ],
            axis=1,
        )
        _, first, inverse = np.unique(signature, axis=0, return_index=True, return_inverse=True)
        representative = first[inverse.ravel()]
        wanted = students * n_nodes + offer_node[representative[offers]]
        found = np.minimum(np.searchsorted(self.pair_keys, wanted), len(self.pair_keys) - 1)
        alone = np.unique(offers[self.pair_keys[found] != wanted])
        representative[alone] = alone
        self.node_map = np.arange(n_nodes, dtype=np.int64)
        """Each node's node in the merged network."""
        self.node_map[offer_node] = offer_node[representative]
        solver = solver.astype(np.int64)
        merged_tails = self.node_map[tails[solver]]
        merged_heads = self.node_map[heads[solver]]
        # Arcs joining the same nodes are one (by sorting: np.unique's hashing is slower).
        keys = merged_tails * n_nodes + merged_heads
        order = np.argsort(keys)
        keys = keys[order]
        distinct = np.r_[True, keys[1:] != keys[:-1]]
        self.merged = np.empty(len(keys), dtype=np.int64)
        self.merged[order] = np.cumsum(distinct) - 1
        keys = keys[distinct]
        self.tails = (keys // n_nodes).astype(np.int32)
        self.heads = (keys % n_nodes).astype(np.int32)
        position = np.full(len(tails), -1, dtype=np.int64)
        position[solver] = np.arange(len(solver))
        self.pair_arcs = position[open_pairs]
        """The solver arcs of the open pairs."""
        into_class = np.zeros(len(keys), dtype=bool)
        into_class[self.merged[self.pair_arcs]] = True
        self.class_arcs = np.flatnonzero(into_class)
        """The merged arcs from a student to a class."""
        self.pair_arcs_by_key = self.pair_arcs[sorting]
        by_class = np.lexsort((offer_node, offer_node[representative]))
        self.offer_nodes = offer_node[by_class]
        """Every offer's node, class by class (by the node of the class)."""
        self.offer_classes = offer_node[representative][by_class]
        self.offer_arcs = position[np.asarray(offer_arcs)[by_class]]
        """The solver arc of each offer of offer_nodes (-1: none, the arc is closed)."""

    def merge(self, flows: npt.NDArray[Any]) -> IntArray:
        """Per merged arc, the sum of its solver arcs' `flows` (or capacities)."""
        merged: IntArray = np.rint(np.bincount(self.merged, flows, len(self.tails))).astype(
            np.int64
        )
        return merged

    def costs(self, costs: npt.NDArray[Any]) -> IntArray:
        """Per merged arc, the unit cost of its solver arcs (`costs`: those of a steered flow,
        where the arcs merged, pairs and offers', cost nothing)."""
        merged: IntArray = np.zeros(len(self.tails), dtype=np.int64)
        merged[self.merged] = costs
        return merged

    def supplies(self, supplies: npt.NDArray[Any]) -> IntArray:
        """Per node of the merged network, the supplies of the nodes it stands for."""
        merged: IntArray = np.rint(np.bincount(self.node_map, supplies, self.n_nodes)).astype(
            np.int64
        )
        return merged

    def share_out(
        self, solved: IntArray, residual: npt.NDArray[Any], supplies: npt.NDArray[Any]
    ) -> IntArray:
        """Each solver arc's flow, from the merged arcs' `solved` flows (above the lower
        bounds: the solver arcs' capacities are `residual`, the nodes' `supplies`).

        Each offer of a class gets first what its lower bound needs, then places up to
        its capacity, in order; the students sent to the class take them in turn (each
        reaches every offer of its class).
        """
        flows = solved[self.merged]
        used = self.class_arcs[solved[self.class_arcs] > 0]
        order = np.lexsort((self.tails[used], self.heads[used]))
        students = self.tails[used][order].astype(np.int64)
        sent = np.bincount(self.heads[used], minlength=self.n_nodes)
        # `held`: what an offer's forced pairs and lower bound leave it (below 0: owed).
        offers, of_class, arcs = self.offer_nodes, self.offer_classes, self.offer_arcs
        held = supplies[offers].astype(np.int64)
        room = np.where(arcs >= 0, residual[np.maximum(arcs, 0)], 0) - held
        need = np.maximum(-held, 0)
        slack = room - need
        before = np.cumsum(slack) - slack  # the slack of the offers before, in the class
        first = np.r_[True, of_class[1:] != of_class[:-1]]
        before -= np.maximum.accumulate(np.where(first, before, 0))
        needed = np.rint(np.bincount(of_class, need, self.n_nodes)).astype(np.int64)
        places = need + np.clip((sent - needed)[of_class] - before, 0, slack)
        takers = np.repeat(offers, places)
        flows[self.pair_arcs] = 0
        keys = students * self.n_nodes + takers
        flows[self.pair_arcs_by_key[np.searchsorted(self.pair_keys, keys)]] = 1
        flows[arcs[arcs >= 0]] = (places + held)[arcs >= 0]
        return flows
