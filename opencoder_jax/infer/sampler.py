"""Batched generation with the model's KV cache.

Pure functions (unit-tested against hand-computed values):
  top_k_mask(logits, top_k)             which tokens survive top-k (per row; 0 = off)
  top_p_mask(logits, top_p)             which tokens survive nucleus filtering (per row; 1 = off)
  filter_logits(logits, top_k, top_p)   both, with one sort (top-k first, as transformers does)
  sample_tokens(logits, keys, temperature, top_k, top_p)   greedy where temperature == 0

`Sampler(model, config).generate(prompt_ids, params)`:
  * prompts are left-padded into one batch; their real tokens end at the same slot, so every
    row's next token comes from the last column, and positions count from 0 at each row's
    first real token (padding slots are marked invalid in the cache);
  * batch size, prompt length and generation length are rounded up to powers of two
    (buckets), so `prefill` and `decode` compile once per bucket, not per prompt;
  * prefill is one jitted call: the whole prompt bucket through `model.decode(last_only=True)`
    (the vocabulary projection only for the last column, where every row's prompt ends);
  * decoding is a `lax.while_loop` inside one jitted call that runs up to `chunk` steps and
    exits early once every row is done (stop token or its own max_new_tokens). Between
    chunks the host checks stop strings on decoded text (only when some row has them, or for
    streaming/cancellation), so a run with neither is a single device call;
  * sampling parameters are per-row arrays (requests with different settings share a batch
    without recompiling); each row's random stream is fold_in(PRNGKey(seed), stream) per step,
    so a row's samples do not depend on what else is in the batch;
  * the NNX model is split once (graphdef closed over by the jitted functions, state passed
    as an argument), never per step.

Results keep the generated ids up to and including the token that finished a row by stop
string; a stop *token* (eos) is not included (`SampleResult.stop` names what stopped it).
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import math
from typing import Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

log = logging.getLogger(__name__)

FINISH_NONE, FINISH_STOP, FINISH_LENGTH = 0, 1, 2
NEG_INF = -jnp.inf


# ----- pure sampling functions ------------------------------------------------------------
def _thresholds(sorted_desc: jax.Array, top_k: jax.Array, top_p: jax.Array):
    """Per-row logit thresholds for top-k then top-p, from logits sorted descending."""
    V = sorted_desc.shape[-1]
    k = jnp.where(top_k <= 0, V, jnp.minimum(top_k, V)).astype(jnp.int32)
    thresh_k = jnp.take_along_axis(sorted_desc, (k - 1)[:, None], axis=-1)[:, 0]
    masked = jnp.where(sorted_desc >= thresh_k[:, None], sorted_desc, NEG_INF)
    probs = jax.nn.softmax(masked, axis=-1)
    exclusive = jnp.cumsum(probs, axis=-1) - probs  # mass strictly before each token
    keep = (exclusive < top_p[:, None]) & (masked > NEG_INF)
    keep = keep.at[:, 0].set(True)  # always keep the most likely token
    last = jnp.sum(keep, axis=-1) - 1
    thresh_p = jnp.take_along_axis(sorted_desc, last[:, None], axis=-1)[:, 0]
    thresh_p = jnp.where(top_p >= 1.0, NEG_INF, thresh_p)
    return thresh_k, thresh_p


def top_k_mask(logits: jax.Array, top_k) -> jax.Array:
    """[B,V] bool: tokens whose logit is >= the row's k-th largest (ties kept, as transformers'
    TopKLogitsWarper); top_k <= 0 keeps everything."""
    return filter_mask(logits, top_k, 1.0)


def top_p_mask(logits: jax.Array, top_p) -> jax.Array:
    """[B,V] bool: the smallest set of most likely tokens whose probability reaches top_p
    (a token is kept when the mass of the tokens more likely than it is < top_p, as
    transformers' TopPLogitsWarper); top_p >= 1 keeps everything."""
    return filter_mask(logits, 0, top_p)


@jax.jit
def filter_mask(logits: jax.Array, top_k, top_p) -> jax.Array:
    """[B,V] bool: top-k, then top-p on the renormalized survivors (one sort)."""
    logits = jnp.asarray(logits, jnp.float32)
    B = logits.shape[0]
    top_k = jnp.broadcast_to(jnp.asarray(top_k, jnp.int32), (B,))
    top_p = jnp.broadcast_to(jnp.asarray(top_p, jnp.float32), (B,))
    sorted_desc = -jnp.sort(-logits, axis=-1)
    thresh_k, thresh_p = _thresholds(sorted_desc, top_k, top_p)
    return logits >= jnp.maximum(thresh_k, thresh_p)[:, None]


def filter_logits(logits: jax.Array, top_k, top_p) -> jax.Array:
    """Logits with filtered-out tokens set to -inf."""
    return jnp.where(filter_mask(logits, top_k, top_p), logits, NEG_INF)


@functools.partial(jax.jit, static_argnames=("sample", "filtered"))
def sample_tokens(logits: jax.Array, keys: jax.Array, temperature: jax.Array, top_k: jax.Array,
                  top_p: jax.Array, *, sample: bool = True, filtered: bool = True) -> jax.Array:
    """Next tokens [B] int32 from logits [B,V]: argmax where temperature == 0, else a draw from
    softmax(logits / temperature) after top-k / top-p. `sample` / `filtered` are static
    switches that skip the work when no row needs it."""
    logits = logits.astype(jnp.float32)
    greedy = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    if not sample:
        return greedy
    t = jnp.where(temperature > 0, temperature, 1.0).astype(jnp.float32)
    scaled = logits / t[:, None]
    if filtered:
        scaled = filter_logits(scaled, top_k, top_p)
    drawn = jax.vmap(lambda key, row: jax.random.categorical(key, row))(keys, scaled).astype(jnp.int32)
    return jnp.where(temperature > 0, drawn, greedy)


@jax.jit
def row_keys(seeds: jax.Array, streams: jax.Array, step) -> jax.Array:
    """One PRNG key per row for generation step `step`: fold_in(fold_in(key(seed), stream), step)."""
    def one(seed, stream):
        return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), stream), step)

    return jax.vmap(one)(seeds, streams)


# ----- parameters and results -------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    stop_token_ids: tuple[int, ...] = ()
    stop_strings: tuple[str, ...] = ()

    def __post_init__(self):
        if int(self.max_new_tokens) < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {self.max_new_tokens}")
        if not self.temperature >= 0 or not math.isfinite(self.temperature):
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if int(self.top_k) < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")


@dataclasses.dataclass
class SampleResult:
    token_ids: list[int]
    finish_reason: str  # "stop" | "length"
    stop: int | str | None = None  # the stop token id or stop string that ended the row


@dataclasses.dataclass
class RowUpdate:
    """What `on_update` gets after each decode chunk, for rows that changed."""

    row: int
    token_ids: list[int]  # everything generated so far (stop token excluded)
    finished: bool
    result: SampleResult | None  # set when finished


class Carry(NamedTuple):
    cache: object
    logits: jax.Array      # [B,V] next-token logits
    out: jax.Array         # [B,G] generated ids
    pos: jax.Array         # [B] position of the next token fed
    step: jax.Array        # () tokens generated so far (same for all rows)
    prompt_slots: jax.Array  # () P, the slot of the first generated token
    done: jax.Array        # [B] bool
    reason: jax.Array      # [B] int32 FINISH_*
    lengths: jax.Array     # [B] int32 tokens generated (stop token excluded)


class RowParams(NamedTuple):
    temperature: jax.Array  # [B] f32
    top_k: jax.Array        # [B] i32
    top_p: jax.Array        # [B] f32
    seeds: jax.Array        # [B] u32
    streams: jax.Array      # [B] u32
    max_new: jax.Array      # [B] i32
    stop_ids: jax.Array     # [B,M] i32 (-1 = none)


def next_pow2(n: int, minimum: int = 1) -> int:
    n = max(int(n), int(minimum), 1)
    return 1 << (n - 1).bit_length()


# ----- the sampler ------------------------------------------------------------------------
class Sampler:
    """Batched KV-cache generation for a `Transformer` (see module docstring).

    Args:
      model: an NNX model with `init_cache(batch, max_len)` and `decode(...)` (the contract).
      config: its ModelConfig (max_seq_len bounds prompt + generation).
      max_batch: rows per device call; larger requests are split (rows sorted by length).
      min_batch_bucket: smallest batch bucket (fewer compilations for servers with mixed loads).
      min_prompt_bucket / min_gen_bucket: smallest buckets (powers of two).
      chunk_steps: decode steps per device call when the host must check between steps
        (stop strings, streaming, cancellation); otherwise a whole generation is one call.
      detokenize: ids -> text, needed for stop strings.
      pad_id: token fed in padding slots (never attended to).
    """

    def __init__(self, model, config, *, max_batch: int = 32, min_batch_bucket: int = 1, min_prompt_bucket: int = 16,
                 min_gen_bucket: int = 16, chunk_steps: int = 32,
                 detokenize: Callable[[Sequence[int]], str] | None = None, pad_id: int = 0,
                 cache_dtype=None):
        from flax import nnx

        self.config = config
        self.max_batch = next_pow2(max_batch)
        self.min_batch_bucket = min(next_pow2(min_batch_bucket), self.max_batch)
        self.min_prompt_bucket = next_pow2(min_prompt_bucket)
        self.min_gen_bucket = next_pow2(min_gen_bucket)
        self.chunk_steps = int(chunk_steps)
        self.detokenize = detokenize
        self.pad_id = int(pad_id)
        self.cache_dtype = cache_dtype
        self.max_seq_len = int(config.max_seq_len)
        self._graphdef, self._state = nnx.split(model)
        # trace counters: each entry is one compilation (a new bucket/mode); tests read them.
        self.trace_counts: collections.Counter = collections.Counter()
        self._prefill = jax.jit(self._prefill_impl, static_argnames=("gen_len",))
        self._decode = jax.jit(self._decode_impl, static_argnames=("sample", "filtered"), donate_argnums=(1,))

    # -- traced bodies --
    def _model(self, state):
        from flax import nnx

        return nnx.merge(self._graphdef, state)

    def _sample(self, logits, rp: RowParams, step, sample, filtered):
        keys = row_keys(rp.seeds, rp.streams, step) if sample else None
        return sample_tokens(logits, keys, rp.temperature, rp.top_k, rp.top_p, sample=sample, filtered=filtered)

    def _prefill_impl(self, state, tokens, valid, positions, rp: RowParams, *, gen_len: int):
        self.trace_counts["prefill"] += 1
        model = self._model(state)
        B, P = tokens.shape
        cache = model.init_cache(B, P + gen_len, dtype=self.cache_dtype)
        logits, cache = model.decode(tokens, positions, cache, jnp.int32(0), valid=valid, last_only=True)
        max_new = rp.max_new
        return Carry(
            cache=cache, logits=logits[:, -1].astype(jnp.float32),
            out=jnp.full((B, gen_len), self.pad_id, jnp.int32),
            pos=positions[:, -1] + 1, step=jnp.int32(0), prompt_slots=jnp.int32(P),
            done=max_new <= 0, reason=jnp.where(max_new <= 0, FINISH_LENGTH, FINISH_NONE).astype(jnp.int32),
            lengths=jnp.zeros((B,), jnp.int32))

    def _decode_impl(self, state, carry: Carry, done_override, limit, rp: RowParams, *, sample: bool,
                     filtered: bool):
        """Up to `limit` total generated tokens (a traced scalar), exiting when all rows are done."""
        self.trace_counts["decode"] += 1
        model = self._model(state)
        G = carry.out.shape[1]
        carry = carry._replace(done=carry.done | done_override)
        limit = jnp.minimum(limit, G)

        def cond(c: Carry):
            return (c.step < limit) & ~jnp.all(c.done)

        def body(c: Carry):
            tok = self._sample(c.logits, rp, c.step, sample, filtered)
            active = ~c.done
            hit_stop = jnp.any(tok[:, None] == rp.stop_ids, axis=-1) & active
            tok = jnp.where(active, tok, self.pad_id)
            out = jax.lax.dynamic_update_slice(c.out, tok[:, None], (jnp.int32(0), c.step))
            lengths = jnp.where(active & ~hit_stop, c.lengths + 1, c.lengths)
            reached = active & ~hit_stop & (lengths >= rp.max_new)
            reason = jnp.where(hit_stop, FINISH_STOP, jnp.where(reached, FINISH_LENGTH, c.reason))
            done = c.done | hit_stop | reached
            slot = c.prompt_slots + c.step
            logits, cache = model.decode(tok[:, None], c.pos[:, None], c.cache, slot)
            return Carry(cache=cache, logits=logits[:, -1].astype(jnp.float32), out=out, pos=c.pos + 1,
                         step=c.step + 1, prompt_slots=c.prompt_slots, done=done,
                         reason=reason.astype(jnp.int32), lengths=lengths)

        return jax.lax.while_loop(cond, body, carry)

    # -- host side --
    def check(self, prompt_ids: Sequence[Sequence[int]], params: Sequence[SamplingParams]) -> None:
        """Raise ValueError for rows that cannot run (empty prompt, too long for the context)."""
        for i, (ids, p) in enumerate(zip(prompt_ids, params)):
            if len(ids) == 0:
                raise ValueError(f"prompt {i} is empty (no tokens)")
            if len(ids) + p.max_new_tokens > self.max_seq_len:
                raise ValueError(f"prompt {i} has {len(ids)} tokens and asks for {p.max_new_tokens} more: "
                                 f"the context is {self.max_seq_len} tokens")
            if p.stop_strings and self.detokenize is None:
                raise ValueError("stop strings need a detokenizer (Sampler(detokenize=...))")

    def generate(self, prompt_ids: Sequence[Sequence[int]],
                 params: SamplingParams | Sequence[SamplingParams] = SamplingParams(), *,
                 streams: Sequence[int] | None = None,
                 on_update: Callable[[list[RowUpdate]], Sequence[int] | None] | None = None,
                 chunk_steps: int | None = None) -> list[SampleResult]:
        """Generate for every prompt. `params` is one SamplingParams for all rows or one per row;
        `streams[i]` selects row i's random stream under its seed (n samples of one prompt use
        streams 0..n-1). `on_update(updates)` is called after each chunk; it may return row
        indices to stop now (e.g. cancelled requests; they finish with "stop")."""
        rows = [list(map(int, ids)) for ids in prompt_ids]
        if isinstance(params, SamplingParams):
            params = [params] * len(rows)
        params = list(params)
        if len(params) != len(rows):
            raise ValueError(f"{len(rows)} prompts but {len(params)} SamplingParams")
        streams = list(streams) if streams is not None else [0] * len(rows)
        self.check(rows, params)
        results: list[SampleResult | None] = [None] * len(rows)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        for start in range(0, len(order), self.max_batch):
            idx = order[start:start + self.max_batch]

            def relay(updates, idx=idx):
                if on_update is None:
                    return None
                for u in updates:
                    u.row = idx[u.row]
                stop = on_update(updates) or ()
                pos = {r: k for k, r in enumerate(idx)}
                return [pos[r] for r in stop if r in pos]

            out = self._generate_batch([rows[i] for i in idx], [params[i] for i in idx],
                                       [streams[i] for i in idx], relay if on_update else None, chunk_steps)
            for i, r in zip(idx, out):
                results[i] = r
        return results  # type: ignore[return-value]

    def _generate_batch(self, rows, params, streams, on_update, chunk_steps) -> list[SampleResult]:
        n = len(rows)
        B = next_pow2(n, self.min_batch_bucket)
        P = min(next_pow2(max(len(r) for r in rows), self.min_prompt_bucket), self.max_seq_len)
        max_new = max(p.max_new_tokens for p in params)
        G = next_pow2(max(max_new, 1), self.min_gen_bucket)
        M = next_pow2(max([len(p.stop_token_ids) for p in params] + [1]))
        tokens = np.full((B, P), self.pad_id, np.int32)
        valid = np.zeros((B, P), bool)
        positions = np.zeros((B, P), np.int32)
        for i, r in enumerate(rows):
            tokens[i, P - len(r):] = r
            valid[i, P - len(r):] = True
            positions[i, P - len(r):] = np.arange(len(r))
        valid[n:, -1] = True  # filler rows: one pad token, done from the start
        stop_ids = np.full((B, M), -1, np.int32)
        for i, p in enumerate(params):
            stop_ids[i, :len(p.stop_token_ids)] = p.stop_token_ids
        max_new_arr = np.zeros((B,), np.int32)
        max_new_arr[:n] = [p.max_new_tokens for p in params]
        rp = RowParams(
            temperature=jnp.asarray(np.array([p.temperature for p in params] + [0.0] * (B - n), np.float32)),
            top_k=jnp.asarray(np.array([p.top_k for p in params] + [0] * (B - n), np.int32)),
            top_p=jnp.asarray(np.array([p.top_p for p in params] + [1.0] * (B - n), np.float32)),
            seeds=jnp.asarray(np.array([p.seed % (1 << 32) for p in params] + [0] * (B - n), np.uint32)),
            streams=jnp.asarray(np.array([s % (1 << 32) for s in streams] + [0] * (B - n), np.uint32)),
            max_new=jnp.asarray(max_new_arr), stop_ids=jnp.asarray(stop_ids))
        sample = any(p.temperature > 0 for p in params)
        filtered = sample and any(p.temperature > 0 and (p.top_k > 0 or p.top_p < 1) for p in params)
        carry = self._prefill(self._state, jnp.asarray(tokens), jnp.asarray(valid), jnp.asarray(positions), rp,
                              gen_len=G)

        stop_strings = [tuple(p.stop_strings) for p in params]
        host_checks = on_update is not None or any(stop_strings)
        chunk = int(chunk_steps or self.chunk_steps) if host_checks else G
        override = np.zeros((B,), bool)
        override[n:] = True
        finished: dict[int, SampleResult] = {}
        emitted = [0] * n  # tokens reported so far per row
        step = 0
        while True:
            limit = min(G, step + chunk)
            carry = self._decode(self._state, carry, jnp.asarray(override), jnp.int32(limit), rp,
                                 sample=sample, filtered=filtered)
            out, done, reason, lengths, step = jax.device_get(
                (carry.out, carry.done, carry.reason, carry.lengths, carry.step))
            step = int(step)
            override = np.array(done, bool)
            updates: list[RowUpdate] = []
            for i in range(n):
                if i in finished:
                    continue
                ids = out[i, :lengths[i]].tolist()
                result = None
                if stop_strings[i] and len(ids) > emitted[i]:
                    hit = self._find_stop_string(ids, emitted[i], stop_strings[i])
                    if hit is not None:
                        k, s = hit
                        ids = ids[:k]
                        result = SampleResult(ids, "stop", s)
                if result is None and done[i]:
                    if reason[i] == FINISH_STOP:
                        stop_tok = int(out[i, lengths[i]])
                        result = SampleResult(ids, "stop", stop_tok)
                    else:
                        result = SampleResult(ids, "length", None)
                if result is not None:
                    finished[i] = result
                    override[i] = True
                if on_update is not None and (len(ids) > emitted[i] or result is not None):
                    updates.append(RowUpdate(i, ids, result is not None, result))
                emitted[i] = len(ids)
            if updates:
                for r in on_update(updates) or ():
                    if r < n and r not in finished:
                        ids = out[r, :lengths[r]].tolist()
                        finished[r] = SampleResult(ids, "stop", None)
                        override[r] = True
            if len(finished) == n or step >= G:
                break
        for i in range(n):  # rows still open at G (cannot happen: G >= max_new) for safety
            if i not in finished:
                finished[i] = SampleResult(out[i, :lengths[i]].tolist(), "length", None)
        return [finished[i] for i in range(n)]

    def _find_stop_string(self, ids: list[int], checked: int, stops: tuple[str, ...]):
        """(number of tokens to keep, stop string) if the decoded text holds a stop string;
        the kept tokens are the shortest prefix whose text contains it."""
        text = self.detokenize(ids)
        if not any(s in text for s in stops):
            return None
        lo = max(checked, 1)
        for k in range(lo, len(ids) + 1):
            t = self.detokenize(ids[:k])
            for s in stops:
                if s in t:
                    return k, s
        return None


def stop_string_cut(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    """Text before the earliest stop string occurrence, and that string (None: no stop)."""
    best, which = len(text), None
    for s in stops:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and i < best:
            best, which = i, s
    return text[:best], which


def hold_back(text: str, stops: Sequence[str]) -> int:
    """How many characters of `text` are safe to stream: not an incomplete UTF-8 tail
    (rendered U+FFFD) and not the start of a stop string that may complete later."""
    safe = len(text)
    while safe and text[safe - 1] == "\ufffd":
        safe -= 1
    for s in stops:
        for k in range(min(len(s) - 1, safe), 0, -1):
            if text[:safe].endswith(s[:k]):
                safe = min(safe, len(text[:safe]) - k)
                break
    return safe


__all__ = ["Sampler", "SamplingParams", "SampleResult", "RowUpdate", "top_k_mask", "top_p_mask",
           "filter_mask", "filter_logits", "sample_tokens", "row_keys", "next_pow2", "stop_string_cut",
           "hold_back"]
_ = Mapping
