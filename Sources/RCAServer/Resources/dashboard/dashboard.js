"use strict";

// Every value that came from an alert is put on the page as text (text nodes,
// textContent, attributes), never parsed as HTML.

const token = sessionStorage.getItem("rca.token");
if (!token) location.replace("/login");
const me = JSON.parse(sessionStorage.getItem("rca.user") || "{}");
const rank = { viewer: 0, responder: 1, admin: 2 };
const canRespond = (rank[me.role] || 0) >= rank.responder;
const isAdmin = me.role === "admin";

const state = { tab: "open", cursor: null, search: "", modalTicket: null, actions: new Set() };
const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${token}`, ...(options.body ? { "Content-Type": "application/json" } : {}), ...(options.headers || {}) },
  });
  if (response.status === 401) {
    sessionStorage.clear();
    location.replace("/login");
    throw new Error("signed out");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || `HTTP ${response.status}`);
  }
  return response;
}
const getJSON = async (path) => (await api(path)).json();

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const value = Math.abs(seconds);
  if (value < 120) return `${Math.round(value)} s`;
  if (value < 7200) return `${Math.floor(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

function formatTime(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// Summary cards, tab counts and charts.
async function loadSummary() {
  const summary = await getJSON("/api/summary?days=14");
  $("card-total").textContent = summary.total;
  $("card-open").textContent = summary.open;
  $("card-in-progress").textContent = summary.in_progress;
  $("card-acknowledged").textContent = summary.acknowledged;
  $("card-breached").textContent = summary.sla_breached;
  $("card-mtta").textContent = formatDuration(summary.avg_ack_time_sec);
  $("card-mttr").textContent = summary.mttr_min === null || summary.mttr_min === undefined ? "–" : `${summary.mttr_min.toFixed(1)} min`;
  $("count-open").textContent = summary.open;
  $("count-in-progress").textContent = summary.in_progress;
  $("count-closed").textContent = summary.acknowledged;
  drawCharts(summary);
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attributes, text) {
  const node = document.createElementNS(svgNS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
const severityColors = { Critical: "var(--critical)", High: "var(--high)", Medium: "var(--medium)", Low: "var(--low)", Unknown: "var(--muted)" };

function drawCharts(summary) {
  const daily = $("chart-daily");
  daily.replaceChildren();
  const days = summary.days || [];
  const totals = days.map((day) => Object.values(day.by_severity).reduce((a, b) => a + b, 0));
  const maximum = Math.max(1, ...totals);
  const width = 400 / Math.max(1, days.length);
  days.forEach((day, index) => {
    let y = 140;
    for (const severity of ["Low", "Medium", "High", "Critical", "Unknown"]) {
      const count = day.by_severity[severity] || 0;
      if (!count) continue;
      const height = (count / maximum) * 125;
      y -= height;
      daily.append(svg("rect", { x: 10 + index * width, y, width: width * 0.8, height, fill: severityColors[severity] }));
    }
    if (index % 2 === 0) daily.append(svg("text", { x: 10 + index * width, y: 153 }, day.day.slice(5)));
  });
  daily.append(svg("text", { x: 2, y: 10 }, `max ${maximum}`));

  const trend = $("chart-mttr");
  trend.replaceChildren();
  const points = days.map((day, index) => [10 + index * width + width * 0.4, day.mttr_min]).filter(([, value]) => value !== null && value !== undefined);
  const top = Math.max(1, ...points.map(([, value]) => value));
  if (points.length) {
    const path = points.map(([x, value], index) => `${index ? "L" : "M"}${x.toFixed(1)},${(140 - (value / top) * 125).toFixed(1)}`).join(" ");
    trend.append(svg("path", { d: path, fill: "none", stroke: "var(--accent)", "stroke-width": 2 }));
    for (const [x, value] of points) trend.append(svg("circle", { cx: x, cy: 140 - (value / top) * 125, r: 2.5, fill: "var(--accent)" }));
  } else {
    trend.append(svg("text", { x: 150, y: 80 }, "no closed tickets yet"));
  }
  trend.append(svg("text", { x: 2, y: 10 }, `max ${top.toFixed(1)} min`));

  const pipelines = $("chart-pipelines");
  pipelines.replaceChildren();
  const groups = (summary.by_pipeline || []).slice(0, 6);
  const most = Math.max(1, ...groups.map((group) => group.tickets));
  groups.forEach((group, index) => {
    const y = 6 + index * 25;
    pipelines.append(svg("rect", { x: 150, y, width: (group.tickets / most) * 240, height: 16, fill: "var(--accent)" }));
    pipelines.append(svg("text", { x: 2, y: y + 12 }, group.name.length > 28 ? `${group.name.slice(0, 27)}…` : group.name));
    pipelines.append(svg("text", { x: 154 + (group.tickets / most) * 240, y: y + 12 }, String(group.tickets)));
  });
}

// Ticket lists.
function slaCell(ticket) {
  const cell = el("td", { class: "sla", "data-deadline": ticket.sla_deadline, "data-sla-status": ticket.sla_status, "data-status": ticket.status });
  renderSLA(cell);
  return cell;
}

function renderSLA(cell) {
  const status = cell.dataset.slaStatus;
  const deadline = cell.dataset.deadline;
  cell.classList.remove("amber", "red", "met");
  if (cell.dataset.status === "acknowledged" || status === "Met") {
    cell.textContent = status || "–";
    cell.classList.add(status === "Breached" ? "red" : "met");
    return;
  }
  if (status === "Breached") {
    cell.textContent = "Breached";
    cell.classList.add("red");
    return;
  }
  if (!deadline || deadline === "undefined" || deadline === "null") {
    cell.textContent = "pending analysis";
    return;
  }
  const remaining = (new Date(deadline).getTime() - Date.now()) / 1000;
  if (remaining <= 0) {
    cell.textContent = `Breached ${formatDuration(-remaining)} ago`;
    cell.classList.add("red");
  } else {
    const minutes = Math.floor(remaining / 60);
    const seconds = Math.floor(remaining % 60);
    cell.textContent = minutes >= 120 ? `${formatDuration(remaining)} left` : `${minutes}:${String(seconds).padStart(2, "0")} left`;
    if (remaining < 120) cell.classList.add("amber");
  }
}

function actionButtons(ticket) {
  const buttons = el("div", { class: "actions" });
  if (canRespond && ticket.status === "open") {
    buttons.append(el("button", { type: "button", class: "secondary", "data-action": "in_progress", onclick: (event) => changeStatus(event, ticket.id, "in_progress") }, "In progress"));
  }
  if (canRespond && ticket.status !== "acknowledged") {
    buttons.append(el("button", { type: "button", "data-action": "acknowledged", onclick: (event) => changeStatus(event, ticket.id, "acknowledged") }, "Acknowledge"));
  }
  if (isAdmin && ticket.status === "acknowledged") {
    buttons.append(el("button", { type: "button", class: "secondary", "data-action": "open", onclick: (event) => changeStatus(event, ticket.id, "open") }, "Reopen"));
  }
  return buttons;
}

function ticketRow(ticket) {
  return el(
    "tr",
    { "data-ticket-id": ticket.id, "data-status": ticket.status, onclick: () => openModal(ticket.id) },
    el("td", {}, ticket.id),
    el("td", { class: "pipeline" }, ticket.pipeline || "–"),
    el("td", {}, ticket.severity ? el("span", { class: `badge ${ticket.severity}` }, ticket.severity) : "–"),
    el("td", {}, ticket.priority || "–"),
    slaCell(ticket),
    el("td", {}, ticket.error_type || (ticket.analysis_state === "pending" ? "analyzing…" : "–")),
    el("td", {}, ticket.finops_team || "–"),
    el("td", {}, formatTime(ticket.first_seen)),
    el("td", {}, actionButtons(ticket)),
  );
}

async function loadTickets(reset = true) {
  if (reset) state.cursor = null;
  const query = new URLSearchParams({ limit: "50" });
  if (state.search) query.set("q", state.search);
  if (state.cursor) query.set("cursor", state.cursor);
  const page = await getJSON(`/api/${state.tab}-tickets?${query}`);
  const rows = page.tickets.map(ticketRow);
  if (reset) $("ticket-rows").replaceChildren(...rows);
  else $("ticket-rows").append(...rows);
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  $("empty").hidden = $("ticket-rows").children.length > 0;
}

async function changeStatus(event, id, status) {
  event.stopPropagation();
  event.target.disabled = true;
  try {
    await api(`/api/tickets/${encodeURIComponent(id)}/status`, { method: "POST", body: JSON.stringify({ status }) });
    await refresh();
  } catch (failure) {
    alert(failure.message);
  } finally {
    event.target.disabled = false;
  }
}

// The failure categories a responder may correct an analysis to.
const categories = [
  "missing_input_data", "schema_mismatch", "data_quality", "out_of_memory", "resource_exhausted_or_quota", "cluster_launch_failure",
  "node_or_spot_loss", "timeout", "network_connectivity", "authentication_failed", "permission_denied", "configuration_error",
  "dependency_or_library_failure", "upstream_dependency_failed", "concurrency_conflict", "code_error", "platform_outage",
];

// Fills the correction form from the analysis, unless the responder has it
// open: a live refresh of the modal must not throw away what they type.
function fillCorrection(ticket, detail) {
  const form = $("correction");
  form.hidden = !canRespond || ticket.analysis_state !== "done";
  if (form.open) return;
  $("correction-category").replaceChildren(...categories.map((category) =>
    el("option", { value: category, selected: category === ticket.category }, category.replaceAll("_", " "))));
  $("correction-error-type").value = ticket.error_type || "";
  $("correction-root-cause").value = ticket.rca_result || "";
  $("correction-evidence").value = detail.evidence[0] || "";
  $("correction-recommendations").value = "";
}

async function submitCorrection(event) {
  event.preventDefault();
  const id = state.modalTicket;
  const evidence = $("correction-evidence").value.trim();
  const body = {
    category: $("correction-category").value,
    root_cause: $("correction-root-cause").value,
    error_type: $("correction-error-type").value.trim(),
    evidence: evidence ? [evidence] : [],
    recommendations: $("correction-recommendations").value.split("\n").map((line) => line.trim()).filter(Boolean),
  };
  $("correction-submit").disabled = true;
  $("correction-status").textContent = "saving…";
  try {
    await api(`/api/tickets/${encodeURIComponent(id)}/correction`, { method: "POST", body: JSON.stringify(body) });
    $("correction").open = false;
    $("correction-status").textContent = "";
    await refresh();
  } catch (failure) {
    $("correction-status").textContent = failure.message;
  } finally {
    $("correction-submit").disabled = false;
  }
}

// The ticket modal.
async function openModal(id) {
  if (state.modalTicket !== id) {
    $("correction").open = false;
    $("correction-status").textContent = "";
  }
  state.modalTicket = id;
  const detail = await getJSON(`/api/tickets/${encodeURIComponent(id)}`);
  const ticket = detail.ticket;
  $("modal-title").textContent = `${ticket.id} · ${ticket.pipeline || "unnamed pipeline"}`;
  $("modal-meta").textContent = [
    `${ticket.severity || "?"} / ${ticket.priority || "?"}`,
    `status ${ticket.status}`,
    `SLA ${ticket.sla_status || "–"}`,
    `source ${ticket.source}`,
    ticket.run_id ? `run ${ticket.run_id}` : null,
    ticket.finops_team ? `team ${ticket.finops_team}` : null,
    `${ticket.occurrence_count} occurrence(s)`,
  ].filter(Boolean).join(" · ");
  $("modal-actions").replaceChildren(actionButtons(ticket));
  $("modal-root-cause").textContent = ticket.rca_result || (ticket.analysis_state === "pending" ? "Analysis in progress…" : "No analysis.");
  $("modal-classification").textContent = [
    ticket.category && `category ${ticket.category}`,
    ticket.error_type && `error type ${ticket.error_type}`,
    ticket.confidence && `confidence ${ticket.confidence}`,
    detail.analysis_engine && `engine ${detail.analysis_engine}${detail.analysis_model ? ` (${detail.analysis_model})` : ""}`,
    detail.auto_heal_possible ? "a re-run may fix it" : null,
  ].filter(Boolean).join(" · ");
  fillCorrection(ticket, detail);
  $("modal-recommendations").replaceChildren(...detail.recommendations.map((step) => el("li", {}, step)));
  $("modal-evidence").replaceChildren(...(detail.evidence.length ? detail.evidence.map((phrase) => el("li", {}, phrase)) : [el("li", { class: "muted" }, "none")]));
  $("modal-error").textContent = detail.error_message || "";
  const links = [];
  const safeURL = (url) => (typeof url === "string" && /^https?:\/\//.test(url) ? url : null);
  for (const delivery of detail.deliveries) {
    const label = delivery.channel === "jira" ? `Jira issue ${delivery.remote_id}` : delivery.channel === "slack" ? `Slack message ${delivery.remote_id}` : `${delivery.channel}: ${delivery.remote_id || "not delivered"}`;
    const url = safeURL(delivery.url);
    links.push(el("li", {}, url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label) : label, delivery.last_error ? ` (last error: ${delivery.last_error})` : ""));
  }
  if (detail.recurrence_of) links.push(el("li", {}, "Recurrence of ", el("a", { href: "#", onclick: (event) => { event.preventDefault(); openModal(detail.recurrence_of); } }, detail.recurrence_of)));
  for (const link of detail.links) {
    links.push(el("li", {}, `${link.relation.replaceAll("_", " ")} `, el("a", { href: "#", onclick: (event) => { event.preventDefault(); openModal(link.ticket_id); } }, link.ticket_id)));
  }
  $("modal-links").replaceChildren(...(links.length ? links : [el("li", { class: "muted" }, "none")]));
  $("modal-recurrences").replaceChildren(...(detail.recurrences.length
    ? detail.recurrences.map((recurrence) => el("li", {}, `${formatTime(recurrence.first_seen)} · ${recurrence.id}${recurrence.run_id ? ` · run ${recurrence.run_id}` : ""}`))
    : [el("li", { class: "muted" }, "none")]));
  $("modal-audit").replaceChildren(...detail.audit.map((entry) => el("li", {}, `${formatTime(entry.timestamp)} · ${entry.action}${entry.user ? ` by ${entry.user}` : ""}${entry.details ? ` · ${entry.details}` : ""}`)));
  if (!$("ticket-modal").open) $("ticket-modal").showModal();
}

// The audit viewer.
async function loadAudit() {
  const action = $("audit-action").value;
  const page = await getJSON(`/api/audit-trail?limit=50${action ? `&action=${encodeURIComponent(action)}` : ""}`);
  $("audit-rows").replaceChildren(...page.entries.map((entry) => el("tr", {},
    el("td", {}, formatTime(entry.timestamp)), el("td", {}, entry.ticket_id), el("td", {}, entry.action), el("td", {}, entry.user_name || "–"), el("td", {}, entry.details || ""))));
  for (const name of page.actions) {
    if (state.actions.has(name)) continue;
    state.actions.add(name);
    $("audit-action").append(el("option", { value: name }, name));
  }
}

async function exportTab() {
  const response = await api(`/api/export/${state.tab}-tickets`);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: `${state.tab}-tickets.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function refresh() {
  await Promise.all([loadSummary(), loadTickets(true), loadAudit()]);
  if (state.modalTicket && $("ticket-modal").open) await openModal(state.modalTicket);
}

// Live updates: reconnect with backoff instead of reloading the page.
let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), 250);
}

let backoff = 1000;
function connect() {
  const indicator = $("connection");
  indicator.dataset.state = "connecting";
  indicator.textContent = "connecting…";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
  socket.addEventListener("open", () => {
    backoff = 1000;
    indicator.dataset.state = "live";
    indicator.textContent = "live";
    scheduleRefresh();
  });
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type !== "hello") scheduleRefresh();
  });
  socket.addEventListener("close", () => {
    indicator.dataset.state = "offline";
    indicator.textContent = `offline, retrying in ${Math.round(backoff / 1000)} s`;
    setTimeout(connect, backoff + Math.random() * 500);
    backoff = Math.min(backoff * 2, 30000);
  });
}

function selectTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll("[role=tab]")) button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  loadTickets(true).catch((failure) => alert(failure.message));
}

document.addEventListener("DOMContentLoaded", () => {
  $("whoami").textContent = me.email ? `${me.email} (${me.role})` : "";
  $("logout").addEventListener("click", async () => {
    // Ends the session on the server too, so a copied token stops working.
    await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
    sessionStorage.clear();
    location.replace("/login");
  });
  for (const button of document.querySelectorAll("[role=tab]")) button.addEventListener("click", () => selectTab(button.dataset.tab));
  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.search = $("search").value.trim(); loadTickets(true); }, 250);
  });
  $("more").addEventListener("click", () => loadTickets(false));
  $("export").addEventListener("click", () => exportTab().catch((failure) => alert(failure.message)));
  $("audit-action").addEventListener("change", () => loadAudit());
  $("correction-form").addEventListener("submit", submitCorrection);
  $("modal-close").addEventListener("click", () => { state.modalTicket = null; $("ticket-modal").close(); });
  $("ticket-modal").addEventListener("close", () => { state.modalTicket = null; });
  setInterval(() => document.querySelectorAll("td.sla").forEach(renderSLA), 1000);
  refresh().catch((failure) => console.error(failure));
  connect();
});
