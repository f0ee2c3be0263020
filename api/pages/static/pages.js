// Gateledger pages: small enhancements only; every page reads the same without them.
"use strict";
(function () {
  // Times: shown in the reader's time zone; the UTC time stays in the title (on hover).
  function localTimes(root) {
    var fmt = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short"
    });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = fmt.format(at); }
    });
  }
  // Money: the reader's own digit grouping, the currency as recorded.
  function amounts(root) {
    root.querySelectorAll("data.money[data-currency]").forEach(function (el) {
      var value = Number(el.getAttribute("value")), currency = el.getAttribute("data-currency");
      if (!isFinite(value) || !currency) { return; }
      try {
        el.textContent = new Intl.NumberFormat(undefined, { style: "currency", currency: currency }).format(value);
      } catch (e) { /* an unknown currency code: leave it as written */ }
    });
  }
  // The decision form: another blank condition row on request.
  function moreConditions(root) {
    root.querySelectorAll("[data-conditions]").forEach(function (set) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = "Add another condition";
      button.addEventListener("click", function () {
        var rows = set.querySelectorAll("[data-condition-row]");
        var copy = rows[rows.length - 1].cloneNode(true);
        copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        var first = copy.querySelector("label");
        if (first && first.firstChild) { first.firstChild.textContent = "Condition " + (rows.length + 1) + " "; }
        set.insertBefore(copy, button);
        copy.querySelector("input").focus();
      });
      set.appendChild(button);
    });
  }
  window.gateledger = { localTimes: localTimes, amounts: amounts };
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    amounts(document);
    moreConditions(document);
  });
})();
