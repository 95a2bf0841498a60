"""The small expression language of mapping files, compiled to polars expressions.

A mapping is data a user writes and shares, so its expressions are never evaluated as Python or
pasted into SQL: they are parsed with `ast` and only the nodes below are accepted: column names,
literals, arithmetic, comparisons, `and`/`or`/`not`, `a if cond else b`, and the functions of
`FUNCTIONS`. A column whose name is not an identifier is written `col("Impr.")`.

    spend: {expr: 'number(col("Cost (USD)")) / 1000000'}
    utm_campaign: {expr: 'url_param(col("Final URL"), "utm_campaign")'}
    channel: {expr: 'channel_of(traffic_source_source, traffic_source_medium)'}
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

import polars as pl

from ingest import parse
from ingest.errors import MappingError

_BINARY: dict[type[ast.operator], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

_PAID_MEDIUMS = ("cpc", "ppc", "paid", "paidsearch", "paid_search", "cpm", "paid_social", "paidsocial")
_SOCIAL_SOURCES = ("linkedin", "facebook", "fb", "meta", "instagram", "twitter", "x", "reddit", "tiktok")
_SEARCH_SOURCES = ("google", "bing", "microsoft", "yahoo", "duckduckgo", "baidu", "ecosia")


def _channel_of(source: pl.Expr, medium: pl.Expr) -> pl.Expr:
    """A unified channel from utm_source / utm_medium, after GA4's default channel grouping."""
    s = parse.text(source).str.to_lowercase()
    m = parse.text(medium).str.to_lowercase()
    paid = m.is_in(_PAID_MEDIUMS)
    return (
        pl.when(m.is_in(("email", "e-mail", "newsletter")))
        .then(pl.lit("email"))
        .when(paid & s.is_in(_SOCIAL_SOURCES))
        .then(pl.lit("paid_social"))
        .when(paid)
        .then(pl.lit("paid_search"))
        .when(m.is_in(("display", "banner", "cpm_display")))
        .then(pl.lit("display"))
        .when(m == "organic")
        .then(pl.lit("organic_search"))
        .when(s.is_in(_SOCIAL_SOURCES) | m.is_in(("social", "social-network", "sm")))
        .then(pl.lit("organic_social"))
        .when(m == "referral")
        .then(pl.lit("referral"))
        .when((s == "(direct)") | (m.is_in(("(none)", "none"))) | (s.is_null() & m.is_null()))
        .then(pl.lit("direct"))
        .when(s.is_in(_SEARCH_SOURCES))
        .then(pl.lit("organic_search"))
        .otherwise(pl.lit("other"))
    )


def _url_param(url: pl.Expr, name: str) -> pl.Expr:
    return parse.text(url).str.extract(rf"[?&]{re.escape(name)}=([^&#]*)", 1)


def _from_unix(value: pl.Expr, unit: str) -> pl.Expr:
    if unit not in ("s", "ms", "us"):
        raise MappingError(f"from_unix unit must be 's', 'ms' or 'us', not {unit!r}")
    micros = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit]
    # Epoch numbers carry no separators: a plain cast reads both integers and their text.
    numeric = value.cast(pl.Float64, strict=False)
    return (numeric * micros).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"))


# The literal arguments of each function, in order, and their types.
_LITERAL_TYPES: dict[str, tuple[type, ...]] = {
    "replace": (str, str),
    "split_part": (str, int),
    "starts_with": (str,),
    "contains": (str,),
    "to_date": (str,),
    "to_datetime": (str, str),
    "from_unix": (str,),
    "url_param": (str,),
    "round": (int,),
}

# name -> (how many leading arguments are expressions (None: all), fewest and most arguments,
# builder). Arguments after the expressions must be literals: formats, separators, units.
FUNCTIONS: dict[str, tuple[int | None, int, int | None, Callable[..., pl.Expr]]] = {
    "coalesce": (None, 1, None, lambda *a: pl.coalesce(*[parse.text(x) for x in a])),
    "concat": (None, 1, None, lambda *a: pl.concat_str([x.cast(pl.String) for x in a], ignore_nulls=True)),
    "lower": (1, 1, 1, lambda a: parse.text(a).str.to_lowercase()),
    "upper": (1, 1, 1, lambda a: parse.text(a).str.to_uppercase()),
    "strip": (1, 1, 1, parse.text),
    "replace": (1, 3, 3, lambda a, old, new: parse.text(a).str.replace_all(old, new, literal=True)),
    "split_part": (1, 3, 3, lambda a, sep, i: parse.text(a).str.split(sep).list.get(i, null_on_oob=True)),
    "starts_with": (1, 2, 2, lambda a, prefix: parse.text(a).str.starts_with(prefix)),
    "contains": (1, 2, 2, lambda a, part: parse.text(a).str.contains(part, literal=True)),
    "number": (1, 1, 1, parse.number),
    "to_date": (1, 1, 2, lambda a, fmt=None: parse.date(a, fmt)),
    "to_datetime": (1, 1, 3, lambda a, fmt=None, tz="UTC": parse.datetime(a, fmt, tz)),
    "from_unix": (1, 2, 2, _from_unix),
    "url_param": (1, 2, 2, _url_param),
    "channel_of": (2, 2, 2, _channel_of),
    "round": (1, 1, 2, lambda a, n=0: parse.number(a).round(n)),
    "abs": (1, 1, 1, lambda a: parse.number(a).abs()),
    "is_empty": (1, 1, 1, lambda a: parse.text(a).is_null()),
}


class Expression:
    """One parsed mapping expression: the columns it reads and its polars form."""

    def __init__(self, source: str, *, timezone: str = "UTC") -> None:
        self.source = source
        self.timezone = timezone  # how to_datetime() reads a time without an offset
        try:
            tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as exc:
            raise MappingError(f"expression {source!r} is not valid: {exc.msg}") from None
        except (RecursionError, MemoryError):  # how Python's parser gives up on deep nesting
            raise self._too_deep() from None
        depth, nodes, calls = _size(tree)
        if depth > MAX_DEPTH or nodes > MAX_NODES or calls > MAX_CALL_DEPTH:
            raise self._too_deep()
        self.columns: set[str] = set()
        # Built once, when the mapping loads: a bad mapping fails before any file is read.
        self.expr = self._build(tree)

    def _build(self, node: ast.AST) -> pl.Expr:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, str | int | float | bool | type(None)):
                raise self._refuse(f"the literal {node.value!r}")
            try:
                return pl.lit(node.value)
            except pl.exceptions.PolarsError:  # an integer beyond polars' 128 bits
                too_large = f"expression {self.source!r}: the number {node.value} is too large"
                raise MappingError(too_large) from None
        if isinstance(node, ast.Name):
            if node.id in ("True", "False", "None"):
                return pl.lit({"True": True, "False": False, "None": None}[node.id])
            self.columns.add(node.id)
            return pl.col(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self._build(node.left), self._build(node.right)
            if isinstance(node.op, ast.Add) and _is_text(node.left, node.right):
                return pl.concat_str([left, right])
            return _BINARY[type(node.op)](_numeric(node.left, left), _numeric(node.right, right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
            operand = self._build(node.operand)
            return -_numeric(node.operand, operand) if isinstance(node.op, ast.USub) else ~operand
        if isinstance(node, ast.BoolOp):
            values = [self._build(v) for v in node.values]
            combined = values[0]
            for value in values[1:]:
                combined = combined & value if isinstance(node.op, ast.And) else combined | value
            return combined
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            right_node = node.comparators[0]
            left, right = self._build(node.left), self._build(right_node)
            if _is_number(right_node):  # `Impr < 1`: the column's text is read as a number
                left = _numeric(node.left, left)
            if _is_number(node.left):
                right = _numeric(right_node, right)
            return _COMPARE[type(node.ops[0])](left, right)
        if isinstance(node, ast.IfExp):
            return (
                pl.when(self._build(node.test))
                .then(self._build(node.body))
                .otherwise(self._build(node.orelse))
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node.func.id, node.args)
        raise self._refuse(ast.unparse(node))

    def _call(self, name: str, args: list[ast.expr]) -> pl.Expr:
        if name == "col":
            if len(args) != 1 or not _is_str(args[0]):
                raise self._refuse('col() other than col("column name")')
            column = args[0].value  # type: ignore[attr-defined]
            self.columns.add(column)
            return pl.col(column)
        if name not in FUNCTIONS:
            known = ", ".join(["col", *sorted(FUNCTIONS)])
            raise MappingError(f"expression {self.source!r}: unknown function {name}() (functions: {known})")
        n_exprs, low, high, build = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            count = f"{low}" if low == high else f"{low} to {high or 'any number of'}"
            raise MappingError(f"expression {self.source!r}: {name}() takes {count} arguments")
        split = len(args) if n_exprs is None else n_exprs
        consts = []
        for arg, kind in zip(args[split:], _LITERAL_TYPES.get(name, ()), strict=False):
            if not isinstance(arg, ast.Constant) or type(arg.value) is not kind:
                what = {str: "a text literal", int: "a whole-number literal"}[kind]
                raise MappingError(
                    f"expression {self.source!r}: argument {ast.unparse(arg)} of {name}() must be {what}"
                )
            consts.append(arg.value)
        if name == "to_datetime" and len(consts) < 2:  # the mapping's timezone, unless given
            consts += [None] * (1 - len(consts)) + [self.timezone]
        arguments = [self._build(a) for a in args[:split]]
        try:
            return build(*arguments, *consts)
        except OverflowError:  # round(x, 10**30): a literal beyond what polars takes
            too_large = f"expression {self.source!r}: {name}(): a number argument is too large"
            raise MappingError(too_large) from None
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
            # polars checks some literals as the expression is built (an unknown time zone)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MappingError(f"expression {self.source!r}: {name}(): {reason}") from None

    def _too_deep(self) -> MappingError:
        shown = repr(self.source[:80]) + ("..." if len(self.source) > 80 else "")
        return MappingError(
            f"expression {shown} is too large: at most {MAX_NODES} parts, {MAX_DEPTH} levels and "
            f"{MAX_CALL_DEPTH} functions inside one another; simplify it"
        )

    def _refuse(self, what: str) -> MappingError:
        return MappingError(
            f"expression {self.source!r}: {what} is not allowed (use column names, literals, + - * / %, "
            "comparisons, and/or/not, 'x if c else y' and the listed functions)"
        )


MAX_DEPTH = 50
"""Syntax-tree levels: `_build` recurses, and so does polars (its stack overflows, a crash)."""
MAX_NODES = 300
"""Syntax-tree nodes: `a and b and ...` is one node deep but one polars level per operand."""
MAX_CALL_DEPTH = 2
"""Functions inside functions: most builders use their argument more than once (`text()` twice,
`channel_of()` ten times; arithmetic reads a call through `number()`), so the polars expression
grows exponentially with this nesting: four `channel_of()` deep take polars half a minute, five
never finish. Real mappings nest one."""


def _size(tree: ast.AST) -> tuple[int, int, int]:
    """A syntax tree's depth, node count and nesting of function calls (`col()` aside), counted
    without recursion (the tree may be thousands of levels deep)."""
    deepest, nodes, calls_deepest, stack = 0, 0, 0, [(tree, 1, 0)]
    while stack:
        node, depth, calls = stack.pop()
        nodes += 1
        if isinstance(node, ast.Call) and getattr(node.func, "id", "col") != "col":
            calls += 1
        deepest, calls_deepest = max(deepest, depth), max(calls_deepest, calls)
        stack.extend((child, depth + 1, calls) for child in ast.iter_child_nodes(node))
    return deepest, nodes, calls_deepest


def _is_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_text(*nodes: ast.AST) -> bool:
    """`+` joins text when either side is a string literal or a text function."""
    text_funcs = ("concat", "lower", "upper", "strip", "replace", "split_part", "url_param", "coalesce")
    return any(
        _is_str(n) or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in text_funcs)
        for n in nodes
    )


def _numeric(node: ast.AST, expr: pl.Expr) -> pl.Expr:
    """Arithmetic on a column reads its text as a number (exports store numbers as text)."""
    numeric_call = isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("number", "round", "abs")
    if isinstance(node, ast.Name | ast.Call) and not numeric_call:
        return parse.number(expr)
    return expr
