/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The chat page: sign in or create an account, pick or create a chatbot (with knowledge), open or
 * start a conversation, send messages and watch replies stream in, page back through history. Errors
 * say what happened and when to try again; a lost connection is retried with the same
 * Idempotency-Key, so the message is stored once however often it is sent.
 */
import "./styles.css";
import {
  ApiError,
  api,
  type Chatbot,
  ConnectionLost,
  type Conversation,
  type Message,
  setToken,
  signedIn,
  streamReply,
} from "./api";

/** Messages per history page. */
const pageSize = 20;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const authForm = byId<HTMLFormElement>("auth");
const workspace = byId<HTMLDivElement>("workspace");
const account = byId<HTMLParagraphElement>("account");
const statusLine = byId<HTMLParagraphElement>("status");
const errorLine = byId<HTMLParagraphElement>("error");
const chatbotSelect = byId<HTMLSelectElement>("chatbot");
const toggleNewChatbot = byId<HTMLButtonElement>("toggle-new-chatbot");
const newChatbotForm = byId<HTMLFormElement>("new-chatbot");
const knowledgeList = byId<HTMLOListElement>("knowledge");
const conversationList = byId<HTMLUListElement>("conversations");
const chatTitle = byId<HTMLHeadingElement>("chat-title");
const messagesBox = byId<HTMLDivElement>("messages");
const olderButton = byId<HTMLButtonElement>("older");
const messageList = byId<HTMLOListElement>("message-list");
const composer = byId<HTMLFormElement>("composer");
const messageInput = byId<HTMLTextAreaElement>("message");
const sendButton = byId<HTMLButtonElement>("send");

const state = {
  chatbots: [] as Chatbot[],
  conversations: [] as Conversation[],
  conversationId: null as string | null,
  olderCursor: null as string | null,
};

let countdown: ReturnType<typeof setInterval> | undefined;

function notify(text: string): void {
  errorLine.textContent = "";
  statusLine.textContent = text;
}

function fail(text: string): void {
  statusLine.textContent = "";
  errorLine.textContent = text;
}

/**
 * Says what went wrong. With a retry time (429, 503 with Retry-After) the message counts down and
 * `blocked` buttons stay disabled until then.
 */
function explain(error: unknown, blocked: HTMLButtonElement[] = []): void {
  clearInterval(countdown);
  if (error instanceof ApiError && error.status === 401 && signedIn()) {
    signOut("Your session has ended: sign in again.");
    return;
  }
  const describe = (seconds?: number) => {
    if (error instanceof ConnectionLost) return "Connection lost: the server cannot be reached. Try again.";
    if (!(error instanceof ApiError)) return `Something went wrong: ${(error as Error).message}`;
    const when = seconds ? ` Try again in ${seconds} s.` : "";
    if (error.status === 429) return `Too many requests.${when || " Try again shortly."}`;
    if (error.status === 503) return `Service unavailable: ${error.message}.${when}`;
    return `${error.message}.`;
  };
  let seconds = error instanceof ApiError ? error.retryAfterSeconds : undefined;
  fail(describe(seconds));
  if (!seconds) return;
  for (const button of blocked) button.disabled = true;
  countdown = setInterval(() => {
    seconds = (seconds ?? 1) - 1;
    if (seconds > 0) {
      fail(describe(seconds));
      return;
    }
    clearInterval(countdown);
    for (const button of blocked) button.disabled = false;
    notify("You can try again now.");
  }, 1000);
}

/** Runs a UI action, turning any failure into a message. */
const guarded =
  <A extends unknown[]>(action: (...args: A) => Promise<void>, blocked?: () => HTMLButtonElement[]) =>
  (...args: A) => {
    action(...args).catch((error) => explain(error, blocked?.()));
  };

function showAuth(): void {
  workspace.hidden = true;
  account.hidden = true;
  authForm.hidden = false;
}

function signOut(message: string): void {
  setToken(null);
  state.conversationId = null;
  history.replaceState(null, "", location.pathname);
  showAuth();
  notify(message);
  byId<HTMLInputElement>("email").focus();
}

async function enterWorkspace(): Promise<void> {
  authForm.hidden = true;
  workspace.hidden = false;
  account.hidden = false;
  byId("account-email").textContent = sessionStorage.getItem("parley-email") ?? "";
  const [chatbots, conversations] = await Promise.all([api.chatbots(), api.conversations()]);
  state.chatbots = chatbots.items;
  state.conversations = conversations.items;
  renderChatbots();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("conversation");
  const restored = state.conversations.find((conversation) => conversation.id === wanted);
  if (restored) chatbotSelect.value = restored.chatbot_id;
  renderConversations();
  if (restored) await openConversation(restored);
  else startConversation();
  if (state.chatbots.length === 0) {
    openNewChatbotForm();
    notify("Create your first chatbot to start.");
  }
}

function renderChatbots(): void {
  const selected = chatbotSelect.value;
  chatbotSelect.replaceChildren(
    ...state.chatbots.map((bot) => new Option(bot.name, bot.id, false, bot.id === selected)),
  );
}

function renderConversations(): void {
  const shown = state.conversations.filter((conversation) => conversation.chatbot_id === chatbotSelect.value);
  conversationList.replaceChildren(
    ...shown.map((conversation) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "conversation";
      button.textContent = conversation.title || "Untitled conversation";
      button.title = new Date(conversation.created_at).toLocaleString();
      if (conversation.id === state.conversationId) button.setAttribute("aria-current", "true");
      button.addEventListener(
        "click",
        guarded(() => openConversation(conversation)),
      );
      item.append(button);
      return item;
    }),
  );
}

function messageItem(role: Message["role"], text: string): { item: HTMLLIElement; body: HTMLSpanElement } {
  const item = document.createElement("li");
  item.className = role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Assistant";
  const body = document.createElement("span");
  body.textContent = text;
  item.append(who, body);
  return { item, body };
}

const scrollToEnd = () => {
  messagesBox.scrollTop = messagesBox.scrollHeight;
};

function setConversation(conversation: Conversation | null): void {
  state.conversationId = conversation?.id ?? null;
  state.olderCursor = null;
  olderButton.hidden = true;
  messageList.replaceChildren();
  chatTitle.textContent = conversation ? conversation.title || "Untitled conversation" : "New conversation";
  history.replaceState(null, "", conversation ? `#conversation=${conversation.id}` : location.pathname);
  renderConversations();
}

function startConversation(): void {
  setConversation(null);
}

async function openConversation(conversation: Conversation): Promise<void> {
  setConversation(conversation);
  const page = await api.messages(conversation.id, pageSize);
  messageList.replaceChildren(
    ...page.items.reverse().map((message) => messageItem(message.role, message.content).item),
  );
  state.olderCursor = page.next_cursor;
  olderButton.hidden = !page.next_cursor;
  scrollToEnd();
}

async function loadOlder(): Promise<void> {
  if (!state.conversationId || !state.olderCursor) return;
  const page = await api.messages(state.conversationId, pageSize, state.olderCursor);
  const fromBottom = messagesBox.scrollHeight - messagesBox.scrollTop;
  messageList.prepend(
    ...page.items.reverse().map((message) => messageItem(message.role, message.content).item),
  );
  messagesBox.scrollTop = messagesBox.scrollHeight - fromBottom;
  state.olderCursor = page.next_cursor;
  if (!page.next_cursor) {
    olderButton.hidden = true;
    messagesBox.focus();
  }
  notify(`Loaded ${page.items.length} earlier messages${page.next_cursor ? "" : "; this is the beginning"}.`);
}

/** Waits before a reconnection attempt: doubling from 1 s up to 8 s, or until the browser is online. */
const reconnectDelay = (attempt: number) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(1000 * 2 ** (attempt - 1), 8000));
    window.addEventListener("online", done);
  });

async function send(content: string): Promise<void> {
  if (!state.conversationId) {
    const conversation = await api.createConversation(chatbotSelect.value, content.slice(0, 60));
    state.conversations.unshift(conversation);
    setConversation(conversation);
  }
  const conversationId = state.conversationId!;
  const asked = messageItem("user", content);
  const reply = messageItem("assistant", "");
  reply.item.setAttribute("aria-busy", "true");
  messageList.append(asked.item, reply.item);
  scrollToEnd();
  const key = crypto.randomUUID();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        reply.body.textContent = "";
        const exchange = await streamReply(conversationId, content, key, (text) => {
          reply.body.textContent += text;
          scrollToEnd();
        });
        reply.body.textContent = exchange.assistant_message.content;
        if (attempt > 1) notify("Reconnected: the message was sent once.");
        else notify("");
        break;
      } catch (error) {
        if (!(error instanceof ConnectionLost)) throw error;
        fail(`Connection lost. Reconnecting (attempt ${attempt})…`);
        await reconnectDelay(attempt);
      }
    }
  } catch (error) {
    asked.item.remove();
    reply.item.remove();
    if (!messageInput.value) messageInput.value = content;
    throw error;
  } finally {
    reply.item.removeAttribute("aria-busy");
    scrollToEnd();
  }
}

function addKnowledgeRow(): HTMLInputElement {
  const number = knowledgeList.children.length + 1;
  const item = document.createElement("li");
  const field = (label: string, name: string) => {
    const wrapper = document.createElement("label");
    const input = document.createElement("input");
    input.name = name;
    input.maxLength = 2000;
    wrapper.append(`${label} ${number}`, input);
    item.append(wrapper);
    return input;
  };
  const question = field("Question", "question");
  field("Answer", "answer");
  knowledgeList.append(item);
  return question;
}

function openNewChatbotForm(): void {
  newChatbotForm.hidden = false;
  toggleNewChatbot.setAttribute("aria-expanded", "true");
  if (knowledgeList.children.length === 0) addKnowledgeRow();
  byId<HTMLInputElement>("chatbot-name").focus();
}

function closeNewChatbotForm(): void {
  newChatbotForm.hidden = true;
  toggleNewChatbot.setAttribute("aria-expanded", "false");
}

async function createChatbot(): Promise<void> {
  const knowledge: Array<{ question: string; answer: string }> = [];
  for (const [index, row] of [...knowledgeList.children].entries()) {
    const [question, answer] = [...row.querySelectorAll("input")].map((input) => input.value.trim());
    if (!question && !answer) continue;
    if (!question || !answer) {
      row.querySelector<HTMLInputElement>(question ? "[name=answer]" : "[name=question]")!.focus();
      return fail(`Knowledge entry ${index + 1} needs both a question and an answer.`);
    }
    knowledge.push({ question: question!, answer: answer! });
  }
  const form = new FormData(newChatbotForm);
  const prompt = String(form.get("system_prompt") ?? "").trim();
  const chatbot = await api.createChatbot({
    name: String(form.get("name")).trim(),
    ...(prompt ? { system_prompt: prompt } : {}),
    knowledge,
  });
  state.chatbots.unshift(chatbot);
  renderChatbots();
  chatbotSelect.value = chatbot.id;
  newChatbotForm.reset();
  knowledgeList.replaceChildren();
  closeNewChatbotForm();
  startConversation();
  notify(`Chatbot “${chatbot.name}” created with ${knowledge.length} knowledge entries.`);
  messageInput.focus();
}

authForm.addEventListener(
  "submit",
  guarded(
    async (event: SubmitEvent) => {
      event.preventDefault();
      const form = new FormData(authForm);
      const email = String(form.get("email"));
      const password = String(form.get("password"));
      const registering = (event.submitter as HTMLButtonElement | null)?.value === "register";
      const { access_token } = registering
        ? await api.register(email, password)
        : await api.login(email, password);
      setToken(access_token);
      sessionStorage.setItem("parley-email", email);
      authForm.reset();
      await enterWorkspace();
      if (!newChatbotForm.hidden) return;
      notify(registering ? "Account created: you are signed in." : "Signed in.");
      chatbotSelect.focus();
    },
    () => [byId("sign-in"), byId("register")],
  ),
);
byId("sign-out").addEventListener("click", () => signOut("Signed out."));
chatbotSelect.addEventListener("change", () => startConversation());
toggleNewChatbot.addEventListener("click", () =>
  newChatbotForm.hidden ? openNewChatbotForm() : closeNewChatbotForm(),
);
byId("add-knowledge").addEventListener("click", () => addKnowledgeRow().focus());
newChatbotForm.addEventListener(
  "submit",
  guarded(async (event: SubmitEvent) => {
    event.preventDefault();
    await createChatbot();
  }),
);
byId("new-conversation").addEventListener("click", () => {
  startConversation();
  messageInput.focus();
});
olderButton.addEventListener("click", guarded(loadOlder));
messageInput.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter starts a new line.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  }
});
composer.addEventListener(
  "submit",
  guarded(
    async (event: SubmitEvent) => {
      event.preventDefault();
      const content = messageInput.value.trim();
      if (!content || sendButton.disabled) return;
      messageInput.value = "";
      sendButton.disabled = true;
      try {
        await send(content);
      } finally {
        sendButton.disabled = false;
      }
    },
    () => [sendButton],
  ),
);

if (signedIn()) enterWorkspace().catch((error) => explain(error));
else showAuth();
