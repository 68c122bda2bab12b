"""The function images, built with podman the way `faas-cli build` builds them.

For every function in stack.yml whose template is in template/: a build context
as faas-cli assembles it (the template's files, the handler folder as
function/, stack.yml's configuration.copy paths inside it), built to the
template's ``runtime`` stage (everything but the of-watchdog binary, whose image
cannot be pulled here) from a Debian base made locally with debootstrap in
place of debian:bookworm-slim. Podman's layer cache shares the common stages
between the functions and keeps them from one run to the next.

    python images/builder.py                # every function in stack.yml
    python images/builder.py transcribe     # some of them

Needs root, podman, runc and debootstrap (``make images`` installs them).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONTEXTS = ROOT / "build"  # where faas-cli puts its build contexts too
BASE_IMAGE = "localhost/audioscore-bookworm:latest"
BASE_INPUTS_LABEL = "audioscore.base-inputs"
IMAGE_TAG = "runtime"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ONE_LINE_SOURCE = re.compile(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)")  # deb [options] uri suite ...
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
# crun fails on these hosts (hybrid cgroups); the sandbox cannot raise ulimits.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
PODMAN_ENV = {"CONTAINERS_CONF": str(Path(__file__).with_name("containers.conf"))}

# What makes debian:bookworm-slim slim (debuerreotype's slimify and its apt
# settings), so that the sizes measured here are the sizes users get.
SLIM_DPKG = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
SLIM_APT = {
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
        ' /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb'
        ' /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}

@dataclass(frozen=True)
class Built:
    """One function image: its tag, build time in seconds and size in bytes."""

    function: str
    image: str
    seconds: float
    size: int


def podman(*args: str, check: bool = True, capture: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """Run podman with the settings these machines need."""
    return subprocess.run([*PODMAN, *args], env=os.environ | PODMAN_ENV, check=check, text=True,
                          capture_output=capture, **kwargs)


def debian_mirrors(sources: Path = Path("/etc/apt")) -> tuple[str, str | None]:
    """The host's Debian mirror and security mirror (None if it has none), from its apt sources."""
    uris = []
    for path in sorted(sources.glob("sources.list.d/*.sources")):
        uris += [u for line in path.read_text().splitlines() if line.startswith("URIs:") for u in line.split()[1:]]
    for path in [sources / "sources.list", *sorted(sources.glob("sources.list.d/*.list"))]:
        if path.is_file():
            uris += [m[1] for m in map(ONE_LINE_SOURCE.match, path.read_text().splitlines()) if m]
    uris = [u.rstrip("/") for u in uris]
    mirror = next((u for u in uris if u.endswith("/debian")), DEFAULT_MIRROR)
    return mirror, next((u for u in uris if u.endswith("/debian-security")), None)


def _sources_file(mirror: str, security: str | None) -> str:
    entries = [(mirror, f"{SUITE} {SUITE}-updates")] + ([(security, f"{SUITE}-security")] if security else [])
    return "\n".join(f"Types: deb\nURIs: {uri}\nSuites: {suites}\nComponents: main\n"
                     "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" for uri, suites in entries)


def _label(image: str, name: str) -> str | None:
    done = podman("image", "inspect", "--format", f'{{{{index .Labels "{name}"}}}}', image, check=False,
                  capture=True)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_base() -> bool:
    """Make the Debian base image unless one made from the same inputs exists; True if made."""
    mirror, security = debian_mirrors()
    sources = _sources_file(mirror, security)
    recipe = [SUITE, mirror, sources, SLIM_DPKG, *SLIM_APT.values(), inspect.getsource(ensure_base),
              inspect.getsource(_prune)]
    inputs = hashlib.sha256("\0".join(recipe).encode()).hexdigest()[:16]
    if _label(BASE_IMAGE, BASE_INPUTS_LABEL) == inputs:
        return False
    with tempfile.TemporaryDirectory(prefix="audioscore-base-", dir="/var/tmp") as work:
        root = Path(work)
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(root), mirror], check=True,
                       stdout=subprocess.DEVNULL)
        (root / "etc/dpkg/dpkg.cfg.d/docker").write_text(SLIM_DPKG)
        for name, text in SLIM_APT.items():
            (root / "etc/apt/apt.conf.d" / name).write_text(text)
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        (root / "etc/apt/sources.list.d/debian.sources").write_text(sources)
        _prune(root)
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        podman("import", "--change", f"LABEL {BASE_INPUTS_LABEL}={inputs}", "--change", 'CMD ["bash"]',
               "-", BASE_IMAGE, stdin=tar.stdout, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            raise subprocess.CalledProcessError(tar.returncode, "tar")
    return True


def _prune(root: Path) -> None:
    """Delete what the slim dpkg settings exclude, as if they had been there from the start."""
    rules = [line.split() for line in SLIM_DPKG.splitlines()]
    kept = [pattern for kind, pattern in rules if kind == "path-include"]
    for excluded in (pattern for kind, pattern in rules if kind == "path-exclude"):
        for path in sorted((root / excluded.strip("/").split("*")[0]).rglob("*"), reverse=True):  # files first
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif fnmatch(name := f"/{path.relative_to(root)}", excluded) and not any(
                    fnmatch(name, pattern) for pattern in kept):
                path.unlink()
    for folder in ("var/lib/apt/lists", "var/cache/apt"):  # debootstrap's package lists and downloads
        for path in (root / folder).rglob("*"):
            if path.is_file():
                path.unlink()


def image_name(spec: dict) -> str:
    """The local tag for a function: stack.yml's image name (no registry) with tag ``runtime``."""
    return f"localhost/{spec['image'].rsplit('/', 1)[-1].split(':', 1)[0]}:{IMAGE_TAG}"


# faas-cli substitutes ${NAME} and ${NAME:-default} from the environment before parsing
# stack.yml (drone/envsubst; the default applies when NAME is unset or empty).
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def substitute(text: str, env: dict[str, str] | None = None) -> str:
    """stack.yml's text with its variables replaced as faas-cli replaces them."""
    env = os.environ if env is None else env
    return _VARIABLE.sub(lambda m: env.get(m[1]) or m[2] or "", text)


def stack_functions(stack_file: Path = ROOT / "stack.yml") -> tuple[dict[str, dict], list[str]]:
    """stack.yml's functions built from one of our templates, and its configuration.copy paths."""
    stack = yaml.safe_load(substitute(stack_file.read_text()))
    functions = {name: spec for name, spec in stack["functions"].items()
                 if (ROOT / "template" / spec.get("lang", "")).is_dir()}
    return functions, (stack.get("configuration") or {}).get("copy") or []


def assemble_context(name: str, spec: dict, copy_paths: list[str]) -> Path:
    """The build context `faas-cli build` makes: template, handler as function/, copy paths inside it."""
    context = CONTEXTS / name
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(ROOT / "template" / spec["lang"], context)
    handler = ROOT / spec["handler"]
    for entry in handler.iterdir():
        if entry.name not in ("build", "template"):  # faas-cli skips these two
            _copy(entry, context / "function" / entry.name)
    for path in copy_paths:
        source = (ROOT / path).resolve()
        if source == ROOT or ROOT not in source.parents:
            raise ValueError(f"configuration.copy path {path!r} is outside the project")
        _copy(source, context / "function" / source.relative_to(ROOT))
    return context


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def build(name: str, spec: dict, copy_paths: list[str]) -> Built:
    """Build one function's runtime image from the local base."""
    context = assemble_context(name, spec, copy_paths)
    image = image_name(spec)
    args = ["build", "--network=host", "--target", "runtime", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
            "-t", image]
    if HOST_CA.is_file():  # TLS here is re-signed by a CA only the host trusts; mounted, never baked in
        args += ["-v", f"{HOST_CA}:/run/host-ca.crt:ro", "--build-arg", "PIP_CERT=/run/host-ca.crt"]
    started = time.monotonic()
    podman(*args, str(context))
    seconds = time.monotonic() - started
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image, capture=True).stdout)
    return Built(name, image, seconds, size)


def build_all(names: list[str] | None = None) -> tuple[float | None, list[Built]]:
    """The base (if missing or stale) and the functions' images.

    Returns:
        The seconds spent making the base (None if it was up to date) and the images.
    """
    functions, copy_paths = stack_functions()
    unknown = set(names or ()) - set(functions)
    if unknown:
        raise SystemExit(f"not in stack.yml: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    base_seconds = time.monotonic() - started if ensure_base() else None
    return base_seconds, [build(name, functions[name], copy_paths) for name in names or functions]


def layers(image: str) -> dict[str, int]:
    """The image's layers (digest to bytes)."""
    info = json.loads(podman("image", "inspect", image, capture=True).stdout)[0]
    # Sizes are per history entry, newest first; entries without a layer are marked in the image's own history.
    history = json.loads(podman("history", "--format", "json", image, capture=True).stdout)[::-1]
    sizes = [entry["size"] for entry, step in zip(history, info["History"]) if not step.get("empty_layer")]
    return dict(zip(info["RootFS"]["Layers"], sizes))


def report(base_seconds: float | None, built: list[Built]) -> str:
    lines = [f"base {BASE_IMAGE}: " + ("up to date" if base_seconds is None else f"made in {base_seconds:.0f} s")]
    lines += [f"{b.image}: {b.size / 1e6:.0f} MB, built in {b.seconds:.0f} s" for b in built]
    if built:
        total = sum(dict(pair for b in built for pair in layers(b.image).items()).values())
        lines.append(f"all {len(built)} images: {total / 1e6:.0f} MB on disk (shared layers once), "
                     f"built in {(base_seconds or 0) + sum(b.seconds for b in built):.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("functions", nargs="*", help="functions from stack.yml (default: all)")
    args = parser.parse_args(argv)
    base_seconds, built = build_all(args.functions or None)
    print(report(base_seconds, built))


if __name__ == "__main__":
    sys.exit(main())
