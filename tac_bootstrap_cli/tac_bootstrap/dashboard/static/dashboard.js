/* tac-bootstrap dashboard: the pages' one script (progressive enhancement).
 *
 * Everything shown comes from the orchestrator database, and prompts and tool inputs there are
 * attacker-controlled text: every node is built with createElement + textContent, never
 * innerHTML; no eval, no inline handlers, no inline styles in markup (styles set through the
 * CSSOM are allowed by the page's Content-Security-Policy). Served from /static/ only.
 */
(function () {
  "use strict";

  var STREAM_URL = "/api/stream";
  // Where this script was served from: the charts and the vendored library sit beside it.
  var STATIC_BASE = (document.currentScript && document.currentScript.src || "/static/dashboard.js")
    .replace(/[^/]*$/, "");
  var RECONNECT_MIN_MS = 500;
  var RECONNECT_MAX_MS = 10000;

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function $$(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  /* An element with attributes and text children; strings become text nodes, never markup. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function text(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function formatUsd(value) {
    var n = Number(value) || 0;
    return "$" + n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 4 : 2);
  }

  function formatInt(value) {
    return (Number(value) || 0).toLocaleString("en-US");
  }

  /* "2026-12-01T19:23:13..." or epoch seconds -> milliseconds, or NaN. */
  function toMillis(value) {
    if (value === null || value === undefined || value === "") return NaN;
    if (typeof value === "number" || /^\d+(\.\d+)?$/.test(String(value))) {
      var n = Number(value);
      return n < 1e11 ? n * 1000 : n;
    }
    return Date.parse(String(value));
  }

  function formatTime(value) {
    var ms = toMillis(value);
    if (isNaN(ms)) return text(value);
    return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  }

  /* --- The live stream: Server-Sent Events on /api/stream, by cursor ------------------------ */

  function Live(status) {
    this.status = status;
    this.events = $("#events");
    this.prompts = $("#prompts");
    this.scope = document.querySelector("[data-stream-run]");
    this.cursor = this.initialCursor();
    this.seen = {};
    this.delay = RECONNECT_MIN_MS;
    this.source = null;
    var self = this;
    $$("[data-event-id]").forEach(function (row) {
      self.seen[row.getAttribute("data-event-id")] = true;
    });
  }

  Live.prototype.initialCursor = function () {
    var holder = document.querySelector("[data-stream-after]");
    return holder ? holder.getAttribute("data-stream-after") : "";
  };

  Live.prototype.url = function () {
    var params = new URLSearchParams();
    if (this.scope) params.set("run", this.scope.getAttribute("data-stream-run"));
    if (this.cursor) params.set("after", this.cursor);
    var query = params.toString();
    return STREAM_URL + (query ? "?" + query : "");
  };

  Live.prototype.setState = function (state) {
    if (!this.status) return;
    this.status.setAttribute("data-state", state);
    this.status.textContent = state === "open" ? "live" : "reconnecting\u2026";
    this.status.title = state === "open" ? "new events appear as they are written" : "";
  };

  Live.prototype.connect = function () {
    var self = this;
    var source = new EventSource(this.url());
    this.source = source;
    source.onopen = function () {
      self.delay = RECONNECT_MIN_MS;
      self.setState("open");
    };
    source.onerror = function () {
      self.setState("closed");
      // CONNECTING: the browser retries by itself (with Last-Event-ID). CLOSED (an HTTP error,
      // a refused token, a server restart that answered non-200): reconnect from our cursor.
      if (source.readyState === EventSource.CLOSED) self.retry();
    };
    ["log", "prompt", "run"].forEach(function (kind) {
      source.addEventListener(kind, function (message) {
        self.receive(kind, message);
      });
    });
  };

  Live.prototype.retry = function () {
    var self = this;
    if (this.source) this.source.close();
    window.setTimeout(function () {
      self.connect();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, RECONNECT_MAX_MS);
  };

  Live.prototype.receive = function (kind, message) {
    if (message.lastEventId) this.cursor = message.lastEventId;
    var data;
    try {
      data = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    if (kind === "log") this.appendEvent(data, message.lastEventId);
    else if (kind === "prompt") this.appendPrompt(data);
    else if (kind === "run") updateRun(data);
  };

  Live.prototype.appendEvent = function (data, cursor) {
    if (!this.events) return;
    var id = text(data.id !== undefined ? data.id : cursor);
    if (this.seen[id]) return;
    this.seen[id] = true;
    var row = eventRow(this.events, data, id);
    var body = this.events.tagName === "TABLE" ? this.events.tBodies[0] || this.events : this.events;
    body.appendChild(row);
    applyEventFilters();
    var counter = $("#events-count");
    if (counter) counter.textContent = formatInt($$("[data-event-id]", this.events).length);
  };

  Live.prototype.appendPrompt = function (data) {
    if (!this.prompts) return;
    var id = text(data.id);
    if (!id || $('[data-prompt-id="' + CSS.escape(id) + '"]', this.prompts)) return;
    var body = this.prompts.tagName === "TABLE" ? this.prompts.tBodies[0] || this.prompts : this.prompts;
    var row = rowFromHeader(this.prompts, data, "tr");
    row.setAttribute("data-prompt-id", id);
    body.appendChild(row);
  };

  /* The columns a table declares (<th data-field="...">), or the usual ones of a hook event. */
  var EVENT_FIELDS = ["timestamp", "agent", "event", "tool", "level", "message"];

  function fieldsOf(container) {
    var heads = $$("thead th[data-field]", container.tagName === "TBODY" ? container.parentNode : container);
    return heads.length ? heads.map(function (th) { return th.getAttribute("data-field"); }) : null;
  }

  function cellText(data, field) {
    var value = data[field];
    if (/(^|_)(timestamp|time|at|started_at|ended_at)$/.test(field)) return formatTime(value);
    if (/cost/.test(field)) return value === null || value === undefined ? "" : formatUsd(value);
    if (/tokens$/.test(field)) return formatInt(value);
    return text(value);
  }

  function rowFromHeader(container, data, tag) {
    var fields = fieldsOf(container) || EVENT_FIELDS;
    if (tag === "tr") {
      return el("tr", {}, fields.map(function (field) {
        return el("td", { "data-field": field, text: cellText(data, field) });
      }));
    }
    return el(tag, {}, fields.filter(function (field) {
      return data[field] !== undefined && data[field] !== null && data[field] !== "";
    }).map(function (field) {
      return el("span", { "class": "field field-" + field, "data-field": field, text: cellText(data, field) });
    }));
  }

  function eventRow(container, data, id) {
    var tag = container.tagName === "TABLE" || container.tagName === "TBODY" ? "tr"
      : container.tagName === "OL" || container.tagName === "UL" ? "li" : "div";
    var row = rowFromHeader(container, data, tag);
    row.setAttribute("data-event-id", id);
    row.classList.add("event", "new");
    ["tool", "level", "agent"].forEach(function (name) {
      var value = data[name] !== undefined ? data[name] : data[name + "_name"];
      if (value !== undefined && value !== null) row.setAttribute("data-" + name, text(value));
    });
    if (data.level) row.classList.add("level-" + text(data.level).toLowerCase().replace(/[^a-z]/g, ""));
    window.setTimeout(function () { row.classList.remove("new"); }, 2000);
    return row;
  }

  /* A run's status changed: update its row on the runs page and the status on its own page. */
  function updateRun(data) {
    var id = text(data.adw_id || data.run_id || data.id);
    if (!id) return;
    $$('[data-run-id="' + CSS.escape(id) + '"]').forEach(function (node) {
      if (data.status) node.setAttribute("data-status", text(data.status));
      $$("[data-field]", node).forEach(function (cell) {
        var field = cell.getAttribute("data-field");
        if (data[field] !== undefined && cell.tagName !== "A") cell.textContent = cellText(data, field);
      });
    });
  }

  /* --- Filters: the runs form submits itself; the run page's events filter in place ---------- */

  function enhanceRunFilters() {
    var form = $("form#run-filters") || $("form.filters");
    if (!form) return;
    $$("select, input[type=date]", form).forEach(function (input) {
      input.addEventListener("change", function () {
        var after = $("input[name=after]", form);
        if (after) after.value = ""; // a new filter starts at the first page
        form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    });
  }

  function eventFilterValues() {
    var values = {};
    $$("#event-filters [name]").forEach(function (input) {
      if (input.value) values[input.name] = input.value;
    });
    return values;
  }

  function applyEventFilters() {
    var wanted = eventFilterValues();
    var names = Object.keys(wanted);
    $$("#events [data-event-id]").forEach(function (row) {
      var shown = names.every(function (name) {
        return (row.getAttribute("data-" + name) || "") === wanted[name];
      });
      row.hidden = !shown;
    });
    addMissingFilterOptions();
  }

  /* Live events may bring a tool, level or agent the page's select boxes did not list. */
  function addMissingFilterOptions() {
    $$("#event-filters select[name]").forEach(function (select) {
      var known = {};
      $$("option", select).forEach(function (option) { known[option.value] = true; });
      $$("#events [data-" + select.name + "]").forEach(function (row) {
        var value = row.getAttribute("data-" + select.name);
        if (value && !known[value]) {
          known[value] = true;
          select.appendChild(el("option", { value: value, text: value }));
        }
      });
    });
  }

  function enhanceEventFilters() {
    var form = $("#event-filters");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      applyEventFilters();
    });
    $$("[name]", form).forEach(function (input) {
      input.addEventListener("change", applyEventFilters);
    });
    applyEventFilters();
  }

  /* --- The run page's timeline: one swimlane per agent, spans placed on a shared time axis --- */

  function layoutTimeline() {
    var timeline = $("#timeline");
    if (!timeline) return;
    var spans = $$("[data-start]", timeline);
    var now = Date.now();
    var bounds = spans.reduce(function (acc, span) {
      var start = toMillis(span.getAttribute("data-start"));
      var end = toMillis(span.getAttribute("data-end"));
      if (!isNaN(start)) acc.min = Math.min(acc.min, start);
      acc.max = Math.max(acc.max, isNaN(end) ? (isNaN(start) ? acc.max : now) : end);
      return acc;
    }, { min: Infinity, max: -Infinity });
    if (!isFinite(bounds.min) || !isFinite(bounds.max)) return;
    var width = Math.max(bounds.max - bounds.min, 1);
    timeline.classList.add("laid-out");
    spans.forEach(function (span) {
      var start = toMillis(span.getAttribute("data-start"));
      var end = toMillis(span.getAttribute("data-end"));
      if (isNaN(start)) return;
      if (isNaN(end)) { end = now; span.classList.add("running"); }
      span.style.left = ((start - bounds.min) / width * 100).toFixed(3) + "%";
      span.style.width = Math.max((end - start) / width * 100, 0.5).toFixed(3) + "%";
      if (!span.title) span.title = formatTime(start) + " \u2192 " + formatTime(end);
    });
    var axis = $(".timeline-axis", timeline);
    if (axis) {
      axis.replaceChildren(
        el("span", { "class": "axis-start", text: formatTime(bounds.min) }),
        el("span", { "class": "axis-end", text: formatTime(bounds.max) })
      );
    }
  }

  window.TacDashboard = {
    el: el,
    formatUsd: formatUsd,
    formatTime: formatTime,
    toMillis: toMillis,
    applyEventFilters: applyEventFilters,
    layoutTimeline: layoutTimeline
  };

  function start() {
    enhanceRunFilters();
    enhanceEventFilters();
    layoutTimeline();
    var status = $("#live-status");
    if (status && typeof EventSource !== "undefined") {
      var live = new Live(status);
      live.setState("closed");
      live.connect();
      window.TacDashboard.live = live;
    }
    if ($("#chart-day, #chart-model, #chart-run-type")) loadCharts();
  }

  /* The chart library and our charts, only on a page that has a chart (same origin: CSP). */
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = el("script", { src: src });
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(script);
    });
  }

  function loadCharts() {
    var vendor = STATIC_BASE + "vendor/uplot/";
    if (!$('link[href$="uPlot.min.css"]')) {
      document.head.appendChild(el("link", { rel: "stylesheet", href: vendor + "uPlot.min.css" }));
    }
    var library = window.uPlot ? Promise.resolve() : loadScript(vendor + "uPlot.iife.min.js");
    library
      .then(function () { return window.TacCharts ? null : loadScript(STATIC_BASE + "dashboard-charts.js"); })
      .then(function () { return window.TacCharts.drawAll(); })
      .catch(function (error) {
        $$("#chart-day, #chart-model, #chart-run-type").forEach(function (container) {
          container.setAttribute("data-state", "error");
          container.replaceChildren(el("p", { "class": "error", text: error.message }));
        });
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
