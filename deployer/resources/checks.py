"""Rules over the whole resource graph, as data checks with located diagnostics.

Run by `plan`, `up` and `validate --cloud X` after a provider compiles. Some mistakes are invisible one
resource at a time and obvious over the set: two resources with one physical name, a bucket name that
anyone else in the world may already hold, a subscription created before the permission it needs.

Generic rules (every cloud): inputs the SDK accepts (index.py), references that resolve (to a resource,
an output attribute of its type, a call, a declared secret), no dependency cycle. Cloud rules are data
a provider declares (`Rules`): per type, where its physical name is and what the cloud accepts
(`NameRule`), and which subscriptions must depend on which permissions (`Ordering`). A diagnostic is
located at the owner's place in the blueprint (`functions.api`, `stores.uploads`) or at the top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from deployer.errors import Diagnostic
from deployer.resources.graph import Graph, Resource
from deployer.resources.index import Index
from deployer.resources.values import CallOut, Out, Secret, Template, references

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint


@dataclass(frozen=True)
class NameRule:
    """Where a type's physical name is (`field`), its length and characters, and whether it must be
    unique worldwide (then it must hold one of `unique_parts`: an account-, project- or
    subscription-specific reference or literal that the provider puts in every such name)."""

    field: str
    max_length: int
    pattern: str  # a full-match regular expression over the name
    worldwide: bool = False
    unique_parts: tuple[str, ...] = ()  # rendered references like "${getCallerIdentity.account_id}"
    #: stack config keys (`gcp:project`) whose value, held literally in the name, makes it specific
    unique_config: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Ordering:
    """Every resource of type `subscription` that names a function must depend (directly or not) on a
    resource of type `permission` owned by that same function."""

    subscription: str
    permission: str


@dataclass(frozen=True)
class Rules:
    names: dict[str, NameRule] = field(default_factory=dict)
    orderings: tuple[Ordering, ...] = ()
    #: how long each reference may render at most (`${getCallerIdentity.account_id}` -> 12)
    reference_lengths: dict[str, int] = field(default_factory=dict)
    #: retained types that a later `up` must not import (their state id is not an import id, and the
    #: cloud accepts declaring them again: GCP's project IAM members)
    not_adopted: tuple[str, ...] = ()


def check(graph: Graph, index: Index, rules: Rules, bp: "Blueprint") -> list[Diagnostic]:
    found: list[Diagnostic] = []
    by_name = graph.by_name()
    calls = {c.name: c for c in graph.calls}
    for res in graph.resources:
        where = _place(bp, res)
        if res.options.read_id is None:  # a read resource has no inputs to check
            found += [_diag(bp, where, f"{res.name} ({res.type}): {p}", graph.cloud)
                      for p in index.problems(res.type, res.inputs)]
        found += [_diag(bp, where, f"{res.name}: {p}", graph.cloud)
                  for p in _unresolved(res, by_name, calls, index, bp)]
    found += _cycles(graph, bp)
    found += _names(graph, rules, bp)
    found += _orderings(graph, rules, by_name, bp)
    return found


def _place(bp: "Blueprint", res: Resource) -> str:
    return {"function": "functions", "store": "stores"}.get(res.owner.kind, "") + (
        f".{res.owner.name}" if res.owner.name else "")


def _diag(bp: "Blueprint", path: str, message: str, cloud: str, hint: str | None = None) -> Diagnostic:
    location = bp.locate(path) if path else bp.locate("name")
    return Diagnostic(message, location, hint=hint, code="graph", cloud=cloud)


def _unresolved(res: Resource, by_name: dict[str, Resource], calls: dict[str, Any], index: Index,
                bp: "Blueprint") -> Iterable[str]:
    """(by_name and calls are built once per graph: rebuilding them per resource was quadratic.)"""
    for ref in references(res.inputs):
        match ref:
            case Out(target, attr):
                if target not in by_name:
                    yield f"refers to unknown resource {target}"
                elif attr != "id" and attr not in index.outputs(by_name[target].type):
                    yield f"refers to {target}.{attr}, which {by_name[target].type} does not output"
            case CallOut(call, attr):
                if call not in calls:
                    yield f"refers to unknown call {call}"
                elif attr not in index.outputs(calls[call].token):
                    yield f"refers to {call}.{attr}, which the call does not return"
            case Secret(name):
                if name not in bp.secrets:
                    yield f"refers to undeclared secret {name}"
    for dep in res.options.depends_on:
        if dep not in by_name:
            yield f"depends on unknown resource {dep}"


def _cycles(graph: Graph, bp: "Blueprint") -> list[Diagnostic]:
    try:
        graph.ordered()
    except ValueError as exc:
        return [_diag(bp, "", str(exc), graph.cloud)]
    return []


def rendered_name(value: Any, rules: Rules) -> tuple[str, int] | None:
    """(the name as plan shows it, its longest possible length), or None when it is not a string."""
    from deployer.resources.render import value as render

    if isinstance(value, str):
        return value, len(value)
    if isinstance(value, Template):
        text = render(value)
        longest = len(text)
        for part in value.parts:
            if isinstance(part, (Out, CallOut)):
                ref = render(part)
                longest += rules.reference_lengths.get(ref, len(ref)) - len(ref)
        return text, longest
    return None


def _names(graph: Graph, rules: Rules, bp: "Blueprint") -> list[Diagnostic]:
    found: list[Diagnostic] = []
    seen: dict[tuple[str, str], Resource] = {}
    for res in graph.resources:
        rule = rules.names.get(res.type)
        named = rendered_name(res.inputs.get(rule.field), rules) if rule else None
        if named is None:
            continue
        text, longest = named
        where, what = _place(bp, res), f"{res.name}: {rule.description or res.type} name {text!r}"
        other = seen.setdefault((res.type, text), res)
        if other is not res:
            found.append(_diag(bp, where, f"{what} is also the name of {other.name}", graph.cloud,
                               "rename one of the two in the blueprint"))
        if longest > rule.max_length:
            found.append(_diag(bp, where, f"{what} can be {longest} characters; the limit is {rule.max_length}",
                               graph.cloud, "use a shorter app, stage or store name"))
        literal = re.sub(r"\$\{[^}]*\}", "", text)
        if not re.fullmatch(rule.pattern, _sample(text, rules)) and literal:
            found.append(_diag(bp, where, f"{what} does not match {rule.pattern}", graph.cloud))
        specific = rule.unique_parts + tuple(graph.config[k] for k in rule.unique_config if graph.config.get(k))
        if rule.worldwide and not any(part in text for part in specific):
            found.append(_diag(bp, where, f"{what} must be unique worldwide but holds nothing specific "
                               "to this account", graph.cloud))
    return found


def _sample(text: str, rules: Rules) -> str:
    """The name with each reference replaced by a plausible value of its longest length (digits)."""
    return re.sub(r"\$\{[^}]*\}", lambda m: "1" * rules.reference_lengths.get(m.group(0), 1), text)


def _orderings(graph: Graph, rules: Rules, by_name: dict[str, Resource], bp: "Blueprint") -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for ordering in rules.orderings:
        for res in graph.resources:
            if res.type != ordering.subscription:
                continue
            targets = {by_name[r.resource].owner.name for r in references(res.inputs)
                       if isinstance(r, Out) and r.resource in by_name
                       and by_name[r.resource].owner.kind == "function"}
            before = _ancestors(res, by_name)
            for function in sorted(targets):
                if not any(d.type == ordering.permission and d.owner.name == function for d in before):
                    found.append(_diag(bp, _place(bp, res), f"{res.name} may be created before the "
                                       f"{ordering.permission} that lets it invoke function {function}",
                                       graph.cloud))
    return found


def _ancestors(res: Resource, by_name: dict[str, Resource]) -> list[Resource]:
    seen: dict[str, Resource] = {}
    stack = [res]
    while stack:
        for dep in stack.pop().dependencies():
            if dep in by_name and dep not in seen:
                seen[dep] = by_name[dep]
                stack.append(by_name[dep])
    return list(seen.values())
