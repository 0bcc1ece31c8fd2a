#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: subject_request
short_description: Validate a data-subject request on the controller before any host is touched
version_added: 0.3.0
description:
  - Runs on the controller (an action plugin) and checks a request of the playbooks
    C(subject_find.yml), C(subject_export.yml) and C(customer_export.yml) once, up front, so that bad
    input fails before any host is touched.
  - Checks the identifiers with the same rules as M(mailprivacy.gdpr.subject_find) (wildcards, regex
    metacharacters, path separators, control characters, empty or overlong values), the HMAC key
    (at least 16 characters), the request id (generated when absent as a UTC timestamp and a random
    suffix, for example V(20250101T120000Z-1a2b3c4d)), the store names and every store's options.
  - A request id that contains an identifier of the subject is refused (it names files and appears in
    every output).
  - Returns RV(request) (the playbooks keep it as the fact C(gdpr_request)) with the request id,
    RV(request.subject_hmac), the kind, how many identifiers of each kind were given, the operator (O(operator), else AWX's or Tower's
    C(awx_user_name)/C(tower_user_name), else the controller's login user) and the start time.
    Neither the result nor the failure message holds an identifier.
  - Checks the controller's directories up front, so that the audit record and the archive can be written
    at the end. O(audit_dir) is created with mode 0700 when missing and refused when group or others can
    access it (an existing directory is never chmodded). For an export outside check mode it also refuses
    an existing archive of the request unless O(force=true), creates O(export_dir) (0700) the same way and
    a fresh staging directory C(<export_dir>/.<request id>.partial) (0700) for the fetched bundles.
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: Validates and creates the audit directory only; records whether the run is in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  action:
    support: full
    description: Runs on the controller; no connection to a host is made.
extends_documentation_fragment:
  - mailprivacy.gdpr.request
options:
  subject:
    description:
      - The subject as a dictionary with the keys C(addresses), C(logins) and C(ips); each a list of
        strings or one string.
    type: raw
  domain:
    description: A mail domain whose every user is the subject (a customer account).
    type: raw
  plus_separator:
    description: Recipient delimiter, as in M(mailprivacy.gdpr.subject_find).
    type: str
    default: '+'
  local_part_case:
    description:
      - Whether the local parts of addresses are compared without ASCII letter case (V(insensitive)) or
        exactly (V(sensitive)), as in M(mailprivacy.gdpr.subject_find); the subject's HMAC is computed the way
        the hosts compute it.
    type: str
    default: insensitive
    choices: ['insensitive', 'sensitive']
  hmac_key:
    description: Secret key for the subject's HMAC; at least 16 characters. Keep it in a vault.
    type: raw
  request_id:
    description:
      - Identifier of the request (letters, digits, C(.), C(_), C(-); up to 64 characters, starting with a
        letter or digit). Generated when absent.
    type: str
  operator:
    description: Who made the request; default AWX's or Tower's user name, else the controller's login user.
    type: str
  action:
    description: What the request does; recorded in the audit trail.
    type: str
    default: find
    choices: [find, export, erase]
  expect_kind:
    description: Refuse a subject of the other kind (V(domain) for the customer playbooks).
    type: str
    default: any
    choices: [any, user, domain]
  stores:
    description: Names of the stores; empty means every store of the registry.
    type: list
    elements: str
    default: []
  store_options:
    description: Options per store name, checked as the modules will check them.
    type: raw
    default: {}
  audit_dir:
    description: Directory of the audit trail on the controller (relative to the working directory).
    type: str
    default: audit
  export_dir:
    description: Directory of the export archives on the controller (relative to the working directory).
    type: str
    default: exports
  force:
    description: For an export, allow replacing an existing archive of the same request id.
    type: bool
    default: false
seealso:
  - module: mailprivacy.gdpr.request_audit
  - module: mailprivacy.gdpr.bundle_join
  - module: mailprivacy.gdpr.subject_find
"""

EXAMPLES = r"""
- name: Validate the request before any host is touched
  mailprivacy.gdpr.subject_request:
    subject: "{{ gdpr_subject | default(omit) }}"
    domain: "{{ gdpr_subject_domain | default(omit) }}"
    hmac_key: "{{ vault_gdpr_hmac_key }}"
    action: export
  register: prepared
"""

RETURN = r"""
request:
  description: The request context; no identifier.
  returned: always
  type: dict
  contains:
    request_id:
      description: The request id (given or generated); null when the given one was invalid.
      type: str
    request_id_generated:
      description: Whether the request id was generated.
      type: bool
    action:
      description: V(find), V(export) or V(erase).
      type: str
    kind:
      description: V(user) or V(domain); null when the subject was invalid.
      type: str
    subject_hmac:
      description: HMAC-SHA256 (hex) of the subject; null when the subject or the key was invalid.
      type: str
    identifiers:
      description: How many identifiers of each kind were given (numbers only).
      type: dict
    operator:
      description: Who made the request.
      type: str
    operator_source:
      description: Where the operator came from (V(gdpr_operator), V(awx_user_name), V(tower_user_name), V(controller_user)).
      type: str
    started:
      description: UTC time the request was validated (ISO 8601).
      type: str
    check_mode:
      description: Whether the run is in check mode.
      type: bool
    stores:
      description: Names of the stores the request covers.
      type: list
      elements: str
    audit_dir:
      description: Absolute path of the audit directory.
      type: str
    export_dir:
      description: Absolute path of the export directory.
      type: str
    staging_dir:
      description: Absolute path of the private directory the bundles are fetched into.
      type: str
"""
