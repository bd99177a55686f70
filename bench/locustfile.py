"""The mixed load of `make loadtest`, for locust (headless; bench/loadtest.py starts it).

Reads the seeded users, tokens, API keys and plan/task/attribute ids from the JSON file named by
LOADTEST_DATA (written by `bench/loadtest.py seed`). Four kinds of traffic, each named in the stats:

- ``dashboard``: CSMs signed in with a session open their plans' dashboards (GET /plans/<id>/);
- ``status (page)``: the same CSMs change a task's status through the page's dialog (htmx POST);
- ``graphql plan`` / ``status (graphql)``: API users with a personal access token read a whole plan
  and change a status with the updateCustomerTaskStatus mutation;
- ``telemetry``: customer systems post batches to /api/v1/telemetry with their API key, most of them
  for the same few customers at once, so concurrent ingestions of one customer meet on its rows.

Every answer other than the expected one is a failure named after what came back ("HTTP 500",
"GraphQL CONFLICT", "connection error"), so the driver can count errors by status.
"""

import json
import os
import random
import uuid

from locust import HttpUser, between, task

with open(os.environ["LOADTEST_DATA"]) as data_file:
    DATA = json.load(data_file)

STATUSES = ["NOT_STARTED", "IN_PROGRESS", "DONE", "NOT_APPLICABLE"]

WHOLE_PLAN = """
query WholePlan($id: ID!) {
  adoptionPlan(id: $id) {
    id productName licenseLevel totalTasks completedTasks totalWeight completedWeight progressPercentage needsSync
    customerProduct { customer { name } }
    tasks {
      id name weight status statusUpdateSource statusUpdatedBy telemetryDisagrees
      telemetryProgress { metAttributes totalAttributes completionPercentage allRequiredMet }
      telemetryAttributes { id name dataType isRequired successCriteria isMet latestValue { value observedAt source } }
    }
  }
}
"""

SET_STATUS = """
mutation SetStatus($taskId: ID!, $status: CustomerTaskStatus!) {
  updateCustomerTaskStatus(input: {customerTaskId: $taskId, status: $status, notes: "load test"}) {
    id status adoptionPlan { completedTasks totalTasks progressPercentage }
  }
}
"""


def check(response, expected: int) -> None:
    """Mark a response (opened with catch_response=True) failed unless it has the expected status."""
    if response.status_code == expected:
        response.success()
    elif not response.status_code:
        response.failure("connection error")
    else:
        response.failure(f"HTTP {response.status_code}")


def check_graphql(response) -> None:
    """A GraphQL answer counts when it is a 200 without errors; else by status or first error code."""
    if response.status_code != 200:
        check(response, 200)
        return
    try:
        errors = response.json().get("errors")
    except ValueError:
        response.failure("GraphQL answer is not JSON")
        return
    if errors:
        response.failure("GraphQL " + str((errors[0].get("extensions") or {}).get("code", "error without code")))
    else:
        response.success()


class CsmUser(HttpUser):
    """A customer success manager in the browser: dashboards, and now and then a status change."""

    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self):
        self.csm = random.choice(DATA["csms"])
        self.client.get("/login/", name="login page")
        with self.client.post(
            "/login/",
            data={
                "username": self.csm["username"],
                "password": self.csm["password"],
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            allow_redirects=False,
            name="login",
            catch_response=True,
        ) as response:
            check(response, 302)

    @task(6)
    def dashboard(self):
        plan = random.choice(self.csm["plans"])
        with self.client.get(f"/plans/{plan['id']}/", name="dashboard", catch_response=True) as response:
            check(response, 200)

    @task(2)
    def status_through_the_page(self):
        plan = random.choice(self.csm["plans"])
        task_id = random.choice(plan["tasks"])
        with self.client.post(
            f"/plans/{plan['id']}/tasks/{task_id}/status/",
            data={"status": random.choice(STATUSES), "note": "load test"},
            headers={"HX-Request": "true", "X-CSRFToken": self.client.cookies.get("csrftoken", "")},
            name="status (page)",
            catch_response=True,
        ) as response:
            check(response, 200)


class GraphqlUser(HttpUser):
    """An integration reading whole plans over GraphQL with a personal access token, sometimes writing."""

    weight = 2
    wait_time = between(0.2, 1.0)

    def on_start(self):
        self.account = random.choice(DATA["csms"])
        self.client.headers["Authorization"] = f"Bearer {self.account['token']}"

    def graphql(self, query, variables, name):
        with self.client.post(
            "/graphql/", json={"query": query, "variables": variables}, name=name, catch_response=True
        ) as response:
            check_graphql(response)

    @task(4)
    def whole_plan(self):
        plan = random.choice(self.account["plans"])
        self.graphql(WHOLE_PLAN, {"id": str(plan["id"])}, "graphql plan")

    @task(1)
    def status_through_graphql(self):
        plan = random.choice(self.account["plans"])
        variables = {"taskId": str(random.choice(plan["tasks"])), "status": random.choice(STATUSES)}
        self.graphql(SET_STATUS, variables, "status (graphql)")


class TelemetryUser(HttpUser):
    """A customer system posting telemetry batches; most go to the few "hot" customers at once."""

    weight = 3
    wait_time = between(0.2, 1.0)

    @task
    def post_batch(self):
        systems = DATA["telemetry"]
        system = random.choice(systems[: DATA["hot_customers"]] if random.random() < 0.7 else systems)
        attributes = random.sample(system["attributes"], min(len(system["attributes"]), random.randint(3, 8)))
        body = {
            "batchId": f"load-{uuid.uuid4().hex}",
            "values": [
                {
                    "customerAttributeId": str(attribute["id"]),
                    "value": random.choice(attribute["values"]),
                    "source": "load",
                }
                for attribute in attributes
            ],
        }
        with self.client.post(
            "/api/v1/telemetry",
            json=body,
            headers={"Authorization": f"Bearer {system['key']}"},
            name="telemetry",
            catch_response=True,
        ) as response:
            check(response, 200)
