"""`opencoder serve`: the OpenAI API over HTTP (FastAPI + uvicorn) in front of an `Engine`.

  POST /v1/completions        prompt: string | [string] | [int] | [[int]]; stream (SSE) or not
  POST /v1/chat/completions   messages rendered with OpenCoder's ChatML template
  GET  /v1/models             the one served model
  GET  /health                200 once the model is loaded, 503 before

Supported request fields: model, prompt/messages, max_tokens (max_completion_tokens for chat),
temperature (default 1, as OpenAI), top_p, top_k (extension; 0 or -1 = off), n, stop (a
string or a list), seed, stream, stream_options.include_usage, user (ignored). Unsupported
features are rejected rather than ignored: echo, logprobs, suffix, best_of > n, logit_bias,
non-zero presence/frequency penalties, tools. Every error is a 4xx/5xx JSON body in OpenAI's
shape {"error": {"message", "type", "param", "code"}}, and the server keeps serving.
Concurrent requests are batched together by the engine's worker.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from typing import Any

from starlette.requests import Request

log = logging.getLogger(__name__)

MAX_N = 128
MAX_STOP = 16
CHAT_ROLES = ("system", "user", "assistant")


class APIError(Exception):
    def __init__(self, status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def error_body(message: str, type: str, param=None, code=None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class ServerState:
    """What the app serves: the engine once loaded (None while loading), the model's name."""

    def __init__(self, engine=None, model_name: str | None = None):
        self.engine = engine
        self.model_name = model_name or (engine.name if engine is not None else "opencoder")
        self.load_error: str | None = None
        self.created = int(time.time())


# ----- request parsing ---------------------------------------------------------------------
def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(body: dict, key: str, default: float, lo: float, hi: float) -> float:
    v = body.get(key)
    if v is None:
        return default
    if not _is_number(v) or not math.isfinite(v):
        raise APIError(400, f"{key} must be a number, got {json.dumps(v)}", param=key, code="invalid_type")
    if not lo <= v <= hi:
        raise APIError(400, f"{key} must be between {lo} and {hi}, got {v}", param=key, code="invalid_value")
    return float(v)


def _integer(body: dict, key: str, default, lo: int, hi: int | None = None):
    v = body.get(key)
    if v is None:
        return default
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise APIError(400, f"{key} must be an integer, got {json.dumps(v)}", param=key, code="invalid_type")
    if v < lo or (hi is not None and v > hi):
        bound = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise APIError(400, f"{key} must be {bound}, got {v}", param=key, code="invalid_value")
    return v


def _stop(body: dict) -> tuple[str, ...]:
    v = body.get("stop")
    if v is None:
        return ()
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise APIError(400, "stop must be a string or a list of strings", param="stop", code="invalid_type")
    if len(v) > MAX_STOP:
        raise APIError(400, f"stop may hold at most {MAX_STOP} strings", param="stop", code="invalid_value")
    return tuple(s for s in v if s)


def _unsupported(body: dict, checks: dict[str, Any]) -> None:
    for key, ok in checks.items():
        if key in body and body[key] is not None and not ok(body[key]):
            raise APIError(400, f"{key}={json.dumps(body[key])} is not supported by this server", param=key,
                           code="unsupported_parameter")


COMMON_UNSUPPORTED = {
    "logit_bias": lambda v: v == {},
    "presence_penalty": lambda v: _is_number(v) and v == 0,
    "frequency_penalty": lambda v: _is_number(v) and v == 0,
}


def _sampling(body: dict, engine, max_tokens: int, stream: bool):
    temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    top_k = _integer(body, "top_k", 0, -1)
    seed = _integer(body, "seed", None, -(1 << 63), (1 << 64) - 1)
    stop = _stop(body)
    return engine.params(max_new_tokens=max_tokens, temperature=temperature, top_p=max(top_p, 1e-9),
                         top_k=max(top_k, 0), stop=stop, seed=seed)


def _stream_flags(body: dict) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise APIError(400, "stream must be a boolean", param="stream", code="invalid_type")
    opts = body.get("stream_options")
    include_usage = False
    if opts is not None:
        if not isinstance(opts, dict):
            raise APIError(400, "stream_options must be an object", param="stream_options", code="invalid_type")
        include_usage = bool(opts.get("include_usage", False))
    return stream, include_usage


def _prompts(body: dict, engine) -> list[list[int]]:
    if "prompt" not in body or body["prompt"] is None:
        raise APIError(400, "prompt is required", param="prompt", code="missing_required_parameter")
    p = body["prompt"]
    vocab = engine.config.vocab_size

    def ids(seq) -> list[int]:
        if not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < vocab for t in seq):
            raise APIError(400, f"token ids in prompt must be integers in [0, {vocab})", param="prompt",
                           code="invalid_value")
        return list(seq)

    if isinstance(p, str):
        out = [engine.encode(p)]
    elif isinstance(p, list) and p and all(isinstance(x, str) for x in p):
        out = [engine.encode(x) for x in p]
    elif isinstance(p, list) and p and all(isinstance(x, int) and not isinstance(x, bool) for x in p):
        out = [ids(p)]
    elif isinstance(p, list) and p and all(isinstance(x, list) for x in p):
        out = [ids(x) for x in p]
    else:
        raise APIError(400, "prompt must be a string, a list of strings, a list of token ids or a list of "
                            "token-id lists", param="prompt", code="invalid_type")
    for k, x in enumerate(out):
        if not x:
            raise APIError(400, f"prompt {k} is empty", param="prompt", code="invalid_value")
    return out


def _messages(body: dict) -> list[dict]:
    m = body.get("messages")
    if m is None:
        raise APIError(400, "messages is required", param="messages", code="missing_required_parameter")
    if not isinstance(m, list):
        raise APIError(400, "messages must be a list", param="messages", code="invalid_type")
    if not m:
        raise APIError(400, "messages must not be empty", param="messages", code="invalid_value")
    out = []
    for k, msg in enumerate(m):
        where = f"messages[{k}]"
        if not isinstance(msg, dict):
            raise APIError(400, f"{where} must be an object", param=where, code="invalid_type")
        role = msg.get("role")
        if role not in CHAT_ROLES:
            raise APIError(400, f"{where}.role must be one of {list(CHAT_ROLES)}, got {json.dumps(role)}",
                           param=f"{where}.role", code="invalid_value")
        content = msg.get("content")
        if isinstance(content, list):  # content parts: text only
            parts = []
            for part in content:
                if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                    raise APIError(400, f"{where}.content parts must be text parts", param=f"{where}.content",
                                   code="invalid_value")
                parts.append(part["text"])
            content = "".join(parts)
        if not isinstance(content, str):
            raise APIError(400, f"{where}.content must be a string", param=f"{where}.content", code="invalid_type")
        out.append({"role": role, "content": content})
    return out


def _check_context(prompts: list[list[int]], max_tokens: int, engine, param: str) -> None:
    ctx = engine.max_seq_len
    for x in prompts:
        if len(x) + max_tokens > ctx:
            raise APIError(400, f"This model's maximum context length is {ctx} tokens. However, you requested "
                                f"{len(x) + max_tokens} tokens ({len(x)} in the {param}, {max_tokens} in the "
                                f"completion). Please reduce the length of the {param} or completion.",
                           param=param, code="context_length_exceeded")


def _usage(prompts: list[list[int]], results: list[list]) -> dict:
    prompt_tokens = sum(len(p) for p in prompts)
    completion_tokens = sum(c.completion_tokens for r in results for c in r)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


# ----- the app ------------------------------------------------------------------------------
def create_app(state: ServerState):
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title="opencoder-jax", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = state

    @app.exception_handler(APIError)
    async def _api_error(request, exc: APIError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(error_body(str(exc.detail), kind, None, None), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc):
        return JSONResponse(error_body(str(exc), "invalid_request_error"), status_code=400)

    @app.exception_handler(Exception)
    async def _internal(request, exc):
        log.exception("internal error")
        return JSONResponse(error_body(f"internal error: {exc}", "server_error"), status_code=500)

    def engine_or_503():
        if state.engine is None:
            msg = "the model is still loading" if state.load_error is None else f"the model failed to load: {state.load_error}"
            raise APIError(503, msg, type="server_error", code="model_not_ready")
        return state.engine

    async def json_body(request: Request) -> dict:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise APIError(400, f"the request body is not valid JSON: {e}", code="invalid_json") from None
        if not isinstance(body, dict):
            raise APIError(400, "the request body must be a JSON object", code="invalid_type")
        return body

    def check_model(body: dict) -> None:
        model = body.get("model")
        if model is None:
            raise APIError(400, "model is required", param="model", code="missing_required_parameter")
        if model != state.model_name:
            raise APIError(404, f"The model `{model}` does not exist; this server serves `{state.model_name}`",
                           param="model", code="model_not_found")

    @app.get("/health")
    async def health():
        if state.engine is None:
            body = {"status": "loading" if state.load_error is None else "failed", "error": state.load_error}
            return JSONResponse(body, status_code=503)
        return {"status": "ok", "model": state.model_name}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [
            {"id": state.model_name, "object": "model", "created": state.created, "owned_by": "opencoder-jax",
             "max_model_len": state.engine.max_seq_len if state.engine is not None else None}]}

    @app.get("/v1/models/{model_id}")
    async def model_info(model_id: str):
        if model_id != state.model_name:
            raise APIError(404, f"The model `{model_id}` does not exist", param="model", code="model_not_found")
        return {"id": state.model_name, "object": "model", "created": state.created, "owned_by": "opencoder-jax"}

    async def run(prompts, params, n):
        from opencoder_jax.infer.engine import Request

        requests = [Request(p, params, n) for p in prompts]
        try:
            state.engine.submit_many(requests)
        except ValueError as e:
            raise APIError(400, str(e)) from None
        try:
            return await asyncio.gather(*(asyncio.wrap_future(r.future) for r in requests))
        except asyncio.CancelledError:
            for r in requests:
                r.cancel()
            raise

    def stream(prompts, params, n, make_chunk, first_chunks, usage_chunk):
        """SSE: `first_chunks(i)` (chat's role delta), then `make_chunk(i, delta, finish)` per event."""
        from opencoder_jax.infer.engine import Request

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def relay(k):
            def on_text(j, delta, finish):
                loop.call_soon_threadsafe(queue.put_nowait, (k * n + j, delta, finish))
            return on_text

        requests = [Request(p, params, n, on_text=relay(k)) for k, p in enumerate(prompts)]
        try:
            state.engine.submit_many(requests)
        except ValueError as e:
            raise APIError(400, str(e)) from None
        total = len(prompts) * n

        def on_done(future):
            if future.cancelled() or future.exception() is not None:
                loop.call_soon_threadsafe(queue.put_nowait, (None, future, None))

        for r in requests:
            r.future.add_done_callback(on_done)

        async def events():
            finished = 0
            try:
                for i in range(total):
                    for chunk in first_chunks(i):
                        yield f"data: {json.dumps(chunk)}\n\n"
                while finished < total:
                    i, delta, finish = await queue.get()
                    if i is None:  # the request failed in the engine
                        err = "cancelled" if delta.cancelled() else str(delta.exception())
                        yield f"data: {json.dumps(error_body(err, 'server_error'))}\n\n"
                        return
                    if finish is not None:
                        finished += 1
                    if delta or finish is not None:
                        yield f"data: {json.dumps(make_chunk(i, delta, finish))}\n\n"
                if usage_chunk is not None:
                    results = [r.future.result() for r in requests]
                    yield f"data: {json.dumps(usage_chunk(_usage(prompts, results)))}\n\n"
                yield "data: [DONE]\n\n"
            finally:
                for r in requests:
                    r.cancel()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/v1/completions")
    async def completions(request: Request):
        body = await json_body(request)
        engine = engine_or_503()
        check_model(body)
        _unsupported(body, {**COMMON_UNSUPPORTED, "echo": lambda v: v is False, "suffix": lambda v: v == "",
                            "logprobs": lambda v: False})
        stream_on, include_usage = _stream_flags(body)
        n = _integer(body, "n", 1, 1, MAX_N)
        best_of = _integer(body, "best_of", None, 1, MAX_N)
        if best_of is not None and best_of != n:
            raise APIError(400, "best_of other than n is not supported", param="best_of",
                           code="unsupported_parameter")
        max_tokens = _integer(body, "max_tokens", 16, 0)
        prompts = _prompts(body, engine)
        params = _sampling(body, engine, max_tokens, stream_on)
        _check_context(prompts, max_tokens, engine, "prompt")
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": rid, "object": "text_completion", "created": created, "model": state.model_name}
        if stream_on:
            def chunk(i, delta, finish):
                return {**base, "choices": [{"index": i, "text": delta, "logprobs": None, "finish_reason": finish}]}

            usage = (lambda u: {**base, "choices": [], "usage": u}) if include_usage else None
            return stream(prompts, params, n, chunk, lambda i: (), usage)
        results = await run(prompts, params, n)
        choices = [{"index": k * n + j, "text": c.text, "logprobs": None, "finish_reason": c.finish_reason}
                   for k, r in enumerate(results) for j, c in enumerate(r)]
        return {**base, "choices": choices, "usage": _usage(prompts, results)}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await json_body(request)
        engine = engine_or_503()
        check_model(body)
        _unsupported(body, {**COMMON_UNSUPPORTED, "logprobs": lambda v: v is False,
                            "tools": lambda v: v == [], "functions": lambda v: v == [],
                            "tool_choice": lambda v: v == "none",
                            "response_format": lambda v: isinstance(v, dict) and v.get("type") == "text"})
        messages = _messages(body)
        stream_on, include_usage = _stream_flags(body)
        n = _integer(body, "n", 1, 1, MAX_N)
        prompt = engine.encode(engine.render_chat(messages))
        limit = body.get("max_completion_tokens")
        key = "max_completion_tokens" if limit is not None else "max_tokens"
        remaining = max(engine.max_seq_len - len(prompt), 0)
        max_tokens = _integer(body, key, None, 0)
        if max_tokens is None:
            if remaining <= 0:
                _check_context([prompt], 1, engine, "messages")
            max_tokens = remaining
        params = _sampling(body, engine, max_tokens, stream_on)
        _check_context([prompt], max_tokens, engine, "messages")
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": rid, "object": "chat.completion", "created": created, "model": state.model_name}
        if stream_on:
            cbase = {**base, "object": "chat.completion.chunk"}

            def first(i):
                return [{**cbase, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                               "logprobs": None, "finish_reason": None}]}]

            def chunk(i, delta, finish):
                d = {"content": delta} if delta else {}
                return {**cbase, "choices": [{"index": i, "delta": d, "logprobs": None, "finish_reason": finish}]}

            usage = (lambda u: {**cbase, "choices": [], "usage": u}) if include_usage else None
            return stream([prompt], params, n, chunk, first, usage)
        results = await run([prompt], params, n)
        choices = [{"index": j, "message": {"role": "assistant", "content": c.text}, "logprobs": None,
                    "finish_reason": c.finish_reason} for j, c in enumerate(results[0])]
        return {**base, "choices": choices, "usage": _usage([prompt], results)}

    return app


# ----- running ------------------------------------------------------------------------------
class BackgroundServer:
    """uvicorn in a thread (tests, notebooks): `with BackgroundServer(app) as s: s.url`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import socket

        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", help="Orbax checkpoint (workdir, checkpoints/ dir or step dir)")
    parser.add_argument("--tokenizer", help="tokenizer directory (default: the one that travelled with the model)")
    parser.add_argument("--hf", help="Hugging Face Llama-style model directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model-name", dest="model_name", help="the id clients pass as `model` "
                        "(default: the checkpoint directory's name)")
    parser.add_argument("--dtype", help="compute dtype (default: the checkpoint's; float32 for --hf)")
    parser.add_argument("--max-batch", dest="max_batch", type=int, default=32, help="rows per device batch")
    parser.add_argument("--log-level", dest="log_level", default="info")


def run(args) -> int:
    import os

    import uvicorn

    from opencoder_jax.infer.engine import Engine

    if (args.checkpoint is None) == (args.hf is None):
        raise ValueError("give exactly one of --checkpoint DIR or --hf DIR")
    source = args.checkpoint or args.hf
    state = ServerState(model_name=args.model_name or os.path.basename(os.path.normpath(source)))
    app = create_app(state)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level)
    server = uvicorn.Server(config)

    def load():
        try:
            engine = Engine.load(checkpoint=args.checkpoint, hf=args.hf, tokenizer=args.tokenizer, dtype=args.dtype,
                                 max_batch=args.max_batch, name=state.model_name)
            # compile the smallest bucket before reporting healthy
            engine.generate(["a"], max_new_tokens=1)
            state.engine = engine
            log.warning("model %s loaded; serving on http://%s:%d", state.model_name, args.host, args.port)
        except Exception as e:  # report and stop: a server without a model is of no use
            state.load_error = f"{type(e).__name__}: {e}"
            log.exception("loading the model failed")
            server.should_exit = True

    threading.Thread(target=load, name="opencoder-load", daemon=True).start()
    server.run()
    if state.load_error is not None:
        print(f"opencoder serve: could not load the model: {state.load_error}")
        return 1
    return 0
