// Fetches targets again (`GET /api/targets/{id}`) when an event alone cannot update
// them: coalesced per target, a few at a time, and again when an event arrives
// while its fetch is under way (the answer may predate that event).

export class Refetcher {
  /**
   * @param {(id: string) => Promise<object|null>} fetchOne
   * @param {(id: string, detail: object|null) => void} done
   */
  constructor(fetchOne, done, parallel = 4) {
    this.fetchOne = fetchOne;
    this.done = done;
    this.parallel = parallel;
    this.queue = new Set();
    this.running = new Set();
    this.again = new Set();
    this.failed = new Set();
    this.generation = 0;
  }

  /** Asks for `id` to be fetched (once, however often it is asked). */
  want(id) {
    if (this.running.has(id)) this.again.add(id);
    else this.queue.add(id);
    this.pump();
  }

  /** Forgets everything queued; answers of fetches under way are ignored. */
  reset() {
    this.generation += 1;
    this.queue.clear();
    this.again.clear();
    this.failed.clear();
  }

  /** Fetches again what failed (the daemon was unreachable). */
  retryFailed() {
    const ids = [...this.failed];
    this.failed.clear();
    ids.forEach((id) => this.want(id));
  }

  /** Nothing queued and nothing under way. */
  idle() {
    return this.queue.size === 0 && this.running.size === 0;
  }

  pump() {
    while (this.running.size < this.parallel && this.queue.size > 0) {
      const id = this.queue.values().next().value;
      this.queue.delete(id);
      this.run(id);
    }
  }

  async run(id) {
    const generation = this.generation;
    this.running.add(id);
    try {
      const detail = await this.fetchOne(id);
      if (generation === this.generation && !this.again.has(id)) this.done(id, detail);
    } catch {
      if (generation === this.generation) this.failed.add(id);
    } finally {
      this.running.delete(id);
      if (this.again.delete(id)) this.queue.add(id);
      this.pump();
    }
  }
}
