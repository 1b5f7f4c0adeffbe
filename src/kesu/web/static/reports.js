// Report charts with ECharts (when the set-up command has installed it); each section's table
// stays below its chart, so the page reads the same without it.
(function () {
  "use strict";
  var data = document.getElementById("report-data");
  if (!window.echarts || !data) { return; }
  var sections = JSON.parse(data.textContent);
  var palette = ["#1d5fbf", "#b3261e", "#1e7a44", "#a86400", "#6b4fbb", "#00838f", "#5d6b78"];
  function column(section, key) {
    var i = section.columns.findIndex(function (c) { return c.key === key; });
    return section.rows.map(function (r) { return r[i]; });
  }
  function label(section, key) {
    return section.columns.find(function (c) { return c.key === key; }).label;
  }
  document.querySelectorAll("[data-section]").forEach(function (el) {
    var section = sections[Number(el.getAttribute("data-section"))];
    var spec = section.chart;
    var cats = column(section, spec.category).map(String);
    var option = { color: palette, tooltip: { trigger: spec.kind === "pie" ? "item" : "axis" },
      legend: { top: 0 }, grid: { left: 8, right: 48, top: 32, bottom: 8, containLabel: true } };
    if (spec.kind === "pie") {
      var values = column(section, spec.values[0]);
      option.series = [{ type: "pie", radius: ["35%", "65%"],
        data: cats.map(function (c, i) { return { name: c, value: values[i] }; }) }];
    } else if (spec.kind === "heatmap") {
      var points = [], top = 0;
      section.rows.forEach(function (row, d) {
        row.slice(1).forEach(function (v, h) { points.push([h, d, v]); top = Math.max(top, v); });
      });
      option = { tooltip: { position: "top" }, grid: { left: 8, right: 8, top: 8, bottom: 48, containLabel: true },
        xAxis: { type: "category", data: spec.values.map(function (k) { return k.slice(1); }) },
        yAxis: { type: "category", data: cats },
        visualMap: { min: 0, max: top || 1, orient: "horizontal", left: "center", bottom: 0,
          inRange: { color: ["#ffffff", "#c0392b"] } },
        series: [{ type: "heatmap", data: points }] };
    } else {
      var horizontal = spec.kind === "bar";
      var catAxis = { type: "category", data: cats, axisLabel: { interval: 0 } };
      var valAxis = { type: "value" };
      option.xAxis = horizontal ? valAxis : catAxis;
      option.yAxis = horizontal ? catAxis : [valAxis];
      option.series = spec.values.map(function (key) {
        return { name: label(section, key), type: spec.kind === "line" ? "line" : "bar",
          data: column(section, key) };
      });
      if (spec.kind === "pareto" && spec.line) {
        option.yAxis.push({ type: "value", min: 0, max: 1,
          axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } });
        option.series.push({ name: label(section, spec.line), type: "line", yAxisIndex: 1,
          data: column(section, spec.line) });
      }
    }
    el.classList.add("drawn");
    echarts.init(el).setOption(option);
  });
})();
