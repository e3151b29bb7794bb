// Chat: text over an RTCDataChannel, from one browser straight to the other; the signaling
// server never sees it. Each message is acknowledged, so the sender sees it was delivered.
// In a group call (group.js) each other person has a channel, and a message goes over all.

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

const chats = new Map();  // whom we chat with (a key: 'them', or a member's id) -> the channel
const unconfirmed = new Map();  // our message's id -> the keys of those who have not confirmed it
let nextId = 1;

// A token bucket for each channel: a person types a few messages a second at most, a
// script thousands.
function tokenBucket() {
  let tokens = BURST;
  let lastRefill = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(BURST, tokens + ((now - lastRefill) / 1000) * PER_SECOND);
    lastRefill = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

// A call of two: a new call, a new conversation.
export function openChat(pc) {
  closeChat();
  list.replaceChildren();
  addChat('them', pc);
}

// Both sides make the same channel ("negotiated", id 0) as soon as they make the peer
// connection: neither waits for the other to announce it, and it goes in the first offer.
// A group call has one for each other person (`name` says who wrote what).
export function addChat(key, pc, name = '') {
  let channel = chats.get(key);
  channel?.close();  // an earlier connection with them
  channel = pc.createDataChannel('chat', { negotiated: true, id: 0 });
  chats.set(key, channel);
  const allowIncoming = tokenBucket();
  channel.onopen = channel.onclose = updateReady;
  channel.onmessage = ({ data }) => allowIncoming() && receive(key, channel, data, name);
}

export function removeChat(key) {
  chats.get(key)?.close();
  chats.delete(key);
  updateReady();
}

export function closeChat() {
  for (const key of [...chats.keys()]) removeChat(key);
}

function openChannels() {
  return [...chats].filter(([, channel]) => channel.readyState === 'open');
}

function updateReady() {
  setReady(openChannels().length > 0);
}

function setReady(ready) {
  input.disabled = sendButton.disabled = !ready;
  input.placeholder = ready ? t('Write a message') : t('Chat opens when the call connects');
}

// From another browser, so checked like anything from the network.
function receive(key, channel, data, name) {
  if (typeof data !== 'string' || data.length > MAX_FRAME) return;
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (!Number.isInteger(message?.id)) return;
  switch (message.type) {
    case 'text':
      show('them', String(message.text).slice(0, MAX_TEXT), undefined, name);
      if (channel.readyState === 'open') {
        channel.send(JSON.stringify({ type: 'delivered', id: message.id }));
      }
      return;
    case 'delivered': {
      // Delivered once everyone it went to has it.
      const waiting = unconfirmed.get(message.id);
      waiting?.delete(key);
      if (!waiting || waiting.size) return;
      unconfirmed.delete(message.id);
      const item = list.querySelector(`[data-id="${message.id}"]`);
      item?.classList.add('delivered');
      return item?.setAttribute('aria-description', t('delivered'));
    }
  }
}

function show(from, text, id, name) {
  const item = document.createElement('li');
  item.className = from;
  item.textContent = text;
  if (id) item.dataset.id = id;
  if (name) item.dataset.name = name;  // style.css shows it before the text
  list.append(item);
  while (list.children.length > MAX_SHOWN) list.firstElementChild.remove();
  item.scrollIntoView({ block: 'nearest' });
}

function send(event) {
  event.preventDefault();
  const text = input.value.trim();
  const open = openChannels();
  if (!text || !open.length) return;
  const id = nextId++;
  for (const [, channel] of open) channel.send(JSON.stringify({ type: 'text', id, text }));
  unconfirmed.set(id, new Set(open.map(([key]) => key)));
  show('me', text, id);
  input.value = '';
}

form.addEventListener('submit', send);
setReady(false);
