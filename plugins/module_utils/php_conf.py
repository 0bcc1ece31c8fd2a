# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PHP configuration reader: what a PHP configuration file (Horde's conf.php, its conf.d/
and conf.local.php, backends.local.php) sets an array variable's keys to, without running PHP.
Python standard library only.

A tokenizer for PHP source, a reader of literal values (strings with their escapes, numbers,
booleans, null, constants such as LOG_USER, nested array() and [] literals) and a statement
analysis that works out, for a key path, the value PHP ends up with: a literal value,
UNDEFINED when nothing sets it, or UNKNOWN when the key is set to a computed expression, set
inside a condition, loop, function or class, passed by reference, unset, or when the file uses
include, eval, extract or variable variables. PhpConfig follows several files included one
after the other. The horde_conf module edits files with it; processing_facts reads Horde's
settings with it.

PHP itself is not run: a configuration file that a web application can change must not be
executed as root. The tests check the reader against PHP where PHP is installed.
"""

from __future__ import annotations

import glob
import math
import os
import re

try:
    import syslog
except ImportError:  # not a Unix system: PHP's LOG_* constants stay unknown
    syslog = None


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


class PhpConstant(object):
    """A bare PHP constant such as LOG_USER (compared by name)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, PhpConstant) and other.name == self.name

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("PhpConstant", self.name))

    def __repr__(self):
        return "PhpConstant(%r)" % self.name


class PhpArray(object):
    """A PHP array: ordered (key, value) pairs; keys are int or str."""

    __slots__ = ("items",)

    def __init__(self, items=None):
        self.items = list(items or [])

    def get(self, key, default=None):
        for k, v in self.items:
            if identical(k, key):
                return v
        return default

    def set(self, key, value):
        for index, (k, dummy) in enumerate(self.items):
            if identical(k, key):
                self.items[index] = (k, value)
                return
        self.items.append((key, value))

    def copy(self):
        return PhpArray(list(self.items))

    def __eq__(self, other):
        return identical(self, other)

    def __ne__(self, other):
        return not identical(self, other)

    __hash__ = None

    def __repr__(self):
        return "PhpArray(%r)" % (self.items,)


class _Marker(object):
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


# The value of a key whose value the reader cannot work out (computed expression, condition...).
UNKNOWN = _Marker("UNKNOWN")
# A key that is not set.
UNDEFINED = _Marker("UNDEFINED")

INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
INT64_MAX = 2 ** 63 - 1


def type_tag(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, PhpConstant):
        return "constant"
    if isinstance(value, PhpArray):
        return "array"
    return "other"


def identical(a, b):
    """PHP === for the values this reader knows (arrays compare keys, order and values)."""
    ta, tb = type_tag(a), type_tag(b)
    if ta != tb or ta == "other":
        return False
    if ta == "array":
        if len(a.items) != len(b.items):
            return False
        for (ka, va), (kb, vb) in zip(a.items, b.items):
            if not identical(ka, kb) or not identical(va, vb):
                return False
        return True
    return a == b


def normalize_key(key):
    """An array key as PHP stores it: decimal integer strings become integers."""
    if isinstance(key, bool):
        return int(key)
    if isinstance(key, int):
        return key
    if isinstance(key, str):
        if INT_KEY.match(key) and abs(int(key)) <= INT64_MAX:
            return int(key)
        return key
    raise ValueError("array keys must be strings or integers, not %s" % type(key).__name__)


def parse_key(raw):
    """A key path from task arguments: a dotted string (``log.priority``) or a non-empty list of
    segments; segments that are decimal integers become integer keys, as in PHP."""
    if isinstance(raw, str):
        if raw == "" or raw.startswith(".") or raw.endswith(".") or ".." in raw:
            raise ValueError("invalid key path %r" % raw)
        segments = raw.split(".")
    elif isinstance(raw, (list, tuple)) and raw:
        segments = list(raw)
    else:
        raise ValueError("a key path must be a dotted string or a non-empty list, not %r" % (raw,))
    return [normalize_key(segment) for segment in segments]


def key_label(key):
    """A key path as dotted text (``log.priority``), as results name it."""
    return ".".join(str(segment) for segment in key)


def to_php_value(value):
    """A Python value from task arguments as a value of this model (lists and dictionaries
    become PhpArray); ValueError for what PHP cannot hold."""
    if value is None or isinstance(value, (bool, str, PhpConstant)):
        return value
    if isinstance(value, int):
        if abs(value) > INT64_MAX:
            raise ValueError("integer %d does not fit into a PHP integer" % value)
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("NaN and infinite floats cannot be written as PHP literals")
        return value
    if isinstance(value, PhpArray):
        return value
    if isinstance(value, (list, tuple)):
        return PhpArray((index, to_php_value(item)) for index, item in enumerate(value))
    if isinstance(value, dict):
        result = PhpArray()
        for key, item in value.items():
            php_key = normalize_key(key)
            if result.get(php_key, UNDEFINED) is not UNDEFINED:
                raise ValueError("duplicate array key %r after PHP key normalisation" % (key,))
            result.items.append((php_key, to_php_value(item)))
        return result
    raise ValueError("values of type %s cannot be written as PHP literals" % type(value).__name__)


# PHP's predefined syslog constants (ext/standard): the names and values of the C library's
# <syslog.h>, which Python's syslog module has on the same host.
PHP_SYSLOG_CONSTANTS = (
    "LOG_EMERG", "LOG_ALERT", "LOG_CRIT", "LOG_ERR", "LOG_WARNING", "LOG_NOTICE", "LOG_INFO", "LOG_DEBUG",
    "LOG_KERN", "LOG_USER", "LOG_MAIL", "LOG_DAEMON", "LOG_AUTH", "LOG_SYSLOG", "LOG_LPR", "LOG_NEWS",
    "LOG_UUCP", "LOG_CRON", "LOG_AUTHPRIV", "LOG_LOCAL0", "LOG_LOCAL1", "LOG_LOCAL2", "LOG_LOCAL3",
    "LOG_LOCAL4", "LOG_LOCAL5", "LOG_LOCAL6", "LOG_LOCAL7", "LOG_PID", "LOG_CONS", "LOG_ODELAY",
    "LOG_NDELAY", "LOG_NOWAIT", "LOG_PERROR",
)


def constant_value(name):
    """The value PHP gives the predefined constant ``name`` (case-sensitive, as in PHP 8) when
    the reader knows it (PHP's syslog constants), else UNKNOWN."""
    if name in PHP_SYSLOG_CONSTANTS and syslog is not None and hasattr(syslog, name):
        return getattr(syslog, name)
    return UNKNOWN


def resolve_constants(value):
    """The value with every PhpConstant replaced by what PHP gives it (constant_value); UNKNOWN
    when a constant is not known."""
    if isinstance(value, PhpConstant):
        return constant_value(value.name)
    if isinstance(value, PhpArray):
        items = []
        for key, item in value.items:
            item = resolve_constants(item)
            if item is UNKNOWN:
                return UNKNOWN
            items.append((key, item))
        return PhpArray(items)
    return value


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


class Token(object):
    __slots__ = ("kind", "text", "start", "end", "line")

    def __init__(self, kind, text, start, end, line):
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.line = line

    def is_op(self, *ops):
        return self.kind == "op" and self.text in ops

    def is_word(self, *words):
        return self.kind == "ident" and self.text.lower() in words

    def __repr__(self):
        return "Token(%s, %r, line %d)" % (self.kind, self.text, self.line)


class PhpParseError(Exception):
    """The file cannot be read with certainty."""


_OPS = sorted(
    [
        "<<=", ">>=", "**=", "...", "<=>", "===", "!==", "??=", "?->",
        "++", "--", "->", "=>", "::", "==", "!=", "<>", "<=", ">=", "&&", "||", "??",
        "+=", "-=", "*=", "/=", ".=", "%=", "&=", "|=", "^=", "<<", ">>", "**", "#[",
        "+", "-", "*", "/", "%", "=", "<", ">", "!", ".", "(", ")", "[", "]", "{", "}",
        ",", ";", "?", ":", "&", "|", "^", "~", "@", "\\", "$",
    ],
    key=len,
    reverse=True,
)
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"
    r"|0[bB][01]+(?:_[01]+)*"
    r"|0[oO][0-7]+(?:_[0-7]+)*"
    r"|(?:[0-9]+(?:_[0-9]+)*)?\.[0-9]+(?:_[0-9]+)*(?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?"
    r"|[0-9]+(?:_[0-9]+)*\.(?:[0-9]+(?:_[0-9]+)*)?(?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?"
    r"|[0-9]+(?:_[0-9]+)*[eE][+-]?[0-9]+(?:_[0-9]+)*"
    r"|[0-9]+(?:_[0-9]+)*"
)
_NAME = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*")
_OPEN_TAG = re.compile(r"<\?php(?=\s|$)|<\?=", re.IGNORECASE)
_HEREDOC = re.compile(r"<<<[ \t]*(?:([A-Za-z_][A-Za-z0-9_]*)|\"([A-Za-z_][A-Za-z0-9_]*)\"|'([A-Za-z_][A-Za-z0-9_]*)')\r?\n")


def tokenize(text):
    """Split PHP source into tokens; whitespace and comments are tokens too."""
    tokens = []
    pos = 0
    line = 1
    length = len(text)
    in_php = False

    def add(kind, start, end):
        tokens.append(Token(kind, text[start:end], start, end, line))
        return end

    while pos < length:
        if not in_php:
            match = _OPEN_TAG.search(text, pos)
            if match is None:
                add("inline", pos, length)
                break
            if match.start() > pos:
                add("inline", pos, match.start())
                line += text.count("\n", pos, match.start())
            end = match.end()
            # The opening tag takes one following newline with it.
            if text.startswith("\r\n", end):
                end += 2
            elif text.startswith("\n", end):
                end += 1
            add("open", match.start(), end)
            line += text.count("\n", match.start(), end)
            pos = end
            in_php = True
            continue

        char = text[pos]
        start = pos
        if char in " \t\r\n\f\v":
            while pos < length and text[pos] in " \t\r\n\f\v":
                pos += 1
            add("ws", start, pos)
            line += text.count("\n", start, pos)
            continue
        if text.startswith("?>", pos):
            end = pos + 2
            if text.startswith("\r\n", end):
                end += 2
            elif text.startswith("\n", end):
                end += 1
            add("close", start, end)
            line += text.count("\n", start, end)
            pos = end
            in_php = False
            continue
        if char == "#" and not text.startswith("#[", pos) or text.startswith("//", pos):
            end = pos
            while end < length and text[end] != "\n" and not text.startswith("?>", end):
                end += 1
            add("comment", start, end)
            pos = end
            continue
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise PhpParseError("unterminated comment starting on line %d" % line)
            end += 2
            add("comment", start, end)
            line += text.count("\n", start, end)
            pos = end
            continue
        if char == "'":
            end = pos + 1
            while True:
                if end >= length:
                    raise PhpParseError("unterminated string starting on line %d" % line)
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == "'":
                    end += 1
                    break
                end += 1
            add("sq", start, end)
            line += text.count("\n", start, end)
            pos = end
            continue
        if char in "\"`":
            end = pos + 1
            while True:
                if end >= length:
                    raise PhpParseError("unterminated string starting on line %d" % line)
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == char:
                    end += 1
                    break
                end += 1
            add("dq" if char == '"' else "backtick", start, end)
            line += text.count("\n", start, end)
            pos = end
            continue
        if text.startswith("<<<", pos):
            match = _HEREDOC.match(text, pos)
            if match is None:
                raise PhpParseError("cannot read the heredoc on line %d" % line)
            label = match.group(1) or match.group(2) or match.group(3)
            closing = re.compile(r"^[ \t]*" + re.escape(label) + r"(?![A-Za-z0-9_\x80-\U0010ffff])", re.MULTILINE)
            close_match = closing.search(text, match.end())
            if close_match is None:
                raise PhpParseError("unterminated heredoc starting on line %d" % line)
            end = close_match.end()
            add("heredoc", start, end)
            line += text.count("\n", start, end)
            pos = end
            continue
        if char == "$":
            match = _NAME.match(text, pos + 1)
            if match is not None:
                add("var", start, match.end())
                pos = match.end()
                continue
        if char.isdigit() or (char == "." and pos + 1 < length and text[pos + 1].isdigit()):
            match = _NUMBER.match(text, pos)
            add("num", start, match.end())
            pos = match.end()
            continue
        match = _NAME.match(text, pos)
        if match is not None:
            add("ident", start, match.end())
            pos = match.end()
            continue
        for op in _OPS:
            if text.startswith(op, pos):
                add("op", start, pos + len(op))
                pos += len(op)
                break
        else:
            raise PhpParseError("unexpected character %r on line %d" % (char, line))
    return tokens


# --------------------------------------------------------------------------------------------
# Literal values
# --------------------------------------------------------------------------------------------

_DQ_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "v": b"\x0b", "e": b"\x1b", "f": b"\x0c", "\\": b"\\", "$": b"$", '"': b'"'}


def decode_single_quoted(literal):
    body = literal[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body) and body[index + 1] in "\\'":
            out.append(body[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def decode_double_quoted(literal):
    """The value of a double-quoted literal, or UNKNOWN when it interpolates variables."""
    body = literal[1:-1]
    out = bytearray()
    index = 0
    length = len(body)
    while index < length:
        char = body[index]
        if char == "$" and index + 1 < length and (body[index + 1] == "{" or _NAME.match(body, index + 1)):
            return UNKNOWN
        if char == "{" and index + 1 < length and body[index + 1] == "$":
            return UNKNOWN
        if char != "\\" or index + 1 >= length:
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        nxt = body[index + 1]
        if nxt in _DQ_ESCAPES:
            out += _DQ_ESCAPES[nxt]
            index += 2
            continue
        match = re.match(r"[0-7]{1,3}", body[index + 1:])
        if match:
            out.append(int(match.group(0), 8) & 0xFF)
            index += 1 + len(match.group(0))
            continue
        match = re.match(r"x([0-9A-Fa-f]{1,2})", body[index + 1:])
        if match:
            out.append(int(match.group(1), 16))
            index += 1 + len(match.group(0))
            continue
        match = re.match(r"u\{([0-9A-Fa-f]+)\}", body[index + 1:])
        if match:
            code = int(match.group(1), 16)
            if code > 0x10FFFF:
                return UNKNOWN
            out += chr(code).encode("utf-8", "surrogatepass")
            index += 1 + len(match.group(0))
            continue
        out += b"\\"
        index += 1
    try:
        return bytes(out).decode("utf-8")
    except UnicodeDecodeError:
        return UNKNOWN


def number_value(text):
    """The value of a PHP number literal, or UNKNOWN."""
    clean = text.replace("_", "")
    lower = clean.lower()
    try:
        if lower.startswith("0x"):
            value = int(lower[2:], 16)
        elif lower.startswith("0b"):
            value = int(lower[2:], 2)
        elif lower.startswith("0o"):
            value = int(lower[2:], 8)
        elif "." in lower or "e" in lower:
            return float(lower)
        elif len(lower) > 1 and lower.startswith("0"):
            if not re.match(r"^[0-7]+$", lower):
                return UNKNOWN
            value = int(lower, 8)
        else:
            value = int(lower, 10)
    except ValueError:
        return UNKNOWN
    if value > INT64_MAX:
        # PHP turns it into a float; do not guess.
        return UNKNOWN
    return value


class _ValueParser(object):
    """Reads one literal expression from significant tokens; UNKNOWN for anything else."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset=0):
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def parse_all(self):
        try:
            value = self.value()
        except _NotLiteral:
            return UNKNOWN
        if self.pos != len(self.tokens):
            return UNKNOWN
        return value

    def value(self):
        token = self.peek()
        if token is None:
            raise _NotLiteral()
        if token.is_op("-", "+"):
            nxt = self.peek(1)
            if nxt is not None and nxt.kind == "num":
                self.pos += 2
                number = number_value(nxt.text)
                if number is UNKNOWN:
                    raise _NotLiteral()
                return -number if token.text == "-" else number
            raise _NotLiteral()
        if token.kind == "num":
            self.pos += 1
            number = number_value(token.text)
            if number is UNKNOWN:
                raise _NotLiteral()
            return number
        if token.kind == "sq":
            self.pos += 1
            return decode_single_quoted(token.text)
        if token.kind == "dq":
            self.pos += 1
            decoded = decode_double_quoted(token.text)
            if decoded is UNKNOWN:
                raise _NotLiteral()
            return decoded
        if token.is_word("array"):
            nxt = self.peek(1)
            if nxt is None or not nxt.is_op("("):
                raise _NotLiteral()
            self.pos += 2
            return self.array_items(")")
        if token.is_op("["):
            self.pos += 1
            return self.array_items("]")
        if token.kind == "ident":
            nxt = self.peek(1)
            if nxt is not None and (nxt.is_op("(", "::", "\\") or nxt.kind in ("ident", "var")):
                raise _NotLiteral()
            self.pos += 1
            lower = token.text.lower()
            if lower == "true":
                return True
            if lower == "false":
                return False
            if lower == "null":
                return None
            return PhpConstant(token.text)
        raise _NotLiteral()

    def array_items(self, closer):
        result = PhpArray()
        next_index = 0
        while True:
            token = self.peek()
            if token is None:
                raise _NotLiteral()
            if token.is_op(closer):
                self.pos += 1
                return result
            if token.is_op("..."):
                raise _NotLiteral()
            first = self.value()
            token = self.peek()
            if token is not None and token.is_op("=>"):
                self.pos += 1
                if type_tag(first) not in ("int", "string", "bool"):
                    raise _NotLiteral()
                key = normalize_key(first)
                item = self.value()
            else:
                key = next_index
                item = first
            result.set(key, item)
            if isinstance(key, int) and key >= next_index:
                next_index = key + 1
            token = self.peek()
            if token is None:
                raise _NotLiteral()
            if token.is_op(","):
                self.pos += 1
                continue
            if not token.is_op(closer):
                raise _NotLiteral()


class _NotLiteral(Exception):
    pass


def parse_literal(tokens):
    """The value of an expression given as significant tokens; UNKNOWN unless it is a plain literal."""
    return _ValueParser(list(tokens)).parse_all()


# --------------------------------------------------------------------------------------------
# Statements and events
# --------------------------------------------------------------------------------------------

_BLOCK_KEYWORDS = (
    "if", "while", "for", "foreach", "switch", "do", "try", "function", "class", "interface",
    "trait", "enum", "abstract", "final", "readonly", "declare", "namespace",
)
_ALT_OPENERS = ("if", "while", "for", "foreach", "switch", "declare")
_ALT_CLOSERS = ("endif", "endwhile", "endfor", "endforeach", "endswitch", "enddeclare")
CONTINUATIONS = ("else", "elseif", "catch", "finally")
_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", ".=", "%=", "&=", "|=", "^=", "<<=", ">>=", "**=", "??=")
# Constructs that may change any variable: the reader cannot follow them.
_OPAQUE_WORDS = ("include", "include_once", "require", "require_once", "eval", "extract", "parse_str")
_DEFINITIONS = ("function", "class", "interface", "trait", "enum", "abstract", "final", "readonly")
_FLOW_WORDS = ("return", "exit", "die", "goto", "__halt_compiler")


class Statement(object):
    """A top-level statement: significant tokens, source span, and what it does to the variable."""

    __slots__ = ("index", "tokens", "start", "end", "terminator", "assignment", "events")

    def __init__(self, index, tokens):
        self.index = index
        self.tokens = tokens
        self.start = tokens[0].start
        self.end = tokens[-1].end
        self.terminator = tokens[-1]
        # (path, value tokens) when the statement is `$var[...literal keys...] = expression;`
        self.assignment = None
        # (path or None for "anything", line, floating) for writes the reader cannot evaluate;
        # floating: inside a function or class, so it may run anywhere.
        self.events = []


class PhpFile(object):
    """A parsed PHP configuration file."""

    def __init__(self, text, variable):
        self.text = text
        self.variable = variable
        self.tokens = tokenize(text)
        self.statements = []
        self.flow_lines = []
        self._split_statements()
        for statement in self.statements:
            self._analyse(statement)

    # -- structure ---------------------------------------------------------------------------

    def _split_statements(self):
        significant = [t for t in self.tokens if t.kind not in ("ws", "comment", "inline", "open")]
        current = []
        depth = 0
        alt_depth = 0
        block = False
        opener_keywords = []
        last_closed = None
        for index, token in enumerate(significant):
            nxt = significant[index + 1] if index + 1 < len(significant) else None
            prev = current[-1] if current else None
            if not current:
                block = token.is_word(*_BLOCK_KEYWORDS) or token.is_op("{")
            current.append(token)
            if token.kind == "close":
                if depth or alt_depth:
                    raise PhpParseError("a PHP closing tag inside a block on line %d is not supported" % token.line)
                self._finish(current)
                current = []
                last_closed = None
                continue
            closed = None
            if token.is_op("(", "[", "{", "#["):
                keyword = None
                if token.is_op("(") and prev is not None and prev.kind == "ident":
                    keyword = prev.text.lower()
                opener_keywords.append(keyword)
                depth += 1
            elif token.is_op(")", "]", "}"):
                if depth == 0:
                    raise PhpParseError("unbalanced %r on line %d" % (token.text, token.line))
                depth -= 1
                keyword = opener_keywords.pop()
                if token.is_op(")") and depth == 0:
                    closed = keyword
            elif depth == 0 and token.is_op(":") and prev is not None and prev.is_op(")") and last_closed in _ALT_OPENERS:
                alt_depth += 1
            elif depth == 0 and token.is_word(*_ALT_CLOSERS):
                alt_depth -= 1
                if alt_depth < 0:
                    raise PhpParseError("unbalanced %s on line %d" % (token.text, token.line))
            last_closed = closed
            if depth or alt_depth:
                continue
            ends = False
            if token.is_op(";"):
                ends = not (block and nxt is not None and nxt.is_word(*CONTINUATIONS))
                if ends and block and current[0].is_word("do") and nxt is not None and nxt.is_word("while"):
                    ends = False
            elif token.is_op("}") and block:
                ends = nxt is None or not (
                    nxt.is_word(*CONTINUATIONS)
                    or (nxt.is_word("while") and current[0].is_word("do"))
                    or nxt.is_op(";", ")", ",", "]", "->", "?->", "::", "(", "[")
                )
            if ends:
                self._finish(current)
                current = []
        if depth != 0 or alt_depth != 0:
            raise PhpParseError("the file ends inside a block or an expression")
        if current:
            raise PhpParseError("the last statement (line %d) is not terminated" % current[0].line)

    def _finish(self, tokens):
        self.statements.append(Statement(len(self.statements), tokens))

    # -- analysis ----------------------------------------------------------------------------

    @staticmethod
    def _subscripts(tokens, index):
        """Literal subscripts from tokens[index]: (path, index after them, dynamic?)."""
        path = []
        while index < len(tokens) and tokens[index].is_op("["):
            inner = []
            depth = 0
            scan = index + 1
            while scan < len(tokens):
                token = tokens[scan]
                if token.is_op("(", "[", "{", "#["):
                    depth += 1
                elif token.is_op(")", "]", "}"):
                    if depth == 0:
                        break
                    depth -= 1
                inner.append(token)
                scan += 1
            if scan >= len(tokens) or not tokens[scan].is_op("]"):
                return path, index, True
            if not inner:
                # $var[] = ... appends under a key nobody knows in advance.
                return path, scan + 1, True
            key = parse_literal(inner)
            if type_tag(key) not in ("int", "string", "bool"):
                return path, scan + 1, True
            path.append(normalize_key(key))
            index = scan + 1
        return path, index, False

    def _occurrences(self, tokens):
        """Mentions of the variable: (index, path, index after the path, dynamic?).

        $GLOBALS['var'][...] counts as the variable; $GLOBALS[<expression>] as any variable
        (path None).
        """
        found = []
        for index, token in enumerate(tokens):
            if token.kind != "var":
                continue
            if token.text[1:] == self.variable:
                path, after, dynamic = self._subscripts(tokens, index + 1)
                found.append((index, path, after, dynamic))
            elif token.text == "$GLOBALS":
                path, after, dynamic = self._subscripts(tokens, index + 1)
                if path[:1] == [self.variable]:
                    found.append((index, path[1:], after, dynamic))
                elif not path:
                    found.append((index, None, after, True))
        return found

    def _analyse(self, statement):
        tokens = statement.tokens
        first = tokens[0]
        definition = first.is_word(*_DEFINITIONS)
        floating = definition or any(t.is_word("function", "fn") for t in tokens)
        if not definition:
            self.flow_lines.extend(t.line for t in tokens if t.is_word(*_FLOW_WORDS))
        if first.kind == "var" and first.text[1:] == self.variable:
            path, after, dynamic = self._subscripts(tokens, 1)
            if not dynamic and after < len(tokens) - 2 and tokens[after].is_op("=") and tokens[-1].is_op(";"):
                statement.assignment = (path, tokens[after + 1:-1])
        for token in tokens:
            if token.is_word(*_OPAQUE_WORDS) or token.is_op("$"):
                statement.events.append((None, token.line, floating))
        for begin, path, after, dynamic in self._occurrences(tokens):
            if begin == 0 and statement.assignment is not None:
                continue
            prev = tokens[begin - 1] if begin > 0 else None
            nxt = tokens[after] if after < len(tokens) else None
            write = (
                dynamic
                or begin == 0
                or (prev is not None and prev.is_op("&", "++", "--"))
                or (nxt is not None and nxt.is_op("++", "--", *_ASSIGN_OPS))
                or self._inside_group(tokens, begin)
                or first.is_word(*_BLOCK_KEYWORDS)
                or first.is_op("{")
                or first.is_word("unset", "static", "global", "list")
            )
            if write:
                statement.events.append((path, tokens[begin].line, floating))

    @staticmethod
    def _inside_group(tokens, index):
        depth = 0
        for token in tokens[:index]:
            if token.is_op("(", "[", "{", "#["):
                depth += 1
            elif token.is_op(")", "]", "}"):
                depth -= 1
        return depth > 0

    # -- queries -----------------------------------------------------------------------------

    def check_flow(self):
        if self.flow_lines:
            raise PhpParseError(
                "the file uses return, exit, die, goto or __halt_compiler (line %d), so the module "
                "cannot tell which assignments run" % self.flow_lines[0]
            )

    def events_for(self, key):
        """Statements that touch the key path, in file order: (statement, kind, payload).

        kind is exact, parent or child (payload: the value tokens), uncertain or floating
        (payload: the line).
        """
        result = []
        for statement in self.statements:
            if statement.assignment is not None:
                path, value_tokens = statement.assignment
                if path == key:
                    result.append((statement, "exact", value_tokens))
                elif key[:len(path)] == path:
                    result.append((statement, "parent", value_tokens))
                elif path[:len(key)] == key:
                    result.append((statement, "child", value_tokens))
            for path, line, floating in statement.events:
                if path is None or key[:len(path)] == path or path[:len(key)] == key:
                    result.append((statement, "floating" if floating else "uncertain", line))
        return result

    def effective(self, key, value=UNDEFINED, why=None):
        """The value PHP ends up with for the key path: a value, UNDEFINED or UNKNOWN.
        ``value`` is the key's value before the file runs (an earlier file's, see PhpConfig).
        ``why``: a list that gets the line of the statement that made the value UNKNOWN (emptied
        when a later statement makes it known again)."""
        for statement, kind, payload in self.events_for(key):
            before = value
            if kind == "floating":
                _note(why, payload)
                return UNKNOWN
            if kind == "uncertain":
                value = UNKNOWN
                _note(why, payload)
                continue
            path = statement.assignment[0]
            literal = parse_literal(payload)
            if kind == "exact":
                value = literal
            elif kind == "parent":
                value = lookup(literal, key[len(path):])
            else:
                value = _assign_below(value, path[len(key):], literal)
            if value is not UNKNOWN:
                _note(why, None)
            elif before is not UNKNOWN or kind != "child":
                _note(why, statement.tokens[0].line)
        return value


def _note(why, line):
    """Keep the line that made a value UNKNOWN in ``why`` (None: the value is known again)."""
    if why is not None:
        del why[:]
        if line is not None:
            why.append(line)


def lookup(value, subpath):
    """value[a][b]... as PHP reads it: a value, UNDEFINED or UNKNOWN."""
    for segment in subpath:
        if value is UNKNOWN or value is UNDEFINED:
            return value
        if isinstance(value, PhpArray):
            value = value.get(segment, UNDEFINED)
        elif value is None:
            return UNDEFINED
        else:
            return UNKNOWN
    return value


def _container_of(value):
    if value is UNDEFINED or value is UNKNOWN:
        return value
    if isinstance(value, PhpArray):
        return "array"
    return "null" if value is None else "other"


def _assign_below(value, subpath, literal):
    """PHP's $x[a][b] = literal on a known value; UNKNOWN when PHP would not create arrays."""
    if value is UNKNOWN:
        return UNKNOWN
    if value is UNDEFINED or value is None:
        value = PhpArray()
    if not isinstance(value, PhpArray):
        return UNKNOWN
    value = value.copy()
    head = subpath[0]
    if len(subpath) == 1:
        value.set(head, literal)
    else:
        value.set(head, _assign_below(value.get(head, UNDEFINED), subpath[1:], literal))
    return value


class PhpConfig(object):
    """An array variable set by several PHP files that run one after the other in the same
    scope (Horde: conf.php, conf.d/*.php, conf.local.php): ``value(key)`` is what PHP ends up
    with after the last file. ``files`` is [(name, text)]; a file that cannot be read with
    certainty (a PhpParseError, or return/exit/goto, which may skip its assignments) makes
    every key it mentions UNKNOWN, and every key when it cannot be tokenized at all.
    ``problems`` lists [(name, reason)] of those files; reasons name lines, never values."""

    def __init__(self, files, variable="conf"):
        self.variable = variable
        self.parsed = []
        self.problems = []
        for name, text in files:
            try:
                php = PhpFile(text, variable)
            except PhpParseError as exc:
                self.parsed.append((name, None))
                self.problems.append((name, str(exc)))
                continue
            if php.flow_lines:
                self.problems.append((name, "return, exit, die, goto or __halt_compiler on line %d" % php.flow_lines[0]))
            self.parsed.append((name, php))

    def value(self, key):
        """The value of the key path (a list of segments; see normalize_key): a value of the
        model, UNDEFINED or UNKNOWN."""
        key = [normalize_key(segment) for segment in key]
        value = UNDEFINED
        for _name, php in self.parsed:
            if php is None:
                return UNKNOWN
            if php.flow_lines and php.events_for(key):
                return UNKNOWN
            value = php.effective(key, value)
        return value

    def container(self, key):
        """What kind of value the key path holds after the last file, when only that matters:
        "array", "null", "other" (a value that is not an array), UNDEFINED or UNKNOWN. Unlike
        value(), a computed or conditional assignment *below* an array leaves it an array (PHP
        cannot turn $a['x'] into something else by writing $a['x']['y']), so a caller can tell
        that an array exists although some of its keys are UNKNOWN."""
        key = [normalize_key(segment) for segment in key]
        state = UNDEFINED
        for _name, php in self.parsed:
            if php is None or (php.flow_lines and php.events_for(key)):
                return UNKNOWN
            for statement in php.statements:
                if statement.assignment is not None:
                    path, value_tokens = statement.assignment
                    if key[:len(path)] == path:
                        state = _container_of(lookup(parse_literal(value_tokens), key[len(path):]))
                    elif path[:len(key)] == key:
                        # PHP makes an unset or null key an array when a key below it is assigned
                        state = "array" if state in (UNDEFINED, "null", "array") else UNKNOWN
                for path, _line, _floating in statement.events:
                    if path is None or key[:len(path)] == path:
                        state = UNKNOWN
                    elif path[:len(key)] == key and state != "array":
                        state = UNKNOWN
        return state

    def unknown_origin(self, key):
        """Why value(key) is UNKNOWN: (file name, reason), the reason naming a line and what
        kind of statement, never a value; None when the value is not UNKNOWN."""
        key = [normalize_key(segment) for segment in key]
        value = UNDEFINED
        origin = None
        problems = dict(self.problems)
        for name, php in self.parsed:
            if php is None:
                return name, "the file cannot be parsed (%s)" % _without_quotes(problems.get(name, ""))
            if php.flow_lines and php.events_for(key):
                return name, "return, exit, die, goto or __halt_compiler on line %d may skip its assignments" % php.flow_lines[0]
            why = []
            before = value
            value = php.effective(key, value, why)
            if value is not UNKNOWN:
                origin = None
            elif why:
                origin = (name, "line %d: only running PHP could tell (a function call or expression, a condition, loop "
                                "or function, a reference, unset, include, eval or variable variables)" % why[0])
            elif before is not UNKNOWN:
                origin = (name, "only running PHP could tell")
        return origin if value is UNKNOWN else None


def _without_quotes(reason):
    """A parser message without the quoted source fragments it may hold."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", "...", reason)


def layered_files(path, glob_files=glob.glob, isfile=os.path.isfile):
    """The files PHP runs for one Horde configuration file, in Horde_Registry_Loadconfig's
    order: FILE, then STEM.d/*.php in file-name order, then STEM.local.php (those that are
    files). ``glob_files`` and ``isfile`` may read under another root (processing_facts)."""
    directory, name = os.path.split(path)
    stem = name[:-4] if name.endswith('.php') else name
    candidates = [path] + sorted(glob_files(os.path.join(directory, stem + '.d', '*.php')))
    candidates.append(os.path.join(directory, stem + '.local.php'))
    return [candidate for candidate in candidates if isfile(candidate)]
