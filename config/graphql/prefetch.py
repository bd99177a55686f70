"""Selection-driven prefetching: root resolvers call :func:`optimize` (or :func:`load`) so that nested
lists resolve from prefetched caches (no N+1), and the nested resolvers made by :func:`related_list` /
:func:`related_object` read those caches. :func:`fetch` loads what the selection needs, one query per
relation and level (two for a many-to-many), whatever the number of objects."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import graphene
from django.db import router
from django.db.models import ManyToManyField, ManyToOneRel, OneToOneRel, Prefetch, QuerySet, prefetch_related_objects
from graphql.execution.values import get_argument_values
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode

from config.errors import ValidationFailed
from config.graphql.pagination import page_arguments, page_bounds


@dataclass(eq=False)
class Relation:
    """How one relation of a GraphQL object type is loaded.

    Many-valued relations land in ``to_attr`` as a list, loaded with ``queryset()`` (which carries the
    filter and order the field promises). Single-valued ones (``to_attr`` None) fill Django's own cache.
    A ``paginated`` relation is a field with ``first`` / ``offset``: each page asked for is prefetched
    per parent (a sliced prefetch, one query for all parents) into its own attribute.
    """

    lookup: str
    type_name: str
    queryset: Callable[[], QuerySet]
    to_attr: str | None = None
    paginated: bool = False

    def attr_for(self, bounds: tuple[int, int] | None) -> str | None:
        return self.to_attr if bounds is None else f"{self.to_attr}_{bounds[0]}_{bounds[1]}"


# type name -> key -> Relation; type name -> field name -> [(key, pass the field's selection on)]
_RELATIONS: dict[str, dict[str, Relation]] = {}
_NEEDS: dict[str, dict[str, list[tuple[str, bool]]]] = {}


def register_relation(type_name: str, key: str, relation: Relation) -> Relation:
    _RELATIONS.setdefault(type_name, {})[key] = relation
    return relation


def register_needs(type_name: str, field_name: str, *keys: str, pass_selection: bool = False) -> None:
    """A field resolved from relation(s) registered under other keys (computed fields, filtered views)."""
    _NEEDS.setdefault(type_name, {})[field_name] = [(key, pass_selection) for key in keys]


def _collect(info, nodes: Iterable, into: dict[str, list[FieldNode]], seen: set[str]) -> None:
    for node in nodes:
        selection_set = getattr(node, "selection_set", None)
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                into.setdefault(selection.name.value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                _collect(info, [selection], into, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = info.fragments.get(name)
                if fragment is not None and name not in seen:
                    _collect(info, [fragment], into, seen | {name})


def _subfields(info, nodes) -> dict[str, list[FieldNode]]:
    fields: dict[str, list[FieldNode]] = {}
    _collect(info, nodes, fields, set())
    return fields


def _node_bounds(info, type_name: str, node: FieldNode) -> tuple[int, int] | None:
    """The page a paginated field's node asks for; None when its arguments are out of range (the field's
    own resolver then answers the error, at the field's path)."""
    parent = info.schema.get_type(type_name)
    arguments = get_argument_values(parent.fields[node.name.value], node, info.variable_values)
    try:
        return page_bounds(arguments.get("first"), arguments.get("offset"))
    except ValidationFailed:
        return None


@dataclass(eq=False)
class Fetch:
    """One relation to load for a list of objects, and what to load below it."""

    relation: Relation
    bounds: tuple[int, int] | None
    children: list["Fetch"]


def _plan(info, type_name: str, nodes) -> list[Fetch]:
    relations = _RELATIONS.get(type_name, {})
    if not relations:
        return []
    wanted: dict[tuple[str, tuple[int, int] | None], list[FieldNode]] = {}
    for name, field_nodes in _subfields(info, nodes).items():
        needs = _NEEDS.get(type_name, {}).get(name)
        if needs is None:
            relation = relations.get(name)
            if relation is None:
                continue
            for node in field_nodes:
                bounds = _node_bounds(info, type_name, node) if relation.paginated else None
                if not relation.paginated or bounds is not None:
                    wanted.setdefault((name, bounds), []).append(node)
            continue
        for key, pass_selection in needs:
            wanted.setdefault((key, None), []).extend(field_nodes if pass_selection else [])
    return [_fetch(info, relations[key], child_nodes, bounds) for (key, bounds), child_nodes in wanted.items()]


def _fetch(info, relation: Relation, nodes, bounds: tuple[int, int] | None = None) -> Fetch:
    return Fetch(relation, bounds, _plan(info, relation.type_name, nodes))


def prefetch_for(info, type_name: str) -> list[Fetch]:
    """What the current field's selection (of objects of ``type_name``) needs loaded, for :func:`fetch`."""
    return _plan(info, type_name, info.field_nodes)


# ---------------------------------------------------------------------------------------------
# Loading: one query per relation and level (two for a many-to-many), whatever the number of objects
# ---------------------------------------------------------------------------------------------


def fetch(objects: list, fetches: list[Fetch]) -> list:
    """Load ``fetches`` for ``objects`` (all of one model), then what each needs below, level by level.

    Lists of a reverse foreign key or a many-to-many are loaded here: the children's query, grouped in
    Python, the lists set on their parents (``to_attr``) and each child's foreign key cache set to its
    parent, as Django's ``prefetch_related`` does, without its per-object bookkeeping (for a whole plan
    that bookkeeping cost more than the queries). Single objects and pages go through Django's
    ``prefetch_related_objects``."""
    if objects:
        for item in fetches:
            children = _load(objects, item)
            if item.children and children:
                fetch(children, item.children)
    return objects


def _load(objects: list, item: Fetch) -> list:
    relation = item.relation
    if relation.to_attr is not None and item.bounds is None:
        field = objects[0]._meta.get_field(relation.lookup)
        if isinstance(field, ManyToOneRel) and not isinstance(field, OneToOneRel):
            return _load_reverse_foreign_key(objects, relation, field.field)
        if isinstance(field, ManyToManyField):
            return _load_many_to_many(objects, relation, field)
    return _load_with_django(objects, relation, item.bounds)


def _queryset_for(relation: Relation, objects: list) -> QuerySet:
    """The relation's queryset on the database Django's related managers would read (routers decide,
    with the parent as hint, as for ``prefetch_related``)."""
    queryset = relation.queryset()
    return queryset.using(router.db_for_read(queryset.model, instance=objects[0]))


def _load_reverse_foreign_key(objects: list, relation: Relation, foreign_key) -> list:
    key_attr, child_attr = foreign_key.target_field.attname, foreign_key.attname
    parents: dict = {}
    for obj in objects:
        parents.setdefault(getattr(obj, key_attr), obj)
    children = list(_queryset_for(relation, objects).filter(**{f"{child_attr}__in": list(parents)}))
    groups: dict = {}
    for child in children:
        key = getattr(child, child_attr)
        groups.setdefault(key, []).append(child)
        if not foreign_key.is_cached(child):
            foreign_key.set_cached_value(child, parents[key])
    for obj in objects:
        setattr(obj, relation.to_attr, groups.get(getattr(obj, key_attr), []))
    return children


def _load_many_to_many(objects: list, relation: Relation, field) -> list:
    """Two queries: the through rows of the parents, then the targets (the relation's filter and order)."""
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name())
    target = through._meta.get_field(field.m2m_reverse_field_name())
    key_attr, target_key_attr = source.target_field.attname, target.target_field.attname
    keys = {getattr(obj, key_attr) for obj in objects}
    db = router.db_for_read(through, instance=objects[0])
    links = list(
        through._base_manager.using(db)
        .filter(**{f"{source.attname}__in": list(keys)})
        .values_list(source.attname, target.attname)
    )
    targets = list(_queryset_for(relation, objects).filter(**{f"{target_key_attr}__in": {t for _, t in links}}))
    position = {getattr(obj, target_key_attr): index for index, obj in enumerate(targets)}
    linked: dict = {}
    for key, target_key in links:
        if target_key in position:
            linked.setdefault(key, []).append(position[target_key])
    for obj in objects:
        setattr(obj, relation.to_attr, [targets[index] for index in sorted(linked.get(getattr(obj, key_attr), ()))])
    return targets


def _load_with_django(objects: list, relation: Relation, bounds: tuple[int, int] | None) -> list:
    queryset = relation.queryset()
    if bounds is not None:
        queryset = queryset[bounds[0] : bounds[0] + bounds[1]]
    attr = relation.attr_for(bounds)
    prefetch_related_objects(objects, Prefetch(relation.lookup, queryset=queryset, to_attr=attr))
    if attr is not None:
        return [child for obj in objects for child in getattr(obj, attr)]
    loaded = {}
    for obj in objects:
        child = getattr(obj, relation.lookup, None)
        if child is not None:
            loaded.setdefault(id(child), child)
    return list(loaded.values())


def optimize(queryset: QuerySet, info, type_name: str) -> list:
    """The objects of ``queryset`` with what the selection needs loaded."""
    return fetch(list(queryset), prefetch_for(info, type_name))


def load(model_or_queryset, pk, info, type_name: str):
    """A fresh copy of one object with what the selection needs (mutation results, single lookups)."""
    queryset = model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset._default_manager
    obj = queryset.get(pk=pk)
    fetch([obj], prefetch_for(info, type_name))
    return obj


def load_many(queryset: QuerySet, pks: list, info, type_name: str) -> list:
    """Objects by id, in the order of ``pks``."""
    by_pk = {obj.pk: obj for obj in optimize(queryset.filter(pk__in=pks), info, type_name)}
    return [by_pk[pk] for pk in pks if pk in by_pk]


def related(obj, info, type_name: str, key: str, bounds: tuple[int, int] | None = None):
    """The related object(s) of ``obj`` under ``key`` (the page ``bounds`` of a paginated relation): from
    the prefetch cache, else loaded now (once, with the prefetches its own selection needs)."""
    relation = _RELATIONS[type_name][key]
    if relation.to_attr is None:
        return getattr(obj, relation.lookup, None)
    attr = relation.attr_for(bounds)
    if not hasattr(obj, attr):
        fetch([obj], [_fetch(info, relation, info.field_nodes, bounds)])
    return getattr(obj, attr)


def related_list(type_name: str, key: str, of: str, *, page_of: str | None = None, **kwargs) -> graphene.List:
    """A ``[Type!]!`` field resolved through the relation registered under ``key``; with ``page_of`` (what
    the list holds, in words) it takes ``first`` / ``offset``, and the relation must be ``paginated``."""
    if page_of is None:

        def resolve(obj, info):
            return related(obj, info, type_name, key)

        return graphene.List(graphene.NonNull(of), required=True, resolver=resolve, **kwargs)

    def resolve_page(obj, info, first=None, offset=None):
        return related(obj, info, type_name, key, page_bounds(first, offset))

    return graphene.List(
        graphene.NonNull(of), required=True, resolver=resolve_page, **page_arguments(page_of), **kwargs
    )


def related_object(type_name: str, key: str, of: str, *, required: bool = True, **kwargs) -> graphene.Field:
    def resolve(obj, info):
        return related(obj, info, type_name, key)

    return graphene.Field(of, required=required, resolver=resolve, **kwargs)
