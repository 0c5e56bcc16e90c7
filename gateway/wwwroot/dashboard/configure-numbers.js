// Brand admins' view of the numbers: the pools with their health (is a pool big enough for its traffic?), every
// tracking number and its use, and a location's static numbers by medium, which they add or replace here.

import { showProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
// The media the static-numbers API accepts (it answers a problem naming them for anything else).
const Media = ["gbp", "citation", "billboard", "radio", "tv", "print", "direct-mail", "email", "google-ads-call", "other"];
let view = null;        // { api, tenantPath, failed, location }

function row(body, values) {
  const tr = body.insertRow();
  for (const value of values) tr.insertCell().textContent = value ?? "";
  return tr;
}

export async function showStaticNumbers() {
  const location = view.location();
  if (!location) return;
  const list = await view.api(`${view.tenantPath()}/locations/${encodeURIComponent(location)}/static-numbers`);
  const body = $("static-numbers").tBodies[0];
  body.replaceChildren();
  for (const n of list.items) row(body, [n.key, n.medium, n.number, n.label, n.source, n.campaign]).dataset.key = n.key;
}

async function saveStaticNumber(event) {
  event.preventDefault();
  const form = $("static-number-form");
  const text = (name) => form.elements[name].value.trim() || null;
  const key = text("key") ?? "";
  try {
    await view.api(`${view.tenantPath()}/locations/${encodeURIComponent(view.location())}/static-numbers/${encodeURIComponent(key)}`, {
      method: "PUT", body: { number: text("number"), medium: form.elements.medium.value, label: text("label"), source: text("source"), campaign: text("campaign") },
    });
    $("static-number-problem").hidden = true;
    $("static-number-saved").textContent = "Saved.";
    form.reset();
    await showStaticNumbers();
  } catch (error) {
    $("static-number-saved").textContent = "";
    // An empty key misses the route: the API's 404/405 is shown as the key's problem.
    showProblem(form, $("static-number-problem"), error.errors ? error : Object.assign(error, { errors: { key: [] } }));
  }
}

// A pool's health is read per pool (its lease history); a failed one leaves its row without figures rather than the screen.
async function showPools() {
  const pools = await view.api(`${view.tenantPath()}/pools`);
  const healths = await Promise.all(pools.items.map((p) =>
    view.api(`${view.tenantPath()}/pools/${encodeURIComponent(p.id)}/health`).catch(() => null)));
  const body = $("pools").tBodies[0];
  body.replaceChildren();
  pools.items.forEach((pool, i) => {
    const h = healths[i];
    const verdict = !h ? "unknown" : h.sustainedHighUtilization || h.recommendedSize > h.size ? `grow to ${h.recommendedSize}` : "ok";
    const tr = row(body, [pool.id, pool.location ?? "brand-wide", pool.numbers?.length ?? 0, h?.activeLeases, h?.resting, h?.peakDemand,
      h ? `${(h.overflowRate * 100).toFixed(1)} %` : null, h?.recommendedSize, verdict]);
    tr.dataset.pool = pool.id;
    tr.dataset.health = verdict;
    for (const i of [2, 3, 4, 5, 6, 7]) tr.cells[i].className = "num";
  });
}

async function showNumbers() {
  const numbers = await view.api(`${view.tenantPath()}/numbers`);
  const body = $("numbers").tBodies[0];
  body.replaceChildren();
  for (const n of numbers.items) row(body, [n.number, n.use, n.pool, n.location, n.carrier]).dataset.number = n.number;
  const uses = Object.entries(Object.groupBy(numbers.items, (n) => n.use)).map(([use, items]) => `${items.length} ${use}`);
  $("numbers-count").textContent = `${numbers.count} in all${uses.length ? ": " + uses.join(", ") : ""}`;
}

export function initNumbers(context) {
  view = context;
  $("static-number-form").elements.medium.replaceChildren(...Media.map((m) => new Option(m, m)));
  $("static-number-form").addEventListener("submit", saveStaticNumber);
}

export async function showNumbersAndPools() {
  $("static-number-saved").textContent = "";
  await Promise.all([showPools(), showNumbers(), showStaticNumbers()]);
}
