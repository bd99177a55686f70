"""config.text: the text rules every entry point applies through the services."""

import pytest

from config.errors import ValidationFailed
from config.text import (
    JSON_DEPTH_MAX,
    JSON_VALUE_MAX_BYTES,
    STRING_VALUE_MAX,
    character_problem,
    clean_text,
    json_problem,
    telemetry_value_problem,
    text_problem,
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain text, ünïcödé and emoji 😀", None),
        ("\x00", "contains a NUL character (U+0000) at position 0"),
        ("ab\x00", "contains a NUL character (U+0000) at position 2"),
        ("a\ud800", "contains an unpaired surrogate (U+D800) at position 1"),
        ("\udfff", "contains an unpaired surrogate (U+DFFF) at position 0"),
        ("\ud83d\ude00", "contains an unpaired surrogate (U+D83D) at position 0"),  # a pair as two code points
        ("\ud7ff\ue000", None),  # the neighbours of the surrogate range are fine
    ],
)
def test_character_problem(value, problem):
    assert character_problem(value) == problem


def test_text_problem_checks_characters_before_length():
    assert text_problem("x" * 5, max_length=5) is None
    assert text_problem("x" * 6, max_length=5) == "is too long (6 characters, at most 5)"
    assert text_problem("\x00" * 6, max_length=5) == "contains a NUL character (U+0000) at position 0"
    assert text_problem("x" * 10**6, max_length=None) is None


def test_clean_text_names_the_field():
    assert clean_text(None, field="notes", max_length=10) == ""
    assert clean_text("  ok  ", field="notes", max_length=2) == "ok"
    assert clean_text("  ok  ", field="notes", max_length=10, strip=False) == "  ok  "
    with pytest.raises(ValidationFailed) as refused:
        clean_text("a\x00", field="notes", max_length=10)
    assert (refused.value.field, refused.value.message) == (
        "notes",
        "notes contains a NUL character (U+0000) at position 1",
    )
    with pytest.raises(ValidationFailed) as refused:
        clean_text(5, field="statusNote", max_length=10, label="the note")
    assert (refused.value.field, refused.value.message) == ("statusNote", "the note must be text")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": [1, "ok", {"b": None}]}, None),
        ("\x00", "the value contains a NUL character (U+0000) at position 0"),
        ({"a": [1, {"b": "x\ud800"}]}, "the string at a[1].b contains an unpaired surrogate (U+D800) at position 1"),
        ({"a": {"k\x00": 1}}, "the key 'a.k\\x00' contains a NUL character (U+0000) at position 1"),
        (["ok", ["\udc00"]], "the string at [1][0] contains an unpaired surrogate (U+DC00) at position 0"),
    ],
)
def test_json_problem_walks_values_and_keys(value, problem):
    assert json_problem(value) == problem


def test_json_depth_and_size():
    deep = 1
    for _ in range(JSON_DEPTH_MAX):
        deep = [deep]
    assert json_problem(deep, max_depth=JSON_DEPTH_MAX) is None
    assert json_problem([deep], max_depth=JSON_DEPTH_MAX) == "the value is nested more than 20 levels deep"
    very_deep = 1
    for _ in range(100_000):  # far beyond the interpreter's recursion limit: the walk is iterative
        very_deep = {"a": very_deep}
    assert json_problem(very_deep, max_depth=JSON_DEPTH_MAX) == "the value is nested more than 20 levels deep"
    fits = {"s": "x" * (JSON_VALUE_MAX_BYTES - len('{"s":""}'))}
    assert json_problem(fits, max_bytes=JSON_VALUE_MAX_BYTES) is None
    fits["s"] += "x"
    assert (
        json_problem(fits, max_bytes=JSON_VALUE_MAX_BYTES)
        == "the value is too large (65537 bytes as JSON, at most 65536)"
    )
    # size counts UTF-8 bytes: 'é' is two
    assert json_problem("é" * 40_000, max_bytes=JSON_VALUE_MAX_BYTES) == (
        "the value is too large (80002 bytes as JSON, at most 65536)"
    )


def test_telemetry_values():
    assert telemetry_value_problem("x" * STRING_VALUE_MAX) is None
    assert telemetry_value_problem("x" * (STRING_VALUE_MAX + 1)) == (
        "the value is too long (10001 characters, at most 10000)"
    )
    assert telemetry_value_problem("a\x00") == "the value contains a NUL character (U+0000) at position 1"
    assert telemetry_value_problem(True) is None and telemetry_value_problem(3.5) is None
    assert telemetry_value_problem({"k": "\ud800"}) == (
        "the string at k contains an unpaired surrogate (U+D800) at position 0"
    )
