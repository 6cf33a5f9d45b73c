// The LdapBridge construct: everything Auth0 reaches and everything that reaches the directory,
// composed of focused constructs: the directory network, the directory functions (one per
// route), the token authorizer's function, the deployed doctor's function, the scheduled
// sync-leavers when it is switched on, the API, its web ACL, the alarms and the dashboard; plus
// the outputs the Auth0 scripts are configured with, the doctor's ARN and the sync-leavers'
// function and secret.
// Construct ids are a contract: changing one replaces the resource. The focused constructs keep
// the logical ids their resources had when this was one construct (see construct-ids.ts).
import { CfnOutput, type Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { METRICS_SERVICE_ENV, metricsServiceFrom } from '../../lambdas/adapters/cloudwatch-metrics.ts';
import { RUNTIME_SETTINGS as S } from '../../lambdas/contract/settings.ts';
import { splitList } from '../../lambdas/core/config/read-settings.ts';
import { BridgeAlarms } from './bridge-alarms.ts';
import { BridgeApi } from './bridge-api.ts';
import { BridgeDashboard } from './bridge-dashboard.ts';
import { BridgeWebAcl } from './bridge-web-acl.ts';
import { HIDDEN_ID } from './construct-ids.ts';
import { DirectoryFunctions } from './directory-functions.ts';
import { DirectoryNetwork } from './directory-network.ts';
import { DOCTOR_FUNCTION_OUTPUT_KEY, DoctorFunction, type DoctorFunctionProps } from './doctor-function.ts';
import { SyncLeaversSchedule, type SyncLeaversSettings } from './sync-leavers-schedule.ts';
import { TokenAuthorizerFunction } from './token-authorizer-function.ts';

export { BUNDLING } from './bridge-function.ts';

export interface LdapBridgeProps {
  /** The Auth0 tenant's issuer URL (`https://TENANT.auth0.com/`); its host is AUTH0_DOMAIN for the scripts. */
  readonly auth0Issuer: string;
  /** The API identifier in Auth0 (BRIDGE_AUDIENCE for the scripts). */
  readonly auth0Audience: string;
  /** The machine-to-machine application the Auth0 scripts use (BRIDGE_CLIENT_ID), one of the allowed client ids. */
  readonly auth0ClientId: string;
  /**
   * The directory functions' environment: `lambdaEnvironment()` of lib/config.ts, with
   * `bindSecret`'s ARN.
   */
  readonly functionEnvironment: Record<string, string>;
  /** The token authorizer's environment: `authorizerEnvironment()` of lib/config.ts. */
  readonly authorizerEnvironment: Record<string, string>;
  /**
   * The PEM of the directory's private CA (a path from the project root), bundled with the directory functions.
   * @default none: the system CAs
   */
  readonly caCertificateFile?: string;
  /** The VPC whose private subnets reach the directory (VPN or Direct Connect). */
  readonly vpc: ec2.IVpc;
  /**
   * Where the directory functions run. Public subnets are refused.
   * @default the VPC's private subnets with egress, or its isolated subnets if it has none
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** IPv4 CIDR ranges of the directory servers: the functions' only egress besides Secrets Manager. */
  readonly directoryNetworkRanges: string[];
  /** TCP ports of the directory servers. */
  readonly directoryPorts: number[];
  /** The service account's `{"bindDN","password"}` secret; the functions may read this one secret. */
  readonly bindSecret: ISecret;
  /**
   * Create a Secrets Manager interface endpoint. When false, `existingEndpointCidr` must be given.
   * @default true
   */
  readonly createSecretsManagerEndpoint?: boolean;
  /**
   * The range holding an existing Secrets Manager endpoint (egress 443). Only with `createSecretsManagerEndpoint: false`.
   * @default none
   */
  readonly existingEndpointCidr?: string;
  /** The stage's steady request rate, in requests per second. @default 50 */
  readonly throttlingRateLimit?: number;
  /** The stage's burst, in requests. @default 100 */
  readonly throttlingBurstLimit?: number;
  /**
   * Reserved concurrency of each directory function: the cap on connections to the directory.
   * @default 10
   */
  readonly reservedConcurrency?: number;
  /** The directory functions' timeout. @default Duration.seconds(10), under Auth0's ~20 s script limit */
  readonly functionTimeout?: Duration;
  /** How long API Gateway keeps the authorizer's answer for one token. @default Duration.seconds(60) */
  readonly authorizerCacheTtl?: Duration;
  /**
   * The only source addresses (Auth0's egress IPs): the web ACL blocks every other source before
   * any other rule, and the resource policy refuses them too.
   * @default no restriction
   */
  readonly allowedSourceIps?: string[];
  /**
   * Requests one source IP may send in 5 minutes before the WAF blocks it; at least
   * `throttlingRateLimit` x 300, so it never blocks what the stage accepts.
   * @default throttlingRateLimit x 300
   */
  readonly wafRateLimitPer5Minutes?: number;
  /**
   * A custom domain with TLS 1.2 minimum; the default execute-api endpoint is then disabled. Needs `customDomainCertificate`.
   * @default none: the execute-api URL
   */
  readonly customDomainName?: string;
  /** The custom domain's certificate. @default none; required with `customDomainName` */
  readonly customDomainCertificate?: ICertificate;
  /** Retention of the function and access logs. @default the settings table's logRetentionDays (90 days) */
  readonly logRetention?: logs.RetentionDays;
  /** Where alarms notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
  /** Percent of logins in 5 minutes answered invalid_credentials that alarms. @default 50 */
  readonly alarmInvalidCredentialsPercent?: number;
  /** Logins in 5 minutes below which that share does not alarm. @default 20 */
  readonly alarmInvalidCredentialsMinLogins?: number;
  /** Logins the lockout shield answered in 5 minutes that alarm. @default 10 */
  readonly alarmLockoutShieldPer5Minutes?: number;
  /** directory_unavailable answers of one route in 5 minutes that alarm. @default 5 */
  readonly alarmDirectoryUnavailablePer5Minutes?: number;
  /**
   * Run sync-leavers on a schedule, from the directory functions' subnets (which then need a
   * route to the internet for Auth0's Management API).
   * @default no scheduled sync-leavers
   */
  readonly syncLeavers?: SyncLeaversSettings;
}

export class LdapBridge extends Construct {
  readonly api: apigateway.RestApi;
  readonly loginFunction: NodejsFunction;
  readonly getUserFunction: NodejsFunction;
  readonly authorizerFunction: NodejsFunction;
  /** The deployed doctor: the login function's configuration and network, invocable through IAM only. */
  readonly doctorFunction: NodejsFunction;
  /** The scheduled sync-leavers, when `syncLeavers` is given. */
  readonly syncLeavers?: SyncLeaversSchedule;
  readonly securityGroup: ec2.SecurityGroup;
  readonly alarms: cloudwatch.Alarm[];
  /** The functions' metrics beside AWS's, and every alarm's state. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: LdapBridgeProps) {
    super(scope, id);
    const auth0Domain = auth0DomainOf(props.auth0Issuer);
    if (!props.auth0ClientId)
      throw new Error('LdapBridge: auth0ClientId is empty; give the client id of the application the scripts use');

    const network = new DirectoryNetwork(this, 'DirectoryNetwork', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      directoryNetworkRanges: props.directoryNetworkRanges,
      directoryPorts: props.directoryPorts,
      createSecretsManagerEndpoint: props.createSecretsManagerEndpoint,
      existingEndpointCidr: props.existingEndpointCidr,
    });
    // The deployed doctor runs with exactly the directory functions' configuration, network and secret.
    const directoryAccess: DoctorFunctionProps = {
      vpc: props.vpc,
      vpcSubnets: network.subnets,
      securityGroup: network.securityGroup,
      bindSecret: props.bindSecret,
      environment: props.functionEnvironment,
      caCertificateFile: props.caCertificateFile,
      logRetention: props.logRetention,
    };
    const directoryFunctions = new DirectoryFunctions(this, 'DirectoryFunctions', {
      ...directoryAccess,
      functionTimeout: props.functionTimeout,
      reservedConcurrency: props.reservedConcurrency,
    });
    const doctorFunction = new DoctorFunction(this, 'Doctor', directoryAccess).function;
    // The login function's directory access too, behind a security group of its own that also reaches Auth0.
    const { securityGroup: _loginGroup, ...loginAccess } = directoryAccess;
    const syncLeavers = props.syncLeavers
      ? new SyncLeaversSchedule(this, 'SyncLeavers', {
          ...loginAccess,
          ...props.syncLeavers,
          directoryNetworkRanges: props.directoryNetworkRanges,
          directoryPorts: props.directoryPorts,
          secretsManagerEndpointSecurityGroup: network.secretsManagerEndpoint?.connections.securityGroups[0],
        })
      : undefined;
    const authorizerFunction = new TokenAuthorizerFunction(this, 'TokenAuthorizerFunction', {
      environment: props.authorizerEnvironment,
      logRetention: props.logRetention,
    }).function;
    // `Default`: CDK leaves this id out of the paths below, whose unique ids name resources (construct-ids.ts).
    const bridgeApi = new BridgeApi(this, HIDDEN_ID, {
      routeFunctions: directoryFunctions.functions,
      authorizerFunction,
      authorizerCacheTtl: props.authorizerCacheTtl,
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      allowedSourceIps: props.allowedSourceIps,
      customDomainName: props.customDomainName,
      customDomainCertificate: props.customDomainCertificate,
      logRetention: props.logRetention,
    });
    const webAcl = new BridgeWebAcl(this, 'WebAcl', {
      stage: bridgeApi.api.deploymentStage,
      stageRateLimit: props.throttlingRateLimit,
      stageBurstLimit: props.throttlingBurstLimit,
      rateLimitPer5Minutes: props.wafRateLimitPer5Minutes,
      allowedSourceIps: props.allowedSourceIps,
    });
    // The functions write their metrics under this service; the alarms and dashboard read it.
    const metricsService = metricsServiceFrom(props.functionEnvironment);
    if (metricsServiceFrom(props.authorizerEnvironment) !== metricsService)
      throw new Error(
        `LdapBridge: authorizerEnvironment ${METRICS_SERVICE_ENV} ${JSON.stringify(props.authorizerEnvironment[METRICS_SERVICE_ENV] ?? null)} is not functionEnvironment's ${JSON.stringify(metricsService)}; the dashboard and alarms read one service`,
      );
    const alarms = new BridgeAlarms(this, 'Alarms', {
      api: bridgeApi.api,
      routeFunctions: directoryFunctions.functions,
      authorizerFunction,
      syncLeaversFunction: syncLeavers?.function,
      alarmTopic: props.alarmTopic,
      metricsService,
      invalidCredentialsPercent: props.alarmInvalidCredentialsPercent,
      invalidCredentialsMinLogins: props.alarmInvalidCredentialsMinLogins,
      lockoutShieldPer5Minutes: props.alarmLockoutShieldPer5Minutes,
      directoryUnavailablePer5Minutes: props.alarmDirectoryUnavailablePer5Minutes,
    });
    const dashboard = new BridgeDashboard(this, 'Dashboard', {
      service: metricsService,
      directoryServers: splitList(props.functionEnvironment[S.LDAP_URLS.env] ?? ''),
      api: bridgeApi.api,
      routeFunctions: directoryFunctions.functions,
      authorizerFunction,
      webAclMetricName: (webAcl.webAcl.visibilityConfig as wafv2.CfnWebACL.VisibilityConfigProperty).metricName,
      alarms: alarms.alarms,
      directoryUnavailableLogCounts: alarms.directoryUnavailableLogCounts,
      authorizerDeniesLogCount: alarms.authorizerDeniesLogCount,
    }).dashboard;

    this.api = bridgeApi.api;
    this.loginFunction = directoryFunctions.functions.login;
    this.getUserFunction = directoryFunctions.functions['get-user'];
    this.authorizerFunction = authorizerFunction;
    this.doctorFunction = doctorFunction;
    if (syncLeavers) this.syncLeavers = syncLeavers;
    this.securityGroup = network.securityGroup;
    this.alarms = alarms.alarms;
    this.dashboard = dashboard;

    new CfnOutput(this, 'ApiUrl', { value: bridgeApi.url, description: 'BRIDGE_URL for the Auth0 scripts' });
    new CfnOutput(this, DOCTOR_FUNCTION_OUTPUT_KEY, {
      key: DOCTOR_FUNCTION_OUTPUT_KEY,
      value: doctorFunction.functionArn,
      description:
        'The deployed doctor, for auth0-ldap-bridge doctor --stack (callers need lambda:InvokeFunction on it)',
    });
    if (syncLeavers) {
      new CfnOutput(this, 'SyncLeaversFunctionName', {
        value: syncLeavers.function.functionName,
        description: `The scheduled sync-leavers (${props.syncLeavers?.apply ? 'applies' : 'dry run'}): its log group is /aws/lambda/<this name>`,
      });
      new CfnOutput(this, 'SyncLeaversManagementApiSecretArn', {
        value: syncLeavers.managementApiSecret.secretArn,
        description:
          'The secret the scheduled sync-leavers reads {"domain","clientId","clientSecret"} of the Management API application from',
      });
    }
    new CfnOutput(this, 'Audience', {
      value: props.auth0Audience,
      description: 'BRIDGE_AUDIENCE: the API identifier in Auth0',
    });
    new CfnOutput(this, 'Auth0ScriptConfiguration', {
      description: 'Paste into the custom database connection settings; add the client secret yourself',
      value: Stack.of(this).toJsonString({
        AUTH0_DOMAIN: auth0Domain,
        BRIDGE_CLIENT_ID: props.auth0ClientId,
        BRIDGE_CLIENT_SECRET: '<the machine-to-machine application secret>',
        BRIDGE_AUDIENCE: props.auth0Audience,
        BRIDGE_URL: bridgeApi.url,
      }),
    });
  }
}

function auth0DomainOf(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    throw new Error(
      `LdapBridge: auth0Issuer ${JSON.stringify(issuer)} is not a URL; expected https://TENANT.auth0.com/`,
    );
  }
}
