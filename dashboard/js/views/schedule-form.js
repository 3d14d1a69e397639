"use strict";
/**
 * The Triggers page's "New schedule" form: a name, when (cron in a time zone, or every so often) and what (a
 * template with its inputs, or a task). The platform checks everything; its problems are listed under the form.
 */

import { api } from "../api.js";
import { h, replaceChildren, uniqueId } from "../dom.js";
import { busy } from "../forms.js";

const EVERY = /^(?:@every\s+)?(\d+)(s|m|h)$/;

/** A labelled field; `control` gets the label's id. */
function field(label, control, help) {
  const id = control.id || uniqueId("field");
  control.id = id;
  const helpId = help ? uniqueId("help") : null;
  if (helpId) control.setAttribute("aria-describedby", helpId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    help && h("p", { class: "field__help", id: helpId }, help),
  );
}

/** Radio buttons that show one of `panels` (an object of id → element). */
function switcher(legend, choices, panels) {
  const name = uniqueId("choice");
  const radios = choices.map(([value, label], index) => {
    const id = uniqueId(`${name}-${value}`);
    const input = h("input", { type: "radio", name, id, value, checked: index === 0 });
    input.defaultChecked = index === 0; // what form.reset() goes back to
    input.addEventListener("change", () => select(value));
    return [input, h("label", { for: id }, label)];
  });
  function select(value) {
    for (const [id, panel] of Object.entries(panels)) panel.hidden = id !== value;
  }
  const reset = () => select(choices[0][0]);
  reset();
  const element = h("fieldset", { class: "segmented" }, h("legend", {}, legend), radios);
  return { element, reset, value: () => element.querySelector("input:checked").value };
}

/** A template input's value from its text box: JSON when the default is not text (3, true), else the text. */
function inputValue(text, defaultValue) {
  if (typeof defaultValue === "string" || defaultValue === null || defaultValue === undefined) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * @param {AbortSignal} signal
 * @param {(schedule: Object) => void} onCreated
 * @returns {{element: HTMLElement}}
 */
export function scheduleForm(signal, onCreated) {
  const name = h("input", { type: "text", name: "name", maxlength: 100, autocomplete: "off", required: true });
  const cron = h("input", { type: "text", name: "cron", autocomplete: "off", placeholder: "0 6 * * 1-5" });
  const zones = uniqueId("zones");
  const timezone = h("input", { type: "text", name: "timezone", autocomplete: "off", value: "UTC", list: zones });
  const every = h("input", { type: "text", name: "every", autocomplete: "off", placeholder: "5m" });
  const cronPanel = h(
    "div",
    { class: "stack" },
    field("Cron expression", cron, "Five fields: minute, hour, day of month, month, day of week."),
    field("Time zone", timezone),
    h("datalist", { id: zones }, Intl.supportedValuesOf("timeZone").map((zone) => h("option", { value: zone }))),
  );
  const everyPanel = h("div", {}, field("Every", every, "30s, 5m, 1h… at least 5 seconds."));
  const whenChoice = switcher("When", [["cron", "On a cron schedule"], ["every", "Every so often"]], {
    cron: cronPanel,
    every: everyPanel,
  });

  const template = h("select", { name: "template", disabled: true }, h("option", {}, "Loading templates…"));
  const inputs = h("div", { class: "stack" });
  const task = h("textarea", { name: "task", rows: 3 });
  const templatePanel = h("div", { class: "stack" }, field("Template", template), inputs);
  const taskPanel = h("div", {}, field("Task", task, "In plain words; the reasoner plans the tool calls."));
  const whatChoice = switcher("What to run", [["template", "A template"], ["task", "A task"]], {
    template: templatePanel,
    task: taskPanel,
  });
  const catchUp = h(
    "select",
    { name: "catch_up" },
    h("option", { value: "latest" }, "Run the latest one"),
    h("option", { value: "skip" }, "Skip them"),
  );

  const messages = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "stack", "aria-label": "New schedule" },
    field("Name", name),
    whenChoice.element,
    cronPanel,
    everyPanel,
    whatChoice.element,
    templatePanel,
    taskPanel,
    field("Ticks missed while no replica ran", catchUp),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button button--primary" }, "Add schedule")),
    messages,
  );
  const element = h(
    "details",
    { class: "card new-schedule", dataset: { part: "new-schedule" } },
    h("summary", {}, "New schedule"),
    form,
  );

  let templates = [];
  let inputFields = [];
  function showInputs() {
    const chosen = templates.find((t) => t.id === template.value);
    inputFields = Object.entries(chosen?.workflow.inputs ?? {}).map(([key, defaultValue]) => {
      const text = defaultValue === null || defaultValue === undefined ? "" : String(defaultValue);
      const control = h("input", { type: "text", name: `input-${key}`, autocomplete: "off", value: text });
      return { key, defaultValue, control, element: field(key, control) };
    });
    replaceChildren(inputs, inputFields.map((input) => input.element));
  }
  template.addEventListener("change", showInputs);
  api("/workflows/templates", { signal })
    .then((list) => {
      templates = list.templates;
      replaceChildren(template, templates.map((t) => h("option", { value: t.id }, t.title)));
      template.disabled = false;
      showInputs();
    })
    .catch((error) => {
      if (error.name !== "AbortError") replaceChildren(template, h("option", { value: "" }, "No templates"));
    });

  /** The ScheduleRequest; what the platform would refuse anyway is left for it to say, in its words. */
  function request() {
    const body = { name: name.value.trim(), catch_up: catchUp.value };
    if (whenChoice.value() === "cron") {
      body.cron = cron.value.trim();
      body.timezone = timezone.value.trim() || "UTC";
    } else {
      const found = EVERY.exec(every.value.trim());
      body.every = found ? `@every ${found[1]}${found[2]}` : every.value.trim();
    }
    if (whatChoice.value() === "task") {
      body.task = task.value.trim();
    } else {
      body.template = template.value;
      body.inputs = Object.fromEntries(
        inputFields.map(({ key, defaultValue, control }) => [key, inputValue(control.value, defaultValue)]),
      );
    }
    return body;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, messages, async () => {
      const created = await api("/schedules", { method: "POST", body: request(), signal });
      form.reset();
      whenChoice.reset();
      whatChoice.reset();
      timezone.value = "UTC";
      showInputs();
      element.open = false;
      onCreated(created);
    });
  });
  return { element };
}
