// vericount desk: keys, frame stepping, the people overlay and marking. No framework, no network.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const page = document.body.dataset.page;
  const typing = (e) => /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable;

  // -- help ------------------------------------------------------------------------------------------
  const keys = $("#keys");
  const toggleKeys = () => { if (keys) keys.hidden = !keys.hidden; };
  const keysButton = $("#keys-button");
  if (keysButton) keysButton.addEventListener("click", toggleKeys);

  // -- the item page: status by key, frames, overlay, marks ---------------------------------------------
  const video = $("#player");
  const picture = $("#picture");
  const media = video || picture;
  const canvas = $("#overlay");
  const tracksData = $("#tracks-data");
  const tracks = tracksData ? JSON.parse(tracksData.textContent) : [];
  const FPS = 25;
  let marking = false;
  let marks = [];

  function fit() {
    if (!media || !canvas) return;
    canvas.width = media.clientWidth;
    canvas.height = media.clientHeight;
    draw();
  }
  function now() { return video ? video.currentTime : 0; }
  function draw() {
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const t = now();
    ctx.lineWidth = 2;
    ctx.font = "12px sans-serif";
    for (const track of tracks) {
      const sx = canvas.width / track.width, sy = canvas.height / track.height;
      let best = null;
      for (const b of track.boxes) {  // [t, x1, y1, x2, y2, score]: the box nearest in time, within 0.3 s
        const d = Math.abs(b[0] - t);
        if (d <= 0.3 && (!best || d < best.d)) best = { d: d, b: b };
      }
      if (!best && !video && track.boxes.length) best = { d: 0, b: track.boxes[0] };
      if (!best) continue;
      const b = best.b;
      ctx.strokeStyle = track.source === "mark" ? "#ff8c00" : "#00c2ff";
      ctx.strokeRect(b[1] * sx, b[2] * sy, (b[3] - b[1]) * sx, (b[4] - b[2]) * sy);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText("#" + track.number, b[1] * sx + 2, b[2] * sy + 12);
    }
    ctx.fillStyle = "#ff2d55";
    for (const m of marks) {
      ctx.beginPath();
      ctx.arc(m[0] * canvas.width, m[1] * canvas.height, 6, 0, 2 * Math.PI);
      ctx.fill();
    }
    const time = $("#time");
    if (time && video) time.textContent = video.currentTime.toFixed(3) + " s";
  }
  function step(n) {
    if (!video) return;
    video.pause();
    video.currentTime = Math.max(0, video.currentTime + n / FPS);
  }
  if (media) {
    (video ? video : picture).addEventListener(video ? "loadedmetadata" : "load", () => {
      const t = parseFloat(new URLSearchParams(location.search).get("t") || "0");
      if (video && t > 0) video.currentTime = t;
      fit();
    });
    if (picture && picture.complete) fit();
    window.addEventListener("resize", fit);
    if (video) {
      video.addEventListener("timeupdate", draw);
      video.addEventListener("seeked", draw);
    }
  }
  const on = (sel, fn) => { const el = $(sel); if (el) el.addEventListener("click", fn); };
  on("#frame-back", () => step(-1));
  on("#frame-forward", () => step(1));
  on("#zoom-in", () => { const s = $("#stage"); s.classList.add("zoomed"); picture.style.width = (picture.clientWidth * 1.5) + "px"; fit(); });
  on("#zoom-out", () => { picture.style.width = Math.max(100, picture.clientWidth / 1.5) + "px"; fit(); });

  function startMarking() {
    const form = $("#mark-form");
    if (!form || !media) return;
    if (video) video.pause();
    marking = true;
    marks = [];
    form.hidden = false;
    $("#stage").classList.add("marking");
    $("#mark-t").value = now().toFixed(3);
    draw();
  }
  on("#mark-start", startMarking);
  on("#mark-cancel", () => {
    marking = false; marks = []; $("#mark-form").hidden = true; $("#stage").classList.remove("marking"); draw();
  });
  if (canvas) {
    canvas.addEventListener("click", (e) => {
      if (!marking) return;
      const r = canvas.getBoundingClientRect();
      marks.push([(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height]);
      $("#mark-points").value = JSON.stringify(marks);
      $("#mark-count").textContent = String(marks.length);
      draw();
    });
  }
  for (const a of document.querySelectorAll("a.seek")) {
    a.addEventListener("click", (e) => {
      if (!video) return;
      e.preventDefault();
      video.pause();
      video.currentTime = parseFloat(a.dataset.t);
    });
  }

  function setStatus(status) {
    const select = $("#status-select"), note = $("#status-note");
    if (!select) return;
    select.value = status;
    if (status === "verified" || status === "rejected") {
      if (!note.value.trim()) { note.focus(); note.placeholder = "a note is required to " + (status === "verified" ? "verify" : "reject"); return; }
    }
    if (status === "needs-info" && !note.value.trim()) { note.focus(); return; }
    $("#status-form").requestSubmit();
  }

  // -- the items list: j/k move, Enter opens ------------------------------------------------------------
  const rows = Array.from(document.querySelectorAll(".item-row"));
  let current = -1;
  function move(n) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, current + n));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  // -- the people page: a page of crops confirmed with one key, the few wrong ones flipped -----------------
  const crops = Array.from(document.querySelectorAll("#confirm-grid .flippable"));
  let focused = -1;
  function shade(fig) {
    const flip = fig.querySelector("select.flip");
    fig.classList.toggle("flipped", !!flip.value);
    fig.dataset.flip = flip.value;
  }
  function flip(fig) {  // a person -> not a person -> the same person boxed twice -> a person
    const select = fig.querySelector("select.flip");
    select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
    shade(fig);
  }
  function focusCrop(n) {
    if (!crops.length) return;
    focused = Math.max(0, Math.min(crops.length - 1, (focused < 0 ? -1 : focused) + n));
    crops[focused].focus();
  }
  for (const [k, fig] of crops.entries()) {
    shade(fig);  // a doubtful crop comes flipped ("not a person") from the page
    const img = fig.querySelector("img");
    if (img) img.addEventListener("click", () => { focused = k; flip(fig); });
    fig.querySelector("select.flip").addEventListener("change", () => shade(fig));
    fig.addEventListener("focus", () => { focused = k; });
  }
  function accept() {
    const form = $("#accept-form"), button = $("#accept");
    if (!form || !button) return;
    const reason = $("#accept-reason");
    if (reason && !reason.value.trim()) { reason.focus(); reason.placeholder = "what did you compare and see? (required)"; return; }
    form.requestSubmit(button);
  }

  // -- the people page: s/d on the first "possibly one person" pair ------------------------------------------
  function judge(verdict) {
    const form = document.querySelector(".pair .judge-form");
    if (!form) return;
    if (verdict === "different") {
      const reason = form.querySelector(".reason");
      if (!reason.value.trim()) { reason.focus(); reason.placeholder = "why are they two people? (required)"; return; }
    }
    const button = form.querySelector('button[value="' + verdict + '"]');
    form.requestSubmit(button);
  }

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { if (keys) keys.hidden = true; if (typing(e)) e.target.blur(); return; }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    const go = (sel) => { const a = $(sel); if (a) location.href = a.href; };
    switch (e.key) {
      case "?": toggleKeys(); break;
      case "j": if (page === "items") move(1); else go("#next-item"); break;
      case "k": if (page === "items") move(-1); else go("#prev-item"); break;
      case "Enter": if (page === "items" && current >= 0) location.href = rows[current].dataset.href; else return; break;
      case "v": if (page === "item") setStatus("verified"); else return; break;
      case "r": if (page === "item") setStatus("rejected"); else return; break;
      case "m": if (page === "item") startMarking(); else return; break;
      case ",": step(-1); break;
      case ".": step(1); break;
      case "s": if (page === "people") judge("same"); else return; break;
      case "d": if (page === "people") judge("different"); else return; break;
      case "c": if (page === "people") accept(); else return; break;
      case "x": case " ": if (page === "people" && focused >= 0) flip(crops[focused]); else return; break;
      case "ArrowRight": case "l": if (page === "people") focusCrop(1); else return; break;
      case "ArrowLeft": case "h": if (page === "people") focusCrop(-1); else return; break;
      case "n": if (page === "item") setStatus("needs-info"); else if (page === "people") go("#next-proposal"); else return; break;
      case "p": if (page === "people") go("#prev-proposal"); else return; break;
      default: return;
    }
    e.preventDefault();
  });
})();
