"""Sentences for the ClientHello checks (pathprobe.facts.hello)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.hello import HelloFact, HelloShape
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template

_SHAPES = {
    HelloShape.ONE_RECORD.value: "one ClientHello record in one write",
    HelloShape.FRAGMENTED.value: "the ClientHello fragmented over small TLS records, one write",
    HelloShape.SPLIT_WRITES.value: "one ClientHello record cut in two TCP writes",
    HelloShape.PQ.value: "post-quantum ClientHello (X25519MLKEM768 + X25519 key shares)",
    HelloShape.CLASSIC.value: "classic ClientHello (X25519 key share)",
}
_HOW = {"stalled": "got no answer", "reset": "was reset", "closed": "was closed by the proxy",
        "garbage": "was answered with non-TLS bytes"}


def _what(v: Mapping[str, Number]) -> str:
    shape = _SHAPES.get(str(v.get("shape")), str(v.get("shape")))
    records = v.get("records")
    count = f", {records} records" if isinstance(records, int) and records > 1 else ""
    return f"{shape}: {v.get('size')} bytes{count}"


def _failed(v: Mapping[str, Number]) -> str:
    how = _HOW.get(str(v.get("how")), str(v.get("how")))
    acked = v.get("acked")
    took = (" (the proxy acknowledged every byte: it crossed leg 1)" if acked is True
            else " (the proxy never acknowledged it)" if acked is False else "")
    return f"{_what(v)} {how} within {v.get('elapsed_s')} s{took}"


def _threshold(v: Mapping[str, Number]) -> str:
    how = "reset" if v.get("how") == "reset" else "dropped"
    low, high = v.get("low"), v.get("high")
    packets = ("" if low is None else f" (packets of {low} B)" if low == high
               else f" (packets of {low}..{high} B)")
    written, crossed = v.get("written"), v.get("crossed")
    more = (f"; writes of {written} B cross too" if isinstance(written, int)
            and isinstance(crossed, int) and written > crossed else "")
    return (f"ClientHello records longer than {v.get('record')} B ({v.get('bad')}-byte hellos "
            f"and up) are {how}; {v.get('ok')}-byte hellos are answered, and "
            f"{crossed}-byte segments{packets} of other bytes cross{more}: not a path MTU")


TEXT: dict[HelloFact, Template] = {
    HelloFact.SHAPE_ANSWERED: lambda v: f"{_what(v)}: answered",
    HelloFact.SHAPE_FAILED: _failed,
    HelloFact.SHAPE_UNTESTED: lambda v: f"{_what(v)}: not sent ({v.get('detail')})",
    HelloFact.SIZE_RULED_OUT:
        "size ruled out: {size} bytes written in one piece cross when they do not start one large "
        "ClientHello record",
    HelloFact.THRESHOLD: _threshold,
    HelloFact.PATH_LIMIT:
        "content ruled out: {size} bytes in one segment fail in every shape and the same "
        "ClientHello crosses in smaller segments: a path size limit",
    HelloFact.CONTENT_NOT_RULED_OUT:
        "size or content not told apart at {size} bytes ({why}): a middlebox that reads "
        "ClientHellos would look the same; confidence lowered",
    HelloFact.PROXY_ANSWERS_HELLOS:
        "the proxy decrypts TLS and answered these ClientHellos itself: they test leg 1 only",
    HelloFact.PROXY_OWN_HELLO:
        "toward the upstream the proxy sends its own ClientHello: whether it crosses leg 2 "
        "shows in the POST bodies through the proxy's decrypted session and in the "
        "certificate check above",
    HelloFact.OWN_HELLO_SUSPECTED:
        "the TLS handshake through the proxy stalled before any certificate, and every "
        "ClientHello (classic and post-quantum) crossed leg 1 unanswered: either nothing "
        "crosses leg 2 to the target, or the proxy decrypts TLS and its own ClientHello toward "
        "the upstream is lost (a proxy with OpenSSL 3.5+ sends a post-quantum one; a "
        "middlebox that drops large hellos stops it); --reflector tells them apart",
}
