// Polls a running training's stage and percentage on the model-version list, then reloads
// the page when it ends. A file of its own, not inline, so the Content-Security-Policy needs
// no exception.
(function () {
  var box = document.getElementById("training-run");
  if (!box || box.dataset.inProgress !== "true") return;
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (state) {
        if (!state.in_progress) { window.location.reload(); return; }
        field("bar").value = state.percent;
        field("percent").textContent = state.percent + " %";
        field("stage").textContent = state.stage;
        field("status_label").textContent = state.status_label;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 2000);
})();
