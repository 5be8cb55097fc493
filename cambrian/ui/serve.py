"""Start the UI server: loopback by default; any other interface only when asked, with a token."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import sys
from pathlib import Path

from ..errors import CambrianError
from ..runview import find_runs


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """A one-line error now, rather than a traceback from the server, if the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CambrianError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def display_url(host: str, port: int, token: str | None, hostname: str | None = None) -> tuple[str, str]:
    """The URL to print, and a note line (or ""). A wildcard address (0.0.0.0, ::) is no
    address to open: the machine's hostname is shown instead, with a note."""
    note = ""
    bare = host.strip("[]")
    try:
        wildcard = ipaddress.ip_address(bare).is_unspecified
    except ValueError:
        wildcard = False
    if wildcard:
        bare = hostname or socket.gethostname() or "localhost"
        note = (f"  ({host} listens on every interface: if {bare} does not resolve where you are,"
                f" use this machine's address instead)\n")
    shown = f"[{bare}]" if ":" in bare else bare
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else ""), note


TOKEN_ENV = "CAMBRIAN_UI_TOKEN"   # a chosen token without putting it on the command line (seen by ps)


def serve(root: Path, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> None:
    try:
        import uvicorn
        from .app import create_app
    except ImportError as exc:
        raise CambrianError(f"cambrian ui needs the ui extra: pip install 'cambrian[ui]' ({exc.name} is missing)"
                            ) from None
    root = Path(root)
    if not root.exists():
        raise CambrianError(f"{root}: no such directory")
    if not root.is_dir():
        raise CambrianError(f"{root}: give a run directory or a directory of runs")
    if token is None:
        token = os.environ.get(TOKEN_ENV)
    if token is not None and not token.strip():
        raise CambrianError("--token: an empty token would lock every request out; give one, or leave it out")
    loopback = is_loopback(host)
    if not loopback and token is None:
        token = secrets.token_urlsafe(24)
    if not 1 <= port <= 65535:
        raise CambrianError(f"--port: expected 1-65535, got {port}")
    check_port(host, port)
    app = create_app(root, token=token, loopback_only=loopback, host=host)
    runs = find_runs(root)
    url, note = display_url(host, port, token)
    what = (f"{len(runs)} run(s)" if runs else "no run yet (waiting for one)") + f" in {root}"
    print(f"cambrian ui: {what}\n  open {url}\n{note}  read-only; Ctrl-C stops", file=sys.stderr, flush=True)
    if not loopback:
        print(f"  listening on {host} (not loopback): the token above is required", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)
