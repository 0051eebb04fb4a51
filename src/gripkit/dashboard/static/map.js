/* Hotspot map: fetch GeoJSON from the API, colour units by harm, link each to its detail page. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }
  var status = document.getElementById("map-status");
  var list = document.getElementById("top-list");
  var query = el.dataset.query ? "?" + el.dataset.query : "";
  var map = L.map(el, { preferCanvas: false, zoomSnap: 0.25 });

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* The basemap (server-checked template, docs/dashboard.md "Basemaps"). Leaflet writes attributions
     as HTML, so the plain-text attribution and its link are escaped here. The tiles are asked for
     with a strict-origin Referer (the page itself keeps same-origin): tile servers such as
     OpenStreetMap's refuse requests without one. */
  if (el.dataset.tiles) {
    var credit = esc(el.dataset.tilesAttribution || "");
    if (credit && el.dataset.tilesAttributionUrl) {
      credit = "<a href=\"" + esc(el.dataset.tilesAttributionUrl) + "\" target=\"_blank\" rel=\"noopener\">" +
        credit + "</a>";
    }
    var tiles = L.tileLayer(el.dataset.tiles, {
      maxZoom: 19, attribution: credit, referrerPolicy: "strict-origin",
      subdomains: (el.dataset.tilesSubdomains || "a,b,c").split(",")
    });
    tiles.on("tileload", function () { el.dataset.tilesLoaded = String(+(el.dataset.tilesLoaded || 0) + 1); });
    tiles.on("tileerror", function () { el.dataset.tilesFailed = String(+(el.dataset.tilesFailed || 0) + 1); });
    tiles.addTo(map);
  }
  map.attributionControl.addAttribution("Crime data: police.uk, OGL v3.0");
  map.setView([52.0, -0.45], 10);

  function colour(share) {
    var t = Math.sqrt(Math.max(0, Math.min(1, share)));
    var stops = [[255, 237, 160], [254, 178, 76], [240, 59, 32], [128, 0, 38]];
    var pos = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(pos)), f = pos - i;
    var c = stops[i].map(function (v, k) { return Math.round(v + f * (stops[i + 1][k] - v)); });
    return "rgb(" + c.join(",") + ")";
  }

  /* A "busy" 503 (the server computes too many maps) is retried after its Retry-After seconds
     (1-30, default 2), at most MAX_RETRIES times, counting down in the status line. */
  var MAX_RETRIES = 5;
  function wait(seconds) {
    return new Promise(function (resolve) {
      var left = seconds;
      (function tick() {
        if (left <= 0) { resolve(); return; }
        status.textContent = "Server busy, retrying in " + left + " s\u2026";
        status.classList.add("busy");
        left -= 1;
        setTimeout(tick, 1000);
      }());
    });
  }
  function load(attempt) {
    return fetch(el.dataset.api, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (r.status === 503 && attempt < MAX_RETRIES) {
          var after = parseInt(r.headers.get("Retry-After") || "2", 10);
          after = isNaN(after) ? 2 : Math.max(1, Math.min(30, after));
          el.dataset.retries = String(attempt + 1);
          return wait(after).then(function () { return load(attempt + 1); });
        }
        status.classList.remove("busy");
        if (!r.ok) {
          return r.json().catch(function () { return {}; })
            .then(function (b) { throw new Error(b.detail || r.statusText); });
        }
        return r.json();
      });
  }

  load(0)
    .then(function (data) {
      var maxHarm = data.features.reduce(function (m, f) { return Math.max(m, f.properties.harm); }, 0) || 1;
      var layer = L.geoJSON(data, {
        style: function (f) {
          var strong = f.properties.hot === true || f.properties.harm_rank <= 10;
          return { color: "#1f3a93", weight: strong ? 1.5 : 0.3,
                   fillColor: colour(f.properties.harm / maxHarm), fillOpacity: 0.8 };
        },
        onEachFeature: function (f, lyr) {
          var p = f.properties, href = "/hotspots/" + encodeURIComponent(p.unit_id) + query;
          lyr.bindPopup("<strong>#" + p.harm_rank + " " + esc(p.label || p.unit_id) + "</strong>" +
            (p.label ? " <small>(" + esc(p.unit_id) + ")</small>" : "") + "<br>" + p.crimes +
            " crimes, harm " + p.harm.toFixed(1) +
            (p.gi_z !== undefined && p.gi_z !== null ? "<br>Gi* z " + p.gi_z.toFixed(2) + (p.hot ? " (hot spot)" : "") : "") +
            (p.density !== undefined && p.density !== null ? "<br>density share " + (100 * p.density_share).toFixed(3) + "%" : "") +
            "<br><a class=\"detail-link\" href=\"" + esc(href) +
            "\">Open hotspot</a>");
          if (lyr._path) { lyr._path.setAttribute("data-unit", p.unit_id); }
          lyr.on("add", function () { if (lyr._path) { lyr._path.setAttribute("data-unit", p.unit_id); } });
        }
      }).addTo(map);
      if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
      el.dataset.features = String(data.features.length);
      status.textContent = data.features.length + " units shown (" + (data.meta.unit || "") + ", " +
        (data.meta.months || "") + ", harm table " + (data.meta.harm_table || "") + ").";
      data.features.slice(0, 10).forEach(function (f) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = "/hotspots/" + encodeURIComponent(f.properties.unit_id) + query;
        a.textContent = (f.properties.label ? f.properties.label + ", " + f.properties.unit_id : f.properties.unit_id) +
          " (" + f.properties.crimes + " crimes)";
        li.appendChild(a); list.appendChild(li);
      });
      el.classList.add("loaded");
    })
    .catch(function (err) {
      status.textContent = "Could not load hotspots: " + err.message;
      status.classList.add("error");
      el.dataset.features = "0";
    });
}());
