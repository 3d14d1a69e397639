"use strict";
/**
 * One pending approval: the exact tool and arguments, and Approve / Reject. Approving sends the approval's
 * id and its arguments hash, so the agent core runs exactly the call shown here and nothing else.
 */

import { api } from "./api.js";
import { formatRelative, formatTime, h, replaceChildren, uniqueId } from "./dom.js";
import { errorNotice, jsonBlock, plainBadge } from "./render.js";

/**
 * @param {Object} approval An ApprovalView from the API.
 * @param {{runId: string, runTitle?: string, onDecided: (decision: string, view: Object) => void}} options
 *   `runTitle` adds a link to the run (for the Approvals page).
 * @returns {HTMLElement}
 */
export function approvalCard(approval, { runId, runTitle, onDecided }) {
  const qualified = `${approval.server}.${approval.tool}`;
  const reasonId = uniqueId("reason");
  const reason = h("input", { type: "text", id: reasonId, maxlength: 1000, autocomplete: "off" });
  const messages = h("div", { "aria-live": "polite" });
  const approve = h("button", { type: "button", class: "button button--success" }, "Approve");
  const reject = h("button", { type: "button", class: "button button--danger" }, "Reject");
  const titleId = uniqueId("approval-title");

  async function decide(decision) {
    approve.disabled = reject.disabled = true;
    replaceChildren(messages, h("p", { class: "muted" }, decision === "approve" ? "Approving…" : "Rejecting…"));
    const body = { decision, approval_id: approval.id };
    if (decision === "approve") body.arguments_hash = approval.arguments_hash;
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      const view = await api(`/runs/${encodeURIComponent(runId)}/approvals`, { method: "POST", body });
      replaceChildren(messages);
      onDecided(decision, view);
    } catch (error) {
      replaceChildren(messages, errorNotice(error));
      approve.disabled = reject.disabled = false;
    }
  }
  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));

  return h(
    "article",
    { class: "card approval stack", "aria-labelledby": titleId, dataset: { approvalId: approval.id } },
    h(
      "div",
      { class: "card__header" },
      h("h3", { id: titleId }, "Approve ", h("code", {}, qualified), "?"),
      plainBadge("waiting for you", "warning"),
    ),
    runTitle && h("p", {}, "Run: ", h("a", { href: `#/runs/${runId}` }, runTitle)),
    h(
      "p",
      { class: "step__meta" },
      `Step ${approval.step_id} · asked ${formatTime(approval.requested_at)} · expires `,
      h("time", { datetime: new Date(approval.expires_at * 1000).toISOString() }, formatRelative(approval.expires_at)),
    ),
    h("p", {}, "Approving runs exactly this call with exactly these arguments:"),
    jsonBlock(approval.arguments, `Arguments of ${qualified}`),
    h("p", { class: "step__meta mono" }, `arguments hash ${approval.arguments_hash}`),
    h(
      "div",
      { class: "field" },
      h(
        "label",
        { for: reasonId },
        "Reason ",
        h("span", { class: "field__optional" }, "(optional, kept in the run's record)"),
      ),
      reason,
    ),
    h("div", { class: "actions" }, approve, reject),
    messages,
  );
}
