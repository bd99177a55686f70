"""Fuzzing the criteria engine with generated criteria and values.

Validation answers with its own errors (a list of CriterionError, or CriteriaValidationError from
check_criterion) and never raises anything else; evaluation and the human sentence never raise.
The engine guards its public functions with a last-resort `except`, so the unguarded internals
(_validate_node, _eval_node, _describe_node) are driven too: a defect cannot hide behind the guard.
"""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry import criteria
from tests.conftest import postgres_only
from tests.security.report import REPORT

pytestmark = [
    postgres_only,  # the fuzzing runs in the PostgreSQL CI job, with the other fuzzers
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),  # the 10,001-character strings
]

EXAMPLES = 2000
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Strings that reach the hard corners: NUL, unpaired surrogates, RE2 syntax, ISO dates, huge text.
ODD_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfffy",
        "^(a+)+$",
        "(?P<n>x)",
        "[",
        "\\",
        "(?i)sso",
        ".*",
        "2024-02-30",
        "2024-01-01T00:00:00+25:00",
        "2024-01-01T10:00:00Z",
        "2024-01-01",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00-23:59",
        "a.b",
        "items.0.name",
        ".",
        "a..b",
        "x" * 10_001,
        "1e999",
        "NaN",
    ]
)
TEXT = st.one_of(st.text(max_size=30), ODD_TEXT)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**63, -(2**63) - 1, 10**30]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.one_of(TEXT, st.sampled_from(["a", "b", "0"])), children)
    ),
    max_leaves=12,
)
OPS = st.one_of(st.sampled_from(list(criteria.ALL_OPS)), TEXT, SCALARS)
LEAVES = st.fixed_dictionaries(
    {"op": OPS},
    optional={
        "value": st.one_of(JSON_VALUES, st.lists(NUMBERS, min_size=2, max_size=2), st.lists(TEXT, max_size=3)),
        "path": st.one_of(TEXT, st.sampled_from(["a", "a.b", "items.0", "0"]), SCALARS),
        "caseSensitive": st.one_of(st.booleans(), SCALARS),
        "extra": JSON_VALUES,
    },
)


def composites(children):
    return st.one_of(
        st.fixed_dictionaries({"all": st.lists(children, max_size=4)}),
        st.fixed_dictionaries({"any": st.lists(children, max_size=4)}),
        st.fixed_dictionaries({"not": children}),
        st.fixed_dictionaries({"all": children, "any": JSON_VALUES}),  # malformed composites
        st.dictionaries(st.sampled_from(["all", "any", "not", "op"]), children, max_size=3),
    )


FINITE = st.one_of(st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=False, allow_infinity=False))
ISO = st.one_of(st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat), st.dates().map(str))
PATHS = {"path": st.sampled_from(["a", "a.b", "items.0", "0"]), "caseSensitive": st.booleans()}
WELL_FORMED = st.one_of(  # leaves that fit some data type, so evaluation gets far
    st.fixed_dictionaries({"op": st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), "value": FINITE}),
    st.fixed_dictionaries({"op": st.just("between"), "value": st.lists(FINITE, min_size=2, max_size=2)}),
    st.fixed_dictionaries({"op": st.sampled_from(["eq", "ne", "contains", "regex"]), "value": TEXT}, optional=PATHS),
    st.fixed_dictionaries({"op": st.just("in"), "value": st.lists(TEXT, max_size=3)}, optional=PATHS),
    st.fixed_dictionaries({"op": st.sampled_from(["before", "after"]), "value": ISO}),
    st.fixed_dictionaries({"op": st.just("within_days"), "value": NUMBERS}),
    st.fixed_dictionaries({"op": st.just("exists")}, optional={"path": PATHS["path"]}),
    st.fixed_dictionaries({"op": st.just("eq"), "value": st.booleans()}, optional={"path": PATHS["path"]}),
)
CRITERIA = st.one_of(
    st.recursive(WELL_FORMED, composites, max_leaves=6),
    st.recursive(LEAVES, composites, max_leaves=8),
    JSON_VALUES,
)
DATA_TYPES = st.one_of(st.sampled_from(list(criteria.DATA_TYPES)), st.sampled_from(["", "number", "XML"]))
NOW = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),  # naive: taken as UTC
    st.sampled_from([datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)]),
)

counts = {"cases": 0, "valid": 0, "errors": 0}


@FUZZ
@given(criterion=CRITERIA, data_type=DATA_TYPES, value=JSON_VALUES, now=NOW)
def test_criteria_engine_never_raises(criterion, data_type, value, now):
    counts["cases"] += 1
    errors = criteria.validate_criterion(criterion, data_type)
    assert isinstance(errors, list)
    assert all(isinstance(error, criteria.CriterionError) for error in errors)
    assert all(isinstance(error.path, str) and error.message for error in errors)
    try:
        normalized = criteria.check_criterion(criterion, data_type)
    except criteria.CriteriaValidationError as error:
        assert error.errors, "a validation error names at least one problem"
        counts["errors"] += 1
        valid = False
    else:
        assert errors == [], "check_criterion accepted what validate_criterion refused"
        assert isinstance(normalized, dict)
        valid = True

    met = criteria.evaluate(criterion, data_type, value, now=now)
    assert isinstance(met, bool)
    assert criteria.evaluate(criterion, data_type, value, has_value=False, now=now) is False
    assert isinstance(criteria.describe(criterion, "attr", data_type), str)
    problem = criteria.validate_value(value, data_type)
    assert problem is None or (isinstance(problem, str) and problem)

    # The unguarded internals, on what the public functions let through.
    if isinstance(criterion, dict) and criterion and data_type in criteria.DATA_TYPES:
        internal_errors = []
        criteria._validate_node(criterion, data_type, "", internal_errors, 0)
        assert internal_errors == errors
        assert isinstance(criteria._describe_node(criterion, "attr", 0), str)
        if valid:
            counts["valid"] += 1
            reference = now if isinstance(now, datetime) and now.tzinfo else datetime.now(UTC)
            assert criteria._eval_node(criterion, data_type, value, reference) in (True, False)


def test_criteria_fuzzing_covered_valid_and_invalid_criteria():
    """Runs after the fuzzer (same module, in order): enough cases, and both kinds among them."""
    REPORT.add(
        "Fuzz criteria engine",
        cases=counts["cases"],
        valid=counts["valid"],
        refused=counts["errors"],
        server_errors=0,
    )
    assert counts["cases"] >= EXAMPLES
    assert counts["valid"] >= EXAMPLES // 20
    assert counts["errors"] >= EXAMPLES // 4
