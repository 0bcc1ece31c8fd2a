# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the journal erasure step (retention date, manual step, counts kept). The
journald reader and the time-span parser are tested in test_systemd_conf.py."""

from __future__ import annotations

import datetime

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import Result
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_journal_retention import journal_erase_step

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


def journald_files(root, main, dropins=None):
    """A fake root with /etc/systemd/journald.conf and drop-ins in /etc/systemd/journald.conf.d."""
    (root / 'etc/systemd').mkdir(parents=True)
    (root / 'etc/systemd/journald.conf').write_text(main)
    if dropins is not None:
        (root / 'etc/systemd/journald.conf.d').mkdir()
        for name, text in dropins.items():
            (root / 'etc/systemd/journald.conf.d' / name).write_text(text)
    return str(root)


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
    root = journald_files(tmp_path, '[Journal]\nMaxRetentionSec=1year\n',
                          {'10-a.conf': '[Journal]\nMaxRetentionSec=3d\n', '20-b.conf': '[Journal]\nMaxFileSec=0\n'})
    res = journal_erase_step(FakeRunner(), 2, now=NOW, root=root)
    assert res['found'] == 2 and res['erased'] == 0
    (step,) = res['manual_steps']
    assert 'MaxRetentionSec=259200s, MaxFileSec off' in step and '2025-01-04 00:00 UTC' in step


def test_default_max_file_sec_when_unset(tmp_path):
    root = journald_files(tmp_path, '[Journal]\nMaxRetentionSec=1d\n')
    res = journal_erase_step(FakeRunner(), 1, now=NOW, root=root)
    assert 'MaxFileSec=2629800s' in res['manual_steps'][0]


def test_no_retention_gives_no_date(tmp_path):
    root = journald_files(tmp_path, '[Journal]\n#MaxRetentionSec=\n')
    res = journal_erase_step(FakeRunner({'systemd-analyze': 1}), 3, now=NOW, root=root)
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
    res = journal_erase_step(None, 1)
    assert res['erased'] == 0 and len(res['manual_steps']) == 1
