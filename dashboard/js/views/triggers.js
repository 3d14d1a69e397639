"use strict";
/**
 * What starts runs by itself: schedules (pause, resume, run now, delete, create) and alert rules (read only:
 * they come from the platform's configuration). Also how any page names what started a run, so the run view,
 * History and this page say it the same way.
 */

import { ApiError, api } from "../api.js";
import { formatRelative, h, replaceChildren, uniqueId } from "../dom.js";
import { emptyState, errorNotice, notice, pageHeader, plainBadge, statusBadge, updateKeyedList } from "../render.js";
import { pollWhileVisible } from "../poll.js";
import { scheduleForm } from "./schedule-form.js";

const REFRESH_MS = 10_000;
/** The alert labels that name what an alert is about, most specific first. */
const ALERT_SUBJECTS = ["pod", "deployment", "service", "node", "namespace"];

export const triggersView = { nav: "triggers", title: "Triggers", render };

/**
 * "schedule nightly (tick 2025-…)", "alert KubePodCrashLooping on web-1"; null for a run started through the API.
 * @param {{kind: string, id?: string|null, name?: string|null, detail?: Object<string, string>}|undefined} trigger
 */
export function triggerText(trigger) {
  if (!trigger || trigger.kind === "api") return null;
  const detail = trigger.detail ?? {};
  const name = trigger.name || trigger.id;
  if (trigger.kind === "schedule") return `schedule ${name}${detail.tick ? ` (tick ${detail.tick})` : ""}`;
  if (trigger.kind === "mcp") return `MCP client ${name || ""}`.trim();
  if (trigger.kind === "a2a") return `A2A task ${trigger.id || ""}`.trim();
  const subject = ALERT_SUBJECTS.map((key) => detail[key]).find(Boolean);
  return `alert ${name}${subject ? ` on ${subject}` : ""}`;
}

/** A small mark for lists ("schedule", "alert"), its full description as a tooltip; null for the API. */
export function triggerMark(trigger) {
  const text = triggerText(trigger);
  if (!text) return null;
  const mark = plainBadge(trigger.kind, trigger.kind === "alert" ? "warning" : "info");
  mark.title = `Started by ${text}`;
  mark.classList.add("trigger-mark");
  mark.dataset.trigger = trigger.kind;
  return mark;
}

function render(root, _params, signal) {
  const refreshButton = h("button", { type: "button", class: "button" }, "Refresh");
  const messages = h("div", { "aria-live": "polite" });
  const scheduleErrors = h("div");
  const schedules = h("div", { class: "stack", "aria-label": "Schedules", role: "list" });
  const schedulesEmpty = h("div");
  const ruleErrors = h("div");
  const rules = h("div", { class: "stack", "aria-label": "Alert rules", role: "list" });
  const rulesEmpty = h("div");
  const readOnly = h("div");
  // Whether this key may change schedules: asked of /api/me below; a 403 on a change also takes the buttons away.
  let canChange = true;
  const form = scheduleForm(signal, (created) => {
    replaceChildren(messages, notice(`Schedule “${created.name}” added.`, "success"));
    refresh();
  });

  root.append(
    pageHeader(
      "Triggers",
      "Schedules and alert rules start runs by themselves; their runs are in the history, marked with what " +
        "started them. A step that changes something still waits for a person's approval.",
      refreshButton,
    ),
    messages,
    readOnly,
    h(
      "section",
      { class: "section", "aria-labelledby": "schedules-title" },
      h("h2", { id: "schedules-title" }, "Schedules"),
      form.element,
      scheduleErrors,
      schedulesEmpty,
      schedules,
    ),
    h(
      "section",
      { class: "section", "aria-labelledby": "rules-title" },
      h("h2", { id: "rules-title" }, "Alert rules"),
      h(
        "p",
        { class: "muted" },
        "Alertmanager delivers alerts; each rule that matches starts one run per alert and firing episode. ",
        "Rules are built in or read from AGENTIC_TRIGGERS_FILE.",
      ),
      ruleErrors,
      rulesEmpty,
      rules,
    ),
  );

  /** A change to one schedule; a 403 means this key only reads, so the page stops offering changes. */
  async function change(button, action, done) {
    button.disabled = true;
    replaceChildren(messages);
    try {
      replaceChildren(messages, await done(await action()));
      await refresh();
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error instanceof ApiError && error.status === 403) await becomeReadOnly();
      replaceChildren(messages, errorNotice(error));
      button.disabled = false;
    }
  }

  const handlers = {
    setEnabled: (schedule, enabled, button) =>
      change(
        button,
        () => api(`/schedules/${encodeURIComponent(schedule.id)}`, { method: "PATCH", body: { enabled }, signal }),
        (updated) => notice(`${enabled ? "Resumed" : "Paused"} “${updated.name}”.`, "success"),
      ),
    runNow: (schedule, button) =>
      change(
        button,
        () => api(`/schedules/${encodeURIComponent(schedule.id)}/run`, { method: "POST", body: {}, signal }),
        (accepted) => {
          location.hash = `#/runs/${accepted.id}`;
          return null;
        },
      ),
    remove: (schedule, button) =>
      change(
        button,
        () => api(`/schedules/${encodeURIComponent(schedule.id)}`, { method: "DELETE", signal }),
        () => notice(`Deleted “${schedule.name}”. The runs it started stay in the history.`, "success"),
      ),
  };

  async function becomeReadOnly() {
    canChange = false;
    form.element.hidden = true;
    replaceChildren(
      readOnly,
      notice("Your API key can read schedules but not change them: that needs the operator role.", "info"),
    );
    await refresh(true);
  }

  let shownWith = canChange;
  async function refresh(rebuild = false) {
    if (rebuild || shownWith !== canChange) {
      schedules.replaceChildren(); // every card again, with or without its buttons
      shownWith = canChange;
    }
    const [scheduleList, ruleList] = await Promise.allSettled([
      api("/schedules", { signal }),
      api("/triggers", { signal }),
    ]);
    if (signal.aborted) return;
    show(scheduleList, scheduleErrors, schedules, schedulesEmpty, (list) => list.schedules, {
      key: (schedule) => schedule.id,
      build: (schedule) => scheduleCard(schedule, canChange ? handlers : null),
      empty: "No schedules yet.",
    });
    show(ruleList, ruleErrors, rules, rulesEmpty, (list) => list.rules, {
      key: (rule) => rule.name,
      build: ruleCard,
      empty: "No alert rules.",
    });
  }

  refreshButton.addEventListener("click", () => refresh());
  // Offer changes only to a key that may make them (an agent core without /api/me leaves the 403 fallback).
  api("/me", { signal }).then(
    (caller) => (caller.roles.includes("operator") ? null : becomeReadOnly()),
    () => {},
  );
  pollWhileVisible(refresh, REFRESH_MS, signal);
}

function show(outcome, errors, list, empty, itemsOf, { key, build, empty: emptyText }) {
  if (outcome.status === "rejected") {
    replaceChildren(errors, errorNotice(outcome.reason));
    return;
  }
  replaceChildren(errors);
  const items = itemsOf(outcome.value);
  replaceChildren(empty, items.length === 0 && emptyState(emptyText));
  updateKeyedList(list, items, key, build);
}

function when(schedule) {
  if (schedule.cron) return [h("code", {}, schedule.cron), ` (${schedule.timezone || "UTC"})`];
  return h("code", {}, schedule.every);
}

function target(item) {
  if (item.template) return ["template ", h("code", {}, item.template)];
  if (item.workflow) return ["workflow ", h("code", {}, item.workflow?.name ?? "(document)")];
  if (item.task) return ["task: ", item.task];
  return "—";
}

function isoTime(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return h("time", { datetime: iso, title: iso }, formatRelative(at / 1000));
}

function lastRun(last) {
  if (!last) return "never";
  return [
    statusBadge(last.status),
    " ",
    h("a", { href: `#/runs/${encodeURIComponent(last.run_id)}` }, "Open the run"),
    last.tick ? h("span", { class: "step__meta" }, ` tick ${last.tick}`) : null,
  ];
}

function fact(term, ...value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

/**
 * @param {Object} schedule A Schedule from the API.
 * @param {null|{setEnabled: Function, runNow: Function, remove: Function}} handlers null: no change buttons.
 */
function scheduleCard(schedule, handlers) {
  const titleId = uniqueId("schedule-title");
  const actions = h("div", { class: "actions" });
  if (handlers) {
    const toggle = h("button", { type: "button", class: "button" }, schedule.enabled ? "Pause" : "Resume");
    toggle.addEventListener("click", () => handlers.setEnabled(schedule, !schedule.enabled, toggle));
    const runNow = h("button", { type: "button", class: "button button--primary" }, "Run now");
    runNow.addEventListener("click", () => handlers.runNow(schedule, runNow));
    const remove = h("button", { type: "button", class: "button button--danger" }, "Delete…");
    remove.addEventListener("click", () => confirmDelete(actions, schedule, handlers));
    actions.append(runNow, toggle, remove);
  }
  return h(
    "article",
    { class: "card stack", role: "listitem", "aria-labelledby": titleId, dataset: { schedule: schedule.id } },
    h(
      "div",
      { class: "card__header" },
      h("h3", { id: titleId }, schedule.name),
      schedule.enabled ? plainBadge("enabled", "success") : plainBadge("paused", "warning"),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("When", when(schedule)),
      fact("Runs", target(schedule)),
      fact("Next tick", schedule.enabled ? (schedule.next_tick ? isoTime(schedule.next_tick) : "—") : "paused"),
      fact("Last run", lastRun(schedule.last_run)),
      fact("Missed ticks", schedule.catch_up === "skip" ? "skipped" : "the latest runs"),
      (schedule.notify ?? []).length > 0 && fact("Notifies", schedule.notify.join(", ")),
    ),
    actions.childElementCount > 0 && actions,
  );
}

/** Delete asks first, in place: the question names the schedule and says what stays. */
function confirmDelete(actions, schedule, handlers) {
  const yes = h("button", { type: "button", class: "button button--danger" }, "Delete it");
  const no = h("button", { type: "button", class: "button" }, "Keep it");
  const question = h(
    "div",
    { class: "notice notice--warning stack", role: "group", "aria-label": "Confirm delete" },
    h("p", {}, `Delete the schedule “${schedule.name}”? It stops starting runs; the runs it started stay.`),
    h("div", { class: "actions" }, yes, no),
  );
  const buttons = [...actions.children];
  buttons.forEach((button) => (button.hidden = true));
  actions.append(question);
  yes.addEventListener("click", () => handlers.remove(schedule, yes));
  no.addEventListener("click", () => {
    question.remove();
    buttons.forEach((button) => (button.hidden = false));
    buttons.at(-1).focus();
  });
  no.focus();
}

function matchText(match) {
  const equal = Object.entries(match?.labels ?? {}).map(([name, value]) => `${name}=${value}`);
  const regex = Object.entries(match?.labels_regex ?? {}).map(([name, value]) => `${name}=~${value}`);
  return [...equal, ...regex].join(" ") || "every alert";
}

function limitsText(rule) {
  const parts = [];
  if (rule.cooldown_seconds) parts.push(`cool-down ${Math.round(rule.cooldown_seconds / 60)} min`);
  if (rule.rate_limit?.runs) {
    parts.push(`at most ${rule.rate_limit.runs} runs per ${Math.round(rule.rate_limit.per_seconds / 60)} min`);
  }
  return parts.join(", ") || "none";
}

function ruleCard(rule) {
  const titleId = uniqueId("rule-title");
  const inputs = Object.entries(rule.target?.inputs ?? {});
  return h(
    "article",
    { class: "card stack", role: "listitem", "aria-labelledby": titleId, dataset: { rule: rule.name } },
    h(
      "div",
      { class: "card__header" },
      h("h3", { id: titleId }, rule.name),
      h(
        "span",
        { class: "badges" },
        plainBadge(rule.source === "builtin" ? "built in" : "from file"),
        !rule.enabled && plainBadge("disabled", "warning"),
      ),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Matches", h("code", {}, matchText(rule.match))),
      fact("Runs", target(rule.target ?? {})),
      inputs.length > 0 &&
        fact(
          "Inputs",
          inputs.map(([name, value], index) => [index ? ", " : "", h("code", {}, `${name}=${value}`)]),
        ),
      fact("Limits", limitsText(rule)),
      (rule.notify ?? []).length > 0 && fact("Notifies", rule.notify.join(", ")),
      fact("Last run", lastRun(rule.last_run)),
    ),
  );
}
