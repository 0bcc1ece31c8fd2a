# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Horde's effective configuration after mailprivacy.gdpr.horde, as Horde itself loads it.

prepare.yml left DEBUG-era settings: log priority DEBUG on LOG_USER, IMP protocol
debugging in backends.d/, an SQL sent-mail log kept 60 days, Debian's 20 h session.
"""

from __future__ import annotations

import pytest

from conftest import (
    BACKENDS_LOCAL,
    HORDE_CONF,
    IMP_CONF,
    LOGROTATE_CONF,
    MARKER,
    TEST_DATA,
    TMPFILES_CONF,
    effective_config,
)

# LOG_MAIL is 2 << 3 on Linux.
LOG_MAIL = 16


@pytest.fixture(scope="module")
def effective(ct):
    return effective_config(
        ct,
        horde=[
            ["log", "enabled"],
            ["log", "priority"],
            ["log", "ident"],
            ["log", "type"],
            ["log", "name"],
            ["sql", "logqueries"],
            ["activesync", "logging", "type"],
            ["session", "max_time"],
        ],
        imp=[["sentmail", "driver"], ["sentmail", "params", "threshold"]],
        backends=[["debug"], ["debug_raw"]],
    )


def test_horde_log_settings(effective):
    assert effective["horde"]["log.enabled"] == ["boolean", True]
    assert effective["horde"]["log.priority"] == ["string", "WARNING"]
    assert effective["horde"]["log.ident"] == ["string", "HORDE"]
    assert effective["horde"]["log.type"] == ["string", "syslog"]
    assert effective["horde"]["log.name"] == ["integer", LOG_MAIL]


def test_debug_sinks_and_session(effective):
    assert effective["horde"]["sql.logqueries"] == ["boolean", False]
    assert effective["horde"]["activesync.logging.type"] == ["boolean", False]
    assert effective["horde"]["session.max_time"] == ["integer", 28800]


def test_imp_sentmail_log_off(effective):
    assert effective["imp"]["sentmail.driver"] == ["string", "Null"]


def test_imp_backend_debugging_off_for_every_backend(effective):
    # Debian's backends.php defines imap, pop and advanced; prepare switched imap's on.
    assert sorted(effective["backends"]) == ["advanced", "imap", "pop"]
    for name, settings in effective["backends"].items():
        assert settings["debug"] in (["unset", None], ["boolean", False]), name
        assert settings["debug_raw"] in (["unset", None], ["boolean", False]), name
    assert effective["backends"]["imap"] == {"debug": ["boolean", False], "debug_raw": ["boolean", False]}


def test_the_debug_era_dropin_is_left_alone_and_overridden_by_backends_local(ct):
    dropin = ct.file(TEST_DATA["horde_test_backends_debug_file"])
    assert dropin.contains("debug_raw'] = true")
    local = ct.file(BACKENDS_LOCAL)
    assert local.exists and local.user == "root" and local.mode == 0o644
    assert local.content_string == "<?php\n$servers['imap']['debug'] = false;\n$servers['imap']['debug_raw'] = false;\n"


@pytest.mark.parametrize("path", [HORDE_CONF, IMP_CONF, BACKENDS_LOCAL])
def test_php_parses_every_changed_file(ct, path):
    result = ct.run("php -l %s", path)
    assert result.rc == 0, result.stdout + result.stderr
    assert "No syntax errors" in result.stdout


@pytest.mark.parametrize("path", [HORDE_CONF, IMP_CONF])
def test_owner_group_and_mode_are_kept(ct, path):
    conf = ct.file(path)
    assert (conf.user, conf.group, conf.mode) == ("root", "www-data", 0o640)


def test_values_changed_in_place_inside_the_config_markers(ct):
    text = ct.file(HORDE_CONF).content_string
    lines = text.splitlines()
    assert lines[1].startswith("/* CONFIG START.")
    assert lines[-1].startswith("/* CONFIG END.")
    assert text.count("$conf['log']['priority'] =") == 1
    assert "$conf['log']['priority'] = 'WARNING';" in lines
    assert "$conf['log']['name'] = LOG_MAIL;" in lines
    assert "$conf['activesync']['logging']['type'] = false;" in lines
    assert "'DEBUG'" not in text
    # No backup files unless horde_conf_backup is set, no temporary files left.
    assert ct.check_output("ls -A /etc/horde/horde | grep -c '^\\.conf\\.php\\.\\|~$' || true") == "0"


def test_no_logrotate_rules_when_logging_to_syslog(ct):
    assert not ct.file(LOGROTATE_CONF).exists


def test_tmpfiles_rule_deleted_stale_files_only(ct):
    rule = ct.file(TMPFILES_CONF)
    assert rule.exists and rule.contains(MARKER)
    assert rule.contains("^e /var/cache/horde - - - m:7d$")
    assert rule.contains("^e /var/lib/php/sessions - - - m:1d$")
    for path in TEST_DATA["horde_test_stale_files"]:
        assert not ct.file(path).exists, path
    for path in TEST_DATA["horde_test_fresh_files"]:
        assert ct.file(path).exists, path
    ct.run_expect([0], "systemd-tmpfiles --clean %s", TMPFILES_CONF)


def test_cleanup_timers_run(ct):
    assert ct.service("phpsessionclean.timer").is_enabled
    assert ct.service("phpsessionclean.timer").is_running
    assert ct.service("systemd-tmpfiles-clean.timer").is_running


def test_seeded_preferences_are_in_horde_database(ct):
    """prepare.yml stored preferences through Horde's API (files/horde-seed-user.php)."""
    query = (
        "$d = new PDO('sqlite:' . $argv[1]); $s = $d->prepare('SELECT pref_value FROM horde_prefs"
        " WHERE pref_uid = ? AND pref_scope = ? AND pref_name = ?');"
        " $s->execute(array($argv[2], 'horde', 'fullname')); echo json_encode($s->fetchAll(PDO::FETCH_COLUMN));"
    )
    out = ct.check_output("php -r %s %s %s", query, TEST_DATA["horde_test_db"], TEST_DATA["horde_test_user"])
    assert out.strip() == '["Alice Example"]'


def test_host_without_horde_is_left_alone(bare):
    assert not bare.file("/etc/horde").exists
    assert not bare.file(TMPFILES_CONF).exists
    assert not bare.file(LOGROTATE_CONF).exists
