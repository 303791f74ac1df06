// Admin actions: reset a circuit, run a recovery, switch polling. They are offered
// once the operator enters the admin token, which stays in sessionStorage (this tab
// only) and goes out as `Authorization: Bearer`. Each answer or error is shown next
// to the buttons that caused it.

import * as api from './api.js';
import { setText, show } from './dom.js';

const KEY = 'watchpost.adminToken';

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function describePoll(poll) {
  if (!poll) return '';
  const circuit = poll.circuit_state ? `, circuit ${poll.circuit_state.replace('_', '-')}` : '';
  const why = poll.error ? `: ${poll.error}` : '';
  return `poll ${poll.result}${why}${circuit}`;
}

/** A one-line account of an admin answer. */
export function describe(action, body) {
  if (action === 'polling') return body.enable_polling ? 'polling enabled' : 'polling disabled';
  const parts = [];
  if (action === 'reset-circuit') parts.push('circuit reset');
  const r = body.recovery;
  if (r && r.action) {
    const how = r.ok ? 'recovery ran' : 'recovery FAILED';
    const exit = r.exit_code === undefined || r.exit_code === null ? '' : ` (exit ${r.exit_code})`;
    parts.push(`${how}${exit}${r.detail ? `: ${r.detail}` : ''}`);
  } else if (r) {
    parts.push(r.detail || 'no recover command configured');
  }
  parts.push(describePoll(body.poll));
  return parts.filter(Boolean).join('; ');
}

export class Admin {
  /**
   * @param {object} els  {button, form, input, forget, state}
   * @param {() => void} changed  called when admin mode is switched on or off
   */
  constructor(els, changed) {
    this.els = els;
    this.changed = changed;
    els.button.addEventListener('click', () => this.togglePanel());
    els.form.addEventListener('submit', (e) => this.save(e));
    els.forget.addEventListener('click', () => this.forget());
    document.addEventListener('click', (e) => this.click(e));
    this.render();
  }

  token() {
    const store = storage();
    return store ? store.getItem(KEY) || '' : '';
  }

  enabled() {
    return this.token() !== '';
  }

  togglePanel() {
    show(this.els.form, this.els.form.hidden);
    if (!this.els.form.hidden) this.els.input.focus();
  }

  save(e) {
    e.preventDefault();
    const token = this.els.input.value.trim();
    const store = storage();
    if (!token || !store) return;
    store.setItem(KEY, token);
    this.els.input.value = '';
    show(this.els.form, false);
    this.render();
    this.changed();
  }

  forget() {
    const store = storage();
    if (store) store.removeItem(KEY);
    show(this.els.form, false);
    this.render();
    this.changed();
  }

  render() {
    const on = this.enabled();
    setText(this.els.state, on ? 'admin mode' : '');
    this.els.button.classList.toggle('active', on);
    setText(this.els.button, on ? 'Admin ✓' : 'Admin');
    show(this.els.forget, on);
  }

  click(e) {
    const button = e.target.closest('button[data-action]');
    const owner = button && button.closest('[data-target-id]');
    if (!owner) return;
    e.preventDefault();
    this.run(owner.dataset.targetId, button);
  }

  async run(id, button) {
    const action = button.dataset.action;
    const result = button.parentElement.querySelector('.admin-result');
    const body = action === 'polling' ? { enabled: button.dataset.enable === 'true' } : undefined;
    result.className = 'admin-result working';
    setText(result, `${action.replace('-', ' ')}…`);
    button.disabled = true;
    try {
      const answer = await api.admin(id, action, this.token(), body);
      result.className = 'admin-result ok';
      setText(result, describe(action, answer));
    } catch (err) {
      result.className = 'admin-result failed';
      const hint = err.status === 401 ? ' — check the admin token' : '';
      setText(result, `${err.describe ? err.describe() : err.message}${hint}`);
    } finally {
      button.disabled = false;
    }
  }
}
