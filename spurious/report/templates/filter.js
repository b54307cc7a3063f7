(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#catalog tbody tr'));
  var sel = {activation: document.getElementById('f-activation'), verdict: document.getElementById('f-verdict'),
             family: document.getElementById('f-family')};
  var search = document.getElementById('f-search'), count = document.getElementById('f-count');
  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    var shown = 0;
    rows.forEach(function (row) {
      var ok = Object.keys(sel).every(function (k) { return !sel[k].value || row.dataset[k] === sel[k].value; });
      var text = row.dataset.text;
      ok = ok && words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + ' of ' + rows.length + ' entries shown';
  }
  Object.keys(sel).forEach(function (k) { sel[k].addEventListener('change', apply); });
  search.addEventListener('input', apply);
  apply();
})();
