"use strict";
/** Rendering helpers shared by the views: status badges, JSON, row tables, errors, empty states. */

import { ApiError, describeError, problemTexts } from "./api.js";
import { h, words } from "./dom.js";

const STATUS_VARIANTS = {
  succeeded: "success",
  approved: "success",
  failed: "danger",
  rejected: "danger",
  awaiting_approval: "warning",
  needs_attention: "warning",
  pending: "warning",
  running: "info",
  queued: "info",
};
const LONG_CELL_CHARS = 60;
const LIVE_STATUSES = new Set(["running", "queued", "awaiting_approval", "pending"]);

/** Run statuses after which nothing more happens. */
export const TERMINAL_STATUSES = new Set(["succeeded", "failed", "cancelled", "needs_attention"]);

/** A coloured badge for a run, step or approval status. */
export function statusBadge(status, label = words(status)) {
  const variant = STATUS_VARIANTS[status] ?? "neutral";
  const live = LIVE_STATUSES.has(status) ? " badge--live" : "";
  return h("span", { class: `badge badge--${variant}${live}`, dataset: { status } }, label);
}

/** A small badge with no status dot. */
export function plainBadge(text, variant = "neutral") {
  return h("span", { class: `badge badge--plain badge--${variant}` }, text);
}

/** Pretty-printed JSON in a scrolling, focusable block (keyboard users can scroll it too). */
export function jsonBlock(value, label = "JSON") {
  return h("pre", { class: "json", tabindex: "0", "aria-label": label }, JSON.stringify(value, null, 2));
}

/**
 * Row results (`{columns: [...], rows: [[...], ...]}`, as the database tools return) render as a table.
 * @param {unknown} value
 */
export function isRowResult(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    Array.isArray(value.columns) &&
    Array.isArray(value.rows) &&
    value.columns.every((column) => typeof column === "string")
  );
}

function cellText(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table of row results, in its own scrolling container, with the other fields as a note under it. */
function rowTable(result, caption) {
  const rows = result.rows.map((row) => (Array.isArray(row) ? row : result.columns.map((column) => row?.[column])));
  const numeric = result.columns.map(
    (_, index) => rows.length > 0 && rows.every((row) => row[index] === null || typeof row[index] === "number"),
  );
  const table = h(
    "table",
    { class: "result-table" },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        result.columns.map((column, index) =>
          h("th", { scope: "col", class: numeric[index] ? "number" : null }, column),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          {},
          row.map((cell, index) => {
            const text = cellText(cell);
            return h("td", { class: numeric[index] ? "number" : text.length > LONG_CELL_CHARS ? "long" : null }, text);
          }),
        ),
      ),
    ),
  );
  const extras = Object.entries(result).filter(([key]) => key !== "columns" && key !== "rows");
  return h(
    "div",
    { class: "stack--tight" },
    h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": caption }, table),
    extras.length > 0 &&
      h("p", { class: "step__meta" }, extras.map(([key, value]) => `${words(key)}: ${cellText(value)}`).join(" · ")),
  );
}

/**
 * A result of content blocks, as the agent core keeps a tool result with an image, audio, an embedded resource
 * or a resource link: `{content: [block, …], structuredContent?}`, each block in MCP's shape. Text-only and
 * structured results are never this (they stay text or JSON), so at least one block is something else.
 * @param {unknown} value
 */
export function isContentResult(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    Array.isArray(value.content) &&
    Object.keys(value).every((key) => key === "content" || key === "structuredContent") &&
    value.content.some((block) => block !== null && typeof block === "object" && block.type !== "text")
  );
}

// What an <img> may show: a data: URL of an image type (the CSP's img-src allows data:, and an image cannot run
// script). Only http(s) links are clickable; other URIs (file:, demo:, javascript:) are shown as text.
const IMAGE_TYPE = /^image\/[a-z0-9.+-]+$/i;
const WEB_LINK = /^https?:\/\//i;

/** The size of what base64 `data` encodes, as "1.2 KiB". */
function base64Size(data) {
  const text = String(data ?? "").trimEnd();
  const bytes = Math.floor((text.length * 3) / 4) - (text.length - text.replace(/=+$/, "").length);
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** "image/png, 1.2 KiB", or what the journal says about data it did not keep. */
function mediaFacts(mimeType, data, omitted) {
  return `${mimeType || "binary"}, ${omitted ?? base64Size(data)}`;
}

function linkTo(uri, label) {
  if (WEB_LINK.test(uri)) return h("a", { href: uri, rel: "noopener noreferrer", target: "_blank" }, label);
  return h("code", {}, uri);
}

function contentBlock(block) {
  const kind = block?.type;
  if (kind === "text") return h("p", { class: "text-block", dataset: { block: kind } }, block.text);
  if (kind === "image" && typeof block.data === "string" && IMAGE_TYPE.test(block.mimeType ?? "")) {
    const facts = mediaFacts(block.mimeType, block.data);
    return h(
      "figure",
      { class: "result-image", dataset: { block: kind } },
      h("img", { src: `data:${block.mimeType};base64,${block.data}`, alt: `An image the tool returned (${facts})` }),
      h("figcaption", { class: "step__meta" }, facts),
    );
  }
  if (kind === "image" || kind === "audio") {
    const why = block.omitted ? "" : kind === "audio" ? " (not played here)" : " (not an image type shown here)";
    return h(
      "p",
      { class: "step__meta", dataset: { block: kind } },
      `${kind === "image" ? "Image" : "Audio"}: ${mediaFacts(block.mimeType, block.data, block.omitted)}${why}`,
    );
  }
  if (kind === "resource") {
    const resource = block.resource ?? {};
    if (typeof resource.text === "string") {
      return h(
        "figure",
        { class: "result-resource stack--tight", dataset: { block: kind } },
        h(
          "figcaption",
          { class: "step__meta" },
          "Resource ",
          h("code", {}, resource.uri),
          ` (${resource.mimeType || "text"})`,
        ),
        h("pre", { class: "json", tabindex: "0", "aria-label": `Resource ${resource.uri}` }, resource.text),
      );
    }
    return h(
      "p",
      { class: "step__meta", dataset: { block: kind } },
      "Resource ",
      h("code", {}, resource.uri),
      ` (${mediaFacts(resource.mimeType, resource.blob, resource.omitted)})`,
    );
  }
  if (kind === "resource_link") {
    return h(
      "p",
      { dataset: { block: kind } },
      "Link: ",
      linkTo(String(block.uri ?? ""), block.title || block.name || block.uri),
      WEB_LINK.test(String(block.uri ?? "")) ? null : ` (${block.title || block.name})`,
      block.description ? ` — ${block.description}` : null,
    );
  }
  return jsonBlock(block, "Content block");
}

function contentView(result) {
  return h(
    "div",
    { class: "stack--tight" },
    result.content.map(contentBlock),
    result.structuredContent !== undefined && jsonBlock(result.structuredContent, "Structured content"),
  );
}

/** A tool result: a table for row results, its blocks for content results, text for strings, pretty JSON else. */
export function resultView(result) {
  if (isRowResult(result)) {
    const count = result.rows.length;
    return rowTable(result, `${count} row${count === 1 ? "" : "s"} × ${result.columns.length} columns`);
  }
  if (isContentResult(result)) return contentView(result);
  if (typeof result === "string") return h("p", { class: "text-block" }, result);
  return jsonBlock(result, "Result");
}

/** A one-line summary of a result, for a collapsed <details>. */
export function resultSummary(result) {
  if (isRowResult(result)) return `Result: ${result.rows.length} row(s)`;
  if (isContentResult(result)) {
    const kinds = result.content.map((block) => words(block?.type ?? "block"));
    return `Result: ${kinds.slice(0, 5).join(", ")}${kinds.length > 5 ? ", …" : ""}`;
  }
  if (Array.isArray(result)) return `Result: a list of ${result.length}`;
  if (result !== null && typeof result === "object") {
    const keys = Object.keys(result);
    return `Result: ${keys.slice(0, 4).join(", ")}${keys.length > 4 ? ", …" : ""}`;
  }
  return "Result";
}

/** An error notice with the API's problems listed, for views and forms. */
export function errorNotice(error) {
  const problems = problemTexts(error);
  const askForKey = () => window.dispatchEvent(new CustomEvent("agentic:ask-key"));
  return h(
    "div",
    { class: "notice notice--error", role: "alert" },
    h("p", {}, describeError(error)),
    problems.length > 0 &&
      h(
        "ul",
        {},
        problems.map((problem) => h("li", {}, problem)),
      ),
    error instanceof ApiError &&
      error.status === 401 &&
      h("p", {}, h("button", { type: "button", class: "link-button", on: { click: askForKey } }, "Enter an API key")),
  );
}

export function notice(text, variant = "info") {
  return h("p", { class: `notice notice--${variant}` }, text);
}

export function emptyState(text) {
  return h("p", { class: "empty" }, text);
}

/** The header of a page: its h1 (focused after navigation) and an optional lead and actions. */
export function pageHeader(title, lead, ...actions) {
  return h(
    "div",
    { class: "page-header" },
    h("div", {}, h("h1", { tabindex: "-1" }, title), lead && h("p", {}, lead)),
    actions.length > 0 && h("div", { class: "actions" }, actions),
  );
}

/** Badges that say what a tool may do. */
export function toolBadges(tool) {
  return h(
    "span",
    { class: "badges" },
    tool.read_only ? plainBadge("read-only", "success") : null,
    tool.destructive && !tool.read_only ? plainBadge("destructive · needs approval", "danger") : null,
    !tool.read_only && !tool.destructive ? plainBadge("writes", "warning") : null,
    tool.idempotent ? plainBadge("idempotent", "info") : null,
  );
}

/**
 * Bring a list's children in line with `items`, rebuilding only the items whose data changed, so that
 * focus, typed text and open <details> survive live updates. A rebuilt item keeps the open/closed
 * state of its <details data-part="…"> elements.
 * @template T
 * @param {HTMLElement} list
 * @param {T[]} items
 * @param {(item: T) => string} keyOf
 * @param {(item: T) => HTMLElement} build
 */
export function updateKeyedList(list, items, keyOf, build) {
  const existing = new Map([...list.children].map((child) => [child.dataset.key, child]));
  const wanted = items.map((item) => {
    const key = keyOf(item);
    const signature = JSON.stringify(item);
    const old = existing.get(key);
    if (old && old.dataset.signature === signature) return old;
    const fresh = build(item);
    fresh.dataset.key = key;
    fresh.dataset.signature = signature;
    if (old) {
      for (const details of old.querySelectorAll("details[data-part]")) {
        const twin = fresh.querySelector(`details[data-part="${details.dataset.part}"]`);
        if (twin) twin.open = details.open;
      }
    }
    return fresh;
  });
  wanted.forEach((node, index) => {
    const current = list.children[index];
    if (current !== node) list.insertBefore(node, current ?? null);
  });
  while (list.children.length > wanted.length) list.lastElementChild.remove();
}
