// The browser endpoint of a live session (docs/conference-protocol.md).
//
// The page gives its settings in the data attributes of <main id="conference">. This module
// takes the camera and microphone, offers one RTCPeerConnection with a fixed set of
// transceivers (what it sends, then its receive slots), talks JSON over one WebSocket, and
// draws what the server says: the tiles of the video slots that carry a source, each with
// the endpoint's name, person and unit (R-LIVE-5), and the room's state. The server decides
// every routing; what this page does on its own is only local: muting its own tracks.

const AUDIO_SLOTS = 4;
const VIDEO_SLOTS = 9;

const root = document.getElementById("conference");
const cfg = {
  ws: root.dataset.ws,
  title: root.dataset.sessionTitle || "",
  endpointName: root.dataset.endpointName || "",
  unitName: root.dataset.unitName || "",
  person: root.dataset.person || "",
  role: root.dataset.role === "host" ? "host" : "member",
  lang: root.dataset.lang === "en" ? "en" : "vi",
};

const TEXT = {
  vi: {
    connecting: "Đang kết nối…",
    connected: "Đã kết nối",
    reconnecting: "Mất kết nối, đang kết nối lại…",
    ended: "Đã rời phòng họp",
    you: "Điểm cầu này",
    host: "Chủ trì",
    content: "Nội dung trình chiếu",
    cameraOff: "Đã tắt camera",
    noCamera: "Không có camera",
    stageEmpty: "Chưa có hình ảnh từ điểm cầu khác.",
    mic: "Tắt micro",
    micOn: "Bật micro",
    cam: "Tắt camera",
    camOn: "Bật camera",
    raise: "Xin phát biểu",
    lower: "Rút yêu cầu phát biểu",
    onStage: "Đang phát biểu",
    share: "Trình chiếu màn hình",
    stopShare: "Dừng trình chiếu",
    shareWaiting: "Đang chờ chủ trì cho phép trình chiếu.",
    leave: "Rời phòng họp",
    enableSound: "Bật âm thanh",
    room: "Phòng họp",
    locked: "Phòng đã khóa",
    unlocked: "Phòng mở",
    lock: "Khóa phòng",
    unlock: "Mở khóa phòng",
    members: "Các điểm cầu",
    membersShown: (n) => `Hiển thị ${n} điểm cầu liên quan: chủ trì, đang phát biểu, đăng ký phát biểu và đang hiện trên màn hình.`,
    queue: "Thứ tự xin phát biểu",
    queueEmpty: "Chưa có điểm cầu nào xin phát biểu.",
    lobbyWaiting: (n) => `${n} điểm cầu đang chờ được cho vào phòng.`,
    online: "Đang kết nối",
    offline: "Mất kết nối",
    serverMutedAudio: "Micro bị khóa",
    serverMutedVideo: "Hình bị khóa",
    handRaised: "Xin phát biểu",
    onStageBadge: "Đang phát biểu",
    sharing: "Đang trình chiếu",
    waiting: "Chờ vào phòng",
    connectToHost: "Kết nối với chủ trì",
    disconnectFromHost: "Ngắt khỏi chủ trì",
    muteAudio: "Khóa micro",
    unmuteAudio: "Mở micro",
    muteVideo: "Khóa hình",
    unmuteVideo: "Mở hình",
    admit: "Cho vào phòng",
    remove: "Mời ra",
    removeConfirm: (name) => `Mời điểm cầu "${name}" ra khỏi phòng họp?`,
    grant: "Cho phát biểu",
    refuse: "Từ chối",
    allowShare: "Cho trình chiếu",
    stopContent: "Dừng trình chiếu",
    layout: "Bố cục",
    layoutScope: "Áp dụng cho",
    scopeEveryone: "Mọi điểm cầu",
    scopeHost: "Riêng chủ trì",
    onePlusN: (n) => `1 lớn + ${n} nhỏ`,
    layouts: {
      single_speaker: "Một người nói",
      grid_2x2: "Lưới 2×2",
      grid_3x3: "Lưới 3×3",
      custom: "Tùy chọn",
    },
    lobbyTitle: "Đang chờ chủ trì cho vào phòng",
    lobbyText: "Phòng họp đã khóa hoặc điểm cầu chưa được mời. Chủ trì sẽ cho vào khi sẵn sàng; xin giữ trang này mở.",
    endTitle: "Đã kết thúc kết nối",
    removedRemoved: "Điểm cầu đã được mời ra khỏi phòng họp.",
    removedEnded: "Phiên họp đã kết thúc.",
    removedReplaced: "Đường dẫn này vừa được mở ở nơi khác; kết nối tại đây đã đóng.",
    left: "Bạn đã rời phòng họp.",
    rejoin: "Vào lại",
    mediaDenied: "Không lấy được camera hoặc micro; điểm cầu vẫn vào phòng để xem và nghe.",
    audioOnly: "Không lấy được camera; điểm cầu chỉ gửi âm thanh.",
    shareFailed: "Không trình chiếu được màn hình.",
    connectedToHost: (name, ms) => `${name} đã lên hình ở điểm cầu chủ trì sau ${ms} ms.`,
    socketError: "Không kết nối được máy chủ hội nghị.",
    answerFailed: "Máy chủ trả lời không hợp lệ; đang thử lại.",
    close: "Đóng",
    error: "Lỗi",
  },
  en: {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Connection lost, reconnecting…",
    ended: "Left the room",
    you: "This endpoint",
    host: "Host",
    content: "Shared content",
    cameraOff: "Camera off",
    noCamera: "No camera",
    stageEmpty: "No picture from other endpoints yet.",
    mic: "Mute microphone",
    micOn: "Unmute microphone",
    cam: "Turn camera off",
    camOn: "Turn camera on",
    raise: "Ask to speak",
    lower: "Withdraw request",
    onStage: "Speaking",
    share: "Share screen",
    stopShare: "Stop sharing",
    shareWaiting: "Waiting for the host to allow sharing.",
    leave: "Leave",
    enableSound: "Turn sound on",
    room: "Room",
    locked: "Room locked",
    unlocked: "Room open",
    lock: "Lock room",
    unlock: "Unlock room",
    members: "Endpoints",
    membersShown: (n) => `Showing the ${n} endpoints that concern you: the host, the speakers, those asking to speak and those on your screen.`,
    queue: "Speaking requests, in order",
    queueEmpty: "No endpoint has asked to speak.",
    lobbyWaiting: (n) => `${n} endpoint(s) waiting to be let in.`,
    online: "Connected",
    offline: "Disconnected",
    serverMutedAudio: "Microphone muted",
    serverMutedVideo: "Camera muted",
    handRaised: "Asks to speak",
    onStageBadge: "Speaking",
    sharing: "Sharing",
    waiting: "Waiting",
    connectToHost: "Connect to host",
    disconnectFromHost: "Disconnect from host",
    muteAudio: "Mute audio",
    unmuteAudio: "Unmute audio",
    muteVideo: "Mute video",
    unmuteVideo: "Unmute video",
    admit: "Let in",
    remove: "Remove",
    removeConfirm: (name) => `Remove "${name}" from the room?`,
    grant: "Give the floor",
    refuse: "Refuse",
    allowShare: "Allow sharing",
    stopContent: "Stop sharing",
    layout: "Layout",
    layoutScope: "For",
    scopeEveryone: "Every endpoint",
    scopeHost: "The host only",
    onePlusN: (n) => `1 large + ${n} small`,
    layouts: {
      single_speaker: "Single speaker",
      grid_2x2: "Grid 2×2",
      grid_3x3: "Grid 3×3",
      custom: "Custom",
    },
    lobbyTitle: "Waiting for the host to let you in",
    lobbyText: "The room is locked or this endpoint was not invited. The host lets you in when ready; please keep this page open.",
    endTitle: "Disconnected",
    removedRemoved: "This endpoint was removed from the room.",
    removedEnded: "The session has ended.",
    removedReplaced: "This link was opened somewhere else; this connection is closed.",
    left: "You left the room.",
    rejoin: "Join again",
    mediaDenied: "Camera and microphone are unavailable; the endpoint joins to watch and listen.",
    audioOnly: "The camera is unavailable; the endpoint sends sound only.",
    shareFailed: "Screen sharing failed.",
    connectedToHost: (name, ms) => `${name} reached the host's screen in ${ms} ms.`,
    socketError: "Cannot reach the conference server.",
    answerFailed: "The server's answer was not valid; retrying.",
    close: "Close",
    error: "Error",
  },
};
const T = TEXT[cfg.lang];

// ---- small DOM helpers (textContent only: names come from the directory, never as HTML)

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const stage = document.getElementById("stage");
const selfView = document.getElementById("self-view");
const roomState = document.getElementById("room-state");
const controls = document.getElementById("controls");
const notices = document.getElementById("notices");
const overlay = document.getElementById("overlay");
const audioSink = document.getElementById("audio-sink");
const status = document.getElementById("conn-status");

// ---- what this endpoint is doing

let local = null; // MediaStream of camera + microphone, or null
let micTrack = null;
let camTrack = null;
let screenTrack = null;
let pc = null;
let ws = null;
let state = null; // the last `state` from the server
let me = null; // own peer id
let generation = 0; // bumps on every (re)connection, so late events of an old one are ignored
let finished = false; // removed, ended or left: never reconnect
let reconnectDelay = 1000;
let reconnectTimer = null;
let iceTimer = null;
let lastRestart = 0;
let restartTimer = null; // set while a restart offer waits for its answer

// For the end-to-end tests and for people debugging from the console.
window.hnthConference = {
  get pc() {
    return pc;
  },
  get state() {
    return state;
  },
  get peer() {
    return me;
  },
};

function setStatus(text, kind) {
  status.textContent = text;
  status.dataset.kind = kind;
}

function notice(text, kind = "error") {
  const item = el(
    "div",
    { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
    el("span", { text }),
    el("button", { class: "link", type: "button", "aria-label": T.close, text: "×", onclick: () => item.remove() }),
  );
  notices.append(item);
  // Errors stay long enough to be read aloud to the chair; information goes sooner.
  setTimeout(() => item.remove(), kind === "error" ? 12000 : 6000);
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(message));
    return true;
  }
  return false;
}

function command(name, fields = {}) {
  send({ type: "command", command: name, ...fields });
}

// ---- tiles

// One tile per video slot, made once: a layout change never renegotiates, so slot `i` is
// always the same receiver and only its caption and visibility change.
const tiles = [];
for (let i = 0; i < VIDEO_SLOTS; i++) {
  const video = el("video", { autoplay: true, playsInline: true, muted: true });
  const name = el("strong");
  const who = el("span");
  const unit = el("span");
  const kind = el("span", { class: "tile-kind" });
  const figure = el("figure", { class: "tile", "data-slot": i, hidden: true }, video,
    el("figcaption", { class: "caption" }, kind, name, who, unit));
  stage.append(figure);
  tiles.push({ root: figure, video, name, who, unit, kind });
}
const stageEmpty = el("p", { class: "stage-empty", text: T.stageEmpty });
stage.append(stageEmpty);

const audios = [];
for (let i = 0; i < AUDIO_SLOTS; i++) {
  const audio = el("audio", { autoplay: true });
  audioSink.append(audio);
  audios.push(audio);
}

const selfVideo = el("video", { autoplay: true, playsInline: true, muted: true });
const selfNote = el("span", { class: "self-note" });
selfView.prepend(selfVideo, selfNote);
const selfCaption = selfView.querySelector("figcaption");
selfCaption.prepend(el("span", { class: "tile-kind", text: T.you }));

// ---- media

async function takeMedia() {
  try {
    local = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
    });
  } catch (first) {
    console.warn("camera and microphone", first);
    try {
      local = await navigator.mediaDevices.getUserMedia({ audio: true });
      notice(T.audioOnly);
    } catch (second) {
      console.warn("microphone", second);
      local = null;
      notice(T.mediaDenied);
    }
  }
  micTrack = local?.getAudioTracks()[0] ?? null;
  camTrack = local?.getVideoTracks()[0] ?? null;
  if (camTrack) selfVideo.srcObject = new MediaStream([camTrack]);
  drawSelf();
}

function drawSelf() {
  const off = !camTrack || !camTrack.enabled;
  selfView.classList.toggle("cam-off", off);
  selfNote.textContent = !camTrack ? T.noCamera : off ? T.cameraOff : "";
}

// ---- the peer connection

function buildPeerConnection() {
  const next = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
  const streams = local ? [local] : [];
  // The order is the protocol: microphone, camera, content, then the receive slots.
  next.addTransceiver(micTrack ?? "audio", { direction: "sendonly", streams });
  next.addTransceiver(camTrack ?? "video", { direction: "sendonly", streams });
  const content = next.addTransceiver("video", { direction: "sendonly" });
  if (screenTrack) content.sender.replaceTrack(screenTrack);
  for (let i = 0; i < AUDIO_SLOTS; i++) next.addTransceiver("audio", { direction: "recvonly" });
  for (let i = 0; i < VIDEO_SLOTS; i++) next.addTransceiver("video", { direction: "recvonly" });
  return next;
}

function transceivers() {
  const all = pc ? pc.getTransceivers() : [];
  return {
    mic: all[0],
    camera: all[1],
    content: all[2],
    audio: all.slice(3, 3 + AUDIO_SLOTS),
    video: all.slice(3 + AUDIO_SLOTS, 3 + AUDIO_SLOTS + VIDEO_SLOTS),
  };
}

function attachReceivers() {
  const { audio, video } = transceivers();
  video.forEach((transceiver, i) => {
    tiles[i].video.srcObject = new MediaStream([transceiver.receiver.track]);
  });
  audio.forEach((transceiver, i) => {
    audios[i].srcObject = new MediaStream([transceiver.receiver.track]);
  });
  playAudio();
}

let soundButton = null;

function playAudio() {
  for (const audio of audios) {
    audio.play().catch((error) => {
      // Autoplay with sound may be refused until the person touches the page: offer a
      // button rather than staying silent.
      if (error.name === "NotAllowedError") offerSound();
    });
  }
}

function offerSound() {
  if (soundButton || finished) return;
  soundButton = el("button", {
    type: "button", class: "primary", id: "btn-sound", text: T.enableSound,
    onclick: () => {
      soundButton.remove();
      soundButton = null;
      playAudio();
    },
  });
  controls.prepend(soundButton);
}

function connect() {
  clearTimeout(reconnectTimer);
  clearTimeout(restartTimer);
  restartTimer = null;
  const mine = ++generation;
  if (pc) pc.close();
  if (ws) {
    ws.onclose = null;
    ws.close();
  }
  setStatus(T.connecting, "connecting");
  pc = buildPeerConnection();
  attachReceivers();
  const pending = []; // candidates found before the offer went out
  let offered = false;
  let opened = false;

  pc.onicecandidate = ({ candidate }) => {
    if (mine !== generation || !candidate || !candidate.candidate) return;
    // The media server listens on UDP only and cannot resolve mDNS (.local) names.
    if (candidate.protocol !== "udp" || (candidate.address ?? "").endsWith(".local")) return;
    // Optional for an ICE-lite server (it learns the address from the checks), but it
    // shortens the set-up when the first check is lost.
    const message = { type: "candidate", candidate: candidate.candidate };
    if (offered) send(message);
    else pending.push(message);
  };
  pc.oniceconnectionstatechange = () => {
    if (mine !== generation) return;
    onIceState(pc.iceConnectionState);
  };

  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${cfg.ws}`;
  ws = new WebSocket(url);
  const offer = pc.createOffer().then((description) => pc.setLocalDescription(description));
  ws.onopen = async () => {
    if (mine !== generation) return;
    opened = true;
    try {
      await offer;
    } catch (error) {
      console.error("offer", error);
      notice(`${T.error}: ${error.message}`);
      return;
    }
    send({ type: "offer", sdp: pc.localDescription.sdp });
    offered = true;
    for (const message of pending.splice(0)) send(message);
  };
  ws.onmessage = (event) => {
    if (mine !== generation) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn("not JSON", event.data);
      return;
    }
    receive(message, mine);
  };
  ws.onerror = () => {
    if (mine === generation && !finished) console.warn("websocket error");
  };
  ws.onclose = () => {
    if (mine !== generation || finished) return;
    if (!opened && reconnectDelay === 1000) notice(T.socketError);
    scheduleReconnect();
  };
}

// A lost WebSocket or a dropped seat: the server keeps the endpoint's place, role and mute
// state for a grace period, and a fresh connection (new offer) takes it back.
function scheduleReconnect() {
  if (finished) return;
  setStatus(T.reconnecting, "lost");
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connect, reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, 15000);
}

function onIceState(ice) {
  clearTimeout(iceTimer);
  if (ice === "connected" || ice === "completed") {
    reconnectDelay = 1000;
    setStatus(T.connected, "ok");
  } else if (ice === "disconnected") {
    setStatus(T.reconnecting, "lost");
    // `disconnected` often heals by itself within a second or two; restart only if not.
    iceTimer = setTimeout(() => {
      if (pc && ["disconnected", "failed"].includes(pc.iceConnectionState)) restartIce();
    }, 2500);
  } else if (ice === "failed") {
    setStatus(T.reconnecting, "lost");
    restartIce();
  }
}

async function restartIce() {
  if (finished || !pc || !ws || ws.readyState !== WebSocket.OPEN) return;
  if (pc.signalingState !== "stable") return;
  // A server that stays unreachable would otherwise be asked again on every state change.
  const wait = lastRestart + 5000 - Date.now();
  if (wait > 0) {
    iceTimer = setTimeout(restartIce, wait);
    return;
  }
  lastRestart = Date.now();
  const mine = generation;
  try {
    const description = await pc.createOffer({ iceRestart: true });
    if (mine !== generation) return;
    await pc.setLocalDescription(description);
    if (!send({ type: "restart", sdp: pc.localDescription.sdp })) return;
    // No answer (the server refused the restart or lost our seat): start over with a fresh
    // connection rather than stay half-negotiated, where no further restart is possible.
    restartTimer = setTimeout(restartRefused, 10000);
  } catch (error) {
    console.error("ICE restart", error);
  }
}

function restartRefused() {
  if (!restartTimer) return;
  clearTimeout(restartTimer);
  restartTimer = null;
  scheduleReconnect();
}

async function applyAnswer(message, mine) {
  if (typeof message.peer === "number") me = message.peer;
  clearTimeout(restartTimer);
  restartTimer = null;
  if (pc.signalingState !== "have-local-offer") {
    console.warn("answer without an offer; ignored");
    return;
  }
  try {
    await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
    // After an ICE restart the state may not change at all (the old path still worked), so
    // no event would correct the "reconnecting" label: read it now.
    if (mine === generation) onIceState(pc.iceConnectionState);
  } catch (error) {
    if (mine !== generation) return;
    console.error("answer", error);
    notice(T.answerFailed);
    scheduleReconnect();
  }
}

function receive(message, mine) {
  switch (message.type) {
    case "answer":
      applyAnswer(message, mine);
      break;
    case "state":
      state = message.state;
      if (state.you && typeof state.you.peer === "number") me = state.you.peer;
      render();
      break;
    case "lobby":
      showLobby();
      break;
    case "error":
      notice(message.message || message.code || T.error);
      // The server answers messages in order, so while a restart waits, the first answer
      // or error is the restart's.
      if (restartTimer) restartRefused();
      break;
    case "connected_to_host": {
      const member = memberOf(message.peer);
      const ms = Math.round(Number(message.elapsed_ms));
      notice(T.connectedToHost(member ? member.endpoint_name : `#${message.peer}`, ms), "info");
      break;
    }
    case "removed": {
      const final = { removed: T.removedRemoved, ended: T.removedEnded, replaced: T.removedReplaced }[message.reason];
      if (final) {
        end(final);
      } else if (message.reason !== "hung_up") {
        // Dropped after a network loss or a failure on the server's side: the seat is
        // still ours, so join again with a fresh connection.
        scheduleReconnect();
      }
      break;
    }
    default:
      console.warn("unknown message", message);
  }
}

// ---- screens

function showLobby() {
  overlay.replaceChildren(
    el("div", { class: "overlay-card", id: "lobby" },
      el("h2", { text: T.lobbyTitle }),
      el("p", { text: T.lobbyText }),
      el("p", { class: "overlay-who" }, el("strong", { text: cfg.endpointName }), ` — ${cfg.person} · ${cfg.unitName}`)),
  );
  overlay.hidden = false;
}

function end(reason) {
  finished = true;
  clearTimeout(reconnectTimer);
  clearTimeout(iceTimer);
  if (ws) {
    ws.onclose = null;
    ws.close();
  }
  if (pc) pc.close();
  for (const track of [micTrack, camTrack, screenTrack]) track?.stop();
  setStatus(T.ended, "ended");
  const back = document.getElementById("back-link");
  overlay.replaceChildren(
    el("div", { class: "overlay-card", id: "ended" },
      el("h2", { text: T.endTitle }),
      el("p", { text: reason }),
      el("p", { class: "overlay-actions" },
        el("button", { type: "button", class: "primary", text: T.rejoin, onclick: () => location.reload() }),
        back ? el("a", { class: "button", href: back.getAttribute("href"), text: back.textContent }) : null)),
  );
  overlay.hidden = false;
  controls.replaceChildren();
}

// ---- rendering the state

function memberOf(peer) {
  return state?.members?.find((m) => m.peer === peer) ?? null;
}

function myMember() {
  return memberOf(me);
}

function myLayout() {
  if (!state) return null;
  const mine = myMember();
  const role = mine ? mine.role : cfg.role;
  return (role === "host" && state.host_layout) || state.layout;
}

function render() {
  if (finished || !state) return;
  const you = state.you ?? {};
  if (you.admitted === false) {
    showLobby();
  } else if (overlay.querySelector("#lobby")) {
    overlay.hidden = true;
    overlay.replaceChildren();
  }
  renderStage();
  renderRoom();
  renderControls();
}

function renderStage() {
  const slots = state.you?.slots?.video ?? [];
  let shown = 0;
  let lead = null;
  tiles.forEach((tile, i) => {
    const source = slots[i] ?? null;
    const member = source ? memberOf(source.peer) : null;
    tile.root.hidden = !source;
    tile.root.classList.remove("lead");
    if (!source) return;
    shown += 1;
    if (!lead) lead = tile;
    tile.root.dataset.peer = source.peer;
    tile.root.dataset.track = source.track;
    tile.root.classList.toggle("content", source.track === "content");
    tile.kind.textContent = source.track === "content" ? T.content : member?.role === "host" ? T.host : "";
    tile.name.textContent = member ? member.endpoint_name : `#${source.peer}`;
    tile.who.textContent = member?.person ?? "";
    tile.unit.textContent = member?.unit_name ?? "";
    // Muted video may always autoplay; a rejection here only means a newer load
    // interrupted this play(), which starts the picture anyway.
    if (tile.video.paused) tile.video.play().catch(() => {});
  });
  lead?.root.classList.add("lead");
  const kind = myLayout()?.kind ?? "grid_2x2";
  stage.dataset.count = String(shown);
  stage.dataset.layout = kind;
  // The large tile of "1 + n" spans the rows of the small ones beside it.
  stage.style.setProperty("--rest", String(Math.max(1, shown - 1)));
  stage.classList.toggle("featured", (kind === "one_plus_n" || kind === "single_speaker") && shown > 1);
  stageEmpty.hidden = shown > 0;
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind}`, text });
}

function controlButton(text, name, fields, extra = {}) {
  return el("button", {
    type: "button",
    class: extra.class ?? "",
    "data-command": name,
    "data-peer": fields.peer,
    text,
    onclick: () => {
      if (extra.confirm && !window.confirm(extra.confirm)) return;
      command(name, fields);
    },
  });
}

function memberControls(m) {
  const onStage = state.on_stage?.includes(m.peer);
  const queued = state.queue?.includes(m.peer);
  const buttons = [];
  if (!m.admitted) buttons.push(controlButton(T.admit, "admit", { peer: m.peer }, { class: "primary" }));
  if (m.peer !== me) {
    buttons.push(
      onStage
        ? controlButton(T.disconnectFromHost, "disconnect_from_host", { peer: m.peer })
        : controlButton(T.connectToHost, "connect_to_host", { peer: m.peer }, { class: "primary" }),
    );
  }
  if (queued) {
    buttons.push(controlButton(T.grant, "grant", { peer: m.peer }, { class: "primary" }));
    buttons.push(controlButton(T.refuse, "refuse", { peer: m.peer }));
  }
  buttons.push(
    controlButton(m.audio_muted ? T.unmuteAudio : T.muteAudio, "mute_audio", { peer: m.peer, muted: !m.audio_muted }),
    controlButton(m.video_muted ? T.unmuteVideo : T.muteVideo, "mute_video", { peer: m.peer, muted: !m.video_muted }),
  );
  if (state.sharing === m.peer) buttons.push(controlButton(T.stopContent, "stop_content", {}));
  else buttons.push(controlButton(T.allowShare, "share_content", { peer: m.peer }));
  if (m.peer !== me) {
    buttons.push(
      controlButton(T.remove, "remove", { peer: m.peer }, { class: "danger", confirm: T.removeConfirm(m.endpoint_name) }),
    );
  }
  return el("div", { class: "member-controls" }, buttons);
}

let drawnRoom = "";

function renderRoom() {
  const canControl = Boolean(state.you?.can_control);
  const members = state.members ?? [];
  // The server also sends the state when only link counters move; redrawing then would
  // close an open menu or swallow a click on a button being replaced.
  const key = JSON.stringify([
    canControl, me, state.locked, state.layout, state.host_layout, state.on_stage, state.queue, state.sharing, state.member_count,
    members.map((m) => [m.peer, m.endpoint_name, m.person, m.unit_name, m.role, m.admitted, m.connected,
      m.audio_muted, m.video_muted, m.hand_raised]),
  ]);
  if (key === drawnRoom) return;
  drawnRoom = key;
  const waiting = members.filter((m) => !m.admitted);
  const parts = [];

  const layout = myLayout();
  parts.push(
    el("div", { class: "room-head" },
      el("h2", { text: T.room }),
      badge(state.locked ? T.locked : T.unlocked, state.locked ? "locked" : "open"),
      layout ? badge(`${T.layout}: ${layoutName(layout)}`, "layout") : null),
  );
  if (waiting.length > 0) {
    parts.push(el("p", { class: "lobby-note", id: "lobby-note", text: T.lobbyWaiting(waiting.length) }));
  }

  const list = el("ul", { class: "members", id: "members" });
  for (const m of members) {
    const badges = [];
    if (m.role === "host") badges.push(badge(T.host, "host"));
    if (m.peer === me) badges.push(badge(T.you, "you"));
    if (!m.admitted) badges.push(badge(T.waiting, "waiting"));
    if (m.audio_muted) badges.push(badge(T.serverMutedAudio, "muted"));
    if (m.video_muted) badges.push(badge(T.serverMutedVideo, "muted"));
    if (m.hand_raised || state.queue?.includes(m.peer)) badges.push(badge(T.handRaised, "hand"));
    if (state.on_stage?.includes(m.peer)) badges.push(badge(T.onStageBadge, "stage"));
    if (state.sharing === m.peer) badges.push(badge(T.sharing, "sharing"));
    list.append(
      el("li", { class: m.connected ? "member online" : "member offline", "data-peer": m.peer },
        el("span", { class: "dot", title: m.connected ? T.online : T.offline, "aria-label": m.connected ? T.online : T.offline }),
        el("div", { class: "member-who" },
          el("strong", { text: m.endpoint_name }),
          el("span", { text: [m.person, m.unit_name].filter(Boolean).join(" · ") }),
          el("span", { class: "badges" }, badges),
          canControl ? memberControls(m) : null)),
    );
  }
  const count = state.member_count ?? members.length;
  parts.push(el("h3", { text: `${T.members} (${count})` }));
  // A large room tells an endpoint without control rights only about the members that
  // concern it (the host, the stage, the queue, its screen).
  if (members.length < count) parts.push(el("p", { class: "members-note", id: "members-note", text: T.membersShown(members.length) }));
  parts.push(list);

  const queue = state.queue ?? [];
  const queueList = el("ol", { class: "queue", id: "queue" });
  for (const peer of queue) {
    const m = memberOf(peer);
    queueList.append(
      el("li", { "data-peer": peer },
        el("span", { text: m ? m.endpoint_name : `#${peer}` }),
        canControl
          ? el("span", { class: "member-controls" },
            controlButton(T.grant, "grant", { peer }, { class: "primary" }),
            controlButton(T.refuse, "refuse", { peer }))
          : null),
    );
  }
  parts.push(el("h3", { text: T.queue }), queue.length > 0 ? queueList : el("p", { class: "muted", text: T.queueEmpty }));
  roomState.replaceChildren(...parts);
}

function sharedByMe() {
  return Boolean(screenTrack);
}

let drawnControls = "";

function renderControls() {
  if (finished) return;
  const mine = myMember();
  const queued = state?.queue?.includes(me);
  const onStage = state?.on_stage?.includes(me);
  const isHost = (mine ? mine.role : cfg.role) === "host";
  // Same reason as the room panel: redraw only when something shown here changed.
  const key = JSON.stringify([
    Boolean(state), queued, onStage, isHost, micTrack?.enabled, camTrack?.enabled, Boolean(micTrack),
    Boolean(camTrack), sharedByMe(), Boolean(soundButton), state?.you?.can_control, state?.layout, state?.host_layout,
    state?.locked, layoutScope,
  ]);
  if (key === drawnControls) return;
  drawnControls = key;
  const buttons = [];
  if (soundButton) buttons.push(soundButton);
  buttons.push(
    el("button", {
      type: "button", id: "btn-mic", class: micTrack && !micTrack.enabled ? "off" : "",
      disabled: !micTrack, "aria-pressed": String(Boolean(micTrack && !micTrack.enabled)),
      text: micTrack && !micTrack.enabled ? T.micOn : T.mic,
      onclick: () => {
        micTrack.enabled = !micTrack.enabled;
        renderControls();
      },
    }),
    el("button", {
      type: "button", id: "btn-cam", class: camTrack && !camTrack.enabled ? "off" : "",
      disabled: !camTrack, "aria-pressed": String(Boolean(camTrack && !camTrack.enabled)),
      text: camTrack && !camTrack.enabled ? T.camOn : T.cam,
      onclick: () => {
        camTrack.enabled = !camTrack.enabled;
        drawSelf();
        renderControls();
      },
    }),
  );
  if (!isHost) {
    buttons.push(
      el("button", {
        type: "button", id: "btn-hand", class: queued ? "on" : "", disabled: Boolean(onStage) || !state,
        text: onStage ? T.onStage : queued ? T.lower : T.raise,
        onclick: () => command(queued ? "lower_hand" : "raise_hand"),
      }),
    );
  }
  buttons.push(
    el("button", {
      type: "button", id: "btn-share", class: sharedByMe() ? "on" : "",
      disabled: !navigator.mediaDevices?.getDisplayMedia,
      text: sharedByMe() ? T.stopShare : T.share,
      onclick: () => (sharedByMe() ? stopSharing() : startSharing()),
    }),
  );
  if (state?.you?.can_control) buttons.push(layoutControls());
  buttons.push(el("button", { type: "button", id: "btn-leave", class: "danger", text: T.leave, onclick: leave }));
  controls.replaceChildren(...buttons);
}

// The presets a host may pick; a custom layout comes from the MCU operator's console.
const LAYOUT_CHOICES = [
  { kind: "single_speaker" },
  { kind: "one_plus_n", n: 3 },
  { kind: "one_plus_n", n: 5 },
  { kind: "grid_2x2" },
  { kind: "grid_3x3" },
];
// Which screens the layout menu sets; kept across redraws of the control bar.
let layoutScope = "everyone";

function layoutValue(layout) {
  if (!layout) return "";
  return layout.kind === "one_plus_n" ? `one_plus_${layout.n ?? 3}` : layout.kind;
}

function layoutName(layout) {
  return layout.kind === "one_plus_n" ? T.onePlusN(layout.n ?? 3) : T.layouts[layout.kind] ?? layout.kind;
}

function layoutControls() {
  const shown = layoutScope === "host" ? state.host_layout ?? state.layout : state.layout;
  const scope = el("select", {
    id: "layout-scope", "aria-label": T.layoutScope,
    onchange: () => {
      layoutScope = scope.value;
      renderControls();
    },
  },
  el("option", { value: "everyone", text: T.scopeEveryone, selected: layoutScope === "everyone" }),
  el("option", { value: "host", text: T.scopeHost, selected: layoutScope === "host" }));
  const menu = el("select", { id: "layout-select", "aria-label": T.layout });
  if (shown?.kind === "custom") {
    menu.append(el("option", { value: "custom", text: T.layouts.custom, disabled: true, selected: true }));
  }
  for (const choice of LAYOUT_CHOICES) {
    const value = layoutValue(choice);
    menu.append(el("option", { value, text: layoutName(choice), selected: value === layoutValue(shown) }));
  }
  menu.addEventListener("change", () => {
    const choice = LAYOUT_CHOICES.find((c) => layoutValue(c) === menu.value);
    if (!choice) return;
    const message = { scope: layoutScope, layout: choice.kind };
    if (choice.n) message.n = choice.n;
    command("set_layout", message);
  });
  const lock = el("button", {
    type: "button", id: "btn-lock", "data-command": "lock",
    text: state.locked ? T.unlock : T.lock,
    onclick: () => command("lock", { locked: !state.locked }),
  });
  return el("div", { class: "layout-controls" }, el("label", { class: "inline-label" }, T.layout, menu), scope, lock);
}

// ---- content sharing

async function startSharing() {
  let display;
  try {
    display = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
  } catch (error) {
    if (error.name !== "NotAllowedError") notice(`${T.shareFailed} ${error.message}`);
    return;
  }
  screenTrack = display.getVideoTracks()[0];
  // Slides and documents: keep text sharp rather than motion smooth.
  screenTrack.contentHint = "detail";
  screenTrack.addEventListener("ended", stopSharing);
  await transceivers().content?.sender.replaceTrack(screenTrack);
  // The host with control rights lets itself share; a member's content is dropped by the
  // server until the host (or the MCU operator) allows it.
  if (state?.you?.can_control) command("share_content", { peer: me });
  else notice(T.shareWaiting, "info");
  renderControls();
}

async function stopSharing() {
  const track = screenTrack;
  screenTrack = null;
  track?.stop();
  await transceivers().content?.sender.replaceTrack(null);
  // Only the sharer may stop its own sharing; asking otherwise would only earn an error.
  if (state?.sharing === me) command("stop_content");
  renderControls();
}

function leave() {
  if (state?.sharing === me) command("stop_content");
  end(T.left);
}

// ---- start

async function start() {
  setStatus(T.connecting, "connecting");
  renderControls();
  await takeMedia();
  renderControls();
  connect();
}

start();
