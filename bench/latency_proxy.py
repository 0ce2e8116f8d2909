"""A loopback HTTP proxy that adds a fixed latency to every request (a stand-in for the network).

Each request is held for ``--latency-ms`` and then forwarded, byte for byte, to the upstream
server (the moto server): same method, path, query, headers (the Host header included, so a SigV4
signature computed by the client still matches) and body. Responses are sent back with their
status, headers and body. Client connections are kept alive (HTTP/1.1) and every handler thread
keeps its own keep-alive connection to the upstream, so the proxy adds the latency and little else.

Run on its own (``python bench/latency_proxy.py --upstream http://127.0.0.1:5000 --latency-ms 50``)
it prints ``listening <port>`` on stdout once it accepts connections and serves until killed.
``GET /__latency_proxy__/stats`` is answered by the proxy itself (the count of forwarded requests),
so that a benchmark can check that every API call went through the delay exactly once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# The proxy answers this path itself (requests forwarded so far); no AWS API uses it.
STATS_PATH = "/__latency_proxy__/stats"

# Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection and are not forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class LatencyProxy(ThreadingHTTPServer):
    """A threading HTTP server that forwards every request to ``upstream`` after ``latency_s``."""

    daemon_threads = True
    request_queue_size = 256  # the sweep opens up to a few dozen connections at once

    def __init__(self, listen: tuple[str, int], upstream: str, latency_s: float) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.latency_s = latency_s
        self.requests = 0
        self._count_lock = threading.Lock()
        super().__init__(listen, _Handler)

    def count(self) -> None:
        with self._count_lock:
            self.requests += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client
    server: LatencyProxy
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: object) -> None:
        return  # one line per request would cost more than the work measured

    def setup(self) -> None:
        super().setup()
        # The response goes out as headers then body: without TCP_NODELAY, Nagle holds the body until
        # the client's delayed ACK, adding ~40 ms to every call on loopback (measured, bench/RESULTS.md).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _connection(self) -> http.client.HTTPConnection:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port,
                                                        timeout=120)
        return self._upstream

    def _forward(self) -> None:
        if self.path == STATS_PATH:
            self._stats()
            return
        self.server.count()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        time.sleep(self.server.latency_s)
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        try:
            status, reason, response_headers, payload = self._send_upstream(headers, body)
        except (OSError, http.client.HTTPException):
            # A kept-alive upstream connection that the server closed: reconnect once.
            self._reset_upstream()
            status, reason, response_headers, payload = self._send_upstream(headers, body)
        self.send_response_only(status, reason)
        for key, value in response_headers:
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _stats(self) -> None:
        payload = json.dumps({"requests": self.server.requests, "latency_ms": self.server.latency_s * 1000}).encode()
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_upstream(
        self, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = self._connection()
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for key, value in headers:
            conn.putheader(key, value)
        if body and not any(k.lower() == "content-length" for k, _ in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        response = conn.getresponse()
        payload = response.read()
        if response.will_close:
            self._reset_upstream()
        return response.status, response.reason, response.getheaders(), payload

    def _reset_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def finish(self) -> None:
        self._reset_upstream()
        super().finish()

    do_GET = _forward
    do_POST = _forward
    do_PUT = _forward
    do_DELETE = _forward
    do_HEAD = _forward
    do_PATCH = _forward


def serve(upstream: str, latency_ms: float, host: str = "127.0.0.1", port: int = 0) -> LatencyProxy:
    """Start a proxy in a daemon thread of this process and return it (``server_port`` is its port)."""
    proxy = LatencyProxy((host, port), upstream, latency_ms / 1000.0)
    threading.Thread(target=proxy.serve_forever, name="latency-proxy", daemon=True).start()
    return proxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--upstream", required=True, help="http://host:port of the server to forward to")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="delay added to every request")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on stdout)")
    args = parser.parse_args(argv)
    proxy = LatencyProxy((args.host, args.port), args.upstream, args.latency_ms / 1000.0)
    print(f"listening {proxy.server_port}", flush=True)
    try:
        proxy.serve_forever()
    except KeyboardInterrupt:
        return 0
    finally:
        proxy.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
