# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service descriptor ``dovecot``: the Dovecot IMAP/POP3 server. Its store (mailboxes through
doveadm, first of all: it ends the subject's sessions and expunges through Dovecot's indexes),
its record of processing (``doveconf -n``: mail_location, autoexpunge, its log files), the log
lines that name users (``imap(ann)``, ``passwd-file(ann,``) or carry auth debug output
(``auth: Debug:``, ``resp=<base64>`` of auth_debug_passwords), and the debug patterns that
log_redact's debug_traces mode removes. See module_utils/service.py."""

from __future__ import annotations

import os

from ansible_collections.mailprivacy.gdpr.plugins.module_utils.doveconf import parse_doveconf, top_level
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.processing import LOG_DATA, home_dirs, record
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.service import Descriptor
from ansible_collections.mailprivacy.gdpr.plugins.module_utils.store_dovecot import DovecotStore


def mail_location_paths(location):
    """Human locations of a Dovecot mail_location."""
    if not location:
        return ['mbox:~/mail, /var/mail/%u (Debian default)'], '/var/mail', '/var/mail', 'mail'
    parts = location.split(':')
    fmt = parts[0] if len(parts) > 1 else ''
    rest = ':'.join(parts[1:]) if fmt else location
    fields = rest.split(':')
    paths = [fields[0]]
    spool = None
    for field in fields[1:]:
        key, _sep, value = field.partition('=')
        if key in ('INBOX', 'INDEX', 'CONTROL') and value:
            paths.append('%s=%s' % (key, value))
            if key == 'INBOX':
                spool = os.path.dirname(value)
    stat_dir = spool or '/home'
    home = paths[0][2:] if paths[0].startswith('~/') else None
    return ['%s: %s' % (fmt or 'mail', ', '.join(paths))], stat_dir, spool, home


def collect_dovecot(host, logrotate):
    if not (host.isdir('/etc/dovecot') or host.which('doveconf')):
        return None
    problems = []
    out = host.run(['doveconf', '-n'])
    settings = None
    if out is not None and out[0] == 0:
        settings = parse_doveconf(out[1])
    else:
        problems.append('dovecot: doveconf -n could not be run; retention not read from the configuration')
    top = top_level(settings or [])
    rows = []
    expunge = []
    for blocks, key, value in settings or []:
        if key == 'autoexpunge' and blocks and blocks[-1].startswith('mailbox '):
            expunge.append((blocks[-1][8:], value))
    locations, stat_dir, spool, home = mail_location_paths(top.get('mail_location'))
    sample = ([spool] if spool and host.isdir(spool) else []) + (home_dirs(host, home) if home else [])
    if settings is None:
        retention, days = 'unknown (configuration not read)', None
    else:
        retention = 'until deleted by the user or the account is closed'
        if expunge:
            retention += '; autoexpunge: ' + ', '.join('%s %s' % (box, value) for box, value in expunge)
        days = None
    rows.append(record(host, 'dovecot', 'mailboxes',
                       'Mail messages and mailbox indexes (addresses, subjects, bodies, cached headers)',
                       '; '.join(locations), retention, days,
                       'doveconf -n (mail_location, mailbox autoexpunge)', stat_path=stat_dir, sample=sample,
                       fallback_dirs=('/var/mail',)))
    for key in ('log_path', 'info_log_path', 'debug_log_path'):
        path = top.get(key, '')
        if path.startswith('/') and not any(r['location'].startswith(path + ' ') for r in rows):
            text, ldays, basis = logrotate.retention(path)
            rows.append(record(host, 'dovecot', 'dovecot_log:' + os.path.basename(path),
                               'Dovecot log lines (%s)' % LOG_DATA, path + ' (and rotated copies)',
                               text, ldays, basis, stat_path=path, fallback_dirs=(os.path.dirname(path),),
                               present=host.exists(path)))
    return rows, problems


DESCRIPTOR = Descriptor(
    'dovecot',
    'Dovecot IMAP/POP3 server',
    stores=((DovecotStore, 100),),
    collector=collect_dovecot,
    log_patterns={
        'login': (
            # a mail process's user prefix: 'imap(ann): Disconnected', not 'imap(12)' or 'imap()'
            rb'\b(?:imap|pop3|lmtp|lda|submission|managesieve|sieve|indexer-worker|doveadm|quota-status)'
            rb'\((?![)<]|[0-9]+\))[^)\s]{1,255}\)',
            # an auth passdb/userdb prefix: 'passwd-file(ann,192.0.2.4)'
            rb'\b(?:passwd-file|passwd|pam|sql|ldap|static|checkpassword|shadow|bsdauth|vpopmail)'
            rb'\((?![,)?])[^,()\s]{1,255},',
        ),
        'auth_debug': (rb'\bauth(?:-worker)?(?:\([^)\n]{0,300}\))?: Debug: ',),
        'auth_payload': (rb'(?i:\bresp=(?!<hidden>))[A-Za-z0-9+/]{4,}={0,2}',),
    },
    debug_patterns=(
        ('given_password', "Dovecot auth_verbose_passwords: '(given password: ...)'",
         rb'\(given password: '),
        ('dovecot_auth_debug', 'Dovecot auth_debug traces: auth: Debug: / auth-worker(...): Debug: and '
         'login processes\' Debug: lines',
         rb'\b(?:auth|auth-worker|imap-login|pop3-login|submission-login|managesieve-login)'
         rb'(?:\([^)\n]{0,300}\))?: Debug: '),
        ('dovecot_passdb_password', 'auth-worker lines naming a passdb and a password',
         rb'\bauth-worker\b[^\n]*\bpassdb\b[^\n]*(?i:password)|\bauth-worker\b[^\n]*(?i:password)[^\n]*\bpassdb\b'),
        ('sasl_response', 'Dovecot auth_debug_passwords SASL responses: resp=<base64>',
         rb'\bresp=(?!<hidden>)[A-Za-z0-9+/]{4,}={0,2}'),
    ),
)
