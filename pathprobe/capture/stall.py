"""TUNNEL_STALL from one connection of a capture: the tunnel (or TLS session) opened and
data stopped. Differential: a stall needs data owed when the silence began (a ClientHello
not answered, an upload nothing large answered, and what ``framing.owed`` finds: bytes
not acknowledged and resent, a TLS record not finished, bytes sent that never arrived);
with everything delivered the silence is an idle session (keep-alive), and where the
capture cannot tell (TLS framing not followed, packets missing, the last word unanswered,
the server never seen) the verdict says so and is a warning (``Verdict.unproven``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pathprobe.capture.conn import DOWN, UP, Conn, Owed
from pathprobe.capture.finding import Finding, direction_of, ended_values, ev
from pathprobe.capture.framing import Gap, gap_of, owed, uncaptured
from pathprobe.capture.httpsniff import PROXY_PORTS
from pathprobe.capture.timeline import Pause, first_pause
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Confidence, Evidence, Leg, Number, VerdictCode
from pathprobe.wire.hostport import parse_host
from pathprobe.wire.tls import CONTENT_APPLICATION_DATA, TLS13

ECHO_S = 0.5              # a record the peer's size sent this soon after it echoes it
TLS_GOODBYE_MAX = 128     # bytes after a silence that are only an alert/close, not resumed data
# A client's last turn larger than the usual limit of an HTTP request head (8 KB: nginx,
# Apache) carries a body, a transfer, not a request or a keep-alive: it is owed an answer.
RTO_MIN_S = 0.2    # Linux's shortest retransmission timeout
RTO_MAX_S = 120.0  # ... and its longest: a sender still waiting resends at least this often
ZERO_WINDOW_S = 1.0    # a window closed this long, from the end of the data on: not reading
RESEND_PROOF_S = 3.0   # a sender without an ACK resends within this (1 s; 3 s on old stacks)
TRANSFER_MIN = 8192
# A connection whose first words are unseen may have been a TLS session on these server
# ports (HTTPS, and an explicit proxy's, whose tunnels carry it)
TLS_LIKELY_PORTS = frozenset({443, 8443}) | PROXY_PORTS


def full_segment(c: Conn) -> int:
    """The payload of a full-size segment from the server: the smaller MSS, minus timestamps."""
    mss = min(c.up.mss or 1460, c.down.mss or 1460)
    return mss - (12 if c.up.timestamps and c.down.timestamps else 0)


def hello_spans(c: Conn) -> bool:
    """The ClientHello record is longer than the segment that starts it."""
    return c.client_hello is not None and c.hello_record > c.client_hello[1]


def hello_name(c: Conn) -> str:
    """The host a ClientHello is for: its SNI, or the CONNECT target's host."""
    if c.server_name:
        return c.server_name
    if not c.exchanges:
        return "-"
    target = c.exchanges[-1].target
    try:
        return parse_host(target)[0]
    except ValueError:
        return target


def hello_closed(c: Conn) -> bool:
    """The server acknowledged the whole ClientHello, sent nothing, and closed (first, or
    after the client gave up): its FIN's (or RST's) sequence number shows no byte the
    capture missed. Its refusal, not the path's loss (a ServerHello lost on the way would
    have moved that number on). On a tunnel the proxy's close stands for the upstream's,
    which the capture cannot see: a direct session only."""
    return (not c.exchanges and c.client_hello is not None and c.server_hello is None
            and c.end is not None and c.down.close_unseen == 0 and not c.down.bytes
            and c.up.acked >= c.hello_end > 0)


def answer_uncaptured(c: Conn) -> bool:
    """The client acknowledged data from the server that the capture never showed (at the
    end, or a gap before later data): the server answered; the capture missed it."""
    return uncaptured(c.down) > 0 or gap_of(c.down) is Gap.CAPTURE_LOSS


def unresent_one_way(c: Conn, silence_s: float) -> bool:
    """Data from one side only, never sent again in ``silence_s`` >= RESEND_PROOF_S after
    it, not one packet of the other side captured: the sender got an ACK the capture lacks
    (a capture of one direction), so it cannot show what came back."""
    for s, o in ((c.up, c.down), (c.down, c.up)):
        if s.bytes and o.last_seq is None and o.syn_frame is None:
            return not s.retransmits and silence_s >= RESEND_PROOF_S
    return False


def cut_off(c: Conn, silence_s: float) -> bool:
    """The connection's last packet in the capture is data its receiver never acknowledged
    and its sender never resent in ``silence_s`` >= RESEND_PROOF_S after it: the sender got
    an ACK the capture lacks, and the connection went on beyond the capture (flows cut to
    their first packets, a capture filter, packets the capture dropped). Its silence
    proves nothing."""
    if c.last_frame != c.last_data_frame or silence_s < RESEND_PROOF_S:
        return False
    s = c.side(c.last_data_dir)
    return 0 < s.acked < s.next_seq and s.retx_end <= s.acked


def echoed(c: Conn) -> bool:
    """The client's last data was one TLS record the size of the server's last, sent
    within ``ECHO_S`` of it: an echo such as HTTP/2's PING ACK (the same 8 bytes back),
    which awaits no answer. (A request sized like the record it follows, by chance and at
    once, would pass for one: the session is then called idle.)"""
    frame, after_s, start = c.turn
    up, down = c.up, c.down
    return (c.last_data_dir == UP and frame == c.last_data_frame and after_s <= ECHO_S
            and up.rec_frame == frame and up.rec_next == up.next_seq
            and up.next_seq - start == 5 + up.rec_len == 5 + down.rec_len
            and down.rec_next == down.next_seq)


def answered_late(c: Conn) -> bool:
    """The longest silence was broken by the other side's application data, in a TLS
    version that shows an alert as an alert (before 1.3, which encrypts its alerts as
    application data): an answer after a pause, not a goodbye after a stall."""
    return (c.gap_reply == CONTENT_APPLICATION_DATA and c.tls_version is not None
            and c.tls_version < TLS13)


def closed_window(c: Conn, until: float) -> int | None:
    """The direction whose receiver advertised a zero window from the end of the data on
    (within ZERO_WINDOW_S) until ``until``, ZERO_WINDOW_S or more (``None``: neither): its
    sender may not send, so the silence is the receiver's (its application stopped
    reading), not the path's. A window closed for a moment is flow control."""
    for d, receiver in ((DOWN, c.up), (UP, c.down)):
        if (receiver.window == 0 and receiver.zero_since - c.last_data_ts <= ZERO_WINDOW_S
                and until - receiver.zero_since >= ZERO_WINDOW_S):
            return d
    return None


def _stall_context(c: Conn, d: int | None, clear: bool) -> list[Evidence]:
    """What the capture on leg 1 says about where the data stopped (honestly: inferred)."""
    out: list[Evidence] = []
    if d == UP:
        out.append(ev(CaptureFact.LEG1_ALL_ACKED if clear else CaptureFact.LEG1_SOME_UNACKED))
    else:
        full = full_segment(c)
        out.append(ev(CaptureFact.FULL_SEGMENTS_ARRIVED if c.down.max_payload >= full
                      else CaptureFact.NO_FULL_SEGMENT,
                      max_seg_down=c.down.max_payload, full_seg=full))
    return out


def _stall_opening(c: Conn) -> list[Evidence]:
    """A stall's first evidence: the tunnel's 200 (or a direct TLS session), the hello."""
    evidence = [ev(CaptureFact.TUNNEL_OPEN, c.tunnel_start[0]) if c.tunnel_start
                else ev(CaptureFact.TLS_SESSION) if c.first_payload == "tls"
                else ev(CaptureFact.CONTENT_UNKNOWN)]
    hello = c.client_hello
    if hello is not None:
        evidence.append(ev(CaptureFact.CLIENT_HELLO, hello[0], size=hello[1]))
    return evidence


def _carried(c: Conn) -> tuple[int, int]:
    """The bytes up and down in the tunnel (or the TLS session); all of them where what the
    connection carried is unknown (no tunnel was seen to open)."""
    if c.tunnel_start is None and c.first_payload != "tls":
        return c.up.bytes, c.down.bytes
    return c.tunnel_up, c.tunnel_down


def _stall_numbers(c: Conn) -> dict[str, Number]:
    """The tunnel's byte counts and segment sizes, for either kind of stall."""
    up, down = _carried(c)
    return {"bytes_up": up, "bytes_down": down,
            "max_seg_down": c.down.max_payload, "full_seg": full_segment(c)}


def stall_finding(c: Conn, capture_end: float, conn_leg: Leg, base: str,
                  stall_s: float, pauses: Sequence[Pause] = (), left_out: bool = False
                  ) -> Finding | None:
    """TUNNEL_STALL: the tunnel (or TLS session) opened but data stopped. The evidence is
    made once a stall is found (most tunnels judged here are healthy)."""
    proxied = conn_leg is Leg.FMC_PROXY
    # The first words never shown (text without payload, cut by the snap length) of a
    # connection seen from its SYN: through the proxy, or to a port of TLS, it may have been
    # a TLS session, so its silences are judged.
    unknown = not c.first_payload and c.unread and c.up.syn_frame is not None and (
        proxied or c.sport in TLS_LIKELY_PORTS)
    if proxied and c.tunnel_start is None and not unknown:
        return None
    if not proxied and c.first_payload != "tls" and not unknown:
        return None
    leg = Leg.PROXY_UPSTREAM if proxied else conn_leg
    end_ts = c.seen_until(capture_end)
    idle = end_ts - c.last_data_ts
    if closed_window(c, end_ts) is not None:
        return None     # a receiver that stopped reading (the collector's note)
    if c.server_hello is None and (c.hello_answer is not None or hello_closed(c)):
        return None     # answered, not by TLS, or closed: the handshake failed beyond the path
    hello_owed = c.client_hello is not None and c.server_hello is None
    if hello_owed and answer_uncaptured(c):
        return None     # the client acknowledged an answer the capture never showed
    # (bytes from the server after the hello that nothing could read, as in text or cut
    # short by the snap length, answered it: no 'no ServerHello')
    hello_pending = hello_owed and not c.tunnel_down
    if idle < stall_s and c.max_gap_s < stall_s and not (
            hello_pending and proxied and c.end is not None):
        return None     # (the common case: no silence long enough, nothing closed early)
    pause = first_pause(pauses, c.last_data_frame, c.end[1] if c.end is not None else None)
    if pause is not None:   # only the silence while the capture demonstrably ran counts
        idle = min(idle, pause[2] - c.last_data_ts)
    if hello_pending:
        return _hello_unanswered(c, capture_end, leg, proxied, base, stall_s, idle, left_out)
    gap_pause = first_pause(pauses, c.max_gap[1], c.max_gap[2])
    found = _silence(c, capture_end, leg, proxied, base, stall_s, idle,
                     gap_pause is not None, left_out)
    if found is None or not unknown:
        return found
    # What it carried unknown, only bytes owed (unacknowledged, never seen, an upload left
    # unanswered) make a silence worth a word, and no proven stall: an idle session of any
    # protocol ends on an acknowledged last word (an FTP banner, a keep-alive).
    return None if found.unproven else replace(found, unproven=True)


def _hello_unanswered(c: Conn, capture_end: float, leg: Leg, proxied: bool, base: str,
                      stall_s: float, idle: float, left_out: bool = False) -> Finding | None:
    """A ClientHello that no ServerHello followed: the server's answer is owed."""
    hello = c.client_hello
    assert hello is not None
    # Silence shorter than a stall is no stall, unless the proxy closed the tunnel.
    if idle < stall_s and (not proxied or c.end is None):
        return None
    if unresent_one_way(c, idle) or cut_off(c, idle):
        return None     # the client got an ACK the capture never showed (no resend: the
        #               collector's notes); an answer never shown: stall_finding
    evidence = _stall_opening(c)
    evidence.append(ev(CaptureFact.NO_SERVER_HELLO, idle_s=round(idle, 1),
                       **ended_values(c, capture_end)))
    unseen = not (c.down.syn_frame or c.up.acked or c.down.bytes or c.down.fin_frame
                  or c.down.rst_frame)
    if unseen:
        evidence.append(ev(CaptureFact.SERVER_UNSEEN, server=c.endpoint(DOWN)))
    if left_out:
        evidence.append(ev(CaptureFact.PACKETS_LEFT_OUT))
    if hello_spans(c):
        # Not TLS_HELLO_DROPPED only because nothing proved that segments of that
        # size cross the path: both remain.
        evidence.append(ev(CaptureFact.HELLO_SPANS, hello[0], record=c.hello_record,
                           first=hello[1], name=hello_name(c)))
        evidence.append(ev(CaptureFact.HELLO_OR_SIZE))
    if proxied:
        clear = c.up.acked >= hello[1]
        evidence.append(ev(CaptureFact.HELLO_ACKED_ON_LEG1 if clear
                           else CaptureFact.HELLO_NOT_ACKED_ON_LEG1))
        evidence += _stall_context(c, None, clear)
    return Finding(VerdictCode.TUNNEL_STALL, leg, None,
                   {"idle_s": round(idle, 1), **_stall_numbers(c),
                    "wireshark_filter": f"{base} && (tls.handshake || tcp.flags.fin==1 || "
                                        "tcp.flags.reset==1)"},
                   evidence, Confidence.INFERRED, key_values=(not (unseen or left_out),),
                   conn=c, unproven=unseen or left_out,
                   max_seg_down=c.down.max_payload, full_seg=full_segment(c))


def _silence(c: Conn, capture_end: float, leg: Leg, proxied: bool, base: str,
             stall_s: float, idle: float, gap_paused: bool, left_out: bool) -> Finding | None:
    """The longest silence after the handshake, if it is a stall: long, followed by at most
    a TLS alert and a close, while data was owed (with everything delivered it is an idle
    session, unless the capture cannot tell)."""
    gap, gap_from, gap_to = c.max_gap
    if gap_paused:
        gap = 0.0       # the capture was not running all along: no evidence
    settled = False   # the client's last word awaited no answer, or got one late
    if idle >= gap or c.gap_owed is None:   # the longest silence is the one at the end
        if cut_off(c, idle):
            return None     # (the collector's note)
        gap, gap_from, gap_to, after = idle, c.last_data_frame, 0, 0
        d, clear = c.last_big_dir, c.up.acked >= c.up.next_seq
        settled = echoed(c)
        last_dir, debts = c.last_data_dir, (owed(c.up), owed(c.down))
        turn = c.up.next_seq - c.up.turn_start
    else:
        after, d, clear = c.after_gap, c.gap_dir, c.gap_leg1_clear
        last_dir, turn = c.gap_last_dir, c.gap_turn
        settled = (c.end is not None and c.end[0] == "client FIN"      # a goodbye
                   and gap_from < c.end[1] < gap_to
                   and c.end[2] - c.gap_start_ts < stall_s) or answered_late(c)
        # Sequence numbers seen after the silence (a FIN, an ACK) still tell what had been
        # sent before it and never arrived.
        debts = (_with_unseen(c.gap_owed[UP], owed(c.up)),
                 _with_unseen(c.gap_owed[DOWN], owed(c.down)))
    if gap < stall_s or not gap_from or after > TLS_GOODBYE_MAX or (
            c.tunnel_start is not None and gap_from < c.tunnel_start[0]):
        return None
    debts = (_what_proves(debts[UP], gap, left_out), _what_proves(debts[DOWN], gap, left_out))
    waiting = [i for i in (UP, DOWN) if debts[i].waiting]
    if not waiting and turn >= TRANSFER_MIN:
        # A transfer the server owes an answer to: nothing large came back since it began
        # (small records after it are TLS session tickets, or a short answer).
        waiting = [UP]
        proof: list[Evidence] | None = [ev(CaptureFact.TRANSFER_UNANSWERED, gap_from,
                                           sender=c.endpoint(UP), size=turn,
                                           small_after=int(last_dir == DOWN))]
    else:
        proof = (_owed_evidence(c, debts) if waiting
                 else _stall_unproven(c, last_dir, debts, gap_from, gap, left_out,
                                      settled))
    if len(waiting) == 1:
        d = waiting[0]
    if proof is None:
        return None
    evidence = _stall_opening(c)
    sh = c.server_hello
    if sh is not None:
        evidence.append(ev(CaptureFact.SERVER_HELLO, sh[0]))
    direction = direction_of(d)
    evidence.append(ev(CaptureFact.LAST_DATA, gap_from, gap_s=round(gap, 1),
                       until_frame=gap_to or None, after=after, **ended_values(c, capture_end)))
    evidence += proof
    up, down = _carried(c)
    evidence.append(ev(CaptureFact.TUNNEL_BYTES, bytes_up=up, bytes_down=down,
                       direction=direction.value))
    if proxied:
        evidence += _stall_context(c, d, clear)
    return Finding(VerdictCode.TUNNEL_STALL, leg, direction,
                   {"idle_s": round(gap, 1), **_stall_numbers(c),
                    "wireshark_filter": f"{base} && frame.number>={gap_from}"},
                   evidence, Confidence.INFERRED, key_values=(bool(waiting),), conn=c,
                   unproven=not waiting,
                   max_seg_down=c.down.max_payload, full_seg=full_segment(c))


def _what_proves(o: Owed, silence_s: float, left_out: bool = False) -> Owed:
    """``o`` without the debts that prove nothing about this silence: retransmitted bytes
    when no retransmission came in a silence longer than the sender's doubled timer allows
    (a sender still waiting resends again and again: the capture lacks the ACK it got, or
    its later packets), counted as quiet; and a few bytes only a later sequence number
    shows, which may be the sender's own TLS alert, sent when the peer said goodbye.
    Where the capture is known to lack packets (``left_out``), what it never showed may be
    those (lossy)."""
    if left_out and not o.lossy:
        o = replace(o, lossy=True)
    if o.unacked and silence_s > min(RTO_MAX_S, 4 * max(o.retx_wait, RTO_MIN_S)) + 1.0:
        o = replace(o, unacked=0, unacked_quiet=o.unacked)
    if 0 < o.unseen <= TLS_GOODBYE_MAX:
        o = replace(o, unseen=0)
    return o


def _with_unseen(then: Owed, now: Owed) -> Owed:
    return replace(then, unseen=now.unseen) if now.unseen > then.unseen else then


def _owed_evidence(c: Conn, debts: tuple[Owed, Owed]) -> list[Evidence]:
    """What was pending when the data stopped: the proof that it is a stall."""
    out: list[Evidence] = []
    for d in (UP, DOWN):
        o = debts[d]
        # (in a capture that drops this side's bytes, only its retransmissions prove)
        if o.record is not None and not o.unacked_quiet and not o.lossy:
            frame, length, missing = o.record
            out.append(ev(CaptureFact.RECORD_CUT, frame, sender=c.endpoint(d),
                          receiver=c.endpoint(1 - d), length=length, missing=missing))
        if o.unacked:
            out.append(ev(CaptureFact.UNACKED_AT_SILENCE, sender=c.endpoint(d),
                          unacked=o.unacked))
        if o.unseen and not o.lossy:
            out.append(ev(CaptureFact.SENT_NEVER_ARRIVED, sender=c.endpoint(d),
                          unseen=o.unseen))
    return out


def _stall_unproven(c: Conn, last_dir: int, debts: tuple[Owed, Owed], last_frame: int,
                    silence_s: float, left_out: bool = False, settled: bool = False
                    ) -> list[Evidence] | None:
    """Nothing was seen pending: an idle session (None), unless the capture cannot tell,
    or the last word was the client's and went unanswered (stall and idle both remain;
    not when it is ``settled``: the client closed the session right after it, as a goodbye
    awaits no answer, or the server answered it after the silence).
    Where rows were placed by guess (``left_out``), that is said too, and it is what makes
    bytes never seen prove nothing."""
    out = _unproven_why(c, last_dir, debts, last_frame, silence_s, left_out, settled)
    if out is not None and left_out:
        out.append(ev(CaptureFact.PACKETS_LEFT_OUT))
    return out


def _unproven_why(c: Conn, last_dir: int, debts: tuple[Owed, Owed], last_frame: int,
                  silence_s: float, left_out: bool, settled: bool
                  ) -> list[Evidence] | None:
    quiet = [d for d in (UP, DOWN) if debts[d].unacked_quiet]
    if quiet:
        o = debts[quiet[0]]
        if o.retx_ts:
            return [ev(CaptureFact.RESENDS_STOPPED, sender=c.endpoint(quiet[0]),
                       unacked=o.unacked_quiet, silence_s=round(silence_s, 1))]
        return [ev(CaptureFact.UNACKED_QUIET, sender=c.endpoint(quiet[0]),
                   unacked=o.unacked_quiet)]
    lossy = [d for d in (UP, DOWN)
             if debts[d].lossy and (debts[d].unseen or debts[d].record is not None)]
    if lossy and left_out:
        return []        # (the guess is the reason, said by the caller)
    if lossy:
        o = debts[lossy[0]]
        return [ev(CaptureFact.OWED_IN_LOSSY_CAPTURE, sender=c.endpoint(lossy[0]),
                   unseen=o.unseen or (o.record[2] if o.record is not None else 0))]
    if last_dir == UP:
        return None if settled else [ev(CaptureFact.UNANSWERED_OR_IDLE, last_frame,
                                             sender=c.endpoint(UP))]
    unknown = [c.endpoint(d) for d in (UP, DOWN) if not debts[d].known]
    if unknown:
        return [ev(CaptureFact.IDLE_OR_STALL, senders=" and ".join(unknown))]
    return None
