#!/bin/sh
# A Debian bookworm base image made locally with debootstrap, for building the Sentinel image
# where Docker Hub (python:3.11-slim-bookworm) cannot be reached. Everything comes from the
# Debian archive, whose Release files debootstrap checks against Debian's signing keys.
#
# Python is Debian's own python3 (3.11, bookworm's), not a CPython built here: it is signed
# by the archive, gets bookworm's security updates through apt like every other package, and
# runs every wheel in requirements.lock (cp311, glibc 2.36). The image holds python3,
# python3-venv (the Dockerfile makes a virtual environment) and ca-certificates (HTTPS to
# Telegram); nothing else beyond debootstrap's minbase.
#
#   deploy/base-image.sh [IMAGE]      default localhost/sentinel-base:bookworm
#
# Imported with podman into the local container storage (overlay). Does nothing when the
# image exists already; FORCE=1 rebuilds it (e.g. monthly, for security updates). As root,
# installs debootstrap and podman with apt-get when they are missing.
set -eu

IMAGE=${1:-localhost/sentinel-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

missing=""
for tool in debootstrap podman buildah; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "base-image: installing$missing runc with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing runc >/dev/null
    else
        echo "base-image: needs$missing (Debian: apt-get install debootstrap podman buildah runc)" >&2
        exit 1
    fi
fi

if [ -z "${FORCE:-}" ] && podman image exists "$IMAGE"; then
    echo "base-image: $IMAGE exists (FORCE=1 rebuilds it)"
    exit 0
fi

root=$(mktemp -d /var/tmp/sentinel-base.XXXXXX)
chmod 755 "$root"  # a root file system: readable by all (apt drops to _apt)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap bookworm into $root"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# The same sources as Debian's own images: the release, its updates and security updates,
# applied now.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
SOURCES
# Like Debian's docker images: no recommends, and no man pages or docs in later installs.
cat >"$root/etc/apt/apt.conf.d/90sentinel" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT
cat >"$root/etc/dpkg/dpkg.cfg.d/90sentinel-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq >/dev/null'
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
find "$root/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
: >"$root/etc/machine-id"

tar -C "$root" --numeric-owner -cf - . | podman import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$IMAGE" >/dev/null
echo "base-image: $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
