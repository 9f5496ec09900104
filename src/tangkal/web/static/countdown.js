/* tangkal: countdowns that move by the second on the order lists.
   Progressive enhancement: the server writes the time left in words and as a clock, right
   when the page was made; this script rewrites both every second from the deadline in
   each <time datetime> and the page's own words (data-clock-words, from the catalogue),
   and marks a row overdue the moment its deadline passes. The list itself is re-read
   from the server every minute (htmx), which moves orders between the urgency bands. */
(function () {
  "use strict";
  function fill(template, values) {
    return template.replace(/%\((\w+)\)[ds]/g, function (_, key) { return String(values[key]); });
  }
  function words(w, seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) { return fill(w.dh, { d: d, h: h }); }
    if (h) { return fill(w.hm, { h: h, m: m }); }
    if (m) { return fill(w.m, { m: m }); }
    return w.under;
  }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function clock(left) {
    var whole = Math.floor(Math.abs(left));
    var h = Math.floor(whole / 3600), rest = whole % 3600;
    return (left < 0 && whole ? "-" : "") + h + ":" + pad(Math.floor(rest / 60)) + ":" + pad(rest % 60);
  }
  var cache = new WeakMap();
  function wordsFor(el) {
    var holder = el.closest("[data-clock-words]");
    if (!holder) { return null; }
    if (!cache.has(holder)) {
      try { cache.set(holder, JSON.parse(holder.getAttribute("data-clock-words"))); }
      catch (e) { cache.set(holder, null); }
    }
    return cache.get(holder);
  }
  function tick() {
    var now = Date.now();
    var els = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i], w = wordsFor(el), due = Date.parse(el.getAttribute("datetime"));
      if (!w || isNaN(due)) { continue; }
      var left = (due - now) / 1000, overdue = left < 0;
      var text = el.querySelector(".cd-text"), face = el.querySelector(".cd-clock");
      var span = words(w, Math.abs(left));
      if (text) { text.textContent = fill(overdue ? w.over : w.left, { span: span }); }
      if (face) { face.textContent = clock(left); }
      var state = overdue ? "overdue" : (left < 3600 ? "soon" : "ok");
      if (!el.classList.contains("cd-" + state)) {
        el.classList.remove("cd-ok", "cd-soon", "cd-overdue");
        el.classList.add("cd-" + state);
        if (overdue && !el.querySelector(".cd-flag")) {
          var flag = document.createElement("span");
          flag.className = "cd-flag";
          flag.setAttribute("aria-hidden", "true");
          flag.textContent = "\u26a0 ";
          el.insertBefore(flag, el.firstChild);
        }
        var row = el.closest("tr");
        if (row) { row.classList.toggle("row-overdue", overdue); }
      }
    }
  }
  tick();
  window.setInterval(tick, 1000);
})();
