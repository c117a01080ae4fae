// The browser interview page of `triage serve`.
//
// It decides nothing: the service says which question comes next, checks every answer
// (an invalid one comes back as 422 with the problems, shown beside the field) and gives
// the outcome, the note and the sealed record. The page turns what the nurse enters into
// the JSON the API takes and shows what the API answers.
"use strict";

(function () {
  const TOKEN_KEY = "triage.token";
  const TIME_UNITS = ["minutes", "hours", "days", "weeks", "months", "years"];

  const $ = (id) => document.getElementById(id);
  const state = { callId: null, protocol: null, asked: 0, given: [], question: null, record: null };

  // ------------------------------------------------------------------ the API
  class ApiError extends Error {
    constructor(status, body) {
      super(describeError(status, body));
      this.status = status;
      this.body = body;
    }
  }

  // The parsed JSON of the answer (``raw``: with its text, exactly as the service sent it).
  async function api(method, path, body, raw) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, { detail: "the service could not be reached (" + err.message + ")" });
    }
    const text = await response.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      // a non-JSON body (a proxy's error page): shown as text
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return raw ? { data: data, text: text } : data;
  }

  // Every problem the service gave, as lines of text. The service's own errors name the
  // question and the rule; FastAPI's request errors name the field.
  function problems(body) {
    if (body === null || body === undefined) return [];
    if (typeof body === "string") return [body];
    const found = [];
    const lists = [body.errors, body.detail && body.detail.errors, body.detail];
    for (const list of lists) {
      if (Array.isArray(list)) {
        for (const item of list) {
          if (typeof item === "string") found.push(item);
          else if (item && item.message) found.push(String(item.message));
          else if (item && item.msg) found.push(String(item.msg) + (item.loc ? " (" + item.loc.join(".") + ")" : ""));
        }
        if (found.length) return found;
      }
    }
    for (const key of ["detail", "message", "error", "title"]) {
      const value = body[key];
      if (typeof value === "string") return [value];
      if (value && typeof value.message === "string") return [value.message];
    }
    return [JSON.stringify(body)];
  }

  function describeError(status, body) {
    const told = problems(body).join("; ");
    if (status === 401) return "The service refused the token (401): " + (told || "sign in again.");
    if (status === 403) return "This token's role may not do this (403): " + told;
    if (status === 0) return told;
    return told || "The service answered " + status + ".";
  }

  // ------------------------------------------------------------------ showing things
  function show(panel) {
    for (const id of ["token-panel", "protocol-panel", "question-panel", "outcome-panel", "record-panel"]) {
      $(id).hidden = id !== panel;
    }
  }

  function say(text) {
    $("status").textContent = text;
  }

  function setError(id, text, fields) {
    const box = $(id);
    box.textContent = text || "";
    box.hidden = !text;
    for (const field of fields || []) {
      if (text) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    }
  }

  function element(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function fmt(number) {
    return Number.isInteger(number) ? String(number) : String(Number(number.toPrecision(6)));
  }

  // ------------------------------------------------------------------ sign in
  async function useToken(event) {
    event.preventDefault();
    const field = $("token");
    const token = field.value.trim();
    if (!token) {
      setError("token-error", "Enter the bearer token you were given.", [field]);
      field.focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    field.value = "";
    await loadProtocols(true);
    if (sessionStorage.getItem(TOKEN_KEY)) await resumeCall();
  }

  async function loadProtocols(focus) {
    say("Loading the protocols…");
    let data;
    try {
      data = await api("GET", "/v1/protocols");
    } catch (err) {
      say("");
      if (err.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      show("token-panel");
      setError("token-error", err.message, [$("token")]);
      $("token").focus();
      return;
    }
    setError("token-error", "", [$("token")]);
    const list = Array.isArray(data) ? data : data.protocols || [];
    const select = $("protocol");
    select.replaceChildren();
    for (const p of list) {
      const label = (p.title || p.id) + " (" + p.id + ", version " + p.version + (p.status ? ", " + p.status : "") + ")";
      select.append(element("option", { value: p.id, text: label }));
    }
    state.protocols = list;
    say(list.length + " protocols available.");
    show("protocol-panel");
    if (focus) select.focus();
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    say("Signed out.");
    show("token-panel");
    $("token").focus();
  }

  // ------------------------------------------------------------------ the call
  async function startCall(event) {
    event.preventDefault();
    const protocolId = $("protocol").value;
    setError("protocol-error", "", [$("protocol")]);
    let data;
    try {
      data = await api("POST", "/v1/calls", { protocols: [protocolId] });
    } catch (err) {
      setError("protocol-error", err.message, [$("protocol")]);
      $("protocol").focus();
      return;
    }
    openCall(data.id, protocolId);
    say("Call started.");
    advance(data);
  }

  // The call the page is on; its id goes in the address (#call=ID), so a reload, a
  // restored tab or the address sent to a colleague comes back to the same call: every
  // answer is in the service's store, so nothing is asked twice.
  function openCall(callId, protocolId) {
    state.callId = callId;
    state.protocol = (state.protocols || []).find((p) => p.id === protocolId) || { id: protocolId };
    state.asked = 0;
    state.given = [];
    state.record = null;
    $("call-id").textContent = callId;
    $("call-protocol").textContent = state.protocol.title || protocolId;
    history.replaceState(null, "", "#call=" + encodeURIComponent(callId));
  }

  function callInAddress() {
    const found = /^#call=([^&]+)$/.exec(location.hash);
    return found ? decodeURIComponent(found[1]) : null;
  }

  async function resumeCall() {
    const callId = callInAddress();
    if (!callId || !sessionStorage.getItem(TOKEN_KEY)) return;  // kept until signed in
    let data;
    try {
      data = await api("GET", "/v1/calls/" + encodeURIComponent(callId));
    } catch (err) {
      if (err.status === 404) history.replaceState(null, "", location.pathname);
      setError("protocol-error", "Call " + callId + " could not be opened: " + err.message, [$("protocol")]);
      return;
    }
    const protocolId = data.protocols && data.protocols.length ? data.protocols[0].id : "";
    openCall(callId, protocolId);
    if (data.closed) {
      try {
        showRecord(await api("GET", "/v1/calls/" + encodeURIComponent(callId) + "/record", undefined, true));
      } catch (err) {
        setError("protocol-error", "The record of call " + callId + " could not be loaded: " + err.message, [$("protocol")]);
      }
      say("Call " + callId + " is closed: its sealed record.");
      return;
    }
    say("Call " + callId + " continued where it was: the answers given are kept by the service.");
    advance(data);
  }

  // Whatever the service answered: the next question, or the outcome.
  function advance(data) {
    const result = data.result || null;
    if (data.next_question && data.status !== "complete") {
      askQuestion(data.next_question);
    } else if (result || data.status === "complete") {
      showOutcome(result || data);
    } else {
      say("The service gave neither a question nor an outcome (status " + data.status + ").");
    }
  }

  function askQuestion(q) {
    state.question = q;
    state.asked += 1;
    $("question-number").textContent = String(state.asked);
    $("answer-form").dataset.question = q.id;
    $("answer-form").dataset.type = q.type;
    const fields = $("answer-fields");
    const actions = $("answer-actions");
    fields.replaceChildren();
    actions.replaceChildren();
    setError("answer-error", "", []);
    const promptText = q.text || q.prompt || q.id;
    const helpId = "answer-help";
    const helpParts = [];
    if (q.help) helpParts.push(q.help);
    const type = q.type;

    if (type === "yes/no") {
      fields.append(element("p", { id: "answer-prompt", class: "prompt", text: promptText }));
      actions.append(
        element("button", { type: "button", class: "answer", "data-value": "true", "aria-describedby": "answer-prompt", text: "Yes" }),
        element("button", { type: "button", class: "answer", "data-value": "false", "aria-describedby": "answer-prompt", text: "No" }),
      );
    } else if (type === "choice") {
      const fieldset = element("fieldset", { "aria-describedby": "answer-error" }, [
        element("legend", { class: "prompt", text: promptText }),
      ]);
      (q.options || []).forEach((option, i) => {
        const id = "option-" + i;
        const input = element("input", { type: "radio", name: "choice", id: id, value: option.id });
        if (i === 0) input.checked = true;
        fieldset.append(element("div", { class: "option" }, [input, element("label", { for: id, text: option.label || option.id })]));
      });
      fields.append(fieldset);
      actions.append(element("button", { type: "submit", text: "Next" }));
    } else if (type === "age" || type === "duration") {
      if (q.range_text) helpParts.push("Between " + q.range_text + ".");
      fields.append(
        element("label", { for: "answer-amount", class: "prompt", text: promptText }),
        element("div", { class: "with-unit" }, [
          element("input", {
            id: "answer-amount", type: "text", inputmode: "decimal", autocomplete: "off",
            "aria-describedby": helpId + " answer-error",
          }),
          element("label", { for: "answer-unit", class: "unit-label", text: "Unit" }),
          unitSelect(type === "age" ? "years" : "hours"),
        ]),
      );
      actions.append(element("button", { type: "submit", text: "Next" }));
    } else {
      // number, whole number (and any type this page does not know: typed as text)
      const range = Array.isArray(q.range) ? q.range : null;
      if (range) helpParts.push("From " + fmt(range[0]) + " to " + fmt(range[1]) + (q.unit ? " " + q.unit : "") + ".");
      if (type === "whole number") helpParts.push("A whole number.");
      if (weeksAndDays(q, "0+0") !== null) helpParts.push("Weeks and days may be typed as in 36+6.");
      const input = element("input", {
        id: "answer-value", type: "text", inputmode: type === "whole number" ? "numeric" : "decimal",
        autocomplete: "off", "aria-describedby": helpId + " answer-error",
      });
      const row = element("div", { class: "with-unit" }, [input]);
      if (q.unit) row.append(element("span", { class: "unit", text: q.unit }));
      fields.append(element("label", { for: "answer-value", class: "prompt", text: promptText }), row);
      actions.append(element("button", { type: "submit", text: "Next" }));
    }
    if (q.unknown_allowed) {
      actions.append(element("button", { type: "button", class: "answer secondary", "data-value": "unknown", text: "Don't know" }));
    }
    fields.append(element("p", { id: helpId, class: "help", text: helpParts.join(" ") }));
    renderGiven();
    show("question-panel");
    const first = fields.querySelector("input:checked, input, select") || actions.querySelector("button");
    first.focus();
  }

  function unitSelect(preferred) {
    const select = element("select", { id: "answer-unit" });
    for (const unit of TIME_UNITS) {
      const option = element("option", { value: unit, text: unit });
      if (unit === preferred) option.selected = true;
      select.append(option);
    }
    return select;
  }

  // What was typed, as the JSON the API takes. A number is sent as a number when it reads
  // as one, otherwise as the text typed, so the service names the problem.
  function typedNumber(text) {
    const trimmed = text.trim();
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return Number(trimmed);
    return trimmed;
  }

  // Gestational age as maternity notes write it, on a number question in weeks: 36+6 is
  // 36 weeks and 6 days, sent as 36 + 6/7 (never rounded up to 37), as `triage run` reads it.
  function weeksAndDays(q, text) {
    if (q.type !== "number" || String(q.unit || "").trim().toLowerCase() !== "weeks") return null;
    const found = /^(\d{1,2}) ?\+ ?(\d+)$/.exec(text.trim());
    if (!found || Number(found[2]) > 6) return null;
    return Number(found[1]) + Number(found[2]) / 7;
  }

  function answerValue(q) {
    if (q.type === "choice") {
      const checked = document.querySelector('input[name="choice"]:checked');
      return checked ? checked.value : null;
    }
    if (q.type === "age" || q.type === "duration") {
      return { value: typedNumber($("answer-amount").value), unit: $("answer-unit").value };
    }
    const weeks = weeksAndDays(q, $("answer-value").value);
    return weeks === null ? typedNumber($("answer-value").value) : weeks;
  }

  function shownValue(value) {
    if (value === true) return "yes";
    if (value === false) return "no";
    if (value === "unknown") return "don't know";
    if (value && typeof value === "object") return value.value + " " + value.unit;
    const q = state.question;
    if (q && q.type === "choice") {
      const option = (q.options || []).find((o) => o.id === value);
      if (option) return option.label || option.id;
    }
    return String(value);
  }

  async function sendAnswer(value) {
    const q = state.question;
    const fieldList = Array.from($("answer-fields").querySelectorAll("input, select"));
    setError("answer-error", "", fieldList);
    for (const button of $("answer-actions").querySelectorAll("button")) button.disabled = true;
    let data;
    try {
      data = await api("POST", "/v1/calls/" + encodeURIComponent(state.callId) + "/answers", {
        answers: { [q.id]: value },
      });
    } catch (err) {
      for (const button of $("answer-actions").querySelectorAll("button")) button.disabled = false;
      const text = err.status === 422 ? "Not accepted: " + err.message : err.message;
      setError("answer-error", text, fieldList);
      const target = fieldList.find((f) => f.type !== "radio" || f.checked) || $("answer-actions").querySelector("button");
      target.focus();
      say("The answer was not accepted; nothing was stored.");
      return;
    }
    state.given.push({ prompt: q.text || q.prompt || q.id, value: shownValue(value) });
    say("Answer stored.");
    advance(data);
  }

  function onAnswerSubmit(event) {
    event.preventDefault();
    if (state.question) sendAnswer(answerValue(state.question));
  }

  function onAnswerButton(event) {
    const button = event.target.closest("button[data-value]");
    if (!button) return;
    const raw = button.getAttribute("data-value");
    sendAnswer(raw === "true" ? true : raw === "false" ? false : raw);
  }

  function renderGiven() {
    const list = $("given-list");
    list.replaceChildren();
    for (const item of state.given) {
      list.append(element("dt", { text: item.prompt }), element("dd", { text: item.value }));
    }
    $("given").hidden = state.given.length === 0;
  }

  // ------------------------------------------------------------------ the outcome
  function showOutcome(result) {
    state.question = null;
    state.result = result;
    const box = $("outcome");
    box.replaceChildren();
    const d = result.disposition;
    const u = result.urgency;
    const overrides = result.overrides || [];
    const inEffect = overrides.length ? overrides[overrides.length - 1] : null;

    const facts = element("dl", { class: "facts" });
    const fact = (term, value) => {
      if (value === null || value === undefined || value === "") return;
      facts.append(element("dt", { text: term }), element("dd", { text: String(value) }));
    };
    fact("Disposition", d ? d.label + " (" + d.id + ")" : "none: " + (result.error || result.status));
    fact("Urgency tier", u ? u.label + " (" + u.tier + ")" : null);
    fact("Time frame", u ? u.time_frame || "none given" : null);
    if (inEffect) {
      fact("Overridden to", inEffect.disposition.label + " (" + inEffect.disposition.id + ") by " + inEffect.by +
        (inEffect.reason ? ": " + inEffect.reason : "") + " [" + inEffect.direction + "]");
    }
    if (result.decided_by) fact("Why", result.decided_by.explanation);
    if (result.raised_by) fact("Raised by", result.raised_by.explanation);
    box.append(facts);

    if (result.assumptions && result.assumptions.length) {
      box.append(element("h3", { text: "Assumed (answers that could not decide)" }));
      box.append(element("ul", {}, result.assumptions.map((a) => element("li", { text: a.reason }))));
    }
    const advice = (inEffect ? inEffect.disposition : d || {}).care_advice || [];
    box.append(element("h3", { text: "Advice for the caller" }));
    box.append(advice.length ? element("ul", { class: "advice" }, advice.map((a) => element("li", { text: a })))
      : element("p", { text: "No care advice in the protocol for this disposition." }));

    const plan = inEffect ? inEffect.escalation : result.escalation;
    box.append(element("h3", { text: "Escalation" }));
    if (plan) {
      const steps = element("ol", { class: "escalation" });
      for (const step of plan.steps) {
        let text = step.kind === "notify"
          ? "Notify " + (step.role || "") + (step.channel ? " by " + step.channel : "") +
            (step.wait_minutes !== null && step.wait_minutes !== undefined ? "; wait " + fmt(step.wait_minutes) + " min" : "") +
            (step.retries ? "; retry " + step.retries + "×" + (step.retry_every_minutes ? " every " + fmt(step.retry_every_minutes) + " min" : "") : "")
          : "Tell the caller: " + (step.text || "");
        steps.append(element("li", { text: text }));
      }
      box.append(steps, element("p", { text: "If every step fails: " + plan.fallback }));
    } else {
      box.append(element("p", { text: "No escalation plan for this outcome." }));
    }

    box.append(element("h3", { text: "Triage note" }));
    const note = element("pre", { id: "note", class: "note", tabindex: "0", "aria-label": "Triage note" });
    note.textContent = result.note || "";
    box.append(note);
    if (!result.note) loadNote(note);

    const options = $("override-dispositions");
    options.replaceChildren();
    const known = (state.protocol && state.protocol.dispositions) || [];
    for (const item of known) {
      const id = typeof item === "string" ? item : item.id;
      const label = typeof item === "string" ? id : (item.label || id) + (item.tier ? " (tier " + item.tier + ")" : "");
      options.append(element("option", { value: id, text: label }));
    }
    $("override-help").textContent = known.length
      ? "One of the protocol's dispositions."
      : "A disposition id of the protocol; the service refuses any other.";
    show("outcome-panel");
    $("outcome-heading").focus();
    say("Outcome reached: " + (d ? d.label : result.status) + ".");
  }

  async function loadNote(target) {
    try {
      const response = await fetch("/v1/calls/" + encodeURIComponent(state.callId) + "/note?format=text", {
        headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) },
        cache: "no-store",
      });
      target.textContent = response.ok ? await response.text() : "(the note could not be loaded: " + response.status + ")";
    } catch (err) {
      target.textContent = "(the note could not be loaded)";
    }
  }

  async function override(event) {
    event.preventDefault();
    const fields = [$("override-disposition"), $("override-by"), $("override-reason")];
    setError("override-error", "", fields);
    let data;
    try {
      data = await api("POST", "/v1/calls/" + encodeURIComponent(state.callId) + "/override", {
        disposition: fields[0].value.trim(),
        by: fields[1].value.trim(),
        reason: fields[2].value.trim(),
      });
    } catch (err) {
      setError("override-error", err.message, fields);
      fields[0].focus();
      return;
    }
    for (const f of fields) f.value = "";
    showOutcome(data.result || data);
    say("Override recorded.");
  }

  async function closeCall() {
    setError("close-error", "", []);
    let sealed;
    try {
      sealed = await api("POST", "/v1/calls/" + encodeURIComponent(state.callId) + "/close", undefined, true);
    } catch (err) {
      setError("close-error", err.message, []);
      $("close-call").focus();
      return;
    }
    showRecord(sealed);
    say("Call closed; the record is sealed.");
  }

  function showRecord(sealed) {
    // The download is the service's text byte for byte: parsing and writing the JSON
    // again here would change numbers (1.0 -> 1), and the record's hashes with them.
    const record = sealed.data;
    state.record = record;
    const summary = $("record-summary");
    summary.replaceChildren();
    const item = (term, value) => {
      if (value) summary.append(element("dt", { text: term }), element("dd", { text: String(value) }));
    };
    item("Call", state.callId);
    item("Protocol", record.protocol ? record.protocol.id + " " + record.protocol.version : null);
    item("Disposition", record.disposition ? record.disposition.label : null);
    item("Sealed at", record.sealed_at);
    item("Chain head", record.seal ? record.seal.head : null);
    $("record-json").textContent = JSON.stringify(record, null, 2);
    const link = $("record-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([sealed.text], { type: "application/json" }));
    link.download = "record-" + state.callId + ".json";
    show("record-panel");
    $("record-heading").focus();
  }

  function newCall() {
    state.callId = null;
    history.replaceState(null, "", location.pathname);
    show("protocol-panel");
    $("protocol").focus();
  }

  // ------------------------------------------------------------------ start
  function start() {
    $("token-form").addEventListener("submit", useToken);
    $("protocol-form").addEventListener("submit", startCall);
    $("sign-out").addEventListener("click", signOut);
    $("answer-form").addEventListener("submit", onAnswerSubmit);
    $("answer-actions").addEventListener("click", onAnswerButton);
    $("override-form").addEventListener("submit", override);
    $("close-call").addEventListener("click", closeCall);
    $("new-call").addEventListener("click", newCall);
    if (sessionStorage.getItem(TOKEN_KEY)) loadProtocols(false).then(resumeCall);
    else show("token-panel");
  }

  document.addEventListener("DOMContentLoaded", start);
})();
