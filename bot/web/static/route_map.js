/* Route maps (nurse's /rute, head's /rencana): reads the JSON in #map-data and draws each route
   with the vendored Leaflet — numbered stops (divIcons: no image to download) and a line from the
   clinic through the stops in order, fitted to the bounds. Tiles only when the server configured
   them; without tiles (offline, tests, demo) the same drawing sits on a plain background. */
(function () {
  "use strict";
  var box = document.getElementById("map");
  var source = document.getElementById("map-data");
  if (!box || !source || typeof L === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var map = L.map(box, { scrollWheelZoom: false });
  if (data.tiles && data.tiles.url) {
    L.tileLayer(data.tiles.url, { maxZoom: 19, attribution: data.tiles.attribution }).addTo(map);
  } else {
    box.classList.add("no-tiles");
    map.attributionControl.setPrefix(false);
  }
  var start = [data.start.lat, data.start.lon];
  var all = [start];
  L.marker(start, {
    icon: L.divIcon({ className: "map-start", html: "&#9679;", iconSize: [22, 22] }),
    title: data.start.label,
    keyboard: false
  }).addTo(map);
  data.routes.forEach(function (route) {
    var line = [start];
    route.stops.forEach(function (stop) {
      var at = [stop.lat, stop.lon];
      line.push(at);
      all.push(at);
      L.marker(at, {
        icon: L.divIcon({
          className: "map-stop c" + route.colour,
          html: String(stop.n),
          iconSize: [26, 26]
        }),
        title: route.name + " \u00b7 " + stop.label,
        alt: stop.label
      }).addTo(map);
    });
    if (line.length > 1) {
      L.polyline(line, { className: "route-line c" + route.colour, weight: 4, opacity: 0.85 }).addTo(map);
    }
  });
  var bounds = L.latLngBounds(all);
  function fit() {
    map.fitBounds(bounds, { padding: [28, 28], maxZoom: 16, animate: false });
  }
  fit();
  // Turning a phone changes the width: fit again. (A height change is the address bar showing
  // or hiding while scrolling; refitting then would undo the nurse's own zoom.)
  var width = box.clientWidth;
  window.addEventListener("resize", function () {
    if (box.clientWidth !== width) {
      width = box.clientWidth;
      map.invalidateSize();
      fit();
    }
  });
  box.setAttribute("data-ready", String(all.length - 1));
})();
