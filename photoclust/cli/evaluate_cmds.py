"""``evaluate``: measure the clustering (and, with ``--simulate-corrections``, the learning from
corrections) on a folder of labelled photos. The report and the simulated user are research code
(``photoclust.research``), imported only when asked for."""
from __future__ import annotations

import argparse
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from photoclust.cli.cluster_cmds import add_clustering_options
from photoclust.cli.common import (
    CommandError,
    add_json_option,
    job_context,
    model_of,
    print_json,
    printable,
)
from photoclust.core.jobs import JobContext
from photoclust.core.library import Library, open_library


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "evaluate", help="measure clustering quality on a folder of labelled photos",
        description="DATASET is a folder of label subfolders. Index, embed and cluster it, then "
        "compare clusters with the labels: accuracy (Hungarian matching), NMI and ARI.")
    evaluate.add_argument("dataset", type=Path, metavar="DATASET")
    add_clustering_options(evaluate)
    evaluate.add_argument("--report", type=Path, default=None, metavar="DIR",
                          help="write clusters.csv/.md, a t-SNE picture and sample photos here")
    evaluate.add_argument("--library", metavar="FILE", type=Path, default=None,
                          help="library to index the dataset into (default: a temporary one)")
    add_simulate_corrections_option(evaluate)
    add_json_option(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from photoclust.core.jobs import run_job
    from photoclust.core.organize.evaluation import EvaluateJob

    problem = _folder_problem(args.dataset)
    if problem is not None:
        raise CommandError(f"{printable(args.dataset)}: {problem}")
    with evaluation_library(args) as library:
        model = model_of(args, library)
        job = EvaluateJob(args.dataset, library=library, k=args.k or "auto", method=args.method,
                          model=model, report=report_writer(args.report, model))
        with job_context(args, "Evaluating") as ctx:
            result = run_job(job, ctx)
            corrections = simulated_corrections(args, library, model, ctx)
    if args.json:
        print_json({**result.to_json(), **corrections})
        return 0
    print(f"{printable(result.dataset)}: {result.n} photos, {result.k_true} labels, "
          f"{result.k} clusters "
          f"({result.method}, k {'auto' if result.k_auto else 'given'})")
    print(f"ACC {result.acc:.3f}   NMI {result.nmi:.3f}   ARI {result.ari:.3f}")
    for path in result.report_files:
        print(f"  wrote {printable(path)}")
    print_simulated_corrections(corrections)
    return 0


def _folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be the labelled dataset (in words), or ``None``."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return "no such folder"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if not stat.S_ISDIR(st.st_mode):
        return "not a folder (DATASET is a folder of label subfolders)"
    try:
        with os.scandir(folder):
            pass
    except OSError as exc:
        return f"cannot read the folder ({exc.strerror or exc})"
    return None


def report_writer(report_dir: Path | None, model: str):
    """What ``--report DIR`` writes (research code, imported only when asked for)."""
    if report_dir is None:
        return None
    from photoclust.research.report import write_report

    def write(library, photos, truth, pred, names) -> list:
        return write_report(report_dir, library, model, photos, truth, pred, names, 0)

    return write


def _fractions(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected fractions like 0.02,0.05") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: fractions must be in (0, 1]")
    return sorted(set(values))


def add_simulate_corrections_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulate-corrections", type=_fractions, default=None, metavar="F,F,...",
        help="after clustering, let a simulated user who knows the labels answer the review "
        "queue and report ARI after F x photos actions (e.g. 0.02,0.05), and the actions to "
        "reach ARI 0.9")
    parser.add_argument(
        "--with-arrivals", action="store_true",
        help="with --simulate-corrections: also let 10%% new photos arrive halfway (half of "
        "them of a label held out until then) and report what Organize did with them")


@contextmanager
def evaluation_library(args: argparse.Namespace) -> Iterator[Library | None]:
    """The library ``evaluate`` works in: ``--library``, else a temporary one kept open for
    ``--simulate-corrections``, else ``None`` (the job makes and drops its own)."""
    if args.library is not None:
        with open_library(args.library) as library:
            yield library
    elif getattr(args, "simulate_corrections", None):
        with tempfile.TemporaryDirectory(prefix="photoclust-eval-") as tmp:
            with open_library(Path(tmp) / "library.sqlite") as library:
                yield library
    else:
        yield None


def simulated_corrections(args: argparse.Namespace, library: Library | None, model: str,
                          ctx: JobContext) -> dict:
    """``{"curve": [...], "actions_to_ari_target": ..., ...}`` for ``evaluate --json``
    ({} without ``--simulate-corrections``)."""
    fractions = getattr(args, "simulate_corrections", None)
    if not fractions or library is None:
        return {}
    from photoclust.research.simulate import simulate_library_corrections

    result = simulate_library_corrections(
        library, model, args.dataset, fractions, max_fraction=max(0.2, max(fractions)),
        on_batch=lambda done, total: ctx.report(done, total, "simulated corrections"),
        arrivals=getattr(args, "with_arrivals", False))
    return result.as_dict()


def print_simulated_corrections(corrections: dict) -> None:
    if not corrections:
        return
    curve = "   ".join(f"{p['fraction']:.0%} ({p['actions']} actions): ARI {p['ari']:.3f}"
                       for p in corrections["curve"])
    print(f"corrections: {curve}")
    reached, target = corrections["actions_to_ari_target"], corrections["ari_target"]
    if reached is None:
        spent = sum(corrections["action_counts"].values())
        print(f"ARI {target} not reached within {spent} simulated actions")
    else:
        print(f"ARI {target} reached after {reached} simulated actions")
    arrivals = corrections.get("arrivals")
    if arrivals:
        curve = "   ".join(f"{p['fraction']:.0%}: ARI {p['ari']:.3f}"
                           for p in arrivals["curve_before"] + arrivals["curve_after"])
        print(f"new photos halfway: {arrivals['n_new']} ({arrivals['n_new_kind']} of a new kind); "
              f"old photos kept: {arrivals['old_kept_user']:.0%} of yours, "
              f"{arrivals['old_kept_auto']:.0%} of the rest; new photos in their kind's "
              f"cluster: {arrivals['new_joined']:.0%} (old photos: "
              f"{arrivals['old_in_kind_cluster']:.0%}); new kind in its own cluster: "
              f"{arrivals['new_kind_in_own_cluster']:.0%}")
        print(f"curve: {curve}")
