#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: request_audit
short_description: Write the audit record of a data-subject request on the controller
version_added: 0.3.0
description:
  - Runs on the controller (an action plugin) at the end of the playbooks C(subject_find.yml),
    C(subject_export.yml) and C(customer_export.yml), and when a request is refused.
  - "The record holds the request id, the action, the kind (V(user) or V(domain)), the subject's HMAC, how
    many identifiers of each kind were given, the operator, the start and end times (UTC), the outcome
    (V(ok), V(failed), V(rejected)) with the reason, and per host the outcome, each step's status and,
    per store, the counts; for an export also the archive's path and SHA-256. Never an identifier: every
    free text (error messages, store reasons, manual steps) that matches the subject is withheld."
  - The record is appended as one line to C(audit.jsonl) (under an exclusive lock; the file is only ever
    appended to) and written to its own file C(<request id>.<action>.json) (a number is added when it
    exists). Files are mode 0600 in a directory of mode 0700.
  - "Each record is chained to the one before it: its C(chain) field holds its position C(seq), the previous
    record's MAC C(prev), a key id C(kid) and C(mac), an HMAC-SHA256 over C(prev), C(seq) and the record, keyed
    with a key derived from O(hmac_key) (never the key itself). M(mailprivacy.gdpr.audit_verify) reports a record
    that was edited, removed, reordered or inserted. Without a usable O(hmac_key) (a request refused for its key)
    the record is linked with a plain SHA-256 instead and counts as unauthenticated."
  - The host results are read from the registered variables C(<result_prefix><step>) of every host in O(hosts).
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: none
    description: Run the task with C(check_mode=false); the record says whether the request ran in check mode.
  diff_mode:
    support: none
    description: The record is new data; no diff is shown.
  action:
    support: full
    description: Runs on the controller; no connection to a host is made.
extends_documentation_fragment:
  - mailprivacy.gdpr.request
options:
  request:
    description: The C(gdpr_request) fact of M(mailprivacy.gdpr.subject_request) (or its partial result when it failed).
    type: raw
    default: {}
  subject:
    description: The subject as given to M(mailprivacy.gdpr.subject_request); used only to screen the record.
    type: raw
  domain:
    description: The customer domain as given to M(mailprivacy.gdpr.subject_request); used only to screen the record.
    type: raw
  plus_separator:
    description: Recipient delimiter, as given to M(mailprivacy.gdpr.subject_request).
    type: str
    default: '+'
  local_part_case:
    description: Local-part letter case (V(insensitive) or V(sensitive)), as given to M(mailprivacy.gdpr.subject_request).
    type: str
    default: insensitive
    choices: ['insensitive', 'sensitive']
  hosts:
    description: The hosts the request ran on.
    type: list
    elements: str
    default: []
  steps:
    description:
      - Names of the steps whose registered results C(<result_prefix><step>) are read from every host; the
        first is the subject module whose counts are recorded. Empty for a refused request.
    type: list
    elements: str
    default: []
  result_prefix:
    description: Prefix of the registered variables.
    type: str
    default: __gdpr_
  error:
    description: A failure on the controller (a refused request, a join that failed).
    type: raw
  rejected:
    description: The request was refused before any host was touched (O(error) says why); the outcome is V(rejected).
    type: bool
    default: false
  archive:
    description: The C(archive) result of M(mailprivacy.gdpr.bundle_join).
    type: raw
  audit_dir:
    description: Directory of the audit trail; default the C(audit_dir) of O(request), else C(audit).
    type: str
  hmac_key:
    description:
      - The request HMAC key (C(gdpr_hmac_key), from a vault), at least 16 characters. The chain's MAC key is
        derived from it. Without it the record is appended unauthenticated.
    type: str
    version_added: 0.5.0
seealso:
  - module: mailprivacy.gdpr.subject_request
  - module: mailprivacy.gdpr.bundle_join
  - module: mailprivacy.gdpr.audit_verify
"""

EXAMPLES = r"""
- name: Write the audit record
  mailprivacy.gdpr.request_audit:
    request: "{{ gdpr_request }}"
    subject: "{{ gdpr_subject | default(omit) }}"
    hosts: "{{ gdpr_request_hosts }}"
    steps: [find]
    hmac_key: "{{ gdpr_hmac_key }}"
  check_mode: false
  register: audit
"""

RETURN = r"""
outcome:
  description: V(ok), V(failed) or V(rejected).
  returned: success
  type: str
record:
  description: The record as written.
  returned: success
  type: dict
journal:
  description: Path of C(audit.jsonl).
  returned: success
  type: str
record_path:
  description: Path of the record's own JSON file.
  returned: success
  type: str
chain_anchor:
  description:
    - The record's place in the chain, C(SEQ:MAC); kept outside the audit directory (the job log of AWX keeps
      it), it is an anchor for O(mailprivacy.gdpr.audit_verify#module:expected_head).
  returned: success
  type: str
authenticated:
  description: Whether the record carries a MAC (false without a usable O(hmac_key)).
  returned: success
  type: bool
failed_hosts:
  description: Hosts whose outcome is not V(ok).
  returned: success
  type: list
  elements: str
report:
  description: A short summary of the record, one line per host (counts only).
  returned: success
  type: list
  elements: str
"""
