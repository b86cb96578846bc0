// The console's only script: a page marked data-poll refreshes its content every few seconds (unless the
// operator is typing or has ticked something there), and the analytics charts are drawn with uPlot.
(function () {
  "use strict";
  var charts = [];
  var dirty = false;

  function drawCharts() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var source = document.getElementById("chart-data");
    if (!source || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var specs = [
      ["chart-payments", data.payments, [["attempted", "Attempted", "#0b57d0"], ["succeeded", "Succeeded", "#0a6b2d"], ["failed", "Failed", "#a50e0e"]]],
      ["chart-orders", data.orders, [["orders", "Orders", "#0b57d0"], ["paid", "Paid", "#0a6b2d"]]]
    ];
    specs.forEach(function (spec) {
      var box = document.getElementById(spec[0]);
      if (!box || !spec[1]) { return; }
      var series = [{}];
      var columns = [spec[1].x];
      spec[2].forEach(function (line) {
        series.push({ label: line[1], stroke: line[2], width: 2 });
        columns.push(spec[1][line[0]]);
      });
      var opts = { width: Math.max(box.clientWidth, 200), height: 220, series: series, scales: { x: { time: true } },
        axes: [{}, { size: 50 }] };
      charts.push(new uPlot(opts, columns, box));
    });
  }

  function busy(main) {
    var active = document.activeElement;
    return dirty || (active && active !== main && main.contains(active)) || main.querySelector("details[open]");
  }

  function poll() {
    var main = document.getElementById("main");
    var seconds = main && parseFloat(main.getAttribute("data-poll"));
    if (!seconds) { return; }
    main.addEventListener("input", function () { dirty = true; });
    main.addEventListener("change", function () { dirty = true; });
    var status = document.getElementById("refresh-status");
    window.setInterval(function () {
      if (document.visibilityState !== "visible" || busy(main)) { return; }
      fetch(window.location.href, { headers: { "X-Console-Poll": "1" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null || busy(main)) { return; }
          main.innerHTML = html;
          drawCharts();
          if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString(); }
        })
        .catch(function () { if (status) { status.textContent = "Could not refresh; retrying"; } });
    }, seconds * 1000);
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(drawCharts, 200);
  });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(); poll(); });
})();
