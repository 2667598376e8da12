# Sentinel developer commands. Every target that needs the virtual environment creates it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test coverage lint bench eval fmt lock image image-test proxy-test clean

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

# The suite spread over worker processes (TEST_WORKERS, default two per core: most tests wait
# on sockets and subprocesses more than they compute); tests that share one bot stay together.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))

test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15

# The same suite in one process under coverage (about three times slower), with the report.
coverage: setup
	$(PY) -m pytest -q -p no:xdist --cov --cov-report=term

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

# requirements.lock (used by the Dockerfile): the runtime dependencies installed in .venv, with
# the sha256 of their Linux wheels from PyPI, and pip and setuptools (see scripts/lock.py).
lock: setup
	$(PY) scripts/lock.py > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock

# The container image: docker when its daemon answers, else buildah on a local Debian base made
# with debootstrap (deploy/build-image.sh, deploy/base-image.sh). As root, installs buildah,
# podman and debootstrap with apt-get when missing.
IMAGE ?= sentinel-bot:latest
image:
	IMAGE=$(IMAGE) nice sh deploy/build-image.sh

# The built image's own CMD and HEALTHCHECK against the local PostgreSQL and the emulator, with
# a read-only root filesystem; one PASS/FAIL line per check (scripts/image_test.py).
image-test: setup
	$(PY) scripts/image_test.py --image $(IMAGE)

# deploy/nginx.conf.template for real under podman: nginx (Debian's, made once with
# debootstrap) in front of two workers of the built image; a worker recreated with a new
# address is found again without a reload.
proxy-test: setup
	$(PY) scripts/proxy_test.py --image $(IMAGE)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
