// Construct ids are a contract: a changed logical id replaces the resource (a new RestApi is a new
// URL for every Auth0 tenant). This file owns the rules that keep them: construct ids derived from
// the contract's names, and the focused constructs that stay out of the logical ids of the
// resources they hold, so that splitting LdapBridge into them leaves every logical id as it was.
//
// How CDK names a resource: its logical id is `makeUniqueId` (aws-cdk-lib/core/lib/private/
// uniqueid.js) of the construct ids on its path below the stack: the ids without non-alphanumerics,
// then a hash of the whole path; an id that is exactly `Default` is left out of both. One
// construct more on the path (LdapBridge/DirectoryFunctions/LoginFunction) changes both.
//
// - BridgeApi is created with the id `Default`, so CDK itself leaves it out, and the unique id of
//   every path below it stays as it was. That matters there: L2s derive construct ids and names
//   from paths, not from logical ids (`Names.nodeUniqueId(api)` in the Lambda permissions and the
//   base path mapping, `Names.uniqueId(authorizer)` in the authorizer's name and the id of its
//   invoke permission).
// - A scope has one child called `Default`, so the other focused constructs call
//   `hideFromLogicalIds(this)`: at synthesis, every CloudFormation element below them, including
//   those added later from outside (the authorizer's invoke permission lands under the authorizer
//   function), is given the logical id CDK computes for its path without the hidden constructs'
//   ids. None of them holds a construct that derives a name from its own path (the
//   template-identity test compares every property, names included).
import { createHash } from 'node:crypto';
import { AspectPriority, Aspects, CfnElement, type IAspect, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** `get-user` -> `GetUser`, `BAD_REQUEST_BODY` -> `BadRequestBody`, `DEFAULT_4XX` -> `Default4xx`. */
export function pascalCase(name: string): string {
  return name
    .split(/[-_]/)
    .filter((word) => word.length > 0)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())
    .join('');
}

/** The construct id CDK leaves out of logical ids and unique ids. */
export const HIDDEN_ID = 'Default';

const hiddenScopes = new WeakSet<IConstruct>();

/**
 * Leaves `scope`'s own id out of the logical ids of every CloudFormation element below it, as
 * CDK leaves out an id of `Default`: they keep the logical ids they would have as children of
 * `scope`'s parent. An id set with `overrideLogicalId` is left alone.
 */
export function hideFromLogicalIds(scope: IConstruct): void {
  hiddenScopes.add(scope);
  Aspects.of(scope).add(new LogicalIdWithoutHiddenScopes(), { priority: AspectPriority.MUTATING });
}

/**
 * The ids on `construct`'s path below its stack that its logical id is made of: without `Default`
 * and without hidden constructs. The audit names resources by this path.
 */
export function logicalIdPath(construct: IConstruct): string[] {
  const scopes = construct.node.scopes;
  return scopes
    .slice(scopes.indexOf(Stack.of(construct)) + 1)
    .filter((scope) => scope.node.id !== HIDDEN_ID && !hiddenScopes.has(scope))
    .map((scope) => scope.node.id);
}

/**
 * CDK's logical id for a path below a stack (`makeUniqueId`, reproduced because aws-cdk-lib does
 * not export it): one component alone is kept as it is, minus non-alphanumerics; otherwise the
 * components with consecutive repeats and `Resource` dropped, minus non-alphanumerics, cut at 240
 * characters, then the first 8 hex digits of the MD5 of the whole path, in upper case.
 */
export function logicalIdFromPath(components: readonly string[]): string {
  const path = components.filter((component) => component !== HIDDEN_ID);
  if (path.length === 0) throw new Error('logicalIdFromPath: no path component other than Default');
  const alphanumeric = (component: string) => component.replace(/[^A-Za-z0-9]/g, '');
  const [only] = path;
  if (path.length === 1 && only !== undefined && alphanumeric(only).length <= 255) return alphanumeric(only);
  const hash = createHash('md5').update(path.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const component of path) {
    if (!human.at(-1)?.endsWith(component)) human.push(component);
  }
  return (
    human
      .filter((component) => component !== 'Resource')
      .map(alphanumeric)
      .join('')
      .slice(0, 240) + hash
  );
}

class LogicalIdWithoutHiddenScopes implements IAspect {
  visit(node: IConstruct): void {
    if (!CfnElement.isCfnElement(node)) return;
    const overridden = node.stack.resolve(node.logicalId) !== node.stack.getLogicalId(node);
    if (!overridden) node.overrideLogicalId(logicalIdFromPath(logicalIdPath(node)));
  }
}
