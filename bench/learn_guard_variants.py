"""Extra conditions on the moves Learn's check lets through (docs/learning.md, "Why the last
drops pass the check"): Learns that lowered ARI, worst drop, photos fixed / broken and the ARI
curve with each variant, over the starts of bench/learn_never_worse.py.

    python bench/learn_guard_variants.py VARIANT STARTS SET [SET ...]

VARIANT: ``base`` (as shipped), ``median`` (the closest answer is more like the photo than the
median photo of its cluster), ``nearest`` (... than its nearest cluster-mate), ``unanimous2`` /
``unanimous3`` (the 2 or 3 closest answers all in the target cluster).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from learn_never_worse import RecordingLearner, run, variant_cases


class Variant(RecordingLearner):
    variant = "base"

    def _supported_moves(self, Z, y_init, labels, y_user, labelled, proba, scores,
                         cannot_link=()):
        out, kept = super()._supported_moves(Z, y_init, labels, y_user, labelled, proba, scores,
                                             cannot_link)
        moved = np.flatnonzero((out != y_init) & ~labelled & (y_init >= 0))
        answered = np.flatnonzero(labelled)
        if self.variant == "base" or moved.size == 0 or answered.size == 0:
            return out, kept
        similarity = Z[moved] @ Z[answered].T
        if self.variant.startswith("unanimous"):
            k = min(int(self.variant[-1]), answered.size)
            nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
            ok = np.all(y_user[answered][nearest] == out[moved][:, None], axis=1)
        else:
            closest = similarity.max(axis=1)
            ok = np.ones(moved.size, bool)
            for row, photo in enumerate(moved):
                mates = np.flatnonzero(y_init == y_init[photo])
                mates = mates[mates != photo]
                if mates.size:
                    like = Z[mates] @ Z[photo]
                    ok[row] = closest[row] > (np.median(like) if self.variant == "median"
                                              else like.max())
        out, kept = out.copy(), kept.copy()
        out[moved[~ok]] = y_init[moved[~ok]]
        kept[moved[~ok]] = True
        return out, kept


def main() -> None:
    Variant.variant, starts = sys.argv[1], int(sys.argv[2])
    for label, Z, y, start, seed in variant_cases(starts, sys.argv[3:]):
        result, learns, worse = run(Z, y, start, "on", 0.1, learner_class=Variant)
        curve = " / ".join(f"{p['ari']:.3f}" for p in result.curve)
        print(f"| {Variant.variant} | {label} | {seed} | {len(learns)} | {len(worse)} | "
              f"{min(worse) if worse else 0:+.4f} | {sum(s[2] for s in learns)} / "
              f"{sum(s[3] for s in learns)} | {curve} |", flush=True)


if __name__ == "__main__":
    main()
