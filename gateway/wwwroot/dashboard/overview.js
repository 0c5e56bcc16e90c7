// The overview: key figures against the period before, calls per day by source (stacked), answered against missed per
// day, and the best and worst locations. Charts are drawn with Chart.js (vendored: chart.umd.min.js, MIT,
// chart.js-LICENSE.txt); the same figures are in a table beside them, which is all there is if the chart script is missing.
// Every value is written as text (sources come from visitors' URLs).

const $ = (id) => document.getElementById(id);
const charts = new Map();   // canvas id -> Chart, redrawn in place on each load

// Colour-blind-safe (Okabe–Ito), then greys: a source keeps its colour for the page's life.
const Palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999", "#666666"];
const colours = new Map();
const colourOf = (source) => {
  if (!colours.has(source)) colours.set(source, Palette[colours.size % Palette.length]);
  return colours.get(source);
};

function change(now, before) {
  if (now === null || before === null || now === undefined || before === undefined) return "";
  if (before === 0) return now === 0 ? "no change" : "new";
  const percent = Math.round(((now - before) / Math.abs(before)) * 100);
  return percent === 0 ? "no change" : `${percent > 0 ? "▲" : "▼"} ${Math.abs(percent)} %`;
}

function kpi(list, label, value, previousValue, format) {
  const item = document.createElement("div");
  item.className = "kpi";
  const term = document.createElement("dt");
  term.textContent = label;
  const figure = document.createElement("dd");
  figure.textContent = value === null || value === undefined ? "–" : format(value);
  figure.dataset.value = value ?? "";
  const delta = document.createElement("dd");
  delta.className = "delta";
  delta.textContent = change(value, previousValue);
  item.append(term, figure, delta);
  list.append(item);
}

function drawChart(id, config) {
  const canvas = $(id);
  if (!window.Chart) return false;
  charts.get(id)?.destroy();
  charts.set(id, new window.Chart(canvas, config));
  return true;
}

const stackedBars = (labels, datasets) => ({
  type: "bar",
  data: { labels, datasets },
  options: {
    animation: false, maintainAspectRatio: false, responsive: true,
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
    plugins: { legend: { position: "bottom" } },
  },
});

// daily: GET …/reports/daily; report: GET …/reports/locations (for the best and worst); fmt: { count, money, ratio }.
export function renderOverview(daily, report, names, fmt) {
  const t = daily.totals, p = daily.previous;
  $("overview-range").textContent = `${daily.from} to ${daily.to}, against ${daily.previousFrom} to ${daily.previousTo}`;
  const list = $("kpis");
  list.replaceChildren();
  const answerRate = (m) => (m.calls ? m.answered / m.calls : null);
  kpi(list, "Calls", t.calls, p.calls, fmt.count);
  kpi(list, "Answered", answerRate(t), answerRate(p), (r) => `${Math.round(r * 100)} %`);
  kpi(list, "Qualified calls", t.qualified, p.qualified, fmt.count);
  kpi(list, "Revenue", t.revenue, p.revenue, (v) => fmt.money(v, daily.currency));
  kpi(list, "Cost per call", t.costPerCall, p.costPerCall, (v) => fmt.money(v, daily.currency));
  kpi(list, "ROAS", t.roas, p.roas, (v) => v.toFixed(2));

  const labels = daily.days.map((d) => d.day.slice(5));
  const sources = [...new Set(daily.days.flatMap((d) => Object.keys(d.callsBySource)))].sort();
  const drawn = drawChart("calls-by-source", stackedBars(labels, sources.map((source) => ({
    label: source, backgroundColor: colourOf(source), data: daily.days.map((d) => d.callsBySource[source] ?? 0),
  }))));
  drawChart("answered-missed", stackedBars(labels, [
    { label: "answered", backgroundColor: "#009E73", data: daily.days.map((d) => d.measures.answered) },
    { label: "missed", backgroundColor: "#D55E00", data: daily.days.map((d) => d.measures.missed) },
  ]));
  $("charts").hidden = !drawn;
  $("daily-details").open = !drawn;   // no chart script: the table is the overview
  $("calls-by-source").setAttribute("aria-label",
    `Calls per day by source, ${daily.from} to ${daily.to}: ${sources.map((s) => `${s} ${daily.days.reduce((n, d) => n + (d.callsBySource[s] ?? 0), 0)}`).join(", ") || "no calls"}`);
  $("answered-missed").setAttribute("aria-label", `Answered ${t.answered} and missed ${t.missed} calls, ${daily.from} to ${daily.to}`);

  const body = $("daily-table").tBodies[0];
  body.replaceChildren();
  for (const d of daily.days) {
    const row = body.insertRow();
    row.dataset.day = d.day;
    for (const [value, number] of [[d.day, false], [fmt.count(d.measures.calls), true], [fmt.count(d.measures.answered), true],
      [fmt.count(d.measures.missed), true], [fmt.count(d.measures.qualified), true], [fmt.money(d.measures.revenue, daily.currency), true],
      [sources.filter((s) => d.callsBySource[s]).map((s) => `${s} ${d.callsBySource[s]}`).join(", "), false]]) {
      const cell = row.insertCell();
      cell.textContent = value;
      if (number) cell.className = "number";
    }
  }

  // Best and worst by qualified calls, where there is more than one location to rank.
  const ranked = report.items.filter((i) => i.location !== null).sort((a, b) => b.measures.qualified - a.measures.qualified || b.measures.calls - a.measures.calls);
  $("ranking").hidden = ranked.length < 2;
  const fill = (id, items) => {
    const ol = $(id);
    ol.replaceChildren(...items.map((i) => {
      const li = document.createElement("li");
      li.dataset.location = i.location;
      li.textContent = `${names.get(i.location) ?? i.location}: ${fmt.count(i.measures.qualified)} qualified of ${fmt.count(i.measures.calls)} calls`;
      return li;
    }));
  };
  const count = Math.min(5, Math.floor(ranked.length / 2));
  fill("best", ranked.slice(0, count));
  fill("worst", ranked.slice(ranked.length - count).reverse());
}
