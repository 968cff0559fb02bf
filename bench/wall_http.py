"""A small asyncio HTTP/1.1 client for the wall load benchmark: keep-alive connections per
virtual screen, a cookie jar, and the decoding a browser does (gzip, deflate, br, zstd).

Why not httpx or aiohttp: neither is installed in the venv, and the benchmark needs only GET
and POST against one local server. Every virtual screen owns a ``ScreenClient``, i.e. its own
connections, as a browser tab does; an idle connection is reused only while younger than
``max_idle_s`` (gunicorn closes idle keep-alive connections after 2 s), and a request that
finds its reused connection closed by the server is retried once on a fresh one, as browsers
do.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from dataclasses import dataclass, field

HEAD_LIMIT = 256 * 1024


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined by ", " (cookies apart)
    body: bytes  # as sent on the wire (still compressed)
    set_cookies: list[str] = field(default_factory=list)

    def decoded(self) -> bytes:
        """The body after Content-Encoding (gzip, deflate, br or zstd)."""
        enc = self.headers.get("content-encoding", "").strip().lower()
        if not self.body or enc in ("", "identity"):
            return self.body
        if enc == "gzip":
            return gzip.decompress(self.body)
        if enc == "deflate":
            return zlib.decompress(self.body)
        if enc == "br":
            import brotli

            return brotli.decompress(self.body)
        if enc == "zstd":
            from backports import zstd  # what flask-compress itself uses before Python 3.14

            return zstd.decompress(self.body)
        raise ValueError(f"unsupported content-encoding {enc!r}")


class ServerClosed(ConnectionError):
    """The server closed a reused keep-alive connection before answering."""


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float
    reused: bool = False

    def close(self) -> None:
        self.writer.close()


class ScreenClient:
    """Connections and cookies of one virtual screen against ``host:port``."""

    def __init__(self, host: str, port: int, max_idle_s: float = 1.5):
        self.host, self.port, self.max_idle_s = host, port, max_idle_s
        self.cookies: dict[str, str] = {}
        self._idle: list[_Conn] = []

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep(self, set_cookies: list[str]) -> None:
        for raw in set_cookies:
            pair = raw.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if name.strip():
                self.cookies[name.strip()] = value.strip()

    async def _connection(self) -> _Conn:
        now = time.monotonic()
        while self._idle:
            c = self._idle.pop()
            if now - c.idle_since < self.max_idle_s and not c.reader.at_eof():
                c.reused = True
                return c
            c.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=HEAD_LIMIT)
        return _Conn(reader, writer, now)

    async def request(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 60.0,
    ) -> Response:
        """Send one request and read the whole response (raises TimeoutError after
        ``timeout`` seconds, OSError on connection failures)."""
        return await asyncio.wait_for(self._request(method, target, headers, body), timeout)

    async def _request(self, method, target, headers, body) -> Response:
        for attempt in (0, 1):
            conn = await self._connection()
            try:
                resp, keep = await self._exchange(conn, method, target, headers or {}, body)
            except (ServerClosed, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if attempt == 0 and conn.reused:
                    continue
                raise ConnectionError(str(exc) or type(exc).__name__) from exc
            except BaseException:
                conn.close()
                raise
            self._keep(resp.set_cookies)
            if keep:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return resp
        raise AssertionError("unreachable")

    async def _exchange(self, conn: _Conn, method, target, headers, body):
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for k, v in headers.items():
            lines.append(f"{k}: {v}")
        if self.cookies:
            lines.append(f"Cookie: {self._cookie_header()}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        conn.writer.write(head + (body or b""))
        await conn.writer.drain()
        try:
            raw = await conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise ServerClosed("connection closed before the response") from None
            raise ConnectionError("truncated response head") from None
        status, hdrs, cookies = parse_head(raw)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            data = b""
        elif "chunked" in hdrs.get("transfer-encoding", "").lower():
            data = await _read_chunked(conn.reader)
        elif "content-length" in hdrs:
            data = await conn.reader.readexactly(int(hdrs["content-length"]))
        else:
            data = await conn.reader.read()
            return Response(status, hdrs, data, cookies), False
        keep = hdrs.get("connection", "").lower() != "close"
        return Response(status, hdrs, data, cookies), keep

    def close(self) -> None:
        for c in self._idle:
            c.close()
        self._idle.clear()


def parse_head(raw: bytes) -> tuple[int, dict[str, str], list[str]]:
    """(status, headers with lower-case names, Set-Cookie values) of a response head."""
    text = raw.decode("latin-1")
    first, *rest = text.split("\r\n")
    parts = first.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ConnectionError(f"not an HTTP response: {first[:80]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for line in rest:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        elif name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    return status, headers, cookies


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers (rare) end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)
