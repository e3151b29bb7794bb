// Sharing the screen: getDisplayMedia gives a video track that is sent in place of the
// camera's (replaceTrack, no renegotiation). When the person stops sharing from the
// browser's own "Stop sharing" bar, the track ends, and the camera comes back by itself.

export class ScreenShare {
  constructor({ swapVideo, onChange }) {
    this.swapVideo = swapVideo;  // async (oldTrack, newTrack): send and show the new one
    this.onChange = onChange;
    this.screenTrack = null;
    this.cameraTrack = null;
    this.calls = 0;  // counts end(): a share that starts after its call ended is dropped
  }

  get active() {
    return this.screenTrack !== null;
  }

  async start(cameraTrack) {
    const call = this.calls;
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    if (call !== this.calls) {  // the call ended while the browser's picker was open
      display.getTracks().forEach((track) => track.stop());
      return;
    }
    [this.screenTrack] = display.getVideoTracks();
    this.cameraTrack = cameraTrack;
    this.screenTrack.addEventListener('ended', () => this.stop(), { once: true });
    await this.swapVideo(cameraTrack, this.screenTrack);
    this.onChange(true);
  }

  // The Share screen button. Rejects with NotAllowedError if the person closes the
  // browser's picker without choosing.
  toggle(cameraTrack) {
    return this.active ? this.stop() : this.start(cameraTrack);
  }

  async stop() {
    if (!this.active) return;
    const { screenTrack, cameraTrack } = this;
    this.end();
    await this.swapVideo(screenTrack, cameraTrack);
  }

  // The call is over: stop capturing the screen, with nothing to swap back.
  end() {
    this.calls += 1;
    this.screenTrack?.stop();
    this.screenTrack = null;
    this.onChange(false);
  }
}
