"use strict";
/**
 * Every tool of every MCP server: what it does, its input schema, whether it only reads or changes
 * things — and a form, generated from the schema, that tries it as a one-step workflow run.
 */

import { api } from "../api.js";
import { h, replaceChildren, uniqueId } from "../dom.js";
import { busy, startRun } from "../forms.js";
import { emptyState, errorNotice, jsonBlock, notice, pageHeader, plainBadge, toolBadges } from "../render.js";
import { schemaForm } from "../schema-form.js";

export const toolsView = { nav: "tools", title: "Tools", render };

/** Workflow names are `[a-z][a-z0-9_]{0,63}`; tool names may hold anything MCP allows. */
function tryWorkflowName(tool) {
  const cleaned = `try_${tool}`.toLowerCase().replace(/[^a-z0-9_]+/g, "_");
  return cleaned.slice(0, 64);
}

async function render(root, _params, signal) {
  const filterId = uniqueId("tool-filter");
  const filter = h("input", { type: "search", id: filterId, autocomplete: "off" });
  const content = h("div", {}, h("p", { class: "muted" }, "Loading tools…"));
  const counter = h("p", { class: "muted", "aria-live": "polite" });
  root.append(
    pageHeader("Tools", "What the agent core can call, by MCP server. Try any tool from a form."),
    h("div", { class: "field" }, h("label", { for: filterId }, "Filter tools"), filter),
    counter,
    content,
  );

  let tools;
  try {
    tools = (await api("/tools", { signal })).tools;
  } catch (error) {
    if (!signal.aborted) replaceChildren(content, errorNotice(error));
    return;
  }
  if (tools.length === 0) {
    replaceChildren(content, emptyState("No tools: no MCP server answered. See the Health page."));
    return;
  }
  const servers = [...new Set(tools.map((tool) => tool.server))];
  const cards = [];
  const sections = servers.map((server) => {
    const own = tools.filter((tool) => tool.server === server);
    const headingId = uniqueId(`server-${server}`);
    const serverCards = own.map((tool) => ({ tool, element: toolCard(tool, signal) }));
    cards.push(...serverCards);
    const section = h(
      "section",
      { class: "section", "aria-labelledby": headingId },
      h("h2", { id: headingId }, server, h("span", { class: "muted" }, ` · ${own.length} tool(s)`)),
      h(
        "div",
        { class: "grid" },
        serverCards.map((card) => card.element),
      ),
    );
    return { section, serverCards };
  });
  replaceChildren(
    content,
    sections.map(({ section }) => section),
  );

  const applyFilter = () => {
    const query = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const { tool, element } of cards) {
      const match = !query || `${tool.server}.${tool.name} ${tool.description}`.toLowerCase().includes(query);
      element.hidden = !match;
      if (match) shown += 1;
    }
    for (const { section, serverCards } of sections) section.hidden = serverCards.every((card) => card.element.hidden);
    counter.textContent = query ? `${shown} of ${tools.length} tools match.` : `${tools.length} tools.`;
  };
  filter.addEventListener("input", applyFilter);
  applyFilter();
}

function toolCard(tool, signal) {
  const qualified = `${tool.server}.${tool.name}`;
  const titleId = uniqueId("tool");
  // A tool its server cannot run now is not offered to runs: say why and what to change instead of a form.
  const unavailable = tool.available === false;
  const tryIt = unavailable ? unavailableNotice(tool) : h("details", { class: "try" }, h("summary", {}, "Try it"));
  if (!unavailable) {
    tryIt.addEventListener("toggle", () => {
      if (tryIt.open && tryIt.childElementCount === 1) tryIt.append(tryForm(tool, signal));
    });
  }
  return h(
    "article",
    { class: "card stack--tight", "aria-labelledby": titleId, dataset: { tool: qualified } },
    h(
      "div",
      { class: "card__header" },
      h("h3", { class: "tool__name", id: titleId }, tool.name),
      unavailable ? plainBadge("unavailable", "warning") : toolBadges(tool),
    ),
    h("p", {}, tool.description),
    h("details", {}, h("summary", {}, "Input schema"), jsonBlock(tool.input_schema, `Input schema of ${qualified}`)),
    tryIt,
  );
}

function unavailableNotice(tool) {
  const reason = tool.unavailable_reason || "its server cannot run it now";
  const setting = tool.setting ? ` To enable it, set ${tool.setting}.` : "";
  return notice(`Not offered to runs: ${reason}.${setting}`, "warning");
}

function tryForm(tool, signal) {
  const qualified = `${tool.server}.${tool.name}`;
  const fields = schemaForm(tool.input_schema);
  const messages = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "stack", "aria-label": `Try ${qualified}`, novalidate: true },
    fields.element,
    tool.destructive && !tool.read_only
      ? notice("This tool changes things: the run waits for an approval before it calls it.", "warning")
      : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button button--primary" }, "Start run")),
    messages,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const read = fields.read();
    if (read.errors) {
      replaceChildren(messages, notice(`Fix the ${read.errors} field(s) marked above.`, "warning"));
      return;
    }
    const workflow = {
      name: tryWorkflowName(tool.name),
      description: `Try ${qualified} from the dashboard.`,
      steps: [{ id: "call", tool: qualified, arguments: read.arguments }],
    };
    busy(form, messages, () => startRun({ workflow }, signal));
  });
  return form;
}
