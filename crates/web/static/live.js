// Keeps a server-rendered page current without a reload.
//
// The page names its event stream in `data-live-source` and marks the parts that may change
// with `data-live` and an id. When the server says something changed, the page fetches
// itself again and swaps those parts for their fresh versions, so everything shown is still
// rendered by the server with the reader's own permissions. A part that holds the focus
// (someone is typing an answer in it) is left alone until the focus leaves it.

const source = document.querySelector("[data-live-source]");
const note = document.getElementById("live-note");

let refreshing = false;
let again = false;
const waiting = new Set();

function swap(fresh) {
  for (const part of document.querySelectorAll("[data-live][id]")) {
    const next = fresh.getElementById(part.id);
    if (!next) continue;
    if (part.contains(document.activeElement)) {
      waiting.add(part.id);
      continue;
    }
    waiting.delete(part.id);
    part.replaceWith(document.importNode(next, true));
  }
}

async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const response = await fetch(location.pathname + location.search, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (response.ok) {
      const html = await response.text();
      swap(new DOMParser().parseFromString(html, "text/html"));
      document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || 0) + 1);
    }
  } catch (error) {
    console.warn("live refresh failed", error);
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

if (source) {
  const events = new EventSource(source.dataset.liveSource);
  events.addEventListener("open", () => {
    if (note) note.hidden = false;
  });
  events.addEventListener("error", () => {
    if (note) note.hidden = true;
  });
  events.addEventListener("session", refresh);
  document.addEventListener("focusout", () => {
    if (waiting.size > 0) setTimeout(refresh, 0);
  });
  // Pages with countdowns ask to be refreshed on a clock too, so "còn 12 phút" keeps
  // counting between events (the server computes every figure; nothing is guessed here).
  const every = Number(source.dataset.liveEvery || 0);
  if (every > 0) setInterval(refresh, every * 1000);
}
