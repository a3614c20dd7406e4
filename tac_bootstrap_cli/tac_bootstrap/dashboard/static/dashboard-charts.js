/* tac-bootstrap dashboard: the costs page's charts (uPlot, vendored under vendor/uplot/).
 *
 * Loaded by dashboard.js only on a page with a chart container. Each container
 * (#chart-day, #chart-model, #chart-run-type) names its series with data-by (day, model,
 * run_type); the data comes from /api/costs?by=..., the chart's own total (the sum of what it
 * plots) is written to data-total-usd, and a table of the same figures is built beside it
 * (textContent only: model names and run types come from the database).
 */
(function () {
  "use strict";

  var h = window.TacDashboard.el;
  var format = window.TacDashboard.format;

  function formatUsd(value) {
    var n = Number(value) || 0;
    return "$" + n.toFixed(n !== 0 && Math.abs(n) < 0.1 ? 4 : 2);
  }
  var CHARTS = [
    { id: "chart-day", by: "day" },
    { id: "chart-model", by: "model" },
    { id: "chart-run-type", by: "run_type" }
  ];
  var DAY_SECONDS = 86400;
  var MAX_LABELS = 12;
  var COST_COLOR = "#2f6fdf";
  var TOKENS_COLOR = "#d9822b";

  function number(value) {
    var n = Number(value);
    return isFinite(n) ? n : 0;
  }

  /* The API's rows as [{key, cost, tokens}], whatever the group is called in them. */
  function pointsOf(json, by) {
    var rows = json.series || json.rows || json.points || [];
    return rows.map(function (row) {
      var key = row.key !== undefined ? row.key : row[by] !== undefined ? row[by] : row.label;
      var tokens = row.total_tokens !== undefined ? row.total_tokens : row.tokens !== undefined
        ? row.tokens
        : number(row.input_tokens) + number(row.output_tokens) +
          number(row.cache_creation_tokens) + number(row.cache_read_tokens);
      return { key: key === null || key === undefined ? "(none)" : String(key),
        cost: number(row.cost_usd !== undefined ? row.cost_usd : row.cost), tokens: number(tokens) };
    });
  }

  function sumCost(points) {
    // Summed in micro-dollars so the shown total does not drift from the server's by a float ulp.
    var micro = points.reduce(function (acc, p) { return acc + Math.round(p.cost * 1e6); }, 0);
    return micro / 1e6;
  }

  function dayMillis(key) {
    var ms = Date.parse(String(key).length === 10 ? key + "T00:00:00Z" : key);
    return isNaN(ms) ? NaN : ms;
  }

  function isoDay(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 10);
  }

  function barsPaths() {
    return window.uPlot.paths && window.uPlot.paths.bars
      ? window.uPlot.paths.bars({ size: [0.6, 80] }) : undefined;
  }

  function chartOptions(container, points, byDay, xs) {
    var width = Math.max(container.clientWidth || 600, 320);
    var labels = points.map(function (p) { return p.key; });
    return {
      width: width,
      height: 260,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Half a bar of room each side: one day or one model is still a bar, not a sliver
        // at the edge of an axis uPlot would stretch over years.
        // (From the data itself: uPlot widens a single point's range to 1000 days.)
        x: { time: byDay, range: function () {
          var pad = byDay ? DAY_SECONDS / 2 : 0.5;
          return [xs[0] - pad, xs[xs.length - 1] + pad];
        } },
        usd: { range: function (u, min, max) { return [0, Math.max(max || 0, 0.01) * 1.1]; } },
        tokens: { range: function (u, min, max) { return [0, Math.max(max || 0, 1) * 1.1]; } }
      },
      axes: [
        byDay ? {
          space: 70,
          incrs: [1, 2, 7, 14, 30, 91, 182, 365].map(function (days) { return days * DAY_SECONDS; }),
          values: function (u, splits) { return splits.map(isoDay); }
        } : {
          splits: function () {
            var step = Math.ceil(labels.length / MAX_LABELS);
            return labels.map(function (label, i) { return i; }).filter(function (i) { return i % step === 0; });
          },
          values: function (u, splits) {
            return splits.map(function (i) { return labels[i] !== undefined ? labels[i] : ""; });
          }
        },
        { scale: "usd", values: function (u, splits) { return splits.map(formatUsd); } },
        { scale: "tokens", side: 1, grid: { show: false } }
      ],
      series: [
        { label: byDay ? "day" : container.getAttribute("data-by") || "group",
          value: function (u, v) { return v === null ? "" : byDay ? isoDay(v) : labels[v]; } },
        { label: "cost (USD)", scale: "usd", stroke: COST_COLOR, fill: "rgba(47,111,223,0.35)",
          paths: barsPaths(), points: { show: false },
          value: function (u, v) { return v === null ? "" : formatUsd(v); } },
        { label: "tokens", scale: "tokens", stroke: TOKENS_COLOR, width: 2,
          paths: byDay ? undefined : function () { return null; }, points: { show: true } }
      ]
    };
  }

  function chartData(points, byDay) {
    var xs = points.map(function (p, i) { return byDay ? dayMillis(p.key) / 1000 : i; });
    return [xs, points.map(function (p) { return p.cost; }), points.map(function (p) { return p.tokens; })];
  }

  /* The figures as the server's table shows them (templates/costs.html), for reading. */
  function figuresTable(points, by) {
    var rows = points.map(function (p) {
      return h("tr", { "data-key": p.key }, [
        h("td", { text: p.key }),
        h("td", { "data-field": "tokens", text: format.tokens(p.tokens) }),
        h("td", { "data-field": "cost_usd", "data-usd": p.cost, text: format.usd(p.cost) })
      ]);
    });
    var heads = [by.replace("_", " "), "tokens", "cost (USD)"];
    return h("table", { "class": "chart-figures" }, [
      h("thead", {}, [h("tr", {}, heads.map(function (label) { return h("th", { text: label }); }))]),
      h("tbody", {}, rows)
    ]);
  }

  function draw(container, json, by) {
    var points = pointsOf(json, by);
    var byDay = by === "day";
    if (byDay) points = points.filter(function (p) { return !isNaN(dayMillis(p.key)); });
    var total = sumCost(points);
    container.setAttribute("data-total-usd", String(total));
    container.setAttribute("data-points", String(points.length));
    var plot = h("div", { "class": "chart-plot" });
    container.replaceChildren(plot, figuresTable(points, by));
    if (points.length) {
      var data = chartData(points, byDay);
      new window.uPlot(chartOptions(container, points, byDay, data[0]), data, plot);
    }
    else plot.appendChild(h("p", { "class": "empty", text: "Nothing recorded yet." }));
    container.setAttribute("data-state", "drawn");
  }

  function fail(container, message) {
    container.setAttribute("data-state", "error");
    container.replaceChildren(h("p", { "class": "error", text: message }));
  }

  function drawOne(spec) {
    var container = document.getElementById(spec.id);
    if (!container) return Promise.resolve();
    var by = container.getAttribute("data-by") || spec.by;
    var url = container.getAttribute("data-src") || "/api/costs?by=" + encodeURIComponent(by) + window.location.search.replace(/^\?/, "&");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (json) { draw(container, json, by); })
      .catch(function (error) { fail(container, "Could not load the chart: " + error.message); });
  }

  window.TacCharts = {
    drawAll: function () {
      return Promise.all(CHARTS.map(drawOne)).then(function () {
        document.documentElement.setAttribute("data-charts", "drawn");
      });
    },
    pointsOf: pointsOf,
    sumCost: sumCost
  };
})();
