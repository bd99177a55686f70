"""Plan journeys in a real browser: statuses without reloads, bulk changes, telemetry, roles."""

from adoption.models import CustomerTask
from customers.models import Role
from tests.pages.plan_fixtures import build_plan


def _plan_for(*users, tasks=8, attributes=1):
    return build_plan(users=list(users), tasks=tasks, attributes=attributes)


def _mark_window(page):
    """A marker that only survives as long as the page is not reloaded."""
    page.evaluate("window.__noReload = 'still here'")


def _assert_not_reloaded(page):
    assert page.evaluate("window.__noReload") == "still here"


def test_change_a_status_and_see_progress_rise_without_reload(page, make_user, login, check_a11y, screenshot):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    task = CustomerTask.objects.get(adoption_plan=plan, sequence_number=4)  # weight 4 of 36
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    assert page.get_by_test_id("plan-percentage").inner_text() == "0.0 %"
    check_a11y(page, "plan dashboard")
    screenshot(page, "plan-dashboard")
    _mark_window(page)

    page.locator(f"#task-{task.pk} .status-button").click()
    dialog = page.locator("#modal")
    dialog.get_by_label("Status").wait_for()
    assert page.evaluate("document.activeElement.id") == "status-select"
    check_a11y(page, "status modal")
    screenshot(page, "status-modal")
    dialog.get_by_label("Status").select_option("DONE")
    dialog.get_by_label("Note").fill("Confirmed on the weekly call")
    dialog.get_by_role("button", name="Save status").click()

    page.locator(f"#task-{task.pk}.row-DONE").wait_for()
    assert not dialog.is_visible()
    assert page.get_by_test_id("plan-percentage").inner_text() == "11.1 %"
    assert page.get_by_test_id("count-DONE").inner_text() == "1"
    assert "manual · casey" in page.locator(f"#task-{task.pk}").inner_text()
    assert "is now Done" in page.locator("#toasts").inner_text()
    _assert_not_reloaded(page)

    # Esc closes the dialog without saving.
    page.locator(f"#task-{task.pk} .status-button").click()
    dialog.get_by_label("Status").wait_for()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()


def test_bulk_change_five_tasks(page, make_user, login, check_a11y, screenshot):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    tasks = list(CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number"))
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    _mark_window(page)
    bar = page.locator("#bulk-bar")
    assert not bar.is_visible()
    for task in tasks[:5]:  # weights 1..5 = 15 of 36
        page.locator(f"#task-{task.pk} input.task-check").check()
    assert bar.is_visible()
    assert page.locator("#bulk-count").inner_text() == "5"
    bar.get_by_label("Set status").select_option("IN_PROGRESS")
    bar.get_by_label("Note").fill("Kick-off workshop")
    check_a11y(page, "bulk bar")
    screenshot(page, "plan-bulk-bar")
    bar.get_by_role("button", name="Apply").click()

    page.get_by_test_id("count-IN_PROGRESS").filter(has_text="5").wait_for()
    assert page.locator("tr.row-IN_PROGRESS").count() == 5
    assert not page.locator("#bulk-bar").is_visible()
    assert "5 tasks set to In progress." in page.locator("#toasts").inner_text()
    _assert_not_reloaded(page)
    # Select all ticks every shown task; all done at once moves progress to 100 %.
    page.locator("#select-all").check()
    assert page.locator("#bulk-count").inner_text() == "8"
    page.locator("#bulk-bar").get_by_label("Set status").select_option("DONE")
    page.locator("#bulk-bar").get_by_role("button", name="Apply").click()
    page.get_by_test_id("plan-percentage").filter(has_text="100.0 %").wait_for()
    _assert_not_reloaded(page)


def test_filters_are_kept_in_the_url(page, make_user, login):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    _mark_window(page)
    page.locator("#task-filters").get_by_label("Outcome").select_option(label="Zero-trust access")
    page.wait_for_url("**outcome=*")
    page.locator("[data-testid=shown-count]").filter(has_text="4 tasks shown (filtered).").wait_for()
    _assert_not_reloaded(page)
    # The URL can be shared: opening it shows the same view.
    page.goto(page.url)
    assert page.locator("[data-testid=shown-count]").inner_text() == "4 tasks shown (filtered)."


def test_viewer_sees_no_edit_controls_and_a_forged_post_is_refused(page, make_user, login, check_a11y):
    casey = make_user("casey", Role.CSM)
    vera = make_user("vera", Role.VIEWER)
    plan = _plan_for(casey, vera)
    task = CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number").first()
    login(vera)
    page.goto(f"/plans/{plan.pk}/")
    assert page.locator("tr.task-row").count() == 8
    assert page.locator("input[type=checkbox].task-check").count() == 0
    assert page.locator(".status-button").count() == 0
    assert page.locator("#bulk-bar").count() == 0
    assert page.get_by_role("button", name="Evaluate telemetry").count() == 0
    check_a11y(page, "plan dashboard (viewer)")

    # A forged POST with a valid CSRF token is refused in words and changes nothing.
    status = page.evaluate(
        """async ([url]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const body = new URLSearchParams({status: 'DONE'});
            const r = await fetch(url, {method: 'POST', body, headers: {'X-CSRFToken': token, 'HX-Request': 'true'}});
            return [r.status, decodeURIComponent(r.headers.get('X-Error-Message') || '')];
        }""",
        [f"/plans/{plan.pk}/tasks/{task.pk}/status/"],
    )
    assert status == [403, "you may not change this adoption plan"]
    task.refresh_from_db()
    assert task.status == "NOT_STARTED"
