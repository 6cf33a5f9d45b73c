// The lockout shield's per-account leases shared by `serve`'s worker processes: a worker asks its
// primary before binding as an account, so among all workers of one server at most one bind per
// account runs at a time (a second one is held, answered like a wrong password). The primary
// frees a worker's leases when it exits.
import type { Worker } from 'node:cluster';
import { type AccountLeases, LocalAccountLeases } from '../core/directory/lockout-shield.ts';

type LeaseMessage =
  | { type: 'lease-acquire'; id: number; account: string; windowMs: number }
  | { type: 'lease-release'; account: string; failed: boolean }
  | { type: 'lease-answer'; id: number; lease: { recentFailures: number } | undefined };

/** A worker's side: leases held by the primary. No answer within `timeoutMs` means no lease. */
export class PrimaryAccountLeases implements AccountLeases {
  private nextId = 1;
  private readonly waiting = new Map<number, (lease: { recentFailures: number } | undefined) => void>();

  constructor(private readonly timeoutMs = 2000) {
    process.on('message', (message: LeaseMessage) => {
      if (message?.type !== 'lease-answer') return;
      this.waiting.get(message.id)?.(message.lease);
      this.waiting.delete(message.id);
    });
  }

  acquire(account: string, windowMs: number): Promise<{ recentFailures: number } | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, this.timeoutMs);
      this.waiting.set(id, (lease) => {
        clearTimeout(timer);
        resolve(lease);
      });
      process.send?.({ type: 'lease-acquire', id, account, windowMs } satisfies LeaseMessage);
    });
  }

  release(account: string, failed: boolean): void {
    process.send?.({ type: 'lease-release', account, failed } satisfies LeaseMessage);
  }
}

/** The primary's side: the leases (and the bridge's own recent failures) of all its workers. */
export class AccountLeaseHolder {
  private readonly leases = new LocalAccountLeases();
  /** Which worker holds which account's lease, to free them when it exits. */
  private readonly holders = new Map<string, number>();

  /** Answers a worker's lease messages; call for every forked worker. */
  serve(worker: Worker): void {
    worker.on('message', (message: LeaseMessage) => {
      if (message?.type === 'lease-acquire') {
        const lease = this.leases.acquire(message.account, message.windowMs);
        if (lease) this.holders.set(message.account, worker.id);
        if (worker.isConnected()) worker.send({ type: 'lease-answer', id: message.id, lease } satisfies LeaseMessage);
      } else if (message?.type === 'lease-release' && this.holders.get(message.account) === worker.id) {
        this.holders.delete(message.account);
        this.leases.release(message.account, message.failed);
      }
    });
    worker.once('exit', () => {
      for (const [account, holder] of this.holders) {
        if (holder !== worker.id) continue;
        this.holders.delete(account);
        // A bind cut off by the worker's death may have failed: count it.
        this.leases.release(account, true);
      }
    });
  }
}
