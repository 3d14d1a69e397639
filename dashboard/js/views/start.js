"use strict";
/**
 * Start a run three ways: a task in plain words (the reasoner plans it), a built-in template with its
 * inputs, or a workflow document written in an editor (workflow-editor.js).
 */

import { api } from "../api.js";
import { h, replaceChildren, uniqueId } from "../dom.js";
import { busy, startRun } from "../forms.js";
import { errorNotice, notice, pageHeader } from "../render.js";
import { tidyWorkflow } from "../workflow-text.js";
import { workflowEditor } from "./workflow-editor.js";

const TASK_EXAMPLES = [
  'How many orders per status? "SELECT status, count(*) AS n FROM orders GROUP BY status"',
  "What is the weather in Seattle?",
  "Show the Kubernetes cluster status",
];

const MODES = [
  { id: "task", label: "Describe a task" },
  { id: "template", label: "Use a template" },
  { id: "json", label: "Write a workflow" },
];

export const startView = { nav: "start", title: "Start", render };

function render(root, _params, signal) {
  const panels = {
    task: taskPanel(signal),
    template: templatePanel(signal, (text) => {
      panels.json.setText(text);
      show("json");
      panels.json.element.querySelector("textarea").focus();
    }),
    json: workflowEditor(signal),
  };
  const radios = MODES.map((mode) => {
    const id = uniqueId(`mode-${mode.id}`);
    const input = h("input", {
      type: "radio",
      name: "start-mode",
      id,
      value: mode.id,
      on: { change: () => show(mode.id) },
    });
    return [input, h("label", { for: id }, mode.label)];
  });
  const switcher = h("fieldset", { class: "segmented" }, h("legend", {}, "How to start"), radios);

  function show(modeId) {
    for (const [id, panel] of Object.entries(panels)) panel.element.hidden = id !== modeId;
    switcher.querySelector(`input[value="${modeId}"]`).checked = true;
    panels[modeId].shown?.();
  }

  root.append(
    pageHeader("Start a run", "Describe a task for the reasoner, run a built-in template, or write a workflow."),
    h(
      "div",
      { class: "stack" },
      switcher,
      Object.values(panels).map((panel) => panel.element),
    ),
  );
  show("task");
}

function taskPanel(signal) {
  const taskId = uniqueId("task");
  const textarea = h("textarea", {
    id: taskId,
    name: "task",
    rows: 4,
    required: true,
    maxlength: 20000,
    "aria-describedby": `${taskId}-help`,
  });
  const messages = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card stack", "aria-label": "Describe a task" },
    h(
      "div",
      { class: "field" },
      h("label", { for: taskId }, "Task"),
      textarea,
      h(
        "p",
        { class: "field__help", id: `${taskId}-help` },
        "In plain words. The reasoner picks the tools and their arguments; tools that change things wait for ",
        "your approval. To query the sample database, put a SELECT in double quotes.",
      ),
    ),
    h(
      "div",
      { class: "stack--tight" },
      h("p", { class: "label" }, "Examples"),
      h(
        "ul",
        { class: "inline-list" },
        TASK_EXAMPLES.map((example) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "link-button",
                on: {
                  click: () => {
                    textarea.value = example;
                    textarea.focus();
                  },
                },
              },
              example,
            ),
          ),
        ),
      ),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button button--primary" }, "Run task")),
    messages,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const task = textarea.value.trim();
    if (!task) {
      replaceChildren(messages, notice("Write a task first.", "warning"));
      textarea.focus();
      return;
    }
    busy(form, messages, () => startRun({ task }, signal));
  });
  return { element: form };
}

/** The value a template input takes from its text box, keeping the type of its default. */
function inputValue(text, defaultValue) {
  if (text === "") return defaultValue ?? null;
  if (typeof defaultValue === "string" || defaultValue === null || defaultValue === undefined) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function templatePanel(signal, editAsJson) {
  const selectId = uniqueId("template");
  const select = h("select", { id: selectId, name: "template", disabled: true }, h("option", {}, "Loading templates…"));
  const details = h("div", { class: "stack" });
  const messages = h("div", { "aria-live": "polite" });
  const runButton = h("button", { type: "submit", class: "button button--primary", disabled: true }, "Run template");
  const editButton = h("button", { type: "button", class: "button", disabled: true }, "Edit as JSON");
  const form = h(
    "form",
    { class: "card stack", "aria-label": "Use a template" },
    h("div", { class: "field" }, h("label", { for: selectId }, "Template"), select),
    details,
    h("div", { class: "actions" }, runButton, editButton),
    messages,
  );
  let templates = [];
  let inputFields = [];

  function current() {
    return templates.find((template) => template.id === select.value);
  }

  function showTemplate() {
    const template = current();
    if (!template) return;
    const inputs = Object.entries(template.workflow.inputs ?? {});
    inputFields = inputs.map(([name, defaultValue]) => {
      const id = uniqueId(`input-${name}`);
      const field = h("input", {
        type: "text",
        id,
        name,
        autocomplete: "off",
        value: defaultValue === null || defaultValue === undefined ? "" : String(defaultValue),
      });
      return { name, defaultValue, field, element: h("div", { class: "field" }, h("label", { for: id }, name), field) };
    });
    const stepNames = listSteps(template.workflow.steps);
    replaceChildren(
      details,
      h("p", {}, template.description),
      h(
        "p",
        { class: "step__meta" },
        `${stepNames.length} step(s): `,
        stepNames.map((step, index) => [index ? ", " : "", h("code", {}, step)]),
        template.workflow.analyze ? " · then the reasoner writes a summary" : "",
      ),
      inputFields.length > 0 &&
        h(
          "fieldset",
          { class: "stack" },
          h("legend", {}, "Inputs"),
          inputFields.map((i) => i.element),
        ),
    );
  }

  select.addEventListener("change", showTemplate);
  editButton.addEventListener("click", () => {
    const template = current();
    if (!template) return;
    const workflow = tidyWorkflow(template.workflow);
    for (const { name, defaultValue, field } of inputFields)
      workflow.inputs[name] = inputValue(field.value, defaultValue);
    editAsJson(JSON.stringify(workflow, null, 2));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const template = current();
    if (!template) return;
    const inputs = Object.fromEntries(
      inputFields.map(({ name, defaultValue, field }) => [name, inputValue(field.value, defaultValue)]),
    );
    const body = { workflow: template.workflow };
    if (inputFields.length) body.inputs = inputs;
    busy(form, messages, () => startRun(body, signal));
  });

  api("/workflows/templates", { signal })
    .then((list) => {
      templates = list.templates;
      replaceChildren(
        select,
        templates.map((template) => h("option", { value: template.id }, `${template.title} (${template.id})`)),
      );
      select.disabled = runButton.disabled = editButton.disabled = templates.length === 0;
      if (templates.length === 0) replaceChildren(details, notice("The agent core has no built-in templates."));
      showTemplate();
    })
    .catch((error) => {
      if (error.name !== "AbortError") replaceChildren(messages, errorNotice(error));
    });
  return { element: form };
}

/** Step ids and tools of a workflow, parallel groups and fallbacks flattened. */
function listSteps(steps) {
  return steps.flatMap((step) =>
    step.parallel ? listSteps(step.parallel) : [`${step.tool.server ?? ""}.${step.tool.name ?? step.tool}`],
  );
}
