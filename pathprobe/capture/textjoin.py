"""Packet lines broken over two or more lines, as mail and case tools wrap pasted text:
joined again before the text is read. Pure, no I/O.

A mailer wraps at 72 to 78 columns, at a space (kept at the end of the line, or dropped);
a terminal or ``fold -w`` breaks every long line at one column, anywhere, a number too.
Read as they come, the pieces of a tcpdump or ASA/FTD line lose what follows the break:
its length, options, an ICMP error's MTU; the lab's reset story wrapped at 76 columns
read as healthy. A packet line is joined with the lines below it that start nothing of
their own while it reads cut short (a tcpdump line without its ``length N``, an ASA line
without its window, a bracket left open) or while each piece filled the column a fold
broke every long line at; it is kept if it then reads whole, or a fold broke it.

Whether a mailer dropped the space at the breaks is read off the text: joined both ways,
the way whose fields read better wins. Where the text cannot tell, the pieces are joined
as they are: two words glued lose a field, a space put into a number would change it.
The pieces become blank lines above the joined line, so what lies below it (a hex dump,
a quoted packet) follows it as before; its packet cites the first piece's line.

A Wireshark/tshark packet-list row is joined the same way: while a fold broke it (every
broken row as wide, counted in characters or, as coreutils' fold counts, in bytes: the
arrows are three), while it reads cut short (a TCP row without its ``Len=``, a bracket
left open, a request without its version), while the next line reads as the rest of its
Info column (``MSS=1460``, ``SACK_PERM``, ``[TCP ...]``, ``HTTP/1.1``), or while the next
line's first word would not have fitted on the line above within the text's widest line
(a mailer's break). A mailer breaks rows at spaces, so a space it dropped is put back.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Sequence

from pathprobe.capture.textdecode import ESCAPED_BYTES, mended
from pathprobe.capture.textforms import BLANKS_LEFT, TD_START
from pathprobe.capture.textpacket import TIME
from pathprobe.capture.textrows import ROW, csv_row

JOIN_MAX = BLANKS_LEFT   # pieces one packet line may have been broken into
WHOLE_READS = 3     # what a line that reads whole counts for, against its fields read
# What tcpdump may print before a packet's addresses: MPLS labels, an IP packet cut short
_TD_PREFIX = r"(?:MPLS \([^()]*\) )*(?:IP truncated-[\w-]+ - \d+ bytes missing! )?"
# A line that starts a packet: tcpdump's (IP addresses, -v's IP header line or the
# quoted packet's, indented; -e's link header; a time it could not print) and ASA/FTD
# 'show capture' (numbered, then the time)
_OPENS = re.compile(r"^\s+\((?:tos|flowlabel|hlim|class) |(?:\[Error converting time\] )?"
                    + TD_START[1:] + _TD_PREFIX
                    + r"(?:IP6? \((?:tos|flowlabel|hlim|class) |IP6? \S+ > \S+:"
                    r"|(?:IP6? |(?<=missing! ))\S+(?: >)?\s*$"
                    r"|(?:IP6? )?\S+\.[\w-]+ >(?: \S+\.[\w-]+:|\s*[\w.:-]*$)"
                    r"|\S+ > \S+ (?:icmp6?|udp):? "
                    r"|(?P<link>(?:ifindex \d+ )?[0-9a-f]{2}(?::[0-9a-f]{2}){5}[ ,]))")
_ASA_OPENS = re.compile(r"^\s*\d{1,10}: \d{1,2}:\d\d:\d\d\.\d+\s+\S+"
                        r"(?: > \S+?:?(?: |$)|(?: >)?\s*$)")
_VHEAD = re.compile(TD_START + r"(?:IP6? )?\((?:tos|flowlabel|hlim|class) ")
_TD_WHOLE = re.compile(r", length \d+(?:$|(?=[\s,)A-Z])|: \S)|\[\|\w+\]|\btcp \d+\s*$"
                       r"|\[bad opt\]\]?\s*$"     # (tcpdump stops at options it cannot read)
                       r"|ICMP6, (?:echo (?:request|reply), id \d+, seq \d+"
                       r"|packet too big, mtu \d+)\s*$")
# ... an HTTP line tcpdump decoded, cut before its version or status (the CONNECT target)
_TD_HTTP_CUT = re.compile(r": HTTP:(?: [A-Z]+(?: \S+)?| HTTP/\d\.\d(?: \d{3})?)?\s*$")
_LINK_LENGTH = re.compile(r", length \d+:(?: |$)")
_LINK_LENGTH_END = re.compile(r", length \d+:$")
_ASA_WHOLE = re.compile(r"\bwin \d+\b|\budp \d+|\bicmp6?: (?:echo|time|.*\bunreachable"
                        r"(?:.*\(mtu \d+\))?\s*$)")
_CLASSIC = re.compile(r"\d: (?:[SFPRWEU]{1,7}|\.)(?: \[[^\]]*\])?(?: \d| ack \d|\s*$)| icmp6?: ")
# ... and what may follow a line that looks whole: its options, an MTU, its IP header
_ASA_TAIL = ("<", "- need to frag", "(mtu ", "(DF)", "(ttl ")
# A packet line's fields, tcpdump's and ASA/FTD's; and a span of sequence numbers with its
# length ("seq 1:139, ... length 138"; "1:139(138)")
_FIELDS = tuple(re.compile(f) for f in (
    r"Flags \[[^\]\s]*\]", r"\b(?:seq|ack|win|length|mss|mtu|wscale|ttl|hlim|id) \d+\b",
    r"\bTS val \d+ ecr \d+\b", r"\btimestamp \d+ \d+\b", r"\b(?:sackOK|nop)\b",
    r" \(mtu \d+\)", r"\b(?:need to frag|unreachable|echo (?:request|reply))\b",
    r"ethertype IPv[46] \(", r"payload length: \d", r"\), length \d",
    r"\], (?:proto|seq|ack|win|length|options|cksum)\b",
    r"\) \S+ > \S+: ", r"\S > \S", r"\b(?:sum ok|cksum 0x[0-9a-f]+|ethertype IPv[46])\b", r"\] \w"))
_SPANS = re.compile(r"\bseq (\d{1,10}):(\d{1,10})\b.*?\blength (\d{1,10})\b"
                    r"|\b(\d{1,10}):(\d{1,10})\((\d{1,10})\)")
# tcpdump -A's payload below a packet line: its IP header's bytes as text ("E..<")
_A_PAYLOAD = re.compile(r"^[E-O`]\.")
# What starts a line of its own: a time, an ASA/FTD packet number, a hex dump's offset
_OWN_LINE = re.compile(r"^\s*(?:(?:\d{4}-\d\d-\d\d[ T])?\d{1,2}:\d\d:\d\d\b|\d{9,10}\.\d+\s"
                       r"|\d{1,10}: \d|0x[0-9a-f]{4}(?::\s|\t)|[0-9a-f]{4}  [0-9a-f]{2} "
                       r"|\[Error converting time\])")


def unwrapped(lines: Sequence[str]) -> tuple[list[str], dict[int, int]]:
    """``lines`` with each broken packet line whole again (where it then reads whole, or a
    fold broke it) where its last piece was (what lies below it, a hex dump or a quoted
    packet, follows it as before) and blank lines where its other pieces were; and for
    each joined line, its number -> the number of its first piece, which packets cite."""
    out = list(lines)
    starts: dict[int, int] = {}
    width, spaced = _breaks(out)
    i = 0
    while i < len(out):
        below = out[i + 1] if i + 1 < len(out) else ""
        # (most lines: the next line starts one of its own; only then is this one looked at)
        if not (_piece(below, True) or out[i].rstrip().endswith(":")) or not _opens(out[i]):
            i += 1
            continue
        joined, j = out[i], i + 1
        while j < len(out) and j - i < JOIN_MAX:
            folded = len(out[j - 1]) == width    # (the piece above filled the column)
            if not (folded or _cut_short(joined) or _classic_tail(joined, out[j])
                    or _header_only(joined)) or not (
                    _piece(out[j], folded) or _link_only(joined, out[j])):
                break
            joined = _join(joined, out[j], spaced)
            j += 1
        if j > i + 1 and (_whole(joined) or (_opens(joined) and len(out[j - 2]) == width)):
            out[i:j] = [""] * (j - i - 1) + [joined]
            starts[j] = i + 1
        i = max(j, i + 1)
    _rows_unwrapped(out, starts)
    _csv_unwrapped(out, starts)
    return [mended(x) if ESCAPED_BYTES.search(x) else x for x in out], starts


def _breaks(lines: Sequence[str]) -> tuple[int, bool]:
    """How the text was broken: (the column a terminal or fold broke every long line at,
    else 0; whether a mailer dropped the space at each break). Whether to put a space
    back is read off the lines: joined both ways, the way whose fields read better
    ("Flags[S]" and "val1497457704" read as nothing; "length 13 8" as the wrong length).
    A fold leaves every packet line it broke exactly as wide, and no line wider."""
    broken = [i for i in range(len(lines) - 1) if _piece(lines[i + 1], True)
              and not _A_PAYLOAD.match(lines[i + 1]) and _opens(lines[i])]
    as_is = with_space = 0
    middles: set[int] = set()    # the widths of pieces that go on below them
    for i in broken:
        direct = spaced = lines[i]
        pieces: list[int] = []
        for piece in lines[i + 1:i + JOIN_MAX]:
            if not _piece(piece, True) or _A_PAYLOAD.match(piece) or (pieces and (
                    _whole(direct) or _whole(spaced)) and not _header_only(spaced)):
                break
            direct, spaced = _join(direct, piece, False), _join(spaced, piece, True)
            pieces.append(len(piece))
        middles.update(pieces[:-1])
        as_is += _reads(direct) + WHOLE_READS * _whole(direct)
        with_space += _reads(spaced) + WHOLE_READS * _whole(spaced)
    # (a fold may break a line that looks whole, in its last number: "length 14" / "48")
    width, _ = _fold_width(lines, broken, len)
    if with_space > as_is or middles - {width} or any(
            len(lines[i]) != width for i in broken if _cut_short(lines[i])):
        width = 0
    return width, with_space > as_is


def _fold_width(lines: Sequence[str], broken: Sequence[int],
                measure: Callable[[str], int]) -> tuple[int, int]:
    """The width most broken lines share and no line exceeds, in ``measure``, and how many
    share it (two at least); (0, 0) when there is none: a fold breaks every long line at
    one column."""
    widths = Counter(measure(lines[i]) for i in broken)
    width, count = widths.most_common(1)[0] if widths else (0, 0)
    if count < 2 or 2 * count < len(broken) or any(measure(x) > width for x in lines):
        return 0, 0
    return width, count


def _reads(line: str) -> int:
    """How many of a packet line's fields read, and a point more for each length that
    agrees with the sequence numbers around it."""
    n = sum(len(f.findall(line)) for f in _FIELDS)
    for m in _SPANS.finditer(line):
        start, end, length = (int(g) for g in m.groups() if g is not None)
        n += 2 * (end - start == length)
    return n


def _opens(line: str) -> bool:
    return _OPENS.match(line) is not None or _ASA_OPENS.match(line) is not None


def _whole(line: str) -> bool:
    """A packet line, and not cut short."""
    return _opens(line) and not _cut_short(line)


def _classic(line: str) -> bool:
    """An ASA/FTD 'show capture' line, or old tcpdump's ("S 1:1(0) win ...", ". ack 1",
    "icmp: ..."): whole at its window, not at a length."""
    return _ASA_OPENS.match(line) is not None or (
        _OPENS.match(line) is not None and _CLASSIC.search(line) is not None
        and "Flags" not in line and ", length" not in line and _VHEAD.match(line) is None)


def _cut_short(line: str) -> bool:
    """A packet line that lacks its end: a tcpdump line its length (after -e's link
    header, the packet's), an ASA/FTD line its window or protocol, any a bracket it opened
    (options, -v's IP header, an MTU)."""
    if _classic(line):
        whole = _ASA_WHOLE.search(line) is not None
    elif (m := _OPENS.match(line)) is not None:
        rest = _after_link(line) if m.group("link") else line
        if _VHEAD.match(line):   # (-v: an IPv6 header on the packet's line)
            rest = _after_header(line)
        whole = (_TD_WHOLE.search(rest) is not None and not _TD_HTTP_CUT.search(rest)) or (
            not rest and _VHEAD.match(line) is not None)
    else:
        return False
    # (not the arrow between the addresses, nor tcpdump's "caplen(24) < header length")
    angles = line.count("<") - line.count(" < ") - line.count(">") + line.count(" > ")
    return not whole or line.count("(") > line.count(")") or \
        line.count("[") > line.count("]") or angles > 0


def _after_link(line: str) -> str:
    """What follows -e's link header ("..., length 74: "): the packet; "" if not there."""
    link = _LINK_LENGTH.search(line)
    return line[link.end():] if link is not None else ""


def _after_header(line: str) -> str:
    """What follows -v's IP header in parentheses (an IPv6 packet's line); "" if nothing
    (or the header is not closed)."""
    depth = 0
    for k, ch in enumerate(line):
        depth += (ch == "(") - (ch == ")")
        if ch == ")" and depth == 0:
            return line[k + 1:].strip()
    return ""


def _header_only(line: str) -> bool:
    """-v's IP header, closed, and nothing after it on the line: an IPv6 packet's line
    broken there (an IPv4 packet's follows on an indented line of its own)."""
    return _VHEAD.match(line) is not None and line.rstrip().endswith(")") \
        and not _after_header(line)


def _classic_tail(line: str, piece: str) -> bool:
    """An ASA/FTD line that looked whole, and below it its TCP options, an ICMP error's
    MTU or the IP header's flags, broken off."""
    return piece.lstrip().startswith(_ASA_TAIL) and _classic(line)


def _link_only(line: str, below: str) -> bool:
    """-e's link header broken off its packet, which starts the line below."""
    m = _OPENS.match(line)
    return m is not None and bool(m.group("link")) and not _after_link(line) \
        and _LINK_LENGTH.search(line) is not None and _OPENS.match(below) is not None \
        and not _OWN_LINE.match(below)


def _piece(line: str, folded: bool) -> bool:
    """A line that may continue the one above: not blank, nothing that starts a line of
    its own; indented (as tcpdump's own continuation lines are) only below a line that
    filled the terminal's column."""
    return bool(line.strip()) and not _OWN_LINE.match(line) and not _opens(line) \
        and (folded or not line.startswith(("\t", "  ")))


def _join(line: str, piece: str, spaced: bool) -> str:
    """Two pieces of a line: as they are, or with the space a mailer dropped between two
    words (``spaced``; always after -e's link length, which tcpdump follows by one); never
    inside a character cut in two (only a fold counting bytes cuts one)."""
    if (spaced or _LINK_LENGTH_END.search(line)) and not line[-1:].isspace() \
            and not piece[:1].isspace() and not ESCAPED_BYTES.match(piece):
        return line + " " + piece
    return line + piece


# --- Wireshark/tshark packet-list rows -----------------------------------------------------

_ROW_START = re.compile(r"^\s*(?:\d+\s+)?(?:" + TIME + r")\s")
_ROW_HEADER = re.compile(r"^\s*(?:No\.\s+)?Time\s+Source\b")
# What may follow a row that looks whole: its TCP options, a bracketed note, the version of
# a request
_ROW_TAIL = re.compile(r"^\s*(?:[A-Za-z_][\w.]*=\S|SACK_PERM\b|\[|HTTP/\d)")
_ROW_FIELDS = tuple(re.compile(f) for f in (
    r"\b(?:Seq|Ack|Win|Len|MSS|WS|TSval|TSecr|SLE|SRE)=\d+\b", r"\[(?:[A-Z]{3}, )*[A-Z]{3}\]",
    r"\bSACK_PERM\b", r"\bHTTP/\d\.\d\b", r"\d\s*(?:\u2192|->|>)\s*\d+\s+\[[A-Z]"))
_ROW_CUT = re.compile(r"\[[^\]]*$|=$|^(?:CONNECT|GET|POST|HEAD|PUT|OPTIONS|DELETE)(?: \S+)?\s*$")


def _rows_unwrapped(out: list[str], starts: dict[int, int]) -> None:
    """Join, in ``out``, the packet-list rows broken over lines (as ``unwrapped``); a row
    broken before its Protocol column (long IPv6 addresses) is joined where a fold or a
    mailer's break shows, and kept only if it then reads as a row."""
    broken = [i for i in range(len(out) - 1) if _row_piece(out[i + 1]) and (
        _row(out[i]) or (_ROW_START.match(out[i]) and not _opens(out[i])))]
    if not broken:
        return
    width, measure = _row_fold(out, broken)
    widest = max(map(_chars, out))
    spaced = bool(width) and _rows_spaced(out, broken, _row_pieces)
    done = 0
    for i in broken:
        if i < done:
            continue
        joined, j = out[i], i + 1
        while j < len(out) and j - i < JOIN_MAX and _row_piece(out[j]):
            folded = bool(width) and measure(out[j - 1]) == width
            if not (folded or (_overflows(out[j - 1], out[j], widest)
                               and not _remark_below(joined, out[j])) or (
                    _row(joined) and (_row_cut(joined) or _ROW_TAIL.match(out[j])))):
                break
            joined = _join(joined, out[j], spaced or not folded)
            j += 1
        if j > i + 1 and _row(joined):
            out[i:j] = [""] * (j - i - 1) + [joined]
            starts[j] = i + 1
        done = j


def _rows_spaced(out: Sequence[str], broken: Sequence[int],
                 pieces_of: Callable[[Sequence[str], int], list[str]]) -> bool:
    """Rows all broken at one column may still be a mailer's (rows alike, broken alike):
    the pieces joined both ways, whether the fields read better with a space put back
    ("Seq=766Ack=1240" reads as nothing; "MSS=14 60" and "MSS=1460" read alike)."""
    glued = spaced = 0
    for i in broken:
        pieces = pieces_of(out, i)
        glued += _row_reads("".join([out[i], *pieces]))
        spaced += _row_reads(" ".join([out[i], *pieces]))
    return spaced > glued


def _row_pieces(out: Sequence[str], i: int) -> list[str]:
    return list(itertools.takewhile(_row_piece, out[i + 1:i + JOIN_MAX]))


def _row_reads(row: str) -> int:
    return sum(len(f.findall(row)) for f in _ROW_FIELDS)


def _row(line: str) -> re.Match[str] | None:
    """A row, or one broken right after its Length column (the Info on the next line)."""
    return ROW.match(line) or ROW.match(line + " ")


def _chars(line: str) -> int:
    return len(line.expandtabs())


def _bytes(line: str) -> int:
    return len(line.expandtabs().encode("utf-8", "surrogateescape"))


def _row_fold(out: Sequence[str], broken: Sequence[int]) -> tuple[int, Callable[[str], int]]:
    """The column a fold broke every long row at (0: none), in the measure it counted in
    (the one more broken rows agree on: columns, bytes as coreutils' fold counts them, or
    characters with a tab as one): most broken rows exactly that wide, none wider. When
    first pieces agree in more than one measure (no whole arrow in them), the one in which
    more lines of all are that wide (the middle pieces too) is the fold's."""
    best: tuple[int, tuple[int, int], Callable[[str], int]] = (0, (0, 0), _chars)
    measures: tuple[Callable[[str], int], ...] = (_chars, _bytes, len)
    for measure in measures:
        width, count = _fold_width(out, broken, measure)
        score = (count, sum(measure(x) == width for x in out) if count else 0)
        if score > best[1]:
            best = (width, score, measure)
    return best[0], best[2]


def _overflows(line: str, piece: str, widest: int) -> bool:
    """The piece's first word would not have fitted on the line: a mailer's break (a line of
    the widest, followed by no line of its own, is taken for one too)."""
    return _chars(line.rstrip()) + 1 + _chars(piece.split()[0]) > widest


def _row_piece(line: str) -> bool:
    """A line that may continue a row: not blank, nothing that starts a line of its own."""
    return bool(line.strip()) and not _ROW_START.match(line) and not _OWN_LINE.match(line) \
        and not _ROW_HEADER.match(line) and not _opens(line)


def _row_cut(row: str) -> bool:
    """A row that lacks its end: a TCP row its ``Len=``, any a bracket it opened, a request
    its version."""
    m = _row(row)
    if m is None:
        return False
    info = m.group("info")
    if not info:
        return True
    return (m.group("proto") == "TCP" and "Len=" not in info) or _ROW_CUT.search(info) is not None


def _remark_below(row: str, line: str) -> bool:
    """A line below a TCP row that reads whole, with nothing of a row in it: a remark typed
    below the widest row, not the rest of that row."""
    m = _row(row)
    return (m is not None and m.group("proto") == "TCP" and not _row_cut(row)
            and not _ROW_TAIL.match(line) and not _row_reads(line)
            and not line.lstrip()[:1].isdigit())


# --- the packet list exported as CSV ---------------------------------------------------------

_CSV_START = re.compile(r'^\s*"\d')               # a row, or a piece that starts with a field
_CSV_ROW_START = re.compile(r'^\s*"\d+","\d')   # a row with its No. and Time


def _csv_open(line: str, below: str) -> bool:
    """A CSV row cut short: a quoted field left open, a comma last, or one first below."""
    return line.count('"') % 2 == 1 or line.rstrip().endswith(",") or below.startswith(",")


def _csv_pieces(out: Sequence[str], i: int) -> list[str]:
    """The lines below ``out[i]`` that it takes in while it is cut short."""
    pieces: list[str] = []
    row = out[i]
    for line in out[i + 1:i + JOIN_MAX]:
        if not _csv_open(row, line) or not line.strip() or _CSV_ROW_START.match(line):
            break
        row += line
        pieces.append(line)
    return pieces


def _csv_unwrapped(out: list[str], starts: dict[int, int]) -> None:
    """Join, in ``out``, the rows of Wireshark's CSV export broken over lines (every field is
    quoted, so a row cut short shows it). Within a field, a space goes back where a mailer
    dropped it: where the row's fields read better with it, or (alike both ways) where the
    piece above did not fill the fold's column, unless the row then reads as none (a fold
    inside an address). Between fields there is none to put back."""
    broken = [i for i in range(len(out) - 1)
              if _CSV_START.match(out[i]) and _csv_open(out[i], out[i + 1])]
    if not broken:
        return
    width, measure = _row_fold(out, broken)
    done = 0
    for i in broken:
        if i < done:
            continue
        pieces = _csv_pieces(out, i)
        j = i + 1 + len(pieces)
        glued = _row_reads("".join([out[i], *pieces])) - _row_reads(" ".join([out[i], *pieces]))
        for tie_spaced in (True, False) if not glued else (True,):   # (a tie: tried both)
            joined = out[i]
            for k, piece in enumerate(pieces):
                folded = bool(width) and measure(out[i + k]) == width
                spaced = glued < 0 or (not glued and tie_spaced and not folded)
                joined = _join(joined, piece, spaced and joined.count('"') % 2 == 1)
            if pieces and ROW.match(csv_row(joined)):
                out[i:j] = [""] * (j - i - 1) + [joined]
                starts[j] = i + 1
                break
        done = j
