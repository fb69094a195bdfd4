// socket.js: a Web PubSub client over the json.webpubsub.azure.v1 subprotocol
// (docs/protocols.md#subprotocol-frames).
// Knows frames, ackIds, keep-alive and reconnecting with backoff; knows nothing about Chatr.
//
//   const s = new PubSubSocket({ getUrl, onOpen, onMessage, onStatus });
//   s.start();  await s.send({ type: 'event', event: 'x', dataType: 'text', data: 'y' });

export const SUBPROTOCOL = 'json.webpubsub.azure.v1';
const PING_MS = 20000;          // as @azure/web-pubsub-client
const DEAD_AFTER_MS = 3 * PING_MS;
const ACK_TIMEOUT_MS = 15000;   // the hub always acks; this only guards against a silent death
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

export class AckError extends Error {
  constructor(name, message) {
    super(message || name);
    this.name = name;
  }
}

export class PubSubSocket {
  // getUrl(): Promise<string> (a fresh client URL each time); onOpen(reconnected: boolean);
  // onMessage(frame); onStatus('connecting' | 'online' | 'offline', detail)
  constructor({ getUrl, onOpen, onMessage, onStatus, onFatal }) {
    this.getUrl = getUrl;
    this.onOpen = onOpen || (() => {});
    this.onMessage = onMessage || (() => {});
    this.onStatus = onStatus || (() => {});
    this.onFatal = onFatal || (() => {});
    this.ws = null;
    this.nextAckId = 1;
    this.pending = new Map(); // ackId -> {resolve, reject, timer}
    this.stopped = true;
    this.everOpened = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  get open() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  async connect() {
    this.onStatus(this.everOpened ? 'offline' : 'connecting', this.attempt);
    let url;
    try {
      url = await this.getUrl();
    } catch (err) {
      if (err.status === 401 || err.status === 403) return this.onFatal(err);
      return this.retry();
    }
    if (this.stopped) return;
    const ws = new WebSocket(url, SUBPROTOCOL);
    this.ws = ws;
    ws.onopen = () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.lastFrameAt = Date.now();
      this.pingTimer = setInterval(() => this.keepAlive(ws), PING_MS);
      this.onStatus('online');
      this.onOpen(reconnected);
    };
    ws.onmessage = (ev) => {
      this.lastFrameAt = Date.now();
      this.receive(ev.data);
    };
    ws.onclose = () => this.dropped(ws);
  }

  // Pings; a socket that has heard nothing (not even a pong) for DEAD_AFTER_MS counts as lost
  // at once, without waiting for TCP to notice.
  keepAlive(ws) {
    if (Date.now() - this.lastFrameAt > DEAD_AFTER_MS) {
      ws.onclose = null;
      ws.close();
      this.dropped(ws);
      return;
    }
    this.raw({ type: 'ping' });
  }

  dropped(ws) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    this.failPending('connection lost');
    if (!this.stopped) this.retry();
  }

  retry() {
    if (this.stopped) return;
    this.onStatus(this.everOpened ? 'offline' : 'connecting', this.attempt);
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'ack') return this.settle(frame);
    if (frame.type === 'pong') return;
    this.onMessage(frame);
  }

  settle(frame) {
    const p = this.pending.get(frame.ackId);
    if (!p) return;
    this.pending.delete(frame.ackId);
    clearTimeout(p.timer);
    // Duplicate means "already done", as @azure/web-pubsub-client treats it.
    if (frame.success || frame.error?.name === 'Duplicate') p.resolve();
    else p.reject(new AckError(frame.error?.name || 'Error', frame.error?.message));
  }

  failPending(why) {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new AckError('ConnectionLost', why));
    }
    this.pending.clear();
  }

  raw(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // Sends a frame with an ackId; resolves on a successful ack, rejects with AckError otherwise.
  send(frame) {
    const ackId = this.nextAckId++;
    return new Promise((resolve, reject) => {
      if (!this.raw({ ...frame, ackId })) {
        reject(new AckError('NotConnected', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ackId);
        reject(new AckError('Timeout', 'no answer from the server'));
      }, ACK_TIMEOUT_MS);
      this.pending.set(ackId, { resolve, reject, timer });
    });
  }
}
