# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The subject and store options of the subject modules: the documentation of
    request.SUBJECT_ARGUMENT_SPEC (module_utils/request.py), kept in one place like the spec itself."""

    DOCUMENTATION = r"""
options:
  addresses:
    description:
      - Email addresses of the subject, aliases included. The domain is compared case-insensitively and in
        both its A-label (punycode) and U-label forms; the local part without ASCII letter case unless
        O(local_part_case=sensitive).
      - An address matches only as a whole address (V(joann@example.com) and V(ann@example.com.evil) are not
        V(ann@example.com)), also percent-encoded in URLs (V(ann%40example.com)), with a quoted local part
        (V("ann"@example.com)) and, on a qmail host whose C(control/virtualdomains) routes the domain, under
        the delivery name qmail-send logs (C(<prefix>-ann@example.com)). See docs/erasure.md, "Matching rules".
    type: list
    elements: str
    default: []
  logins:
    description:
      - Login names of the subject (bare names such as V(ann), or addresses). A bare name matches as a whole
        token in logs, so a login that is also a common word finds unrelated lines.
    type: list
    elements: str
    default: []
  ips:
    description:
      - IP addresses of the subject (IPv4 or IPv6), matched as whole tokens in every textual form of the same
        address (IPv6 with or without leading zeros and C(::) compression, any letter case; an IPv4 address also
        as IPv4-mapped IPv6 V(::ffff:192.0.2.4) or V(::ffff:c000:204), and the reverse).
    type: list
    elements: str
    default: []
  domain:
    description:
      - A mail domain whose every user is the subject (a customer account). Matches every address
        C(<anything>@domain); can be combined with O(addresses), O(logins) and O(ips).
    type: str
  plus_separator:
    description:
      - Recipient delimiter; with it V(ann+news@example.com) in a log line or a mail header counts as
        V(ann@example.com). V(-) suits qmail extensions. An empty string turns it off.
      - Account and queue keys (user names of the account databases, Maildir user directories, Horde user ids,
        queued messages' senders and recipients) never use it; V(ann+work@example.com) and
        V(ann-marie@example.com) are other accounts there.
      - While an account whose name extends an address or login of the subject with the separator exists on the
        host (any store that knows accounts is asked, before anything else), the request is refused with nothing
        touched, in check mode too; run it with an empty separator and name the subject's own tagged addresses
        in O(addresses).
    type: str
    default: '+'
    choices: ['+', '-', '=', '']
  local_part_case:
    description:
      - How the local parts of O(addresses) (and of logins that are addresses) are compared. V(insensitive)
        (the default) treats V(ANN@example.com) and V(ann@example.com) as one mailbox, as mail systems deliver
        them; only ASCII letters are folded. V(sensitive) compares them exactly, for a system whose mailboxes
        differ by letter case. Bare login names are always compared exactly.
      - The subject's HMAC does not depend on the option for an address given in lower case; with
        V(insensitive) an address given in another case has the HMAC of its lower-case form.
    type: str
    default: insensitive
    choices: ['insensitive', 'sensitive']
  stores:
    description:
      - Names of the stores to use (for example V(logs), V(journal)). Empty means every store of the
        registry; a store that is not present on the host is reported with C(stores.<name>.available=false).
    type: list
    elements: str
    default: []
  store_options:
    description:
      - "Options per store name, for example C({logs: {extra_paths: [/srv/log/*.log]}}). Unknown stores
        and unknown options are refused."
      - "Options of the log store V(logs): C(paths) (absolute globs, C(**) recurses; default Debian's
        C(/var/log/mail.log*), C(mail.info*), C(mail.warn*), C(mail.err*), C(syslog*), C(dovecot*.log*),
        C(/var/log/horde/*.log*), C(/var/log/qmail/**) and C(/var/log/auth.log*) (PAM's lines for the mail
        logins)), C(extra_paths) (added to C(paths)), C(exclude)
        (globs), C(chunk_size) (bytes per read), C(threads) (read in a helper thread)."
      - "Options of V(dovecot): C(doveadm), C(doveconf) (commands), C(lazy_expunge) (V(auto) reads the
        lazy_expunge plugin's namespace), C(kick), C(purge) (end the user's sessions first, run C(doveadm purge)
        after the expunge), C(cache_purge) (compress each mailbox's C(dovecot.index.cache) after the expunge,
        which otherwise keeps the expunged messages' cached headers; default V(true)), C(trash_mailboxes)."
      - "Options of V(journal): C(journalctl) (command), C(args) (extra arguments such as C([--since, 2024-01-01])),
        C(directories) (journal directories whose presence makes the store available; erasure rewrites the
        journal files under them), C(rewrite) (erasure rewrites archived journal files without the subject's
        entries through C(systemd-journal-remote), default V(true); V(false) leaves them to journald's retention
        with a manual step), C(journal_remote) (path of C(systemd-journal-remote), found in C(/lib/systemd) by default),
        C(export_entries) (the export also writes C(journal/journal-entries.jsonl), every entry one of whose fields
        carries an identifier, with all its fields as C(journalctl -o json) shows them, including fields the text
        lines do not show such as C(_CMDLINE); default V(true))."
    type: dict
    default: {}
  hmac_key:
    description: Secret key (at least 16 characters) for RV(subject_hmac); keep it in a vault.
    type: str
    required: true
notes:
  - The subject's identifiers reach the commands the stores run on their standard input (C(doveadm -F -),
    C(horde-remove-user-data), the C(mysql) client), never on their command lines, which every local user
    can read. Only vpopmail's C(vuserinfo) and C(vdeluser) and, with the opt-in V(system_accounts) store,
    C(usermod), C(userdel), C(loginctl) and C(pkill) take an account name, uid or domain as an argument.
    On such hosts mount C(/proc) with C(hidepid=2) (see docs/erasure.md, section Hardening the hosts).
"""
