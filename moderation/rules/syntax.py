"""Hashtag rules: boolean expressions over concepts, parsed once and evaluated many times.

Grammar, operators and canonical text: docs/moderation.md, "Notes moved from the code: rules"."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from moderation.rules.expr import And, ConceptRef, Expr, Not, Or

# Parentheses and prefix ``not`` deepen the tree: stay well inside Python's recursion limit.
MAX_DEPTH = 50


AND_WORDS = frozenset({"and", "그리고", "및"})


OR_WORDS = frozenset({"or", "또는", "혹은"})


NOT_WORDS = frozenset({"not", "제외", "아닌"})


AND_SYMBOLS = ("&&", "&")


OR_SYMBOLS = ("||", "|")


NOT_SYMBOLS = ("!", "~")


class RuleSyntaxError(ValueError):
    """A rule that cannot be parsed, or names a concept nobody knows."""

    def __init__(
        self, message: str, *, position: int | None = None, name: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position  # 1-based character position, or None
        self.name = name  # the unknown concept name, for unknown-concept errors


Resolver: TypeAlias = Callable[[str], str | None] | Mapping[str, str]


TokenKind = Literal["name", "and", "or", "not", "(", ")", "end"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    position: int  # 1-based


def normalize_name(name: str) -> str:
    """How names are compared: NFC, case-folded (and NFC again, as folding may decompose)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _is_name_char(ch: str, *, first: bool) -> bool:
    if ch == "_" or ch.isalnum():
        return True
    if first:
        return False
    return ch == "-" or unicodedata.category(ch).startswith("M")  # combining marks


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        pos = i + 1
        if ch in "()":
            yield _Token(ch, ch, pos)  # type: ignore[arg-type]
            i += 1
            continue
        symbol = next(
            (
                (kind, s)
                for kind, symbols in (
                    ("and", AND_SYMBOLS),
                    ("or", OR_SYMBOLS),
                    ("not", NOT_SYMBOLS),
                )
                for s in symbols
                if text.startswith(s, i)
            ),
            None,
        )
        if symbol is not None:
            kind, s = symbol
            yield _Token(kind, s, pos)  # type: ignore[arg-type]
            i += len(s)
            continue
        if _is_name_char(ch, first=True):
            j = i + 1
            while j < n and _is_name_char(text[j], first=False):
                j += 1
            word = text[i:j]
            folded = normalize_name(word)
            if folded in AND_WORDS:
                yield _Token("and", word, pos)
            elif folded in OR_WORDS:
                yield _Token("or", word, pos)
            elif folded in NOT_WORDS:
                yield _Token("not", word, pos)
            else:
                yield _Token("name", word, pos)
            i = j
            continue
        raise RuleSyntaxError(
            f"Unexpected character {ch!r} at position {pos}: use concept names, "
            "and / or / not, and parentheses.",
            position=pos,
        )
    yield _Token("end", "", n + 1)


def _resolver(resolve: Resolver) -> tuple[Callable[[str], str | None], list[str] | None]:
    if isinstance(resolve, Mapping):
        table = {normalize_name(k): v for k, v in resolve.items()}
        return table.get, sorted(table)
    return resolve, None


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the rule"
    return f"{token.text!r} at position {token.position}"


def _missing_operator(token: _Token, expected: str) -> str:
    if token.kind in ("name", "(", "not"):
        return (
            f"Expected 'and', 'or' or {expected}, found {_describe(token)}: "
            "join concepts with 'and' or 'or'."
        )
    return f"Expected 'and', 'or' or {expected}, found {_describe(token)}."


class _Parser:
    def __init__(self, text: str, resolve: Resolver) -> None:
        self.tokens = list(_tokens(text))
        self.index = 0
        self.depth = 0
        self.resolve, self.known = _resolver(resolve)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"The rule nests too deeply at position {token.position} "
                f"(at most {MAX_DEPTH} levels of parentheses and 'not').",
                position=token.position,
            )

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise RuleSyntaxError(
                "The rule is empty: name at least one concept, e.g. 'food or beverage'.",
                position=None,
            )
        expr = self.parse_or()
        token = self.peek()
        if token.kind == ")":
            raise RuleSyntaxError(
                f"Unmatched ')' at position {token.position}.", position=token.position
            )
        if token.kind != "end":
            raise RuleSyntaxError(
                _missing_operator(token, "the end of the rule"), position=token.position
            )
        return expr

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.peek().kind == "or":
            operator = self.advance()
            items.append(self.parse_and(after=operator))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self, after: _Token | None = None) -> Expr:
        items = [self.parse_not(after)]
        while self.peek().kind == "and":
            operator = self.advance()
            items.append(self.parse_not(after=operator))
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self, after: _Token | None = None) -> Expr:
        nots: list[_Token] = []
        while self.peek().kind == "not":
            operator = self.advance()
            self.deeper(operator)
            nots.append(operator)
            after = operator
        expr = self.parse_atom(after)
        for _ in nots:
            expr = Not(expr)
        self.depth -= len(nots)
        return expr

    def parse_atom(self, after: _Token | None) -> Expr:
        token = self.peek()
        if token.kind == "name":
            self.advance()
            return ConceptRef(self.lookup(token))
        if token.kind == "(":
            self.advance()
            self.deeper(token)
            if self.peek().kind == ")":
                raise RuleSyntaxError(
                    f"Empty parentheses at position {token.position}.", position=token.position
                )
            expr = self.parse_or()
            if self.peek().kind != ")":
                closing = self.peek()
                if closing.kind == "end":
                    message = f"Unclosed '(' at position {token.position}: add ')'."
                    position = token.position
                else:
                    message = _missing_operator(
                        closing, f"')' to close the '(' at position {token.position}"
                    )
                    position = closing.position
                raise RuleSyntaxError(message, position=position)
            self.advance()
            self.depth -= 1
            return expr
        where = f"at position {token.position}"
        if token.kind == "end":
            where += " (the end of the rule)"
        found = "" if token.kind == "end" else f", found {token.text!r}"
        subject = "a concept name" if after is None else f"a concept name after {after.text!r}"
        raise RuleSyntaxError(f"Expected {subject} {where}{found}.", position=token.position)

    def lookup(self, token: _Token) -> str:
        name = normalize_name(token.text)
        key = self.resolve(name)
        if key is not None:
            return key
        message = f"Unknown concept {token.text!r} at position {token.position}."
        if self.known is not None:
            message += " Known concepts: " + ", ".join(self.known) + "."
        raise RuleSyntaxError(message, position=token.position, name=token.text)


def parse(text: str, resolve: Resolver) -> Expr:
    """Parse a rule; concept names go through ``resolve`` to concept keys."""
    return _Parser(text, resolve).parse()


def validate(text: str, resolve: Resolver) -> str:
    """The canonical text of a rule (what to store), or RuleSyntaxError."""
    return str(parse(text, resolve))
