// Dashboard charts with ECharts when the set-up command has installed it; otherwise the
// tables beside each chart stay visible and the page needs nothing else.
(function () {
  "use strict";
  var data = document.getElementById("chart-data");
  if (!window.echarts || !data) { return; }
  var series = JSON.parse(data.textContent);
  var palette = ["#b3261e", "#1d5fbf", "#1e7a44", "#a86400", "#6b4fbb", "#00838f", "#5d6b78"];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var rows = series[el.getAttribute("data-chart")] || [];
    var kind = el.getAttribute("data-kind");
    var names = rows.map(function (r) { return r[0]; });
    var values = rows.map(function (r) { return r[1]; });
    var option;
    if (kind === "pie") {
      option = { color: palette, tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["35%", "65%"],
          data: rows.map(function (r) { return { name: r[0], value: r[1] }; }) }] };
    } else {
      var cat = { type: "category", data: names, axisLabel: { interval: 0 } };
      var val = { type: "value", minInterval: 1 };
      option = { color: palette, tooltip: {}, grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
        xAxis: kind === "hbar" ? val : cat, yAxis: kind === "hbar" ? cat : val,
        series: [{ type: "bar", data: values }] };
    }
    el.classList.add("drawn");
    echarts.init(el).setOption(option);
  });
})();
