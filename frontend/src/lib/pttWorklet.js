// The push-to-talk microphone tap (an AudioWorklet, loaded from the dashboard's own origin):
// posts each render quantum of the first input channel to the page.
registerProcessor('livehost-ptt', class extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0]
    if (channel) this.port.postMessage(channel.slice(0))
    return true
  }
})
