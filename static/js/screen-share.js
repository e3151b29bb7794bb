// Sharing the screen: getDisplayMedia gives a video track that is sent in place of the
// camera's (replaceTrack, no renegotiation). When the person stops sharing from the
// browser's own "Stop sharing" bar, the track ends, and the camera comes back by itself.

export class ScreenShare {
  constructor({ swapVideo, onChange }) {
    this.swapVideo = swapVideo;  // async (oldTrack, newTrack): send and show the new one
    this.onChange = onChange;
    this.screenTrack = null;
    this.cameraTrack = null;
  }

  get active() {
    return this.screenTrack !== null;
  }

  async start(cameraTrack) {
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    [this.screenTrack] = display.getVideoTracks();
    this.cameraTrack = cameraTrack;
    this.screenTrack.addEventListener('ended', () => this.stop(), { once: true });
    await this.swapVideo(cameraTrack, this.screenTrack);
    this.onChange(true);
  }

  async stop() {
    if (!this.active) return;
    const { screenTrack, cameraTrack } = this;
    this.screenTrack = null;
    screenTrack.stop();
    await this.swapVideo(screenTrack, cameraTrack);
    this.onChange(false);
  }
}
