"""Turn tracked connections into verdicts (design.md vocabulary) and table rows: pure.

Each rule looks at one connection and says what it proves, as typed evidence
(``CaptureFact`` members with frame numbers); identical findings across
connections are then merged so a capture of 500 failing retries gives one
verdict that says "500 connections". No sentence is made here: the words
live in ``pathprobe.render.evidence.capture``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathprobe.capture.conn import DOWN, LARGE_PAYLOAD, UP, Conn, Exchange
from pathprobe.capture.finding import Finding, direction_of, ended_values, ev
from pathprobe.capture.framing import Gap, gap_of
from pathprobe.capture.stall import (
    answer_uncaptured,
    full_segment,
    hello_name,
    hello_spans,
    stall_finding,
)
from pathprobe.capture.timeline import Pause
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    HelloSizes,
    Leg,
    Limit,
    Number,
    VerdictCode,
)

FMC_UNSUPPORTED_SCHEMES = frozenset({"ntlm", "negotiate", "kerberos"})
DEFAULT_STALL_S = 3.0


def conn_filter(c: Conn) -> str:
    """A Wireshark display filter isolating this connection."""
    ipf = "ipv6.addr" if c.family == 6 else "ip.addr"
    return f"{ipf}=={c.client} && tcp.port=={c.cport}"


# The smallest MTU every IPv4 / IPv6 path must carry: below it a lost packet is loss,
# never a path MTU, unless an ICMP message says so (RFC 791, RFC 8200).
MIN_MTU = {4: 576, 6: 1280}


@dataclass(frozen=True)
class PathContext:
    """What other connections of the capture proved about this one's path."""

    # Handshakes completed with the same server address and port (besides this one), or
    # else between the same two hosts (``same_port`` False: e.g. BGP peers, one of which
    # refuses while the other's connection succeeds).
    others_connected: int = 0
    same_port: bool = True
    # A refused or unanswered handshake's fallback: the same client's successful handshake to
    # the same port on another address, begun at once (address, its client, seconds after
    # this SYN).
    fallback: tuple[str, str, float] | None = None
    # Largest payload the same client sent to the same server that was acknowledged
    # and answered (so it crossed the whole path), before this connection was judged.
    full_crossed: int = 0
    # Largest ClientHello record the same client sent the same peer that was answered.
    hello_answered: int = 0
    # Where the capture went quiet (``timeline``): silences across them prove nothing.
    pauses: tuple[Pause, ...] = ()
    # Packets the capture is known to lack (text rows left out): bytes never seen prove
    # nothing either.
    packets_left_out: bool = False


def size_limit(delivered: int | None, failing: int) -> Limit:
    """What a capture proves about a size limit: packets of ``delivered`` bytes were
    acknowledged (proven lower bound), one of ``failing`` bytes was not. Exact only when
    the bracket is closed (the next size up failed)."""
    high = failing - 1
    if delivered is not None and delivered >= high:
        return Limit(mtu=high, pmtu_low=high, pmtu_high=high, exact=True)
    return Limit(pmtu_low=delivered, pmtu_high=high, exact=False)


def conn_findings(c: Conn, capture_end: float, leg: Leg,
                  stall_s: float = DEFAULT_STALL_S,
                  ctx: PathContext = PathContext()) -> list[Finding]:
    """Everything wrong with one connection (empty if it looks healthy); ``leg`` is its
    role: client to proxy, proxy to upstream, or client straight to the server."""
    base = conn_filter(c)
    out: list[Finding] = []
    up, down = c.up, c.down

    # --- handshake ---------------------------------------------------------------------
    if up.syn_frame is not None and down.syn_frame is None and not syn_failed(c, capture_end):
        pass   # the capture missed the SYN-ACK, or ended before an answer could come
    elif up.syn_frame is not None and (down.syn_frame is None or synack_ignored(c)):
        return [_no_connection(c, leg, base, capture_end, ctx)]

    if up.mss is not None and down.mss is not None and down.mss < up.mss:
        out.append(Finding(
            VerdictCode.MSS_CLAMPED, leg, Direction.BOTH,
            {"mss_sent": up.mss, "mss_received": down.mss,
             "wireshark_filter": f"{base} && tcp.flags.syn==1"},
            [ev(CaptureFact.SYN_MSS, up.syn_frame, sender=c.client, mss=up.mss),
             ev(CaptureFact.SYNACK_MSS, down.syn_frame, sender=c.server, mss=down.mss),
             ev(CaptureFact.CLAMP_WHO_UNKNOWN)],
            key_values=(up.mss, down.mss), conn=c, mss_received=down.mss))

    # --- the proxy's answer --------------------------------------------------------------
    if c.exchanges:
        out.extend(_proxy_findings(c, leg, base, capture_end, stall_s))

    # --- a ClientHello dropped for what it is, not for its size (issue 19) ---------------
    hello = hello_dropped(c, leg, base, capture_end, stall_s, ctx)
    if hello is not None:
        out.append(hello)
        return out

    # --- transport on the captured leg -----------------------------------------------------
    transport = _transport_findings(c, leg, base)
    out.extend(transport)

    # --- the tunnel after 200 (or a direct TLS session) ------------------------------------
    if not any(f.code in (VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT,
                          VerdictCode.TUNNEL_STALL) for f in transport):
        stall = stall_finding(c, capture_end, leg, base, stall_s, ctx.pauses,
                              ctx.packets_left_out)
        if stall is not None:
            out.append(stall)
    # --- data resent and never acknowledged, where nothing else explains the connection ---
    if (up.big_retx or down.big_retx) and all(f.code is VerdictCode.MSS_CLAMPED for f in out):
        out.extend(f for f in map(lambda d: _never_acknowledged(c, d, leg, base), (UP, DOWN))
                   if f is not None)
    return out


def _no_connection(c: Conn, leg: Leg, base: str, capture_end: float,
                   ctx: PathContext) -> Finding:
    """PROXY_UNREACHABLE: the SYN refused, unanswered, or its SYN-ACK never taken; weighed
    against the other connections that got in (a warning then)."""
    up, down = c.up, c.down
    if down.syn_frame is not None:
        how = CaptureFact.SYNACK_IGNORED
        evidence = [ev(CaptureFact.SYN_SENT, up.syn_frame, server=c.server, port=c.sport),
                    ev(how, down.syn_frame, count=up.syn_count, again=c.syn_after_synack or 0)]
    elif c.synack_rst is not None:
        how = CaptureFact.SYN_ANSWERED_BY_RST
        evidence = [ev(CaptureFact.SYN_SENT, up.syn_frame, server=c.server, port=c.sport),
                    ev(how, c.synack_rst)]
    else:
        how = CaptureFact.SYN_UNANSWERED
        evidence = [ev(how, up.syn_frame, server=c.server, port=c.sport, count=up.syn_count)]
    numbers: dict[str, Number] = {"port": c.sport, "syn_sent": up.syn_count}
    # A client that got no answer sends its SYN again after about 1 s; one SYN and then
    # nothing, with capture time to spare, is as likely a capture that misses this
    # connection's later packets (one-way capture, filter) as a host that never answers.
    retried = c.synack_rst is not None or up.syn_count >= 2   # (SYN-ACK ignored: >= 2)
    if not retried:
        evidence.append(ev(CaptureFact.SYN_NEVER_RETRIED,
                           after_s=round(capture_end - c.first_ts, 1)))
    others = ctx.others_connected
    if others:
        # One refusal among successful connections: not "unreachable" (a warning).
        evidence.append(ev(CaptureFact.OTHERS_CONNECTED, server=c.server, port=c.sport,
                           count=others, same_port=int(ctx.same_port)))
    if ctx.fallback is not None:
        # The client got in over another address at once (IPv6 refused, IPv4 taken)
        server, client, after_s = ctx.fallback
        evidence.append(ev(CaptureFact.FALLBACK_CONNECTED, server=server, port=c.sport,
                           after_ms=round(after_s * 1000, 1),
                           same_client=int(client == c.client)))
        others += 1
    if others:
        numbers["others_connected"] = others
    numbers["wireshark_filter"] = f"{base} && tcp.flags.syn==1"
    return Finding(VerdictCode.PROXY_UNREACHABLE, leg, None, numbers, evidence,
                   Confidence.MEASURED if retried else Confidence.INFERRED,
                   # (refused, unanswered and ignored are told apart: "the same in N other
                   # connections" under a reset must not count silent ones)
                   key_values=(c.sport, others > 0, how), conn=c,
                   others_connected=others or None)


SYN_WAIT_S = 1.0   # the first SYN retransmission timer: an answer comes sooner or not at all
SYN_SENDS_UNTIMED = 3   # sends of one SYN that prove a wait without a time (not a copy)


def synack_ignored(c: Conn) -> bool:
    """The server's SYN-ACK is in the capture, but the client sent its SYN again and never
    acknowledged anything: the handshake failed on the client's side of this capture point."""
    up, down = c.up, c.down
    return (c.syn_after_synack is not None and not down.acked
            and not up.bytes and not down.bytes and down.rst_frame is None
            and up.rst_frame is None and up.fin_frame is None)


def syn_failed(c: Conn, capture_end: float) -> bool:
    """The client's SYN got no SYN-ACK: a reset came, the capture went on long enough
    after it, or, where no time is shown (a hex dump: no time passes), the client sent it
    three times (its timer ran out twice; twice may be one SYN in a capture saved twice);
    and the client never acknowledged anything from the server (else the capture only
    missed the SYN-ACK). Where times are shown, sends a few ms apart are no timer's (test
    captures crafted with scapy)."""
    if c.up.syn_frame is None or c.down.syn_frame is not None:
        return False
    if c.down.acked or c.up.bytes or c.down.bytes:
        return False
    waited = capture_end - c.first_ts
    return (c.synack_rst is not None or waited >= SYN_WAIT_S
            or (not waited and c.up.syn_count >= SYN_SENDS_UNTIMED))


def hello_dropped(c: Conn, leg: Leg, base: str, capture_end: float, stall_s: float,
                  ctx: PathContext) -> Finding | None:
    """TLS_HELLO_DROPPED (inferred): a ClientHello spanning segments got no answer but
    silence or a reset, while full-size segments crossed the same path before.

    Two shapes: through a tunnel, the proxy acknowledged the whole hello (so leg 1 carried
    it) and the upstream never answered; on the captured leg itself, the hello's first
    segment was retransmitted, never acknowledged, although segments at least as large
    had crossed to the same server. Either way not a path MTU: the same sizes cross.
    """
    hello = c.client_hello
    if hello is None or not hello_spans(c) or c.server_hello is not None \
            or c.hello_answer is not None or c.tunnel_down or answer_uncaptured(c):
        return None     # (answered: by a ServerHello, or by bytes nothing could read)
    frame, first = hello
    up = c.up
    start = c.hello_end - c.hello_record
    stuck = up.big_retx.get(start)
    acked = up.acked >= c.hello_end
    if leg is Leg.FMC_PROXY:
        if c.tunnel_start is None or not acked:
            return None
    elif stuck is None or stuck[3] < 2 or acked:
        return None
    crossed = ctx.full_crossed
    if crossed < first:
        return None
    # The far side's answer: a reset, or (through a proxy, which turns the upstream's
    # reset into a close of the tunnel) a FIN; else silence, long enough to count.
    first_end = c.end[0] if c.end is not None else ""
    reset = c.down.rst_frame if first_end == "server RST" else None
    closed = c.down.fin_frame if first_end == "server FIN" else None
    end_ts = c.seen_until(capture_end)
    if reset is None and closed is None and end_ts - c.last_data_ts < stall_s:
        return None
    # The verdict's vocabulary (as from `tunnel`): refused actively, or dropped.
    how = "drop" if reset is None and closed is None else "reset"
    evidence = [ev(CaptureFact.HELLO_SPANS, frame, record=c.hello_record, first=first,
                   name=hello_name(c))]
    if leg is Leg.FMC_PROXY:
        evidence.append(ev(CaptureFact.HELLO_ACKED_ON_LEG1))
    else:
        evidence.append(ev(CaptureFact.HELLO_RETRANSMITTED, int(stuck[2]) if stuck else None,
                           count=int(stuck[3]) if stuck else 0))
    evidence.append(ev(CaptureFact.FULL_SIZE_CROSSED, payload=crossed, first=first))
    if reset is not None:
        evidence.append(ev(CaptureFact.HELLO_RESET, reset))
    elif closed is not None:
        evidence.append(ev(CaptureFact.HELLO_CLOSED, closed,
                           proxied=int(leg is Leg.FMC_PROXY)))
    else:
        evidence.append(ev(CaptureFact.NO_SERVER_HELLO, idle_s=round(end_ts - c.last_data_ts, 1),
                           **ended_values(c, capture_end)))
    target_leg = Leg.PROXY_UPSTREAM if leg is Leg.FMC_PROXY else leg
    return Finding(VerdictCode.TLS_HELLO_DROPPED, target_leg, Direction.UP,
                   {"hello_dropped_from": c.hello_record, "first_segment": first,
                    "segment_crossed": crossed,
                    "how": how,
                    **({"hello_max": ctx.hello_answered}
                       if 0 < ctx.hello_answered < c.hello_record else {}),
                    "wireshark_filter": f"{base} && (tls.handshake.type==1 || "
                                        "tcp.flags.reset==1 || tcp.analysis.retransmission)"},
                   evidence, Confidence.INFERRED, key_values=(c.hello_record > 0,),
                   basis=Basis.CAPTURE_POINT, conn=c,
                   hello=HelloSizes(ctx.hello_answered
                                    if 0 < ctx.hello_answered < c.hello_record else None,
                                    c.hello_record))


def _method(ex: Exchange) -> dict[str, Number]:
    """The request's method as an evidence value, for plain HTTP only (CONNECT is implied)."""
    return {} if ex.method == "CONNECT" else {"method": ex.method}


def _proxy_findings(c: Conn, leg: Leg, base: str, capture_end: float,
                    stall_s: float) -> list[Finding]:
    out: list[Finding] = []
    last = c.exchanges[-1]
    for i, ex in enumerate(c.exchanges):
        status = ex.status
        if status is None or status == 200:
            continue
        if ex.method != "CONNECT" and status != 407 and status not in (502, 503, 504):
            continue   # a plain-HTTP answer may be the origin's own (404, 403...)
        # By frame number: Wireshark only dissects HTTP on ports it knows (3128, 8080...)
        http = f"{base} && (frame.number=={ex.frame} || frame.number=={ex.response_frame})"
        later_ok = any(e.status == 200 for e in c.exchanges[i + 1:])
        evidence = [ev(CaptureFact.CONNECT_SENT, ex.frame, target=ex.target,
                       with_auth=int(ex.with_auth), **_method(ex)),
                    ev(CaptureFact.PROXY_ANSWERED, ex.response_frame, status=status,
                       reason=ex.reason)]
        if status == 407:
            offered = ", ".join(ex.schemes) or "none captured"
            evidence.append(ev(CaptureFact.AUTH_SCHEMES, schemes=offered,
                               head_complete=int(ex.head_complete)))
            if ex.schemes and set(ex.schemes) <= FMC_UNSUPPORTED_SCHEMES:
                evidence.append(ev(CaptureFact.FMC_SCHEMES_UNSUPPORTED))
                # Schemes beyond the snap length may exist: then it is only inferred.
                out.append(Finding(VerdictCode.PROXY_AUTH_UNSUPPORTED, leg, None,
                                   {"status": status, "schemes": offered,
                                    "wireshark_filter": http}, evidence,
                                   Confidence.MEASURED if ex.head_complete
                                   else Confidence.INFERRED,
                                   key_values=(offered,), basis=Basis.PROXY_ANSWER, conn=c))
            elif later_ok:
                continue   # the usual 407-then-credentials dance, and it worked
            else:
                evidence.append(ev(CaptureFact.CREDENTIALS_REJECTED if ex.with_auth
                                   else CaptureFact.NO_CREDENTIALS_SENT))
                credentials = "rejected" if ex.with_auth else "none sent"
                out.append(Finding(VerdictCode.PROXY_AUTH_REQUIRED, leg, None,
                                   {"status": status, "schemes": offered,
                                    "credentials": credentials, "wireshark_filter": http},
                                   evidence, key_values=(status, offered, credentials),
                                   basis=Basis.PROXY_ANSWER, conn=c))
        elif later_ok:
            continue
        elif status >= 500:
            evidence.append(ev(CaptureFact.UPSTREAM_UNREACHABLE, target=ex.target))
            out.append(Finding(VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM, None,
                               {"status": status, "target": ex.target,
                                "wireshark_filter": http}, evidence,
                               key_values=(status, ex.target), basis=Basis.PROXY_ANSWER,
                               conn=c, target_text=ex.target,
                               plain_http=ex.method != "CONNECT"))
        elif status >= 400:
            evidence.append(ev(CaptureFact.POLICY_REFUSES, target=ex.target))
            out.append(Finding(VerdictCode.PROXY_DENIED, leg, None,
                               {"status": status, "target": ex.target,
                                "wireshark_filter": http}, evidence,
                               key_values=(status, ex.target), basis=Basis.PROXY_ANSWER,
                               conn=c, target_text=ex.target))
    # Unanswered: the connection ended without an answer, or the capture went on long
    # enough after the request (a capture that simply ends after it proves nothing); and
    # the client acknowledged no answer the capture lost (text shows no payload to tell).
    waited = (c.evicted_at if c.evicted_at is not None else capture_end) - last.ts
    if last.status is None and not last.non_http and last.head_unseen is None and (
            c.end is not None or waited >= stall_s) and not answer_uncaptured(c):
        evidence = [ev(CaptureFact.CONNECT_SENT, last.frame, target=last.target,
                       with_auth=int(last.with_auth), retransmits=last.retransmits,
                       **_method(last)),
                    ev(CaptureFact.NO_HTTP_ANSWER, **ended_values(c, capture_end))]
        if c.up.acked < c.up.next_seq:
            evidence.append(ev(CaptureFact.CONNECT_NEVER_ACKED))
        out.append(Finding(VerdictCode.CONNECT_NO_RESPONSE, leg, Direction.UP,
                           {"target": last.target, "retransmits": last.retransmits,
                            "wireshark_filter": f"{base} && (frame.number=={last.frame} || "
                                                "tcp.analysis.retransmission || "
                                                "tcp.flags.fin==1)"},
                           evidence, key_values=(last.target,), basis=Basis.PROXY_ANSWER,
                           conn=c, target_text=last.target))
    return out


def _conn_icmp_findings(c: Conn, leg: Leg) -> tuple[list[Finding], set[int]]:
    """PMTU_REDUCED from ICMP quoting this connection, and the directions it covers."""
    out: list[Finding] = []
    icmp_dirs: set[int] = set()
    by_dir: dict[int, list[tuple[int, int, int, str, int]]] = {}
    for rec in c.icmp:
        by_dir.setdefault(rec[1], []).append(rec)
    for d, recs in sorted(by_dir.items()):
        icmp_dirs.add(d)
        mtu = min(r[2] for r in recs)
        first = recs[0]
        s = c.side(d)
        ipf = "icmpv6.type==2" if c.family == 6 else "icmp.type==3 && icmp.code==4"
        evidence = [ev(CaptureFact.ICMP_FRAG_NEEDED, first[0], router=first[3],
                       mtu=first[2], size=first[4], sender=c.endpoint(d), count=len(recs))]
        delivered = s.max_delivered_ip or None
        # The router names the hop MTU; the capture proves it (and that PMTUD works)
        # once a packet of that size was acknowledged, else only the sizes acknowledged
        # so far (a small CONNECT proves nothing about PMTUD).
        if delivered == mtu:
            evidence.append(ev(CaptureFact.PMTUD_WORKS, delivered=delivered))
            limit = Limit(mtu=mtu)
        else:
            limit = Limit(pmtu_low=delivered if delivered is not None and delivered < mtu
                          else None, pmtu_high=mtu, exact=False)
        out.append(Finding(VerdictCode.PMTU_REDUCED, leg, direction_of(d),
                           {"router": first[3],
                            "wireshark_filter": f"{ipf} && tcp.port=={c.cport}"},
                           evidence, key_values=(mtu,), limit=limit, conn=c))
    return out, icmp_dirs


def _stuck_finding(c: Conn, d: int, stuck: tuple[int, list[float]], leg: Leg, base: str
                   ) -> Finding | None:
    """PMTU_BLACKHOLE from the smallest large segment sent again and again, never
    acknowledged, while smaller ones got through. If smaller data sent after it drew not
    one ACK either (no duplicate), it vanished too: the receiver or the path may have gone
    silent, so the size is not proven (a warning, no limit)."""
    s = c.side(d)
    start, (payload_f, ip_len_f, first_f, count_f, *_rest) = stuck
    payload, ip_len, first_frame, count = int(payload_f), int(ip_len_f), int(first_f), \
        int(count_f)
    if payload <= s.max_delivered_payload:
        return None   # same-size segments got through: loss, not a size limit
    low = s.max_delivered_ip or None
    if low is None or ip_len <= MIN_MTU.get(c.family, 576):
        # Nothing smaller got through, or a size every path carries: the connection
        # lost packets, which says nothing about a path MTU.
        return None
    evidence = [ev(CaptureFact.LARGE_RETRANSMITTED, first_frame, payload=payload,
                   size=ip_len, sender=c.endpoint(d), count=count)]
    later = s.next_seq - (start + payload)
    unproven = later > 0 and not s.dup_acks
    if unproven:
        evidence.append(ev(CaptureFact.LATER_DATA_UNANSWERED, sender=c.endpoint(d),
                           receiver=c.endpoint(1 - d), later=later))
    else:
        evidence.append(ev(CaptureFact.BLACKHOLE_BRACKET, delivered=low, size=ip_len))
    limit = size_limit(low, ip_len)
    return Finding(VerdictCode.PMTU_BLACKHOLE, leg, direction_of(d),
                   {"wireshark_filter": f"{base} && tcp.analysis.retransmission"
                                        f" && tcp.len>{s.max_delivered_payload}"},
                   evidence, Confidence.INFERRED if unproven else Confidence.MEASURED,
                   key_values=(None, None) if unproven else (limit.pmtu_low, limit.pmtu_high),
                   limit=None if unproven else limit, conn=c, unproven=unproven)


DROPPED_AGAIN_MIN = 3   # retransmissions of one segment, never acknowledged: no bad luck


def _dropped_again(c: Conn, d: int, stuck: tuple[int, list[float]], leg: Leg, base: str
                   ) -> Finding | None:
    """TUNNEL_STALL from one segment sent again and again, never acknowledged, though
    segments as large were acknowledged before: not a size (``_stuck_finding`` declined),
    and, when the receiver kept sending duplicate ACKs after the resends began, not a dead
    path either; what remains is a box dropping it for its content (issue 20)."""
    s = c.side(d)
    start, (payload_f, ip_len_f, first_f, count_f, _last_f, _last_ts, dups_before, _t) = stuck
    payload, count = int(payload_f), int(count_f)
    if count < DROPPED_AGAIN_MIN or payload > s.max_delivered_payload or s.acked > start:
        return None   # (its first bytes acknowledged: not dropped whole, e.g. a GRO frame)
    dups_after = s.dup_acks - int(dups_before)
    path_up = dups_after > 0
    receiver = c.endpoint(1 - d)
    evidence = [ev(CaptureFact.LARGE_RETRANSMITTED, int(first_f), payload=payload,
                   size=int(ip_len_f), sender=c.endpoint(d), count=count),
                ev(CaptureFact.SAME_SIZE_CROSSED, delivered=s.max_delivered_payload,
                   sender=c.endpoint(d)),
                ev(CaptureFact.RECEIVER_ANSWERS, receiver=receiver, dups=dups_after) if path_up
                else ev(CaptureFact.NOTHING_AFTER, receiver=receiver),
                ev(CaptureFact.DROPPED_FOR_CONTENT, path_up=int(path_up))]
    return Finding(VerdictCode.TUNNEL_STALL, leg, direction_of(d),
                   {"retransmits": count, "payload": payload,
                    "wireshark_filter": f"{base} && tcp.analysis.retransmission"
                                        f" && tcp.len=={payload}"},
                   evidence, Confidence.INFERRED, key_values=(path_up,), conn=c,
                   unproven=not path_up)


RESENDING_MIN_S = 1.0   # resends this long apart: a retransmission timer, not duplicates


def _never_acknowledged(c: Conn, d: int, leg: Leg, base: str) -> Finding | None:
    """TUNNEL_STALL from a segment resent for seconds and never acknowledged, when nothing
    the sender sent was acknowledged, the receiver said nothing since, and no other finding
    explains the connection (PPA's tcp_retransmissions: a one-way capture was 'healthy').
    The resends prove the sender heard no ACK, whatever the capture shows of the other way;
    a receiver or path gone, its ACKs lost, and a size limit (nothing smaller crossed)
    remain: a warning, measure first (unless the packet fits every path: then no size)."""
    s = c.side(d)
    stuck = [(k, v) for k, v in s.big_retx.items() if v[3] >= DROPPED_AGAIN_MIN]
    if not stuck or s.max_delivered_payload or c.rst_on_large is not None:
        return None
    start, (payload_f, ip_len_f, first_f, count_f, _last_f, last_ts, dups_before,
            first_ts) = min(stuck, key=lambda kv: kv[1][2])   # the first resent
    count, payload, ip_len = int(count_f), int(payload_f), int(ip_len_f)
    if s.acked > start or last_ts - first_ts < RESENDING_MIN_S or s.dup_acks > dups_before:
        return None
    sender, receiver = c.endpoint(d), c.endpoint(1 - d)
    fits = ip_len <= MIN_MTU.get(c.family, 576)   # a size every path carries: not a size
    evidence = [ev(CaptureFact.LARGE_RETRANSMITTED, int(first_f), payload=payload,
                   size=ip_len, sender=sender, count=count),
                ev(CaptureFact.RESENDS_UNHEARD, sender=sender,
                   span_s=round(last_ts - first_ts, 1)),
                ev(CaptureFact.NOTHING_ACKNOWLEDGED, sender=sender, receiver=receiver,
                   seen=int(c.side(1 - d).last_seq is not None
                            or c.side(1 - d).syn_frame is not None),
                   fits=ip_len if fits else 0)]
    return Finding(VerdictCode.TUNNEL_STALL, leg, direction_of(d),
                   {"retransmits": count, "payload": payload,
                    "wireshark_filter": f"{base} && tcp.analysis.retransmission"},
                   evidence, Confidence.INFERRED, key_values=("unacknowledged", fits), conn=c,
                   unproven=True, size_untested=None if fits else payload)


def _transport_findings(c: Conn, leg: Leg, base: str) -> list[Finding]:
    out, icmp_dirs = _conn_icmp_findings(c, leg) if c.icmp else ([], set())
    if c.rst_on_large is not None:
        d, ip_len, payload, seg_frame, delay, rst_frame = c.rst_on_large
        s = c.side(d)
        evidence = [ev(CaptureFact.LARGE_SEGMENT, seg_frame, payload=payload, size=ip_len,
                       sender=c.endpoint(d)),
                    ev(CaptureFact.RST_AFTER_LARGE, rst_frame, delay_ms=round(delay * 1000))]
        # Without a smaller segment of the sender's delivered first, the reset may answer
        # any data (a socket closed before the capture began): size is not proven.
        proven = s.max_delivered_ip > 0
        evidence.append(ev(CaptureFact.RST_THRESHOLD_ABOVE, delivered=s.max_delivered_ip,
                           size=ip_len) if proven
                        else ev(CaptureFact.RST_NOTHING_SMALLER, sender=c.endpoint(d)))
        out.append(Finding(VerdictCode.RST_ON_LARGE_SEGMENT, leg, direction_of(d),
                           {"payload": payload,
                            "wireshark_filter": f"{base} && (tcp.flags.reset==1 || "
                                                f"tcp.len>{max(s.max_delivered_payload, 0)})"},
                           evidence, Confidence.MEASURED if proven else Confidence.INFERRED,
                           key_values=(ip_len if proven else None,),
                           limit=size_limit(s.max_delivered_ip, ip_len) if proven else None,
                           conn=c, unproven=not proven))
    for d in (UP, DOWN):
        s = c.side(d)
        if d in icmp_dirs or (not s.big_retx and s.hole is None):
            continue   # (most connections: nothing retransmitted, nothing missing)
        # (the size rules read large segments only; smaller ones are remembered while
        # nothing got through, for ``_never_acknowledged``)
        stuck = [(k, v) for k, v in s.big_retx.items() if v[3] >= 2 and v[0] > LARGE_PAYLOAD]
        if stuck and c.rst_on_large is None:
            chosen = min(stuck, key=lambda kv: kv[1][1])
            found = (_stuck_finding(c, d, chosen, leg, base)
                     or _dropped_again(c, d, chosen, leg, base))
            if found is not None:
                out.append(found)
            continue
        hole = s.hole
        # Only bytes the receiver itself said it lacks were lost on the way (a capture
        # without its ACKs cannot tell); and larger segments than those that arrived can
        # vanish only if the missing bytes could have been one (more than the largest that
        # arrived) and those were not full-size already: else it is loss, not size.
        if hole is not None and c.rst_on_large is None and gap_of(s) is Gap.NETWORK_LOSS:
            start, end, frame, ts = hole
            waited = (c.last_ts if c.end is None else c.end[2]) - ts
            if end - start > max(LARGE_PAYLOAD, s.max_payload) and waited >= 0.5 \
                    and s.max_ip_len >= MIN_MTU.get(c.family, 576) \
                    and s.max_payload < full_segment(c):
                low = s.max_ip_len or None
                evidence = [ev(CaptureFact.DATA_AFTER_GAP, frame, sender=c.endpoint(d),
                               missing=end - start, waited_s=round(waited, 1)),
                            ev(CaptureFact.SMALLER_ARRIVED, max_payload=s.max_payload)]
                out.append(Finding(VerdictCode.PMTU_BLACKHOLE, leg, direction_of(d),
                                   {"missing_bytes": end - start,
                                    "wireshark_filter": f"{base} && (tcp.analysis.lost_segment"
                                                        " || tcp.analysis.retransmission)"},
                                   evidence, Confidence.INFERRED, key_values=(low,),
                                   limit=Limit(pmtu_low=low, exact=False), conn=c))
    return out


