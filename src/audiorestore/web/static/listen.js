// audiorestore listening page: plain JavaScript, no build step.
// The server holds all state; this script only shows the listener's next step and posts each answer.
"use strict";

const app = document.getElementById("app");
const STORE_KEY = "audiorestore.listener";
let listener = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(method, path, body) {
  const init = {method, credentials: "same-origin", headers: {}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let data = {};
  try { data = await r.json(); } catch (e) { data = {error: r.statusText}; }
  if (!r.ok) {
    const err = new Error(data.error || r.statusText);
    err.status = r.status;
    throw err;
  }
  return data;
}

function rememberListener(id) {
  listener = id;
  localStorage.setItem(STORE_KEY, id);
  const url = new URL(window.location.href);
  url.searchParams.set("listener", id);
  history.replaceState(null, "", url.pathname + url.search);
}

function audioPlayer(src, onEnded, onPlay) {
  const a = el("audio", {controls: true, preload: "auto", src});
  if (onEnded) a.addEventListener("ended", onEnded);
  if (onPlay) a.addEventListener("play", onPlay);
  // one clip at a time
  a.addEventListener("play", () => document.querySelectorAll("audio").forEach((o) => { if (o !== a) o.pause(); }));
  return a;
}

function progress(state) {
  const bar = document.getElementById("progress");
  bar.hidden = !state.qualified;
  const done = state.answered;
  document.getElementById("progress-bar").style.width = `${(100 * done) / Math.max(state.total, 1)}%`;
  document.getElementById("progress-text").textContent = `${done} of ${state.total} answered`;
}

function scaleList(scale) {
  // labels are best first; values run high..low for five-point scales
  return el("ul", {class: "note"}, ...scale.labels.map((label, i) =>
    el("li", {text: scale.high === 5 ? `${5 - i}: ${label}` : `${100 - 20 * (i + 1)}-${100 - 20 * i}: ${label}`})));
}

// ------------------------------------------------------------------------ training + qualification
function renderTraining(state) {
  const t = state.training;
  let choice = null;
  const check = el("button", {id: "check", disabled: true, text: "Check my answer"});
  const feedback = el("p", {id: "feedback"});
  const options = t.options.map((o) => el("label", {class: "choice"},
    el("input", {type: "radio", name: "worse", value: o.id, onchange: () => { choice = o.id; check.disabled = false; }}),
    el("span", {text: ` Clip ${o.label} `}), audioPlayer(o.audio)));
  check.addEventListener("click", async () => {
    check.disabled = true;
    try {
      const r = await api("POST", `/api/listeners/${listener}/qualification`, {answer: choice});
      if (r.passed) { load(); return; }
      feedback.className = "wrong";
      feedback.textContent = "Not quite: listen to both clips again, with headphones, and choose the one that sounds worse.";
      check.disabled = false;
    } catch (e) { showError(e.message); check.disabled = false; }
  });
  app.replaceChildren(
    el("h2", {text: "Before you start"}),
    el("p", {text: "Please use headphones in a quiet room and keep the volume at one comfortable level for the whole test. " +
                   "You will hear short recordings and rate them; which system made a recording is never shown."}),
    el("p", {text: "The scale" + (state.scales.length > 1 ? "s" : "") + ":"}),
    ...state.scales.map((s) => el("div", {}, el("b", {text: s.prompt}), scaleList(s))),
    el("h2", {text: "The ends of the scale"}),
    el("div", {class: "clip"}, el("p", {text: "About the best quality you will hear in this test:"}), audioPlayer(t.best)),
    el("div", {class: "clip"}, el("p", {text: "About the worst quality you will hear in this test:"}), audioPlayer(t.worst)),
    el("h2", {text: "A short check"}),
    el("p", {text: "Which of these two clips sounds worse?"}),
    ...options, check, feedback);
}

// ------------------------------------------------------------------------ ACR and P.835
function renderCategoryTrial(state) {
  const trial = state.trial;
  const stim = trial.stimuli[0];
  const submit = el("button", {id: "submit", disabled: true, text: "Submit and continue"});
  const answers = {};
  const radios = [];
  const ready = () => { submit.disabled = !state.scales.every((s) => answers[s.key] !== undefined) || !heard; };
  let heard = false;
  const player = audioPlayer(stim.audio, () => { heard = true; radios.forEach((r) => { r.disabled = false; }); ready(); });
  const groups = state.scales.map((s) => el("fieldset", {"data-scale": s.key}, el("legend", {text: s.prompt}),
    ...s.labels.map((label, i) => {
      const value = s.high - i;
      const input = el("input", {type: "radio", name: s.key, value: String(value), disabled: true,
                                 onchange: () => { answers[s.key] = value; ready(); }});
      radios.push(input);
      return el("label", {class: "choice"}, input, el("span", {text: ` ${value}  ${label}`}));
    })));
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    const body = state.protocol === "acr" ? {rating: answers.acr} : answers;
    await post(trial.index, body, submit);
  });
  app.replaceChildren(
    el("h2", {text: `Clip ${trial.number} of ${state.total}`}),
    el("p", {class: "note", text: "Listen to the whole clip, then rate it."}),
    el("div", {class: "clip"}, player), ...groups, submit);
}

// ------------------------------------------------------------------------ MUSHRA
function renderMushra(state) {
  const trial = state.trial;
  const played = new Set();
  const scores = {};
  const submit = el("button", {id: "submit", disabled: true, text: "Submit and continue"});
  const ready = () => { submit.disabled = played.size < trial.stimuli.length; };
  const rows = trial.stimuli.map((s) => {
    scores[s.id] = 0;
    const out = el("span", {class: "score", text: "0"});
    const slider = el("input", {type: "range", min: "0", max: "100", step: "1", value: "0", "data-stimulus": s.id,
                                "aria-label": `score of clip ${s.label}`,
                                oninput: (ev) => { scores[s.id] = Number(ev.target.value); out.textContent = ev.target.value; }});
    return el("tr", {}, el("td", {}, el("b", {text: s.label})),
      el("td", {}, audioPlayer(s.audio, null, () => { played.add(s.id); ready(); })), el("td", {}, slider, out));
  });
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    await post(trial.index, {scores}, submit);
  });
  app.replaceChildren(
    el("h2", {text: `Trial ${trial.number} of ${state.total}`}),
    el("p", {class: "note", text: "Compare every clip with the reference and score it from 0 (bad) to 100 (excellent). " +
                                  "One of the clips is the reference itself; play every clip before continuing."}),
    el("div", {class: "clip ref"}, el("b", {text: "Reference"}), audioPlayer(trial.reference)),
    el("p", {class: "bands", text: "80-100 Excellent · 60-80 Good · 40-60 Fair · 20-40 Poor · 0-20 Bad"}),
    el("table", {class: "mushra"}, el("tbody", {}, ...rows)), submit);
}

// ------------------------------------------------------------------------ flow
async function post(index, body, button) {
  try {
    const state = await api("POST", `/api/listeners/${listener}/trials/${index}`, body);
    showError("");
    render(state);
  } catch (e) {
    showError(e.message);
    if (e.status === 409) load(); else button.disabled = false;
  }
}

function render(state) {
  document.getElementById("title").textContent = state.title;
  progress(state);
  window.scrollTo(0, 0);
  if (!state.qualified) renderTraining(state);
  else if (!state.trial) app.replaceChildren(el("h2", {id: "done", text: "Thank you!"}),
    el("p", {text: `All ${state.total} answers are saved. You can close this page.`}));
  else if (state.protocol === "mushra") renderMushra(state);
  else renderCategoryTrial(state);
}

async function load() {
  try {
    render(await api("GET", `/api/listeners/${listener}`));
  } catch (e) {
    if (e.status === 404) {  // an id from another test: start afresh
      localStorage.removeItem(STORE_KEY);
      rememberListener((await api("POST", "/api/listeners")).listener);
      render(await api("GET", `/api/listeners/${listener}`));
    } else showError(e.message);
  }
}

async function start() {
  const fromUrl = new URL(window.location.href).searchParams.get("listener");
  const id = fromUrl || localStorage.getItem(STORE_KEY);
  try {
    rememberListener(id || (await api("POST", "/api/listeners")).listener);
    await load();
  } catch (e) { showError(e.message); }
}

start();
