# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the journal erasure step (retention date, manual step, counts kept)."""

from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Result
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_retention import (
    journal_erase_step,
    parse_journald_conf,
    parse_timespan,
)

from fake_runner import FakeRunner

NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)

CAT_CONFIG = b"""# /etc/systemd/journald.conf
[Journal]
#MaxRetentionSec=
#MaxFileSec=1month

# /etc/systemd/journald.conf.d/50-mailprivacy.conf
[Journal]
MaxRetentionSec=2weeks
MaxFileSec=1day
"""


@pytest.mark.parametrize('text,seconds', [
    ('3600', 3600), ('1h', 3600), ('2weeks', 14 * 86400), ('1d 12h', 129600),
    ('5min', 300), ('5m', 300), ('1M', 30 * 86400 + 37800), ('1y', 365 * 86400 + 21600),
    ('', None), ('soon', None), ('1 fortnight', None),
])
def test_parse_timespan(text, seconds):
    assert parse_timespan(text) == seconds


def test_parse_conf_later_wins_and_other_sections_ignored():
    conf = '[Journal]\nMaxRetentionSec=1d\n[Other]\nMaxRetentionSec=9d\n[Journal]\nMaxFileSec=2h\n'
    assert parse_journald_conf(conf) == {'MaxRetentionSec': '1d', 'MaxFileSec': '2h'}


def test_found_result_kept_and_date_from_cat_config():
    runner = FakeRunner({'systemd-analyze': CAT_CONFIG})
    found = Result(store='journal', units='entries', found=4, detail={'journal': 4})
    res = journal_erase_step(runner, found, now=NOW)
    assert runner.calls == [['/usr/bin/systemd-analyze', 'cat-config', 'systemd/journald.conf']]
    assert res['found'] == 4 and res['erased'] == 0 and res['detail'] == {'journal': 4}
    assert res['store'] == 'journal'
    (step,) = res['manual_steps']
    # 2 weeks + 1 day after NOW, and 2 weeks after a rotation
    assert 'gone by 2025-01-16 00:00 UTC' in step
    assert 'by 2025-01-15 00:00 UTC after a `journalctl --rotate`' in step
    assert 'journalctl --rotate && journalctl --vacuum-time=' in step and 'ALL users' in step
    assert found['manual_steps'] == []  # the caller's Result is not changed


def test_fallback_reads_files_with_dropins_overriding(tmp_path):
    main = tmp_path / 'journald.conf'
    main.write_text('[Journal]\nMaxRetentionSec=1year\n')
    dropdir = tmp_path / 'journald.conf.d'
    dropdir.mkdir()
    (dropdir / '10-a.conf').write_text('[Journal]\nMaxRetentionSec=3d\n')
    (dropdir / '20-b.conf').write_text('[Journal]\nMaxFileSec=0\n')
    res = journal_erase_step(FakeRunner(), 2, now=NOW, config_files=(str(main),),
                             config_dirs=(str(dropdir),))
    assert res['found'] == 2 and res['erased'] == 0
    (step,) = res['manual_steps']
    assert 'MaxRetentionSec=259200s, MaxFileSec off' in step and '2025-01-04 00:00 UTC' in step


def test_default_max_file_sec_when_unset(tmp_path):
    main = tmp_path / 'journald.conf'
    main.write_text('[Journal]\nMaxRetentionSec=1d\n')
    res = journal_erase_step(FakeRunner(), 1, now=NOW, config_files=(str(main),), config_dirs=())
    assert 'MaxFileSec=2629800s' in res['manual_steps'][0]


def test_no_retention_gives_no_date(tmp_path):
    main = tmp_path / 'journald.conf'
    main.write_text('[Journal]\n#MaxRetentionSec=\n')
    res = journal_erase_step(FakeRunner({'systemd-analyze': 1}), 3, now=NOW, config_files=(str(main),),
                             config_dirs=(str(tmp_path / 'none'),))
    (step,) = res['manual_steps']
    assert 'no date can be given' in step and 'MaxRetentionSec' in step
    assert '2025' not in step


def test_nothing_found_or_unavailable_gives_no_step():
    assert journal_erase_step(FakeRunner({'systemd-analyze': CAT_CONFIG}), 0, now=NOW)['manual_steps'] == []
    unavailable = Result(store='journal', units='entries', available=False, reason='journalctl not found')
    res = journal_erase_step(FakeRunner({'systemd-analyze': CAT_CONFIG}), unavailable, now=NOW)
    assert res['available'] is False and res['manual_steps'] == [] and res['erased'] == 0


def test_real_host_config_does_not_fail():
    # whatever this machine has: a Result with one step and no exception
    res = journal_erase_step(None, 1, config_dirs=tuple(d for d in ('/etc/systemd/journald.conf.d',)
                                                        if os.path.isdir(d)))
    assert res['erased'] == 0 and len(res['manual_steps']) == 1
