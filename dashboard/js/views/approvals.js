"use strict";
/** The approval queue: every pending approval of every run that waits for one, refreshed while visible. */

import { api } from "../api.js";
import { approvalCard } from "../approval-card.js";
import { h, replaceChildren } from "../dom.js";
import { emptyState, errorNotice, pageHeader, updateKeyedList } from "../render.js";
import { pollWhileVisible } from "../poll.js";

const REFRESH_MS = 5000;
const MAX_RUNS = 100;

export const approvalsView = { nav: "approvals", title: "Approvals", render };

/** Pending approvals with the run each belongs to, oldest request first. */
async function pendingApprovals(signal) {
  const page = await api(`/runs?status=awaiting_approval&limit=${MAX_RUNS}`, { signal });
  const views = await Promise.all(page.runs.map((run) => api(`/runs/${encodeURIComponent(run.id)}`, { signal })));
  return views
    .flatMap((view) =>
      view.approvals
        .filter((approval) => approval.status === "pending")
        .map((approval) => ({ approval, runId: view.id, runTitle: view.title })),
    )
    .sort((a, b) => a.approval.requested_at - b.approval.requested_at);
}

function render(root, _params, signal) {
  const list = h("div", { class: "stack" });
  const empty = h("div");
  const messages = h("div", { "aria-live": "polite" });
  const errors = h("div");
  const refreshButton = h("button", { type: "button", class: "button" }, "Refresh");
  root.append(
    pageHeader(
      "Approvals",
      "Tool calls that change things wait here until someone approves or rejects them.",
      refreshButton,
    ),
    messages,
    errors,
    empty,
    list,
  );

  async function refresh() {
    try {
      const items = await pendingApprovals(signal);
      replaceChildren(errors);
      replaceChildren(empty, items.length === 0 && emptyState("Nothing is waiting for approval."));
      updateKeyedList(
        list,
        items,
        (item) => item.approval.id,
        (item) =>
          approvalCard(item.approval, {
            runId: item.runId,
            runTitle: item.runTitle,
            onDecided: (decision, view) => {
              replaceChildren(
                messages,
                h(
                  "p",
                  { class: "notice notice--success" },
                  `${decision === "approve" ? "Approved" : "Rejected"} ${item.approval.server}.${item.approval.tool}. `,
                  h("a", { href: `#/runs/${view.id}` }, "Open the run"),
                ),
              );
              refresh();
            },
          }),
      );
    } catch (error) {
      if (!signal.aborted) replaceChildren(errors, errorNotice(error));
    }
  }

  refreshButton.addEventListener("click", refresh);
  pollWhileVisible(refresh, REFRESH_MS, signal);
}
