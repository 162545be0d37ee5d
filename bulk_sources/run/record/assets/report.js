/* The report page's behaviour: sortable, filterable tables and the timeline (uPlot).
   The page is complete without it; this only adds the chart and the table controls. */
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    var text = row.cells[index] ? row.cells[index].textContent.trim() : "";
    if (!numeric) return text.toLowerCase();
    var n = parseFloat(text);
    return isNaN(n) ? -Infinity : n;
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      th.tabIndex = 0;
      th.title = "sort";
      function sort() {
        var numeric = th.dataset.type === "num";
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  }

  function makeFilterable() {
    var table = document.getElementById("row-table");
    if (!table) return;
    var status = document.getElementById("status-filter");
    var text = document.getElementById("text-filter");
    var count = document.getElementById("row-count");
    function apply() {
      var want = status.value, words = text.value.trim().toLowerCase();
      var shown = 0, rows = table.tBodies[0].rows;
      Array.prototype.forEach.call(rows, function (r) {
        var ok = (!want || r.dataset.status === want) &&
          (!words || r.textContent.toLowerCase().indexOf(words) >= 0);
        r.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown + " of " + rows.length + " shown";
    }
    // A link can carry a filter: report.html#status=failed&q=timeout
    var wanted = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (wanted.has("status")) status.value = wanted.get("status");
    if (wanted.has("q")) text.value = wanted.get("q");
    status.addEventListener("change", apply);
    text.addEventListener("input", apply);
    apply();
  }

  var WAIT_COLOURS = [
    [/429/, "rgba(214, 39, 40, 0.16)"],
    [/window full/, "rgba(255, 152, 0, 0.20)"],
    [/./, "rgba(31, 119, 180, 0.10)"]
  ];

  function waitColour(why) {
    for (var i = 0; i < WAIT_COLOURS.length; i++) {
      if (WAIT_COLOURS[i][0].test(why)) return WAIT_COLOURS[i][1];
    }
    return WAIT_COLOURS[2][1];
  }

  function band(u, a, b, colour) {
    var left = u.valToPos(a, "x", true), right = u.valToPos(b, "x", true);
    var top = u.bbox.top, height = u.bbox.height;
    left = Math.max(left, u.bbox.left);
    right = Math.min(right, u.bbox.left + u.bbox.width);
    if (right <= left) return;
    u.ctx.fillStyle = colour;
    u.ctx.fillRect(left, top, Math.max(1, right - left), height);
  }

  function marks(data) {
    return function (u) {
      var ctx = u.ctx;
      ctx.save();
      data.off.forEach(function (o) { band(u, o[0], o[1], "rgba(120, 120, 120, 0.25)"); });
      data.waits.forEach(function (w) { band(u, w[0], w[1], waitColour(w[2])); });
      ctx.strokeStyle = "#d62728";
      ctx.fillStyle = "#d62728";
      ctx.lineWidth = Math.max(1, devicePixelRatio);
      data.rejected.forEach(function (t) {
        var x = u.valToPos(t, "x", true), top = u.bbox.top;
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + u.bbox.height);
        ctx.globalAlpha = 0.35;
        ctx.stroke();
        ctx.globalAlpha = 1;
        ctx.beginPath();
        ctx.moveTo(x - 5 * devicePixelRatio, top);
        ctx.lineTo(x + 5 * devicePixelRatio, top);
        ctx.lineTo(x, top + 8 * devicePixelRatio);
        ctx.closePath();
        ctx.fill();
      });
      ctx.restore();
    };
  }

  function drawCharts() {
    var holder = document.getElementById("charts");
    var status = document.getElementById("chart-status");
    var source = document.getElementById("timeline-data");
    if (!holder || !source || typeof uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    if (!data || !data.x.length) { status.textContent = "no request was sent"; return; }
    var width = Math.max(480, holder.clientWidth || 900);
    var stepped = uPlot.paths.stepped({ align: 1 });
    var sync = uPlot.sync("timeline");
    data.lanes.forEach(function (lane) {
      var box = document.createElement("div");
      box.className = "lane";
      box.dataset.window = lane.label;
      holder.appendChild(box);
      var top = Math.max.apply(null, lane.counts.concat(lane.limits.filter(function (v) {
        return v !== null;
      })));
      new uPlot({
        title: "requests in the trailing " + lane.label,
        width: width,
        height: 230,
        cursor: { sync: { key: sync.key }, drag: { x: true, y: false } },
        scales: { y: { range: [0, Math.ceil(top * 1.1) + 1] } },
        series: [
          {},
          { label: "sent in " + lane.label, stroke: "#1f77b4", width: 1.5, paths: stepped,
            fill: "rgba(31, 119, 180, 0.08)", points: { show: false } },
          { label: "limit in force", stroke: "#555", dash: [6, 4], width: 1.2, paths: stepped,
            points: { show: false } }
        ],
        axes: [{}, { label: "requests", size: 60 }],
        hooks: { draw: [marks(data)] }
      }, [data.x, lane.counts, lane.limits], box);
    });
    status.textContent = "drawn: " + data.x.length + " points, " + data.rejected.length +
      " 429s, " + data.waits.length + " waits, windows " +
      data.lanes.map(function (l) { return l.label; }).join(" and ");
    document.body.dataset.chart = "drawn";
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  makeFilterable();
  drawCharts();
})();
