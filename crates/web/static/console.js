// The MCU operator's console for one live session.
//
// It listens to the room's feed (a WebSocket that sends the room's `state` on every change,
// each endpoint's `link_stats` samples and every `connected_to_host` measurement) and renders
// the endpoints, the speaking queue and the connect-to-host timings. Commands go through the
// REST API, the same path as every other client, so they are checked and recorded alike.
// Nothing here is simulated: every figure shown is one the server measured.

const root = document.getElementById("console");
const lang = root.dataset.lang === "en" ? "en" : "vi";
const limitMs = Number(root.dataset.limitSeconds || 30) * 1000;

const WORDS = {
  vi: {
    live: "Trực tiếp", offline: "Mất kết nối — đang kết nối lại", empty: "Chưa có điểm cầu nào trong phòng.",
    endpoint: "Điểm cầu", state: "Kết nối", audio: "Micro", video: "Hình", link: "Đường truyền", actions: "Điều khiển",
    host: "Chủ trì", waiting: "Chờ vào phòng", connected: "Đã kết nối", connecting: "Đang kết nối",
    muted: "Tắt", open: "Mở", onStage: "Đang phát biểu", hand: "Xin phát biểu",
    admit: "Cho vào", remove: "Mời ra", mute: "Tắt micro", unmute: "Mở micro", camOff: "Tắt hình", camOn: "Mở hình",
    connect: "Kết nối với chủ trì", disconnect: "Ngắt khỏi chủ trì", grant: "Cho phát biểu", refuse: "Từ chối",
    lock: "Khóa phòng", unlock: "Mở khóa phòng", layout: "Bố cục", apply: "Áp dụng", everyone: "Mọi điểm cầu", hostOnly: "Màn hình chủ trì",
    single: "Một người nói", onePlus: "1 + 5", grid2: "Lưới 2×2", grid3: "Lưới 3×3",
    queue: "Thứ tự xin phát biểu", queueEmpty: "Chưa có điểm cầu nào xin phát biểu.",
    timings: "Thời gian kết nối với chủ trì (giới hạn 30 giây)", within: "đạt", over: "quá hạn",
    summary: (n, c, w, q) => `${n} điểm cầu · ${c} đã kết nối · ${w} chờ vào phòng · ${q} xin phát biểu`,
    hostSees: "Màn hình chủ trì", sameLayout: "như mọi điểm cầu", stage: "đang hiển thị",
    rtt: "RTT", loss: "mất gói", jitter: "jitter", failed: "Lệnh không thực hiện được",
  },
  en: {
    live: "Live", offline: "Feed lost — reconnecting", empty: "No endpoint in the room yet.",
    endpoint: "Endpoint", state: "Connection", audio: "Mic", video: "Video", link: "Link", actions: "Control",
    host: "Host", waiting: "Waiting", connected: "Connected", connecting: "Connecting",
    muted: "Off", open: "On", onStage: "On stage", hand: "Hand raised",
    admit: "Admit", remove: "Remove", mute: "Mute mic", unmute: "Unmute mic", camOff: "Camera off", camOn: "Camera on",
    connect: "Connect to host", disconnect: "Off the host", grant: "Grant", refuse: "Refuse",
    lock: "Lock room", unlock: "Unlock room", layout: "Layout", apply: "Apply", everyone: "Everyone", hostOnly: "Host's screen",
    single: "Single speaker", onePlus: "1 + 5", grid2: "2×2 grid", grid3: "3×3 grid",
    queue: "Speaking requests", queueEmpty: "No speaking request.",
    timings: "Connect-to-host times (limit 30 seconds)", within: "within", over: "over",
    summary: (n, c, w, q) => `${n} endpoints · ${c} connected · ${w} waiting · ${q} hands raised`,
    hostSees: "Host's screen", sameLayout: "same as everyone", stage: "showing",
    rtt: "RTT", loss: "loss", jitter: "jitter", failed: "Command failed",
  },
};
const T = WORDS[lang];

const console_ = { state: null, links: new Map(), timings: [], updates: 0 };
window.hnthConsole = console_;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showError(message) {
  const box = document.getElementById("console-error");
  box.textContent = message;
  box.hidden = !message;
}

async function command(body) {
  showError("");
  try {
    const response = await fetch(root.dataset.commands, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      showError(`${T.failed}: ${(problem.error && problem.error.message) || response.status}`);
    }
  } catch (error) {
    showError(`${T.failed}: ${error}`);
  }
}

function button(label, body, cls = "") {
  const b = el("button", { text: label, type: "button", class: cls });
  b.dataset.command = body.command;
  b.addEventListener("click", () => command(body));
  return b;
}

// Thresholds for the colour of link figures; the readiness grading of the policy is the
// authority, these only draw the eye.
function grade(value, fair, poor) {
  if (value === null || value === undefined) return "";
  return value >= poor ? "grade-poor" : value >= fair ? "grade-fair" : "grade-good";
}

function linkCell(peer) {
  const s = console_.links.get(peer);
  if (!s) return el("td", { text: "—", class: "muted" });
  const parts = [];
  if (s.rtt_ms != null) parts.push(el("span", { class: grade(s.rtt_ms, 150, 300), text: `${T.rtt} ${Math.round(s.rtt_ms)} ms` }));
  const loss = Math.max(s.loss_in || 0, s.loss_out || 0);
  parts.push(el("span", { class: grade(loss, 0.02, 0.05), text: `${T.loss} ${(loss * 100).toFixed(1)}%` }));
  if (s.jitter_ms != null) parts.push(el("span", { class: grade(s.jitter_ms, 30, 50), text: `${T.jitter} ${Math.round(s.jitter_ms)} ms` }));
  parts.push(el("span", { class: "muted", text: `↓${Math.round(s.bitrate_in / 1000)} ↑${Math.round(s.bitrate_out / 1000)} kbit/s` }));
  const cell = el("td", { class: "link" });
  parts.forEach((p, i) => { if (i) cell.append(" · "); cell.append(p); });
  return cell;
}

function nameOf(peer) {
  const m = console_.state && console_.state.members.find((m) => m.peer === peer);
  return m ? m.endpoint_name : `#${peer}`;
}

function renderControls(state) {
  const bar = document.getElementById("room-controls");
  bar.replaceChildren(
    state.locked ? button(T.unlock, { command: "lock", locked: false }) : button(T.lock, { command: "lock", locked: true }),
    el("label", { text: `${T.layout} ` }),
  );
  const layout = el("select", { id: "console-layout" },
    ...[["single_speaker", T.single], ["one_plus_n", T.onePlus], ["grid_2x2", T.grid2], ["grid_3x3", T.grid3]]
      .map(([value, label]) => el("option", { value, text: label, selected: state.layout && state.layout.kind === value })));
  const scope = el("select", { id: "console-scope" },
    el("option", { value: "everyone", text: T.everyone }), el("option", { value: "host", text: T.hostOnly }));
  const apply = el("button", { type: "button", text: T.apply, id: "console-apply" });
  apply.addEventListener("click", () => command({ command: "set_layout", scope: scope.value, layout: layout.value, n: 5 }));
  bar.append(layout, scope, apply);
}

function render() {
  const state = console_.state;
  if (!state) return;
  const members = state.members || [];
  const head = document.getElementById("console-head");
  head.replaceChildren(...[T.endpoint, T.state, T.audio, T.video, T.link, T.actions].map((h) => el("th", { text: h })));
  const body = document.querySelector("#console-members tbody");
  const onStage = new Set(state.on_stage || []);
  body.replaceChildren(...(members.length ? members.map((m) => {
    const stateText = !m.admitted ? T.waiting : m.connected ? T.connected : T.connecting;
    const dot = el("span", { class: `dot ${!m.admitted ? "wait" : m.connected ? "on" : ""}` });
    const tags = el("div");
    if (m.role === "host") tags.append(el("span", { class: "badge", text: T.host }), " ");
    if (onStage.has(m.peer)) tags.append(el("span", { class: "badge approved", text: T.onStage }), " ");
    if (m.hand_raised) tags.append(el("span", { class: "badge urgent", text: T.hand }));
    const actions = el("td", { class: "actions" });
    if (!m.admitted) actions.append(button(T.admit, { command: "admit", peer: m.peer }, "primary"));
    if (m.role !== "host") {
      actions.append(onStage.has(m.peer)
        ? button(T.disconnect, { command: "disconnect_from_host", peer: m.peer })
        : button(T.connect, { command: "connect_to_host", peer: m.peer }, "primary"));
    }
    actions.append(
      m.audio_muted ? button(T.unmute, { command: "mute_audio", peer: m.peer, muted: false })
                    : button(T.mute, { command: "mute_audio", peer: m.peer, muted: true }),
      m.video_muted ? button(T.camOn, { command: "mute_video", peer: m.peer, muted: false })
                    : button(T.camOff, { command: "mute_video", peer: m.peer, muted: true }),
      button(T.remove, { command: "remove", peer: m.peer }, "danger"),
    );
    const row = el("tr", { "data-peer": String(m.peer) },
      el("td", {}, el("strong", { text: m.endpoint_name }), el("br"),
        el("small", { class: "muted", text: [m.person, m.unit_name].filter(Boolean).join(" — ") }), tags),
      el("td", {}, dot, document.createTextNode(stateText)),
      el("td", { text: m.audio_muted ? T.muted : T.open }),
      el("td", { text: m.video_muted ? T.muted : T.open }),
      linkCell(m.peer),
      actions);
    return row;
  }) : [el("tr", {}, el("td", { colSpan: 6, class: "muted", text: T.empty }))]));

  // The chair's screen as the host sees it (R-LIVE-2): its layout and who is on it.
  const layoutName = (layout) => ({ single_speaker: T.single, one_plus_n: T.onePlus, grid_2x2: T.grid2,
    grid_3x3: T.grid3, custom: "custom" })[layout && layout.kind] || "—";
  const hostLayout = state.host_layout ? layoutName(state.host_layout) : `${layoutName(state.layout)} (${T.sameLayout})`;
  const onStageNames = (state.on_stage || []).map(nameOf).join(", ");
  document.getElementById("host-view").textContent =
    `${T.hostSees}: ${hostLayout}${onStageNames ? ` — ${T.stage}: ${onStageNames}` : ""}`;

  const connected = members.filter((m) => m.connected && m.admitted).length;
  const waiting = members.filter((m) => !m.admitted).length;
  document.getElementById("console-summary").textContent =
    T.summary(members.length, connected, waiting, (state.queue || []).length);

  document.getElementById("queue-title").textContent = T.queue;
  const queue = document.getElementById("console-queue");
  queue.replaceChildren(...((state.queue || []).length ? state.queue.map((peer) =>
    el("li", { "data-peer": String(peer) }, document.createTextNode(`${nameOf(peer)} `),
      button(T.grant, { command: "grant", peer }, "primary"), button(T.refuse, { command: "refuse", peer }))) :
    [el("li", { class: "muted", text: T.queueEmpty })]));

  renderTimings();
  renderControls(state);
  console_.updates += 1;
}

function renderTimings() {
  document.getElementById("timings-title").textContent = T.timings;
  const body = document.querySelector("#console-timings tbody");
  body.replaceChildren(...console_.timings.slice(-12).reverse().map((t) =>
    el("tr", { class: t.ms <= limitMs ? "" : "late" },
      el("td", { text: t.at }), el("td", { text: t.name }),
      el("td", { text: `${(t.ms / 1000).toFixed(3)} s` }),
      el("td", { class: t.ms <= limitMs ? "grade-good" : "grade-poor", text: t.ms <= limitMs ? T.within : T.over }))));
}

async function loadTimings() {
  const response = await fetch(root.dataset.commands, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const commands = await response.json();
  for (const c of commands) {
    if (c.effect_ms != null) {
      console_.timings.push({
        at: new Date(c.issued_at).toLocaleTimeString(lang === "vi" ? "vi-VN" : "en-GB"),
        name: c.detail && c.detail.peer != null ? nameOf(c.detail.peer) : c.command,
        ms: c.effect_ms,
      });
    }
  }
  renderTimings();
}

let backoff = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${root.dataset.ws}`);
  const badge = document.getElementById("feed-state");
  socket.addEventListener("open", () => {
    backoff = 500;
    badge.textContent = T.live;
    badge.className = "badge big approved";
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "state") {
      console_.state = message.state;
      render();
    } else if (message.type === "link_stats") {
      console_.links.set(message.peer, message);
      render();
    } else if (message.type === "connected_to_host") {
      console_.timings.push({
        at: new Date().toLocaleTimeString(lang === "vi" ? "vi-VN" : "en-GB"),
        name: nameOf(message.peer),
        ms: message.elapsed_ms,
      });
      renderTimings();
    }
  });
  socket.addEventListener("close", () => {
    badge.textContent = T.offline;
    badge.className = "badge big refused";
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  });
}

connect();
loadTimings();
