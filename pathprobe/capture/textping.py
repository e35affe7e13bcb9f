"""The ping program's output pasted as text: Linux (iputils), macOS/BSD and BusyBox,
Windows, and Cisco IOS/ASA (also IOS's extended ping and its sweep of sizes). Each run
becomes the echo requests and replies, and the frag-needed messages, of the ping lines of
capture text, so the DF ping sweep and frag-needed rules of ``pathprobe.capture.icmp``
judge them as they judge a capture (issue 20 items 5 and 6).

Pure, no I/O. A ping's output shows the answers, not the requests: the requests are
counted from the run's sequence numbers and statistics, and a request that nothing
answered is placed at the end of its run. Whether DF was set shows only in a command
line (``ping -M do``, ``ping -f``, ``df-bit``), Cisco's "Packet sent with the DF bit set",
or an answer that only a DF packet draws (frag-needed, "message too long"); else it is
unknown (Linux sets DF unless the packet exceeds the MTU it learned) or, for Windows,
taken as not set (Windows sets DF only with -f).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pathprobe.capture.textpacket import Echo, PingSystem, TextForm, TextPacket, TextParse
from pathprobe.facts.capture import CaptureFact
from pathprobe.facts.text import TextFact
from pathprobe.model import Evidence, Step, Verdict

SENDER = "the pinging host"          # the address a ping's output does not show
ROUTER_UNSHOWN = "a router (not shown)"
SEQ_MAX = 0xFFFF
RUN_MAX = 4096                       # requests counted per run (statistics may claim more)
MTU_MAX = 0xFFFF                     # an MTU the messages can carry (and a ping can test)
LOST_MAX = 20000                     # requests made up from statistics in all (IcmpLog keeps
                                     # 20000)


_TS = r"(?:\[(?P<ts>\d{9,10}\.\d+)\]\s*)?"
_ADDR = r"(?:\S+ \((?P<addr>[^)\s]+)\)|(?P<bare>[^\s()]+?))"
_L_HEAD = re.compile(r"^PING (?P<name>[^\s(]+) ?\((?P<addr>[^)\s]+)\)(?: from (?P<src>\S+)"
                     r"(?: [^\s:]+)?:|(?P<bsd>:))? (?P<data>\d+)(?:\((?P<ip>\d+)\))? "
                     r"(?:bytes of data|data bytes)")
_L_REPLY = re.compile("^" + _TS + r"(?P<len>\d+) bytes from " + _ADDR
                      + r":? (?:icmp_seq|icmp_req|seq)=(?P<seq>\d+)\b(?P<rest>.*)$")
_L_FROM = re.compile("^" + _TS + r"From " + _ADDR + r":? icmp_(?:seq|req)=(?P<seq>\d+) "
                     r"(?P<what>.+)$")
_L_TOO_BIG = re.compile(r"Frag needed and DF set \(mtu = (\d+)\)|Packet too big: mtu=(\d+)", re.I)
_L_NO_ANSWER = re.compile("^" + _TS + r"(?:no answer yet for icmp_seq=|Request timeout for "
                          r"icmp_seq[= ])(?P<seq>\d+)")
# macOS/BSD: a router's frag-needed (no sequence number), then the quoted IP header
_B_TOO_BIG = re.compile(r"^\d+ bytes from (?P<router>[^\s:]+(?::[^\s:]+)*?): frag needed and "
                        r"DF set \(MTU (?P<mtu>\d+)\)", re.I)
_B_QUOTE = re.compile(r"^(?:Vr HL TOS\s+Len|\d\s+\d+\s+[0-9a-f]{2}\s+[0-9a-f]{4}\s)")
_L_LOCAL = re.compile(r"^(?:ping6?: )?(?:local error: message too long, mtu[=:] ?(?P<mtu>\d+)"
                      r"|send(?:msg|to): message too long)", re.I)
_L_STATS = re.compile(r"^(?P<sent>\d+) packets transmitted, (?P<got>\d+) (?:packets )?received"
                      r"(?:, \+(?P<errors>\d+) errors)?")
# Windows, in the languages its ping speaks (English, German, Spanish, French, Japanese,
# Chinese, Portuguese): the first line, an answer, frag-needed, a loss, other errors, and
# the statistics. (An answer from an address: "Reply from A:", "A からの応答:", "来自 A 的回复:")
_W_NAME = r"(?P<name>[^\s\[]+?)(?: ?\[(?P<addr>[^\]\s]+)\])?"
_W_HEADS = tuple(re.compile(head.replace("NAME", _W_NAME), re.I) for head in (
    r"^Pinging NAME(?: from \S+)? with (?P<data>\d+) bytes of data:",
    r"^Ping wird ausgeführt für NAME mit (?P<data>\d+) Bytes Daten:",
    r"^Haciendo ping a NAME con (?P<data>\d+) bytes de datos:",
    r"^Envoi d'une requête 'ping'\s+(?:sur )?NAME avec (?P<data>\d+) octets de données ?:",
    r"^NAME ?に ping を送信しています (?P<data>\d+) バイトのデータ:",
    r"^正在 Ping NAME 具有 (?P<data>\d+) 字节的数据:",
    r"^Disparando NAME com (?P<data>\d+) bytes de dados:"))
_W_FROM = (r"(?:(?:Reply from|Antwort von|Respuesta desde|Réponse de|Resposta de) "
           r"(?P<addr>[^\s]+?) ?:|(?P<ja>[^\s]+?) からの応答:|来自 (?P<zh>[^\s]+?) 的回复:) ?")
_W_REPLY = re.compile("^" + _W_FROM + r"(?:(?:bytes|octets|バイト数|字节) ?=|(?:time|Zeit|tiempo"
                      r"|temps|tempo|時間|时间) ?[<=])", re.I)
_W_TOO_BIG = re.compile("^(?:" + _W_FROM + r")?(?:Packet needs to be fragmented but DF set|Paket "
                        r"müsste fragmentiert werden, DF-Flag ist jedoch gesetzt|Es necesario "
                        r"fragmentar el paquete pero se especificó DF|パケットの断片化が必要で"
                        r"すが、DF が設定されています|需要拆分数据包但是设置 ?DF)")
_W_LOST = re.compile(r"^(?:Request timed out|Zeitüberschreitung der Anforderung|Tiempo de espera "
                     r"agotado para esta solicitud|Délai d'attente de la demande dépassé|要求がタイ"
                     r"ムアウトしました|请求超时|Esgotado o tempo limite do pedido)[.。]?$")
_W_ERROR = re.compile("^(?:" + _W_FROM + r")?(?:Destination (?:host|net|port|protocol) "
                      r"unreachable|TTL expired in transit|General failure|Ziel(?:host|netz) nicht "
                      r"erreichbar|Die Gültigkeitsdauer wurde bei der Übertragung überschritten)",
                      re.I)
_W_STATS = re.compile(r"^\s*(?:Packets|Pakete|Paquetes|Paquets|Pacotes|パケット数|数据包) ?: ?"
                      r"\S+ = (?P<sent>\d+)[,\u3001\uff0c] ?\S+ = (?P<got>\d+)", re.I)
_W_STATS_HEAD = re.compile(r"^(?:Ping statistics|Ping-Statistik|Estadísticas de ping|Statistiques "
                           r"Ping|Estatísticas do Ping|.+ の ping 統計|.+ 的 Ping 统计信息)", re.I)
_C_HEAD = re.compile(r"^Sending (?P<count>\d+), (?:(?P<size>\d+)|\[(?P<min>\d+)\.\.(?P<max>\d+)\])"
                     r"-byte ICMP Echo(?:e?s)? to (?P<addr>[^\s,]+), timeout")
# IOS's extended ping asks before it sends: DF, and the step of a sweep of sizes
_C_DIALOG = re.compile(r"^(?:Protocol|Target IP address|Repeat count|Datagram size|Timeout in "
                       r"seconds|Extended commands|Source address or interface|Type of service|"
                       r"Set DF bit in IP header\?|Validate reply data\?|Data pattern|Loose, "
                       r"Strict, Record|Sweep range of sizes|Sweep min size|Sweep max size|"
                       r"Sweep interval|Ingress ping|Use IPv6|Include DSCP|Include hop by hop)"
                       r"[^:]*:\s*(?P<answer>\S*)")
_C_DF = re.compile(r"^Packet sent with the DF bit set")
_C_SOURCE = re.compile(r"^Packet sent with a source address of (?P<src>[^\s(]+)")
_C_MARKS = re.compile(r"^[!.UQM?&]+$")
_C_RATE = re.compile(r"^Success rate is \d+ percent \((?P<got>\d+)/(?P<sent>\d+)\)")
# What a run prints after its statistics line
_TRAILERS = ("rtt ", "round-trip ", "Approximate round trip", "Minimum = ", "(", "Ca. Zeitangaben",
             "Tiempos aproximados", "Durée approximative", "Aproximar um", "ラウンド トリップ",
             "往返行程", "最小 = ", "最短 = ", "Mínimo = ")
# A command line at a prompt (or at a line's start), and its DF options
_COMMAND = re.compile(r"^(?:.*?[$#>]\s*)?(?:sudo\s+)?(?:ping6?|ping system)(?:\s+"
                      r"(?P<args>[^|;&]+))?$")
_LINUX_PMTU = re.compile(r"(?<!\S)-M\s*(do|probe|want|dont)\b")
_WINDOWS_DF = re.compile(r"(?<!\S)[-/]f(?!\S)")
_CISCO_DF = re.compile(r"\bdf-bit\b")
_BSD_DF = re.compile(r"(?<!\S)-[A-Za-z]*D|\bdo-not-fragment\b")   # macOS/BSD; Junos


@dataclass
class _Run:
    """One run of the ping program: what its output showed so far."""

    system: PingSystem
    line: int
    ident: int
    src: str
    dst: str
    family: int
    size: int                        # the requests' IP length
    df: bool | None
    df_shown: bool
    ts: float | None = None
    seen: set[int] = field(default_factory=set)    # sequence numbers accounted for
    next_seq: int = 1                # Windows and Cisco number nothing: each answer is the next
    next_first: int = 1              # the first number (BSD and BusyBox count from 0)
    errors_shown: int = 0            # error lines (frag-needed, unreachable, local refusals)
    answered: int = 0                # replies shown
    unread: int = 0                  # lines inside the run not understood
    refused: list[int] = field(default_factory=list)   # numbers kept for refusals printed late
    packets: list[TextPacket] = field(default_factory=list)
    sizes: list[int] | None = None   # an IOS sweep: each request's size, in order


# (system, sender, destination, request IP length, an IOS sweep's (min, max, count))
_Head = tuple[PingSystem, str, str, int, "tuple[int, int, int] | None"]


@dataclass
class PingOutput:
    """Reads a text's ping output line by line (``feed``), yielding TextPackets."""

    runs: int = 0
    run: _Run | None = None
    last: _Run | None = None         # the run that ended last (stderr may come after it)
    command: str | None = None       # the arguments of the last command line, for the next run
    sweep_step: int = 1              # (IOS extended ping: the step of its sweep of sizes)
    # settled runs (``_settle``) whose DF the output does not show, or shows was not set
    df_unshown: list[tuple[int, PingSystem]] = field(default_factory=list)   # (line, system)
    no_df: list[tuple[int, PingSystem]] = field(default_factory=list)
    refused: tuple[int, int, int] | None = None     # (count, first line, MTU) of ``finish``
    made: int = 0                    # requests made up from statistics so far
    unsized: list[tuple[int, int, int]] = field(default_factory=list)  # IOS sweeps, see _start
    unread: list[int] = field(default_factory=list)   # per run with one, its first unread line

    def feed(self, line: str, lineno: int) -> list[TextPacket] | None:
        """The packets a line shows, or None when it is no ping output."""
        text = line.strip()
        head = _head(text)
        if head is not None:
            out = self.close(lineno)
            self._start(head, lineno)
            return out
        run = self.run
        if run is None:
            return self._between(text, lineno)
        command = _COMMAND.match(text)
        if command is not None:       # the next command: the run was cut short before it
            out = self.close(lineno)
            self.command, self.sweep_step = command.group("args") or "", 1
            return out
        read = (self._linux if run.system in (PingSystem.LINUX, PingSystem.BSD)
                else self._windows if run.system == PingSystem.WINDOWS else self._cisco)
        shown = read(run, text, lineno)
        if shown is None:              # (a line of the run not understood: see ``close``)
            self.unread += [] if run.unread else [lineno]
            run.unread += 1
        return shown

    def close(self, lineno: int, sent: int | None = None, errors: int | None = None,
              got: int | None = None) -> list[TextPacket]:
        """End the current run at ``lineno``: the requests no line accounted for. As many as
        the statistics count replies that no line showed (``ping -q`` prints none) were
        answered; as many as they count errors no line showed yet are kept for them (stderr
        may follow); the rest were lost."""
        run, self.run = self.run, None
        if run is None:
            return []
        self._settle(self.last)
        self.last = run
        first = 0 if 0 in run.seen else run.next_first
        total = sent if sent is not None else max(run.seen, default=0) + 1 - first
        missing = [s for s in range(first, first + min(total, RUN_MAX)) if s not in run.seen]
        hidden = min(max((got or 0) - run.answered, 0), len(missing), LOST_MAX - self.made)
        self.made += hidden
        out = [p for seq in missing[:hidden] for p in self._answered(run, seq, lineno, None)]
        missing = missing[hidden:]
        later = min(max((errors or 0) - run.errors_shown, 0), len(missing))
        run.refused = missing[len(missing) - later:]
        # (a line not understood may be the answer to any of them: none is taken as lost)
        lost = [] if run.unread else missing[:min(len(missing) - later, LOST_MAX - self.made)]
        self.made += len(lost)
        return out + [self._request(run, seq, lineno) for seq in lost]

    def finish(self, parse: TextParse) -> None:
        """What the parse keeps of the ping output: the runs without DF shown, and its
        packets without the pings the sender refused itself."""
        self._settle(self.last)
        self.last = None
        parse.packets = [p for p in self._without_refused(parse.packets)
                         if p.form is not TextForm.PING or p.ip_len is not None
                         or p.icmp_mtu is not None]
        parse.ping_unsized = self.unsized
        parse.ping_df_unshown, parse.ping_no_df = self.df_unshown, self.no_df
        parse.ping_refused, parse.ping_runs = self.refused, self.runs
        parse.ping_unread = self.unread

    def _settle(self, run: _Run | None) -> None:
        """A run no later line can change (its stderr came, or the next run began): how its
        DF showed, for the notes."""
        if run is None:
            return
        if not run.df_shown:
            self.df_unshown.append((run.line, run.system))
        elif not run.df:
            self.no_df.append((run.line, run.system))

    def _without_refused(self, packets: list[TextPacket]) -> list[TextPacket]:
        """``packets`` without the pings the sender refused itself ('message too long') for
        a destination and MTU a router's message named: they never left, and the router's
        message says all they do (``refused`` counts them for a note)."""
        named = {(p.icmp_orig, p.icmp_mtu) for p in packets
                 if p.form is TextForm.PING and p.icmp_mtu and p.src != SENDER}
        gone = [p for p in packets if p.form is TextForm.PING and p.src == SENDER
                and p.icmp_mtu is not None and (p.icmp_orig, p.icmp_mtu) in named]
        if not gone:
            return packets
        self.refused = (len(gone), gone[0].line, gone[0].icmp_mtu or 0)
        drop = {id(p) for p in gone} | {id(p.quoted) for p in gone}
        return [p for p in packets if id(p) not in drop]

    def _between(self, text: str, lineno: int) -> list[TextPacket] | None:
        """A command line (remembered for the run it starts), or a refusal the ping printed
        on stderr, pasted after its run's statistics."""
        m = _COMMAND.match(text)
        if m is not None:
            self.command, self.sweep_step = m.group("args") or "", 1
            return []
        m = _C_DIALOG.match(text)
        if m is not None and self.command is not None:    # (after a bare 'ping' at a prompt)
            answer = m.group("answer").lower()
            if text.startswith("Set DF bit") and answer.startswith("y"):
                self.command += " df-bit"
            elif text.startswith("Sweep interval") and answer.isdigit() and int(answer):
                self.sweep_step = int(answer)
            return []
        last = self.last
        if text.startswith("Type escape sequence") or (last is not None
                                                        and text.startswith(_TRAILERS)):
            return []
        local = _L_LOCAL.match(text)
        if local is None or last is None or last.system not in (PingSystem.LINUX, PingSystem.BSD):
            return None
        if last.refused and local.group("mtu") and int(local.group("mtu")) <= MTU_MAX:
            return self._too_big(last, last.refused.pop(0), lineno, SENDER,
                                 int(local.group("mtu")))
        return []

    def _start(self, head: _Head, lineno: int) -> None:
        system, src, dst, size, sweep = head
        sizes: list[int] | None = None
        if sweep is not None:         # an IOS sweep: its sizes, if its count says how they go
            low, high, count = sweep
            swept = range(low, high + 1, self.sweep_step)
            sizes = list(swept) if len(swept) == count <= RUN_MAX else []
            if not sizes:
                self.unsized.append((lineno, count, len(swept)))
        args = self.command
        df: bool | None
        if system == PingSystem.LINUX:     # -M want (the default): DF while the packet fits
            pmtu = _LINUX_PMTU.search(args or "")      # the MTU the host knows
            df = {"do": True, "probe": True, "dont": False}.get(pmtu.group(1)) if pmtu else None
        elif system == PingSystem.BSD:     # macOS/BSD -D, Junos do-not-fragment; not BusyBox
            df = True if args and _BSD_DF.search(args) else None
        elif system == PingSystem.WINDOWS:
            df = bool(args and _WINDOWS_DF.search(args))
        else:
            df = bool(args and _CISCO_DF.search(args))
        self.runs += 1
        family = 6 if ":" in dst else 4
        shown = df is not None and (system != PingSystem.WINDOWS or args is not None)
        self.run = _Run(system, lineno, self.runs & SEQ_MAX, src, dst, family, size, df, shown,
                        sizes=sizes)
        if system == PingSystem.BSD:
            self.run.next_seq = self.run.next_first = 0
        self.command = None

    def _request(self, run: _Run, seq: int, lineno: int) -> TextPacket:
        run.seen.add(seq)
        size: int | None = run.size
        if run.sizes is not None:     # a sweep: the seq-th size (none: the count did not fit)
            size = run.sizes[seq - 1] if 0 < seq <= len(run.sizes) else None
        p = TextPacket(lineno, TextForm.PING, run.src, 0, run.dst, 0, 0, run.ts, run.family,
                       echo=Echo(True, run.ident, seq & SEQ_MAX), ip_len=size, df=run.df)
        run.packets.append(p)
        return p

    def _answered(self, run: _Run, seq: int, lineno: int, ip_len: int | None
                  ) -> list[TextPacket]:
        if seq in run.seen:           # (DUP!) or a number seen before
            return []
        run.answered += 1
        request = self._request(run, seq, lineno)
        reply = TextPacket(lineno, TextForm.PING, run.dst, 0, run.src, 0, 0, run.ts,
                           run.family, echo=Echo(False, run.ident, seq & SEQ_MAX),
                           ip_len=ip_len or request.ip_len, df=run.df)
        return [request, reply]

    def _too_big(self, run: _Run, seq: int, lineno: int, router: str, mtu: int
                 ) -> list[TextPacket]:
        """A request and the frag-needed / Packet Too Big that answered it (``mtu`` 0: the
        output does not show it). Only a DF packet draws one: the run's pings were DF."""
        run.errors_shown += 1
        if not run.df_shown:
            self._df_proved(run)
        request = self._request(run, seq, lineno)
        error = TextPacket(lineno, TextForm.PING, router, 0, run.src, 0, 0, run.ts, run.family,
                           icmp_mtu=mtu, icmp_orig=run.dst, quoted=request,
                           quoted_len=request.ip_len)
        return [request, error]

    def _df_proved(self, run: _Run) -> None:
        run.df, run.df_shown = True, True
        for p in run.packets:
            p.df = True

    def _linux(self, run: _Run, text: str, lineno: int) -> list[TextPacket] | None:
        m = _L_REPLY.match(text) or _L_FROM.match(text) or _L_NO_ANSWER.match(text)
        if m is not None:
            run.ts = float(m.group("ts")) if m.group("ts") else run.ts
            seq = int(m.group("seq"))
            if seq in run.seen or seq > RUN_MAX:
                return []             # (DUP!), or a number no run of ours reaches
            if m.re is _L_NO_ANSWER:
                return [self._request(run, seq, lineno)]
            if m.re is _L_REPLY:
                size = int(m.group("len")) + (40 if run.family == 6 else 20)
                return self._answered(run, seq, lineno,
                                      None if "truncated" in m.group("rest") else size)
            big = _L_TOO_BIG.search(m.group("what"))
            if big is not None and int(big.group(1) or big.group(2)) <= MTU_MAX:
                return self._too_big(run, seq, lineno, m.group("addr") or m.group("bare"),
                                     int(big.group(1) or big.group(2)))
            run.seen.add(seq)         # unreachable, TTL exceeded ...: says nothing of size
            run.errors_shown += 1
            return []
        m = _B_TOO_BIG.match(text)
        if m is not None and int(m.group("mtu")) <= MTU_MAX:
            return self._too_big(run, self._unseen(run), lineno, m.group("router"),
                                 int(m.group("mtu")))
        if _B_QUOTE.match(text):
            return []
        m = _L_LOCAL.match(text)
        if m is not None:             # the sender's own route or interface refused it
            seq = self._unseen(run)
            if not m.group("mtu") or int(m.group("mtu")) > MTU_MAX:
                run.seen.add(seq)
                run.errors_shown += 1
                self._df_proved(run)
                return []
            return self._too_big(run, seq, lineno, SENDER, int(m.group("mtu")))
        m = _L_STATS.match(text)
        if m is not None:
            errors = m.group("errors")
            return self.close(lineno, int(m.group("sent")), int(errors) if errors else 0,
                              int(m.group("got")))
        if text.startswith(("--- ", *_TRAILERS)) or not text:
            return []
        return None

    def _windows(self, run: _Run, text: str, lineno: int) -> list[TextPacket] | None:
        m = _W_TOO_BIG.match(text)
        if m is not None:
            # (without 'Reply from ROUTER:' it is the sending host's own refusal: the packet
            # never left, and a capture on that host shows nothing)
            return self._too_big(run, self._next(run), lineno, m.group("addr") or m.group("ja")
                                 or m.group("zh") or SENDER, 0)
        if _W_ERROR.match(text):
            self._next(run)
            return []
        if _W_REPLY.match(text):
            return self._answered(run, self._next(run, False), lineno, None)
        if _W_LOST.match(text):
            return [self._request(run, self._next(run, False), lineno)]
        m = _W_STATS.match(text)
        if m is not None:
            return self.close(lineno, int(m.group("sent")), got=int(m.group("got")))
        if _W_STATS_HEAD.match(text) or text.startswith(_TRAILERS) or not text:
            return []
        return None

    def _cisco(self, run: _Run, text: str, lineno: int) -> list[TextPacket] | None:
        if _C_DF.match(text):
            self._df_proved(run)
            return []
        m = _C_SOURCE.match(text)
        if m is not None:
            run.src = m.group("src")
            return []
        if _C_MARKS.match(text):
            out: list[TextPacket] = []
            for mark in text:
                if mark == "!":
                    out += self._answered(run, self._next(run, False), lineno, None)
                elif mark == ".":
                    out.append(self._request(run, self._next(run, False), lineno))
                elif mark == "M":     # could not fragment: a router's frag-needed
                    out += self._too_big(run, self._next(run, False), lineno, ROUTER_UNSHOWN, 0)
                else:                 # unreachable, TTL exceeded ...: says nothing of size
                    self._next(run)
            return out
        m = _C_RATE.match(text)
        if m is not None:
            return self.close(lineno, int(m.group("sent")), got=int(m.group("got")))
        if text.startswith("Type escape sequence") or not text:
            return []
        return None

    @staticmethod
    def _unseen(run: _Run) -> int:
        """The next request no line accounted for (a message that shows no number)."""
        seq = run.next_seq
        while seq in run.seen:
            seq += 1
        run.next_seq = seq + 1
        return seq

    @staticmethod
    def _next(run: _Run, taken: bool = True) -> int:
        """The next request of a system that numbers none (``taken``: no packet comes of it)."""
        seq = run.next_seq
        run.next_seq += 1
        if taken:
            run.seen.add(seq)
        return seq


def _head(text: str) -> _Head | None:
    """What a run's first line says (``_Head``)."""
    m = _L_HEAD.match(text)
    if m is not None:
        dst = m.group("addr")
        six = ":" in dst
        data = int(m.group("data"))
        size = int(m.group("ip")) if m.group("ip") else data + (48 if six else 28)
        system = PingSystem.BSD if m.group("bsd") else PingSystem.LINUX
        return system, m.group("src") or SENDER, dst, size, None
    m = next((m for m in (head.match(text) for head in _W_HEADS) if m is not None), None)
    if m is not None:
        dst = m.group("addr") or m.group("name")
        return (PingSystem.WINDOWS, SENDER, dst, int(m.group("data")) + (48 if ":" in dst else 28),
                None)
    m = _C_HEAD.match(text)
    if m is not None:
        if m.group("size"):
            return PingSystem.CISCO, SENDER, m.group("addr"), int(m.group("size")), None
        low, high = int(m.group("min")), int(m.group("max"))
        return PingSystem.CISCO, SENDER, m.group("addr"), low, (low, high, int(m.group("count")))
    return None


# --- what the report adds ----------------------------------------------------------------

def ping_notes(parse: TextParse) -> list[Evidence]:
    """Per system, the runs whose DF flag the output does not show (and how each was taken),
    and those shown sent without DF; the pings the sender refused itself."""
    out = []
    for fact, runs in ((TextFact.PING_RUN_DF_UNSHOWN, parse.ping_df_unshown),
                       (TextFact.PING_RUN_NO_DF, parse.ping_no_df)):
        for system in PingSystem:
            lines = [line for line, s in runs if s == system]
            if lines:
                out.append(Evidence(fact, Step.CAPTURE, {"count": len(lines), "line": lines[0],
                                                         "system": system.value}))
    if parse.ping_unsized:
        line, count, sizes = parse.ping_unsized[0]
        out.append(Evidence(TextFact.PING_SWEEP_UNSIZED, Step.CAPTURE,
                            {"line": line, "count": count, "sizes": sizes}))
    if parse.ping_unread:
        out.append(Evidence(TextFact.PING_RUN_UNREAD, Step.CAPTURE,
                            {"count": len(parse.ping_unread), "line": parse.ping_unread[0]}))
    if parse.ping_refused is not None:
        count, line, mtu = parse.ping_refused
        out.append(Evidence(TextFact.PING_REFUSED, Step.CAPTURE,
                            {"count": count, "line": line, "mtu": mtu}))
    return out


def ping_told(v: Verdict, packets: Sequence[TextPacket]) -> Verdict:
    """Frag-needed that a ping's output reports: where it shows no MTU (Windows, Cisco's
    'M') the evidence says so, not that the router named none; where the pinging host
    refused a ping itself ('message too long'), it says that, not that a router spoke."""
    told = [p for p in packets if p.form is TextForm.PING and p.icmp_mtu is not None]
    if not told:
        return v
    unshown = {p.line for p in told if p.icmp_mtu == 0}
    local = {p.line for p in told if p.src == SENDER}
    out = []
    for e in v.evidence:
        line = e.frames[0] if e.frames else -1
        if line in unshown - local and e.fact is CaptureFact.ICMP_FRAG_NEEDED_NO_MTU:
            e = Evidence(TextFact.PING_MTU_UNSHOWN, Step.CAPTURE, e.values, e.frames)
        elif line in local and e.fact is CaptureFact.ICMP_FRAG_NEEDED:
            e = Evidence(TextFact.PING_LOCAL_MTU, Step.CAPTURE, e.values, e.frames)
        elif line in local and e.fact is CaptureFact.ICMP_FRAG_NEEDED_NO_MTU:
            e = Evidence(TextFact.PING_LOCAL_REFUSED, Step.CAPTURE, e.values, e.frames)
        elif line in local and e.fact is CaptureFact.ICMP_QUOTES:
            continue                  # (no message came: the host kept the ping)
        out.append(e)
    return dataclasses.replace(v, evidence=tuple(out))
