// console.js asks before a destructive form is sent: a form with a
// data-confirm attribute submits only after the person agrees to its text.
"use strict";

document.addEventListener("submit", (ev) => {
  const form = ev.target;
  const question = form.dataset ? form.dataset.confirm : "";
  if (question && !window.confirm(question)) {
    ev.preventDefault();
  }
});
