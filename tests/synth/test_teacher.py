"""EndpointTeacher against a scripted local endpoint: answers, retries with backoff and jitter on
connection errors / 5xx / 429 (Retry-After honoured), no retry on other 4xx, fatal auth/404."""
from __future__ import annotations

import random
import socket

import pytest

from opencoder_jax.synth.teacher import (EndpointTeacher, TeacherConfigError, TeacherRejected, TeacherUnavailable,
                                         base_url)
from tests.synth.scripted_endpoint import MODEL, ScriptedEndpoint

MSG = [{"role": "user", "content": "KEY please"}]


def teacher(url, sleeps, **kw):
    return EndpointTeacher(url, backoff_s=1.0, max_backoff_s=8.0, sleep=sleeps.append, rng=random.Random(0), **kw)


def test_base_url_forms():
    assert base_url("http://h:1") == base_url("http://h:1/") == base_url("http://h:1/v1/") == "http://h:1/v1"
    assert base_url("h:1") == "http://h:1/v1"


def test_answer_and_model_discovery():
    with ScriptedEndpoint({"KEY": ["hello"]}) as ep:
        sleeps = []
        t = teacher(ep.url, sleeps)
        assert t.complete(MSG, max_tokens=5, seed=3) == "hello"
        assert t.model == MODEL and t.retried == 0 and sleeps == []


def test_5xx_then_success_retries_with_growing_jittered_delays():
    with ScriptedEndpoint({"KEY": [500, 502, 503, "ok"]}) as ep:
        sleeps = []
        t = teacher(ep.url, sleeps, model=MODEL)
        assert t.complete(MSG) == "ok"
        assert t.retried == 3 and ep.calls["KEY"] == 4
        # retry k waits in [cap/2, cap], cap = min(8, 1 * 2**k)
        for k, d in enumerate(sleeps):
            cap = min(8.0, 2.0 ** k)
            assert cap / 2 <= d <= cap
        assert sleeps[0] < sleeps[2]


def test_429_honours_retry_after():
    with ScriptedEndpoint({"KEY": [("retry-after", 429, 5), "ok"]}) as ep:
        sleeps = []
        assert teacher(ep.url, sleeps, model=MODEL).complete(MSG) == "ok"
        assert sleeps == [5.0]  # above the first backoff (<= 1 s)


def test_other_4xx_is_not_retried_and_rejects_the_request():
    with ScriptedEndpoint({"KEY": [400, "never"]}) as ep:
        sleeps = []
        with pytest.raises(TeacherRejected, match="HTTP 400"):
            teacher(ep.url, sleeps, model=MODEL).complete(MSG)
        assert ep.calls["KEY"] == 1 and sleeps == []


def test_unknown_model_is_a_configuration_error():
    with ScriptedEndpoint({"KEY": ["x"]}) as ep:
        with pytest.raises(TeacherConfigError, match="404"):
            teacher(ep.url, [], model="nope").complete(MSG)


def test_connection_refused_gives_up_after_all_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    sleeps = []
    t = teacher(f"http://127.0.0.1:{port}", sleeps, model=MODEL, retries=3)
    with pytest.raises(TeacherUnavailable, match="4 attempts"):
        t.complete(MSG)
    assert len(sleeps) == 3 and t.retried == 3


def test_persistent_5xx_gives_up():
    with ScriptedEndpoint({"KEY": [503]}) as ep:
        with pytest.raises(TeacherUnavailable, match="HTTP 503"):
            teacher(ep.url, [], model=MODEL, retries=2).complete(MSG)
        assert ep.calls["KEY"] == 3
