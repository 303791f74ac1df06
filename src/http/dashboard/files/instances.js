// The HAProxy instance header: one line per `[[haproxy]]` section with its version,
// uptime, connections against maxconn, and whether the event ring subscription is
// up, from GET /api/haproxy/instances (read again every 10 s).

import { fill, h } from './dom.js';
import { duration, parseTs } from './format.js';

const EVERY_MS = 10000;

/** Uptime now: what `show info` said, plus the time since it was read. */
function uptimeMs(i) {
  const read = parseTs(i.fetched_at);
  const since = read ? Math.max(0, Date.now() - read) : 0;
  return i.info.uptime_s * 1000 + since;
}

function line(i) {
  const info = i.info;
  const parts = [h('span', { class: 'bname' }, i.name), h('span', { class: 'muted' }, ` ${i.source}`)];
  if (info) {
    parts.push(
      h('span', { class: 'inst-version' }, ` HAProxy ${info.version}`),
      h('span', { class: 'inst-uptime' }, ` · up ${duration(uptimeMs(i))}`),
      h('span', { class: 'inst-conns' }, ` · ${info.curr_conns}/${info.max_conn} connections`),
    );
  } else if (i.last_fetch_status === 'failed') {
    parts.push(h('span', { class: 'inst-error' }, ` · ${i.last_fetch_error || 'cannot be read'}`));
  }
  if (i.push !== 'off') {
    const title = i.push_error || '';
    parts.push(h('span', { class: `inst-push push-${i.push}`, title }, ` · push ${i.push}`));
  }
  return h('div', { class: 'instance', 'data-instance': i.name }, ...parts);
}

export class Instances {
  /** @param {HTMLElement} host */
  constructor(host) {
    this.host = host;
  }

  start() {
    this.load();
    setInterval(() => this.load(), EVERY_MS);
  }

  async load() {
    try {
      const response = await fetch('/api/haproxy/instances', { cache: 'no-store' });
      if (!response.ok) return;
      const body = await response.json();
      const list = body.instances || [];
      this.host.hidden = list.length === 0;
      fill(this.host, ...list.map(line));
    } catch (_) {
      // The connection indicator already says when the daemon cannot be reached.
    }
  }
}
