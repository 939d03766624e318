"""The teacher that writes synthetic data: any OpenAI-compatible endpoint, or our own checkpoint.

  teacher = EndpointTeacher("http://127.0.0.1:8000")        # `opencoder serve`, vLLM, OpenAI
  teacher = LocalTeacher.load(checkpoint=DIR)                # our Engine, in this process
  text = teacher.complete([{"role": "user", "content": "..."}], max_tokens=512, temperature=0.2)

Failures are sorted into three kinds, because each asks the caller for something different:

  TeacherUnavailable  the endpoint did not answer (connection refused/reset, timeout, 5xx, 429)
                      even after `retries` retries with exponential backoff and jitter. The
                      request may well succeed later, so a generator leaves its seed unprocessed
                      (the next run retries it).
  TeacherRejected     the endpoint refused THIS request (400, 413, 422: e.g. the prompt is longer
                      than the model's context). Retrying will not help; the seed is rejected.
  TeacherConfigError  the endpoint refuses every request (401, 403, 404: bad key, wrong model or
                      URL). The run stops.

The HTTP client is the standard library's (urllib): no dependency beyond Python.
"""
from __future__ import annotations

import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping, Protocol, Sequence

Messages = Sequence[Mapping[str, str]]

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
FATAL_STATUSES = (401, 403, 404)


class TeacherUnavailable(RuntimeError):
    """No answer after all retries (transient: the seed stays unprocessed)."""


class TeacherRejected(RuntimeError):
    """The endpoint refused this request (a 4xx other than auth/not-found)."""


class TeacherConfigError(RuntimeError):
    """The endpoint refuses every request (auth, unknown model, wrong URL)."""


class Teacher(Protocol):
    name: str

    def complete(self, messages: Messages, **sampling: Any) -> str: ...


def base_url(url: str) -> str:
    """`http://host:port`, `.../v1` or `.../v1/` -> `http://host:port/v1`."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    return url if url.endswith("/v1") else url + "/v1"


class EndpointTeacher:
    """Chat completions from an OpenAI-compatible server (POST {url}/v1/chat/completions).

    Args:
      url: the server (with or without /v1).
      model: the model id to request (default: the first id GET /v1/models lists).
      api_key: sent as `Authorization: Bearer ...` when given.
      timeout: seconds per HTTP request.
      retries: retries after the first attempt, for connection errors, timeouts, 408/429/5xx.
      backoff_s, max_backoff_s: the delay before retry k is min(max, backoff * 2**k), of which a
        random half is jitter (so many clients do not retry in lockstep); a `Retry-After`
        header raises it (up to max_backoff_s).
    """

    def __init__(self, url: str, model: str | None = None, api_key: str | None = None, *, timeout: float = 300.0,
                 retries: int = 5, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.url = base_url(url)
        self.api_key = api_key
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.retried = 0  # retries done (all requests)
        self._model = model

    @property
    def model(self) -> str:
        if self._model is None:
            listing = self._request("GET", "/models")
            models = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict)]
            if not models or not isinstance(models[0], str):
                raise TeacherConfigError(f"{self.url}/models lists no model; pass --model")
            self._model = models[0]
        return self._model

    @property
    def name(self) -> str:  # no request here: stats name the teacher even when the server is down
        return f"{self._model or '?'}@{self.url}"

    def check(self) -> None:
        """Fail early on a wrong URL or model: resolve the model id (GET /v1/models)."""
        _ = self.model

    def complete(self, messages: Messages, *, max_tokens: int = 1024, temperature: float = 0.2,
                 top_p: float = 0.95, seed: int | None = None, stop: Sequence[str] | None = None) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in messages],
                                "max_tokens": int(max_tokens), "temperature": float(temperature),
                                "top_p": float(top_p)}
        if seed is not None:
            body["seed"] = int(seed)
        if stop:
            body["stop"] = list(stop)
        answer = self._request("POST", "/chat/completions", body)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TeacherRejected(f"answer without choices[0].message.content: {str(answer)[:200]}") from None
        return content if isinstance(content, str) else ""

    # ----- HTTP with retries ----------------------------------------------------------------
    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        cap = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        d = cap / 2 + self._rng.uniform(0, cap / 2)
        if retry_after is not None:
            d = max(d, min(retry_after, self.max_backoff_s))
        return d

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        last = ""
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                return self._once(method, path, body)
            except urllib.error.HTTPError as e:
                detail = _error_text(e)
                if e.code in FATAL_STATUSES:
                    raise TeacherConfigError(f"{method} {self.url}{path}: HTTP {e.code}: {detail}") from None
                if e.code not in RETRY_STATUSES:
                    raise TeacherRejected(f"HTTP {e.code}: {detail}") from None
                last = f"HTTP {e.code}: {detail}"
                retry_after = _retry_after(e.headers.get("Retry-After") if e.headers else None)
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout,
                    TimeoutError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            except json.JSONDecodeError as e:  # a proxy's HTML error page, a truncated body
                last = f"unreadable JSON answer: {e}"
            if attempt < self.retries:
                self.retried += 1
                self._sleep(self.delay(attempt, retry_after))
        raise TeacherUnavailable(f"{method} {self.url}{path} failed after {self.retries + 1} attempts: {last}")

    def _once(self, method: str, path: str, body: dict | None) -> dict:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))


def _error_text(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read().decode("utf-8", "replace")
    except Exception:
        return str(e.reason)
    try:
        return str(json.loads(raw)["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return raw[:300] or str(e.reason)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class LocalTeacher:
    """Our own model through `infer.engine.Engine` (thread-safe: concurrent calls share batches)."""

    def __init__(self, engine, name: str | None = None):
        self.engine = engine
        self.name = name or f"local:{engine.name}"

    @classmethod
    def load(cls, checkpoint: str | None = None, hf: str | None = None, tokenizer: str | None = None,
             **engine_kwargs) -> "LocalTeacher":
        from opencoder_jax.infer.engine import Engine

        if (checkpoint is None) == (hf is None):
            raise ValueError("give exactly one of checkpoint or hf")
        return cls(Engine.load(checkpoint=checkpoint, hf=hf, tokenizer=tokenizer, **engine_kwargs))

    def complete(self, messages: Messages, *, max_tokens: int = 1024, temperature: float = 0.2,
                 top_p: float = 0.95, seed: int | None = None, stop: Sequence[str] | None = None) -> str:
        prompt = self.engine.render_chat(messages)
        room = self.engine.max_seq_len - len(self.engine.encode(prompt))
        if room < 1:
            raise TeacherRejected(f"the prompt is longer than the model's context ({self.engine.max_seq_len})")
        try:
            out = self.engine.generate([prompt], max_new_tokens=min(int(max_tokens), room),
                                       temperature=temperature, top_p=top_p, seed=0 if seed is None else seed,
                                       stop=list(stop or ()))
        except ValueError as e:
            raise TeacherRejected(str(e)) from None
        return out[0][0].text

    def close(self) -> None:
        self.engine.close()
