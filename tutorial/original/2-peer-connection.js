const peerConnection = new RTCPeerConnection();

// 비디오 및 오디오 트랙 추가
stream.getTracks().forEach(track => {
  peerConnection.addTrack(track, stream);
});

// 원격 피어로부터 스트림을 받을 때 처리
peerConnection.ontrack = (event) => {
  const remoteStream = event.streams[0];
  // 원격 비디오 및 오디오 스트림 처리
};

// ICE candidate 이벤트 처리
peerConnection.onicecandidate = (event) => {
  if (event.candidate) {
    // 로컬 ICE candidate 상대에게 전송
  }
};

// 원격 ICE candidate를 받았을 때 처리
peerConnection.onicecandidate = (event) => {
  // 원격 ICE candidate 처리
};
