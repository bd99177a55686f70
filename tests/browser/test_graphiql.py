"""GraphiQL and the pages work under the Content-Security-Policy: nothing the browser refuses.

Every CSP violation is caught twice: the page's `securitypolicyviolation` events (recorded by a script
added to the browser context, which the page's CSP does not govern) and Chromium's console messages.
"""

import pytest

from customers.models import Role
from tests.factories import CustomerFactory

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def csp_watch(page):
    """Collects CSP violations from the console; `check(page)` asserts there were none at all."""
    console = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: console.append(message.text) if "Content Security Policy" in message.text else None,
    )

    def check(where: str):
        events = page.evaluate("window.__cspViolations")
        assert events == [] and console == [], f"CSP violations on {where}: {events} {console}"

    return check


def test_sign_in_and_home_pages_report_no_csp_violation(page, make_user, login, csp_watch):
    casey = make_user("casey", Role.CSM)

    response = page.goto("/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    csp_watch("the sign-in page")

    login(casey)
    page.wait_for_load_state("networkidle")
    # Bootstrap's dropdown (JavaScript) works: the user menu opens.
    page.locator("#user-menu").click()
    assert page.get_by_role("button", name="Sign out").is_visible()
    csp_watch("the home page")


def test_graphiql_renders_and_runs_a_query_under_the_csp(page, make_user, login, csp_watch, settings):
    settings.DEBUG = True  # GraphiQL is offered with DEBUG (or GRAPHIQL_ENABLED)
    boss = make_user("boss", Role.ADMIN, first_name="Bea")
    CustomerFactory(name="Acme Robotics")
    login(boss)

    page.goto("/graphql/")
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.wait_for()
    # Replace the editor's text through CodeMirror itself, then run it with the run button.
    page.evaluate(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue('{ customers { name } }')"
    )
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    result = page.locator(".graphiql-response .CodeMirror")
    result.get_by_text('"Acme Robotics"').wait_for()

    assert '"name": "Acme Robotics"' in result.inner_text()
    csp_watch("GraphiQL")
    # The page's own stylesheet (no inline style) makes GraphiQL fill the window below the bar back to the app.
    bar = page.evaluate("document.querySelector('.graphiql-app-bar').getBoundingClientRect().height")
    assert 0 < bar < 60
    assert page.evaluate("document.getElementById('graphiql').getBoundingClientRect().height") == 900 - bar


def test_graphiql_starts_with_a_working_query_and_links_back(page, make_user, login, csp_watch, settings):
    settings.DEBUG = True
    casey = make_user("casey", Role.CSM, first_name="Casey")
    customer = CustomerFactory(name="Acme Robotics")
    customer.assigned_users.add(casey)
    login(casey)

    page.goto("/graphql/")
    page.locator(".graphiql-query-editor .CodeMirror").wait_for()
    query = page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")
    assert "query {\n  customers {" in query
    page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    result = page.locator(".graphiql-response .CodeMirror")
    result.get_by_text('"Acme Robotics"').wait_for()
    assert '"errors"' not in result.inner_text()
    csp_watch("GraphiQL")
    page.get_by_test_id("back-to-app").click()
    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Your customers").is_visible()
