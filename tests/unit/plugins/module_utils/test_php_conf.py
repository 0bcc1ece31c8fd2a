# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the PHP configuration reader (module_utils/php_conf.py): tokenizer, literal
values, statements, and PhpConfig over several files. Tests marked ``real_php`` compare the
reader with PHP itself when ``php`` is installed on the controller (skipped otherwise; the
Molecule scenario ``horde`` has PHP)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import (
    UNDEFINED,
    UNKNOWN,
    PhpArray,
    PhpConfig,
    PhpConstant,
    PhpFile,
    constant_value,
    decode_double_quoted,
    identical,
    layered_files,
    parse_literal,
    resolve_constants,
    tokenize,
    type_tag,
)

PHP = shutil.which("php")
real_php = pytest.mark.skipif(PHP is None, reason="php is not installed on this machine")

# The head of a conf.php as Horde's configuration screen writes it (see test_horde_conf.py).
CONF_PHP = textwrap.dedent(
    """\
    <?php
    /* CONFIG START. DO NOT CHANGE ANYTHING IN OR AFTER THIS LINE. */
    // $Id: 5841de7a8bd742b764f603953bef5d16a75a0da4 $
    $conf['session']['name'] = 'Horde';
    $conf['session']['max_time'] = 72000;
    $conf['sql']['phptype'] = 'mysql';
    $conf['log']['priority'] = 'NOTICE';
    $conf['log']['ident'] = 'HORDE';
    $conf['log']['name'] = LOG_USER;
    $conf['log']['type'] = 'syslog';
    $conf['log']['enabled'] = true;
    /* CONFIG END. DO NOT CHANGE ANYTHING IN OR BEFORE THIS LINE. */
    """
)


# --------------------------------------------------------------------------------------------
# Literals, tokenizer and statements (moved from test_horde_conf.py with the reader)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, value",
    [
        (r"'a\b'", "a\\b"),  # an unknown escape keeps its backslash in single quotes
        (r"'a\\b'", "a\\b"),
        (r"'\''", "'"),
        (r'"tab\there"', "tab\there"),
        (r'"\x41\101\u{1F600}\$x"', "AA\U0001F600$x"),
        (r'"a\qb"', "a\\qb"),
        ("077", 63),
        ("0o17", 15),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("-5", -5),
        ("1.5e3", 1500.0),
        (".5", 0.5),
        ("TRUE", True),
        ("Null", None),
        ("LOG_USER", PhpConstant("LOG_USER")),
        ("['a' => 1, 'b']", PhpArray([("a", 1), (0, "b")])),
        ("array(5 => 'x', 'y')", PhpArray([(5, "x"), (6, "y")])),
        ("array('1' => 'x', true => 'y')", PhpArray([(1, "y")])),
        ("array(-3 => 'x', 'y')", PhpArray([(-3, "x"), (0, "y")])),
        ("array('a', 'b',)", PhpArray([(0, "a"), (1, "b")])),
    ],
)
def test_parse_literal(source, value):
    tokens = [t for t in tokenize("<?php " + source + ";") if t.kind not in ("ws", "comment", "open")]
    assert identical(parse_literal(tokens[:-1]), value)


@pytest.mark.parametrize(
    "source",
    [
        "$_SERVER['SERVER_NAME']",
        "E_ALL & ~E_NOTICE",
        "'a' . 'b'",
        '"user $name"',
        '"{$x}"',
        "strtolower('A')",
        "Foo::BAR",
        "array('a' => $x)",
        "089",
        "99999999999999999999",
        "<<<EOT\nx\nEOT",
        "[...$a]",
    ],
)
def test_expressions_are_unknown(source):
    tokens = [t for t in tokenize("<?php $v = " + source + ";") if t.kind not in ("ws", "comment", "open")]
    assert [t.text for t in tokens[:2]] == ["$v", "="]
    assert parse_literal(tokens[2:-1]) is UNKNOWN


def test_double_quoted_interpolation_is_unknown_but_escaped_dollar_is_not():
    assert decode_double_quoted('"$a"') is UNKNOWN
    assert decode_double_quoted('"${a}"') is UNKNOWN
    assert decode_double_quoted('"\\$a"') == "$a"
    assert decode_double_quoted('"a $ b"') == "a $ b"


def test_identical_is_strict_like_php():
    assert not identical(1, True)
    assert not identical(1, 1.0)
    assert not identical("1", 1)
    assert not identical(PhpArray([(0, "a"), (1, "b")]), PhpArray([(1, "b"), (0, "a")]))
    assert identical(PhpConstant("LOG_MAIL"), PhpConstant("LOG_MAIL"))
    assert not identical(PhpConstant("LOG_MAIL"), "LOG_MAIL")


def test_tokenizer_keeps_every_character():
    text = CONF_PHP + "?>\n<html><?php $a = \"x;y\"; // c ?> tail\n"
    assert "".join(t.text for t in tokenize(text)) == text


def test_alternative_syntax_and_else_blocks_are_one_statement():
    text = "<?php\nif ($x):\n  $conf['a'] = 1;\nelse:\n  $conf['a'] = 2;\nendif;\n$conf['b'] = 3;\n"
    php = PhpFile(text, "conf")
    assert len(php.statements) == 2
    text = "<?php\nif ($x) { $a = 1; }\nelse { $conf['a'] = 2; }\n$conf['b'] = 3;\n"
    assert len(PhpFile(text, "conf").statements) == 2
    text = "<?php\n$f = function () { return 1; };\n$conf['b'] = 3;\n"
    assert len(PhpFile(text, "conf").statements) == 2


# --------------------------------------------------------------------------------------------
# PhpConfig: files that run one after the other (conf.php, conf.d/*.php, conf.local.php)
# --------------------------------------------------------------------------------------------

CONF_D = "<?php\n$conf['log'] = array('type' => 'file', 'name' => '/var/log/horde/horde.log');\n"
CONF_LOCAL = "<?php\n$conf['log']['priority'] = 'WARNING';\n$conf['sql']['database'] = $db;\n"


def test_later_files_win_and_a_parent_array_replaces_the_keys_below_it():
    conf = PhpConfig([("conf.php", CONF_PHP), ("conf.d/10-log.php", CONF_D), ("conf.local.php", CONF_LOCAL)])
    assert conf.problems == []
    assert conf.value(["log", "type"]) == "file"
    assert conf.value(["log", "name"]) == "/var/log/horde/horde.log"
    assert conf.value(["log", "priority"]) == "WARNING"  # set again after the array
    assert conf.value(["log", "enabled"]) is UNDEFINED  # the array of conf.d replaced it
    assert conf.value(["session", "max_time"]) == 72000
    assert conf.value(["sql", "phptype"]) == "mysql"
    assert conf.value(["sql", "database"]) is UNKNOWN  # computed
    assert conf.value(["nothing", "here"]) is UNDEFINED
    only_main = PhpConfig([("conf.php", CONF_PHP)])
    assert only_main.value(["log", "name"]) == PhpConstant("LOG_USER")
    assert only_main.value(["log", "enabled"]) is True


def test_child_keys_of_a_later_file_build_on_the_earlier_array():
    conf = PhpConfig([("a.php", "<?php\n$servers['imap'] = array('debug' => true, 'name' => 'IMAP');\n"),
                      ("b.php", "<?php\n$servers['imap']['debug'] = false;\n")], variable="servers")
    assert identical(conf.value(["imap"]), PhpArray([("debug", False), ("name", "IMAP")]))


def test_files_that_cannot_be_read_with_certainty_make_their_keys_unknown():
    broken = PhpConfig([("conf.php", CONF_PHP), ("conf.local.php", "<?php\n$conf['log']['type'] = 'file\n")])
    assert broken.value(["session", "max_time"]) is UNKNOWN  # a file that cannot be tokenized may set anything
    assert [name for name, _reason in broken.problems] == ["conf.local.php"]
    assert "file" not in broken.problems[0][1]  # the reason names a line, not a value
    flow = PhpConfig([("conf.php", CONF_PHP), ("conf.local.php", "<?php\nif ($x) { return; }\n$conf['log']['type'] = 'file';\n")])
    assert flow.value(["log", "type"]) is UNKNOWN  # the return may skip it
    assert flow.value(["session", "max_time"]) == 72000  # not mentioned after the return
    assert flow.problems == [("conf.local.php", "return, exit, die, goto or __halt_compiler on line 2")]
    assert PhpConfig([("x.php", "<?php\ninclude 'other.php';\n")]).value(["log", "type"]) is UNKNOWN


# PHP includes the files one after the other and prints each key path with its PHP type.
TYPED_KEYS = (
    "function t($v) { if (is_array($v)) { $o = array(); foreach ($v as $k => $x) { $o[] = array(t($k), t($x)); }"
    " return array('array', $o); } return array(gettype($v), $v); }"
    " $n = count($argv); for ($i = 2; $i < $n; $i++) { include $argv[$i]; }"
    " $out = array(); foreach (json_decode($argv[1]) as $path) { $v = $conf; $set = true;"
    " foreach ($path as $s) { if (is_array($v) && array_key_exists($s, $v)) { $v = $v[$s]; } else { $set = false; break; } }"
    " $out[] = $set ? t($v) : null; } echo json_encode($out);"
)


def typed(value):
    if value is UNDEFINED:
        return None
    if isinstance(value, PhpArray):
        return ["array", [[typed(k), typed(v)] for k, v in value.items]]
    names = {"null": "NULL", "bool": "boolean", "int": "integer", "float": "double", "string": "string"}
    return [names[type_tag(value)], value]


@real_php
def test_real_php_ends_up_with_what_the_reader_says(tmp_path):
    files = [("conf.php", CONF_PHP.replace("LOG_USER", "'LOG_USER'")), ("conf.d/10-log.php", CONF_D),
             ("conf.local.php", "<?php\n$conf['log']['priority'] = \"WARN\\x49NG\";\n$conf['x'][] = 1;\n"
              "$conf['x'][5] = array('a', 'b',);\n$conf['y'] = 0x1F + 0;\n$conf['z'] = [-1.5, null, '1' => 'one'];\n")]
    paths = []
    for name, text in files:
        path = tmp_path / name.replace("/", "_")
        path.write_text(text)
        paths.append(str(path))
    keys = [["log", "type"], ["log", "name"], ["log", "priority"], ["log", "enabled"], ["session", "max_time"],
            ["sql"], ["z"], ["x", 5], ["nothing"]]
    out = subprocess.run([PHP, "-n", "-r", TYPED_KEYS, json.dumps(keys)] + paths, capture_output=True, text=True,
                         check=True).stdout
    conf = PhpConfig(files)
    assert json.loads(out) == [typed(conf.value(key)) for key in keys]
    assert conf.value(["y"]) is UNKNOWN  # an expression: PHP says 31, the reader does not guess


def test_layered_files_in_horde_order(tmp_path):
    for name in ("conf.php", "conf.d/20-b.php", "conf.d/10-a.php", "conf.d/notes.txt", "conf.local.php", "backends.php"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("<?php\n")
    base = str(tmp_path)
    expected = [base + "/conf.php", base + "/conf.d/10-a.php", base + "/conf.d/20-b.php", base + "/conf.local.php"]
    assert layered_files(base + "/conf.php") == expected
    assert layered_files(base + "/backends.php") == [base + "/backends.php"]


# --------------------------------------------------------------------------------------------
# Why a value is unknown; PHP's syslog constants
# --------------------------------------------------------------------------------------------


def test_unknown_origin_names_the_file_and_line_that_made_the_value_unknown():
    files = [("conf.php", CONF_PHP),
             ("conf.d/10-env.php", "<?php\n// from the environment\n$conf['log']['priority'] = getenv('HORDE_LOG') ?: 'hunter2';\n"
                                   "if ($debug) {\n    $conf['log']['type'] = 'file';\n}\n"),
             ("conf.local.php", "<?php\n$conf['log']['type'] = 'syslog';\n")]
    conf = PhpConfig(files)
    assert conf.value(["log", "priority"]) is UNKNOWN
    name, reason = conf.unknown_origin(["log", "priority"])
    assert name == "conf.d/10-env.php" and reason.startswith("line 3: ") and "hunter2" not in reason
    # set in a condition, then as a literal by a later file: known again
    assert conf.value(["log", "type"]) == "syslog" and conf.unknown_origin(["log", "type"]) is None
    assert PhpConfig(files[:2]).unknown_origin(["log", "type"])[1].startswith("line 5: ")
    # a child key of an unknown parent keeps the parent's line
    child = PhpConfig([("a.php", "<?php\n$conf['log'] = load();\n$conf['log']['x'] = 1;\n")])
    assert child.unknown_origin(["log", "priority"]) == ("a.php", child.unknown_origin(["log", "priority"])[1])
    assert child.unknown_origin(["log", "priority"])[1].startswith("line 2: ")
    assert conf.unknown_origin(["session", "max_time"]) is None


def test_unknown_origin_of_files_that_cannot_be_read_names_no_source_fragment():
    broken = PhpConfig([("conf.php", CONF_PHP), ("conf.local.php", "<?php\n$conf['log']['type'] = 'secretvalue\n")])
    name, reason = broken.unknown_origin(["session", "max_time"])
    assert name == "conf.local.php" and "line 2" in reason and "secretvalue" not in reason
    odd = PhpConfig([("conf.local.php", "<?php\n$conf['a'] = 1 ` 'x';\n")])
    assert "`" not in odd.unknown_origin(["a"])[1] and "line 2" in odd.unknown_origin(["a"])[1]
    flow = PhpConfig([("conf.local.php", "<?php\nif ($x) { return; }\n$conf['log']['type'] = 'file';\n")])
    assert flow.unknown_origin(["log", "type"]) == ("conf.local.php", flow.unknown_origin(["log", "type"])[1])
    assert "line 2" in flow.unknown_origin(["log", "type"])[1]


def test_constants_resolve_to_phps_values_or_stay_unknown():
    assert constant_value("LOG_MAIL") == 16 and constant_value("LOG_LOCAL3") == 152
    assert constant_value("log_mail") is UNKNOWN  # case-sensitive, as in PHP 8
    assert constant_value("E_ALL") is UNKNOWN
    assert identical(resolve_constants(PhpArray([("name", PhpConstant("LOG_USER"))])), PhpArray([("name", 8)]))
    assert resolve_constants(PhpArray([("name", PhpConstant("MY_FACILITY"))])) is UNKNOWN
    assert resolve_constants(PhpArray([("x", UNKNOWN)])) is UNKNOWN
    assert resolve_constants("LOG_MAIL") == "LOG_MAIL"


@real_php
def test_phps_syslog_constants_are_the_ones_the_reader_knows():
    out = subprocess.run([PHP, "-n", "-r", "echo json_encode(array_filter(get_defined_constants(), "
                          "fn($k) => str_starts_with($k, 'LOG_'), ARRAY_FILTER_USE_KEY));"],
                         capture_output=True, text=True, check=True).stdout
    php = json.loads(out)
    assert php and {name: constant_value(name) for name in php} == php


def test_container_tells_an_array_from_anything_else_below_unknown_keys():
    files = [("backends.php", "<?php\n$servers['imap'] = array('name' => 'IMAP', 'port' => 143);\n"
                              "$servers['pop'] = array('disabled' => true);\n$servers['off'] = false;\n"),
             ("backends.d/50.php", "<?php\nif (getenv('X')) {\n    $servers['imap']['debug_raw'] = true;\n    $servers['ghost']['debug'] = 1;\n}\n"
                                   "$servers['pop']['smtp'] = getenv('SMTP');\n$servers['new']['debug'] = false;\n"
                                   "$servers['nul'] = null;\n$servers['nul']['x'] = 1;\n")]
    servers = PhpConfig(files, variable="servers")
    assert servers.value(["imap"]) is UNKNOWN  # the conditional key below it
    assert servers.container(["imap"]) == "array"
    assert servers.value(["imap", "debug_raw"]) is UNKNOWN and servers.value(["imap", "port"]) == 143
    assert servers.container(["ghost"]) is UNKNOWN  # only created when the condition holds
    assert servers.container(["pop"]) == "array" and servers.container(["pop", "smtp"]) is UNKNOWN
    assert servers.container(["new"]) == "array" and servers.container(["nul"]) == "array"
    assert servers.container(["off"]) == "other" and servers.container(["none"]) is UNDEFINED
    assert servers.container(["imap", "name"]) == "other"
    whole = PhpConfig(files + [("backends.local.php", "<?php\n$servers = array('imap' => array());\n")], variable="servers")
    assert whole.container(["imap"]) == "array" and whole.container(["pop"]) is UNDEFINED
    assert PhpConfig([("a.php", "<?php\n$servers[$name] = array();\n")], variable="servers").container(["imap"]) is UNKNOWN
    assert PhpConfig([("a.php", "<?php\n$servers = load();\n")], variable="servers").container(["imap"]) is UNKNOWN
    assert PhpConfig([("a.php", "<?php\n$servers['x'] = 'str';\n$servers['x']['y'] = 1;\n")],
                     variable="servers").container(["x"]) is UNKNOWN
