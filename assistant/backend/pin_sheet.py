"""The printable sheet of new workers' web-chat PINs that ``assistant workers import --pins OUT`` writes.

One self-contained HTML file for the block office: one table per facility
(each on a page of its own when printed), one worker a line (name, id, PIN),
to be cut into slips and handed out. The PINs are in this file only: never
printed on the terminal nor logged. The file is its owner's alone (0600)
and an existing file is never overwritten: ``claim`` creates it empty
before the import, so a PIN is only ever issued when the sheet can be kept.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

STYLE = """
body { font-family: sans-serif; margin: 1.5cm; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
p.note { font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #444; padding: 0.45em 0.6em; text-align: left; }
td.pin { font-family: monospace; font-size: 1.3em; letter-spacing: 0.15em; }
tr { break-inside: avoid; }
@media print { section + section { break-before: page; } p.note { display: none; } }
"""


@dataclass(frozen=True)
class PinLine:
    facility: str  # the facility's name
    facility_id: str
    name: str
    worker_id: str
    pin: str


def claim(path: Path) -> None:
    """Create the sheet's file, empty and 0600; ``FileExistsError`` if there is one (never overwritten)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def render(lines: Iterable[PinLine], issued: dt.date) -> str:
    """The sheet's HTML: a table per facility (by name), its workers by name; every value escaped."""
    ordered = sorted(lines, key=lambda line: (line.facility, line.facility_id, line.name, line.worker_id))
    sections = []
    for (facility, facility_id), group in groupby(ordered, key=lambda line: (line.facility, line.facility_id)):
        rows = "".join(
            f"<tr><td>{html.escape(line.name)}</td><td>{html.escape(line.worker_id)}</td>"
            f'<td class="pin">{html.escape(line.pin)}</td></tr>'
            for line in group
        )
        sections.append(
            f"<section><h2>{html.escape(facility)} ({html.escape(facility_id)})</h2>"
            f"<table><thead><tr><th>Name</th><th>Worker id</th><th>Web-chat PIN</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Web-chat PINs</title>'
        f"<style>{STYLE}</style></head><body><h1>Web-chat PINs issued {issued.isoformat()}</h1>"
        '<p class="note">Hand each worker their own line only, then destroy this sheet. A lost PIN is replaced '
        "with <code>assistant worker pin ID</code>.</p>" + "".join(sections) + "</body></html>\n"
    )


def write(path: Path, lines: Iterable[PinLine], issued: dt.date) -> None:
    """Fill the claimed file (it stays 0600)."""
    path.write_text(render(lines, issued), encoding="utf-8")
