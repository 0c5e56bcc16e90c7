// Missed calls to call back: missed calls not yet handled in the user's scope (or the chosen location), oldest first,
// with the two steps a location takes: "Called back" (it stays on the list until handled) and "Handled" (it leaves).

const $ = (id) => document.getElementById(id);

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

// page: GET …/calls/follow-ups; view: { names, canWrite, open(id), patch(id, followUp) -> Promise<call>, failed(error) }.
export function renderFollowUps(page, view) {
  const body = $("follow-ups-table").tBodies[0];
  body.replaceChildren();
  const count = () => {
    const n = body.rows.length;
    $("follow-ups-count").textContent = n === 0 ? "" : `${n}${page.nextCursor ? "+" : ""} waiting, oldest first`;
    $("follow-ups-empty").hidden = n > 0;
    $("follow-ups-table").hidden = n === 0;
  };
  for (const call of page.items) {
    const row = body.insertRow();
    row.dataset.call = call.id;
    const when = document.createElement("button");
    when.type = "button";
    when.className = "link";
    when.textContent = new Date(call.startedAt).toLocaleString();
    when.addEventListener("click", () => view.open(call.id));
    row.insertCell().append(when);
    for (const value of [call.location === null ? "(no location)" : view.names.get(call.location) ?? call.location, call.caller,
      `${call.source} / ${call.medium}`]) row.insertCell().textContent = value;
    const state = row.insertCell();
    state.className = "state";
    state.textContent = call.followUp === "calledBack" ? "called back" : "open";
    const actions = row.insertCell();
    if (!view.canWrite) continue;
    const mark = (followUp) => async (event) => {
      event.target.disabled = true;
      try {
        const updated = await view.patch(call.id, followUp);
        if (updated.followUp === "handled") row.remove();
        else state.textContent = "called back";
        count();
      } catch (error) {
        view.failed(error);
      } finally {
        event.target.disabled = false;
      }
    };
    actions.append(button("Called back", mark("calledBack")), " ", button("Handled", mark("handled")));
  }
  count();
}
