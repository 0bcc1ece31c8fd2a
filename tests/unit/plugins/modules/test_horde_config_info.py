# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the mailprivacy.gdpr.horde_config_info module: Horde's effective configuration
read without running PHP, on fixture trees that reproduce the Molecule horde scenario's files
(conf.php as Horde's configuration screen writes it with prepare.yml's settings, Debian's IMP
backends.php, the DEBUG-era backends.d drop-in, what the role writes, the verifier's overrides).

The request is the role's own (roles/horde/vars/main.yml rendered with its defaults), pointed at
the fixture tree. Tests marked ``real_php`` run the PHP probe the role used before
(horde_probe_oracle.php) as an unprivileged user on the same trees and compare its answer with
the module's; skipped without ``php``.
"""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import textwrap

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.mailprivacy.gdpr.plugins.modules import horde_config_info as mod
from ansible_collections.mailprivacy.gdpr.plugins.modules.horde_conf import apply_settings, parse_settings

from horde_fixtures import (
    ARRAY_OVERRIDE,
    BACKENDS,
    HORDE_CONF,
    LOCAL_OVERRIDE,
    MORE_DEBUG_DROPIN,
    PREPARED,
    VALUE_MARKER,
    evil_dropin,
    write_tree,
)
from module_main import run_main

PHP = shutil.which("php")
real_php = pytest.mark.skipif(PHP is None, reason="php is not installed on this machine")
ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "horde"
ORACLE = pathlib.Path(__file__).with_name("horde_probe_oracle.php")

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def role_request(root, imp_conf_present=True, **overrides):
    """__horde_probe_request of roles/horde/vars/main.yml with the role's defaults (and
    ``overrides``), its directories under ``root``."""
    variables = _trusted(yaml.safe_load((ROLE / "defaults" / "main.yml").read_text()))
    variables.update(_trusted(yaml.safe_load((ROLE / "vars" / "main.yml").read_text())))
    variables.update(overrides)
    variables.update(__horde_config_dir=str(root / "horde"), __horde_imp_config_dir=str(root / "imp"),
                     __horde_imp_conf_present=imp_conf_present)
    templar = Templar(loader=DataLoader(), variables=variables)
    return json.loads(json.dumps(templar.template(variables["__horde_probe_request"])))


def module_args(request):
    args = {"conf": request["conf"]}
    if request["backends"]:
        args["backends"] = request["backends"]
    return args


def converge(root, request, result):
    """What the role writes after a probe (config.yml, imp.yml), with horde_conf's editor."""
    for entry, name in zip(request["conf"], ("horde/conf.php", "imp/conf.php")):
        path = root / name
        if entry["expect"] and path.exists():
            text, changed = apply_settings(path.read_text(), "conf", parse_settings(entry["expect"], "present"), "present")
            if changed:
                path.write_text(text)
    settings = [{"key": [backend] + key.split("."), "value": False}
                for backend, keys in result["backends"].items() for key in keys]
    if settings:
        local = root / "imp" / "backends.local.php"
        text, changed = apply_settings(local.read_text() if local.exists() else "", "servers",
                                       parse_settings(settings, "present"), "present")
        if changed:
            local.write_text(text)


def probe(capsys, root, **kwargs):
    request = role_request(root, **kwargs)
    result, out = run_main(mod, capsys, module_args(request))
    assert result.get("failed") is not True, result
    return result, out


def snapshot(root):
    """Names, types, bytes, modes and mtimes of everything below root (links not followed)."""
    seen = {}
    for path in sorted(pathlib.Path(root).rglob("*")):
        st = os.lstat(path)
        data = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
        seen[str(path)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_mtime_ns, data)
    return seen


@pytest.fixture
def tree():
    """A fixture tree that an unprivileged user can read (the old probe runs as nobody)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="mp-horde-probe-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def run_old_probe(request):
    """The PHP probe the role used before, as an unprivileged user (nobody when run as root)."""
    kwargs = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        kwargs = dict(user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])
    oracle = pathlib.Path(request["conf"][0]["dir"]).parent / "oracle.php"
    oracle.write_text(ORACLE.read_text())
    oracle.chmod(0o644)
    run = subprocess.run([PHP, "-n", str(oracle), json.dumps(request)], capture_output=True, text=True, check=False,
                         timeout=60, cwd="/", umask=0o022, **kwargs)
    oracle.unlink()
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def comparable(result):
    keys = ("mismatch", "backends", "names", "vhost_files", "missing", "errors")
    return {key: result[key] for key in keys}


# --------------------------------------------------------------------------------------------
# The Molecule scenario's states
# --------------------------------------------------------------------------------------------


def test_the_debug_era_host_before_the_role(tree, capsys):
    write_tree(tree, PREPARED)
    result, out = probe(capsys, tree)
    assert result["changed"] is False and result["errors"] == []
    assert result["mismatch"] == {"horde": ["log.priority", "log.name", "sql.logqueries", "activesync.logging.type",
                                            "session.max_time"], "imp": ["sentmail.driver"]}
    assert result["backends"] == {"imap": ["debug", "debug_raw"]} and result["backends_unknown"] == {}
    assert result["names"] == ["imap", "pop", "advanced"]
    assert result["unknown"] == {} and result["missing"] == [] and result["vhost_files"] == []
    # key paths and names only: no value of the files (the secret key, the database, the log file)
    for value in ("c1XTigdwmNq49WhSa8uF3mL", "horde.sqlite", "/tmp/imp_imap.log", "DEBUG", "localhost"):
        assert value not in out


def test_the_converged_host_holds_the_profile_and_a_second_run_changes_nothing(tree, capsys):
    write_tree(tree, PREPARED)
    request = role_request(tree)
    first, dummy = probe(capsys, tree)
    converge(tree, request, first)
    assert (tree / "imp" / "backends.local.php").read_text() == (
        "<?php\n$servers['imap']['debug'] = false;\n$servers['imap']['debug_raw'] = false;\n")
    after, dummy = probe(capsys, tree)
    assert after["mismatch"] == {} and after["backends"] == {} and after["errors"] == []
    assert after["names"] == ["imap", "pop", "advanced"]
    before = snapshot(tree)
    converge(tree, request, after)
    assert snapshot(tree) == before


def converged_tree(tree, capsys):
    write_tree(tree, PREPARED)
    first, dummy = probe(capsys, tree)
    converge(tree, role_request(tree), first)


def test_a_local_override_is_found_and_named_by_key_only(tree, capsys):
    converged_tree(tree, capsys)
    write_tree(tree, dict([LOCAL_OVERRIDE]))
    result, out = probe(capsys, tree)
    assert result["mismatch"] == {"horde": ["log.priority", "log.type", "log.name"]}
    assert result["errors"] == []
    assert VALUE_MARKER not in out and "DEBUG" not in out


def test_a_new_backends_dropin_is_found(tree, capsys):
    converged_tree(tree, capsys)
    write_tree(tree, dict([MORE_DEBUG_DROPIN]))
    result, dummy = probe(capsys, tree)
    assert result["backends"] == {"advanced": ["debug_raw"]} and result["errors"] == []


def test_array_forms_comments_constants_and_vhost_files(tree, capsys):
    converged_tree(tree, capsys)
    write_tree(tree, dict([ARRAY_OVERRIDE]))
    write_tree(tree, {"horde/conf.d/10-facility.php": "<?php\n$conf['log']['name'] = 16; // LOG_MAIL on Linux\n",
                      "horde/conf-mail.example.org.php": "<?php\n$conf['log']['priority'] = 'DEBUG';\n",
                      "imp/backends-mail.example.org.php": "<?php this is not read\n"})
    result, dummy = probe(capsys, tree)
    # conf.local.php's array replaces $conf['log']: LOG_LOCAL3 and ERR, the session an hour
    assert result["mismatch"] == {"horde": ["log.priority", "log.name", "session.max_time"]}
    assert result["vhost_files"] == [str(tree / "horde" / "conf-mail.example.org.php"),
                                     str(tree / "imp" / "backends-mail.example.org.php")]
    (tree / "horde" / "conf.local.php").unlink()
    result, dummy = probe(capsys, tree)
    assert result["mismatch"] == {}  # 16 is LOG_MAIL, as PHP compares them


def test_file_log_and_disabled_checks(tree, capsys):
    converged_tree(tree, capsys)
    result, dummy = probe(capsys, tree, horde_log_type="file", horde_imp_disable_debug=False)
    assert result["mismatch"] == {"horde": ["log.type", "log.name", "log.params.append"]}
    assert result["backends"] == {} and result["names"] == []


def test_an_application_without_configuration_is_missing(tree, capsys):
    write_tree(tree, {"horde/conf.php": HORDE_CONF, "imp/backends.php": BACKENDS})
    result, dummy = probe(capsys, tree, imp_conf_present=False)
    assert result["missing"] == ["imp"] and result["mismatch"]["horde"]
    shutil.rmtree(tree / "imp")
    result, dummy = probe(capsys, tree, imp_conf_present=False)
    assert result["missing"] == ["imp"] and result["names"] == [] and result["errors"] == []


SCENARIOS = {
    "prepared": [],
    "converged": ["converge"],
    "local override": ["converge", LOCAL_OVERRIDE],
    "more backend debugging": ["converge", MORE_DEBUG_DROPIN],
    "array override": ["converge", ARRAY_OVERRIDE],
    "facility as a number, vhosts": ["converge", ("horde/conf.d/10-facility.php", "<?php\n$conf['log']['name'] = 16;\n"),
                                     ("horde/conf-a.example.php", "<?php\n"), ("imp/backends-b.example.php", "<?php\n")],
    "imp conf.d on top of horde": ["converge", ("imp/conf.d/20-sentmail.php", "<?php\n$conf['sentmail'] = array('driver' => 'Sql');\n"),
                                   ("horde/conf.local.php", "<?php\n$conf['sentmail']['driver'] = 'Nosql';\n")],
    "backends replaced": ["converge", ("imp/backends.d/70-one.php",
                                       "<?php\n$servers = array('only' => array('debug' => '0', 'debug_raw' => 1, "
                                       "'smtp' => array('debug' => '/tmp/smtp.log')), 7 => array('debug' => array()));\n")],
}


@real_php
@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=list(SCENARIOS))
@pytest.mark.parametrize("variant", [{}, {"horde_log_type": "file", "horde_imp_sentmail_driver": "Sql"}], ids=["defaults", "file log"])
def test_the_module_answers_what_the_old_php_probe_answered(tree, capsys, steps, variant):
    write_tree(tree, PREPARED)
    for step in steps:
        if step == "converge":
            first, dummy = probe(capsys, tree)
            converge(tree, role_request(tree), first)
        else:
            write_tree(tree, dict([step]))
    for path in tree.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    request = role_request(tree, **variant)
    old = run_old_probe(request)
    old.pop("missing")
    result, dummy = run_main(mod, capsys, module_args(request))
    expected = dict(old, missing=[])
    assert comparable(result) == comparable(expected)


# --------------------------------------------------------------------------------------------
# Code in the files is never run; values it computes are not guessed
# --------------------------------------------------------------------------------------------


def test_code_in_a_conf_d_file_is_never_run_and_its_computed_keys_are_errors(tree, capsys):
    converged_tree(tree, capsys)
    markers = [tree / ("pwned-%d" % n) for n in range(4)]
    write_tree(tree, {"horde/conf.d/50-evil.php": evil_dropin(markers)})
    result, out = probe(capsys, tree)
    assert not any(marker.exists() for marker in markers)
    assert result["unknown"] == {"horde": ["log.priority", "log.type"]}
    assert result["mismatch"] == {}
    evil = str(tree / "horde" / "conf.d" / "50-evil.php")
    assert result["errors"] == [
        "horde: log.priority: %s: line 4: only running PHP could tell (a function call or expression, a condition, "
        "loop or function, a reference, unset, include, eval or variable variables)" % evil,
        "horde: log.type: %s: line 6: only running PHP could tell (a function call or expression, a condition, "
        "loop or function, a reference, unset, include, eval or variable variables)" % evil,
    ]
    assert "touch" not in out and "pwned" not in out


@real_php
def test_the_old_probe_ran_that_code(tree, capsys):
    """The fixture is live code: PHP (the old probe, here as nobody) runs it. As root, in the role."""
    converged_tree(tree, capsys)
    drop = tree / "drop"
    drop.mkdir()
    drop.chmod(0o1777)
    markers = [drop / ("pwned-%d" % n) for n in range(4)]
    write_tree(tree, {"horde/conf.d/50-evil.php": evil_dropin(markers)})
    for path in tree.rglob("*"):
        if path != drop:
            path.chmod(0o755 if path.is_dir() else 0o644)
    run_old_probe(role_request(tree))
    assert all(marker.exists() for marker in markers)


def test_computed_backend_keys_are_turned_off_unknown_backends_are_errors(tree, capsys):
    converged_tree(tree, capsys)
    write_tree(tree, {"imp/backends.d/70-env.php": textwrap.dedent(
        """\
        <?php
        $servers['pop']['debug'] = getenv('IMP_DEBUG');
        if (getenv('IMP_RAW')) {
            $servers['advanced']['debug_raw'] = true;
        }
        $servers['advanced']['smtp']['debug'] = false;
        """)})
    result, out = probe(capsys, tree)
    assert result["errors"] == []
    assert result["backends"] == {"pop": ["debug"], "advanced": ["debug_raw"]}
    assert result["backends_unknown"] == {"pop": ["debug"], "advanced": ["debug_raw"]}
    assert "IMP_DEBUG" not in out
    # the role writes false into backends.local.php, which IMP reads last: certain again
    converge(tree, role_request(tree), result)
    result, dummy = probe(capsys, tree)
    assert result["backends"] == {} and result["errors"] == [] and result["names"] == ["imap", "pop", "advanced"]


@pytest.mark.parametrize("source, error", [
    ("<?php\nif (getenv('X')) {\n    $servers['ghost'] = array('debug' => true);\n}\n",
     "backends: ghost: {path}: line 3: only running PHP could tell"),
    ("<?php\n$servers['extra'] = load_backend();\n",
     "backends: extra: {path}: line 2: only running PHP could tell"),
    ("<?php\nforeach (array('a', 'b') as $name) {\n    $servers[$name]['debug'] = true;\n}\n",
     "backends: the backend names cannot be worked out without running PHP: {path}: line 3 may add or change backends"),
    ("<?php\n$servers['imap']['smtp'] = getenv('SMTP');\n",
     "backends: imap.smtp: {path}: line 2: only running PHP could tell"),
    ("<?php\ninclude '/etc/horde/imp/more-backends.php';\n",
     "backends: the backend names cannot be worked out without running PHP: {path}: line 2 may add or change backends"),
])
def test_backends_that_cannot_be_worked_out_are_errors(tree, capsys, source, error):
    converged_tree(tree, capsys)
    write_tree(tree, {"imp/backends.d/80-odd.php": source})
    result, dummy = probe(capsys, tree)
    expected = error.format(path=tree / "imp" / "backends.d" / "80-odd.php")
    assert [message for message in result["errors"] if message.startswith(expected)], result["errors"]


def test_constants_the_module_does_not_know(tree, capsys):
    converged_tree(tree, capsys)
    result, dummy = probe(capsys, tree, horde_log_syslog_facility="LOG_NOSUCH")
    assert result["errors"] == ["horde: log.name: LOG_NOSUCH is not a PHP constant the module knows (PHP's syslog constants)"]
    write_tree(tree, {"horde/conf.local.php": "<?php\n$conf['log']['name'] = MY_FACILITY;\n"})
    result, dummy = probe(capsys, tree)
    assert result["unknown"] == {"horde": ["log.name"]} and len(result["errors"]) == 1
    assert result["errors"][0].startswith("horde: log.name is set to a PHP constant the module does not know")


def test_a_file_that_cannot_be_parsed_is_an_error_for_every_key(tree, capsys):
    converged_tree(tree, capsys)
    write_tree(tree, {"horde/conf.local.php": "<?php\n$conf['log']['priority'] = 'hunter2\n"})
    result, out = probe(capsys, tree)
    assert result["unknown"]["horde"] == ["log.enabled", "log.priority", "log.ident", "log.type", "log.name",
                                          "sql.logqueries", "activesync.logging.type", "session.max_time"]
    assert "cannot be parsed (unterminated string starting on line 2)" in result["errors"][0]
    assert result["unknown"]["imp"] == ["sentmail.driver"]  # IMP starts from Horde's configuration
    assert "hunter2" not in out


# --------------------------------------------------------------------------------------------
# Files: no link followed, regular files only, never blocking; read-only, check mode
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, error", [
    (lambda t, s: (t / "horde" / "conf.local.php").symlink_to(s), "horde: {t}/horde/conf.local.php is a symbolic link"),
    (lambda t, s: (t / "horde" / "conf.d").symlink_to(s.parent), "horde: {t}/horde/conf.d is a symbolic link"),
    (lambda t, s: (t / "horde" / "conf.d").mkdir() or (t / "horde" / "conf.d" / "10-x.php").symlink_to(s),
     "horde: {t}/horde/conf.d/10-x.php is a symbolic link"),
    (lambda t, s: (t / "imp" / "backends.local.php").unlink() or (t / "imp" / "backends.local.php").symlink_to(s),
     "backends: {t}/imp/backends.local.php is a symbolic link"),
    (lambda t, s: os.mkfifo(t / "horde" / "conf.local.php"), "horde: {t}/horde/conf.local.php is a FIFO"),
    (lambda t, s: (t / "imp" / "backends.d" / "90.php").mkdir(), "backends: {t}/imp/backends.d/90.php is a directory"),
], ids=["local link", "conf.d link", "link in conf.d", "backends link", "fifo", "directory"])
def test_links_fifos_and_directories_are_refused_unread(tree, capsys, make, error):
    converged_tree(tree, capsys)
    secret = tree / "elsewhere" / "secret.php"
    write_tree(tree, {"elsewhere/secret.php": "<?php\n$conf['log']['priority'] = 'DEBUG';\n$servers['x']['debug'] = 'secretvalue';\n"})
    make(tree, secret)
    before = snapshot(tree)
    previous = signal.signal(signal.SIGALRM, lambda *a: pytest.fail("the module blocked"))
    signal.alarm(20)
    try:
        result, out = probe(capsys, tree)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert any(message.startswith(error.format(t=tree)) for message in result["errors"]), result["errors"]
    assert "secretvalue" not in out and "DEBUG" not in out
    assert snapshot(tree) == before


def test_an_oversized_file_is_refused(tree, capsys, monkeypatch):
    converged_tree(tree, capsys)
    monkeypatch.setattr(mod, "MAX_FILE_BYTES", 100)
    result, dummy = probe(capsys, tree)
    assert any("is larger than 100 bytes; not read" in message for message in result["errors"])


def test_check_mode_reads_only(tree, capsys):
    converged_tree(tree, capsys)
    write_tree(tree, dict([LOCAL_OVERRIDE, MORE_DEBUG_DROPIN]))
    before = snapshot(tree)
    request = role_request(tree)
    normal, dummy = run_main(mod, capsys, module_args(request))
    checked, dummy = run_main(mod, capsys, module_args(request), check_mode=True)
    assert checked == normal and checked["changed"] is False
    assert checked["mismatch"] and checked["backends"]
    assert snapshot(tree) == before


@pytest.mark.parametrize("args, message", [
    ({"conf": [{"dir": "/etc/horde/horde", "label": "horde"}, {"dir": "/etc/horde/imp", "label": "horde"}]},
     "conf[1]: label must be given and unique"),
    ({"conf": [{"dir": "/etc/horde/imp", "label": "imp", "base": "horde"}]}, "conf[0]: base must be the label of an earlier entry"),
    ({"conf": [{"dir": "etc/horde", "label": "horde"}]}, "conf[0]: dir must be an absolute path"),
    ({"conf": [{"dir": "/etc/horde/horde", "label": "horde", "expect": [{"key": "log..x", "value": 1}]}]},
     "conf[0].expect[0]: invalid key path"),
    ({"conf": [{"dir": "/etc/horde/horde", "label": "horde", "expect": [{"key": "a", "value": 1, "constant": "LOG_MAIL"}]}]},
     "mutually exclusive"),
    ({"backends": {"dir": "/etc/horde/imp", "keys": [[]]}}, "backends.keys[0]: a key path must be"),
])
def test_bad_requests_fail_before_anything_is_read(capsys, args, message):
    result, dummy = run_main(mod, capsys, args)
    assert result["failed"] is True and message in result["msg"]
