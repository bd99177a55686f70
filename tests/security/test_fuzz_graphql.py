"""Schema-driven fuzzing of the GraphQL endpoint (hypothesis-graphql): every query and mutation with
generated arguments, real ids of both customers and of the catalog substituted for ID arguments
(plus ids that do not exist or are not ids), sent through the test client as the ADMIN and as the
assigned CSM. No answer may be a server error (see tests/security/fuzzing.py)."""

import json

import graphql
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from config.schema import schema
from tests.conftest import postgres_only
from tests.security.fuzzing import send, server_errors
from tests.security.report import REPORT

pytestmark = [postgres_only, pytest.mark.django_db]

EXAMPLES = 600  # per operation kind: 1,200 documents
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
GRAPHQL_SCHEMA = schema.graphql_schema


def json_node(value) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal, for the JSON scalar."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(json_node(item) for item in value))
    return graphql.ObjectValueNode(
        fields=tuple(
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=json_node(item))
            for key, item in value.items()
        )
    )


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(["sso", "2024-01-01T00:00:00Z", "eq", "gte", "within_days", "\x00", "a\ud800"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(NAMES, st.sampled_from(["op", "value", "path", "all", "any", "not"])), children),
    ),
    max_leaves=8,
)


def scalars(world):
    real = set()
    for ids in (world.own, world.foreign):
        real |= {value for value in vars(ids).values() if value}
    junk = ["0", "-1", "abc", "", "1.5", "99999999999999999999", "1 OR 1=1", "\x00", "ｱ"]
    return {
        "ID": st.sampled_from(sorted(real) + junk).map(nodes.String),
        "JSON": JSON_VALUES.map(json_node),
    }


counts = {"documents": 0, "admin": 0, "csm": 0, "data": 0, "errors": 0}


def check(world, clients, role, document):
    response = send(clients[role], "/graphql/", json.dumps({"query": document}))
    problems = server_errors(response)
    assert not problems, f"{role} sent:\n{document}\nanswer {response.status_code}: {response.content[:2000]!r}"
    counts["documents"] += 1
    counts[role] += 1
    counts["errors" if response.json().get("errors") else "data"] += 1


@pytest.fixture(scope="module")
def clients(world):
    result = {}
    for role in ("admin", "csm"):
        result[role] = Client()
        result[role].force_login(world.users[role])
    return result


def test_fuzz_queries(world, clients):
    @FUZZ
    @given(document=queries(GRAPHQL_SCHEMA, custom_scalars=scalars(world)), role=st.sampled_from(["admin", "csm"]))
    def run(document, role):
        check(world, clients, role, document)

    run()


def test_fuzz_mutations(world, clients):
    @FUZZ
    @given(document=mutations(GRAPHQL_SCHEMA, custom_scalars=scalars(world)), role=st.sampled_from(["admin", "csm"]))
    def run(document, role):
        check(world, clients, role, document)

    run()


def test_graphql_fuzzing_summary():
    REPORT.add("Fuzz GraphQL", server_errors=0, **counts)
    assert counts["documents"] >= 2 * EXAMPLES
    assert counts["admin"] and counts["csm"] and counts["data"] and counts["errors"]
