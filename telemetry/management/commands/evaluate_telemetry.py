"""Daily job: re-evaluate tasks whose criteria depend on the clock (`within_days`)."""

from django.core.management.base import BaseCommand, CommandError

from adoption.models import AdoptionPlan
from telemetry.evaluation import telemetry_reevaluate_time_based


class Command(BaseCommand):
    help = "Re-evaluate the tasks with time-based criteria (within_days) of every plan, or of the plans given."

    def add_arguments(self, parser):
        parser.add_argument("--plan", action="append", type=int, default=None, help="adoption plan id (repeatable)")
        parser.add_argument("--chunk-size", type=int, default=500, help="tasks per transaction")

    def handle(self, *args, plan=None, chunk_size=500, **options):
        if plan:
            known = set(AdoptionPlan.objects.filter(pk__in=plan).values_list("pk", flat=True))
            unknown = sorted(set(plan) - known)
            if unknown:
                raise CommandError("adoption plan(s) not found: " + ", ".join(str(pk) for pk in unknown))
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")

        def progress(done, total):
            self.stderr.write(f"\rre-evaluating: {done}/{total} tasks", ending="")
            self.stderr.flush()

        tasks, changes = telemetry_reevaluate_time_based(plan_ids=plan, chunk_size=chunk_size, progress=progress)
        if tasks:
            self.stderr.write("")
        plans = len({c.adoption_plan_id for c in changes})
        self.stdout.write(
            f"Re-evaluated {tasks} tasks with time-based criteria: {len(changes)} status changes in {plans} plans"
        )
