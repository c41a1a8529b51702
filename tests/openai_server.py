"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

It speaks POST /v1/chat/completions (JSON, and SSE when "stream": true, with usage) and is
scripted per test: each request takes the next queued action, or the default reply when the
queue is empty. Actions: reply, stream, status (429/500...), hang, malformed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass
class Action:
    kind: str  # reply | stream | status | hang | malformed
    content: str = ""
    status: int = 200
    seconds: float = 0.0
    chunks: list[str] = field(default_factory=list)
    finish: str = "stop"  # "length": the server stopped at the request's max_tokens


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    server_ms: float = 0.0


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(content.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class FakeOpenAI:
    """Start with `with FakeOpenAI() as server:`; `server.base_url` ends with /v1."""

    def __init__(self, default: Responder | None = None) -> None:
        self.queue: deque[Action] = deque()
        self.requests: list[Recorded] = []
        self.default: Responder = default or (lambda body: "ok")
        # Like a server without structured outputs: a request carrying response_format gets a 400.
        self.refuse_response_format = False
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def enqueue(self, *actions: Action) -> None:
        with self._lock:
            self.queue.extend(actions)

    def reply(self, content: str) -> None:
        self.enqueue(Action("reply", content=content))

    def _next(self) -> Action | None:
        with self._lock:
            return self.queue.popleft() if self.queue else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:  # noqa: N802
                started = time.perf_counter()
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                record = Recorded(body=body, headers={k.lower(): v for k, v in self.headers.items()})
                server.requests.append(record)
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if server.refuse_response_format and "response_format" in body:
                    message = "Unrecognized request argument supplied: response_format"
                    self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    return
                action = server._next() or Action("reply", content=server.default(body))
                # A client that gave up (a timeout test) leaves nothing to send to.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._act(action, body)
                record.server_ms = (time.perf_counter() - started) * 1000

            def _act(self, action: Action, body: dict[str, Any]) -> None:
                if action.kind == "status":
                    self._json(
                        action.status,
                        {
                            "error": {
                                "message": action.content or f"scripted {action.status}",
                                "type": "server_error",
                            }
                        },
                        extra={"retry-after-ms": "5"},
                    )
                elif action.kind == "hang":
                    time.sleep(action.seconds)
                    self._json(200, self._completion(body, "too late"))
                elif action.kind == "malformed":
                    self._raw(200, b'{"id": "x", "choices": [ {"message": ')
                elif body.get("stream"):
                    self._stream(body, action.chunks or [action.content], action.finish)
                else:
                    self._json(200, self._completion(body, action.content))

            def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
                return {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": _usage(body, content),
                }

            def _stream(self, body: dict[str, Any], chunks: list[str], finish: str = "stop") -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                base = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body.get("model", "test-model"),
                }
                first = {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                }
                self._event({**base, "choices": [first]})
                for piece in chunks:
                    delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                    self._event({**base, "choices": [delta]})
                self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._event({**base, "choices": [], "usage": _usage(body, "".join(chunks))})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

            def _json(self, status: int, data: dict[str, Any], extra: dict[str, str] | None = None) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def _raw(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
