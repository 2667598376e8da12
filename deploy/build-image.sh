#!/bin/sh
# Builds the Sentinel image (`make image`): with docker when its daemon answers, else with
# buildah on the local Debian base of deploy/base-image.sh (no Docker Hub needed).
#
#   IMAGE=sentinel-bot:latest BASE_IMAGE=... deploy/build-image.sh
#
# BASE_IMAGE: the Dockerfile's default (python:3.11.14-slim-bookworm from Docker Hub) with
# docker; localhost/sentinel-base:bookworm, made first when missing, with buildah.
set -eu
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-sentinel-bot:latest}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo "build-image: docker build -t $IMAGE"
    exec docker build ${BASE_IMAGE:+--build-arg "BASE_IMAGE=$BASE_IMAGE"} -t "$IMAGE" .
fi

BASE_IMAGE=${BASE_IMAGE:-localhost/sentinel-base:bookworm}
case $BASE_IMAGE in
localhost/*) sh deploy/base-image.sh "$BASE_IMAGE" ;;
esac

# Where the TLS to PyPI is re-signed by a proxy (as in some sandboxes and companies), pip in
# the build trusts the host's CA bundle: mounted over the image's for the build only, never
# kept in the image.
ca=/etc/ssl/certs/ca-certificates.crt
set --
[ -f "$ca" ] && set -- --volume "$ca:$ca:ro"

echo "build-image: buildah on $BASE_IMAGE -> $IMAGE"
# --format docker: the OCI format has no HEALTHCHECK. runc and the ulimits: crun fails on
# hosts with mixed cgroups, and the default ulimits may exceed a container host's hard limits.
start=$(date +%s)
buildah bud --format docker --layers --runtime runc \
    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$@" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag "$IMAGE" .
echo "build-image: $IMAGE built in $(($(date +%s) - start)) s," \
    "$(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"
