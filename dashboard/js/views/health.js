"use strict";
/**
 * Health of the agent core and each MCP server, and which reasoner is in use; refreshed while visible. Each
 * server also shows its capability statuses (what its tools need, whether it is there, the setting to change):
 * shown, never counted against "Overall", since a restart would not fix them.
 */

import { api } from "../api.js";
import { formatDuration, formatTime, h, replaceChildren, words } from "../dom.js";
import { showReasoner } from "../header.js";
import { errorNotice, pageHeader, statusBadge } from "../render.js";
import { pollWhileVisible } from "../poll.js";

const REFRESH_MS = 5000;

export const healthView = { nav: "health", title: "Health", render };

const REASONER_NOTES = {
  offline:
    "No language model is configured: the offline planner matches tasks to tools by keywords and runs them " +
    "as written. Set AGENTIC_BEDROCK_MODEL_ID or AGENTIC_OPENAI_BASE_URL for a model's reasoning.",
  bedrock: "Amazon Bedrock (Converse API with tool use) plans tasks.",
  openai: "An OpenAI-compatible chat-completions endpoint plans tasks.",
};

function render(root, _params, signal) {
  const refreshButton = h("button", { type: "button", class: "button" }, "Refresh now");
  const checked = h("p", { class: "muted", "aria-live": "polite" });
  const hero = h("div", { class: "health-hero" });
  const services = h("div", { class: "grid", "aria-label": "Services", role: "list" });
  const errors = h("div");
  root.append(
    pageHeader(
      "Health",
      "The agent core and each MCP server, checked every 5 seconds while this page is open.",
      refreshButton,
    ),
    errors,
    hero,
    h("section", { class: "section" }, h("h2", {}, "Services"), checked, services),
  );

  async function refresh() {
    const started = performance.now();
    try {
      const report = await api("/health", { signal });
      const roundTrip = performance.now() - started;
      replaceChildren(errors);
      showReasoner(report.reasoner);
      replaceChildren(
        hero,
        reasonerCard(report),
        overallCard(report),
        report.local_model ? localModelCard(report) : null,
      );
      replaceChildren(
        services,
        serviceCard({
          name: "agent core",
          up: true,
          latency: roundTrip,
          details: [
            ["API", "this site, /api"],
            ["Run store", report.store],
          ],
          statusText: report.store === "ok" ? "up" : "degraded",
        }),
        report.servers.map((server) =>
          serviceCard({
            name: server.server,
            up: server.reachable,
            latency: server.latency_ms,
            details: [
              ["Circuit breaker", words(server.breaker)],
              ["Address", server.url],
              ...(server.error ? [["Error", server.error]] : []),
            ],
            capabilities: server.capabilities ?? [],
          }),
        ),
      );
      checked.textContent = `Last checked ${formatTime(Date.now() / 1000)}.`;
    } catch (error) {
      if (!signal.aborted) replaceChildren(errors, errorNotice(error));
    }
  }

  refreshButton.addEventListener("click", refresh);
  pollWhileVisible(refresh, REFRESH_MS, signal);
}

function reasonerCard(report) {
  const { name, model } = report.reasoner;
  return h(
    "section",
    { class: "card stack--tight", "aria-labelledby": "reasoner-heading" },
    h("h2", { id: "reasoner-heading" }, "Reasoner"),
    h("p", { class: "big-value", id: "health-reasoner" }, name),
    model && h("p", { class: "mono" }, model),
    h("p", { class: "muted" }, REASONER_NOTES[name] ?? ""),
  );
}

function overallCard(report) {
  const down = report.servers.filter((server) => !server.reachable).map((server) => server.server);
  const lacking = report.servers.filter((server) => (server.capabilities ?? []).some((capability) => !capability.ok));
  return h(
    "section",
    { class: "card stack--tight", "aria-labelledby": "overall-heading" },
    h("h2", { id: "overall-heading" }, "Overall"),
    h("p", { class: "big-value" }, statusBadge(report.status === "ok" ? "succeeded" : "failed", report.status)),
    h(
      "p",
      { class: "muted" },
      report.status === "ok"
        ? `All ${report.servers.length} MCP servers answer and the run store is ok.`
        : [
            down.length ? `Not answering: ${down.join(", ")}.` : "",
            report.store !== "ok" ? ` Run store: ${report.store}.` : "",
          ].join(""),
    ),
    lacking.length > 0 &&
      h(
        "p",
        { class: "muted", id: "health-capabilities-note" },
        `Some tools of ${lacking.map((server) => server.server).join(", ")} cannot run: see what they need below.`,
      ),
  );
}

/** What a fresh look for a local model server found (AGENTIC_REASONER=auto with no model configured). */
function localModelCard(report) {
  const { detected, ports } = report.local_model;
  const inUse = detected && report.reasoner.name === "openai" && report.reasoner.model === detected.model;
  const where = ports.length ? `127.0.0.1 ports ${ports.join(", ")}` : "no port (AGENTIC_LOCAL_MODEL_PORTS is empty)";
  return h(
    "section",
    { class: "card stack--tight", "aria-labelledby": "local-model-heading", id: "health-local-model" },
    h("h2", { id: "local-model-heading" }, "Local model"),
    h("p", { class: "big-value" }, detected ? detected.model : "none found"),
    detected && h("p", { class: "mono" }, detected.base_url),
    h(
      "p",
      { class: "muted" },
      !detected
        ? `Nothing answers GET /v1/models on ${where}. Start Ollama or LM Studio to use a local model.`
        : inUse
          ? "In use: it was found when the agent core started."
          : "Found after the agent core started: restart the agent core to use it.",
    ),
  );
}

/** One server's capability statuses: each with what was found and, when not ok, the setting that changes it. */
function capabilityList(capabilities) {
  return h(
    "ul",
    { class: "capabilities", "aria-label": "Capabilities" },
    capabilities.map((capability) =>
      h(
        "li",
        { class: "capability", dataset: { capability: capability.name, ok: String(capability.ok) } },
        // Not a .badge: the card's one badge is its up/down status.
        h(
          "span",
          { class: `capability__mark capability__mark--${capability.ok ? "ok" : "missing"}` },
          capability.ok ? "ok" : "not ok",
        ),
        " ",
        h("strong", {}, capability.name),
        `: ${capability.detail}.`,
        !capability.ok && capability.setting
          ? h("span", { class: "capability__setting" }, " Set ", h("code", {}, capability.setting), ".")
          : null,
      ),
    ),
  );
}

function serviceCard({ name, up, latency, details, statusText, capabilities = [] }) {
  return h(
    "article",
    { class: "card stack--tight", role: "listitem", "aria-label": name, dataset: { service: name } },
    h(
      "div",
      { class: "card__header" },
      h("h3", {}, name),
      statusBadge(up ? "succeeded" : "failed", statusText ?? (up ? "up" : "down")),
    ),
    h(
      "dl",
      { class: "facts" },
      h(
        "div",
        {},
        h("dt", {}, "Latency"),
        h("dd", {}, latency === null || latency === undefined ? "—" : formatDuration(latency)),
      ),
      details.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
    ),
    capabilities.length ? capabilityList(capabilities) : null,
  );
}
