#!/bin/sh
# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Lay down a Life-with-qmail source install in its DEBUG-era state (test fixture of the
# mailprivacy.gdpr qmail scenario; the lab can use it too). Run by
# tasks/seed-legacy-qmail.yml after daemontools, daemontools-run and ucspi-tcp (real
# Debian packages) are installed. Usage: seed-legacy-qmail.sh <fqdn>
#
# NOT real: qmail and netqmail/notqmail are not packaged in Debian, so
# /var/qmail/bin/qmail-smtpd, qmail-start and qmail-send are TEST STAND-INS: a small SMTP
# responder in Python and a qmail-send that prints a status line and idles.
#
# The insecure state: qmail-smtpd's run file has tcpserver -v (client IPs) and recordio
# (whole SMTP sessions, AUTH included), no log/run has size, count or pattern settings,
# control/queuelifetime was raised to 30 days. Idempotent; prints "changed" when it
# changed something.
set -eu
FQDN=${1:?usage: seed-legacy-qmail.sh <fqdn>}
Q=/var/qmail
CHANGED=0

# write <path> <mode> <owner:group>: content from stdin, replaced only when it differs.
write() {
    tmp=$(mktemp)
    cat > "$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1"; then
        rm -f "$tmp"
    else
        mv "$tmp" "$1"
        CHANGED=1
    fi
    chmod "$2" "$1"
    chown "$3" "$1"
}

# --- Life with qmail 2.4.2: groups and users -----------------------------------------------------
for group in nofiles qmail; do
    getent group "$group" > /dev/null || { groupadd --system "$group"; CHANGED=1; }
done
for entry in alias:nofiles:$Q/alias qmaild:nofiles:$Q qmaill:nofiles:$Q qmailp:nofiles:$Q \
             qmailq:qmail:$Q qmailr:qmail:$Q qmails:qmail:$Q; do
    IFS=: read -r user group home <<EOF
$entry
EOF
    getent passwd "$user" > /dev/null || {
        useradd --system --no-create-home -g "$group" -d "$home" -s /usr/sbin/nologin "$user"
        CHANGED=1
    }
done

# --- the tree ----------------------------------------------------------------------------------------
for dir in $Q $Q/bin $Q/control $Q/alias $Q/supervise/qmail-send/log $Q/supervise/qmail-smtpd/log \
           /var/log/qmail/smtpd; do
    [ -d "$dir" ] || { mkdir -p "$dir"; CHANGED=1; }
done
chown root:qmail $Q $Q/bin $Q/control
chown alias:qmail $Q/alias
chmod 2755 $Q/alias
chmod 1755 $Q/supervise/qmail-send $Q/supervise/qmail-smtpd
chown qmaill:root /var/log/qmail /var/log/qmail/smtpd

# --- control files ---------------------------------------------------------------------------------------
write $Q/control/me 0644 root:root <<EOF
$FQDN
EOF
write $Q/control/rcpthosts 0644 root:root <<EOF
$FQDN
localhost
EOF
write $Q/control/locals 0644 root:root <<EOF
$FQDN
localhost
EOF
write $Q/control/defaultdelivery 0644 root:root <<EOF
./Maildir/
EOF
write $Q/control/concurrencyincoming 0644 root:root <<EOF
20
EOF
# Raised to 30 days during an outage and never set back.
write $Q/control/queuelifetime 0644 root:root <<EOF
2592000
EOF

# --- tcpserver rules: relay for localhost only ---------------------------------------------------------
before=$CHANGED
CHANGED=0
write /etc/tcp.smtp 0644 root:root <<'EOF'
127.:allow,RELAYCLIENT=""
:allow
EOF
if [ "$CHANGED" = 1 ] || [ ! -f /etc/tcp.smtp.cdb ]; then
    tcprules /etc/tcp.smtp.cdb /etc/tcp.smtp.tmp < /etc/tcp.smtp
    CHANGED=1
else
    CHANGED=$before
fi

# --- qmail programs: TEST STAND-INS ------------------------------------------------------------------------
write $Q/bin/qmail-smtpd 0755 root:qmail <<'EOF'
#!/usr/bin/python3
# TEST STAND-IN for qmail-smtpd: qmail cannot be installed from Debian packages.
# Speaks just enough SMTP on stdin/stdout (tcpserver hands it the connection) for
# smtplib: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Like the real
# qmail-smtpd it logs nothing itself; it delivers nothing (messages are discarded).
import sys


def main():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        with open("/var/qmail/control/me", "rb") as handle:
            me = handle.readline().strip() or b"localhost"
    except OSError:
        me = b"localhost"

    def reply(text):
        out.write(text + b"\r\n")
        out.flush()

    reply(b"220 " + me + b" ESMTP")
    while True:
        line = inp.readline()
        if not line:
            return
        verb = line.strip().split(b" ", 1)[0].upper()
        if verb == b"EHLO":
            reply(b"250-" + me + b"\r\n250-PIPELINING\r\n250 8BITMIME")
        elif verb == b"HELO":
            reply(b"250 " + me)
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            reply(b"250 ok")
        elif verb == b"DATA":
            reply(b"354 go ahead")
            while True:
                data = inp.readline()
                if not data:
                    return
                if data.rstrip(b"\r\n") == b".":
                    break
            reply(b"250 ok 0 qp 0")
        elif verb == b"QUIT":
            reply(b"221 " + me)
            return
        else:
            reply(b"502 unimplemented (#5.5.1)")


main()
EOF

write $Q/bin/qmail-start 0755 root:qmail <<'EOF'
#!/bin/sh
# TEST STAND-IN for qmail-start (qmail is not packaged in Debian).
exec /var/qmail/bin/qmail-send
EOF

write $Q/bin/qmail-send 0755 root:qmail <<'EOF'
#!/bin/sh
# TEST STAND-IN for qmail-send (qmail is not packaged in Debian): prints a status line in
# qmail-send's format and idles; it queues and delivers nothing.
echo "status: local 0/10 remote 0/20"
exec /bin/sleep infinity
EOF

# --- Life with qmail 2.8.2: rc and the supervise scripts (DEBUG-era) ---------------------------------------
write $Q/rc 0755 root:root <<'EOF'
#!/bin/sh
# Using stdout for logging
# Using control/defaultdelivery from qmail-local to deliver messages by default
exec env - PATH="/var/qmail/bin:$PATH" \
qmail-start "`cat /var/qmail/control/defaultdelivery`"
EOF

write $Q/supervise/qmail-send/run 0755 root:root <<'EOF'
#!/bin/sh
exec /var/qmail/rc
EOF

write $Q/supervise/qmail-send/log/run 0755 root:root <<'EOF'
#!/bin/sh
exec /usr/bin/setuidgid qmaill /usr/bin/multilog t /var/log/qmail
EOF

write $Q/supervise/qmail-smtpd/run 0755 root:root <<'EOF'
#!/bin/sh
QMAILDUID=`id -u qmaild`
NOFILESGID=`id -g qmaild`
MAXSMTPD=`cat /var/qmail/control/concurrencyincoming`
LOCAL=`head -1 /var/qmail/control/me`
if [ -z "$QMAILDUID" -o -z "$NOFILESGID" -o -z "$MAXSMTPD" -o -z "$LOCAL" ]; then
    echo QMAILDUID, NOFILESGID, MAXSMTPD, or LOCAL is unset in
    echo /var/qmail/supervise/qmail-smtpd/run
    exit 1
fi
if [ ! -f /var/qmail/control/rcpthosts ]; then
    echo "No /var/qmail/control/rcpthosts!"
    echo "Refusing to start SMTP listener because it'll create an open relay"
    exit 1
fi
# DEBUG: trace a customer's SMTP problem with recordio. Remove when done.
exec /usr/bin/tcpserver -v -R -l 0 -x /etc/tcp.smtp.cdb -c "$MAXSMTPD" \
    -u "$QMAILDUID" -g "$NOFILESGID" 0 25 recordio /var/qmail/bin/qmail-smtpd 2>&1
EOF

write $Q/supervise/qmail-smtpd/log/run 0755 root:root <<'EOF'
#!/bin/sh
exec /usr/bin/setuidgid qmaill /usr/bin/multilog t /var/log/qmail/smtpd
EOF

# --- svscan's scan directory (Debian daemontools-run: /etc/service) -----------------------------------------
for service in qmail-send qmail-smtpd; do
    [ -L /etc/service/$service ] || { ln -s $Q/supervise/$service /etc/service/$service; CHANGED=1; }
done

[ "$CHANGED" = 0 ] || echo changed
