// A stand-in for the bridge that answers what a test scripts, for behaviours of the Auth0
// scripts that the real bridge cannot be made to show on demand (refused tokens, account states,
// malformed profiles). Like the bridge, it names each answer in x-request-id (stand-in-<call number>).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInBridge {
  url: string;
  readonly calls: number;
  stop(): Promise<void>;
}

export async function startStandInBridge(
  answer: (callNumber: number) => { status: number; body: string },
): Promise<StandInBridge> {
  let calls = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    calls += 1;
    const { status, body } = answer(calls);
    response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `stand-in-${calls}` });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return calls;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
