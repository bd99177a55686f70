"""Success-criteria engine and its edge cases: pure Python, no database."""

import math
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry import criteria as criteria_module
from telemetry.criteria import (
    ALL_OPS,
    CLOCK_SKEW_TOLERANCE,
    COMPOSITE_KEYS,
    DATA_TYPES,
    LEAF_KEYS,
    MAX_REGEX_LENGTH,
    MAX_REGEX_SUBJECT_LENGTH,
    OPS_BY_TYPE,
    CriteriaValidationError,
    CriterionError,
    Prepared,
    check_criterion,
    describe,
    evaluate,
    normalize_criterion,
    validate_criterion,
    validate_value,
)

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def ev(criterion, data_type, value, **kwargs):
    kwargs.setdefault("now", NOW)
    return evaluate(criterion, data_type, value, **kwargs)


def paths(criterion, data_type):
    return [e.path for e in validate_criterion(criterion, data_type)]


# --------------------------------------------------------------------------------------------------
# every op of every data type, true and false

B, N, S, T, J = DATA_TYPES

LEAF_CASES = [
    # BOOLEAN
    (B, {"op": "eq", "value": True}, True, True),
    (B, {"op": "eq", "value": True}, False, False),
    (B, {"op": "eq", "value": False}, False, True),
    (B, {"op": "eq", "value": True}, 1, False),  # 1 is not a boolean
    (B, {"op": "eq", "value": False}, 0, False),
    (B, {"op": "exists"}, False, True),
    (B, {"op": "exists"}, None, False),
    # NUMBER
    (N, {"op": "eq", "value": 5}, 5, True),
    (N, {"op": "eq", "value": 5}, 5.0, True),
    (N, {"op": "eq", "value": 5}, 6, False),
    (N, {"op": "eq", "value": 1}, True, False),  # bool is not a number
    (N, {"op": "eq", "value": 5}, "5", False),
    (N, {"op": "ne", "value": 5}, 6, True),
    (N, {"op": "ne", "value": 5}, 5, False),
    (N, {"op": "ne", "value": 5}, "abc", False),  # cannot be compared: does not meet
    (N, {"op": "ne", "value": 5}, float("nan"), False),
    (N, {"op": "gt", "value": 5}, 6, True),
    (N, {"op": "gt", "value": 5}, 5, False),
    (N, {"op": "gt", "value": 5}, "10", False),
    (N, {"op": "gt", "value": 0}, True, False),
    (N, {"op": "gt", "value": 0}, float("inf"), False),
    (N, {"op": "gt", "value": 0.5}, Decimal("0.75"), True),
    (N, {"op": "gte", "value": 5}, 5, True),
    (N, {"op": "gte", "value": 5}, 4.999, False),
    (N, {"op": "lt", "value": 5}, 4, True),
    (N, {"op": "lt", "value": 5}, 5, False),
    (N, {"op": "lte", "value": 5}, 5, True),
    (N, {"op": "lte", "value": 5}, 5.1, False),
    (N, {"op": "lte", "value": 5}, None, False),
    (N, {"op": "between", "value": [1, 5]}, 1, True),
    (N, {"op": "between", "value": [1, 5]}, 5, True),
    (N, {"op": "between", "value": [1, 5]}, 3.3, True),
    (N, {"op": "between", "value": [1, 5]}, 0.99, False),
    (N, {"op": "between", "value": [1, 5]}, 6, False),
    (N, {"op": "between", "value": [2, 2]}, 2, True),
    (N, {"op": "between", "value": [1, 5]}, [3], False),
    (N, {"op": "exists"}, 0, True),
    (N, {"op": "exists"}, None, False),
    # STRING
    (S, {"op": "eq", "value": "abc"}, "abc", True),
    (S, {"op": "eq", "value": "abc"}, "ABC", False),
    (S, {"op": "eq", "value": "abc", "caseSensitive": False}, "ABC", True),
    (S, {"op": "eq", "value": "abc", "caseSensitive": True}, "ABC", False),
    (S, {"op": "eq", "value": "straße", "caseSensitive": False}, "STRASSE", True),
    (S, {"op": "eq", "value": "5"}, 5, False),
    (S, {"op": "ne", "value": "abc"}, "abd", True),
    (S, {"op": "ne", "value": "abc"}, "abc", False),
    (S, {"op": "ne", "value": "abc"}, "ABC", True),
    (S, {"op": "ne", "value": "abc", "caseSensitive": False}, "ABC", False),
    (S, {"op": "ne", "value": "abc"}, 7, False),
    (S, {"op": "contains", "value": "b"}, "abc", True),
    (S, {"op": "contains", "value": "b"}, "xyz", False),
    (S, {"op": "contains", "value": "B"}, "abc", False),
    (S, {"op": "contains", "value": "B", "caseSensitive": False}, "abc", True),
    (S, {"op": "contains", "value": ""}, "", True),
    (S, {"op": "regex", "value": r"^7\."}, "7.1.2", True),
    (S, {"op": "regex", "value": r"^7\."}, "17.1", False),
    (S, {"op": "regex", "value": r"\d+"}, "build-12", True),  # re.search, not fullmatch
    (S, {"op": "regex", "value": "^v"}, "V1", False),
    (S, {"op": "regex", "value": "^v", "caseSensitive": False}, "V1", True),
    (S, {"op": "regex", "value": "a"}, ["a"], False),
    (S, {"op": "in", "value": ["a", "b"]}, "a", True),
    (S, {"op": "in", "value": ["a", "b"]}, "c", False),
    (S, {"op": "in", "value": ["a", "b"]}, "A", False),
    (S, {"op": "in", "value": ["a", "b"], "caseSensitive": False}, "A", True),
    (S, {"op": "in", "value": []}, "a", False),
    (S, {"op": "exists"}, "", True),
    (S, {"op": "exists"}, None, False),
    # TIMESTAMP
    (T, {"op": "before", "value": "2024-01-01"}, "2023-12-31T23:59:59Z", True),
    (T, {"op": "before", "value": "2024-01-01"}, "2024-01-01T00:00:00Z", False),  # strict
    (T, {"op": "before", "value": "2024-01-01"}, "2024-01-01T00:30:00+01:00", True),  # 23:30 UTC
    (T, {"op": "before", "value": "2024-01-01T00:00:00Z"}, "2023-12-31", True),
    (T, {"op": "before", "value": "2024-01-01"}, "yesterday", False),
    (T, {"op": "before", "value": "2024-01-01"}, 20230101, False),
    (T, {"op": "after", "value": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:01Z", True),
    (T, {"op": "after", "value": "2024-01-01T00:00:00Z"}, "2024-01-01", False),  # equal: strict
    (T, {"op": "after", "value": "2024-01-01T00:00:00"}, "2024-01-01T01:00:00+01:00", False),  # naive = UTC
    (T, {"op": "after", "value": "2024-01-01T00:00:00"}, "2024-01-01T01:00:00+00:30", True),
    (T, {"op": "after", "value": "2024-01-01"}, "2024-06-01t10:00:00z", True),
    (T, {"op": "within_days", "value": 7}, "2024-06-08T12:00:00Z", True),  # boundary included
    (T, {"op": "within_days", "value": 7}, "2024-06-08T11:59:59Z", False),
    (T, {"op": "within_days", "value": 7}, "2024-06-14", True),
    (T, {"op": "within_days", "value": 7}, "2024-06-01", False),
    (T, {"op": "within_days", "value": 7}, "2024-06-15T12:05:00Z", True),  # clock skew: up to 5 minutes ahead
    (T, {"op": "within_days", "value": 7}, "2024-06-15T12:05:01Z", False),  # further ahead is not "recent"
    (T, {"op": "within_days", "value": 7}, "2024-06-20T00:00:00Z", False),
    (T, {"op": "within_days", "value": 1e300}, "2099-01-01T00:00:00Z", False),
    (T, {"op": "within_days", "value": 0}, "2024-06-15T12:00:00Z", True),
    (T, {"op": "within_days", "value": 0}, "2024-06-15T11:59:59Z", False),
    (T, {"op": "within_days", "value": 0.5}, "2024-06-15T00:00:00Z", True),
    (T, {"op": "within_days", "value": 0.5}, "2024-06-14T23:59:59Z", False),
    (T, {"op": "within_days", "value": 1e300}, "0001-01-01T00:00:00Z", True),
    (T, {"op": "within_days", "value": 7}, "last week", False),
    (T, {"op": "exists"}, "2024-01-01", True),
    (T, {"op": "exists"}, None, False),
    # JSON: ops by the JSON type of the value at the path
    (J, {"op": "eq", "value": "strict", "path": "config.mode"}, {"config": {"mode": "strict"}}, True),
    (J, {"op": "eq", "value": "strict", "path": "config.mode"}, {"config": {"mode": "lax"}}, False),
    (J, {"op": "eq", "value": "strict", "path": "config.mode"}, {"config": {}}, False),
    (J, {"op": "eq", "value": "x", "path": "items.0.name"}, {"items": [{"name": "x"}]}, True),
    (J, {"op": "eq", "value": "x", "path": "items.1.name"}, {"items": [{"name": "x"}]}, False),
    (J, {"op": "eq", "value": True, "path": "flag"}, {"flag": True}, True),
    (J, {"op": "eq", "value": 1, "path": "flag"}, {"flag": True}, False),
    (J, {"op": "eq", "value": "B", "path": "s", "caseSensitive": False}, {"s": "b"}, True),
    (J, {"op": "eq", "value": "beta", "path": "tags"}, {"tags": ["beta"]}, False),  # no eq on a list
    (J, {"op": "ne", "value": True, "path": "flag"}, {"flag": False}, True),
    (J, {"op": "ne", "value": True, "path": "flag"}, {"flag": True}, False),
    (J, {"op": "ne", "value": 3, "path": "n"}, {"n": "x"}, False),
    (J, {"op": "gt", "value": 3, "path": "n"}, {"n": 4}, True),
    (J, {"op": "gt", "value": 3, "path": "n"}, {"n": "4"}, False),
    (J, {"op": "gt", "value": 0, "path": "n"}, {"n": [1, 2]}, False),  # no gt on a list
    (J, {"op": "gte", "value": 3, "path": "n"}, {"n": 3}, True),
    (J, {"op": "gte", "value": 3, "path": "n"}, {"n": 2}, False),
    (J, {"op": "lt", "value": 3, "path": "n"}, {"n": -1}, True),
    (J, {"op": "lt", "value": 3, "path": "n"}, {"n": False}, False),
    (J, {"op": "lte", "value": 3, "path": "n"}, {"n": 3.0}, True),
    (J, {"op": "lte", "value": 3, "path": "n"}, {"m": 1}, False),
    (J, {"op": "between", "value": [1, 2], "path": "a.b"}, {"a": {"b": 1.5}}, True),
    (J, {"op": "between", "value": [1, 2], "path": "a.b"}, {"a": {"b": 2.5}}, False),
    (J, {"op": "contains", "value": "beta", "path": "tags"}, {"tags": ["alpha", "beta"]}, True),
    (J, {"op": "contains", "value": "beta", "path": "tags"}, {"tags": ["alpha"]}, False),
    (J, {"op": "contains", "value": "bet", "path": "tags"}, {"tags": ["alpha", "beta"]}, False),
    (J, {"op": "contains", "value": "BETA", "path": "tags"}, {"tags": ["beta"]}, False),
    (
        J,
        {"op": "contains", "value": "BETA", "path": "tags", "caseSensitive": False},
        {"tags": ["beta"]},
        True,
    ),
    (J, {"op": "contains", "value": 2}, [1, 2, 3], True),
    (J, {"op": "contains", "value": 1}, [True], False),  # True is not 1
    (J, {"op": "contains", "value": {"id": 1}}, [{"id": 1}, {"id": 2}], True),
    (J, {"op": "contains", "value": [1, 2]}, [[1, 2]], True),
    (J, {"op": "contains", "value": "ell"}, "hello", True),  # a string: substring
    (J, {"op": "contains", "value": 1}, "1", False),
    (J, {"op": "contains", "value": "a"}, {"a": 1}, False),  # an object only exists
    (J, {"op": "regex", "value": "^ac", "path": "name"}, {"name": "acme"}, True),
    (J, {"op": "regex", "value": "^ac", "path": "name"}, {"name": ["acme"]}, False),
    (J, {"op": "in", "value": [1, 2], "path": "count"}, {"count": 2}, True),
    (J, {"op": "in", "value": [1, 2], "path": "count"}, {"count": True}, False),
    (J, {"op": "in", "value": ["a", "B"], "caseSensitive": False}, "b", True),
    (J, {"op": "in", "value": ["a"], "path": "tags"}, {"tags": ["a"]}, False),
    (J, {"op": "before", "value": "2024-01-01", "path": "when"}, {"when": "2023-05-01T00:00:00Z"}, True),
    (J, {"op": "before", "value": "2024-01-01", "path": "when"}, {"when": "nope"}, False),
    (J, {"op": "after", "value": "2024-01-01", "path": "when"}, {"when": "2024-05-01"}, True),
    (J, {"op": "after", "value": "2024-01-01", "path": "when"}, {"when": 1714521600}, False),
    (J, {"op": "within_days", "value": 7, "path": "seen"}, {"seen": "2024-06-10T00:00:00+02:00"}, True),
    (J, {"op": "within_days", "value": 7, "path": "seen"}, {"seen": "2024-05-10T00:00:00"}, False),
    (J, {"op": "exists", "path": "x"}, {"x": 0}, True),
    (J, {"op": "exists", "path": "x"}, {"x": False}, True),
    (J, {"op": "exists", "path": "x"}, {"x": []}, True),
    (J, {"op": "exists", "path": "x"}, {"x": None}, False),  # null counts as no value
    (J, {"op": "exists", "path": "x"}, {"y": 1}, False),
    (J, {"op": "exists", "path": "tags.1"}, {"tags": ["a", "b"]}, True),
    (J, {"op": "exists", "path": "tags.2"}, {"tags": ["a", "b"]}, False),
    (J, {"op": "exists", "path": "tags.-1"}, {"tags": ["a", "b"]}, False),
    (J, {"op": "exists", "path": "tags.first"}, {"tags": ["a", "b"]}, False),
    (J, {"op": "exists", "path": "a.b"}, {"a": 5}, False),
    (J, {"op": "eq", "value": "x", "path": "0"}, {"0": "x"}, True),  # digit keys of objects
    (J, {"op": "eq", "value": "x", "path": "0"}, ["x"], True),
    (J, {"op": "exists"}, {"anything": None}, True),
]


@pytest.mark.parametrize(("data_type", "criterion", "value", "expected"), LEAF_CASES)
def test_leaf(data_type, criterion, value, expected):
    assert validate_criterion(criterion, data_type) == []
    assert ev(criterion, data_type, value) is expected
    assert ev({"not": criterion}, data_type, value) is (not expected)


def test_a_prepared_criterion_evaluates_every_value_as_evaluate_does():
    """Evaluation checks each distinct criterion once and evaluates it against many values."""
    by_criterion = {}
    for data_type, criterion, value, expected in LEAF_CASES:
        by_criterion.setdefault((data_type, repr(criterion)), (criterion, []))[1].append((value, expected))
    for (data_type, _), (criterion, cases) in by_criterion.items():
        prepared = Prepared(criterion, data_type)
        for value, expected in cases + cases:
            assert prepared.evaluate(value, now=NOW) is expected is ev(criterion, data_type, value)
            assert prepared.evaluate(value, has_value=False, now=NOW) is False
    assert Prepared({"op": "nope"}, "NUMBER").evaluate(1) is False
    assert Prepared(None, "NUMBER").evaluate(1) is Prepared({}, "BOOLEAN").evaluate(False) is True
    assert Prepared({}, "NOT A TYPE").evaluate(1) is False


def _general_walk(criterion, data_type, value):
    """What evaluation gives without the shortcut for simple leaves (a valid criterion, a value)."""
    try:
        return bool(criteria_module._eval_node(criterion, data_type, value, NOW))
    except Exception:
        return False


ANY_VALUE = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.decimals()
    | st.text(max_size=3)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
)
SIMPLE_LEAVES = st.tuples(
    st.just("NUMBER"),
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"]),
            "value": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
        }
    ),
) | st.tuples(st.just("BOOLEAN"), st.fixed_dictionaries({"op": st.just("eq"), "value": st.booleans()}))


@settings(max_examples=500, deadline=None)
@given(SIMPLE_LEAVES, ANY_VALUE)
def test_simple_leaves_evaluate_as_the_general_walk_does(leaf, value):
    data_type, criterion = leaf
    prepared = Prepared(criterion, data_type)
    assert prepared._simple is not None  # the shortcut is taken for these leaves
    assert prepared.evaluate(value, now=NOW) is _general_walk(criterion, data_type, value)


def test_leaf_cases_cover_every_op_of_every_type_both_ways():
    seen = {(dt, c["op"], expected) for dt, c, _, expected in LEAF_CASES}
    for data_type, ops in OPS_BY_TYPE.items():
        for op in ops:
            assert (data_type, op, True) in seen, (data_type, op)
            assert (data_type, op, False) in seen, (data_type, op)


def test_ops_by_type():
    assert set(OPS_BY_TYPE) == set(DATA_TYPES)
    assert OPS_BY_TYPE["BOOLEAN"] == ("eq", "exists")
    assert set(OPS_BY_TYPE["JSON"]) == set(ALL_OPS)


# --------------------------------------------------------------------------------------------------
# composites, missing values, no criteria


def test_empty_composites():
    assert ev({"all": []}, N, 1) is True
    assert ev({"any": []}, N, 1) is False
    assert ev({"not": {"all": []}}, N, 1) is False
    assert ev({"not": {"any": []}}, N, 1) is True


NESTED = {
    "all": [
        {"any": [{"not": {"op": "lt", "value": 10}}, {"op": "eq", "value": 0}]},
        {"not": {"any": [{"op": "between", "value": [50, 60]}, {"all": [{"op": "gt", "value": 90}]}]}},
    ]
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, True),
        (5, False),
        (10, True),
        (49.9, True),
        (50, False),
        (60, False),
        (61, True),
        (90, True),
        (91, False),
    ],
)
def test_composites_nested_three_deep(value, expected):
    assert validate_criterion(NESTED, N) == []
    assert ev(NESTED, N, value) is expected


def test_nested_json_composite():
    criterion = {
        "any": [
            {
                "all": [
                    {"op": "eq", "value": "strict", "path": "mode"},
                    {"not": {"op": "exists", "path": "off"}},
                ]
            },
            {"op": "contains", "value": "admin", "path": "roles", "caseSensitive": False},
        ]
    }
    assert ev(criterion, J, {"mode": "strict"}) is True
    assert ev(criterion, J, {"mode": "strict", "off": 1}) is False
    assert ev(criterion, J, {"mode": "lax", "roles": ["ADMIN"]}) is True
    assert ev(criterion, J, {"mode": "lax", "roles": "SUPERADMIN"}) is True  # a string: substring
    assert ev(criterion, J, {"mode": "lax", "roles": ["superadmin"]}) is False  # a list: element
    assert ev(criterion, J, "strict") is False


@pytest.mark.parametrize(
    "criterion",
    [None, {}, {"op": "exists"}, {"all": []}, {"any": []}, {"not": {"op": "eq", "value": True}}, {"not": {}}],
)
def test_attribute_without_values_is_never_met(criterion):
    assert ev(criterion, B, None, has_value=False) is False
    assert ev(criterion, B, True, has_value=False) is False


def test_no_criteria_is_met_iff_there_is_a_value():
    for criterion in (None, {}):
        for data_type, value in [(B, False), (N, 0), (S, ""), (T, "2024-01-01"), (J, {"a": None})]:
            assert ev(criterion, data_type, value) is True
            assert ev(criterion, data_type, value, has_value=False) is False


def test_invalid_criterion_never_meets():
    # e.g. a criterion left over after the attribute's data type changed
    assert ev({"op": "gt", "value": 5}, S, "abc") is False
    assert ev({"not": {"op": "gt", "value": 5}}, S, "abc") is False
    assert ev({"op": "eq", "value": True}, N, 1) is False
    assert ev({"all": [{}]}, N, 1) is False
    assert ev({"op": "eq", "value": 1}, "DATE", 1) is False
    assert ev([{"op": "exists"}], N, 1) is False
    assert ev("anything", N, 1) is False


def test_within_days_uses_now():
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert evaluate({"op": "within_days", "value": 1}, T, recent) is True
    assert evaluate({"op": "within_days", "value": 1}, T, "2000-01-01") is False
    naive_now = datetime(2024, 6, 15, 12, 0)
    assert ev({"op": "within_days", "value": 1}, T, "2024-06-14T12:00:00Z", now=naive_now) is True
    assert ev({"op": "within_days", "value": 1}, T, "2024-06-14T11:59:00Z", now=naive_now) is False
    plus2 = datetime(2024, 6, 15, 14, 0, tzinfo=timezone(timedelta(hours=2)))  # == NOW
    assert ev({"op": "within_days", "value": 1}, T, "2024-06-14T12:00:00Z", now=plus2) is True
    assert ev({"op": "within_days", "value": 1}, T, "2024-06-14T11:59:00Z", now=plus2) is False


def test_timestamp_values_may_be_datetime_objects():
    assert ev({"op": "after", "value": "2024-01-01"}, T, datetime(2024, 2, 1, tzinfo=UTC)) is True
    assert ev({"op": "within_days", "value": 1}, T, NOW - timedelta(hours=3)) is True


def test_within_days_counts_a_future_timestamp_only_within_the_clock_skew_tolerance():
    # 2099 used to be "within 7 days" for ever; now only clock skew (the ingestion tolerance) counts.
    assert CLOCK_SKEW_TOLERANCE == timedelta(minutes=5)
    ahead = NOW + CLOCK_SKEW_TOLERANCE
    assert ev({"op": "within_days", "value": 7}, T, ahead.isoformat()) is True
    assert ev({"op": "within_days", "value": 7}, T, (ahead + timedelta(seconds=1)).isoformat()) is False
    assert ev({"op": "within_days", "value": 7}, T, "2099-01-01") is False
    assert ev({"not": {"op": "within_days", "value": 7}}, T, "2099-01-01") is True
    assert ev({"op": "within_days", "value": 7, "path": "seen"}, J, {"seen": "2099-01-01T00:00:00Z"}) is False
    assert ev({"op": "within_days", "value": 7}, T, NOW + timedelta(days=3)) is False


# --------------------------------------------------------------------------------------------------
# regular expressions: RE2, linear time whatever the pattern


def test_pathological_regex_is_evaluated_in_linear_time():
    criterion = {"op": "regex", "value": "^(a+)+$"}
    assert validate_criterion(criterion, S) == []
    evil = "a" * 26 + "!"  # seconds with backtracking, doubling with every further "a"
    started = time.perf_counter()
    results = [
        ev(criterion, S, evil),
        ev({**criterion, "caseSensitive": False}, S, evil.upper()),
        ev({**criterion, "path": "name"}, J, {"name": evil}),
        ev(criterion, S, "a" * (MAX_REGEX_SUBJECT_LENGTH - 1) + "!"),
    ]
    elapsed = time.perf_counter() - started
    assert results == [False, False, False, False]
    assert elapsed < 0.5
    assert ev(criterion, S, "a" * 26) is True
    assert ev({**criterion, "caseSensitive": False}, S, "A" * 26) is True


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?=a)", "invalid perl operator: (?="),  # look-ahead: Python's re takes it, RE2 does not
        (r"(a)\1", r"invalid escape sequence: \1"),  # backreference
        (r"end\Z", r"invalid escape sequence: \Z"),
        ("(", "missing ): ("),
        ("(a{1000}){1000}", "invalid repetition size: {1000}"),
    ],
)
def test_regex_that_re2_cannot_compile_is_rejected_naming_the_path(pattern, reason):
    criterion = {"all": [{"op": "exists"}, {"op": "regex", "value": pattern}]}
    message = f"invalid regular expression (RE2 syntax): {reason}"
    assert validate_criterion(criterion, S) == [CriterionError("all[1].value", message)]
    assert validate_criterion({"op": "regex", "value": pattern, "path": "a"}, J) == [CriterionError("value", message)]
    with pytest.raises(CriteriaValidationError, match=r"^all\[1\]\.value: invalid regular expression"):
        check_criterion(criterion, S)
    assert ev({"op": "regex", "value": pattern}, S, "a") is False  # such a stored criterion never meets
    assert ev({"not": {"op": "regex", "value": pattern}}, S, "a") is False


def test_regex_pattern_length_is_capped():
    assert MAX_REGEX_LENGTH == 500
    assert validate_criterion({"op": "regex", "value": "a" * 500}, S) == []
    assert validate_criterion({"any": [{"op": "regex", "value": "a" * 501}]}, S) == [
        CriterionError("any[0].value", "regular expression is longer than 500 characters")
    ]


def test_regex_never_meets_a_string_longer_than_the_cap():
    assert MAX_REGEX_SUBJECT_LENGTH == 10_000
    assert ev({"op": "regex", "value": "b$"}, S, "a" * 9_999 + "b") is True
    assert ev({"op": "regex", "value": "b$"}, S, "a" * 10_000 + "b") is False
    assert ev({"op": "contains", "value": "b"}, S, "a" * 10_000 + "b") is True  # only regex is capped


# --------------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    ("criterion", "data_type", "expected_paths"),
    [
        ({"op": "foo", "value": 1}, N, ["op"]),
        ({"op": 3, "value": 1}, N, ["op"]),
        ({"value": 1}, N, ["op"]),
        ({"op": "gt", "value": 1}, B, ["op"]),
        ({"op": "contains", "value": "a"}, N, ["op"]),
        ({"op": "within_days", "value": 1}, S, ["op"]),
        ({"op": "eq", "value": "x"}, T, ["op"]),
        ({"all": [{"op": "gt", "value": 1}, {"op": "gt", "value": "x"}]}, N, ["all[1].value"]),
        ({"any": [{"not": {"op": "bogus"}}]}, S, ["any[0].not.op"]),
        ({"op": "eq", "value": 1}, B, ["value"]),
        ({"op": "eq", "value": "true"}, B, ["value"]),
        ({"op": "gt", "value": True}, N, ["value"]),
        ({"op": "gt", "value": "5"}, N, ["value"]),
        ({"op": "gt", "value": float("nan")}, N, ["value"]),
        ({"op": "eq", "value": float("inf")}, N, ["value"]),
        ({"op": "between", "value": [5, 1]}, N, ["value"]),
        ({"op": "between", "value": [1]}, N, ["value"]),
        ({"op": "between", "value": [1, True]}, N, ["value"]),
        ({"op": "between", "value": "1-5"}, N, ["value"]),
        ({"op": "eq", "value": 5}, S, ["value"]),
        ({"op": "regex", "value": "("}, S, ["value"]),
        ({"op": "regex", "value": 5}, S, ["value"]),
        ({"op": "in", "value": ["a", 1]}, S, ["value[1]"]),
        ({"op": "in", "value": "a"}, S, ["value"]),
        ({"op": "eq", "value": "a", "extra": 1}, S, ["extra"]),
        ({"op": "eq", "value": "a", "caseSensitive": "no"}, S, ["caseSensitive"]),
        ({"op": "gt", "value": 1, "caseSensitive": False}, N, ["caseSensitive"]),
        ({"op": "exists", "value": 1}, N, ["value"]),
        ({"op": "eq"}, N, ["value"]),
        ({"op": "eq", "value": 1, "path": "a"}, N, ["path"]),
        ({"op": "exists", "path": "a"}, S, ["path"]),
        ({"op": "eq", "value": 1, "path": ""}, J, ["path"]),
        ({"op": "eq", "value": 1, "path": "a..b"}, J, ["path"]),
        ({"op": "eq", "value": 1, "path": ".a"}, J, ["path"]),
        ({"op": "eq", "value": 1, "path": 3}, J, ["path"]),
        ({"op": "before", "value": "soon"}, T, ["value"]),
        ({"op": "before", "value": "2024-13-01"}, T, ["value"]),
        ({"op": "after", "value": 1700000000}, T, ["value"]),
        ({"op": "within_days", "value": -1}, T, ["value"]),
        ({"op": "within_days", "value": "7"}, T, ["value"]),
        ({"op": "within_days", "value": True}, T, ["value"]),
        ({"op": "between", "value": ["a", "b"]}, J, ["value"]),
        ({"op": "in", "value": 5}, J, ["value"]),
        ({"op": "in", "value": [1, {"a": 1}]}, J, ["value[1]"]),
        ({"op": "eq", "value": {"a": 1}}, J, ["value"]),
        ({"op": "eq", "value": None}, J, ["value"]),
        ({"op": "contains", "value": None}, J, ["value"]),
        ({"op": "regex", "value": "[a-"}, J, ["value"]),
        ({"op": "within_days", "value": -0.5}, J, ["value"]),
        ({"all": {"op": "eq", "value": 1}}, N, ["all"]),
        ({"any": None}, N, ["any"]),
        ({"all": [], "any": []}, N, [""]),
        ({"not": {"op": "exists"}, "op": "exists"}, N, [""]),
        ({"not": 5}, N, ["not"]),
        ({"not": {}}, N, ["not.op"]),
        ({"all": [{}]}, N, ["all[0].op"]),
        (
            {"all": [{"op": "foo"}, {"op": "gt", "value": "x", "bar": 1}]},
            N,
            ["all[0].op", "all[1].bar", "all[1].value"],
        ),
        ({"all": [{"any": [{"not": {"op": "gt", "value": 1}}]}]}, B, ["all[0].any[0].not.op"]),
        ([], N, [""]),
        ("eq 5", N, [""]),
        ({"op": "eq", "value": 1}, "DATE", [""]),
    ],
)
def test_validation_error_paths(criterion, data_type, expected_paths):
    errors = validate_criterion(criterion, data_type)
    assert [e.path for e in errors] == expected_paths
    assert all(isinstance(e, CriterionError) and e.message for e in errors)


def test_validation_accepts():
    assert validate_criterion(None, N) == []
    assert validate_criterion({}, N) == []
    assert validate_criterion({"op": "exists"}, N) == []
    assert validate_criterion({"op": "in", "value": []}, S) == []
    assert validate_criterion({"op": "between", "value": [1, 1.0]}, N) == []
    assert validate_criterion({"op": "within_days", "value": 0}, T) == []
    assert validate_criterion({"op": "before", "value": "2024-01-01T00:00:00"}, T) == []
    assert validate_criterion({"op": "exists", "path": "a.0.b"}, J) == []
    assert validate_criterion({"op": "contains", "value": {"id": [1, None]}, "path": "x"}, J) == []
    assert validate_criterion({"op": "eq", "value": "a", "caseSensitive": False}, J) == []


def test_validation_messages():
    [error] = validate_criterion({"op": "gt", "value": 1}, B)
    assert error.message == "op 'gt' does not apply to BOOLEAN attributes (allowed: eq, exists)"
    [error] = validate_criterion({"op": "gt", "value": "x"}, N)
    assert error.message == "must be a finite number, got string 'x'"
    [error] = validate_criterion({"op": "regex", "value": "("}, S)
    assert error.message.startswith("invalid regular expression")
    [error] = validate_criterion({"op": "eq", "value": 1, "path": "a"}, N)
    assert error.message == "path is only allowed for JSON attributes, not NUMBER"


def test_too_deeply_nested_criteria_are_rejected():
    criterion = {"op": "exists"}
    for _ in range(40):
        criterion = {"not": criterion}
    errors = validate_criterion(criterion, N)
    assert len(errors) == 1 and errors[0].path.startswith("not.not")
    assert ev(criterion, N, 1) is False
    assert ev({"not": criterion}, N, 1) is False
    assert isinstance(describe(criterion, "x", N), str)


def test_check_and_normalize():
    criterion = {"op": "gt", "value": 1}
    assert check_criterion(criterion, N) is criterion
    assert check_criterion(None, N) == {}
    assert normalize_criterion(None) == {}
    assert normalize_criterion(criterion) is criterion
    with pytest.raises(CriteriaValidationError) as info:
        normalize_criterion([1])
    assert [e.path for e in info.value.errors] == [""]
    with pytest.raises(CriteriaValidationError) as info:
        check_criterion({"all": [{"op": "gt", "value": 1}, {"op": "gt", "value": "x", "bar": 1}]}, N)
    assert isinstance(info.value, ValueError)
    assert [e.path for e in info.value.errors] == ["all[1].bar", "all[1].value"]
    assert str(info.value) == (
        "all[1].bar: unknown key (a leaf takes op, value, path, caseSensitive); "
        "all[1].value: must be a finite number, got string 'x'"
    )
    with pytest.raises(CriteriaValidationError, match=r"^\(root\): "):
        check_criterion("x", N)


# --------------------------------------------------------------------------------------------------
# telemetry values


@pytest.mark.parametrize(
    ("value", "data_type"),
    [
        (True, B),
        (False, B),
        (0, N),
        (-3.5, N),
        (10**30, N),
        (Decimal("1.5"), N),
        ("", S),
        ("abc", S),
        ("2024-01-01T10:00:00Z", T),
        ("2024-01-01T10:00:00+02:00", T),
        ("2024-01-01 10:00:00.123456-05:00", T),
        ("2024-01-01", T),
        ({"a": [1, None, {"b": "c"}]}, J),
        ([], J),
        ("x", J),
        (0, J),
        (False, J),
    ],
)
def test_validate_value_accepts(value, data_type):
    assert validate_value(value, data_type) is None


@pytest.mark.parametrize(
    ("value", "data_type", "message"),
    [
        (1, B, "expected BOOLEAN, got number 1"),
        ("true", B, "expected BOOLEAN, got string 'true'"),
        (True, N, "expected NUMBER, got boolean true"),
        ("abc", N, "expected NUMBER, got string 'abc'"),
        (float("nan"), N, "expected NUMBER (a finite number), got non-finite number nan"),
        (float("inf"), N, "expected NUMBER (a finite number), got non-finite number inf"),
        ([1], N, "expected NUMBER, got array"),
        (5, S, "expected STRING, got number 5"),
        ({"a": 1}, S, "expected STRING, got object"),
        (None, B, "expected BOOLEAN, got null"),
        (None, N, "expected NUMBER, got null"),
        (None, S, "expected STRING, got null"),
        (None, T, "expected TIMESTAMP, got null"),
        (None, J, "expected JSON, got null"),
        ("2024-01-01T10:00:00", T, None),
        ("yesterday", T, None),
        ("2024-13-01", T, None),
        ("2024-W01-1", T, None),
        ("20240101", T, None),
        ("2024-01-01X10:00:00Z", T, None),
        (" 2024-01-01", T, None),
        (1704067200, T, None),
        ({"a": float("nan")}, J, "expected JSON, got a value that contains a non-finite number"),
        ({1: "x"}, J, "expected JSON, got a value that has a non-string object key"),
        ({"a": {1, 2}}, J, "expected JSON, got a value that is not a JSON value (set)"),
        (1, "DATE", "unknown data type 'DATE'; expected one of BOOLEAN, NUMBER, STRING, TIMESTAMP, JSON"),
    ],
)
def test_validate_value_rejects(value, data_type, message):
    result = validate_value(value, data_type)
    assert result is not None
    if message is None:  # the TIMESTAMP message names the accepted forms and what was received
        assert result.startswith("expected TIMESTAMP (ISO 8601 date-time with time zone, or YYYY-MM-DD), got ")
    else:
        assert result == message


def test_validate_value_shortens_long_strings():
    message = validate_value("x" * 500, N)
    assert len(message) < 80 and message.startswith("expected NUMBER, got string 'xxx")


# --------------------------------------------------------------------------------------------------
# sentences


@pytest.mark.parametrize(
    ("criterion", "name", "data_type", "sentence"),
    [
        ({"op": "gte", "value": 100}, "active_users", N, "active_users ≥ 100"),
        ({"op": "gte", "value": 100.0}, "active_users", N, "active_users ≥ 100"),
        ({"op": "gt", "value": 2.5}, "n", N, "n > 2.5"),
        ({"op": "lt", "value": -1}, "n", N, "n < -1"),
        ({"op": "lte", "value": 0}, "n", N, "n ≤ 0"),
        ({"op": "eq", "value": 3}, "n", N, "n = 3"),
        ({"op": "ne", "value": 3}, "n", N, "n ≠ 3"),
        ({"op": "between", "value": [1, 5]}, "score", N, "score between 1 and 5"),
        ({"op": "eq", "value": True}, "sso_enabled", B, "sso_enabled is true"),
        ({"op": "eq", "value": False}, "sso_enabled", B, "sso_enabled is false"),
        ({"op": "within_days", "value": 7}, "last_login", T, "last_login within 7 days"),
        ({"op": "within_days", "value": 1}, "last_login", T, "last_login within 1 day"),
        ({"op": "within_days", "value": 0.5}, "last_login", T, "last_login within 0.5 days"),
        ({"op": "before", "value": "2024-01-01"}, "renewal", T, "renewal before 2024-01-01"),
        (
            {"op": "after", "value": "2024-01-01T00:00:00Z"},
            "renewal",
            T,
            "renewal after 2024-01-01T00:00:00Z",
        ),
        ({"op": "in", "value": ["a", "b"]}, "plan", S, 'plan is one of "a", "b"'),
        ({"op": "in", "value": []}, "plan", S, "plan is one of (nothing)"),
        ({"op": "regex", "value": r"^7\."}, "version", S, r"version matches /^7\./"),
        ({"op": "eq", "value": "strict"}, "mode", S, 'mode = "strict"'),
        (
            {"op": "contains", "value": "acme", "caseSensitive": False},
            "name",
            S,
            'name contains "acme" (ignoring case)',
        ),
        ({"op": "eq", "value": "strict", "path": "mode"}, "config", J, 'config.mode = "strict"'),
        ({"op": "ne", "value": True, "path": "a.0"}, "config", J, "config.a.0 is not true"),
        ({"op": "contains", "value": "beta", "path": "tags"}, "config", J, 'config.tags contains "beta"'),
        ({}, "sso_enabled", B, "sso_enabled has any value"),
        (None, "sso_enabled", B, "sso_enabled has any value"),
        ({"op": "exists"}, "x", N, "x has a value"),
        ({"op": "exists", "path": "a.b"}, "x", J, "x.a.b has a value"),
        ({"all": [{"op": "gt", "value": 1}, {"op": "lt", "value": 5}]}, "n", N, "all of (n > 1; n < 5)"),
        ({"any": [{"op": "eq", "value": 1}, {"op": "eq", "value": 2}]}, "n", N, "any of (n = 1; n = 2)"),
        ({"not": {"op": "eq", "value": 3}}, "n", N, "not (n = 3)"),
        (
            NESTED,
            "n",
            N,
            "all of (any of (not (n < 10); n = 0); not (any of (n between 50 and 60; all of (n > 90))))",
        ),
        ({"all": []}, "n", N, "all of ()"),
        ({"op": "zap", "value": 1}, "x", N, 'x: {"op": "zap", "value": 1}'),
        ({"all": 3}, "x", N, 'x: {"all": 3}'),
        ({"not": {"op": "eq", "value": 1, "bad": 2}}, "x", N, 'not (x: {"bad": 2, "op": "eq", "value": 1})'),
        (5, "x", N, "x: 5"),
    ],
)
def test_describe(criterion, name, data_type, sentence):
    assert describe(criterion, name, data_type) == sentence


# --------------------------------------------------------------------------------------------------
# property tests

KEYS = ["a", "b", "items", "0", "1", "name"]
numbers = st.integers(-(10**12), 10**12) | st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)
texts = st.text(alphabet="abcABC 7.-ß", max_size=6)
timestamps = st.one_of(
    st.datetimes(
        min_value=datetime(2023, 1, 1),
        max_value=datetime(2025, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]),
    ).map(datetime.isoformat),
    st.dates(min_value=datetime(2023, 1, 1).date(), max_value=datetime(2025, 1, 1).date()).map(str),
)
scalars = st.booleans() | numbers | texts
json_values = st.recursive(
    st.none() | scalars | timestamps,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    max_leaves=10,
)
non_null_json = json_values.filter(lambda v: v is not None)

EXISTS = st.just({"op": "exists"})


def _leaf(ops, values):
    return st.builds(lambda op, v: {"op": op, "value": v}, st.sampled_from(ops), values)


def _with_case(leaves):
    flag = st.one_of(st.just({}), st.booleans().map(lambda b: {"caseSensitive": b}))
    return st.builds(lambda leaf, extra: {**leaf, **extra}, leaves, flag)


BOOLEAN_LEAVES = _leaf(["eq"], st.booleans()) | EXISTS
NUMBER_LEAVES = st.one_of(
    _leaf(["eq", "ne", "gt", "gte", "lt", "lte"], numbers),
    _leaf(["between"], st.lists(numbers, min_size=2, max_size=2).map(sorted)),
    EXISTS,
)
STRING_LEAVES = _with_case(
    st.one_of(
        _leaf(["eq", "ne", "contains"], texts),
        _leaf(["regex"], st.sampled_from(["^a", "b$", "[xyz]+", "A.c", r"\d", "", "ß|ss"])),
        _leaf(["in"], st.lists(texts, max_size=3)),
        EXISTS,
    )
)
TIMESTAMP_LEAVES = st.one_of(
    _leaf(["before", "after"], timestamps),
    _leaf(["within_days"], st.integers(0, 2000) | st.floats(0, 2000)),
    EXISTS,
)
JSON_ONLY_LEAVES = _with_case(
    st.one_of(
        _leaf(["eq", "ne"], scalars),
        _leaf(["contains"], non_null_json),
        _leaf(["in"], st.lists(scalars, max_size=3)),
    )
)
json_paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(".".join)
JSON_LEAVES = st.builds(
    lambda leaf, path: {**leaf, **({"path": path} if path else {})},
    st.one_of(BOOLEAN_LEAVES, NUMBER_LEAVES, STRING_LEAVES, TIMESTAMP_LEAVES, JSON_ONLY_LEAVES),
    st.none() | json_paths,
)
LEAVES = {B: BOOLEAN_LEAVES, N: NUMBER_LEAVES, S: STRING_LEAVES, T: TIMESTAMP_LEAVES, J: JSON_LEAVES}
VALUES = {B: st.booleans(), N: numbers, S: texts, T: timestamps, J: non_null_json}


def _composites(children):
    return st.one_of(
        st.lists(children, max_size=3).map(lambda cs: {"all": cs}),
        st.lists(children, max_size=3).map(lambda cs: {"any": cs}),
        children.map(lambda c: {"not": c}),
    )


CRITERIA = {dt: st.recursive(LEAVES[dt], _composites, max_leaves=6) for dt in DATA_TYPES}
data_types = st.sampled_from(DATA_TYPES)


@st.composite
def cases(draw, count=None):
    """(data type, valid criterion or list of them, a value: of the type, or any JSON at all)."""
    data_type = draw(data_types)
    if count is None:
        criterion = draw(CRITERIA[data_type])
    else:
        criterion = draw(st.lists(CRITERIA[data_type], max_size=count))
    value = draw(VALUES[data_type] | json_values)
    return data_type, criterion, value


PROPERTY = settings(max_examples=250, deadline=None)


@PROPERTY
@given(cases())
def test_valid_criteria_validate_and_evaluate_to_a_bool(case):
    data_type, criterion, value = case
    assert validate_criterion(criterion, data_type) == []
    assert check_criterion(criterion, data_type) is criterion
    assert isinstance(ev(criterion, data_type, value), bool)
    assert ev(criterion, data_type, value, has_value=False) is False
    assert isinstance(describe(criterion, "attr", data_type), str)


@PROPERTY
@given(cases())
def test_not_law(case):
    data_type, criterion, value = case
    assert ev({"not": criterion}, data_type, value) is (not ev(criterion, data_type, value))
    assert ev({"not": {"not": criterion}}, data_type, value) is ev(criterion, data_type, value)
    assert ev({"not": criterion}, data_type, value, has_value=False) is False


@PROPERTY
@given(cases(count=4))
def test_all_any_and_de_morgan(case):
    data_type, children, value = case
    results = [ev(c, data_type, value) for c in children]
    assert ev({"all": children}, data_type, value) is all(results)
    assert ev({"any": children}, data_type, value) is any(results)
    negated = [{"not": c} for c in children]
    assert ev({"not": {"all": children}}, data_type, value) is ev({"any": negated}, data_type, value)
    assert ev({"not": {"any": children}}, data_type, value) is ev({"all": negated}, data_type, value)


@PROPERTY
@given(st.sampled_from(DATA_TYPES).flatmap(lambda dt: st.tuples(st.just(dt), VALUES[dt])))
def test_values_of_each_type_pass_validate_value(case):
    data_type, value = case
    assert validate_value(value, data_type) is None
    assert validate_value(value, J) is None  # any non-null JSON value
    if data_type != J:
        others = [other for other in (B, N, S, T) if other != data_type and {data_type, other} != {S, T}]
        assert all(validate_value(value, other) is not None for other in others)


WRONG_VALUE_LEAVES = {
    B: [{"op": "eq", "value": 1}, {"op": "eq", "value": "true"}, {"op": "eq"}, {"op": "eq", "value": None}],
    N: [
        {"op": "gt", "value": "5"},
        {"op": "gte", "value": True},
        {"op": "between", "value": [2, 1]},
        {"op": "between", "value": [1, "2"]},
        {"op": "eq", "value": None},
        {"op": "exists", "value": 1},
    ],
    S: [
        {"op": "eq", "value": 5},
        {"op": "in", "value": "a"},
        {"op": "in", "value": ["a", 1]},
        {"op": "contains", "value": None},
        {"op": "eq", "value": "a", "caseSensitive": "no"},
    ],
    T: [
        {"op": "before", "value": "not a date"},
        {"op": "after", "value": 5},
        {"op": "within_days", "value": -1},
        {"op": "within_days", "value": True},
        {"op": "within_days", "value": "7"},
    ],
    J: [
        {"op": "between", "value": ["a", "b"]},
        {"op": "in", "value": 5},
        {"op": "gt", "value": "x"},
        {"op": "within_days", "value": -3},
        {"op": "eq", "value": {"a": 1}},
        {"op": "eq", "value": 1, "path": ""},
        {"op": "exists", "path": "a..b"},
    ],
}
BAD_REGEXES = ["(", "[a-", "*x", "a{2,1}", "(?=a)", r"(a)\1", "x" * 501]


def broken_leaves(data_type):
    unknown_op = st.text(min_size=1, max_size=8).filter(lambda op: op not in ALL_OPS)
    extra_key = st.text(min_size=1, max_size=6).filter(lambda k: k not in LEAF_KEYS and k not in COMPOSITE_KEYS)
    options = [
        st.builds(lambda op, leaf: {**leaf, "op": op}, unknown_op, LEAVES[data_type]),
        st.builds(lambda key, leaf: {**leaf, key: 1}, extra_key, LEAVES[data_type]),
        st.sampled_from(WRONG_VALUE_LEAVES[data_type]),
    ]
    if data_type in (S, J):
        options.append(st.sampled_from(BAD_REGEXES).map(lambda r: {"op": "regex", "value": r}))
    else:  # an op of another type
        other_ops = [op for op in ALL_OPS if op not in OPS_BY_TYPE[data_type]]
        options.append(_leaf(other_ops, st.just(1)))
    return st.one_of(options)


@st.composite
def broken_cases(draw):
    data_type = draw(data_types)
    valid = draw(CRITERIA[data_type])
    broken = draw(broken_leaves(data_type))
    key = draw(st.sampled_from(["all", "any", "not"]))
    if key == "not":
        return data_type, {"not": broken}, "not", valid
    return data_type, {key: [valid, broken]}, f"{key}[1]", valid


@PROPERTY
@given(broken_cases(), json_values)
def test_broken_criteria_are_rejected_at_their_path(case, value):
    data_type, criterion, prefix, valid = case
    errors = validate_criterion(criterion, data_type)
    assert errors
    assert all(e.path == prefix or e.path.startswith(prefix + ".") or e.path.startswith(prefix + "[") for e in errors)
    with pytest.raises(CriteriaValidationError):
        check_criterion(criterion, data_type)
    assert ev(criterion, data_type, value) is False
    assert ev({"not": criterion}, data_type, value) is False


garbage_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(list(ALL_OPS) + list(LEAF_KEYS) + list(COMPOSITE_KEYS) + ["", "(", "2024-01-01", "a.b"]),
    st.decimals(),
    st.datetimes(),
    st.just(object()),
)
garbage_keys = st.sampled_from(list(LEAF_KEYS) + list(COMPOSITE_KEYS)) | st.text(max_size=4) | st.integers(0, 3)
garbage = st.recursive(
    garbage_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.tuples(children) | st.dictionaries(garbage_keys, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(garbage, st.sampled_from(list(DATA_TYPES) + ["", "DATE", None]), garbage, st.booleans())
def test_nothing_raises_on_garbage(criterion, data_type, value, has_value):
    result = evaluate(criterion, data_type, value, has_value=has_value, now=NOW)
    assert isinstance(result, bool)
    errors = validate_criterion(criterion, data_type)
    assert isinstance(errors, list) and all(isinstance(e, CriterionError) for e in errors)
    if errors:
        assert result is False
    assert isinstance(describe(criterion, "attr", data_type), str)
    message = validate_value(value, data_type)
    assert message is None or isinstance(message, str)


@settings(max_examples=200, deadline=None)
@given(data_types.flatmap(lambda dt: st.tuples(st.just(dt), CRITERIA[dt])), garbage)
def test_valid_criteria_never_raise_on_garbage_values(case, value):
    data_type, criterion = case
    assert isinstance(evaluate(criterion, data_type, value, now=NOW), bool)
    assert isinstance(evaluate(criterion, data_type, value), bool)


def test_non_finite_and_decimal_values_do_not_break_comparisons():
    for value in (float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")):
        for criterion in (
            {"op": "gt", "value": 0},
            {"op": "ne", "value": 0},
            {"op": "between", "value": [0, 1]},
        ):
            assert ev(criterion, N, value) is False
            assert ev({"not": criterion}, N, value) is True
    assert math.isnan(float("nan"))  # sanity of the fixture values above
