"""The OpenAI-compatible server on a real uvicorn (free localhost port, background thread),
driven by the official `openai` client: completions and chat, streaming and not; OpenAI-shaped
4xx errors for bad requests while it keeps serving; batching of concurrent requests; greedy
parity with transformers through HTTP."""
from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest

from tests.infer.reference import hf_greedy

openai = pytest.importorskip("openai")

MODEL = "tiny"


@pytest.fixture(scope="module")
def server(engine):
    from opencoder_jax.infer.server import BackgroundServer, ServerState, create_app

    state = ServerState(engine, model_name=MODEL)
    with BackgroundServer(create_app(state)) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def test_health_models_and_loading_state(server):
    from opencoder_jax.infer.server import BackgroundServer, ServerState, create_app

    assert httpx.get(server.url + "/health").status_code == 200
    models = httpx.get(server.url + "/v1/models").json()
    assert [m["id"] for m in models["data"]] == [MODEL]
    with BackgroundServer(create_app(ServerState(None, model_name=MODEL))) as loading:
        assert httpx.get(loading.url + "/health").status_code == 503
        r = httpx.post(loading.url + "/v1/completions", json={"model": MODEL, "prompt": "x"})
        assert r.status_code == 503 and set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_completions_plain_and_streaming(client, engine):
    prompt = "def add(a, b):\n"
    expected = engine.generate([prompt], max_new_tokens=12)[0][0]
    r = client.completions.create(model=MODEL, prompt=prompt, max_tokens=12, temperature=0)
    assert r.choices[0].text == expected.text
    assert r.choices[0].finish_reason == expected.finish_reason
    assert r.usage.prompt_tokens == expected.prompt_tokens
    assert r.usage.completion_tokens == len(expected.token_ids)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    pieces, finish = [], None
    for chunk in client.completions.create(model=MODEL, prompt=prompt, max_tokens=12, temperature=0, stream=True):
        pieces.append(chunk.choices[0].text)
        finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == expected.text and finish == expected.finish_reason
    assert len([p for p in pieces if p]) > 1  # really streamed in pieces


def test_completions_stop_list_n_and_multiple_prompts(client, engine):
    free = engine.generate(["x = "], max_new_tokens=12)[0][0].text
    stop = free[3:5]
    r = client.completions.create(model=MODEL, prompt="x = ", max_tokens=12, temperature=0, stop=[stop, "@@"])
    assert r.choices[0].text == free[:free.index(stop)] and r.choices[0].finish_reason == "stop"
    r = client.completions.create(model=MODEL, prompt="x = ", max_tokens=12, temperature=0, stop=stop)
    assert r.choices[0].text == free[:free.index(stop)]
    r = client.completions.create(model=MODEL, prompt=["a", "b"], max_tokens=4, n=2, temperature=1.0, seed=3)
    assert sorted(c.index for c in r.choices) == [0, 1, 2, 3]
    streamed = {}
    for chunk in client.completions.create(model=MODEL, prompt=["a", "b"], max_tokens=4, n=2, temperature=1.0,
                                           seed=3, stream=True, stream_options={"include_usage": True}):
        for c in chunk.choices:
            streamed[c.index] = streamed.get(c.index, "") + c.text
        if chunk.usage is not None:
            assert chunk.usage.completion_tokens == r.usage.completion_tokens
    assert streamed == {c.index: c.text for c in r.choices}


def test_chat_plain_and_streaming(client, engine):
    messages = [{"role": "system", "content": "You write Python."}, {"role": "user", "content": "sort a list"}]
    expected = engine.chat(messages, max_new_tokens=10)[0][0]
    r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=10, temperature=0)
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == expected.text
    assert r.usage.prompt_tokens == expected.prompt_tokens
    pieces, roles = [], []
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, max_tokens=10, temperature=0,
                                                stream=True):
        delta = chunk.choices[0].delta
        roles.append(delta.role)
        pieces.append(delta.content or "")
    assert roles[0] == "assistant" and "".join(pieces) == expected.text


BAD_REQUESTS = [
    ("/v1/completions", b"{not json", 400),
    ("/v1/completions", b"[1, 2]", 400),
    ("/v1/completions", {"model": "gpt-nope", "prompt": "x"}, 404),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "max_tokens": -1}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "max_tokens": "ten"}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "temperature": "hot"}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "temperature": -0.5}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "top_p": 3}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "n": 0}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "stop": 5}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "echo": True}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "logprobs": 1}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x" * 2000, "max_tokens": 4}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": "x", "max_tokens": 10_000}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": [1, 2, 99999]}, 400),
    ("/v1/completions", {"model": MODEL, "prompt": ""}, 400),
    ("/v1/completions", {"model": MODEL}, 400),
    ("/v1/chat/completions", {"model": MODEL, "messages": "hi"}, 400),
    ("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user"}]}, 400),
    ("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, 400),
    ("/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": "x" * 3000}]}, 400),
    ("/v1/chat/completions", {"model": "other", "messages": [{"role": "user", "content": "x"}]}, 404),
    ("/v1/nowhere", {"model": MODEL}, 404),
]


@pytest.mark.parametrize("path,body,status", BAD_REQUESTS, ids=[f"{i}" for i in range(len(BAD_REQUESTS))])
def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(server, path, body, status):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(server.url + path, content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert httpx.get(server.url + "/health").status_code == 200


def test_sdk_raises_for_bad_requests_and_then_works(client):
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="nope", prompt="x", max_tokens=1)
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL, prompt="x", max_tokens=-3)
    assert e.value.body["param"] == "max_tokens" if isinstance(e.value.body, dict) else True
    assert client.completions.create(model=MODEL, prompt="x", max_tokens=2, temperature=0).choices[0].finish_reason


def test_concurrent_requests_are_batched(client, engine):
    import time

    prompts = ["def a():", "def bb():", "class C:", "import os\n"]
    expected = [engine.generate([p], max_new_tokens=6)[0][0].text for p in prompts]
    before = len(engine.batch_sizes)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        with engine.hold():
            futures = [pool.submit(client.completions.create, model=MODEL, prompt=p, max_tokens=6, temperature=0)
                       for p in prompts]
            deadline = time.time() + 60
            while engine.pending() < len(prompts) and time.time() < deadline:
                time.sleep(0.01)
            assert engine.pending() == len(prompts)
        # leaving hold() lets the worker take all four at once
        results = [f.result().choices[0].text for f in futures]
    assert results == expected
    assert engine.batch_sizes[before:] == [4]


def test_greedy_parity_with_transformers_through_the_server(client, hf_model, engine):
    prompt_ids = [633, 537, 263, 525, 17, 99, 3]
    r = client.completions.create(model=MODEL, prompt=prompt_ids, max_tokens=16, temperature=0)
    ref, _ = hf_greedy(hf_model, prompt_ids, 16)
    ids = ref[:-1] if ref and ref[-1] == 632 else ref
    assert r.usage.completion_tokens == len(ids)
    assert r.choices[0].finish_reason == ("stop" if len(ids) < len(ref) else "length")
    assert r.choices[0].text == engine.decode(ids)  # transformers' ids, through our tokenizer
    text = "def fib(n):\n"  # and a text prompt, tokenized by the server
    r = client.completions.create(model=MODEL, prompt=text, max_tokens=16, temperature=0)
    ref, _ = hf_greedy(hf_model, engine.encode(text), 16)
    assert r.choices[0].text == engine.decode(ref[:-1] if ref and ref[-1] == 632 else ref)
