# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real logins through Horde's web stack (Apache, Horde, IMP, Dovecot) and what Horde logs.

An HTTP client on this machine logs in with Horde's login form over the podman bridge;
Horde authenticates against Dovecot through IMP. The journal lines the web server wrote
meanwhile are searched for the user name and this machine's address.

Canary: prepare.yml logged in the same way at the DEBUG-era settings; the same search must
find that login (user name and client IP), which proves the search can find what it looks
for, and that the role's default priority is what keeps them out now.
"""

from __future__ import annotations

import pytest

from conftest import (
    PASSWORD,
    USER,
    WRONG_PASSWORD,
    client_address,
    horde_entries,
    journal_cursor,
    login,
    message,
    wait_for,
)


def mentions(entries, needle):
    return [e for e in entries if needle in message(e)]


@pytest.fixture(scope="module")
def successful(ct, base_url):
    cursor = journal_cursor(ct)
    result = login(base_url, USER, PASSWORD)
    # Same request again, so that any per-session line would show up twice.
    login(base_url, USER, PASSWORD)
    return {"result": result, "cursor": cursor, "client": client_address(base_url)}


@pytest.fixture(scope="module")
def failed(ct, base_url, successful):
    cursor = journal_cursor(ct)
    result = login(base_url, USER, WRONG_PASSWORD)
    entries = wait_for(lambda: mentions(horde_entries(ct, after=cursor), "FAILED LOGIN"), timeout=60)
    return {"result": result, "cursor": cursor, "entries": entries}


def test_canary_debug_era_login_is_in_the_journal(ct, successful):
    """The DEBUG-era login of prepare.yml left user name and client IP: the search finds them."""
    everything = horde_entries(ct)
    before = []
    for entry in everything:
        if entry["__CURSOR"] == successful["cursor"]:
            break
        before.append(entry)
    success = mentions(mentions(before, "Login success for %s " % USER), "(")
    assert success, "the DEBUG-era login left no 'Login success' line: the search is broken"
    assert any(e.get("SYSLOG_FACILITY") == "1" for e in success)  # LOG_USER then
    # prepare.yml logged in from the container to its own address.
    own = ct.check_output("hostname -I").split()[0]
    assert all("(%s)" % own in message(e) for e in success)
    assert mentions(before, USER)


def test_successful_login_works(successful):
    result = successful["result"]
    assert result["status"] == 302
    assert result["portal_status"] == 200
    assert result["authenticated"] is True


def between(ct, first, second):
    """Web server journal entries after cursor first and up to cursor second."""
    later = {e["__CURSOR"] for e in horde_entries(ct, after=second)}
    return [e for e in horde_entries(ct, after=first) if e["__CURSOR"] not in later]


def test_successful_login_leaves_no_user_name_or_address(ct, successful, failed):
    # The failed login after it proves the journal has caught up with Horde's lines.
    assert failed["entries"]
    during = between(ct, successful["cursor"], failed["cursor"])
    assert not mentions(during, USER), [message(e) for e in mentions(during, USER)]
    assert not mentions(during, successful["client"]), [message(e) for e in mentions(during, successful["client"])]
    assert not mentions(during, "Login success")


def test_failed_login_is_refused(failed):
    assert failed["result"]["authenticated"] is False
    assert failed["result"]["status"] == 200


def test_failed_login_is_logged_at_err_on_the_mail_facility(ct, failed, successful):
    """Documented behaviour at WARNING: Horde's login.php logs failed logins (ERR) with user
    name and client address, for fail2ban; nothing below ERR mentions the user."""
    horde_lines = [e for e in horde_entries(ct, after=failed["cursor"]) if USER in message(e)]
    assert horde_lines
    for entry in horde_lines:
        assert entry["PRIORITY"] == "3", message(entry)
        assert entry["SYSLOG_FACILITY"] == "2"
        assert entry["SYSLOG_IDENTIFIER"] == "HORDE"
        assert "FAILED LOGIN for %s to horde (%s)" % (USER, successful["client"]) in message(entry)


def test_nothing_below_warning_is_logged(ct, successful, failed):
    entries = horde_entries(ct, after=successful["cursor"])
    assert all(int(e["PRIORITY"]) <= 4 for e in entries), [(e["PRIORITY"], message(e)) for e in entries]
