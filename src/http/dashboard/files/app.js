// The dashboard's entry point: wires the model, the views, the live connection,
// notifications and admin actions together. Data flow: `/ws` messages (snapshot,
// events) update the model at once; the views follow in animation frames
// (scheduler.js), so bursts of events cost one render per frame.

import { Admin } from './admin.js';
import { Notifiers } from './notifiers.js';
import { AlertsPanel } from './alerts.js';
import * as api from './api.js';
import { Availability } from './availability.js';
import { setText, show } from './dom.js';
import { DriftView } from './drift.js';
import { EurekaView } from './eureka.js';
import { applyEvent } from './events.js';
import { count, tick } from './format.js';
import { HaproxyView } from './haproxy.js';
import { Instances } from './instances.js';
import { Live } from './live.js';
import { Refetcher } from './refetch.js';
import { Scheduler } from './scheduler.js';
import { EUREKA, HAPROXY, Model, failureKey, failuresOf, splitKey } from './state.js';
import { Connection } from './status.js';
import { Summary } from './summary.js';
import { Toasts } from './toasts.js';

const $ = (id) => document.getElementById(id);
const SMALL_FLEET = 60;
const BURST_GAP_MS = 1000;

const model = new Model();
const metrics = { snapshotAt: null, firstRenderMs: null, renders: 0, bursts: [], rendered: [] };
let failing = new Set();
let awaitingFirstRender = false;

const ctx = {
  filter: { text: '', problems: false },
  availability: new Availability(),
  adminEnabled: () => admin.enabled(),
  smallFleet: () => model.targets.size <= SMALL_FLEET,
  target: (id) => model.targets.get(id),
  touch: () => scheduler.touch(),
};
const haproxy = new HaproxyView(ctx, {
  list: $('haproxy-list'), count: $('haproxy-count'), more: $('haproxy-more'),
  moreText: $('haproxy-more-text'), moreButton: $('haproxy-more-button'),
});
const eureka = new EurekaView(ctx, $('eureka-list'), $('eureka-count'));
const summary = new Summary($('summary'));
const drift = new DriftView($('drift-section'), $('drift-count'), $('drift-empty'), $('drift-table'));
new Instances($('instances')).start();
const toasts = new Toasts($('toasts'));
const conn = new Connection($('conn'), $('conn-text'), () => live.retryNow());
const scheduler = new Scheduler(renderOne, afterRender);
const refetch = new Refetcher(api.target, refetched);
const admin = new Admin(
  { button: $('admin-button'), form: $('admin-form'), input: $('admin-token'), forget: $('admin-forget'), state: $('admin-state') },
  () => {
    scheduler.markAll(model.targets.keys());
    notifiers.refresh();
    alertsPanel.render();
  },
);
const alertsPanel = new AlertsPanel(
  { list: $('alerts-list'), count: $('alerts-count'), silences: $('silences-list'), empty: $('alerts-empty') },
  () => admin.token(),
);
const notifiers = new Notifiers({ section: $('notifiers'), list: $('notifiers-list') }, () => admin.token());
const live = new Live({
  since: () => (model.hasSnapshot ? model.seq : null),
  message: onMessage,
  state: onConnection,
});

function renderOne(id) {
  const t = model.targets.get(id) || null;
  if (!t || t.kind !== EUREKA) eureka.render(id, null);
  if (!t || t.kind !== HAPROXY) haproxy.render(id, null);
  if (t && t.kind === HAPROXY) haproxy.render(id, t);
  if (t && t.kind === EUREKA) eureka.render(id, t);
}

function afterRender() {
  const c = model.counts();
  summary.update(c);
  const backends = haproxy.summarize();
  const servers = eureka.summarize();
  const waiting = model.hasSnapshot ? '' : 'Waiting for the daemon…';
  setText($('haproxy-empty'), waiting || 'No HAProxy backends are configured.');
  setText($('eureka-empty'), waiting || 'No Eureka servers are configured.');
  show($('haproxy-empty'), backends === 0);
  show($('eureka-empty'), servers === 0);
  document.title = c.targets.failed ? `(${c.targets.failed} failed) watchpost` : 'watchpost';
  setText($('last-event'), model.seq ? `event #${count(model.seq)}` : '');
  alertsPanel.mark();
  metrics.renders += 1;
  metrics.rendered.push([model.seq, performance.now()]);
  if (metrics.rendered.length > 500) metrics.rendered.shift();
  if (awaitingFirstRender) {
    awaitingFirstRender = false;
    metrics.firstRenderMs = performance.now();
  }
  const burst = metrics.bursts[metrics.bursts.length - 1];
  if (burst && refetch.idle()) {
    burst.appliedAt = performance.now();
    burst.renderMs = scheduler.busyMs - burst.busyBefore;
    burst.frames = scheduler.frames - burst.framesBefore;
  }
}

function onMessage(msg) {
  if (msg.type === 'snapshot') onSnapshot(msg);
  else if (msg.type === 'reset') conn.note(`stream reset: ${msg.reason || 'resynchronising'}`);
  else if (typeof msg.seq === 'number' && typeof msg.target === 'string') onEvent(msg);
}

function onSnapshot(msg) {
  const initial = !model.hasSnapshot;
  const before = failing;
  refetch.reset();
  const changed = model.loadSnapshot(msg);
  failing = model.failureKeys();
  if (!initial) {
    for (const key of failing) if (!before.has(key)) toasts.failed(key, model.label(key), model.errorOf(key));
    ctx.availability.reset();
  } else {
    metrics.snapshotAt = performance.now();
    awaitingFirstRender = true;
  }
  scheduler.markAll(changed);
  scheduler.touch();
  alertsPanel.refresh();
}

function onEvent(ev) {
  if (model.hasSnapshot && ev.seq <= model.seq) return;
  const now = performance.now();
  let burst = metrics.bursts[metrics.bursts.length - 1];
  if (!burst || now - burst.lastAt > BURST_GAP_MS) {
    burst = { start: now, lastAt: now, events: 0, appliedAt: null, handleMs: 0 };
    Object.assign(burst, { busyBefore: scheduler.busyMs, framesBefore: scheduler.frames });
    metrics.bursts.push(burst);
    if (metrics.bursts.length > 20) metrics.bursts.shift();
  }
  burst.events += 1;
  burst.lastAt = now;
  if (AlertsPanel.concerns(ev)) alertsPanel.refresh();
  const result = applyEvent(model, ev);
  noteFailure(ev);
  ctx.availability.onEvent(ev);
  drift.onEvent(ev);
  if (result.refetch) refetch.want(result.id);
  scheduler.mark(result.id);
  burst.handleMs += performance.now() - now;
}

/** Toasts only for failures that are new: `failing` holds what is already known. */
function noteFailure(ev) {
  const key = failureKey(ev.target, ev.data && ev.data.application);
  if (ev.type === 'fetch_failed') {
    if (!failing.has(key)) toasts.failed(key, model.label(key), (ev.data && ev.data.error) || '');
    failing.add(key);
  } else if (ev.type === 'fetch_recovered') {
    failing.delete(key);
    toasts.recovered(key);
  } else if (ev.type === 'target_removed') {
    for (const k of failing) if (splitKey(k)[0] === ev.target) failing.delete(k);
  }
}

function refetched(id, detail) {
  model.replace(id, detail);
  const now = new Set(detail ? failuresOf(detail) : []);
  for (const k of failing) if (splitKey(k)[0] === id && !now.has(k)) failing.delete(k);
  scheduler.mark(id);
}

function onConnection(state, info) {
  conn.update(state, info);
  document.body.classList.toggle('offline', state === 'disconnected');
  if (state === 'live') {
    refetch.retryFailed();
    ctx.availability.refresh();
  }
}

async function mergeTimes() {
  if (live.state !== 'live' || !failing.size) return;
  try {
    const body = await api.targets();
    scheduler.markAll(model.mergeTimes(body.targets || []));
  } catch {
    // The next round tries again; the connection state already tells the user.
  }
}

function applyFilter() {
  ctx.filter = { text: $('filter').value.trim().toLowerCase(), problems: $('problems').checked };
  haproxy.refilter();
  eureka.refilter();
  scheduler.touch();
}

let filterTimer = null;
$('filter').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(applyFilter, 150);
});
$('problems').addEventListener('change', applyFilter);
setInterval(tick, 5000);
setInterval(() => ctx.availability.refresh(), 10000);
setInterval(() => drift.load(), 10000);
drift.load();
setInterval(mergeTimes, 30000);
setInterval(() => alertsPanel.refresh(), 10000);

/** Read-only diagnostics for operators and the browser tests. */
window.watchpost = Object.freeze({
  metrics,
  seq: () => model.seq,
  connection: () => live.state,
  targets: () => model.targets.size,
  toastsShown: () => toasts.shown,
  toastsPending: () => toasts.pending.size,
  idle: () => scheduler.idle() && refetch.idle(),
  alerts: () => alertsPanel.alerts.length,
  pause: () => live.pause(),
  resume: () => live.resume(),
});

live.start();
notifiers.start();
