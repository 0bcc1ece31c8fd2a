# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mailprivacy.gdpr.horde_config_info (the role's check of the effective configuration, which
never runs PHP) against Horde's own loader in the container (files/horde-config-dump.php):
for every key the role checks, the module reports a mismatch exactly when the value Horde ends
up with is not the expected one (PHP's ===), and for every IMP backend a debug key exactly when
Horde's value is not empty(); the backend names are Horde's, in Horde's order. On the converged
host, with expectations that hold and that do not, and with a conf.local.php and a backends.d
drop-in that change the answer.
"""

from __future__ import annotations

import pytest

from conftest import HOST, effective_config
from verify_helpers import run_module

LOCAL_CONF = "/etc/horde/horde/conf.local.php"
DROPIN = "/etc/horde/imp/backends.d/65-mp-info.php"
BACKEND_KEYS = [["debug"], ["debug_raw"], ["smtp", "debug"]]
# LOG_MAIL and LOG_USER on Linux
CONSTANTS = {"LOG_MAIL": 16, "LOG_USER": 8}
HORDE_EXPECT = [
    {"key": "log.enabled", "value": True},
    {"key": "log.priority", "value": "WARNING"},
    {"key": "log.ident", "value": "HORDE"},
    {"key": "log.type", "value": "syslog"},
    {"key": "log.name", "constant": "LOG_MAIL"},
    {"key": "sql.logqueries", "value": False},
    {"key": "activesync.logging.type", "value": False},
    {"key": "session.max_time", "value": 28800},
    # expectations that do not hold on the converged host
    {"key": "session.max_time", "value": "28800"},
    {"key": "log.name", "constant": "LOG_USER"},
    {"key": "sql.phptype", "value": "mysql"},
    {"key": "nothing.here", "value": None},
]
IMP_EXPECT = [{"key": "sentmail.driver", "value": "Null"}, {"key": "sentmail.params.threshold", "value": 14}]


def typed(value):
    """An expected value in the shape of the dump ([gettype, value])."""
    names = {bool: "boolean", int: "integer", str: "string", float: "double", type(None): "NULL"}
    return [names[type(value)], value]


def php_empty(dumped):
    kind, value = dumped
    return kind in ("unset", "NULL") or value in (False, 0, 0.0, "", "0") and kind != "array" or (kind == "array" and not value)


def module_answer():
    request = {
        "conf": [{"dir": "/etc/horde/horde", "label": "horde", "expect": HORDE_EXPECT},
                 {"dir": "/etc/horde/imp", "label": "imp", "base": "horde", "expect": IMP_EXPECT}],
        "backends": {"dir": "/etc/horde/imp", "keys": BACKEND_KEYS},
    }
    return run_module(HOST, "mailprivacy.gdpr.horde_config_info", request)


def key_paths(items):
    return [item["key"].split(".") for item in items]


def horde_answer(ct):
    dump = effective_config(ct, horde=key_paths(HORDE_EXPECT), imp=key_paths(IMP_EXPECT), backends=BACKEND_KEYS)
    mismatch = {}
    for label, items in (("horde", HORDE_EXPECT), ("imp", IMP_EXPECT)):
        for item in items:
            want = ["integer", CONSTANTS[item["constant"]]] if "constant" in item else typed(item["value"])
            if dump[label][item["key"]] != want and item["key"] not in mismatch.get(label, []):
                mismatch.setdefault(label, []).append(item["key"])
    backends = {}
    for name, values in dump["backends"].items():
        on = [".".join(key) for key in BACKEND_KEYS if not php_empty(values[".".join(key)])]
        if on:
            backends[name] = on
    return {"mismatch": mismatch, "backends": backends, "names": list(dump["backends"])}


def compare(ct):
    ours = module_answer()
    assert ours["errors"] == [] and ours["changed"] is False, ours
    mismatch = {label: sorted(set(keys)) for label, keys in ours["mismatch"].items()}
    horde = horde_answer(ct)
    assert mismatch == {label: sorted(keys) for label, keys in horde["mismatch"].items()}
    assert ours["backends"] == horde["backends"]
    assert ours["names"] == horde["names"]
    return ours


def test_the_module_agrees_with_horde_on_the_converged_host(ct):
    ours = compare(ct)
    assert ours["mismatch"]["horde"] == ["session.max_time", "log.name", "sql.phptype", "nothing.here"]
    assert ours["mismatch"]["imp"] == ["sentmail.params.threshold"]
    assert ours["backends"] == {} and ours["names"] == ["imap", "pop", "advanced"]


@pytest.fixture
def changed_files(ct):
    ct.run_expect([0], "printf '%%s' %s > %s", "<?php\n$conf['log']['priority'] = 'ERR';\n"
                  "$conf['log'] = array('type' => 'syslog', 'name' => LOG_USER) + $conf['log'];\n"
                  "$conf['session']['max_time'] = 28800; // the same\n", LOCAL_CONF)
    ct.run_expect([0], "printf '%%s' %s > %s", "<?php\n$servers['pop']['debug'] = '0';\n$servers['pop']['debug_raw'] = 1;\n"
                  "$servers['advanced']['smtp']['debug'] = '/tmp/smtp.log';\n", DROPIN)
    try:
        yield
    finally:
        ct.run_expect([0], "rm -f %s %s", LOCAL_CONF, DROPIN)


@pytest.mark.usefixtures("changed_files")
def test_the_module_agrees_with_horde_with_overrides(ct):
    ours = module_answer()
    # `array(...) + $conf['log']` is computed: errors naming the file and line, not a guess
    assert set(ours["unknown"]["horde"]) == {"log.enabled", "log.priority", "log.ident", "log.type", "log.name"}
    assert any(message.startswith("horde: log.type: %s: line 3: only running PHP could tell" % LOCAL_CONF)
               for message in ours["errors"]), ours["errors"]
    assert "ERR" not in " ".join(ours["errors"])  # values are never named
    assert ours["mismatch"]["horde"] == ["session.max_time", "sql.phptype", "nothing.here"]
    assert ours["backends"] == {"pop": ["debug_raw"], "advanced": ["smtp.debug"]}
    horde = horde_answer(ct)
    assert ours["backends"] == horde["backends"] and ours["names"] == horde["names"]
