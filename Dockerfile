# Sentinel webhook worker: one stateless process of many behind a load balancer, sharing
# PostgreSQL. See deploy/README.md and docker-compose.yml for a complete example.
#
# The base: a Debian bookworm image with Python 3.11. By default Docker Hub's, patch-pinned;
# where Docker Hub cannot be reached, `make image` passes a local one that
# deploy/base-image.sh makes with debootstrap (Debian's own python3). Bookworm on purpose: its
# glibc (2.36) runs every wheel in requirements.lock.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm

# Stage 1: the virtual environment, built with pip and setuptools, which the image leaves out.
FROM ${BASE_IMAGE} AS build

# The CA bundle pip trusts during the build (the system's, which ca-certificates keeps current,
# rather than pip's own copy); a build argument, so not kept in the image.
ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them: into a virtual
# environment (the same on either base), exactly the wheels in requirements.lock (make lock),
# each checked against its sha256. --no-deps: the lock is the whole closure (with the headless
# OpenCV in place of the opencv-python that rapidocr declares); --only-binary: no sdist is
# ever built. pip and setuptools come from the lock too.
# Then, what nothing runs: the debug symbols of the compiled modules (about 50 MB; strip is in
# binutils, of this stage only) and the packages' own test suites. Not stripped: what
# auditwheel rewrote with patchelf (the libraries it grafted into *.libs/, and modules with an
# RPATH), which strip can break (numpy's OpenBLAS then fails to load).
COPY requirements.lock ./
# hadolint ignore=DL3008
RUN python3 -m venv /opt/venv \
    && pip install --require-hashes --no-deps --only-binary=:all: -r requirements.lock \
    && apt-get update && apt-get install -y --no-install-recommends binutils \
    && find /opt/venv -name '*.so*' -type f ! -path '*.libs/*' | while read -r lib; do \
        readelf -d "$lib" | grep -q 'R\(UN\)\?PATH' || strip --strip-debug "$lib"; done \
    && find /opt/venv/lib/python3.11/site-packages -type d -name tests -prune -exec rm -rf {} +

# The project itself, without dependencies (all pinned above) and with the pinned setuptools
# (no build isolation: nothing is fetched). Editable on purpose: the code finds config.yaml,
# rules/ and migrations/ beside the bot package (bot/settings.py, bot/storage/db.py), so the
# package must stay in /app, not be copied into site-packages. README.md is read by the build
# (pyproject's readme); bot/emulator/api.json comes with bot/. Then pip and setuptools go:
# nothing installs anything at run time.
COPY pyproject.toml README.md config.yaml ./
COPY bot/ bot/
COPY rules/ rules/
COPY migrations/ migrations/
RUN pip install --no-deps --no-build-isolation -e . \
    && python -m compileall -q bot migrations \
    && python -m pip uninstall -y -q pip setuptools \
    && rm -rf build

# Stage 2: the image.
FROM ${BASE_IMAGE}

# fonts-wqy-microhei: the CJK font of the digest charts (bot/digest/render.py looks for it by
# path). Nothing else: OpenCV is the headless build (requirements.lock), which needs neither
# libGL nor GLib. Not pinned to a version: bookworm's security updates replace it, and an old
# pin would stop the build. apt's lists and caches go (a base image may not clean them).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH

# An unprivileged user, by number (so that orchestrators can verify it is not root), without a
# home. The root filesystem may be read-only (docker-compose.yml runs it so); the container
# writes only to
#   /data  SQLite and its lock file, when no PostgreSQL URL is set (a volume; owned by 10001)
#   /tmp   matplotlib's config and font cache (MPLCONFIGDIR, HOME), temporary files (a tmpfs)
# Python writes no bytecode at run time: everything is compiled above.
RUN groupadd --gid 10001 sentinel \
    && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin sentinel \
    && mkdir /data \
    && chown sentinel:sentinel /data
USER 10001:10001

ENV HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SENTINEL_MODE=production \
    SENTINEL_LOG_FORMAT=json \
    SENTINEL_DATA_DIR=/data

# Fail the build, not the first update, if a shared library or the rules are missing, or a
# stripped module no longer loads. (Demo mode: production needs secrets, absent here.) /tmp is
# left empty.
RUN SENTINEL_MODE=demo python -m bot rules lint \
    && python -c "import cv2, rapidocr_onnxruntime, onnxruntime, zxingcpp, matplotlib.pyplot, \
numpy, PIL.Image, shapely, pyclipper, asyncpg, aiohttp, cryptography.fernet, re2, ahocorasick, \
rapidfuzz, opencc, pydantic, yaml, ruamel.yaml, sqlalchemy, greenlet, uvicorn, telegram" \
    && rm -rf /tmp/matplotlib

EXPOSE 8080

# /healthz answers once the worker has started (uvicorn listens only after the bot is up), on
# the port CMD gives it.
# No curl in the image: Python's urllib. It raises on anything but 2xx, so the exit code is 1.
# No proxy: an HTTP_PROXY set for the Bot API must not carry this local check away.
# (Kept by docker and by buildah/podman with --format docker; the OCI format has no
# HEALTHCHECK.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4)"]

# Migrations first (idempotent; a failure stops here with the reason), then the worker. exec:
# Python becomes the main process and gets SIGTERM, so uvicorn shuts down gracefully (up to
# 20 s; give the container a longer stop timeout). Nothing image-specific: the project's CLI.
CMD ["sh", "-c", "python -m bot db upgrade && exec python -m bot run --mode webhook --host 0.0.0.0 --port 8080"]
