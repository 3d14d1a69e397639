"use strict";
/** The workflow editor: a JSON (or YAML) document that the API validates as you type, run once it is valid. */

import { api } from "../api.js";
import { h, replaceChildren, uniqueId } from "../dom.js";
import { busy, startRun } from "../forms.js";
import { errorNotice, notice } from "../render.js";

const VALIDATE_DELAY_MS = 600;

const EXAMPLE_WORKFLOW = {
  name: "weather_check",
  description: "The weather in Seattle, kept in the key/value store.",
  steps: [
    { id: "weather", tool: "custom.get_weather", arguments: { location: "Seattle" } },
    {
      id: "store",
      tool: "custom.store_data",
      arguments: { key: "weather/seattle", value: "{{ steps.weather.result.current }}" },
    },
  ],
};

/**
 * @param {AbortSignal} signal
 * @returns {{element: HTMLElement, shown: () => void, setText: (text: string) => void}}
 */
export function workflowEditor(signal) {
  const editorId = uniqueId("workflow");
  const textarea = h("textarea", {
    id: editorId,
    name: "workflow",
    class: "code",
    rows: 18,
    spellcheck: "false",
    autocomplete: "off",
    autocapitalize: "off",
    "aria-describedby": `${editorId}-help ${editorId}-status`,
    value: JSON.stringify(EXAMPLE_WORKFLOW, null, 2),
  });
  const status = h("div", { id: `${editorId}-status`, "aria-live": "polite" });
  const messages = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card stack", "aria-label": "Write a workflow" },
    h(
      "div",
      { class: "field" },
      h("label", { for: editorId }, "Workflow document (JSON or YAML)"),
      h(
        "p",
        { class: "field__help", id: `${editorId}-help` },
        "Steps run in order; ",
        h("code", {}, '{"parallel": [...]}'),
        " runs steps at once; ",
        h("code", {}, "{{ steps.<id>.result }}"),
        " uses an earlier result. The agent core checks it as you type.",
      ),
      textarea,
    ),
    status,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "button button--primary" }, "Validate and run"),
      h("button", { type: "button", class: "button", on: { click: () => validate() } }, "Validate"),
    ),
    messages,
  );

  let sequence = 0;
  let timer = null;

  /** Ask the API; show the outcome unless a newer check has started. Returns whether the document is valid. */
  async function validate() {
    clearTimeout(timer);
    sequence += 1;
    const mine = sequence;
    replaceChildren(status, h("p", { class: "muted" }, "Checking…"));
    try {
      const report = await api("/workflows/validate", { method: "POST", body: { workflow: textarea.value }, signal });
      if (mine !== sequence) return report.valid;
      textarea.setAttribute("aria-invalid", String(!report.valid));
      replaceChildren(
        status,
        report.valid
          ? notice("Valid: ready to run.", "success")
          : h(
              "div",
              { class: "notice notice--error" },
              h("p", {}, `${report.problems.length} problem(s) to fix before this can run:`),
              h(
                "ul",
                {},
                report.problems.map((problem) => h("li", {}, problem)),
              ),
            ),
      );
      return report.valid;
    } catch (error) {
      if (error.name !== "AbortError" && mine === sequence) replaceChildren(status, errorNotice(error));
      return false;
    }
  }

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    // An earlier verdict would be stale now; check again once typing pauses.
    sequence += 1;
    replaceChildren(status, h("p", { class: "muted" }, "Checking when you pause typing…"));
    timer = setTimeout(validate, VALIDATE_DELAY_MS);
  });
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, messages, async () => {
      if (await validate()) await startRun({ workflow: textarea.value }, signal);
      else textarea.focus();
    });
  });
  let checked = false;
  return {
    element: form,
    /** Check the example the first time the editor is shown (not on every page load). */
    shown() {
      if (!checked) validate();
      checked = true;
    },
    setText(text) {
      textarea.value = text;
      textarea.setSelectionRange(0, 0);
      textarea.scrollTop = 0;
      checked = true;
      validate();
    },
  };
}
