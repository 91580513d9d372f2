// The employee page: ask, watch the answer stream in, open the cited passages, keep
// conversations, rate answers.
import {
  api, clear, currentLang, el, formatTime, highlighted, icon, readEvents, renderMarkdown, setLang,
  signInForm, signOut, t, whoAmI,
} from "./common.js";

const app = document.getElementById("app");
const state = { me: null, conversationId: null, busy: null };
const chunkCache = new Map();

async function start() {
  setLang(currentLang());
  state.me = await whoAmI();
  if (!state.me) {
    app.classList.add("signed-out");
    signInForm(app, start);
    return;
  }
  app.classList.remove("signed-out");
  layout();
  await refreshConversations();
  document.getElementById("question").focus();
}

function layout() {
  const sidebar = el("aside", { id: "sidebar", class: "sidebar", "aria-label": t("conversations") },
    el("button", { id: "new-conversation", class: "primary wide", onclick: newConversation }, "+ ", t("newConversation")),
    el("h2", {}, t("conversations")),
    el("nav", {}, el("ul", { id: "conversations", class: "conversations" })));
  const header = el("header", { class: "topbar" },
    el("button", { id: "menu", class: "icon-button only-narrow", "aria-label": t("menu"), "aria-controls": "sidebar", "aria-expanded": "false", onclick: toggleSidebar }, icon("menu")),
    el("a", { href: "/", class: "brand" }, el("img", { src: "/assets/icon.svg", alt: "", width: 24, height: 24 }), " ", t("appName")),
    el("span", { class: "spacer" }),
    state.me.role === "admin" ? el("a", { href: "/admin", class: "link" }, t("admin")) : null,
    el("button", { id: "lang-switch", class: "link", lang: currentLang() === "ko" ? "en" : "ko", onclick: switchLanguage }, t("language")),
    el("span", { class: "muted user" }, state.me.name),
    el("button", { id: "sign-out", class: "link", onclick: async () => { await signOut(); start(); } }, t("signOut")));
  const question = el("textarea", { id: "question", rows: 2, placeholder: t("placeholder"), "aria-label": t("placeholder"), maxlength: 4000 });
  question.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ask();
    }
  });
  const composer = el("form", { class: "composer", onsubmit: (ev) => { ev.preventDefault(); ask(); } },
    question,
    el("button", { id: "send", type: "submit", class: "primary" }, t("send")));
  const main = el("main", { class: "chat" },
    el("div", { id: "messages", class: "messages", "aria-live": "polite" }, welcome()),
    composer);
  clear(app).append(header, el("div", { class: "body" }, sidebar, main), passageDialog());
}

function welcome() {
  return el("div", { class: "welcome" }, el("h1", {}, t("appName")), el("p", { class: "muted" }, t("tagline")));
}

function toggleSidebar() {
  const open = document.getElementById("sidebar").classList.toggle("open");
  document.getElementById("menu").setAttribute("aria-expanded", String(open));
}

function switchLanguage() {
  setLang(currentLang() === "ko" ? "en" : "ko");
  const id = state.conversationId;
  layout();
  refreshConversations();
  if (id) openConversation(id);
}

function newConversation() {
  if (state.busy) state.busy.abort();
  state.conversationId = null;
  clear(document.getElementById("messages")).append(welcome());
  markActive();
  document.getElementById("question").focus();
}

async function refreshConversations() {
  const list = document.getElementById("conversations");
  if (!list) return;
  const { conversations } = await api("/api/v1/conversations");
  clear(list);
  if (!conversations.length) list.append(el("li", { class: "muted" }, t("noConversations")));
  for (const c of conversations) {
    list.append(el("li", {},
      el("button", { class: "conversation", "data-id": c.id, title: c.title, onclick: () => openConversation(c.id) },
        el("span", { class: "title" }, c.title || "…"),
        el("span", { class: "muted small" }, formatTime(c.updated_at)))));
  }
  markActive();
}

function markActive() {
  for (const b of document.querySelectorAll(".conversation")) {
    b.classList.toggle("active", b.dataset.id === state.conversationId);
    if (b.dataset.id === state.conversationId) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  }
}

async function openConversation(id) {
  if (state.busy) state.busy.abort();
  const { messages } = await api(`/api/v1/conversations/${encodeURIComponent(id)}`);
  state.conversationId = id;
  const box = clear(document.getElementById("messages"));
  for (const m of messages) {
    if (m.role === "user") box.append(userMessage(m.content));
    else {
      const view = assistantMessage();
      box.append(view.node);
      if (m.answer && m.answer.withheld) view.withheld();
      else if (m.answer) view.finish(m.answer);
      else view.text(m.content);
    }
  }
  markActive();
  document.getElementById("sidebar").classList.remove("open");
  box.scrollTop = box.scrollHeight;
}

function userMessage(text) {
  return el("div", { class: "message user" }, el("div", { class: "bubble" }, text));
}

/** An assistant message that fills in as the answer streams. */
function assistantMessage() {
  const body = el("div", { class: "answer-text streaming" }, el("span", { class: "muted" }, t("thinking")));
  const extra = el("div", { class: "answer-extra" });
  const node = el("div", { class: "message assistant" }, el("div", { class: "bubble" }, body, extra));
  let raw = "";
  let passages = [];
  const view = {
    node,
    passages(p) { passages = p; },
    token(text) {
      if (!raw) clear(body);
      raw += text;
      body.textContent = raw;
    },
    text(s) {
      body.classList.remove("streaming");
      clear(body).append(renderMarkdown(s));
    },
    withheld() {
      body.classList.remove("streaming");
      node.classList.add("withheld");
      clear(body).append(el("p", { class: "muted" }, t("withheld")));
    },
    error(message) {
      body.classList.remove("streaming");
      node.classList.add("failed");
      clear(body).append(el("p", { class: "error" }, `${t("error")}: ${message}`));
    },
    finish(answer) {
      body.classList.remove("streaming");
      clear(body);
      clear(extra);
      if (answer.abstained) {
        node.classList.add("abstained");
        const nearest = answer.nearest || [];
        // The text lists the nearest documents too; they are shown below, with their sections.
        const statement = nearest.length ? answer.answer.split(/\n{2,}/)[0] : answer.answer;
        body.append(el("p", { class: "abstained-label" }, icon("warn"), " ", t("notFound")), renderMarkdown(statement));
        if (nearest.length) {
          extra.append(el("p", { class: "muted" }, t("notFoundHelp")),
            el("ul", { class: "nearest" }, answer.nearest.map((d) =>
              el("li", {}, el("strong", {}, d.title), d.section && d.section !== d.title ? ` — ${d.section}` : ""))));
        }
      } else {
        const byN = new Map(answer.citations.map((c) => [c.n, c]));
        const chip = (n) => byN.has(n) ? citationChip(byN.get(n), passages) : null;
        if (answer.mode === "extractive") body.append(el("p", { class: "muted small" }, t("extractive")));
        body.append(renderMarkdown(answer.answer, chip));
        if (answer.citations.length) {
          extra.append(el("div", { class: "sources", "aria-label": t("sources") },
            el("span", { class: "muted small" }, t("sources"), ": "),
            answer.citations.map((c) => citationChip(c, passages, true))));
        }
      }
      if (answer.message_id) extra.append(feedbackControls(answer.message_id));
    },
  };
  return view;
}

function citationChip(c, passages, long) {
  const label = long ? `[${c.n}] ${c.title}${c.page ? ` · ${t("page")} ${c.page}` : ""}` : `[${c.n}]`;
  return el("button", {
    class: "chip", type: "button", "data-n": c.n, title: `${c.title} — ${c.section}`,
    onclick: () => openPassage(c, passages),
  }, label);
}

function passageDialog() {
  const dialog = el("dialog", { id: "passage-dialog", class: "passage", "aria-labelledby": "passage-title" },
    el("div", { class: "dialog-head" },
      el("h2", { id: "passage-title" }),
      el("button", { class: "icon-button", "aria-label": t("close"), onclick: () => dialog.close() }, icon("close"))),
    el("p", { id: "passage-where", class: "muted" }),
    el("blockquote", { id: "passage-text", class: "passage-text" }),
    el("p", {}, el("a", { id: "passage-original", target: "_blank", rel: "noopener" }, t("openOriginal"))));
  dialog.addEventListener("click", (ev) => { if (ev.target === dialog) dialog.close(); });
  return dialog;
}

async function passageText(c, passages) {
  const streamed = passages.find((p) => p.chunk_id === c.chunk_id);
  if (streamed) return streamed.text;
  if (!chunkCache.has(c.document_id)) {
    const { chunks } = await api(`/api/v1/documents/${encodeURIComponent(c.document_id)}/chunks`);
    chunkCache.set(c.document_id, chunks);
  }
  const chunk = chunkCache.get(c.document_id).find((x) => x.id === c.chunk_id);
  return chunk ? chunk.text : c.quote;
}

async function openPassage(c, passages) {
  const dialog = document.getElementById("passage-dialog");
  document.getElementById("passage-title").textContent = c.title;
  document.getElementById("passage-where").textContent =
    [c.section, c.page ? `${t("page")} ${c.page}` : null].filter(Boolean).join(" · ");
  const text = clear(document.getElementById("passage-text"));
  text.append(highlighted(c.quote || "", ""));
  document.getElementById("passage-original").href = `/api/v1/documents/${encodeURIComponent(c.document_id)}/original`;
  dialog.showModal();
  try {
    const full = await passageText(c, passages);
    clear(text).append(highlighted(full, c.quote));
  } catch (e) {
    // The document may have been removed or regrouped since: keep the quote.
    text.append(el("p", { class: "muted small" }, e.message));
  }
}

function feedbackControls(messageId) {
  const comment = el("textarea", { rows: 2, class: "feedback-comment", placeholder: t("commentPlaceholder"), "aria-label": t("commentPlaceholder") });
  const status = el("span", { class: "muted small", role: "status" });
  let rating = null;
  const send = async () => {
    try {
      await api("/api/v1/feedback", { method: "POST", body: { message_id: messageId, rating, comment: comment.value } });
      status.textContent = t("thanks");
      form.hidden = true;
    } catch (e) {
      status.textContent = `${t("error")}: ${e.message}`;
    }
  };
  const form = el("div", { class: "feedback-form", hidden: true }, comment,
    el("button", { type: "button", class: "small", onclick: send }, t("sendFeedback")));
  const choose = (r) => async () => {
    rating = r;
    for (const b of box.querySelectorAll(".thumb")) b.setAttribute("aria-pressed", String(b.dataset.rating === r));
    await send();
    form.hidden = false;
    status.textContent = t("thanks");
  };
  const box = el("div", { class: "feedback" },
    el("button", { type: "button", class: "thumb", "data-rating": "up", "aria-pressed": "false", "aria-label": t("helpful"), title: t("helpful"), onclick: choose("up") }, icon("up")),
    el("button", { type: "button", class: "thumb", "data-rating": "down", "aria-pressed": "false", "aria-label": t("notHelpful"), title: t("notHelpful"), onclick: choose("down") }, icon("down")),
    status, form);
  return box;
}

async function ask() {
  const input = document.getElementById("question");
  const question = input.value.trim();
  if (!question || state.busy) return;
  input.value = "";
  const box = document.getElementById("messages");
  if (box.querySelector(".welcome")) clear(box);
  box.append(userMessage(question));
  const view = assistantMessage();
  box.append(view.node);
  box.scrollTop = box.scrollHeight;
  const controller = new AbortController();
  state.busy = controller;
  const send = document.getElementById("send");
  send.disabled = true;
  try {
    const body = { question };
    if (state.conversationId) body.conversation_id = state.conversationId;
    const response = await api("/api/v1/ask", {
      method: "POST", body, accept: "text/event-stream", signal: controller.signal,
    });
    await readEvents(response, (name, data) => {
      if (name === "passages") view.passages(data);
      else if (name === "token") view.token(data.text);
      else if (name === "done") {
        view.finish(data);
        const isNew = !state.conversationId;
        state.conversationId = data.conversation_id;
        if (isNew) refreshConversations();
      } else if (name === "error") view.error(data.message);
      box.scrollTop = box.scrollHeight;
    });
  } catch (e) {
    if (e.status === 401) start(); // the session ended: back to the sign-in form
    else if (e.name !== "AbortError") view.error(e.message);
  } finally {
    state.busy = null;
    send.disabled = false;
    input.focus();
  }
}

start().catch((e) => {
  clear(app).append(el("p", { class: "error" }, `${t("error")}: ${e.message}`));
});
