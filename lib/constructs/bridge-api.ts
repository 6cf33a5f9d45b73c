// The API Auth0 calls: a regional REST API with one POST resource per route of the HTTP contract
// (ROUTES), each behind the TOKEN authorizer and a request validator with the route's own body
// schema; a throttled stage with access logs that hold no bodies or headers; API Gateway's own
// refusals answered in the bridge's error format (GATEWAY_RESPONSES); an optional custom domain
// with TLS 1.2 minimum. LdapBridge creates it with the id `Default` (see construct-ids.ts).
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GATEWAY_RESPONSES, staticErrorBody } from '../../lambdas/contract/errors.ts';
import type { ObjectSchema } from '../../lambdas/contract/request-schemas.ts';
import { BEARER_AUTHORIZATION_PATTERN, ROUTES, type RouteName } from '../../lambdas/contract/routes.ts';
import { DEPLOYMENT_SETTINGS as D } from '../../lambdas/contract/settings.ts';
import { pascalCase } from './construct-ids.ts';
import { checkInRange } from './prop-checks.ts';

export interface BridgeApiProps {
  /** The function that answers each route of ROUTES, by route name. */
  readonly routeFunctions: Readonly<Record<RouteName, lambda.Function>>;
  /** The TOKEN authorizer's function. */
  readonly authorizerFunction: lambda.IFunction;
  /**
   * How long API Gateway keeps the authorizer's answer for one token.
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * The stage's steady request rate, in requests per second.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * The stage's burst, in requests.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Source addresses (Auth0's egress IPs or CIDRs) the resource policy allows; every other source is refused.
   * @default no restriction
   */
  readonly allowedSourceIps?: string[];
  /**
   * A custom domain with TLS 1.2 minimum; the default execute-api endpoint is then disabled.
   * Needs `customDomainCertificate`.
   * @default none: the execute-api URL
   */
  readonly customDomainName?: string;
  /**
   * The custom domain's certificate, in the API's region.
   * @default none; required with `customDomainName`
   */
  readonly customDomainCertificate?: ICertificate;
  /** Retention of the access logs. @default the settings table's logRetentionDays (90 days) */
  readonly logRetention?: logs.RetentionDays;
}

export class BridgeApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly authorizer: apigateway.TokenAuthorizer;
  /** The custom domain, when one is configured. */
  readonly domain?: apigateway.DomainName;
  /** The base URL the Auth0 scripts call (BRIDGE_URL), without a trailing slash. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: BridgeApiProps) {
    super(scope, id);
    validate(props);
    const customDomain =
      props.customDomainName !== undefined && props.customDomainCertificate !== undefined
        ? { domainName: props.customDomainName, certificate: props.customDomainCertificate }
        : undefined;
    const retention = props.logRetention ?? (D.logRetentionDays.default as logs.RetentionDays);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-api`,
      description: `auth0-ldap-bridge: ${ROUTES.map((route) => `${route.method} ${route.path}`).join(' and ')} for Auth0 custom-database scripts`,
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: customDomain !== undefined,
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      ...(props.allowedSourceIps?.length ? { policy: sourceIpPolicy(props.allowedSourceIps) } : {}),
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: props.throttlingRateLimit ?? D.throttlingRateLimit.default,
        throttlingBurstLimit: props.throttlingBurstLimit ?? D.throttlingBurstLimit.default,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // No bodies, no headers: nothing here can hold a password or a token.
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigateway.AccessLogField.contextRequestId(),
            requestTime: apigateway.AccessLogField.contextRequestTime(),
            sourceIp: apigateway.AccessLogField.contextIdentitySourceIp(),
            httpMethod: apigateway.AccessLogField.contextHttpMethod(),
            resourcePath: apigateway.AccessLogField.contextResourcePath(),
            status: apigateway.AccessLogField.contextStatus(),
            responseLength: apigateway.AccessLogField.contextResponseLength(),
            integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
            clientId: apigateway.AccessLogField.contextAuthorizerPrincipalId(),
            errorType: apigateway.AccessLogField.contextErrorResponseType(),
            wafError: apigateway.AccessLogField.contextWafError(),
          }),
        ),
      },
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-level CloudWatch role uses the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs, the documented way to let API Gateway write execution logs.",
    });

    this.authorizer = new apigateway.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: props.authorizerFunction,
      identitySource: apigateway.IdentitySource.header('Authorization'),
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(D.authorizerCacheSeconds.default),
      validationRegex: BEARER_AUTHORIZATION_PATTERN,
    });
    this.addRoutes(props.routeFunctions);
    addGatewayResponses(this.api);

    if (customDomain) {
      this.domain = new apigateway.DomainName(this, 'CustomDomain', {
        ...customDomain,
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
      });
      this.domain.addBasePathMapping(this.api, { stage: this.api.deploymentStage });
      new CfnOutput(this, 'CustomDomainTarget', {
        value: this.domain.domainNameAliasDomainName,
        description: 'Point the custom domain (CNAME or alias) here',
      });
      this.url = `https://${customDomain.domainName}`;
    } else {
      this.url = this.api.url.replace(/\/$/, '');
    }
  }

  /** One resource, request model and POST method per route, answered by that route's function. */
  private addRoutes(routeFunctions: BridgeApiProps['routeFunctions']): void {
    const validator = new apigateway.RequestValidator(this, 'BodyValidator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    for (const route of ROUTES) {
      const fn = routeFunctions[route.name];
      const schema = route.requestSchema;
      const model = this.api.addModel(`${schema.title}Model`, {
        contentType: 'application/json',
        modelName: schema.title,
        schema: toApiGatewaySchema(schema),
      });
      const method = this.api.root.resourceForPath(route.path).addMethod(
        route.method,
        new apigateway.LambdaIntegration(fn, {
          proxy: true,
          timeout: Duration.seconds(Math.min(29, fn.timeout?.toSeconds() ?? 10) + 1),
        }),
        {
          authorizer: this.authorizer,
          authorizationType: apigateway.AuthorizationType.CUSTOM,
          requestValidator: validator,
          requestModels: { 'application/json': model },
          requestParameters: { 'method.request.header.Authorization': true },
        },
      );
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are Auth0 custom-database scripts with Auth0 client-credentials tokens, verified by the Lambda TOKEN authorizer; a Cognito user pool authorizer does not apply.',
      });
    }
  }
}

/** Our request schema in API Gateway's model form: the same object the runtime validates against. */
export function toApiGatewaySchema(schema: ObjectSchema): apigateway.JsonSchema {
  return {
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title: schema.title,
    type: apigateway.JsonSchemaType.OBJECT,
    required: schema.required,
    additionalProperties: false,
    properties: Object.fromEntries(
      Object.entries(schema.properties).map(([name, property]) => [
        name,
        {
          type: apigateway.JsonSchemaType.STRING,
          minLength: property.minLength,
          maxLength: property.maxLength,
          ...(property.pattern === undefined ? {} : { pattern: property.pattern }),
        },
      ]),
    ),
  };
}

/**
 * The construct id of the gateway response for an API Gateway response type: its PascalCase
 * (BAD_REQUEST_BODY -> BadRequestBody). Construct ids are a contract, so the one that was named
 * otherwise from the start keeps its name: MISSING_AUTHENTICATION_TOKEN, which API Gateway
 * answers for a path that is no route, is NotFound.
 */
function gatewayResponseId(type: string): string {
  return type === 'MISSING_AUTHENTICATION_TOKEN' ? 'NotFound' : pascalCase(type);
}

/** API Gateway's own refusals in the bridge's error format, from the contract's table. */
function addGatewayResponses(api: apigateway.RestApi): void {
  for (const { type, error, description } of GATEWAY_RESPONSES) {
    api.addGatewayResponse(gatewayResponseId(type), {
      type: apigateway.ResponseType.of(type),
      statusCode: String(error.status),
      templates: { 'application/json': staticErrorBody(error, description) },
      responseHeaders: { 'Cache-Control': "'no-store'" },
    });
  }
}

function sourceIpPolicy(allowedSourceIps: string[]): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { NotIpAddress: { 'aws:SourceIp': allowedSourceIps } },
      }),
    ],
  });
}

function validate(props: BridgeApiProps): void {
  checkInRange('BridgeApi', 'throttlingRateLimit', props.throttlingRateLimit, D.throttlingRateLimit);
  checkInRange('BridgeApi', 'throttlingBurstLimit', props.throttlingBurstLimit, D.throttlingBurstLimit);
  if ((props.customDomainName === undefined) !== (props.customDomainCertificate === undefined))
    throw new Error(
      `BridgeApi: customDomainName ${JSON.stringify(props.customDomainName ?? null)} needs customDomainCertificate, and a certificate needs a domain name; give both or neither`,
    );
}
