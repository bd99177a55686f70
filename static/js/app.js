// Small glue between htmx and the page: one <dialog> for modals, toasts for refusals, bulk selection.
// No inline scripts anywhere: everything the pages need lives here.
(function () {
  "use strict";

  var modal = document.getElementById("modal");

  function openModal() {
    if (modal && !modal.open) {
      modal.showModal();
    }
    // Focus what the user needs first: a field with an error, then [autofocus], then the first field,
    // and only then a button (the header's close button comes first in the document).
    var first = modal && (
      modal.querySelector("[aria-invalid=true]") ||
      modal.querySelector("[autofocus]") ||
      modal.querySelector("#modal-content input:not([type=hidden]):not([disabled]), #modal-content select, #modal-content textarea") ||
      modal.querySelector("button")
    );
    // In a group of radios, the chosen one: the current license, not the first one of the list, which
    // a Space would pick.
    if (first && first.type === "radio" && !first.checked && first.form) {
      var chosen = first.form.querySelector("input[type=radio][name='" + first.name + "']:checked");
      first = chosen || first;
    }
    if (first) {
      first.focus();
    }
  }

  // An error under a field goes once the user changes that field: the server checks it again on submit.
  // The license group of the assign dialog, say, is not redrawn as the dialog refreshes its preview.
  function clearFieldError(event) {
    var field = event.target;
    var group = field && field.closest && field.form && field.closest("fieldset, .mb-3");
    if (!group || !group.querySelector(".invalid-feedback")) {
      return;
    }
    group.querySelectorAll(".is-invalid").forEach(function (el) { el.classList.remove("is-invalid"); });
    group.querySelectorAll("[aria-invalid=true]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    group.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
  }
  document.body.addEventListener("change", clearFieldError);
  document.body.addEventListener("input", clearFieldError);

  function closeModal() {
    if (modal && modal.open) {
      modal.close();
    }
  }

  // Focus goes back to the element that opened the dialog when it closes. That element is found again
  // by id, because a save usually swaps in a new copy of it (the task's row with its status button).
  var openerId = "";
  var pendingFocusId = "";

  function returnFocus() {
    var opener = pendingFocusId && document.getElementById(pendingFocusId);
    if (opener) {
      opener.focus();
    }
  }

  // Content swapped into the dialog opens it.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    // An answer that swaps nothing (HX-Reswap: none, e.g. a save that closed the dialog) leaves it closed.
    var target = event.detail.target;
    if (target && target.id === "modal-content" && target.childElementCount > 0) {
      if (!(modal && modal.open)) {
        var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
        openerId = (elt && elt.id) || "";
      }
      // htmx wires the new content's own hx- attributes only when it settles, a moment later: wire them
      // now, so that a choice made as soon as the dialog shows (a product picked at once) is not lost.
      htmx.process(target);
      openModal();
    }
  });
  // After the swaps that follow a close (the new row), the opener's new copy takes the focus back
  // if it was lost with the old copy.
  document.body.addEventListener("htmx:afterSettle", function () {
    if (pendingFocusId && (!document.activeElement || document.activeElement === document.body)) {
      returnFocus();
    }
    pendingFocusId = "";
  });
  // Servers close the dialog with the HX-Trigger event "modal:close".
  document.body.addEventListener("modal:close", closeModal);
  if (modal) {
    modal.addEventListener("click", function (event) {
      if (event.target.closest("[data-close-dialog]")) {
        event.preventDefault();
        closeModal();
      }
    });
    modal.addEventListener("close", function () {
      document.getElementById("modal-content").innerHTML = "";
      pendingFocusId = openerId;
      openerId = "";
      returnFocus();
    });
  }

  // A refused htmx request shows its message (never a silent or blank swap).
  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) {
      return;
    }
    var el = document.createElement("div");
    el.className = "toast align-items-center show border-0 text-bg-" + (kind || "danger");
    el.setAttribute("role", kind === "success" ? "status" : "alert");
    var row = document.createElement("div");
    row.className = "d-flex";
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { el.remove(); });
    row.appendChild(body);
    row.appendChild(close);
    el.appendChild(row);
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 8000);
  }
  window.appToast = toast;

  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = "";
    var message = xhr.getResponseHeader("X-Error-Message");
    if (message) {
      text = decodeURIComponent(message);
    } else if (xhr.status === 403) {
      text = "You may not do that.";
    } else if (xhr.status === 404) {
      text = "Not found: it may have been removed, or you may not see it.";
    } else if (xhr.status === 429) {
      text = "Too many requests: wait a moment and try again.";
    } else {
      text = "Something went wrong (" + xhr.status + "). Nothing was changed; please try again.";
    }
    toast(text, "danger");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Nothing was changed.", "danger");
  });
  // Servers announce successes with the HX-Trigger event "toast" ({"toast": "Saved"}).
  document.body.addEventListener("toast", function (event) {
    var value = event.detail && (event.detail.value || event.detail.message);
    if (value) {
      toast(value, "success");
    }
  });
})();
