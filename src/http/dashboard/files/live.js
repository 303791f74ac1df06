// The connection to `/ws`: the first connect asks for a snapshot, every reconnect
// resumes with `since=<last seq>`. After a drop it retries with exponential backoff
// (0.5 s doubling up to 10 s, with jitter) and reports its state meanwhile. The
// daemon's `instance_id` (from its hello) goes with `since`, so a different daemon
// behind the same address answers with a reset and a snapshot.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;

export class Live {
  /**
   * @param {object} hooks
   * @param {() => number|null} hooks.since  the seq to resume after, or null for a snapshot
   * @param {(msg: object) => void} hooks.message
   * @param {(state: string, info: object) => void} hooks.state
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.ws = null;
    this.attempt = 0;
    this.retryAt = null;
    this.timer = null;
    this.paused = false;
    this.state = 'connecting';
    this.instance = null;
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const since = this.hooks.since();
    const instance = this.instance ? `&instance=${encodeURIComponent(this.instance)}` : '';
    const query = since === null ? '' : `?since=${since}${instance}`;
    return `${scheme}://${location.host}/ws${query}`;
  }

  start() {
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    this.report('connecting', {});
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.report('live', {});
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.dropped(e.code);
    };
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.type === 'hello') {
      this.instance = msg.instance_id;
      return;
    }
    this.hooks.message(msg);
  }

  dropped(code) {
    if (this.paused) {
      this.report('paused', {});
      return;
    }
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.report('disconnected', { code, attempt: this.attempt, retryAt: this.retryAt });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  report(state, info) {
    this.state = state;
    this.hooks.state(state, info);
  }

  /** Closes the connection and stays away until `resume` (for diagnostics and tests). */
  pause() {
    this.paused = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'paused');
    else this.report('paused', {});
  }

  /** Reconnects at once after `pause`, resuming from the last seq. */
  resume() {
    this.paused = false;
    this.attempt = 0;
    if (!this.ws) this.connect();
  }

  /** Reconnects now instead of waiting for the backoff. */
  retryNow() {
    if (!this.ws && !this.paused) this.connect();
  }
}
