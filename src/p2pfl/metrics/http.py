"""Just enough HTTP/1.1 for a metrics endpoint: read one request head (size-limited),
parse its request line, and encode a response. One request per connection
(``Connection: close``); request bodies are ignored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import trio

MAX_HEAD = 8192  # bytes of request line and headers
REASONS = {
    200: "OK",
    206: "Partial Content",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_METHOD = re.compile(rb"[A-Z]{1,16}")
_HEADER = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~\x80-\xff]*")


class BadRequestError(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, head_only: bool = False) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}"]
        if self.content_type is not None:
            lines.append(f"Content-Type: {self.content_type}")
        lines += [f"{k}: {v}" for k, v in self.headers]
        lines += [f"Content-Length: {len(self.body)}", "Connection: close", "", ""]
        head = "\r\n".join(lines).encode("latin-1")
        return head if head_only else head + self.body


async def read_head(stream: trio.abc.ReceiveStream, limit: int = MAX_HEAD) -> bytes:
    """The request line and headers, up to the blank line (which is not included)."""
    buf = bytearray()
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            if end > limit:
                raise BadRequestError(431, "request head too large")
            return bytes(buf[:end])
        if len(buf) > limit:
            raise BadRequestError(431, "request head too large")
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise BadRequestError(400, "connection closed before the end of the request head")
        buf += chunk


def parse_head(head: bytes) -> Request:
    """The request of a head read by :func:`read_head`; BadRequestError if malformed."""
    line, *headers = head.split(b"\r\n")
    parts = line.split(b" ")
    if len(parts) != 3:
        raise BadRequestError(400, "malformed request line")
    method, target, version = parts
    if not _METHOD.fullmatch(method):
        raise BadRequestError(400, "malformed method")
    if version not in (b"HTTP/1.0", b"HTTP/1.1"):
        if version.startswith(b"HTTP/"):
            raise BadRequestError(505, "only HTTP/1.0 and HTTP/1.1")
        raise BadRequestError(400, "malformed HTTP version")
    if not target.startswith(b"/") or not all(0x21 <= b < 0x7F for b in target):
        raise BadRequestError(400, "malformed request target")
    for header in headers:
        if not _HEADER.fullmatch(header):
            raise BadRequestError(400, "malformed header")
    url = urlsplit(target.decode("ascii"))
    return Request(method.decode("ascii"), url.path, parse_qs(url.query))
