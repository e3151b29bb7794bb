// Injected into benchmark pages (after tests/harness.js): timestamps, in ms since the
// epoch, of each stage of a call, so that two pages' marks can be compared.
(() => {
  const marks = {};
  const now = () => performance.timeOrigin + performance.now();
  const mark = (name) => { marks[name] ??= now(); };
  window.benchMarks = marks;
  window.benchMark = mark;

  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (...args) => {
    mark('getUserMedia asked');
    const stream = await getUserMedia(...args);
    mark('camera ready');
    return stream;
  };

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      mark('socket opening');
      this.addEventListener('open', () => mark('socket open'));
    }
  };

  document.addEventListener('signal', ({ detail: { direction, message } }) => {
    mark(`${direction === 'in' ? 'received' : 'sent'} ${message.type}`);
  });

  const NativePeerConnection = window.RTCPeerConnection;  // harness.js's wrapper
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      mark('peer connection made');
      this.addEventListener('iceconnectionstatechange', () => {
        if (this.iceConnectionState === 'connected') mark('ICE connected');
      });
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') mark('DTLS connected');
      });
    }
  };

  document.addEventListener('click', ({ target }) => {
    if (target.id === 'join-button') mark('join clicked');
  }, true);

  // Marks "first frame <selector>" when that <video> presents its first frame; the promise
  // window.benchFirstFrame resolves then, to that mark (awaiting it polls nothing, unlike
  // wait_for_function, whose checks on every animation frame would slow the page measured).
  window.benchWatchFirstFrame = (selector) => {
    window.benchFirstFrame = new Promise((resolve) => {
      document.querySelector(selector).requestVideoFrameCallback(() => {
        mark(`first frame ${selector}`);
        resolve(marks[`first frame ${selector}`]);
      });
    });
  };
})();
