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
  // Live updates: a page with [data-live] regions listens to /live (the API's event
  // stream for the signed-in person); after an event it fetches the page again, asking
  // for that event's position, and swaps each region in. Without JavaScript, or without
  // EventSource, a reload shows the same.
  function live() {
    if (!document.querySelector("[data-live]") || !window.EventSource || !window.fetch) { return; }
    var status = document.getElementById("live-status");
    var latest = 0, timer = null, busy = false, again = false;
    var source = new EventSource("/live");
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      var url = new URL(window.location.href);
      url.searchParams.set("min_position", String(latest));
      fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live]").forEach(function (region) {
            var name = region.getAttribute("data-live");
            var next = fresh.querySelector('[data-live="' + name + '"]');
            if (next) {
              region.replaceWith(next);
              localTimes(next);
              amounts(next);
            }
          });
          document.body.setAttribute("data-live-position", String(latest));
          if (status) { status.textContent = "Updated just now."; }
        })
        .catch(function () { /* the next event tries again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }
    source.addEventListener("message", function (event) {
      var position = Number(event.lastEventId);
      if (isFinite(position) && position > latest) { latest = position; }
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 200);
    });
    source.addEventListener("open", function () {
      document.body.setAttribute("data-live-open", "1");
    });
  }
  window.gateledger = { localTimes: localTimes, amounts: amounts };
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    amounts(document);
    moreConditions(document);
    live();
  });
})();
