"""The proxy in front of the workers, run for real under podman (``make proxy-test``).

deploy/nginx.conf.template in nginx from Debian (unstable: the first Debian nginx new enough
for ``resolve`` in an upstream, 1.27.3 or newer), rendered at start the way the nginx image's
entrypoint renders it (``NGINX_LOCAL_RESOLVERS`` from the container's /etc/resolv.conf), in
front of two workers of the built image on one podman network, whose DNS (aardvark-dns) gives
the names worker1 and worker2. The Bot API emulator runs on this host; the workers set their
webhook to the proxy, so every update goes emulator -> nginx -> a worker -> emulator.

Checks, one PASS or FAIL line each: the proxy answers /healthz; a scam message is answered
through it; it refuses other paths (/metrics 403, anything else 404); after worker1 is
recreated with a new address and worker2 is stopped, a scam message is still answered (nginx
looked worker1 up again without a reload).

    python scripts/proxy_test.py [--image sentinel-bot:latest]

The nginx image (localhost/sentinel-nginx-test:sid) is made once with debootstrap, as
deploy/base-image.sh makes the bot's base (about 3 minutes), and kept. Needs podman; workers
use SQLite each (this test is about routing, not the shared database).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.emulator import BotApiEmulator
from scripts.image_test import (
    PODMAN_RUN,
    TOKEN,
    command_line,
    get,
    report,
    summary,
    tool_run,
    warned,
)

ROOT = Path(__file__).resolve().parent.parent
NGINX_IMAGE = "localhost/sentinel-nginx-test:sid"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECRET = "f" * 64
# What the nginx image's entrypoint does with a template (15-local-resolvers.envsh, then
# 20-envsubst-on-templates.sh, which replaces only variables that are set).
START_NGINX = r"""
set -e
id nginx >/dev/null 2>&1 || useradd --system --no-create-home nginx
NGINX_LOCAL_RESOLVERS=$(awk '/^nameserver/ {print $2}' /etc/resolv.conf | tr '\n' ' ')
export NGINX_LOCAL_RESOLVERS
envsubst '$NGINX_LOCAL_RESOLVERS' </templates/nginx.conf.template >/etc/nginx/nginx.conf
exec nginx -g 'daemon off;'
"""


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return tool_run("podman", *args, timeout=timeout)


def nginx_image() -> None:
    """Debian unstable's nginx and envsubst on a debootstrap minbase, imported into podman."""
    if podman("image", "exists", NGINX_IMAGE).returncode == 0:
        return
    print(f"making {NGINX_IMAGE} with debootstrap (once)", flush=True)
    root = Path(tempfile.mkdtemp(prefix="sentinel-nginx.", dir="/var/tmp"))
    try:
        root.chmod(0o755)
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=nginx,gettext-base", "sid",
             str(root), MIRROR],
            check=True, capture_output=True, timeout=1200,
        )  # fmt: skip
        tar = subprocess.Popen(
            ["tar", "-C", str(root), "--numeric-owner", "-cf", "-", "."], stdout=subprocess.PIPE
        )
        subprocess.run(["podman", "import", "-", NGINX_IMAGE], stdin=tar.stdout, check=True,
                       capture_output=True, timeout=600)  # fmt: skip
        tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Net:
    """A podman network with DNS, and the containers started on it."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.tag = uuid.uuid4().hex[:6]
        self.name = f"sentinel-proxy-{self.tag}"
        self.boxes: list[str] = []
        self.dirs: list[Path] = []  # each worker's /data (its SQLite database)

    def create(self) -> None:
        done = podman("network", "create", self.name)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip())

    def run(self, alias: str, *args: str) -> str:
        name = f"{alias}-{self.tag}-{len(self.boxes)}"
        done = podman(
            "run", "-d", "--name", name, *PODMAN_RUN, "--network", self.name,
            "--network-alias", alias, *args,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{alias}: {done.stderr.strip()[-300:]}")
        self.boxes.append(name)
        return name

    def worker(self, alias: str, emu_port: int, proxy_port: int) -> str:
        env = {
            "SENTINEL_BOT_TOKEN": TOKEN,
            "SENTINEL_PSEUDONYM_KEY": "d" * 64,
            "SENTINEL_WEBHOOK_SECRET": SECRET,
            "SENTINEL_TELEGRAM__API_BASE_URL": f"http://host.containers.internal:{emu_port}/bot",
            # Telegram (the emulator, on this host) posts updates to the proxy.
            "SENTINEL_WEBHOOK__URL": f"http://127.0.0.1:{proxy_port}/telegram",
        }
        envs = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        data = Path(tempfile.mkdtemp(prefix="sentinel-proxy-data.", dir="/var/tmp"))
        os.chown(data, 10001, 10001)  # the image's user
        self.dirs.append(data)
        return self.run(
            alias, "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m",
            "-v", f"{data}:/data:Z", *envs, self.image,
        )  # fmt: skip

    def address(self, box: str) -> str:
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        return podman("inspect", "--format", fmt, box).stdout.strip()

    def logs(self, box: str) -> str:
        done = podman("logs", box)
        return (done.stdout + done.stderr)[-1500:]

    def remove(self) -> None:
        for box in self.boxes:
            podman("rm", "-f", "-t", "5", box)
        podman("network", "rm", "-f", self.name)
        for data in self.dirs:
            shutil.rmtree(data, ignore_errors=True)


async def until(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(1)
    return False


async def main(image: str) -> int:
    if shutil.which("podman") is None:
        print("proxy test: needs podman (deploy/base-image.sh installs it)", file=sys.stderr)
        return 1
    nginx_image()
    emu = BotApiEmulator(token=TOKEN)
    await emu.start(host="0.0.0.0")  # the containers reach it through the host
    proxy_port = free_port()
    net = Net(image)
    try:
        net.create()
        w1 = net.worker("worker1", emu.port, proxy_port)
        w2 = net.worker("worker2", emu.port, proxy_port)
        template = ROOT / "deploy" / "nginx.conf.template"
        proxy = net.run(
            "proxy", "-p", f"127.0.0.1:{proxy_port}:8080",
            "-v", f"{template}:/templates/nginx.conf.template:ro,Z",
            NGINX_IMAGE, "sh", "-c", START_NGINX,
        )  # fmt: skip
        base = f"http://127.0.0.1:{proxy_port}"
        up = await until(lambda: get("/healthz", base) == 200, 150)
        if not report(up, "the proxy answers /healthz from a worker"):
            print(net.logs(proxy), net.logs(w1), sep="\n")
            return 1
        # Both workers up (each set the webhook to the proxy when it started).
        await until(lambda: all(get("/healthz", f"http://{net.address(w)}:8080") == 200
                                for w in (w1, w2)), 60)  # fmt: skip
        report(bool(await warned(emu, 90)), "a scam message is answered through the proxy")
        codes = (get("/metrics", base), get("/readyz", base))
        report(codes == (403, 404), "the proxy keeps /metrics and /readyz inside", f"{codes}")
        # worker1 comes back with another address: a placeholder takes its old one first.
        old = net.address(w1)
        podman("rm", "-f", "-t", "10", w1)
        net.run("placeholder", "--entrypoint", "sleep", image, "600")
        w1 = net.worker("worker1", emu.port, proxy_port)
        ok = await until(lambda: get("/healthz", f"http://{net.address(w1)}:8080") == 200, 150)
        new = net.address(w1)
        report(ok and new != old, "worker1 is recreated with a new address", f"{old} -> {new}")
        podman("stop", "-t", "20", w2)
        found = bool(await warned(emu, 90))
        report(found, "with worker2 stopped, nginx finds worker1 at its new address, no reload")
        if not found:
            print(net.logs(proxy))
    finally:
        net.remove()
        await emu.stop()
    return summary("proxy test")


if __name__ == "__main__":
    command_line(main, __doc__)
