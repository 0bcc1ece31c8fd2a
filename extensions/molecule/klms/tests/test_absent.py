# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mp-klms-absent: no KLMS. The role ends after a message and changes nothing, not even the
directories another Kaspersky product may own."""

from __future__ import annotations

import pytest
from conftest import ABSENT_HOST, CLEANUP_SCRIPT, CLEANUP_UNIT, FIXTURES, KLMS_CONTROL

testinfra_hosts = [ABSENT_HOST]


def test_no_klms(host):
    assert not host.file(KLMS_CONTROL).exists
    assert not host.file("/opt/kaspersky").exists
    assert not host.file("/etc/opt/kaspersky").exists


def test_nothing_installed(host):
    assert not host.file(CLEANUP_SCRIPT).exists
    for unit in ("service", "timer"):
        assert not host.file("/etc/systemd/system/%s.%s" % (CLEANUP_UNIT, unit)).exists


@pytest.mark.parametrize("fixture", FIXTURES["klms_absent_fixture_dirs"], ids=lambda f: f["path"])
def test_foreign_directories_untouched(host, fixture):
    directory = host.file(fixture["path"])
    assert directory.user == "root" and directory.group == "root"
    assert directory.mode == int(fixture["mode"], 8)


@pytest.mark.parametrize("fixture", FIXTURES["klms_absent_fixture_files"], ids=lambda f: f["path"])
def test_old_files_untouched(host, fixture):
    assert host.file(fixture["path"]).exists
