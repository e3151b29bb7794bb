// Chat: text over an RTCDataChannel, from one browser straight to the other; the signaling
// server never sees it. Each message is acknowledged, so the sender sees it was delivered.

import { t } from './i18n.js';

const list = document.getElementById('chat-messages');
const form = document.getElementById('chat-form');
const input = document.getElementById('chat-input');
const sendButton = document.getElementById('chat-send');

// What the other browser may send us is capped: the page stays small and responsive
// whatever it does. The input box holds MAX_TEXT characters, so ours always fit.
const MAX_TEXT = 1000;
const MAX_FRAME = 4 * MAX_TEXT + 100;  // a text message in JSON, escapes and all
const MAX_SHOWN = 200;  // the oldest messages go first
const BURST = 20;  // messages at once, then
const PER_SECOND = 5;

let channel = null;
let nextId = 1;
let tokens = BURST;
let lastRefill = performance.now();

// A token bucket: a person types a few messages a second at most, a script thousands.
function allowIncoming() {
  const now = performance.now();
  tokens = Math.min(BURST, tokens + ((now - lastRefill) / 1000) * PER_SECOND);
  lastRefill = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

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
  input.placeholder = ready ? t('Write a message') : t('Chat opens when the call connects');
}

// From the other browser, so checked like anything from the network.
function receive(data) {
  if (typeof data !== 'string' || data.length > MAX_FRAME || !allowIncoming()) return;
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (!Number.isInteger(message?.id)) return;
  switch (message.type) {
    case 'text':
      show('them', String(message.text).slice(0, MAX_TEXT));
      if (channel?.readyState === 'open') {
        channel.send(JSON.stringify({ type: 'delivered', id: message.id }));
      }
      return;
    case 'delivered': {
      const item = list.querySelector(`[data-id="${message.id}"]`);
      item?.classList.add('delivered');
      return item?.setAttribute('aria-description', t('delivered'));
    }
  }
}

function show(from, text, id) {
  const item = document.createElement('li');
  item.className = from;
  item.textContent = text;
  if (id) item.dataset.id = id;
  list.append(item);
  while (list.children.length > MAX_SHOWN) list.firstElementChild.remove();
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
