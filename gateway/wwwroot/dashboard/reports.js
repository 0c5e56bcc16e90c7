// The report tables: markets, the locations of the user's scope with their total, and one location's calls credited to
// the touches that led to them. Every value is written with textContent (campaigns come from visitors' URLs).

const $ = (id) => document.getElementById(id);

export function cell(row, value, className) {
  const td = row.insertCell();
  td.textContent = value ?? "";
  if (className) td.className = className;
  return td;
}

// Shared credit (linear, time decay, position based) gives a touch part of a call.
export const count = (n) => (n ?? 0).toLocaleString(undefined, { maximumFractionDigits: 2 });
export function money(amount, currency) {
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
export function renderMarkets(markets) {
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

export function renderReport(report, names) {
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
export function renderAttribution(location, report, names) {
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
