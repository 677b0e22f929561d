// kiosk.js drives printgate's release kiosk, a page for a printer panel's
// browser or a release-station tablet. It signs a user in at the release
// API (/api/v1/release) with an IC card (a keyboard-wedge reader types the
// UID and Enter), an ID and PIN, or a card and PIN; lists the user's held
// jobs; releases or deletes them; and signs out after a release or a
// minute without use. On a device that enrols cards, an unknown card
// leads to a form where the user registers it with their directory
// password. A QR code (GET /api/v1/release/device, renewed before it
// expires) lets a user release here from their phone instead.
//
// The device token is entered once in the setup form (/kiosk?setup=1) and
// kept in localStorage; every API call carries it as a bearer token and no
// cookie. The texts come from the page (#kiosk-messages), in its language.
"use strict";

(() => {
  const API = "/api/v1/release";
  const TOKEN_KEY = "printgate.deviceToken";
  const IDLE_MS = 60 * 1000;
  const LOGOUT_AFTER_PRINT_MS = 5 * 1000;
  const LOGOUT_AFTER_FAILURE_MS = 20 * 1000;
  const POLL_MS = 1500;
  const POLL_LIMIT_MS = 60 * 1000;
  const DELETE_CONFIRM_MS = 4000;

  const $ = (id) => document.getElementById(id);
  const msgs = JSON.parse($("kiosk-messages").textContent || "{}");
  const lang = document.documentElement.lang || "en";
  // Dates are shown in the server's configured time zone, not the panel's.
  const timeZone = document.body.dataset.timeZone || undefined;

  // text returns the message key with {name} placeholders filled in.
  function text(key, vars) {
    let s = msgs[key] || key;
    for (const [k, v] of Object.entries(vars || {})) {
      s = s.split("{" + k + "}").join(String(v));
    }
    return s;
  }

  // colorKey names the job's colour class; a server older than
  // color_mode sends only color.
  function colorKey(job) {
    const mode = job.color_mode || (job.color ? "color" : "unknown");
    return { color: "color", monochrome: "mono" }[mode] || "color_unknown";
  }

  let session = null; // the API's answer to POST /sessions
  let jobs = [];
  let pendingCard = ""; // a card read on a device that also wants a PIN
  let activeField = null; // the login field the PIN pad types into
  let idleTimer = 0;
  let logoutTimer = 0;
  let busy = false;
  let device = null; // the API's answer to GET /device
  let enrolCard = ""; // an unknown card being registered
  let enrolTimer = 0;
  let qrTimer = 0;

  // say shows a message in the page's language. detail, the API's own
  // explanation (in the server's words), goes to the browser's console
  // for whoever debugs the panel, never on the screen.
  function say(key, vars, kind, detail) {
    const m = $("message");
    if (!key) {
      m.hidden = true;
      m.textContent = "";
      return;
    }
    if (detail) console.warn("printgate:", key, detail);
    m.textContent = text(key, vars);
    m.className = "flash " + (kind || "error");
    m.hidden = false;
  }

  function show(section) {
    for (const id of ["setup", "login", "enrol", "jobs"]) {
      $(id).hidden = id !== section;
    }
    $("jobpin").hidden = true;
  }

  function token() {
    return localStorage.getItem(TOKEN_KEY) || "";
  }

  // call sends one API request and returns {status, data}; status 0 means
  // the server could not be reached.
  async function call(method, path, body) {
    const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(API + path, init);
    } catch (e) {
      return { status: 0, data: null };
    }
    let data = null;
    if (res.status !== 204) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
    return { status: res.status, data };
  }

  function errorDetail(r) {
    return r.data && typeof r.data.message === "string" ? r.data.message : "";
  }

  function sessionPath(suffix) {
    return "/sessions/" + encodeURIComponent(session.session) + (suffix || "");
  }

  // --- idle and automatic sign-out ---

  function touch() {
    clearTimeout(idleTimer);
    if (session) idleTimer = setTimeout(() => logout("idle"), IDLE_MS);
    if (enrolCard) armEnrolTimer();
  }

  // armEnrolTimer goes back to sign-in from an enrolment form left alone.
  function armEnrolTimer() {
    clearTimeout(enrolTimer);
    enrolTimer = setTimeout(() => {
      showLogin();
      say("");
    }, IDLE_MS);
  }

  async function logout(reason) {
    clearTimeout(idleTimer);
    clearTimeout(logoutTimer);
    const s = session;
    session = null;
    jobs = [];
    $("job-list").replaceChildren();
    if (s) {
      // Ending the session at the server matters more than its answer.
      await fetch(API + "/sessions/" + encodeURIComponent(s.session), {
        method: "DELETE", headers: { Authorization: "Bearer " + token() }, credentials: "omit",
      }).catch(() => {});
    }
    showLogin();
    if (reason === "idle") {
      say("idle_logout", null, "info");
    } else if (reason === "expired") {
      say("session_ended");
    } else if (reason === "done") {
      say("logged_out", null, "ok");
    } else {
      say("");
    }
  }

  // --- sign-in ---

  function showLogin() {
    pendingCard = "";
    enrolCard = "";
    clearTimeout(enrolTimer);
    $("enrol-user").value = "";
    $("enrol-password").value = "";
    $("card").value = "";
    $("user").value = "";
    $("pin").value = "";
    $("user-label").hidden = false;
    $("pin-cancel").hidden = true;
    $("pin-heading").textContent = text("pin_heading");
    activeField = $("user");
    show("login");
    $("card").focus();
  }

  async function signIn(body, cardOnly) {
    if (busy) return;
    busy = true;
    say("signing_in", null, "info");
    const r = await call("POST", "/sessions", body);
    busy = false;
    $("pin").value = "";
    $("enrol-password").value = "";
    const enrolling = !!body.password;
    switch (r.status) {
      case 201:
        session = r.data;
        enrolCard = "";
        clearTimeout(enrolTimer);
        await showJobs();
        say(enrolling ? "enrolled" : "", null, "ok");
        return;
      case 401:
        // Only a device that enrols cards says that one is unknown.
        if (cardOnly && r.data && r.data.reason === "unknown-card") {
          askEnrol(body.card);
          return;
        }
        say(enrolling ? "bad_password" : pendingCard || cardOnly ? "bad_card" : "bad_pin", null, "error", errorDetail(r));
        if (enrolling) return;
        break;
      case 423:
        say("locked", null, "error", errorDetail(r));
        break;
      case 429:
        // Too many failed sign-ins here: nothing was checked.
        say("throttled", null, "error", errorDetail(r));
        break;
      case 403:
        if (cardOnly) {
          // This device wants a PIN with the card: ask for it.
          askPINForCard(body.card);
          return;
        }
        say("forbidden", null, "error", errorDetail(r));
        break;
      case 0:
        say("network");
        break;
      default:
        say("error", { status: r.status }, "error", errorDetail(r));
    }
    if (!pendingCard) $("card").focus();
  }

  function askPINForCard(card) {
    pendingCard = card;
    $("user-label").hidden = true;
    $("pin-cancel").hidden = false;
    $("pin-heading").textContent = text("card_pin_heading");
    activeField = $("pin");
    say("card_needs_pin", null, "info");
    $("pin").focus();
  }

  // askEnrol shows the form that registers the unknown card with the
  // user's directory password; it goes back to sign-in when unused.
  function askEnrol(card) {
    enrolCard = card;
    $("enrol-user").value = "";
    $("enrol-password").value = "";
    show("enrol");
    say("enrol_offer", null, "info");
    $("enrol-user").focus();
    armEnrolTimer();
  }

  // --- the device and its QR code ---

  // loadDevice asks what the device offers and shows its QR code, and
  // asks again before the code expires.
  async function loadDevice() {
    clearTimeout(qrTimer);
    const r = await call("GET", "/device");
    if (r.status !== 200 || !r.data) {
      qrTimer = setTimeout(loadDevice, 30 * 1000);
      return;
    }
    device = r.data;
    const qr = device.qr;
    $("qr").hidden = !qr;
    if (!qr) return;
    drawQR(qr.modules);
    $("qr-canvas").dataset.url = qr.url;
    const left = Date.parse(qr.expires_at) - Date.now();
    qrTimer = setTimeout(loadDevice, Math.max(10 * 1000, left / 2));
  }

  // drawQR draws the code's modules, rows of "1" (dark) and "0".
  function drawQR(modules) {
    const canvas = $("qr-canvas");
    const n = modules.length;
    const scale = Math.max(2, Math.floor(240 / n));
    canvas.width = canvas.height = n * scale;
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#000";
    modules.forEach((row, y) => {
      for (let x = 0; x < row.length; x++) {
        if (row[x] === "1") g.fillRect(x * scale, y * scale, scale, scale);
      }
    });
  }

  // --- jobs ---

  async function showJobs() {
    const r = await call("GET", sessionPath("/jobs"));
    if (r.status === 401) return logout("expired");
    if (r.status !== 200 || !r.data || !Array.isArray(r.data.jobs)) {
      say(r.status === 0 ? "network" : "error", { status: r.status }, "error", errorDetail(r));
      jobs = [];
    } else {
      jobs = r.data.jobs;
    }
    $("hello").textContent = text("hello", { name: session.display_name || session.user });
    renderJobs();
    show("jobs");
    touch();
  }

  function formatTime(s) {
    const d = new Date(s);
    if (isNaN(d)) return "";
    const opts = { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone };
    try {
      return d.toLocaleString(lang, opts);
    } catch (e) {
      // A zone the browser does not know: show the panel's local time.
      delete opts.timeZone;
      return d.toLocaleString(lang, opts);
    }
  }

  function el(tag, className, content) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (content !== undefined) e.textContent = content;
    return e;
  }

  function renderJobs() {
    const list = $("job-list");
    list.replaceChildren();
    $("no-jobs").hidden = jobs.length > 0;
    $("release-selected").disabled = jobs.length === 0;
    $("release-all").disabled = jobs.length === 0;
    for (const job of jobs) {
      const li = el("li", "job");
      li.dataset.id = String(job.id);
      const label = el("label", "job-main");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "job-check";
      box.value = String(job.id);
      label.append(box);
      const info = el("span", "job-info");
      const name = el("strong", "job-name", job.name || text("untitled"));
      name.title = job.name || ""; // the list cuts a long name to three lines
      info.append(name);
      const copies = job.copies || 1;
      const pages = !job.pages ? text("pages_unknown")
        : text(job.pages === 1 ? "page_one" : "pages", { pages: job.pages, copies });
      const meta = [job.queue, pages, text(colorKey(job)), formatTime(job.submitted_at)];
      info.append(el("span", "job-meta", meta.filter(Boolean).join(" · ")));
      if (job.needs_pin) info.append(el("span", "tag", text("needs_pin")));
      if (job.my_number) info.append(el("span", "tag", text("my_number")));
      if (job.state_reason === "may-have-printed") info.append(el("span", "tag", text("may_have_printed")));
      info.append(el("span", "job-state"));
      label.append(info);
      li.append(label);
      const del = el("button", "danger", text("delete"));
      del.type = "button";
      del.addEventListener("click", () => deleteJob(job, del));
      li.append(del);
      list.append(li);
    }
  }

  function setJobState(id, message, kind) {
    const li = $("job-list").querySelector('li[data-id="' + String(id) + '"]');
    if (!li) return;
    const st = li.querySelector(".job-state");
    st.textContent = message;
    st.className = "job-state " + (kind || "");
  }

  // deleteJob asks for a second tap, then deletes the job.
  async function deleteJob(job, button) {
    touch();
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = text("delete_confirm");
      setTimeout(() => {
        button.dataset.armed = "";
        button.textContent = text("delete");
      }, DELETE_CONFIRM_MS);
      return;
    }
    const r = await call("DELETE", sessionPath("/jobs/" + encodeURIComponent(job.id)));
    if (r.status === 401) return logout("expired");
    if (r.status === 204 || r.status === 404) {
      jobs = jobs.filter((j) => j.id !== job.id);
      renderJobs();
      say("deleted", { name: job.name || text("untitled") }, "ok");
      return;
    }
    say(r.status === 0 ? "network" : "error", { status: r.status }, "error", errorDetail(r));
  }

  // askJobPIN shows the job PIN pad for job; it resolves to the PIN, or
  // null when the user cancels.
  function askJobPIN(job) {
    return new Promise((resolve) => {
      const form = $("jobpin-form");
      $("jobpin-heading").textContent = text("job_pin_for", { name: job.name || text("untitled") });
      $("job-pin").value = "";
      $("jobpin").hidden = false;
      $("job-pin").focus();
      const done = (value) => {
        form.onsubmit = null;
        $("jobpin-cancel").onclick = null;
        $("jobpin").hidden = true;
        resolve(value);
      };
      form.onsubmit = (ev) => {
        ev.preventDefault();
        done($("job-pin").value);
      };
      $("jobpin-cancel").onclick = () => done(null);
    });
  }

  async function release(all) {
    touch();
    const chosen = all
      ? jobs
      : jobs.filter((j) => $("job-list").querySelector('li[data-id="' + String(j.id) + '"] .job-check').checked);
    if (chosen.length === 0) {
      say("select_some", null, "info");
      return;
    }
    const body = all ? { all: true } : { jobs: chosen.map((j) => j.id) };
    // A job marked as one that may have printed is printed again only
    // when chosen by itself, next to its mark: "print all" leaves it.
    const again = all ? [] : chosen.filter((j) => j.state_reason === "may-have-printed").map((j) => j.id);
    if (again.length > 0) body.confirm_reprint = again;
    const pins = {};
    for (const job of chosen.filter((j) => j.needs_pin)) {
      const pin = await askJobPIN(job);
      if (pin === null) {
        say("");
        return;
      }
      pins[String(job.id)] = pin;
    }
    if (Object.keys(pins).length > 0) body.job_pins = pins;
    say("releasing", null, "info");
    const r = await call("POST", sessionPath("/release"), body);
    if (r.status === 401) return logout("expired");
    if (r.status === 409 && r.data && r.data.reason === "printer-unavailable") {
      // Nothing was released: the jobs stay listed for another try.
      sayPrinterUnavailable(r.data);
      return;
    }
    if (r.status !== 202 || !r.data || !Array.isArray(r.data.jobs)) {
      say(r.status === 0 ? "network" : "error", { status: r.status }, "error", errorDetail(r));
      return;
    }
    for (const b of document.querySelectorAll("#jobs button")) {
      b.disabled = true;
    }
    $("logout").disabled = false;
    const outcomes = await Promise.all(r.data.jobs.map(follow));
    const failed = outcomes.filter((ok) => !ok).length;
    if (failed === 0) {
      say("printed_all", null, "ok");
      logoutTimer = setTimeout(() => logout("done"), LOGOUT_AFTER_PRINT_MS);
    } else {
      say("some_failed", { count: failed });
      logoutTimer = setTimeout(() => logout("done"), LOGOUT_AFTER_FAILURE_MS);
    }
  }

  // printerCauses says in the page's language why the printer cannot
  // print, from the API's printer_state and printer_state_reasons: the
  // printer's own keywords are shown only where the page has words for
  // them, so no English reaches a Japanese panel.
  function printerCauses(data) {
    const causes = [];
    const add = (key) => {
      if (msgs[key] && !causes.includes(text(key))) causes.push(text(key));
    };
    if (data.printer_reachable === false) add("printer_cause_unreachable");
    else if (data.printer_state === "stopped") add("printer_cause_stopped");
    else if (data.why === "printer-not-accepting-jobs") add("printer_cause_not_accepting");
    for (const reason of data.printer_state_reasons || []) {
      const base = String(reason).replace(/-(error|warning|report)$/, "");
      if (base === "paused" && data.printer_state === "stopped") continue;
      add("printer_reason_" + base);
    }
    return causes;
  }

  function sayPrinterUnavailable(data) {
    const causes = printerCauses(data);
    if (causes.length === 0) {
      say("printer_unavailable");
    } else {
      say("printer_unavailable_because", { causes: causes.join(text("list_separator")) });
    }
  }

  // reasonText is a job's reason for a person: the page's words for its
  // state_reason where it has them, else a word for "unknown" (the
  // server's message is in its own words, so it goes to the console).
  function reasonText(job) {
    const key = "reason_" + (job.state_reason || "");
    if (msgs[key]) return text(key);
    if (job.message || job.state_reason) console.warn("printgate: job", job.id, job.state_reason, job.message);
    return job.state_reason ? text("reason_unknown") : "";
  }

  // follow watches a released job until the printer has it, or it is
  // back on hold with a reason; it resolves to whether it printed. A job
  // the release refused at once (a job PIN missing or wrong, released
  // meanwhile elsewhere) carries a problem and is not followed.
  async function follow(started) {
    const id = started.id;
    if (started.problem) {
      const key = "problem_" + started.problem;
      if (!msgs[key]) console.warn("printgate: job", id, started.problem);
      setJobState(id, msgs[key] ? text(key) : text("state_failed"), "error");
      return false;
    }
    let state = started.state;
    let reason = "";
    const deadline = Date.now() + POLL_LIMIT_MS;
    for (;;) {
      if (state === "printing" || state === "completed") {
        setJobState(id, text(state === "completed" ? "state_completed" : "state_printing"), "ok");
        if (state === "completed") return true;
      } else if (state === "pending-held" || state === "canceled" || state === "expired" || state === "aborted") {
        setJobState(id, text("state_failed") + (reason ? ": " + reason : ""), "error");
        return false;
      } else {
        setJobState(id, text("state_releasing"), "info");
      }
      if (Date.now() > deadline) {
        // Still on its way: the printer has it or will say so later.
        return state === "printing";
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!session) return state === "printing";
      const r = await call("GET", sessionPath("/jobs/" + encodeURIComponent(id)));
      if (r.status !== 200 || !r.data) return state === "printing";
      state = r.data.state;
      reason = reasonText(r.data);
      touch();
    }
  }

  // --- the PIN pads ---

  function padTarget(pad) {
    const t = pad.dataset.target;
    return t === "active" ? activeField || $("pin") : $(t);
  }

  function setUp() {
    for (const pad of document.querySelectorAll(".pad")) {
      pad.addEventListener("click", (ev) => {
        const key = ev.target.dataset && ev.target.dataset.key;
        if (!key) return;
        const field = padTarget(pad);
        if (key === "clear") {
          field.value = "";
        } else if (key === "back") {
          field.value = field.value.slice(0, -1);
        } else if (field.value.length < 64) {
          field.value += key;
        }
        touch();
      });
    }
    for (const id of ["user", "pin"]) {
      $(id).addEventListener("focus", () => {
        activeField = $(id);
      });
    }
    $("setup-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("setup-token").value.trim();
      if (!t) return;
      localStorage.setItem(TOKEN_KEY, t);
      $("setup-token").value = "";
      history.replaceState(null, "", location.pathname);
      showLogin();
      loadDevice();
      say("setup_saved", null, "ok");
    });
    $("card-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const card = $("card").value.trim();
      $("card").value = "";
      if (card) {
        signIn({ card }, true);
      }
    });
    $("pin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const pin = $("pin").value;
      if (pendingCard) {
        if (pin) {
          signIn({ card: pendingCard, pin }, false);
        }
        return;
      }
      const user = $("user").value.trim();
      if (!user || !pin) {
        say("need_user_pin", null, "info");
        return;
      }
      signIn({ user, pin }, false);
    });
    $("enrol-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const user = $("enrol-user").value.trim();
      const password = $("enrol-password").value;
      if (!user || !password) {
        say("need_user_password", null, "info");
        return;
      }
      signIn({ card: enrolCard, user, password }, false);
    });
    $("enrol-cancel").addEventListener("click", () => {
      showLogin();
      say("");
    });
    $("pin-cancel").addEventListener("click", () => {
      showLogin();
      say("");
    });
    $("logout").addEventListener("click", () => logout("done"));
    $("release-selected").addEventListener("click", () => release(false));
    $("release-all").addEventListener("click", () => release(true));
    for (const ev of ["pointerdown", "keydown", "input"]) {
      document.addEventListener(ev, touch, { passive: true });
    }
    // A wedge reader types into whatever has focus: on the sign-in screen
    // with nothing else chosen, that is the card field.
    document.addEventListener("click", () => {
      if (!$("login").hidden && !pendingCard && document.activeElement === document.body) $("card").focus();
    });

    if (!token() || new URLSearchParams(location.search).has("setup")) {
      show("setup");
      $("setup-token").focus();
      return;
    }
    showLogin();
    loadDevice();
  }

  setUp();
})();
