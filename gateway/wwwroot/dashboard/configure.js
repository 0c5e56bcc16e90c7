// Brand admins configure the brand without curl: a location's name, market, forwarding and opening hours (the location's
// PUT: the API validates, and its problems are shown field by field), the swap script's snippet for each site, and the
// tenant's API keys (issued with scopes and shown once; revoked). Numbers, pools and static numbers, conversion rules and
// destinations have modules of their own. The silo decides who may: this screen is shown to brand admins, and the API
// refuses anyone else.

import { showProblem as showFieldProblem } from "./problems.js";
import { initNumbers, showNumbersAndPools, showStaticNumbers } from "./configure-numbers.js";
import { initRules, showRules } from "./configure-rules.js";
import { initDestinations, showDestinations, showAlertForm } from "./configure-destinations.js";

const $ = (id) => document.getElementById(id);
const DayNames = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };
const Days = Object.keys(DayNames);
let view = null;        // { api, tenantPath, failed }
let current = null;     // the location resource being edited

// Marks the fields a problem names (e.g. "forwardTo", "businessHours[2].close": the day's close-… input) and says what is wrong.
function showProblem(form, box, error) {
  showFieldProblem(form, box, error, (key) => {
    const hours = /^businessHours\[(\d+)\]\.(open|close)$/.exec(key);
    if (hours) return `${hours[2]}-${current?.businessHours?.[Number(hours[1])]?.day}`;
    // The API numbers the steps sent; the form's rows hold them in order (empty rows are not sent, so they match only
    // when the filled rows come first, as the form fills them).
    const step = /^ringSteps\[(\d+)\]\.(numbers|timeoutSeconds)/.exec(key);
    if (step) return `step-${step[2] === "numbers" ? "numbers" : "seconds"}-${step[1]}`;
    return key;
  });
}

function fillLocation(location) {
  current = location;
  const form = $("location-form");
  for (const name of ["name", "market", "forwardTo", "afterHoursForwardTo", "whisper", "textForwardTo"]) form.elements[name].value = location[name] ?? "";
  form.elements.voicemail.checked = !!location.voicemail;
  for (let i = 0; i < RingSteps; i++) {
    const step = location.ringSteps?.[i];
    form.elements[`step-numbers-${i}`].value = (step?.numbers ?? []).join(", ");
    form.elements[`step-seconds-${i}`].value = step?.timeoutSeconds ?? "";
  }
  for (const day of Days) {
    const hours = (location.businessHours ?? []).find((h) => h.day === day);
    form.elements[`open-${day}`].value = hours?.open ?? "";
    form.elements[`close-${day}`].value = hours?.close ?? "";
  }
  $("location-problem").hidden = true;
  $("location-saved").textContent = "";
}

async function chooseLocation() {
  try {
    fillLocation(await view.api(`${view.tenantPath()}/locations/${encodeURIComponent($("config-location").value)}`));
    await showStaticNumbers();
  } catch (error) {
    view.failed(error);
  }
}

async function saveLocation(event) {
  event.preventDefault();
  const form = $("location-form");
  const text = (name) => form.elements[name].value.trim() || null;
  form.elements.save.disabled = true;
  try {
    // The whole location goes back (PUT replaces it): what this form does not edit is sent as it is now (read again, so
    // that a change made since, such as its conversion rules, is kept).
    const { id, tenant, updatedAt, ...config } = await view.api(`${view.tenantPath()}/locations/${encodeURIComponent(current.id)}`);
    const body = {
      ...config, name: text("name"), market: text("market"), forwardTo: text("forwardTo"), afterHoursForwardTo: text("afterHoursForwardTo"),
      whisper: text("whisper"), textForwardTo: text("textForwardTo"), voicemail: form.elements.voicemail.checked, ringSteps: ringSteps(form),
      businessHours: Days.filter((day) => form.elements[`open-${day}`].value || form.elements[`close-${day}`].value)
        .map((day) => ({ day, open: form.elements[`open-${day}`].value || null, close: form.elements[`close-${day}`].value || null })),
    };
    current = { ...current, businessHours: body.businessHours };
    fillLocation(await view.api(`${view.tenantPath()}/locations/${encodeURIComponent(id)}`, { method: "PUT", body }));
    $("location-saved").textContent = "Saved.";
  } catch (error) {
    showProblem(form, $("location-problem"), error);
  } finally {
    form.elements.save.disabled = false;
  }
}

async function listKeys() {
  const keys = await view.api(`${view.tenantPath()}/api-keys`);
  const body = $("api-keys").tBodies[0];
  body.replaceChildren();
  for (const key of keys.items) {
    const row = body.insertRow();
    row.dataset.key = key.id;
    for (const value of [key.name, key.scopes.join(", "), new Date(key.createdAt).toLocaleDateString(), key.revokedAt ? "revoked" : "active"])
      row.insertCell().textContent = value;
    const actions = row.insertCell();
    if (key.revokedAt) continue;
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.textContent = "Revoke";
    revoke.setAttribute("aria-label", `Revoke ${key.name}`);
    revoke.addEventListener("click", async () => {
      try {
        await view.api(`${view.tenantPath()}/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
        await listKeys();
      } catch (error) {
        view.failed(error);
      }
    });
    actions.append(revoke);
  }
}

async function issueKey(event) {
  event.preventDefault();
  const form = $("api-key-form");
  const scopes = [...form.querySelectorAll("input[name=scope]:checked")].map((c) => c.value);
  try {
    const issued = await view.api(`${view.tenantPath()}/api-keys`, { method: "POST", body: { name: form.elements.name.value.trim(), scopes } });
    $("api-key-value").textContent = issued.key;
    $("api-key-issued").hidden = false;
    $("api-key-problem").hidden = true;
    form.reset();
    await listKeys();
  } catch (error) {
    showProblem(form, $("api-key-problem"), error);
  }
}

// The snippet a site pastes, for a site the API knows: the pinned form carries the script's SRI hash from
// /dni/versions.json, so the browser refuses a changed file.
async function showSnippet(event) {
  event.preventDefault();
  const form = $("site-form");
  const key = form.elements.siteKey.value;
  try {
    const site = await view.api(`${view.tenantPath()}/sites/${encodeURIComponent(key)}`);
    const versions = await (await fetch("/dni/versions.json")).json();
    const pinned = versions.versions[versions.latest];
    const origin = location.origin;
    $("snippet-pinned").textContent = `<script src="${origin}${pinned.src}" integrity="${pinned.integrity}" crossorigin="anonymous"\n` +
      `        data-site-key="${key}" async></script>`;
    $("snippet-latest").textContent = `<script src="${origin}/dni.js" data-site-key="${key}" async></script>`;
    $("site-domains").textContent = (site.config?.domains ?? []).join(", ") || "no domain yet";
    $("site-snippet").hidden = false;
    $("site-problem").hidden = true;
  } catch (error) {
    $("site-snippet").hidden = true;
    showProblem(form, $("site-problem"), error);
  }
}

// Up to three ring steps: numbers that ring together, for so many seconds; the steps left empty are not sent (none: null).
const RingSteps = 3;

function ringSteps(form) {
  const steps = [];
  for (let i = 0; i < RingSteps; i++) {
    const numbers = form.elements[`step-numbers-${i}`].value.split(",").map((n) => n.trim()).filter(Boolean);
    const seconds = form.elements[`step-seconds-${i}`].value;
    if (numbers.length) steps.push({ numbers, timeoutSeconds: seconds === "" ? null : Number(seconds) });
  }
  return steps.length ? steps : null;
}

function ringStepRows() {
  return Array.from({ length: RingSteps }, (_, i) => {
    const row = document.createElement("div");
    row.className = "hours-row";
    const numbers = Object.assign(document.createElement("input"), { name: `step-numbers-${i}`, autocomplete: "off", inputMode: "tel" });
    const seconds = Object.assign(document.createElement("input"), { name: `step-seconds-${i}`, type: "number", min: 5, max: 120, inputMode: "numeric" });
    const label = (text, input) => {
      const made = document.createElement("label");
      made.append(text, input);
      return made;
    };
    row.append(label(`Step ${i + 1}: ring `, numbers), label(" for seconds ", seconds));
    return row;
  });
}

// A row per day: the day's name labels its opening and closing time inputs (open-mon, close-mon, ...).
function hoursRows() {
  const element = (tag, props, ...children) => {
    const made = Object.assign(document.createElement(tag), props);
    made.append(...children);
    return made;
  };
  return Days.map((day) => {
    const time = (kind) => {
      const input = element("input", { type: "time", name: `${kind}-${day}` });
      input.setAttribute("aria-describedby", `day-${day}`);
      return element("label", {}, `${kind === "open" ? "opens" : "closes"} `, input);
    };
    return element("div", { className: "hours-row" }, element("span", { id: `day-${day}` }, DayNames[day]), " ", time("open"), " ", time("close"));
  });
}

// The sites the tenant has, for the snippet's choice.
async function listSites() {
  const sites = await view.api(`${view.tenantPath()}/sites`);
  $("site-form").elements.siteKey.replaceChildren(...sites.items.map((site) => new Option(`${site.siteKey} (${site.config.domains.join(", ")})`, site.siteKey)));
}

export function initConfigure(context) {
  view = { ...context, location: () => $("config-location").value };
  initNumbers(view);
  initRules(view);
  initDestinations(view);
  $("hours").append(...hoursRows());
  $("ring-steps").append(...ringStepRows());
  $("site-form").addEventListener("submit", showSnippet);
  for (const button of document.querySelectorAll("button[data-copy]"))
    button.addEventListener("click", () => navigator.clipboard?.writeText($(button.dataset.copy).textContent));
  $("config-location").addEventListener("change", chooseLocation);
  $("location-form").addEventListener("submit", saveLocation);
  $("api-key-form").addEventListener("submit", issueKey);
}

// Shown to brand admins: fills the location choice from the names the dashboard read, and lists the keys.
export async function showConfigure(names, visible) {
  $("configure").hidden = !visible;
  $("configure-link").hidden = !visible;
  if (!visible) return;
  const select = $("config-location");
  if (select.options.length !== names.size) {
    select.replaceChildren(...[...names].map(([id, name]) => new Option(name, id)));
    await chooseLocation();
  }
  $("api-key-issued").hidden = true;
  $("destination-added").hidden = true;
  showAlertForm(names);
  await Promise.all([listKeys(), listSites(), showNumbersAndPools(), showRules(names), showDestinations()]);
}
