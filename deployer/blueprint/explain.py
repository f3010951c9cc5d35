"""Translate pydantic's validation errors into blueprint diagnostics a user can act on.

Pydantic reports `('functions', 'api', 'triggers', 1, 'http', 'http', 'constrained-str')` and
"String should match pattern '^(GET|POST...'". A user wrote `functions.api.triggers[1].http` and wants
"must be 'METHOD /path'". Two things happen here:

- the loc tuple is walked alongside the model's types: a part met at a union is a tag (`http`,
  `constrained-str`, `HttpRoute`, a store's `bucket`) and pydantic's wrappers (`function-after[...]`)
  are not keys either, so both are dropped and what remains is the user's field path;
- each error type gets a message in the user's words, with the field name and the offending value,
  and a hint (did-you-mean for unknown keys and misspelled choices, quoting for numbers in strings).

Errors from the branches of a union are folded: a type mismatch in one branch is dropped when another
branch has a more specific complaint about the same field.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Iterable

from pydantic import BaseModel

from deployer.blueprint import model as m
from deployer.blueprint.load import join
from deployer.blueprint.suggest import did_you_mean, one_of  # noqa: F401 (did_you_mean: used by resolve)

PATTERNS = {
    m.NAME_PATTERN: "must start with a lowercase letter and hold only lowercase letters, digits and '-'",
    m.SECRET_PATTERN: "must start with an upper-case letter and hold only upper-case letters, digits and '_'",
    m.ENV_PATTERN: "must start with a letter or '_' and hold only letters, digits and '_'",
    m.HANDLER_PATTERN: "must be module.function, like main.handle",
    m.ROUTE_PATTERN: "must be 'METHOD /path' with METHOD one of " + ", ".join(m.HTTP_METHODS),
    m.PATH_PATTERN: "must start with '/' and hold no spaces",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must start with a letter or '_' and hold only letters, digits and '_'",
}
KEY_SUBJECTS = {"functions": "function name", "stores": "store name", "secrets": "secret name",
                "env": "environment variable name", "uses": "store name", "stages": "stage name"}
TYPE_WORDS = {"int": "an integer", "bool": "true or false", "float": "a number", "string": "a string",
              "dict": "a mapping", "model": "a mapping", "model_attributes": "a mapping", "list": "a list"}


def describe(value: Any) -> str:
    """How a value the user wrote reads in a message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return str(value)


INTERNAL_TAG = re.compile(r"^(function-(after|before|wrap|plain)\[|constrained-|json-or-python\[|lax-or-strict\[|"
                          r"nullable\[|default\[|model\[|chain\[)")


def field_path(data: Any, loc: Iterable[Any], err_type: str) -> tuple[str, bool]:
    """(user field path, is a dict key) for a pydantic loc.

    The model's types are walked along the loc: a part met at a union is a tag (`http`, `bucket`,
    `constrained-str`, `HttpRoute`) and is dropped, so are pydantic's wrapper tags
    (`function-after[...]`) that are not keys of the data; model fields, dict keys and list indexes
    are kept."""
    path, tp, node = "", m.Blueprint, data
    for part in loc:
        if part == "[key]":
            return path, True
        if isinstance(part, str) and INTERNAL_TAG.match(part) and not (isinstance(node, dict) and part in node):
            continue
        union = _union(tp)
        if union is not None:
            tp = _member(union, part) or Any
            continue
        tp = _step(tp, part) or Any
        path = join(path, part)
        node = _child(node, part)
    return path, False


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _union(tp: Any) -> Any:
    """The union `tp` is (None for Optional[X] with one X: pydantic gives no tag for those)."""
    tp = _unwrap(tp)
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    members = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp if len(members) > 1 else None


def model_at(loc: Iterable[Any]) -> type[BaseModel] | None:
    """The model class that validated the mapping at a pydantic loc (for its allowed keys)."""
    tp: Any = m.Blueprint
    for part in loc:
        tp = _member(_union(tp), part) if _union(tp) is not None else _step(tp, part)
        if tp is None:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _step(tp: Any, part: Any) -> Any:
    tp = _unwrap(tp)
    if tp is m.Clouds:  # `clouds.<name>`: the model the provider declares
        return m.settings_model(part)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin is list:
        return typing.get_args(tp)[0]
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return _step(members[0], part) if len(members) == 1 else _member(tp, part)
    return None


def _member(union: Any, tag: Any) -> Any:
    for member in typing.get_args(union):
        tags = {getattr(x, "tag", None) for x in getattr(member, "__metadata__", ())}
        inner = _unwrap(member)
        if isinstance(inner, type):
            tags.add(inner.__name__)
            kind = getattr(inner, "model_fields", {}).get("kind")
            if kind is not None:
                tags.update(typing.get_args(kind.annotation))
        if tag in tags or (inner is str and tag in ("str", "constrained-str")):
            return inner
    return None


def allowed_keys(loc: tuple) -> list[str]:
    cls = model_at(loc[:-1])
    if cls is None:
        return []
    return [info.alias or name for name, info in cls.model_fields.items()]


def explain(err: dict, path: str, is_key: bool, data: Any) -> tuple[str, str | None]:
    """(message, hint) for one pydantic error at a user field path."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    field = path.rsplit(".", 1)[-1] if path else "blueprint"
    if is_key:
        parent = path.rsplit(".", 2)[-2] if "." in path else ""
        subject = KEY_SUBJECTS.get(parent, "key")
        rule = PATTERNS.get(ctx.get("pattern"), err["msg"])
        if kind == "string_too_long":
            rule = f"must be at most {ctx.get('max_length')} characters long"
        return f"{subject} {describe(value)} {rule}", None
    handler = _HANDLERS.get(kind)
    if handler is not None:
        return handler({**err, "path": path}, field, value, ctx, data)
    if kind == "int_from_float":
        return f"expected an integer, got {describe(value)}", None
    base = kind.rsplit("_", 1)[0]
    if kind.endswith(("_type", "_parsing")) and base in TYPE_WORDS:
        return f"expected {TYPE_WORDS[base]}, got {describe(value)}", _quote_hint(base, value)
    return f"{field}: {err['msg'][:1].lower()}{err['msg'][1:]}", None


def _quote_hint(expected: str, value: Any) -> str | None:
    if expected == "string" and isinstance(value, (int, float, bool)):
        return f'quote it to make it a string: "{describe(value)}"'
    if expected == "list" and isinstance(value, dict):
        return "write each item on its own line starting with `- `"
    if expected == "list" and isinstance(value, str):
        return f"write a list: [{value}]"
    return None


def _missing(err, field, value, ctx, data):
    return f"missing required key '{field}'", None


def _extra(err, field, value, ctx, data):
    keys = allowed_keys(tuple(err["loc"]))
    hint = did_you_mean(field, keys) or (f"allowed keys here: {', '.join(keys)}" if keys else None)
    return f"unknown key '{field}'", hint


def _bound(word: str, key: str):
    def handler(err, field, value, ctx, data):
        return f"{field} must be {word} {ctx.get(key)}, got {describe(value)}", None
    return handler


def _pattern(err, field, value, ctx, data):
    rule = PATTERNS.get(ctx.get("pattern"), f"must match {ctx.get('pattern')}")
    subject = "secret name" if field.startswith("secrets[") else "route" if field == "http" else field
    return f"{subject} {describe(value)} {rule}", None


def _too_short(err, field, value, ctx, data):
    if ctx.get("min_length") == 1:
        return f"{field} must not be empty", None
    return f"{field} must be at least {ctx.get('min_length')} characters long", None


def _too_long(err, field, value, ctx, data):
    return f"{field} must be at most {ctx.get('max_length')} characters long, got {len(str(value))}", None


def _literal(err, field, value, ctx, data):
    choices = [c.strip().strip("'") for c in ctx.get("expected", "").replace(" or ", ", ").split(",")]
    hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
    if err.get("path", "").split(".")[-2:-1] == ["uses"]:
        kind = _kind_of(data, field)
        if kind in m.ACCESS_BY_KIND:
            choices = list(m.ACCESS_BY_KIND[kind])
            hint = did_you_mean(str(value), choices)
            return f"access {describe(value)} on {kind} '{field}' must be {one_of(choices)}", hint
        return f"access {describe(value)} on store '{field}' must be {one_of(choices)}", hint
    return f"{field} must be {one_of(choices)}, got {describe(value)}", hint


def _kind_of(data: Any, store: str) -> Any:
    stores = data.get("stores") if isinstance(data, dict) else None
    entry = stores.get(store) if isinstance(stores, dict) else None
    return entry.get("kind") if isinstance(entry, dict) else None


def _store_kind(err, field, value, ctx, data):
    if not isinstance(value, dict):
        return f"expected a mapping like {{kind: bucket}}, got {describe(value)}", None
    if err["type"] == "union_tag_not_found":
        return f"store '{field}' needs a kind", "add `kind: bucket`, `kind: table`, `kind: queue` or `kind: topic`"
    kind = value.get("kind")
    return (f"unknown store kind {describe(kind)}",
            did_you_mean(str(kind), m.STORE_KINDS) or f"a store's kind is {one_of(m.STORE_KINDS)}")


def _trigger_kind(err, field, value, ctx, data):
    keys = ", ".join(m.TRIGGER_KEYS)
    if not isinstance(value, dict):
        hint = "write `- http: GET /path` (a mapping), not a string" if isinstance(value, str) else None
        return f"expected a trigger (a mapping with one of the keys {keys}), got {describe(value)}", hint
    guesses = [did_you_mean(str(k), m.TRIGGER_KEYS) for k in value]
    return f"a trigger needs one of the keys {keys}", next((g for g in guesses if g), None)


def _value_error(err, field, value, ctx, data):
    msg = err["msg"].removeprefix("Value error, ")
    return msg, None


_HANDLERS = {
    "missing": _missing, "extra_forbidden": _extra,
    "greater_than_equal": _bound("at least", "ge"), "less_than_equal": _bound("at most", "le"),
    "greater_than": _bound("greater than", "gt"), "less_than": _bound("less than", "lt"),
    "string_pattern_mismatch": _pattern, "string_too_short": _too_short, "string_too_long": _too_long,
    "literal_error": _literal, "union_tag_invalid": _store_kind, "union_tag_not_found": _store_kind,
    "trigger_kind": _trigger_kind, "value_error": _value_error,
}
TYPE_ERRORS = ("_type", "_parsing")


def fold_unions(items: list[tuple[dict, str, bool]]) -> list[tuple[dict, str, bool]]:
    """Drop a branch's type mismatch when another error speaks about the same field or below it;
    merge type mismatches of several branches at one field into one error."""
    def specific(path: str) -> bool:
        return any(not e["type"].endswith(TYPE_ERRORS) and (p == path or p.startswith((path + ".", path + "[")))
                   for e, p, _ in items)
    out, seen_types = [], {}
    for err, path, is_key in items:
        if err["type"].endswith(TYPE_ERRORS) and len(err["loc"]) > 1:
            if specific(path):
                continue
            if path in seen_types:
                seen_types[path]["alternatives"].append(err["type"])
                continue
            err = {**err, "alternatives": [err["type"]]}
            seen_types[path] = err
        out.append((err, path, is_key))
    return [(_merged(e), p, k) for e, p, k in out]


def _merged(err: dict) -> dict:
    alts = err.get("alternatives", [])
    if len(alts) < 2:
        return err
    words = []
    for alt in alts:
        word = TYPE_WORDS.get(alt.rsplit("_", 1)[0], alt)
        if word not in words:
            words.append(word)
    if alts[0] == "string_type" and "model_type" in alts:  # the HTTP trigger's two forms
        words = ["'METHOD /path'", "a mapping {method, path}"]
    return {**err, "type": "value_error", "msg": f"expected {' or '.join(words)}, got {describe(err.get('input'))}"}
