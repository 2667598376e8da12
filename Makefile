# Sentinel developer commands. Every target that needs the virtual environment creates it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench eval fmt lock clean

# A CJK font for test screenshots and charts (Debian: fonts-wqy-microhei), where apt is usable.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

# Idempotent: re-installs only when pyproject.toml changed.
setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -f $(CJK_FONT) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; } \
		|| echo "note: install the CJK font fonts-wqy-microhei for screenshot tests and charts"; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The real bot when SENTINEL_BOT_TOKEN is set; otherwise the local demo against the emulator.
run: setup
	@if [ -n "$$SENTINEL_BOT_TOKEN" ]; then $(PY) -m bot run; else $(PY) -m bot demo; fi

test: setup
	$(PY) -m pytest -q --cov --cov-report=term

lint: setup
	$(VENV)/bin/ruff check bot tests scripts
	$(VENV)/bin/ruff format --check bot tests scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m bot rules lint

bench: setup
	$(PY) -m bot bench

# Scores on the development corpus (not shipped with the project; see README).
CORPUS ?= ../shared/corpus
# Flagged = a warning nobody can overlook (medium or high); MIN_RISK=low counts any warning.
MIN_RISK ?= medium
eval: setup
	@for f in dev_zh_real dev_en_real dev_zh dev_en; do \
		echo "== $$f.jsonl"; \
		$(PY) -m bot eval $(CORPUS)/$$f.jsonl --min-risk $(MIN_RISK) --by dataset --by category \
			|| exit 1; \
	done

fmt: setup
	$(VENV)/bin/ruff format bot tests scripts
	$(VENV)/bin/ruff check --fix bot tests scripts

# requirements.lock (used by the Dockerfile): the versions installed in .venv of every runtime
# dependency, i.e. the closure of pyproject.toml's [project] dependencies (extras and markers
# evaluated here; the dev extra left out), as `pip freeze --exclude-editable` spells them.
define LOCK_PY
import subprocess, sys, tomllib
from importlib import metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canon

with open("pyproject.toml", "rb") as f:
    todo = [Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]]
need = {}
while todo:
    req = todo.pop()
    name = canon(req.name)
    if name in need and set(req.extras) <= need[name]:
        continue
    need.setdefault(name, set()).update(req.extras)
    for spec in metadata.requires(req.name) or []:
        sub = Requirement(spec)
        if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ["", *need[name]]):
            todo.append(sub)
freeze = [sys.executable, "-m", "pip", "freeze", "--exclude-editable"]
lines = subprocess.run(freeze, capture_output=True, text=True, check=True).stdout.splitlines()
pins = [line for line in lines if canon(line.split("==")[0].split(" @ ")[0]) in need]
missing = sorted(set(need) - {canon(line.split("==")[0].split(" @ ")[0]) for line in pins})
if missing:
    sys.exit("not installed in .venv: " + ", ".join(missing))
print("# Pinned runtime dependencies of sentinel-bot (no dev tools), installed by the Dockerfile.")
print("# Made from .venv: the dependency closure of pyproject.toml, versions from pip freeze.")
print("# Regenerate with `make lock` after changing the dependencies in pyproject.toml.")
print("\n".join(pins))
endef
export LOCK_PY

lock: setup
	$(PY) -c "$$LOCK_PY" > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
