// Injected into every test page before the app's own scripts (context.add_init_script).
// It needs nothing from the app: it remembers every RTCPeerConnection the page creates,
// and measures what a person would see and hear. Copy it to test your own WebRTC app.
(() => {
  const NativePeerConnection = window.RTCPeerConnection;
  const peerConnections = [];
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      peerConnections.push(this);
      // Every connectionState it went through: brief ones ("failed" before a restart) too.
      this.connectionStates = [this.connectionState];
      this.addEventListener('connectionstatechange', () => {
        this.connectionStates.push(this.connectionState);
      });
    }
  };

  // The newest peer connection that is not closed: the one the call is using.
  function currentPeerConnection() {
    return peerConnections.filter((pc) => pc.signalingState !== 'closed').at(-1) ?? null;
  }

  // The peer connection whose incoming tracks a <video> shows: in a group call (a mesh),
  // each person's tile has a connection of its own.
  function peerConnectionOf(selector) {
    const tracks = document.querySelector(selector)?.srcObject?.getTracks() ?? [];
    return peerConnections.find((pc) => pc.signalingState !== 'closed'
      && pc.getReceivers().some((receiver) => tracks.includes(receiver.track))) ?? null;
  }

  // What arrives of `kind` on the call's connection, or on the one a <video> shows.
  async function inboundStats(kind, selector) {
    const pc = selector ? peerConnectionOf(selector) : currentPeerConnection();
    if (!pc) return null;
    const report = await pc.getStats();
    for (const stats of report.values()) {
      if (stats.type === 'inbound-rtp' && stats.kind === kind) return stats;
    }
    return null;
  }

  async function selectedCandidatePair() {
    const pc = currentPeerConnection();
    if (!pc) return null;
    const report = await pc.getStats();
    for (const stats of report.values()) {
      if (stats.type === 'transport' && stats.selectedCandidatePairId) {
        const pair = report.get(stats.selectedCandidatePairId);
        const local = report.get(pair.localCandidateId);
        const remote = report.get(pair.remoteCandidateId);
        return {
          local: local.candidateType, localAddress: local.address, localPort: local.port,
          remote: remote.candidateType, remoteAddress: remote.address, remotePort: remote.port,
          protocol: local.protocol, relayProtocol: local.relayProtocol,
        };
      }
    }
    return null;
  }

  // [protocol, port] of every candidate this call has gathered or been sent.
  async function candidatePorts() {
    const report = await currentPeerConnection().getStats();
    return [...report.values()]
      .filter((stats) => stats.type.endsWith('-candidate'))
      .map((stats) => [stats.protocol, stats.port]);
  }

  // Frames actually presented by a <video>, counted with requestVideoFrameCallback.
  function presentedFrames(selector) {
    const video = document.querySelector(selector);
    if (video.harnessFrames === undefined) {
      video.harnessFrames = 0;
      video.harnessLongestGap = 0;
      const onFrame = (now) => {
        if (video.harnessLastFrameAt !== undefined) {
          video.harnessLongestGap = Math.max(video.harnessLongestGap, now - video.harnessLastFrameAt);
        }
        video.harnessLastFrameAt = now;
        video.harnessFrames += 1;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    return video.harnessFrames;
  }

  // The longest time (ms) between two presented frames since the last call: a freeze.
  function longestFrameGap(selector) {
    const video = document.querySelector(selector);
    presentedFrames(selector);
    const longest = video.harnessLongestGap;
    video.harnessLongestGap = 0;
    return longest;
  }

  // [width, height] of the picture a <video> shows, and of what this page's camera captures.
  function videoSize(selector) {
    const video = document.querySelector(selector);
    return [video.videoWidth, video.videoHeight];
  }

  function cameraSize() {
    const track = document.querySelector('#local-video').srcObject.getVideoTracks()[0];
    const { width, height } = track.getSettings();
    return [width, height];
  }

  // Whether audio arrived since `start` (inboundStats('audio') then, or null) with more
  // energy than `least` in it: sound, not the one bit of noise a muted sender sends.
  async function soundSince(start, least, selector) {
    const now = await inboundStats('audio', selector);
    const before = start ?? { bytesReceived: 0, totalAudioEnergy: 0 };
    return Boolean(now && now.bytesReceived > before.bytesReceived
      && now.totalAudioEnergy - before.totalAudioEnergy > least);
  }

  // Audio packets received in a row with no sound (energy under `least`), counted from the
  // first call after startSilenceCount(); sound starts the count anew.
  // One count for the call's connection, and one for each <video> (selector) asked about.
  const silenceStarts = new Map();
  function startSilenceCount(selector = '') {
    silenceStarts.delete(selector);
  }

  async function silentPackets(least, selector = '') {
    const now = await inboundStats('audio', selector);
    if (!now) return 0;
    const start = silenceStarts.get(selector);
    if (!start || now.totalAudioEnergy - start.totalAudioEnergy > least) {
      silenceStarts.set(selector, now);
      return 0;
    }
    return now.packetsReceived - start.packetsReceived;
  }

  // What the call looks like from here, for a test's failure message.
  async function diagnosis(selector = '#remote-video') {
    const shown = peerConnectionOf(selector);  // the one this <video> shows, if it shows one
    const pc = shown ?? currentPeerConnection();
    const video = await inboundStats('video', shown ? selector : undefined);
    const pick = (stats, keys) => stats && Object.fromEntries(keys.map((k) => [k, stats[k]]));
    return JSON.stringify({
      connectionStates: pc?.connectionStates, signalingState: pc?.signalingState,
      presentedFrames: document.querySelector(selector) && presentedFrames(selector),
      // Where the <video> is: Chromium presents no frames of one scrolled out of view.
      box: document.querySelector(selector)?.getBoundingClientRect().toJSON(),
      viewport: [innerWidth, innerHeight],
      video: pick(video, ['packetsReceived', 'packetsLost', 'framesDecoded', 'keyFramesDecoded',
                          'pliCount', 'nackCount', 'frameWidth', 'frameHeight']),
      pair: await selectedCandidatePair(),
    });
  }

  // Mean brightness (0-255) of the picture a <video> shows now.
  function brightness(selector) {
    const video = document.querySelector(selector);
    if (!video.videoWidth) return null;
    const canvas = new OffscreenCanvas(64, 48);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(video, 0, 0, 64, 48);
    const pixels = context.getImageData(0, 0, 64, 48).data;
    let sum = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      sum += 0.2126 * pixels[i] + 0.7152 * pixels[i + 1] + 0.0722 * pixels[i + 2];
    }
    return sum / (pixels.length / 4);
  }

  window.harness = {
    peerConnections, currentPeerConnection, peerConnectionOf, inboundStats, selectedCandidatePair, candidatePorts,
    presentedFrames, longestFrameGap, brightness, videoSize, cameraSize, soundSince,
    startSilenceCount, silentPackets, diagnosis,
  };
})();
