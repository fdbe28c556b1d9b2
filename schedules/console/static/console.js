// Live log tail on the run page: server-sent events from /api/v1/runs/<id>/events.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || log.dataset.active !== "yes" || !window.EventSource) return;
  var runId = log.dataset.run;
  var source = new EventSource("/api/v1/runs/" + runId + "/events?after=" + (log.dataset.after || "0"));
  function pad(level) { return (level + "       ").slice(0, 7); }
  source.addEventListener("log", function (e) {
    var line = JSON.parse(e.data);
    var at = new Date(line.at);
    var clock;
    try {
      clock = at.toLocaleTimeString("en-GB", { timeZone: log.dataset.zone, hour12: false });
    } catch (err) {
      clock = at.toTimeString().slice(0, 8);
    }
    var span = document.createElement("span");
    span.className = "lv-" + line.level;
    span.textContent = clock + " " + pad(line.level) + " " + line.message + "\n";
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.appendChild(span);
    if (atBottom) log.scrollTop = log.scrollHeight;
  });
  var labels = {};
  try { labels = JSON.parse(document.getElementById("status-labels").textContent); } catch (err) { labels = {}; }
  source.addEventListener("status", function (e) {
    var st = JSON.parse(e.data);
    var badge = document.querySelector("#status .badge");
    if (badge) { badge.className = "badge s-" + st.status; badge.textContent = labels[st.status] || st.status; }
    var duration = document.getElementById("duration");
    if (duration && st.duration_s != null) duration.textContent = st.duration_s.toFixed(1) + " s";
    if (st.status !== "queued" && st.status !== "running") {
      var cancel = document.getElementById("cancel");
      if (cancel) cancel.closest("form").remove();
    }
    var progress = document.getElementById("progress");
    if (progress && st.progress) {
      progress.textContent = st.progress.label + " " + st.progress.done + (st.progress.total ? "/" + st.progress.total : "");
      var bar = document.getElementById("progress-bar");
      if (bar && st.progress.total) { bar.max = st.progress.total; bar.value = st.progress.done; }
    }
  });
  source.addEventListener("end", function () {
    source.close();
    var live = document.getElementById("live");
    if (live) live.remove();
    setTimeout(function () { window.location.reload(); }, 300);
  });
})();
