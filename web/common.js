// Shared by the chat and admin pages: the API client (session cookie + CSRF token), UI strings in
// English and Korean, DOM helpers that only ever create text nodes, and a small safe Markdown
// renderer. Nothing here sets innerHTML, so text from documents or answers can never run.

export const STRINGS = {
  en: {
    appName: "Regula",
    tagline: "Answers from your company's regulations, with their sources.",
    signIn: "Sign in", signOut: "Sign out", username: "User name", password: "Password",
    signInFailed: "Wrong user name or password.",
    newConversation: "New conversation", conversations: "Conversations", noConversations: "No conversations yet.",
    placeholder: "Ask about a regulation… (Enter sends, Shift+Enter for a new line)",
    send: "Send", stop: "Stop", thinking: "Searching the regulations…",
    notFound: "Not found in the regulations",
    notFoundHelp: "The documents you can read do not answer this. The nearest documents:",
    sources: "Sources", openOriginal: "Open the original document", close: "Close",
    page: "page", section: "Section", passage: "Passage",
    helpful: "Helpful", notHelpful: "Not helpful", commentPlaceholder: "What was wrong or missing? (optional)",
    sendFeedback: "Send feedback", thanks: "Thank you for the feedback.",
    withheld: "This answer is withheld: it cited a document you can no longer read.",
    error: "Something went wrong", admin: "Administration", chat: "Ask",
    menu: "Conversations", language: "한국어",
    extractive: "Quoted from the regulations",
    documents: "Documents", users: "Users", keys: "API keys", feedback: "Feedback",
    upload: "Upload", dropHere: "Drop files here, or choose them", chooseFiles: "Choose files",
    groupsAllowed: "Groups allowed to read (comma-separated; empty = a new version keeps the document's groups, a new document is for everyone)",
    groupsKeep: "keep current groups (new: everyone)",
    title: "Title", source: "Source", version: "Version", format: "Format", groups: "Groups",
    chunks: "Passages", status: "Status", actions: "Actions", reindex: "Re-index", remove: "Delete",
    versions: "Versions", changeGroups: "Change groups", confirmDelete: "Delete this document from search and storage?",
    jobs: "Ingestion", queued: "queued", running: "running", done: "done", failed: "failed",
    role: "Role", disabled: "disabled", enable: "Enable", disable: "Disable", create: "Create",
    resetPassword: "New password", scope: "Scope", lastUsed: "Last used", revoke: "Revoke", revoked: "revoked",
    never: "never", secretOnce: "Copy this key now; it is not shown again:", rating: "Rating", all: "All",
    comment: "Comment", question: "Question", answer: "Answer", when: "When", who: "Who",
    newGroups: "Groups (comma-separated)", name: "Name", empty: "Nothing here yet.",
  },
  ko: {
    appName: "Regula",
    tagline: "회사 규정에서 찾은 답을 근거와 함께 알려드립니다.",
    signIn: "로그인", signOut: "로그아웃", username: "사용자 이름", password: "비밀번호",
    signInFailed: "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
    newConversation: "새 대화", conversations: "대화 목록", noConversations: "아직 대화가 없습니다.",
    placeholder: "규정에 대해 질문하세요… (Enter 전송, Shift+Enter 줄바꿈)",
    send: "보내기", stop: "중지", thinking: "규정을 찾는 중…",
    notFound: "규정에서 찾을 수 없습니다",
    notFoundHelp: "열람 가능한 문서에 이 질문의 답이 없습니다. 가장 가까운 문서:",
    sources: "근거", openOriginal: "원본 문서 열기", close: "닫기",
    page: "쪽", section: "조항", passage: "본문",
    helpful: "도움이 됨", notHelpful: "도움이 안 됨", commentPlaceholder: "무엇이 틀렸거나 빠졌나요? (선택)",
    sendFeedback: "의견 보내기", thanks: "의견 감사합니다.",
    withheld: "더 이상 열람할 수 없는 문서를 인용한 답변이라 표시하지 않습니다.",
    error: "오류가 발생했습니다", admin: "관리", chat: "질문하기",
    menu: "대화 목록", language: "English",
    extractive: "규정 원문 인용",
    documents: "문서", users: "사용자", keys: "API 키", feedback: "피드백",
    upload: "업로드", dropHere: "파일을 여기에 놓거나 선택하세요", chooseFiles: "파일 선택",
    groupsAllowed: "열람 가능 그룹 (쉼표로 구분, 비우면 기존 문서는 현재 그룹 유지, 새 문서는 전체)",
    groupsKeep: "현재 그룹 유지 (새 문서: 전체)",
    title: "제목", source: "출처", version: "버전", format: "형식", groups: "그룹",
    chunks: "단락", status: "상태", actions: "작업", reindex: "다시 색인", remove: "삭제",
    versions: "버전", changeGroups: "그룹 변경", confirmDelete: "이 문서를 검색과 저장소에서 삭제할까요?",
    jobs: "색인 작업", queued: "대기", running: "진행 중", done: "완료", failed: "실패",
    role: "역할", disabled: "비활성", enable: "활성화", disable: "비활성화", create: "만들기",
    resetPassword: "새 비밀번호", scope: "범위", lastUsed: "마지막 사용", revoke: "폐기", revoked: "폐기됨",
    never: "없음", secretOnce: "지금 이 키를 복사하세요. 다시 표시되지 않습니다:", rating: "평가", all: "전체",
    comment: "의견", question: "질문", answer: "답변", when: "시각", who: "사용자",
    newGroups: "그룹 (쉼표로 구분)", name: "이름", empty: "아직 없습니다.",
  },
};

const LANG_KEY = "regula.lang";

export function currentLang() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "en" || saved === "ko") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
}

export function setLang(lang) {
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
}

export function t(key) {
  const lang = currentLang();
  return (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
}

/** Create an element; `attrs` are attributes (or `on*` listeners), children are nodes or text. */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const ICONS = {
  // Feather-style outline icons (MIT), drawn as SVG so no emoji font is needed.
  up: ["M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z", "M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"],
  down: ["M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z", "M17 2h3a2 2 0 0 1 2 2v7a2 2 0 0 1-2 2h-3"],
  menu: ["M3 6h18", "M3 12h18", "M3 18h18"],
  close: ["M18 6 6 18", "M6 6l12 12"],
  warn: ["M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0z", "M12 9v4", "M12 17h.01"],
};

/** An inline SVG icon (decorative: hidden from screen readers; label the button instead). */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// ---- API ----------------------------------------------------------------------------------

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function failure(r) {
  let message = r.statusText;
  try {
    const body = await r.json();
    message = (body.error && body.error.message) || message;
  } catch (_) { /* not JSON */ }
  return new ApiError(r.status, message);
}

/** fetch() with the session's CSRF token on state-changing requests; JSON in and out. */
export async function api(path, { method = "GET", body, form, accept, signal } = {}) {
  const headers = {};
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  if (accept) headers["Accept"] = accept;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(path, { method, headers, body: payload, signal, credentials: "same-origin" });
  if (!r.ok) throw await failure(r);
  if (accept === "text/event-stream") return r;
  const type = r.headers.get("content-type") || "";
  return type.includes("json") ? r.json() : r.text();
}

/** The signed-in user, or null. Keeps the CSRF token for later requests. */
export async function whoAmI() {
  try {
    const me = await api("/api/v1/auth/me");
    csrfToken = me.csrf_token || null;
    return me;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function signIn(username, password) {
  const info = await api("/api/v1/auth/login", { method: "POST", body: { username, password } });
  csrfToken = info.csrf_token;
  return info;
}

export async function signOut() {
  try { await api("/api/v1/auth/logout", { method: "POST" }); } catch (_) { /* already gone */ }
  csrfToken = null;
}

/** Read an SSE response, calling `onEvent(name, data)` for each event. */
export async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) {
        let parsed = data.join("\n");
        try { parsed = JSON.parse(parsed); } catch (_) { /* plain text */ }
        onEvent(name, parsed);
      }
    }
  }
}

// ---- Markdown (a safe subset) ---------------------------------------------------------------

/**
 * Render a small Markdown subset — paragraphs, `-`/`*`/numbered lists, **bold**, `code` — as DOM
 * nodes. `[n]` citation markers become whatever `citation(n)` returns (a chip), when given.
 * Everything else stays literal text: `<script>` in an answer shows as the characters `<script>`.
 */
export function renderMarkdown(text, citation) {
  const root = document.createDocumentFragment();
  const blocks = String(text).replace(/\r\n/g, "\n").split(/\n{2,}/);
  for (const block of blocks) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    if (!lines.length) continue;
    const bullet = /^\s*(?:[-*•]|\d+[.)])\s+/;
    if (lines.every((l) => bullet.test(l))) {
      const ordered = /^\s*\d/.test(lines[0]);
      const list = el(ordered ? "ol" : "ul");
      for (const l of lines) list.append(el("li", {}, inline(l.replace(bullet, ""), citation)));
      root.append(list);
    } else {
      const p = el("p");
      lines.forEach((l, i) => {
        if (i) p.append(el("br"));
        p.append(inline(l, citation));
      });
      root.append(p);
    }
  }
  return root;
}

function inline(text, citation) {
  const out = document.createDocumentFragment();
  const pattern = /(\*\*[^*]+\*\*|`[^`]+`|\[\d+\])/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.append(document.createTextNode(text.slice(last, m.index)));
    const token = m[0];
    if (token.startsWith("**")) out.append(el("strong", {}, token.slice(2, -2)));
    else if (token.startsWith("`")) out.append(el("code", {}, token.slice(1, -1)));
    else {
      const n = Number(token.slice(1, -1));
      const chip = citation && citation(n);
      out.append(chip || document.createTextNode(token));
    }
    last = m.index + token.length;
  }
  if (last < text.length) out.append(document.createTextNode(text.slice(last)));
  return out;
}

/** Show `text` with the first occurrence of `quote` wrapped in <mark> (whitespace-insensitive). */
export function highlighted(text, quote) {
  const frag = document.createDocumentFragment();
  const q = (quote || "").trim();
  let at = q ? text.indexOf(q) : -1;
  let len = q.length;
  if (at < 0 && q) {
    // The quote may differ in spacing from the stored passage.
    const words = q.split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const m = new RegExp(words.join("\\s+")).exec(text);
    if (m) { at = m.index; len = m[0].length; }
  }
  if (at < 0) {
    frag.append(text);
    return frag;
  }
  frag.append(text.slice(0, at), el("mark", {}, text.slice(at, at + len)), text.slice(at + len));
  return frag;
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(currentLang() === "ko" ? "ko-KR" : undefined);
}

/** The sign-in form; resolves when signed in. */
export function signInForm(container, onSignedIn) {
  const user = el("input", { id: "login-user", name: "username", autocomplete: "username", required: true });
  const pass = el("input", { id: "login-pass", name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "login card", "aria-label": t("signIn") },
    el("h1", {}, el("img", { src: "/assets/icon.svg", alt: "", width: 28, height: 28 }), " ", t("appName")),
    el("p", { class: "muted" }, t("tagline")),
    el("label", { for: "login-user" }, t("username")), user,
    el("label", { for: "login-pass" }, t("password")), pass,
    error,
    el("button", { type: "submit", class: "primary", id: "login-submit" }, t("signIn")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      await signIn(user.value.trim(), pass.value);
      onSignedIn();
    } catch (e) {
      error.textContent = e.status === 401 ? t("signInFailed") : `${t("error")}: ${e.message}`;
    }
  });
  clear(container).append(form);
  user.focus();
}
