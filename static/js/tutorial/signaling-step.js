// Tutorial step 3: the real call page, plus a live list of every signaling message it
// sends and receives (call.js announces each one as a "signal" event on document).

import { describe, logLine } from './signal-log.js';

document.addEventListener('signal', ({ detail: { direction, message } }) => {
  logLine(`${direction === 'out' ? '→ sent' : '← received'} ${describe(message)}`);
});
