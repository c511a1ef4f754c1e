#!/usr/bin/env python3
"""Sums the counters of every TRX file in a folder; prints 'N passed, N failed, N skipped'.

Exits 1 when no test ran at all, so an empty run is visible as a failure."""
import pathlib, sys, xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for trx in sorted(pathlib.Path(sys.argv[1]).glob("*.trx")):
    counters = ET.parse(trx).getroot().find("t:ResultSummary/t:Counters", ns)
    if counters is None:
        continue
    p, f = int(counters.get("passed", 0)), int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    s = int(counters.get("notExecuted", 0))
    print(f"  {trx.stem}: {p} passed, {f} failed, {s} skipped")
    passed, failed, skipped = passed + p, failed + f, skipped + s
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if passed == 0 or failed else 0)
