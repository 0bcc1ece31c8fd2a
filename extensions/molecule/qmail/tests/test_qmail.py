# Copyright: mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verifier for mailprivacy.gdpr.qmail on mp-qmail, the DEBUG-era Life-with-qmail host.

Real: svscan (daemontools-run), supervise, multilog, svc (daemontools), tcpserver
(ucspi-tcp), systemd. Stand-ins (see tasks/seed-legacy-qmail.yml): qmail-smtpd (a small
SMTP responder) and qmail-send. SMTP sessions go from the controller to the container's
address through the real tcpserver; the logs are the real multilog directories.

The role variables are read back from the scenario's inventory (molecule.yml).
"""

import concurrent.futures
import json
import os
import pathlib
import re
import smtplib
import subprocess
import sys

import pytest

# testinfra's podman backend (podman exec): one command costs a fraction of the ansible
# backend's, and this module runs a few hundred of them.
testinfra_hosts = ["podman://mp-qmail"]

SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCENARIO_DIR / "files"))
import smtp_client  # noqa: E402  pylint: disable=wrong-import-position
from verify_helpers import wait_for  # noqa: E402  pylint: disable=wrong-import-position

LOG_ROOT = "/var/log/qmail"
SUPERVISE = "/var/qmail/supervise"
SCAN_DIR = "/etc/service"
EVIDENCE = "/root/qmail-prepare-evidence/smtpd-current"
CLEANUP_UNIT = "mailprivacy-qmail-log-cleanup"
SUBMISSION_PORT = 587


# --- fixtures and helpers ---------------------------------------------------------------------
def inventory_vars(name):
    """Variables of an inventory host (group_vars included), from Molecule's inventory."""
    out = subprocess.run(
        ["ansible-inventory", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--host", name],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def cfg():
    """Role variables of mp-qmail as set in the scenario's inventory (molecule.yml)."""
    return inventory_vars("mp-qmail")


@pytest.fixture(scope="module")
def address(host):
    """The container's address, as the controller reaches it."""
    return host.check_output("hostname -I").split()[0]


@pytest.fixture(scope="module")
def client_ip(host, address):
    """The controller's address as the container sees it, read from an open SMTP session."""
    with smtplib.SMTP(address, 25, timeout=30) as smtp:
        smtp.ehlo("client.example.net")
        out = host.check_output("ss -tnH state established '( sport = :25 )'")
    peers = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert peers, "no established SMTP session seen with ss"
    ip = peers[0].rsplit(":", 1)[0].strip("[]")
    if ip.startswith("::ffff:"):
        ip = ip[len("::ffff:"):]
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", ip), ip
    return ip


def files_containing(host, needle, path=LOG_ROOT):
    """Files under path (current logs and archives) that contain needle."""
    result = host.run("grep -rlF -- %s %s", needle, path)
    assert result.rc in (0, 1), result.stderr
    return result.stdout.split()


def processes(host, program):
    """Argument vectors (as ps prints them) of the running processes of program."""
    out = host.check_output("ps -eo args=")
    return [line.split() for line in out.splitlines() if line.split() and line.split()[0] == program]


def log_lines(host, log_dir, text):
    """Number of lines containing text in a multilog directory (current and archives)."""
    result = host.run("cat %s/@*.s %s/current 2>/dev/null | grep -cF -- %s", log_dir, log_dir, text)
    return int(result.stdout.strip() or 0)


def sessions(address, port, count, workers=8):
    """count SMTP sessions (EHLO, QUIT) in parallel; returns how many completed."""
    def one(number):  # pylint: disable=unused-argument
        with smtplib.SMTP(address, port, timeout=30) as smtp:
            code, _msg = smtp.ehlo("client.example.net")
            return code == 250
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(one, range(count)))


def service_names(cfg):
    return ["qmail-send"] + [svc["name"] for svc in cfg["qmail_smtpd_services"]]


# --- the negative control: the DEBUG-era setup leaked, and the checks see it ----------------------
def test_prepare_evidence_shows_the_leak(host, client_ip):
    """prepare.yml sent mail through tcpserver -v + recordio and kept a copy of that log.
    The same search that must find nothing after converge finds the client IP and the
    recorded sessions there, so an empty or IP-free log cannot pass by accident."""
    evidence = host.file(EVIDENCE)
    assert evidence.exists
    assert files_containing(host, client_ip, EVIDENCE) == [EVIDENCE]
    content = evidence.content_string
    assert "tcpserver: pid" in content
    assert "< mail FROM:<%s>" % smtp_client.SENDER in content
    assert "mp-qmail-prepare message 0" in content


# --- layout -------------------------------------------------------------------------------------
def test_queuelifetime(host, cfg):
    control = host.file("/var/qmail/control/queuelifetime")
    expected = "%d\n" % cfg["qmail_queuelifetime"]
    # One value, one line (qmail reads the first line).
    assert control.content_string.strip() == expected.strip()
    assert int(host.check_output("wc -c < %s", control.path)) == len(expected)
    assert control.mode == 0o644


@pytest.mark.parametrize("name", ["run", "log/run"])
def test_run_files(host, cfg, name):
    for service in service_names(cfg):
        run = host.file("%s/%s/%s" % (SUPERVISE, service, name))
        assert run.mode == 0o755, run.path
        content = run.content_string
        assert content.startswith("#!/bin/sh\n"), run.path
        assert "# mailprivacy.gdpr:qmail\n" in content, run.path
        assert "recordio" not in content, run.path
        host.run_test("/bin/sh -n %s", run.path)


def test_service_links(host, cfg):
    for service in service_names(cfg):
        link = host.file("%s/%s" % (SCAN_DIR, service))
        assert link.is_symlink
        assert link.linked_to == "%s/%s" % (SUPERVISE, service)
        for target in (link.path, link.path + "/log"):
            assert ": up (pid " in host.check_output("svstat %s", target)


def test_svscan_runs_under_systemd(host):
    unit = host.service("daemontools-run")
    assert unit.is_running
    assert unit.is_enabled


def test_log_directories(host, cfg):
    dirs = {"/var/log/qmail", "/var/log/qmail/smtpd", "/var/log/qmail/submission"}
    for path in dirs:
        log_dir = host.file(path)
        assert log_dir.is_directory
        assert log_dir.user == "qmaill"
        assert log_dir.group == "adm"
        assert log_dir.mode == 0o750


# --- processes: what really runs ---------------------------------------------------------------------
def test_no_recordio_process(host):
    assert host.run("pgrep -x recordio").rc == 1
    assert "recordio" not in host.check_output("ps -eo args=")


def test_tcpserver_without_lookups_or_verbose(host, cfg):
    servers = processes(host, "/usr/bin/tcpserver")
    by_port = {argv[-2]: argv for argv in servers}
    assert set(by_port) == {"25", str(SUBMISSION_PORT)}, servers
    for port, argv in by_port.items():
        options = [word for word in argv[1:-3] if word.startswith("-")]
        assert "-H" in options and "-R" in options, argv
        assert argv[-1] == "/var/qmail/bin/qmail-smtpd", argv
    # Port 25 uses the defaults: no -v. The submission listener keeps -v on purpose.
    assert "-v" not in by_port["25"]
    assert "-v" in by_port[str(SUBMISSION_PORT)]


def test_multilog_limits(host, cfg):
    loggers = {argv[-1]: argv for argv in processes(host, "/usr/bin/multilog")}
    expected = {
        "/var/log/qmail": (cfg["qmail_send_log_size"], cfg["qmail_send_log_count"]),
        "/var/log/qmail/smtpd": (cfg["qmail_smtpd_log_size"], cfg["qmail_smtpd_log_count"]),
        "/var/log/qmail/submission": (cfg["qmail_smtpd_log_size"], cfg["qmail_smtpd_log_count"]),
    }
    assert set(loggers) == set(expected)
    for log_dir, (size, count) in expected.items():
        argv = loggers[log_dir]
        assert argv[1] == "t", argv
        assert "s%d" % size in argv and "n%d" % count in argv, argv
    for log_dir in ("/var/log/qmail/smtpd", "/var/log/qmail/submission"):
        line = " ".join(loggers[log_dir])
        assert "-* tcpserver: pid *" in line and "-* tcpserver: ok *" in line, line
    users = host.check_output("ps -o user= -C multilog").split()
    assert users and set(users) == {"qmaill"}


# --- real SMTP traffic -------------------------------------------------------------------------------
def test_smtp_sessions_leave_no_personal_data(host, address, client_ip):
    marker = "mp-qmail-verify-%d" % os.getpid()
    before = log_lines(host, "/var/log/qmail/submission", "tcpserver: end")
    assert smtp_client.send_messages(address, 25, 3, marker) == 3
    assert smtp_client.send_messages(address, SUBMISSION_PORT, 3, marker) == 3
    # Not vacuous: the sessions on the -v listener are logged (counters, no IPs).
    assert wait_for(lambda: log_lines(host, "/var/log/qmail/submission", "tcpserver: end") >= before + 3)
    assert files_containing(host, client_ip) == []
    assert files_containing(host, marker) == []
    assert files_containing(host, smtp_client.SENDER) == []
    assert files_containing(host, "tcpserver: pid") == []


def test_multilog_rotation_keeps_size_and_count(host, cfg, address, client_ip):
    size, count = cfg["qmail_smtpd_log_size"], cfg["qmail_smtpd_log_count"]
    log_dir = "/var/log/qmail/submission"
    # About 100 bytes of counter lines per session: 300 sessions are several rotations
    # of s4096, far more than the n-1 archives multilog keeps.
    assert sessions(address, SUBMISSION_PORT, 300) == 300
    assert wait_for(lambda: log_lines(host, log_dir, "tcpserver: end") > 0)
    archives = host.check_output("find %s -maxdepth 1 -name '@*.s' -printf '%%s %%f\\n'", log_dir).splitlines()
    # multilog's n counts `current`: n3 keeps 2 archives. More traffic than that was logged.
    assert len(archives) == count - 1, archives
    for line in archives:
        archive_size, name = line.split()
        assert re.match(r"^@[0-9a-f]{24}\.s$", name), name
        assert int(archive_size) <= size, line
    assert host.file(log_dir + "/current").size <= size
    assert log_lines(host, log_dir, "tcpserver: end") < 300
    assert files_containing(host, client_ip) == []


# --- age limit -----------------------------------------------------------------------------------------
def test_cleanup_timer(host, cfg):
    timer = host.service(CLEANUP_UNIT + ".timer")
    assert timer.is_enabled
    assert timer.is_running
    unit = host.file("/etc/systemd/system/%s.service" % CLEANUP_UNIT).content_string
    assert "-mmin +%d" % (cfg["qmail_log_retention_days"] * 1440) in unit


@pytest.mark.parametrize("log_dir", ["/var/log/qmail", "/var/log/qmail/smtpd"])
def test_cleanup_deletes_archives_older_than_retention(host, cfg, log_dir):
    days = cfg["qmail_log_retention_days"]
    old_s = "%s/@400000005f00000000000000.s" % log_dir
    old_u = "%s/@400000005f00000100000000.u" % log_dir
    recent = "%s/@400000005f00000200000000.s" % log_dir
    for path, age in ((old_s, days + 1), (old_u, days + 3), (recent, days - 1)):
        host.run_test("printf 'archived line\\n' > %s && touch -d %s %s && chown qmaill %s",
                      path, "%d days ago" % age, path, path)
    host.run_test("systemctl start %s.service", CLEANUP_UNIT)
    assert host.check_output("systemctl show -p Result --value %s.service", CLEANUP_UNIT) == "success"
    assert not host.file(old_s).exists
    assert not host.file(old_u).exists
    assert host.file(recent).exists
    host.run_test("rm -f %s", recent)


# --- vpopmail --------------------------------------------------------------------------------------------
def test_vpopmail_insecure_build_is_reported():
    """tests/vpopmail_check.yml runs the role's vpopmail check (check mode) three times:
    the insecure fixture must fail with the default, accepted findings must pass, and the
    secure fixture must pass without findings."""
    env = dict(os.environ)
    cmd = [
        "ansible-playbook", "--check",
        "-i", env["MOLECULE_INVENTORY_FILE"],
        str(SCENARIO_DIR / "tests" / "vpopmail_check.yml"),
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "DETECTED-INSECURE auth_logging,clear_passwd,logging_passwords" in output
    assert "ACCEPTED clear_passwd,logging_passwords" in output
    assert "SECURE-PASSED /usr/local/share/mailprivacy-test-fixtures/vpopmail_config-secure.h" in output
