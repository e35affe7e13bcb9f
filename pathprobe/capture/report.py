"""The report's parts from judged connections: pure.

Identical findings across connections become one verdict that counts them
(``Merger``: a capture of 500 failing retries gives one verdict saying "500
connections"), and each connection gets one row of the legs table (``conn_row``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pathprobe.capture.conn import DOWN, UP, Conn, Exchange
from pathprobe.capture.finding import Finding, ev
from pathprobe.capture.framing import Gap, gap_of
from pathprobe.capture.stall import hello_closed
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import (
    Confidence,
    Evidence,
    IpVersion,
    Leg,
    LegReport,
    Number,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.wire.hostport import HostPort, host_port

EXAMPLE_PORTS = 8         # client ports named as examples of the other connections
GROUPS_SHOWN = 6          # groups of one fault (other servers, ports) itemised in its evidence
_ROW_GAPS = {Gap.CAPTURE_LOSS: CaptureFact.ROW_CAPTURE_LOSS,
             Gap.UNPROVEN: CaptureFact.ROW_GAP_UNPROVEN}


class Merger:
    """Merges findings into one verdict per (code, leg, direction, key values), incrementally.

    Only the first finding of each group and a few example client ports are kept,
    so memory does not grow with the number of connections in the capture.
    """

    def __init__(self) -> None:
        # per group: its first finding, (count, measured count), members per client port
        self.groups: dict[tuple[object, ...], tuple[Finding, list[int], dict[int, int]]] = {}

    def add(self, f: Finding) -> None:
        g = self.groups.get(f.key())
        port = f.conn.cport if f.conn is not None else None
        if g is None:
            self.groups[f.key()] = (f, [1, int(f.confidence is Confidence.MEASURED)],
                                    {port: 1} if port is not None else {})
            return
        first, counts, ports = g
        counts[0] += 1
        counts[1] += int(f.confidence is Confidence.MEASURED)
        if f.confidence is Confidence.MEASURED and first.confidence is not Confidence.MEASURED:
            # The first measured member decides the group's confidence, so its evidence is
            # the one shown (not a lone SYN's "not proven" under a measured verdict).
            self.groups[f.key()] = (f, counts, ports)
        # (a client that retries its SYN after a RST reuses its port: counted per port)
        if port is not None and (port in ports or len(ports) <= EXAMPLE_PORTS):
            ports[port] = ports.get(port, 0) + 1

    def doubt(self, code: VerdictCode, how: CaptureFact, why: Evidence) -> None:
        """Lower to inferred the groups of ``code`` whose finding was ``how``, and say
        ``why``: a fact of the whole capture that leaves another explanation open."""
        for key, (first, counts, ports) in self.groups.items():
            if first.code is code and how in first.key_values:
                doubted = replace(first, evidence=[*first.evidence, why],
                                  confidence=Confidence.INFERRED)
                self.groups[key] = (doubted, [counts[0], 0], ports)

    def verdicts(self) -> list[Verdict]:
        out: list[Verdict] = []
        for first, (count, measured), ports in self.groups.values():
            numbers: dict[str, Number] = dict(first.numbers)
            evidence = list(first.evidence)
            c = first.conn
            if c is not None:
                evidence.insert(0, ev(CaptureFact.CONNECTION, client=c.client, cport=c.cport,
                                      server=c.server, sport=c.sport))
            if count > 1:
                again = ports.get(c.cport, 1) - 1 if c is not None else 0
                listed = [p for p in ports if c is None or p != c.cport][:EXAMPLE_PORTS]
                evidence.append(ev(CaptureFact.SAME_IN_OTHERS, others=count - 1, again=again,
                                   ports=", ".join(map(str, listed)),
                                   unlisted=count - 1 - again - sum(ports[p] for p in listed)))
            numbers["connections"] = count
            filt = numbers.pop("wireshark_filter", None)
            if filt is not None:
                numbers["wireshark_filter"] = filt
            confidence = Confidence.MEASURED if measured else Confidence.INFERRED
            out.append(Verdict(first.code, first.leg, first.direction, tuple(evidence),
                               confidence, numbers, limit=first.limit, basis=first.basis,
                               ip_version=IpVersion(c.family) if c is not None else None,
                               mss_received=first.mss_received, hello=first.hello,
                               others_connected=first.others_connected, connections=count,
                               target_text=first.target_text, plain_http=first.plain_http,
                               max_seg_down=first.max_seg_down, full_seg=first.full_seg,
                               unproven=first.unproven, size_untested=first.size_untested,
                               endpoints=(HostPort(c.client, c.cport),
                                          HostPort(c.server, c.sport))
                               if c is not None else None))
        order = list(VerdictCode)
        out.sort(key=lambda v: (order.index(v.code), v.unproven))
        return _itemised(out)


def _itemised(verdicts: list[Verdict]) -> list[Verdict]:
    """At most GROUPS_SHOWN groups of one fault (code and leg) itemised in its evidence, the
    rest counted in one line: a port scan makes a group per port (PPA's synscan.pcapng: a
    report of 5,395 lines). Their typed facts stay, so severity and counts do not change."""
    by_fault: dict[tuple[VerdictCode, Leg], list[int]] = {}
    for i, v in enumerate(verdicts):
        by_fault.setdefault((v.code, v.leg), []).append(i)
    for members in by_fault.values():
        if len(members) <= GROUPS_SHOWN:
            continue
        # the members that decide the verdict first: measured ones, refusals nothing else
        # got past (``findings._fold`` shows measured members' evidence first)
        members.sort(key=lambda i: (verdicts[i].confidence is not Confidence.MEASURED,
                                    verdicts[i].others_connected is not None, i))
        shown = sorted(members[:GROUPS_SHOWN],
                       key=lambda i: (verdicts[i].confidence is not Confidence.MEASURED, i))
        hidden = members[GROUPS_SHOWN:]
        more = ev(CaptureFact.MORE_GROUPS, groups=len(hidden),
                  connections=sum(verdicts[i].connections or 1 for i in hidden))
        last = verdicts[shown[-1]]
        verdicts[shown[-1]] = replace(last, evidence=(*last.evidence, more))
        for i in hidden:
            verdicts[i] = replace(verdicts[i], evidence=())
    return verdicts


def _answer_notes(c: Conn, last: Exchange | None) -> list[Evidence]:
    """What the row says of an answer the capture cannot show: a proxy's whose head it
    lacks, a hello answered by no ServerHello, or left unanswered until a close."""
    notes: list[Evidence] = []
    if last is not None and last.status is None and last.head_unseen is not None:
        frame, missing = last.head_unseen
        notes.append(ev(CaptureFact.ROW_ANSWER_HEAD_UNSEEN, frame, missing=missing))
    if c.hello_answer is not None and c.server_hello is None:
        frame, size, alert = c.hello_answer
        notes.append(ev(CaptureFact.ROW_HELLO_ANSWERED, frame, size=size, alert=int(alert)))
    elif hello_closed(c) and c.end is not None:
        how, frame, ts = c.end
        after_s = round(ts - c.last_data_ts, 1)
        if how.startswith("server"):
            notes.append(ev(CaptureFact.ROW_HELLO_CLOSED, frame, how=how, after_s=after_s))
        else:   # the client gave up first; the server's close then shows what it had sent
            notes.append(ev(CaptureFact.ROW_HELLO_LEFT, frame, how=how, after_s=after_s,
                            server_close=c.down.fin_frame or c.down.rst_frame))
    return notes


def conn_row(c: Conn, findings: Sequence[Finding], leg: Leg,
             joined: tuple[str, int] | None = None) -> LegReport:
    """One table row per connection (the legs table of the report); ``joined`` names the
    leg-1 client and port whose request this proxy-to-upstream connection serves."""
    last: Exchange | None = c.exchanges[-1] if c.exchanges else None
    proxy = host_port(c.server, c.sport)
    target = f"{last.target} via {proxy}" if last is not None else proxy
    if last is not None and last.method != "CONNECT":
        target = f"{last.method} {target}"       # plain HTTP through the proxy
    if c.server_name and last is None:
        target = f"{c.server_name} at {target}"
    if joined is not None:
        target += f" for {host_port(*joined)}"
    if last is not None:
        status: Number = (last.status if last.status is not None else
                          "unseen" if last.head_unseen is not None else "none")
    else:
        status = "-"
    tls = "-"
    if c.client_hello is not None:
        tls = ("hello+server" if c.server_hello is not None else
               "hello, answered" if c.hello_answer is not None else
               "hello, closed" if hello_closed(c) else "hello, no server")
    how = c.end[0] if c.end is not None else "open"
    measurements: dict[str, Number] = {
        "client_port": c.cport,
        "status": status,
        "mss_sent": c.up.mss,
        "mss_received": c.down.mss,
        "max_seg_up": c.up.max_payload,
        "max_seg_down": c.down.max_payload,
        "tls": tls,
        "ended": how,
    }
    notes = [ev(CaptureFact.ROW_FINDING, code=f.code.value) for f in findings] \
        or [ev(CaptureFact.ROW_OK)]
    notes.append(Evidence(CaptureFact.ROW_FRAMES, Step.CAPTURE,
                          {"first": c.first_frame, "last": c.last_frame},
                          (c.first_frame, c.last_frame)))
    if c.up.retransmits or c.down.retransmits:
        notes.append(ev(CaptureFact.ROW_RETRANSMISSIONS, up=c.up.retransmits,
                        down=c.down.retransmits))
    idle_s, before, after = c.max_gap
    if idle_s >= 1.0:
        notes.append(Evidence(CaptureFact.ROW_IDLE, Step.CAPTURE,
                              {"idle_s": round(idle_s, 1), "before": before, "after": after},
                              (before, after)))
    if c.up.wscale is not None or c.down.wscale is not None:
        notes.append(ev(CaptureFact.ROW_WSCALE, up=c.up.wscale, down=c.down.wscale))
    if c.up.syn_frame is not None:
        notes.append(ev(CaptureFact.ROW_TIMESTAMPS,
                        on=int(c.up.timestamps and c.down.timestamps)))
        notes.append(ev(CaptureFact.ROW_SACK, on=int(c.up.sack and c.down.sack)))
    if not c.saw_syn:
        notes.append(ev(CaptureFact.ROW_NO_SYN))
    if c.fragments:
        notes.append(ev(CaptureFact.ROW_FRAGMENTS, count=c.fragments))
    notes += _answer_notes(c, last)
    for d in (UP, DOWN):
        hole, gap = c.side(d).hole, gap_of(c.side(d))
        if hole is not None and gap in _ROW_GAPS:
            notes.append(Evidence(_ROW_GAPS[gap], Step.CAPTURE,
                                  {"frame": hole[2], "missing": hole[1] - hole[0],
                                   "sender": c.endpoint(d)}, (hole[2],)))
    biggest_mss = max(c.up.mss or 0, c.down.mss or 0)
    if biggest_mss and max(c.up.max_payload, c.down.max_payload) > biggest_mss:
        notes.append(ev(CaptureFact.ROW_OFFLOAD))
    return LegReport(leg, target, None, measurements, tuple(notes), step=Step.CAPTURE,
                     ip_version=IpVersion(c.family))
