// Plan dashboard: bulk selection and the bulk bar, row clicks that open the task drawer, the drawer
// dialog itself. No inline scripts: everything the plan pages need from the browser lives here.
(function () {
  "use strict";

  // --- bulk selection ----------------------------------------------------------------------------
  function rowChecks() {
    return Array.prototype.slice.call(document.querySelectorAll("#task-table input.task-check"));
  }

  function refreshBulkBar() {
    var bar = document.getElementById("bulk-bar");
    if (!bar) {
      return;
    }
    var checks = rowChecks();
    var ticked = checks.filter(function (c) { return c.checked; }).length;
    document.getElementById("bulk-count").textContent = String(ticked);
    bar.hidden = ticked === 0;
    var all = document.getElementById("select-all");
    if (all) {
      all.checked = ticked > 0 && ticked === checks.length;
      all.indeterminate = ticked > 0 && ticked < checks.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-all") {
      rowChecks().forEach(function (c) { c.checked = target.checked; });
      refreshBulkBar();
    } else if (target.classList && target.classList.contains("task-check")) {
      refreshBulkBar();
    }
  });
  document.body.addEventListener("htmx:afterSettle", refreshBulkBar);

  // After a bulk change the table is redrawn and the focus would fall back to the top of the page:
  // it goes to the first changed task's tick box instead (the toast says what changed).
  var bulkFocusTask = "";
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "bulk-form") {
      var first = rowChecks().filter(function (c) { return c.checked; })[0];
      bulkFocusTask = first ? first.value : "";
    }
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (!bulkFocusTask) {
      return;
    }
    var check = document.querySelector("#task-" + bulkFocusTask + " input.task-check");
    if (check && (!document.activeElement || document.activeElement === document.body)) {
      check.focus();
    }
    bulkFocusTask = "";
  });

  // --- filters: the URL keeps only the filters in use (no "&outcome=&release=&...") -----------------
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt || event.detail.elt.id !== "task-filters") {
      return;
    }
    var params = event.detail.parameters;
    var names = [];
    if (typeof params.forEach === "function") {
      params.forEach(function (value, name) { names.push(name); });
    } else {
      names = Object.keys(params);
    }
    names.forEach(function (name) {
      var value = typeof params.getAll === "function" ? params.getAll(name).join("") : params[name];
      if (value === "" || value === undefined || value === null) {
        if (typeof params.delete === "function") {
          params.delete(name);
        } else {
          delete params[name];
        }
      }
    });
  });

  // --- row click opens the drawer ------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr.task-row");
    if (!row || event.target.closest("a, button, input, label, select, textarea")) {
      return;
    }
    var link = row.querySelector("a.task-link");
    if (link) {
      link.click();
    }
  });

  // --- the drawer: a dialog on the right, filled by htmx ---------------------------------------------
  var drawer = document.getElementById("drawer");
  if (drawer) {
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "drawer-content") {
        // Wired now rather than when the swap settles: the drawer is usable as soon as it shows.
        htmx.process(event.detail.target);
        if (!drawer.open) {
          drawer.showModal();
        }
        // A question in the drawer (hand back?) takes the focus; otherwise the task's heading does.
        var first = drawer.querySelector("#drawer-content [autofocus]") || drawer.querySelector("#drawer-title");
        if (first) {
          first.focus();
        }
      }
    });
    drawer.addEventListener("click", function (event) {
      if (event.target === drawer || event.target.closest("[data-close-drawer]")) {
        event.preventDefault();
        drawer.close();
      }
    });
    drawer.addEventListener("close", function () {
      document.getElementById("drawer-content").innerHTML = "";
    });
  }
})();
