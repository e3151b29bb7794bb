navigator.mediaDevices.getUserMedia({ video: true, audio: true })
  .then((stream) => {
    // 스트림을 사용하여 비디오 및 오디오 처리
  })
  .catch((error) => {
    // 액세스 권한 거부 또는 기술적인 문제 등 오류 처리
  });
