"""The web app: GET-only JSON and SVG over ``RunView``, plus the static page.

Read-only by construction: every route is GET (anything else is 405), the store is
opened with SQLite ``mode=ro``, and no route takes code, a path or a query to run.
When the server listens beyond loopback a token is required (query parameter once,
then a cookie); on loopback, Host headers other than loopback names are refused
(DNS rebinding).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import plots
from ..errors import StoreError
from ..runview import RunView, find_runs, run_name, with_state
from ..store import Store

STATIC = Path(__file__).parent / "static"
COOKIE = "cambrian_token"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
                               " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


class Runs:
    """The runs under a root directory, found again at most every ``rescan`` seconds (or
    when asked), each opened read-only, with at most ``max_open`` connections open at once
    (the least recently used is closed, and opened again when next asked)."""

    def __init__(self, root: Path, *, rescan: float = 10.0, max_open: int = 16):
        self.root = Path(root)
        self.rescan = rescan
        self.max_open = max(1, max_open)
        self._paths: dict[str, Path] = {}
        self._found_at: float | None = None
        self._views: dict[str, RunView] = {}
        self._used: OrderedDict[str, None] = OrderedDict()  # views with an open connection, oldest first
        self._rows: dict[str, tuple[tuple, dict[str, Any]]] = {}  # name -> (file signature, raw summary)
        self._lock = threading.RLock()

    def _discover(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or self._found_at is None or now - self._found_at >= self.rescan:
            self._paths = {run_name(self.root, p): p for p in find_runs(self.root)}
            self._found_at = now

    def names(self, refresh: bool = False) -> list[str]:
        with self._lock:
            self._discover(refresh)
            return list(self._paths)

    def get(self, name: str) -> RunView | None:
        with self._lock:
            view = self._views.get(name)
            if view is None:
                self._discover()
                if name not in self._paths and time.monotonic() - (self._found_at or 0) >= 1.0:
                    self._discover(force=True)  # a run that appeared since: found without waiting
                path = self._paths.get(name)
                if path is None:
                    return None
                view = self._views[name] = RunView(path)
            self._used[name] = None
            self._used.move_to_end(name)
            self._trim()
            return view

    def _trim(self) -> None:
        while len(self._used) > self.max_open:
            oldest, _ = self._used.popitem(last=False)
            view = self._views.get(oldest)
            if view is not None:
                view.close()

    def open_connections(self) -> int:
        return sum(view.is_open for view in self._views.values())

    def summaries(self, refresh: bool = False) -> list[dict[str, Any]]:
        """Every run's summary row; a run whose store files have not changed since it was last
        read (size and modification time of the database and its WAL) is not read again."""
        out = []
        for name in self.names(refresh):
            path = self._paths.get(name)
            signature = _signature(path) if path is not None else None
            cached = self._rows.get(name)
            try:
                if cached is not None and signature is not None and cached[0] == signature:
                    raw = cached[1]
                else:
                    view = self.get(name)
                    if view is None:
                        continue
                    raw = view.raw_summary()
                    self._rows[name] = (signature, raw)
                    with self._lock:
                        self._trim()
            except Exception as exc:  # a store being created right now, or a broken one
                out.append({"name": name, "error": str(exc)})
                continue
            s = with_state(raw)
            out.append({"name": name, "problem": s["problem"], "state": s["state"], "candidates": s["candidates"],
                        "best": (s["best"] or {}).get("score"), "last": s["last"]})
        return out

    def close(self) -> None:
        with self._lock:
            for view in self._views.values():
                view.close()


def _signature(path: Path) -> tuple | None:
    """What changes when a store is written: size and mtime of its database and WAL files."""
    parts: list[Any] = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(str(path / Store.FILE) + suffix)
            parts += [st.st_size, st.st_mtime_ns]
        except OSError:
            parts += [None, None]
    return tuple(parts)


def _int(request: Request, name: str, default: int, low: int = 0, high: int = 10**9) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return max(low, min(high, int(raw)))
    except ValueError:
        raise _BadRequest(f"{name}: expected an integer, got {raw!r}") from None


class _BadRequest(Exception):
    pass


class _Guard(BaseHTTPMiddleware):
    """GET and HEAD only; the token, when there is one; security headers on every answer."""

    def __init__(self, app, token: str | None = None):
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next):
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("read-only: only GET is served", status_code=405,
                                     headers={"allow": "GET, HEAD", **SECURITY_HEADERS})
        set_cookie = False
        # Cookies are not kept apart by port: two UIs on one host must not overwrite each other's.
        cookie = f"{COOKIE}_{request.url.port or 80}"
        if self.token is not None:
            given = (request.query_params.get("token") or request.cookies.get(cookie)
                     or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                return PlainTextResponse("a token is required: open the URL that `cambrian ui` printed",
                                         status_code=401, headers=SECURITY_HEADERS)
            set_cookie = request.query_params.get("token") is not None
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if set_cookie:
            response.set_cookie(cookie, self.token, httponly=True, samesite="strict")
        return response


def create_app(root: Path, *, token: str | None = None, loopback_only: bool = True,
               host: str | None = None, rescan: float = 10.0, max_open: int = 16) -> Starlette:
    runs = Runs(root, rescan=rescan, max_open=max_open)

    def run_route(fn: Callable[[RunView, Request], Any], *, svg: bool = False) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                view = runs.get(request.path_params["run"])
            except StoreError as exc:  # a store being created right now, or not a store
                return JSONResponse({"error": str(exc)}, status_code=503)
            if view is None:
                return JSONResponse({"error": f"no run {request.path_params['run']!r}"}, status_code=404)
            try:
                value = fn(view, request)
            except (_BadRequest, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except StoreError as exc:
                return JSONResponse({"error": str(exc)}, status_code=503)
            if value is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            if svg:
                return Response(value, media_type="image/svg+xml", headers={"cache-control": "no-store"})
            if isinstance(value, Response):
                return value
            return JSONResponse(value, headers={"cache-control": "no-store"})
        return endpoint

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    def list_runs(request: Request) -> Response:
        out = runs.summaries(refresh=request.query_params.get("refresh") not in (None, "", "0"))
        return JSONResponse({"root": str(runs.root), "runs": out}, headers={"cache-control": "no-store"})

    def programs(view: RunView, request: Request) -> Any:
        q = request.query_params
        island = q.get("island")
        return view.programs(offset=_int(request, "offset", 0), limit=_int(request, "limit", 50, 1, 500),
                             sort=q.get("sort", "-seq"), status=q.get("status") or None,
                             island=int(island) if island not in (None, "") else None,
                             operator=q.get("operator") or None, parent=q.get("parent") or None)

    def score_svg(view: RunView, request: Request) -> str:
        x = "t" if request.query_params.get("x") == "t" else "seq"
        return plots.score_plot(view.curve(), x=x, objective=view.config().get("objective", "score"))

    def tree_svg(view: RunView, request: Request) -> str:
        return plots.tree_plot(view.tree(_int(request, "top", 30, 1, 300)), maximize=view.maximize,
                               selected=request.query_params.get("selected"))

    def grid_svg(view: RunView, request: Request) -> str:
        q = request.query_params
        return plots.grid_plot(view.grid(q.get("x"), q.get("y")), label=view.config().get("objective", "score"))

    def failures_svg(view: RunView, request: Request) -> str:
        return plots.bar_plot([(f["kind"], f["count"]) for f in view.failures()[:12]], width=560)

    def report(view: RunView, request: Request) -> Response:
        from ..html_report import render

        return HTMLResponse(render(view), headers={
            "content-disposition": f"attachment; filename=\"{view.run_dir.name}-report.html\""})

    api = {
        "version": lambda v, r: {"version": v.version()},
        "summary": lambda v, r: v.summary(),
        "curve": lambda v, r: v.curve(),
        "tree": lambda v, r: v.tree(_int(r, "top", 30, 1, 300)),
        "grid": lambda v, r: v.grid(r.query_params.get("x"), r.query_params.get("y")),
        "arms": lambda v, r: v.arms(),
        "models": lambda v, r: v.models(),
        "failures": lambda v, r: v.failures(),
        "events": lambda v, r: v.events(limit=_int(r, "limit", 30, 1, 500)),
        "config": lambda v, r: v.config(),
        "programs": programs,
    }
    routes = [Route("/", index, methods=["GET"]), Route("/api/runs", list_runs, methods=["GET"])]
    routes += [Route(f"/api/runs/{{run:path}}/{name}", run_route(fn), methods=["GET"]) for name, fn in api.items()]
    routes += [
        Route("/api/runs/{run:path}/programs/{id}", run_route(lambda v, r: v.program(r.path_params["id"])),
              methods=["GET"]),
        Route("/api/runs/{run:path}/plot/score.svg", run_route(score_svg, svg=True), methods=["GET"]),
        Route("/api/runs/{run:path}/plot/tree.svg", run_route(tree_svg, svg=True), methods=["GET"]),
        Route("/api/runs/{run:path}/plot/grid.svg", run_route(grid_svg, svg=True), methods=["GET"]),
        Route("/api/runs/{run:path}/plot/failures.svg", run_route(failures_svg, svg=True), methods=["GET"]),
        Route("/api/runs/{run:path}/report.html", run_route(report), methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    # The loopback address asked for (say 127.0.0.2) is a name the page is opened with too.
    allowed = LOOPBACK_HOSTS + ([host.strip("[]"), host] if host and host not in LOOPBACK_HOSTS else [])
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed)] if loopback_only else []
    middleware.append(Middleware(_Guard, token=token))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        runs.close()

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.runs = runs
    return app
