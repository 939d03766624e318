"""Text-level generation: tokenizer + `Sampler` + a thread-safe request batcher.

  engine = Engine.load(checkpoint=DIR, tokenizer=DIR)      # or Engine.load(hf=DIR)
  engine.generate(["def fib(n):"], max_new_tokens=64, stop=["\\ndef "])  -> [[Completion]]
  engine.chat([{"role": "user", "content": "..."}])        -> [[Completion]] (one conversation)
  engine.chat([conv1, conv2])                              -> [[Completion], [Completion]]

Every call goes through one worker thread that owns the device: requests that arrive
together (from server threads, or the prompts of one `generate` call) are batched into one
`Sampler.generate` call, up to `max_batch` rows (a request with n samples is n rows). A
request finishes (its future resolves, its stream ends) as soon as its own rows are done.

Prompts are encoded with `encode_with_special_tokens` (special-token strings such as
"<|im_start|>" become their ids, as Hugging Face tokenizers do); generated text is decoded
with `decode_all` (control tokens render as ""), cut before the earliest stop string.
Generation stops at `<|im_end|>` (eos) unless `stop_token_ids` says otherwise.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from opencoder_jax.infer.sampler import RowUpdate, Sampler, SamplingParams, hold_back, stop_string_cut

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Completion:
    text: str
    token_ids: list[int]
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return len(self.token_ids)


# stream callback: (sample index, text delta, finish_reason or None)
StreamCallback = Callable[[int, str, "str | None"], None]


class Request:
    """n samples of one tokenized prompt; resolved through `future` (list[Completion])."""

    def __init__(self, prompt_ids: Sequence[int], params: SamplingParams, n: int = 1,
                 on_text: StreamCallback | None = None):
        self.prompt_ids = [int(i) for i in prompt_ids]
        self.params = params
        self.n = int(n)
        self.on_text = on_text
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.cancelled = False
        self._completions: list[Completion | None] = [None] * self.n
        self._sent = [0] * self.n  # characters streamed per sample

    def cancel(self) -> None:
        """Stop generating for this request (e.g. its client went away) at the next chunk."""
        self.cancelled = True


class Engine:
    """Generation over one model; see the module docstring.

    Args:
      model, config: a Transformer and its ModelConfig.
      tokenizer: a `Vocabulary` (encode_with_special_tokens, decode_all, special_tokens).
      max_batch: rows per device call.
      batch_window_s: how long the worker waits for more requests after the first arrives.
      chunk_steps / stream_chunk_steps: decode steps between host checks (stop strings,
        cancellation) and between streamed deltas.
      stop_token_ids: default stop ids (default: eos `<|im_end|>`).
    """

    def __init__(self, model, config, tokenizer, *, max_batch: int = 32, batch_window_s: float = 0.005,
                 chunk_steps: int = 32, stream_chunk_steps: int = 4,
                 stop_token_ids: Sequence[int] | None = None, name: str = "opencoder", **sampler_kwargs):
        self.model = model
        self.config = config
        self.tokenizer = tokenizer
        self.name = name
        self.max_batch = int(max_batch)
        self.batch_window_s = float(batch_window_s)
        self.chunk_steps = int(chunk_steps)
        self.stream_chunk_steps = int(stream_chunk_steps)
        if stop_token_ids is None:
            stop_token_ids = default_stop_ids(tokenizer)
        self.stop_token_ids = tuple(int(i) for i in stop_token_ids)
        self.sampler = Sampler(model, config, max_batch=max_batch, chunk_steps=chunk_steps,
                               detokenize=self.decode, **sampler_kwargs)
        self._pending: collections.deque[Request] = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        self._held = False
        self._worker: threading.Thread | None = None
        self.batches_run = 0  # device batches (tests check that concurrent requests share one)
        self.batch_sizes: list[int] = []

    # ----- construction --------------------------------------------------------------------
    @classmethod
    def load(cls, checkpoint: str | None = None, hf: str | None = None, tokenizer: str | None = None, *,
             dtype: Any = None, **kwargs) -> "Engine":
        """An Orbax checkpoint (with --tokenizer, or the WORKDIR/tokenizer/ that travelled with
        it) or a Hugging Face directory (its own tokenizer files unless `tokenizer` is given)."""
        from opencoder_jax.model.loading import load_any, tokenizer_dir_for
        from opencoder_jax.tokenizer import load_vocabulary

        tok_dir = tokenizer or tokenizer_dir_for(checkpoint=checkpoint, hf=hf)
        if tok_dir is None:
            raise ValueError("no tokenizer: pass --tokenizer DIR (none travelled with the checkpoint)")
        vocab = load_vocabulary(tok_dir)
        config, model = load_any(checkpoint=checkpoint, hf=hf, dtype=dtype)
        if vocab.vocab_size > config.vocab_size:
            raise ValueError(f"tokenizer {tok_dir} has {vocab.vocab_size} ids but the model only "
                             f"{config.vocab_size}")
        kwargs.setdefault("name", os.path.basename(os.path.normpath(checkpoint or hf)))
        return cls(model, config, vocab, **kwargs)

    @property
    def max_seq_len(self) -> int:
        return int(self.config.max_seq_len)

    # ----- text <-> ids --------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode_with_special_tokens(text))

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode_all(list(ids))

    def render_chat(self, messages: Sequence[Mapping[str, str]]) -> str:
        from opencoder_jax.tokenizer import render_chat

        return render_chat(messages, add_generation_prompt=True)

    def params(self, *, max_new_tokens: int = 256, temperature: float = 0.0, top_p: float = 1.0,
               top_k: int = 0, stop: Sequence[str] | str | None = (), seed: int | None = 0,
               stop_token_ids: Sequence[int] | None = None) -> SamplingParams:
        if isinstance(stop, str):
            stop = (stop,)
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        ids = self.stop_token_ids if stop_token_ids is None else tuple(stop_token_ids)
        return SamplingParams(max_new_tokens=int(max_new_tokens), temperature=float(temperature),
                              top_p=float(top_p), top_k=int(top_k), seed=int(seed),
                              stop_token_ids=tuple(ids), stop_strings=tuple(s for s in (stop or ()) if s))

    # ----- high-level API ------------------------------------------------------------------
    def generate(self, prompts: Sequence[str], *, n: int = 1, **kwargs) -> list[list[Completion]]:
        """Completions for each prompt (n samples each); kwargs as `params`."""
        params = self.params(**kwargs)
        requests = [Request(self.encode(p), params, n) for p in prompts]
        self.submit_many(requests)
        return [r.future.result() for r in requests]

    def chat(self, messages, *, n: int = 1, **kwargs) -> list[list[Completion]]:
        """One conversation (a list of {"role", "content"}) or a list of conversations ->
        completions per conversation, rendered with OpenCoder's ChatML template."""
        conversations = [messages] if messages and isinstance(messages[0], Mapping) else list(messages)
        return self.generate([self.render_chat(c) for c in conversations], n=n, **kwargs)

    def submit(self, prompt_ids: Sequence[int], params: SamplingParams, n: int = 1,
               on_text: StreamCallback | None = None) -> Request:
        request = Request(prompt_ids, params, n, on_text)
        self.submit_many([request])
        return request

    def submit_many(self, requests: Sequence[Request]) -> None:
        """Queue requests (checked now: a bad one raises here and nothing is queued)."""
        for r in requests:
            self.sampler.check([r.prompt_ids], [r.params])
            if r.n < 1:
                raise ValueError(f"n must be >= 1, got {r.n}")
        with self._cv:
            if self._closed:
                raise RuntimeError("engine is closed")
            self._pending.extend(requests)
            self._ensure_worker()
            self._cv.notify()

    @contextlib.contextmanager
    def hold(self):
        """Queue requests without starting batches until the block ends (then they run
        together); for tests and for pausing a server."""
        with self._cv:
            self._held = True
        try:
            yield self
        finally:
            with self._cv:
                self._held = False
                self._cv.notify_all()

    def pending(self) -> int:
        with self._cv:
            return len(self._pending)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=30)

    # ----- worker ----------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._loop, name="opencoder-engine", daemon=True)
            self._worker.start()

    def _take_batch(self) -> list[Request]:
        with self._cv:
            while (not self._pending or self._held) and not self._closed:
                self._cv.wait()
            if self._closed and not self._pending:
                return []
        if self.batch_window_s > 0:
            time.sleep(self.batch_window_s)  # let concurrent requests join this batch
        batch: list[Request] = []
        rows = 0
        with self._cv:
            while self._pending:
                r = self._pending[0]
                if batch and rows + r.n > self.max_batch:
                    break
                batch.append(self._pending.popleft())
                rows += r.n
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            try:
                self._run(batch)
            except BaseException as e:  # keep serving: fail these requests, not the worker
                log.exception("generation failed")
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(e)

    def _run(self, batch: list[Request]) -> None:
        live = [r for r in batch if not (r.cancelled or r.future.cancelled())]
        for r in batch:
            if r.cancelled and not r.future.done():
                r.future.cancel()
        if not live:
            return
        rows: list[tuple[Request, int]] = [(r, j) for r in live for j in range(r.n)]
        self.batches_run += 1
        self.batch_sizes.append(len(rows))
        streaming = any(r.on_text is not None for r in live)

        def on_update(updates: list[RowUpdate]):
            stop_rows = []
            for u in updates:
                request, j = rows[u.row]
                if u.finished:
                    self._finish(request, j, u.result.token_ids, u.result.finish_reason)
                elif request.on_text is not None:
                    self._stream_partial(request, j, u.token_ids)
            for k, (request, j) in enumerate(rows):
                if (request.cancelled or request.future.cancelled()) and request._completions[j] is None:
                    stop_rows.append(k)
            return stop_rows

        results = self.sampler.generate(
            [r.prompt_ids for r, _ in rows], [r.params for r, _ in rows], streams=[j for _, j in rows],
            on_update=on_update,
            chunk_steps=self.stream_chunk_steps if streaming else self.chunk_steps)
        for (request, j), res in zip(rows, results):  # rows stopped by cancellation
            if request._completions[j] is None:
                self._finish(request, j, res.token_ids, res.finish_reason)

    def _stream_partial(self, request: Request, j: int, token_ids: list[int]) -> None:
        text = self.decode(token_ids)
        safe = hold_back(text, request.params.stop_strings)
        if safe > request._sent[j]:
            delta = text[request._sent[j]:safe]
            request._sent[j] = safe
            self._emit(request, j, delta, None)

    def _finish(self, request: Request, j: int, token_ids: list[int], finish_reason: str) -> None:
        text, hit = stop_string_cut(self.decode(token_ids), request.params.stop_strings)
        if hit is not None:
            finish_reason = "stop"
        completion = Completion(text=text, token_ids=list(token_ids), finish_reason=finish_reason,
                                prompt_tokens=len(request.prompt_ids))
        request._completions[j] = completion
        if request.on_text is not None:
            delta = text[request._sent[j]:] if len(text) >= request._sent[j] else ""
            request._sent[j] = len(text)
            self._emit(request, j, delta, finish_reason)
        if all(c is not None for c in request._completions) and not request.future.done():
            request.future.set_result(list(request._completions))

    @staticmethod
    def _emit(request: Request, j: int, delta: str, finish_reason: str | None) -> None:
        try:
            request.on_text(j, delta, finish_reason)
        except Exception:  # a broken consumer must not stop the batch
            log.exception("stream callback failed")
            request.cancel()


def default_stop_ids(tokenizer) -> tuple[int, ...]:
    """eos `<|im_end|>` (and the tokenizer's own eos when it differs)."""
    from opencoder_jax.tokenizer.special_tokens import IM_END

    ids = []
    special = getattr(tokenizer, "special_tokens", {}) or {}
    if IM_END in special:
        ids.append(int(special[IM_END]))
    eos = getattr(tokenizer, "eos_id", None)
    if eos is not None and eos >= 0 and int(eos) not in ids:
        ids.append(int(eos))
    return tuple(ids)
