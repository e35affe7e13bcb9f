"""The notes on a capture as a whole: what the reader counted (frames, cuts, what it could
not read) and what the collector found across connections (loss the capture shows, one-way
captures, idle receivers), as typed evidence in the order a report lists them."""

from __future__ import annotations

from pathprobe.capture.collector import Collector
from pathprobe.capture.finding import ev
from pathprobe.capture.httpsniff import PROXY_PORTS
from pathprobe.capture.reader import ReadStats
from pathprobe.capture.tracker import Tracker
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Evidence
from pathprobe.wire.hostport import host_port


def overall_notes(file: str, stats: ReadStats, collector: Collector, tracker: Tracker
                  ) -> list[Evidence]:
    """The reader's and the collector's notes on the capture named ``file``."""
    u = stats.unpacked
    name = u.member if u and u.paired else file   # (one of two captures in an archive)
    notes = [ev(CaptureFact.CAPTURE_READ, file=name, frames=stats.frames,
                chosen=collector.chosen, total=collector.seen)]
    if u is not None:
        notes.append(ev(CaptureFact.UNPACKED, member=u.member, kind=u.kind,
                        archive=file, others=u.others))
    # TCP headers cut short: in frames, or in tcpdump's text of them ('[|tcp]'); and the
    # text's segments from before offload ('IP bad-len 0'), which its own note counts
    header_cut = stats.text.parse.tcp_cut if stats.text is not None else tracker.header_cut
    unprinted = stats.text.parse.offloaded[0] if stats.text is not None else 0
    if header_cut[0]:
        notes.append(ev(CaptureFact.TCP_HEADER_CUT, header_cut[1], count=header_cut[0]))
    if not collector.seen and tracker.strays:
        notes.append(ev(CaptureFact.TCP_STRAYS, count=tracker.strays))
    elif not collector.seen and not header_cut[0] and not unprinted:
        notes.append(ev(CaptureFact.NO_TCP,
                        packets=stats.frames - stats.not_ip - stats.unsupported_frames))
    if stats.truncated:
        notes.append(ev(CaptureFact.CAPTURE_TRUNCATED, detail=stats.truncated))
    if stats.stopped:   # (bytes: -1 where the reading could not say how far it got)
        notes.append(_stopped(name, stats))
    if tracker.recent.count:
        notes.append(ev(CaptureFact.PACKETS_TWICE, tracker.recent.first,
                        count=tracker.recent.count))
    first = tracker.unread_first   # (text holds no payload: nothing there was cut)
    if first is not None and stats.text is None:
        frame, kept, length, c = first   # (at a proxy's usual port: --proxy says what it is)
        guess = c.sport in PROXY_PORTS and not collector.filters.is_proxy(c)
        proxy = host_port(c.server, c.sport) if guess else ""
        notes.append(ev(CaptureFact.SNAP_CUT, frame, count=tracker.unread_cut, kept=kept,
                        length=length, proxy=proxy))
    if stats.unsupported_frames:
        notes.append(ev(CaptureFact.UNSUPPORTED_FRAMES, count=stats.unsupported_frames))
    if tracker.shed_total:
        notes.append(ev(CaptureFact.CONNECTIONS_SHED, count=tracker.shed_total,
                        syn_only=tracker.shed_syn_only, max_connections=tracker.max_connections))
    if collector.joined:
        notes.append(ev(CaptureFact.LEG2_JOINED, joined=collector.joined))
    for before, after, t0, t1 in tracker.pauses[:3]:
        notes.append(ev(CaptureFact.CAPTURE_PAUSED, before, after=after,
                        seconds=round(t1 - t0, 1)))
    if collector.loss[0]:
        notes.append(ev(CaptureFact.CAPTURE_LOSS, connections=collector.loss[0],
                        missing=collector.loss[1]))
    if collector.one_way:
        notes.append(ev(CaptureFact.ONE_WAY, connections=collector.one_way))
    if collector.unresent:
        notes.append(ev(CaptureFact.UNRESENT_ONE_WAY, connections=collector.unresent))
    if collector.cut_off:
        notes.append(ev(CaptureFact.CUT_OFF, connections=collector.cut_off))
    if collector.worst_zero is not None:
        seconds, receiver, sender = collector.worst_zero
        notes.append(ev(CaptureFact.ZERO_WINDOW, connections=collector.zero_windows,
                        receiver=receiver, sender=sender, seconds=round(seconds, 1)))
    if collector.worst_loss is not None:
        share, sender, resent, carried = collector.worst_loss
        notes.append(ev(CaptureFact.LOSSY_TRANSFERS, connections=collector.lossy,
                        sender=sender, resent=resent, carried=carried,
                        percent=round(100 * share, 1)))
    if collector.peer_silent:
        notes.append(ev(CaptureFact.PEER_SILENT, connections=collector.peer_silent))
    if collector.unproven[0]:
        notes.append(ev(CaptureFact.GAP_UNPROVEN, connections=collector.unproven[0],
                        missing=collector.unproven[1]))
    return notes


def _stopped(name: str, stats: ReadStats) -> Evidence:
    """Where Ctrl-C stopped the reading: after which frame, how far into the file; for a
    text, after which of its lines (read whole: no share of the file)."""
    if stats.text is None:
        return ev(CaptureFact.READING_STOPPED, file=name, frames=stats.frames,
                  read=stats.stopped_at if stats.stopped_at is not None else -1,
                  size=stats.size or -1)
    cut = stats.text.parse.stopped_at    # (the parse itself was stopped: its last line)
    return ev(CaptureFact.READING_STOPPED, file=name,
              frames=cut - 1 if cut is not None else stats.frames,
              read=-1, size=-1, lines=stats.text.parse.lines)
