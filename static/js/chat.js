// Chat: text over an RTCDataChannel, from one browser straight to the other; the signaling
// server never sees it. Each message is acknowledged, so the sender sees it was delivered.

const list = document.getElementById('chat-messages');
const form = document.getElementById('chat-form');
const input = document.getElementById('chat-input');
const sendButton = document.getElementById('chat-send');

let channel = null;
let nextId = 1;

// Both sides make the same channel ("negotiated", id 0) as soon as they make the peer
// connection: neither waits for the other to announce it, and it goes in the first offer.
export function openChat(pc) {
  closeChat();
  list.replaceChildren();
  channel = pc.createDataChannel('chat', { negotiated: true, id: 0 });
  channel.onopen = () => setReady(true);
  channel.onclose = () => setReady(false);
  channel.onmessage = ({ data }) => receive(data);
}

export function closeChat() {
  channel?.close();
  channel = null;
  setReady(false);
}

function setReady(ready) {
  input.disabled = sendButton.disabled = !ready;
  input.placeholder = ready ? 'Write a message' : 'Chat opens when the call connects';
}

// From the other browser, so checked like anything from the network.
function receive(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (!Number.isInteger(message?.id)) return;
  switch (message.type) {
    case 'text':
      show('them', String(message.text));
      if (channel?.readyState === 'open') {
        channel.send(JSON.stringify({ type: 'delivered', id: message.id }));
      }
      return;
    case 'delivered': {
      const item = list.querySelector(`[data-id="${message.id}"]`);
      item?.classList.add('delivered');
      return item?.setAttribute('aria-description', 'delivered');
    }
  }
}

function show(from, text, id) {
  const item = document.createElement('li');
  item.className = from;
  item.textContent = text;
  if (id) item.dataset.id = id;
  list.append(item);
  item.scrollIntoView({ block: 'nearest' });
}

function send(event) {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || channel?.readyState !== 'open') return;
  const id = nextId++;
  channel.send(JSON.stringify({ type: 'text', id, text }));
  show('me', text, id);
  input.value = '';
}

form.addEventListener('submit', send);
setReady(false);
