"""The CLI's progress bar (cli/common.py: job_context) on stderr."""
import argparse
import re

from photoclust.cli.common import job_context


def test_clustering_counts_steps_with_its_own_rate(capsys):
    args = argparse.Namespace(json=False, verbose=True)
    with job_context(args, "Organizing") as ctx:
        for done in range(0, 201, 50):
            ctx.report(done, 200, f"IMG_{done}.jpg", stage="index", embedded=done // 2)
        ctx.report(200, 200, "IMG_199.jpg", stage="embed")
        ctx.report(200, 200, "done", stage="index", embedded=200)  # the stages alternate
        ctx.report(1, 3, "choosing k", stage="cluster")
    lines = re.split(r"[\r\n]", capsys.readouterr().err)
    last = [line for line in lines if "cluster: choosing k" in line][-1]
    assert "1/3" in last and "step" in last and "photo/s" not in last and "s/photo" not in last
    assert any("200/200" in line and "photo" in line for line in lines)
    assert all("photo" in line for line in lines if "index: done" in line)


def test_the_bar_follows_the_stage_field_not_the_text(capsys):
    """A step of a stage-less job whose text starts with "cluster" is not clustering: the unit
    comes from ``Progress.stage``."""
    args = argparse.Namespace(json=False, verbose=True)
    with job_context(args, "Exporting") as ctx:
        ctx.report(1, 4, "cluster_1.jpg")
        assert ctx.progress.stage == "" and ctx.progress.text == "cluster_1.jpg"
    lines = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if "1/4" in line]
    assert lines and all("photo" in line and "step" not in line for line in lines)
