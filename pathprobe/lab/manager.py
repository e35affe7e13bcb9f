"""Build, inspect and tear down the lab (root only).

Everything the lab creates is named from one prefix (namespaces
``<prefix>fmc`` ...) and recorded in a state file, so ``down`` (and the next
``up``) removes a lab left behind by a killed run. ``up`` cleans up after
itself on any failure or Ctrl-C before re-raising.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pathprobe.errors import LabError, MissingTool, PermissionNeeded, UsageError
from pathprobe.interrupts import FirstInterrupt, masked
from pathprobe.lab import squid
from pathprobe.lab import topology as topo
from pathprobe.lab.netns import run_in_netns, write_sysctl
from pathprobe.lab.topology import Fault, ProxyMode, Scenario

STATE_DIR = Path("/run/pathprobe")
SHM_DIR = Path("/dev/shm")
# 'ip netns exec NS' bind-mounts /etc/netns/NS/hosts over /etc/hosts: how the fmc namespace
# resolves the lab proxy's names (squid.fmc_hosts_file).
NETNS_ETC = Path("/etc/netns")
READY_TIMEOUT_S = 10.0

REQUIRED_TOOLS = {"ip": "iproute2", "nft": "nftables", "ethtool": "ethtool",
                  "squid": "squid-openssl", "openssl": "openssl"}

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class LabState:
    """What a running lab consists of; saved as JSON so another process can tear it down."""

    prefix: str
    scenario: str
    description: str
    proxy_mode: str
    faults: list[str]
    workdir: str
    fmcs: int = 1
    ssh_dir: str | None = None  # keys and ssh_config of 'lab up --ssh'
    pids: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    ready_s: float = 0.0
    intercept: bool = False

    @property
    def namespaces(self) -> list[str]:
        return [topo.namespace(self.prefix, n) for n in topo.lab_nodes(self.fmcs)]


def state_path(prefix: str) -> Path:
    return STATE_DIR / f"{prefix}lab.json"


def load_state(prefix: str) -> LabState | None:
    try:
        return LabState(**json.loads(state_path(prefix).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _save_state(state: LabState) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = state_path(state.prefix).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp, state_path(state.prefix))


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionNeeded("the lab builds network namespaces and needs root; rerun with sudo")


def require_root_and_tools() -> None:
    require_root()
    for program, package in REQUIRED_TOOLS.items():
        if shutil.which(program) is None:
            raise MissingTool(program, package)


def _run(argv: Sequence[str], stdin: str | None = None) -> str:
    # Every helper runs in its own process group: a Ctrl-C at the terminal must not kill
    # an 'ip netns del' half-way (that is what leaves namespaces behind).
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False,
                          process_group=0)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(argv[:6])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def existing_namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False,
                         process_group=0)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _alive(pid: int) -> bool:
    """True while pid runs; a zombie (exited, not yet reaped by its new parent) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def kill_group(pid: int) -> None:
    """End a process group we started: SIGTERM, then SIGKILL if it is still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        for _ in range(40):
            if not _alive(pid):
                return
            time.sleep(0.025)


def _kill_namespace_processes(ns: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                             check=False, process_group=0)
        pids = [int(p) for p in out.stdout.split() if p.isdigit()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if not subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                  check=False, process_group=0).stdout.split():
                return
            time.sleep(0.05)


def down(prefix: str, log: Log = _quiet) -> list[str]:
    """Remove every resource of the lab named by ``prefix``; returns what was removed."""
    removed: list[str] = []
    state = load_state(prefix)
    if state:
        for name, pid in state.pids.items():
            kill_group(pid)
            removed.append(f"process {name} ({pid})")
    present = existing_namespaces()
    for node in topo.ALL_NODES:
        ns = topo.namespace(prefix, node)
        if ns in present:
            _kill_namespace_processes(ns)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False,
                           process_group=0)
            removed.append(f"namespace {ns}")
    workdirs = [Path(state.workdir)] if state else []
    workdirs += Path(tempfile.gettempdir()).glob(f"pathprobe-lab-{prefix}*")
    for workdir in dict.fromkeys(workdirs):
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            removed.append(f"directory {workdir}")
    for fmc in topo.fmc_names(topo.MAX_FMCS):
        etc = NETNS_ETC / topo.namespace(prefix, fmc)
        if etc.exists():
            shutil.rmtree(etc, ignore_errors=True)
            removed.append(f"directory {etc}")
    for shm in sorted(SHM_DIR.glob(f"{squid_name(prefix)}-*")):
        shm.unlink(missing_ok=True)
        removed.append(f"shared memory {shm}")
    state_path(prefix).unlink(missing_ok=True)
    for item in removed:
        log(f"removed {item}")
    return removed


def down_shielded(prefix: str, log: Log = _quiet) -> list[str]:
    """``down`` that runs to the end however often Ctrl-C is pressed (one is raised after):
    what 'lab down' runs."""
    with shielded_from_ctrl_c():
        return down(prefix, log)


def squid_name(prefix: str) -> str:
    """squid's service name (-n) for this lab; it names squid's /dev/shm files, so 'down'
    finds a stale lab's segments by prefix."""
    return f"pathprobe{prefix[:-1]}"


@contextlib.contextmanager
def shielded_from_ctrl_c(first_interrupts: bool = False) -> Iterator[None]:
    """Let a cleanup run to the end however often Ctrl-C is pressed.

    With ``first_interrupts`` the first Ctrl-C still interrupts the work inside (as
    KeyboardInterrupt) and only later ones are held back, so the cleanup that the
    first one triggers cannot be cut short; otherwise all are held back and one is
    raised at the end. A run's ``FirstInterrupt`` handler, put back afterwards, is
    disarmed once a Ctrl-C came: a later one cannot cut the way out short. Only the
    main thread can do this (elsewhere: no shield).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)
        if first_interrupts and len(pending) == 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending and isinstance(previous, FirstInterrupt):
            previous.disarm()  # the run's one interrupt was this one: later ones change nothing
    if pending and not first_interrupts:
        raise KeyboardInterrupt


@contextlib.contextmanager
def lab_lock(prefix: str) -> Iterator[None]:
    """One 'lab up' per prefix at a time: a second one fails at once (exit 3) and leaves
    the first lab alone."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    path = STATE_DIR / f"{prefix}lab.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise LabError(f"a lab with prefix {prefix!r} is being built by pid {holder}; "
                           "wait for it, or use another PATHPROBE_LAB_PREFIX") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            # Still holding it: the lock file is a lab file too, not left behind.
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    finally:
        os.close(fd)


def _namespace_sysctls(node: str) -> Callable[[], None]:
    def inside() -> None:
        forwarding = "1" if node in topo.ROUTERS else "0"
        # Before any link exists, so new links inherit it: no duplicate address
        # detection, else link-local addresses stay tentative and IPv6 neighbour
        # discovery (hence forwarding) does not work for a second or so.
        for scope in ("default", "all"):
            write_sysctl(f"net.ipv6.conf.{scope}.accept_dad", 0)
            write_sysctl(f"net.ipv6.conf.{scope}.forwarding", forwarding)
        write_sysctl("net.ipv4.ip_forward", forwarding)
    return inside


def _disable_offloads(node: str, fmcs: int) -> Callable[[], None]:
    def inside() -> None:
        for link in topo.lab_links(fmcs):
            if node in (link.router, link.host):
                dev = topo.ifname(link.peer(node))
                # Real packet sizes on the wire: no segmentation/coalescing offloads.
                _run(["ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"])
    return inside


def _build_topology(prefix: str, fmcs: int = 1) -> None:
    ns = {n: topo.namespace(prefix, n) for n in topo.lab_nodes(fmcs)}
    links = topo.lab_links(fmcs)
    for node, name in ns.items():
        _run(["ip", "netns", "add", name])
        run_in_netns(name, _namespace_sysctls(node))
    for link in links:
        _run(["ip", "link", "add", topo.ifname(link.host), "netns", ns[link.router], "type",
              "veth", "peer", "name", topo.ifname(link.router), "netns", ns[link.host]])
    for node in ns:
        run_in_netns(ns[node], _disable_offloads(node, fmcs))
        batch = ["link set lo up"]
        for link in links:
            if node not in (link.router, link.host):
                continue
            dev = topo.ifname(link.peer(node))
            batch += [f"link set {dev} up",
                      f"addr add {link.v4(node)}/24 dev {dev}",
                      f"addr add {link.v6(node)}/64 dev {dev} nodad"]
        for r in topo.routes(node, fmcs):
            if r.via:  # the family follows from the prefix
                batch.append(f"route add {r.prefix} via {r.via} dev {r.dev}")
        _run(["ip", "-n", ns[node], "-batch", "-"], stdin="\n".join(batch) + "\n")


def _apply_faults(prefix: str, faults: Sequence[Fault], workdir: Path) -> None:
    for router in ("r1", "r2"):
        mine = [f for f in faults if f.router == router]
        if not mine:
            continue
        ns = topo.namespace(prefix, router)
        batch = [" ".join(cmd) for f in mine
                 if f.kind in (topo.FaultKind.MTU, topo.FaultKind.MTU_NOICMP)
                 for cmd in topo.mtu_route_commands(f)]
        if batch:
            _run(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(batch) + "\n")
        for rule in (r for f in mine for r in topo.mtu_rule_commands(f)):
            _run(["ip", "-n", ns, *rule])
        if topo.needs_conntrack_accounting(mine):
            run_in_netns(ns, lambda: _enable_ct_accounting())
        ruleset = workdir / f"{router}.nft"
        ruleset.write_text(topo.nft_ruleset(mine))
        _run(["ip", "netns", "exec", ns, "nft", "-f", str(ruleset)])


def _enable_ct_accounting() -> None:
    # The sysctl appears once nf_conntrack is loaded; a ct rule loads it.
    key = Path("/proc/sys/net/netfilter/nf_conntrack_acct")
    if not key.exists():
        subprocess.run(["modprobe", "nf_conntrack"], capture_output=True, check=False,
                       process_group=0)
    write_sysctl("net.netfilter.nf_conntrack_acct", 1)


def _write_fmc_hosts(prefix: str, fmcs: int) -> None:
    """Each FMC namespace's /etc/hosts: the system's lines plus the lab proxy's names."""
    try:
        system = Path("/etc/hosts").read_text(errors="replace")
    except OSError:
        system = "127.0.0.1 localhost\n::1 localhost\n"
    for fmc in topo.fmc_names(fmcs):
        etc = NETNS_ETC / topo.namespace(prefix, fmc)
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(squid.fmc_hosts_file(system))


def _make_interception_ca(workdir: Path) -> None:
    """The lab CA squid signs its forged certificates with, and squid's certificate DB.
    The key stays in the work directory, readable by squid's user only."""
    if not Path(topo.CERTGEN).exists():
        # Debian's plain 'squid' (GnuTLS) has no ssl-bump; 'squid-openssl' replaces it.
        raise MissingTool(Path(topo.CERTGEN).name, "squid-openssl")
    for cmd in squid.ca_commands(str(workdir)):
        _run(cmd)
    (workdir / topo.PROXY_CA_KEY).chmod(0o600)


def _write_proxy_files(mode: ProxyMode, workdir: Path, intercept: bool = False) -> Path:
    conf = workdir / "squid.conf"
    conf.write_text(squid.squid_conf(mode, str(workdir), intercept))
    (workdir / "hosts").write_text(squid.hosts_file())
    if intercept:
        _make_interception_ca(workdir)
    if mode is ProxyMode.BASIC:
        hashed = _run(["openssl", "passwd", "-1", topo.LAB_PASSWORD]).strip()
        (workdir / "passwd").write_text(f"{topo.LAB_USER}:{hashed}\n")
    if mode is ProxyMode.DIGEST:
        (workdir / "digest_passwd").write_text(f"{topo.LAB_USER}:{topo.LAB_PASSWORD}\n")
    shutil.chown(workdir, user="proxy")
    for f in workdir.rglob("*"):
        shutil.chown(f, user="proxy")
    return conf


def _spawn(ns: str, argv: Sequence[str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as out:
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _can_connect(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _squid_fatal(workdir: Path) -> str | None:
    """The first line of squid's log saying it cannot serve (squid itself may keep running)."""
    try:
        text = (workdir / "cache.log").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if "FATAL" in line or "Cannot bind" in line:
            return line.split("| ", 1)[-1].strip()
    return None


def _wait_ready(prefix: str, procs: dict[str, subprocess.Popen[bytes]], checks: dict[
        str, tuple[str, str, int]], workdir: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = dict(checks)
    while pending:
        for name, (node, host, port) in list(pending.items()):
            proc = procs[name]
            if proc.poll() is not None:
                log = (workdir / f"{name}.log").read_text(errors="replace").strip().splitlines()
                raise LabError(f"{name} exited with status {proc.returncode} while starting: "
                               f"{log[-1] if log else 'no output'}")
            if name == "squid" and (fatal := _squid_fatal(workdir)):
                raise LabError(f"squid cannot start: {fatal}")
            ns = topo.namespace(prefix, node)
            if run_in_netns(ns, functools.partial(_can_connect, host, port)):
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise LabError(f"{', '.join(pending)} not accepting connections after "
                           f"{READY_TIMEOUT_S:.0f} s; see {workdir}")
        if pending:
            time.sleep(0.05)


def up(scenario: Scenario, prefix: str, log: Log = _quiet, *, fmcs: int = 1,
       ssh: bool = False) -> LabState:
    """Build the lab for ``scenario`` (replacing any lab with this prefix) and wait until ready.

    ``fmcs`` FMC nodes (fmc, fmc2 ...); with ``ssh`` each runs its own sshd on its lab
    address, with keys made for this lab only (``pathprobe.lab.ssh``).
    Holds the prefix's lock while building; on any failure or Ctrl-C the lab is
    removed (a further Ctrl-C cannot cut that short) and the error re-raised.
    """
    try:
        scenario = scenario.for_fmcs(fmcs)
    except ValueError as e:  # e.g. a fault names fmc3 in a lab of two
        raise UsageError(str(e)) from None
    require_root_and_tools()
    if ssh:
        from pathprobe.lab.ssh import require_ssh_tools

        require_ssh_tools()
    with lab_lock(prefix), shielded_from_ctrl_c(first_interrupts=True):
        return _up(scenario, prefix, log, fmcs, ssh)


def _up(scenario: Scenario, prefix: str, log: Log, fmcs: int = 1, ssh: bool = False
        ) -> LabState:
    t0 = time.monotonic()
    down(prefix, log)
    workdir = Path(tempfile.mkdtemp(prefix=f"pathprobe-lab-{prefix}"))
    workdir.chmod(0o755)
    state = LabState(prefix=prefix, scenario=scenario.name, description=scenario.description,
                     proxy_mode=scenario.proxy.value, intercept=scenario.intercept,
                     faults=[f.spec for f in scenario.faults],
                     workdir=str(workdir), started=time.time(), fmcs=fmcs)
    _save_state(state)
    try:
        log("building namespaces and links")
        _build_topology(prefix, fmcs)
        log("applying faults" if scenario.faults else "no faults to apply")
        _apply_faults(prefix, scenario.faults, workdir)
        procs: dict[str, subprocess.Popen[bytes]] = {}
        checks: dict[str, tuple[str, str, int]] = {}
        if scenario.upstream_up:
            cert, key = workdir / "upstream.crt", workdir / "upstream.key"
            _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                  f"/CN={topo.UPSTREAM_NAME}", "-addext",
                  f"subjectAltName=DNS:{topo.UPSTREAM_NAME},IP:{topo.UPSTREAM_V4}",
                  "-keyout", str(key), "-out", str(cert)])
            procs["upstream"] = _spawn(
                topo.namespace(prefix, "upstream"),
                [sys.executable, "-m", "pathprobe.lab.upstream", "--cert", str(cert),
                 "--key", str(key)], workdir / "upstream.log")
            checks["upstream"] = ("proxy", topo.UPSTREAM_V4, topo.UPSTREAM_TLS_PORT)
            # The 'pathprobe serve' reflector, for 'pathprobe tunnel --reflector' (issue 5).
            procs["reflector"] = _spawn(
                topo.namespace(prefix, "upstream"),
                [sys.executable, "-m", "pathprobe.reflector", f"[::]:{topo.REFLECTOR_PORT}"],
                workdir / "reflector.log")
            checks["reflector"] = ("proxy", topo.UPSTREAM_V4, topo.REFLECTOR_PORT)
        _write_fmc_hosts(prefix, fmcs)
        conf = _write_proxy_files(scenario.proxy, workdir, scenario.intercept)
        procs["squid"] = _spawn(topo.namespace(prefix, "proxy"),
                                ["squid", "-N", "-f", str(conf), "-n", squid_name(prefix)],
                                workdir / "squid.log")
        checks["squid"] = ("fmc", topo.PROXY_V4, topo.PROXY_PORT)
        if ssh:
            state.ssh_dir = str(_start_sshds(prefix, fmcs, workdir, procs, checks))
        state.pids = {name: p.pid for name, p in procs.items()}
        _save_state(state)
        log("waiting for proxy and upstream to accept connections")
        _wait_ready(prefix, procs, checks, workdir)
        state.ready_s = round(time.monotonic() - t0, 3)
        _save_state(state)
        return state
    except BaseException:
        with masked():  # no Ctrl-C reaches the teardown, nor the programs it runs
            down(prefix)
        raise


def _start_sshds(prefix: str, fmcs: int, workdir: Path,
                 procs: dict[str, subprocess.Popen[bytes]],
                 checks: dict[str, tuple[str, str, int]]) -> Path:
    """An sshd per FMC (waited for with the other services); returns the keys' directory."""
    from pathprobe.lab import ssh

    keys = ssh.make_keys(workdir / "ssh", topo.fmc_names(fmcs))
    for name in topo.fmc_names(fmcs):
        procs[f"sshd-{name}"] = _spawn(topo.namespace(prefix, name),
                                       ssh.sshd_argv(keys, name), workdir / f"sshd-{name}.log")
        checks[f"sshd-{name}"] = ("r1", topo.fmc_link(name).v4(name), ssh.SSH_PORT)
    return keys


def health(state: LabState) -> dict[str, bool]:
    """Which parts of a recorded lab are still there."""
    present = existing_namespaces()
    out = {ns: ns in present for ns in state.namespaces}
    for name, pid in state.pids.items():
        try:
            os.kill(pid, 0)
            out[f"process {name}"] = True
        except ProcessLookupError:
            out[f"process {name}"] = False
    return out
