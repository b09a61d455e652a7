// The chat playground: streams answers from this server's /v1/chat/completions, one column per model.
// Model text is only ever set as textContent, never parsed as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  let columns = [];
  let running = [];

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chosenModels() {
    const models = [$("model").value];
    const second = $("model-b").value;
    if (second) models.push(second);
    return models.filter((name) => name);
  }

  function syncColumns() {
    const wanted = chosenModels();
    const same = columns.length === wanted.length && columns.every((column, i) => column.model === wanted[i]);
    if (same) return;
    const container = $("columns");
    container.replaceChildren();
    columns = wanted.map((model) => {
      const box = element("section", "column");
      box.dataset.model = model;
      box.append(element("h3", "", model));
      container.append(box);
      return { model, messages: [], box };
    });
  }

  function settings() {
    const body = { temperature: Number($("temperature").value), max_tokens: Number($("max-tokens").value) };
    if ($("seed").value !== "") body.seed = Number($("seed").value);
    const schemaText = $("schema").value.trim();
    if (schemaText) {
      body.response_format = { type: "json_schema", json_schema: { name: "answer", schema: JSON.parse(schemaText) } };
    }
    return body;
  }

  function statsText(result) {
    if (result.error) return `error: ${result.error}`;
    const parts = [];
    if (result.usage) {
      parts.push(`${result.usage.prompt_tokens} prompt + ${result.usage.completion_tokens} completion tokens`);
    } else {
      parts.push(`~${result.pieces} tokens`);
    }
    const tokens = result.usage ? result.usage.completion_tokens : result.pieces;
    const decodeSeconds = (result.end - (result.first ?? result.end)) / 1000;
    if (tokens > 1 && decodeSeconds > 0) parts.push(`${((tokens - 1) / decodeSeconds).toFixed(1)} tok/s`);
    if (result.first !== null) parts.push(`first token ${((result.first - result.start) / 1000).toFixed(2)} s`);
    parts.push(result.stopped ? "stopped" : `finish: ${result.finish ?? "?"}`);
    return parts.join(" · ");
  }

  async function stream(column, body, controller) {
    const bubble = element("div", "message assistant");
    const text = element("span", "text");
    const stats = element("span", "stats", "waiting…");
    bubble.append(text, stats);
    column.box.append(bubble);
    const result = { start: performance.now(), first: null, end: null, pieces: 0, usage: null, finish: null,
                     stopped: false, error: null };
    try {
      const response = await fetch("/v1/chat/completions", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf() },
        body: JSON.stringify({ ...body, model: column.model, messages: column.messages, stream: true,
                               stream_options: { include_usage: true } }),
        signal: controller.signal,
      });
      if (!response.ok) {
        let message = `HTTP ${response.status}`;
        try { message = (await response.json()).error.message; } catch (ignored) { /* not JSON */ }
        throw new Error(message);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const payload = line.slice(6);
            if (payload === "[DONE]") continue;
            const chunk = JSON.parse(payload);
            if (chunk.error) throw new Error(chunk.error.message);
            if (chunk.usage) result.usage = chunk.usage;
            const choice = chunk.choices && chunk.choices[0];
            if (!choice) continue;
            if (choice.delta && choice.delta.content) {
              if (result.first === null) result.first = performance.now();
              result.pieces += 1;
              text.textContent += choice.delta.content;
            }
            if (choice.finish_reason) result.finish = choice.finish_reason;
          }
        }
        stats.textContent = `${result.pieces} tokens…`;
      }
    } catch (error) {
      if (error.name === "AbortError") result.stopped = true;
      else { result.error = error.message; bubble.classList.add("failed"); }
    }
    result.end = performance.now();
    stats.textContent = statsText(result);
    bubble.dataset.state = result.error ? "failed" : result.stopped ? "stopped" : "done";
    column.messages.push({ role: "assistant", content: text.textContent });
    column.results = [...(column.results || []), { model: column.model, usage: result.usage, finish: result.finish,
      stopped: result.stopped, error: result.error, stats: stats.textContent }];
  }

  async function send(event) {
    event.preventDefault();
    const prompt = $("prompt").value;
    if (!prompt.trim() || running.length) return;
    $("chat-error").textContent = "";
    let body;
    try { body = settings(); } catch (error) {
      $("chat-error").textContent = `The JSON schema is not valid JSON: ${error.message}`;
      return;
    }
    syncColumns();
    const system = $("system").value.trim();
    for (const column of columns) {
      if (system && !column.messages.length) column.messages.push({ role: "system", content: system });
      column.messages.push({ role: "user", content: prompt });
      column.box.append(element("div", "message user", prompt));
    }
    $("prompt").value = "";
    $("send").disabled = true;
    $("stop").disabled = false;
    running = columns.map(() => new AbortController());
    await Promise.all(columns.map((column, i) => stream(column, body, running[i])));
    running = [];
    $("send").disabled = false;
    $("stop").disabled = true;
  }

  function stop() {
    for (const controller of running) controller.abort();
  }

  function exportConversation() {
    const data = {
      exported_at: new Date().toISOString(),
      settings: { ...(() => { try { return settings(); } catch (e) { return {}; } })(), system: $("system").value },
      conversations: columns.map((c) => ({ model: c.model, messages: c.messages, answers: c.results || [] })),
    };
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const link = element("a");
    link.href = URL.createObjectURL(blob);
    link.download = `uptake-chat-${data.exported_at.replace(/[:.]/g, "-")}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  function clear() {
    if (running.length) return;
    columns = [];
    syncColumns();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("prompt-form")) return;
    syncColumns();
    $("model").addEventListener("change", () => { if (!running.length) { columns = []; syncColumns(); } });
    $("model-b").addEventListener("change", () => { if (!running.length) { columns = []; syncColumns(); } });
    $("prompt-form").addEventListener("submit", send);
    $("prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("prompt-form").requestSubmit(); }
    });
    $("stop").addEventListener("click", stop);
    $("export").addEventListener("click", exportConversation);
    $("clear").addEventListener("click", clear);
  });
})();
