// Conversion rules, the brand's default and a location's own: which calls count as qualified in reports and go to the
// ad platforms. The brand's rules are PUT alone (…/conversion-rules); a location's travel with the location's PUT, and
// "use the brand's rules" sends none, so the brand's apply to it again.

import { showProblem, clearProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
const Brand = "";       // the scope option for the brand's default rules
let view = null;        // { api, tenantPath, failed }
let editing = null;     // the tenant or location resource the form shows

const form = () => $("rules-form");

function fill(rules) {
  const f = form();
  for (const name of ["requireAnswered", "firstTimeCallerOnly", "withinBusinessHours"]) f.elements[name].checked = !!rules?.[name];
  for (const name of ["minDurationSeconds", "uniqueCallerWithinDays"]) f.elements[name].value = rules?.[name] ?? "";
  f.elements.outcomes.value = (rules?.outcomes ?? []).join(", ");
}

function read() {
  const f = form();
  const number = (name) => (f.elements[name].value === "" ? null : Number(f.elements[name].value));
  const outcomes = f.elements.outcomes.value.split(",").map((o) => o.trim()).filter(Boolean);
  return {
    requireAnswered: f.elements.requireAnswered.checked, minDurationSeconds: number("minDurationSeconds"),
    firstTimeCallerOnly: f.elements.firstTimeCallerOnly.checked, uniqueCallerWithinDays: number("uniqueCallerWithinDays"),
    withinBusinessHours: f.elements.withinBusinessHours.checked, outcomes: outcomes.length ? outcomes : null,
  };
}

function inheritChanged() {
  const inherit = $("rules-scope").value !== Brand && form().elements.inherit.checked;
  $("rules-fields").disabled = inherit;
  if (inherit) fill(null);
}

async function chooseScope() {
  const scope = $("rules-scope").value;
  clearProblem(form(), $("rules-problem"));
  $("rules-saved").textContent = "";
  try {
    editing = await view.api(scope === Brand ? view.tenantPath() : `${view.tenantPath()}/locations/${encodeURIComponent(scope)}`);
    const rules = scope === Brand ? editing.defaultConversionRules : editing.conversionRules;
    $("rules-inherit").hidden = scope === Brand;
    form().elements.inherit.checked = scope !== Brand && !rules;
    fill(rules);
    inheritChanged();
  } catch (error) {
    view.failed(error);
  }
}

async function save(event) {
  event.preventDefault();
  const scope = $("rules-scope").value;
  const rules = scope !== Brand && form().elements.inherit.checked ? null : read();
  // "conversionRules.outcomes[1]" names the form's "outcomes".
  const fieldOf = (key) => key.split(".").pop().replace(/\[\d+\]$/, "");
  $("rules-saved").textContent = "";
  try {
    if (scope === Brand) await view.api(`${view.tenantPath()}/conversion-rules`, { method: "PUT", body: rules });
    else {
      // The whole location goes back with its rules changed, read again so that another form's change is kept.
      const path = `${view.tenantPath()}/locations/${encodeURIComponent(scope)}`;
      const { id, tenant, updatedAt, ...config } = await view.api(path);
      editing = await view.api(path, { method: "PUT", body: { ...config, conversionRules: rules } });
    }
    clearProblem(form(), $("rules-problem"));
    $("rules-saved").textContent = "Saved.";
  } catch (error) {
    showProblem(form(), $("rules-problem"), error, fieldOf);
  }
}

export function initRules(context) {
  view = context;
  $("rules-scope").addEventListener("change", chooseScope);
  form().elements.inherit.addEventListener("change", inheritChanged);
  form().addEventListener("submit", save);
}

export async function showRules(names) {
  const select = $("rules-scope");
  select.replaceChildren(new Option("the brand (every location without its own)", Brand), ...[...names].map(([id, name]) => new Option(name, id)));
  await chooseScope();
}
