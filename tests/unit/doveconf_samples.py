# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""doveconf output shared by the tests of the doveconf parser (module_utils) and of the
doveconf_overrides filter (tests/unit is on sys.path, see conftest.py)."""

# Trimmed `doveconf -a` output of Debian bookworm's Dovecot 2.3.19.1 with the
# profile in local.conf: defaults at the top level, listener `ssl` in services,
# passdb/userdb `auth_verbose = default`.
CLEAN_A = """\
# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf
# Pigeonhole version 0.5.19 (4eae2f79)
# Hostname: mp-dovecot
# NOTE: Send doveconf -n output instead when asking for help.
auth_debug = no
auth_debug_passwords = no
auth_verbose = no
auth_verbose_passwords = no
debug_log_path = \n\
deliver_log_format = %$
disable_plaintext_auth = yes
info_log_path = /var/log/dovecot-info.log
log_debug = \n\
log_path = /var/log/dovecot.log
log_timestamp = "%b %d %H:%M:%S "
login_log_format = %$: %s
login_log_format_elements = method=%m lip=%l mpid=%e %c session=<%{session}>
mail_debug = no
mail_log_prefix = "%s<%{pid}><%{session}>: "
namespace inbox {
  inbox = yes
  location = \n\
  mailbox "Sent Messages" {
    auto = no
    special_use = \\Sent
  }
  mailbox Trash {
    autoexpunge = 30 days
    special_use = \\Trash
  }
  prefix = \n\
}
passdb {
  args = \n\
  auth_verbose = default
  driver = pam
}
plugin {
  mail_log_fields = uid box msgid size
}
rawlog_dir = \n\
service imap-login {
  executable = imap-login
  inet_listener imap {
    port = 143
    ssl = no
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service imap {
  executable = imap
}
ssl = required
ssl_cert = </etc/dovecot/private/dovecot.pem
ssl_key = # hidden, use -P to show it
userdb {
  auth_verbose = default
  driver = passwd
}
verbose_proctitle = no
verbose_ssl = no
"""
