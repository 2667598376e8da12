# Sentinel webhook worker: one stateless process of many behind a load balancer, sharing
# PostgreSQL. See deploy/README.md and docker-compose.yml for a complete example.
#
# A patch-pinned tag, and bookworm on purpose: its glibc (2.36) runs every wheel in
# requirements.lock, and its package names (libglib2.0-0) are the ones installed below.
FROM python:3.11.14-slim-bookworm

# fonts-wqy-microhei: the CJK font of the digest charts (bot/digest/render.py looks for it by
# path). libgl1, libglib2.0-0: rapidocr-onnxruntime requires opencv-python (not the headless
# build), whose cv2 links libGL.so.1 and libgthread-2.0.so.0; slim has neither. Not pinned to
# versions: bookworm's security updates replace them, and an old pin would stop the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, pinned (make lock), so that a code change does not reinstall them.
# A current pip reads the metadata of the newest wheels; the base image's may be older.
COPY requirements.lock ./
RUN pip install --no-cache-dir pip==26.3 \
    && pip install --no-cache-dir -r requirements.lock

# The project itself, without dependencies (all pinned above). Editable on purpose: the code
# finds config.yaml, rules/ and migrations/ beside the bot package (bot/settings.py,
# bot/storage/db.py), so the package must stay here, not be copied into site-packages.
# README.md is read by the build (pyproject's readme); bot/emulator/api.json comes with bot/.
COPY pyproject.toml README.md config.yaml ./
COPY bot/ bot/
COPY rules/ rules/
COPY migrations/ migrations/
RUN pip install --no-cache-dir --no-deps -e . \
    && python -m compileall -q bot migrations

# An unprivileged user, by number (so that orchestrators can verify it is not root); /data is
# the only place it may write (SQLite, when no PostgreSQL URL is set, and its lock file). Its
# home holds matplotlib's font cache.
RUN groupadd --gid 10001 sentinel \
    && useradd --uid 10001 --gid 10001 --no-log-init --create-home --shell /usr/sbin/nologin sentinel \
    && mkdir /data \
    && chown sentinel:sentinel /data
USER 10001:10001

ENV HOME=/home/sentinel \
    PYTHONUNBUFFERED=1 \
    SENTINEL_MODE=production \
    SENTINEL_LOG_FORMAT=json \
    SENTINEL_DATA_DIR=/data

# Fail the build, not the first update, if a shared library or the rules are missing; this also
# builds matplotlib's font cache once. (Demo mode: production needs secrets, absent here.)
RUN SENTINEL_MODE=demo python -m bot rules lint \
    && python -c "import cv2, rapidocr_onnxruntime, zxingcpp, matplotlib.font_manager"

EXPOSE 8080

# /healthz answers once the worker has started (uvicorn listens only after the bot is up), on
# the port CMD gives it.
# No curl in slim: Python's urllib. It raises on anything but 2xx, so the exit code is 1.
# No proxy: an HTTP_PROXY set for the Bot API must not carry this local check away.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4)"]

# Migrations first (idempotent; a failure stops here with the reason), then the worker. exec:
# Python becomes the main process and gets SIGTERM, so uvicorn shuts down gracefully (up to
# 20 s; give the container a longer stop timeout). Nothing image-specific: the project's CLI.
CMD ["sh", "-c", "python -m bot db upgrade && exec python -m bot run --mode webhook --host 0.0.0.0 --port 8080"]
