// Measures how close the 401 for an unknown user is to the 401 for a wrong password, through
// the local server against a throwaway slapd. Interleaves the two kinds of request so machine
// noise hits both alike, and prints medians and p95 as ratios against the wrong-password
// baseline measured in the same run. Run: npm run bench:timing [-- requests-per-kind]
import { startDemoStack } from '../dev/demo-stack.ts';
import { DEMO_USERS } from '../dev/directory-data.ts';

const perKind = Number(process.argv[2] ?? 1000);
const stack = await startDemoStack({ env: { PORT: '0', LOG_LEVEL: 'error' }, writeLog: () => undefined });
try {
  const token = await stack.issuer.mint({ clientId: stack.devClient.clientId });
  const user = DEMO_USERS[0]!;
  const kinds = {
    'wrong password': { username: user.uid, password: 'definitely-wrong' },
    'unknown user': { username: 'no-such-user-anywhere', password: 'definitely-wrong' },
    'right password': { username: user.uid, password: user.password },
  } as const;
  const samples: Record<keyof typeof kinds, number[]> = {
    'wrong password': [],
    'unknown user': [],
    'right password': [],
  };

  const once = async (kind: keyof typeof kinds) => {
    const started = performance.now();
    const response = await fetch(`${stack.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(kinds[kind]),
    });
    await response.arrayBuffer();
    return performance.now() - started;
  };
  for (const kind of Object.keys(kinds) as Array<keyof typeof kinds>)
    for (let index = 0; index < 50; index += 1) await once(kind); // warm-up
  for (let index = 0; index < perKind; index += 1) {
    for (const kind of Object.keys(kinds) as Array<keyof typeof kinds>) samples[kind].push(await once(kind));
  }

  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  };
  const baseline = samples['wrong password'];
  console.log(`login timing, ${perKind} requests per kind, interleaved (ms; ratio to wrong password)`);
  for (const [kind, values] of Object.entries(samples)) {
    const p50 = quantile(values, 0.5);
    const p95 = quantile(values, 0.95);
    console.log(
      `  ${kind.padEnd(15)} p50 ${p50.toFixed(3)} (x${(p50 / quantile(baseline, 0.5)).toFixed(2)})  p95 ${p95.toFixed(3)} (x${(p95 / quantile(baseline, 0.95)).toFixed(2)})`,
    );
  }
} finally {
  await stack.stop();
}
