"use strict";
/**
 * One run, live: its status, steps (tool, arguments, duration, result), model turns, pending approvals,
 * the final answer and token usage. Events arrive over SSE; each one triggers a re-fetch of the run,
 * which is what gets rendered — so the page always shows the API's own view of the run.
 */

import { api } from "../api.js";
import { approvalCard } from "../approval-card.js";
import { formatDuration, formatNumber, formatTime, h, replaceChildren, words } from "../dom.js";
import { startRun } from "../forms.js";
import {
  TERMINAL_STATUSES,
  emptyState,
  errorNotice,
  isContentResult,
  isRowResult,
  jsonBlock,
  notice,
  pageHeader,
  resultSummary,
  resultView,
  statusBadge,
  updateKeyedList,
} from "../render.js";
import { followRunEvents } from "../sse.js";
import { triggerMark, triggerText } from "./triggers.js";

/** Results up to this size (as JSON) start expanded; bigger ones start collapsed. */
const OPEN_RESULT_CHARS = 600;

export const runView = { nav: "history", title: "Run", render };

async function render(root, { id }, signal) {
  const header = pageHeader("Run");
  const status = h("p", { class: "run-status", id: "run-status", "aria-live": "polite" });
  const trigger = h("p", { class: "run-trigger", id: "run-trigger", hidden: true });
  const live = h("p", { class: "step__meta", "aria-live": "polite" });
  const facts = h("dl", { class: "facts" });
  const actions = h("div", { class: "actions" });
  const messages = h("div", { "aria-live": "polite" });
  const decision = h("div", { "aria-live": "polite" });
  const approvals = h("div", { class: "stack" });
  const approvalsSection = h("section", { class: "section", "aria-label": "Approvals", hidden: true }, approvals);
  const outcome = h("div");
  const steps = h("ol", { class: "timeline", "aria-label": "Steps" });
  const stepsEmpty = h("div");
  const turns = h("ol", { class: "timeline", "aria-label": "Model turns" });
  const turnsSection = h("section", { class: "section", hidden: true }, h("h2", {}, "Model turns"), turns);
  root.append(
    header,
    h(
      "section",
      { class: "card stack", "aria-label": "Summary" },
      h("div", { class: "card__header" }, status, actions),
      trigger,
      facts,
      live,
    ),
    messages,
    decision,
    approvalsSection,
    outcome,
    h("section", { class: "section" }, h("h2", {}, "Steps"), stepsEmpty, steps),
    turnsSection,
  );

  let view;
  try {
    view = await api(`/runs/${encodeURIComponent(id)}`, { signal });
  } catch (error) {
    if (!signal.aborted) replaceChildren(messages, errorNotice(error));
    return;
  }

  // The last decision made on this page: its notice follows what became of the step at every update.
  let decided = null;
  const tellDecision = () => {
    const told = decided && decisionNotice(decided, view);
    // Rebuilt only when it says something new, so a screen reader hears it once.
    if ((told?.textContent ?? "") !== decision.textContent) replaceChildren(decision, told);
  };
  const show = (next) => {
    // A decision's answer can arrive after a newer refresh: never step back in the run's history.
    if (next.last_event_id < view.last_event_id) return;
    view = next;
    renderRun(
      next,
      { header, status, trigger, facts, actions, approvals, approvalsSection, outcome, steps, stepsEmpty, turns, turnsSection },
      {
        cancel: () => cancel(view.id, messages, signal),
        rerun: () => rerun(view.request, messages),
        decided: (choice, updated, approval) => {
          decided = { choice, stepId: approval.step_id };
          show(updated);
          tellDecision(); // also when `updated` was older than the view shown
        },
      },
    );
    tellDecision();
  };
  show(view);
  if (TERMINAL_STATUSES.has(view.status)) return;

  // One fetch at a time; events that arrive meanwhile are folded into one more fetch. `fetching` is
  // cleared in the same turn as the last `again` check, so no request for a refresh can fall in between.
  let fetching = null;
  let again = false;
  const refresh = () => {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async () => {
      try {
        do {
          again = false;
          try {
            show(await api(`/runs/${encodeURIComponent(id)}`, { signal }));
          } catch (error) {
            if (!signal.aborted) replaceChildren(messages, errorNotice(error));
          }
        } while (again && !signal.aborted);
      } finally {
        fetching = null;
      }
    })();
    return fetching;
  };

  live.textContent = "Connecting…";
  try {
    await followRunEvents(id, {
      // From the last event seen, not after it: if that was run_finished (a header read just before the run
      // ended), it comes again, ends the stream and brings a fresh read; otherwise it costs one re-fetch.
      after: Math.max(0, view.last_event_id - 1),
      signal,
      onOpen: () => {
        live.textContent = "Following live.";
      },
      onEvent: refresh,
      onReconnecting: (attempt) => {
        live.textContent = `Connection lost; reconnecting (attempt ${attempt})…`;
      },
    });
    if (signal.aborted) return;
    await refresh();
    live.textContent = "";
  } catch (error) {
    if (!signal.aborted) {
      live.textContent = "";
      replaceChildren(messages, errorNotice(error));
    }
  }
}

async function cancel(runId, messages, signal) {
  try {
    await api(`/runs/${encodeURIComponent(runId)}/cancel`, { method: "POST", signal });
    replaceChildren(messages, notice("Cancellation requested: the run stops at its next safe point."));
  } catch (error) {
    if (!signal.aborted) replaceChildren(messages, errorNotice(error));
  }
}

async function rerun(request, messages) {
  try {
    await startRun(request);
  } catch (error) {
    replaceChildren(messages, errorNotice(error));
  }
}

function renderRun(view, parts, handlers) {
  const terminal = TERMINAL_STATUSES.has(view.status);
  const heading = parts.header.querySelector("h1");
  heading.textContent = view.title || "Run";
  document.title = `${view.title} · Agentic Workflows`;

  const pending = terminal ? [] : view.approvals.filter((approval) => approval.status === "pending");
  replaceChildren(parts.status, "Status: ", statusBadge(shownStatus(view, pending)));
  // Runs started through the API say nothing more: that is what a run is unless told otherwise.
  const startedBy = triggerText(view.trigger);
  parts.trigger.hidden = !startedBy;
  replaceChildren(
    parts.trigger,
    startedBy && [triggerMark(view.trigger), ` Started by ${startedBy}. `, h("a", { href: "#/triggers" }, "Triggers")],
  );
  const total = view.usage.input_tokens + view.usage.output_tokens;
  replaceChildren(
    parts.facts,
    fact("Kind", view.kind === "task" ? "task (reasoner plans it)" : "workflow"),
    fact("Reasoner", view.model ? `${view.reasoner} · ${view.model}` : view.reasoner),
    fact("Started", formatTime(view.started_at ?? view.created_at)),
    fact("Duration", terminal ? formatDuration(view.duration_ms) : "still running"),
    fact(
      "Tokens",
      `${formatNumber(total)} (${formatNumber(view.usage.input_tokens)} in, ${formatNumber(view.usage.output_tokens)} out)`,
    ),
    fact("Started by", view.owner),
    fact("Run id", h("span", { class: "mono" }, view.id)),
  );
  syncActions(parts.actions, terminal, handlers);

  parts.approvalsSection.hidden = pending.length === 0;
  updateKeyedList(
    parts.approvals,
    pending,
    (approval) => approval.id,
    (approval) =>
      approvalCard(approval, {
        runId: view.id,
        onDecided: (choice, updated) => handlers.decided(choice, updated, approval),
      }),
  );

  replaceChildren(parts.outcome, outcomeView(view));

  updateKeyedList(
    parts.steps,
    view.steps.map((step) => ({ step, terminal })),
    ({ step }) => step.id,
    stepCard,
  );
  replaceChildren(
    parts.stepsEmpty,
    view.steps.length === 0 &&
      emptyState(terminal ? "This run called no tools." : "No steps yet: they appear here as they start."),
  );

  parts.turnsSection.hidden = view.turns.length === 0;
  updateKeyedList(parts.turns, view.turns, (turn) => String(turn.index), turnCard);
}

/**
 * What became of a decision made on this page. "The step runs now" is only true while it does: once the
 * step has ended (or the run ended without it), the notice says how, so it never outlives what it claims.
 */
function decisionNotice({ choice, stepId }, view) {
  if (choice !== "approve") return notice("Rejected: the step will not run.", "success");
  const step = view.steps.find((candidate) => candidate.id === stepId);
  const [status] = step ? stepStatus(step, TERMINAL_STATUSES.has(view.status)) : ["awaiting_approval"];
  if (status === "awaiting_approval" || status === "running") return notice("Approved: the step runs now.", "success");
  if (status === "succeeded") return notice(`Approved: step ${stepId} ran and succeeded.`, "success");
  if (status === "failed") return notice(`Approved: step ${stepId} ran and failed; its error is below.`, "error");
  if (status === "cancelled")
    return notice(`Approved, but step ${stepId} did not run: the run ended ${words(view.status)}.`, "warning");
  return notice(`Approved: step ${stepId} is ${words(status)}.`);
}

/**
 * The run's status as its events tell it. The API reads a run's header and its events separately, and an
 * approval is journaled before the header says so (with no event for the header change), so the header's
 * status can trail the events until the next event brings a fresh read.
 */
function shownStatus(view, pending) {
  if (pending.length > 0) return "awaiting_approval";
  if (view.status === "queued" && view.last_event_id > 0) return "running";
  return view.status;
}

/** Show Cancel while the run can still be stopped, Run again once it has finished; keep focus where it is. */
function syncActions(actions, terminal, handlers) {
  const wanted = terminal ? "rerun" : "cancel";
  if (actions.dataset.showing === wanted) return;
  actions.dataset.showing = wanted;
  replaceChildren(
    actions,
    terminal
      ? h("button", { type: "button", class: "button", on: { click: handlers.rerun } }, "Run again")
      : h("button", { type: "button", class: "button button--danger", on: { click: handlers.cancel } }, "Cancel run"),
  );
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

function outcomeView(view) {
  if (view.status === "failed" || view.status === "needs_attention" || (view.error && view.status !== "succeeded")) {
    return h(
      "section",
      { class: "section card stack final-answer final-answer--failed", "aria-label": "Outcome" },
      h("h2", {}, view.status === "cancelled" ? "Cancelled" : "What went wrong"),
      h("p", { class: "text-block" }, view.error || `The run ended as ${words(view.status)}.`),
      view.final_answer && h("p", { class: "text-block" }, view.final_answer),
    );
  }
  if (view.final_answer) {
    return h(
      "section",
      { class: "section card stack final-answer", "aria-label": "Final answer" },
      h("h2", {}, "Final answer"),
      h("p", { class: "text-block" }, view.final_answer),
    );
  }
  return null;
}

/**
 * A step as shown: once the run has ended, a step still marked running or awaiting approval never
 * finished (the run was cancelled, or its approval expired).
 */
function stepStatus(step, terminal) {
  if (terminal && (step.status === "running" || step.status === "awaiting_approval"))
    return ["cancelled", "did not run"];
  return [step.status, words(step.status)];
}

function stepCard({ step, terminal }) {
  const [status, label] = stepStatus(step, terminal);
  const qualified = step.server ? `${step.server}.${step.tool}` : (step.tool ?? "(unknown tool)");
  const argsText = JSON.stringify(step.arguments);
  const timing = [
    step.started_at && `started ${formatTime(step.started_at)}`,
    step.duration_ms !== null && step.duration_ms !== undefined && `took ${formatDuration(step.duration_ms)}`,
    step.attempt > 1 && `attempt ${step.attempt}`,
  ].filter(Boolean);
  const hasResult = step.result !== null && step.result !== undefined;
  return h(
    "li",
    { class: "card step stack--tight", dataset: { status: step.status, stepId: step.id } },
    h(
      "div",
      { class: "card__header" },
      h(
        "h3",
        { class: "step__title" },
        h("code", {}, qualified),
        h("span", { class: "step__meta" }, `step ${step.id}`),
      ),
      statusBadge(status, label),
    ),
    timing.length > 0 && h("p", { class: "step__meta" }, timing.join(" · ")),
    status === "running" && step.progress && progressView(step.progress),
    argsText === "{}"
      ? h("p", { class: "step__meta" }, "No arguments.")
      : h(
          "details",
          { dataset: { part: "arguments" }, open: argsText.length <= OPEN_RESULT_CHARS },
          h("summary", {}, "Arguments"),
          jsonBlock(step.arguments, "Arguments"),
        ),
    step.error &&
      h(
        "p",
        { class: `notice ${step.status === "rejected" ? "notice--warning" : "notice--error"}` },
        step.status === "rejected" ? "Not approved: " : "This step failed: ",
        step.error,
      ),
    hasResult &&
      h(
        "details",
        {
          dataset: { part: "result" },
          open:
            isRowResult(step.result) ||
            isContentResult(step.result) ||
            JSON.stringify(step.result).length <= OPEN_RESULT_CHARS,
        },
        h("summary", {}, resultSummary(step.result)),
        resultView(step.result),
      ),
  );
}

/**
 * A running step's last progress report (journaled at most once a second): a bar when the tool says
 * where it will end (hidden from screen readers, which read the words), and "3/8 (38%) — message".
 */
function progressView({ progress, total, message }) {
  const done = total > 0 ? Math.max(0, Math.min(progress, total)) : progress;
  const counted =
    total > 0
      ? `${formatNumber(progress)}/${formatNumber(total)} (${Math.round((100 * done) / total)}%)`
      : formatNumber(progress);
  return h(
    "div",
    { class: "step__progress", dataset: { part: "progress" } },
    // max before value: a <progress> clamps its value to the max it has when the value is set.
    total > 0 && h("progress", { max: String(total), value: done, "aria-hidden": "true" }),
    h("span", { class: "step__meta" }, message ? `${counted} — ${message}` : counted),
  );
}

function turnCard(turn) {
  const meta = [
    turn.model ?? "no model (offline planner)",
    `${formatDuration(turn.duration_ms)}`,
    `${formatNumber(turn.usage.input_tokens)} in / ${formatNumber(turn.usage.output_tokens)} out tokens`,
    `stop: ${words(turn.stop_reason)}`,
  ];
  return h(
    "li",
    { class: "card turn stack--tight" },
    h("h3", {}, `Turn ${turn.index}`),
    h("p", { class: "step__meta" }, meta.join(" · ")),
    turn.text && h("p", { class: "text-block" }, turn.text),
    turn.tool_calls.length > 0 &&
      h(
        "div",
        {},
        h("p", { class: "label" }, "Asked for:"),
        h(
          "ul",
          {},
          turn.tool_calls.map((call) =>
            h("li", {}, h("code", { class: "mono" }, `${call.server}.${call.tool}(${JSON.stringify(call.arguments)})`)),
          ),
        ),
      ),
  );
}
