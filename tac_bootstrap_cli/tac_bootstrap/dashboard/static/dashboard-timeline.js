/* tac-bootstrap dashboard: the run page's timeline, one swimlane per agent (a phase's attempt).
 *
 * The server renders each lane with one span carrying data-start / data-end / data-status;
 * this script places the spans on a shared time axis (CSSOM left/width: allowed by the CSP),
 * stretches running ones to now, and rebuilds the lanes from /api/runs/{id} when the live
 * stream says the run changed (a new agent, a finished phase). Names are text, never markup.
 */
(function () {
  "use strict";

  var D = window.TacDashboard;
  var el = D.el, text = D.text, $ = D.$, $$ = D.$$;
  var REFRESH_GAP_MS = 1000;
  var RUNNING_TICK_MS = 2000;

  function bounds(spans, now) {
    return spans.reduce(function (acc, span) {
      var start = D.toMillis(span.getAttribute("data-start"));
      var end = D.toMillis(span.getAttribute("data-end"));
      if (isNaN(start)) return acc;
      acc.min = Math.min(acc.min, start);
      acc.max = Math.max(acc.max, isNaN(end) ? now : end);
      return acc;
    }, { min: Infinity, max: -Infinity });
  }

  function layout() {
    var timeline = $("#timeline");
    if (!timeline) return false;
    var spans = $$("[data-start]", timeline);
    var now = Date.now();
    var range = bounds(spans, now);
    if (!isFinite(range.min)) return false;
    var width = Math.max(range.max - range.min, 1);
    var running = false;
    timeline.classList.add("laid-out");
    spans.forEach(function (span) {
      var start = D.toMillis(span.getAttribute("data-start"));
      var end = D.toMillis(span.getAttribute("data-end"));
      if (isNaN(start)) return;
      span.classList.toggle("running", isNaN(end));
      if (isNaN(end)) { end = now; running = true; }
      span.style.left = ((start - range.min) / width * 100).toFixed(3) + "%";
      span.style.width = Math.max((end - start) / width * 100, 0.5).toFixed(3) + "%";
    });
    var axis = $(".timeline-axis", timeline);
    if (axis) {
      axis.replaceChildren(
        el("span", { "class": "axis-start", text: D.format.when(new Date(range.min).toISOString()) }),
        el("span", { "class": "axis-end", text: D.format.when(new Date(range.max).toISOString()) })
      );
    }
    return running;
  }

  /* One lane as the server renders it (templates/run.html). */
  function lane(agent) {
    var name = text(agent.name || agent.phase || "agent") + (agent.attempt > 1 ? " (attempt " + agent.attempt + ")" : "");
    var title = text(agent.status) + ": " + D.format.when(agent.start) + " to " + D.format.when(agent.end) +
      "; " + text(agent.retries) + " retries, " + text(agent.cli_retries) + " CLI retries";
    return el("div", { "class": "lane", "data-agent-id": text(agent.id), "data-phase": text(agent.phase) }, [
      el("span", { "class": "lane-name", text: name }),
      el("span", { "class": "lane-track" }, [
        el("span", {
          "class": "span", "data-start": text(agent.start), "data-end": text(agent.end),
          "data-status": text(agent.status), "data-retries": text(agent.retries), title: title,
          text: text(agent.status)
        })
      ])
    ]);
  }

  function rebuild(agents) {
    var timeline = $("#timeline");
    var axis = $(".timeline-axis", timeline) || el("div", { "class": "timeline-axis" });
    timeline.replaceChildren.apply(timeline, agents.map(lane).concat([axis]));
    agents.forEach(function (agent) { // the event filter offers every agent the run has
      var select = $('#event-filters select[name="agent"]');
      if (select && !$('option[value="' + CSS.escape(text(agent.id)) + '"]', select)) {
        select.appendChild(el("option", { value: text(agent.id), text: text(agent.name || agent.id) }));
      }
    });
    layout();
  }

  var pending = false; // a fetch is scheduled or in flight
  var again = false; // a change came meanwhile: fetch once more when this one is done
  var lastRefresh = 0;

  /* Fetch the run again and redraw its lanes; at most once per REFRESH_GAP_MS, and never
     missing the last change (the run's end must not leave a lane "running"). */
  function refresh() {
    var run = $("#run[data-run-id]");
    if (!run) return;
    if (pending) { again = true; return; }
    pending = true;
    var wait = Math.max(0, lastRefresh + REFRESH_GAP_MS - Date.now());
    window.setTimeout(function () {
      lastRefresh = Date.now();
      fetch("/api/runs/" + encodeURIComponent(run.getAttribute("data-run-id")), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (detail) { if (detail && detail.agents) rebuild(detail.agents); })
        .catch(function () { /* the next change tries again */ })
        .then(function () {
          pending = false;
          if (again) { again = false; refresh(); }
        });
    }, wait);
  }

  window.TacTimeline = { layout: layout, refresh: refresh };
  layout();
  window.setInterval(function () {
    if ($("#timeline .running")) layout(); // running spans grow with the clock
  }, RUNNING_TICK_MS);
})();
