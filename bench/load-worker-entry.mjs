// Worker threads on Node 20 do not apply --import hooks to their entry module: register tsx's
// loader here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
