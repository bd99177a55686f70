// Starts the vendored GraphiQL against this app's endpoint, with the session cookie and CSRF token.
(function () {
  "use strict";
  // Shown when the editor holds nothing yet (GraphiQL remembers the last query in the browser):
  // a query this schema answers for every role, so the first Run already shows something useful.
  var DEFAULT_QUERY = [
    "# Your customers, each product's license and the progress of its adoption plan.",
    "# Run it with the play button or Ctrl-Enter; the Docs panel lists every field.",
    "query {",
    "  customers {",
    "    name",
    "    products {",
    "      product { name }",
    "      licenseLevel",
    "      adoptionPlan {",
    "        progressPercentage",
    "        completedTasks",
    "        totalTasks",
    "      }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({
    url: root.dataset.url,
    headers: { "X-CSRFToken": root.dataset.csrfToken },
  });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: true,
    })
  );
})();
