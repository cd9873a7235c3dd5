"use strict";

// Every value that came from an alert is put on the page as text (text nodes,
// textContent, attributes), never parsed as HTML.

const token = sessionStorage.getItem("rca.token");
if (!token) location.replace("/login");
const me = JSON.parse(sessionStorage.getItem("rca.user") || "{}");
const rank = { viewer: 0, responder: 1, admin: 2 };
const canRespond = (rank[me.role] || 0) >= rank.responder;
const isAdmin = me.role === "admin";

const filterFields = ["source", "severity", "priority", "team", "sla_status", "assignee", "range", "sort"];
const state = {
  tab: "open", cursor: null, search: "", filters: {}, modalTicket: null, actions: new Set(), sources: new Set(),
  selected: new Set(), auditBefore: null, assignees: [],
};
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

// Failures are shown to the user, never swallowed: a request that cannot
// reach the server says so instead of doing nothing.
function showError(message) {
  $("error-text").textContent = message;
  $("error-banner").hidden = false;
}

function clearError() {
  $("error-banner").hidden = true;
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${token}`, ...(options.body ? { "Content-Type": "application/json" } : {}), ...(options.headers || {}) },
    });
  } catch {
    throw new Error("The server cannot be reached. Check your connection; the page reconnects by itself.");
  }
  if (response.status === 401) {
    sessionStorage.clear();
    location.replace("/login");
    throw new Error("signed out");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || `The server answered HTTP ${response.status}.`);
  }
  return response;
}
const getJSON = async (path) => (await api(path)).json();
const postJSON = (path, body) => api(path, { method: "POST", body: JSON.stringify(body) });
const ticketPath = (id) => `/api/tickets/${encodeURIComponent(id)}`;

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

// Lists show the short form; the full time is in the cell's tooltip.
function shortTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso || "–";
  return date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

const statusNames = { open: "open", acknowledged: "acknowledged", in_progress: "in progress", resolved: "resolved" };

// Filters and the search live in the URL, so that a filtered view can be
// bookmarked and shared, and the ticket modal in the fragment (#ticket=ID),
// which is where Slack's "Open in dashboard" points.
function readURL() {
  const query = new URLSearchParams(location.search);
  state.tab = ["open", "in-progress", "closed", "all"].includes(query.get("tab")) ? query.get("tab") : "open";
  state.search = query.get("q") || "";
  state.filters = {};
  for (const field of filterFields) if (query.get(field)) state.filters[field] = query.get(field);
}

function writeURL() {
  const query = new URLSearchParams();
  if (state.tab !== "open") query.set("tab", state.tab);
  if (state.search) query.set("q", state.search);
  for (const field of filterFields) if (state.filters[field]) query.set(field, state.filters[field]);
  const text = query.toString();
  history.replaceState(null, "", `${location.pathname}${text ? `?${text}` : ""}${location.hash}`);
}

function showFilters() {
  $("search").value = state.search;
  const controls = { source: "filter-source", severity: "filter-severity", priority: "filter-priority", team: "filter-team",
    sla_status: "filter-sla", assignee: "filter-owner", range: "filter-range", sort: "filter-sort" };
  for (const [field, id] of Object.entries(controls)) {
    const control = $(id);
    const value = state.filters[field] || "";
    if (control.tagName === "SELECT" && value && ![...control.options].some((option) => option.value === value)) {
      control.append(el("option", { value }, value));
    }
    control.value = value;
  }
  for (const button of document.querySelectorAll("[role=tab]")) button.setAttribute("aria-selected", String(button.dataset.tab === state.tab));
  const sort = state.filters.sort || (state.tab === "closed" ? "newest" : "priority");
  $("sort-priority-header").setAttribute("aria-sort", sort === "priority" ? "ascending" : "none");
  $("sort-time-header").setAttribute("aria-sort", sort === "newest" ? "descending" : sort === "oldest" ? "ascending" : "none");
}

const ranges = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

function listQuery() {
  const query = new URLSearchParams();
  if (state.search) query.set("q", state.search);
  for (const field of ["source", "severity", "priority", "team", "sla_status", "assignee", "sort"]) {
    if (state.filters[field]) query.set(field, state.filters[field]);
  }
  if (ranges[state.filters.range]) query.set("since", new Date(Date.now() - ranges[state.filters.range] * 1000).toISOString());
  return query;
}

// Summary cards, tab counts, the title and charts.
async function loadSummary() {
  const summary = await getJSON("/api/summary?days=14");
  $("card-total").textContent = summary.total;
  $("card-open").textContent = summary.open;
  $("card-acknowledged").textContent = summary.acknowledged;
  $("card-in-progress").textContent = summary.in_progress;
  $("card-resolved").textContent = summary.resolved;
  $("card-breached").textContent = summary.sla_breached;
  $("card-mtta").textContent = formatDuration(summary.avg_ack_time_sec);
  $("card-mttr").textContent = summary.mttr_min === null || summary.mttr_min === undefined ? "–" : `${summary.mttr_min.toFixed(1)} min`;
  $("count-open").textContent = summary.open + summary.acknowledged;
  $("count-in-progress").textContent = summary.in_progress;
  $("count-closed").textContent = summary.resolved;
  $("count-all").textContent = summary.total;
  const urgent = (summary.open_by_priority || {}).P1 || 0;
  document.title = urgent ? `(${urgent} open P1) RCA Assistant` : "RCA Assistant";
  for (const source of Object.keys(summary.by_source || {})) {
    if (state.sources.has(source) || source === "unknown") continue;
    state.sources.add(source);
    $("filter-source").append(el("option", { value: source }, source));
  }
  $("teams").replaceChildren(...(summary.by_team || []).filter((group) => group.name !== "(none)").map((group) => el("option", { value: group.name })));
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
    trend.append(svg("text", { x: 150, y: 80 }, "no resolved tickets yet"));
  }
  trend.append(svg("text", { x: 2, y: 10 }, `max ${top.toFixed(1)} min`));

  const pipelines = $("chart-pipelines");
  pipelines.replaceChildren();
  const groups = (summary.by_pipeline || []).slice(0, 6);
  const most = Math.max(1, ...groups.map((group) => group.occurrences));
  groups.forEach((group, index) => {
    const y = 6 + index * 25;
    pipelines.append(svg("rect", { x: 150, y, width: (group.occurrences / most) * 170, height: 16, fill: "var(--accent)" }));
    pipelines.append(svg("text", { x: 2, y: y + 12 }, group.name.length > 28 ? `${group.name.slice(0, 27)}…` : group.name));
    pipelines.append(svg("text", { x: 154 + (group.occurrences / most) * 170, y: y + 12 }, `${group.occurrences} (${group.tickets} ticket${group.tickets === 1 ? "" : "s"})`));
  });
}

// Ticket lists.
function slaCell(ticket) {
  const cell = el("td", { class: "sla", "data-label": "SLA", "data-deadline": ticket.sla_deadline, "data-sla-status": ticket.sla_status, "data-status": ticket.status });
  renderSLA(cell);
  return cell;
}

// The SLA is to acknowledge: once anyone has the ticket, its outcome is settled.
function renderSLA(cell) {
  const status = cell.dataset.slaStatus;
  const deadline = cell.dataset.deadline;
  cell.classList.remove("amber", "red", "met");
  if (cell.dataset.status !== "open" || status === "Met") {
    cell.textContent = status || "–";
    if (status) cell.classList.add(status === "Breached" ? "red" : "met");
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
  if (!canRespond) return buttons;
  const button = (status, label, primary) => el("button", {
    type: "button", class: primary ? null : "secondary", "data-action": status,
    "aria-label": `${label} ${ticket.id}`, onclick: (event) => changeStatus(event, [ticket.id], status),
  }, label);
  if (ticket.status === "open") buttons.append(button("acknowledged", "Acknowledge", true));
  if (ticket.status === "open" || ticket.status === "acknowledged") buttons.append(button("in_progress", "Start work"));
  if (ticket.status !== "resolved") buttons.append(button("resolved", "Resolve", ticket.status !== "open"));
  if (ticket.status === "resolved" && isAdmin) buttons.append(button("open", "Reopen"));
  return buttons;
}

// A link (so that it opens from the keyboard and can be copied) that also
// reopens its ticket when the fragment already names it.
function ticketLink(id) {
  return el("a", { href: `#ticket=${encodeURIComponent(id)}`, class: "ticket-link", onclick: (event) => { event.preventDefault(); openTicket(id); } }, id);
}

function ticketRow(ticket) {
  const checkbox = canRespond && ticket.status !== "resolved"
    ? el("input", { type: "checkbox", class: "select-ticket", "aria-label": `Select ${ticket.id}`, checked: state.selected.has(ticket.id),
      onchange: (event) => { if (event.target.checked) state.selected.add(ticket.id); else state.selected.delete(ticket.id); showSelection(); } })
    : null;
  const rootCause = ticket.rca_result || "";
  return el(
    "tr",
    { "data-ticket-id": ticket.id, "data-status": ticket.status, onclick: (event) => {
      if (event.target.closest("a, button, input, select, label")) return;
      openTicket(ticket.id);
    } },
    el("td", { class: "select" }, checkbox),
    el("td", { "data-label": "Ticket" }, ticketLink(ticket.id)),
    el("td", { class: "pipeline", "data-label": "Pipeline" }, ticket.pipeline || "–"),
    el("td", { "data-label": "Status" }, el("span", { class: `status ${ticket.status}` }, statusNames[ticket.status] || ticket.status)),
    el("td", { "data-label": "Severity" }, ticket.severity ? el("span", { class: `badge ${ticket.severity}` }, ticket.severity) : "–"),
    el("td", { "data-label": "Priority" }, ticket.priority || "–"),
    slaCell(ticket),
    el("td", { class: "root-cause", "data-label": "Root cause", title: rootCause || null },
      rootCause ? (rootCause.length > 140 ? `${rootCause.slice(0, 139)}…` : rootCause) : (ticket.analysis_state === "pending" ? "analyzing…" : "–")),
    el("td", { "data-label": "Team" }, ticket.finops_team || "–"),
    el("td", { class: "owner-cell", "data-label": "Owner", title: ticket.assignee || null }, ticket.assignee ? ticket.assignee.split("@")[0] : "–"),
    el("td", { class: "time", "data-label": "Occurred", title: formatTime(ticket.occurred_at || ticket.timestamp) }, shortTime(ticket.occurred_at || ticket.timestamp)),
    el("td", { "data-label": "Actions" }, actionButtons(ticket)),
  );
}

async function loadTickets(reset = true) {
  if (reset) state.cursor = null;
  const query = listQuery();
  query.set("limit", "50");
  if (state.cursor) query.set("cursor", state.cursor);
  const page = await getJSON(`/api/${state.tab}-tickets?${query}`);
  const rows = page.tickets.map(ticketRow);
  if (reset) $("ticket-rows").replaceChildren(...rows);
  else $("ticket-rows").append(...rows);
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  $("empty").hidden = $("ticket-rows").children.length > 0;
  showSelection();
}

function showSelection() {
  const shown = new Set([...document.querySelectorAll("#ticket-rows tr")].map((row) => row.dataset.ticketId));
  for (const id of [...state.selected]) if (!shown.has(id)) state.selected.delete(id);
  $("bulk-bar").hidden = state.selected.size === 0;
  $("bulk-count").textContent = `${state.selected.size} selected`;
  const boxes = [...document.querySelectorAll("#ticket-rows .select-ticket")];
  $("select-all").checked = boxes.length > 0 && boxes.every((box) => box.checked);
}

// Resolving asks for an optional note in a small dialog; it answers with
// the note, or null when cancelled.
function askResolutionNote(count) {
  const dialog = $("resolve-dialog");
  $("resolve-title").textContent = count > 1 ? `Resolve ${count} tickets` : "Resolve";
  $("resolve-note").value = "";
  return new Promise((resolve) => {
    const finish = (value) => {
      $("resolve-form").removeEventListener("submit", submit);
      $("resolve-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      dialog.close();
      resolve(value);
    };
    const submit = (event) => { event.preventDefault(); finish($("resolve-note").value.trim()); };
    const cancel = (event) => { event.preventDefault(); finish(null); };
    $("resolve-form").addEventListener("submit", submit);
    $("resolve-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
    $("resolve-note").focus();
  });
}

async function changeStatus(event, ids, status) {
  event.stopPropagation();
  const button = event.currentTarget;
  let note;
  if (status === "resolved") {
    note = await askResolutionNote(ids.length);
    if (note === null) return;
  }
  button.disabled = true;
  try {
    const body = { status, ...(note ? { note } : {}) };
    if (ids.length === 1) {
      await postJSON(`${ticketPath(ids[0])}/status`, body);
    } else {
      const answer = await (await postJSON("/api/tickets/bulk-status", { ...body, ticket_ids: ids })).json();
      if (answer.refused.length) showError(`${answer.refused.length} of ${ids.length} not changed: ${answer.refused.map((item) => `${item.ticket_id} (${item.error})`).join("; ")}`);
      state.selected.clear();
    }
    await refresh();
  } catch (failure) {
    showError(failure.message);
  } finally {
    button.disabled = false;
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
    await postJSON(`${ticketPath(id)}/correction`, body);
    $("correction").open = false;
    $("correction-status").textContent = "";
    await refresh();
  } catch (failure) {
    $("correction-status").textContent = failure.message;
  } finally {
    $("correction-submit").disabled = false;
  }
}

async function loadAssignees() {
  if (!canRespond) return;
  state.assignees = (await getJSON("/api/assignees")).assignees;
  const owner = $("filter-owner");
  for (const person of state.assignees) {
    if (![...owner.options].some((option) => option.value === person.email)) owner.append(el("option", { value: person.email }, person.email));
  }
}

function ownerControls(ticket) {
  const box = $("modal-owner");
  if (!canRespond || ticket.status === "resolved") {
    box.replaceChildren(el("span", { class: "muted" }, `Owner: ${ticket.assignee || "nobody"}`));
    return;
  }
  const select = el("select", { id: "modal-assignee", "aria-label": "Owner" },
    el("option", { value: "" }, "nobody"),
    ...state.assignees.map((person) => el("option", { value: person.email, selected: person.email === ticket.assignee }, person.name ? `${person.name} (${person.email})` : person.email)));
  if (ticket.assignee && !state.assignees.some((person) => person.email === ticket.assignee)) {
    select.append(el("option", { value: ticket.assignee, selected: true }, ticket.assignee));
  }
  const assign = async (assignee) => {
    try {
      await postJSON(`${ticketPath(ticket.id)}/assign`, { assignee: assignee || null });
      await refresh();
    } catch (failure) {
      showError(failure.message);
    }
  };
  select.addEventListener("change", () => assign(select.value));
  const take = el("button", { type: "button", id: "take-ticket", class: "secondary", onclick: () => assign(me.email) }, "Take it");
  box.replaceChildren(el("label", {}, "Owner ", select), ...(ticket.assignee === me.email ? [] : [take]));
}

function timeline(ticket, detail) {
  const events = [
    [ticket.occurred_at || ticket.timestamp, "the failure happened (as the sender reports it)"],
    [ticket.first_seen, "received"],
    ...detail.recurrences.map((recurrence) => [recurrence.first_seen, `recurred as ${recurrence.id}${recurrence.run_id ? ` (run ${recurrence.run_id})` : ""}`]),
  ];
  if (ticket.occurrence_count > 1) events.push([ticket.last_seen, `last reported; ${ticket.occurrence_count} reports in all`]);
  if (ticket.ack_ts) events.push([ticket.ack_ts, `acknowledged by ${ticket.ack_user || "?"} after ${formatDuration(ticket.ack_seconds)}`]);
  if (ticket.resolved_ts) events.push([ticket.resolved_ts, `resolved by ${ticket.resolved_user || "?"} after ${formatDuration(ticket.resolve_seconds)}${ticket.resolution_note ? `: ${ticket.resolution_note}` : ""}`]);
  events.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return events.map(([at, what]) => el("li", {}, `${formatTime(at)} · ${what}`));
}

function openTicket(id) {
  const fragment = `#ticket=${encodeURIComponent(id)}`;
  if (location.hash === fragment) openModal(id).catch((failure) => showError(failure.message));
  else location.hash = fragment;
}

// The ticket modal.
async function openModal(id) {
  if (state.modalTicket !== id) {
    $("correction").open = false;
    $("correction-status").textContent = "";
    $("note-text").value = "";
  }
  const detail = await getJSON(ticketPath(id));
  clearError();
  state.modalTicket = id;
  const ticket = detail.ticket;
  $("modal-title").textContent = `${ticket.id} · ${ticket.pipeline || "unnamed pipeline"}`;
  $("modal-meta").textContent = [
    `status ${statusNames[ticket.status] || ticket.status}`,
    `${ticket.severity || "?"} / ${ticket.priority || "?"}`,
    `SLA ${ticket.sla_status || "–"}`,
    `source ${ticket.source}`,
    ticket.run_id ? `run ${ticket.run_id}` : null,
    ticket.finops_team ? `team ${ticket.finops_team}` : null,
    `owner ${ticket.assignee || "nobody"}`,
    `${ticket.occurrence_count} occurrence(s)`,
  ].filter(Boolean).join(" · ");
  $("modal-times").textContent = [
    `occurred ${formatTime(ticket.occurred_at || ticket.timestamp)}`,
    `received ${formatTime(ticket.first_seen)}`,
    ticket.ack_ts ? `acknowledged ${formatTime(ticket.ack_ts)} by ${ticket.ack_user}` : null,
    ticket.resolved_ts ? `resolved ${formatTime(ticket.resolved_ts)} by ${ticket.resolved_user}` : null,
  ].filter(Boolean).join(" · ");
  $("modal-severity-reason").hidden = !ticket.severity_reason;
  $("modal-severity-reason").textContent = ticket.severity_reason ? `Severity ${ticket.severity}: ${ticket.severity_reason}.` : "";
  $("modal-actions").replaceChildren(actionButtons(ticket));
  ownerControls(ticket);
  $("modal-root-cause").textContent = ticket.rca_result || (ticket.analysis_state === "pending" ? "Analysis in progress…" : "No analysis.");
  $("modal-classification").textContent = [
    ticket.category && `category ${ticket.category}`,
    ticket.error_type && `error type ${ticket.error_type}`,
    ticket.confidence && `confidence ${ticket.confidence}`,
    detail.analysis_engine && `engine ${detail.analysis_engine}${detail.analysis_model ? ` (${detail.analysis_model})` : ""}`,
    detail.decided_by && `decided by ${detail.decided_by}`,
    detail.auto_heal_possible ? "a re-run may fix it" : null,
  ].filter(Boolean).join(" · ");
  fillCorrection(ticket, detail);
  $("modal-recommendations").replaceChildren(...detail.recommendations.map((step) => el("li", {}, step)));
  $("modal-notes").replaceChildren(...(detail.notes.length
    ? detail.notes.map((note) => el("li", {}, `${formatTime(note.timestamp)} · ${note.user || "?"}: `, el("span", { class: "note-text" }, note.details || "")))
    : [el("li", { class: "muted" }, "none")]));
  $("note-form").hidden = !canRespond;
  $("modal-evidence").replaceChildren(...(detail.evidence.length ? detail.evidence.map((phrase) => el("li", {}, phrase)) : [el("li", { class: "muted" }, "none")]));
  $("modal-error").textContent = detail.error_message || "";
  const links = [];
  const safeURL = (url) => (typeof url === "string" && /^https?:\/\//.test(url) ? url : null);
  for (const link of detail.context_links) {
    const url = safeURL(link.url);
    if (url) links.push(el("li", {}, el("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "context-link" }, link.label)));
  }
  for (const delivery of detail.deliveries) {
    const label = delivery.channel === "jira" ? `Jira issue ${delivery.remote_id}` : delivery.channel === "slack" ? `Slack message ${delivery.remote_id}` : `${delivery.channel}: ${delivery.remote_id || "not delivered"}`;
    const url = safeURL(delivery.url);
    links.push(el("li", {}, url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label) : label, delivery.last_error ? ` (last error: ${delivery.last_error})` : ""));
  }
  if (detail.recurrence_of) links.push(el("li", {}, "Recurrence of ", ticketLink(detail.recurrence_of)));
  for (const link of detail.links) links.push(el("li", {}, `${link.relation.replaceAll("_", " ")} `, ticketLink(link.ticket_id)));
  $("modal-links").replaceChildren(...(links.length ? links : [el("li", { class: "muted" }, "none")]));
  const fields = Object.entries(detail.details || {}).sort(([a], [b]) => a.localeCompare(b));
  $("modal-details").replaceChildren(...(fields.length
    ? fields.flatMap(([name, value]) => [el("dt", {}, name.replaceAll("_", " ")), el("dd", {}, value)])
    : [el("dd", { class: "muted" }, "none")]));
  $("modal-timeline").replaceChildren(...timeline(ticket, detail));
  $("modal-audit").replaceChildren(...detail.audit.map((entry) => el("li", {}, `${formatTime(entry.timestamp)} · ${entry.action}${entry.user ? ` by ${entry.user}` : ""}${entry.details ? ` · ${entry.details}` : ""}`)));
  if (!$("ticket-modal").open) $("ticket-modal").showModal();
}

async function submitNote(event) {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  $("note-submit").disabled = true;
  try {
    await postJSON(`${ticketPath(state.modalTicket)}/notes`, { text });
    $("note-text").value = "";
    await refresh();
  } catch (failure) {
    showError(failure.message);
  } finally {
    $("note-submit").disabled = false;
  }
}

// The audit viewer: filters by action, ticket and user, and older pages on demand.
async function loadAudit(reset = true) {
  if (reset) state.auditBefore = null;
  const query = new URLSearchParams({ limit: "50" });
  if ($("audit-action").value) query.set("action", $("audit-action").value);
  if ($("audit-ticket").value.trim()) query.set("ticket_id", $("audit-ticket").value.trim());
  if ($("audit-user").value.trim()) query.set("user", $("audit-user").value.trim());
  if (ranges[$("audit-range").value]) query.set("since", new Date(Date.now() - ranges[$("audit-range").value] * 1000).toISOString());
  if (state.auditBefore) query.set("before", state.auditBefore);
  const page = await getJSON(`/api/audit-trail?${query}`);
  const rows = page.entries.map((entry) => el("tr", {},
    el("td", { "data-label": "Time" }, formatTime(entry.timestamp)), el("td", { "data-label": "Ticket" }, ticketLink(entry.ticket_id)),
    el("td", { "data-label": "Action" }, entry.action), el("td", { "data-label": "User" }, entry.user_name || "–"),
    el("td", { "data-label": "Details" }, entry.details || "")));
  if (reset) $("audit-rows").replaceChildren(...rows);
  else $("audit-rows").append(...rows);
  state.auditBefore = page.next_before;
  $("audit-more").hidden = !page.next_before;
  for (const name of page.actions) {
    if (state.actions.has(name)) continue;
    state.actions.add(name);
    $("audit-action").append(el("option", { value: name }, name));
  }
}

async function exportList() {
  const response = await api(`/api/export/${state.tab}-tickets?${listQuery()}`);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: `${state.tab}-tickets.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function refresh() {
  await Promise.all([loadSummary(), loadTickets(true), loadAudit(true)]);
  if (state.modalTicket && $("ticket-modal").open) await openModal(state.modalTicket);
}

// Live updates: reconnect with backoff instead of reloading the page.
let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().then(clearError, (failure) => showError(failure.message)), 250);
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

function reloadList() {
  writeURL();
  loadTickets(true).then(clearError, (failure) => showError(failure.message));
}

function selectTab(tab) {
  state.tab = tab;
  showFilters();
  reloadList();
}

function openFromFragment() {
  const match = /^#ticket=(.+)$/.exec(location.hash);
  if (match) {
    openModal(decodeURIComponent(match[1])).catch((failure) => showError(failure.message));
  } else if ($("ticket-modal").open) {
    $("ticket-modal").close();
  }
}

function closeModal() {
  state.modalTicket = null;
  if (location.hash) history.replaceState(null, "", `${location.pathname}${location.search}`);
}

document.addEventListener("DOMContentLoaded", () => {
  readURL();
  showFilters();
  $("whoami").textContent = me.email ? `${me.email} (${me.role})` : "";
  if (!canRespond) $("select-all").remove();
  $("logout").addEventListener("click", async () => {
    // Ends the session on the server too, so a copied token stops working.
    await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
    sessionStorage.clear();
    location.replace("/login");
  });
  $("error-close").addEventListener("click", clearError);
  for (const button of document.querySelectorAll("[role=tab]")) button.addEventListener("click", () => selectTab(button.dataset.tab));
  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = $("search").value.trim();
      if (state.search && state.tab !== "all") state.tab = "all";
      showFilters();
      reloadList();
    }, 250);
  });
  $("filters").addEventListener("change", (event) => {
    const field = event.target.name;
    if (!field) return;
    if (event.target.value) state.filters[field] = event.target.value;
    else delete state.filters[field];
    reloadList();
  });
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("filters-clear").addEventListener("click", () => {
    state.filters = {};
    state.search = "";
    showFilters();
    reloadList();
  });
  $("select-all")?.addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("#ticket-rows .select-ticket")) {
      box.checked = event.target.checked;
      const id = box.closest("tr").dataset.ticketId;
      if (box.checked) state.selected.add(id);
      else state.selected.delete(id);
    }
    showSelection();
  });
  $("bulk-acknowledge").addEventListener("click", (event) => changeStatus(event, [...state.selected], "acknowledged"));
  $("bulk-resolve").addEventListener("click", (event) => changeStatus(event, [...state.selected], "resolved"));
  $("bulk-clear").addEventListener("click", () => {
    state.selected.clear();
    for (const box of document.querySelectorAll("#ticket-rows .select-ticket")) box.checked = false;
    showSelection();
  });
  $("more").addEventListener("click", () => loadTickets(false).catch((failure) => showError(failure.message)));
  $("export").addEventListener("click", () => exportList().catch((failure) => showError(failure.message)));
  for (const id of ["audit-action", "audit-range"]) $(id).addEventListener("change", () => loadAudit(true).catch((failure) => showError(failure.message)));
  for (const button of document.querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      const current = state.filters.sort;
      state.filters.sort = button.dataset.sort === "newest" && current === "newest" ? "oldest" : button.dataset.sort;
      showFilters();
      reloadList();
    });
  }
  let auditTimer = null;
  for (const id of ["audit-ticket", "audit-user"]) {
    $(id).addEventListener("input", () => {
      clearTimeout(auditTimer);
      auditTimer = setTimeout(() => loadAudit(true).catch((failure) => showError(failure.message)), 250);
    });
  }
  $("audit-filters").addEventListener("submit", (event) => event.preventDefault());
  $("audit-more").addEventListener("click", () => loadAudit(false).catch((failure) => showError(failure.message)));
  $("correction-form").addEventListener("submit", submitCorrection);
  $("note-form").addEventListener("submit", submitNote);
  $("modal-close").addEventListener("click", () => $("ticket-modal").close());
  $("ticket-modal").addEventListener("close", closeModal);
  window.addEventListener("hashchange", openFromFragment);
  setInterval(() => document.querySelectorAll("td.sla").forEach(renderSLA), 1000);
  loadAssignees().catch((failure) => showError(failure.message));
  refresh().then(openFromFragment, (failure) => showError(failure.message));
  connect();
});
