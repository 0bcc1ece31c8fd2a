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
attributes:
  action_group:
    support: full
    membership: [mailprivacy.gdpr.subject]
    description:
      - Set the subject options once per play with C(module_defaults) and C(group/mailprivacy.gdpr.subject)
        (M(mailprivacy.gdpr.subject_find), M(mailprivacy.gdpr.subject_export), M(mailprivacy.gdpr.subject_erase),
        M(mailprivacy.gdpr.log_redact) take the same ones).
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
        and unknown options are refused; an option left out (or null) keeps its default."
      - The options of each store are listed below (its suboptions).
    type: dict
    default: {}
    suboptions:
      # BEGIN_STORE_OPTIONS
      # generated from the stores' OPTIONS by tools/store_docs.py (make store-docs): edit the declarations
      courier_queue:
        description:
          - >-
            Messages in the Courier MTA queue whose envelope names the subject; only those whose every
            recipient is the subject's are cancelled.
        type: dict
        suboptions:
          cancelmsg:
            description:
              - >-
                The C(cancelmsg) command, through which the erasure cancels the messages that go to the
                subject alone.
            type: str
            default: "cancelmsg"
          msgs_dir:
            description:
              - >-
                Courier's queue directory (the store is available when it exists).
            type: str
            default: "/var/lib/courier/msgs"
      courier_userdb:
        description:
          - >-
            Courier authlib userdb: C(/etc/courier/userdb) (a file, or a directory of files as makeuserdb
            reads it: recursive, names starting with a dot skipped), then C(makeuserdb).
        type: dict
        suboptions:
          makeuserdb:
            description:
              - >-
                The C(makeuserdb) command, which rebuilds C(userdb.dat).
            type: str
            default: "makeuserdb"
          remove_home:
            description:
              - >-
                Remove the home directories of the subject's entries too.
            type: bool
            default: true
          roots:
            description:
              - >-
                Directories below which a home directory must lie (with no symbolic link on the way) to be
                removed.
            type: list
            elements: str
            default:
              - "/home"
              - "/var/vmail"
              - "/var/mail"
          userdb:
            description:
              - >-
                Courier's userdb source: a file, or a directory of files as C(makeuserdb) reads it.
            type: str
            default: "/etc/courier/userdb"
      dovecot:
        description:
          - >-
            Mailboxes of the subject through doveadm.
        type: dict
        suboptions:
          cache_purge:
            description:
              - >-
                Compress each mailbox's C(dovecot.index.cache) after the expunge, which otherwise keeps the
                expunged messages' cached headers (From, Subject, Message-ID) until Dovecot compresses it.
            type: bool
            default: true
          doveadm:
            description:
              - >-
                The C(doveadm) command (a name looked up on the PATH, or a path).
            type: str
            default: "doveadm"
          doveconf:
            description:
              - >-
                The C(doveconf) command, which reads the lazy_expunge namespace and whether Dovecot logs user
                lookups (C(auth_debug), C(auth_verbose), C(mail_debug)).
            type: str
            default: "doveconf"
          kick:
            description:
              - >-
                End the user's IMAP and POP3 sessions (the processes anvil lists for the user) before the
                expunge.
            type: bool
            default: true
          lazy_expunge:
            description:
              - >-
                The lazy_expunge plugin's namespace prefix (such as V(.EXPUNGED/)) or mailbox, whose copies of
                expunged messages are counted, exported and expunged too. V(auto) reads the plugin's setting
                with C(doveconf); an empty string: none.
            type: str
            default: "auto"
          purge:
            description:
              - >-
                Run C(doveadm purge) after the expunge, so that mdbox storage frees the messages.
            type: bool
            default: true
          trash_mailboxes:
            description:
              - >-
                Mailbox names counted as trash in the C(detail) counts.
            type: list
            elements: str
            default:
              - "Trash"
              - "Deleted Messages"
              - "Deleted Items"
              - "INBOX.Trash"
              - "INBOX/Trash"
      horde_sql:
        description:
          - >-
            Horde Groupware / IMP SQL tables (SQLite or MySQL/MariaDB).
        type: dict
        suboptions:
          conf_php:
            description:
              - >-
                Horde's C(conf.php): the database settings (C($conf['sql'])) are read from it, C(conf.d/*.php)
                and C(conf.local.php) as Horde reads them (plain literals only).
            type: str
            default: "/etc/horde/horde/conf.php"
          database:
            description:
              - >-
                The SQLite file or MySQL database name; empty: from Horde's configuration.
            type: str
            default: ""
          defaults_file:
            description:
              - >-
                A MySQL client option file with the credentials; empty: those of Horde's configuration.
            type: str
            default: ""
          driver:
            description:
              - >-
                V(sqlite), V(mysql) (MySQL or MariaDB), or V(auto): from the C(phptype) of Horde's
                configuration (V(mysql) when only C(defaults_file) is set).
            type: str
            default: "auto"
          mysql:
            description:
              - >-
                The C(mysql) client command.
            type: str
            default: "mysql"
          remove_user_data:
            description:
              - >-
                Horde's C(horde-remove-user-data), run for each user id of the subject before the rows it
                leaves are deleted directly; empty or missing: the rows are deleted directly only.
            type: str
            default: "/usr/bin/horde-remove-user-data"
      journal:
        description:
          - >-
            The systemd journal, read through C(journalctl) (C(-o short-iso); the export also writes every
            entry whose fields carry the subject with all its fields, from C(-o export)).
        type: dict
        suboptions:
          args:
            description:
              - >-
                Extra arguments of C(journalctl), such as C([--since, 2024-01-01]).
            type: list
            elements: str
            default: []
          chunk_size:
            description:
              - >-
                Bytes per read of C(journalctl)'s output (64 KiB to 256 MiB).
            type: int
            default: 1048576
          directories:
            description:
              - >-
                Journal directories: the store is available when one exists; the erasure rewrites the journal
                files under them.
            type: list
            elements: str
            default:
              - "/var/log/journal"
              - "/run/log/journal"
          export_entries:
            description:
              - >-
                The export also writes C(journal/journal-entries.jsonl): every entry one of whose fields
                carries an identifier, with all its fields as C(journalctl -o json) shows them, including
                fields the text lines do not show such as C(_CMDLINE).
            type: bool
            default: true
          journal_remote:
            description:
              - >-
                The C(systemd-journal-remote) command; empty: found in C(/lib/systemd) or C(/usr/lib/systemd).
            type: str
            default: ""
          journalctl:
            description:
              - >-
                The C(journalctl) command.
            type: str
            default: "journalctl"
          rewrite:
            description:
              - >-
                The erasure rewrites the journal files without the subject's entries through
                C(systemd-journal-remote) (active files are rotated first). V(false) leaves them to journald's
                retention, with a manual step that says by when they are gone.
            type: bool
            default: true
      klms_backup:
        description:
          - >-
            KLMS Backup: available when KLMS is installed; every operation is a manual step.
        type: dict
        suboptions:
          klms_control:
            description:
              - >-
                Path of C(klms-control): KLMS is installed when it exists (or one of C(klms_dirs)).
            type: str
            default: "/opt/kaspersky/klms/bin/klms-control"
          klms_dirs:
            description:
              - >-
                KLMS's directories: KLMS is installed when one of them exists.
            type: list
            elements: str
            default:
              - "/etc/opt/kaspersky/klms"
              - "/var/opt/kaspersky/klms"
          request_id:
            description:
              - >-
                The request id that the manual step names (letters, digits, C(.), C(_), C(:), C(-)); filled in
                from the request.
            type: str
            default: ""
          subject_hmac:
            description:
              - >-
                The subject's HMAC (hex) that the manual step names; filled in from the request.
            type: str
            default: ""
      logs:
        description:
          - >-
            Log files: live, rotated (plain and .gz/.bz2/.xz) and multilog archives.
        type: dict
        suboptions:
          chunk_size:
            description:
              - >-
                Bytes per read (64 KiB to 256 MiB).
            type: int
            default: 1048576
          exclude:
            description:
              - >-
                Globs of files left out.
            type: list
            elements: str
            default: []
          extra_paths:
            description:
              - >-
                Globs added to C(paths).
            type: list
            elements: str
            default: []
          mmap:
            description:
              - >-
                Ignored (accepted for compatibility): files are read with plain reads only, since a file its
                owner truncates under a memory map would kill the process.
            type: bool
            default: true
          paths:
            description:
              - >-
                Absolute globs of the log files (C(**) recurses): live, rotated (plain, C(.gz), C(.bz2),
                C(.xz)) and multilog archives. The default: Debian's mail logs, syslog, Dovecot's and Horde's
                logs, qmail's multilog directories and C(/var/log/auth.log*) (PAM's lines for the mail
                logins).
            type: list
            elements: str
            default:
              - "/var/log/mail.log*"
              - "/var/log/mail.info*"
              - "/var/log/mail.warn*"
              - "/var/log/mail.err*"
              - "/var/log/syslog*"
              - "/var/log/dovecot*.log*"
              - "/var/log/horde/*.log*"
              - "/var/log/qmail/**"
              - "/var/log/auth.log*"
          threads:
            description:
              - >-
                Read plain files in a helper thread too (measured slower: the search holds the GIL);
                compressed files are always decompressed in a helper thread.
            type: bool
            default: false
          workers:
            description:
              - >-
                Files scanned at once, in forked processes (1 to 64); 1 is gentler on a busy single-core host
                (figures in docs/benchmarks.md).
            type: int
            default: 2
      maildir:
        description:
          - >-
            Maildir trees (Courier, qmail, Dovecot maildir) found through path templates.
        type: dict
        suboptions:
          check_shared_home:
            description:
              - >-
                Refuse when the home directory of a login of the subject (C(~) templates) is shared with
                another account of the password database.
            type: bool
            default: true
          extra_paths:
            description:
              - >-
                Templates (as in C(paths)) of further trees of the same user that go with the mailbox, such as
                Dovecot's lazy-expunge namespace C(/var/vmail/%d/%n/expunged) or C(INDEX=) and C(CONTROL=)
                directories.
            type: list
            elements: str
            default: []
          lazy_expunge_folders:
            description:
              - >-
                Top-level folder names counted as lazy-expunge copies in the C(detail) counts.
            type: list
            elements: str
            default:
              - "EXPUNGED"
          paths:
            description:
              - >-
                Path templates of the subject's Maildir: C(~) at the start is the home directory of a login of
                the subject in the password database, C(%u) the user name (an address or a login), C(%n) its
                local part, C(%d) its domain (A-label and U-label forms); otherwise absolute, without C(..).
            type: list
            elements: str
            default:
              - "~/Maildir"
          roots:
            description:
              - >-
                Absolute directories (not C(/)) below which every tree must lie, with no symbolic link between
                the root and the tree; a tree of the subject elsewhere makes the store refuse. The store is
                available when one of them exists.
            type: list
            elements: str
            default:
              - "/home"
              - "/var/vmail"
              - "/var/mail"
              - "/var/qmail/mailnames"
          trash_folders:
            description:
              - >-
                Top-level folder names counted as trash in the C(detail) counts.
            type: list
            elements: str
            default:
              - "Trash"
              - "Deleted Messages"
              - "Deleted Items"
      qmail_assign:
        description:
          - >-
            qmail C(users/assign) (C(=local:user:uid:gid:home:dash:ext:) and C(+prefix:...) lines, ended by
            C(.)), then C(qmail-newu).
        type: dict
        suboptions:
          qmail_dir:
            description:
              - >-
                qmail's directory (C(users/assign), C(control/locals), C(control/virtualdomains)).
            type: str
            default: "/var/qmail"
          qmail_newu:
            description:
              - >-
                The C(qmail-newu) command, which rebuilds C(users/cdb); empty: C(<qmail_dir>/bin/qmail-newu).
            type: str
            default: ""
          remove_home:
            description:
              - >-
                Remove the home directories of the subject's lines too.
            type: bool
            default: true
          roots:
            description:
              - >-
                Directories below which a home directory must lie (with no symbolic link on the way) to be
                removed.
            type: list
            elements: str
            default:
              - "/home"
              - "/var/vmail"
              - "/var/mail"
      qmail_queue:
        description:
          - >-
            Messages in the qmail queue whose envelope names the subject; a message that also goes to others
            keeps them (only the subject's recipient records go).
        type: dict
        suboptions:
          allow_stopped_queue_edit:
            description:
              - >-
                Let the erasure edit the queue while qmail-send is stopped (checked with C(svstat) and
                C(pgrep), C(lock/sendmutex) held); otherwise it reports a manual step.
            type: bool
            default: false
          control_dir:
            description:
              - >-
                qmail's C(control) directory (C(locals), C(virtualdomains)); empty: C(control) beside the
                queue directory.
            type: str
            default: ""
          pgrep:
            description:
              - >-
                The C(pgrep) command, asked whether a qmail-send process runs.
            type: str
            default: "pgrep"
          queue_dir:
            description:
              - >-
                qmail's queue directory (the store is available when it holds C(mess/)).
            type: str
            default: "/var/qmail/queue"
          service_dir:
            description:
              - >-
                qmail-send's daemontools service directory.
            type: str
            default: "/etc/service/qmail-send"
          svstat:
            description:
              - >-
                The C(svstat) command (daemontools), asked whether qmail-send's service is up.
            type: str
            default: "svstat"
      system_accounts:
        description:
          - >-
            Operating-system accounts (passwd/PAM) of the subject; disabled unless C(enabled).
        type: dict
        suboptions:
          enabled:
            description:
              - >-
                Use the store: deleting operating-system accounts must be an explicit decision.
            type: bool
            default: false
          group_file:
            description:
              - >-
                The group database (the export lists the groups of the account).
            type: str
            default: "/etc/group"
          local_domains:
            description:
              - >-
                Domains whose addresses' local parts are also account names of the subject (default: none,
                logins only).
            type: list
            elements: str
            default: []
          loginctl:
            description:
              - >-
                The C(loginctl) command (ends the account's sessions).
            type: str
            default: "loginctl"
          mail_spool:
            description:
              - >-
                The directory of the accounts' mail spool files (login.defs C(MAIL_DIR)): a removed account's
                spool file without messages is removed, one with messages kept with a manual step; empty:
                spool files are left alone.
            type: str
            default: "/var/mail"
          min_uid:
            description:
              - >-
                Accounts with a lower uid are refused (system accounts).
            type: int
            default: 1000
          passwd_file:
            description:
              - >-
                The password database (the store is available when it exists).
            type: str
            default: "/etc/passwd"
          pkill:
            description:
              - >-
                The C(pkill) command (ends the account's processes).
            type: str
            default: "pkill"
          protected:
            description:
              - >-
                Account names that are never deleted.
            type: list
            elements: str
            default: []
          remove_home:
            description:
              - >-
                Run C(userdel -r) (remove the home directory); the mail stores remove the Maildirs. Kept homes
                are reported with a manual step.
            type: bool
            default: false
          userdel:
            description:
              - >-
                The C(userdel) command.
            type: str
            default: "userdel"
          usermod:
            description:
              - >-
                The C(usermod) command (locks the account first).
            type: str
            default: "usermod"
      vpopmail:
        description:
          - >-
            vpopmail accounts through C(vuserinfo) (lookup, export) and C(vdeluser) (removes the account from
            its auth backend and deletes its directory under C(domains/)). An account is the subject's only by
            its exact address (C(vuserinfo -n) must name the same user); C(extended_accounts) lists the
            subject's domains (C(vuserinfo -n -D)) for accounts whose name extends the subject's with the plus
            separator.
        type: dict
        suboptions:
          vdeluser:
            description:
              - >-
                The C(vdeluser) command; empty: C(<vpopmail_dir>/bin/vdeluser).
            type: str
            default: ""
          vpopmail_dir:
            description:
              - >-
                vpopmail's directory (C(bin/), C(domains/)).
            type: str
            default: "/home/vpopmail"
          vuserinfo:
            description:
              - >-
                The C(vuserinfo) command; empty: C(<vpopmail_dir>/bin/vuserinfo).
            type: str
            default: ""
      # END_STORE_OPTIONS
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
