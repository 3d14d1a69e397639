"use strict";
/** Workflow documents as a person would write them, for the editor. */

/**
 * The API returns templates fully expanded (every default spelled out, tools as objects). This gives
 * back the short form: `"tool": "server.name"`, no null fields, no default `on_error`.
 * @param {Object} workflow
 * @returns {Object} A new document; the input is not changed.
 */
export function tidyWorkflow(workflow) {
  const { name, description, inputs = {}, steps = [], ...rest } = workflow;
  return dropNulls({ name, description, inputs: { ...inputs }, steps: steps.map(tidyStep), ...rest });
}

function tidyStep(step) {
  if (step.parallel) return { parallel: step.parallel.map(tidyStep) };
  const tidy = dropNulls(step);
  if (tidy.tool && typeof tidy.tool === "object") tidy.tool = `${tidy.tool.server}.${tidy.tool.name}`;
  if (tidy.on_error === "fail") delete tidy.on_error;
  else if (tidy.on_error?.fallback) tidy.on_error = { fallback: tidyStep(tidy.on_error.fallback) };
  return tidy;
}

function dropNulls(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null && value !== undefined));
}
