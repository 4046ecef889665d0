"""Calendar entries as an iCalendar feed (RFC 5545) with the ``icalendar`` library.

Each event keeps its location's own zone (TZID + a VTIMEZONE with every rule
change in range), a stable UID per session, SEQUENCE from the session's version
(so calendar clients replace a changed event), and STATUS:CANCELLED for a
cancelled session — clients then strike it rather than silently dropping it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from arccm.application.ports.read_models import CalendarEntry

PRODID = "-//arccm//training calendar//EN"


def to_ical(entries: Sequence[CalendarEntry], name: str, generated_at: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        calendar.add_component(_event(entry, generated_at))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _event(entry: CalendarEntry, generated_at: datetime) -> Event:
    zone = ZoneInfo(entry.location_timezone)
    event = Event()
    event.add("uid", f"{entry.session_id}@arccm")
    event.add("sequence", entry.version - 1)
    event.add("dtstamp", generated_at)
    event.add("dtstart", entry.starts_at.astimezone(zone))
    event.add("dtend", entry.ends_at.astimezone(zone))
    event.add("summary", f"{entry.title} ({entry.course_name})")
    event.add("location", entry.location_name)
    event.add(
        "description",
        f"Instructor: {entry.instructor_name}\nSeats: {entry.seats_taken}/{entry.max_capacity}"
        f" ({entry.percent_full:g}% full), waitlist {entry.waitlist_length}",
    )
    event.add("status", "CANCELLED" if entry.status == "cancelled" else "CONFIRMED")
    return event
