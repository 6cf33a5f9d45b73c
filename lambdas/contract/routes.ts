// The routes of the HTTP contract (v1): path, method, the setting that names the scope each
// requires, and its request body's schema. The core routes requests by this table, the token
// authorizer builds its policy from it, and the CDK creates one API Gateway resource, model and
// directory function per row; a new route is one row here plus its handler in core/http.
import { getUserRequestSchema, loginRequestSchema, type ObjectSchema } from './request-schemas.ts';

export interface Route {
  /** Stable name: log field `route`, function and construct names. */
  readonly name: string;
  readonly path: `/${string}`;
  readonly method: 'POST';
  /** The runtime setting holding the scope a token must carry for this route. */
  readonly scopeSetting: 'AUTH_SCOPE_LOGIN' | 'AUTH_SCOPE_GET_USER';
  readonly requestSchema: ObjectSchema;
  /** One line for the API description, the function description and the docs. */
  readonly summary: string;
}

export const ROUTES = [
  {
    name: 'login',
    path: '/login',
    method: 'POST',
    scopeSetting: 'AUTH_SCOPE_LOGIN',
    requestSchema: loginRequestSchema,
    summary: 'checks a password with an LDAP bind and answers the profile',
  },
  {
    name: 'get-user',
    path: '/get-user',
    method: 'POST',
    scopeSetting: 'AUTH_SCOPE_GET_USER',
    requestSchema: getUserRequestSchema,
    summary: 'finds a user without a password and answers the profile',
  },
] as const satisfies readonly Route[];

export type RouteName = (typeof ROUTES)[number]['name'];

/** The scope each route requires, by route name. */
export type RouteScopes = Readonly<Record<RouteName, string>>;

/**
 * The Authorization header every route requires: `Bearer <token>` (the scheme in any case, as
 * RFC 6750 allows), the token in the base64url / JWT alphabet. The runtime reads the token with it
 * and API Gateway's token authorizer refuses other headers with it, so both accept the same
 * headers. Written without flags: API Gateway's regular expressions are Java's.
 */
export const BEARER_AUTHORIZATION_PATTERN = '^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_.~+/-]+=*) *$';

/** The route a path names, or undefined. Exact match: no trailing slash, no case folding. */
export function routeForPath(path: string): (typeof ROUTES)[number] | undefined {
  return ROUTES.find((route) => route.path === path);
}
