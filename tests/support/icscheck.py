#!/usr/bin/python3
"""Reads an iCalendar file back strictly, for tests/integration/test_public_hours.c.

Checks what a parser would forgive: every line ends in CRLF, no physical line
passes 75 octets, each one is UTF-8 by itself (a fold never splits a
character), continuation lines start with a space; then parses the file with
Debian's python3-icalendar, checks that every TZID used has a VTIMEZONE whose
offsets agree with the system's zone database at every event, and prints the
events as JSON: {"events": [{"uid", "summary", "description", "location",
"tzid", "start", "end", "all_day", "categories"}]}, times as local ISO 8601
without an offset. Exits 1 with the reason on the first fault.
"""
import datetime
import json
import sys
import zoneinfo

import icalendar


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def check_lines(data):
    if not data.endswith(b"\r\n"):
        fail("the file does not end in CRLF")
    lines = data[:-2].split(b"\r\n")
    for i, line in enumerate(lines):
        if b"\n" in line or b"\r" in line:
            fail("line %d: a bare CR or LF" % (i + 1))
        if len(line) > 75:
            fail("line %d: %d octets (at most 75)" % (i + 1, len(line)))
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            fail("line %d: not UTF-8 by itself (a fold split a character)" % (i + 1))
        if i == 0 and line != b"BEGIN:VCALENDAR":
            fail("the first line is not BEGIN:VCALENDAR")


def tz_onsets(vtz):
    """[(onset local naive datetime, offset_from, offset_to)] sorted."""
    out = []
    for sub in vtz.subcomponents:
        if sub.name not in ("STANDARD", "DAYLIGHT"):
            fail("VTIMEZONE holds a %s" % sub.name)
        start = sub.decoded("DTSTART")
        out.append((start.replace(tzinfo=None), sub.decoded("TZOFFSETFROM"),
                    sub.decoded("TZOFFSETTO")))
    if not out:
        fail("an empty VTIMEZONE")
    return sorted(out, key=lambda o: o[0])


def offset_by_vtimezone(onsets, local):
    off = None
    for onset, _, to in onsets:
        if onset <= local:
            off = to
    if off is None:
        fail("no VTIMEZONE rule for %s" % local)
    return off


def main():
    data = open(sys.argv[1], "rb").read()
    check_lines(data)
    cal = icalendar.Calendar.from_ical(data)
    if str(cal.get("VERSION")) != "2.0" or not cal.get("PRODID"):
        fail("VERSION 2.0 and PRODID are required")
    zones = {}
    for comp in cal.walk("VTIMEZONE"):
        zones[str(comp.get("TZID"))] = tz_onsets(comp)
    events = []
    for ev in cal.walk("VEVENT"):
        for req in ("UID", "DTSTAMP", "DTSTART"):
            if ev.get(req) is None:
                fail("a VEVENT without %s" % req)
        start_prop = ev.get("DTSTART")
        tzid = start_prop.params.get("TZID")
        all_day = start_prop.params.get("VALUE") == "DATE"
        start_raw = start_prop.to_ical().decode()
        end_raw = ev.get("DTEND").to_ical().decode()
        if all_day:
            start = datetime.datetime.strptime(start_raw, "%Y%m%d")
            end = datetime.datetime.strptime(end_raw, "%Y%m%d")
        else:
            if tzid is None:
                fail("%s: a timed event without TZID" % ev.get("UID"))
            if tzid not in zones:
                fail("TZID %s has no VTIMEZONE" % tzid)
            start = datetime.datetime.strptime(start_raw, "%Y%m%dT%H%M%S")
            end = datetime.datetime.strptime(end_raw, "%Y%m%dT%H%M%S")
            if ev.get("DTEND").params.get("TZID") != tzid:
                fail("%s: DTEND in another zone" % ev.get("UID"))
            zi = zoneinfo.ZoneInfo(tzid)
            for t in (start, end):
                want = t.replace(tzinfo=zi).utcoffset()
                got = offset_by_vtimezone(zones[tzid], t)
                if want != got:
                    fail("%s: VTIMEZONE says %s at %s, the zone database %s" %
                         (ev.get("UID"), got, t, want))
        if end <= start:
            fail("%s ends before it starts" % ev.get("UID"))
        cats = ev.get("CATEGORIES")
        events.append({
            "uid": str(ev.get("UID")),
            "summary": str(ev.get("SUMMARY", "")),
            "description": str(ev.get("DESCRIPTION", "")),
            "location": str(ev.get("LOCATION", "")),
            "tzid": tzid,
            "start": start.isoformat(timespec="minutes"),
            "end": end.isoformat(timespec="minutes"),
            "all_day": all_day,
            "categories": cats.to_ical().decode() if cats is not None else "",
        })
    json.dump({"events": events, "zones": sorted(zones)}, sys.stdout, ensure_ascii=False)


main()
