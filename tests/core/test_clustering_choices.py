"""One check of what a caller may ask the clustering for (method, number of clusters), shared by
the command line, the app's settings and the jobs."""
import pytest

from photoclust.cli import main
from photoclust.core.clustering import METHODS, MIN_K, check_k, check_method
from photoclust.core.jobs import JobError


@pytest.mark.parametrize("value, expected", [("auto", "auto"), (2, 2), ("12", 12), (7.0, 7)])
def test_check_k_accepts_auto_and_whole_numbers_from_min_k(value, expected):
    assert check_k(value) == expected


@pytest.mark.parametrize("value, message", [
    (1, f"at least {MIN_K}"), ("0", f"at least {MIN_K}"), (-3, f"at least {MIN_K}"),
    ("many", "'auto' or a whole number"), (2.5, "'auto' or a whole number"),
    (None, "'auto' or a whole number"),
])
def test_check_k_refuses_anything_else_in_one_sentence(value, message):
    with pytest.raises(JobError, match=message) as info:
        check_k(value)
    assert "\n" not in str(info.value)


def test_check_method_names_the_choices():
    assert [check_method(m) for m in METHODS] == list(METHODS)
    with pytest.raises(JobError, match="unknown method 'spectral'; choose one of kmeans"):
        check_method("spectral")


@pytest.mark.parametrize("command", ["cluster", "organize"])
def test_the_command_line_refuses_what_the_app_refuses(command, tmp_path, capsys):
    argv = [command, *([str(tmp_path)] if command == "organize" else []), "--k", "1",
            "--library", str(tmp_path / "lib.sqlite")]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"the number of clusters must be at least {MIN_K}" in capsys.readouterr().err
    assert not (tmp_path / "lib.sqlite").exists()
