# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the mailprivacy.gdpr.doveconf_overrides filter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.mailprivacy.gdpr.plugins.filter.doveconf import (
    FilterModule,
    doveconf_overrides,
    format_leaks,
    format_variables,
)

from doveconf_samples import CLEAN_A

# The logging profile as the dovecot role renders it (defaults).
PROFILE = {
    "auth_verbose": "no",
    "auth_verbose_passwords": "no",
    "auth_debug": "no",
    "auth_debug_passwords": "no",
    "mail_debug": "no",
    "verbose_ssl": "no",
    "verbose_proctitle": "no",
    "log_debug": "",
    "login_log_format_elements": "method=%m lip=%l mpid=%e %c session=<%{session}>",
    "mail_log_prefix": "%s<%{pid}><%{session}>: ",
    "deliver_log_format": "%$",
    "mail_log_fields": "uid box msgid size",
    "ssl": "required",
    "disable_plaintext_auth": "yes",
}


# Overrides as doveconf -n prints them: filters come last, nested filters are
# printed as separate blocks.
DIRTY_N = """\
mail_log_prefix = "%s<%{pid}><%{session}>: "
passdb {
  auth_verbose = yes
  driver = pam
}
plugin {
  mail_log_fields = uid box msgid from subject
}
service imap-login {
  executable = imap-login -R rawlog
}
service pop3 {
  executable = /usr/lib/dovecot/rawlog /usr/lib/dovecot/pop3
}
protocol imap {
  mail_debug = yes
  mail_plugins = " mail_log notify"
  rawlog_dir = /tmp/rawlog/%u
}
remote 10.0.0.0/8 {
  mail_debug = no
}
remote 10.0.0.0/8 {
  protocol imap {
    verbose_ssl = yes
  }
}
local 127.0.0.1 {
  mail_log_prefix = "%s(%u): "
  disable_plaintext_auth = no
}
protocol lmtp {
  deliver_log_format = msgid=%m from=%f: %$
  plugin {
    mail_log_fields = uid box
  }
}
"""


def _pairs(findings):
    return [(item["block"], item["setting"]) for item in findings]


class TestInput:
    def test_expanded_file_contents_are_ignored(self):
        # doveconf -x prints the certificate after ssl_cert = over several lines.
        text = (
            "ssl_cert = -----BEGIN CERTIFICATE-----\n"
            "MIIC+zCCAeOgAwIBAgIUBuooqadUWPKydpxsErEJR3ITOZkwDQYJKoZIhvcNAQEL\n"
            "BQAwFTETMBEGA1UEAwwKbXAtZG92ZWNvdDAeFw0yNjExMjMwOTMyMjdaFw0zNj==\n"
            "-----END CERTIFICATE-----\n"
            "ssl_cipher_list = ALL:!kRSA:!SRP\n"
            "protocol imap {\n  mail_debug = yes\n}\n"
        )
        findings = doveconf_overrides(text, expected=PROFILE)
        assert _pairs(findings) == [("protocol imap", "mail_debug")]

    def test_rejects_non_string(self):
        with pytest.raises(AnsibleFilterError):
            doveconf_overrides(42)


class TestFormatVariables:
    @pytest.mark.parametrize(
        "fmt,expected",
        [
            ("user=<%u> rip=%r", ["u", "r"]),
            ("%Lu %1.2n %-3d %0.5Lh", ["u", "n", "d", "h"]),
            ("session=<%{session}> %%", ["{session}", "%"]),
            ("%{if;%u;eq;x;a;b}", ["{if;%u;eq;x;a;b}", "u"]),
            ("%{rip", ["{rip}"]),
            ("trailing %", []),
            ("%L", []),
        ],
    )
    def test_variables(self, fmt, expected):
        assert format_variables(fmt) == expected

    @pytest.mark.parametrize(
        "setting,fmt",
        [
            ("login_log_format_elements", "user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>"),
            ("login_log_format_elements", "method=%m rip=%r"),
            ("login_log_format_elements", "rip=%{rip}"),
            ("login_log_format_elements", "real=%{real_rip}"),
            ("login_log_format_elements", "who=%{orig_user}"),
            ("login_log_format_elements", "who=%Lu"),
            ("login_log_format_elements", "h=%{sha256:user}"),
            ("mail_log_prefix", "%s(%u)<%{pid}><%{session}>: "),
            ("mail_log_prefix", "%s(%n@%d): "),
            ("mail_log_prefix", "%s(%{userdb:mail}): "),
            ("mail_log_prefix", "%s(%{if;%u;ne;x;a;b}): "),
            ("deliver_log_format", "msgid=%m from=%f: %$"),
            ("deliver_log_format", "subject=%s: %$"),
            ("deliver_log_format", "sender=%e: %$"),
            ("deliver_log_format", "%{to_envelope}: %$"),
            ("login_log_format", "%$: %s user=%u"),
        ],
    )
    def test_leaks(self, setting, fmt):
        assert format_leaks(setting, fmt)

    @pytest.mark.parametrize(
        "setting,fmt",
        [
            ("login_log_format_elements", "method=%m lip=%l mpid=%e %c session=<%{session}>"),
            ("login_log_format_elements", "lport=%a %k %{local_name}"),
            ("mail_log_prefix", "%s<%{pid}><%{session}>: "),
            ("mail_log_prefix", "%s: "),
            ("deliver_log_format", "%$"),
            ("deliver_log_format", "msgid=%m size=%p vsize=%w: %$"),
            ("login_log_format", "%$: %s"),
            ("mail_log_prefix", "100%% %s: "),
        ],
    )
    def test_clean(self, setting, fmt):
        assert not format_leaks(setting, fmt)

    @given(
        prefix=st.from_regex(r"-?0?[0-9]{0,3}(\.0?-?[0-9]{0,3})?", fullmatch=True),
        modifiers=st.text(alphabet="LUEXRHNMDT", max_size=4),
        var=st.sampled_from(["u", "n", "d", "r", "{user}", "{rip}", "{orig_username}"]),
        before=st.text(alphabet="abc<>=: ", max_size=10),
    )
    def test_any_modifier_still_leaks(self, prefix, modifiers, var, before):
        assert format_leaks("mail_log_prefix", before + "%" + prefix + modifiers + var)

    @given(st.text(max_size=60))
    def test_never_crashes(self, text):
        format_variables(text)
        format_leaks("deliver_log_format", text)


class TestOverrides:
    def test_clean_configuration(self):
        assert doveconf_overrides(CLEAN_A, expected=PROFILE) == []

    def test_dirty_configuration(self):
        findings = doveconf_overrides(DIRTY_N, expected=PROFILE)
        assert _pairs(findings) == [
            ("passdb", "auth_verbose"),
            ("plugin", "mail_log_fields"),
            ("service imap-login", "executable"),
            ("service pop3", "executable"),
            ("protocol imap", "mail_debug"),
            ("protocol imap", "rawlog_dir"),
            ("remote 10.0.0.0/8 > protocol imap", "verbose_ssl"),
            ("local 127.0.0.1", "mail_log_prefix"),
            ("local 127.0.0.1", "disable_plaintext_auth"),
            ("protocol lmtp", "deliver_log_format"),
            ("protocol lmtp > plugin", "mail_log_fields"),
        ]
        kinds = {(item["block"], item["setting"]): item["kind"] for item in findings}
        assert kinds[("protocol imap", "rawlog_dir")] == "transcript"
        assert kinds[("service imap-login", "executable")] == "transcript"
        assert kinds[("protocol imap", "mail_debug")] == "personal_data"
        assert kinds[("local 127.0.0.1", "disable_plaintext_auth")] == "profile"
        # uid box has no personal data but differs from the profile.
        assert kinds[("protocol lmtp > plugin", "mail_log_fields")] == "profile"

    def test_findings_never_contain_values(self):
        for item in doveconf_overrides(DIRTY_N, expected=PROFILE):
            assert set(item) == {"block", "setting", "kind", "reason"}
            for value in ("/tmp/rawlog/%u", "%s(%u)", "-R rawlog", "msgid from subject", "from=%f"):
                assert value not in repr(item)

    def test_filter_that_matches_profile_is_fine(self):
        assert doveconf_overrides("remote 10.0.0.0/8 {\n  mail_debug = no\n}\n", expected=PROFILE) == []

    def test_without_expected_only_personal_data_is_reported(self):
        text = "local 127.0.0.1 {\n  disable_plaintext_auth = no\n  mail_debug = yes\n}\n"
        assert _pairs(doveconf_overrides(text)) == [("local 127.0.0.1", "mail_debug")]

    def test_top_level_difference_means_profile_not_effective(self):
        # e.g. dovecot.conf no longer includes local.conf: Debian's defaults come back.
        text = CLEAN_A.replace(
            "login_log_format_elements = method=%m lip=%l mpid=%e %c session=<%{session}>",
            "login_log_format_elements = user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>",
        ).replace("ssl = required", "ssl = yes")
        findings = doveconf_overrides(text, expected=PROFILE)
        assert _pairs(findings) == [("", "login_log_format_elements"), ("", "ssl")]
        assert [item["kind"] for item in findings] == ["personal_data", "profile"]

    def test_listener_ssl_is_not_an_override(self):
        assert doveconf_overrides(CLEAN_A, expected={"ssl": "required"}) == []

    def test_passdb_default_inherits(self):
        text = "passdb {\n  auth_verbose = default\n}\n"
        assert doveconf_overrides(text, expected={"auth_verbose": "no"}) == []

    def test_passdb_explicit_no_is_fine(self):
        assert doveconf_overrides("userdb {\n  auth_verbose = no\n}\n", expected=PROFILE) == []

    def test_allow_list(self):
        allow = [
            {"block": "local 127.0.0.1", "setting": "disable_plaintext_auth"},
            {"block": "remote 10.0.0.0/8 > protocol imap", "setting": "verbose_ssl"},
        ]
        pairs = _pairs(doveconf_overrides(DIRTY_N, expected=PROFILE, allow=allow))
        assert ("local 127.0.0.1", "disable_plaintext_auth") not in pairs
        assert ("remote 10.0.0.0/8 > protocol imap", "verbose_ssl") not in pairs
        assert ("local 127.0.0.1", "mail_log_prefix") in pairs

    def test_allow_top_level(self):
        text = "mail_debug = yes\n"
        assert doveconf_overrides(text, allow=[{"block": "", "setting": "mail_debug"}]) == []
        assert doveconf_overrides(text, allow=[{"setting": "mail_debug"}]) == []

    def test_allow_entry_needs_setting(self):
        with pytest.raises(AnsibleFilterError):
            doveconf_overrides("mail_debug = yes\n", allow=[{"block": ""}])

    def test_personal_data_accepted_keeps_transcript_check(self):
        findings = doveconf_overrides(DIRTY_N, personal_data=True)
        assert _pairs(findings) == [
            ("service imap-login", "executable"),
            ("service pop3", "executable"),
            ("protocol imap", "rawlog_dir"),
        ]

    def test_personal_data_accepted_still_compares_profile(self):
        profile = dict(PROFILE, mail_log_prefix="%s(%u): ")
        text = 'mail_log_prefix = "%s(%u): "\nlocal 127.0.0.1 {\n  mail_log_prefix = "%s: "\n}\n'
        findings = doveconf_overrides(text, expected=profile, personal_data=True)
        assert _pairs(findings) == [("local 127.0.0.1", "mail_log_prefix")]

    @pytest.mark.parametrize(
        "setting,value",
        [
            ("auth_verbose", "yes"),
            ("auth_debug", "yes"),
            ("auth_debug_passwords", "yes"),
            ("mail_debug", "yes"),
            ("verbose_ssl", "yes"),
            ("verbose_proctitle", "yes"),
            ("auth_verbose_passwords", "plain"),
            ("auth_verbose_passwords", "sha1:6"),
            ("log_debug", "category=auth"),
            ("lmtp_rawlog_dir", "/tmp/%u"),
            ("submission_relay_rawlog_dir", "/tmp/x"),
        ],
    )
    def test_each_personal_data_setting(self, setting, value):
        findings = doveconf_overrides("protocol imap {\n  %s = %s\n}\n" % (setting, value))
        assert _pairs(findings) == [("protocol imap", setting)]

    def test_dict_input_checks_a_profile_before_writing(self):
        assert doveconf_overrides(PROFILE, expected=PROFILE) == []
        bad = dict(PROFILE, auth_verbose=True, mail_log_fields=["uid", "from"], login_log_format_elements="rip=%r")
        assert _pairs(doveconf_overrides(bad)) == [
            ("", "auth_verbose"),
            ("", "login_log_format_elements"),
            ("", "mail_log_fields"),
        ]
        assert doveconf_overrides(bad, personal_data=True) == []

    def test_expected_values_are_normalised(self):
        expected = {"mail_debug": False, "mail_log_fields": ["uid", "box"], "log_debug": None}
        text = "mail_debug = no\nlog_debug = \nplugin {\n  mail_log_fields = uid box\n}\n"
        assert doveconf_overrides(text, expected=expected) == []

    def test_duplicate_blocks_reported_once(self):
        text = "protocol imap {\n  mail_debug = yes\n}\nprotocol imap {\n  mail_debug = yes\n}\n"
        assert len(doveconf_overrides(text)) == 1

    def test_legitimate_executables(self):
        text = "service imap {\n  executable = imap postlogin\n}\nservice auth-worker {\n  executable = auth -w\n}\n"
        assert doveconf_overrides(text) == []

    def test_empty_input(self):
        assert doveconf_overrides("") == []


def test_filter_map():
    assert FilterModule().filters() == {"doveconf_overrides": doveconf_overrides}
