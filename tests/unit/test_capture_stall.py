"""A stall is a silence while data was owed; an idle session is not one (capture.stall,
capture.framing, capture.timeline). Real captures (public collections of app traffic)
are full of TLS sessions idle for seconds before a close_notify: none of them is a fault."""

from __future__ import annotations

from pathlib import Path

from pathprobe.capture import Filters, analyze_capture
from pathprobe.capture.conn import Side
from pathprobe.capture.framing import RECORD_LOST, follow_records, owed
from pathprobe.capture.timeline import PAUSE_S, batch_pauses, first_pause
from pathprobe.facts.capture import CaptureFact
from pathprobe.findings import severity_of
from pathprobe.model import Direction, Severity, Verdict, VerdictCode
from pathprobe.render.evidence import describe
from tests.unit.test_capture_analysis import (
    CLIENT_HELLO,
    Flow,
    all_evidence,
    analyse,
    assert_renders,
    codes,
    fact,
    facts,
    only,
    write_pcap,
)

HELLO_DONE = b"\x16\x03\x03\x00\x7a\x02" + b"\x00" * 121       # one whole 127-byte record


def rec(kind: int, size: int) -> bytes:
    """One TLS record of ``size`` payload bytes."""
    return bytes([kind, 3, 3]) + size.to_bytes(2, "big") + b"\xaa" * size


def session(f: Flow) -> None:
    """A tunnel with a finished TLS handshake and one request answered."""
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, HELLO_DONE + rec(23, 300))
    f.send(0.12, True, rec(20, 1) + rec(23, 60))
    f.send(0.13, True, rec(23, 200))                   # the request
    f.ack(0.131, False)
    f.send(0.14, False, rec(23, 900))                  # its answer, whole
    f.ack(0.141, True)


def severity(v: Verdict) -> Severity:
    return severity_of(v, [v])


def test_an_idle_session_closed_after_a_silence_is_healthy(tmp_path: Path) -> None:
    f = Flow()
    session(f)
    f.send(30.0, True, rec(21, 26))                    # close_notify, 30 s later
    f.ack(30.001, False)
    f.close(30.01)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


def test_a_record_cut_short_before_the_silence_is_a_stall(tmp_path: Path) -> None:
    f = Flow()
    session(f)
    f.send(0.2, False, b"\x17\x03\x03\x3e\x80" + b"\xbb" * 1443)   # a 16000-byte record...
    f.send(0.201, False, b"\xbb" * 1448)                           # ...of which 2891 come
    f.ack(0.21, True)
    f.send(30.0, True, rec(21, 26))
    f.close(30.01)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    cut = fact(v, CaptureFact.RECORD_CUT)
    assert cut.values["length"] == 16000 and cut.values["missing"] == 16000 + 5 - 2896
    assert v.direction is Direction.DOWN and severity(v) is Severity.CRITICAL


def test_a_silence_across_a_capture_pause_is_not_a_stall(tmp_path: Path) -> None:
    f = Flow()
    session(f)
    f.send(0.2, False, b"\x17\x03\x03\x3e\x80" + b"\xbb" * 1443)
    f.ack(0.21, True)
    other = Flow(cport=40001)          # the capture's next piece, two days on
    other.tunnel(ts=2 * 86400.0)
    other.close(2 * 86400.0 + 0.5)
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", sorted(f.frames + other.frames)),
                        Filters())
    assert VerdictCode.TUNNEL_STALL not in codes(a.measurement.verdicts)
    paused = [n for n in a.notes if n.fact is CaptureFact.CAPTURE_PAUSED]
    assert len(paused) == 1 and paused[0].values["seconds"] > PAUSE_S
    assert_renders(all_evidence(a))


def test_sequence_numbers_reveal_data_that_never_arrived(tmp_path: Path) -> None:
    f = Flow()
    session(f)
    f.send(0.2, True, rec(23, 120))                    # a second request...
    f.ack(0.201, False)
    f.send(30.0, True, rec(21, 26))
    f.fin(30.01, True)
    f.sseq += 20000                                    # ...answered by 20000 bytes lost
    f.ack(30.02, False)                                # the proxy's seq is 20000 ahead
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert fact(v, CaptureFact.SENT_NEVER_ARRIVED).values["unseen"] == 20000
    assert severity(v) is Severity.CRITICAL


def test_an_unanswered_upload_is_a_stall_an_unanswered_small_message_may_be_idle(
        tmp_path: Path) -> None:
    up = Flow()
    session(up)
    for i in range(4):
        up.send(0.2 + i * 0.001, True, rec(23, 2500))  # a 10 KB upload, acknowledged
    up.ack(0.21, False)
    up.close(30.0)
    v = only(analyse(tmp_path, up), VerdictCode.TUNNEL_STALL)
    assert fact(v, CaptureFact.TRANSFER_UNANSWERED).values["size"] == 4 * 2505
    assert v.direction is Direction.UP and severity(v) is Severity.CRITICAL

    ping = Flow()
    session(ping)
    ping.send(0.2, True, rec(23, 40))                  # an HTTP/2 PING, say
    ping.ack(0.21, False)
    ping.close(30.0)
    v = only(analyse(tmp_path, ping), VerdictCode.TUNNEL_STALL)
    assert CaptureFact.UNANSWERED_OR_IDLE in facts(v)
    assert v.unproven and severity(v) is Severity.WARNING


def test_without_tls_framing_an_idle_tunnel_is_only_a_warning(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, b"SSH-2.0-OpenSSH_9.2\r\n")      # no TLS in the tunnel
    f.send(0.11, False, b"SSH-2.0-OpenSSH_9.2\r\n" + b"\x00" * 1000)
    f.ack(0.12, True)
    f.close(30.0)
    verdicts = analyse(tmp_path, f)
    assert VerdictCode.TUNNEL_STALL not in codes(verdicts) or all(
        severity(v) is Severity.WARNING for v in verdicts if v.code is VerdictCode.TUNNEL_STALL)


def test_a_hello_whose_answer_the_capture_missed_is_no_stall(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0)
    f.send(0.1, True, CLIENT_HELLO)
    f.sseq += 4000                                     # the server's flight, not captured
    f.ack(0.2, True)                                   # the client acknowledges it
    f.close(30.0)
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", f.frames), Filters())
    assert VerdictCode.TUNNEL_STALL not in codes(a.measurement.verdicts)
    assert CaptureFact.CAPTURE_LOSS in [n.fact for n in a.notes]


def test_a_hello_from_a_server_never_seen_is_only_a_warning(tmp_path: Path) -> None:
    """Resent, so no ACK came: the server never answered, or the capture lacks its side.
    Never resent in the 10 s that followed, the hello got its ACK: the capture lacks the
    server's side (a note), and says nothing of a ServerHello."""
    g = Flow(sport=443)
    seq = g.send(0.0, True, CLIENT_HELLO)              # mid-stream, one direction only
    g.resend(1.0, True, seq, CLIENT_HELLO)
    other = Flow(cport=40001, sport=80)                # the capture runs on: 10 s
    other.handshake(9.0)
    other.close(10.0)
    v = only(analyse(tmp_path, g, other), VerdictCode.TUNNEL_STALL)
    assert CaptureFact.SERVER_UNSEEN in facts(v) and severity(v) is Severity.WARNING
    once = Flow(sport=443)
    once.send(0.0, True, CLIENT_HELLO)
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", sorted(once.frames + other.frames)),
                        Filters())
    assert codes(a.measurement.verdicts) == [VerdictCode.HEALTHY]
    assert [n.values for n in a.notes if n.fact is CaptureFact.UNRESENT_ONE_WAY] == [
        {"connections": 1}]


# --- record framing, byte vectors ------------------------------------------------------

def followed(*segments: bytes, snap: int = 65535) -> Side:
    """A side whose records are followed from its first byte over ``segments``."""
    s = Side(isn=0, next_seq=1, acked=1, rec_next=1)
    start = 1
    for seg in segments:
        end = start + len(seg)
        s.next_seq, s.bytes, s.last_seq = end, s.bytes + len(seg), start
        follow_records(s, start, start, end, b"HDR" + seg[:snap], 3)
        start = end
    return s


def test_records_are_followed_across_segments_and_split_headers() -> None:
    data = rec(22, 10) + rec(23, 3000) + rec(23, 7)
    s = followed(data[:15], data[15:18], data[18:2000], data[2000:])   # a header split 2+3
    assert s.rec_next == 1 + len(data) and owed(s).record is None and owed(s).known
    cut = followed(data[:2000])
    assert cut.rec_len == 3000 and owed(cut).record == (1, 3000, 15 + 3005 - 2000)
    half = followed(data[:17])                                          # 2 of 5 header bytes
    assert half.rec_part == data[15:17] and owed(half).record == (1, 0, 3)


def test_framing_is_lost_where_the_capture_lacks_a_header_and_found_again() -> None:
    data = rec(23, 3000) + rec(23, 100)
    lost = followed(data[:1448], data[1448:2896], data[2896:], snap=100)   # 2nd header unseen
    assert lost.rec_next == RECORD_LOST and not owed(lost).known
    again = followed(data[:1448], data[1448:2896], data[2896:], rec(23, 50), snap=100)
    assert again.rec_next == 1 + len(data) + 55 and owed(again).known
    noise = followed(b"\x17\x17\x17\x17\x17" + b"x" * 100)                # not TLS
    assert noise.rec_next == RECORD_LOST


def test_unacknowledged_and_unseen_bytes_are_owed() -> None:
    s = Side(isn=0, next_seq=1001, acked=601, bytes=1000, last_seq=5001, retx_end=1001)
    o = owed(s)
    assert (o.unacked, o.unacked_quiet, o.unseen, o.waiting, o.known) == (400, 0, 4000, True,
                                                                          False)
    # never retransmitted: the sender was not waiting, or the capture lacks its packets
    quiet = owed(Side(isn=0, next_seq=1001, acked=601, bytes=1000, retx_end=601))
    assert (quiet.unacked, quiet.unacked_quiet, quiet.waiting) == (0, 400, False)
    assert owed(Side(isn=0, next_seq=1001, acked=1001, bytes=1000, last_seq=1001)).unseen == 0
    # the peer acknowledged what the capture missed: capture loss, not owed
    assert owed(Side(isn=0, next_seq=1001, acked=5001, bytes=1000, last_seq=5001)).unseen == 0


def test_pauses_are_found_between_and_within_batches() -> None:
    day = 86400.0
    frames = [(1, 10.0, 1, b"", 0), (2, 11.0, 1, b"", 0), (3, day + 20, 1, b"", 0),
              (4, 3 * day, 1, b"", 0), (5, 3 * day + 3600, 1, b"", 0)]
    assert batch_pauses(frames[:2], None) == []
    assert batch_pauses(frames[3:], None) == []                 # a quiet hour is no pause
    pauses = batch_pauses(frames, None)
    assert pauses == [(2, 3, 11.0, day + 20), (3, 4, day + 20, 3 * day)]
    assert batch_pauses(frames[2:3], (2, 11.0)) == [(2, 3, 11.0, day + 20)]
    assert batch_pauses([(6, 3.0, 1, b"", 0)], (5, 100.0)) == [(5, 6, 100.0, 3.0)]   # back
    assert batch_pauses([(6, 99.5, 1, b"", 0)], (5, 100.0)) == []   # reordered, not merged
    assert first_pause(pauses, 1, None) == (2, 3, 11.0, day + 20)
    assert first_pause(pauses, 3, None) == (3, 4, day + 20, 3 * day)
    assert first_pause(pauses, 1, 2) is None


def give_up(f: Flow, ts: float, unacked: int) -> None:
    """The client closes without acknowledging the proxy's last ``unacked`` bytes."""
    f.sseq -= unacked
    f.fin(ts, True)
    f.sseq += unacked


def test_unacknowledged_data_is_pending_only_if_its_sender_resends_it(tmp_path: Path) -> None:
    quiet = Flow()
    session(quiet)
    quiet.send(0.2, False, rec(23, 500))       # never acknowledged, never resent: the
    give_up(quiet, 30.0, 505)                  # capture lacks the client's ACK
    v = only(analyse(tmp_path, quiet), VerdictCode.TUNNEL_STALL)
    assert fact(v, CaptureFact.UNACKED_QUIET).values["unacked"] == 505
    assert severity(v) is Severity.WARNING

    resent = Flow()
    session(resent)
    seq = resent.send(0.2, False, rec(23, 500))
    for ts in (1.2, 3.2, 7.2, 15.2):                # the proxy waits for an ACK, its
        resent.resend(ts, False, seq, rec(23, 500))  # timer doubling
    give_up(resent, 30.0, 505)
    v = only(analyse(tmp_path, resent), VerdictCode.TUNNEL_STALL)
    assert fact(v, CaptureFact.UNACKED_AT_SILENCE).values["unacked"] == 505
    assert severity(v) is Severity.CRITICAL


def test_resends_that_stop_long_before_the_silence_ends_prove_no_stall(
        tmp_path: Path) -> None:
    """PcapPlusPlus' tls2.pcap: 409 bytes resent once 49 ms later, then 62 s of nothing.
    A sender still waiting resends again within twice its timer; it stopped, so it got the
    ACK the capture lacks: stall and idle both remain (a warning)."""
    f = Flow()
    session(f)
    seq = f.send(0.2, False, rec(23, 500))
    f.resend(1.2, False, seq, rec(23, 500))
    give_up(f, 30.0, 505)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    stopped = fact(v, CaptureFact.RESENDS_STOPPED)
    assert (stopped.values["unacked"], stopped.values["silence_s"]) == (505, 28.8)
    assert CaptureFact.UNACKED_AT_SILENCE not in facts(v)
    assert severity(v) is Severity.WARNING
    assert "not again in 28.8 s" in describe(stopped)


def test_full_size_segments_missing_among_full_size_ones_are_loss_not_size(
        tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, b"\x17" * 1460)               # a full segment (MSS 1460) arrived
    before = f.sseq
    f.sseq += 2 * 1460                                 # two more never did
    f.send(0.12, False, b"\x17" * 1460)
    f.sseq, after = before, f.sseq
    f.ack(0.13, True)                                  # duplicate ACKs below the gap
    f.ack(2.0, True)
    f.sseq = after
    assert VerdictCode.PMTU_BLACKHOLE not in codes(analyse(tmp_path, f))


def test_a_request_answered_by_something_else_than_http_is_no_missing_answer(
        tmp_path: Path) -> None:
    """A client that speaks absolute-form HTTP to a server on port 80 that answers in its
    own binary protocol (an app's sync channel, seen in public captures): answered."""
    f = Flow(sport=80)
    f.handshake(0.0)
    f.send(0.01, True, b"POST http://sync.example.test/cgi HTTP/1.1\r\nHost: x\r\n\r\n")
    f.send(0.5, False, b"\xf3\x8a\x01\x00" * 20)
    f.ack(0.51, True)
    other = Flow(cport=40001, sport=443)              # the capture runs on for a minute
    other.handshake(60.0)
    verdicts = analyse(tmp_path, f, other)
    assert VerdictCode.CONNECT_NO_RESPONSE not in codes(verdicts)

    quiet = Flow(sport=80)                            # the same request, no answer at all
    quiet.handshake(0.0)
    quiet.send(0.01, True, b"POST http://sync.example.test/cgi HTTP/1.1\r\nHost: x\r\n\r\n")
    quiet.ack(0.02, False)
    v = only(analyse(tmp_path, quiet, other), VerdictCode.CONNECT_NO_RESPONSE)
    ended = fact(v, CaptureFact.NO_HTTP_ANSWER).values
    assert ended["ended"] == "open" and ended["after_s"] > 59     # not "0.0 s later"


def test_a_cut_record_whose_bytes_were_never_acknowledged_proves_nothing(
        tmp_path: Path) -> None:
    f = Flow()
    session(f)
    f.send(0.2, False, b"\x17\x03\x03\x3e\x80" + b"\xbb" * 1443)   # a record begins, and
    give_up(f, 30.0, 1448)                   # neither an ACK nor a resend: packets missing
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert CaptureFact.RECORD_CUT not in facts(v) and CaptureFact.UNACKED_QUIET in facts(v)
    assert severity(v) is Severity.WARNING


def _large_then_reset(closed_first: bool, rst_acks: bool) -> Flow:
    f = Flow()
    session(f)
    if closed_first:
        f.fin(0.2, True)                               # the client closed its side ...
    f.send(0.3, False, b"\x17" * 1400)                 # ... and data still comes
    f._pkt(0.301, True, "RA" if rst_acks else "R")    # the client resets, 1 ms later
    return f


def test_a_reset_by_a_host_that_closed_or_that_acknowledged_the_segment_is_its_own(
        tmp_path: Path) -> None:
    """Public app captures: browsers reset connections they closed when data still comes
    (reddit.pcap), or reset with an ACK covering the segment (waze.pcap): delivered, not a
    reset of large segments by the path."""
    assert VerdictCode.RST_ON_LARGE_SEGMENT not in codes(
        analyse(tmp_path, _large_then_reset(closed_first=True, rst_acks=False)))
    assert VerdictCode.RST_ON_LARGE_SEGMENT not in codes(
        analyse(tmp_path, _large_then_reset(closed_first=False, rst_acks=True)))
    v = only(analyse(tmp_path, _large_then_reset(closed_first=False, rst_acks=False)),
             VerdictCode.RST_ON_LARGE_SEGMENT)    # a bare reset, no close: still one
    assert v.direction is Direction.DOWN


def test_session_tickets_after_an_upload_are_no_answer_to_it(tmp_path: Path) -> None:
    """The lab's article capture, when the TLS 1.3 tickets come after the upload (a race):
    small records back are no answer to a 10 KB upload; but large ones between requests
    start the client's turn over (an app's small requests between large answers)."""
    up = Flow()
    session(up)
    for i in range(4):
        up.send(0.2 + i * 0.001, True, rec(23, 2500))
    up.send(0.21, False, rec(23, 250))                  # a session ticket, after it
    up.ack(0.22, True)
    up.close(30.0)
    v = only(analyse(tmp_path, up), VerdictCode.TUNNEL_STALL)
    transfer = fact(v, CaptureFact.TRANSFER_UNANSWERED).values
    assert (transfer["size"], transfer["small_after"]) == (4 * 2505, 1)
    assert severity(v) is Severity.CRITICAL

    chatty = Flow()
    session(chatty)
    for i in range(40):                                 # 40 small requests, each answered
        chatty.send(0.2 + i * 0.01, True, rec(23, 300))
        chatty.send(0.205 + i * 0.01, False, rec(23, 1200))
    chatty.ack(0.7, True)
    chatty.close(30.0)
    assert codes(analyse(tmp_path, chatty)) == [VerdictCode.HEALTHY]


def test_hello_answer_acknowledged_in_a_gap_of_the_capture_is_no_missing_server_hello(
        tmp_path: Path) -> None:
    """PcapPlusPlus' tls2.pcap: the server's hello flight is missing from the capture, but
    the client acknowledged it and the server's later records are there: it answered."""
    f = Flow(server="198.18.3.2", sport=443)
    f.handshake(0.0)
    f.send(0.01, True, CLIENT_HELLO)
    f.sseq += 2900                                     # the hello flight, not captured
    f.send(0.03, True, rec(20, 1) + rec(22, 40))       # the client's ACK covers it
    f.send(0.04, False, rec(23, 60))                   # the server's next record
    f.ack(0.05, True)
    f.ack(20.0, True)                                  # then quiet: the capture goes on
    a = analyse(tmp_path, f)
    assert VerdictCode.TUNNEL_STALL not in codes(a)


def _owed_after_silence(lossy: bool) -> Flow:
    """After the session, the proxy's sequence numbers jump 5,000 bytes past what arrived
    (its alert 20 s later says so); with ``lossy``, the capture had already dropped 1,000
    bytes of the proxy's that the client acknowledged."""
    f = Flow()
    session(f)
    if lossy:
        f.sseq += 1000                                 # never captured ...
        f.send(0.15, False, rec(23, 100))
        f.ack(0.151, True)                             # ... yet acknowledged: delivered
    f.sseq += 5000                                     # never captured, never acknowledged
    f.send(20.0, False, rec(21, 26))
    return f


def test_bytes_owed_in_a_capture_that_drops_packets_prove_no_stall(tmp_path: Path) -> None:
    """PcapPlusPlus' tls2.pcap: a capture that missed acknowledged bytes of this very
    connection may have missed the owed ones too (and their ACKs): a warning."""
    v = only(analyse(tmp_path, _owed_after_silence(lossy=False)), VerdictCode.TUNNEL_STALL)
    assert fact(v, CaptureFact.SENT_NEVER_ARRIVED).values["unseen"] == 5000
    assert severity(v) is Severity.CRITICAL
    v = only(analyse(tmp_path, _owed_after_silence(lossy=True)), VerdictCode.TUNNEL_STALL)
    owed_fact = fact(v, CaptureFact.OWED_IN_LOSSY_CAPTURE)
    assert owed_fact.values["unseen"] == 5000
    assert CaptureFact.SENT_NEVER_ARRIVED not in facts(v)
    assert severity(v) is Severity.WARNING
    assert "may be more of its loss" in describe(owed_fact)


def test_short_answer_after_the_whole_upload_arrived_ends_the_clients_turn(
        tmp_path: Path) -> None:
    """Zeek's pppoe-over-qinq.pcap: a direct session uploads 10 KB, the server acknowledges
    all of it and answers 522 bytes; 30 s later the client closes. Answered, then idle.
    (Through a proxy the ACKs are the proxy's, so there small records prove no answer.)"""
    f = Flow(server="198.18.3.2", sport=443)
    f.handshake(0.0)
    f.send(0.01, True, CLIENT_HELLO)
    f.send(0.02, False, HELLO_DONE)
    f.send(0.03, True, rec(20, 1))
    for i in range(8):
        f.send(0.04 + i * 0.001, True, rec(23, 1300))   # the upload
    f.ack(0.05, False)                                   # the server has it all
    f.send(0.06, False, rec(23, 517))                    # ... and answers, briefly
    f.ack(0.07, True)
    f.send(30.0, True, rec(21, 26))
    f.close(30.01)
    assert VerdictCode.TUNNEL_STALL not in codes(analyse(tmp_path, f))


def test_a_goodbye_the_capture_missed_is_no_debt(tmp_path: Path) -> None:
    """PcapPlusPlus' example2.pcap: a resumed session idles 5.5 s, the client sends its
    alert and FIN; the server's FIN shows 27 bytes more (its own alert, not captured)."""
    f = Flow(server="198.18.3.2", sport=443)
    f.handshake(0.0)
    f.send(0.01, True, CLIENT_HELLO)
    f.send(0.02, False, HELLO_DONE)
    f.send(0.03, True, rec(20, 1) + rec(22, 40))
    f.ack(0.04, False)
    f.send(5.5, True, rec(21, 22))                     # the client's close_notify ...
    f.fin(5.5001, True)
    f.ack(5.6, False)
    f.sseq += 27                                       # ... the server's, never captured
    f.fin(5.7, False)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert CaptureFact.SENT_NEVER_ARRIVED not in facts(v)   # (the client spoke last:
    assert severity(v) is Severity.WARNING                  # unanswered, or idle)


def test_bytes_never_seen_in_a_text_of_guessed_rows_prove_no_stall(tmp_path: Path) -> None:
    """Where a text placed rows by guess (several parallel connections), bytes a connection
    seems to lack may be in rows given to another: the sequence numbers prove nothing, and
    the evidence says why (the guess), not that the capture dropped acknowledged bytes."""
    from pathprobe.capture.analysis import track
    from pathprobe.capture.reader import ReadStats
    from pathprobe.capture.stall import stall_finding
    from pathprobe.model import Leg

    f = _owed_after_silence(lossy=False)
    (c,) = track(write_pcap(tmp_path / "t.pcap", sorted(f.frames)), Filters(),
                 ReadStats()).finish()
    end = c.last_ts
    proven = stall_finding(c, end, Leg.FMC_PROXY, "", 3.0)
    assert proven is not None and not proven.unproven
    assert CaptureFact.SENT_NEVER_ARRIVED in [e.fact for e in proven.evidence]
    guessed = stall_finding(c, end, Leg.FMC_PROXY, "", 3.0, left_out=True)
    assert guessed is not None and guessed.unproven
    said = [e.fact for e in guessed.evidence]
    assert CaptureFact.PACKETS_LEFT_OUT in said
    assert CaptureFact.SENT_NEVER_ARRIVED not in said
    assert CaptureFact.OWED_IN_LOSSY_CAPTURE not in said


def test_a_silence_after_the_clients_goodbye_is_no_stall(tmp_path: Path) -> None:
    """Zeek's pppoe-over-qinq.pcap: the client sends its close_notify and FIN at once; the
    server answers with its own alert and FIN 235 s later. The silence follows the client's
    goodbye: nothing was left to answer (it was a warning, "unanswered or idle")."""
    f = Flow()
    session(f)
    f.send(1.0, True, rec(21, 26))                     # the client's close_notify ...
    f.fin(1.0001, True)                                # ... and FIN, at once
    f.ack(1.1, False)
    f.send(236.0, False, rec(21, 26))                  # the server's, much later
    f.fin(236.001, False)
    f.ack(236.002, True)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]
    late = Flow()                                      # the client gave up after 30 s:
    session(late)                                      # that silence was the client's wait
    late.send(1.0, True, rec(23, 40))
    late.ack(1.1, False)
    late.send(31.0, True, rec(21, 26))
    late.fin(31.0001, True)
    late.ack(31.1, False)
    v = only(analyse(tmp_path, late), VerdictCode.TUNNEL_STALL)
    assert CaptureFact.UNANSWERED_OR_IDLE in facts(v) and severity(v) is Severity.WARNING
