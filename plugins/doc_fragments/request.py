# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The action group of the controller-side request actions (subject_request, request_audit,
    erasure_report), documented once."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    support: full
    membership: [mailprivacy.gdpr.request]
    description:
      - Set O(subject), O(domain), O(plus_separator), O(local_part_case) and O(hmac_key) once per play with
        C(module_defaults) and C(group/mailprivacy.gdpr.request) (M(mailprivacy.gdpr.subject_request),
        M(mailprivacy.gdpr.request_audit), M(mailprivacy.gdpr.erasure_report) take the same ones).
"""
