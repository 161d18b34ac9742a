/* atende dashboard: draws each <canvas data-chart='{"type","labels","series","values"}'>
   with Chart.js; the same numbers are in the table beside it and in the CSV export. */
(function () {
  "use strict";
  var palette = ["#0b5cad", "#1d7a3a", "#b3261e", "#9a6400", "#6a3fa0", "#00838f", "#5b6670"];
  function draw(canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var round = spec.type === "doughnut";
    var horizontal = spec.type === "bar" && spec.labels.length > 6;
    var counts = { beginAtZero: true, ticks: { precision: 0 } };  /* whole numbers */
    var valueAxis = horizontal ? { x: counts } : { y: counts };
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: [{
          label: spec.series,
          data: spec.values,
          backgroundColor: round ? palette : palette[0],
          borderColor: palette[0],
          tension: 0.2
        }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: round } },
        scales: round ? {} : valueAxis
      }
    });
    canvas.setAttribute("data-drawn", "1");
  }
  function drawAll() {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
