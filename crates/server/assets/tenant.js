// The tenant's view: the API key typed into the form is kept in this script's memory only and
// sent as a bearer header to /v1/routes (never in an address or in storage).
"use strict";

let key = "";
let next = null;

function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

const STATUS = {
  pending: "○ Pending", running: "◑ Running", awaiting_signature: "✎ Waiting for a signature",
  completed: "✓ Completed", failed: "✗ Failed", cancelled: "⊘ Cancelled",
};
const LEG = {
  planned: "○", prepared: "◔", awaiting_signature: "✎", submitted: "◑",
  accepted_on_l2: "◕", final_on_l1: "✓", failed: "✗", cancelled: "⊘",
};

async function load(append) {
  const status = document.getElementById("status").value;
  const params = new URLSearchParams();
  if (status) params.set("status", status);
  if (append && next) params.set("cursor", next);
  const msg = document.getElementById("message");
  msg.textContent = "Loading…";
  let res;
  try {
    res = await fetch(`/v1/routes?${params}`, { headers: { Authorization: `Bearer ${key}` }, cache: "no-store" });
  } catch (e) {
    msg.textContent = `The server did not answer (${e.message}).`;
    return;
  }
  if (res.status === 401) { msg.textContent = "That API key is not valid."; return; }
  if (!res.ok) { msg.textContent = `The server answered ${res.status}.`; return; }
  const page = await res.json();
  next = page.next;
  const tbody = document.querySelector("#routes tbody");
  if (!append) tbody.replaceChildren();
  for (const r of page.routes) {
    const tr = el("tr");
    const idCell = el("td"); idCell.append(el("code", r.id)); idCell.append(el("div", r.summary));
    tr.append(idCell);
    const st = el("td", STATUS[r.status] || r.status); st.dataset.status = r.status; tr.append(st);
    tr.append(el("td", r.legs.map((l) => `${LEG[l.status] || "?"} ${l.status.replace(/_/g, " ")}`).join(" → ")));
    tr.append(el("td", r.live_eta && r.status !== "failed" && r.status !== "cancelled" ? new Date(r.live_eta.expected_at).toLocaleString() : "–"));
    tr.append(el("td", new Date(r.created_at).toLocaleString()));
    tbody.append(tr);
  }
  document.getElementById("routes").hidden = false;
  document.getElementById("more").hidden = !next;
  msg.textContent = `${tbody.children.length} route(s)${next ? ", more available" : ""}.`;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("key");
    if (input.value) key = input.value;
    input.value = "";
    input.required = false;
    input.placeholder = "(kept for this page)";
    next = null;
    load(false);
  });
  document.getElementById("status").addEventListener("change", () => { if (key) { next = null; load(false); } });
  document.getElementById("more").addEventListener("click", () => load(true));
});
