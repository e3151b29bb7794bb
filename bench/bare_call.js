// The second reference: the app's call, and nothing else. The same flow through the same
// server (the first person waits with the offer made and sends it on peer-joined; the
// second answers), in a bare page: no local video, no device lists, no chat, no status.
// Run as page.evaluate(BARE_CALL, [role, room]) in two pages, "first" then "second", each
// opened with BARE_PREVIEW (call_setup.py); it resolves once that page is in the room, and
// window.bareCall then resolves to its marks.
async ([role, room]) => {
  const now = () => performance.timeOrigin + performance.now();
  const marks = role === 'second' ? { 'join clicked': now() } : {};
  const camera = window.bareCamera;  // on since the page opened, as the app's once allowed
  const socket = new WebSocket(`ws://${location.host}/ws/${room}`);
  socket.onopen = () => socket.send(JSON.stringify({ type: 'join', secret: 'bench-room-secret-000000' }));
  const video = document.body.appendChild(document.createElement('video'));
  Object.assign(video, { autoplay: true, muted: true });
  const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(now())));
  window.bareCall = firstFrame.then((time) => ({ ...marks, 'first frame': time }));

  let pc = null;
  let held = role === 'first' ? [] : null;  // the first one's offer and candidates
  const pendingCandidates = [];
  const send = (message) => socket.send(JSON.stringify(message));
  const signal = (message) => (held ? held.push(message) : send(message));

  async function makePeer() {
    const stream = await camera;
    pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    pc.ontrack = ({ streams: [remote] }) => { video.srcObject = remote; };
    pc.onicecandidate = ({ candidate }) => signal({ type: 'candidate', candidate });
  }

  async function takeDescription(description) {
    await pc.setRemoteDescription(description);
    for (const candidate of pendingCandidates.splice(0)) {
      await pc.addIceCandidate(candidate ?? undefined);
    }
  }

  async function handle(message) {
    switch (message.type) {
      case 'peer-joined': {
        const messages = held;
        held = null;
        return messages.forEach(send);
      }
      case 'offer':
        await makePeer();
        await takeDescription(message);
        await pc.setLocalDescription();
        return send(pc.localDescription);
      case 'answer':
        return takeDescription(message);
      case 'candidate':
        if (!pc?.remoteDescription) return pendingCandidates.push(message.candidate);
        return pc.addIceCandidate(message.candidate ?? undefined);
    }
  }

  const welcome = new Promise((resolve) => {
    let queue = Promise.resolve();  // one message at a time, in order
    socket.onmessage = ({ data }) => {
      const message = JSON.parse(data);
      if (message.type === 'welcome') resolve();
      queue = queue.then(() => handle(message));
    };
  });
  await welcome;
  if (role === 'first') {
    await makePeer();
    await pc.setLocalDescription();
    signal(pc.localDescription);
  }
}
