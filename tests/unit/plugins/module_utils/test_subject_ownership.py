# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ownership of account and queue keys (issue 12): Subject.owns_address / owns_login compare
exactly (never by a plus tag), extends_account / extends_name find the accounts a tag would
confuse with the subject."""

from __future__ import annotations

import pytest

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import Subject


def subject(sep='+', **kw):
    return Subject.from_params(plus_separator=sep, **kw)


def test_extended_names_are_never_owned():
    for sep in ('+', '-', '=', ''):
        s = subject(sep, addresses=['ann@example.org'], logins=['ann', 'ann.l@example.net'])
        for key in ('ann+work@example.org', 'ann-marie@example.org', 'ann=x@example.org', 'ann-@example.org',
                    'ann-marie', 'ann+work', 'ann.l-x@example.net', 'joann@example.org', 'ann@example.org.evil'):
            assert not s.owns_login(key), (sep, key)
            assert not s.owns_address(key), (sep, key)


def test_exact_keys_in_every_idna_form_and_case():
    s = subject(addresses=['ann@Bücher.Example'], logins=['Ann.L@EXAMPLE.net', 'annlogin'])
    for key in ('ann@xn--bcher-kva.example', 'ann@bücher.example', 'ann@XN--BCHER-KVA.EXAMPLE', 'ANN@Bücher.example',
                'ann.l@example.net', 'ANN.L@Example.Net'):
        assert s.owns_address(key) and s.owns_login(key), key
    # a bare login is a system user name: case-sensitive
    assert s.owns_login('annlogin') and not s.owns_login('AnnLogin')
    assert not s.owns_address('ann@bucher.example') and not s.owns_address('ann')


def test_case_sensitive_subject_compares_the_local_part_exactly():
    s = subject(addresses=['Ann@example.org'], local_part_case='sensitive')
    assert s.owns_address('Ann@EXAMPLE.org') and not s.owns_address('ann@example.org')
    assert s.extends_account('Ann+x@example.org') and not s.extends_account('ann+x@example.org')
    assert subject(addresses=['Ann@example.org']).owns_address('ann@example.org')


def test_domain_kind_owns_every_address_of_the_domain_only():
    s = subject('-', domain='example.org', logins=['ann'])
    assert s.owns_address('ann-marie@EXAMPLE.org') and not s.extends_account('ann-marie@example.org')
    assert not s.owns_address('ann@example.org.evil')
    assert s.extends_account('ann-marie')


@pytest.mark.parametrize('sep, extended, plain', [
    ('+', ['ann+work@example.org', 'ANN+Work@Example.ORG', 'ann+@example.org', 'ann+work', 'ann.l+x@example.net',
           'ann+work@xn--bcher-kva.example'],
     ['ann-marie@example.org', 'ann-marie', 'joann+x@example.org', 'ann+work@example.org.evil', 'ann@example.org',
      'ann', 'ann+work@other.example', 'annwork@example.org']),
    ('-', ['ann-marie@example.org', 'ann-marie', 'ann-@example.org'],
     ['ann+work@example.org', 'ann+work', 'jo-ann@example.org', 'ann@example.org']),
    ('=', ['ann=x@example.org', 'ann=x'], ['ann-marie@example.org', 'ann+work@example.org']),
    ('', [], ['ann+work@example.org', 'ann-marie@example.org', 'ann-marie']),
])
def test_extends_account(sep, extended, plain):
    s = subject(sep, addresses=['ann@example.org', 'ann@bücher.example'], logins=['ann', 'ann.l@example.net'])
    for name in extended:
        assert s.extends_account(name), name
    for name in plain:
        assert not s.extends_account(name), name
    assert not s.extends_account(None) and not s.extends_account('')


def test_extends_name_for_derived_names():
    s = subject('-', addresses=['Ann@example.org'])
    assert s.extends_name('ann-marie', 'Ann', fold=True) and not s.extends_name('ann-marie', 'Ann')
    assert s.extends_name('vdom-ann-x', 'vdom-ann') and not s.extends_name('vdom-ann', 'vdom-ann')
    assert not subject('', addresses=['ann@example.org']).extends_name('ann-marie', 'ann')
    assert not s.extends_name('ann-marie', '') and not s.extends_name(None, 'ann')
