"use strict";
/**
 * Past runs, newest first. The status and trigger filters ask the API; the text filter narrows the runs
 * already loaded (title or id); "Load more" follows next_cursor.
 */

import { api } from "../api.js";
import { formatDuration, formatNumber, formatTime, h, replaceChildren, uniqueId, words } from "../dom.js";
import { emptyState, errorNotice, pageHeader, statusBadge } from "../render.js";
import { triggerMark } from "./triggers.js";

const PAGE_SIZE = 25;
const STATUSES = ["queued", "running", "awaiting_approval", "succeeded", "failed", "cancelled", "needs_attention"];
const TRIGGERS = [
  ["api", "API", "started through the API"],
  ["schedule", "Schedules", "started by a schedule"],
  ["alert", "Alerts", "started by an alert"],
  ["mcp", "MCP clients", "called from an MCP client through /api/mcp"],
  ["a2a", "A2A agents", "a task from another agent over A2A"],
];

export const historyView = { nav: "history", title: "History", render };

function render(root, _params, signal) {
  const statusId = uniqueId("status-filter");
  const textId = uniqueId("text-filter");
  const triggerId = uniqueId("trigger-filter");
  const trigger = h(
    "select",
    { id: triggerId },
    h("option", { value: "" }, "All"),
    TRIGGERS.map(([value, label]) => h("option", { value }, label)),
  );
  const status = h(
    "select",
    { id: statusId },
    h("option", { value: "" }, "Any status"),
    STATUSES.map((value) => h("option", { value }, words(value))),
  );
  const text = h("input", { type: "search", id: textId, autocomplete: "off", placeholder: "e.g. weather" });
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const body = h("tbody");
  // No scroller of its own: the page scrolls. Below 48rem each row is a card of labelled fields (styles.css).
  const table = h(
    "div",
    { class: "run-list" },
    h(
      "table",
      { class: "run-table", "aria-label": "Runs" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Run"),
          h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col" }, "Started"),
          h("th", { scope: "col", class: "number" }, "Duration"),
          h("th", { scope: "col", class: "number" }, "Tokens"),
        ),
      ),
      body,
    ),
  );
  const more = h("button", { type: "button", class: "button", hidden: true }, "Load more");
  const messages = h("div");
  const empty = h("div");
  root.append(
    pageHeader(
      "History",
      "Every run, newest first.",
      h("a", { class: "button button--primary", href: "#/" }, "Start a run"),
    ),
    h(
      "form",
      { class: "card filters", role: "search", "aria-label": "Filter runs" },
      h("div", { class: "field" }, h("label", { for: statusId }, "Status"), status),
      h("div", { class: "field" }, h("label", { for: triggerId }, "Started by"), trigger),
      h("div", { class: "field" }, h("label", { for: textId }, "Title or id contains"), text),
    ),
    summary,
    messages,
    empty,
    table,
    h("div", { class: "actions" }, more),
  );

  let runs = [];
  let cursor = null;
  let generation = 0;

  function show() {
    const query = text.value.trim().toLowerCase();
    const shown = query
      ? runs.filter((run) => run.title.toLowerCase().includes(query) || run.id.toLowerCase().includes(query))
      : runs;
    replaceChildren(body, shown.map(runRow));
    table.hidden = shown.length === 0;
    replaceChildren(empty, shown.length === 0 && emptyState(emptyText(runs.length, status.value, trigger.value)));
    summary.textContent = query
      ? `${shown.length} of ${runs.length} loaded runs match.`
      : `${runs.length} run(s) loaded${cursor ? "; there are more" : ""}.`;
    more.hidden = !cursor;
  }

  async function load(reset) {
    generation += reset ? 1 : 0;
    const mine = generation;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (status.value) query.set("status", status.value);
    if (trigger.value) query.set("trigger", trigger.value);
    if (!reset && cursor) query.set("cursor", cursor);
    more.disabled = true;
    try {
      const page = await api(`/runs?${query}`, { signal });
      if (mine !== generation) return;
      runs = reset ? page.runs : [...runs, ...page.runs];
      cursor = page.next_cursor;
      replaceChildren(messages);
      show();
    } catch (error) {
      if (!signal.aborted && mine === generation) replaceChildren(messages, errorNotice(error));
    } finally {
      more.disabled = false;
    }
  }

  status.addEventListener("change", () => load(true));
  trigger.addEventListener("change", () => load(true));
  text.addEventListener("input", show);
  more.addEventListener("click", () => load(false));
  root.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
  return load(true);
}

function emptyText(loaded, status, trigger) {
  if (loaded > 0) return "No loaded run matches that text.";
  const how = TRIGGERS.find(([value]) => value === trigger)?.[2];
  if (status && how) return `No runs ${how} are ${words(status)}.`;
  if (how) return `No runs ${how}.`;
  return status ? `No runs are ${words(status)}.` : "No runs yet.";
}

function runRow(run) {
  const duration = run.finished_at ? (run.finished_at - run.created_at) * 1000 : null;
  const tokens = run.usage.input_tokens + run.usage.output_tokens;
  return h(
    "tr",
    {},
    h(
      "td",
      { class: "run-cell" },
      h("a", { href: `#/runs/${run.id}` }, run.title || run.id),
      h("div", { class: "step__meta mono" }, triggerMark(run.trigger), `${run.kind} · ${run.id}`),
    ),
    // data-label names the field where a row is shown as a card, its column header out of sight.
    h("td", { dataset: { label: "Status" } }, statusBadge(run.status)),
    h("td", { dataset: { label: "Started" } }, formatTime(run.created_at)),
    h(
      "td",
      { class: "number nowrap", dataset: { label: "Duration" } },
      duration === null ? "—" : formatDuration(duration),
    ),
    h("td", { class: "number", dataset: { label: "Tokens" } }, formatNumber(tokens)),
  );
}
