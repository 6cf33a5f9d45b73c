// Checks of construct props against the contract's settings table (lambdas/contract/settings.ts):
// a construct accepts the same ranges cdk.json does, and says so in one message shape that names
// the construct, the prop, the bad value and what was expected.
import type { IntegerListSetting, IntegerSetting } from '../../lambdas/contract/settings.ts';

/** Throws unless `value` is absent or a whole number within `setting`'s range. */
export function checkInRange(
  construct: string,
  prop: string,
  value: number | undefined,
  setting: IntegerSetting | IntegerListSetting,
): void {
  if (value === undefined || (Number.isInteger(value) && value >= setting.min && value <= setting.max)) return;
  const unit = setting.type === 'integer' ? ` ${setting.unit}` : '';
  throw new Error(`${construct}: ${prop} ${JSON.stringify(value)} expected ${setting.min}-${setting.max}${unit}`);
}
