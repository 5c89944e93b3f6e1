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
// submitting the GET form that leads to the same form on a page of its own.
// showModal makes the rest of the page inert and closes on Escape; the
// focus goes to the dialog's field, stays inside the dialog while it is
// open (Tab and Shift+Tab wrap), and returns to the button that opened it.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.showModal();
    dialog.addEventListener("close", () => opener.focus(), { once: true });
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

document.addEventListener("keydown", (event) => {
  if (event.key !== "Tab") return;
  const dialog = document.querySelector("dialog[open]");
  if (!dialog) return;
  const focusable = Array.from(dialog.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), textarea:not([disabled]), select:not([disabled])"));
  if (focusable.length === 0) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  const inside = dialog.contains(document.activeElement);
  if (event.shiftKey && (document.activeElement === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
});

// A form the server sent back with errors puts the focus on its first wrong
// field, so a screen reader reads the field with its message (linked by
// aria-describedby) and a keyboard user starts where the fix is.
document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector("[autofocus]")) return;
  const wrong = document.querySelector("main [aria-invalid=true]");
  if (wrong) wrong.focus();
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

// The Pending Request page tells the server a person saw it, once it loaded
// in a browser: mail scanners that only fetch the link do not run this, so
// the partner is told when no approver has opened the page.
document.addEventListener("DOMContentLoaded", () => {
  const seen = document.querySelector("[data-seen]");
  if (seen && seen.dataset.seen) {
    fetch(seen.dataset.seen, { method: "POST", credentials: "same-origin" }).catch(() => {});
  }
});
