"""Sentences for what `analyze` notes of a capture as a whole: the reader's count, what the
capture lacks or holds besides connections (pathprobe.facts.capture, "the reader and the
analysis as a whole")."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template, counted


def _seconds(v: Mapping[str, Number]) -> float:
    x = v.get("seconds")
    return float(x) if isinstance(x, (int, float)) else 0.0


def _capture_paused(v: Mapping[str, Number]) -> str:
    seconds = _seconds(v)
    what = (f"time jumps back {-seconds:.0f} s" if seconds < 0 else
            f"the capture holds no packet at all for {seconds:.0f} s")
    return (f"between frames {v.get('frame')} and {v.get('after')} {what}: it stopped, or was "
            "merged from pieces; a connection's silence across it is not read as a stall")


def _snap_cut(v: Mapping[str, Number]) -> str:
    proxy = v.get("proxy")
    hint = (f"; if {proxy} is a proxy, say so with --proxy {proxy} and the report names "
            "the legs" if proxy else "")
    count = v.get("count")
    conns = counted(count if isinstance(count, int) else 0, "connection")
    return (f"{conns} whose first words (a request, a proxy's answer, a TLS hello) could "
            "not be read, cut short by the capture's snap length (the "
            f"first at frame {v.get('frame')}: {v.get('kept')} of its {v.get('length')} "
            "payload bytes kept): roles and targets there are inferred from SYNs and ports"
            f"{hint}; sizes come from the IP headers and stand (tcpdump -s 0 keeps whole "
            "frames)")


def _unpacked(v: Mapping[str, Number]) -> str:
    others = v.get("others")
    left = (f" (the {counted(others, 'other file')} in it left unread)"
            if isinstance(others, int) and others else "")
    return f"{v.get('member')} read out of the {v.get('kind')} archive {v.get('archive')}{left}"


def _reading_stopped(v: Mapping[str, Number]) -> str:
    read, size = v.get("read"), v.get("size")
    how_far = (f" ({read / 1e6:,.0f} of its {size / 1e6:,.0f} MB)"
               if isinstance(read, int) and isinstance(size, int) and read >= 0 and size > 0
               else "")
    lines = v.get("lines")   # (a text: 'frame' reads 'line' there)
    of = f" of {lines}" if isinstance(lines, int) and lines > 0 else ""
    return (f"Ctrl-C stopped the reading of {v.get('file')} after frame {v.get('frames')}"
            f"{of}{how_far}: this "
            "report covers the frames before it; connections still open there were judged "
            "as they stood (as at the end of a capture)")


TEXT: dict[CaptureFact, Template] = {
    CaptureFact.READING_STOPPED: _reading_stopped,
    CaptureFact.CAPTURE_READ:
        "{file}: {frames:#frame}, {chosen} of {total:#TCP connection} analysed",
    CaptureFact.UNPACKED: _unpacked,
    CaptureFact.CAPTURE_TRUNCATED: "capture truncated: {detail}",
    CaptureFact.UNSUPPORTED_FRAMES:
        "{count:#frame} on interfaces of unsupported link types skipped",
    CaptureFact.TABLE_LIMITED:
        "table shows {shown} of {chosen:#connection} (up to {max_rows} with problems and "
        "{max_rows} healthy; --max-rows 0 shows all)",
    CaptureFact.FRAGMENTS_SEEN: "{count:#IP fragment} in the capture (first at frame {frame})",
    CaptureFact.TSO_LENGTHS:
        "{count:#IPv4 packet} with a total length of 0 (first at frame {frame}): captured on "
        "the sender before segmentation offload (TSO/LSO) filled it in, so read at the length "
        "captured; on the wire the NIC cut them to the MSS (ethtool -K IFACE tso off gso off "
        "to capture wire sizes)",
    CaptureFact.PACKETS_TWICE:
        "{count:#packet} captured twice, where a copy would pass for a resend (the first "
        "copy at frame {frame}): the same IP packet again within 1 ms, byte for byte but for "
        "the hop count, with the same IPv4 identification or through another interface, as "
        "a capture on two interfaces of one path records it ('tcpdump -i any' where a "
        "bridge or VLAN interface carries it, a SPAN session of both directions) or a tool "
        "that sends one packet over and over; each was counted once, not as a retransmission",
    CaptureFact.CAPTURE_PAUSED: _capture_paused,
    CaptureFact.CAPTURE_LOSS:
        "{connections} connection(s) with bytes the peer acknowledged that the capture never "
        "showed ({missing} bytes in all): the capture dropped packets (tcpdump -B, a larger "
        "buffer, or a snap length of 400 helps), the network delivered them",
    CaptureFact.LOSSY_TRANSFERS:
        "{connections} connection(s) without a finding resent 2% or more of what they carried "
        "(the most: {sender}, {resent} of {carried} bytes, {percent}%): loss on the path, which "
        "slows transfers down but is no size (the same segments arrived in the end), or a "
        "capture that shows some packets twice",
    CaptureFact.GAP_UNPROVEN:
        "{connections} connection(s) with bytes that never showed up ({missing} bytes in all) "
        "and no acknowledgement of the receiver's after them in the capture: the capture "
        "missed them or the network lost them, and nothing here tells which (a capture of "
        "both directions does)",
    CaptureFact.ONE_WAY:
        "{connections} connection(s) captured in one direction only: not one packet of the "
        "other side, whose bytes the acknowledgements show were sent and delivered (a "
        "capture filter, or routing that takes the other direction past another point)",
    CaptureFact.PEER_SILENT:
        "{connections} connection(s) without a finding whose data was sent again and never "
        "acknowledged, while the other side sent not one packet in this capture: a capture "
        "of one direction, or a peer that is gone or cut off; this capture cannot tell which, "
        "nor whether size has a part in it",
    CaptureFact.UNRESENT_ONE_WAY:
        "{connections} connection(s) whose data was never sent again although not one packet "
        "of the other side was captured in the 3 s or more that followed: a sender without an "
        "ACK resends within seconds, so each got one; the capture lacks that direction (a "
        "filter, or routing past another point) and cannot show what came back",
    CaptureFact.CUT_OFF:
        "{connections} connection(s) whose last captured packet is data never acknowledged "
        "and never sent again in the 3 s or more that followed: a sender without an ACK "
        "resends within seconds, so each got one; the connection went on beyond the capture "
        "(flows cut to their first packets, a capture filter, packets the capture dropped), "
        "and its silence proves no stall",
    CaptureFact.ZERO_WINDOW:
        "{connections} connection(s) ended with the receiver's window closed (a window of 0: "
        "its application stopped reading, so the sender could not send; the longest, "
        "{receiver}, for {seconds} s toward {sender}): a silence there is the receiver's, "
        "not the path's, and not judged a stall",
    CaptureFact.NO_TCP: "{packets} IP packets, no TCP connection in the capture",
    CaptureFact.TCP_HEADER_CUT:
        "{count:#TCP packet} whose TCP header is cut short (first at frame {frame}): a snap "
        "length too small for it, damaged packets, or (in text, which does not show it) a "
        "first IP fragment that holds only part of it; they are not analysed",
    CaptureFact.SNAP_CUT: _snap_cut,
    CaptureFact.TCP_STRAYS:
        "no TCP connection to analyse: the {count:#TCP packet} carry no data and no SYN (ACKs, "
        "FINs or resets of connections whose start the capture missed)",
    CaptureFact.LEG2_JOINED:
        "captured on the proxy: {joined} connection(s) from the proxy to the upstream joined "
        "to the client's request by time, requested host and port (leg 2 rows)",
    CaptureFact.TTL_EXCEEDED:
        "frame {frame}: TTL exceeded at {router} on the way to {dst}",
    CaptureFact.CONNECTIONS_SHED:
        "more than {max_connections:#connection} open at once: {count} judged early, "
        "as they stood ({syn_only} had sent only a SYN; idle ones first), to bound memory; "
        "raise --max-connections to follow more at once",
}
