// The route-tracking page: reads the route with the view token from the page's own address,
// then follows its events (Server-Sent Events) and redraws on each, without a reload. Everything
// is written with textContent (never as HTML); amounts are exact (BigInt), never floats.
"use strict";

const LAYERS = { l1: "Ethereum (L1)", starknet: "Starknet", starkex: "StarkEx" };
const LEG_STATUS = {
  planned: ["○", "Not started", "s-todo"],
  prepared: ["◔", "Prepared", "s-run"],
  awaiting_signature: ["✎", "Waiting for a signature", "s-wait"],
  submitted: ["◑", "Sent, waiting for its layer", "s-run"],
  accepted_on_l2: ["◕", "Accepted on L2, waiting for L1", "s-run"],
  final_on_l1: ["✓", "Done", "s-done"],
  failed: ["✗", "Failed", "s-bad"],
  cancelled: ["⊘", "Cancelled", "s-bad"],
};
const ROUTE_STATUS = {
  pending: ["○", "Not started yet"],
  running: ["◑", "In progress"],
  awaiting_signature: ["✎", "Waiting for a signature"],
  completed: ["✓", "Completed: the asset has arrived"],
  failed: ["✗", "Failed"],
  cancelled: ["⊘", "Cancelled"],
};
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

const id = decodeURIComponent(location.pathname.split("/")[2] || "");
const token = new URLSearchParams(location.search).get("t") || "";
const q = "?t=" + encodeURIComponent(token);
let source = null;
let refreshing = null;
let lastStatus = null;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function eth(wei) {
  // Wei (a decimal string) as ETH, exactly: integer division, trailing zeros cut.
  let w;
  try { w = BigInt(wei); } catch (_) { return String(wei); }
  const unit = 10n ** 18n;
  const whole = w / unit;
  const frac = (w % unit).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac} ETH` : `${whole} ETH`;
}

function short(s) {
  s = String(s);
  return s.length > 20 ? `${s.slice(0, 10)}…${s.slice(-8)}` : s;
}

function position(p) {
  if (!p) return "–";
  const holder = p.holder && p.holder.id !== undefined ? p.holder.id : "";
  const claim = p.holding === "claimable" ? " (to be claimed)" : "";
  return `${LAYERS[p.layer] || p.layer} · ${short(holder)}${claim}`;
}

function duration(secs) {
  secs = Math.max(0, Math.round(secs));
  if (secs < 60) return `${secs} s`;
  const m = Math.floor(secs / 60);
  if (m < 60) return `${m} min ${secs % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days ${h % 24} h`;
}

// Each countdown counts down from the remaining time the server gave, on this device's clock.
function countdown(node, remainingSecs) {
  node.dataset.deadline = String(Date.now() + remainingSecs * 1000);
  tick(node);
}

function tick(node) {
  const left = (Number(node.dataset.deadline) - Date.now()) / 1000;
  node.textContent = left > 0 ? `about ${duration(left)} left` : "any moment now (re-estimating)";
}

function assetAt(r) {
  if (r.outcome && r.outcome.asset_at) return r.outcome.asset_at.position;
  let at = r.legs.length ? r.legs[0].from : null;
  for (const l of r.legs) if (l.status === "final_on_l1") at = l.to;
  return at;
}

function legItem(l, routeDone) {
  const li = el("li");
  li.dataset.leg = String(l.index);
  li.dataset.status = l.status;
  const [icon, text, cls] = LEG_STATUS[l.status] || ["?", l.status, "s-todo"];
  li.append(el("h3", `Step ${l.index + 1} · ${LAYERS[l.layer] || l.layer}`));
  li.append(el("p", l.description));
  const badge = el("p", `${icon} ${text}`, `badge leg-status ${cls}`);
  li.append(badge);
  const dl = el("dl", undefined, "leg-facts");
  const fact = (k, v) => { dl.append(el("dt", k)); const dd = el("dd"); dd.append(v); dl.append(dd); return dd; };
  fact("From", position(l.from));
  fact("To", position(l.to));
  const fee = (l.fees || []).reduce((a, f) => { try { return a + BigInt(f.amount_wei); } catch (_) { return a; } }, 0n);
  fact("Fees", eth(fee.toString()));
  if (l.live_eta && l.status !== "final_on_l1" && !routeDone) {
    const span = el("span", undefined, "countdown");
    countdown(span, l.live_eta.remaining_secs);
    const dd = fact("Expected", span);
    dd.append(` (by ${new Date(Date.now() + l.live_eta.remaining_secs * 1000).toLocaleString()})`);
  }
  if (l.submission) {
    let v = el("span", short(l.submission), "mono");
    if (l.explorer_url && /^https?:\/\//.test(l.explorer_url)) {
      v = el("a", `${short(l.submission)} (explorer)`, "mono explorer");
      v.href = l.explorer_url;
      v.rel = "noopener noreferrer";
    }
    fact("Transaction", v);
  }
  if (l.last_error && l.status !== "final_on_l1") fact("Last error", l.last_error);
  if (l.status === "awaiting_signature" && l.signature_request) {
    const s = l.signature_request;
    const box = el("div", undefined, "sign");
    box.append(el("h4", "Your signature is needed"));
    box.append(el("p", `Sign this hash (${s.scheme}) with the key of ${short(s.signer && s.signer.id !== undefined ? s.signer.id : JSON.stringify(s.signer))}, in the app that gave you this link:`));
    box.append(el("p", s.hash, "mono"));
    li.append(box);
  }
  li.append(dl);
  return li;
}

function render(r) {
  document.getElementById("summary").textContent = r.summary;
  const st = document.getElementById("route-status");
  const [icon, text] = ROUTE_STATUS[r.status] || ["?", r.status];
  st.textContent = `${icon} ${text}`;
  st.dataset.status = r.status;
  const done = TERMINAL.has(r.status);
  const eta = document.getElementById("route-eta");
  eta.textContent = "";
  if (r.status === "completed") eta.textContent = `done at ${new Date(r.updated_at).toLocaleString()}`;
  else if (done || !r.live_eta) eta.textContent = "–";
  else {
    const span = el("span", undefined, "countdown");
    countdown(span, r.live_eta.remaining_secs);
    eta.append(span);
    const lo = r.live_eta.remaining.min_secs, hi = r.live_eta.remaining.max_secs;
    eta.append(` (between ${duration(lo)} and ${duration(hi)}; ${r.live_eta.source === "observed" ? "from what recent transfers took" : "from the model"})`);
  }
  document.getElementById("asset-at").textContent = position(assetAt(r));
  document.getElementById("route-fees").textContent = eth(r.total_fee_wei);
  const action = document.getElementById("action");
  action.textContent = "";
  action.hidden = true;
  if (r.status === "failed" && r.outcome) {
    action.hidden = false;
    action.append(el("p", `What to do: ${r.outcome.instructions || r.outcome.recovery || "see the service that gave you this link"}`));
  }
  const ol = document.getElementById("legs");
  ol.replaceChildren(...r.legs.map((l) => legItem(l, done)));
  lastStatus = r.status;
  if (done && source) {
    source.close();
    source = null;
    document.getElementById("live").textContent = "Finished.";
  }
}

async function refresh() {
  refreshing = null;
  try {
    const res = await fetch(`/track/${encodeURIComponent(id)}/route${q}`, { cache: "no-store" });
    if (res.status === 404) {
      document.getElementById("route-status").textContent = "This tracking link is not valid (any more).";
      document.getElementById("route-status").dataset.status = "not_found";
      if (source) source.close();
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
  } catch (e) {
    document.getElementById("live").textContent = `Could not load the route (${e.message}); retrying…`;
  }
}

function soon() {
  if (!refreshing) refreshing = setTimeout(refresh, 150);
}

function follow() {
  source = new EventSource(`/track/${encodeURIComponent(id)}/events${q}`);
  source.onopen = () => { document.getElementById("live").textContent = "Live."; };
  source.onmessage = soon;
  source.onerror = () => {
    if (TERMINAL.has(lastStatus)) { if (source) source.close(); return; }
    document.getElementById("live").textContent = "Reconnecting…";
  };
}

document.addEventListener("DOMContentLoaded", async () => {
  await refresh();
  if (!TERMINAL.has(lastStatus) && lastStatus !== null) follow();
  setInterval(() => document.querySelectorAll("[data-deadline]").forEach(tick), 1000);
  // The ETA is re-estimated on the server as time passes: ask again now and then.
  setInterval(() => { if (!TERMINAL.has(lastStatus) && lastStatus !== null) soon(); }, 15000);
});
