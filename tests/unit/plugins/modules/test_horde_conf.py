# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the mailprivacy.gdpr.horde_conf module.

The PHP literal writer and reader are tested against each other (property tests) and
against hand-written PHP source whose meaning is fixed by the PHP language reference.
Tests marked ``real_php`` run ``php`` when it is installed on the controller; without it
they are skipped, and the Molecule scenario ``horde`` runs the same round trip with the
real PHP of Debian inside its container (tests/test_module_roundtrip.py there).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.module_utils.testing import patch_module_args
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.php_conf import (
    INT_KEY,
    UNKNOWN,
    PhpArray,
    PhpFile,
    PhpParseError,
    identical,
    parse_literal,
    tokenize,
    type_tag,
)
from ansible_collections.mailprivacy.gdpr.plugins.modules import horde_conf as mod
from ansible_collections.mailprivacy.gdpr.plugins.modules.horde_conf import (
    apply_settings,
    mask_secrets,
    parse_settings,
    php_literal,
    to_php_value,
)

PHP = shutil.which("php")
real_php = pytest.mark.skipif(PHP is None, reason="php is not installed on this machine")

# conf.php as Horde's configuration screen (Horde_Config::generatePHPConfig) writes it,
# shortened; taken from a Debian bookworm php-horde 5.2.23 install.
GENERATED = textwrap.dedent(
    """\
    <?php
    /* CONFIG START. DO NOT CHANGE ANYTHING IN OR AFTER THIS LINE. */
    // $Hash: 22645085a1d3f78cfbe3250fb4ff423c04e7100e
    // $Id: 5841de7a8bd742b764f603953bef5d16a75a0da4 $
    $conf['vhosts'] = false;
    $conf['secret_key'] = 'c1XTigdwmNq49WhSa8uF3mL';
    $conf['umask'] = 077;
    $conf['sql']['database'] = '/var/lib/horde/horde.sqlite';
    $conf['sql']['phptype'] = 'sqlite';
    $conf['auth']['admins'] = array();
    $conf['auth']['params']['app'] = 'imp';
    $conf['auth']['driver'] = 'application';
    $conf['log']['priority'] = 'DEBUG';
    $conf['log']['name'] = LOG_USER;
    $conf['log']['type'] = 'syslog';
    $conf['log']['enabled'] = true;
    $conf['log_accesskeys'] = false;
    $conf['prefs']['maxsize'] = 65535;
    $conf['activesync']['enabled'] = false;
    /* CONFIG END. DO NOT CHANGE ANYTHING IN OR BEFORE THIS LINE. */
    """
)

# Debian's conf.php.dist (excerpt): computed values and no markers.
DIST = textwrap.dedent(
    """\
    <?php
    /**
     * Horde Configuration File
     */
    $conf['use_ssl'] = 2;
    $conf['server']['name'] = $_SERVER['SERVER_NAME'];
    $conf['cookie']['domain'] = $_SERVER['SERVER_NAME'];
    $conf['debug_level'] = E_ALL & ~E_NOTICE;
    $conf['session']['max_time'] = 72000;
    $conf['auth']['admins'] = array('Administrator');
    $conf['log']['priority'] = 'INFO';
    $conf['log']['ident'] = 'HORDE';
    $conf['log']['name'] = LOG_USER;
    $conf['log']['type'] = 'syslog';
    $conf['log']['enabled'] = true;
    """
)


def apply(text, settings_arg, state="present", variable="conf"):
    return apply_settings(text, variable, parse_settings(settings_arg, state), state)


def effective(text, dotted, variable="conf"):
    return PhpFile(text, variable).effective(mod.parse_key(dotted))


# --------------------------------------------------------------------------------------------
# Literals
# --------------------------------------------------------------------------------------------

# Strings with the characters and sequences that matter to PHP's lexer.
php_strings = st.lists(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(["'", "\\", "\n", "\r\n", "$", '"', "?>", "<?php", "*/", "//", "#", "\\'", "{$x}", "\x00"]),
    max_size=12,
).map("".join)
php_scalars = st.none() | st.booleans() | st.integers(min_value=-(2 ** 63) + 1, max_value=2 ** 63 - 1) | st.floats(
    allow_nan=False, allow_infinity=False
) | php_strings
php_values = st.recursive(
    php_scalars,
    # Keys "1" and 1 are the same PHP key: string keys that look like integers are left out
    # (test_values_php_cannot_hold_are_refused covers the clash).
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(php_strings.filter(lambda k: not INT_KEY.match(k)) | st.integers(-3, 5), children, max_size=4),
    max_leaves=12,
)


def read_back(value):
    literal = php_literal(to_php_value(value))
    tokens = [t for t in tokenize("<?php " + literal + ";") if t.kind not in ("ws", "comment", "open")]
    return parse_literal(tokens[:-1])


@settings(max_examples=300, deadline=None)
@given(php_values)
def test_literal_round_trip(value):
    expected = to_php_value(value)
    assert identical(read_back(value), expected)


@settings(max_examples=200, deadline=None)
@given(php_strings)
def test_assignment_round_trip_and_second_run_changes_nothing(text_value):
    new, keys = apply(GENERATED, {"log.ident": text_value, "x.multi.line": text_value})
    assert keys == ["log.ident", "x.multi.line"]
    assert identical(effective(new, "log.ident"), text_value)
    assert identical(effective(new, "x.multi.line"), text_value)
    again, keys_again = apply(new, {"log.ident": text_value, "x.multi.line": text_value})
    assert again == new
    assert keys_again == []


@pytest.mark.parametrize(
    "value, literal",
    [
        ("it's", r"'it\'s'"),
        ("C:\\horde\\", r"'C:\\horde\\'"),
        ("\\'", r"'\\\''"),
        ("line1\nline2", "'line1\nline2'"),
        ("$conf['x']", "'$conf[\\'x\\']'"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (-7, "-7"),
        (0.5, "0.5"),
        (1e-07, "1e-07"),
        (3.0, "3.0"),
        ([], "array()"),
        (["a", 1], "array('a', 1)"),
        ({"threshold": 14, "0": "x"}, "array('threshold' => 14, 0 => 'x')"),
        ({1: "b", 0: "a"}, "array(1 => 'b', 0 => 'a')"),
        ({"a": {"b": [True]}}, "array('a' => array('b' => array(true)))"),
    ],
)
def test_literals_written_as_php_reads_them(value, literal):
    assert php_literal(to_php_value(value)) == literal


def test_values_php_cannot_hold_are_refused():
    with pytest.raises(ValueError):
        to_php_value(float("nan"))
    with pytest.raises(ValueError):
        to_php_value(2 ** 70)
    with pytest.raises(ValueError):
        to_php_value({"1": "a", 1: "b"})
    with pytest.raises(ValueError):
        to_php_value(object())


# --------------------------------------------------------------------------------------------
# Tokenizer and statements
# --------------------------------------------------------------------------------------------


def test_comments_strings_and_heredocs_do_not_hide_or_fake_statements():
    text = textwrap.dedent(
        """\
        <?php
        // $conf['log']['priority'] = 'DEBUG';
        # $conf['log']['priority'] = 'DEBUG';
        /* $conf['log']['priority'] = 'DEBUG'; */
        $x = '$conf[\\'log\\'][\\'priority\\'] = 1;';
        $y = <<<EOT
        $conf['log']['priority'] = 'DEBUG';
        EOT;
        $conf['log']['priority'] = 'ERR';
        """
    )
    assert effective(text, "log.priority") == "ERR"
    new, keys = apply(text, {"log.priority": "WARNING"})
    assert keys == ["log.priority"]
    assert new.count("'WARNING'") == 1
    assert "$conf['log']['priority'] = 'WARNING';\n" in new
    assert new.count("'DEBUG'") == 4


@pytest.mark.parametrize(
    "text",
    [
        "<?php\n/* open comment\n",
        "<?php\n$conf['a'] = 'unterminated;\n",
        "<?php\nif ($x) {\n$conf['a'] = 1;\n",
        "<?php\n$conf['a'] = 1\n",
        "<?php\n$conf['a'] = 1;\n}\n",
        "<?php\nif ($x): $conf['a'] = 1;\n",
    ],
)
def test_unreadable_files_are_refused(text):
    with pytest.raises(PhpParseError):
        apply(text, {"a": 2})


# --------------------------------------------------------------------------------------------
# Setting and removing
# --------------------------------------------------------------------------------------------


def test_existing_assignment_is_changed_in_place():
    new, keys = apply(GENERATED, {"log.priority": "WARNING"})
    assert keys == ["log.priority"]
    assert new == GENERATED.replace("$conf['log']['priority'] = 'DEBUG';", "$conf['log']['priority'] = 'WARNING';")


def test_new_key_goes_next_to_its_siblings_inside_the_markers():
    new, dummy = apply(GENERATED, {"log.ident": "HORDE"})
    lines = new.splitlines()
    assert lines.index("$conf['log']['ident'] = 'HORDE';") == lines.index("$conf['log']['enabled'] = true;") + 1


def test_key_without_siblings_goes_before_the_config_end_marker():
    new, dummy = apply(GENERATED, {"sentmail.driver": "Null"})
    lines = new.splitlines()
    assert lines[-1].startswith("/* CONFIG END.")
    assert lines[-2] == "$conf['sentmail']['driver'] = 'Null';"


def test_file_without_markers_gets_the_key_at_the_end():
    new, dummy = apply(DIST, {"sentmail.driver": "Null"})
    assert new == DIST + "$conf['sentmail']['driver'] = 'Null';\n"


def test_closing_tag_and_missing_final_newline():
    text = "<?php\n$conf['a'] = 1;\n?>\n"
    new, dummy = apply(text, {"b": 2})
    assert new == "<?php\n$conf['a'] = 1;\n$conf['b'] = 2;\n?>\n"
    text = "<?php\n$conf['a'] = 1;"
    new, dummy = apply(text, {"b": 2})
    assert new == "<?php\n$conf['a'] = 1;\n$conf['b'] = 2;\n"


def test_trailing_line_comment_stays_with_its_statement():
    text = "<?php\n$conf['a']['x'] = 1; // keep me\n$conf['c'] = 3;\n"
    new, dummy = apply(text, {"a.y": 2})
    assert new == "<?php\n$conf['a']['x'] = 1; // keep me\n$conf['a']['y'] = 2;\n$conf['c'] = 3;\n"


def test_empty_or_missing_file_gets_an_opening_tag():
    new, dummy = apply("", {"log.priority": "ERR"})
    assert new == "<?php\n$conf['log']['priority'] = 'ERR';\n"


def test_constants_are_written_without_quotes_and_compared_by_name():
    new, keys = apply(GENERATED, [{"key": "log.name", "constant": "LOG_MAIL"}])
    assert "$conf['log']['name'] = LOG_MAIL;" in new
    assert apply(new, [{"key": "log.name", "constant": "LOG_MAIL"}])[1] == []
    # The string 'LOG_MAIL' is not the constant.
    assert apply(new, {"log.name": "LOG_MAIL"})[1] == ["log.name"]


def test_types_matter_for_idempotence():
    assert apply(GENERATED, {"prefs.maxsize": 65535})[1] == []
    assert apply(GENERATED, {"prefs.maxsize": "65535"})[1] == ["prefs.maxsize"]
    assert apply(GENERATED, {"log.enabled": True})[1] == []
    assert apply(GENERATED, {"log.enabled": 1})[1] == ["log.enabled"]
    assert apply(GENERATED, {"umask": 63})[1] == []
    assert apply(GENERATED, {"auth.admins": []})[1] == []
    assert apply(GENERATED, {"auth.admins": {}})[1] == []


def test_value_inside_a_parent_array_counts_and_a_change_goes_after_it():
    text = "<?php\n$servers['imap'] = array(\n    'name' => 'IMAP',\n    'debug' => '/tmp/imap.log',\n);\n$x = 1;\n"
    assert effective(text, "imap.debug", "servers") == "/tmp/imap.log"
    new, keys = apply(text, {"imap.debug": False}, variable="servers")
    assert keys == ["imap.debug"]
    assert ");\n$servers['imap']['debug'] = false;\n$x = 1;\n" in new
    assert effective(new, "imap.debug", "servers") is False
    assert apply(text, {"imap.name": "IMAP"}, variable="servers")[1] == []


def test_child_assignments_build_the_array_of_a_parent_key():
    text = "<?php\n$conf['a']['x'] = 1;\n$conf['a']['y'] = [2];\n"
    assert identical(effective(text, "a"), PhpArray([("x", 1), ("y", PhpArray([(0, 2)]))]))
    assert apply(text, {"a": {"x": 1, "y": [2]}})[1] == []
    new, keys = apply(text, {"a": {"x": 1}})
    assert new.endswith("$conf['a']['y'] = [2];\n$conf['a'] = array('x' => 1);\n")


def test_later_assignments_win():
    text = "<?php\n$conf['a'] = 1;\n$conf['a'] = 2;\n"
    assert effective(text, "a") == 2
    new, dummy = apply(text, {"a": 3})
    assert new == "<?php\n$conf['a'] = 1;\n$conf['a'] = 3;\n"


def test_integer_key_segments_like_php():
    text = "<?php\n$conf['list'][0] = 'a';\n"
    assert apply(text, [{"key": ["list", "0"], "value": "a"}])[1] == []
    assert apply(text, {"list.0": "a"})[1] == []
    new, keys = apply(text, [{"key": ["a.b", 1], "value": True}])
    assert "$conf['a.b'][1] = true;" in new


@pytest.mark.parametrize(
    "prefix",
    [
        "if ($x) { $conf['log']['priority'] = 'DEBUG'; }\n",
        "if ($x) $conf['log']['priority'] = 'DEBUG';\n",
        "foreach ($a as $k => $v) { $conf['log'][$k] = $v; }\n",
        "unset($conf['log']);\n",
        "include '/etc/horde/extra.php';\n",
        "$$name = array();\n",
        "$conf['log']['priority'] .= 'X';\n",
        "$ref = &$conf['log'];\n",
        "$GLOBALS['conf']['log']['priority'] = 'DEBUG';\n",
        "sort($conf['log']);\n",
    ],
)
def test_writes_the_module_cannot_evaluate_are_overridden_by_an_assignment_after_them(prefix):
    text = "<?php\n$conf['log']['priority'] = 'WARNING';\n" + prefix + "$conf['other'] = 1;\n"
    assert effective(text, "log.priority") is UNKNOWN
    new, keys = apply(text, {"log.priority": "WARNING"})
    assert keys == ["log.priority"]
    assert (prefix + "$conf['log']['priority'] = 'WARNING';\n$conf['other'] = 1;\n") in new
    assert effective(new, "log.priority") == "WARNING"
    assert apply(new, {"log.priority": "WARNING"})[1] == []


def test_reads_of_the_variable_are_not_writes():
    text = "<?php\n$conf['log']['priority'] = 'ERR';\n$conf['x'] = $conf['log']['priority'];\n$y = $conf['log'];\n"
    assert effective(text, "log.priority") == "ERR"
    assert apply(text, {"log.priority": "ERR"})[1] == []


@pytest.mark.parametrize(
    "text, message",
    [
        (DIST, "expression"),
        ("<?php\nfunction f() { global $conf; $conf['server']['name'] = 'x'; }\n", "function"),
        ("<?php\n$f = function () use (&$conf) { $conf['server'] = []; };\n", "function"),
        ("<?php\n$conf['server']['name'] = 'a';\nreturn;\n", "return"),
        ("<?php\n$conf['a'] = 1;\nexit(0);\n", "return"),
        ("<?php\n$conf['server']['name'] = 'a' ?>\n", "no safe place"),
    ],
)
def test_refuses_when_not_certain(text, message):
    with pytest.raises(PhpParseError, match=message):
        apply(text, {"server.name": "mail.example.org"})


def test_unrelated_uncertain_statements_do_not_block_other_keys():
    text = DIST + "if ($x) { $conf['cookie']['path'] = '/x'; }\n"
    new, keys = apply(text, {"log.priority": "WARNING", "session.max_time": 28800})
    assert keys == ["log.priority", "session.max_time"]


def test_conflicting_settings_are_refused():
    with pytest.raises(PhpParseError, match="does not hold"):
        apply(GENERATED, [{"key": "log.priority", "value": "ERR"}, {"key": "log", "value": {"type": "file"}}])


def test_remove_exact_and_child_assignments():
    text = "<?php\n$conf['a'] = 1;\n$conf['log']['x'] = 1; $conf['log']['y'] = 2;\n$conf['log'] = array();\n$conf['z'] = 3;\n"
    new, keys = apply(text, ["log"], state="absent")
    assert keys == ["log"]
    assert new == "<?php\n$conf['a'] = 1;\n$conf['z'] = 3;\n"
    assert apply(new, ["log"], state="absent")[1] == []


def test_remove_refuses_a_key_inside_a_parent_array():
    text = "<?php\n$conf['log'] = array('priority' => 'DEBUG');\n"
    with pytest.raises(PhpParseError, match="part of the array"):
        apply(text, ["log.priority"], state="absent")
    assert apply(text, ["log.other"], state="absent")[1] == []


def test_settings_argument_forms():
    assert parse_settings({"a.b": 1}, "present") == [(["a", "b"], 1)]
    assert parse_settings([{"key": ["a", "1"], "value": None}], "present") == [(["a", 1], None)]
    assert parse_settings(["a.b", ["c"]], "absent") == [(["a", "b"], None), (["c"], None)]
    for bad in (
        [{"key": "a", "value": 1, "constant": "X"}],
        [{"key": "a", "constant": "not a name"}],
        [{"key": "a", "constant": "true"}],
        [{"key": "a"}],
        [{"key": "a..b", "value": 1}],
        [{"key": "a", "value": 1, "extra": 2}],
        [{"key": "a", "value": 1}, {"key": ["a"], "value": 2}],
        "a.b",
    ):
        with pytest.raises(ValueError):
            parse_settings(bad, "present")


def test_secret_values_are_masked_for_the_diff():
    text = "<?php\n$conf['sql']['password'] = 'hunter2';\n$conf['secret_key'] = 'abc';\n" \
           "$servers['imap'] = array('hostspec' => 'h', 'admin' => array('password' => 'pw'));\n$conf['log']['priority'] = 'INFO';\n"
    masked = mask_secrets(text, "conf")
    assert "hunter2" not in masked and "abc" not in masked and "'pw'" not in masked
    assert "'INFO'" in masked


# --------------------------------------------------------------------------------------------
# The module (main) with a stand-in for php -l, and with the real php when installed
# --------------------------------------------------------------------------------------------

FAKE_PHP = """#!/bin/sh
# Test stand-in for `php -n -l FILE`: a file containing the word SYNTAXERROR fails.
if grep -q SYNTAXERROR "$3"; then
  echo "PHP Parse error:  syntax error, unexpected identifier \\"SYNTAXERROR\\" in $3 on line 2"
  exit 255
fi
echo "No syntax errors detected in $3"
"""


@pytest.fixture
def fake_php(tmp_path):
    path = tmp_path / "bin" / "php"
    path.parent.mkdir()
    path.write_text(FAKE_PHP)
    path.chmod(0o755)
    return str(path)


def run_module(args, check_mode=False, diff=False):
    extra = {}
    if check_mode:
        extra["_ansible_check_mode"] = True
    if diff:
        extra["_ansible_diff"] = True
    args = dict(args, **extra)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()


def module_result(capsys, args, **kwargs):
    capsys.readouterr()
    run_module(args, **kwargs)
    return json.loads(capsys.readouterr().out)


def test_module_changes_file_keeps_mode_and_reports_keys_only(tmp_path, capsys, fake_php):
    conf = tmp_path / "conf.php"
    conf.write_text(GENERATED)
    conf.chmod(0o640)
    args = {"path": str(conf), "php_path": fake_php, "settings": {"log.priority": "WARNING", "log.ident": "mp-user@example.org"}}
    result = module_result(capsys, args)
    assert result["changed"] is True and result["applied"] is True
    assert result["changed_keys"] == ["log.priority", "log.ident"]
    # Only Ansible's echo of the task arguments (shown with -v) holds values.
    assert "mp-user@example.org" not in json.dumps(dict(result, invocation=None))
    assert stat.S_IMODE(os.stat(str(conf)).st_mode) == 0o640
    assert "$conf['log']['priority'] = 'WARNING';" in conf.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "conf.php"]
    again = module_result(capsys, args)
    assert again["changed"] is False and again["changed_keys"] == [] and again["applied"] is False


def test_module_check_mode_and_diff_do_not_write(tmp_path, capsys, fake_php):
    conf = tmp_path / "conf.php"
    conf.write_text(GENERATED)
    before = os.stat(str(conf))
    result = module_result(
        capsys, {"path": str(conf), "php_path": fake_php, "settings": {"log.priority": "ERR"}}, check_mode=True, diff=True
    )
    assert result["changed"] is True and result["changed_keys"] == ["log.priority"]
    assert result["applied"] is False
    assert "'DEBUG'" in result["diff"]["before"] and "'ERR'" in result["diff"]["after"]
    assert "c1XTigdwmNq49WhSa8uF3mL" not in json.dumps(result)
    assert conf.read_text() == GENERATED
    assert os.stat(str(conf)).st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "conf.php"]


def test_module_leaves_the_file_alone_when_php_lint_fails(tmp_path, capsys, fake_php):
    conf = tmp_path / "conf.php"
    conf.write_text(GENERATED)
    result = module_result(capsys, {"path": str(conf), "php_path": fake_php, "settings": {"x": "SYNTAXERROR"}})
    assert result["failed"] is True
    assert "php -l" in result["msg"] and "line 2" in result["msg"]
    assert "SYNTAXERROR" not in result["msg"]
    assert conf.read_text() == GENERATED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "conf.php"]


def test_module_fails_cleanly_without_php(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    conf = tmp_path / "conf.php"
    conf.write_text(GENERATED)
    result = module_result(capsys, {"path": str(conf), "settings": {"log.priority": "ERR"}})
    assert result["failed"] is True and "php was not found" in result["msg"]
    assert conf.read_text() == GENERATED
    # Nothing to change: no php needed.
    result = module_result(capsys, {"path": str(conf), "settings": {"log.priority": "DEBUG"}})
    assert result["changed"] is False


def test_module_refusal_names_the_key_not_the_value(tmp_path, capsys, fake_php):
    conf = tmp_path / "conf.php"
    conf.write_text(DIST)
    result = module_result(capsys, {"path": str(conf), "php_path": fake_php, "settings": {"server.name": "secret-host"}})
    assert result["failed"] is True
    assert "server.name" in result["msg"] and "secret-host" not in result["msg"]
    assert conf.read_text() == DIST


def test_module_create_backup_and_missing_file(tmp_path, capsys, fake_php):
    local = tmp_path / "backends.local.php"
    args = {"path": str(local), "php_path": fake_php, "variable": "servers", "settings": [{"key": ["imap", "debug"], "value": False}]}
    result = module_result(capsys, args)
    assert result["failed"] is True and "does not exist" in result["msg"]
    result = module_result(capsys, dict(args, create=True, mode="0640"), check_mode=True)
    assert result["changed"] is True and not local.exists()
    result = module_result(capsys, dict(args, create=True, mode="0640"))
    assert result["changed"] is True
    assert local.read_text() == "<?php\n$servers['imap']['debug'] = false;\n"
    assert stat.S_IMODE(os.stat(str(local)).st_mode) == 0o640
    result = module_result(capsys, dict(args, settings=[{"key": ["imap", "debug_raw"], "value": False}], backup=True))
    assert os.path.exists(result["backup_file"])
    assert open(result["backup_file"]).read() == "<?php\n$servers['imap']['debug'] = false;\n"
    result = module_result(capsys, {"path": str(tmp_path / "none.php"), "state": "absent", "settings": ["a"]})
    assert result["changed"] is False


def test_module_rejects_bad_variable_names(tmp_path, capsys, fake_php):
    result = module_result(capsys, {"path": str(tmp_path / "x.php"), "variable": "$conf", "settings": {"a": 1}})
    assert result["failed"] is True and "variable" in result["msg"]


# Prints a value with its PHP types: [type, value], arrays as [["array", [[key, value], ...]]].
TYPED_DUMP = (
    "function t($v) { if (is_array($v)) { $o = array(); foreach ($v as $k => $x) { $o[] = array(t($k), t($x)); }"
    " return array('array', $o); } return array(gettype($v), $v); }"
    " include $argv[1]; echo json_encode(array(t($conf['x']['value']), t($conf['log']['priority'])));"
)


def typed(value):
    """The model value in the shape TYPED_DUMP prints."""
    if isinstance(value, PhpArray):
        return ["array", [[typed(k), typed(v)] for k, v in value.items]]
    names = {"null": "NULL", "bool": "boolean", "int": "integer", "float": "double", "string": "string"}
    return [names[type_tag(value)], value]


def doubles_as_floats(dump):
    """json_encode writes integral floats without a fraction (1.0E+16 as 10000000000000000)."""
    if isinstance(dump, list) and len(dump) == 2 and dump[0] == "double":
        return ["double", float(dump[1])]
    if isinstance(dump, list):
        return [doubles_as_floats(item) for item in dump]
    return dump


@real_php
@settings(max_examples=40, deadline=None)
@given(php_values)
def test_real_php_reads_what_the_module_writes(tmp_path_factory, value):
    directory = tmp_path_factory.mktemp("php")
    new, dummy = apply(GENERATED, {"x.value": value})
    path = directory / "conf.php"
    path.write_text(new)
    lint = subprocess.run([PHP, "-n", "-l", str(path)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout
    out = subprocess.run([PHP, "-n", "-r", TYPED_DUMP, str(path)], capture_output=True, text=True, check=True).stdout
    assert doubles_as_floats(json.loads(out)) == doubles_as_floats([typed(to_php_value(value)), ["string", "DEBUG"]])
