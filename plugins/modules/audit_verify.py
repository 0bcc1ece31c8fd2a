#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_verify
short_description: Check that the audit trail of the data-subject requests was not tampered with
version_added: 0.5.0
description:
  - Runs on the controller (an action plugin) and reads C(audit.jsonl) in O(audit_dir), the journal that
    M(mailprivacy.gdpr.request_audit) appends one record to per request.
  - "Every record carries a C(chain) field: its position C(seq), the previous record's MAC C(prev), a key id
    C(kid) and C(mac), an HMAC-SHA256 over C(prev), C(seq) and the record, keyed with a key derived from the
    request HMAC key. The check recomputes every MAC and follows the links, and reports the first record
    that is not as written, by its record number (line of C(audit.jsonl)), its C(seq) and the kind of
    problem: V(edited) (its MAC does not match), V(removed or reordered) (an authentic record whose place
    does not follow the one before it: records before it were removed or moved), V(inserted) (a record
    without a chain after the chain began), V(bad JSON), V(key mismatch) (a MAC made with another key: pass
    the right key, or an earlier one in O(previous_hmac_keys))."
  - Records written before the chain existed (no C(chain), before the first chained record) are counted as
    legacy records, not as tampering. Records written without a usable key (requests refused because the key
    was missing or too short) are linked by a plain SHA-256; they are listed as unauthenticated.
  - "Removing records at the end leaves a shorter chain that is still valid: only an anchor kept elsewhere
    shows it. Every check returns the head, RV(head_anchor) C(SEQ:MAC) of the last record (each request's
    output prints its own as C(audit chain:) too); keep it outside the audit directory (the AWX job log, a
    ticket, a second host) and pass it as O(expected_head) next time: a journal that no longer holds that
    record with that MAC fails with V(truncated) or V(anchor mismatch)."
  - With O(check_files), every per-request file C(<request id>.<action>.json) in O(audit_dir) is compared
    with the journal's record of the same C(seq) (V(per-request file differs), V(per-request file not in the
    journal)). So a file whose record was removed from the journal's end shows a truncation even without anchor.
  - The result holds counts, record and sequence numbers, file names and MACs, never a record's content
    (the records hold no identifier anyway).
  - The task fails when the check finds a problem; its message names the first one.
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  action:
    support: full
    description: Runs on the controller; no connection to a host is made.
options:
  audit_dir:
    description: Directory of the audit trail (C(gdpr_audit_dir) of the request playbooks).
    type: str
    default: audit
  hmac_key:
    description: The request HMAC key (C(gdpr_hmac_key), from the vault) the records were written with.
    type: str
    required: true
  previous_hmac_keys:
    description: Earlier HMAC keys, for records written before the key was changed.
    type: list
    elements: str
    default: []
  expected_head:
    description:
      - An anchor C(SEQ:MAC) from an earlier check (RV(head_anchor)) or request (C(audit chain:)); the journal
        must still hold the record C(SEQ) with that MAC.
    type: str
  check_files:
    description: Compare the per-request files of O(audit_dir) with the journal.
    type: bool
    default: true
seealso:
  - module: mailprivacy.gdpr.request_audit
"""

EXAMPLES = r"""
- name: Check the audit trail
  mailprivacy.gdpr.audit_verify:
    audit_dir: /srv/gdpr/audit
    hmac_key: "{{ vault_gdpr_hmac_key }}"
    expected_head: "{{ gdpr_audit_expected_head | default(omit) }}"
  register: check

- name: Show the head to keep elsewhere
  ansible.builtin.debug:
    msg: "{{ check.head_anchor }}"
"""

RETURN = r"""
ok:
  description: True when no problem was found.
  returned: success
  type: bool
records:
  description: Lines of the journal checked.
  returned: success
  type: int
chained:
  description: Records with a chain.
  returned: success
  type: int
legacy:
  description: Records without a chain before the first chained one.
  returned: success
  type: int
unauthenticated:
  description: Chained records without a MAC (written without a usable key).
  returned: success
  type: int
unauthenticated_records:
  description: Their record numbers (the first 50).
  returned: success
  type: list
  elements: int
problems:
  description: The first 50 problems, each with C(kind), C(record) (line number or null), C(seq) and, for a per-request file, C(file).
  returned: success
  type: list
  elements: dict
problem_count:
  description: How many problems in all.
  returned: success
  type: int
first_problem:
  description: The first problem, or null.
  returned: success
  type: dict
head:
  description: The last chained record, C(record), C(seq), C(mac), C(authenticated); null without one.
  returned: success
  type: dict
head_anchor:
  description: C(SEQ:MAC) of the head, to keep elsewhere and pass as O(expected_head).
  returned: success
  type: str
key_id:
  description: The key id of O(hmac_key) (C(kid) in the records it wrote); not the key.
  returned: success
  type: str
files_checked:
  description: Per-request files compared with the journal.
  returned: success
  type: int
summary:
  description: The result as lines for the play output.
  returned: success
  type: list
  elements: str
"""
