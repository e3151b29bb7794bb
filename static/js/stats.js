// A live panel from getStats(), once a second while it is open: the path the call takes,
// the round-trip time, bitrates both ways, the picture received, codecs and packet loss.
// The same numbers chrome://webrtc-internals shows, read by the page itself.

import { t } from './i18n.js';

const panel = document.getElementById('stats');
const fields = Object.fromEntries(
  [...panel.querySelectorAll('[data-stat]')].map((element) => [element.dataset.stat, element]));

let previous = null;  // the last report, for rates

export function watchStats(currentPeerConnection) {
  setInterval(() => {
    const pc = currentPeerConnection();
    if (panel.hidden || !pc) {
      previous = null;
      return;
    }
    pc.getStats().then(show).catch(() => {});  // the call ended meanwhile
  }, 1000);
}

function show(report) {
  const all = [...report.values()];
  const find = (type, kind) => all.filter((stats) => stats.type === type && (!kind || stats.kind === kind));
  const transport = find('transport')[0];
  const pair = report.get(transport?.selectedCandidatePairId);
  const local = report.get(pair?.localCandidateId);
  const remote = report.get(pair?.remoteCandidateId);
  if (local && remote) {
    fields.path.textContent = `${local.candidateType} ↔ ${remote.candidateType} (${local.protocol})`;
    fields.rtt.textContent = pair.currentRoundTripTime === undefined
      ? '…' : `${Math.round(pair.currentRoundTripTime * 1000)} ms`;
  }
  const sent = sum(find('outbound-rtp'), 'bytesSent');
  const received = sum(find('inbound-rtp'), 'bytesReceived');
  if (previous && sent >= previous.sent && received >= previous.received) {  // same call
    const seconds = (report.get(transport?.id)?.timestamp - previous.timestamp) / 1000 || 1;
    fields.sending.textContent = kilobits(sent - previous.sent, seconds);
    fields.receiving.textContent = kilobits(received - previous.received, seconds);
  }
  previous = { sent, received, timestamp: transport?.timestamp };
  const [video] = find('inbound-rtp', 'video');
  if (video?.frameWidth) {
    fields.picture.textContent =
      t('{width}×{height}, {rate} frames/s', { width: video.frameWidth, height: video.frameHeight,
        rate: Math.round(video.framesPerSecond ?? 0) });
  }
  const inbound = find('inbound-rtp');
  fields.codecs.textContent = inbound
    .map((stats) => report.get(stats.codecId)?.mimeType).filter(Boolean).join(', ') || '…';
  const lost = sum(inbound, 'packetsLost');
  const arrived = sum(inbound, 'packetsReceived');
  fields.loss.textContent = t('{lost} of {sent} ({percent} %)',
    { lost, sent: lost + arrived, percent: ((100 * lost) / (lost + arrived || 1)).toFixed(1) });
}

function sum(list, key) {
  return list.reduce((total, stats) => total + (stats[key] ?? 0), 0);
}

function kilobits(bytes, seconds) {
  return `${Math.round((bytes * 8) / 1000 / seconds)} kbit/s`;
}
