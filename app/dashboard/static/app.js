// Arbiter dashboard: local times, live refresh, lazy panels, filters. No dependencies.
(function () {
  "use strict";

  var sameDay = function (a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  };
  var formats = {
    short: { hour: "2-digit", minute: "2-digit" },
    time: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
    date: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
  };

  // The page's language (<html lang>), in the browser's own region when they agree (en-GB).
  function pageLocale() {
    var lang = document.documentElement.lang || "";
    var own = navigator.language || "";
    return own.split("-")[0] === lang ? own : (lang || undefined);
  }

  function formatTime(iso, kind) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return null;
    var options = formats[kind] || formats.date;
    if (kind === "time" && !sameDay(when, new Date())) {
      options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" };
    }
    return new Intl.DateTimeFormat(pageLocale(), options).format(when);
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime], [data-time]").forEach(function (el) {
      var iso = el.getAttribute("datetime") || el.getAttribute("data-time");
      var text = formatTime(iso, el.getAttribute("data-format") || "date");
      if (text === null) return;
      el.textContent = text;
      if (el.tagName.toLowerCase() === "time") el.setAttribute("title", new Date(iso).toString());
    });
  }

  function showZone() {
    var slot = document.querySelector("[data-tz]");
    try {
      if (slot) slot.textContent = " (" + Intl.DateTimeFormat().resolvedOptions().timeZone + ")";
    } catch (e) { /* an old browser: the sentence still reads fine */ }
  }

  // Live refresh: replace the overview's panels in place, keeping focus and open details.
  function startLive() {
    var url = document.body.getAttribute("data-live");
    if (!url) return;
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          var active = document.activeElement;
          var activeHref = active && active.getAttribute ? active.getAttribute("href") : null;
          Object.keys(data.html).forEach(function (name) {
            var slot = document.querySelector('[data-live-slot="' + name + '"]');
            if (!slot) return;
            var open = Array.prototype.map.call(slot.querySelectorAll("details[open]"), function (d) { return d.className; });
            slot.innerHTML = data.html[name];
            open.forEach(function (cls) {
              var again = slot.querySelector("details" + (cls ? "." + cls.split(" ").join(".") : ""));
              if (again) again.open = true;
            });
            localizeTimes(slot);
          });
          if (activeHref && !document.body.contains(active)) {
            var same = document.querySelector('[href="' + activeHref.replace(/"/g, '\\"') + '"]');
            if (same) same.focus();
          }
          var stamp = document.querySelector("[data-live-asof]");
          if (stamp) { stamp.setAttribute("datetime", data.as_of); localizeTimes(stamp.parentNode); }
          document.body.setAttribute("data-refreshed", data.as_of);
        })
        .catch(function () { /* transient: the next tick tries again */ })
        .then(function () { busy = false; });
    }
    setInterval(tick, 5000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
  }

  function loadLazy() {
    document.querySelectorAll("[data-lazy]").forEach(function (slot) {
      fetch(slot.getAttribute("data-lazy"), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) { slot.innerHTML = html; localizeTimes(slot); })
        .catch(function () { slot.innerHTML = '<p class="muted">The chart could not be loaded.</p>'; })
        .then(function () { slot.setAttribute("aria-busy", "false"); slot.setAttribute("data-loaded", "true"); });
    });
  }

  function filters() {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      var selector = input.getAttribute("data-filter");
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        document.querySelectorAll(selector).forEach(function (item) {
          item.hidden = needle !== "" && item.textContent.toLowerCase().indexOf(needle) === -1;
        });
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function jumps() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("[data-jump]") : null;
      if (link) {
        var target = document.getElementById(link.getAttribute("data-jump"));
        if (!target) return;
        event.preventDefault();
        history.replaceState(null, "", "#" + target.id);
        target.scrollIntoView({ block: "center" });
        target.focus({ preventScroll: true });
        target.classList.remove("flash");
        void target.offsetWidth;
        target.classList.add("flash");
      }
      if (event.target.closest && event.target.closest("[data-print]")) window.print();
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var tag = (document.activeElement && document.activeElement.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") return;
      var box = document.querySelector("[data-shortcut='/']");
      if (box) { event.preventDefault(); box.focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    showZone();
    filters();
    jumps();
    loadLazy();
    startLive();
  });
})();
