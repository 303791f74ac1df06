// The availability strip of each target: the last 24 hours of its fetch status,
// built from its event log (`fetch_failed` / `fetch_recovered`, polling switched
// off, the target's appearance) and drawn as inline SVG. Histories are loaded only
// for strips that scroll into view, a few at a time, and then follow live events.

import * as api from './api.js';
import { fill, h, s } from './dom.js';
import { clock, duration, parseTs } from './format.js';

const DAY_MS = 24 * 3600 * 1000;
const WIDTH = 1440;
const MIN_WIDTH = 2;
const PAGE = 1000;
const MAX_PAGES = 20;
const RELEVANT = new Set([
  'target_added', 'fetch_failed', 'fetch_recovered', 'polling_disabled', 'polling_enabled',
]);
const WORDS = {
  ok: 'fetched', failed: 'fetch failed', partial: 'some applications failed',
  disabled: 'polling disabled', absent: 'not watched yet',
};

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

function describe(seg) {
  const what = `${WORDS[seg.kind]} ${clock(seg.from)} – ${clock(seg.to)} (${duration(seg.to - seg.from)})`;
  return seg.kind === 'failed' && seg.error ? `${what}: ${seg.error}` : what;
}

/** Draws the strip into `host` (an svg and a percentage label). */
function draw(host, segs, now) {
  const start = now - DAY_MS;
  const svg = s('svg', {
    class: 'strip', viewBox: `0 0 ${WIDTH} 10`, preserveAspectRatio: 'none', role: 'img',
  });
  let watched = 0;
  let good = 0;
  for (const seg of segs) {
    const x = ((seg.from - start) / DAY_MS) * WIDTH;
    const w = Math.max(((seg.to - seg.from) / DAY_MS) * WIDTH, seg.kind === 'ok' ? 0 : MIN_WIDTH);
    svg.append(s('rect', { class: `seg ${seg.kind}`, x: x.toFixed(2), y: 0, width: w.toFixed(2), height: 10 },
      s('title', null, describe(seg))));
    if (seg.kind !== 'absent') watched += seg.to - seg.from;
    if (seg.kind === 'ok') good += seg.to - seg.from;
  }
  const pct = watched > 0 ? (100 * good) / watched : null;
  const label = pct === null ? 'no data' : `${pct >= 99.95 ? '100' : pct.toFixed(1)}%`;
  svg.setAttribute('aria-label', `fetched ${label} of the last 24 h`);
  fill(host, stripLabel(), svg,
    h('span', { class: 'strip-pct', title: 'share of the last 24 h with a successful fetch' }, label));
}

/** The words before every strip: what it measures and over what period. */
function stripLabel() {
  return h('span', {
    class: 'strip-label',
    title: 'Fetch status over the last 24 hours: green = fetched, red = fetch failed, '
      + 'amber = some applications failed, grey = polling disabled. '
      + 'The percentage is the share of the watched time with a successful fetch.',
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

  /** Follows a live event. */
  onEvent(ev) {
    const hist = this.history.get(ev.target);
    if (!hist || !RELEVANT.has(ev.type)) return;
    hist.events.push({ ...ev, data: ev.data || {} });
    if (hist.loaded) this.render(ev.target);
  }

  /** Forgets every history (after a reset): visible strips load again. */
  reset() {
    this.history.clear();
    this.queue = [];
    for (const id of this.visible) this.want(id);
  }

  /** Redraws the visible strips (time moves on). */
  refresh() {
    for (const id of this.visible) {
      if (this.history.has(id)) this.render(id);
      else this.want(id);
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
    this.history.set(id, { events: [], loaded: false });
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
    const loaded = [];
    let since = 0;
    try {
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const body = await api.events(id, since, PAGE);
        loaded.push(...body.events.filter((e) => RELEVANT.has(e.type)));
        if (body.events.length < PAGE) break;
        since = body.next_since;
      }
    } catch {
      this.history.delete(id);
      return;
    }
    const hist = this.history.get(id);
    if (!hist) return;
    const last = loaded.length ? loaded[loaded.length - 1].seq : 0;
    const live = hist.events.filter((e) => e.seq > last);
    hist.events = [...loaded.map((e) => ({ ...e, data: e.data || {} })), ...live];
    hist.loaded = true;
    this.render(id);
  }

  render(id) {
    const host = this.hosts.get(id);
    const hist = this.history.get(id);
    if (!host || !hist || !hist.loaded) return;
    const now = Date.now();
    draw(host, segments(hist.events, now), now);
  }

  /** How many histories are loaded (for diagnostics). */
  loadedCount() {
    let n = 0;
    for (const hist of this.history.values()) if (hist.loaded) n += 1;
    return n;
  }
}

