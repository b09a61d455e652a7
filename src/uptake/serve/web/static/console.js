// Live server status in the header (and on the status page): the numbers of /metrics, polled every 2 s.
// Tokens per second are the completion tokens generated between two polls, divided by the time between them.
"use strict";
(function () {
  const STATUS_URL = "/ui/api/status";
  const INTERVAL_MS = 2000;
  let previous = null;

  function rates(data) {
    const result = {};
    for (const model of data.models) {
      const before = previous && previous.models.find((m) => m.name === model.name);
      const seconds = previous ? data.time - previous.time : 0;
      result[model.name] = before && seconds > 0 ? (model.completion_tokens - before.completion_tokens) / seconds : null;
    }
    return result;
  }

  function show(data) {
    const perModel = rates(data);
    const header = document.getElementById("live-status");
    let waiting = 0, active = 0, parallel = 0, rate = 0;
    for (const model of data.models) {
      waiting += model.waiting; active += model.active; parallel += model.parallel;
      rate += perModel[model.name] || 0;
    }
    if (header) {
      header.textContent = data.state === "ok"
        ? `queue ${waiting} · busy ${active}/${parallel} · ${rate.toFixed(1)} tok/s`
        : `server ${data.state}`;
    }
    const state = document.getElementById("server-state");
    if (state) state.textContent = data.state;
    for (const model of data.models) {
      const row = document.querySelector(`tr[data-model="${CSS.escape(model.name)}"]`);
      if (!row) continue;
      const set = (field, text) => { const cell = row.querySelector(`[data-field="${field}"]`); if (cell) cell.textContent = text; };
      set("waiting", String(model.waiting));
      set("busy", `${model.active}/${model.parallel}`);
      set("rate", perModel[model.name] === null ? "–" : perModel[model.name].toFixed(1));
      set("mean_decode", model.mean_decode_tokens_per_s === null ? "–" : model.mean_decode_tokens_per_s.toFixed(1));
      set("prompt_tokens", String(Math.round(model.prompt_tokens)));
      set("completion_tokens", String(Math.round(model.completion_tokens)));
      set("cancelled", String(model.cancelled));
    }
    previous = data;
  }

  async function poll() {
    try {
      const response = await fetch(STATUS_URL, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) show(await response.json());
    } catch (error) {
      const header = document.getElementById("live-status");
      if (header) header.textContent = "server unreachable";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    poll();
    window.setInterval(poll, INTERVAL_MS);
  });
})();
