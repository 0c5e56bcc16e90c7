// The CallMesh dashboard: the markets and locations reports and the calls list, read from the tenant APIs as the
// signed-in user: with the gateway's session (company sign-in: the cookie, which page script cannot read, and the
// X-CallMesh-Session header) or with a pasted token (local use, integrations).
// The silo decides the scope (a location manager gets only its locations), so this page filters nothing itself.
// Every value from the API is written with textContent: campaigns and keywords come from visitors' URLs.
import { renderOverview } from "./overview.js";
import { openCall } from "./call-detail.js";
import { renderFollowUps } from "./follow-ups.js";
import { download } from "./export.js";
import { initConfigure, showConfigure } from "./configure.js";

const store = sessionStorage;   // the token lives in this tab only
const $ = (id) => document.getElementById(id);
let session = null;             // { mode: "cookie" | "token", token, tenant }
let names = new Map();          // location id -> name
let nextCursor = null;
let generation = 0;             // a newer load wins over answers still on their way
let linkFollowed = false;       // a #call= link is opened after the first load only
let linkedLocation = null;      // ?location= of the address, chosen once the user's locations are known

function claimsOf(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"));
    return JSON.parse(decodeURIComponent(Array.from(json, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")));
  } catch {
    return null;
  }
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

class ApiError extends Error {
  constructor(status, message, code, errors) { super(message); this.status = status; this.code = code; this.errors = errors; }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.mode === "cookie") headers["X-CallMesh-Session"] = "1";
  else headers.Authorization = "Bearer " + session.token;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  if (response.ok) return response.json();
  let problem = {};
  try { problem = await response.json(); } catch { /* not a problem document */ }
  // A validation problem names each bad field (e.g. "from: must not be after to.").
  const fields = Object.entries(problem.errors ?? {}).map(([field, messages]) => `${field}: ${[].concat(messages).join(" ")}`);
  const text = [problem.title, problem.detail, ...fields].filter(Boolean).join(" ") || response.statusText;
  throw new ApiError(response.status, `${text} (HTTP ${response.status})`, problem.code, problem.errors);
}

const tenantPath = () => "/v1/tenants/" + encodeURIComponent(session.tenant);

function cell(row, value, className) {
  const td = row.insertCell();
  td.textContent = value ?? "";
  if (className) td.className = className;
  return td;
}

// Shared credit (linear, time decay, position based) gives a touch part of a call.
const count = (n) => (n ?? 0).toLocaleString(undefined, { maximumFractionDigits: 2 });
function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  try {
    return amount.toLocaleString(undefined, { style: "currency", currency: currency || "USD" });
  } catch {
    return amount.toLocaleString() + " " + currency;
  }
}

function countCells(row, counts) {
  for (const n of counts) cell(row, count(n), "number");
}

function moneyCells(row, m, currency) {
  cell(row, money(m.revenue, currency), "number");
  cell(row, money(m.spend, currency), "number");
  cell(row, money(m.costPerQualifiedCall, currency), "number");
  cell(row, m.roas === null ? "" : m.roas.toFixed(2), "number");
}

function reportCells(row, m, currency) {
  countCells(row, [m.calls, m.answered, m.qualified, m.appointments, m.sales]);
  moneyCells(row, m, currency);
}

// Markets are the sums of their locations in the user's scope; the brand total is under the locations.
function renderMarkets(markets) {
  const body = $("markets").tBodies[0];
  body.replaceChildren();
  for (const item of markets.items) {
    const row = body.insertRow();
    row.dataset.market = item.market ?? "";
    cell(row, item.market ?? "(no market)");
    cell(row, count(item.locations), "number");
    reportCells(row, item.measures, markets.currency);
  }
}

function renderReport(report) {
  $("range").textContent = `${report.from} to ${report.to} (each location's own days)`;
  const body = $("report").tBodies[0];
  body.replaceChildren();
  for (const item of report.items) {
    const row = body.insertRow();
    row.dataset.location = item.location ?? "";
    cell(row, item.location === null ? "(no location)" : names.get(item.location) ?? item.location);
    cell(row, item.market);
    reportCells(row, item.measures, report.currency);
  }
  const foot = $("report").tFoot;
  foot.replaceChildren();
  const total = foot.insertRow();
  const locations = report.items.filter((i) => i.location !== null).length;
  cell(total, `Total, ${locations} location${locations === 1 ? "" : "s"}`);
  cell(total, "");
  reportCells(total, report.totals, report.currency);
}

// One location's calls credited to the touches that led to them, under the chosen model, with spend where it is known.
function renderAttribution(location, report) {
  const groupBy = report.groupBy;
  $("attribution-location").textContent = names.get(location) ?? location;
  $("attribution-key").textContent = { source: "Source", campaign: "Source / campaign", keyword: "Keyword" }[groupBy];
  const body = $("attribution-table").tBodies[0];
  body.replaceChildren();
  for (const item of report.items) {
    const row = body.insertRow();
    row.dataset.key = item.key;
    const label = groupBy === "campaign" ? `${item.source} / ${item.campaign || "(no campaign)"}` : item.key || "(none)";
    cell(row, label);
    countCells(row, [item.measures.calls, item.measures.qualified, item.measures.sales]);
    moneyCells(row, item.measures, report.currency);
  }
  $("attribution").hidden = false;
}

// The carrier's recording, opened in a tab of its own (the carrier may ask for its account's sign-in); web links only.
function recordingCell(row, url) {
  const td = cell(row, "", "recording");
  let parsed = null;
  try { parsed = url ? new URL(url) : null; } catch { /* not a URL: no link */ }
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) return;
  const link = document.createElement("a");
  link.href = parsed.href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = "Listen";
  td.append(link);
}

// How sure the credit is (docs/attribution.md): a late call says how long after its visitor left the number.
function matchLabel(call) {
  switch (call.match) {
    case "afterRelease": return `after visit (+${duration(Math.round(call.secondsSinceRelease ?? 0))})`;
    case "ambiguous": return "ambiguous (number reused)";
    case "callerHistory": return "caller's earlier visit";
    default: return call.match;
  }
}

function duration(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function appendCalls(page) {
  const body = $("calls").tBodies[0];
  for (const call of page.items) {
    const row = body.insertRow();
    row.dataset.call = call.id;
    row.dataset.location = call.location ?? "";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.dataset.call = call.id;
    open.textContent = new Date(call.startedAt).toLocaleString();
    row.insertCell().append(open);
    cell(row, call.location === null ? "(no location)" : names.get(call.location) ?? call.location);
    cell(row, call.caller);
    cell(row, call.trackingNumber);
    cell(row, `${call.source} / ${call.medium}`);
    cell(row, matchLabel(call), "match");
    cell(row, call.campaign, "campaign");
    cell(row, call.keyword);
    cell(row, call.test ? `${call.status} (test)` : call.status, call.test ? "test" : "");
    cell(row, duration(call.talkSeconds), "number");
    cell(row, call.qualified ? "yes" : "no");
    cell(row, call.outcome, "outcome");
    cell(row, money(call.value, call.currency), "number value");
    recordingCell(row, call.recordingUrl);
  }
  nextCursor = page.nextCursor;
  $("more").hidden = !nextCursor;
}

// The calls list uses the report's days, counted in the browser's time zone (the calls API takes instants).
function callsQuery(report, cursor) {
  const query = new URLSearchParams({ limit: "100" });
  const from = new Date(report.from + "T00:00:00");
  const to = new Date(report.to + "T00:00:00");
  to.setDate(to.getDate() + 1);
  query.set("from", from.toISOString());
  query.set("to", to.toISOString());
  if ($("location").value) query.set("location", $("location").value);
  for (const [name, value] of callFilters()) query.set(name, value);
  if (cursor) query.set("cursor", cursor);
  return query;
}

// The calls list's own filters (the API's names), those set only.
const CallFilters = [["source", "filter-source"], ["outcome", "filter-outcome"], ["firstTime", "filter-first-time"], ["match", "filter-match"]];
const callFilters = () => CallFilters.map(([name, id]) => [name, $(id).value.trim()]).filter(([, value]) => value);

let lastReport = null;
let customDays = false;   // until the user picks days, every load asks for the API's default (the last 30 days)
let pagedOn = false;      // the user read more than the first page of calls

// Calls keep coming in: while the page is visible, it reloads every 30 s, unless the user paged on in the calls
// (a reload would drop what was read) or is signed out.
const RefreshSeconds = 30;

async function load() {
  const mine = ++generation;
  pagedOn = false;
  showError("");
  try {
    if (names.size === 0) {
      const locations = await api(tenantPath() + "/locations");
      names = new Map(locations.items.map((l) => [l.id, l.name || l.id]));
      for (const l of locations.items) $("location").add(new Option(l.name || l.id, l.id));
      if (linkedLocation && names.has(linkedLocation)) $("location").value = linkedLocation;
      linkedLocation = null;
      showConfigure(names, ["brand-admin", "platform-admin"].includes(session.role)).catch(failed);
    }
    const query = new URLSearchParams();
    if (customDays && $("from").value) query.set("from", $("from").value);
    if (customDays && $("to").value) query.set("to", $("to").value);
    const location = $("location").value;
    const attributionQuery = new URLSearchParams(query);
    attributionQuery.set("groupBy", $("group-by").value);
    attributionQuery.set("model", $("model").value);
    const dailyQuery = new URLSearchParams(query);
    if (location) dailyQuery.set("location", location);
    const followUpQuery = new URLSearchParams({ limit: "100" });
    if (location) followUpQuery.set("location", location);
    const [report, markets, daily, followUps, attribution] = await Promise.all([
      api(`${tenantPath()}/reports/locations?${query}`), api(`${tenantPath()}/reports/markets?${query}`),
      api(`${tenantPath()}/reports/daily?${dailyQuery}`), api(`${tenantPath()}/calls/follow-ups?${followUpQuery}`),
      location ? api(`${tenantPath()}/locations/${encodeURIComponent(location)}/report?${attributionQuery}`) : null]);
    if (mine !== generation) return;
    lastReport = report;
    $("from").value = report.from;
    $("to").value = report.to;
    renderOverview(daily, report, names, { count, money });
    $("known-sources").replaceChildren(...[...new Set(daily.days.flatMap((d) => Object.keys(d.callsBySource)))].sort()
      .map((source) => new Option(source, source)));
    renderFollowUps(followUps, {
      names, canWrite: Writers.includes(session.role) && session.role !== "api-key", open: showCall, failed,
      patch: (id, followUp) => api(`${tenantPath()}/calls/${encodeURIComponent(id)}`, { method: "PATCH", body: { followUp } }),
    });
    renderMarkets(markets);
    renderReport(report);
    if (attribution) renderAttribution(location, attribution);
    else $("attribution").hidden = true;
    const calls = await api(`${tenantPath()}/calls?${callsQuery(report)}`);
    if (mine !== generation) return;
    $("calls").tBodies[0].replaceChildren();
    $("calls-range").textContent = `newest first, ${report.from} to ${report.to} in your time zone`;
    appendCalls(calls);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every ${RefreshSeconds} s`;
    saveFilters();
    if (!linkFollowed && linkedCall()) showCall(linkedCall());
    linkFollowed = true;
    document.body.dataset.loaded = String(mine);   // lets a test (or a person) see that this load finished
  } catch (error) {
    failed(error);
  }
}

async function more() {
  if (!nextCursor || !lastReport) return;
  const mine = generation;
  $("more").disabled = true;   // a second click would fetch the same page again
  try {
    const page = await api(`${tenantPath()}/calls?${callsQuery(lastReport, nextCursor)}`);
    if (mine === generation) {   // not onto the list of a newer load
      appendCalls(page);
      pagedOn = true;
    }
  } catch (error) {
    failed(error);
  } finally {
    $("more").disabled = false;
  }
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    clearSession();
    showError("Your sign-in has expired or is not valid: sign in again.");
  } else if (error instanceof ApiError && error.code === "no-callmesh-role") {
    start();   // the provider took the role away: the session says so now
  } else {
    showError(error.message);
  }
}

function show(section) {
  for (const id of ["sign-in", "no-access", "app"]) $(id).hidden = id !== section;
  $("sign-out").hidden = section !== "app";
}

// A pasted token in this tab wins; else the gateway's session, when the deployment has company sign-in.
async function start() {
  const token = store.getItem("callmesh.token");
  const tenant = store.getItem("callmesh.tenant");
  if (token && tenant) {
    const claims = claimsOf(token) ?? {};
    session = { mode: "token", token, tenant, role: claims.role ?? "api-key" };
    const scope = [].concat(claims.locations ?? [], claims.markets ?? []).join(", ");
    $("who").textContent = claims.sub
      ? `${claims.sub} · ${claims.role}${scope ? " of " + scope : ""} · ${tenant}`
      : `API key · ${tenant}`;
    show("app");
    load();
    return;
  }
  let signedIn = { signInAvailable: false, signedIn: false };
  try {
    const response = await fetch("session", { headers: { Accept: "application/json" } });
    if (response.ok) signedIn = await response.json();
  } catch { /* the gateway is away: the token form still works once it is back */ }
  $("who").textContent = "";
  if (signedIn.signedIn && !signedIn.role) {
    session = null;
    $("no-access-user").textContent = signedIn.name ?? signedIn.subject;
    show("no-access");
    return;
  }
  if (signedIn.signedIn) {
    session = { mode: "cookie", tenant: signedIn.tenant, role: signedIn.role };
    const scope = [].concat(signedIn.locations, signedIn.markets).join(", ");
    $("who").textContent = `${signedIn.name} · ${signedIn.role}${scope ? " of " + scope : ""} · ${signedIn.tenant}`;
    show("app");
    load();
    return;
  }
  session = null;
  $("company-sign-in").hidden = !signedIn.signInAvailable;
  $("token-sign-in").open = !signedIn.signInAvailable;
  show("sign-in");
}

// Forgets what this page showed (a newer user must not see it), then starts over.
function clearSession() {
  store.removeItem("callmesh.token");
  store.removeItem("callmesh.tenant");
  session = null;
  names = new Map();
  $("location").length = 1;
  $("config-location").length = 0;
  showConfigure(names, false);
  $("report").tBodies[0].replaceChildren();
  $("report").tFoot.replaceChildren();
  $("markets").tBodies[0].replaceChildren();
  $("attribution").hidden = true;
  $("calls").tBodies[0].replaceChildren();
  $("from").value = $("to").value = $("updated").textContent = "";
  customDays = false;
  generation++;   // an answer still on its way is for the user who left
  start();
}

// Who may set an outcome: brand admins and the managers who work their calls; an analyst only reads; an API key tries,
// and the API says whether its scopes allow it.
const Writers = ["platform-admin", "brand-admin", "market-manager", "location-manager", "api-key"];

// Opens a call in the detail dialog; the address keeps it (#call=ID), so a link opens it again.
async function showCall(id) {
  try {
    const call = await api(`${tenantPath()}/calls/${encodeURIComponent(id)}`);
    history.replaceState(null, "", `#call=${encodeURIComponent(id)}`);
    openCall(call, {
      names, money, duration, matchLabel, currency: lastReport?.currency, canWrite: Writers.includes(session.role),
      save: (body) => api(`${tenantPath()}/calls/${encodeURIComponent(id)}/outcome`, { method: "POST", body }),
      saved: (updated) => {
        const row = document.querySelector(`#calls tr[data-call="${CSS.escape(updated.id)}"]`);
        if (!row) return;
        row.querySelector("td.outcome").textContent = updated.outcome ?? "";
        row.querySelector("td.value").textContent = money(updated.value, updated.currency);
      },
    });
  } catch (error) {
    failed(error);
  }
}

// The address holds the view (days, location, credit options), so a link or a reload shows the same thing.
function saveFilters() {
  const params = new URLSearchParams();
  if (customDays) for (const id of ["from", "to"]) if ($(id).value) params.set(id, $(id).value);
  for (const [name, value] of callFilters()) params.set(name, value);
  const chosen = $("location").value;
  if (chosen) {
    params.set("location", chosen);
    if ($("group-by").value !== "source") params.set("groupBy", $("group-by").value);
    if ($("model").value !== "last-touch") params.set("model", $("model").value);
  }
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
}

function restoreFilters() {
  const params = new URLSearchParams(location.search);
  for (const id of ["from", "to"]) {
    if (!params.get(id)) continue;
    $(id).value = params.get(id);
    customDays = true;
  }
  linkedLocation = params.get("location");
  for (const [name, id] of CallFilters) if (params.get(name)) $(id).value = params.get(name);
  for (const [id, name] of [["group-by", "groupBy"], ["model", "model"]]) {
    const value = params.get(name);
    if (value && [...$(id).options].some((o) => o.value === value)) $(id).value = value;
  }
}

function linkedCall() {
  const match = /^#call=(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

// A company session ends at the gateway and then at the provider (its end-session page brings the user back here).
async function signOut() {
  if (session?.mode === "token") {
    clearSession();
    return;
  }
  try {
    const response = await fetch("sign-out", { method: "POST", headers: { "X-CallMesh-Session": "1", Accept: "application/json" } });
    const answer = response.ok ? await response.json() : { redirect: "./" };
    location.assign(answer.redirect);
  } catch (error) {
    showError(error.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").addEventListener("input", () => {
    const claims = claimsOf($("token").value.trim());
    if (claims?.tenant) $("tenant").value = claims.tenant;
  });
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    const tenant = $("tenant").value.trim() || claimsOf(token)?.tenant;
    if (!tenant) {
      showError("Name the tenant: an API key does not carry it.");
      return;
    }
    store.setItem("callmesh.token", token);
    store.setItem("callmesh.tenant", tenant);
    $("token").value = "";
    showError("");
    start();
  });
  $("sign-out").addEventListener("click", signOut);
  $("no-access-sign-out").addEventListener("click", signOut);
  restoreFilters();
  initConfigure({ api, tenantPath, failed });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-export]");
    if (!button) return;
    const range = lastReport ? `-${lastReport.from}-to-${lastReport.to}` : "";
    download($(button.dataset.export), `callmesh-${button.dataset.export}${range}.csv`);
  });
  const failure = new URLSearchParams(location.search).get("signInFailed");
  if (failure) showError(`Sign-in did not complete: ${failure}`);
  for (const id of ["from", "to"]) $(id).addEventListener("input", () => { customDays = true; });
  setInterval(() => {
    if (session && !pagedOn && document.visibilityState === "visible") load();
  }, RefreshSeconds * 1000);
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("call-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("location").addEventListener("change", load);
  $("group-by").addEventListener("change", load);
  $("model").addEventListener("change", load);
  $("more").addEventListener("click", more);
  $("calls").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-call]");
    if (button) showCall(button.dataset.call);
  });
  $("call-detail").addEventListener("close", () => history.replaceState(null, "", location.pathname + location.search));
  $("report").addEventListener("click", (event) => {
    const row = event.target.closest("tbody tr");
    if (!row || !row.dataset.location) return;
    $("location").value = row.dataset.location;
    load();
  });
  start();
});
