"use strict";
/** The dashboard's entry point: routes, the API-key dialog, the header's reasoner chip. */

import { getApiKey, setApiKey } from "./api.js";
import { h } from "./dom.js";
import { loadReasoner } from "./header.js";
import { pageHeader } from "./render.js";
import { Router } from "./router.js";
import { approvalsView } from "./views/approvals.js";
import { connectView } from "./views/connect.js";
import { healthView } from "./views/health.js";
import { historyView } from "./views/history.js";
import { runView } from "./views/run.js";
import { startView } from "./views/start.js";
import { toolsView } from "./views/tools.js";
import { triggersView } from "./views/triggers.js";

const notFoundView = {
  nav: "",
  title: "Not found",
  render(root, { path }) {
    root.append(
      pageHeader("Page not found", `There is no page at ${path}.`),
      h("p", {}, h("a", { href: "#/" }, "Start a run"), " or see the ", h("a", { href: "#/history" }, "history"), "."),
    );
  },
};

const router = new Router(
  document.getElementById("main"),
  [
    { pattern: "/", view: startView },
    { pattern: "/runs/:id", view: runView },
    { pattern: "/history", view: historyView },
    { pattern: "/approvals", view: approvalsView },
    { pattern: "/triggers", view: triggersView },
    { pattern: "/tools", view: toolsView },
    { pattern: "/health", view: healthView },
    { pattern: "/connect", view: connectView },
  ],
  notFoundView,
);

/** Ask for an API key when the API answers 401; re-render the page once one is entered. */
function setUpKeyDialog() {
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  const reason = document.getElementById("key-dialog-reason");
  const forget = document.getElementById("forget-key");
  const syncForget = () => {
    document.getElementById("forget-key-item").hidden = !getApiKey();
  };

  // After Cancel, pages that poll would reopen the dialog every few seconds: wait to be asked instead.
  let dismissed = false;
  const ask = (hadKey) => {
    if (dialog.open) return;
    reason.textContent = hadKey
      ? "The agent core did not accept that API key. Enter another one."
      : "The agent core asks for an API key before it answers.";
    input.value = "";
    dialog.showModal();
    input.focus();
  };

  window.addEventListener("agentic:unauthorized", (event) => {
    if (!dismissed) ask(event.detail.hadKey);
  });
  window.addEventListener("agentic:ask-key", () => ask(Boolean(getApiKey())));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    dismissed = false;
    setApiKey(key);
    dialog.close();
    loadReasoner();
    router.refresh();
  });
  document.getElementById("key-cancel").addEventListener("click", () => {
    dismissed = true;
    dialog.close();
  });
  dialog.addEventListener("cancel", () => {
    dismissed = true;
  });
  forget.addEventListener("click", () => {
    setApiKey(null);
    router.refresh();
  });
  window.addEventListener("agentic:key-changed", syncForget);
  syncForget();
}

setUpKeyDialog();
router.start();
loadReasoner();
