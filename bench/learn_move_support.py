"""Which of the moves Learn's check lets through do the user's answers support? Variants of a
rule judged on the answers themselves, over the starts of bench/learn_never_worse.py
(docs/learning.md, "Only the moves your answers support").

    python bench/learn_move_support.py VARIANT STARTS SET [SET ...]

VARIANT: ``base`` (the check as it was), ``answered_source`` (the photo's current cluster has an
answer), ``loo_pair`` / ``loo_target`` (held-out answers: each answered photo is put back where it
was before the answer and judged by the check with the other answers; a move from A to B is kept
only when such held-out moves from A to B (``loo_pair``) or into B (``loo_target``, what the
learner's ``held_out_check`` does) were right more often than wrong; ``loo_both``: both),
``..._lenient`` (... kept unless they were wrong at least as often as right, no held-out move
counting as no objection); ``cohesion`` (more than half of the photo's 5 most similar cluster-mates
move with it), ``cohesion_fallback`` (``loo_target`` where held-out answers moved photos into the
cluster, ``cohesion`` where none did), ``auto`` (the check as shipped until a held-out answer is
moved wrongly anywhere in the library, ``loo_target`` from then on), ``confidence`` (the photo's
confidence in B as the Learn leaves the library is above its confidence in A as it was; the shipped
confidence model). The columns: Learns, Learns that lowered ARI, worst drop, ARI the Learns gained,
photos fixed / broken, Learns that broke more photos than they fixed, ARI after 0 / 2 / 5 / 10 %.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from learn_never_worse import RecordingLearner, run, variant_cases

from machine_info import describe_machine
from photoclust.core.clustering.calibration import calibrated_confidences
from photoclust.core.learning.learner import answer_origins
from photoclust.core.learning.learner import held_out_moves as learner_held_out_moves


class Variant(RecordingLearner):
    variant = "base"

    def fit(self, X, y_init, y_user=None, cannot_link=()):
        self._links = list(cannot_link)
        return super().fit(X, y_init, y_user, cannot_link)

    def _supported_moves(self, Z, y_init, labels, y_user, labelled, proba, scores,
                         cannot_link=()):
        out, kept = super()._supported_moves(Z, y_init, labels, y_user, labelled, proba, scores,
                                             cannot_link)
        moved = np.flatnonzero((out != y_init) & ~labelled & ~kept
                               & np.isin(y_init, self.classes_))
        answered = np.flatnonzero(labelled)
        if self.variant == "base" or moved.size == 0 or answered.size == 0:
            return out, kept
        if self.variant == "answered_source":
            ok = np.isin(y_init[moved], y_user[answered])
        elif self.variant == "confidence":
            # the move must make the photo's own confidence higher: in B as the Learn leaves the
            # library than in A as it was (the shipped confidence model, no answers: one map)
            before = calibrated_confidences(Z, y_init, targets=y_init, rows=moved)
            after = calibrated_confidences(Z, out, targets=out, rows=moved)
            ok = np.nan_to_num(after, nan=0.0) > np.nan_to_num(before, nan=0.0)
        elif self.variant == "auto":  # held-out only once a held-out answer was moved wrongly
            right, wrong = held_out_moves(Z, y_user, answered, self._links,
                                          int(self.answer_neighbours), per_pair=False)
            ok = (np.ones(moved.size, bool) if sum(wrong.values()) == 0 else
                  np.array([right.get(int(out[p]), 0) > wrong.get(int(out[p]), 0)
                            for p in moved], dtype=bool))
        elif self.variant.startswith("cohesion"):
            ok = cohesive(Z, y_init, out, moved, 5)
            if self.variant == "cohesion_fallback":  # held-out where the answers say something
                right, wrong = held_out_moves(Z, y_user, answered, self._links,
                                              int(self.answer_neighbours), per_pair=False)
                for row, photo in enumerate(moved):
                    b = int(out[photo])
                    if right.get(b, 0) or wrong.get(b, 0):
                        ok[row] = right.get(b, 0) > wrong.get(b, 0)
        else:
            books = {per_pair: held_out_moves(Z, y_user, answered, self._links,
                                              int(self.answer_neighbours), per_pair)
                     for per_pair in (True, False)}
            ok = np.ones(moved.size, bool)
            for per_pair, (right, wrong) in books.items():
                if self.variant.startswith("loo_pair" if not per_pair else "loo_target"):
                    continue  # loo_both uses both books
                for row, photo in enumerate(moved):
                    a, b = int(y_init[photo]), int(out[photo])
                    k = (a, b) if per_pair else b
                    r, w = right.get(k, 0), wrong.get(k, 0)
                    ok[row] &= ((w < r or (r == w == 0)) if self.variant.endswith("lenient")
                                else r > w)
        out, kept = out.copy(), kept.copy()
        out[moved[~ok]] = y_init[moved[~ok]]
        kept[moved[~ok]] = True
        return out, kept


def cohesive(Z, y_init, out, moved, m):
    """Whether more than half of each moved photo's ``m`` most similar cluster-mates go (or are
    placed) where it goes: the look-alikes move as a group, not a scattered part of a mix."""
    ok = np.zeros(moved.size, bool)
    for row, photo in enumerate(moved):
        mates = np.flatnonzero(y_init == y_init[photo])
        mates = mates[mates != photo]
        if mates.size == 0:
            continue
        nearest = mates[np.argsort(-(Z[mates] @ Z[photo]), kind="stable")[:m]]
        ok[row] = np.mean(out[nearest] == out[photo]) > 0.5
    return ok


def held_out_moves(Z, y_user, answered, links, k, per_pair):
    """The learner's held-out check on the answers (``learner.held_out_moves``), per target
    cluster or per pair of clusters."""
    return learner_held_out_moves(Z[answered], y_user[answered],
                                  answer_origins(answered, y_user, links), k, per_pair)


def main() -> None:
    Variant.variant, starts = sys.argv[1], int(sys.argv[2])
    print(f"machine: {describe_machine()}", flush=True)
    for label, Z, y, start, seed in variant_cases(starts, sys.argv[3:]):
        result, learns, worse = run(Z, y, start, "on", 0.1, learner_class=Variant)
        gain = sum(a - b for b, a, _, _ in learns)
        curve = " / ".join(f"{p['ari']:.3f}" for p in result.curve)
        print(f"| {Variant.variant} | {label} | {seed} | {len(learns)} | {len(worse)} | "
              f"{min(worse) if worse else 0:+.4f} | {gain:+.4f} | "
              f"{sum(s[2] for s in learns)} / {sum(s[3] for s in learns)} | "
              f"{sum(1 for s in learns if s[3] > s[2])} | {curve} |",
              flush=True)


if __name__ == "__main__":
    main()
