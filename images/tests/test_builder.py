"""images/builder.py without podman: build contexts as faas-cli makes them, the
host's Debian mirrors, the slim base's pruning."""

from __future__ import annotations

from pathlib import Path

import pytest
from builder import ROOT, _prune, assemble_context, debian_mirrors, image_name, stack_functions


@pytest.mark.parametrize("function", list(stack_functions()[0]))
def test_contexts_are_laid_out_as_faas_cli_lays_them_out(function: str) -> None:
    functions, copy_paths = stack_functions()
    spec = functions[function]
    context = assemble_context(function, spec, copy_paths)
    template = ROOT / "template" / spec["lang"]
    assert {p.name for p in template.iterdir()} <= {p.name for p in context.iterdir()}
    assert (context / "function" / "handler.py").read_text() == (ROOT / spec["handler"] / "handler.py").read_text()
    for path in copy_paths:
        assert (context / "function" / path).exists(), path
    assert image_name(spec) == f"localhost/audioscore-{function}:runtime"


def test_copy_paths_outside_the_project_are_refused() -> None:
    functions, _ = stack_functions()
    name, spec = next(iter(functions.items()))
    with pytest.raises(ValueError, match="outside the project"):
        assemble_context(name, spec, ["../etc"])


def test_mirrors_from_both_kinds_of_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# local\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n")
    assert debian_mirrors(tmp_path) == ("http://mirror.example/debian", "http://security.example/debian-security")
    assert debian_mirrors(tmp_path / "none") == ("http://deb.debian.org/debian", None)


def test_prune_keeps_what_slim_keeps(tmp_path: Path) -> None:
    for name in ("usr/share/doc/apt/copyright", "usr/share/doc/apt/changelog.gz", "usr/share/man/man8/apt.8.gz",
                 "usr/share/locale/de/LC_MESSAGES/apt.mo", "var/cache/apt/archives/apt.deb", "usr/bin/apt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    _prune(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "usr/bin/apt", "usr/share/doc/apt/copyright"]


def test_stack_variables_are_substituted_as_faas_cli_does() -> None:
    from builder import substitute

    text = "a: ${REGISTRY:-ghcr.io/me}/x:${TAG:-0.1.0}\nb: ${UNSET_NO_DEFAULT}\nc: ${EMPTY:-fallback}\n"
    assert substitute(text, {"TAG": "1.2", "EMPTY": ""}) == "a: ghcr.io/me/x:1.2\nb: \nc: fallback\n"
    functions, _ = stack_functions()
    assert all("${" not in str(spec) for spec in functions.values())
