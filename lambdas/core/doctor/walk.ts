// The doctor's walk: which links are walked, in DOCTOR_LINKS order, and the one rule of the
// chain: at the first broken link the walk stops, and every link after it is reported as skipped.
// Each link's own check is a step the composition root supplies (lambdas/entry/run-doctor.ts);
// this file never does I/O, and its clock is passed in.
import { type CheckStatus, DOCTOR_LINKS, type DoctorCheck, type DoctorLink } from './report.ts';

/** A walked link's verdict; the walk adds the link's name and, unless the step measured it, its duration. */
export type LinkResult = Omit<DoctorCheck, 'link' | 'status'> & { status: Exclude<CheckStatus, 'skipped'> };

/** The links a run walks when it is not told which: every one but those a request adds. */
export const DEFAULT_LINKS: readonly DoctorLink[] = DOCTOR_LINKS.filter((link) => link !== 'user' && link !== 'login');

/** The links issuer checks cover; every other link but configuration talks to the directory. */
export const ISSUER_LINKS: ReadonlySet<DoctorLink> = new Set(['jwks', 'clock']);

/** What a run walks: the asked-for links (default DEFAULT_LINKS), configuration always, user and login when asked. */
export function linksToWalk(request: {
  links?: readonly DoctorLink[] | undefined;
  user?: boolean;
  login?: boolean;
}): ReadonlySet<DoctorLink> {
  const walked = new Set<DoctorLink>(['configuration', ...(request.links ?? DEFAULT_LINKS)]);
  if (request.user) walked.add('user');
  if (request.login) walked.add('login');
  return walked;
}

const NOT_ASKED: Partial<Record<DoctorLink, string>> = {
  user: 'not asked for (--user NAME shows the profile Auth0 would receive)',
  login: 'not asked for (--login NAME runs a full login)',
};

/**
 * Walks the links in DOCTOR_LINKS order: a walked link runs its step, a link not walked is
 * skipped as not asked for, and after the first failure every link is skipped naming it. A step
 * that throws is a failure of its link (the walk never throws for a broken link). `onCheck` hears
 * every check, skipped ones included, in order.
 */
export async function walkChain(
  walked: ReadonlySet<DoctorLink>,
  step: (link: DoctorLink) => Promise<LinkResult>,
  options: { now: () => number; onCheck?: ((check: DoctorCheck) => void) | undefined },
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let broken: DoctorLink | undefined;
  for (const link of DOCTOR_LINKS) {
    let check: DoctorCheck;
    if (!walked.has(link)) check = { link, status: 'skipped', summary: NOT_ASKED[link] ?? 'not asked for' };
    else if (broken !== undefined) check = { link, status: 'skipped', summary: `not checked: ${broken} failed` };
    else {
      const started = options.now();
      const result = await step(link).catch((error: unknown) => unexpectedFailure(error));
      check = { link, ...result, durationMs: Math.round(result.durationMs ?? options.now() - started) };
      if (check.status === 'fail') broken = link;
    }
    checks.push(check);
    options.onCheck?.(check);
  }
  return checks;
}

/** A step that threw instead of judging: the link is reported as not checkable, with what was thrown. */
function unexpectedFailure(error: unknown): LinkResult {
  const what = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  return {
    status: 'fail',
    summary: `the doctor could not check this link (${what})`,
    fix: 'run the doctor again; if it repeats, report this message with the doctor output',
  };
}
