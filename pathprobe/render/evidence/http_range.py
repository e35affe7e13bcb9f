"""Sentences for sizing leg 2 down with ranged plain-HTTP answers (pathprobe.facts.http_range)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.http_range import RangeFact, RangeUnmeasured
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template, fill

_WHY: dict[str, str] = {
    RangeUnmeasured.PROXY_REFUSES.value: "the proxy refuses plain HTTP (it answered {status} "
                                         "itself{error})",
    RangeUnmeasured.NO_OBJECT.value: "no object to size there (answer {status}{error})",
    RangeUnmeasured.NO_RANGE.value: "the upstream ignores Range requests (answer {status})",
    RangeUnmeasured.TOO_SMALL.value: "the object is too small ({total} bytes; a full segment "
                                     "needs {need})",
    RangeUnmeasured.CACHED.value: "the answer came from a cache, not over leg 2",
    RangeUnmeasured.NO_ANSWER.value: "not even a one-byte range was answered ({detail})",
    RangeUnmeasured.LOW_FAILS.value: "even the smallest sized answer ({low} bytes) stalled",
    RangeUnmeasured.NOT_BY_SIZE.value: "answers of {sizes} bytes came whole although {bad} did "
                                       "not: what stops them is not their size (a quota or "
                                       "inspection on the proxy's reused upstream connections)",
}


def _not_possible(v: Mapping[str, Number]) -> str:
    error = v.get("error")
    values = {**v, "error": f", {error}" if error else ""}
    why = fill(_WHY.get(str(v.get("why")), str(v.get("why"))), values)
    return f"leg 2 down not sized with ranged GET {v.get('url')}: {why}"


TEXT: dict[RangeFact, Template] = {
    RangeFact.SIZED:
        "ranged plain-HTTP answers from {url} ({total}-byte object): bodies of {ok} bytes "
        "arrived whole, {bad} did not; a lower bound (the upstream's header may share the "
        "body's segment on leg 2, and it assumes the upstream writes a body of one segment "
        "in one piece, as web servers do)",
    RangeFact.NOT_POSSIBLE: _not_possible,
    RangeFact.OBJECT: "ranged GET {url}: a {total}-byte object with Range support",
    RangeFact.FULL_SIZE_CROSSED:
        "yet ranged plain-HTTP answers of {crossed} bytes (full segments) came whole down "
        "leg 2: not a size limit; what remains: inspection of the TLS answer, a proxy "
        "policy or a quota",
}
