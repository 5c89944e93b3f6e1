// Progressive enhancements only: every page works without this file.
"use strict";

// "Edit" beside the Account Domain Identifier unlocks the field in place
// instead of a round trip to the server.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-edit-domain]");
  if (!button) return;
  const row = button.closest("[data-domain-row]");
  const input = row && row.querySelector("input[name=domain]");
  if (!input) return;
  event.preventDefault();
  input.readOnly = false;
  input.focus();
  input.select();
  const flag = document.createElement("input");
  flag.type = "hidden";
  flag.name = "domain_editable";
  flag.value = "1";
  row.appendChild(flag);
  button.remove();
});

// "Forward" and "Deny Request" open their dialog on the page instead of
// following the link to the same form on a page of its own.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.showModal();
    const field = dialog.querySelector("input:not([type=hidden]), textarea");
    if (field) field.focus();
    return;
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) {
    const dialog = closer.closest("dialog");
    if (dialog) dialog.close();
  }
});

// A form whose required field is empty says so beside the field and stays
// where it is (open, in a dialog), instead of sending what the server would
// refuse. The server checks again.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const id = form.dataset && form.dataset.require;
  if (!id) return;
  const field = form.querySelector("#" + CSS.escape(id));
  if (!field) return;
  let error = document.getElementById(id + "-error");
  if (field.value.trim() !== "") {
    if (error && error.dataset.script) {
      error.remove();
      field.removeAttribute("aria-invalid");
      const rest = (field.getAttribute("aria-describedby") || "").split(" ").filter((d) => d && d !== error.id);
      if (rest.length) field.setAttribute("aria-describedby", rest.join(" "));
      else field.removeAttribute("aria-describedby");
    }
    return;
  }
  event.preventDefault();
  if (!error) {
    error = document.createElement("span");
    error.id = id + "-error";
    error.className = "field-error";
    error.dataset.script = "1";
    error.setAttribute("role", "alert");
    field.insertAdjacentElement("afterend", error);
    const described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", described ? described + " " + error.id : error.id);
  }
  error.textContent = form.dataset.requireMessage;
  field.setAttribute("aria-invalid", "true");
  field.focus();
});
