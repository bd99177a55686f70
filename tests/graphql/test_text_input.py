"""Every string input of every GraphQL mutation refuses a NUL character and a lone surrogate (sent as
the JSON escapes ``\\u0000`` and ``\\ud800`` in the variables, which Python's json module decodes) and
over-long text with a VALIDATION_ERROR naming the field, and the database is unchanged."""

import pytest

from tests.db_state import database_state
from tests.graphql.conftest import post

NUL, SURROGATE = "a\x00b", "a\ud800b"
NUL_PROBLEM = "contains a NUL character (U+0000) at position 1"
SURROGATE_PROBLEM = "contains an unpaired surrogate (U+D800) at position 1"


def _ids(acme, retail):
    task = retail["tasks"]["Install"]
    integrate = acme["tasks"]["Integrate"]
    return {
        "customer": str(acme["customer"].pk),
        "product": str(retail["product"].pk),
        "outcome": str(retail["outcomes"]["A"].pk),
        "release": str(retail["releases"]["1.0"].pk),
        "task": str(task.pk),
        "attribute": str(task.telemetry_attributes.get().pk),
        "plan": str(acme["plan"].pk),
        "ctask": str(integrate.pk),
        "cattr": str(integrate.telemetry_attributes.get(name="integration").pk),
    }


# (mutation document, variables builder taking the ids and the bad text, field the error names)
CATALOG_CASES = {
    "createCustomer.name": (
        "mutation($t: String!) { createCustomer(input: {name: $t}) { id } }",
        lambda ids, t: {"t": t},
        "name",
    ),
    "createCustomer.description": (
        'mutation($t: String) { createCustomer(input: {name: "Initech", description: $t}) { id } }',
        lambda ids, t: {"t": t},
        "description",
    ),
    "updateCustomer.name": (
        "mutation($id: ID!, $t: String) { updateCustomer(id: $id, input: {name: $t}) { id } }",
        lambda ids, t: {"id": ids["customer"], "t": t},
        "name",
    ),
    "updateCustomer.description": (
        "mutation($id: ID!, $t: String) { updateCustomer(id: $id, input: {description: $t}) { id } }",
        lambda ids, t: {"id": ids["customer"], "t": t},
        "description",
    ),
    "createProduct.name": (
        "mutation($t: String!) { createProduct(input: {name: $t}) { id } }",
        lambda ids, t: {"t": t},
        "name",
    ),
    "createProduct.description": (
        'mutation($t: String) { createProduct(input: {name: "New", description: $t}) { id } }',
        lambda ids, t: {"t": t},
        "description",
    ),
    "updateProduct.name": (
        "mutation($id: ID!, $t: String) { updateProduct(id: $id, input: {name: $t}) { id } }",
        lambda ids, t: {"id": ids["product"], "t": t},
        "name",
    ),
    "createOutcome.name": (
        "mutation($p: ID!, $t: String!) { createOutcome(input: {productId: $p, name: $t}) { id } }",
        lambda ids, t: {"p": ids["product"], "t": t},
        "name",
    ),
    "updateOutcome.description": (
        "mutation($id: ID!, $t: String) { updateOutcome(id: $id, input: {description: $t}) { id } }",
        lambda ids, t: {"id": ids["outcome"], "t": t},
        "description",
    ),
    "createRelease.name": (
        "mutation($p: ID!, $t: String!) { createRelease(input: {productId: $p, name: $t, level: 3}) { id } }",
        lambda ids, t: {"p": ids["product"], "t": t},
        "name",
    ),
    "updateRelease.description": (
        "mutation($id: ID!, $t: String) { updateRelease(id: $id, input: {description: $t}) { id } }",
        lambda ids, t: {"id": ids["release"], "t": t},
        "description",
    ),
    "createTask.name": (
        "mutation($p: ID!, $t: String!) { createTask(input: {productId: $p, name: $t, estMinutes: 5, weight: 1}) "
        "{ id } }",
        lambda ids, t: {"p": ids["product"], "t": t},
        "name",
    ),
    "createTask.notes": (
        'mutation($p: ID!, $t: String) { createTask(input: {productId: $p, name: "N", estMinutes: 5, weight: 1, '
        "notes: $t}) { id } }",
        lambda ids, t: {"p": ids["product"], "t": t},
        "notes",
    ),
    "createTask.howToDoc": (
        'mutation($p: ID!, $t: String!) { createTask(input: {productId: $p, name: "N", estMinutes: 5, weight: 1, '
        "howToDoc: [$t]}) { id } }",
        lambda ids, t: {"p": ids["product"], "t": "https://docs.example.com/" + t},
        "howToDoc[0]",
    ),
    "updateTask.description": (
        "mutation($id: ID!, $t: String) { updateTask(id: $id, input: {description: $t}) { id } }",
        lambda ids, t: {"id": ids["task"], "t": t},
        "description",
    ),
    "updateTask.howToVideo": (
        "mutation($id: ID!, $t: String!) { updateTask(id: $id, input: {howToVideo: [$t]}) { id } }",
        lambda ids, t: {"id": ids["task"], "t": "https://video.example.com/" + t},
        "howToVideo[0]",
    ),
    "createTelemetryAttribute.name": (
        "mutation($task: ID!, $t: String!) { createTelemetryAttribute(input: {taskId: $task, name: $t, "
        "dataType: STRING}) { id } }",
        lambda ids, t: {"task": ids["task"], "t": t},
        "name",
    ),
    "createTelemetryAttribute.successCriteria": (
        'mutation($task: ID!, $c: JSON) { createTelemetryAttribute(input: {taskId: $task, name: "region", '
        "dataType: STRING, successCriteria: $c}) { id } }",
        lambda ids, t: {"task": ids["task"], "c": {"all": [{"op": "eq", "value": t}]}},
        "successCriteria",
    ),
    "updateTelemetryAttribute.description": (
        "mutation($id: ID!, $t: String) { updateTelemetryAttribute(id: $id, input: {description: $t}) { id } }",
        lambda ids, t: {"id": ids["attribute"], "t": t},
        "description",
    ),
    "updateTelemetryAttribute.successCriteria.key": (
        "mutation($id: ID!, $c: JSON) { updateTelemetryAttribute(id: $id, input: {successCriteria: $c}) { id } }",
        lambda ids, t: {"id": ids["attribute"], "c": {"op": "eq", "value": True, t: 1}},
        "successCriteria",
    ),
    "updateCustomerTaskStatus.notes": (
        "mutation($id: ID!, $t: String) { updateCustomerTaskStatus(input: {customerTaskId: $id, status: DONE, "
        "notes: $t}) { id } }",
        lambda ids, t: {"id": ids["ctask"], "t": t},
        "notes",
    ),
    "bulkUpdateCustomerTaskStatus.notes": (
        "mutation($plan: ID!, $id: ID!, $t: String) { bulkUpdateCustomerTaskStatus(adoptionPlanId: $plan, "
        "taskIds: [$id], status: DONE, notes: $t) { id } }",
        lambda ids, t: {"plan": ids["plan"], "id": ids["ctask"], "t": t},
        "notes",
    ),
}

VALUE = "mutation($in: AddTelemetryValueInput!) { addCustomerTelemetryValue(input: $in) { id } }"
VALUES = "mutation($in: [AddTelemetryValueInput!]!) { bulkAddCustomerTelemetryValues(inputs: $in) { id } }"

# (document, item builder, item field named in details): the integration attribute is JSON, so a
# string value, a nested string and an object key all reach the text rules.
TELEMETRY_CASES = {
    "value as a string": (VALUE, lambda t: {"value": t}, "value"),
    "value inside an object": (VALUE, lambda t: {"value": {"enabled": True, "name": t}}, "value"),
    "value as an object key": (VALUE, lambda t: {"value": {t: True}}, "value"),
    "source": (VALUE, lambda t: {"value": {"enabled": True}, "source": t}, "source"),
    "notes": (VALUE, lambda t: {"value": {"enabled": True}, "notes": t}, "notes"),
    "batchId": (VALUE, lambda t: {"value": {"enabled": True}, "batchId": t}, "batchId"),
    "bulk value": (VALUES, lambda t: {"value": [t]}, "value"),
    "bulk source": (VALUES, lambda t: {"value": 1, "source": t}, "source"),
    "bulk batchId": (VALUES, lambda t: {"value": 1, "batchId": t}, "batchId"),
}


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("case", sorted(CATALOG_CASES))
def test_every_string_input_refuses_nul_and_surrogates(as_admin, acme, retail, case, bad):
    document, variables, field = CATALOG_CASES[case]
    before = database_state()
    status, body = post(as_admin, document, variables(_ids(acme, retail), bad))
    assert status == 200
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_ERROR", error
    assert error["extensions"]["field"] == field
    problem = NUL_PROBLEM if bad == NUL else SURROGATE_PROBLEM
    assert problem.split(" at position")[0] in error["message"], error
    assert database_state() == before


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("case", sorted(TELEMETRY_CASES))
def test_every_telemetry_string_refuses_nul_and_surrogates(as_admin, acme, retail, case, bad):
    document, item, field = TELEMETRY_CASES[case]
    ids = _ids(acme, retail)
    before = database_state()
    variables = {"in": {"customerAttributeId": ids["cattr"], **item(bad)}}
    if document == VALUES:
        variables = {"in": [variables["in"]]}
    status, body = post(as_admin, document, variables)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_ERROR", error
    assert error["extensions"]["field"] == ("inputs" if document == VALUES else "input")
    (detail,) = error["extensions"]["details"]
    assert detail["index"] == 0 and detail["field"] == field
    problem = NUL_PROBLEM if bad == NUL else SURROGATE_PROBLEM
    assert problem.split(" at position")[0] in detail["message"], detail
    assert "nothing was stored" in error["message"]
    assert database_state() == before


def test_the_messages_name_the_character_and_where_it_is(as_admin, acme, retail):
    ids = _ids(acme, retail)
    _, body = post(as_admin, CATALOG_CASES["createCustomer.name"][0], {"t": "Init\x00ech"})
    assert body["errors"][0]["message"] == "customer name contains a NUL character (U+0000) at position 4"
    _, body = post(as_admin, CATALOG_CASES["createProduct.name"][0], {"t": "Pro\udfffduct"})
    assert body["errors"][0]["message"] == "contains an unpaired surrogate (U+DFFF) at position 3"
    _, body = post(
        as_admin, VALUE, {"in": {"customerAttributeId": ids["cattr"], "value": {"mfa": {"modes": ["otp", "a\x00"]}}}}
    )
    assert body["errors"][0]["extensions"]["details"] == [
        {
            "index": 0,
            "field": "value",
            "message": "attribute 'integration' of task 'Integrate': the string at mfa.modes[1] contains a NUL "
            "character (U+0000) at position 1",
        }
    ]
    _, body = post(as_admin, CATALOG_CASES["updateCustomerTaskStatus.notes"][0], {"id": ids["ctask"], "t": "\ud800"})
    assert body["errors"][0]["message"] == "notes contains an unpaired surrogate (U+D800) at position 0"


@pytest.mark.parametrize(
    ("case", "length", "message"),
    [
        ("createCustomer.name", 201, "customer name is 201 characters long; at most 200 are allowed"),
        ("createProduct.description", 10_001, "is too long (10001 characters, at most 10000)"),
        ("createRelease.name", 101, "is too long (101 characters, at most 100)"),
        ("updateCustomerTaskStatus.notes", 4_001, "notes is too long (4001 characters, at most 4000)"),
        ("bulkUpdateCustomerTaskStatus.notes", 1_000_000, "notes is too long (1000000 characters, at most 4000)"),
    ],
)
def test_over_long_text_is_refused(as_admin, acme, retail, case, length, message):
    document, variables, field = CATALOG_CASES[case]
    before = database_state()
    _, body = post(as_admin, document, variables(_ids(acme, retail), "x" * length))
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "VALIDATION_ERROR", "field": field}
    assert error["message"] == message
    assert database_state() == before


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"value": "x" * 10_001},
            "attribute 'integration' of task 'Integrate': the value is too long (10001 characters, at most 10000)",
        ),
        (
            {"value": {"blob": "x" * 70_000}},
            "attribute 'integration' of task 'Integrate': the value is too large (70011 bytes as JSON, at most 65536)",
        ),
        (
            {"value": [[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]},
            "attribute 'integration' of task 'Integrate': the value is nested more than 20 levels deep",
        ),
        ({"value": 1, "notes": "n" * 4_001}, "notes must be a string of at most 4000 characters"),
        ({"value": 1, "source": "s" * 101}, "source must be a string of at most 100 characters"),
        ({"value": 1, "batchId": "b" * 101}, "batchId must be a string of at most 100 characters"),
    ],
    ids=["string", "json-size", "json-depth", "notes", "source", "batchId"],
)
def test_over_long_telemetry_is_refused(as_admin, acme, retail, item, message):
    ids = _ids(acme, retail)
    before = database_state()
    _, body = post(as_admin, VALUE, {"in": {"customerAttributeId": ids["cattr"], **item}})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert [d["message"] for d in error["extensions"]["details"]] == [message]
    assert database_state() == before


def test_text_at_the_limits_is_stored(as_admin, acme, retail):
    ids = _ids(acme, retail)
    status, body = post(
        as_admin,
        CATALOG_CASES["updateCustomerTaskStatus.notes"][0],
        {"id": ids["ctask"], "t": "n" * 4_000},
    )
    assert "errors" not in body, body
    nested = {"v": 1}
    for _ in range(19):
        nested = {"v": nested}
    status, body = post(
        as_admin,
        VALUE,
        {"in": {"customerAttributeId": ids["cattr"], "value": nested, "source": "s" * 100, "batchId": "b" * 100}},
    )
    assert "errors" not in body, body
