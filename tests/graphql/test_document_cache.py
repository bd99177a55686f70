"""The endpoint parses and validates a document once per text (config.graphql.documents): a repeated
document skips both, and still obeys every limit and setting exactly as a new one does."""

import pytest
from django.test import override_settings

import config.graphql.view as view
from config.graphql.documents import DocumentCache, valid_documents
from tests.graphql.conftest import data_of, error_of, post

QUERY = "query($first: Int) { customers(first: $first) { id name products { id } } }"


@pytest.fixture(autouse=True)
def empty_cache():
    valid_documents.clear()
    yield
    valid_documents.clear()


@pytest.fixture
def work(monkeypatch):
    """How often the view parsed and validated a document."""
    counts = {"parse": 0, "validate_document": 0}
    for name in counts:
        original = getattr(view, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(view, name, counting)
    return counts


def test_a_repeated_document_is_parsed_and_validated_once(as_admin, work):
    for first in (1, 2, None):
        assert data_of(as_admin, QUERY, {"first": first}) == {"customers": []}
    assert work == {"parse": 1, "validate_document": 1}
    data_of(as_admin, QUERY.replace("name", "name description"))  # another text: parsed again
    assert work == {"parse": 2, "validate_document": 2}


def test_invalid_documents_are_never_kept(as_admin, work):
    for _ in range(2):
        assert error_of(as_admin, "{ customers { nonsense } }")["extensions"]["code"] == "VALIDATION_ERROR"
    assert work == {"parse": 2, "validate_document": 2}
    assert len(valid_documents) == 0


def test_a_kept_document_still_meets_the_variable_checks(as_admin):
    data_of(as_admin, QUERY, {"first": 5})
    error = error_of(as_admin, QUERY, {"first": 0})
    assert "first must be between 1 and 500" in error["message"]
    with override_settings(GRAPHQL_MAX_COST=3):
        assert "at most 3 is allowed" in error_of(as_admin, QUERY, {"first": 5})["message"]
    with override_settings(GRAPHQL_MAX_FIELDS=2):
        assert "at most 2 are allowed" in error_of(as_admin, QUERY, {"first": 5})["message"]


def test_a_kept_document_obeys_a_changed_depth_limit(as_admin):
    data_of(as_admin, QUERY)
    with override_settings(GRAPHQL_MAX_DEPTH=2):
        assert "deeper than the limit of 2 levels" in error_of(as_admin, QUERY)["message"]
    data_of(as_admin, QUERY)


def test_a_kept_document_obeys_introspection_turned_off(as_admin, monkeypatch):
    introspection = "{ __schema { queryType { name } } }"
    data_of(as_admin, introspection)
    monkeypatch.delenv("GRAPHQL_INTROSPECTION", raising=False)
    with override_settings(PRODUCTION=True):
        status, body = post(as_admin, introspection)
    assert status == 400 and body["errors"][0]["message"] == "Introspection is disabled on this server."


def test_the_cache_is_bounded():
    cache = DocumentCache(max_documents=2, max_text=10)
    for text in ("a", "b", "c"):
        cache.put((text,), text, object())
    assert len(cache) == 2 and cache.get(("a",)) is None and cache.get(("c",)) is not None
    cache.put(("x" * 11,), "x" * 11, object())
    assert cache.get(("x" * 11,)) is None
    cache.get(("b",))  # b is now the most recently used: c leaves first
    cache.put(("d",), "d", object())
    assert cache.get(("c",)) is None and cache.get(("b",)) is not None
