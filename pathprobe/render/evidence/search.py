"""The sentence for a size search's result (pathprobe.facts.search)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.search import SearchFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template, counted
from pathprobe.search import FailedHow, StopReason

_HOW = {FailedHow.ICMP.value: "signalled by ICMP", FailedHow.REFUSED.value: "refused",
        FailedHow.LOCAL.value: "refused locally"}


def _times(n: Number) -> str:
    return "once" if n == 1 else f"{n} times"


def _search(v: Mapping[str, Number]) -> str:
    stop, ok, bad, how = v.get("stop"), v.get("ok"), v.get("bad"), v.get("how")
    method = v.get("method")
    head = f"{method}: " if method else ""
    tail = f" ({counted(v.get('probes'), 'probe')} in {counted(v.get('rounds'), 'round')})"
    if stop == StopReason.LOW_FAILS:
        text = f"even the smallest size ({v.get('low')}) fails ({_HOW.get(str(how), how)})"
    elif stop == StopReason.TARGET_SILENT:
        text = f"the smallest size ({v.get('low')}) was never answered: target silent or filtered"
    elif stop == StopReason.HIGH_DELIVERED:
        text = f"the largest size ({v.get('high')}) was delivered"
    elif stop == StopReason.CLOSED:
        if how == FailedHow.LOST:
            lost = ("lost, and an ICMP hint says it is too big" if v.get("hinted")
                    else f"lost {_times(v.get('losses'))}, no ICMP")
        else:
            lost = _HOW.get(str(how), str(how))
        text = f"{ok} delivered, {bad} fails ({lost})"
    else:
        why = {StopReason.PROBE_BUDGET.value: "probe budget spent",
               StopReason.ROUND_LIMIT.value: "round limit reached",
               StopReason.TIME_BUDGET.value: "time budget spent",
               StopReason.NOTHING_LEFT.value: "no size left to probe inside the budget",
               StopReason.ABORTED.value: "search stopped early",
               }.get(str(stop), "search not finished")
        upper = f"{bad} fails" if bad is not None else "no failing size proven"
        text = (f"{why}: {ok} is the proven lower bound ({upper})" if ok is not None
                else f"{why}: nothing delivered")
    return head + text + tail


TEXT: dict[SearchFact, Template] = {SearchFact.SEARCH: _search}
