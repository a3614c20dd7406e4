/* tac-bootstrap dashboard: the pages' script (progressive enhancement; the pages work without).
 *
 * Everything shown comes from the orchestrator database, and prompts and tool inputs there are
 * attacker-controlled text: every node is built with createElement + textContent, never
 * innerHTML; no eval, no inline handlers, no inline styles in markup (styles set through the
 * CSSOM are allowed by the page's Content-Security-Policy). Served from /static/ only; the
 * timeline and the charts are in their own files, loaded only on the pages that have them.
 */
(function () {
  "use strict";

  var STREAM_URL = "/api/stream";
  var RECONNECT_MIN_MS = 500;
  var RECONNECT_MAX_MS = 10000;
  // Where this script was served from: the other scripts and the vendored library sit beside it.
  var STATIC_BASE = ((document.currentScript && document.currentScript.src) || "/static/dashboard.js")
    .replace(/[^/]*$/, "");

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function $$(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  /* An element with attributes and children; strings become text nodes, never markup. */
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

  /* The same text the server's template filters write (dashboard/app.py), so a row the
     stream brought looks like the rows the page came with. */
  var format = {
    usd: function (value) {
      return (Number(value) || 0).toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
    },
    tokens: function (value) {
      return Math.trunc(Number(value) || 0).toLocaleString("en-US");
    },
    when: function (value) {
      return text(value).slice(0, 19).replace("T", " ");
    },
    duration: function (ms) {
      if (ms === null || ms === undefined || ms === "") return "";
      var seconds = Number(ms) / 1000;
      if (seconds < 60) return seconds.toFixed(1) + " s";
      var minutes = Math.floor(seconds / 60);
      if (minutes < 60) return minutes + " min " + Math.floor(seconds % 60) + " s";
      return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
    }
  };

  /* ISO text or epoch seconds/milliseconds -> milliseconds, or NaN. */
  function toMillis(value) {
    if (value === null || value === undefined || value === "") return NaN;
    if (typeof value === "number" || /^\d+(\.\d+)?$/.test(String(value))) {
      var n = Number(value);
      return n < 1e11 ? n * 1000 : n;
    }
    return Date.parse(String(value));
  }

  function cellText(data, field) {
    var value = data[field];
    if (value === null || value === undefined) return "";
    if (/(^|_)(timestamp|at|started|start|end)$/.test(field)) return format.when(value);
    if (/(^|_)cost_usd$/.test(field)) return format.usd(value);
    if (/(^|_)tokens$/.test(field)) return format.tokens(value);
    if (field === "duration_ms") return format.duration(value);
    return text(value);
  }

  /* The columns a table declares with <th data-field="...">. */
  function fieldsOf(table) {
    return $$("thead th[data-field]", table).map(function (th) { return th.getAttribute("data-field"); });
  }

  function bodyOf(table) {
    return table.tBodies && table.tBodies[0] ? table.tBodies[0] : table;
  }

  /* --- Agents' names (events carry the id; the page's agent filter and timeline name them) --- */

  function agentName(id) {
    var option = $('#event-filters select[name="agent"] option[value="' + CSS.escape(id) + '"]');
    if (option) return option.textContent;
    var lane = $('#timeline [data-agent-id="' + CSS.escape(id) + '"] .lane-name');
    return lane ? lane.textContent : id;
  }

  /* --- Rows the stream brings --------------------------------------------------------------- */

  function eventRow(table, data) {
    var values = Object.assign({}, data);
    if (!values.agent_name && values.agent) values.agent_name = agentName(text(values.agent));
    var row = el("tr", {
      "data-event-id": text(data.id),
      "data-seq": text(data.seq),
      "data-tool": text(data.tool),
      "data-level": text(data.level),
      "data-agent": text(data.agent),
      "data-tool-use-id": data.tool_use_id ? text(data.tool_use_id) : null,
      "class": "event new level-" + text(data.level).toLowerCase().replace(/[^a-z]/g, "")
    }, fieldsOf(table).map(function (field) {
      var cell = el("td", { "data-field": field });
      if (field === "result") setResult(cell, data.result);
      else cell.textContent = cellText(values, field);
      return cell;
    }));
    window.setTimeout(function () { row.classList.remove("new"); }, 2000);
    return row;
  }

  function setResult(cell, result) {
    if (!result) return;
    cell.replaceChildren(el("span", {
      "data-result-id": text(result.id), "data-level": text(result.level), text: text(result.message)
    }));
  }

  /* A tool's result whose call the page shows goes into that call's row, as the page pairs them. */
  function pairWithCall(table, data) {
    if (data.log_type !== "tool_result" || !data.tool_use_id) return false;
    var call = $('tr[data-tool-use-id="' + CSS.escape(text(data.tool_use_id)) + '"]', table);
    var cell = call && $('[data-field="result"]', call);
    if (!cell) return false;
    setResult(cell, data);
    return true;
  }

  function promptRow(table, data) {
    return el("tr", {
      "data-prompt-id": text(data.id), "data-agent-id": text(data.agent_id), "data-status": text(data.status)
    }, fieldsOf(table).map(function (field) {
      return el("td", { "data-field": field, text: cellText(data, field) });
    }));
  }

  /* The prompt's text (and its answer) folded under the row, as the page shows them. */
  function promptTextRow(table, data) {
    if (typeof data.prompt_text !== "string") return null;
    var parts = [el("summary", { text: "prompt" }), el("pre", { text: data.prompt_text })];
    if (data.response_text) parts.push(el("p", { text: "response" }), el("pre", { text: data.response_text }));
    return el("tr", { "class": "prompt-text", "data-prompt-text-for": text(data.id) }, [
      el("td", { colspan: fieldsOf(table).length }, [el("details", {}, parts)])
    ]);
  }

  /* A text row already on the page is brought up to date in place, element by element: a
     reader who opened it, selected its text or scrolled it keeps the elements they hold. */
  function updateTextRow(row, fresh) {
    var details = $("details", row);
    var wanted = $("details", fresh);
    if (!details || !wanted) { row.replaceWith(fresh); return; }
    var have = Array.prototype.slice.call(details.children);
    var nodes = Array.prototype.slice.call(wanted.children); // moving one out shortens wanted's
    nodes.forEach(function (node, i) {
      var old = have[i];
      if (!old) details.appendChild(node);
      else if (old.tagName !== node.tagName) details.replaceChild(node, old);
      else if (old.textContent !== node.textContent) old.textContent = node.textContent;
    });
    have.slice(nodes.length).forEach(function (node) { node.remove(); });
  }

  function refreshCells(node, data, skip) {
    $$("[data-field]", node).forEach(function (cell) {
      var field = cell.getAttribute("data-field");
      if (skip.indexOf(field) >= 0 || !(field in data) || cell.tagName === "TH") return;
      cell.textContent = cellText(data, field);
      if (cell.hasAttribute("data-usd")) cell.setAttribute("data-usd", text(data[field]));
      if (cell.hasAttribute("data-value")) cell.setAttribute("data-value", text(data[field]));
    });
  }

  function phasesCell(phases) {
    var children = [];
    (phases || []).forEach(function (phase, i) {
      if (i) children.push(" \u00b7 ");
      var title = text(phase.status) + (phase.attempts > 1 ? ", " + phase.attempts + " attempts" : "");
      children.push(el("span", { "class": "phase", "data-status": text(phase.status), title: title, text: text(phase.name) }));
    });
    return el("td", { "class": "phases" }, children);
  }

  function runRow(table, data) {
    var id = text(data.id);
    return el("tr", { "data-run-id": id, "data-kind": text(data.kind), "data-status": text(data.status), "class": "new" },
      fieldsOf(table).map(function (field) {
        if (field === "id") {
          return el("td", { "data-field": "id" }, [el("a", { "class": "run-link", href: "/runs/" + encodeURIComponent(id), text: id })]);
        }
        if (field === "phases") return phasesCell(data.phases);
        var cell = el("td", { "data-field": field, text: cellText(data, field) });
        if (field === "status") cell.className = "status";
        if (field === "cost_usd") cell.setAttribute("data-usd", text(data.cost_usd));
        if (field === "issue") cell.title = text(data.issue_title);
        return cell;
      }));
  }

  /* A run changed: its row on the runs page (a new one on the unfiltered first page) and its
     own page's header. The link and the id are never rewritten. */
  function updateRun(data) {
    var id = text(data.id);
    if (!id) return;
    var rows = $$('[data-run-id="' + CSS.escape(id) + '"]');
    rows.forEach(function (node) {
      if (data.status) node.setAttribute("data-status", text(data.status));
      refreshCells(node, data, ["id"]);
      var phases = $("td.phases", node);
      if (phases && data.phases) phases.replaceWith(phasesCell(data.phases));
    });
    var table = $("table#runs");
    if (!rows.length && table && !window.location.search) {
      var empty = $("tr.empty", bodyOf(table));
      if (empty) empty.remove();
      bodyOf(table).insertBefore(runRow(table, data), bodyOf(table).firstChild);
    }
    if (window.TacTimeline && $('#run[data-run-id="' + CSS.escape(id) + '"]')) window.TacTimeline.refresh();
  }

  /* --- The live stream: Server-Sent Events on /api/stream, by cursor ----------------------- */

  function Live(status) {
    var scope = $("[data-stream-run]");
    var holder = $("[data-stream-after]");
    this.status = status;
    this.run = scope ? scope.getAttribute("data-stream-run") : "";
    this.cursor = holder ? holder.getAttribute("data-stream-after") : "";
    this.delay = RECONNECT_MIN_MS;
    this.source = null;
  }

  Live.prototype.url = function () {
    var params = new URLSearchParams();
    if (this.run) params.set("run", this.run);
    if (this.cursor) params.set("after", this.cursor);
    var query = params.toString();
    return STREAM_URL + (query ? "?" + query : "");
  };

  Live.prototype.setState = function (state, label) {
    this.status.setAttribute("data-state", state);
    this.status.textContent = label || (state === "open" ? "live" : "reconnecting\u2026");
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
      // CONNECTING: the browser retries by itself, sending Last-Event-ID. CLOSED (an HTTP
      // error, a refused token, a server that answered non-200): reconnect from our cursor.
      if (source.readyState === EventSource.CLOSED) self.retry();
    };
    ["log", "prompt", "run"].forEach(function (kind) {
      source.addEventListener(kind, function (message) { self.receive(kind, message); });
    });
  };

  Live.prototype.retry = function () {
    var self = this;
    this.source.close();
    window.setTimeout(function () { self.connect(); }, this.delay);
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
    if (kind === "log") receiveEvent(data);
    else if (kind === "prompt") receivePrompt(data);
    else updateRun(data);
  };

  function receiveEvent(data) {
    var table = $("table#events");
    if (!table || $('[data-event-id="' + CSS.escape(text(data.id)) + '"]', table)) return;
    if (pairWithCall(table, data)) return;
    var row = eventRow(table, data);
    row.hidden = !matchesEventFilters(row);
    bodyOf(table).appendChild(row);
    addFilterOption("tool", data.tool, data.tool);
    addFilterOption("agent", data.agent, data.agent_name || agentName(text(data.agent)));
    var counter = $("#events-count");
    if (counter) counter.textContent = String($$("[data-event-id]", table).length);
    if (window.TacTimeline && data.agent && !$('#timeline [data-agent-id="' + CSS.escape(text(data.agent)) + '"]')) {
      window.TacTimeline.refresh(); // an agent the timeline does not show yet
    }
  }

  function receivePrompt(data) {
    var table = $("table#prompts");
    if (!table) return;
    var id = text(data.id);
    var known = $('tr[data-prompt-id="' + CSS.escape(id) + '"]', table);
    if (known) {
      known.setAttribute("data-status", text(data.status));
      refreshCells(known, data, []);
    } else {
      bodyOf(table).appendChild(promptRow(table, data));
    }
    var texts = $('tr[data-prompt-text-for="' + CSS.escape(id) + '"]', table);
    var fresh = promptTextRow(table, data);
    if (texts && fresh) updateTextRow(texts, fresh);
    else if (fresh) bodyOf(table).appendChild(fresh);
    if (window.TacTimeline) window.TacTimeline.refresh();
  }

  /* --- Filters: the forms filter on the server; live rows follow the chosen filter --------- */

  function submitOnChange(form) {
    $$("select, input[type=date]", form).forEach(function (input) {
      input.addEventListener("change", function () {
        var after = $("input[name=after]", form);
        if (after) after.value = ""; // a new filter starts at the first page
        if (form.requestSubmit) form.requestSubmit();
        else form.submit();
      });
    });
  }

  function matchesEventFilters(row) {
    return $$("#event-filters select[name]").every(function (select) {
      return !select.value || row.getAttribute("data-" + select.name) === select.value;
    });
  }

  function addFilterOption(name, value, label) {
    var select = $('#event-filters select[name="' + name + '"]');
    if (!select || !value || $('option[value="' + CSS.escape(text(value)) + '"]', select)) return;
    select.appendChild(el("option", { value: text(value), text: text(label || value) }));
  }

  /* --- Start ------------------------------------------------------------------------------- */

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
    document.head.appendChild(el("link", { rel: "stylesheet", href: vendor + "uPlot.min.css" }));
    loadScript(vendor + "uPlot.iife.min.js")
      .then(function () { return loadScript(STATIC_BASE + "dashboard-charts.js"); })
      .then(function () { return window.TacCharts.drawAll(); })
      .catch(function (error) {
        $$("#chart-day, #chart-model, #chart-run-type").forEach(function (container) {
          container.setAttribute("data-state", "error");
          container.appendChild(el("p", { "class": "error", text: error.message }));
        });
      });
  }

  window.TacDashboard = { el: el, text: text, format: format, toMillis: toMillis, $: $, $$: $$ };

  function start() {
    $$("form#run-filters, form#event-filters").forEach(submitOnChange);
    if ($("#timeline")) loadScript(STATIC_BASE + "dashboard-timeline.js");
    if ($("#chart-day, #chart-model, #chart-run-type")) loadCharts();
    var status = $("#live-status");
    if (status && typeof EventSource !== "undefined") {
      var live = new Live(status);
      live.setState("closed", "connecting\u2026");
      live.connect();
      window.TacDashboard.live = live;
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
