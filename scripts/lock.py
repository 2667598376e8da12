"""Write requirements.lock: every runtime dependency of sentinel-bot pinned, with the sha256
hashes PyPI publishes for its Linux wheels, for ``pip install --require-hashes --no-deps``.

The versions are those installed in this virtual environment (the closure of pyproject.toml's
[project] dependencies, extras and markers evaluated here, the dev extra left out), except:

- opencv-python becomes opencv-python-headless of the same version. rapidocr-onnxruntime
  declares opencv-python, but uses only image functions that the headless build has too; the
  headless build needs no libGL (Mesa and LLVM, about 220 MB in the image). The Dockerfile
  installs with --no-deps, so the declared name is not looked for.
- pip and the build backend (setuptools) are pinned here by hand (BUILD_TOOLS), so
  that the image's editable install (--no-build-isolation) fetches nothing unpinned.

Hashes: only wheels (the image installs with --only-binary=:all:, so no sdist is ever built)
for CPython 3.11 on Linux, x86_64 and aarch64. Run through ``make lock``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
# Raise by hand; setuptools must satisfy pyproject.toml's [build-system] requires.
BUILD_TOOLS = {"pip": "26.3", "setuptools": "80.9.0"}
RENAMED = {"opencv-python": "opencv-python-headless"}
PLATFORMS = ("x86_64", "aarch64")
INTERPRETERS = {"cp311", "py3", "py311", "cp37", "cp38", "cp39", "cp310"}  # + abi3 / none


def closure() -> set[str]:
    """Canonical names of the runtime dependencies, as installed here."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        todo = [Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]]
    need: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in need and set(req.extras) <= need[name]:
            continue
        need.setdefault(name, set()).update(req.extras)
        for spec in metadata.requires(req.name) or []:
            sub = Requirement(spec)
            extras = ["", *need[name]]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return set(need)


def installed(names: set[str]) -> dict[str, str]:
    freeze = [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--all"]
    lines = subprocess.run(freeze, capture_output=True, text=True, check=True).stdout
    pins: dict[str, str] = {}
    for line in lines.splitlines():
        name, sep, version = line.partition("==")
        if sep and canonicalize_name(name) in names:
            pins[canonicalize_name(name)] = version
    missing = sorted(names - set(pins))
    if missing:
        sys.exit("not installed in .venv: " + ", ".join(missing))
    return pins


def fits(filename: str) -> bool:
    """A wheel pip may install for CPython 3.11 on glibc Linux, x86_64 or aarch64."""
    if not filename.endswith(".whl"):
        return False
    _, _, _, tags = parse_wheel_filename(filename)
    for tag in tags:
        python_ok = tag.interpreter in INTERPRETERS and (
            tag.abi in {"none", "abi3"} or tag.interpreter == "cp311"
        )
        platform_ok = tag.platform == "any" or (
            tag.platform.startswith(("manylinux", "linux")) and tag.platform.endswith(PLATFORMS)
        )
        if python_ok and platform_ok:
            return True
    return False


def hashes(name: str, version: str) -> list[str]:
    url = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(url, timeout=60) as response:
        files = json.load(response)["releases"].get(version, [])
    found = sorted({f["digests"]["sha256"] for f in files if fits(f["filename"])})
    if not found:
        sys.exit(f"{name}=={version}: PyPI has no wheel for CPython 3.11 on Linux")
    return found


def main() -> None:
    pins = {RENAMED.get(n, n): v for n, v in installed(closure()).items()}
    tools: dict[str, str] = {canonicalize_name(n): v for n, v in BUILD_TOOLS.items()}
    out = [
        "# Pinned runtime dependencies of sentinel-bot (no dev tools), with the sha256 of every",
        "# wheel PyPI has for CPython 3.11 on Linux x86_64/aarch64, installed by the Dockerfile",
        "# with --require-hashes --no-deps --only-binary=:all:. Made by scripts/lock.py",
        "# (versions from .venv; opencv-python as opencv-python-headless): run `make lock`",
        "# after changing the dependencies in pyproject.toml. Do not edit by hand.",
    ]
    for title, group in (("runtime", pins), ("pip and the build backend", tools)):
        out.append(f"\n# {title}")
        for name in sorted(group):
            lines = [f"{name}=={group[name]}"]
            lines += [f"    --hash=sha256:{h}" for h in hashes(name, group[name])]
            out.append(" \\\n".join(lines))
    print("\n".join(out))


if __name__ == "__main__":
    main()
