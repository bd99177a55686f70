"""Export a plan's telemetry template (.xlsx or .csv): the file import_telemetry reads back."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from adoption.models import AdoptionPlan
from telemetry.spreadsheet import telemetry_template_export

FORMATS = ("xlsx", "csv")


class Command(BaseCommand):
    help = "Write a plan's telemetry template (one row per attribute, latest values filled in) as .xlsx or .csv."

    def add_arguments(self, parser):
        parser.add_argument("--plan", type=int, required=True, help="adoption plan id")
        parser.add_argument("--format", choices=FORMATS, help="file format (default: from --out, else csv)")
        parser.add_argument("--out", help="file to write; stdout when left out (csv only)")

    def handle(self, *args, plan, format=None, out=None, **options):
        fmt = format or (Path(out).suffix.lstrip(".").lower() if out else "csv")
        if fmt not in FORMATS:
            raise CommandError(f"unknown format {fmt!r}: use --format xlsx or csv, or an --out ending in .xlsx/.csv")
        adoption_plan = AdoptionPlan.objects.filter(pk=plan).first()
        if adoption_plan is None:
            raise CommandError(f"adoption plan {plan} not found")
        if out is None and fmt == "xlsx":
            raise CommandError("an .xlsx file needs --out FILE")
        data = telemetry_template_export(plan=adoption_plan, fmt=fmt)
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        Path(out).write_bytes(data)
        self.stderr.write(f"wrote {out} ({len(data)} bytes) for plan {plan} ({adoption_plan.product_name})")
