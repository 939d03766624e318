"""A local OpenAI-compatible endpoint that serves scripted answers (stdlib http.server in a thread).

  with ScriptedEndpoint({"SEED_A": [500, PASS_ANSWER], "SEED_B": [FAIL_ANSWER]}) as ep:
      EndpointTeacher(ep.url)...

POST /v1/chat/completions: the first key of the script found in the last user message (a tuple
key: all of its strings) selects a
list of replies, consumed one per request (the last one repeats): a string is a 200 answer with
that content, an int an HTTP error with that status, ("retry-after", status, seconds) an error
with a Retry-After header, ("hold", answer) waits until `release()` before answering (a request
in flight when a test kills its client). GET /v1/models lists one model, "scripted".
`requests` logs (key, reply kind) per request; `default` answers prompts no key matches.
"""
from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "scripted"


class ScriptedEndpoint:
    def __init__(self, script: dict[str, list], default="no answer scripted"):
        self.script = script
        self.default = default
        self.requests: list[tuple[str | None, str]] = []
        self.calls: Counter = Counter()
        self._pos: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.holding = threading.Event()   # set when a ("hold", ...) request arrived
        self._release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed meanwhile

            def do_GET(self):
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                if body.get("model") != MODEL:
                    return self._send(404, {"error": {"message": f"model {body.get('model')} not found"}})
                user = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"][-1]
                reply, key = endpoint._next(user)
                if isinstance(reply, tuple) and reply[0] == "hold":
                    endpoint.holding.set()
                    endpoint._release.wait(60)
                    reply = reply[1]
                if isinstance(reply, int):
                    endpoint._log(key, f"http_{reply}")
                    return self._send(reply, {"error": {"message": f"scripted {reply}", "type": "server_error"}})
                if isinstance(reply, tuple) and reply[0] == "retry-after":
                    endpoint._log(key, f"http_{reply[1]}")
                    return self._send(reply[1], {"error": {"message": "slow down"}}, {"Retry-After": str(reply[2])})
                endpoint._log(key, "answer")
                self._send(200, {"id": "x", "object": "chat.completion", "model": MODEL,
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": reply}}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _next(self, user: str):
        with self._lock:
            for key, replies in self.script.items():
                if all(k in user for k in key) if isinstance(key, tuple) else key in user:
                    i = self._pos[key]
                    self._pos[key] += 1
                    return replies[min(i, len(replies) - 1)], key
            return self.default, None

    def _log(self, key, kind):
        with self._lock:
            self.requests.append((key, kind))
            self.calls[key] += 1

    def release(self):
        self._release.set()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.release()
        self.server.shutdown()
        self.server.server_close()
