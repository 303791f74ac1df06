// Batches DOM work into animation frames: targets marked dirty are rendered at
// most once per frame, within a time budget per frame so that a large fleet or a
// burst of events never blocks the page; the rest continues in the next frame.

const BUDGET_MS = 12;

export class Scheduler {
  /**
   * @param {(id: string) => void} renderOne  renders one target
   * @param {() => void} afterAll  runs once the dirty set is empty (summary, metrics)
   */
  constructor(renderOne, afterAll) {
    this.renderOne = renderOne;
    this.afterAll = afterAll;
    this.dirty = new Set();
    this.pending = false;
    this.frames = 0;
    this.busyMs = 0;
  }

  /** Marks one target for rendering. */
  mark(id) {
    this.dirty.add(id);
    this.schedule();
  }

  /** Marks many targets. */
  markAll(ids) {
    for (const id of ids) this.dirty.add(id);
    this.schedule();
  }

  /** Runs `afterAll` in the next frame even if nothing is dirty. */
  touch() {
    this.schedule();
  }

  idle() {
    return !this.pending && this.dirty.size === 0;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => this.frame());
  }

  frame() {
    this.pending = false;
    this.frames += 1;
    const start = performance.now();
    let n = 0;
    for (const id of this.dirty) {
      this.dirty.delete(id);
      this.renderOne(id);
      n += 1;
      if (n % 16 === 0 && performance.now() - start > BUDGET_MS) break;
    }
    if (this.dirty.size > 0) this.schedule();
    else this.afterAll();
    this.busyMs += performance.now() - start;
  }
}
