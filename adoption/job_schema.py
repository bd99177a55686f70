"""GraphQL for background jobs: follow a job (`job`, `jobs`) and start a product-wide sync."""

import graphene
from django.urls import reverse

from adoption import jobs as job_services
from adoption.permissions import get_job_for_user, jobs_visible_to, require_product_plans_sync
from config.errors import ValidationFailed
from config.graphql import JSON, find, optional_string, timestamp, user_of

MAX_JOBS_PAGE = 100

KIND_DESCRIPTIONS = {
    "TELEMETRY_IMPORT": "A telemetry spreadsheet too large to import at once, stored in chunks.",
    "PRODUCT_SYNC": "Every plan of a product synced with the catalog, then re-evaluated against its telemetry.",
    "CRITERIA_REEVALUATION": (
        "After a catalog attribute's criterion, type or required flag changed: the plans holding a copy of "
        "it synced and re-evaluated."
    ),
    "DAILY_REEVALUATION": "The daily re-check of tasks whose criteria depend on the clock (within_days).",
}
STATUS_DESCRIPTIONS = {
    "QUEUED": "Waiting for a worker; also between a failed attempt and its retry (see error).",
    "RUNNING": "A worker is on it; done and total tell how far it got.",
    "SUCCEEDED": "Finished; result holds what it did.",
    "FAILED": "Stopped for good; error says why (nothing more will happen).",
}


class JobKind(graphene.Enum):
    """What a background job does."""

    TELEMETRY_IMPORT = "TELEMETRY_IMPORT"
    PRODUCT_SYNC = "PRODUCT_SYNC"
    CRITERIA_REEVALUATION = "CRITERIA_REEVALUATION"
    DAILY_REEVALUATION = "DAILY_REEVALUATION"

    @property
    def description(self):
        return KIND_DESCRIPTIONS[self.name]


class JobStatus(graphene.Enum):
    """Where a background job stands."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def description(self):
        return STATUS_DESCRIPTIONS[self.name]


class Job(graphene.ObjectType):
    class Meta:
        description = "A background job and how far it got; poll it until it is SUCCEEDED or FAILED."

    id = graphene.ID(required=True, description="The job's id.")
    kind = graphene.Field(graphene.NonNull(JobKind), description="What the job does.")
    status = graphene.Field(graphene.NonNull(JobStatus), description="Where the job stands.")
    done = graphene.Int(required=True, description="Units of work done so far (rows, plans or tasks, after kind).")
    total = graphene.Int(required=True, description="Units of work in all; 0 while not known yet.")
    percentage = graphene.Int(description="Whole percent done (done / total, rounded down); null while total is 0.")
    message = optional_string("message", description="The latest progress note in words, or the outcome.")
    error = optional_string("error", description="What went wrong (also while a failed attempt waits for its retry).")
    attempts = graphene.Int(
        required=True, description="Attempts started so far (a failed one is retried up to 3 times)."
    )
    result = graphene.Field(
        graphene.NonNull(JSON),
        description="What the job did once finished (counts, batch id; for a refused import the bad rows), else {}.",
    )
    started_by = graphene.String(description="Username of whoever started it; null for the system.")
    created_at = timestamp("created_at", required=True, description="When the job was recorded (ISO 8601).")
    started_at = timestamp("started_at", description="When a worker first started it (ISO 8601); null while queued.")
    finished_at = timestamp("finished_at", description="When it succeeded or failed for good (ISO 8601).")
    url = graphene.String(required=True, description="The page that follows this job.")

    @staticmethod
    def resolve_kind(job, info):
        return JobKind.get(str(job.kind))

    @staticmethod
    def resolve_status(job, info):
        return JobStatus.get(str(job.status))

    @staticmethod
    def resolve_started_by(job, info):
        return job.started_by.get_username() if job.started_by_id else None

    @staticmethod
    def resolve_url(job, info):
        return reverse("job-detail", args=[job.pk])


class JobQuery(graphene.ObjectType):
    job = graphene.Field(
        Job,
        id=graphene.ID(required=True, description="The job's id."),
        description="A job the caller started (admins: any job); null with NOT_FOUND otherwise.",
    )
    jobs = graphene.List(
        graphene.NonNull(Job),
        required=True,
        first=graphene.Int(default_value=20, description="How many jobs to return, 1 to 100."),
        offset=graphene.Int(default_value=0, description="How many of the newest jobs to skip first."),
        description="The caller's jobs, newest first (admins: everyone's).",
    )

    @staticmethod
    def resolve_job(root, info, id):
        return find(get_job_for_user, user_of(info), id, field="id")

    @staticmethod
    def resolve_jobs(root, info, first=20, offset=0):
        if first is None or not 1 <= first <= MAX_JOBS_PAGE:
            raise ValidationFailed(f"first must be between 1 and {MAX_JOBS_PAGE}, got {first}", field="first")
        if offset is None or offset < 0:
            raise ValidationFailed(f"offset must be 0 or more, got {offset}", field="offset")
        user = user_of(info)
        return list(
            jobs_visible_to(user)
            .select_related("started_by")
            .defer("input_file")
            .order_by("-created_at", "-id")[offset : offset + first]
        )


class JobMutation(graphene.ObjectType):
    sync_product_plans = graphene.Field(
        graphene.NonNull(Job),
        product_id=graphene.ID(required=True, description="The product whose plans to sync."),
        description="Admins and catalog editors: sync every plan of the product with the catalog, then re-evaluate them (a background job).",
    )

    @staticmethod
    def resolve_sync_product_plans(root, info, product_id):
        from adoption.catalog import catalog_product_get

        user = user_of(info)
        require_product_plans_sync(user)
        product = find(catalog_product_get, product_id, field="productId")
        return job_services.product_plans_sync_enqueue(actor=user, product=product)
