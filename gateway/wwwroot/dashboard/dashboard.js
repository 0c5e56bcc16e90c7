// The CallMesh dashboard's shell: sign-in, the filters, and each load of the screens (one module each: overview.js,
// answering.js, reports.js, calls.js, call-detail.js, follow-ups.js, configure*.js), read from the tenant APIs as the signed-in user:
// with the gateway's session (company sign-in: the cookie, which page script cannot read, and the X-CallMesh-Session
// header) or with a pasted token (local use, integrations).
// The silo decides the scope (a location manager gets only its locations), so this page filters nothing itself.
// Every value from the API is written with textContent: campaigns and keywords come from visitors' URLs.
import { renderOverview } from "./overview.js";
import { renderAnswering } from "./answering.js";
import { openCall } from "./call-detail.js";
import { renderFollowUps } from "./follow-ups.js";
import { download } from "./export.js";
import { initConfigure, showConfigure } from "./configure.js";
import { count, money, renderMarkets, renderReport, renderAttribution } from "./reports.js";
import { appendCalls, callsQuery, callFilters, CallFilters, duration, matchLabel } from "./calls.js";

const store = sessionStorage;   // the token lives in this tab only
const $ = (id) => document.getElementById(id);
let session = null;             // { mode: "cookie" | "token", token, tenant }
let names = new Map();          // location id -> name
let nextCursor = null;
let generation = 0;             // a newer load wins over answers still on their way
let linkFollowed = false;       // a #call= link is opened after the first load only
let linkedLocation = null;      // ?location= of the address, chosen once the user's locations are known
let linkedMarket = null;        // ?market= of the address, likewise

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

let lastReport = null;
let customDays = false;   // until the user picks days, every load asks for the API's default (the last 30 days)
let pagedOn = false;      // the user read more than the first page of calls

// Calls keep coming in: while the page is visible, it reloads every 30 s, unless the user paged on in the calls
// (a reload would drop what was read) or is signed out.
const RefreshSeconds = 30;

// The answering report reads the calls themselves (hours are no rollup dimension): asked again when its days or scope
// change, or after 5 minutes, not on every 30 s refresh. Null: what is shown stands.
let answered = { query: null, at: 0 };
const AnsweringSeconds = 300;

function answeringFor(query) {
  const key = query.toString();
  if (answered.query === key && Date.now() - answered.at < AnsweringSeconds * 1000) return null;
  answered = { query: key, at: Date.now() };
  return api(`${tenantPath()}/reports/answering?${key}`).catch((error) => {
    answered = { query: null, at: 0 };   // asked again at the next load
    throw error;
  });
}

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
      // A market narrows the overview and the locations table, for users with locations in more than one.
      const markets = [...new Set(locations.items.map((l) => l.market).filter(Boolean))].sort();
      $("market").replaceChildren(new Option("all markets", ""), ...markets.map((m) => new Option(m, m)));
      $("market-choice").hidden = markets.length < 2;
      if (linkedMarket && markets.includes(linkedMarket)) $("market").value = linkedMarket;
      linkedMarket = null;
      showConfigure(names, ["brand-admin", "platform-admin"].includes(session.role)).catch(failed);
    }
    const query = new URLSearchParams();
    if (customDays && $("from").value) query.set("from", $("from").value);
    if (customDays && $("to").value) query.set("to", $("to").value);
    const location = $("location").value;
    const market = $("market").value;
    const reportQuery = new URLSearchParams(query);
    if (market) reportQuery.set("market", market);
    const attributionQuery = new URLSearchParams(query);
    attributionQuery.set("groupBy", $("group-by").value);
    attributionQuery.set("model", $("model").value);
    const dailyQuery = new URLSearchParams(query);
    if (location) dailyQuery.set("location", location);
    else if (market) dailyQuery.set("market", market);
    const followUpQuery = new URLSearchParams({ limit: "100" });
    if (location) followUpQuery.set("location", location);
    const [report, markets, daily, followUps, attribution, answering] = await Promise.all([
      api(`${tenantPath()}/reports/locations?${reportQuery}`), api(`${tenantPath()}/reports/markets?${query}`),
      api(`${tenantPath()}/reports/daily?${dailyQuery}`), api(`${tenantPath()}/calls/follow-ups?${followUpQuery}`),
      location ? api(`${tenantPath()}/locations/${encodeURIComponent(location)}/report?${attributionQuery}`) : null,
      answeringFor(dailyQuery)]);
    if (mine !== generation) return;
    lastReport = report;
    $("from").value = report.from;
    $("to").value = report.to;
    renderOverview(daily, report, names, { count, money });
    if (answering) renderAnswering(answering);
    $("known-sources").replaceChildren(...[...new Set(daily.days.flatMap((d) => Object.keys(d.callsBySource)))].sort()
      .map((source) => new Option(source, source)));
    renderFollowUps(followUps, {
      names, canWrite: Writers.includes(session.role) && session.role !== "api-key", open: showCall, failed,
      patch: (id, followUp) => api(`${tenantPath()}/calls/${encodeURIComponent(id)}`, { method: "PATCH", body: { followUp } }),
    });
    renderMarkets(markets);
    renderReport(report, names);
    if (attribution) renderAttribution(location, attribution, names);
    else $("attribution").hidden = true;
    const calls = await api(`${tenantPath()}/calls?${callsQuery(report)}`);
    if (mine !== generation) return;
    $("calls").tBodies[0].replaceChildren();
    $("calls-range").textContent = `newest first, ${report.from} to ${report.to} in your time zone`;
    nextCursor = appendCalls(calls, names);
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
      nextCursor = appendCalls(page, names);
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
  answered = { query: null, at: 0 };   // the next user's answering report is their own
  $("location").length = 1;
  $("market").length = 1;
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
  if ($("market").value) params.set("market", $("market").value);
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
  linkedMarket = params.get("market");
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
  $("market").addEventListener("change", load);
  $("group-by").addEventListener("change", load);
  $("model").addEventListener("change", load);
  $("more").addEventListener("click", more);
  $("calls").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-call]");
    if (button) showCall(button.dataset.call);
  });
  $("call-detail").addEventListener("close", () => history.replaceState(null, "", location.pathname + location.search));
  $("markets").addEventListener("click", (event) => {
    const row = event.target.closest("tbody tr");
    if (!row || !row.dataset.market || $("market-choice").hidden) return;
    $("market").value = row.dataset.market;
    load();
  });
  $("report").addEventListener("click", (event) => {
    const row = event.target.closest("tbody tr");
    if (!row || !row.dataset.location) return;
    $("location").value = row.dataset.location;
    load();
  });
  start();
});
