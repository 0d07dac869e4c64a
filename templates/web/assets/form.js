// Progressive enhancements of the citizen forms. Every form works without this file:
// the address field is always there, and the photo picker is a plain file input.
(function () {
  "use strict";
  var geo = document.getElementById("geo");
  var button = document.getElementById("geo-button");
  var status = document.getElementById("geo-status");
  var lat = document.getElementById("f-lat");
  var lon = document.getElementById("f-lon");
  // The map's pin (below), moved by "use my location" too when there is a map.
  var pinAt = null;
  if (geo && button && status && lat && lon && "geolocation" in navigator) {
    geo.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = status.dataset.busy;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          // Four decimals, about 10 m: where the problem is, no more (regulation 6.7).
          lat.value = position.coords.latitude.toFixed(4);
          lon.value = position.coords.longitude.toFixed(4);
          status.textContent =
            status.dataset.ok + " " + lat.value + ", " + lon.value + " " + status.dataset.after;
          if (pinAt) {
            pinAt(position.coords.latitude, position.coords.longitude, false);
          }
        },
        function () {
          status.textContent = status.dataset.denied;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }
  // The map (only when the city names a tile server, see `web_form::map`): a tap drops
  // the pin and fills the same coordinates as "use my location", four decimals.
  var mapBox = document.getElementById("map");
  var mapStatus = document.getElementById("map-status");
  if (mapBox && mapStatus && lat && lon && window.L) {
    document.getElementById("map-field").hidden = false;
    var known = lat.value && lon.value;
    var centre = known ? [parseFloat(lat.value), parseFloat(lon.value)] : [43.2383, 76.9456];
    var map = window.L.map(mapBox, { center: centre, zoom: known ? 16 : 12 });
    window.L.tileLayer(mapBox.dataset.tiles, {
      maxZoom: 19,
      attribution: mapBox.dataset.attribution || ""
    }).addTo(map);
    var pin = null;
    pinAt = function (latitude, longitude, say) {
      lat.value = latitude.toFixed(4);
      lon.value = longitude.toFixed(4);
      var point = [latitude, longitude];
      if (pin) {
        pin.setLatLng(point);
      } else {
        pin = window.L.circleMarker(point, {
          radius: 10, color: "#b00020", weight: 3, fillOpacity: 0.5
        }).addTo(map);
      }
      map.panTo(point);
      if (say) {
        mapStatus.textContent =
          mapStatus.dataset.ok + " " + lat.value + ", " + lon.value + " " + mapStatus.dataset.after;
      }
    };
    if (known) {
      pinAt(centre[0], centre[1], true);
    }
    map.on("click", function (event) {
      pinAt(event.latlng.lat, event.latlng.lng, true);
    });
  }
  // The catalogue's questions (issue 29): only the chosen category's group is shown
  // (and sent); without this file every group shows, each naming its category.
  var category = document.getElementById("f-category");
  var groups = document.querySelectorAll("fieldset.questions");
  if (category && groups.length) {
    var showGroup = function () {
      Array.prototype.forEach.call(groups, function (group) {
        var chosen = group.getAttribute("data-category") === category.value;
        group.hidden = !chosen;
        group.disabled = !chosen;
      });
    };
    category.addEventListener("change", showGroup);
    showGroup();
  }
  // The error summary's links (GOV.UK's pattern): the field gets the focus and its
  // label, or its group's legend, is brought into view with it.
  var summary = document.getElementById("errors");
  if (summary) {
    summary.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
      var field = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
      if (!field) {
        return;
      }
      event.preventDefault();
      var label = document.querySelector("label[for='" + field.id + "']");
      var group = field.closest ? field.closest("fieldset") : null;
      var legend = group ? group.querySelector("legend") : null;
      var shown = field.type === "checkbox" || !label ? (legend || label || field) : label;
      shown.scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }
  // What was sent, for the confirmation page's summary (issue 28, point 3): the place
  // and the first words stay in this tab (sessionStorage), never in an address or on
  // the server, and the confirmation shows them once.
  var form = document.querySelector("form[method=post]");
  var text = document.getElementById("f-text");
  if (form && text && window.sessionStorage) {
    form.addEventListener("submit", function () {
      var address = document.getElementById("f-address");
      var place = address && address.value.trim() ? address.value.trim() : "";
      if (!place && lat && lon && lat.value && lon.value) {
        place = lat.value + ", " + lon.value;
      }
      var words = text.value.trim().split(/\s+/);
      var first = words.slice(0, 8).join(" ") + (words.length > 8 ? "…" : "");
      try {
        window.sessionStorage.setItem("oa-sent", JSON.stringify({ place: place, words: first }));
      } catch (e) {}
    });
  }
  var sentPlace = document.getElementById("sent-place");
  var sentWords = document.getElementById("sent-words");
  if (sentPlace && sentWords && window.sessionStorage) {
    var kept = null;
    try {
      kept = JSON.parse(window.sessionStorage.getItem("oa-sent") || "null");
      window.sessionStorage.removeItem("oa-sent");
    } catch (e) {}
    if (kept) {
      [[sentPlace, kept.place], [sentWords, kept.words]].forEach(function (pair) {
        if (pair[1]) {
          pair[0].textContent = pair[1];
          pair[0].hidden = false;
          pair[0].previousElementSibling.hidden = false;
        }
      });
    }
  }
  var print = document.querySelector("[data-print]");
  if (print && window.print) {
    print.hidden = false;
    print.addEventListener("click", function () {
      window.print();
    });
  }
  var photos = document.getElementById("f-photos");
  var chosen = document.getElementById("photos-chosen");
  if (photos && chosen) {
    photos.addEventListener("change", function () {
      var n = photos.files ? photos.files.length : 0;
      chosen.textContent = n ? chosen.dataset.label + " " + n : "";
    });
  }
})();
