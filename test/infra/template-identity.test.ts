// The synthesized templates of every shipped environment (and one with every optional feature on)
// against the templates from before the LdapBridge construct was split (never regenerated): every
// logical id kept with its resource type, only the listed resources added, and the same
// properties everywhere apart from the intended fixes and the resources production safety alters
// on purpose, each listed below with its reason.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { build, environment } from './support.ts';
import { EVERYTHING_ON, normalizeTemplate } from './template-snapshot.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every leaf that differs, as "path: before -> after" (absent is undefined). */
function differences(before: Json | undefined, after: Json | undefined, path = ''): string[] {
  const isObject = (value: Json | undefined): value is { [key: string]: Json } | Json[] =>
    value !== null && typeof value === 'object';
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) =>
      differences((before as Record<string, Json>)[key], (after as Record<string, Json>)[key], `${path}/${key}`),
    );
  }
  return JSON.stringify(before) === JSON.stringify(after)
    ? []
    : [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`];
}

/**
 * The authorizer-denies alarm counts denials by the structured log field `error` (InvalidToken's
 * code), no longer by the wording of the log message.
 */
const AUTHORIZER_DENIES_BY_ERROR_CODE =
  '/Resources/LdapBridgeAuthorizerDenies03D900FC/Properties/FilterPattern: "{ $.message = \\"token denied\\" }" -> "{ $.error = \\"invalid_token\\" }"';

/**
 * The token authorizer's header check is the runtime's (one pattern in lambdas/contract/routes.ts):
 * the scheme in any case and spaces around the token, as the runtime always accepted.
 */
const AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT =
  '/Resources/LdapBridgeTokenAuthorizerCA572818/Properties/IdentityValidationExpression: "^Bearer [A-Za-z0-9_.~+/-]+=*$" -> "^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_.~+/-]+=*) *$"';

/** The deployed doctor's stack output, which `doctor --stack` finds by its key. */
const DOCTOR_FUNCTION_OUTPUT =
  '/Outputs/DoctorFunctionArn: undefined -> {"Description":"The deployed doctor, for auth0-ldap-bridge doctor --stack (callers need lambda:InvokeFunction on it)","Value":{"Fn::GetAtt":["LdapBridgeDoctorFunctionC939CB0B","Arn"]}}';

/**
 * Resources whose properties production safety changes on purpose, by logical id: they keep their
 * logical id and type (checked), their properties are not compared, and each must really differ.
 */
const WEB_ACL = {
  LdapBridgeWebAcl0CAFF1B4:
    "rules: allowed sources first, the managed groups' body rules only counted, the per-IP limit from the stage's throttle",
};
const ALARM_TOPIC = {
  AlarmTopicD01E77F9: 'encrypted with the new customer key CloudWatch may use, no longer alias/aws/sns',
  AlarmTopicPolicy309DB5F8: 'lets cloudwatch.amazonaws.com publish (alarms of this account and region)',
};

/** Resources production safety adds, by logical id: their type and why. */
const ALLOWED_SOURCES_IP_SET = {
  LdapBridgeAllowedSourceIpsD1647B39: ['AWS::WAFv2::IPSet', 'allowedSourceIps, for the WAF rule evaluated first'],
};
const ALARM_TOPIC_KEY = {
  AlarmTopicKey57B0D3A7: ['AWS::KMS::Key', "the alarm topic's customer key, rotation on, usable by CloudWatch"],
};
/** The deployed doctor (issue 14): a function beside the login function, invoked through IAM only. */
const DEPLOYED_DOCTOR = {
  LdapBridgeDoctorFunctionC939CB0B: [
    'AWS::Lambda::Function',
    "the deployed doctor: the login function's environment, subnets and security group; no route, URL or resource policy",
  ],
  LdapBridgeDoctorFunctionLogs9D02733D: ['AWS::Logs::LogGroup', "the deployed doctor's log group"],
  LdapBridgeDoctorFunctionRoleE8046827: ['AWS::IAM::Role', "the deployed doctor's execution role"],
  LdapBridgeDoctorFunctionRoleDefaultPolicy9FF76531: [
    'AWS::IAM::Policy',
    "the deployed doctor's log group, VPC attachment and the bind secret (and its key), as the login function's",
  ],
};

/**
 * The functions' CloudWatch metrics (issue 14): every function is told the deployment's name, the
 * `service` dimension of its embedded metrics; the directory_unavailable alarms read the embedded
 * count of each route instead of its log filter's (the filters stay, as the dashboard's
 * cross-check), so an outage notifies once per route, with the threshold alarms.directoryUnavailablePer5Minutes.
 */
function embeddedMetricsFixes(stackName: string): string[] {
  const serviceName = `Properties/Environment/Variables/POWERTOOLS_SERVICE_NAME: undefined -> "${stackName}"`;
  const unavailableAlarm = (logicalId: string, route: string, filterMetric: string) => [
    `/Resources/${logicalId}/Properties/AlarmDescription: "/${route} answered directory_unavailable 5 times in 5 minutes" -> "/${route} answered directory_unavailable (503) 5 times in 5 minutes: the directory is down, unreachable, slow or refuses the service account"`,
    `/Resources/${logicalId}/Properties/Dimensions: undefined -> [{"Name":"Outcome","Value":"directory_unavailable"},{"Name":"Route","Value":"${route}"},{"Name":"service","Value":"${stackName}"}]`,
    `/Resources/${logicalId}/Properties/MetricName: "${filterMetric}" -> "Requests"`,
  ];
  return [
    `/Resources/LdapBridgeAuthorizerFunction0CBCAFA7/${serviceName}`,
    ...unavailableAlarm(
      'LdapBridgeDirectoryUnavailableGetUserAlarm46A7FC11',
      'get-user',
      'DirectoryUnavailableGetUser',
    ),
    ...unavailableAlarm('LdapBridgeDirectoryUnavailableLoginAlarm15451A67', 'login', 'DirectoryUnavailableLogin'),
    `/Resources/LdapBridgeGetUserFunction15F48167/${serviceName}`,
    `/Resources/LdapBridgeLoginFunction2D209CD9/${serviceName}`,
  ];
}
/** The dashboard and the alarms on login outcomes (issue 14). */
const DASHBOARD_AND_OUTCOME_ALARMS = {
  LdapBridgeDashboardA3AC50F0: [
    'AWS::CloudWatch::Dashboard',
    "the deployment's dashboard: the functions' metrics beside AWS's, every alarm's state",
  ],
  LdapBridgeInvalidCredentialsShareAlarm560EE0BC: [
    'AWS::CloudWatch::Alarm',
    'a jump in the share of logins answered invalid_credentials',
  ],
  LdapBridgeLockoutShieldAlarm66BF3A70: ['AWS::CloudWatch::Alarm', "the lockout shield's refusals"],
};

/**
 * The scheduled sync-leavers (issue 15), switched on in EVERYTHING_ON only: a function in the
 * directory functions' subnets behind a group of its own, its schedule, the one permission that
 * lets the schedule invoke it, its Management API secret and its alarms; plus its two outputs.
 */
const SYNC_LEAVERS = {
  LdapBridgeSyncLeaversFunction9E3AC847: [
    'AWS::Lambda::Function',
    "the scheduled sync-leavers: the login function's environment and subnets, 15 minutes, one run at a time",
  ],
  LdapBridgeSyncLeaversFunctionLogs228E0730: ['AWS::Logs::LogGroup', "the scheduled sync-leavers' log group"],
  LdapBridgeSyncLeaversFunctionRoleFCC29B54: ['AWS::IAM::Role', "the scheduled sync-leavers' execution role"],
  LdapBridgeSyncLeaversFunctionRoleDefaultPolicy93E75B72: [
    'AWS::IAM::Policy',
    'its log group, VPC attachment, the bind secret (and its key) and the Management API secret',
  ],
  LdapBridgeSyncLeaversFunctionEventInvokeConfig3273AD4C: [
    'AWS::Lambda::EventInvokeConfig',
    'a failed run is not retried; a run that cannot start within 5 minutes is dropped',
  ],
  LdapBridgeSyncLeaversSecurityGroup68581702: [
    'AWS::EC2::SecurityGroup',
    "the directory's ranges on its ports, and 443 anywhere for Auth0's Management API",
  ],
  LdapBridgeEndpointIngressFromSyncLeavers13338B06: [
    'AWS::EC2::SecurityGroupIngress',
    'the Secrets Manager endpoint accepts HTTPS from the sync-leavers group',
  ],
  LdapBridgeManagementApiSecret4979F160: [
    'AWS::SecretsManager::Secret',
    'the Management API application, filled in by the operator',
  ],
  LdapBridgeSyncLeaversSchedule95C7CC4C: ['AWS::Events::Rule', 'syncLeavers.schedule'],
  LdapBridgeSyncLeaversScheduleAllowEventRuleLdapBridgeprodLdapBridgeSyncLeaversSyncLeaversFunctionAAB82936D237D9A3: [
    'AWS::Lambda::Permission',
    'events.amazonaws.com may invoke the function from that rule only',
  ],
  LdapBridgeSyncLeaversErrorsAlarmAF9A86F4: ['AWS::CloudWatch::Alarm', 'a run failed, was refused or was cut short'],
  LdapBridgeSyncLeaversThrottlesAlarm717F2999: [
    'AWS::CloudWatch::Alarm',
    'a run could not start while the previous one ran',
  ],
  LdapBridgeSyncLeaversDurationAlarmAA034A0F: ['AWS::CloudWatch::Alarm', 'runs close to the 15-minute timeout'],
};
const SYNC_LEAVERS_OUTPUTS = [
  '/Outputs/LdapBridgeSyncLeaversFunctionName4B51F38C: undefined -> {"Description":"The scheduled sync-leavers (applies): its log group is /aws/lambda/<this name>","Value":{"Ref":"LdapBridgeSyncLeaversFunction9E3AC847"}}',
  '/Outputs/LdapBridgeSyncLeaversManagementApiSecretArn37C20E75: undefined -> {"Description":"The secret the scheduled sync-leavers reads {\\"domain\\",\\"clientId\\",\\"clientSecret\\"} of the Management API application from","Value":{"Ref":"LdapBridgeManagementApiSecret4979F160"}}',
];

interface Expected {
  /** The exact property differences allowed outside `altered`. */
  fixes: string[];
  altered: Record<string, string>;
  added: Record<string, string[]>;
}

const EXPECTED: Record<string, Expected> = {
  demo: {
    fixes: [
      DOCTOR_FUNCTION_OUTPUT,
      AUTHORIZER_DENIES_BY_ERROR_CODE,
      AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT,
      ...embeddedMetricsFixes('LdapBridge-demo'),
    ],
    altered: { ...WEB_ACL, ...ALARM_TOPIC },
    added: { ...ALARM_TOPIC_KEY, ...DEPLOYED_DOCTOR, ...DASHBOARD_AND_OUTCOME_ALARMS },
  },
  prod: {
    fixes: [
      DOCTOR_FUNCTION_OUTPUT,
      AUTHORIZER_DENIES_BY_ERROR_CODE,
      AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT,
      ...embeddedMetricsFixes('LdapBridge-prod'),
    ],
    altered: { ...WEB_ACL },
    added: { ...ALLOWED_SOURCES_IP_SET, ...DEPLOYED_DOCTOR, ...DASHBOARD_AND_OUTCOME_ALARMS },
  },
  'prod-everything-on': {
    fixes: [
      DOCTOR_FUNCTION_OUTPUT,
      AUTHORIZER_DENIES_BY_ERROR_CODE,
      AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT,
      ...embeddedMetricsFixes('LdapBridge-prod'),
      ...SYNC_LEAVERS_OUTPUTS,
    ],
    altered: { ...WEB_ACL, ...ALARM_TOPIC },
    added: {
      ...ALLOWED_SOURCES_IP_SET,
      ...ALARM_TOPIC_KEY,
      ...DEPLOYED_DOCTOR,
      ...DASHBOARD_AND_OUTCOME_ALARMS,
      ...SYNC_LEAVERS,
    },
  },
};

const CASES = [
  { name: 'demo', envName: 'demo', env: () => environment('demo') },
  { name: 'prod', envName: 'prod', env: () => environment('prod') },
  { name: 'prod-everything-on', envName: 'prod', env: () => environment('prod', EVERYTHING_ON) },
];

type Template = { Resources: Record<string, { Type: string; Properties?: Json }> } & Record<string, Json>;

describe('the synthesized templates after the construct split', () => {
  for (const { name, envName, env } of CASES) {
    const expected = EXPECTED[name]!;
    const templateBefore = () =>
      JSON.parse(readFileSync(`test/infra/templates-before-split/${name}.json`, 'utf8')) as unknown as Template;
    let synthesized: Template | undefined;
    const templateAfter = () => {
      synthesized ??= normalizeTemplate(build(envName, env()).template.toJSON()) as unknown as Template;
      return synthesized;
    };

    it(`keeps every logical id of ${name} with its resource type, and adds only the listed resources`, () => {
      const { Resources: was } = templateBefore();
      const { Resources: is } = templateAfter();
      for (const [logicalId, resource] of Object.entries(was))
        expect(is[logicalId]?.Type, logicalId).toBe(resource.Type);
      const added = Object.keys(is).filter((logicalId) => !(logicalId in was));
      expect(added.sort()).toEqual(Object.keys(expected.added).sort());
      for (const [logicalId, [type]] of Object.entries(expected.added)) expect(is[logicalId]?.Type).toBe(type);
    });

    it(`keeps every property of ${name}, apart from the listed fixes and the resources altered on purpose`, () => {
      const was = templateBefore();
      const is = templateAfter();
      for (const logicalId of Object.keys(expected.altered)) {
        expect(differences(was.Resources[logicalId], is.Resources[logicalId]), logicalId).not.toEqual([]);
      }
      const without = (template: Template): Json => {
        const resources = Object.fromEntries(
          Object.entries(template.Resources).filter(
            ([logicalId]) => !(logicalId in expected.altered) && !(logicalId in expected.added),
          ),
        );
        return { ...template, Resources: resources } as unknown as Json;
      };
      expect(differences(without(was), without(is)).sort()).toEqual([...expected.fixes].sort());
    });
  }
});
