// One call, opened from the calls list: who called and when, the visitor's journey to the call, how it was routed, its
// recording, and the outcome form a location uses to follow up (the CRM's API; the silo decides who may write it and
// audits the change). Every value is written as text: campaigns, keywords and notes are people's words.

const $ = (id) => document.getElementById(id);

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

// Web links only (a recording URL comes from the carrier's callback).
function webUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// call: the calls API resource; view: { names, money, duration, matchLabel, canWrite, save(body) -> Promise<call>, saved(call) }.
export function openCall(call, view) {
  const dialog = $("call-detail");
  dialog.dataset.call = call.id;
  const where = call.location === null ? "(no location)" : view.names.get(call.location) ?? call.location;
  $("call-title").textContent = `Call to ${where}, ${new Date(call.startedAt).toLocaleString()}`;

  const facts = $("call-facts");
  facts.replaceChildren();
  fact(facts, "Caller", call.caller + (call.firstTime ? " (first call)" : ""));
  fact(facts, "Tracking number", call.trackingNumber);
  fact(facts, "Status", call.test ? `${call.status} (test)` : call.status);
  fact(facts, "Talk / total", `${view.duration(call.talkSeconds)} / ${view.duration(call.durationSeconds)}`);
  fact(facts, "Routed", call.routedTo ? `${call.route} to ${call.routedTo}` : call.route);
  fact(facts, "Within business hours", call.withinBusinessHours ? "yes" : "no");
  fact(facts, "Credited to", `${call.source} / ${call.medium}`);
  fact(facts, "Campaign", call.campaign);
  fact(facts, "Keyword", call.keyword);
  fact(facts, "Click id", call.gclid ?? call.clickIds?.gclid ?? call.clickIds?.msclkid ?? call.clickIds?.fbclid);
  fact(facts, "Landing page", call.landingPage);
  fact(facts, "Match", view.matchLabel(call));
  fact(facts, "Qualified", call.qualified ? `yes (${call.metRules.join(", ")})` : "no");

  const journey = $("call-journey");
  journey.replaceChildren(...(call.journey ?? []).map((touch) => {
    const li = document.createElement("li");
    const what = [touch.source, touch.medium, touch.campaign, touch.keyword].filter(Boolean).join(" · ");
    li.textContent = `${new Date(touch.at).toLocaleString()}: ${what}`;
    return li;
  }));

  const recording = webUrl(call.recordingUrl);
  $("call-recording").hidden = !recording;
  if (recording) {
    $("call-audio").src = recording;
    $("call-recording-link").href = recording;
  } else {
    $("call-audio").removeAttribute("src");
  }

  const form = $("outcome-form");
  form.hidden = !view.canWrite;
  form.elements.outcome.value = call.outcome ?? "";
  form.elements.value.value = call.value ?? "";
  form.elements.notes.value = call.notes ?? "";
  $("outcome-currency").textContent = call.currency ?? view.currency ?? "";
  $("outcome-error").hidden = true;
  $("outcome-saved").textContent = "";
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = { outcome: form.elements.outcome.value || null, notes: form.elements.notes.value };
    if (form.elements.value.value !== "") body.value = Number(form.elements.value.value);
    form.elements.save.disabled = true;
    try {
      const updated = await view.save(body);
      $("outcome-error").hidden = true;
      $("outcome-saved").textContent = "Saved.";
      view.saved(updated);
    } catch (error) {
      // The API's problem, field by field (e.g. "notes: must be at most 2000 characters.").
      $("outcome-error").textContent = error.message;
      $("outcome-error").hidden = false;
    } finally {
      form.elements.save.disabled = false;
    }
  };
  if (!dialog.open) dialog.showModal();
}
