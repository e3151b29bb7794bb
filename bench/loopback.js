// The reference: the fastest this browser can set up a call. Two RTCPeerConnections in one
// page hand each other the offer, the answer and every candidate directly (no server),
// both sending the camera. Resolves to the same kind of marks as bench/marks.js.
async () => {
  const now = () => performance.timeOrigin + performance.now();
  const marks = { 'join clicked': now() };
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  marks['camera ready'] = now();

  const [left, right] = [new RTCPeerConnection(), new RTCPeerConnection()];
  const firstFrames = [left, right].map((pc) => new Promise((resolve) => {
    const video = document.createElement('video');
    Object.assign(video, { autoplay: true, muted: true, playsInline: true });
    document.body.append(video);
    pc.ontrack = ({ streams: [remote] }) => { video.srcObject = remote; };
    video.requestVideoFrameCallback(() => resolve(now()));
  }));
  // A candidate waits until its receiver has the remote description.
  let rightReady, leftReady;
  const rightHasOffer = new Promise((resolve) => { rightReady = resolve; });
  const leftHasAnswer = new Promise((resolve) => { leftReady = resolve; });
  left.onicecandidate = ({ candidate }) => rightHasOffer.then(() => candidate && right.addIceCandidate(candidate));
  right.onicecandidate = ({ candidate }) => leftHasAnswer.then(() => candidate && left.addIceCandidate(candidate));
  right.oniceconnectionstatechange = () => {
    if (right.iceConnectionState === 'connected') marks['ICE connected'] ??= now();
  };
  right.onconnectionstatechange = () => {
    if (right.connectionState === 'connected') marks['DTLS connected'] ??= now();
  };
  for (const track of stream.getTracks()) {
    left.addTrack(track, stream);
    right.addTrack(track, stream);
  }
  await left.setLocalDescription();
  marks['sent offer'] = now();
  await right.setRemoteDescription(left.localDescription);
  rightReady();
  await right.setLocalDescription();
  await left.setRemoteDescription(right.localDescription);
  leftReady();
  marks['received answer'] = now();
  const frames = await Promise.all(firstFrames);
  marks['first frame'] = Math.max(...frames);
  left.close();
  right.close();
  stream.getTracks().forEach((track) => track.stop());
  return marks;
}
