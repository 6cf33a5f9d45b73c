// A small bounded pool of user-bind connections. A bind changes the identity of its
// connection, so one connection serves one bind at a time; concurrent logins take different
// connections, wait briefly for one, or are shed with 503 when the queue is full.
import { DirectoryUnavailable } from '../contract/errors.ts';

export class BoundedPool<T> {
  private readonly idle: T[];
  private readonly waiters: Array<{ resolve: (item: T) => void; timer: NodeJS.Timeout }> = [];

  constructor(
    items: T[],
    /** Most callers that may wait at once; past it, acquire fails at once. */
    private readonly queueLimit: number,
    /** Milliseconds a caller waits for an item before giving up. */
    private readonly waitTimeoutMs: number,
  ) {
    this.idle = [...items];
  }

  acquire(): Promise<T> {
    const item = this.idle.pop();
    if (item !== undefined) return Promise.resolve(item);
    if (this.waiters.length >= this.queueLimit) {
      return Promise.reject(new DirectoryUnavailable('all bind connections busy and the wait queue is full', 1));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new DirectoryUnavailable(`no bind connection free within ${this.waitTimeoutMs} ms`, 1));
        }, this.waitTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  release(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(item);
    } else {
      this.idle.push(item);
    }
  }

  get waiting(): number {
    return this.waiters.length;
  }
}
