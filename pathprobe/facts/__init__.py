"""What can be observed, as enums: one enum per measuring step (or analysis).

An ``Evidence`` item names one member and carries the numbers; its sentence
lives in ``pathprobe.render.evidence`` and nowhere else, so code decides on
the member and the numbers, never on text. Every member must have a sentence
(a unit test checks it).
"""
