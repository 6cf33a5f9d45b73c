// The deployment stack: turns validated DeploymentConfig into the resources LdapBridge needs
// (VPC, bind secret, alarm topic, certificate) and builds it. No lookups: `cdk synth` runs
// offline and gives the same template every time.
import { Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config.ts';
import { LdapBridge } from './constructs/ldap-bridge.ts';

export interface LdapBridgeStackProps extends StackProps {
  config: DeploymentConfig;
}

export class LdapBridgeStack extends Stack {
  readonly bridge: LdapBridge;

  constructor(scope: Construct, id: string, props: LdapBridgeStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.bridge = new LdapBridge(this, 'LdapBridge', {
      auth0: config.auth0,
      directory: config.directory,
      functionSettings: config.functionSettings,
      vpc: this.vpc(config),
      bindSecret: this.bindSecret(config),
      createSecretsManagerEndpoint: config.createSecretsManagerEndpoint,
      ...(config.network.kind === 'existing' && config.network.vpcCidrBlock
        ? { existingEndpointCidr: config.network.vpcCidrBlock }
        : {}),
      throttling: config.throttling,
      reservedConcurrency: config.reservedConcurrency,
      functionTimeout: Duration.seconds(config.functionTimeoutSeconds),
      authorizerCacheTtl: Duration.seconds(config.authorizerCacheSeconds),
      ...(config.allowedSourceIps ? { allowedSourceIps: config.allowedSourceIps } : {}),
      wafRateLimitPer5Minutes: config.wafRateLimitPer5Minutes,
      ...(config.customDomain
        ? {
            customDomain: {
              domainName: config.customDomain.domainName,
              certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', config.customDomain.certificateArn),
            },
          }
        : {}),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      ...(config.alarms ? { alarmTopic: this.alarmTopic(config.alarms) } : {}),
    });
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

  private alarmTopic(alarms: NonNullable<DeploymentConfig['alarms']>): sns.ITopic {
    if (alarms.topicArn) return sns.Topic.fromTopicArn(this, 'AlarmTopic', alarms.topicArn);
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'auth0-ldap-bridge alarms',
      enforceSSL: true,
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
    });
    if (alarms.email) topic.addSubscription(new subscriptions.EmailSubscription(alarms.email));
    return topic;
  }
}
