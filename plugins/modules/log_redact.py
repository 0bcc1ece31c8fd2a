#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: log_redact
short_description: Remove or mask a data subject's lines in log files, or purge password and auth debug lines
version_added: 0.4.0
description:
  - With O(mode=subject) (GDPR Art. 17) removes, or masks, only the log lines that carry an identifier
    of one data subject (addresses, login names, IP addresses, or a whole mail domain), in live and rotated
    logs, plain and compressed (C(.gz), C(.bz2), C(.xz), recompressed in the same format) and multilog
    archives (C(current), C(@*.s)). Look-alikes stay (V(joann@example.com) when erasing V(ann@example.com),
    V(ann@example.com.evil)).
  - With O(mode=debug_traces) removes, whoever they belong to, the lines that carry passwords or
    authentication debug output (Courier DEBUG_LOGIN and authdaemond traces, Dovecot auth_debug and
    auth_debug_passwords traces, C(password=) / C(clearpasswd=) fields, SMTP C(AUTH PLAIN) and C(AUTH LOGIN)
    payloads in recordio transcripts). The patterns are those of the service descriptors
    (C(module_utils/service_<name>.py), listed in C(module_utils/service_catalog.py)) and the ones of no
    particular service, C(DEBUG_PATTERNS) in the module_utils C(log_redact).
  - Rotated, compressed and archived files are replaced atomically (temporary file in the same directory,
    fsync, rename) keeping owner, group, mode, atime and mtime. Live files are rewritten in place under the
    same inode, with the processes that hold them open for writing paused (SIGSTOP) for the last
    milliseconds, so that no line a writer appends while the module runs is lost. A file without a matching
    line is never written, so a second run changes nothing.
  - Every identifier is validated first; an invalid one fails the module before any file is touched, with a
    message that names the field and position but not the value. The result holds counts and the subject
    HMAC only, never lines, identifiers or file names.
author:
  - mailprivacy.gdpr maintainers (!UNKNOWN)
attributes:
  action_group:
    support: full
    membership: [mailprivacy.gdpr.subject]
    description:
      - Set the subject options once per play with C(module_defaults) and C(group/mailprivacy.gdpr.subject)
        (M(mailprivacy.gdpr.subject_find), M(mailprivacy.gdpr.subject_export), M(mailprivacy.gdpr.subject_erase),
        M(mailprivacy.gdpr.log_redact) take the same ones).
  check_mode:
    support: full
    description: A preview; counts the lines that would be removed or masked per file category, touches nothing.
  diff_mode:
    support: full
    description: Reports the counts before and after, never the lines themselves.
options:
  mode:
    description:
      - V(subject) redacts one data subject's lines (the identifier options are required);
        V(debug_traces) removes password and authentication debug lines of anybody (no subject).
    type: str
    default: subject
    choices: [subject, debug_traces]
  action:
    description:
      - V(remove) deletes the whole line; V(mask) replaces each identifier occurrence with a fixed token and
        keeps the rest of the line (only with O(mode=subject)).
    type: str
    default: remove
    choices: [remove, mask]
  mask_token:
    description:
      - V(hmac) masks with C([redacted:<first 8 hex digits of the subject HMAC>]) (lets an auditor tell
        the redactions of different requests apart), V(plain) with C([redacted]).
    type: str
    default: hmac
    choices: [hmac, plain]
  paths:
    description:
      - Absolute globs of the log files (C(**) recurses). Default C(paths) of C(store_options.logs), else the log
        store's locations, Debian's
        C(/var/log/mail.log*), C(mail.info*), C(mail.warn*), C(mail.err*), C(syslog*), C(dovecot*.log*),
        C(/var/log/horde/*.log*), C(/var/log/qmail/**) and C(/var/log/auth.log*) (PAM's lines for the mail logins).
      - Symbolic links and files behind symbolic links are refused, so are files that are not regular files
        (FIFOs, sockets, devices) and files whose compression cannot be read. The part of a glob without
        wildcards may pass through a symbolic link only when root owns it in a directory only root can change.
    type: list
    elements: str
  extra_paths:
    description: Globs added to O(paths) (and to C(extra_paths) of C(store_options.logs)).
    type: list
    elements: str
    default: []
  exclude:
    description: Globs of files to leave alone (added to C(exclude) of C(store_options.logs)).
    type: list
    elements: str
    default: []
  debug_patterns:
    description:
      - Names of the debug patterns to apply with O(mode=debug_traces); empty means all of them (recordio AUTH
        exchanges are always followed). The names are those of the service descriptors' debug patterns and of
        the module_utils C(log_redact); with the services of the collection V(password_field),
        V(smtp_auth_payload), V(given_password), V(dovecot_auth_debug), V(dovecot_passdb_password),
        V(sasl_response), V(courier_debug_login), V(courier_authdaemond) and V(transcript_password). An unknown
        name fails the module and the message lists the known ones.
    type: list
    elements: str
    default: []
  addresses:
    description: Email addresses of the subject (see M(mailprivacy.gdpr.subject_find)).
    type: list
    elements: str
    default: []
  logins:
    description: Login names of the subject, matched as whole tokens.
    type: list
    elements: str
    default: []
  ips:
    description: IP addresses of the subject, matched as whole tokens in every textual form of the same address.
    type: list
    elements: str
    default: []
  domain:
    description: A mail domain whose every user is the subject (a customer account).
    type: str
  plus_separator:
    description: Recipient delimiter; with it V(ann+news@example.com) counts as V(ann@example.com). Empty turns it off.
    type: str
    default: '+'
    choices: ['+', '-', '=', '']
  local_part_case:
    description:
      - V(insensitive) (default) compares the local parts of O(addresses) without ASCII letter case
        (V(ANN@example.com) is V(ann@example.com)); V(sensitive) compares them exactly. See
        M(mailprivacy.gdpr.subject_find).
    type: str
    default: insensitive
    choices: ['insensitive', 'sensitive']
  hmac_key:
    description: Secret key (at least 16 characters) for RV(subject_hmac); required with O(mode=subject).
    type: str
  request_id:
    description: Identifier of the request (letters, digits, C(.), C(_), C(-); up to 64 characters).
    type: str
  stores:
    description:
      - The stores of the request, as for M(mailprivacy.gdpr.subject_erase); the module takes every parameter of
        the action group C(mailprivacy.gdpr.subject), so that a play sets them once with C(module_defaults).
      - The module works on the log files (the store V(logs)). With O(mode=subject) and a list that does not name
        V(logs), the request leaves the logs alone; the module checks the request, reads no file and changes
        nothing. Empty means every store.
    type: list
    elements: str
    default: []
    version_added: 0.6.0
  store_options:
    description:
      - Options of the request's stores, as for M(mailprivacy.gdpr.subject_erase). Those of V(logs) choose the log
        files as they do for the erasure (C(paths), C(extra_paths), C(exclude)); O(paths) replaces their C(paths),
        O(extra_paths) and O(exclude) add to theirs.
    type: dict
    default: {}
    version_added: 0.6.0
notes:
  - Needs root to read and rewrite the logs and to pause the processes writing them. Linux only (C(/proc)).
  - A file that is refused or fails is counted in RV(refused) by reason and makes the module fail after
    every other file was processed.
  - Log directories may belong to the service users (the qmail role makes C(/var/log/qmail) C(qmaill)'s), who can
    swap a subdirectory for a symbolic link or a file for a FIFO while the module runs. Files are found and opened
    from directory handles, never through a symbolic link and never blocking, and everything is read from the
    handle that was checked; the temporary copy is created, renamed and removed relative to the same directory
    handle. A file or directory that is no longer the one found, a FIFO or other non-regular file, and a file with
    more than one hard link (rewriting it would change or split the other names) are refused and counted.
  - Replaced files keep their owner, group, mode, extended attributes (POSIX ACLs) and times; a sparse file keeps
    its holes. There must be free space for the temporary copy (the file's size plus a margin, without root's
    reserved blocks), otherwise the file is refused before anything is written.
  - When masking makes a live file longer, the space is reserved before the first byte is written back; without
    it the file is refused, unchanged. A live file is never left cut in the middle of a line by an error or a kill
    (the copy-back is finished from the complete temporary copy).
seealso:
  - module: mailprivacy.gdpr.subject_find
"""

EXAMPLES = r"""
- name: Preview how many of a subject's log lines would go
  mailprivacy.gdpr.log_redact:
    addresses: "{{ gdpr_subject_addresses }}"
    hmac_key: "{{ vault_gdpr_hmac_key }}"
  check_mode: true

- name: Mask the subject in every mail log, keeping the rest of each line
  mailprivacy.gdpr.log_redact:
    addresses: "{{ gdpr_subject_addresses }}"
    logins: "{{ gdpr_subject_logins | default([]) }}"
    action: mask
    hmac_key: "{{ vault_gdpr_hmac_key }}"

- name: Remove password and authentication debug lines of anybody
  mailprivacy.gdpr.log_redact:
    mode: debug_traces
"""

RETURN = r"""
subject_hmac:
  description: HMAC-SHA256 (hex) of the subject; the only representation of the subject.
  returned: when mode is subject
  type: str
  sample: 3f1c9b0e6d2a4c5b8e7f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d
lines_matched:
  description: Lines that carry an identifier (or a debug pattern), over all files.
  returned: always
  type: int
  sample: 12
lines_changed:
  description: Lines removed or masked (in check mode, that would be).
  returned: always
  type: int
  sample: 12
files_changed:
  description: Number of files rewritten (in check mode, that would be).
  returned: always
  type: int
  sample: 3
detail:
  description: Per file category (V(live), V(rotated), V(compressed), V(multilog)) the files seen, the files changed and the lines changed.
  returned: always
  type: dict
  sample: {live: {files: 1, files_changed: 1, lines: 3}, compressed: {files: 4, files_changed: 2, lines: 9}}
refused:
  description: Files refused or failed, counted by reason (no file names).
  returned: always
  type: dict
  sample: {refusing a symbolic link: 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailprivacy.gdpr.plugins.module_utils import log_redact as engine
from ansible_collections.mailprivacy.gdpr.plugins.module_utils import service, service_catalog
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.request import Request, argument_spec as subject_spec, parse_stores
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_base import StoreError
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_logs import CATEGORIES, DEFAULT_PATHS, LogStore
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.subject import SubjectError

LOGS = 'logs'


def argument_spec():
    return subject_spec(
        hmac_key=dict(type='str', no_log=True),
        mode=dict(type='str', default='subject', choices=['subject', 'debug_traces']),
        action=dict(type='str', default='remove', choices=['remove', 'mask']),
        mask_token=dict(type='str', default='hmac', choices=['hmac', 'plain']),
        paths=dict(type='list', elements='str'),
        extra_paths=dict(type='list', elements='str', default=[]),
        exclude=dict(type='list', elements='str', default=[]),
        debug_patterns=dict(type='list', elements='str', default=[]),
    )


def make_matcher(params):
    """(matcher factory, subject_hmac or None). Raises SubjectError / StoreError /
    engine.RedactError before anything is touched."""
    if params['mode'] == 'debug_traces':
        if params['action'] != 'remove':
            raise engine.RedactError('mode debug_traces only removes lines (action must be remove)')
        if params['addresses'] or params['logins'] or params['ips'] or params['domain']:
            raise engine.RedactError('mode debug_traces takes no subject identifiers')
        # the engine's own patterns and every service's (the descriptors of the service catalog)
        table = service.debug_patterns(service_catalog.SERVICES, engine.DEBUG_PATTERNS)
        known = [p[0] for p in table]
        for pos, name in enumerate(params['debug_patterns']):
            if name not in known:
                raise engine.RedactError('debug_patterns[%d] is not a known pattern (known: %s)' % (pos, ', '.join(known)))
        names = params['debug_patterns'] or None
        engine.DebugMatcher(names, table)
        return (lambda: engine.DebugMatcher(names, table)), None
    if not params.get('hmac_key'):
        raise engine.RedactError('hmac_key is required with mode subject')
    request = Request.from_params(params, stores=[LOGS])
    token = engine.mask_token(request.subject_hmac if params['mask_token'] == 'hmac' else None)
    matcher = engine.SubjectMatcher(request.subject, token)
    return (lambda: matcher), request.subject_hmac


def log_options(params):
    """The options of the log store: those of ``store_options.logs`` (the request's, shared
    with the other subject modules), with ``paths`` replaced and ``extra_paths`` and
    ``exclude`` extended by the module's own options."""
    _classes, store_options = parse_stores(params.get('stores'), params.get('store_options'))
    opts = dict(store_options.get(LOGS) or {})
    if params.get('paths') is not None:
        opts['paths'] = params['paths']
    elif opts.get('paths') is None:
        opts['paths'] = list(DEFAULT_PATHS)
    for key in ('extra_paths', 'exclude'):
        opts[key] = list(opts.get(key) or []) + list(params.get(key) or [])
    return opts


def empty_result():
    return dict(lines_matched=0, lines_changed=0, files_changed=0, changed=False, refused={},
                detail=dict((c, {'files': 0, 'files_changed': 0, 'lines': 0}) for c in CATEGORIES))


def run(params, check_mode):
    """The module's work without AnsibleModule: returns (result dict, failure message or None)."""
    options = log_options(params)
    factory, subject_hmac = make_matcher(params)
    stores = params.get('stores') or []
    if params['mode'] == 'subject' and stores and LOGS not in stores:
        # a request whose stores leave the logs alone: nothing is read
        result = dict(empty_result(), msg='the stores of the request do not include logs; no log file was read')
        result['subject_hmac'] = subject_hmac
        return result, None
    store = LogStore(options)
    # the one redaction path of the engine (LogStore.erase takes it too)
    _files, outcomes = store.redact(factory, params['action'], check_mode)
    refused = dict(store.problems)
    detail = empty_result()['detail']
    totals = {'lines_matched': 0, 'lines_changed': 0, 'files_changed': 0}
    for logfile, res, error in outcomes:
        entry = detail[logfile.category]
        entry['files'] += 1
        if error is not None:
            refused[error] = refused.get(error, 0) + 1
            continue
        totals['lines_matched'] += res['lines_matched']
        totals['lines_changed'] += res['lines_changed']
        if res['changed']:
            totals['files_changed'] += 1
            entry['files_changed'] += 1
            entry['lines'] += res['lines_changed']
    result = dict(totals, detail=detail, refused=refused, changed=totals['files_changed'] > 0)
    if subject_hmac:
        result['subject_hmac'] = subject_hmac
    failure = None
    if refused:
        failure = 'log redaction refused or failed for %d file(s): %s' % (
            sum(refused.values()), '; '.join('%s (%d)' % item for item in sorted(refused.items())))
    return result, failure


def diff_of(result):
    verb = 'masked' if result.get('action') == 'mask' else 'removed'
    before = ''.join('%s: %d file(s), %d line(s) to be %s\n' % (c, d['files_changed'], d['lines'], verb)
                     for c, d in sorted(result['detail'].items()))
    after = ''.join('%s: 0 line(s) to be %s\n' % (c, verb) for c in sorted(result['detail']))
    return {'before': before, 'after': after, 'before_header': 'log files (counts only)',
            'after_header': 'log files (counts only)'}


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result, failure = run(module.params, module.check_mode)
    except SubjectError as err:
        module.fail_json(msg='invalid subject: %s' % err, changed=False)
    except (StoreError, engine.RedactError) as err:
        module.fail_json(msg=str(err), changed=False)
    if module._diff:  # pylint: disable=protected-access
        result['action'] = module.params['action']
        result['diff'] = diff_of(result)
        del result['action']
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
