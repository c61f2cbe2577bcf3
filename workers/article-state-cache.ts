// What this worker last wrote to each article's document: its version and marks. A plan made
// from it is exact as long as the document still has that version (every pipeline write bumps
// the version, and only pipeline writes move marks), and the compare-and-set write checks
// exactly that: if anyone wrote in between, the write collides and the article is read again.
// So the common case, an article this worker wrote last, needs no read before its write.
//
// Bounded: least recently used articles are forgotten first (they are then read when they
// conflict, as on a cold start).
import type { StoredState } from "../src/counting/plan-increments.js";

export class ArticleStateCache {
  private readonly states = new Map<string, StoredState>();
  /** Recent guesses that an unknown article's document has no pipeline state, and how many were wrong. */
  private guesses = 0;
  private wrong = 0;

  constructor(private readonly maxArticles: number) {}

  get(aid: string): StoredState | undefined {
    const state = this.states.get(aid);
    if (state !== undefined) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.states.delete(aid);
      this.states.set(aid, state);
    }
    return state;
  }

  set(aid: string, state: StoredState): void {
    this.states.delete(aid);
    this.states.set(aid, state);
    while (this.states.size > this.maxArticles) {
      const oldest = this.states.keys().next().value;
      if (oldest === undefined) break;
      this.states.delete(oldest);
    }
  }

  forget(aid: string): void {
    this.states.delete(aid);
  }

  /**
   * Whether to plan an article this worker has not written as a new document (to be inserted)
   * instead of reading it first. Right, it saves a read; wrong, it costs a refused write before
   * the read. Guessed while most recent guesses were right (a young collection, a warm worker);
   * read first otherwise (a worker restarted against an established collection), with a guess
   * now and then to notice when that changes.
   */
  absentGuessesPay(): boolean {
    if (this.guesses < 100) return true;
    if (this.wrong * 2 < this.guesses) return true;
    // Mostly wrong lately: read first, and let the counts fade so guessing is tried again.
    this.guesses *= 0.9;
    this.wrong *= 0.9;
    return false;
  }

  recordGuesses(made: number, wrong: number): void {
    // Decayed counts: the last few thousand guesses weigh, older ones fade.
    const keep = made > 0 ? Math.max(0, 1 - made / 5000) : 1;
    this.guesses = this.guesses * keep + made;
    this.wrong = this.wrong * keep + wrong;
  }

  get size(): number {
    return this.states.size;
  }
}
