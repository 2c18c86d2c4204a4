// The payment page's countdown: ticks every second from the seconds the server counted (so a
// wrong clock in the browser does not matter), shows times in the browser's own time zone, and
// at zero says the payment expired and disables Pay. Without this script the page shows the
// same facts in minutes and UTC.
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var styles = {
    time: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    datetime: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" }
  };
  var times = document.querySelectorAll("time.local-time");
  for (var i = 0; i < times.length; i++) {
    var t = times[i];
    var when = new Date(t.getAttribute("datetime"));
    if (isNaN(when.getTime())) { continue; }
    try {
      t.textContent = new Intl.DateTimeFormat(lang, styles[t.getAttribute("data-style")] || styles.time).format(when);
      t.setAttribute("data-local", "true");
    } catch (e) { /* keep the server's UTC text */ }
  }
  var box = document.getElementById("time-left");
  var countdown = document.getElementById("countdown");
  if (!box || !countdown) { return; }
  var left = parseInt(box.getAttribute("data-seconds-left"), 10);
  if (isNaN(left)) { return; }
  var end = Date.now() + left * 1000;
  function two(n) { return n < 10 ? "0" + n : String(n); }
  var timer = null;
  function tick() {
    var s = Math.max(0, Math.round((end - Date.now()) / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    countdown.textContent = (h > 0 ? h + ":" + two(m) : String(m)) + ":" + two(sec);
    countdown.setAttribute("data-ticking", "true");
    if (s === 0) {
      countdown.textContent = box.getAttribute("data-expired-text") || "0:00";
      var pay = document.getElementById("pay");
      if (pay) { pay.disabled = true; }
      if (timer !== null) { clearInterval(timer); }
    }
  }
  tick();
  timer = setInterval(tick, 1000);
})();
