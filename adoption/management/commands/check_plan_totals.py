"""python manage.py check_plan_totals [--plan ID ...]: compare every plan's stored totals with a fresh count.

Prints one line per plan whose stored totals (tasks, completed tasks, weights, percentage) differ from
what its task rows give, and exits with status 1 if there is any; `make loadtest` runs it after the
load. Read-only: it never repairs anything (a plan sync or re-evaluation recomputes the totals).
"""

from django.core.management.base import BaseCommand, CommandError

from adoption.models import AdoptionPlan
from adoption.selectors import plan_totals_mismatches


class Command(BaseCommand):
    help = "Check that every adoption plan's stored totals equal a fresh count of its tasks (exit 1 if not)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--plan", type=int, action="append", dest="plan_ids", help="check only this plan id (repeatable)"
        )

    def handle(self, *args, plan_ids=None, **options):
        if plan_ids:
            existing = set(AdoptionPlan.objects.filter(pk__in=plan_ids).values_list("pk", flat=True))
            missing = sorted(set(plan_ids) - existing)
            if missing:
                raise CommandError("no adoption plan with id " + ", ".join(str(pk) for pk in missing))
        checked, mismatches = plan_totals_mismatches(plan_ids=plan_ids)
        for mismatch in mismatches:
            self.stderr.write(mismatch.describe())
        if mismatches:
            raise CommandError(
                f"{len(mismatches)} of {checked} plans have stored totals that differ from a fresh count"
            )
        noun = "plan" if checked == 1 else "plans"
        self.stdout.write(f"Checked {checked} {noun}: every stored total equals a fresh count.")
