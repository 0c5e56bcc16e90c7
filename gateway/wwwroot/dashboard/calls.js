// The calls list: a row per call with its credit and how sure it is, paged on with the API's cursor, and the query
// that the report's days, the chosen location and the call filters make.
import { cell, money } from "./reports.js";

const $ = (id) => document.getElementById(id);

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
export function matchLabel(call) {
  switch (call.match) {
    case "afterRelease": return `after visit (+${duration(Math.round(call.secondsSinceRelease ?? 0))})`;
    case "ambiguous": return "ambiguous (number reused)";
    case "callerHistory": return "caller's earlier visit";
    default: return call.match;
  }
}

export function duration(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

export function appendCalls(page, names) {
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
  $("more").hidden = !page.nextCursor;
  return page.nextCursor;
}

// The calls list uses the report's days, counted in the browser's time zone (the calls API takes instants).
export function callsQuery(report, cursor) {
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
export const CallFilters = [["source", "filter-source"], ["outcome", "filter-outcome"], ["firstTime", "filter-first-time"], ["match", "filter-match"]];
export const callFilters = () => CallFilters.map(([name, id]) => [name, $(id).value.trim()]).filter(([, value]) => value);
