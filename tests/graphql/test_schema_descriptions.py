"""The schema documents itself: GraphiQL's docs explorer is the API reference, so every type, field,
argument and enum value carries a description (graphql-core's own view of the schema is walked,
the way introspection shows it)."""

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    specified_scalar_types,
)

from config.schema import schema


def undocumented(graphql_schema) -> list[str]:
    """Every element without a description, as Type, Type.field, Type.field(argument) or Enum.VALUE.
    Built-in introspection types (__Type, ...) and the specified scalars (String, Int, ...) are skipped."""
    missing = []
    for name, graphql_type in sorted(graphql_schema.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        if not (graphql_type.description or "").strip():
            missing.append(name)
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in graphql_type.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not (arg.description or "").strip():
                        missing.append(f"{name}.{field_name}({arg_name})")
        elif isinstance(graphql_type, GraphQLEnumType):
            for value_name, value in graphql_type.values.items():
                if not (value.description or "").strip():
                    missing.append(f"{name}.{value_name}")
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description():
    missing = undocumented(schema.graphql_schema)

    assert missing == [], f"{len(missing)} schema elements without a description: {', '.join(missing)}"


def test_the_walk_sees_every_kind_of_element():
    """The check above cannot pass vacuously: the walk reaches fields, arguments, input fields, enum
    values and custom scalars of this schema."""
    types = schema.graphql_schema.type_map
    assert isinstance(types["JSON"], GraphQLScalarType)
    assert "customerTasksForPlan" in types["Query"].fields
    assert "status" in types["Query"].fields["customerTasksForPlan"].args
    assert "observedAt" in types["AddTelemetryValueInput"].fields
    assert "NOT_APPLICABLE" in types["CustomerTaskStatus"].values
    assert types["CustomerTaskStatus"].values["NOT_APPLICABLE"].description.startswith("Does not apply")


def test_descriptions_cite_nothing_outside_the_project():
    """Descriptions are read by API users, who have no design documents: no references to them."""
    texts = []
    for name, graphql_type in schema.graphql_schema.type_map.items():
        if name.startswith("__"):
            continue
        texts.append(graphql_type.description or "")
        for field in getattr(graphql_type, "fields", {}).values():
            texts.append(field.description or "")
            texts.extend(arg.description or "" for arg in getattr(field, "args", {}).values())
        texts.extend(value.description or "" for value in getattr(graphql_type, "values", {}).values())
    cited = [text for text in texts if any(word in text for word in ("SPEC", "strategy", "§", "section", "issue"))]
    assert cited == []
