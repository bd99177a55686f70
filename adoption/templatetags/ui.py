"""Small presentation helpers shared by every page: numbers with units, relative times, status badges.

Status is always shown as text + icon + colour, so it never depends on colour alone.
"""

import json
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from adoption.choices import LicenseLevel, StatusSource, TaskStatus

register = template.Library()

STATUS_ICONS = {
    TaskStatus.NOT_STARTED: "bi-circle",
    TaskStatus.IN_PROGRESS: "bi-circle-half",
    TaskStatus.DONE: "bi-check-circle-fill",
    TaskStatus.NOT_APPLICABLE: "bi-dash-circle",
}
SOURCE_ICONS = {
    StatusSource.MANUAL: "bi-person",
    StatusSource.TELEMETRY: "bi-activity",
    StatusSource.SYNC: "bi-arrow-repeat",
    StatusSource.SYSTEM: "bi-cpu",
    StatusSource.IMPORT: "bi-file-earmark-arrow-up",
}


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def pct(value, places: int = 1) -> str:
    """33.51 -> '33.5 %' (one decimal on screen, rounded half up)."""
    number = _decimal(value)
    if number is None:
        return "–"
    quantum = Decimal(1).scaleb(-int(places))
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP)} %"


@register.filter
def num(value) -> str:
    """A decimal without trailing zeros beyond one place: 5 -> '5.0', 2.50 -> '2.5', 1.25 -> '1.25'."""
    number = _decimal(value)
    if number is None:
        return "–"
    text = f"{number.normalize():f}"
    if "." not in text:
        text += ".0"
    return text


@register.filter
def duration(minutes) -> str:
    """Estimated minutes in words: 45 -> '45 min', 240 -> '4 h', 90 -> '1.5 h', 2880 -> '48 h'."""
    number = _decimal(minutes)
    if number is None:
        return "–"
    if number < 60:
        return f"{int(number)} min"
    hours = (number / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()
    return f"{hours:f} h"


def _relative(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    future = delta.total_seconds() < 0
    if seconds < 45:
        return "just now"
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"), (3600, "h"), (60, "min")):
        if seconds >= size:
            amount = round(seconds / size)
            if unit in ("h", "min"):
                label = f"{amount} {unit}"
            else:
                label = f"{amount} {unit}{'' if amount == 1 else 's'}"
            return f"in {label}" if future else f"{label} ago"
    return "just now"


@register.filter
def when(value: datetime | None, empty: str = "never"):
    """A relative time ('2 h ago') with the exact time on hover and in the datetime attribute."""
    if not value:
        return format_html('<span class="text-body-secondary">{}</span>', empty)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    exact = date_format(local, "j M Y, H:i T")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, _relative(timezone.now() - value)
    )


@register.simple_tag
def status_badge(status: str, extra_class: str = ""):
    """Icon + words + colour for a task status."""
    try:
        choice = TaskStatus(status)
    except ValueError:
        return status
    return format_html(
        '<span class="status-badge status-{} {}"><i class="bi {}" aria-hidden="true"></i>{}</span>',
        choice.value,
        extra_class,
        STATUS_ICONS[choice],
        choice.label,
    )


@register.simple_tag
def source_tag(source: str, actor: str = ""):
    """Who set a status and how: 'manual · casey', 'telemetry', 'sync', 'not yet changed'."""
    try:
        choice = StatusSource(source)
    except ValueError:
        return source
    # The same words as the "Set by" filter: a status nobody has touched yet is "not yet changed".
    label = "not yet changed" if choice == StatusSource.SYSTEM else choice.label.lower()
    if actor and choice == StatusSource.MANUAL:
        label = f"{label} · {actor}"
    return format_html(
        '<span class="source-tag"><i class="bi {}" aria-hidden="true"></i> {}</span>', SOURCE_ICONS[choice], label
    )


@register.filter
def license_label(level) -> str:
    try:
        return LicenseLevel(int(level)).label
    except (TypeError, ValueError):
        return str(level)


@register.simple_tag
def progress_meter(value, label: str = "Progress", extra_class: str = ""):
    """A native <progress> (no inline style) for a percentage, named for screen readers: 'Label: 33.5 %'."""
    number = _decimal(value)
    if number is None:
        number = Decimal("0")
    number = min(max(number, Decimal("0")), Decimal("100"))
    text = pct(number)
    return format_html(
        '<progress class="meter {}" max="100" value="{}" aria-label="{}: {}" title="{}">{}</progress>',
        extra_class,
        f"{number:f}",
        label,
        text,
        text,
        text,
    )


ATTENTION_ICONS = {
    "sync": "bi-arrow-repeat",
    "disagrees": "bi-flag-fill",
    "stale": "bi-clock-history",
}


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


@register.simple_tag
def attention_flags(sync=0, disagrees=0, stale=0, ok_text: str = ""):
    """Amber flags for what needs the CSM, each icon + short words, the full sentence as tooltip and for
    screen readers: plans needing a sync, tasks telemetry disagrees with, plans with stale telemetry."""
    sync, disagrees, stale = int(sync or 0), int(disagrees or 0), int(stale or 0)
    flags = []
    if sync:
        flags.append(("sync", f"{sync} sync", f"{sync} {_plural(sync, 'plan needs', 'plans need')} a sync"))
    if disagrees:
        flags.append(
            (
                "disagrees",
                f"{disagrees} {_plural(disagrees, 'disagrees', 'disagree')}",
                f"telemetry disagrees on {disagrees} {_plural(disagrees, 'task', 'tasks')}",
            )
        )
    if stale:
        flags.append(
            ("stale", f"{stale} stale", f"{stale} {_plural(stale, 'plan', 'plans')} with stale required telemetry")
        )
    if not flags:
        if not ok_text:
            return ""
        return format_html(
            '<span class="text-body-secondary small"><i class="bi bi-check2" aria-hidden="true"></i> {}</span>', ok_text
        )
    return format_html_join(
        "",
        '<span class="attention-flag attention-{}" title="{}"><i class="bi {}" aria-hidden="true"></i>'
        '<span aria-hidden="true">{}</span><span class="visually-hidden">{}</span></span>',
        ((kind, text, ATTENTION_ICONS[kind], short, text) for kind, short, text in flags),
    )


@register.filter
def http_url(value) -> str:
    """A link target from catalog data, only when it is an http(s) URL (never javascript: or data:)."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else ""


DONUT_CIRCUMFERENCE = Decimal("100")


@register.simple_tag
def donut_segments(counts):
    """Arcs of an SVG donut (a circle of circumference 100) from StatusCount rows: one per status with
    tasks, each with its stroke-dasharray and stroke-dashoffset, starting at twelve o'clock."""
    total = sum(c.count for c in counts)
    segments, start = [], Decimal("0")
    if not total:
        return segments
    for c in counts:
        if not c.count:
            continue
        length = (Decimal(c.count) * DONUT_CIRCUMFERENCE / total).quantize(Decimal("0.001"))
        segments.append(
            {
                "status": c.status,
                "dasharray": f"{length} {DONUT_CIRCUMFERENCE - length}",
                "dashoffset": f"{(Decimal('25') - start) % DONUT_CIRCUMFERENCE}",
            }
        )
        start += length
    return segments


@register.filter
def status_label(status) -> str:
    try:
        return TaskStatus(status).label
    except ValueError:
        return str(status or "")


@register.filter
def json_value(value) -> str:
    """A telemetry value as people read it: true/false, numbers plain, strings as they are, JSON compact."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# How a sync's refreshed field reads: (label, how a value is shown); long text only says it changed.
_SYNC_FIELDS = {
    "name": ("name", str),
    "weight": ("weight", lambda v: num(v)),
    "est_minutes": ("estimate", lambda v: duration(v)),
    "sequence_number": ("sequence", str),
    "priority": ("priority", lambda v: v or "none"),
    "license_level": ("license", lambda v: license_label(v)),
}


@register.simple_tag
def sync_field_changes(update):
    """What a sync refreshes on one task, old → new where a value is short: 'weight 5.0 → 6.0',
    'license Essential → Advantage'; 'description changed' for long text and the outcome/release links."""
    changes = []
    for name in update.changed_fields:
        if name in _SYNC_FIELDS:
            label, shown = _SYNC_FIELDS[name]
            before = shown(getattr(update.customer_task, name))
            after = shown(getattr(update.catalog_task, name))
            changes.append(f"{label} {before} → {after}")
        else:
            changes.append(f"{name.replace('_', ' ')} changed")
    return changes
