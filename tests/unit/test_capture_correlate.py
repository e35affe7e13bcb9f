"""Two captures, one story (issue 20 item 4): the same connections captured at the FMC
and further along the path; for each lost segment, on which side of which capture it
vanished. Generated captures: capture B is capture A as seen one router further (TTL one
lower for the FMC's packets, one higher for the server's), minus what was lost between."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pathprobe.capture import Filters, analyze_capture, read_frames
from pathprobe.capture.analysis import fast_tcp
from pathprobe.capture.correlate import (
    MatchBy,
    Order,
    SegmentLog,
    Where,
    correlate,
    localisation_evidence,
    matched_evidence,
)
from pathprobe.capture.linklayer import ip_offset
from pathprobe.render.evidence import describe
from tests.conftest import cli_env
from tests.unit.test_capture_analysis import (
    CLIENT_HELLO,
    FIXTURES,
    FMC,
    SERVER_HELLO,
    Flow,
    write_pcap,
)

BIG = b"\x17\x03\x03" + b"x" * 1397            # a 1400-byte TLS record
FMC_B = socket.inet_aton(FMC)
NAT = socket.inet_aton("198.18.7.7")

Frames = list[tuple[float, bytes]]


def _up(frame: bytes) -> bool:
    return frame[26:30] == FMC_B


def _ttl(frame: bytes, ttl: int) -> bytes:
    return frame[:22] + bytes([ttl]) + frame[23:]


def as_seen_at_a(frames: Frames) -> Frames:
    """At the FMC: its own packets with TTL 64, the server's one router later (63)."""
    return [(t, _ttl(f, 64 if _up(f) else 63)) for t, f in frames]


def as_seen_at_b(frames: Frames, lost: Callable[[int, bytes], bool] = lambda i, f: False,
                 nat: bool = False, isn_shift: int = 0) -> Frames:
    """One router further: TTLs the other way round, ``lost`` frames missing, and with
    ``nat`` the FMC's address and port rewritten (source NAT between the two points);
    ``isn_shift`` moves the FMC's sequence numbers (a firewall's ISN randomisation)."""
    out = []
    for i, (t, f) in enumerate(frames):
        if lost(i, f):
            continue
        g = _ttl(f, 63 if _up(f) else 64)
        if isn_shift:
            at = 38 if _up(g) else 42         # the FMC's seq going up, the server's ACK down
            moved = (int.from_bytes(g[at:at + 4], "big") + isn_shift) & 0xFFFFFFFF
            if at == 38 or g[47] & 0x10:
                g = g[:at] + moved.to_bytes(4, "big") + g[at + 4:]
        if nat:
            if _up(g):
                g = g[:26] + NAT + g[30:34] + (61000).to_bytes(2, "big") + g[36:]
            else:
                g = g[:30] + NAT + g[34:36] + (61000).to_bytes(2, "big") + g[38:]
        out.append((t + 0.0005, g))
    return out


def black_hole(cport: int) -> tuple[Flow, list[int]]:
    """A tunnel whose 1400-byte segment up is sent 4 times, never acknowledged; the
    indexes of those frames."""
    f = Flow(cport=cport)
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.15, False, SERVER_HELLO)
    f.ack(0.16, True)
    seq = f.send(0.2, True, BIG)
    big = [len(f.frames) - 1]
    for k in range(3):
        f.resend(0.5 + k, True, seq, BIG)
        big.append(len(f.frames) - 1)
    return f, big


ARP = b"\xff" * 6 + b"\x02" + b"\x00" * 5 + b"\x08\x06" + b"\x00" * 46


def write(tmp_path: Path, name: str, frames: Frames, until: float = 9.0) -> Path:
    """A capture of ``frames`` that runs on until ``until`` (a last frame, not IP)."""
    return write_pcap(tmp_path / name, [*sorted(frames, key=lambda x: x[0]), (until, ARP)])


def logs(a: Path, b: Path) -> tuple[SegmentLog, SegmentLog]:
    la, lb = SegmentLog(a.name), SegmentLog(b.name)
    analyze_capture(a, Filters(), tap=la)
    analyze_capture(b, Filters(), tap=lb)
    return la, lb


def cli(*paths: Path) -> tuple[int, dict[str, object]]:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", *map(str, paths),
                           "--json"], capture_output=True, env=cli_env(), check=False,
                          timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return proc.returncode, doc


def notes(doc: dict[str, object]) -> list[str]:
    out = doc["notes"]
    assert isinstance(out, list)
    return [str(n) for n in out]


def test_segment_seen_at_the_fmc_never_at_the_proxy_is_lost_between(tmp_path: Path) -> None:
    f, big = black_hole(40001)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames, lambda i, _f: i in big))
    status, doc = cli(a, b)
    assert status == 1
    (loc,) = [n for n in notes(doc) if "lost between the two capture points" in n]
    assert loc.startswith(f"{FMC}:40001 -> 198.18.2.2:3128: the 1400-byte segment")
    assert f"left fmc.pcap (frame {big[0] + 1}, sent 4 time(s)) and never reached proxy.pcap" in loc
    assert "fmc.pcap is nearer 198.18.1.2:40001, higher TTL there" in loc
    matched = [n for n in notes(doc) if n.startswith("fmc.pcap and proxy.pcap:")]
    assert matched == ["fmc.pcap and proxy.pcap: 1 connection(s) seen in both (1 by addresses "
                       "and ports); 0 only in fmc.pcap, 0 only in proxy.pcap"]
    verdicts = doc["verdicts"]
    assert isinstance(verdicts, list)
    hole = [v for v in verdicts if v["code"] == "PMTU_BLACKHOLE"]
    assert hole, [v["code"] for v in verdicts]
    facts = [x["fact"] for x in hole[0]["facts"]]
    assert facts[0] == "in-capture" and "lost-between" in facts
    # the proxy's capture sees no large segment at all: its own verdicts say nothing of it
    assert all("proxy.pcap" not in str(v["facts"][0]["values"]) for v in hole)


def test_seen_in_both_never_acknowledged_is_lost_after_the_far_capture(
        tmp_path: Path) -> None:
    f, _big = black_hole(40002)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames))
    (loc,) = correlate(*logs(a, b)).found
    assert (loc.where, loc.order, loc.near, loc.far) == (Where.AFTER_FAR, Order.TTL,
                                                          "fmc.pcap", "proxy.pcap")
    assert (loc.copies_near, loc.copies_far, loc.length) == (4, 4, 1400)
    _status, doc = cli(a, b)
    assert any("was never acknowledged: lost after proxy.pcap, between it and "
               "198.18.2.2:3128" in n for n in notes(doc))


def test_some_copies_lost_and_the_order_given_reversed(tmp_path: Path) -> None:
    """Two of four copies vanished; the proxy's capture given first changes nothing:
    the TTL says which capture is nearer the sender."""
    f, big = black_hole(40003)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames, lambda i, _f: i in big[:2]))
    lb, la = reversed(logs(a, b))
    (loc,) = correlate(lb, la).found
    assert (loc.where, loc.near, loc.copies_near, loc.copies_far) == (
        Where.SOME_BETWEEN, "fmc.pcap", 4, 2)


def test_ack_lost_on_the_way_back(tmp_path: Path) -> None:
    f = Flow(cport=40004)
    f.tunnel()
    seq = f.send(0.1, True, BIG)
    f.ack(0.11, False)                       # reaches the proxy's capture, not the FMC
    f.resend(0.5, True, seq, BIG)
    f.ack(0.51, False)                       # the second ACK gets through
    lost_ack = len(f.frames) - 3
    a_frames = [x for i, x in enumerate(as_seen_at_a(f.frames)) if i != lost_ack]
    a = write(tmp_path, "fmc.pcap", a_frames)
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames))
    (loc,) = correlate(*logs(a, b)).found
    assert loc.where is Where.ACK_BETWEEN and loc.copies_near == loc.copies_far == 2


def test_far_capture_missing_an_acknowledged_segment_is_capture_loss(tmp_path: Path) -> None:
    f = Flow(cport=40005)
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    missed = len(f.frames) - 1
    f.send(0.11, True, BIG)
    f.ack(0.12, False)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames, lambda i, _f: i == missed))
    (loc,) = correlate(*logs(a, b)).found
    assert loc.where is Where.FAR_MISSED and loc.length == len(CLIENT_HELLO)
    _status, doc = cli(a, b)
    assert any("proxy.pcap missed it (capture loss, not network loss)" in n
               for n in notes(doc))


def test_behind_nat_connections_match_by_initial_sequence_number(tmp_path: Path) -> None:
    f, big = black_hole(40006)
    other = Flow(cport=40007, cseq=555555)
    other.tunnel(ts=0.05)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames + other.frames))
    b = write(tmp_path, "fw-outside.pcap",
              as_seen_at_b(f.frames, lambda i, _f: i in big, nat=True))
    corr = correlate(*logs(a, b))
    assert corr.matched[MatchBy.ISN] == 1 and corr.only_first == 1 and corr.only_second == 0
    (loc,) = corr.found
    assert loc.where is Where.BETWEEN and str(loc.sender) == f"{FMC}:40006"


def test_behind_nat_and_isn_randomisation_connections_match_by_payload(
        tmp_path: Path) -> None:
    f, big = black_hole(40010)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "outside.pcap",
              as_seen_at_b(f.frames, lambda i, _f: i in big[1:], nat=True, isn_shift=12345))
    corr = correlate(*logs(a, b))
    assert corr.matched[MatchBy.PAYLOAD] == 1
    (loc,) = corr.found        # both saw the SYN: relative numbers line up despite the shift
    assert (loc.where, loc.copies_near, loc.copies_far) == (Where.SOME_BETWEEN, 4, 1)
    _status, doc = cli(a, b)
    assert any("1 by first payload bytes (NAT)" in n for n in notes(doc))


def test_identical_clean_captures_localise_nothing(tmp_path: Path) -> None:
    f = Flow(cport=40008)
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.15, False, SERVER_HELLO)
    f.close(0.2)
    a = write(tmp_path, "a.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "b.pcap", as_seen_at_b(f.frames))
    corr = correlate(*logs(a, b))
    assert corr.found == () and corr.matched[MatchBy.ADDRESSES] == 1
    status, doc = cli(a, b)
    assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"]  # type: ignore[index,union-attr]
    legs = doc["legs"]
    assert isinstance(legs, list) and [leg["target"].split(":")[0] for leg in legs] == [
        "a.pcap", "b.pcap"]


def test_three_captures_or_two_stdins_are_usage_errors(tmp_path: Path) -> None:
    f = Flow(cport=40009)
    f.tunnel()
    a = write(tmp_path, "a.pcap", f.frames)
    for args in ([str(a)] * 3, ["-", "-"]):
        proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", *args],
                              capture_output=True, env=cli_env(), check=False, timeout=60,
                              text=True, input="")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr


def _state(log: SegmentLog) -> dict[object, object]:
    log.settle()
    out: dict[object, object] = {}
    for key, conn in log.conns.items():
        for sender, f in conn.flows.items():
            out[(key, sender)] = (f.isn, f.base, f.max_end, f.seen, f.acked, f.overflow,
                                  {s: (c[0], c[1]) for s, c in f.copies.items()})
    return out


@pytest.mark.parametrize("fixture", ["blackhole-leg1", "rst", "healthy-v6", "stall", "mtu"])
def test_the_loops_in_order_shortcut_keeps_the_log_exact(fixture: str) -> None:
    """The reading loop updates the log's rows itself for in-order packets; the outcome
    must be what the log computes when it is called for every packet."""
    cap = FIXTURES / f"{fixture}.pcap"
    shortcut = SegmentLog("a")
    analyze_capture(cap, Filters(), tap=shortcut)
    every = SegmentLog("a")
    for frame, ts, linktype, data, _orig in read_frames(cap):
        off = ip_offset(linktype, data)
        t = fast_tcp(data, off) if off >= 0 else None
        if t is None:
            continue
        family, key, seq, ack, flags, _ip_len, poff, plen, _win = t
        every(frame, ts, data, off, family, key, seq, ack, flags, plen, poff)
    assert _state(shortcut) == _state(every) and _state(every)


def test_a_far_capture_silent_from_then_on_leaves_the_claim_open(tmp_path: Path) -> None:
    """The proxy's capture shows nothing after the FMC's first large segment: either it was
    lost between the two, or that capture had stopped; the report says both."""
    f, big = black_hole(40011)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames[:big[0]]), until=0.3)
    (loc,) = correlate(*logs(a, b)).found
    assert loc.where is Where.BETWEEN and loc.far_quiet
    assert describe(localisation_evidence(loc)).endswith(
        "lost between the two capture points - unless proxy.pcap had stopped capturing: it "
        "shows no packet at all from then on (capture with a steady ping running to prove it "
        "ran)")
    ran_on = write(tmp_path, "proxy2.pcap", as_seen_at_b(f.frames[:big[0]]))
    (loc,) = correlate(*logs(a, ran_on)).found
    assert not loc.far_quiet and "unless" not in describe(localisation_evidence(loc))


def test_beyond_the_limit_losses_are_counted_not_listed(tmp_path: Path) -> None:
    flows = [black_hole(41000 + i)[0] for i in range(3)]
    frames = [x for f in flows for x in f.frames]
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(frames))
    corr = correlate(*logs(a, b), limit=1)
    assert len(corr.found) == 1 and corr.unlisted == 2
    assert "1 loss listed, 2 more connections with repeated or missing data not examined" \
        in describe(matched_evidence(corr))


def test_the_log_forgets_clean_connections_first(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory is bounded: beyond LOGS_MAX connections, those that lost nothing are dropped
    (and counted in the note); the lossy one is still localised."""
    monkeypatch.setattr("pathprobe.capture.correlate.LOGS_MAX", 4)
    lossy, big = black_hole(42000)         # the oldest, lossy only from 0.5 s on
    clean = []
    for i in range(6):
        f = Flow(cport=42001 + i)
        f.tunnel(ts=0.05 * i)
        f.close(0.05 * i + 0.03)           # finished: forgotten before the open one
        clean.append(f)
    frames = lossy.frames + [x for f in clean for x in f.frames]
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(frames, lambda i, _f: i in big))
    la, lb = logs(a, b)
    assert len(la.conns) <= 4 and la.forgotten >= 2
    corr = correlate(la, lb)
    (loc,) = corr.found
    assert loc.where is Where.BETWEEN and str(loc.sender) == f"{FMC}:42000"
    assert corr.matched[MatchBy.ADDRESSES] >= 1 and la.conns[
        ((b"\xc6\x12\x01\x02", 42000), (b"\xc6\x12\x02\x02", 3128))].flows[
        (b"\xc6\x12\x01\x02", 42000)].saw_syn        # the original log, never re-made
    assert f"{corr.forgotten} connections without a loss were not kept for matching" in \
        describe(matched_evidence(corr))


def test_a_bad_second_capture_read_by_the_child_is_the_same_one_line(tmp_path: Path) -> None:
    """The second capture is read in a child process: its error comes back as the same
    one line and exit status as the first capture's would; standard input works there."""
    f = Flow(cport=40011)
    f.tunnel()
    good = write(tmp_path, "good.pcap", f.frames)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\x00\x01not a capture at all\xff" * 8)
    lines = []
    for args in ([good, bad], [bad, good]):
        proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze",
                               *map(str, args), "--json"], capture_output=True,
                              env=cli_env(), check=False, timeout=60, text=True)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert "bad.pcap: not a capture" in proc.stderr and "Traceback" not in proc.stderr
        lines.append(proc.stderr)
    assert lines[0] == lines[1]
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(good), "-",
                           "--json"], capture_output=True, env=cli_env(), check=False,
                          timeout=60, input=good.read_bytes())
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert any(n.startswith("good.pcap and -: 1 connection(s) seen in both")
               for n in notes(doc)), notes(doc)


def _packed(tmp_path: Path, name: str, members: dict[str, bytes] | list[tuple[str, bytes]]
            ) -> Path:
    """A zip, or a tar.gz, of ``members`` in that order, as a case attaches them."""
    pairs = list(members.items()) if isinstance(members, dict) else members
    import io
    import tarfile
    import zipfile
    path = tmp_path / name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, data in pairs:
                zf.writestr(member, data)
        return path
    with tarfile.open(path, "w:gz") as tf:
        for member, data in pairs:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _told(doc: dict[str, object]) -> str:
    """What the report finds (its context and times aside), less the archive's notes."""
    kept = {k: doc[k] for k in ("summary", "partial", "legs", "verdicts", "recommendations")}
    return json.dumps([kept, [n for n in notes(doc) if "read out of" not in n]], sort_keys=True)


@pytest.mark.parametrize("archive", ["case.zip", "case.tar.gz"])
def test_an_archive_of_two_captures_is_read_as_the_two(tmp_path: Path, archive: str) -> None:
    """fmc.pcap and proxy.pcap zipped (and a note beside them): the report of the two
    captures given by name, each read out of the archive, the loss localised."""
    f, big = black_hole(40012)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(f.frames))
    b = write(tmp_path, "proxy.pcap", as_seen_at_b(f.frames, lambda i, _f: i in big))
    packed = _packed(tmp_path, archive, {"README.txt": b"taken on the FMC and on the proxy\n",
                                         "fmc.pcap": a.read_bytes(),
                                         "proxy.pcap": b.read_bytes()})
    status, doc = cli(packed)
    by_name = cli(a, b)
    assert (status, _told(doc)) == (by_name[0], _told(by_name[1])) and status == 1
    kind = "zip" if archive.endswith("zip") else "tar"
    assert [n for n in notes(doc) if "read out of" in n] == [
        f"{name} read out of the {kind} archive {archive} (the 1 other file in it left unread)"
        for name in ("fmc.pcap", "proxy.pcap")]
    assert any("left fmc.pcap" in n and "never reached proxy.pcap" in n for n in notes(doc))


def test_an_archive_of_two_capture_texts_is_read_as_the_two(tmp_path: Path) -> None:
    """Both sides as tcpdump printed them (no pcap in the archive): as the two texts."""
    f, _big = black_hole(40013)
    texts = {}
    for name, frames in (("fmc", as_seen_at_a(f.frames)), ("proxy", as_seen_at_b(f.frames))):
        pcap = write(tmp_path, f"{name}.pcap", frames)
        texts[f"{name}.txt"] = subprocess.run(
            ["tcpdump", "-nr", str(pcap)], capture_output=True, check=True).stdout
        (tmp_path / f"{name}.txt").write_bytes(texts[f"{name}.txt"])
    status, doc = cli(_packed(tmp_path, "case.zip", texts))
    by_name = cli(tmp_path / "fmc.txt", tmp_path / "proxy.txt")
    assert (status, _told(doc)) == (by_name[0], _told(by_name[1]))
    assert any(n.startswith("fmc.txt: text (tcpdump)") for n in notes(doc)), notes(doc)


def test_two_captures_of_one_name_are_told_apart(tmp_path: Path) -> None:
    """A tar may hold a name twice (appended to): the report numbers them."""
    f, big = black_hole(40014)
    a = write(tmp_path, "a.pcap", as_seen_at_a(f.frames)).read_bytes()
    b = write(tmp_path, "b.pcap", as_seen_at_b(f.frames, lambda i, _f: i in big)).read_bytes()
    _status, doc = cli(_packed(tmp_path, "case.tar.gz", [("x/c.pcap", a), ("x/c.pcap", b)]))
    assert any("left x/c.pcap (1)" in n and "never reached x/c.pcap (2)" in n
               for n in notes(doc)), notes(doc)


def test_an_archive_of_two_given_with_another_capture_is_one_line(tmp_path: Path) -> None:
    f = Flow(cport=40015)
    f.tunnel()
    a = write(tmp_path, "a.pcap", f.frames)
    packed = _packed(tmp_path, "case.zip", {"fmc.pcap": a.read_bytes(),
                                            "proxy.pcap": a.read_bytes()})
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(packed), str(a)],
                          capture_output=True, env=cli_env(), check=False, timeout=60, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "holding two captures (fmc.pcap, proxy.pcap): give it alone" in proc.stderr


def test_a_bad_capture_of_the_two_in_an_archive_is_named_in_one_line(tmp_path: Path) -> None:
    """Read in the child or here, the one that is no capture is named with its archive."""
    f = Flow(cport=40016)
    f.tunnel()
    text = subprocess.run(["tcpdump", "-nr", str(write(tmp_path, "a.pcap", f.frames))],
                          capture_output=True, check=True).stdout
    for members in ({"notes.txt": b"nothing here\n", "fmc.txt": text},
                    {"fmc.txt": text, "notes.txt": b"nothing here\n"}):
        packed = _packed(tmp_path, "case.zip", members)
        proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(packed)],
                              capture_output=True, env=cli_env(), check=False, timeout=60,
                              text=True)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith(f"pathprobe: error: {packed}: notes.txt: not a capture")


def test_connections_only_in_one_capture_say_which_began_while_the_other_was_not_capturing(
        tmp_path: Path) -> None:
    """The proxy's capture covers the FMC's first 10 s only, on a clock 100 s ahead: the
    connection that began at 20 s is in one capture because of when they were taken; the
    one at 5 s (left out by the proxy's capture filter) is not. Without the clocks'
    offset both would look outside."""
    first, left_out, later = Flow(cport=40021), Flow(cport=40023), Flow(cport=40022)
    first.tunnel(ts=0.0)
    left_out.tunnel(ts=5.0)
    later.tunnel(ts=20.0)
    a = write(tmp_path, "fmc.pcap", as_seen_at_a(first.frames + left_out.frames
                                                 + later.frames), until=30.0)
    b = write(tmp_path, "proxy.pcap", [(t + 100, f) for t, f in as_seen_at_b(first.frames)],
              until=110.0)
    corr = correlate(*logs(a, b))
    assert (corr.only_first, corr.outside_first, corr.only_second) == (2, 1, 0)
    _status, doc = cli(a, b)
    assert any("2 only in fmc.pcap (1 of them began outside the time proxy.pcap covers), "
               "0 only in proxy.pcap" in n for n in notes(doc)), notes(doc)
    _status, doc = cli(b, a)      # (the other way round: the same, on the other clock)
    assert any("0 only in proxy.pcap, 2 only in fmc.pcap (1 of them began outside the time "
               "proxy.pcap covers)" in n for n in notes(doc)), notes(doc)


@pytest.mark.parametrize("where", [Where.SOME_BETWEEN, Where.AFTER_FAR, Where.ACK_BETWEEN,
                                   Where.FAR_MISSED])
def test_a_frame_the_log_did_not_keep_is_not_cited(where: Where) -> None:
    """A capture's log keeps the first frames of segments it had to look at, not of every
    one that came in order: such a frame is left out, never 'frame None'."""
    from pathprobe.capture.correlate import Localisation
    from pathprobe.wire.hostport import HostPort

    loc = Localisation(where, Order.TTL, "fmc.pcap", "proxy.pcap", HostPort(FMC, 40001),
                       HostPort("198.18.2.2", 3128), 1, 1400, 3, 1, 12, 0, 15)
    text = describe(localisation_evidence(loc))
    assert "None" not in text and "proxy.pcap" in text, text
    unkept = describe(localisation_evidence(dataclasses.replace(loc, frame_near=0)))
    assert "None" not in unkept, unkept
    kept = describe(localisation_evidence(dataclasses.replace(loc, frame_far=7)))
    assert "frame 7" in kept or where is Where.FAR_MISSED, kept   # (it never shows it)


def _tso(records: list[tuple[int, int, bytes, int]], most: int = 8000
         ) -> list[tuple[int, int, bytes, int]]:
    """The capture as the sending (TSO) or receiving (GRO) host's own tcpdump shows it:
    runs of back-to-back data segments of one direction as one segment of up to ``most``
    bytes (the IPv4 length says all; the captured bytes stay cut at the snap length)."""
    import struct as st

    def tcp(d: bytes) -> tuple[bytes, int, int, int, int] | None:
        if d[12:14] != b"\x08\x00" or d[23] != 6:
            return None
        ihl = (d[14] & 15) * 4
        t = 14 + ihl
        hdr = t + (d[t + 12] >> 4) * 4
        plen = st.unpack(">H", d[16:18])[0] - (hdr - 14)
        return d[26:30] + d[t:t + 2], st.unpack(">I", d[t + 4:t + 8])[0], d[t + 13], plen, hdr

    out: list[tuple[int, int, bytes, int]] = []
    for sec, usec, data, orig in records:
        p = tcp(data)
        q = tcp(out[-1][2]) if out else None
        if p is not None and q is not None and p[3] and q[3] and not (p[2] | q[2]) & 7 \
                and p[0] == q[0] and (q[1] + q[3]) & 0xFFFFFFFF == p[1] and q[3] + p[3] <= most:
            merged = bytearray(out[-1][2])
            total = q[4] - 14 + q[3] + p[3]
            merged[16:18] = st.pack(">H", total)
            t = 14 + (merged[14] & 15) * 4
            merged[t + 8:t + 12] = data[t + 8:t + 12]      # (the later ACK)
            out[-1] = (out[-1][0], out[-1][1], bytes(merged) + data[p[4]:], 14 + total)
        else:
            out.append((sec, usec, data, orig))
    return out


@pytest.mark.parametrize("fixture", ["healthy.pcap", "blackhole-leg1.pcap", "stall.pcap"])
@pytest.mark.parametrize("merged_first", [True, False])
def test_segments_cut_otherwise_at_one_capture_were_not_lost_between(
        tmp_path: Path, fixture: str, merged_first: bool) -> None:
    """The FMC's own capture shows TSO/GRO segments of up to 8000 bytes, the proxy's the
    1448-byte ones on the wire: a 1448-byte resend inside a merged one was 'seen only once'
    at the merged capture, 'the other copies were lost between the two capture points'
    (black hole, proxy first: 5 such claims). What both show alike: the same story."""
    from tests.unit.test_capture_reader import pcap_records, write_pcap

    linktype, records = pcap_records(FIXTURES / fixture)
    fmc = write_pcap(tmp_path / "fmc.pcap", linktype, _tso(records))
    proxy = write_pcap(tmp_path / "proxy.pcap", linktype, records)
    status, doc = cli(*((fmc, proxy) if merged_first else (proxy, fmc)))
    said = [n for n in notes(doc) if "fmc.pcap" in n and "proxy.pcap" in n]
    assert not [n for n in said if "lost between" in n or "missed it" in n], said
    assert status == cli(proxy)[0]


def test_a_copy_lost_after_a_capture_that_merged_segments_is_still_found() -> None:
    """Bytes by bytes: the FMC's capture shows a 2896-byte segment sent 3 times (TSO), the
    proxy's its two halves twice each: one copy of each half was lost between."""
    from pathprobe.capture.correlate import Flow
    from pathprobe.capture.matching import shortfall

    near, far = Flow(0, True, 64), Flow(0, True, 63)
    for f in (near, far):
        f.max_end = 3633
    near.copies[737] = [3633, 3, 10, 30, 0, 1.0, 2.0, 3633]
    far.copies[737] = [2185, 2, 11, 21, 0, 1.0, 1.5, 2185]
    far.copies[2185] = [3633, 2, 12, 22, 0, 1.0, 1.5, 3633]
    assert shortfall(near, far, 737, 3633, 0) == (3, 2)
    far.copies[737][1] = far.copies[2185][1] = 3     # (all three passed: none lost)
    assert shortfall(near, far, 737, 3633, 0) == (3, 3)
    far.copies[2185][1] = 2                           # (one half's copy lost)
    assert shortfall(near, far, 737, 3633, 0) == (3, 2)
