// The demo chat page: sign in, pick a chatbot, start a conversation, stream replies over SSE.

(() => {
  const $ = (selector) => document.querySelector(selector);
  let token = sessionStorage.getItem("parley-token");
  let conversationId = null;

  const api = async (path, options = {}) => {
    const response = await fetch(path, {
      ...options,
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...options.headers,
      },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    }
    return response;
  };
  const status = (text) => {
    $("#status").textContent = text;
  };
  const addMessage = (role, text) => {
    const item = document.createElement("li");
    item.className = role;
    item.textContent = text;
    $("#messages").append(item);
    return item;
  };

  const showChat = async () => {
    $("#login").hidden = true;
    $("#chat").hidden = false;
    const { items } = await (await api("/api/chatbots?limit=100")).json();
    $("#chatbots").replaceChildren(
      ...items.map((bot) =>
        Object.assign(document.createElement("option"), { value: bot.id, textContent: bot.name }),
      ),
    );
    await newConversation();
  };

  const newConversation = async () => {
    const chatbotId = $("#chatbots").value;
    if (!chatbotId) return status("no chatbots yet");
    const conversation = await (
      await api(`/api/chatbots/${chatbotId}/conversations`, {
        method: "POST",
        body: JSON.stringify({ title: "Web chat" }),
      })
    ).json();
    conversationId = conversation.id;
    $("#messages").replaceChildren();
    status("");
  };

  const send = async (content) => {
    addMessage("user", content);
    const reply = addMessage("assistant", "");
    const response = await api(`/api/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: { accept: "text/event-stream", "idempotency-key": crypto.randomUUID() },
      body: JSON.stringify({ content }),
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
        if (event === "token") reply.textContent += data.text;
        if (event === "error") status(data.error.message);
        end = buffer.indexOf("\n\n");
      }
    }
  };

  $("#login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const body = await (
        await api("/api/auth/login", {
          method: "POST",
          body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
        })
      ).json();
      token = body.access_token;
      sessionStorage.setItem("parley-token", token);
      await showChat();
    } catch (error) {
      status(error.message);
    }
  });
  $("#new-conversation").addEventListener("click", () =>
    newConversation().catch((error) => status(error.message)),
  );
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.elements.content;
    const content = input.value.trim();
    input.value = "";
    if (content) send(content).catch((error) => status(error.message));
  });
  if (token) showChat().catch(() => sessionStorage.removeItem("parley-token"));
})();
