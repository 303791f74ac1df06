// The availability strip of each target: the last 24 hours of its fetch status as
// the daemon computes it (`GET /api/history`: outages as intervals, availability,
// MTTR, MTBF), drawn as inline SVG with each outage described on hover. Histories
// are loaded only for strips that scroll into view, a few at a time, and again
// after a relevant live event or once a minute. `segments` (the same intervals from
// raw events) stays for pages that only have the event log.

import * as api from './api.js';
import { fill, h, s } from './dom.js';
import { clock, duration, parseTs } from './format.js';

const DAY_MS = 24 * 3600 * 1000;
const WIDTH = 1440;
const MIN_WIDTH = 2;
const STALE_MS = 60 * 1000;
const RELEVANT = new Set([
  'target_added', 'fetch_failed', 'fetch_recovered', 'polling_disabled', 'polling_enabled',
]);

/** The state machine of one target's history. */
class Replay {
  constructor(events) {
    const first = (pred) => events.find(pred);
    const whole = (e) => (e.type === 'fetch_failed' || e.type === 'fetch_recovered') && !e.data.application;
    const polling = (e) => e.type === 'polling_disabled' || e.type === 'polling_enabled';
    const starts = events.length > 0 && events[0].type === 'target_added';
    this.exists = !starts;
    this.failed = !starts && first(whole)?.type === 'fetch_recovered';
    this.disabled = !starts && first(polling)?.type === 'polling_enabled';
    this.apps = new Set();
    this.error = null;
  }

  apply(e) {
    const app = e.data.application;
    if (e.type === 'target_added') this.exists = true;
    else if (e.type === 'polling_disabled') this.disabled = true;
    else if (e.type === 'polling_enabled') this.disabled = false;
    else if (e.type === 'fetch_failed' && app) this.apps.add(app);
    else if (e.type === 'fetch_recovered' && app) this.apps.delete(app);
    else if (e.type === 'fetch_failed') [this.failed, this.error] = [true, e.data.error];
    else if (e.type === 'fetch_recovered') this.failed = false;
  }

  kind() {
    if (!this.exists) return 'absent';
    if (this.disabled) return 'disabled';
    if (this.failed) return 'failed';
    return this.apps.size ? 'partial' : 'ok';
  }
}

/** The segments `{from, to, kind, error}` of the last 24 h before `now`. */
export function segments(events, now) {
  const start = now - DAY_MS;
  const replay = new Replay(events);
  const out = [];
  let cursor = start;
  let kind = replay.kind();
  let error = replay.error;
  for (const e of events) {
    const at = parseTs(e.ts) ?? now;
    replay.apply(e);
    const next = replay.kind();
    if (at <= start) {
      [kind, error] = [next, replay.error];
    } else if (next !== kind) {
      out.push({ from: cursor, to: at, kind, error });
      [cursor, kind, error] = [at, next, replay.error];
    }
  }
  out.push({ from: cursor, to: now, kind, error });
  return out.filter((seg) => seg.to > seg.from);
}

function describeOutage(o, app) {
  const from = parseTs(o.start);
  const to = o.end ? parseTs(o.end) : null;
  const span = `${clock(from)} – ${to === null ? 'now' : clock(to)} (${duration(o.duration_s * 1000)})`;
  const what = app ? `application ${app}: fetch failed` : 'fetch failed';
  const kind = o.error_kind ? ` [${o.error_kind}]` : '';
  return `${what} ${span}${kind}${o.first_error ? `: ${o.first_error}` : ''}`;
}

/** Draws the daemon's history `body` into `host`: outages over an ok strip. */
function drawHistory(host, body) {
  const start = parseTs(body.since);
  const span = Math.max(parseTs(body.until) - start, 1);
  const svg = s('svg', {
    class: 'strip', viewBox: `0 0 ${WIDTH} 10`, preserveAspectRatio: 'none', role: 'img',
  });
  svg.append(s('rect', { class: 'seg ok', x: 0, y: 0, width: WIDTH, height: 10 }, s('title', null, 'fetched')));
  const rect = (o, kind, app) => {
    const from = parseTs(o.start);
    const to = o.end ? parseTs(o.end) : parseTs(body.until);
    const x = ((from - start) / span) * WIDTH;
    const w = Math.max(((to - from) / span) * WIDTH, MIN_WIDTH);
    svg.append(s('rect', { class: `seg ${kind}`, x: x.toFixed(2), y: 0, width: w.toFixed(2), height: 10 },
      s('title', null, describeOutage(o, app))));
  };
  for (const app of body.applications || []) for (const o of app.outages) rect(o, 'partial', app.name);
  for (const o of body.outages || []) rect(o, 'failed', null);
  const sum = body.summary;
  const pct = sum.availability_pct;
  const label = `${pct >= 99.95 ? '100' : pct.toFixed(1)}%`;
  const mttr = sum.mttr_s === null ? '—' : duration(sum.mttr_s * 1000);
  const mtbf = sum.mtbf_s === null ? '—' : duration(sum.mtbf_s * 1000);
  const title = `availability over the last 24 h: ${label}; ${sum.outages} outage(s), MTTR ${mttr}, MTBF ${mtbf}`;
  svg.setAttribute('aria-label', title);
  fill(host, stripLabel(), svg, h('span', { class: 'strip-pct', title }, label));
}

/** The words before every strip: what it measures and over what period. */
function stripLabel() {
  return h('span', {
    class: 'strip-label',
    title: 'Fetch status over the last 24 hours, as the daemon computes it from its event log '
      + '(GET /api/history): green = fetched, red = fetch failed, amber = some applications failed. '
      + 'Hover an outage for its times and first error; the percentage is the availability.',
  }, 'fetched, last 24 h');
}

export class Availability {
  constructor(parallel = 2) {
    this.parallel = parallel;
    this.history = new Map();
    this.hosts = new Map();
    this.visible = new Set();
    this.queue = [];
    this.running = 0;
    this.observer = new IntersectionObserver((entries) => this.seen(entries), { rootMargin: '300px' });
  }

  /** Shows the strip of target `id` in `host` once it scrolls into view. */
  attach(id, host) {
    host.dataset.stripFor = id;
    this.hosts.set(id, host);
    this.observer.observe(host);
    if (!host.firstChild) fill(host, stripLabel(), h('span', { class: 'strip-pct muted' }, '…'));
  }

  detach(id) {
    const host = this.hosts.get(id);
    if (host) this.observer.unobserve(host);
    this.hosts.delete(id);
    this.visible.delete(id);
    this.history.delete(id);
  }

  /** Follows a live event: a relevant one makes the daemon's history stale. */
  onEvent(ev) {
    const hist = this.history.get(ev.target);
    if (!hist || !RELEVANT.has(ev.type)) return;
    if (hist.loaded && this.visible.has(ev.target)) this.want(ev.target);
  }

  /** Forgets every history (after a reset): visible strips load again. */
  reset() {
    this.history.clear();
    this.queue = [];
    for (const id of this.visible) this.want(id);
  }

  /** Reloads the visible strips whose history is older than a minute. */
  refresh() {
    const now = Date.now();
    for (const id of this.visible) {
      const hist = this.history.get(id);
      if (!hist || (hist.loaded && now - hist.at > STALE_MS)) this.want(id);
    }
  }

  seen(entries) {
    for (const entry of entries) {
      const id = entry.target.dataset.stripFor;
      if (!entry.isIntersecting) {
        this.visible.delete(id);
        continue;
      }
      this.visible.add(id);
      if (this.history.has(id)) this.render(id);
      else this.want(id);
    }
  }

  want(id) {
    const old = this.history.get(id);
    this.history.set(id, { body: old?.body, loaded: !!old?.loaded, at: old?.at || 0 });
    if (this.queue.includes(id)) return;
    this.queue.push(id);
    this.pump();
  }

  pump() {
    while (this.running < this.parallel && this.queue.length > 0) {
      const id = this.queue.shift();
      if (!this.visible.has(id)) {
        this.history.delete(id);
        continue;
      }
      this.running += 1;
      this.load(id).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  async load(id) {
    let body;
    try {
      body = await api.history(id);
    } catch {
      this.history.delete(id);
      return;
    }
    const hist = this.history.get(id);
    if (!hist) return;
    Object.assign(hist, { body, loaded: true, at: Date.now() });
    this.render(id);
  }

  render(id) {
    const host = this.hosts.get(id);
    const hist = this.history.get(id);
    if (!host || !hist || !hist.loaded) return;
    drawHistory(host, hist.body);
  }

  /** How many histories are loaded (for diagnostics). */
  loadedCount() {
    let n = 0;
    for (const hist of this.history.values()) if (hist.loaded) n += 1;
    return n;
  }
}

