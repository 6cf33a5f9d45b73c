// The synthesized template, point by point against the infrastructure contract.
import { describe, expect, it } from 'vitest';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { App, CfnElement, CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { GATEWAY_RESPONSES } from '../../lambdas/contract/errors.ts';
import { ROUTES } from '../../lambdas/contract/routes.ts';
import { BridgeApi, type BridgeApiProps } from '../../lib/constructs/bridge-api.ts';
import { hideFromLogicalIds, logicalIdFromPath, logicalIdPath } from '../../lib/constructs/construct-ids.ts';
import { DirectoryFunctions, type DirectoryFunctionsProps } from '../../lib/constructs/directory-functions.ts';
import { DirectoryNetwork, type DirectoryNetworkProps } from '../../lib/constructs/directory-network.ts';
import { LdapBridge, type LdapBridgeProps } from '../../lib/constructs/ldap-bridge.ts';
import { authorizerEnvironment, BUNDLED_CA_PATH, lambdaEnvironment, readDeploymentConfig } from '../../lib/config.ts';
import { build, CDK_CONTEXT } from './support.ts';

const prod = build('prod');
const demo = build('demo');

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const resourcesOf = (template: typeof prod.template, type: string): Resources =>
  template.findResources(type) as Resources;

function functionsByDescription(template: typeof prod.template): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.values(resourcesOf(template, 'AWS::Lambda::Function')).map((fn) => [
      String(fn.Properties.Description),
      fn.Properties,
    ]),
  );
}

describe('API Gateway', () => {
  it('is one regional REST API with exactly POST /login and POST /get-user', () => {
    prod.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    prod.template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    const paths = Object.values(resourcesOf(prod.template, 'AWS::ApiGateway::Resource'))
      .map((resource) => resource.Properties.PathPart)
      .sort();
    expect(paths).toEqual(['get-user', 'login']);
    const methods = Object.values(resourcesOf(prod.template, 'AWS::ApiGateway::Method'));
    expect(methods.map((method) => method.Properties.HttpMethod)).toEqual(['POST', 'POST']);
    for (const method of methods) {
      expect(method.Properties).toMatchObject({
        AuthorizationType: 'CUSTOM',
        RequestValidatorId: expect.anything(),
        RequestModels: { 'application/json': expect.anything() },
      });
    }
  });

  it('validates bodies with the same schema the runtime uses: types, lengths, no extra properties', () => {
    prod.template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'LoginRequest',
      Schema: {
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        required: ['username', 'password'],
        additionalProperties: false,
        properties: {
          username: { type: 'string', minLength: 1, maxLength: 256 },
          password: { type: 'string', minLength: 1, maxLength: 1024 },
        },
      },
    });
    prod.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
  });

  it('throttles the stage, logs execution at ERROR without data tracing, and writes JSON access logs without bodies or headers', () => {
    const stage = Object.values(resourcesOf(prod.template, 'AWS::ApiGateway::Stage'))[0]!.Properties;
    expect(stage.MethodSettings).toEqual([
      expect.objectContaining({
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        HttpMethod: '*',
        ResourcePath: '/*',
      }),
    ]);
    const format = String((stage.AccessLogSetting as { Format: string }).Format);
    expect(JSON.parse(format)).toHaveProperty('requestId', '$context.requestId');
    expect(format).not.toMatch(/body|authorization|header/i);
  });

  it('uses a TOKEN authorizer on the Authorization header with a short result cache', () => {
    prod.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 60,
    });
  });

  it('answers API Gateway errors in the bridge format without echoing input', () => {
    prod.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseTemplates: { 'application/json': '{"error":"invalid_token"}' },
    });
    prod.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'AUTHORIZER_FAILURE',
      StatusCode: '503',
    });
    for (const response of Object.values(resourcesOf(prod.template, 'AWS::ApiGateway::GatewayResponse'))) {
      expect(JSON.stringify(response.Properties.ResponseTemplates)).not.toContain('$context.error');
    }
  });

  it('restricts source IPs with a resource policy when allowedSourceIps is set, and has none otherwise', () => {
    prod.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: {
              NotIpAddress: { 'aws:SourceIp': ['52.28.56.226', '52.28.45.240', '52.16.224.164', '52.16.193.66'] },
            },
          }),
        ]),
      },
    });
    expect(Object.values(resourcesOf(demo.template, 'AWS::ApiGateway::RestApi'))[0]!.Properties.Policy).toBeUndefined();
  });

  it('attaches a WAF web ACL with managed rule groups and a per-IP rate limit', () => {
    prod.template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet' }),
        Match.objectLike({ Name: 'AWSManagedRulesKnownBadInputsRuleSet' }),
        Match.objectLike({
          Name: 'RateLimitPerSourceIp',
          Statement: { RateBasedStatement: Match.objectLike({ Limit: 60_400, AggregateKeyType: 'IP' }) },
        }),
      ]),
    });
    prod.template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });

  it('with a custom domain: TLS 1.2 minimum and the default execute-api endpoint disabled', () => {
    const withDomain = build('prod', {
      ...structuredClone(CDK_CONTEXT.environments.prod),
      customDomain: {
        domainName: 'ldap-bridge.corp.example',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
      },
    });
    withDomain.template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      SecurityPolicy: 'TLS_1_2',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    withDomain.template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
  });
});

describe('functions', () => {
  const functions = functionsByDescription(prod.template);
  const entries = Object.entries(functions);
  const directoryFunctions = entries
    .filter(([description]) => description.includes('LDAP search and bind'))
    .map(([, properties]) => properties);
  const authorizer = entries.find(([description]) => description.includes('TOKEN authorizer'))![1];

  it('runs login and get-user in the private subnets, arm64, on Node.js 24, with reserved concurrency and a timeout under 20 s', () => {
    expect(directoryFunctions).toHaveLength(2);
    for (const fn of directoryFunctions) {
      expect(fn).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 10,
        ReservedConcurrentExecutions: 20,
      });
      expect((fn.VpcConfig as { SubnetIds: string[] }).SubnetIds).toEqual([
        'subnet-0a1b2c3d4e5f60718',
        'subnet-0f1e2d3c4b5a69788',
      ]);
    }
  });

  it('runs the authorizer outside the VPC (it must reach the JWKS)', () => {
    expect(authorizer.VpcConfig).toBeUndefined();
    expect(authorizer).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('puts no secret in any environment: the bind password stays in Secrets Manager', () => {
    for (const [, fn] of entries) {
      const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(variables).filter((key) => /PASSWORD|CLIENT_SECRET/.test(key))).toEqual([]);
    }
    expect((directoryFunctions[0]!.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      LDAP_BIND_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf',
      LDAP_URLS: 'ldaps://dc1.corp.example:636,ldaps://dc2.corp.example:636',
      AUTH_ISSUER: 'https://corp.eu.auth0.com/',
    });
  });

  it('keeps every log group for the configured retention', () => {
    const groups = Object.values(resourcesOf(prod.template, 'AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
  });
});

describe('network', () => {
  it('gives the functions no open egress: only the directory ranges on LDAP ports and HTTPS to the endpoint', () => {
    const groups = Object.values(resourcesOf(prod.template, 'AWS::EC2::SecurityGroup'));
    for (const group of groups) {
      const egress = (group.Properties.SecurityGroupEgress as Array<Record<string, unknown>> | undefined) ?? [];
      expect(egress.some((rule) => rule.CidrIp === '0.0.0.0/0')).toBe(false);
    }
    prod.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('directory functions: egress'),
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '10.20.0.0/24', FromPort: 636, ToPort: 636, IpProtocol: 'tcp' }),
        Match.objectLike({ CidrIp: '10.20.1.0/24', FromPort: 636, ToPort: 636, IpProtocol: 'tcp' }),
      ],
    });
    prod.template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 443,
      ToPort: 443,
      DestinationSecurityGroupId: Match.anyValue(),
    });
    prod.template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.eu-west-1.secretsmanager',
      PrivateDnsEnabled: true,
      VpcEndpointType: 'Interface',
    });
  });

  it('builds a demo VPC with isolated subnets only, no NAT, and flow logs', () => {
    demo.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    demo.template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    demo.template.resourceCountIs('AWS::EC2::FlowLog', 1);
  });
});

describe('IAM', () => {
  const statements = Object.values(resourcesOf(prod.template, 'AWS::IAM::Policy')).flatMap(
    (policy) =>
      (
        policy.Properties.PolicyDocument as {
          Statement: Array<{ Sid?: string; Action: string | string[]; Resource: unknown }>;
        }
      ).Statement,
  );

  it('reads exactly the bind secret, by its complete ARN', () => {
    const secretReads = statements.filter((statement) =>
      [statement.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    // login, get-user and the deployed doctor
    expect(secretReads).toHaveLength(3);
    for (const statement of secretReads)
      expect(statement.Resource).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf');
  });

  it('has no wildcard actions, and a wildcard resource only for the VPC attachment actions', () => {
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      if (JSON.stringify(statement.Resource) === '"*"') expect(statement.Sid).toBe('AttachToVpc');
    }
  });

  it('adds kms:Decrypt on the key only when the secret uses a customer key', () => {
    expect(statements.some((statement) => [statement.Action].flat().includes('kms:Decrypt'))).toBe(false);
    const withKey = build('prod', {
      ...structuredClone(CDK_CONTEXT.environments.prod),
      bindSecret: {
        secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
      },
    });
    withKey.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Resource: 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
          }),
        ]),
      },
    });
  });

  it("uses no AWS managed policy on the functions' roles", () => {
    for (const role of Object.values(resourcesOf(prod.template, 'AWS::IAM::Role'))) {
      if (String(role.Properties.Description ?? '').startsWith('Execution role'))
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('alarms and outputs', () => {
  it('alarms on 5xx rate, directory_unavailable, authorizer denies, errors, throttles and duration, the invalid_credentials share and the lockout shield, notifying the topic', () => {
    const alarms = Object.values(resourcesOf(prod.template, 'AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(15);
    for (const alarm of alarms)
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:security-alerts']);
    prod.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.error = "directory_unavailable" }',
    });
    prod.template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.error = "invalid_token" }' });
  });

  it("counts log lines by their structured error code, never by a log message's wording", () => {
    const patterns = Object.values(resourcesOf(prod.template, 'AWS::Logs::MetricFilter')).map(
      (filter) => filter.Properties.FilterPattern,
    );
    expect(patterns).toHaveLength(3);
    for (const pattern of patterns) expect(pattern).toMatch(/^\{ \$\.error = "[a-z_]+" \}$/);
  });

  it('creates an encrypted, TLS-only topic for an alarm email', () => {
    demo.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    demo.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'security@corp.example',
    });
  });

  it('outputs the API URL, the audience and the Auth0 script configuration', () => {
    const outputs = Object.keys(prod.template.findOutputs('*'));
    expect(outputs.some((name) => name.includes('ApiUrl'))).toBe(true);
    expect(outputs.some((name) => name.includes('Audience'))).toBe(true);
    expect(outputs.some((name) => name.includes('Auth0ScriptConfiguration'))).toBe(true);
  });
});

describe('synthesis', () => {
  it('is deterministic: two synths give identical templates', () => {
    expect(JSON.stringify(build('prod').template.toJSON())).toBe(JSON.stringify(prod.template.toJSON()));
  });

  it('does no lookups (no context was needed from AWS)', () => {
    const missing = prod.app.synth().manifest.missing ?? [];
    expect(missing).toEqual([]);
  });
});

describe('LdapBridge construct props', () => {
  const config = readDeploymentConfig(CDK_CONTEXT.environments, 'demo');
  const newBridge = (change: (stack: Stack, vpc: ec2.Vpc) => Partial<LdapBridgeProps>) => {
    const { stack, vpc, bindSecret } = testStack();
    return () =>
      new LdapBridge(stack, 'Bridge', {
        auth0Issuer: config.auth0.issuer,
        auth0Audience: config.auth0.audience,
        auth0ClientId: 'm2m-client-id',
        functionEnvironment: lambdaEnvironment(config, bindSecret.secretArn),
        authorizerEnvironment: authorizerEnvironment(config),
        vpc,
        directoryNetworkRanges: config.directory.networkRanges,
        directoryPorts: config.directory.ports,
        bindSecret,
        ...change(stack, vpc),
      });
  };

  it('fails if the functions would run in public subnets', () => {
    expect(newBridge(() => ({ vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }))).toThrow(
      'must run in private subnets',
    );
  });

  it("fails if the function timeout reaches Auth0's script limit", () => {
    expect(newBridge(() => ({ functionTimeout: Duration.seconds(25) }))).toThrow(
      'functionTimeout 25 expected 3-15 seconds',
    );
  });

  it('fails if no endpoint is created and no range for an existing one is given', () => {
    expect(newBridge(() => ({ createSecretsManagerEndpoint: false }))).toThrow('existingEndpointCidr is required');
  });

  it('fails if the issuer is not a URL, naming it', () => {
    expect(newBridge(() => ({ auth0Issuer: 'corp.eu.auth0.com' }))).toThrow(
      'LdapBridge: auth0Issuer "corp.eu.auth0.com" is not a URL',
    );
  });

  it('fails if the client id for the script configuration is empty', () => {
    expect(newBridge(() => ({ auth0ClientId: '' }))).toThrow('LdapBridge: auth0ClientId is empty');
  });

  it('defaults to the private subnets with egress of a VPC that has them', () => {
    expect(newBridge(() => ({}))).not.toThrow();
  });
});

describe('DirectoryNetwork props', () => {
  const newNetwork = (change: Partial<DirectoryNetworkProps>) => {
    const { stack, vpc } = testStack();
    return () =>
      new DirectoryNetwork(stack, 'Network', {
        vpc,
        directoryNetworkRanges: ['10.20.0.0/24'],
        directoryPorts: [636],
        ...change,
      });
  };

  it('fails if public subnets are selected, naming them', () => {
    expect(newNetwork({ vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } })).toThrow(
      'DirectoryNetwork: vpcSubnets selects public subnets (Test/Vpc/PublicSubnet1, Test/Vpc/PublicSubnet2)',
    );
  });

  it('fails if there is no directory range', () => {
    expect(newNetwork({ directoryNetworkRanges: [] })).toThrow('DirectoryNetwork: directoryNetworkRanges is empty');
  });

  it('fails if there is no directory port', () => {
    expect(newNetwork({ directoryPorts: [] })).toThrow('DirectoryNetwork: directoryPorts is empty');
  });

  it('fails if a directory port is not a TCP port, naming it', () => {
    expect(newNetwork({ directoryPorts: [636, 70000] })).toThrow(
      'DirectoryNetwork: directoryPorts 70000 expected 1-65535',
    );
  });

  it('fails if it should both create an endpoint and use an existing one', () => {
    expect(newNetwork({ existingEndpointCidr: '10.0.0.0/16' })).toThrow(
      'DirectoryNetwork: existingEndpointCidr "10.0.0.0/16" is given but createSecretsManagerEndpoint is true',
    );
  });

  it('allows HTTPS to an existing endpoint range instead of creating an endpoint', () => {
    const { stack, vpc } = testStack();
    new DirectoryNetwork(stack, 'Network', {
      vpc,
      directoryNetworkRanges: ['10.20.0.0/24'],
      directoryPorts: [636],
      createSecretsManagerEndpoint: false,
      existingEndpointCidr: '10.0.0.0/16',
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443 })]),
    });
  });
});

describe('DirectoryFunctions props', () => {
  const config = readDeploymentConfig(CDK_CONTEXT.environments, 'demo');
  const newFunctions = (change: (bindSecret: secretsmanager.ISecret) => Partial<DirectoryFunctionsProps>) => {
    const { stack, vpc, bindSecret } = testStack();
    const securityGroup = new ec2.SecurityGroup(stack, 'Group', { vpc });
    return () =>
      new DirectoryFunctions(stack, 'Functions', {
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroup,
        bindSecret,
        environment: lambdaEnvironment(config, bindSecret.secretArn),
        ...change(bindSecret),
      });
  };

  it('creates one function per route of the contract', () => {
    const { stack, vpc, bindSecret } = testStack();
    const functions = new DirectoryFunctions(stack, 'Functions', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: new ec2.SecurityGroup(stack, 'Group', { vpc }),
      bindSecret,
      environment: lambdaEnvironment(config, bindSecret.secretArn),
    });
    expect(Object.keys(functions.functions)).toEqual(ROUTES.map((route) => route.name));
    expect(functions.functions.login.node.id).toBe('LoginFunction');
    expect(functions.functions['get-user'].node.id).toBe('GetUserFunction');
  });

  it('fails if the reserved concurrency is out of range, naming it', () => {
    expect(newFunctions(() => ({ reservedConcurrency: 0 }))).toThrow(
      'DirectoryFunctions: reservedConcurrency 0 expected 1-1000 executions',
    );
  });

  it('fails if the environment names another secret than the one the functions may read', () => {
    const other = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf';
    expect(newFunctions(() => ({ environment: lambdaEnvironment(config, other) }))).toThrow(
      `DirectoryFunctions: environment LDAP_BIND_SECRET_ARN "${other}" is not bindSecret's ARN`,
    );
  });

  it('fails if a CA file is bundled but the environment does not point at it', () => {
    expect(newFunctions(() => ({ caCertificateFile: 'dev/ca.pem' }))).toThrow(
      'DirectoryFunctions: environment LDAP_CA_CERT null with caCertificateFile "dev/ca.pem"',
    );
  });

  it('fails if the environment points at a bundled CA that is not bundled', () => {
    const withCa = { ...config, directory: { ...config.directory, caCertificateFile: 'dev/ca.pem' } };
    expect(newFunctions((bindSecret) => ({ environment: lambdaEnvironment(withCa, bindSecret.secretArn) }))).toThrow(
      `DirectoryFunctions: environment LDAP_CA_CERT "${BUNDLED_CA_PATH}" with caCertificateFile null`,
    );
  });
});

describe('BridgeApi props', () => {
  const newApi = (change: Partial<BridgeApiProps>) => {
    const { stack } = testStack();
    const handler = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('export const handler = async () => ({});'),
      });
    return () =>
      new BridgeApi(stack, 'Api', {
        routeFunctions: { login: handler('Login'), 'get-user': handler('GetUser') },
        authorizerFunction: handler('Authorizer'),
        ...change,
      });
  };

  it('fails if a custom domain has no certificate, naming the domain', () => {
    expect(newApi({ customDomainName: 'ldap-bridge.corp.example' })).toThrow(
      'BridgeApi: customDomainName "ldap-bridge.corp.example" needs customDomainCertificate',
    );
  });

  it('fails if the throttling burst is out of range, naming it', () => {
    expect(newApi({ throttlingBurstLimit: 0 })).toThrow('BridgeApi: throttlingBurstLimit 0 expected 1-5000 requests');
  });

  it('answers every API Gateway refusal of the contract, in the bridge format', () => {
    const { api } = newApi({})();
    const template = Template.fromStack(Stack.of(api));
    template.resourceCountIs('AWS::ApiGateway::GatewayResponse', GATEWAY_RESPONSES.length);
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '404',
      ResponseTemplates: { 'application/json': '{"error":"not_found"}' },
    });
  });
});

describe('logical ids of the focused constructs', () => {
  const pathBelowStack = (element: CfnElement) =>
    element.node.scopes.slice(element.node.scopes.indexOf(element.stack) + 1).map((scope) => scope.node.id);

  it("reproduces CDK's logical id of every element of the shipped stacks from its path", () => {
    for (const name of Object.keys(CDK_CONTEXT.environments)) {
      const { stack } = build(name);
      const elements = stack.node.findAll().filter((construct) => CfnElement.isCfnElement(construct));
      expect(elements.length).toBeGreaterThan(50);
      for (const element of elements)
        expect(logicalIdFromPath(pathBelowStack(element))).toBe(stack.getLogicalId(element));
    }
  });

  it("reproduces CDK's logical id of repeated, hidden, non-alphanumeric and long ids", () => {
    const stack = new Stack(new App(), 'Edge');
    const paths = [
      ['Alone'],
      ['with-dash.and.dots'],
      ['x'.repeat(300)],
      ['Outer', 'Default', 'Inner'],
      ['Default', 'Only'],
      ['Name', 'Name', 'Resource'],
      ['LongerName', 'Name'],
      ['y'.repeat(200), 'z'.repeat(100)],
    ];
    for (const path of paths) {
      let scope: Construct = stack;
      for (const id of path.slice(0, -1))
        scope = (scope.node.tryFindChild(id) as Construct) ?? new Construct(scope, id);
      const element = new CfnResource(scope, path.at(-1)!, { type: 'Test::Thing' });
      expect(logicalIdFromPath(path)).toBe(stack.getLogicalId(element));
    }
  });

  it('gives the elements below a hidden construct, added before or after, the logical ids they would have without it', () => {
    const flat = new Stack(new App(), 'Flat');
    const before = [new CfnResource(flat, 'Thing', { type: 'Test::Thing' })];
    before.push(new CfnResource(new Construct(flat, 'Holder'), 'Resource', { type: 'Test::Thing' }));

    const split = new Stack(new App(), 'Split');
    const focused = new Construct(split, 'Focused');
    hideFromLogicalIds(focused);
    new CfnResource(focused, 'Thing', { type: 'Test::Thing' });
    const holder = new Construct(focused, 'Holder');
    new CfnResource(holder, 'Resource', { type: 'Test::Thing' }); // as a grant or a permission adds later
    const pinned = new CfnResource(focused, 'Pinned', { type: 'Test::Thing' });
    pinned.overrideLogicalId('PinnedOnPurpose');

    const ids = Object.keys(Template.fromStack(split).toJSON().Resources).sort();
    expect(ids).toEqual([...before.map((element) => flat.getLogicalId(element)), 'PinnedOnPurpose'].sort());
  });

  it('names the paths the audit shows without Default and without hidden constructs', () => {
    const { stack } = build('prod');
    expect(logicalIdPath(stack.bridge.loginFunction)).toEqual(['LdapBridge', 'LoginFunction']);
    expect(logicalIdPath(stack.bridge.api)).toEqual(['LdapBridge', 'Api']);
  });
});

/** A stack in a test app (no bundling) with a VPC that has public and private subnets, and a bind secret. */
function testStack() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { region: 'eu-west-1', account: '123456789012' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const bindSecret = new secretsmanager.Secret(stack, 'Secret');
  return { stack, vpc, bindSecret };
}
