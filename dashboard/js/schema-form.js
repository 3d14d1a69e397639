"use strict";
/**
 * Form fields generated from a tool's JSON Schema (as MCP servers publish it): strings, numbers and
 * integers with their bounds, booleans, enums, optional (nullable) fields; arrays, objects and untyped
 * values as JSON text. The API validates again on the server; these checks give quicker, local feedback.
 */

import { h, uniqueId } from "./dom.js";

const LONG_TEXT_CHARS = 500;

/**
 * The concrete schema of one property: `$ref`s resolved and `anyOf: [X, {type: "null"}]` unwrapped.
 * @returns {{schema: Object, nullable: boolean}}
 */
function resolve(property, root) {
  let schema = property;
  const seen = new Set();
  while (schema.$ref && !seen.has(schema.$ref)) {
    seen.add(schema.$ref);
    const name = schema.$ref.replace(/^#\/(\$defs|definitions)\//, "");
    schema = { ...(root.$defs?.[name] ?? root.definitions?.[name] ?? {}), ...property, $ref: undefined };
  }
  const union = schema.anyOf ?? schema.oneOf;
  if (!Array.isArray(union)) return { schema, nullable: schema.type === "null" };
  const branches = union.map((branch) => resolve(branch, root).schema);
  const concrete = branches.filter((branch) => branch.type !== "null");
  const nullable = concrete.length < branches.length;
  const merged = concrete.length === 1 ? { ...concrete[0], ...withoutUnion(schema) } : withoutUnion(schema);
  return { schema: merged, nullable };
}

function withoutUnion(schema) {
  const rest = { ...schema };
  delete rest.anyOf;
  delete rest.oneOf;
  return rest;
}

function kindOf(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  if (["string", "integer", "number", "boolean"].includes(schema.type)) return schema.type;
  return "json";
}

function jsonHint(schema) {
  if (schema.type === "array") return 'A JSON list, e.g. ["a", 1]';
  if (schema.type === "object") return 'A JSON object, e.g. {"key": "value"}';
  return 'Any JSON value: "text" in quotes, a number, true/false, a list or an object';
}

/** "From 1 to 1000", unless the description already says so. */
function boundsText(schema) {
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  const said = (value) => value === undefined || (schema.description ?? "").includes(String(value));
  if (said(low) && said(high)) return "";
  if (low !== undefined && high !== undefined) return `From ${low} to ${high}`;
  return low !== undefined ? `At least ${low}` : `At most ${high}`;
}

/** Check a number against the schema; returns an error sentence or "". */
function numberProblem(value, schema, kind) {
  if (!Number.isFinite(value)) return "Enter a number.";
  if (kind === "integer" && !Number.isInteger(value)) return "Enter a whole number.";
  if (schema.minimum !== undefined && value < schema.minimum) return `Must be at least ${schema.minimum}.`;
  if (schema.maximum !== undefined && value > schema.maximum) return `Must be at most ${schema.maximum}.`;
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
    return `Must be more than ${schema.exclusiveMinimum}.`;
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
    return `Must be less than ${schema.exclusiveMaximum}.`;
  return "";
}

function stringProblem(value, schema) {
  if (schema.minLength !== undefined && value.length < schema.minLength)
    return `Must be at least ${schema.minLength} character(s).`;
  if (schema.maxLength !== undefined && value.length > schema.maxLength)
    return `Must be at most ${schema.maxLength} characters.`;
  if (schema.pattern) {
    let pattern = null;
    try {
      pattern = new RegExp(schema.pattern, "u");
    } catch {
      // A server-side (Python) pattern JavaScript cannot compile: the API still checks it.
    }
    if (pattern && !pattern.test(value)) return "This value has characters or a form the tool does not accept.";
  }
  return "";
}

/**
 * One field: its element and how to read it.
 * @returns {{element: HTMLElement, read: () => {value?: any, omit?: boolean, error?: string}, setError: (m: string) => void}}
 */
function buildField(name, property, required, root) {
  const { schema, nullable } = resolve(property, root);
  const kind = kindOf(schema);
  const optional = !required;
  const id = uniqueId(`arg-${name}`);
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const hasDefault = schema.default !== undefined && schema.default !== null;
  const helpParts = [
    schema.description,
    (kind === "integer" || kind === "number") && boundsText(schema),
    kind === "json" && jsonHint(schema),
    hasDefault && `Default: ${JSON.stringify(schema.default)}`,
  ].filter(Boolean);
  const label = h(
    "label",
    { for: id },
    schema.title ?? name,
    optional ? h("span", { class: "field__optional" }, " (optional)") : null,
  );
  const help = helpParts.length ? h("p", { class: "field__help", id: helpId }, helpParts.join(" · ")) : null;
  const errorText = h("p", { class: "field__error", id: errorId, hidden: true });
  const describedBy = [help ? helpId : null, errorId].filter(Boolean).join(" ");
  let input;
  let read;

  if (kind === "boolean" && !nullable) {
    input = h("input", { type: "checkbox", id, checked: schema.default === true, "aria-describedby": describedBy });
    read = () => (required || input.checked !== (schema.default ?? false) ? { value: input.checked } : { omit: true });
    const element = h(
      "div",
      { class: "field" },
      h("div", { class: "field--check field" }, input, label),
      help,
      errorText,
    );
    return { element, read, setError: makeSetError(input, errorText) };
  }

  if (kind === "enum" || kind === "boolean") {
    const choices = kind === "boolean" ? [true, false] : schema.enum;
    input = h(
      "select",
      { id, "aria-describedby": describedBy },
      optional || !hasDefault ? h("option", { value: "" }, optional ? "— not set —" : "Choose…") : null,
      choices.map((choice, index) =>
        h("option", { value: String(index), selected: hasDefault && choice === schema.default }, String(choice)),
      ),
    );
    read = () => {
      if (input.value === "") return optional ? { omit: true } : { error: "Choose a value." };
      return { value: choices[Number(input.value)] };
    };
  } else if (kind === "integer" || kind === "number") {
    input = h("input", {
      type: "number",
      id,
      inputmode: kind === "integer" ? "numeric" : "decimal",
      step: kind === "integer" ? "1" : "any",
      min: schema.minimum,
      max: schema.maximum,
      value: hasDefault ? String(schema.default) : "",
      "aria-describedby": describedBy,
    });
    read = () => {
      if (input.value.trim() === "") {
        // A half-typed number reads as "" too: say so rather than silently leaving it out.
        if (input.validity.badInput) return { error: "Enter a number." };
        return optional ? { omit: true } : { error: "Required." };
      }
      const value = Number(input.value);
      const problem = numberProblem(value, schema, kind);
      return problem ? { error: problem } : { value };
    };
  } else if (kind === "string") {
    const long = (schema.maxLength ?? 0) > LONG_TEXT_CHARS;
    input = h(long ? "textarea" : "input", {
      type: long ? null : "text",
      id,
      rows: long ? 4 : null,
      spellcheck: "false",
      autocomplete: "off",
      value: hasDefault ? String(schema.default) : "",
      "aria-describedby": describedBy,
    });
    read = () => {
      const value = input.value;
      if (value === "") return optional ? { omit: true } : { error: "Required." };
      const problem = stringProblem(value, schema);
      return problem ? { error: problem } : { value };
    };
  } else {
    input = h("textarea", {
      id,
      class: "code code--short",
      rows: 4,
      spellcheck: "false",
      value: hasDefault ? JSON.stringify(schema.default, null, 2) : "",
      "aria-describedby": describedBy,
    });
    read = () => {
      const text = input.value.trim();
      if (text === "") return optional ? { omit: true } : { error: "Required." };
      let value;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return { error: `Not valid JSON: ${error.message}` };
      }
      if (schema.type === "array" && !Array.isArray(value)) return { error: "Enter a JSON list: [ … ]." };
      if (schema.type === "object" && (value === null || typeof value !== "object" || Array.isArray(value)))
        return { error: "Enter a JSON object: { … }." };
      return { value };
    };
  }
  if (required) input.required = true;
  const element = h("div", { class: "field" }, label, input, help, errorText);
  return { element, read, setError: makeSetError(input, errorText) };
}

function makeSetError(input, errorText) {
  return (message) => {
    errorText.textContent = message;
    errorText.hidden = !message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
}

/**
 * Fields for every property of an object schema.
 * @param {Object} schema The tool's input schema.
 * @returns {{element: HTMLElement, read: () => ({arguments: Object}|{errors: number})}}
 *   `read` marks invalid fields itself and focuses the first one.
 */
export function schemaForm(schema) {
  const properties = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  const fields = Object.entries(properties).map(([name, property]) => ({
    name,
    ...buildField(name, property, required.has(name), schema),
  }));
  const element = h(
    "div",
    { class: "stack" },
    fields.length ? fields.map((field) => field.element) : h("p", { class: "muted" }, "This tool takes no arguments."),
  );
  function read() {
    const values = {};
    let errors = 0;
    for (const field of fields) {
      const outcome = field.read();
      field.setError(outcome.error ?? "");
      if (outcome.error) {
        if (errors === 0) field.element.querySelector("input, select, textarea")?.focus();
        errors += 1;
      } else if (!outcome.omit) {
        values[field.name] = outcome.value;
      }
    }
    return errors ? { errors } : { arguments: values };
  }
  return { element, read };
}
