// The status page: reads the node's API (same origin, session cookie), updates live from server-sent
// events, and sends the CSRF token (from the pinhole-csrf cookie) with every change.
"use strict";

const $ = (id) => document.getElementById(id);

function csrfToken() {
  const match = document.cookie.split("; ").find((c) => c.startsWith("pinhole-csrf="));
  return match ? decodeURIComponent(match.substring("pinhole-csrf=".length)) : "";
}

async function api(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": csrfToken() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (!response.ok) {
    let detail = response.status + " " + response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1073741824) return (n / 1048576).toFixed(2) + " MiB";
  return (n / 1073741824).toFixed(2) + " GiB";
}

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  if (seconds >= 86400) return Math.floor(seconds / 86400) + "d" + Math.floor((seconds % 86400) / 3600) + "h";
  if (seconds >= 3600) return Math.floor(seconds / 3600) + "h" + Math.floor((seconds % 3600) / 60) + "m";
  if (seconds >= 60) return Math.floor(seconds / 60) + "m" + (seconds % 60) + "s";
  return seconds + "s";
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

let aliases = {};

function showConnections(connections) {
  const body = $("connections").querySelector("tbody");
  body.replaceChildren();
  for (const c of connections) {
    const row = document.createElement("tr");
    row.dataset.peer = c.peerId;
    row.dataset.state = c.state;
    cell(row, c.peerId).className = "peer";
    cell(row, aliases[c.peerId] || "-");
    cell(row, c.path + " " + (c.remoteAddress || c.netlayer) + (c.state === "active" ? "" : " (" + c.state + ")")).className = "path";
    cell(row, c.direction);
    cell(row, c.rttMs == null ? "-" : c.rttMs.toFixed(3) + " ms", "num rtt");
    cell(row, bytes(c.bytesSent), "num sent");
    cell(row, bytes(c.bytesReceived), "num received");
    cell(row, duration(c.ageSeconds), "num");
    const actions = cell(row, "");
    const button = document.createElement("button");
    button.textContent = "Disconnect";
    button.className = "disconnect";
    button.addEventListener("click", () => run(() => api("DELETE", "/v1/connections/" + encodeURIComponent(c.peerId)), "Disconnected " + c.peerId));
    actions.appendChild(button);
    body.appendChild(row);
  }
  $("no-connections").hidden = connections.length > 0;
}

async function refreshPeers() {
  const peers = await api("GET", "/v1/peers");
  aliases = {};
  const body = $("peers").querySelector("tbody");
  body.replaceChildren();
  for (const p of peers) {
    if (p.alias) aliases[p.peerId] = p.alias;
    const row = document.createElement("tr");
    row.dataset.peer = p.peerId;
    cell(row, p.peerId);
    cell(row, p.alias || "-");
    cell(row, p.trust);
    cell(row, p.keepConnected ? "yes" : "no");
    cell(row, p.lastSeen ? new Date(p.lastSeen).toLocaleString() : "never");
    cell(row, p.addresses.map((a) => a.address + " (" + a.source + ")").join(", ") || "-");
    body.appendChild(row);
  }
}

async function refreshStatus() {
  const status = await api("GET", "/v1/status");
  $("peer-id").textContent = status.peerId;
  $("state").textContent = status.state;
  $("uptime").textContent = "up " + duration(status.uptimeSeconds);
  const list = $("addresses");
  list.replaceChildren();
  for (const address of status.addresses) {
    const item = document.createElement("li");
    item.textContent = address;
    list.appendChild(item);
  }
}

async function run(action, success) {
  const message = $("message");
  try {
    await action();
    message.className = "";
    message.textContent = success;
  } catch (e) {
    message.className = "error";
    message.textContent = e.message;
  }
}

function listen() {
  const events = new EventSource("/v1/events?stats=2");
  events.onopen = () => { $("live").className = "badge on"; $("live").textContent = "live"; };
  events.onerror = () => { $("live").className = "badge off"; $("live").textContent = "reconnecting"; };
  events.addEventListener("connections", (e) => showConnections(JSON.parse(e.data).connections || []));
  for (const type of ["peer.connected", "peer.disconnected", "path.changed"]) {
    events.addEventListener(type, async () => {
      await refreshPeers();
      showConnections(await api("GET", "/v1/connections"));
    });
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("connect").addEventListener("submit", (e) => {
    e.preventDefault();
    const target = $("connect-address").value.trim();
    if (!target) return;
    const isAddress = target.startsWith("/") || target.includes(":");
    run(async () => {
      const c = isAddress
        ? await api("POST", "/v1/connections", { address: target })
        : await api("PUT", "/v1/connections/" + encodeURIComponent(target));
      await refreshPeers();
      showConnections(await api("GET", "/v1/connections"));
      return c;
    }, "Connected to " + target);
  });
  await run(async () => {
    await refreshStatus();
    await refreshPeers();
    showConnections(await api("GET", "/v1/connections"));
  }, "");
  listen();
  setInterval(() => refreshStatus().catch(() => {}), 5000);
});
