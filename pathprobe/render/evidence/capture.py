"""Sentences for the `capture` step's observations (pathprobe.facts.capture)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template, counted
from pathprobe.wire.hostport import url_host


def _host_port(v: Mapping[str, Number]) -> str:
    """The evidence's server and port as 'HOST:PORT' ('[v6]:PORT')."""
    return f"{url_host(str(v.get('server')))}:{v.get('port')}"


def _float(v: Mapping[str, Number], key: str) -> float:
    x = v.get(key)
    return float(x) if isinstance(x, (int, float)) else 0.0


def _int(v: Mapping[str, Number], key: str) -> int:
    x = v.get(key)
    return int(x) if isinstance(x, (int, float)) else 0


def ended(v: Mapping[str, Number]) -> str:
    """How a connection ended, from the ``ended``/``how``/``end_frame``/``after_s`` values."""
    kind = v.get("ended")
    if kind == "silent":
        return f"silent for {_float(v, 'after_s'):.0f} s (no FIN or RST seen by then)"
    if kind == "open":
        return (f"still open when the capture ended ({_float(v, 'after_s'):.1f} s after its "
                "last packet)")
    if kind == "paused":
        return (f"still open where the capture breaks off after frame {v.get('end_frame')} "
                f"({_float(v, 'after_s'):.1f} s after its last packet: a pause, or another "
                "capture's packets, follows)")
    return f"{v.get('how')} at frame {v.get('end_frame')}"


def _syn_unanswered(v: Mapping[str, Number]) -> str:
    times = "once" if v.get("count") == 1 else f"{v.get('count')} times"
    return (f"frame {v.get('frame')}: SYN to {_host_port(v)} sent "
            f"{times}, never answered by a SYN-ACK in this capture")


def _syn_never_retried(v: Mapping[str, Number]) -> str:
    return (f"the client never sent that SYN again in the {v.get('after_s')} s of capture "
            "that followed (a client without an answer retries after about 1 s): the capture "
            "may miss this connection's later packets (taken one way, or filtered), or the "
            "client gave up; an unreachable server is one explanation, not a proven one")


def _syns_one_way(v: Mapping[str, Number]) -> str:
    senders = f"{v.get('senders')}{' or more' if v.get('more') else ''}"
    return (f"unanswered SYNs came from {senders} different addresses, and not one TCP "
            "connection analysed has packets from both ends: a capture of one "
            "direction (a tap or SPAN session of one way) or a SYN flood looks the same as a "
            "server that never answers; capture both directions, or on one client, to tell "
            "them apart")


def _segment(v: Mapping[str, Number]) -> str:
    """The start of a two-capture localisation: which segment, and how the order is known."""
    how = ("higher TTL there" if v.get("order") == "ttl" else
           "same TTL in both: assumed from the order given, first capture nearest the client")
    return (f"{v.get('sender')} -> {v.get('receiver')}: the {v.get('length')}-byte segment at "
            f"relative sequence {v.get('start')} ({v.get('near')} is nearer {v.get('sender')}, "
            f"{how})")


def _quiet(v: Mapping[str, Number]) -> str:
    """The other explanation when the far capture shows nothing from then on."""
    if not v.get("far_quiet"):
        return ""
    return (f" - unless {v.get('far')} had stopped capturing: it shows no packet at all from "
            "then on (capture with a steady ping running to prove it ran)")


def _outside(alone: Number | None, outside: Number | None, other: Number | None) -> str:
    """Of the connections only in one capture, those that began while the other was not
    capturing (taken at other times, or its reading stopped): no sign of the path."""
    if not outside:
        return ""
    which = "all" if outside == alone else f"{outside} of them"
    return f" ({which} began outside the time {other} covers)"


def _at_frame(v: Mapping[str, Number], words: str, key: str = "frame_far") -> str:
    """A capture's frame of a segment, where it is known (its log keeps the first frames
    of the segments it had to look at, not of every one that came in order)."""
    frame = v.get(key)
    return words.format(frame) if frame else ""


def _captures_matched(v: Mapping[str, Number]) -> str:
    ways = ", ".join(f"{v.get(k)} by {w}" for k, w in (
        ("by_addresses", "addresses and ports"), ("by_isn", "initial sequence number (NAT)"),
        ("by_payload", "first payload bytes (NAT)")) if v.get(k))
    return (f"{v.get('first')} and {v.get('second')}: {v.get('matched')} connection(s) seen in "
            f"both ({ways or 'none'}); {v.get('only_first')} only in {v.get('first')}"
            f"{_outside(v.get('only_first'), v.get('outside_first'), v.get('second'))}, "
            f"{v.get('only_second')} only in {v.get('second')}"
            f"{_outside(v.get('only_second'), v.get('outside_second'), v.get('first'))}"
            + (f"; {v.get('unprovable')} flows had too many holes to prove a segment never "
               "arrived" if v.get("unprovable") else "")
            + (f"; {counted(v.get('forgotten'), 'connection')} without a loss "
               f"{'was' if v.get('forgotten') == 1 else 'were'} not kept for matching "
               "(bounded memory)" if v.get("forgotten") else "")
            + (f"; {v.get('listed')} {'loss' if v.get('listed') == 1 else 'losses'} listed, "
               f"{counted(v.get('unlisted'), 'more connection')} with repeated or missing data "
               "not examined" if v.get("unlisted") else ""))


def _connect_sent(v: Mapping[str, Number]) -> str:
    retx = v.get("retransmits")
    method = v.get("method")
    what = (f"{method} http://{v.get('target')}/... (plain HTTP through the proxy)" if method
            else f"CONNECT {v.get('target')}")
    return (f"frame {v.get('frame')}: {what}"
            + (" with Proxy-Authorization" if v.get("with_auth") else "")
            + (f", retransmitted {retx} time(s)" if retx else ""))


def _proxy_answered(v: Mapping[str, Number]) -> str:
    return f"frame {v.get('frame')}: proxy answered {v.get('status')} {v.get('reason') or ''}" \
        .rstrip()


def _auth_schemes(v: Mapping[str, Number]) -> str:
    return (f"Proxy-Authenticate schemes offered: {v.get('schemes') or 'none captured'}"
            + ("" if v.get("head_complete") else
               " (response head not fully captured; capture with a larger -s)"))


def _icmp(v: Mapping[str, Number]) -> str:
    count = v.get("count")
    size = f"a {v.get('size')}-byte packet" if v.get("size") else "a packet"
    return (f"frame {v.get('frame')}: {v.get('router')} says the next hop MTU is {v.get('mtu')}"
            f" for {size} from {v.get('sender')}"
            + (f" ({count} such messages)" if isinstance(count, int) and count > 1 else ""))


def _icmp_no_mtu(v: Mapping[str, Number]) -> str:
    count = v.get("count")
    return (f"frame {v.get('frame')}: {v.get('router')} says a {v.get('size')}-byte packet "
            f"from {v.get('sender')} did not fit its next hop, and names no MTU (as routers "
            "did before RFC 1191): the path MTU is smaller than that packet"
            + (f" ({count} such messages)" if isinstance(count, int) and count > 1 else ""))


def _data_after_gap(v: Mapping[str, Number]) -> str:
    gap = counted(v.get("missing"), "byte")
    return (f"frame {v.get('frame')}: data from {v.get('sender')} arrived after a gap of "
            f"{gap} that never showed up ({_float(v, 'waited_s'):.1f} s)")


def _no_server_hello(v: Mapping[str, Number]) -> str:
    return (f"no ServerHello; connection {ended(v)} after {_float(v, 'idle_s'):.1f} s "
            "without data")


def _last_data(v: Mapping[str, Number]) -> str:
    until, after = v.get("until_frame"), v.get("after")
    alert = f", then only {counted(after, 'byte')} (a TLS alert?)" if after else ""
    then = f" until frame {until}{alert}" if until else ""
    return (f"frame {v.get('frame')}: last data, then {_float(v, 'gap_s'):.1f} s without data"
            f"{then}; connection {ended(v)}")


def _same_in_others(v: Mapping[str, Number]) -> str:
    again = _int(v, "again")   # attempts from the same client port again (after a RST)
    if not v.get("ports") and not v.get("unlisted"):
        return f"the same in {counted(v.get('others'), 'more attempt')} from that client port"
    more = ", ..." if v.get("unlisted") else ""
    if not again:
        return (f"the same in {v.get('others')} other connection(s) (client ports "
                f"{v.get('ports')}{more})")
    return (f"the same in {v.get('others')} more attempts: {again} from that client port, "
            f"{_int(v, 'others') - again} from client ports {v.get('ports')}{more}")


def _hello_spans(v: Mapping[str, Number]) -> str:
    name = v.get("name")
    return (f"frame {v.get('frame')}: TLS ClientHello"
            + (f" for {name}" if name and name != "-" else "")
            + f" of {v.get('record')} bytes spans segments ({v.get('first')} bytes in the "
            "first; post-quantum key shares make hellos this large)")


def _icmp_quotes(v: Mapping[str, Number]) -> str:
    ports = v.get("ports")
    return (f"frame {v.get('frame')}: the message quotes the {v.get('proto')} packet "
            f"{v.get('src')} > {v.get('dst')} ({v.get('size')} bytes"
            + (f", ports {ports}" if ports and ports != "-" else "") + ") that did not fit")


def _ping(v: Mapping[str, Number], what: str) -> str:
    kind = ("ping(s) (DF not shown, taken as set)" if v.get("df") == "unshown"
            else "DF ping(s)")
    return (f"frame {v.get('frame')}: {v.get('count')} {kind} to {v.get('dst')} "
            f"{what} {v.get('size')} bytes")


def _dropped_for_content(v: Mapping[str, Number]) -> str:
    cause = ("dropped for what it carries (an IPS, antivirus or file policy that matched it) "
             "or corrupted on the way each time")
    if v.get("path_up"):
        return (f"a segment lost every time it is sent, while segments as large pass and the "
                f"path stays up, is {cause}: a capture before that box, or its drop log, tells")
    return (f"if the path stayed up, the segment was {cause}; else the receiver or the path "
            "went silent: a capture before that box, or its drop log, tells")


def _dns_unanswered(v: Mapping[str, Number]) -> str:
    more = v.get("more_names") or 0
    names = f"{v.get('names')}" + (f" and {more} more" if more else "")
    answered = v.get("answered") or 0
    count = v.get("count")
    queries = "1 DNS query" if count == 1 else f"{count} DNS queries"
    others = (f"{answered} other(s) were answered" if answered else "no query in the capture "
              "was answered: a resolver down or cut off, or a capture of one direction")
    return (f"frame {v.get('frame')}: {queries} for {names} got no answer (sent "
            f"{counted(v.get('sends'), 'time')} to {v.get('servers')}; {others}): a "
            "name that does not resolve stops a connection before its SYN, a proxy set by name "
            "included")


def _nothing_acknowledged(v: Mapping[str, Number]) -> str:
    silent = "sent nothing after the resends began" if v.get("seen") \
        else "sent not one packet in this capture"
    head = f"nothing from {v.get('sender')} was acknowledged, and {v.get('receiver')} {silent}"
    if v.get("fits"):
        return (f"{head}: a receiver gone or cut off, or its ACKs lost on the way back, remain "
                f"(a {v.get('fits')}-byte packet fits every path: not a size)")
    return (f"{head}: a receiver gone or cut off, its ACKs lost on the way back, and a size "
            "limit (nothing smaller crossed to rule it out) all remain")


def _answer_head_unseen(v: Mapping[str, Number]) -> str:
    missing = v.get("missing")
    where = (f"came after {counted(missing, 'byte')} the capture lacks, its first line among them"
             if missing else "shows no bytes (text without payload, or a short snap length)")
    return (f"frame {v.get('frame')}: the answer {where}: the far end answered; with what "
            "status, the capture cannot tell")


def _hello_answered(v: Mapping[str, Number]) -> str:
    what = "a TLS alert" if v.get("alert") else "data that is not TLS"
    return (f"frame {v.get('frame')}: the ClientHello was answered with {what} "
            f"({v.get('size')} bytes), not a ServerHello: the path carried the answer; the "
            "handshake failed at the far end (its TLS policy, or no TLS server there)")


def _fallback_connected(v: Mapping[str, Number]) -> str:
    who = ("the same client" if v.get("same_client", 1)
           else "a client of the other IP version (this one, if both are one host)")
    return (f"{who} connected to port {v.get('port')} of {v.get('server')} "
            f"{v.get('after_ms')} ms after this SYN: if both are addresses of one name "
            "(IPv6 and IPv4, or a pool), the client fell back to the next one and got "
            "through; this address still refuses (or drops) the connection, which delays "
            "each new one")


def _others_connected(v: Mapping[str, Number]) -> str:
    where = (f"to {_host_port(v)}" if v.get("same_port", 1)
             else f"between the same two hosts (to {v.get('server')} or from it)")
    return (f"{v.get('count')} other connection(s) {where} in this capture succeeded: one "
            "refusal, not an unreachable server (a listener's backlog, a rate limit, a peer "
            "that only accepts the other way round, or a closed port on one of several "
            "servers)")


def _record_cut(v: Mapping[str, Number]) -> str:
    if not v.get("length"):
        return (f"frame {v.get('frame')}: a TLS record header from {v.get('sender')} was cut "
                f"short ({v.get('missing')} of its 5 bytes never came): {v.get('receiver')} "
                "was waiting for the rest, so data was pending, not an idle session")
    return (f"frame {v.get('frame')}: a {v.get('length')}-byte TLS record from "
            f"{v.get('sender')} began; its last {v.get('missing')} bytes never came: "
            f"{v.get('receiver')} was waiting for them, so data was pending, not an idle "
            "session")


def _none_dash(x: Number) -> str:
    return "-" if x is None else str(x)


def _on(v: Mapping[str, Number]) -> str:
    return "on" if v.get("on") else "off"


TEXT: dict[CaptureFact, Template] = {
    CaptureFact.SYN_SENT: "frame {frame}: SYN to {server:host}:{port}",
    CaptureFact.SYNACK_IGNORED:
        "frame {frame}: the SYN-ACK came back, yet the client never acknowledged it and sent "
        "its SYN again (frame {again}; {count} in all): the SYN-ACK did not reach the client's "
        "TCP (lost past "
        "this capture point, or dropped by the client's host: a local firewall, reverse-path "
        "filtering, a bad checksum)",
    CaptureFact.SYN_ANSWERED_BY_RST:
        "frame {frame}: answered by RST (nothing listens there, or a firewall rejects it)",
    CaptureFact.SYN_UNANSWERED: _syn_unanswered,
    CaptureFact.SYN_NEVER_RETRIED: _syn_never_retried,
    CaptureFact.SYNS_ONE_WAY: _syns_one_way,
    CaptureFact.SYN_MSS: "frame {frame}: SYN from {sender} carries MSS {mss}",
    CaptureFact.SYNACK_MSS: "frame {frame}: SYN-ACK from {sender} carries MSS {mss}",
    CaptureFact.CLAMP_WHO_UNKNOWN:
        "one capture point cannot tell whether the peer or a middlebox lowered it; "
        "'pathprobe mss' can",
    CaptureFact.CONNECT_SENT: _connect_sent,
    CaptureFact.PROXY_ANSWERED: _proxy_answered,
    CaptureFact.AUTH_SCHEMES: _auth_schemes,
    CaptureFact.FMC_SCHEMES_UNSUPPORTED:
        "the FMC supports Basic and Digest proxy authentication, not NTLM/Negotiate: allow "
        "Basic/Digest for the FMC or exempt it",
    CaptureFact.CREDENTIALS_REJECTED: "the proxy rejected the credentials sent",
    CaptureFact.NO_CREDENTIALS_SENT:
        "no credentials were sent: configure the proxy user/password",
    CaptureFact.UPSTREAM_UNREACHABLE:
        "the proxy could not reach {target} (or is overloaded); the fault is beyond the proxy",
    CaptureFact.POLICY_REFUSES:
        "the proxy's policy refuses CONNECT to {target}: ask its administrator to allow it",
    CaptureFact.NO_HTTP_ANSWER: lambda v: f"no HTTP answer from the proxy; connection {ended(v)}",
    CaptureFact.CONNECT_NEVER_ACKED:
        "the CONNECT was never acknowledged: it did not reach the proxy",
    CaptureFact.ICMP_FRAG_NEEDED: _icmp,
    CaptureFact.ICMP_FRAG_NEEDED_NO_MTU: _icmp_no_mtu,
    CaptureFact.ICMP_TOO_BIG_FITS:
        "frame {frame}: {router} says a {size}-byte packet did not fit a next-hop MTU of {mtu}; "
        "it fits, so the message proves nothing of the path (forged, or a broken router): "
        "{count} such message(s) ignored",
    CaptureFact.ICMP_MTU_BELOW_LINK_MIN:
        "frame {frame}: {router} says the next hop MTU is {mtu}, below the least any "
        "IPv{family} link has ({minimum}): hosts do not lower a path MTU below it (RFC 1191, "
        "RFC 8201), so it lowers nothing (a broken router, or a forged message: the IPv6 "
        "atomic-fragment attack of RFC 8021); {count} such message(s) ignored",
    CaptureFact.PMTUD_WORKS:
        "afterwards packets of up to {delivered} bytes were acknowledged: PMTUD works",
    CaptureFact.LARGE_SEGMENT:
        "frame {frame}: {payload}-byte segment ({size}-byte packet) from {sender}",
    CaptureFact.RST_AFTER_LARGE:
        "frame {frame}: RST from the other side {delay_ms} ms later, before any ACK of it",
    CaptureFact.RST_THRESHOLD_ABOVE:
        "smaller packets (up to {delivered} bytes) were acknowledged: packets of that size pass "
        "(proven lower bound); the reset threshold lies above it, at most {size}",
    CaptureFact.RST_NOTHING_SMALLER:
        "no smaller segment from {sender} was acknowledged before it in this capture: a host "
        "that closed its socket before the capture began resets any data, so size is not "
        "proven",
    CaptureFact.LARGE_RETRANSMITTED:
        "from frame {frame}: a {payload}-byte segment ({size}-byte packet) from {sender} "
        "retransmitted {count:#time}, never acknowledged, no ICMP seen",
    CaptureFact.BLACKHOLE_BRACKET:
        "packets of up to {delivered} bytes were acknowledged: the path MTU is at least "
        "{delivered} (proven lower bound) and below {size}",
    CaptureFact.DATA_AFTER_GAP: _data_after_gap,
    CaptureFact.SMALLER_ARRIVED:
        "segments of up to {max_payload} bytes did arrive: larger ones seem to vanish before "
        "the capture point",
    CaptureFact.ICMP_QUOTES: _icmp_quotes,
    CaptureFact.PING_AT_MTU_ANSWERED:
        "a DF ping of {size} bytes (the upper bound above) was answered: the path MTU is "
        "exactly that, and PMTU discovery works at that size",
    CaptureFact.PING_ANSWERED: lambda v: _ping(v, "answered, up to"),
    CaptureFact.PING_UNANSWERED: lambda v: _ping(v, "never answered, from"),
    CaptureFact.PING_NO_ICMP: "no ICMP frag-needed / Packet Too Big said why",
    CaptureFact.PROBE_REACHED:
        "frame {frame}: a {size}-byte DF probe ({proto}) reached {dst} (its port-unreachable "
        "answer quotes the probe whole): packets of that size cross the path (proven lower "
        "bound)",
    CaptureFact.LATER_DATA_UNANSWERED:
        "{later} bytes {sender} sent after it, in smaller segments, drew not one ACK from "
        "{receiver} (no duplicate ACK): they vanished too, so the receiver or the path may "
        "have gone silent; a size limit is not proven",
    CaptureFact.SAME_SIZE_CROSSED:
        "segments of up to {delivered} bytes from {sender} were acknowledged before it on "
        "this connection: its size is not the problem",
    CaptureFact.RECEIVER_ANSWERS:
        "{receiver} kept answering after the resends began ({dups} duplicate ACKs still "
        "asking for it): the path stayed up, and this segment alone was lost each time",
    CaptureFact.NOTHING_AFTER:
        "{receiver} sent nothing after the resends began: a receiver or path gone silent "
        "remains (a size does not: segments as large crossed)",
    CaptureFact.DROPPED_FOR_CONTENT: _dropped_for_content,
    CaptureFact.RESENDS_UNHEARD:
        "{sender} kept resending it for {span_s} s: no ACK reached it (a sender that gets one "
        "stops), which a capture that only lacks the other direction does not explain",
    CaptureFact.NOTHING_ACKNOWLEDGED: _nothing_acknowledged,
    CaptureFact.MORE_GROUPS:
        "the same fault toward {groups} more servers or ports ({connections} connection(s)), "
        "not listed one by one: --host and --port narrow the view to them",
    CaptureFact.PING_LARGER_ONCE:
        "only one ping that large was sent: one lost packet looks the same (ping -M do -c 3 "
        "at that size tells)",
    CaptureFact.PING_SMALL_LATER_OK:
        "smaller pings were answered after the first large one was lost: the host was up, "
        "only the large ones vanish",
    CaptureFact.OTHERS_CONNECTED: _others_connected,
    CaptureFact.FALLBACK_CONNECTED: _fallback_connected,
    CaptureFact.HELLO_SPANS: _hello_spans,
    CaptureFact.HELLO_RETRANSMITTED:
        "from frame {frame}: the segment starting the ClientHello was retransmitted {count} "
        "time(s), never acknowledged",
    CaptureFact.FULL_SIZE_CROSSED:
        "segments of {payload} bytes (at least the {first} of the hello's first segment) "
        "crossed the same path in connections that were answered: the size is not the "
        "problem, something that reads ClientHellos drops this one (inferred from one "
        "capture point)",
    CaptureFact.HELLO_RESET: "frame {frame}: answered by RST instead of a ServerHello",
    CaptureFact.HELLO_CLOSED: lambda v: (
        f"frame {v.get('frame')}: "
        + ("the proxy closed the tunnel instead of a ServerHello (how a proxy passes on the "
           "upstream's reset)" if v.get("proxied") else
           "the server closed the connection instead of a ServerHello")),
    CaptureFact.HELLO_OR_SIZE:
        "nothing in the capture shows segments of that size crossing the path: either a "
        "size limit (MTU) or something dropping large ClientHellos; 'pathprobe tunnel "
        "--hello both' tells which",
    CaptureFact.TUNNEL_OPEN: "frame {frame}: proxy answered 200 (tunnel open)",
    CaptureFact.TLS_SESSION: "TLS session",
    CaptureFact.CLIENT_HELLO: "frame {frame}: TLS ClientHello ({size} bytes)",
    CaptureFact.SERVER_HELLO: "frame {frame}: TLS ServerHello",
    CaptureFact.NO_SERVER_HELLO: _no_server_hello,
    CaptureFact.HELLO_ACKED_ON_LEG1: "the ClientHello reached the proxy (acknowledged on leg 1)",
    CaptureFact.HELLO_NOT_ACKED_ON_LEG1: "the ClientHello was never acknowledged on leg 1",
    CaptureFact.LAST_DATA: _last_data,
    CaptureFact.RECORD_CUT: _record_cut,
    CaptureFact.UNACKED_AT_SILENCE:
        "{unacked} bytes from {sender} were not acknowledged when the data stopped, and were "
        "retransmitted: data was pending, not an idle session",
    CaptureFact.SENT_NEVER_ARRIVED:
        "the sequence numbers of {sender} show {unseen} more bytes sent that never arrived "
        "here and were never acknowledged: data was pending, not an idle session",
    CaptureFact.TRANSFER_UNANSWERED: lambda v: (
        f"by frame {v.get('frame')}, the last data before the silence, {v.get('sender')} had "
        f"sent {v.get('size')} bytes (an upload, not a request or a keep-alive), all acknowledged, "
        "and nothing large came back"
        + (" (only small records: TLS session tickets, or a short answer)"
           if v.get("small_after") else "")),
    CaptureFact.UNANSWERED_OR_IDLE:
        "the last data before the silence came from {sender} (frame {frame}), was "
        "acknowledged and never answered: a request the far end left unanswered, or a "
        "message that needs no answer (the capture cannot tell an idle session from a stall)",
    CaptureFact.UNACKED_QUIET:
        "{unacked} bytes from {sender} were never acknowledged, yet never retransmitted either "
        "(a sender waiting for an ACK resends within seconds): the capture lacks this "
        "connection's later packets, so an idle session and a stall remain",
    CaptureFact.RESENDS_STOPPED:
        "{unacked} bytes from {sender} were never acknowledged and were retransmitted, but "
        "not again in {silence_s} s of silence (a sender still waiting resends sooner, its "
        "timer doubling up to 120 s): the capture lacks the ACK it got or its later packets, "
        "so an idle session and a stall remain",
    CaptureFact.PACKETS_LEFT_OUT:
        "rows of this text that name no ports were placed on a connection by guess (see the "
        "notes): the answer that seems missing may be among them, so an idle session and a "
        "stall remain",
    CaptureFact.CONTENT_UNKNOWN:
        "what this connection carried is not shown (no payload in text, or a snap length "
        "that cut it off): whether it was a TLS session cannot be told, so an idle session "
        "and a stall remain",
    CaptureFact.CONTENT_UNSEEN: lambda v: (
        f"{v.get('count')} connection(s) never show what they carried (first: frame "
        f"{v.get('frame')}"
        + ("; the text holds no payload): " if v.get("text") else
           "; the snap length cut it off): ")
        + "a refusal or error page (HTTP 403, 407, 5xx), a TLS handshake that failed or a "
        "session that stalled look like a healthy one there; "
        + ("print the bytes too (tcpdump -X, tshark -P -x or -V -x), or give the pcap"
           if v.get("text") else "capture again with the full snap length (tcpdump -s 0)")),
    CaptureFact.OWED_IN_LOSSY_CAPTURE:
        "{unseen} bytes from {sender} never showed up (its sequence numbers, or a TLS record "
        "not finished, say they were sent), but the capture also dropped bytes of it that "
        "were acknowledged: these may be more of its loss, so an idle session and a stall "
        "remain",
    CaptureFact.IDLE_OR_STALL:
        "every byte was acknowledged, and the TLS record framing from {senders} could not be "
        "followed (bytes the capture lacks, or not TLS): an idle session and a stall remain",
    CaptureFact.SERVER_UNSEEN:
        "not one packet from {server} was captured on this connection: a capture of one "
        "direction only (a filter, asymmetric routing) and a server that never answered remain",
    CaptureFact.TUNNEL_BYTES:
        "{bytes_up} bytes up and {bytes_down} bytes down crossed the tunnel; the last large "
        "segments went {direction}",
    CaptureFact.LEG1_ALL_ACKED:
        "everything the FMC had sent was acknowledged on leg 1 when the data stopped, so it is "
        "stuck beyond the proxy (leg 2 MTU/black hole, inspection, quota or timeout), not on "
        "the captured leg",
    CaptureFact.LEG1_SOME_UNACKED: "some data the FMC sent was never acknowledged on leg 1",
    CaptureFact.FULL_SEGMENTS_ARRIVED:
        "full-size segments ({max_seg_down} bytes) did arrive from the proxy earlier, so leg 1 "
        "carries them downstream: the data stopped at or beyond the proxy (leg 2, inspection, "
        "quota or timeout)",
    CaptureFact.NO_FULL_SEGMENT:
        "no segment larger than {max_seg_down} bytes ever arrived from the proxy (full size: "
        "{full_seg}): either the data stopped at or beyond the proxy, or its large segments "
        "vanish on leg 1 downstream (a black hole leaves no trace at the FMC); 'pathprobe "
        "diagnose' tells which",
    CaptureFact.CONNECTION: "connection {client:host}{cport:port} -> {server:host}{sport:port}",
    CaptureFact.SAME_IN_OTHERS: _same_in_others,
    CaptureFact.NOTHING_WRONG:
        "{connections} connection(s): no refusal, stall, reset, black hole or MSS change seen",
    CaptureFact.NOTHING_ANSWERED:
        "{connections} connection(s), none with packets from both ends in the capture (a SYN "
        "it shows no answer to, or one direction captured): nothing wrong seen, and nothing "
        "measured",
    CaptureFact.NOTHING_JUDGED:
        "no TCP connection to judge in the capture: what its pings, ICMP messages and DNS "
        "queries show, if it holds any, is in the notes",
    CaptureFact.ROW_FINDING: "{code}",
    CaptureFact.ROW_OK: "ok",
    CaptureFact.ROW_FRAMES: "frames {first}-{last}",
    CaptureFact.ROW_RETRANSMISSIONS: "retransmissions {up} up/{down} down",
    CaptureFact.ROW_IDLE: lambda v: (f"idle {_float(v, 'idle_s'):.1f} s between frames "
                                     f"{v.get('before')} and {v.get('after')}"),
    CaptureFact.ROW_WSCALE: lambda v: (f"wscale {_none_dash(v.get('up'))}/"
                                       f"{_none_dash(v.get('down'))}"),
    CaptureFact.ROW_TIMESTAMPS: lambda v: f"timestamps {_on(v)}",
    CaptureFact.ROW_SACK: lambda v: f"SACK {_on(v)}",
    CaptureFact.ROW_NO_SYN: "capture started mid-connection (no SYN): MSS and options unknown",
    CaptureFact.ROW_FRAGMENTS: "{count:#IP fragment}",
    CaptureFact.ROW_HELLO_ANSWERED: _hello_answered,
    CaptureFact.ROW_HELLO_CLOSED:
        "frame {frame}: {how} {after_s} s after the ClientHello, which the server had "
        "acknowledged, without a ServerHello; its sequence number shows it sent nothing "
        "before: the server refused the session (not a TLS server for that name, or its "
        "policy), not the path",
    CaptureFact.ROW_HELLO_LEFT:
        "frame {frame}: {how} {after_s} s after the ClientHello, which the server had "
        "acknowledged and never answered; the server's own close (frame {server_close}) shows "
        "by its sequence number that it sent nothing: the server left the session unanswered "
        "(not a TLS server for that name, a protocol it does not speak, or its policy), not "
        "the path",
    CaptureFact.ROW_ANSWER_HEAD_UNSEEN: _answer_head_unseen,
    CaptureFact.ROW_OFFLOAD:
        "segments larger than any MSS: captured before segmentation offload (TSO/GRO); wire "
        "sizes were smaller (ethtool -K IFACE tso off gro off)",
    CaptureFact.ROW_CAPTURE_LOSS:
        "frame {frame}: {missing} bytes from {sender} missing from the capture but "
        "acknowledged by the peer (capture loss, not network loss)",
    CaptureFact.ROW_GAP_UNPROVEN:
        "frame {frame}: {missing} bytes from {sender} never showed up, and no acknowledgement "
        "of the receiver's after them is in the capture: capture loss or network loss",
    CaptureFact.DNS_UNANSWERED: _dns_unanswered,
    CaptureFact.DNS_FAILED:
        "DNS answers said {rcode} for {names}: the resolver failed to resolve them",
    CaptureFact.IN_CAPTURE: "in capture {file}",
    CaptureFact.CAPTURES_MATCHED: _captures_matched,
    CaptureFact.LOST_BETWEEN: lambda v: _segment(v) + (
        f" left {v.get('near')} (frame {v.get('frame')}, sent {v.get('copies_near')} "
        f"time(s)) and never reached {v.get('far')}: lost between the two capture points")
        + _quiet(v),
    CaptureFact.SOME_LOST_BETWEEN: lambda v: _segment(v) + (
        f" passed {v.get('near')} {counted(v.get('copies_near'), 'time')}"
        f"{_at_frame(v, ' (first at frame {})', 'frame')}, {v.get('far')} saw only "
        f"{v.get('copies_far')}"
        f"{_at_frame(v, ' (first at frame {})')}: the other copies were lost between the two "
        "capture points")
        + _quiet(v),
    CaptureFact.LOST_AFTER_FAR: lambda v: _segment(v) + (
        f" passed {v.get('near')}{_at_frame(v, ' (frame {})', 'frame')} and {v.get('far')}"
        f"{_at_frame(v, ' (frame {})')}, {v.get('copies_near')} time(s), and was never "
        f"acknowledged: lost after {v.get('far')}, between it and {v.get('receiver')}")
        + _quiet(v),
    CaptureFact.ACK_LOST_BETWEEN: lambda v: _segment(v) + (
        f" reached {v.get('far')}{_at_frame(v, ' (frame {})')} and {v.get('receiver')} "
        f"acknowledged it there (frame {v.get('ack_frame')} in {v.get('far')}); that ACK "
        f"never reached {v.get('near')}: the acknowledgement was lost between the two capture "
        "points"),
    CaptureFact.FAR_CAPTURE_MISSED: lambda v: _segment(v) + (
        f" passed {v.get('near')}{_at_frame(v, ' (frame {})', 'frame')}; {v.get('far')} never "
        "shows it, yet "
        f"{v.get('receiver')} acknowledged it (frame {v.get('ack_frame')} in {v.get('far')}): "
        f"{v.get('far')} missed it (capture loss, not network loss)"),
}
