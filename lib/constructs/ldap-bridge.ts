// The LdapBridge construct: everything Auth0 reaches and everything that reaches the directory.
// A regional REST API with exactly two POST routes, a TOKEN authorizer outside the VPC, the
// login / get-user functions in private subnets with egress only to the directory and the
// Secrets Manager endpoint, WAF, logs without bodies or tokens, and alarms. Construct ids are a
// contract: changing one replaces the resource.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { getUserRequestSchema, loginRequestSchema, type ObjectSchema } from '../../lambdas/contract/request-schemas.ts';
import { authorizerEnvironment, lambdaEnvironment, type DeploymentConfig } from '../config.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** How every function is bundled; the bundle-size test builds with exactly these options. */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  // The AWS SDK is part of the runtime; bundling it would add ~250 ms to cold starts.
  externalModules: ['@aws-sdk/*'],
  banner:
    "import { createRequire as bridgeCreateRequire } from 'node:module'; const require = bridgeCreateRequire(import.meta.url);",
};

export interface LdapBridgeProps {
  /** Auth0 tenant and API settings (issuer, audience, allowed client ids, scopes). */
  readonly auth0: DeploymentConfig['auth0'];
  /** Directory URLs, network ranges, ports, timeouts and the private CA file. */
  readonly directory: DeploymentConfig['directory'];
  /** The runtime settings for the functions, as environment variables (see lib/config.ts). */
  readonly functionSettings: Record<string, string>;
  /** The VPC whose private subnets reach the directory (VPN or Direct Connect). */
  readonly vpc: ec2.IVpc;
  /**
   * Where the directory functions run. Public subnets are refused.
   * @default the VPC's private subnets with egress, or its isolated subnets if it has none
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The service account's `{"bindDN","password"}` secret; the functions may read this one secret. */
  readonly bindSecret: ISecret;
  /**
   * Create a Secrets Manager interface endpoint. When false, `existingEndpointCidr` must be given.
   * @default true
   */
  readonly createSecretsManagerEndpoint?: boolean;
  /** The range holding an existing Secrets Manager endpoint (egress 443). Required when not creating one. */
  readonly existingEndpointCidr?: string;
  /** @default 50 requests per second, burst 100 */
  readonly throttling?: { rateLimit: number; burstLimit: number };
  /**
   * Reserved concurrency of each directory function: the cap on connections to the directory.
   * @default 10
   */
  readonly reservedConcurrency?: number;
  /** @default Duration.seconds(10), under Auth0's ~20 s script limit */
  readonly functionTimeout?: Duration;
  /** @default Duration.seconds(60) */
  readonly authorizerCacheTtl?: Duration;
  /** Source addresses (Auth0's egress IPs) allowed by the resource policy. @default no restriction */
  readonly allowedSourceIps?: string[];
  /** @default 2000 requests per source IP per 5 minutes */
  readonly wafRateLimitPer5Minutes?: number;
  /** A custom domain with TLS 1.2 minimum; the default execute-api endpoint is then disabled. @default none */
  readonly customDomain?: { domainName: string; certificate: ICertificate };
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Where alarms notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
}

export class LdapBridge extends Construct {
  readonly api: apigateway.RestApi;
  readonly loginFunction: NodejsFunction;
  readonly getUserFunction: NodejsFunction;
  readonly authorizerFunction: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: LdapBridgeProps) {
    super(scope, id);
    const timeout = props.functionTimeout ?? Duration.seconds(10);
    if (timeout.toSeconds() >= 20)
      throw new Error(
        `LdapBridge: functionTimeout ${timeout.toSeconds()} s must stay under Auth0's ~20 s script limit`,
      );
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const subnets = this.selectPrivateSubnets(props.vpc, props.vpcSubnets);

    this.securityGroup = this.directoryNetwork(props, subnets);

    const environment = lambdaEnvironment(props, props.bindSecret.secretArn);
    const directoryFunction = (name: 'Login' | 'GetUser') => {
      const fn = this.nodeFunction(`${name}Function`, {
        entry: 'lambdas/entry/lambda.ts',
        description: `auth0-ldap-bridge ${name === 'Login' ? '/login' : '/get-user'}: LDAP search and bind`,
        environment,
        timeout,
        retention,
        caCertificateFile: props.directory.caCertificateFile,
        vpc: { vpc: props.vpc, subnets, securityGroup: this.securityGroup },
        reservedConcurrentExecutions: props.reservedConcurrency ?? 10,
      });
      props.bindSecret.grantRead(fn);
      const key = props.bindSecret.encryptionKey;
      if (key) {
        // grantRead does not reach an imported customer key; decrypt it only through Secrets Manager.
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'DecryptBindSecret',
            actions: ['kms:Decrypt'],
            resources: [key.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
          }),
        );
      }
      return fn;
    };
    this.loginFunction = directoryFunction('Login');
    this.getUserFunction = directoryFunction('GetUser');
    this.authorizerFunction = this.nodeFunction('AuthorizerFunction', {
      entry: 'lambdas/entry/authorizer.ts',
      description:
        'auth0-ldap-bridge TOKEN authorizer: verifies Auth0 client-credentials tokens (outside the VPC: it fetches the JWKS)',
      environment: authorizerEnvironment(props),
      timeout: Duration.seconds(5),
      retention,
    });

    this.api = this.restApi(props, retention);
    if (props.customDomain) {
      const domain = new apigateway.DomainName(this, 'CustomDomain', {
        domainName: props.customDomain.domainName,
        certificate: props.customDomain.certificate,
        endpointType: apigateway.EndpointType.REGIONAL,
        securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
      });
      domain.addBasePathMapping(this.api, { stage: this.api.deploymentStage });
      new CfnOutput(this, 'CustomDomainTarget', {
        value: domain.domainNameAliasDomainName,
        description: 'Point the custom domain (CNAME or alias) here',
      });
    }
    this.webAcl(props);
    this.createAlarms(props, timeout);

    const url = props.customDomain ? `https://${props.customDomain.domainName}` : this.api.url.replace(/\/$/, '');
    new CfnOutput(this, 'ApiUrl', { value: url, description: 'BRIDGE_URL for the Auth0 scripts' });
    new CfnOutput(this, 'Audience', {
      value: props.auth0.audience,
      description: 'BRIDGE_AUDIENCE: the API identifier in Auth0',
    });
    new CfnOutput(this, 'Auth0ScriptConfiguration', {
      description: 'Paste into the custom database connection settings; add the client secret yourself',
      value: Stack.of(this).toJsonString({
        AUTH0_DOMAIN: new URL(props.auth0.issuer).host,
        BRIDGE_CLIENT_ID: props.auth0.allowedClientIds[0],
        BRIDGE_CLIENT_SECRET: '<the machine-to-machine application secret>',
        BRIDGE_AUDIENCE: props.auth0.audience,
        BRIDGE_URL: url,
      }),
    });
  }

  private selectPrivateSubnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | undefined): ec2.SubnetSelection {
    const chosen = selection ?? {
      subnetType: vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
    };
    const selected = vpc.selectSubnets(chosen);
    if (selected.hasPublic)
      throw new Error(
        'LdapBridge: vpcSubnets selects public subnets; the directory functions must run in private subnets',
      );
    if (selected.subnetIds.length === 0) throw new Error('LdapBridge: vpcSubnets selects no subnets');
    return chosen;
  }

  /** Egress only to the directory ranges on the LDAP ports, and to Secrets Manager on 443. */
  private directoryNetwork(props: LdapBridgeProps, subnets: ec2.SubnetSelection): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'DirectoryFunctionsSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'auth0-ldap-bridge directory functions: egress to the directory and Secrets Manager only',
    });
    for (const range of props.directory.networkRanges) {
      for (const port of props.directory.ports) {
        group.addEgressRule(ec2.Peer.ipv4(range), ec2.Port.tcp(port), `LDAP to the directory on ${port}`);
      }
    }
    if (props.createSecretsManagerEndpoint ?? true) {
      const endpointGroup = new ec2.SecurityGroup(this, 'SecretsManagerEndpointSecurityGroup', {
        vpc: props.vpc,
        allowAllOutbound: false,
        description: 'auth0-ldap-bridge Secrets Manager endpoint: HTTPS from the directory functions only',
      });
      // Standalone rule resources: inline rules that name each other's group form a cycle.
      new ec2.CfnSecurityGroupIngress(this, 'EndpointIngressFromFunctions', {
        groupId: endpointGroup.securityGroupId,
        sourceSecurityGroupId: group.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        description: 'HTTPS from the directory functions',
      });
      new ec2.CfnSecurityGroupEgress(this, 'FunctionsEgressToEndpoint', {
        groupId: group.securityGroupId,
        destinationSecurityGroupId: endpointGroup.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        description: 'HTTPS to the Secrets Manager endpoint',
      });
      new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc: props.vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets,
        securityGroups: [endpointGroup],
        privateDnsEnabled: true,
        open: false,
      });
    } else {
      if (!props.existingEndpointCidr)
        throw new Error('LdapBridge: existingEndpointCidr is required when createSecretsManagerEndpoint is false');
      group.addEgressRule(
        ec2.Peer.ipv4(props.existingEndpointCidr),
        ec2.Port.tcp(443),
        'HTTPS to the existing Secrets Manager endpoint',
      );
    }
    return group;
  }

  private nodeFunction(
    id: string,
    options: {
      entry: string;
      description: string;
      environment: Record<string, string>;
      timeout: Duration;
      retention: logs.RetentionDays;
      caCertificateFile?: string | undefined;
      vpc?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroup: ec2.ISecurityGroup };
      reservedConcurrentExecutions?: number;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: options.retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // A role of its own with exactly what the function needs, instead of AWS managed policies.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    if (options.vpc) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AttachToVpc',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Lambda needs these EC2 network-interface actions to attach to the VPC; EC2 does not support resource-level permissions for the Describe actions Lambda calls.',
      });
    }
    const caFile = options.caCertificateFile;
    const fn = new NodejsFunction(this, id, {
      entry: path.join(PROJECT_ROOT, options.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: options.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: options.timeout,
      environment: options.environment,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.TEXT,
      ...(options.reservedConcurrentExecutions
        ? { reservedConcurrentExecutions: options.reservedConcurrentExecutions }
        : {}),
      ...(options.vpc
        ? {
            vpc: options.vpc.vpc,
            vpcSubnets: options.vpc.subnets,
            securityGroups: [options.vpc.securityGroup],
            allowPublicSubnet: false,
          }
        : {}),
      bundling: {
        ...BUNDLING,
        ...(caFile
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) => [
                  `cp ${JSON.stringify(path.resolve(PROJECT_ROOT, caFile))} ${JSON.stringify(path.join(outputDir, 'directory-ca.pem'))}`,
                ],
              },
            }
          : {}),
      },
    });
    return fn;
  }

  private restApi(props: LdapBridgeProps, retention: logs.RetentionDays): apigateway.RestApi {
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    const throttling = props.throttling ?? { rateLimit: 50, burstLimit: 100 };
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-api`,
      description: 'auth0-ldap-bridge: POST /login and POST /get-user for Auth0 custom-database scripts',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: props.customDomain !== undefined,
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      ...(props.allowedSourceIps?.length ? { policy: sourceIpPolicy(props.allowedSourceIps) } : {}),
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
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
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-level CloudWatch role uses the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs, the documented way to let API Gateway write execution logs.",
    });

    const authorizer = new apigateway.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizerFunction,
      identitySource: apigateway.IdentitySource.header('Authorization'),
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(60),
      validationRegex: '^Bearer [A-Za-z0-9_.~+/-]+=*$',
    });
    const validator = new apigateway.RequestValidator(this, 'BodyValidator', {
      restApi: api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const route = (pathPart: string, schema: ObjectSchema, fn: NodejsFunction) => {
      const model = api.addModel(`${schema.title}Model`, {
        contentType: 'application/json',
        modelName: schema.title,
        schema: toApiGatewaySchema(schema),
      });
      const method = api.root.addResource(pathPart).addMethod(
        'POST',
        new apigateway.LambdaIntegration(fn, {
          proxy: true,
          timeout: Duration.seconds(Math.min(29, fn.timeout?.toSeconds() ?? 10) + 1),
        }),
        {
          authorizer,
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
    };
    route('login', loginRequestSchema, this.loginFunction);
    route('get-user', getUserRequestSchema, this.getUserFunction);
    addGatewayResponses(api);
    return api;
  }

  private webAcl(props: LdapBridgeProps): void {
    const managedRule = (name: string, priority: number): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: false, metricName: name },
    });
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'auth0-ldap-bridge: AWS managed rules and a per-IP rate limit',
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        sampledRequestsEnabled: false,
        metricName: 'LdapBridgeWebAcl',
      },
      rules: [
        managedRule('AWSManagedRulesAmazonIpReputationList', 0),
        managedRule('AWSManagedRulesCommonRuleSet', 1),
        managedRule('AWSManagedRulesKnownBadInputsRuleSet', 2),
        {
          name: 'RateLimitPerSourceIp',
          priority: 3,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.wafRateLimitPer5Minutes ?? 2000, aggregateKeyType: 'IP' } },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            sampledRequestsEnabled: false,
            metricName: 'RateLimitPerSourceIp',
          },
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
  }

  private createAlarms(props: LdapBridgeProps, timeout: Duration): void {
    const fiveMinutes = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
    };
    const logMetric = (id: string, fn: NodejsFunction, pattern: string, metricName: string) =>
      new logs.MetricFilter(this, id, {
        logGroup: fn.logGroup,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: 'Auth0LdapBridge',
        metricName,
        metricValue: '1',
      }).metric({ period: fiveMinutes, statistic: 'Sum' });

    const requests = this.api.metricCount({ period: fiveMinutes, statistic: 'Sum' });
    const serverErrors = this.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' });
    alarm(
      'ServerErrorRateAlarm',
      new cloudwatch.MathExpression({
        expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
        usingMetrics: { requests, errors: serverErrors },
        period: fiveMinutes,
      }),
      5,
      'More than 5% of API responses are 5xx',
    );
    alarm(
      'DirectoryUnavailableLoginAlarm',
      logMetric(
        'DirectoryUnavailableLogin',
        this.loginFunction,
        '{ $.error = "directory_unavailable" }',
        'DirectoryUnavailableLogin',
      ),
      5,
      '/login answered directory_unavailable 5 times in 5 minutes',
    );
    alarm(
      'DirectoryUnavailableGetUserAlarm',
      logMetric(
        'DirectoryUnavailableGetUser',
        this.getUserFunction,
        '{ $.error = "directory_unavailable" }',
        'DirectoryUnavailableGetUser',
      ),
      5,
      '/get-user answered directory_unavailable 5 times in 5 minutes',
    );
    alarm(
      'AuthorizerDeniesAlarm',
      logMetric('AuthorizerDenies', this.authorizerFunction, '{ $.message = "token denied" }', 'AuthorizerDenies'),
      50,
      'The authorizer denied 50 tokens in 5 minutes (probing or a misconfigured client)',
    );
    for (const [name, fn] of [
      ['Login', this.loginFunction],
      ['GetUser', this.getUserFunction],
      ['Authorizer', this.authorizerFunction],
    ] as const) {
      alarm(
        `${name}ErrorsAlarm`,
        fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        1,
        `${name} function errors`,
      );
      alarm(
        `${name}ThrottlesAlarm`,
        fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        1,
        `${name} function throttled (reserved concurrency reached)`,
      );
      const limit = name === 'Authorizer' ? 5000 : timeout.toMilliseconds();
      alarm(
        `${name}DurationAlarm`,
        fn.metricDuration({ period: fiveMinutes, statistic: 'p99' }),
        Math.round(limit * 0.8),
        `${name} p99 duration above 80% of its timeout`,
      );
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

/** API Gateway's own answers in the bridge's error format. Static bodies: nothing a caller sent is echoed. */
function addGatewayResponses(api: apigateway.RestApi): void {
  const responses: Array<[string, apigateway.ResponseType, string, string]> = [
    ['Unauthorized', apigateway.ResponseType.UNAUTHORIZED, '401', '{"error":"invalid_token"}'],
    ['AccessDenied', apigateway.ResponseType.ACCESS_DENIED, '403', '{"error":"insufficient_scope"}'],
    ['AuthorizerFailure', apigateway.ResponseType.AUTHORIZER_FAILURE, '503', '{"error":"jwks_unavailable"}'],
    [
      'AuthorizerConfigurationError',
      apigateway.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
      '500',
      '{"error":"internal_error"}',
    ],
    [
      'BadRequestBody',
      apigateway.ResponseType.BAD_REQUEST_BODY,
      '400',
      '{"error":"invalid_request","error_description":"the body does not match the request schema"}',
    ],
    [
      'BadRequestParameters',
      apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
      '400',
      '{"error":"invalid_request","error_description":"a required header is missing"}',
    ],
    ['RequestTooLarge', apigateway.ResponseType.REQUEST_TOO_LARGE, '413', '{"error":"payload_too_large"}'],
    [
      'UnsupportedMediaType',
      apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE,
      '415',
      '{"error":"unsupported_media_type"}',
    ],
    ['Throttled', apigateway.ResponseType.THROTTLED, '429', '{"error":"throttled"}'],
    ['NotFound', apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, '404', '{"error":"not_found"}'],
    ['WafFiltered', apigateway.ResponseType.WAF_FILTERED, '403', '{"error":"forbidden"}'],
    ['Default4xx', apigateway.ResponseType.DEFAULT_4XX, '400', '{"error":"invalid_request"}'],
    ['Default5xx', apigateway.ResponseType.DEFAULT_5XX, '500', '{"error":"internal_error"}'],
  ];
  for (const [id, type, statusCode, body] of responses) {
    api.addGatewayResponse(id, {
      type,
      statusCode,
      templates: { 'application/json': body },
      responseHeaders: { 'Cache-Control': "'no-store'" },
    });
  }
}
