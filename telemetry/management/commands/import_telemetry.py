"""Import a telemetry spreadsheet (.xlsx or .csv) from the shell: the same preview and commit as the pages.

Exits non-zero naming every bad row, and stores nothing then. Files of more than 5,000 rows are
imported by a background job in chunks (adoption.jobs): with a broker (REDIS_URL) the command only
queues it and prints where to follow it; without one the job runs here and the command reports it.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from adoption.models import AdoptionPlan
from config.errors import DomainError
from customers.models import Customer
from telemetry.ingestion import MAX_ITEMS
from telemetry.spreadsheet import count_rows, telemetry_import_commit, telemetry_import_preview

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Import telemetry values from a spreadsheet exported as a plan's telemetry template (.xlsx or .csv)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the .xlsx or .csv file")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--plan", type=int, help="only rows of this adoption plan")
        scope.add_argument("--customer", type=int, help="only rows of this customer's plans")
        parser.add_argument("--dry-run", action="store_true", help="show what would change, store nothing")

    def progress(self, done, total):
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        self.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} rows", ending="")
        self.stderr.flush()
        if done >= total:
            self.stderr.write("")

    def handle(self, *args, file, plan=None, customer=None, dry_run=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"file not found: {file}")
        scope = None
        if plan is not None:
            scope = AdoptionPlan.objects.select_related("customer_product").filter(pk=plan).first()
            if scope is None:
                raise CommandError(f"adoption plan {plan} not found")
        elif customer is not None:
            scope = Customer.objects.filter(pk=customer).first()
            if scope is None:
                raise CommandError(f"customer {customer} not found")

        arguments = {
            "actor": "cli:import_telemetry",
            "plan_or_customer_scope": scope,
            "filename": path.name,
            "progress": self.progress,
        }
        if not dry_run:
            data = path.read_bytes()
            try:
                rows = count_rows(file=data, filename=path.name)
            except DomainError as error:
                raise CommandError(error.message) from None
            if rows > MAX_ITEMS:
                return self.import_in_background(scope, data, path.name, rows)
        try:
            with path.open("rb") as handle:
                if dry_run:
                    preview = telemetry_import_preview(file=handle, **arguments)
                else:
                    result = telemetry_import_commit(file=handle, **arguments)
                    preview = result.preview
        except DomainError as error:
            self.report_errors(error.details if isinstance(error.details, list) else [], error.message)
            raise CommandError(error.message) from None

        if dry_run and not preview.ok:
            self.report_errors(preview.errors, "")
            raise CommandError(f"{len(preview.errors)} error(s) in {path.name}; nothing would be stored")

        for skipped in preview.skipped:
            self.stdout.write(f"row {skipped['row']}: skipped ({skipped['reason']})")
        for change in preview.status_changes:
            self.stdout.write(
                f"task {change.customer_task_id} {change.task_name!r}: {change.from_status} -> {change.to_status}"
            )
        if dry_run:
            self.stdout.write(
                f"Dry run: {len(preview.to_store)} values would be stored, {len(preview.skipped)} rows skipped, "
                f"{len(preview.status_changes)} task status changes. Nothing was stored."
            )
        else:
            batch = f" as batch {result.ingest.batch_id}" if result.ingest else ""
            self.stdout.write(
                f"Stored {result.stored} values{batch}, {len(preview.skipped)} rows skipped, "
                f"{len(result.status_changes)} task status changes."
            )

    def import_in_background(self, scope, data: bytes, filename: str, rows: int):
        from adoption.job_runners import telemetry_import_enqueue
        from adoption.models import Job

        job = telemetry_import_enqueue(
            actor="cli:import_telemetry", plan_or_customer_scope=scope, data=data, filename=filename
        )
        job.refresh_from_db()
        if job.status == Job.Status.QUEUED:
            self.stdout.write(
                f"{rows} rows: queued as background job {job.pk}; follow it at /jobs/{job.pk}/ "
                "(or the GraphQL job query)"
            )
            return
        if job.status == Job.Status.FAILED:
            self.report_errors(job.result.get("errors", []), job.error)
            raise CommandError(f"job {job.pk} failed: {job.error}")
        self.stdout.write(f"Job {job.pk}: {job.message} in {job.result.get('chunks')} chunks.")

    def report_errors(self, errors, fallback):
        for error in errors:
            where = f"row {error['row']}" if error.get("row") else "file"
            field = f" [{error['field']}]" if error.get("field") else ""
            self.stderr.write(f"{where}{field}: {error['message']}")
        if not errors and fallback:
            self.stderr.write(fallback)
