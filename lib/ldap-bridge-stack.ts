// The deployment stack: turns validated DeploymentConfig into what LdapBridge needs (VPC, bind
// secret, alarm topic and its key, certificate, the functions' environments) and builds it. No
// lookups: `cdk synth` runs offline and gives the same template every time.
import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { authorizerEnvironment, type DeploymentConfig, lambdaEnvironment } from './config.ts';
import { LdapBridge } from './constructs/ldap-bridge.ts';
import type { SyncLeaversSettings } from './constructs/sync-leavers-schedule.ts';

export interface LdapBridgeStackProps extends StackProps {
  config: DeploymentConfig;
}

export class LdapBridgeStack extends Stack {
  readonly bridge: LdapBridge;

  constructor(scope: Construct, id: string, props: LdapBridgeStackProps) {
    super(scope, id, props);
    const { config } = props;

    const vpc = this.vpc(config);
    const bindSecret = this.bindSecret(config);
    this.bridge = new LdapBridge(this, 'LdapBridge', {
      auth0Issuer: config.auth0.issuer,
      auth0Audience: config.auth0.audience,
      // readDeploymentConfig refuses an empty auth0.allowedClientIds.
      auth0ClientId: config.auth0.allowedClientIds[0] ?? '',
      functionEnvironment: lambdaEnvironment(config, bindSecret.secretArn),
      authorizerEnvironment: authorizerEnvironment(config),
      caCertificateFile: config.directory.caCertificateFile,
      vpc,
      directoryNetworkRanges: config.directory.networkRanges,
      directoryPorts: config.directory.ports,
      bindSecret,
      createSecretsManagerEndpoint: config.createSecretsManagerEndpoint,
      existingEndpointCidr:
        !config.createSecretsManagerEndpoint && config.network.kind === 'existing'
          ? config.network.vpcCidrBlock
          : undefined,
      throttlingRateLimit: config.throttling.rateLimit,
      throttlingBurstLimit: config.throttling.burstLimit,
      reservedConcurrency: config.reservedConcurrency,
      functionTimeout: Duration.seconds(config.functionTimeoutSeconds),
      authorizerCacheTtl: Duration.seconds(config.authorizerCacheSeconds),
      allowedSourceIps: config.allowedSourceIps,
      wafRateLimitPer5Minutes: config.wafRateLimitPer5Minutes,
      customDomainName: config.customDomain?.domainName,
      customDomainCertificate: config.customDomain
        ? acm.Certificate.fromCertificateArn(this, 'Certificate', config.customDomain.certificateArn)
        : undefined,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      alarmTopic: config.alarms ? this.alarmTopic(config.alarms) : undefined,
      alarmInvalidCredentialsPercent: config.alarmThresholds.invalidCredentialsPercent,
      alarmInvalidCredentialsMinLogins: config.alarmThresholds.invalidCredentialsMinLogins,
      alarmLockoutShieldPer5Minutes: config.alarmThresholds.lockoutShieldPer5Minutes,
      alarmDirectoryUnavailablePer5Minutes: config.alarmThresholds.directoryUnavailablePer5Minutes,
      ...(config.syncLeavers ? { syncLeavers: this.syncLeavers(config.syncLeavers) } : {}),
    });
  }

  /** The schedule's settings, with the Management API secret when cdk.json names an existing one. */
  private syncLeavers(settings: NonNullable<DeploymentConfig['syncLeavers']>): SyncLeaversSettings {
    const { managementApiSecretArn, ...rest } = settings;
    return {
      ...rest,
      ...(managementApiSecretArn
        ? {
            managementApiSecret: secretsmanager.Secret.fromSecretAttributes(this, 'ManagementApiSecret', {
              secretCompleteArn: managementApiSecretArn,
            }),
          }
        : {}),
    };
  }

  private vpc(config: DeploymentConfig): ec2.IVpc {
    if (config.network.kind === 'existing') {
      const network = config.network;
      return ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: network.availabilityZones,
        privateSubnetIds: network.privateSubnetIds,
        ...(network.privateSubnetRouteTableIds
          ? { privateSubnetRouteTableIds: network.privateSubnetRouteTableIds }
          : {}),
        ...(network.vpcCidrBlock ? { vpcCidrBlock: network.vpcCidrBlock } : {}),
      });
    }
    // A demo VPC: isolated subnets only, no internet route. Connect it to the directory's
    // network (VPN, Direct Connect, peering) yourself, or use network.kind "existing".
    return new ec2.Vpc(this, 'DemoVpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'directory', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: {
        all: { trafficType: ec2.FlowLogTrafficType.ALL, destination: ec2.FlowLogDestination.toCloudWatchLogs() },
      },
    });
  }

  private bindSecret(config: DeploymentConfig): secretsmanager.ISecret {
    if (config.bindSecret.kind === 'existing') {
      const { secretArn, kmsKeyArn } = config.bindSecret;
      return secretsmanager.Secret.fromSecretAttributes(this, 'BindSecret', {
        secretCompleteArn: secretArn,
        ...(kmsKeyArn ? { encryptionKey: kms.Key.fromKeyArn(this, 'BindSecretKey', kmsKeyArn) } : {}),
      });
    }
    const secret = new secretsmanager.Secret(this, 'BindSecret', {
      description:
        'auth0-ldap-bridge service account: replace with {"bindDN": "<service account DN>", "password": "<its password>"}',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ bindDN: 'cn=REPLACE-WITH-THE-SERVICE-ACCOUNT-DN' }),
        generateStringKey: 'password',
        excludePunctuation: true,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The service account's password is owned and rotated by the directory's administrators; after a rotation they update this secret, and the bridge refetches it when a bind is refused.",
    });
    return secret;
  }

  /**
   * An existing topic as it is (its policy and key are its owner's: see alarms.topicArn's row), or
   * a new one CloudWatch can deliver to. CloudWatch publishes as the service principal
   * cloudwatch.amazonaws.com, which needs sns:Publish in the topic's policy (enforceSSL's policy
   * replaces SNS's default one) and kms:Decrypt and kms:GenerateDataKey* on the topic's key.
   * The AWS managed key alias/aws/sns does not let CloudWatch use it and its policy cannot be
   * changed: with it, the alarm history shows "CloudWatch Alarms does not have authorization to access the SNS
   * topic encryption key" and nothing is delivered (AWS re:Post knowledge center, "configure a
   * CloudWatch alarm with an encrypted SNS topic"). The key statement is the one AWS documents,
   * without conditions (a condition CloudWatch's KMS calls may not carry would silently stop
   * delivery: the failure this key exists to prevent); publishing to the topic is scoped to alarms
   * of this account and region with aws:SourceAccount and aws:SourceArn.
   */
  private alarmTopic(alarms: NonNullable<DeploymentConfig['alarms']>): sns.ITopic {
    if (alarms.topicArn) return sns.Topic.fromTopicArn(this, 'AlarmTopic', alarms.topicArn);
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
    };
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'auth0-ldap-bridge: encrypts the alarm topic; CloudWatch alarms may use it to publish',
      enableKeyRotation: true,
      // It protects notifications in flight only: nothing is left to decrypt once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheTopic',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'auth0-ldap-bridge alarms',
      enforceSSL: true,
      masterKey: key,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (alarms.email) topic.addSubscription(new subscriptions.EmailSubscription(alarms.email));
    return topic;
  }
}
