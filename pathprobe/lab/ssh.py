"""SSH into the lab's FMCs (``lab up --fmcs N --ssh``), for Ansible runs against them.

Each FMC namespace runs Debian's sshd on its lab address only: root by key
only, no passwords, no forwarding. The keys (one client key, a host key per
FMC) are made for each lab in its private work directory and go with it at
``lab down``; ``known_hosts`` pins the host keys, so clients check them
strictly. The config texts are pure (unit-tested); ``make_keys`` runs
ssh-keygen.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pathprobe.errors import LabError, MissingTool
from pathprobe.lab import topology as topo

SSH_PORT = 22
SSHD = "/usr/sbin/sshd"
CLIENT_KEY = "id_ed25519"
SSH_CONFIG = "ssh_config"
KNOWN_HOSTS = "known_hosts"
PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it


def require_ssh_tools() -> None:
    if not os.access(SSHD, os.X_OK):
        raise MissingTool("sshd", "openssh-server")
    for program, package in (("ssh-keygen", "openssh-client"), ("ssh", "openssh-client"),
                             ("unshare", "util-linux")):
        if shutil.which(program) is None:
            raise MissingTool(program, package)


def sshd_config(name: str, keys: Path) -> str:
    """sshd_config of FMC ``name``: its lab address, key-only root login, nothing else."""
    address = topo.fmc_link(name).v4(name)
    if not topo.is_lab_address(address):
        raise LabError(f"refusing to listen on {address}: not a lab address")
    return "\n".join([
        f"ListenAddress {address}:{SSH_PORT}",
        f"HostKey {keys / f'host-{name}'}",
        f"PidFile {keys / f'sshd-{name}.pid'}",
        f"AuthorizedKeysFile {keys / 'authorized_keys'}",
        "AllowUsers root",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "HostbasedAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the keys live below /tmp; the directory itself is 0700
        "AllowAgentForwarding no",
        "AllowTcpForwarding no",
        "AllowStreamLocalForwarding no",
        "PermitTunnel no",
        "X11Forwarding no",
        "PermitUserEnvironment no",
        "Subsystem sftp internal-sftp",
        "LogLevel INFO",
        "",
    ])


def client_config(names: Sequence[str], keys: Path) -> str:
    """ssh_config for a client in the lab (e.g. ``ssh -F ssh_config fmc2``): every FMC by
    name, the lab's client key, host keys checked against the lab's known_hosts."""
    lines = []
    for name in names:
        lines += [f"Host {name}", f"  HostName {topo.fmc_link(name).v4(name)}"]
    lines += ["Host *", "  User root", f"  Port {SSH_PORT}",
              f"  IdentityFile {keys / CLIENT_KEY}", "  IdentitiesOnly yes",
              f"  UserKnownHostsFile {keys / KNOWN_HOSTS}", "  GlobalKnownHostsFile /dev/null",
              "  StrictHostKeyChecking yes", "  BatchMode yes", "  ConnectTimeout 5",
              "  ControlMaster no", ""]
    return "\n".join(lines)


def known_hosts(host_keys: dict[str, str]) -> str:
    """One line per FMC: its lab address and its public host key."""
    return "".join(f"{topo.fmc_link(name).v4(name)} {key.strip()}\n"
                   for name, key in host_keys.items())


def _keygen(path: Path, comment: str) -> str:
    proc = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                           "-f", str(path)], capture_output=True, text=True, check=False,
                          process_group=0)
    if proc.returncode != 0:
        raise LabError(f"ssh-keygen failed: {proc.stderr.strip() or proc.returncode}")
    return path.with_suffix(".pub").read_text()


def make_keys(keys: Path, names: Sequence[str]) -> Path:
    """A 0700 directory with a client key, a host key and sshd_config per FMC,
    authorized_keys, known_hosts and ssh_config; returns it."""
    keys.mkdir(mode=0o700)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    client = _keygen(keys / CLIENT_KEY, "pathprobe-lab-client")
    (keys / "authorized_keys").write_text(client)
    host_keys = {name: _keygen(keys / f"host-{name}", f"pathprobe-lab-{name}")
                 for name in names}
    (keys / KNOWN_HOSTS).write_text(known_hosts(host_keys))
    (keys / SSH_CONFIG).write_text(client_config(names, keys))
    for name in names:
        (keys / f"sshd_config-{name}").write_text(sshd_config(name, keys))
    return keys


def sshd_argv(keys: Path, name: str) -> list[str]:
    """sshd in the foreground, logging to stderr (the lab's log file for it), in a UTS
    namespace of its own named after the FMC: a session there sees the hostname a real
    FMC would have (reports say context.host "fmc2"), the machine's stays as it is."""
    config = keys / f"sshd_config-{name}"
    if not re.fullmatch(r"fmc[0-9]?", name):
        raise LabError(f"not an FMC name: {name!r}")
    return ["unshare", "--uts", "--", "/bin/sh", "-c",
            f"hostname {name} && exec {SSHD} -D -e -f {shlex.quote(str(config))}"]
