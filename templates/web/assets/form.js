// Progressive enhancements of the citizen forms. Every form works without this file:
// the address field is always there, and the photo picker is a plain file input.
(function () {
  "use strict";
  var geo = document.getElementById("geo");
  var button = document.getElementById("geo-button");
  var status = document.getElementById("geo-status");
  var lat = document.getElementById("f-lat");
  var lon = document.getElementById("f-lon");
  if (geo && button && status && lat && lon && "geolocation" in navigator) {
    geo.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = status.dataset.busy;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          lat.value = position.coords.latitude.toFixed(6);
          lon.value = position.coords.longitude.toFixed(6);
          status.textContent = status.dataset.ok;
        },
        function () {
          status.textContent = status.dataset.denied;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
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
  var photos = document.getElementById("f-photos");
  var chosen = document.getElementById("photos-chosen");
  if (photos && chosen) {
    photos.addEventListener("change", function () {
      var n = photos.files ? photos.files.length : 0;
      chosen.textContent = n ? chosen.dataset.label + " " + n : "";
    });
  }
})();
