"""Fuzzing the customer-system API (POST /api/v1/telemetry) with a valid API key: arbitrary JSON
bodies, well-shaped payloads with generated items (real and foreign attribute ids, every JSON type,
NUL characters, unpaired surrogates, huge numbers, deep nesting) and bytes that are not JSON or not
UTF-8. No answer may be a server error (see tests/security/fuzzing.py); every refusal is a JSON
error with a code."""

import json
from datetime import datetime

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import postgres_only
from tests.security.fuzzing import send, server_errors
from tests.security.report import REPORT

pytestmark = [postgres_only, pytest.mark.django_db]

EXAMPLES = 1000
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

ODD_TEXT = st.sampled_from(["", "\x00", "sso\x00", "\ud800", "a\udfffb", "\U0001f600", "x" * 300, " ", "null"])
TEXT = st.one_of(st.text(max_size=20), ODD_TEXT)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, 2**63, 2**64, -(2**63) - 1]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=10,
)
TIMES = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.sampled_from(["2024-01-01", "2024-13-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00Z"]),
    TEXT,
    NUMBERS,
)


def deep(levels: int):
    value = 1
    for _ in range(levels):
        value = {"a": [value]}
    return value


def payloads(world):
    attribute_ids = (
        st.sampled_from([world.own.attribute, world.foreign.attribute, world.missing.attribute, "0", "-1", "abc", ""])
        | st.integers()
        | st.none()
    )
    items = st.fixed_dictionaries(
        {"customerAttributeId": attribute_ids},
        optional={
            "value": st.one_of(JSON_VALUES, st.sampled_from([deep(30), deep(200), [0] * 1000])),
            "observedAt": TIMES,
            "source": TEXT,
            "notes": TEXT,
            "batchId": TEXT,
            "unknown": JSON_VALUES,
        },
    )
    shaped = st.fixed_dictionaries(
        {"values": st.lists(items, max_size=5)}, optional={"batchId": st.one_of(TEXT, NUMBERS, st.none())}
    ).map(json.dumps)
    plausible_items = st.fixed_dictionaries(  # the owned NUMBER attribute with a number: mostly stored
        {
            "customerAttributeId": st.just(world.own.attribute),
            "value": st.one_of(st.integers(min_value=-(10**6), max_value=10**6), st.floats(-1e9, 1e9)),
        },
        optional={
            "observedAt": st.datetimes(max_value=datetime(2026, 1, 1)).map(lambda moment: moment.isoformat() + "Z"),
            "source": TEXT,
            "notes": TEXT,
        },
    )
    plausible = st.fixed_dictionaries(
        {"values": st.lists(plausible_items, min_size=1, max_size=3)}, optional={"batchId": st.text(max_size=12)}
    ).map(json.dumps)
    return st.one_of(
        plausible,
        plausible,
        shaped,
        shaped,
        JSON_VALUES.map(json.dumps),  # any JSON at all
        st.binary(max_size=60),  # not JSON, not UTF-8
        st.just(
            '{"values": [{"customerAttributeId": "1", "value": ' + '{"a": [' * 5000 + "1" + "]}" * 5000 + "}]}"
        ),  # nested beyond the parser's recursion limit
        st.just('{"values": [' + ",".join(['{"customerAttributeId": "1", "value": 1}'] * 5001) + "]}"),
    )


counts = {"requests": 0, "stored": 0, "refused": 0}


def test_fuzz_telemetry_api(world):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.keys['own']}")

    @FUZZ
    @given(body=payloads(world))
    def run(body):
        response = send(client, "/api/v1/telemetry", body)
        problems = server_errors(response)
        assert not problems, (
            f"{problems}\nbody: {body[:2000]!r}\nanswer {response.status_code}: {response.content[:2000]!r}"
        )
        answer = response.json()
        if response.status_code == 200:
            counts["stored"] += 1
        else:
            assert set(answer) == {"error"} and answer["error"]["code"] and answer["error"]["message"], answer
            counts["refused"] += 1
        counts["requests"] += 1

    run()


def test_telemetry_api_fuzzing_summary():
    REPORT.add("Fuzz telemetry API", server_errors=0, **counts)
    assert counts["requests"] >= EXAMPLES
    assert counts["stored"] and counts["refused"]
