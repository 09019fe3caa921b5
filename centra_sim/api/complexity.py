"""Query complexity, as reported in ``extensions.complexity`` and charged to the QUERY_COMPLEXITY buckets.

Centra's exact formula is not public (UNCONFIRMED); its docs say nested lists dominate and that
``freeToAllocateQuantity`` is free while other stock quantities are "expensive scalars". This model:
  * a scalar costs 0, an expensive scalar 1;
  * an object field costs 1 plus its selection;
  * a list field costs 1 plus its selection times the list's size: its ``limit``/``first``/``last``
    argument (or that argument's default), else a typical size for lists without paging arguments.
"""

from __future__ import annotations

from graphql import GraphQLSchema, get_named_type, is_leaf_type, is_list_type, is_non_null_type
from graphql.execution.values import get_argument_values
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from . import permissions

EXPENSIVE_SCALARS = {
    "physicalQuantity",
    "allocatedQuantity",
    "availableNowQuantity",
    "availableQuantity",
    "demandQuantity",
    "incomingQuantity",
    "linkedIncomingQuantity",
    "unlinkedIncomingQuantity",
    "unshippedQuantity",
    "onDeliveryQuantity",
}
TYPICAL_LIST_SIZE = 10
PAGING_ARGS = ("limit", "first", "last")
# a connection's edges are already counted by the connection's first/last
SIZE_ONE_LISTS = {"edges"}


def analyze(
    schema: GraphQLSchema, document, operation, variables: dict, perms: dict[str, tuple[str, ...]] | None = None
) -> tuple[int, set[str]]:
    """The operation's complexity and the permissions it uses (``extensions.permissionsUsed``); `perms` maps the
    served schema's "Type.field" to its permissions (schema.ServedSchema), else they come from `schema`."""
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    used: set[str] = set()
    lookup = (
        (lambda t, f: perms.get(f"{t}.{f}", ()))
        if perms is not None
        else (lambda t, f: permissions.required(schema, t, f))
    )
    return _selection_cost(schema, fragments, variables, root, operation.selection_set, (used, lookup)), used


def _selection_cost(schema, fragments, variables, parent, selection_set: SelectionSetNode, used: tuple) -> int:
    """`used` is (the set of permissions used so far, "Type", "field" -> that field's permissions)."""
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            name = sel.name.value
            if name.startswith("__") or not hasattr(parent, "fields") or name not in parent.fields:
                continue
            field = parent.fields[name]
            used[0].update(used[1](parent.name, name))
            named = get_named_type(field.type)
            if is_leaf_type(named):
                total += 1 if name in EXPENSIVE_SCALARS else 0
                continue
            inner = (
                _selection_cost(schema, fragments, variables, named, sel.selection_set, used)
                if sel.selection_set
                else 0
            )
            total += 1 + _list_size(field, sel, variables) * inner
        elif isinstance(sel, InlineFragmentNode):
            target = schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
            total += _selection_cost(schema, fragments, variables, target, sel.selection_set, used)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            frag = fragments[sel.name.value]
            total += _selection_cost(
                schema, fragments, variables, schema.get_type(frag.type_condition.name.value), frag.selection_set, used
            )
    return total


def _list_size(field, node: FieldNode, variables: dict) -> int:
    type_ = field.type.of_type if is_non_null_type(field.type) else field.type
    args = get_argument_values(field, node, variables) if field.args else {}
    for name in PAGING_ARGS:
        if args.get(name):
            return int(args[name])
    if not is_list_type(type_):
        return 1
    return 1 if node.name.value in SIZE_ONE_LISTS else TYPICAL_LIST_SIZE
