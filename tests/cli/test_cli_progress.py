"""The CLI's progress bar (cli/common.py: job_context) on stderr."""
import argparse
import re

from photoclust.cli.common import job_context


def test_clustering_counts_steps_with_its_own_rate(capsys):
    args = argparse.Namespace(json=False, verbose=True)
    with job_context(args, "Organizing") as ctx:
        for done in range(0, 201, 50):
            ctx.report(done, 200, f"index: IMG_{done}.jpg ({done // 2} embedded)")
        ctx.report(200, 200, "embed: IMG_199.jpg")
        ctx.report(200, 200, "index: done (200 embedded)")  # the stages alternate
        ctx.report(1, 3, "cluster: choosing k")
    lines = re.split(r"[\r\n]", capsys.readouterr().err)
    last = [line for line in lines if "cluster: choosing k" in line][-1]
    assert "1/3" in last and "step" in last and "photo/s" not in last and "s/photo" not in last
    assert any("200/200" in line and "photo" in line for line in lines)
    assert all("photo" in line for line in lines if "index: done" in line)
