# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's PHP reader (plugins/module_utils/php_conf.py: processing_facts reads Horde's
settings with it, without running PHP) against Horde's own loader in the container
(files/horde-config-dump.php, the verifier's fixture). For every setting the records of
processing read, the reader ends up with the value Horde ends up with, or says that it cannot
tell (UNKNOWN) or that the files do not set it (UNDEFINED: Horde may fill in a default of its
own there); never another value.
"""

from __future__ import annotations

import importlib.util

import pytest

from conftest import SCENARIO_DIR, effective_config

READER = SCENARIO_DIR.parents[2] / "plugins" / "module_utils" / "php_conf.py"
LOCAL_CONF = "/etc/horde/horde/conf.local.php"
# Array form, trailing and block comments: what the line pattern before issue 13 misread.
LOCAL_OVERRIDE = (
    "<?php\n/* $conf['log']['enabled'] = false; */\n"
    "$conf['log'] = array('enabled' => true, 'priority' => 'ERR', // errors only\n"
    "    'type' => 'syslog', 'name' => LOG_LOCAL3, 'ident' => 'HORDE');\n"
    "$conf['session']['max_time'] = 3600; // one hour\n"
)
KEYS = {
    "horde": [["log", "enabled"], ["log", "type"], ["log", "name"], ["log", "priority"], ["session", "max_time"],
              ["sessionhandler", "type"], ["sql", "phptype"], ["sql", "database"]],
    "imp": [["sentmail", "driver"], ["sentmail", "params", "threshold"]],
}
# Linux values of the syslog facility constants a Horde configuration names.
CONSTANTS = dict([("LOG_USER", 8), ("LOG_MAIL", 16), ("LOG_DAEMON", 24), ("LOG_AUTH", 32), ("LOG_SYSLOG", 40)]
                 + [("LOG_LOCAL%d" % n, (16 + n) << 3) for n in range(8)])


@pytest.fixture(scope="module")
def php_conf():
    spec = importlib.util.spec_from_file_location("mp_php_conf", str(READER))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def typed(reader, value):
    """A reader value in the shape of the fixture's dump ([gettype, value]); None when the
    reader cannot tell (UNKNOWN) or the files do not set the key (UNDEFINED)."""
    if value is reader.UNKNOWN or value is reader.UNDEFINED:
        return None
    if isinstance(value, reader.PhpConstant):
        return ["integer", CONSTANTS[value.name]]
    if isinstance(value, reader.PhpArray):
        return ["array", [[typed(reader, k), typed(reader, v)] for k, v in value.items]]
    names = {"null": "NULL", "bool": "boolean", "int": "integer", "float": "double", "string": "string"}
    return [names[reader.type_tag(value)], value]


def read_app(ct, reader, app):
    """PhpConfig over the app's conf.php, conf.d/*.php (PHP's glob order) and conf.local.php."""
    base = "/etc/horde/%s/" % app
    listed = ct.check_output("cd %s && LC_ALL=C ls -1 conf.d/*.php 2>/dev/null || true", base)
    paths = [base + "conf.php"] + [base + name for name in listed.split()] + [base + "conf.local.php"]
    files = [(path, ct.file(path).content_string) for path in paths if ct.file(path).exists]
    return reader.PhpConfig(files)


def compare(ct, reader):
    horde_says = effective_config(ct, horde=KEYS["horde"], imp=KEYS["imp"])
    known = []
    for app, keys in KEYS.items():
        config = read_app(ct, reader, app)
        for key in keys:
            label = ".".join(key)
            ours = typed(reader, config.value(key))
            if ours is None:
                continue
            known.append(label)
            assert ours == horde_says[app][label], "%s %s" % (app, label)
    return known


def test_reader_agrees_with_horde_on_the_converged_host(ct, php_conf):
    known = compare(ct, php_conf)
    # what the role writes as literals the reader knows for certain
    assert {"log.enabled", "log.type", "log.name", "log.priority", "session.max_time", "sentmail.driver"} <= set(known)


def test_reader_agrees_with_horde_with_a_local_override(ct, php_conf):
    ct.run_expect([0], "printf '%%s' %s > %s", LOCAL_OVERRIDE, LOCAL_CONF)
    try:
        known = compare(ct, php_conf)
        config = read_app(ct, php_conf, "horde")
        assert config.value(["log", "priority"]) == "ERR" and config.value(["session", "max_time"]) == 3600
        assert {"log.enabled", "log.name", "log.priority", "session.max_time"} <= set(known)
    finally:
        ct.run_expect([0], "rm -f %s", LOCAL_CONF)
        assert not ct.file(LOCAL_CONF).exists
