"""Plan journeys in a real browser: statuses without reloads, bulk changes, telemetry, roles."""

import re

from playwright.sync_api import expect

from adoption.models import CustomerTask
from adoption.services import customer_product_update
from customers.models import Role
from tests.factories import TaskFactory
from tests.pages.plan_fixtures import build_plan

# Auto-waiting assertions: a DOM condition is awaited (up to 10 s on a loaded machine), never read
# right after a click.
expect.set_options(timeout=20_000)


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
    expect(page.get_by_test_id("plan-percentage")).to_have_text("0.0 %")
    check_a11y(page, "plan dashboard")
    screenshot(page, "plan-dashboard")
    _mark_window(page)

    status_button = page.locator(f"#task-{task.pk}-status")
    status_button.click()
    dialog = page.locator("#modal")
    expect(dialog.get_by_label("Status")).to_be_focused()
    check_a11y(page, "status modal")
    screenshot(page, "status-modal")
    dialog.get_by_label("Status").select_option("DONE")
    dialog.get_by_label("Note").fill("Confirmed on the weekly call")
    dialog.get_by_role("button", name="Save status").click()

    expect(page.locator(f"#task-{task.pk}.row-DONE")).to_have_count(1)
    expect(dialog).to_be_hidden()
    # Focus is back on the (new) status button of the row, not lost on the page.
    expect(status_button).to_be_focused()
    expect(page.get_by_test_id("plan-percentage")).to_have_text("11.1 %")
    expect(page.get_by_test_id("count-DONE")).to_have_text("1")
    expect(page.locator(f"#task-{task.pk}")).to_contain_text("manual · casey")
    expect(page.locator("#toasts")).to_contain_text("“Task 4” is now Done.")
    _assert_not_reloaded(page)

    # Esc closes the dialog without saving, and the focus returns to the button too.
    status_button.click()
    expect(dialog.get_by_label("Status")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(status_button).to_be_focused()


def test_status_saved_from_the_drawer_returns_focus_to_its_status_button(page, make_user, login):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    task = CustomerTask.objects.get(adoption_plan=plan, sequence_number=2)
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    page.locator(f"#task-{task.pk} a.task-link").click()
    drawer = page.locator("#drawer")
    expect(drawer.get_by_role("heading", name="Task 2")).to_be_focused()
    drawer.locator("#drawer-status-button").click()
    dialog = page.locator("#modal")
    expect(dialog.get_by_label("Status")).to_be_focused()
    dialog.get_by_label("Status").select_option("IN_PROGRESS")
    dialog.get_by_role("button", name="Save status").click()
    expect(dialog).to_be_hidden()
    expect(drawer.locator("#drawer-status-button")).to_contain_text("In progress")
    expect(drawer.locator("#drawer-status-button")).to_be_focused()


def test_bulk_change_five_tasks(page, make_user, login, check_a11y, screenshot):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    tasks = list(CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number"))
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    _mark_window(page)
    bar = page.locator("#bulk-bar")
    expect(bar).to_be_hidden()
    for task in tasks[:5]:  # weights 1..5 = 15 of 36
        page.locator(f"#task-{task.pk} input.task-check").check()
    expect(bar).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("5")
    bar.get_by_label("Set status").select_option("IN_PROGRESS")
    bar.get_by_label("Note").fill("Kick-off workshop")
    check_a11y(page, "bulk bar")
    screenshot(page, "plan-bulk-bar")
    bar.get_by_role("button", name="Apply").click()

    expect(page.get_by_test_id("count-IN_PROGRESS")).to_have_text("5")
    expect(page.locator("tr.row-IN_PROGRESS")).to_have_count(5)
    expect(page.locator("#bulk-bar")).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("5 tasks set to In progress.")
    # The redrawn table does not drop the focus to the top of the page: the first changed task has it.
    expect(page.locator(f"#task-{tasks[0].pk} input.task-check")).to_be_focused()
    _assert_not_reloaded(page)
    # Select all ticks every shown task; all done at once moves progress to 100 %.
    page.locator("#select-all").check()
    expect(page.locator("#bulk-count")).to_have_text("8")
    page.locator("#bulk-bar").get_by_label("Set status").select_option("DONE")
    page.locator("#bulk-bar").get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("plan-percentage")).to_have_text("100.0 %")
    expect(page.get_by_test_id("count-DONE")).to_have_text("8")
    _assert_not_reloaded(page)
    # Done again on tasks that are already Done: said so, and nothing is recorded.
    page.locator(f"#task-{tasks[0].pk} input.task-check").check()
    page.locator(f"#task-{tasks[1].pk} input.task-check").check()
    page.locator("#bulk-bar").get_by_label("Set status").select_option("DONE")
    page.locator("#bulk-bar").get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("2 tasks were already Done; nothing changed.")


def test_ticking_a_task_shows_the_bulk_bar_at_the_bottom_without_moving_the_rows(page, make_user, login):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey, tasks=30, attributes=0)  # taller than the 900 px window
    first, second = CustomerTask.objects.filter(adoption_plan=plan).order_by("sequence_number")[:2]
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    row = page.locator(f"#task-{second.pk}")
    before = row.bounding_box()

    page.locator(f"#task-{first.pk} input.task-check").check()

    bar = page.locator("#bulk-bar")
    expect(bar).to_be_visible()
    expect(bar).to_be_in_viewport()
    assert row.bounding_box() == before
    box = bar.bounding_box()
    assert 900 - 80 < box["y"] + box["height"] <= 900  # sticky at the bottom of the window


def test_filters_are_kept_in_the_url(page, make_user, login):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    _mark_window(page)
    filters = page.locator("#task-filters")
    expect(filters.get_by_role("link", name="Clear filters")).to_have_count(0)
    filters.get_by_label("Outcome").select_option(label="Zero-trust access")
    # only the filter in use goes into the URL, not every empty one
    expect(page).to_have_url(re.compile(rf"/plans/{plan.pk}/\?outcome=\d+$"))
    expect(page.get_by_test_id("shown-count")).to_have_text("4 tasks shown (filtered).")
    expect(filters.get_by_role("link", name="Clear filters")).to_be_visible()
    _assert_not_reloaded(page)
    # The URL can be shared: opening it shows the same view.
    page.goto(page.url)
    expect(page.get_by_test_id("shown-count")).to_have_text("4 tasks shown (filtered).")
    page.locator("#task-filters").get_by_label("Outcome").select_option("")
    expect(page).to_have_url(re.compile(rf"/plans/{plan.pk}/$"))
    expect(page.get_by_test_id("shown-count")).to_have_text("8 tasks shown.")
    expect(page.locator("#task-filters").get_by_role("link", name="Clear filters")).to_have_count(0)


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
    assert status == [403, "You may not change this adoption plan."]
    task.refresh_from_db()
    assert task.status == "NOT_STARTED"


def test_add_a_telemetry_value_and_see_the_task_turn_done_with_its_evidence(
    page, make_user, login, check_a11y, screenshot
):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    task = CustomerTask.objects.get(adoption_plan=plan, sequence_number=2)
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    _mark_window(page)
    page.locator(f"#task-{task.pk} a.task-link").click()
    drawer = page.locator("#drawer")
    expect(drawer.get_by_role("heading", name="Task 2")).to_be_focused()
    drawer.get_by_text("Add a value").click()
    drawer.get_by_label("Value").fill("93")
    check_a11y(page, "task drawer")
    screenshot(page, "task-drawer")
    drawer.get_by_role("button", name="Store value").click()

    newest = drawer.get_by_test_id("history-entry").first
    expect(newest).to_contain_text("Done, by telemetry")
    expect(newest).to_contain_text("metric_1 = 93")
    expect(newest).to_contain_text("(metric_1 ≥ 90)")
    expect(drawer.get_by_test_id("attribute-met")).to_contain_text("Met")
    # the dashboard behind updated too
    expect(page.locator(f"#task-{task.pk}.row-DONE")).to_have_count(1)
    expect(page.get_by_test_id("plan-percentage")).to_have_text("5.6 %")
    # the form stays open, empty and focused for the next value of the series
    expect(drawer.get_by_label("Value")).to_be_focused()
    expect(drawer.get_by_label("Value")).to_have_value("")
    page.keyboard.type("97")
    page.keyboard.press("Enter")
    expect(drawer.get_by_test_id("latest-value")).to_contain_text("Latest value 97")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    _assert_not_reloaded(page)


def test_set_done_against_telemetry_see_the_flag_and_hand_it_back(page, make_user, login, check_a11y, screenshot):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    task = CustomerTask.objects.get(adoption_plan=plan, sequence_number=1)
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    _mark_window(page)
    page.locator(f"#task-{task.pk} a.task-link").click()
    drawer = page.locator("#drawer")
    drawer.get_by_role("button", name="Evaluate now").click()  # telemetry computes Not started
    page.locator("#toasts").get_by_text("Telemetry evaluated: still Not started.").wait_for()
    drawer.get_by_role("button", name=re.compile("^Status: Not started")).click()
    dialog = page.locator("#modal")
    dialog.get_by_label("Status").select_option("DONE")
    dialog.get_by_role("button", name="Save status").click()
    drawer.get_by_test_id("drawer-disagrees").wait_for()
    assert "Telemetry says Not started (0 of 1 required met)" in drawer.get_by_test_id("drawer-disagrees").inner_text()
    assert page.locator(f"#task-{task.pk} [data-testid=disagrees]").count() == 1

    # Handing back would move the task from Done: the drawer asks first, and nothing changes until confirmed.
    drawer.get_by_role("button", name="Hand back to telemetry").click()
    confirm = drawer.get_by_test_id("hand-back-confirm")
    expect(confirm).to_have_text(
        re.compile(r"Handing it back moves the task from Done to Not started, and plan progress will change\.")
    )
    confirm_button = drawer.get_by_role("button", name="Hand back: move to Not started")
    expect(confirm_button).to_be_focused()
    check_a11y(page, "hand back confirmation")
    screenshot(page, "task-hand-back-confirm")
    expect(page.locator(f"#task-{task.pk}.row-DONE")).to_have_count(1)
    confirm_button.click()
    expect(drawer.get_by_text("Handed back to telemetry by casey")).to_be_visible()
    expect(drawer.get_by_test_id("drawer-disagrees")).to_have_count(0)
    expect(page.locator(f"#task-{task.pk}.row-NOT_STARTED")).to_have_count(1)
    assert page.locator(f"#task-{task.pk}.row-NOT_STARTED [data-testid=disagrees]").count() == 0
    task.refresh_from_db()
    assert (task.status, task.status_update_source) == ("NOT_STARTED", "TELEMETRY")
    _assert_not_reloaded(page)


def test_sync_preview_page(page, make_user, login, check_a11y, screenshot):
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    TaskFactory(product=plan.product, name="Signature audit", license_level=3, sequence_number=50)
    customer_product_update(actor=casey, customer_product=plan.customer_product, license_level="SIGNATURE")
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Review the sync").click()
    page.get_by_test_id("to-add-count").wait_for()
    assert page.get_by_test_id("to-add-count").inner_text() == "1"
    check_a11y(page, "sync preview")
    screenshot(page, "plan-sync-preview")
    page.get_by_role("button", name="Apply sync").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "Plan synced: 1 task added, 0 archived, 0 refreshed." in page.locator("#messages").inner_text()
    assert page.locator("tr.task-row").count() == 9


CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.reportCspViolation({
    directive: e.violatedDirective, source: e.sourceFile, sample: e.sample,
    target: (e.target && e.target.outerHTML || String(e.target)).slice(0, 200),
  });
});
"""


def test_no_content_security_policy_violation_across_swaps_dialogs_and_back(page, make_user, login):
    """Bootstrap's collapse leaves style="" on the navbar once toggled (a tablet in portrait); htmx
    copied that attribute back on settle and re-inserted it from its history snapshot on Back, which
    the policy (no inline styles) refused. Reported from every page load, Back's reload included."""
    casey = make_user("casey", Role.CSM)
    plan = _plan_for(casey)
    task = CustomerTask.objects.get(adoption_plan=plan, sequence_number=3)
    violations = []
    page.expose_function("reportCspViolation", lambda violation: violations.append(violation))
    page.add_init_script(CSP_LISTENER)
    login(casey)
    page.goto(f"/plans/{plan.pk}/")
    # The menu toggled open and closed on a narrow screen, then back to the desktop width.
    page.set_viewport_size({"width": 700, "height": 900})
    page.locator(".navbar-toggler").click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"(^| )show( |$)"))
    page.locator(".navbar-toggler").click()
    expect(page.locator("#main-nav")).to_have_class("navbar-collapse collapse")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#user-menu").click()
    page.keyboard.press("Escape")

    filters = page.locator("#task-filters")
    filters.get_by_label("Status").select_option("NOT_STARTED")
    expect(page).to_have_url(re.compile(r"status=NOT_STARTED"))
    filters.get_by_label("Outcome").select_option(label="Zero-trust access")
    expect(page).to_have_url(re.compile(r"outcome=\d"))
    expect(page.get_by_test_id("shown-count")).to_have_text("4 tasks shown (filtered).")

    page.locator(f"#task-{task.pk} .status-button").click()
    expect(page.locator("#modal").get_by_label("Status")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#modal")).to_be_hidden()

    page.locator(f"#task-{task.pk} a.task-link").click()
    expect(page.locator("#drawer").get_by_role("heading", name="Task 3")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#drawer")).to_be_hidden()

    page.go_back()
    expect(page).to_have_url(re.compile(r"status=NOT_STARTED(?!.*outcome=\d)"))
    expect(page.get_by_test_id("shown-count")).to_have_text("8 tasks shown (filtered).")
    page.go_back()
    expect(page.get_by_test_id("shown-count")).to_have_text("8 tasks shown.")
    filters.get_by_label("Status").select_option("DONE")
    expect(page.get_by_test_id("shown-count")).to_have_text("0 tasks shown (filtered).")
    assert violations == []
