"""Sampler on a random small Llama: greedy parity with transformers, left padding, buckets
(no recompilation within one), seeds, stop tokens and stop strings; Engine text API."""
from __future__ import annotations

import pytest

from opencoder_jax.infer.sampler import SamplingParams
from tests.infer.reference import assert_greedy_parity, hf_greedy

EOS = 632
PROMPTS = [[5, 17, 99, 3, 250, 7, 41], [633, 12], [300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 11, 12],
           [42]]


@pytest.fixture(scope="module")
def sampler(engine):
    return engine.sampler


def test_greedy_matches_transformers_generate(sampler, hf_model):
    params = SamplingParams(max_new_tokens=16, stop_token_ids=(EOS,))
    results = sampler.generate(PROMPTS, params)  # one left-padded batch
    for prompt, res in zip(PROMPTS, results):
        ref, scores = hf_greedy(hf_model, prompt, 16, eos_id=EOS)
        assert_greedy_parity(res.token_ids, ref, scores, eos_id=EOS)
        assert res.finish_reason == ("stop" if ref[-1] == EOS else "length")


def test_left_padded_batch_equals_each_prompt_alone(sampler):
    params = SamplingParams(max_new_tokens=12)
    batch = sampler.generate(PROMPTS, params)
    for prompt, res in zip(PROMPTS, batch):
        assert sampler.generate([prompt], params)[0].token_ids == res.token_ids


def test_no_recompilation_within_a_bucket(sampler):
    params = SamplingParams(max_new_tokens=10)
    sampler.generate([[1, 2, 3], [4, 5]], params)  # batch bucket 4, prompt bucket 16, gen bucket 16
    before = dict(sampler.trace_counts)
    for prompt in ([7] * 3, [8] * 9, [9] * 16, [10]):
        sampler.generate([prompt, [3, 4, 5, 6, 7]], SamplingParams(max_new_tokens=len(prompt) % 16 + 1))
    assert dict(sampler.trace_counts) == before
    sampler.generate([[1] * 17, [2]], params)  # prompt bucket 32: one new prefill and decode
    assert sampler.trace_counts["prefill"] == before["prefill"] + 1
    assert sampler.trace_counts["decode"] == before["decode"] + 1


def test_sampling_is_seeded_and_independent_of_the_batch(sampler):
    p = SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.9, top_k=50, seed=7)
    alone = sampler.generate([PROMPTS[0]], p)[0].token_ids
    assert sampler.generate([PROMPTS[0]], p)[0].token_ids == alone
    mixed = sampler.generate([PROMPTS[2], PROMPTS[0]], [SamplingParams(max_new_tokens=4), p])
    assert mixed[1].token_ids == alone
    other = sampler.generate([PROMPTS[0]], SamplingParams(max_new_tokens=16, temperature=1.0, seed=8))[0]
    assert other.token_ids != alone
    streams = sampler.generate([PROMPTS[0]] * 2, p, streams=[0, 1])
    assert streams[0].token_ids == alone and streams[1].token_ids != alone


def test_stop_token_and_per_row_max_new_tokens(sampler):
    free = sampler.generate([PROMPTS[0]], SamplingParams(max_new_tokens=12))[0].token_ids
    stop_at = free[5]
    first = free.index(stop_at)
    res = sampler.generate([PROMPTS[0], PROMPTS[1]], [SamplingParams(max_new_tokens=12, stop_token_ids=(stop_at,)),
                                                      SamplingParams(max_new_tokens=3)])
    assert res[0].token_ids == free[:first] and res[0].finish_reason == "stop" and res[0].stop == stop_at
    assert len(res[1].token_ids) == 3 and res[1].finish_reason == "length"
    assert sampler.generate([PROMPTS[0]], SamplingParams(max_new_tokens=0))[0].token_ids == []


def test_context_limit_is_checked(sampler):
    with pytest.raises(ValueError, match="context"):
        sampler.generate([[1] * 250], SamplingParams(max_new_tokens=10))
    with pytest.raises(ValueError, match="empty"):
        sampler.generate([[]], SamplingParams(max_new_tokens=1))


def test_engine_stop_strings_cut_text(engine):
    prompt = "def fibonacci(n):\n"
    free = engine.generate([prompt], max_new_tokens=16)[0][0]
    assert free.finish_reason in ("length", "stop")
    text = free.text
    assert len(text) > 6
    stop = text[len(text) // 2: len(text) // 2 + 3]
    cut = text[:text.index(stop)]
    got = engine.generate([prompt], max_new_tokens=16, stop=[stop, "\u2603never"])[0][0]
    assert got.text == cut and got.finish_reason == "stop"
    assert len(got.token_ids) <= len(free.token_ids)
    assert got.prompt_tokens == len(engine.encode(prompt))


def test_engine_chat_and_n_samples(engine):
    msgs = [{"role": "user", "content": "write quicksort"}]
    one = engine.chat(msgs, max_new_tokens=8)
    assert len(one) == 1 and len(one[0]) == 1
    prompt = engine.render_chat(msgs)
    assert prompt.endswith("<|im_start|>assistant\n")
    assert one[0][0].text == engine.generate([prompt], max_new_tokens=8)[0][0].text
    many = engine.generate(["a", "b"], n=2, max_new_tokens=6, temperature=1.0, seed=1)
    assert [len(r) for r in many] == [2, 2]
    assert len({tuple(c.token_ids) for c in many[0]}) > 1


def test_requests_larger_than_max_batch_are_split(sampler):
    saved = sampler.max_batch
    sampler.max_batch = 4
    try:
        rows = sampler.generate([[1, 2, 3]] * 5, SamplingParams(max_new_tokens=5))
    finally:
        sampler.max_batch = saved
    assert len({tuple(r.token_ids) for r in rows}) == 1 and len(rows[0].token_ids) == 5
