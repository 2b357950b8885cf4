// The sandbox's browser chat. Reads /chat/api/feed/<name> (long poll) and acts through the
// control API (/control/users/<name>/...), the same endpoints the terminal chat and tests use.
// Message bodies arrive as HTML the server built from Telegram entities with everything
// escaped; every other string is put in the page with textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const me = params.get("as");
const language = params.get("lang") === "en" ? "en" : "id";
let lastSeq = 0;
let first = true;
let locationButton = null; // the reply button that asked for the location, if any

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function showError(error) {
  const box = $("error");
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

function act(path, body) {
  showError(null);
  return call("POST", `/control/users/${encodeURIComponent(me)}/${path}`, body).catch(showError);
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) if (child) node.append(child);
  return node;
}

// -- picker ---------------------------------------------------------------------------------

async function showPicker() {
  $("picker").hidden = false;
  $("switch").hidden = true;
  const { people } = await call("GET", "/chat/api/people");
  for (const person of people) {
    const link = el("a", {
      href: `/chat?as=${encodeURIComponent(person.name)}&lang=${person.language}`,
      className: "person",
    }, el("strong", { textContent: person.name }),
    person.label ? el("span", { textContent: " — " + person.label }) : null);
    $("people").append(el("li", {}, link));
  }
  $("new-person").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("new-name").value.trim();
    location.search = `?as=${encodeURIComponent(name)}&lang=${$("new-language").value}`;
  });
}

// -- chat -----------------------------------------------------------------------------------

function fileNode(message) {
  const file = message.file;
  if (!file) return null;
  if (file.image && message.kind !== "document") {
    return el("a", { href: file.url, target: "_blank", className: "media" },
      el("img", { src: file.url, alt: message.kind }));
  }
  const label = `${file.name || message.kind} (${Math.max(1, Math.round(file.size / 1024))} KB)`;
  return el("a", { href: file.url, className: "document", download: file.name || "" },
    "\u{1F4C4} " + label);
}

function extraNode(message) {
  if (message.location) {
    const { latitude, longitude } = message.location;
    return el("p", { className: "pin", textContent: `\u{1F4CD} ${latitude}, ${longitude}` });
  }
  if (message.contact) {
    const c = message.contact;
    return el("p", { className: "card", textContent: `\u{1F464} ${c.first_name || ""} ${c.phone_number}` });
  }
  return null;
}

function buttonsNode(message) {
  if (!message.buttons.length || message.deleted) return null;
  const box = el("div", { className: "inline" });
  for (const row of message.buttons) {
    const line = el("div", { className: "row" });
    for (const button of row) {
      if (button.data !== null && button.data !== undefined) {
        const b = el("button", { type: "button", textContent: button.text });
        b.addEventListener("click", () => act("press", { data: button.data, message_id: message.id }));
        line.append(b);
      } else if (button.url) {
        line.append(el("a", { href: button.url, target: "_blank", rel: "noopener noreferrer",
          className: "button", textContent: button.text + " \u2197" }));
      } else {
        line.append(el("button", { type: "button", disabled: true, textContent: button.text }));
      }
    }
    box.append(line);
  }
  return box;
}

function messageNode(message) {
  const item = el("li", { className: `msg ${message.from_bot ? "bot" : "me"}` });
  item.dataset.id = message.id;
  if (message.deleted) {
    item.classList.add("deleted");
    item.append(el("p", { className: "text", textContent: "\u{1F6AB} the bot deleted this message" }));
    return item;
  }
  const body = fileNode(message) || extraNode(message);
  if (body) item.append(body);
  if (message.html) {
    const text = el("div", { className: "text" });
    text.innerHTML = message.html; // built by the server from entities, all text escaped
    item.append(text);
  }
  const meta = el("span", { className: "meta" });
  const when = new Date(message.date * 1000);
  meta.textContent = (message.edited ? "edited " : "") +
    when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  item.append(meta);
  const buttons = buttonsNode(message);
  if (buttons) item.append(buttons);
  return item;
}

function renderKeyboard(rows) {
  const box = $("keyboard");
  box.replaceChildren();
  box.hidden = !rows;
  for (const row of rows || []) {
    const line = el("div", { className: "row" });
    for (const button of row) {
      const b = el("button", { type: "button", textContent: button.text });
      if (button.contact) b.classList.add("asks-contact");
      if (button.location) b.classList.add("asks-location");
      b.addEventListener("click", () => {
        if (button.location) openLocation(button.text);
        else act("press_reply", { text: button.text });
      });
      line.append(b);
    }
    box.append(line);
  }
}

function toast(answer) {
  const box = $("toast");
  box.textContent = answer.text;
  box.className = answer.alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, answer.alert ? 6000 : 3000);
}

function render(feed) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.replaceChildren(...feed.messages.map(messageNode));
  renderKeyboard(feed.reply_keyboard);
  $("text").placeholder = feed.placeholder || "Message";
  if (!first) feed.answers.forEach(toast);
  if (atBottom || first) list.scrollTop = list.scrollHeight;
}

async function follow() {
  for (;;) {
    try {
      const wait = first ? 0 : 25;
      const feed = await call("GET",
        `/chat/api/feed/${encodeURIComponent(me)}?after=${lastSeq}&timeout=${wait}`);
      if (first || feed.last_seq !== lastSeq) render(feed);
      lastSeq = feed.last_seq;
      first = false;
      document.body.dataset.seq = String(lastSeq); // lets tests see the page is up to date
    } catch (error) {
      showError(new Error("lost contact with the sandbox; retrying…"));
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

function openLocation(fromButton) {
  locationButton = fromButton;
  $("attach").hidden = true;
  $("location-panel").hidden = false;
}

function shareLocation(latitude, longitude) {
  $("location-panel").hidden = true;
  const button = locationButton;
  locationButton = null;
  if (button) return act("press_reply", { text: button, latitude, longitude });
  return act("location", { latitude, longitude });
}

// The command menu Telegram shows next to the text field (what setMyCommands gave this user).
async function toggleMenu() {
  const box = $("menu");
  if (!box.hidden) { box.hidden = true; return; }
  const { commands } = await call("GET", `/control/chats/${encodeURIComponent(me)}/commands`);
  box.replaceChildren();
  for (const command of commands) {
    const b = el("button", { type: "button" },
      el("strong", { textContent: "/" + command.command }),
      el("span", { textContent: " " + command.description }));
    b.addEventListener("click", () => { box.hidden = true; act("messages", { text: "/" + command.command }); });
    box.append(b);
  }
  if (!commands.length) box.append(el("p", { textContent: "The bot has set no commands." }));
  box.hidden = false;
}

async function showChat() {
  $("chat").hidden = false;
  const { user } = await call("POST", "/control/users", { name: me, language_code: language });
  $("title").textContent = user.first_name;
  $("subtitle").textContent = `${user.name} · Telegram id ${user.id} · ${user.language_code || ""}`;
  document.title = `${user.first_name} — sandbox chat`;
  const { points } = await call("GET", "/chat/api/people");
  for (const point of points) {
    const b = el("button", { type: "button", textContent: "\u{1F4CD} " + point.label });
    b.addEventListener("click", () => shareLocation(point.latitude, point.longitude));
    $("points").append(b);
  }
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    act("messages", { text });
  });
  $("menu-toggle").addEventListener("click", () => toggleMenu().catch(showError));
  $("attach-toggle").addEventListener("click", () => { $("attach").hidden = !$("attach").hidden; });
  $("send-contact").addEventListener("click", () => { $("attach").hidden = true; act("contact", {}); });
  $("send-location").addEventListener("click", () => openLocation(null));
  $("send-photo").addEventListener("click", () => { $("attach").hidden = true; act("media", { kind: "photo" }); });
  $("send-document").addEventListener("click", () => { $("attach").hidden = true; act("media", { kind: "document" }); });
  $("location-cancel").addEventListener("click", () => { $("location-panel").hidden = true; locationButton = null; });
  $("location-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const latitude = Number($("lat").value.replace(",", "."));
    const longitude = Number($("lon").value.replace(",", "."));
    if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) {
      showError(new Error("latitude and longitude must be numbers"));
      return;
    }
    shareLocation(latitude, longitude);
  });
  follow();
}

(me ? showChat() : showPicker()).catch(showError);
