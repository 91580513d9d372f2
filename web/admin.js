// The admin page: documents (upload with groups, live ingestion progress, versions, chunks,
// groups, re-index, delete), users, API keys and feedback.
import {
  api, clear, currentLang, el, formatTime, icon, setLang, signInForm, signOut, t, whoAmI,
} from "./common.js";

const app = document.getElementById("app");
const TABS = ["documents", "users", "keys", "feedback"];
let tab = TABS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "documents";
let jobTimer = null;
/** The last upload's jobs, followed on its status line until each is done or failed. */
let uploaded = null;

async function start() {
  setLang(currentLang());
  const me = await whoAmI();
  if (!me) {
    signInForm(app, start);
    return;
  }
  if (me.role !== "admin") {
    clear(app).append(el("main", { class: "card narrow" },
      el("p", {}, "This page is for administrators. "), el("a", { href: "/" }, t("chat"))));
    return;
  }
  const header = el("header", { class: "topbar" },
    el("a", { href: "/", class: "brand" }, el("img", { src: "/assets/icon.svg", alt: "", width: 24, height: 24 }), " ", t("appName")),
    el("nav", { class: "tabs", role: "tablist" }, TABS.map((name) =>
      el("button", { role: "tab", id: `tab-${name}`, "aria-selected": String(name === tab), onclick: () => show(name) }, t(name)))),
    el("span", { class: "spacer" }),
    el("a", { href: "/", class: "link" }, t("chat")),
    el("button", { class: "link", onclick: () => { setLang(currentLang() === "ko" ? "en" : "ko"); start(); } }, t("language")),
    el("span", { class: "muted user" }, me.name),
    el("button", { class: "link", onclick: async () => { await signOut(); start(); } }, t("signOut")));
  clear(app).append(header, el("main", { id: "panel", class: "panel", role: "tabpanel" }), dialog());
  show(tab);
}

function show(name) {
  tab = name;
  history.replaceState(null, "", `#${name}`);
  for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.id === `tab-${name}`));
  clearInterval(jobTimer);
  const panel = clear(document.getElementById("panel"));
  ({ documents, users, keys, feedback })[name](panel).catch((e) => panel.append(failure(e)));
}

function failure(e) {
  return el("p", { class: "error", role: "alert" }, `${t("error")}: ${e.message}`);
}

function dialog() {
  const d = el("dialog", { id: "admin-dialog", class: "passage" },
    el("div", { class: "dialog-head" }, el("h2", { id: "dialog-title" }),
      el("button", { class: "icon-button", "aria-label": t("close"), onclick: () => d.close() }, icon("close"))),
    el("div", { id: "dialog-body" }));
  return d;
}

function openDialog(title, ...content) {
  document.getElementById("dialog-title").textContent = title;
  clear(document.getElementById("dialog-body")).append(...content);
  document.getElementById("admin-dialog").showModal();
}

function table(headers, rows) {
  if (!rows.length) return el("p", { class: "muted" }, t("empty"));
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows)));
}

const groupsOf = (text) => text.split(",").map((g) => g.trim()).filter(Boolean);

// ---- Documents ------------------------------------------------------------------------------

async function documents(panel) {
  const files = el("input", { type: "file", id: "upload-files", multiple: true, class: "visually-hidden" });
  const groups = el("input", { id: "upload-groups", placeholder: t("groupsKeep"), "aria-label": t("groupsAllowed") });
  const status = el("p", { id: "upload-status", role: "status", class: "muted" });
  const drop = el("label", { for: "upload-files", class: "dropzone", id: "dropzone", tabindex: 0 },
    el("strong", {}, t("dropHere")), el("span", { class: "muted small" }, "PDF · DOCX · HWPX · HTML · Markdown · TXT"));
  const upload = async (list) => {
    if (!list.length) return;
    const form = new FormData();
    for (const f of list) form.append("file", f, f.name);
    // An empty field is never sent: the server then keeps a document's current groups.
    if (groupsOf(groups.value).length) form.append("groups", groups.value);
    status.textContent = `${t("upload")}: ${[...list].map((f) => f.name).join(", ")}…`;
    try {
      const r = await api("/api/v1/documents", { method: "POST", form });
      const refused = r.results.filter((x) => !x.ok);
      const ids = r.results.filter((x) => x.ok && x.job_id).map((x) => x.job_id);
      uploaded = ids.length ? { ids, status, refused: refused.map((x) => `${x.file}: ${x.error.message}`) } : null;
      status.removeAttribute("data-state");
      status.textContent = refused.length
        ? refused.map((x) => `${x.file}: ${x.error.message}`).join("; ")
        : `${t("queued")}: ${r.results.length}`;
    } catch (e) {
      status.textContent = `${t("error")}: ${e.message}`;
    }
    files.value = "";
    watchJobs();
  };
  files.addEventListener("change", () => upload(files.files));
  drop.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); files.click(); } });
  for (const kind of ["dragenter", "dragover"]) drop.addEventListener(kind, (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  for (const kind of ["dragleave", "drop"]) drop.addEventListener(kind, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => { ev.preventDefault(); upload(ev.dataTransfer.files); });
  panel.append(
    el("section", { class: "card" }, el("h2", {}, t("upload")), drop, files,
      el("label", { for: "upload-groups" }, t("groupsAllowed")), groups, status),
    el("section", { class: "card" }, el("h2", {}, t("jobs")), el("div", { id: "jobs" })),
    el("section", { class: "card" }, el("h2", {}, t("documents")), el("div", { id: "documents" })));
  await refreshDocuments();
  watchJobs();
}

async function refreshDocuments() {
  const box = document.getElementById("documents");
  if (!box) return;
  const { documents: docs } = await api("/api/v1/documents?limit=1000");
  clear(box).append(table(
    [t("title"), t("source"), t("version"), t("groups"), t("chunks"), t("actions")],
    docs.map((d) => el("tr", { "data-source": d.source },
      el("td", {}, d.title),
      el("td", { class: "small" }, d.source),
      el("td", {}, d.active ? `v${d.active.number} · ${d.active.format}` : "—"),
      el("td", {}, d.active ? d.active.groups.join(", ") : ""),
      el("td", {}, d.active ? String(d.active.chunks) : "0"),
      el("td", { class: "actions" },
        el("button", { class: "small", onclick: () => showChunks(d) }, t("chunks")),
        el("button", { class: "small", onclick: () => showVersions(d) }, t("versions")),
        el("button", { class: "small", onclick: () => changeGroups(d) }, t("changeGroups")),
        el("button", { class: "small", onclick: () => act(`/api/v1/documents/${d.id}/reindex`, "POST") }, t("reindex")),
        el("button", { class: "small danger", onclick: () => confirm(t("confirmDelete")) && act(`/api/v1/documents/${d.id}`, "DELETE") }, t("remove")))))));
}

async function act(path, method, body) {
  try {
    await api(path, { method, body });
  } catch (e) {
    alert(`${t("error")}: ${e.message}`);
  }
  await refreshDocuments();
  watchJobs();
}

async function showChunks(d) {
  const { chunks } = await api(`/api/v1/documents/${d.id}/chunks`);
  openDialog(`${d.title} — ${t("chunks")} (${chunks.length})`,
    el("ol", { class: "chunks" }, chunks.map((c) => el("li", {},
      el("p", { class: "muted small" }, c.section, c.page ? ` · ${t("page")} ${c.page}` : ""),
      el("p", { class: "chunk-text" }, c.text)))));
}

async function showVersions(d) {
  const doc = await api(`/api/v1/documents/${d.id}`);
  openDialog(`${d.title} — ${t("versions")}`, table(
    [t("version"), t("status"), t("format"), t("groups"), t("chunks"), t("when")],
    (doc.versions || []).map((v) => el("tr", {},
      el("td", {}, `v${v.number}`), el("td", {}, v.status, v.error ? ` — ${v.error}` : ""), el("td", {}, v.format),
      el("td", {}, v.groups.join(", ")), el("td", {}, String(v.chunk_count)), el("td", {}, formatTime(v.created_at))))));
}

function changeGroups(d) {
  const input = el("input", { value: d.active ? d.active.groups.join(", ") : "everyone", "aria-label": t("newGroups") });
  const save = el("button", { class: "primary", onclick: async () => {
    document.getElementById("admin-dialog").close();
    await act(`/api/v1/documents/${d.id}`, "PATCH", { groups: groupsOf(input.value) });
  } }, t("changeGroups"));
  openDialog(`${d.title} — ${t("groups")}`, el("label", {}, t("newGroups")), input, save);
}

/** The last upload's status line: how many of its files are indexed, failed, still waiting. */
function showUploadProgress(jobs) {
  if (!uploaded || !uploaded.status.isConnected) return;
  const mine = jobs.filter((j) => uploaded.ids.includes(j.id));
  // Jobs that scrolled out of the latest 20 are counted as still waiting until seen.
  const done = mine.filter((j) => j.status === "done").length;
  const failed = mine.filter((j) => j.status === "failed");
  const waiting = uploaded.ids.length - done - failed.length;
  const parts = [`${t("done")} ${done}/${uploaded.ids.length}`];
  if (failed.length) parts.push(`${t("failed")} ${failed.length}: ${failed.map((j) => `${j.source} — ${j.error || ""}`).join("; ")}`);
  if (waiting) parts.push(`${t("queued")} ${waiting}`);
  uploaded.status.textContent = [...uploaded.refused, parts.join(" · ")].join("; ");
  if (!waiting) {
    uploaded.status.dataset.state = failed.length ? "failed" : "done";
    uploaded = null;
  }
}

/** Poll the job list while anything is queued or running; refresh documents when jobs finish. */
function watchJobs() {
  clearInterval(jobTimer);
  let active = -1;
  const tick = async () => {
    const box = document.getElementById("jobs");
    if (!box) return clearInterval(jobTimer);
    const { jobs } = await api("/api/v1/jobs?limit=20");
    const now = jobs.filter((j) => j.status === "queued" || j.status === "running").length;
    clear(box).append(table([t("source"), t("status"), t("chunks"), t("when")], jobs.map((j) =>
      el("tr", { class: `job ${j.status}`, "data-status": j.status },
        el("td", {}, j.source),
        el("td", {}, t(j.status), j.error ? ` — ${j.error}` : ""),
        el("td", {}, j.status === "running"
          ? el("progress", { max: Math.max(j.chunks, 1), value: j.embedded, "aria-label": `${j.embedded}/${j.chunks}` })
          : `${j.embedded}/${j.chunks}`),
        el("td", { class: "small" }, formatTime(j.updated_at))))));
    showUploadProgress(jobs);
    // A finished job changes the document list; so may one that finished before the first look.
    if (now === 0 || (active > 0 && now < active)) refreshDocuments();
    active = now;
    if (now === 0) clearInterval(jobTimer);
  };
  tick();
  jobTimer = setInterval(tick, 1000);
}

// ---- Users ----------------------------------------------------------------------------------

async function users(panel) {
  const name = el("input", { id: "new-user-name", required: true, autocomplete: "off" });
  const password = el("input", { id: "new-user-password", type: "password", minlength: 8, autocomplete: "new-password" });
  const role = el("select", { id: "new-user-role" }, el("option", { value: "employee" }, "employee"), el("option", { value: "admin" }, "admin"));
  const groups = el("input", { id: "new-user-groups" });
  const status = el("p", { role: "status", class: "muted" });
  const form = el("form", { class: "card grid-form" },
    el("h2", {}, t("create")),
    el("label", { for: "new-user-name" }, t("username")), name,
    el("label", { for: "new-user-password" }, t("password")), password,
    el("label", { for: "new-user-role" }, t("role")), role,
    el("label", { for: "new-user-groups" }, t("newGroups")), groups,
    el("button", { type: "submit", class: "primary" }, t("create")), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("/api/v1/users", { method: "POST", body: { username: name.value.trim(), password: password.value || null, role: role.value, groups: groupsOf(groups.value) } });
      form.reset();
      status.textContent = "";
      await listUsers();
    } catch (e) {
      status.textContent = `${t("error")}: ${e.message}`;
    }
  });
  panel.append(form, el("section", { class: "card" }, el("h2", {}, t("users")), el("div", { id: "users" })));
  await listUsers();
}

async function listUsers() {
  const { users: list } = await api("/api/v1/users");
  const patch = (u, body) => async () => {
    try { await api(`/api/v1/users/${u.id}`, { method: "PATCH", body }); } catch (e) { alert(`${t("error")}: ${e.message}`); }
    listUsers();
  };
  clear(document.getElementById("users")).append(table(
    [t("username"), t("role"), t("groups"), t("status"), t("actions")],
    list.map((u) => el("tr", {},
      el("td", {}, u.username), el("td", {}, u.role), el("td", {}, u.groups.join(", ")),
      el("td", {}, u.disabled ? t("disabled") : ""),
      el("td", { class: "actions" },
        el("button", { class: "small", onclick: () => { const g = prompt(t("newGroups"), u.groups.join(", ")); if (g !== null) patch(u, { groups: groupsOf(g) })(); } }, t("changeGroups")),
        el("button", { class: "small", onclick: patch(u, { role: u.role === "admin" ? "employee" : "admin" }) }, u.role === "admin" ? "→ employee" : "→ admin"),
        el("button", { class: "small", onclick: () => { const p = prompt(t("resetPassword")); if (p) patch(u, { password: p })(); } }, t("resetPassword")),
        el("button", { class: "small danger", onclick: patch(u, { disabled: !u.disabled }) }, u.disabled ? t("enable") : t("disable")))))));
}

// ---- API keys -------------------------------------------------------------------------------

async function keys(panel) {
  const name = el("input", { id: "new-key-name", required: true });
  const scope = el("select", { id: "new-key-scope" }, el("option", { value: "ask" }, "ask"), el("option", { value: "admin" }, "admin"));
  const groups = el("input", { id: "new-key-groups" });
  const secret = el("div", { id: "new-key-secret", role: "status" });
  const form = el("form", { class: "card grid-form" },
    el("h2", {}, t("create")),
    el("label", { for: "new-key-name" }, t("name")), name,
    el("label", { for: "new-key-scope" }, t("scope")), scope,
    el("label", { for: "new-key-groups" }, t("newGroups")), groups,
    el("button", { type: "submit", class: "primary" }, t("create")), secret);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("/api/v1/keys", { method: "POST", body: { name: name.value.trim(), scope: scope.value, groups: groupsOf(groups.value) } });
      form.reset();
      clear(secret).append(el("p", { class: "notice" }, t("secretOnce"), " ", el("code", { class: "secret" }, r.secret)));
      await listKeys();
    } catch (e) {
      clear(secret).append(failure(e));
    }
  });
  panel.append(form, el("section", { class: "card" }, el("h2", {}, t("keys")), el("div", { id: "keys" })));
  await listKeys();
}

async function listKeys() {
  const { keys: list } = await api("/api/v1/keys");
  clear(document.getElementById("keys")).append(table(
    [t("name"), t("scope"), t("groups"), t("lastUsed"), t("status"), t("actions")],
    list.map((k) => el("tr", {},
      el("td", {}, k.name, " ", el("code", { class: "muted" }, `${k.prefix}…`)), el("td", {}, k.scope),
      el("td", {}, k.groups.join(", ")), el("td", {}, k.last_used_at ? formatTime(k.last_used_at) : t("never")),
      el("td", {}, k.revoked_at ? t("revoked") : ""),
      el("td", {}, k.revoked_at ? "" : el("button", { class: "small danger", onclick: async () => {
        await api(`/api/v1/keys/${k.id}`, { method: "DELETE" });
        listKeys();
      } }, t("revoke")))))));
}

// ---- Feedback -------------------------------------------------------------------------------

async function feedback(panel) {
  const filter = el("select", { id: "feedback-filter", "aria-label": t("rating") },
    el("option", { value: "" }, t("all")), el("option", { value: "down" }, t("notHelpful")), el("option", { value: "up" }, t("helpful")));
  const box = el("div", { id: "feedback-list" });
  const load = async () => {
    const q = filter.value ? `?rating=${filter.value}` : "";
    const { feedback: list } = await api(`/api/v1/feedback${q}`);
    clear(box).append(table([t("rating"), t("question"), t("answer"), t("comment"), t("who"), t("when")],
      list.map((f) => el("tr", {},
        el("td", {}, f.rating === "down" ? icon("down") : icon("up"), " ", f.rating === "down" ? t("notHelpful") : t("helpful")), el("td", {}, f.question || ""),
        el("td", { class: "small clamp" }, f.answer), el("td", {}, f.comment || ""),
        el("td", { class: "small" }, f.actor), el("td", { class: "small" }, formatTime(f.created_at))))));
  };
  filter.addEventListener("change", load);
  panel.append(el("section", { class: "card" }, el("h2", {}, t("feedback")), el("label", {}, t("rating"), " ", filter), box));
  await load();
}

start().catch((e) => clear(app).append(failure(e)));
