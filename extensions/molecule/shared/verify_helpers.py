# -*- coding: utf-8 -*-
# Copyright: (c) 2025, mailprivacy.gdpr maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the testinfra verifiers of every Molecule scenario.

Each scenario's tests/conftest.py puts this folder on sys.path (the verifier runs pytest on
the scenario's tests/ folder, which is not a package), so a test module imports these with
``from verify_helpers import ...``. Nothing here talks to a host on import.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import testinfra

# the repository (the folder above extensions/), as Molecule names it
PROJECT_DIR = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or pathlib.Path(__file__).resolve().parents[3])


def wait_for(predicate, timeout=30.0, interval=0.5):
    """Poll predicate() until it is true or the timeout expires; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


# --- the containers ----------------------------------------------------------------------------
def podman(*args):
    """``podman ARGS`` on the controller (CompletedProcess, text), or None without podman."""
    if not shutil.which("podman"):
        return None
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True, check=False)


def podman_host(name, fallback=None):
    """The instance as a testinfra host through ``podman exec`` when it is a local podman
    container (many times faster than ansible:// per command, and Ansible modules would log
    their arguments on the target); else ``fallback``, or an ansible:// host of Molecule's
    inventory."""
    proc = podman("container", "exists", name)
    if proc is not None and proc.returncode == 0:
        return testinfra.get_host("podman://" + name)
    if fallback is not None:
        return fallback
    return testinfra.get_host("ansible://" + name, ansible_inventory=os.environ.get("MOLECULE_INVENTORY_FILE"))


def container_address(name, host):
    """The instance's address on the podman bridge, as a client on the controller reaches it
    (podman inspect, else ask the container through ``host``)."""
    proc = podman("inspect", name, "--format", "{{.NetworkSettings.IPAddress}}")
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        return proc.stdout.strip()
    return host.check_output("hostname -I").split()[0]


# --- files and the journal on the target -------------------------------------------------------
def file_has(host, path, text):
    """True when the file exists and contains text (fixed string)."""
    return host.run("grep -qF -e %s -- %s", text, path).rc == 0


def journal_json(host, args, *values):
    """Journal entries (dicts) that ``journalctl --no-pager -q -o json ARGS`` prints
    (``args`` with testinfra's %s placeholders for ``values``)."""
    out = host.check_output("journalctl --no-pager -q -o json " + args, *values)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# --- Ansible on the controller -----------------------------------------------------------------
def ansible_env():
    """The environment for ansible and ansible-playbook run by a verifier: plain output
    (Molecule's environment forces colours) and this checkout's collection."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(PROJECT_DIR / ".build" / "collections"))
    return env


def ansible_program(name):
    """The path of an Ansible program (``ansible``, ``ansible-playbook``): beside this Python,
    else on PATH."""
    found = os.path.join(os.path.dirname(sys.executable), name)
    return found if os.path.exists(found) else shutil.which(name)


def run_playbook(playbook, *extra, limit=None, timeout=600):
    """Run a playbook against Molecule's inventory, as Molecule does; the CompletedProcess."""
    cmd = [ansible_program("ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"]]
    if limit:
        cmd += ["--limit", limit]
    cmd += [str(playbook)] + list(extra)
    return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=timeout, check=False)


def run_module(host_name, module, args, timeout=300):
    """Run a module against one instance as an ad-hoc task (``ansible HOST -o -m MODULE -a
    JSON``; the connection comes from Molecule's inventory, else the podman connection);
    its result as a dict."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    cmd = [ansible_program("ansible") or "ansible", host_name, "-o", "-m", module, "-a", json.dumps(args)]
    cmd += ["-i", inventory] if inventory else ["-i", host_name + ",", "-c", "containers.podman.podman"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env=ansible_env())
    for line in proc.stdout.splitlines():
        if line.startswith(host_name + " | ") and " => " in line:
            return json.loads(line.split(" => ", 1)[1])
    raise AssertionError("no result from ansible (rc %d): %s %s" % (proc.returncode, proc.stdout, proc.stderr))


def flat(run):
    """stdout and stderr with YAML line folding and quote doubling undone."""
    text = (run.stdout + run.stderr).replace("''", "'")
    return " ".join(text.split())
