// Destinations, where the brand's conversions go: each with its state (a destination that kept failing is disabled, and
// says why), paused and resumed here; a webhook is added here, its signing secret shown once. Ad-platform
// destinations need credentials and conversion names: they are added through the API (docs/outbound.md).

import { showProblem, clearProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
const Events = ["call.started", "call.completed", "call.qualified", "outcome.set", "revenue.changed"];
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

export function initDestinations(context) {
  view = context;
  $("destination-events").append(...Events.map((name) => {
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "events", value: name });
    label.append(box, ` ${name}`);
    return label;
  }));
  $("destination-form").addEventListener("submit", addWebhook);
}
