// The alternative to lambdas/adapters/cloudwatch-metrics.ts that bench/cold-start.ts measures:
// the same records through Powertools' Metrics. Powertools publishes one dimension set per flush,
// so each distinct set of dimension values is its own publishStoredMetrics() call. Not shipped.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type {
  BridgeMetrics,
  DirectoryOperation,
  DirectoryResult,
  RequestOutcome,
  TokenCheckResult,
} from '../lambdas/core/ports.ts';
import { EMF_METRICS, METRICS_NAMESPACE, NO_ROUTE } from '../lambdas/adapters/cloudwatch-metrics.ts';

type MetricName = keyof typeof EMF_METRICS;

export class PowertoolsMetrics implements BridgeMetrics {
  private readonly metrics: Metrics;
  private readonly pending: Array<{ name: MetricName; dimensions: Record<string, string>; value: number }> = [];

  constructor(options: { service: string }) {
    this.metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: options.service });
  }

  requestHandled(route: string | undefined, outcome: RequestOutcome, durationMs: number): void {
    this.pending.push({ name: 'Requests', dimensions: { Route: route ?? NO_ROUTE, Outcome: outcome }, value: 1 });
    this.pending.push({ name: 'RequestDuration', dimensions: { Route: route ?? NO_ROUTE }, value: durationMs });
  }

  directoryOperation(server: string, operation: DirectoryOperation, result: DirectoryResult, durationMs: number): void {
    const dimensions = { Server: server, Operation: operation };
    this.pending.push({ name: 'DirectoryOperations', dimensions: { ...dimensions, Result: result }, value: 1 });
    this.pending.push({ name: 'DirectoryOperationDuration', dimensions, value: durationMs });
  }

  directoryFailover(server: string): void {
    this.pending.push({ name: 'DirectoryFailovers', dimensions: { Server: server }, value: 1 });
  }

  directoryConnectionOpened(): void {}
  directoryConnectionClosed(): void {}

  tokenChecked(result: TokenCheckResult): void {
    this.pending.push({ name: 'TokenChecks', dimensions: { Result: result }, value: 1 });
  }

  flush(): void {
    const unit = (name: MetricName) =>
      EMF_METRICS[name].unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds;
    const bySet = new Map<string, typeof this.pending>();
    for (const item of this.pending.splice(0)) {
      const key = JSON.stringify([item.name, item.dimensions]);
      bySet.set(key, [...(bySet.get(key) ?? []), item]);
    }
    for (const items of bySet.values()) {
      const [first] = items;
      if (!first) continue;
      for (const [name, value] of Object.entries(first.dimensions)) this.metrics.addDimension(name, value);
      for (const item of items) this.metrics.addMetric(item.name, unit(item.name), item.value);
      this.metrics.publishStoredMetrics();
    }
  }
}
