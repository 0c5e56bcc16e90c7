// A problem from the API, shown beside the form that caused it: each field it names is marked aria-invalid and the
// problem's text is said once. fieldOf maps the API's field path (e.g. "conversionRules.outcomes[0]") to the form's name.

export function showProblem(form, box, error, fieldOf = (key) => key) {
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
  for (const key of Object.keys(error.errors ?? {})) {
    const field = form.elements[fieldOf(key)];
    (field instanceof RadioNodeList ? field[0] : field)?.setAttribute("aria-invalid", "true");
  }
  box.textContent = error.message;
  box.hidden = false;
}

export function clearProblem(form, box) {
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
  box.hidden = true;
}
