// How the phones were answered (GET …/reports/answering, the overview's scope and days): answer rate, the average wait
// before an answer, voicemails, after-hours share and which ring step answered; and a weekday × hour grid of calls and
// missed calls in each location's own time, so a manager sees when the phones need people.

const $ = (id) => document.getElementById(id);
const Weekdays = [["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"], ["sun", "Sun"]];
const percent = (rate) => (rate === null ? "–" : `${(rate * 100).toFixed(1)} %`);

function kpi(list, label, value) {
  const item = document.createElement("div");
  item.className = "kpi";
  const term = document.createElement("dt");
  term.textContent = label;
  const detail = document.createElement("dd");
  detail.textContent = value;
  item.append(term, detail);
  list.append(item);
}

export function renderAnswering(report) {
  const t = report.totals;
  const kpis = $("answering-kpis");
  kpis.replaceChildren();
  kpi(kpis, "Answer rate", percent(t.answerRate));
  kpi(kpis, "Average wait", t.avgRingSeconds === null ? "–" : `${t.avgRingSeconds} s`);
  kpi(kpis, "Missed", String(t.missed));
  kpi(kpis, "Voicemails", String(t.voicemails));
  kpi(kpis, "After hours", percent(t.afterHoursShare));
  const steps = Object.entries(t.answeredByStep);
  kpi(kpis, "Answered by step", steps.length ? steps.map(([step, n]) => `${step}: ${n}`).join(", ") : "–");

  // Only the hours that had calls get a column.
  const hours = [...new Set(report.hours.map((h) => h.hour))].sort((a, b) => a - b);
  const head = $("answering-hours").tHead.rows[0];
  head.replaceChildren(Object.assign(document.createElement("th"), { textContent: "Day" }),
    ...hours.map((h) => Object.assign(document.createElement("th"), { textContent: `${String(h).padStart(2, "0")}:00`, className: "number" })));
  const body = $("answering-hours").tBodies[0];
  body.replaceChildren();
  for (const [day, name] of Weekdays) {
    const cells = hours.map((hour) => report.hours.find((h) => h.weekday === day && h.hour === hour));
    if (!cells.some(Boolean)) continue;
    const row = body.insertRow();
    row.dataset.weekday = day;
    row.insertCell().textContent = name;
    cells.forEach((cell, i) => {
      const td = row.insertCell();
      td.className = "number";
      if (!cell) return;
      // "missed / calls": a cell with missed calls is marked for the eye and named for a screen reader.
      td.textContent = `${cell.measures.missed} / ${cell.measures.calls}`;
      td.title = `${name} ${hours[i]}:00: ${cell.measures.calls} calls, ${cell.measures.missed} missed`;
      td.dataset.calls = cell.measures.calls;
      if (cell.measures.missed > 0) td.classList.add("missed");
    });
  }
}
