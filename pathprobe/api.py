"""pathprobe as a library: the typed report of ``diagnose`` and ``analyze``.

For scripted bisection runs that want the findings as data rather than parse the
JSON of the command line::

    from pathprobe import diagnose
    report = diagnose("upstream.example:443", proxy="http://198.18.2.2:3128")
    worst = report.verdicts[0]
    print(worst.code, worst.leg, worst.limit)

    from pathprobe import analyze
    report = analyze("fmc.pcap", "proxy.pcap")     # or one capture, or pasted text

Both functions return a ``pathprobe.model.Report`` (the same object the command
line renders) and raise ``pathprobe.errors.PathprobeError`` subclasses whose
messages name these functions' parameters, never command-line flags:
``UsageError`` for bad arguments, ``NotMeasuredError`` when nothing could be
measured at all. Ctrl-C returns the partial report, as on the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pathprobe.errors import UsageError
from pathprobe.model import (
    DEFAULT_TARGET,
    Credentials,
    Progress,
    ProxyConfig,
    Report,
    no_progress,
)


def _proxy(proxy: str | None, discover: bool) -> ProxyConfig | None:
    from pathprobe.proxyconf import discover_proxy, parse_proxy_url

    if proxy is not None:
        return parse_proxy_url(proxy, "proxy")
    return discover_proxy(None) if discover else None


def diagnose(target: str = DEFAULT_TARGET, *, proxy: str | None = None,
             discover_proxy: bool = True, user: str | None = None,
             password: str | None = None, reflector: str | None = None,
             ca_file: str | Path | None = None, max_probes: int = 100,
             progress: Progress = no_progress) -> Report:
    """Diagnose the path to ``target`` (HOST:PORT) through ``proxy`` (``http://HOST:PORT``).

    Without ``proxy`` the proxy is found as the command line finds it (HTTPS_PROXY,
    then the FMC's iprep_proxy.conf) unless ``discover_proxy`` is false; none found
    means a direct leg. ``user``/``password`` authenticate to the proxy (Basic or
    Digest); credentials in the proxy URL are used when ``user`` is not given.
    """
    from pathprobe.diagnosis import DiagnoseConfig
    from pathprobe.findings import default_recommender
    from pathprobe.probes.tls_check import check_ca_file
    from pathprobe.runner import measure_report, utc_now_iso
    from pathprobe.wire.hostport import HostPort

    if not 10 <= max_probes <= 1000:
        raise UsageError(f"max_probes: {max_probes} is not within 10..1000")
    try:
        far = HostPort.parse(target, default_port=443)
        reflector_at = (HostPort.parse(reflector, default_port=443) if reflector is not None
                        else None)
    except ValueError as e:
        raise UsageError(f"target/reflector: {e}") from None
    if password is not None and user is None:
        raise UsageError("password: given without user")
    found = _proxy(proxy, discover_proxy)
    credentials = (Credentials(user, password or "") if user is not None
                   else found.credentials if found is not None else None)
    trusted = check_ca_file(Path(ca_file), "ca_file") if ca_file is not None else None
    cfg = DiagnoseConfig(target=far, proxy=found,
                         credentials=credentials, reflector=reflector_at, max_probes=max_probes,
                         ca_file=trusted)
    return measure_report("diagnose", cfg.measure, started=utc_now_iso(), progress=progress,
                          leg2_target=str(far) if found is not None else None,
                          recommender=default_recommender)


def analyze(*captures: str | Path, hosts: Sequence[str] = (), ports: Sequence[int] = (),
            proxy: str | None = None, stall_after: float = 3.0, max_rows: int = 200,
            max_connections: int = 50000, progress: Progress = no_progress) -> Report:
    """Diagnose one capture, or two of the same connections taken at two points, offline.

    Each capture is a pcap/pcapng file (gzip too) or capture text as pasted into a case.
    ``hosts``/``ports``/``proxy`` (addresses as the capture shows them) narrow the view.
    """
    from pathprobe.capture.conn import STALL_MIN_S
    from pathprobe.capture.run import CaptureRun, check_captures, make_filters
    from pathprobe.runner import measure_report, utc_now_iso

    paths = [Path(c) for c in captures]
    check_captures(paths)
    if stall_after < STALL_MIN_S or max_rows < 0 or max_connections < 1:
        raise UsageError(f"stall_after must be >= {STALL_MIN_S}, max_rows >= 0, "
                         "max_connections >= 1")
    run = CaptureRun(paths, make_filters(hosts, ports, proxy, host_word="hosts",
                                         proxy_word="proxy"),
                     stall_after, max_rows, max_connections)
    return measure_report("analyze", run.measure, started=utc_now_iso(), progress=progress,
                          recommender=run.recommender)
