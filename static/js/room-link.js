// A room's link and its secret, for both call pages (call.js, group.js). The secret is the part after "#": browsers never send it in a request, so it
// reaches no server log and no Referer. A page opened without one (a typed name, a cut
// link) makes its own: it opens an empty room with it, or knocks.

import { t } from './i18n.js';

export function roomSecret() {
  const given = location.hash.slice(1);
  if (/^[A-Za-z0-9_-]{22,64}$/.test(given)) return given;
  const bytes = crypto.getRandomValues(new Uint8Array(16));  // 128 bits
  const made = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  history.replaceState(null, '', `#${made}`);
  return made;
}

// Let in by a knock: the room's secret is ours now, and so is its link.
export function takeSecret(secret) {
  history.replaceState(null, '', `#${secret}`);
}

// The room's address, with its secret, is the invitation: one click puts it on the clipboard.
export async function copyLink(button, log) {
  try {
    await navigator.clipboard.writeText(location.href);
    button.textContent = t('Link copied');
  } catch (error) {
    log(`could not copy the link: ${error.name}: ${error.message}`);
    button.textContent = t('Copy it from the address bar');
  }
  setTimeout(() => { button.textContent = t('Copy link'); }, 3000);
}
