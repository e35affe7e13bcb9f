#!/usr/bin/env python3
"""Generate man/pathprobe.1 (roff) from the CLI itself, so the man page can
never drift from --help. ``--check`` exits 1 when the committed page is stale.

    python scripts/gen_man.py          # rewrite man/pathprobe.1
    python scripts/gen_man.py --check  # CI / tests: is it up to date?
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pathprobe import __version__  # noqa: E402
from pathprobe.cli import main as main_cli  # noqa: E402
from pathprobe.model import EXIT_STATUS_HELP, VERDICT_MEANINGS, ExitStatus  # noqa: E402
from pathprobe.schema import SCHEMA_ID  # noqa: E402

MAN_PAGE = REPO / "man" / "pathprobe.1"

ENVIRONMENT = [
    ("PATHPROBE_PROXY_PASSWORD", "Proxy password for --proxy-user. Never give it on the command "
     "line; it is never printed, logged or written to JSON."),
    ("HTTPS_PROXY, https_proxy", "Proxy used when --proxy is not given."),
    ("PATHPROBE_LAB_PREFIX", "Name prefix of the lab's network namespaces (default pp-), so "
     "several labs can coexist."),
]
FILES = [("/etc/sf/iprep_proxy.conf", "The FMC's proxy settings (PROXY_HOST, PROXY_PORT), read "
          "when no --proxy or HTTPS_PROXY is given.")]
EXAMPLES = [
    ("Diagnose both legs through the FMC's proxy (from HTTPS_PROXY, else "
     "/etc/sf/iprep_proxy.conf) toward the default target, as root for exact answers:",
     "sudo pathprobe diagnose"),
    ("Diagnose through a given proxy toward a given target, with a password from the "
     "environment, and keep the JSON report:",
     "export PATHPROBE_PROXY_PASSWORD\n"
     "pathprobe diagnose --proxy http://198.18.2.2:3128 --proxy-user fmc \\\n"
     "    --target upstream.pathprobe.test:443 --json -o report.json"),
    ("Analyse a capture taken on the FMC (expert shell) while a download failed:",
     "sudo tcpdump -i eth0 -s 0 -w /var/tmp/proxy.pcap host 198.18.2.2 and port 3128\n"
     "pathprobe analyze /var/tmp/proxy.pcap"),
    ("The same as JSON, and the JSON Schema the report follows:",
     "pathprobe analyze /var/tmp/proxy.pcap --json > report.json\n"
     "pathprobe schema > pathprobe-1.schema.json"),
    ("Reproduce the article's failure in the built-in lab and diagnose it (root):",
     "sudo pathprobe demo"),
    ("Build a lab with a 1372-byte black hole on leg 1 and look at it:",
     "sudo pathprobe lab up blackhole --param 1372\nsudo pathprobe lab status"),
    ("Merge the JSON reports of many FMCs (e.g. from contrib/ansible/pathprobe.yml) into one "
     "fleet report for a change request:",
     "pathprobe merge reports/*.json -o reports/fleet.md"),
    ("A lab with three FMCs, a black hole on fmc2's leg 1 only, and an sshd on each FMC:",
     "sudo pathprobe lab up healthy --fmcs 3 --fault blackhole:1:both:1372@fmc2 --ssh\n"
     "sudo pathprobe lab exec --node fmc2 -- pathprobe diagnose"),
    ("Run a command inside the lab's fmc namespace:",
     "sudo pathprobe lab exec -- curl -x http://198.18.2.2:3128 https://upstream.pathprobe.test/"),
]


def esc(text: str) -> str:
    """Escape text for roff: backslashes, hyphens, and control characters at line start."""
    out = []
    for line in text.replace("\\", "\\e").replace("-", "\\-").splitlines():
        out.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(out)


def help_text(args: list[str]) -> str:
    """What `pathprobe ARGS --help` prints (80 columns, so the page is reproducible)."""
    os.environ["COLUMNS"] = "80"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main_cli([*args, "--help"])
    return out.getvalue()


def subcommands(help_output: str) -> list[str]:
    """Command names listed under 'Commands:' in a help text."""
    names, inside = [], False
    for line in help_output.splitlines():
        if line.strip() == "Commands:":
            inside = True
        elif inside and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif inside and line and not line.startswith(" "):
            inside = False
    return names


def walk(args: list[str] | None = None) -> list[tuple[list[str], str]]:
    """(args, help text) for the root and every (sub)command, depth first."""
    args = args or []
    text = help_text(args)
    out = [(args, text)]
    for name in subcommands(text):
        out += walk([*args, name])
    return out


def exit_statuses() -> list[tuple[int, str]]:
    """(status, meaning) from model's one exit-status sentence, checked against ExitStatus."""
    body = EXIT_STATUS_HELP.split(":", 1)[1].strip().rstrip(".")
    out = []
    for part in re.split(r",\s*(?=\d+ )", body):
        number, text = part.split(" ", 1)
        out.append((int(number), text))
    if [n for n, _ in out] != [int(s) for s in ExitStatus]:
        raise SystemExit("gen_man: EXIT_STATUS_HELP does not list every ExitStatus in order")
    return out


def generate() -> str:
    pages = walk()
    root_help = pages[0][1]
    description = root_help.split("\n\n", 1)[1].split("Exit status:")[0].strip()
    lines = [
        f'.TH PATHPROBE 1 "" "pathprobe {__version__}" "User Commands"',
        ".SH NAME",
        "pathprobe \\- find the effective MTU/MSS on each leg of a proxied path",
        ".SH SYNOPSIS",
        ".B pathprobe",
        "[\\-\\-version] [\\-\\-traceback] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        esc(" ".join(description.split())),
        ".SH COMMANDS",
        esc("Each section below is the command's own --help."),
    ]
    for args, text in pages:
        lines += [".SS " + esc(" ".join(["pathprobe", *args])), ".nf", esc(text.rstrip()), ".fi"]
    lines.append(".SH VERDICTS")
    lines.append(esc("Each verdict names a leg (fmc-proxy, proxy-upstream, or fmc-upstream "
                     "without a proxy), a direction and the numbers it rests on."))
    for code, meaning in VERDICT_MEANINGS.items():
        lines += [".TP", f".B {esc(code.value)}", esc(meaning)]
    lines += [".SH JSON",
              esc("With --json a measuring command writes one JSON object to standard output "
                  '(its "schema" field is "pathprobe/1"); logs and progress go to standard '
                  "error. "
                  f"pathprobe schema prints its JSON Schema (draft 2020-12, $id {SCHEMA_ID}); "
                  "CHANGELOG.md records every change to it and to the exit statuses.")]
    lines += [".SH EXIT STATUS", esc("Every command exits with one of these statuses:")]
    for status, text in exit_statuses():
        lines += [".TP", f".B {status}", esc(text)]
    lines.append(".SH ENVIRONMENT")
    for var, text in ENVIRONMENT:
        lines += [".TP", f".B {esc(var)}", esc(text)]
    lines.append(".SH FILES")
    for path, text in FILES:
        lines += [".TP", f".I {esc(path)}", esc(text)]
    lines.append(".SH EXAMPLES")
    for text, command in EXAMPLES:
        lines += [".PP", esc(text), ".PP", ".nf", ".RS 4", esc(command), ".RE", ".fi"]
    lines += [".SH NETWORK SAFETY",
              esc("The lab, the tests and the demo send traffic only inside network namespaces "
                  "they create, addressed from 198.18.0.0/15 and 2001:db8::/32; no lab "
                  "namespace has a default route."),
              ".SH SEE ALSO", "tracepath(8), ping(8), tcpdump(8), squid(8), nft(8)"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args()
    text = generate()
    if args.check:
        current = MAN_PAGE.read_text() if MAN_PAGE.exists() else ""
        if current != text:
            print(f"{MAN_PAGE} is out of date; run: python scripts/gen_man.py", file=sys.stderr)
            return 1
        return 0
    MAN_PAGE.parent.mkdir(exist_ok=True)
    MAN_PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
