const socket = new WebSocket('ws://signaling-server-url');

// 연결이 확립되었을 때 처리
socket.onopen = () => {
  // Offer를 보내기 위한 시그널링 데이터 생성
  const offer = await peerConnection.createOffer();
  await peerConnection.setLocalDescription(offer);
  
  // 생성한 Offer를 시그널링 서버로 보낸다.
  socket.send(JSON.stringify(offer));
};

// 시그널링 데이터를 받았을 때 처리
socket.onmessage = (event) => {
  const signalingData = JSON.parse(event.data);
  
  if (signalingData.type === 'answer') {
    // Answer를 받았을 때 처리
    const answer = new RTCSessionDescription(signalingData);
    await peerConnection.setRemoteDescription(answer);
  } else if (signalingData.type === 'candidate') {
    // ICE candidate를 받았을 때 처리
    const candidate = new RTCIceCandidate(signalingData);
    await peerConnection.addIceCandidate(candidate);
  }
};
