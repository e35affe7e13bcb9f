"""What `analyze` says about capture text (sentences: pathprobe.render.evidence.text).

Text is not a capture: it holds no payload bytes, shows only the packets someone
copied, and leaves out whatever the tool did not print. These facts say, each
time, what the text could not prove.
"""

from __future__ import annotations

from pathprobe.compat import StrEnum


class TextFact(StrEnum):
    """Observations about a text input; each value is stable (JSON `facts[].fact`)."""

    TEXT_READ = "text-read"                    # {file}: {forms}, {packets} packets, {lines}
    NO_PAYLOAD = "text-no-payload"             # content known only where a line names it
    HEX_PAYLOAD = "text-hex-payload"           # {count} packets' bytes read from hex dumps
    LOSS_UNKNOWN = "text-loss-unknown"         # retransmissions only from seq numbers/marks
    SEQ_INFERRED = "text-seq-inferred"         # {count} lines without seq (first: {line})
    LENGTH_ESTIMATED = "text-length-estimated"  # {count} rows: Length - {overhead} bytes
    SIZES_ASSUMED = "text-sizes-assumed"       # {count} data lines showed no TCP options
    NO_TIMES = "text-no-times"                 # {count} lines without a time
    TIME_OUTLIERS = "text-time-outliers"       # {count} lines a day off both neighbours
    HTTP_STANDALONE = "text-http-standalone"   # {count} HTTP heads on their own lines
    HTTP_ORPHAN = "text-http-orphan"           # {count} answers before any request/packet
    UNPARSED = "text-unparsed"                 # {count} lines skipped (first: {line})
    ROWS_AMBIGUOUS = "text-rows-ambiguous"     # {count} rows fit several: a guess
    ENDS_UNACKED = "text-ends-unacked"         # {payload} bytes from {sender} never acked
    ICMP_UNQUOTED = "text-icmp-unquoted"       # {count} ICMP errors without their quote
    OFFLOAD_UNPRINTED = "text-offload-unprinted"   # {count} 'IP bad-len 0' lines (TSO)
    ICMP_QUOTE_ASSUMED = "text-icmp-quote-assumed"  # line {frame}: taken to answer {src} > {dst}
    ICMP_QUOTE_UNKNOWN = "text-icmp-quote-unknown"  # line {frame}: what it answers is unknown
    ICMP_MTU_UNSHOWN = "text-icmp-mtu-unshown"  # line {frame}: a frag-needed row, no MTU shown
    PING_DF_UNSHOWN = "text-ping-df-unshown"   # {count} IPv4 pings without DF shown
    PING_DF_ASSUMED = "text-ping-df-assumed"   # the verdict's pings taken as DF
    PING_SIZE_ESTIMATED = "text-ping-size-estimated"  # {count} rows: Length - {overhead}
    PING_RUN_DF_UNSHOWN = "text-ping-run-df-unshown"  # {count} {system} ping runs, DF not shown
    PING_RUN_NO_DF = "text-ping-run-no-df"     # {count} {system} ping runs sent without DF
    PING_MTU_UNSHOWN = "text-ping-mtu-unshown"  # line {frame}: 'could not fragment', no MTU
    PING_LOCAL_MTU = "text-ping-local-mtu"     # line {frame}: the sender refused it, mtu {mtu}
    PING_LOCAL_REFUSED = "text-ping-local-refused"  # line {frame}: so did Windows', no MTU shown
    PING_REFUSED = "text-ping-refused"         # {count} pings the sender refused, as told
    PING_SWEEP_UNSIZED = "text-ping-sweep-unsized"  # line {line}: {count} pings, {sizes} sizes
    PING_RUN_UNREAD = "text-ping-run-unread"   # {count} runs with lines not read (first {line})
    TRACE_LOCAL_MTU = "text-trace-local-mtu"   # line {frame}: [LOCALHOST] pmtu {mtu}
    TRACE_NO_REPLY = "text-trace-no-reply"     # line {line}: no reply from hop {hop} on
    TRACE_MTU_CHANGE = "text-trace-mtu-change"  # line {frame}: traceroute's F={mtu}
    PROBE_DF_UNSHOWN = "text-probe-df-unshown"  # {count} probes reached, DF not shown
    FIREWALL_DROPS = "text-firewall-drops"     # {count} shown dropped by the ASA/FTD itself
    RST_UNTIMED = "text-rst-untimed"           # line {frame}: RST next, no time shown
    CITED_DROPPED = "text-cited-dropped"       # line {frame}, cited, was one of those ({reason})
    PROXY_UNSEEN = "text-proxy-unseen"         # line {frame}: {server}:{port} taken as direct
    HEALTHY_UNTIMED = "text-healthy-untimed"   # {count} data lines without a time: no stall seen
