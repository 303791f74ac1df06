// Applies one event of the live stream to the page's model, as far as the event
// itself tells; where it does not (new servers, new instances, fresh data after a
// recovery), it asks for the target to be fetched again.

import { EUREKA, HAPROXY } from './state.js';

const NO_DATA = 'no data';

function noData(x) {
  if (x.status !== NO_DATA) x.last_known_status = x.status;
  x.status = NO_DATA;
  x.state = 'unknown';
}

function failApp(t, app, ev) {
  app.last_fetch_status = 'failed';
  app.last_fetch_error = ev.data.error;
  app.last_fetch_at = ev.ts;
  for (const i of t.instances || []) {
    if (i.app !== app.name) continue;
    // As the server: an instance already removed keeps its last known status.
    if (!i.removed_at) noData(i);
    i.eureka_application = { ...i.eureka_application, last_fetch_status: 'failed', last_fetch_error: ev.data.error };
  }
}

function fetchFailed(t, ev) {
  const apps = t.applications || [];
  if (ev.data.application) {
    const app = apps.find((a) => a.name === ev.data.application);
    if (app) failApp(t, app, ev);
    return true;
  }
  t.last_fetch_status = 'failed';
  t.last_fetch_error = ev.data.error;
  t.last_fetch_at = ev.ts;
  t.last_failure_at = ev.ts;
  if (typeof ev.data.consecutive_failures === 'number') t.consecutive_failures = ev.data.consecutive_failures;
  if (t.kind === HAPROXY) (t.servers || []).forEach(noData);
  if (t.kind === EUREKA) apps.forEach((a) => failApp(t, a, ev));
  return false;
}

function fetchRecovered(t, ev) {
  if (ev.data.application) {
    const app = (t.applications || []).find((a) => a.name === ev.data.application);
    if (app) Object.assign(app, { last_fetch_status: 'success', last_fetch_error: null });
    return true;
  }
  Object.assign(t, { last_fetch_status: 'success', last_fetch_error: null, last_fetch_at: ev.ts });
  Object.assign(t, { last_success_at: ev.ts, consecutive_failures: 0 });
  for (const app of t.applications || []) Object.assign(app, { last_fetch_status: 'success', last_fetch_error: null });
  return true;
}

function circuit(t, ev, state) {
  t.circuit_state = state;
  t.circuit = { ...t.circuit, state, last_state_change: ev.ts, next_attempt_at: ev.data.next_attempt_at ?? null };
  // Not `last_fetch_at`: a circuit event is no fetch, and the time of the poll
  // that opened it (with that poll's error) comes from `GET /api/targets`.
  if (state === 'open') t.circuit.opened_count = (t.circuit.opened_count || 0) + 1;
  if (typeof ev.data.consecutive_failures === 'number') t.consecutive_failures = ev.data.consecutive_failures;
  return false;
}

function serverChanged(t, ev) {
  const servers = t.servers || [];
  const i = servers.findIndex((x) => x.name === ev.data.server);
  if (ev.data.removed) {
    if (i >= 0) servers.splice(i, 1);
    return false;
  }
  if (i < 0) return true;
  Object.assign(servers[i], { state: ev.data.to, status: ev.data.status, last_known_status: ev.data.status });
  servers[i].last_change_s = 0;
  return false;
}

function instanceChanged(t, ev, patch) {
  const inst = (t.instances || []).find((x) => x.instance_id === ev.data.instance_id && x.app === ev.data.app);
  if (!inst) return true;
  Object.assign(inst, patch);
  return false;
}

const APPLY = {
  fetch_failed: fetchFailed,
  fetch_recovered: fetchRecovered,
  circuit_opened: (t, ev) => circuit(t, ev, 'open'),
  circuit_half_open: (t, ev) => circuit(t, ev, 'half_open'),
  circuit_closed: (t, ev) => circuit(t, ev, 'closed'),
  server_state_changed: serverChanged,
  instance_state_changed: (t, ev) =>
    instanceChanged(t, ev, { state: ev.data.to, status: ev.data.status, last_known_status: ev.data.status }),
  // A removed instance shows its last known status, which the event carries.
  instance_removed: (t, ev) => instanceChanged(t, ev, {
    removed_at: ev.ts, ...(ev.data.status ? { status: ev.data.status, state: ev.data.state } : {}),
  }),
  polling_disabled: (t) => { t.enable_polling = false; return false; },
  polling_enabled: (t) => { t.enable_polling = true; return false; },
  recovery_attempted: (t, ev) => {
    t.recovery_attempts = (t.recovery_attempts || 0) + 1;
    t.last_recovery = { ...ev.data, at: ev.ts };
    return false;
  },
};

/**
 * Applies `ev` to `model`. Answers `{id, refetch, removed}`: `refetch` when the
 * target must be fetched again to show the change exactly.
 */
export function applyEvent(model, ev) {
  const id = ev.target;
  model.seq = Math.max(model.seq, ev.seq);
  model.lastEventAt = ev.ts;
  if (ev.type === 'target_removed') {
    model.targets.delete(id);
    return { id, refetch: false, removed: true };
  }
  const t = model.targets.get(id);
  const apply = APPLY[ev.type];
  if (!t || !apply) return { id, refetch: true, removed: false };
  const data = ev.data || {};
  return { id, refetch: Boolean(apply(t, { ...ev, data })), removed: false };
}
