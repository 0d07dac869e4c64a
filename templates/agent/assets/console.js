// The call desk's live call (issue 28, point 1): while the phone field is empty, the
// console asks every second whether the telephony system announced a call for this
// agent; one that did fills the caller's number in and says so, without a reload.
// Without scripts the "Check for a call" link does the same by loading the console.
(function () {
  'use strict';
  // A receipt's print button: shown only where a script can print.
  var print = document.querySelector('[data-print]');
  if (print && window.print) {
    print.hidden = false;
    print.addEventListener('click', function () {
      window.print();
    });
  }
})();
(function () {
  'use strict';
  var area = document.getElementById('call-area');
  var phone = document.getElementById('f-phone');
  if (!area || !phone || !window.fetch) {
    return;
  }
  var taken = area.getAttribute('data-taken') || '';
  function show() {
    var notice = document.createElement('p');
    notice.className = 'call';
    notice.id = 'call';
    notice.textContent = taken;
    area.textContent = '';
    area.appendChild(notice);
  }
  function next() {
    window.setTimeout(poll, 1000);
  }
  function poll() {
    if (phone.value.trim() !== '') {
      next();
      return;
    }
    window.fetch('/agent/call', {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) {
        return r.status === 200 ? r.json() : null;
      })
      .then(function (call) {
        if (call && call.caller && phone.value.trim() === '') {
          phone.value = call.caller;
          show();
        }
      })
      .catch(function () {})
      .then(next);
  }
  next();
})();

// The catalogue's questions (issue 29): only the chosen category's group is shown and
// sent; without this script every group shows, each naming its category.
(function () {
  'use strict';
  var category = document.getElementById('f-category');
  var groups = document.querySelectorAll('fieldset.questions');
  if (!category || !groups.length) {
    return;
  }
  function show() {
    Array.prototype.forEach.call(groups, function (group) {
      var chosen = group.getAttribute('data-category') === category.value;
      group.hidden = !chosen;
      group.disabled = !chosen;
    });
  }
  category.addEventListener('change', show);
  show();
})();
