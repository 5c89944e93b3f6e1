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
