// js-libp2p 3 targets Node >= 22; Node 20 (this machine's) lacks Promise.withResolvers.
// Imported first by peer.mjs, before any libp2p module runs.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
