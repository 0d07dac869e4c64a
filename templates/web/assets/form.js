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
  var photos = document.getElementById("f-photos");
  var chosen = document.getElementById("photos-chosen");
  if (photos && chosen) {
    photos.addEventListener("change", function () {
      var n = photos.files ? photos.files.length : 0;
      chosen.textContent = n ? chosen.dataset.label + " " + n : "";
    });
  }
})();
