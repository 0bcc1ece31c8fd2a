# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The doveconf parser (module_utils/doveconf.py) shared by the doveconf_overrides filter,
processing_facts and the Dovecot store."""

from __future__ import annotations

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.doveconf import (
    parse_doveconf,
    setting,
    top_level,
    unquote,
)

from doveconf_samples import CLEAN_A
from fake_runner import FakeRunner


class TestParse:  # from tests/unit/plugins/filter/test_doveconf.py
    def test_nesting_and_quotes(self):
        found = parse_doveconf(CLEAN_A)
        assert ((), "log_timestamp", "%b %d %H:%M:%S") in found
        assert (("namespace inbox", "mailbox Sent Messages"), "special_use", "\\Sent") in found
        assert (("service imap-login", "inet_listener imaps"), "ssl", "yes") in found
        assert ((), "ssl", "required") in found
        assert ((), "log_debug", "") in found

    def test_comments_and_noise_are_ignored(self):
        text = "# Hostname: mail.example.org\ndoveconf: Warning: something\n\nmail_debug = no\n"
        assert parse_doveconf(text) == [((), "mail_debug", "no")]

    def test_unbalanced_close_is_tolerated(self):
        assert parse_doveconf("}\nmail_debug = yes\n") == [((), "mail_debug", "yes")]

    def test_hidden_value(self):
        assert ((), "ssl_key", "# hidden, use -P to show it") in parse_doveconf(CLEAN_A)

    def test_rejects_non_string(self):
        with pytest.raises(TypeError):
            parse_doveconf(42)

    @pytest.mark.parametrize(
        "raw,expected",
        [
            ('"%s<%{pid}>: "', "%s<%{pid}>:"),
            ('" imap"', "imap"),
            ('"a \\"quoted\\" \\\\ b"', 'a "quoted" \\ b'),
            ("plain value ", "plain value"),
            ('"', '"'),
            ("", ""),
        ],
    )
    def test_unquote(self, raw, expected):
        assert unquote(raw) == expected


def test_top_level_and_doveconf_h():
    settings = parse_doveconf('mail_location = "maildir:~/Maildir"\nnamespace inbox {\n  mail_location = x\n}\n')
    assert top_level(settings) == {"mail_location": "maildir:~/Maildir"}
    runner = FakeRunner({("doveconf", "-h", "mail_debug"): b"yes\n", ("doveconf", "-h", "nothing"): 1})
    assert setting(runner, "/usr/bin/doveconf", "mail_debug") == "yes"
    assert setting(runner, "/usr/bin/doveconf", "nothing") is None
    assert runner.calls == [["/usr/bin/doveconf", "-h", "mail_debug"], ["/usr/bin/doveconf", "-h", "nothing"]]
