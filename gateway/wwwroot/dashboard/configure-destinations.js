// Destinations, where the brand's conversions go: each with its state (a destination that kept failing is disabled, and
// says why), paused and resumed here; a webhook is added here, its signing secret shown once, and missed-call alerts by
// email (for every location or one). Ad-platform destinations need credentials and conversion names: they are added
// through the API (docs/outbound.md).

import { showProblem, clearProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
const Events = ["call.started", "call.completed", "call.qualified", "outcome.set", "revenue.changed", "call.missed"];
let view = null;        // { api, tenantPath, failed }

async function setState(destination, state) {
  try {
    await view.api(`${view.tenantPath()}/destinations/${encodeURIComponent(destination.id)}`, { method: "PATCH", body: { state } });
    await showDestinations();
  } catch (error) {
    view.failed(error);
  }
}

export async function showDestinations() {
  const list = await view.api(`${view.tenantPath()}/destinations`);
  const body = $("destinations").tBodies[0];
  body.replaceChildren();
  for (const d of list.items) {
    const row = body.insertRow();
    row.dataset.destination = d.id;
    for (const value of [d.name, d.kind, d.events.join(", "), d.state, d.stateReason ?? ""]) row.insertCell().textContent = value;
    const next = d.state === "active" ? "paused" : "active";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = next === "paused" ? "Pause" : "Resume";
    button.setAttribute("aria-label", `${button.textContent} ${d.name}`);
    button.addEventListener("click", () => setState(d, next));
    row.insertCell().append(button);
  }
}

async function addWebhook(event) {
  event.preventDefault();
  const form = $("destination-form");
  const events = [...form.querySelectorAll("input[name=events]:checked")].map((c) => c.value);
  try {
    const added = await view.api(`${view.tenantPath()}/destinations`, {
      method: "POST", body: { kind: "webhook", name: form.elements.name.value.trim(), url: form.elements.url.value.trim(), events },
    });
    $("destination-secret").textContent = added.secret;
    $("destination-added").hidden = false;
    clearProblem(form, $("destination-problem"));
    form.reset();
    await showDestinations();
  } catch (error) {
    showProblem(form, $("destination-problem"), error, (key) => key.replace(/\[\d+\]$/, ""));
  }
}

// A missed-call alert by email: an email destination for call.missed, to these addresses, for one location or all.
async function addAlert(event) {
  event.preventDefault();
  const form = $("alert-form");
  const to = form.elements.to.value.split(",").map((a) => a.trim()).filter(Boolean);
  const location = form.elements.location.value;
  $("alert-saved").textContent = "";
  try {
    await view.api(`${view.tenantPath()}/destinations`, {
      method: "POST",
      body: { kind: "email", name: form.elements.name.value.trim(), settings: { to }, filters: location ? { locations: [location] } : undefined },
    });
    clearProblem(form, $("alert-problem"));
    $("alert-saved").textContent = "Added.";
    form.reset();
    await showDestinations();
  } catch (error) {
    showProblem(form, $("alert-problem"), error, (key) => key.replace(/^settings\./, "").replace(/\[\d+\]$/, ""));
  }
}

export function showAlertForm(names) {
  const select = $("alert-form").elements.location;
  select.replaceChildren(new Option("every location", ""), ...[...names].map(([id, name]) => new Option(name, id)));
}

export function initDestinations(context) {
  view = context;
  $("destination-events").append(...Events.map((name) => {
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "events", value: name });
    label.append(box, ` ${name}`);
    return label;
  }));
  $("destination-form").addEventListener("submit", addWebhook);
  $("alert-form").addEventListener("submit", addAlert);
}
