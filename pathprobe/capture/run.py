"""One analyze run over one capture, or two of the same connections: what the command
line and the library API (``pathprobe.api.analyze``) both call.

Arguments are checked here once, with errors that name the caller's own words for
them (``--host`` on the command line, ``hosts`` in the API).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pathprobe.capture.analysis import Analysis, analyze_capture, no_cyclic_gc
from pathprobe.capture.beside import Beside
from pathprobe.capture.collector import Filters
from pathprobe.capture.correlate import SegmentLog
from pathprobe.capture.packing import ArchivePair
from pathprobe.errors import CaptureError, UsageError
from pathprobe.model import Leg, Measurement, Progress, Recommendation, Verdict
from pathprobe.runner import InterruptedDuring
from pathprobe.wire.hostport import parse_host

# One capture of a run: its file, its place in the archive it is read out of (an
# ArchivePair's), the name the report gives it.
Source = tuple[Path, "int | None", str]


def capture_address(value: str, what: str) -> str:
    """Normalise an address the way the parser prints it (so 2001:DB8::1 matches)."""
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise UsageError(f"{what} wants an IP address as it appears in the capture, "
                         f"not {value[:200]!r}") from None


def proxy_address(value: str, what: str) -> tuple[str, int | None]:
    """``ADDR``, ``ADDR:PORT`` or ``[V6]:PORT`` of the proxy as the capture shows it (the one
    HOST:PORT parser, port optional)."""
    try:
        addr, port = parse_host(value.strip())
    except ValueError as e:
        raise UsageError(f"{what} wants ADDR or ADDR:PORT (port 1-65535): {e}") from None
    return capture_address(addr, what), port


def make_filters(hosts: Iterable[str] = (), ports: Iterable[int] = (),
                 proxy: str | None = None, *, host_word: str = "--host",
                 proxy_word: str = "--proxy") -> Filters:
    """The view a run narrows to (nothing given: every connection)."""
    for p in ports:
        if not 0 < p < 65536:
            raise UsageError(f"a port must be 1-65535, not {p}")
    proxy_host, proxy_port = proxy_address(proxy, proxy_word) if proxy else (None, None)
    return Filters(hosts=frozenset(capture_address(h, host_word) for h in hosts),
                   ports=frozenset(ports), proxy_host=proxy_host, proxy_port=proxy_port)


def check_captures(captures: Sequence[Path]) -> None:
    if not 1 <= len(captures) <= 2:
        raise UsageError(f"analyze takes one capture, or two of the same connections; "
                         f"{len(captures)} were given")
    if len(captures) == 2 and str(captures[0]) == str(captures[1]) == "-":
        raise UsageError("only one of the two captures can be '-' (standard input)")


@dataclass
class CaptureRun:
    """The captures and how to read them; ``measure`` runs, ``recommender`` advises with
    the capture's own addresses once it was read."""

    captures: Sequence[Path]
    filters: Filters
    stall_s: float
    max_rows: int
    max_connections: int
    # The command line's run: progress while a capture is read, and Ctrl-C that stops the
    # reading and reports what was read (of two captures read at once, each as far as it
    # got: the matching takes each one's end as where it stopped looking)
    interactive: bool = False
    done: list[Analysis] = field(default_factory=list)

    def measure(self, progress: Progress) -> Iterator[Measurement]:
        check_captures(self.captures)
        if len(self.captures) == 2:
            yield self._two(progress, [(p, None, p.name) for p in self.captures])
            self._stopped("reading the captures")
            return
        path = self.captures[0]
        try:
            self.done.append(analyze_capture(path, self.filters, stall_s=self.stall_s,
                                             max_rows=self.max_rows, progress=progress,
                                             max_connections=self.max_connections,
                                             reading_progress=self._live(progress),
                                             stoppable=self.interactive))
        except ArchivePair as pair:   # (fmc.pcap and proxy.pcap zipped: one story)
            yield self._two(progress, [(path, i, name) for i, name in pair.members])
            self._stopped("reading the captures")
            return
        yield self.done[0].measurement
        self._stopped("reading the capture")

    def _stopped(self, what: str) -> None:
        """Ctrl-C stopped a reading: the report (yielded) is partial, what was read."""
        if any(a.stats.stopped for a in self.done):
            raise InterruptedDuring(what)

    def _live(self, progress: Progress) -> Progress | None:
        """Where this process says how far its reading got (the command line's run only)."""
        return progress if self.interactive else None

    def recommender(self, verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                    ) -> tuple[Recommendation, ...]:
        return self.done[0].recommender(verdicts, targets) if self.done else ()

    def _two(self, progress: Progress, sources: Sequence[Source]) -> Measurement:
        """Both captures analysed on their own, then matched: one report."""
        from pathprobe.capture.correlate import combine, correlate

        names = [name for _p, _m, name in sources]
        if names[0] == names[1]:
            names = [f"{n} ({i})" if member is not None else str(p)
                     for i, (p, member, n) in enumerate(sources, 1)]
        # The second capture is read in a child process while this one reads the first
        # (two cores: about the time of one); the same work done in turn without fork.
        # Ctrl-C stops both readings where they got; read in turn, it ends the run (the
        # second would not be read at all)
        second = Beside(lambda: self._one(sources[1], SegmentLog(names[1]),
                                          stoppable=self.interactive))
        try:   # (how far the first one got is said here; the child must not draw)
            results = [self._one(sources[0], SegmentLog(names[0]), self._live(progress),
                                 stoppable=self.interactive and second.forked),
                       second.result()]
        finally:
            second.cancel()
        parts = []
        for a, log, said in results:
            for line in said:
                progress(line)
            self.done.append(a)
            parts.append((log.name, a.measurement))
        first, other = results[0][1], results[1][1]
        with no_cyclic_gc():     # the logs are large object graphs: nothing to collect
            corr = correlate(first, other)
            first.release()
            other.release()
        return combine(parts, corr)

    def _one(self, source: Source, log: SegmentLog, live: Progress | None = None,
             stoppable: bool = False) -> tuple[Analysis, SegmentLog, list[str]]:
        """One of two captures, with the log that matches it to the other; what it would
        have said as progress is returned (a child process must not draw on the terminal),
        but for how far its reading got, said to ``live`` as it goes (the parent's);
        ``stoppable``: Ctrl-C stops its reading (in a child too: ``beside``)."""
        said: list[str] = []
        path, member, name = source
        try:
            a = analyze_capture(path, self.filters, stall_s=self.stall_s,
                                max_rows=self.max_rows, progress=said.append,
                                max_connections=self.max_connections, tap=log,
                                pair_member=member, reading_progress=live,
                                stoppable=stoppable)
        except CaptureError as e:
            if member is None:
                raise
            said_of = str(e).removeprefix(f"{path}: ").removeprefix(f"{name}: ")
            raise type(e)(f"{path}: {name}: {said_of}") from None   # (which of the two)
        log.table.clear()    # only the reading loop needs it: less to hand over
        return a, log, said
