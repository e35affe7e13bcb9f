"""Observations of the `capture` step (sentences: pathprobe.render.evidence.capture).

Values that cite a packet carry its number as ``frame`` (and in ``Evidence.frames``);
``sender``/``server``/``client`` are addresses as the capture shows them.
"""

from __future__ import annotations

from pathprobe.compat import StrEnum


class CaptureFact(StrEnum):
    """What the capture step can observe; each value is stable (JSON `facts[].fact`)."""

    # --- the handshake ----------------------------------------------------------------
    SYN_SENT = "syn-sent"                          # frame: SYN to {server}:{port}
    SYN_ANSWERED_BY_RST = "syn-answered-by-rst"
    SYNACK_IGNORED = "synack-ignored"              # {frame}: unacknowledged, SYN again {again}
    SYN_UNANSWERED = "syn-unanswered"              # sent {count} times, no SYN-ACK
    SYN_MSS = "syn-mss"                            # SYN from {sender} carries MSS {mss}
    SYNACK_MSS = "synack-mss"                      # SYN-ACK from {sender} carries MSS {mss}
    CLAMP_WHO_UNKNOWN = "clamp-who-unknown"        # one capture point cannot tell who
    # --- the proxy's answer -------------------------------------------------------------
    CONNECT_SENT = "connect-sent"                  # CONNECT {target} (with_auth, retransmits)
    PROXY_ANSWERED = "proxy-answered"              # proxy answered {status} {reason}
    AUTH_SCHEMES = "auth-schemes"                  # schemes offered (head_complete)
    FMC_SCHEMES_UNSUPPORTED = "fmc-schemes-unsupported"
    CREDENTIALS_REJECTED = "credentials-rejected"
    NO_CREDENTIALS_SENT = "no-credentials-sent"
    UPSTREAM_UNREACHABLE = "upstream-unreachable"  # the proxy could not reach {target}
    POLICY_REFUSES = "policy-refuses"              # the proxy's policy refuses {target}
    NO_HTTP_ANSWER = "no-http-answer"              # and how the connection ended
    CONNECT_NEVER_ACKED = "connect-never-acked"
    # --- transport on the captured leg --------------------------------------------------
    ICMP_FRAG_NEEDED = "icmp-frag-needed"          # {router}: next hop MTU {mtu} for {size}
    ICMP_FRAG_NEEDED_NO_MTU = "icmp-frag-needed-no-mtu"  # {router}: {size} did not fit
    ICMP_TOO_BIG_FITS = "icmp-too-big-fits"        # ... though {size} fits {mtu}: ignored
    ICMP_MTU_BELOW_LINK_MIN = "icmp-mtu-below-link-min"  # {mtu} < {minimum}: lowers nothing
    PMTUD_WORKS = "pmtud-works"                    # packets up to {delivered} acknowledged
    LARGE_SEGMENT = "large-segment"                # {payload}-byte segment ({size} packet)
    RST_AFTER_LARGE = "rst-after-large"            # RST {delay_ms} ms later, before any ACK
    RST_THRESHOLD_ABOVE = "rst-threshold-above"    # up to {delivered} acked, threshold <= {size}
    RST_NOTHING_SMALLER = "rst-nothing-smaller"    # no smaller segment of {sender} acked first
    LARGE_RETRANSMITTED = "large-retransmitted"    # retransmitted {count} times, never acked
    BLACKHOLE_BRACKET = "blackhole-bracket"        # {delivered} <= path MTU < {size}
    DATA_AFTER_GAP = "data-after-gap"              # {missing} bytes never showed up
    SMALLER_ARRIVED = "smaller-arrived"            # segments up to {max_payload} arrived
    ICMP_QUOTES = "icmp-quotes"                    # the quoted {proto} packet {src} > {dst}
    PING_AT_MTU_ANSWERED = "ping-at-mtu-answered"  # a DF ping of {size} bytes was answered
    PING_ANSWERED = "ping-answered"                # DF pings up to {size} bytes answered
    PING_UNANSWERED = "ping-unanswered"            # DF pings from {size} bytes unanswered
    PING_NO_ICMP = "ping-no-icmp"                  # and no ICMP said why
    PING_SMALL_LATER_OK = "ping-small-later-ok"    # smaller ones answered afterwards
    PING_LARGER_ONCE = "ping-larger-once"          # one larger ping only: loss remains
    PROBE_REACHED = "probe-reached"                # a {size}-byte DF probe got to {dst}
    LATER_DATA_UNANSWERED = "later-data-unanswered"  # {later} bytes after it: no dup ACK
    # --- one segment dropped again and again, though its size crosses --------------------
    SAME_SIZE_CROSSED = "same-size-crossed"        # {delivered}-byte segments acked before
    RECEIVER_ANSWERS = "receiver-answers"          # {dups} dup ACKs after the resends: up
    NOTHING_AFTER = "nothing-after"                # {receiver} silent since: path may be down
    DROPPED_FOR_CONTENT = "dropped-for-content"    # what it carries, not its size
    # --- a segment resent for seconds, nothing of the sender's ever acknowledged ----------
    RESENDS_UNHEARD = "resends-unheard"            # resent for {span_s} s: no ACK reached it
    NOTHING_ACKNOWLEDGED = "nothing-acknowledged"  # ... and {receiver} silent (seen or not)
    FALLBACK_CONNECTED = "fallback-connected"      # to {server}:{port} {after_ms} ms later
    OTHERS_CONNECTED = "others-connected"          # {count} other connections succeeded
    SYN_NEVER_RETRIED = "syn-never-retried"        # one SYN, {after_s} s of capture after it
    SYNS_ONE_WAY = "syns-one-way"                  # {senders} senders, no two-way connection
    # --- a ClientHello dropped for its content (TLS_HELLO_DROPPED) -----------------------
    HELLO_SPANS = "hello-spans"                    # {record}-byte hello, {first} in 1st segment
    HELLO_RETRANSMITTED = "hello-retransmitted"    # its first segment resent {count} times
    FULL_SIZE_CROSSED = "full-size-crossed"        # {payload}-byte segments crossed before
    HELLO_RESET = "hello-reset"                    # answered by RST
    HELLO_CLOSED = "hello-closed"                  # answered by FIN (proxied: tunnel closed)
    HELLO_OR_SIZE = "hello-or-size"                # size or content: both remain
    # --- the tunnel after 200 (or a direct TLS session) ---------------------------------
    TUNNEL_OPEN = "tunnel-open"
    TLS_SESSION = "tls-session"
    CLIENT_HELLO = "client-hello"                  # ClientHello ({size} bytes)
    SERVER_HELLO = "server-hello"
    NO_SERVER_HELLO = "no-server-hello"            # after {idle_s} s without data
    HELLO_ACKED_ON_LEG1 = "hello-acked-on-leg1"
    HELLO_NOT_ACKED_ON_LEG1 = "hello-not-acked-on-leg1"
    LAST_DATA = "last-data"                        # then {gap_s} s without data
    RECORD_CUT = "record-cut"                      # a TLS record {missing} bytes short
    UNACKED_AT_SILENCE = "unacked-at-silence"      # {unacked} bytes from {sender} unacked
    SENT_NEVER_ARRIVED = "sent-never-arrived"      # {sender}'s seq: {unseen} bytes never came
    TRANSFER_UNANSWERED = "transfer-unanswered"    # the client's last {size} bytes unanswered
    # (a TUNNEL_STALL without proof of pending data is a warning: Verdict.unproven)
    UNANSWERED_OR_IDLE = "unanswered-or-idle"      # the client's last data, never answered
    IDLE_OR_STALL = "idle-or-stall"                # all acked, TLS framing not followed
    UNACKED_QUIET = "unacked-quiet"                # {unacked} never acked nor retransmitted
    RESENDS_STOPPED = "resends-stopped"            # {unacked} resent, then not in {silence_s}
    OWED_IN_LOSSY_CAPTURE = "owed-in-lossy-capture"  # {unseen} owed; the capture drops bytes
    PACKETS_LEFT_OUT = "packets-left-out"          # text rows placed by guess: it may be them
    CONTENT_UNKNOWN = "content-unknown"            # its first words never shown: TLS or not?
    CONTENT_UNSEEN = "content-unseen"              # {count} conns' first words unseen
    SERVER_UNSEEN = "server-unseen"                # no packet from the server captured
    TUNNEL_BYTES = "tunnel-bytes"                  # {bytes_up} up, {bytes_down} down
    LEG1_ALL_ACKED = "leg1-all-acked"              # so the data is stuck beyond the proxy
    LEG1_SOME_UNACKED = "leg1-some-unacked"
    FULL_SEGMENTS_ARRIVED = "full-segments-arrived"  # {max_seg_down}: leg 1 carries them
    NO_FULL_SEGMENT = "no-full-segment"            # none above {max_seg_down} (full {full_seg})
    # --- merging across connections -----------------------------------------------------
    CONNECTION = "connection"                      # {client}:{cport} -> {server}:{sport}
    SAME_IN_OTHERS = "same-in-others"              # in {others} other connections ({ports})
    DNS_UNANSWERED = "dns-unanswered"              # {count} queries ({names}) got no answer
    DNS_FAILED = "dns-failed"                      # answered {rcode} for {names}
    MORE_GROUPS = "more-groups"                    # {groups} more ({connections}), not listed
    NOTHING_WRONG = "nothing-wrong"                # {connections} connections, all fine
    NOTHING_ANSWERED = "nothing-answered"          # {connections}, none seen from both ends
    NOTHING_JUDGED = "nothing-judged"              # no TCP connection to judge
    # --- one connection's row -----------------------------------------------------------
    ROW_FINDING = "row-finding"                    # {code}
    ROW_OK = "row-ok"
    ROW_FRAMES = "row-frames"                      # frames {first}-{last}
    ROW_RETRANSMISSIONS = "row-retransmissions"    # {up} up/{down} down
    ROW_IDLE = "row-idle"                          # idle {seconds} s between two frames
    ROW_WSCALE = "row-wscale"                      # {up}/{down}
    ROW_TIMESTAMPS = "row-timestamps"              # on: 1/0
    ROW_SACK = "row-sack"                          # on: 1/0
    ROW_NO_SYN = "row-no-syn"                      # capture started mid-connection
    ROW_FRAGMENTS = "row-fragments"                # {count} IP fragments
    ROW_HELLO_ANSWERED = "row-hello-answered"      # {size} bytes, no ServerHello (alert?)
    ROW_HELLO_CLOSED = "row-hello-closed"          # the server closed, having sent nothing
    ROW_HELLO_LEFT = "row-hello-left"              # ... closed after the client, ditto
    ROW_ANSWER_HEAD_UNSEEN = "row-answer-head-unseen"  # an answer after {missing} unseen bytes
    ROW_OFFLOAD = "row-offload"                    # segments larger than any MSS (TSO/GRO)
    ROW_CAPTURE_LOSS = "row-capture-loss"          # {missing} bytes acked but not captured
    ROW_GAP_UNPROVEN = "row-gap-unproven"          # {missing} bytes unseen, no ACK says why
    # --- the reader and the analysis as a whole -----------------------------------------
    CAPTURE_READ = "capture-read"                  # {file}: {frames} frames, {chosen}/{total}
    UNPACKED = "unpacked"                          # {member} read out of {kind} {archive}
    CAPTURE_TRUNCATED = "capture-truncated"        # {detail} (the reader's words)
    READING_STOPPED = "reading-stopped"            # Ctrl-C: {file} after {frames}; {read}/{size} B
    UNSUPPORTED_FRAMES = "unsupported-frames"      # {count} frames skipped
    TABLE_LIMITED = "table-limited"                # shows {shown} of {chosen} connections
    FRAGMENTS_SEEN = "fragments-seen"              # {count} fragments, first at {frame}
    TSO_LENGTHS = "tso-lengths"                    # {count} IPv4 lengths 0, first at {frame}
    PACKETS_TWICE = "packets-twice"                # {count} packets captured twice
    CAPTURE_PAUSED = "capture-paused"              # no packet for a day, or time went back
    CAPTURE_LOSS = "capture-loss"                  # {connections}: bytes acked, not captured
    LOSSY_TRANSFERS = "lossy-transfers"            # {connections} resent >= 2% (worst: ...)
    GAP_UNPROVEN = "gap-unproven"                  # {connections}: bytes unseen, no ACK says
    ONE_WAY = "one-way"                            # {connections}: one side's packets only
    PEER_SILENT = "peer-silent"                    # {connections}: resent, peer never seen
    UNRESENT_ONE_WAY = "unresent-one-way"          # {connections}: never resent, peer unseen
    CUT_OFF = "cut-off"                            # {connections} end unacked, never resent
    ZERO_WINDOW = "zero-window"                    # {connections} ended with a window of 0
    NO_TCP = "no-tcp"                              # {packets} IP packets, no TCP connection
    TCP_STRAYS = "tcp-strays"                      # {count} TCP packets of no connection
    TCP_HEADER_CUT = "tcp-header-cut"              # {count} TCP headers cut short, at {frame}
    SNAP_CUT = "snap-cut"                          # {count} conns: first words cut
    LEG2_JOINED = "leg2-joined"                    # {joined} proxy->upstream connections
    TTL_EXCEEDED = "ttl-exceeded"                  # {router} on the way to {dst}
    CONNECTIONS_SHED = "connections-shed"          # {count} judged early ({syn_only} SYN-only)
    # --- two captures of the same connections (pathprobe.capture.correlate) -------------
    IN_CAPTURE = "in-capture"                      # the verdict comes from {file}
    CAPTURES_MATCHED = "captures-matched"          # {matched} connections in {first}, {second}
    LOST_BETWEEN = "lost-between"                  # seen at {near}, never at {far}
    SOME_LOST_BETWEEN = "some-lost-between"        # {copies_near} copies at near, fewer at far
    LOST_AFTER_FAR = "lost-after-far"              # seen in both, never acknowledged
    ACK_LOST_BETWEEN = "ack-lost-between"          # acknowledged at {far}, ACK never at {near}
    FAR_CAPTURE_MISSED = "far-capture-missed"      # acknowledged, yet {far} never shows it

